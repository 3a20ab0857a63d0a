"""What the plugin's Processing-style dialogs share: inputs beside a help pane, a
progress bar, Run / Cancel / Close, and the algorithm run as a background task."""
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QRadioButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from qgis.core import QgsSettings
from qgis.gui import QgsFileWidget

from ..qgis_io.project import discard_layer_file
from ..qgis_io.sources import DATASTORE_PREFIX, DEMO_SOURCE
from ..toolbelt.i18n import tr
from ..toolbelt.tasks import AlgorithmRun

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
NO_SOURCE, DATASTORE, FILE, DEMO = "none", "datastore", "file", "demo"


class SourceChooser(QGroupBox):
    """Where data comes from: a London Datastore dataset, a file, the demo data (or, if optional, nothing)."""

    changed = pyqtSignal()

    def __init__(self, title: str, presets=(), file_filter: str = "", file_title: str = "", optional_label: str = "", parent=None):
        super().__init__(title, parent)
        self.running = False
        self.none_radio = QRadioButton(optional_label) if optional_label else None
        self.datastore_radio = QRadioButton(tr("London &Datastore dataset"))
        self.file_radio = QRadioButton(tr("&File"))
        self.demo_radio = QRadioButton(tr("D&emo data (synthetic, works offline)"))
        self.group = QButtonGroup(self)
        for button in filter(None, (self.none_radio, self.datastore_radio, self.file_radio, self.demo_radio)):
            self.group.addButton(button)
            button.toggled.connect(self._update_enabled)

        self.dataset_combo = QComboBox()
        self.dataset_combo.setEditable(True)
        self.dataset_combo.setObjectName("datasetCombo")
        for label, slug in presets:
            self.dataset_combo.addItem(f"{label} ({slug})", slug)
        self.dataset_combo.setEditText("")
        self.dataset_combo.lineEdit().setPlaceholderText(tr("dataset slug or https://data.london.gov.uk/dataset/..."))
        self.dataset_combo.setToolTip(tr("Choose a preset, or type any dataset slug or dataset address. Private datasets need an API key in Settings."))
        self.dataset_combo.editTextChanged.connect(self.changed)

        self.file_widget = QgsFileWidget()
        self.file_widget.setObjectName("fileWidget")
        self.file_widget.setFilter(file_filter)
        self.file_widget.setDialogTitle(file_title or title)
        self.file_widget.fileChanged.connect(self.changed)

        layout = QFormLayout(self)
        if self.none_radio is not None:
            layout.addRow(self.none_radio)
        layout.addRow(self.datastore_radio)
        layout.addRow(tr("Dataset"), self.dataset_combo)
        layout.addRow(self.file_radio)
        layout.addRow(tr("File"), self.file_widget)
        layout.addRow(self.demo_radio)
        (self.none_radio or self.demo_radio).setChecked(True)

    def kind(self) -> str:
        if self.none_radio is not None and self.none_radio.isChecked():
            return NO_SOURCE
        if self.datastore_radio.isChecked():
            return DATASTORE
        return FILE if self.file_radio.isChecked() else DEMO

    def dataset(self) -> str:
        text = self.dataset_combo.currentText().strip()
        index = self.dataset_combo.findText(text)
        return self.dataset_combo.itemData(index) if index >= 0 else text

    def source(self) -> str:
        """The algorithm's source string: a path, ``datastore:<slug>``, ``demo``, or "" for none or an empty choice."""
        kind = self.kind()
        if kind == DATASTORE:
            return DATASTORE_PREFIX + self.dataset() if self.dataset() else ""
        if kind == FILE:
            return self.file_widget.filePath().strip()
        return DEMO_SOURCE if kind == DEMO else ""

    def restore(self, key: str, default_kind: str = DEMO) -> None:
        settings = QgsSettings()
        kind = settings.value(f"{key}/kind", default_kind, type=str)
        radios = {NO_SOURCE: self.none_radio, DATASTORE: self.datastore_radio, FILE: self.file_radio, DEMO: self.demo_radio}
        (radios.get(kind) or self.none_radio or self.demo_radio).setChecked(True)
        dataset = settings.value(f"{key}/dataset", "", type=str)
        index = self.dataset_combo.findData(dataset)
        if index >= 0:
            self.dataset_combo.setCurrentIndex(index)
        elif dataset:
            self.dataset_combo.setEditText(dataset)
        self.file_widget.setFilePath(settings.value(f"{key}/file", "", type=str))

    def remember(self, key: str) -> None:
        settings = QgsSettings()
        settings.setValue(f"{key}/kind", self.kind())
        settings.setValue(f"{key}/dataset", self.dataset())
        settings.setValue(f"{key}/file", self.file_widget.filePath())

    def set_running(self, running: bool) -> None:
        self.running = running
        self._update_enabled()

    def _update_enabled(self):
        for button in self.group.buttons():
            button.setEnabled(not self.running)
        self.dataset_combo.setEnabled(self.datastore_radio.isChecked() and not self.running)
        self.file_widget.setEnabled(self.file_radio.isChecked() and not self.running)
        self.changed.emit()


