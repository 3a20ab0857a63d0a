"""EV Charge Points > Committee report...: choose what to print, and print it to PDF.

The report is ``evcharge:committeereport``. Layouts and charts are drawn with
Qt's painting classes, which belong to the main thread, so it runs there (as
QGIS's own layout export does), with a progress bar, a Cancel button that works
while it runs, and the rest of the dialog locked until it ends.
"""
from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, Qt, QUrl, pyqtSignal
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)
from qgis.core import QgsMapLayerProxyModel, QgsProcessingContext, QgsProcessingException, QgsProject, QgsSettings
from qgis.gui import QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox

from ..toolbelt.i18n import tr
from ..toolbelt.metadata import SETTINGS_GROUP
from ..toolbelt.tasks import TextFeedback
from .import_dialog import ArchiveWidget, set_project_archive
from .task_dialog import CANCELLED, FAILED, SUCCEEDED
from .layer_combos import on_layer_change

ALGORITHM_ID = "evcharge:committeereport"
ALL_BOROUGHS = None  # the borough choice meaning an atlas of every borough
ORGANISATION_KEY = f"{SETTINGS_GROUP}/report_organisation"


class _Feedback(TextFeedback):
    """Keeps the dialog alive while the report runs in the main thread: each step lets Qt handle the Cancel click.

    Progress set from C++ (the layout exporter) does not call a Python override,
    so the events are handled on the progress signals.
    """

    def __init__(self):
        super().__init__()
        self.progressChanged.connect(lambda _: QCoreApplication.processEvents())
        self.progressTextChanged.connect(lambda _: QCoreApplication.processEvents())


