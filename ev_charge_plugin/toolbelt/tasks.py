"""Run a Processing algorithm as a background task and hand its results back.

The task never touches widgets or the project: ``on_done`` runs on the GUI
thread once the task has finished, with the context that owns the result layers.
"""
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.core import (
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)


class TextFeedback(QgsProcessingFeedback):
    """QgsProcessingFeedback has no signal for its progress text; add one."""

    progressTextChanged = pyqtSignal(str)

    def setProgressText(self, text):
        super().setProgressText(text)
        self.progressTextChanged.emit(text)


class AlgorithmRun(QObject):
    """One algorithm run: progress, cancel and a single ``finished`` signal."""

    progressChanged = pyqtSignal(float)
    messageChanged = pyqtSignal(str)
    # successful, results, context, feedback log (text)
    finished = pyqtSignal(bool, dict, object, str)

    def __init__(self, algorithm_id: str, parameters: dict, description: str, parent=None):
        super().__init__(parent)
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        if algorithm is None:
            raise KeyError(f"Processing algorithm {algorithm_id} is not registered")
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = TextFeedback()
        self.feedback.progressChanged.connect(self.progressChanged)
        self.feedback.progressTextChanged.connect(self.messageChanged)
        self.task = QgsProcessingAlgRunnerTask(algorithm, parameters, self.context, self.feedback)
        self.task.setDescription(description)
        self.task.executed.connect(self._executed)

    def start(self) -> None:
        QgsApplication.taskManager().addTask(self.task)

    def cancel(self) -> None:
        self.feedback.cancel()
        self.task.cancel()

    def _executed(self, successful, results):
        self.finished.emit(bool(successful) and not self.feedback.isCanceled(), dict(results or {}), self.context, self.feedback.textLog())