class TaskDialog(QDialog):
    """Non-modal, so the user can pan the map while the task runs.

    Subclasses build their inputs, give the algorithm id, its parameters, the
    help text and the message for a successful run.
    """

    # outcome (SUCCEEDED, FAILED or CANCELLED), results, context (owns the result layers), message
    finished_run = pyqtSignal(str, dict, object, str)
    ALGORITHM_ID = ""

    def __init__(self, title: str, object_name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWindowTitle(title)
        self.run = None

    def build(self, inputs: QWidget, help_html: str, run_text: str = "") -> None:
        self.help_browser = QTextBrowser()
        self.help_browser.setOpenExternalLinks(True)
        self.help_browser.setHtml(help_html)
        self.help_browser.setMinimumWidth(260)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.status_label = QLabel(tr("Ready."))
        self.status_label.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.run_button = self.buttons.addButton(run_text or tr("&Run"), QDialogButtonBox.AcceptRole)
        self.run_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(tr("&Cancel"), QDialogButtonBox.RejectRole)
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.buttons.button(QDialogButtonBox.Close).clicked.connect(self.close)

        top = QHBoxLayout()
        top.addWidget(inputs, 3)
        top.addWidget(self.help_browser, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)

    # -- what subclasses provide ----------------------------------------------
    def parameters(self) -> dict:
        raise NotImplementedError

    def problem(self) -> str:
        """Why the dialog cannot run yet, or ""."""
        return ""

    def description(self) -> str:
        """The task's name in the task manager."""
        return self.windowTitle()

    def success_message(self, results: dict) -> str:
        raise NotImplementedError

    def remember(self) -> None:
        """Store the user's choices for next time."""

    def set_running(self, running: bool) -> None:
        """Enable or disable the inputs."""

    # -- running --------------------------------------------------------------
    def _update_enabled(self):
        running = self.run is not None
        self.set_running(running)
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def start(self):
        problem = self.problem()
        if problem:
            self.status_label.setText(problem)
            return
        self.remember()
        self.run_parameters = self.parameters()
        self.run = AlgorithmRun(self.ALGORITHM_ID, self.run_parameters, self.description(), self)
        self.run.progressChanged.connect(lambda value: self.progress_bar.setValue(int(value)))
        self.run.messageChanged.connect(self.status_label.setText)
        self.run.finished.connect(self._finished)
        self.progress_bar.setValue(0)
        self.status_label.setText(tr("Running: {task}...").format(task=self.description()))
        self._update_enabled()
        self.run.start()

    def cancel(self):
        if self.run is not None:
            self.status_label.setText(tr("Cancelling..."))
            self.run.cancel()

    def _finished(self, successful, results, context, log):
        cancelled = self.run.feedback.isCanceled()
        self.run = None
        self._update_enabled()
        if cancelled:
            outcome, message = CANCELLED, tr("Cancelled: nothing was changed.")
            self.progress_bar.setValue(0)
        elif successful:
            outcome, message = SUCCEEDED, self.success_message(results)
            self.progress_bar.setValue(100)
        else:
            outcome, message = FAILED, tr("{task} failed: {reason}").format(task=self.windowTitle(), reason=last_error(log))
        if outcome != SUCCEEDED:
            for value in self.run_parameters.values():
                discard_layer_file(value)  # the layer file the run began, if any
        self.status_label.setText(message)
        self.finished_run.emit(outcome, results, context, message)

    def reject(self):
        """Escape cancels a running task first, and closes the dialog only when idle."""
        if self.run is not None:
            self.cancel()
        else:
            super().reject()

    def closeEvent(self, event):
        self.cancel()
        super().closeEvent(event)


def last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else tr("see the QGIS log for details.")