class CommitteeReportDialog(QDialog):
    # outcome (SUCCEEDED, FAILED or CANCELLED), results, message
    finished_run = pyqtSignal(str, dict, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("Committee report"))
        self.setObjectName("EvChargeReportDialog")
        self.feedback = None

        self.points_combo = QgsMapLayerComboBox()
        self.points_combo.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.areas_combo = QgsMapLayerComboBox()
        self.areas_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.name_combo = QgsFieldComboBox()
        self.wards_combo = QgsMapLayerComboBox()
        self.wards_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.wards_combo.setAllowEmptyLayer(True)
        self.wards_combo.setLayer(None)
        self.ward_name_combo = QgsFieldComboBox()
        self.borough_combo = QComboBox()
        self.borough_combo.setObjectName("boroughCombo")
        self.archive_widget = ArchiveWidget()
        self.period_combo = QComboBox()
        self.period_combo.setObjectName("periodCombo")
        self.metric_combo = QComboBox()
        self.definition_label = QLabel()
        self.definition_label.setWordWrap(True)
        self.sites_combo = QgsMapLayerComboBox()
        self.sites_combo.setFilters(QgsMapLayerProxyModel.VectorLayer)
        self.sites_combo.setAllowEmptyLayer(True)
        self.sites_combo.setLayer(None)  # optional: none unless chosen
        self.sites_combo.setToolTip(tr("The output of Choose best sites; its sites are listed in rank order and marked on the map."))
        self.title_edit = QLineEdit(tr("Public electric vehicle charge points"))
        self.organisation_edit = QLineEdit(QgsSettings().value(ORGANISATION_KEY, "", type=str))
        self.organisation_edit.setPlaceholderText(tr("e.g. London Borough of Camden"))
        self.paper_combo = QComboBox()
        from ..processing.committee_report import LAYOUTS

        for paper, orientation in LAYOUTS:
            self.paper_combo.addItem(f"{paper} {tr(orientation)}")
        self.output_widget = QgsFileWidget()
        self.output_widget.setStorageMode(QgsFileWidget.SaveFile)
        self.output_widget.setFilter(tr("PDF files (*.pdf)"))
        home = QgsProject.instance().homePath() or str(Path.home())
        self.output_widget.setFilePath(str(Path(home) / "committee_report.pdf"))
        self.png_check = QCheckBox(tr("Also save each page as a PNG, in a folder beside the PDF"))

        form = QFormLayout()
        form.addRow(tr("Charge points"), self.points_combo)
        form.addRow(tr("Boroughs"), self.areas_combo)
        form.addRow(tr("Borough name field"), self.name_combo)
        form.addRow(tr("Wards (optional)"), self.wards_combo)
        form.addRow(tr("Ward name field"), self.ward_name_combo)
        form.addRow(tr("&Print"), self.borough_combo)
        form.addRow(tr("History archive"), self.archive_widget)
        form.addRow(tr("P&eriod"), self.period_combo)
        form.addRow(tr("&Metric"), self.metric_combo)
        form.addRow("", self.definition_label)
        form.addRow(tr("Chosen sites (optional)"), self.sites_combo)
        form.addRow(tr("&Title"), self.title_edit)
        form.addRow(tr("&Organisation"), self.organisation_edit)
        form.addRow(tr("Paper"), self.paper_combo)
        form.addRow(tr("PDF file"), self.output_widget)
        form.addRow("", self.png_check)

        self.progress_bar = QProgressBar()
        self.status_label = QLabel(tr("Choose what to print, then Print."))
        self.status_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.run_button = self.buttons.addButton(tr("&Print to PDF"), QDialogButtonBox.AcceptRole)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ActionRole)
        self.open_button = self.buttons.addButton(tr("Open PDF"), QDialogButtonBox.ActionRole)
        self.open_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_pdf)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)

        on_layer_change(self.areas_combo, lambda _: self._layers_changed())
        on_layer_change(self.wards_combo, lambda _: self._layers_changed())
        self.name_combo.fieldChanged.connect(self._load_boroughs)
        self.archive_widget.fileChanged.connect(self.load_periods)
        self.metric_combo.currentIndexChanged.connect(self._show_definition)
        self._fill_metrics()
        self._choose_defaults()
        self.load_periods()
        self._update_enabled()

    # -- choices ----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Borough names, the archive's periods and the map's metric as they are now (the dialog is reused)."""
        from .import_dialog import project_archive

        self.archive_widget.setFilePath(project_archive())
        self._load_boroughs()
        self.load_periods()

    def _fill_metrics(self) -> None:
        from ..core.utilisation import metrics
        from ..qgis_io.project import shared_choice

        for key, metric in metrics().items():
            self.metric_combo.addItem(metric.label, key)
        shared_metric = shared_choice()[0]
        if shared_metric:
            self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData(shared_metric)))
        self._show_definition()

    def _choose_defaults(self) -> None:
        """The plugin's charge points and the demo's boroughs and wards, when the project has them."""
        for combo, words in ((self.areas_combo, ("borough",)), (self.wards_combo, ("ward",)), (self.points_combo, ("charge point", "utilisation"))):
            listed = (combo.layer(index) for index in range(combo.count()))  # the layers its filter lets through
            match = next((layer for layer in listed if layer is not None and any(word in layer.name().lower() for word in words)), None)
            if match is not None:
                combo.setLayer(match)
        self._layers_changed()

    def _layers_changed(self) -> None:
        if self.areas_combo.currentLayer() is not self.name_combo.layer():
            _name_field(self.name_combo, self.areas_combo.currentLayer())
            self._load_boroughs()
        if self.wards_combo.currentLayer() is not self.ward_name_combo.layer():
            _name_field(self.ward_name_combo, self.wards_combo.currentLayer())

    def _load_boroughs(self) -> None:
        self.borough_combo.clear()
        self.borough_combo.addItem(tr("All boroughs: an atlas, one page each"), ALL_BOROUGHS)
        layer, field = self.areas_combo.currentLayer(), self.name_combo.currentField()
        if layer is not None and field:
            for name in sorted({str(feature[field]) for feature in layer.getFeatures()}):
                self.borough_combo.addItem(name, name)

    def load_periods(self) -> None:
        """The archive's quarters (and the last 12 months), newest first; the map's period chosen when listed."""
        from ..core.archive import Archive
        from ..core.errors import EvChargeError
        from ..qgis_io.project import shared_choice
        from .style_dialog import EVERY_PERIOD, CUSTOM, period_choices

        self.period_combo.clear()
        path = self.archive_widget.filePath().strip()
        if not path or not Path(path).is_file():
            self.period_combo.addItem(tr("No archive: counts and the usage already on the layer"), (None, None))
            return
        try:
            with Archive(path) as archive:
                choices = period_choices(archive.periods())
        except EvChargeError as error:
            self.status_label.setText(str(error))
            choices = []
        for label, kind, start, end in choices:
            if kind not in (EVERY_PERIOD, CUSTOM):
                self.period_combo.addItem(label, (start, end))
        _, start, end = shared_choice()
        listed = [self.period_combo.itemData(index) for index in range(self.period_combo.count())]
        for index, (first, last) in enumerate(listed):
            if first is not None and (str(first), str(last)) == (start, end):
                self.period_combo.setCurrentIndex(index)

    def _show_definition(self) -> None:
        from ..core.utilisation import metrics

        key = self.metric_combo.currentData()
        if key:
            self.definition_label.setText(f"<i>{metrics()[key].long}</i>")

    def parameters(self) -> dict:
        start, end = self.period_combo.currentData() or (None, None)
        archive = self.archive_widget.filePath().strip()
        return {
            "CHARGEPOINTS": self.points_combo.currentLayer(),
            "AREAS": self.areas_combo.currentLayer(),
            "AREA_NAME_FIELD": self.name_combo.currentField(),
            "AREA": self.borough_combo.currentData() or "",
            "WARDS": self.wards_combo.currentLayer(),
            "WARD_NAME_FIELD": self.ward_name_combo.currentField() or "name",
            "ARCHIVE": archive if archive and Path(archive).is_file() else None,
            "PERIOD_START": start.isoformat() if start else None,
            "PERIOD_END": end.isoformat() if end else None,
            "SITES": self.sites_combo.currentLayer(),
            "METRIC": self.metric_combo.currentIndex(),
            "TITLE": self.title_edit.text().strip(),
            "ORGANISATION": self.organisation_edit.text().strip(),
            "LAYOUT": self.paper_combo.currentIndex(),
            "OUTPUT": self._output(),
            "PNG_FOLDER": self.png_folder() if self.png_check.isChecked() else None,
        }

    def png_folder(self) -> str:
        """Where the PNG pages go: ``<pdf name>_pages`` beside the PDF."""
        pdf = Path(self._output())
        return str(pdf.with_name(f"{pdf.stem}_pages"))

    def _output(self) -> str:
        path = self.output_widget.filePath().strip()
        return path if not path or path.lower().endswith(".pdf") else path + ".pdf"

    def problem(self) -> str:
        if self.points_combo.currentLayer() is None:
            return tr("Choose the charge point layer.")
        if self.areas_combo.currentLayer() is None:
            return tr("Nothing to print: add a boroughs layer to the project and choose it.")
        if not self._output():
            return tr("Choose where to save the PDF.")
        return ""

    # -- running ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        import processing

        problem = self.problem()
        if problem:
            self.status_label.setText(problem)
            return
        QgsSettings().setValue(ORGANISATION_KEY, self.organisation_edit.text().strip())
        parameters = {key: value for key, value in self.parameters().items() if value is not None}
        if "ARCHIVE" in parameters:
            set_project_archive(parameters["ARCHIVE"])
        self.feedback = _Feedback()
        self.feedback.progressChanged.connect(lambda value: self.progress_bar.setValue(int(value)))
        self.feedback.progressTextChanged.connect(self.status_label.setText)
        self.progress_bar.setValue(0)
        self.status_label.setText(tr("Printing..."))
        self.open_button.setEnabled(False)
        self._update_enabled()
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        # While it runs, the rest of QGIS takes no input: events are handled (for Cancel), and a layer
        # removed or a project closed under the report would pull its data away.
        self._set_modal(True)
        try:
            results = processing.run(ALGORITHM_ID, parameters, context=context, feedback=self.feedback)
        except QgsProcessingException as error:
            lines = str(error).strip().splitlines()
            outcome, results, message = FAILED, {}, tr("Not printed: {reason}").format(reason=lines[-1] if lines else tr("see the QGIS log."))
        except Exception as error:  # never leave the dialog locked
            outcome, results, message = FAILED, {}, tr("Not printed: {reason}").format(reason=error)
        else:
            if self.feedback.isCanceled() or "PAGES" not in results:
                outcome, message = CANCELLED, tr("Cancelled: no PDF was written.")
            else:
                outcome = SUCCEEDED
                message = tr("{pages} page(s) written to {path}. The layout '{name}' is in Project > Layouts, to adjust and print again.").format(
                    pages=int(results["PAGES"]), path=results["OUTPUT"], name=results["LAYOUT_NAME"])
                self.open_button.setEnabled(True)
        finally:
            self.feedback = None
            self._set_modal(False)
        self.progress_bar.setValue(100 if outcome == SUCCEEDED else 0)
        self.status_label.setText(message)
        self._update_enabled()
        self.finished_run.emit(outcome, results, message)

    def _set_modal(self, modal: bool) -> None:
        """Block input to the rest of QGIS (or stop blocking it); a shown window takes a new modality when shown again."""
        self.setWindowModality(Qt.ApplicationModal if modal else Qt.NonModal)
        if self.isVisible():
            self.hide()
            self.show()

    def cancel(self) -> None:
        if self.feedback is not None:
            self.status_label.setText(tr("Cancelling..."))
            self.feedback.cancel()

    def open_pdf(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self._output()))

    def _update_enabled(self) -> None:
        running = self.feedback is not None
        for widget in self.findChildren((QComboBox, QLineEdit, QgsFileWidget, QCheckBox)):
            widget.setEnabled(not running)
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.buttons.button(QDialogButtonBox.Close).setEnabled(not running)

    def reject(self) -> None:
        """Escape cancels a running report first, and closes the dialog only when idle."""
        if self.feedback is not None:
            self.cancel()
        else:
            super().reject()

    def closeEvent(self, event):
        if self.feedback is not None:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)


def _name_field(combo: QgsFieldComboBox, layer) -> None:
    """Show ``layer``'s fields in ``combo``, its name field (``name`` or ``NAME``) chosen when it has one."""
    combo.setLayer(layer)
    index = layer.fields().lookupField("name") if layer is not None else -1
    if index >= 0:
        combo.setField(layer.fields().field(index).name())
