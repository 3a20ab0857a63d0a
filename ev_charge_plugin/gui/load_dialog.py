"""Load charge points...: choose a source, run the load as a task, show progress."""
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QCheckBox,
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
from qgis.core import QgsMapLayerProxyModel, QgsSettings
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox

from ..qgis_io.sources import DATASTORE_PREFIX, DEMO_SOURCE
from ..toolbelt.i18n import tr
from ..toolbelt.metadata import SETTINGS_GROUP
from ..toolbelt.tasks import AlgorithmRun

ALGORITHM_ID = "evcharge:loadchargepoints"
# (label, slug) of London Datastore datasets that hold charge points.
DATASTORE_PRESETS = (
    ("TfL rapid charging sites", "electric-vehicle-charging-site-2lzpg"),
)
FILE_FILTER = ";;".join((
    "Charge point files (*.csv *.json *.geojson *.gpkg *.shp *.zip)",
    "CSV: National Chargepoint Registry or plugin standard (*.csv)",
    "OCPI 2.2.1 Locations (*.json)",
    "GeoPackage (*.gpkg)",
    "GeoJSON (*.geojson *.json)",
    "Shapefile (*.shp)",
    "Zip archive (*.zip)",
    "All files (*)",
))
REMEMBERED = f"{SETTINGS_GROUP}/load_dialog"
LOADED, FAILED, CANCELLED = "loaded", "failed", "cancelled"


class LoadChargePointsDialog(QDialog):
    """Non-modal: the user can pan the map while a download runs."""

    # outcome (LOADED, FAILED or CANCELLED), results, context (owns the result layers), message
    finished_loading = pyqtSignal(str, dict, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("EvChargeLoadDialog")
        self.setWindowTitle(tr("Load charge points"))
        self.run = None
        self._build()
        self._restore()
        self._update_enabled()

    # -- layout ---------------------------------------------------------------
    def _build(self):
        self.datastore_radio = QRadioButton(tr("London &Datastore dataset"))
        self.file_radio = QRadioButton(tr("&File from an operator or the registry"))
        self.demo_radio = QRadioButton(tr("D&emo data (synthetic, works offline)"))
        self.source_group = QButtonGroup(self)
        for button in (self.datastore_radio, self.file_radio, self.demo_radio):
            self.source_group.addButton(button)
            button.toggled.connect(self._update_enabled)

        self.dataset_combo = QComboBox()
        self.dataset_combo.setEditable(True)
        self.dataset_combo.setObjectName("datasetCombo")
        for label, slug in DATASTORE_PRESETS:
            self.dataset_combo.addItem(f"{label} ({slug})", slug)
        self.dataset_combo.lineEdit().setPlaceholderText(tr("dataset slug or https://data.london.gov.uk/dataset/..."))
        self.dataset_combo.setToolTip(tr("Choose a preset, or type any dataset slug or dataset address."))

        self.file_widget = QgsFileWidget()
        self.file_widget.setObjectName("fileWidget")
        self.file_widget.setFilter(FILE_FILTER)
        self.file_widget.setDialogTitle(tr("Charge point file"))

        source_box = QGroupBox(tr("Source"))
        source_layout = QFormLayout(source_box)
        source_layout.addRow(self.datastore_radio)
        source_layout.addRow(tr("Dataset"), self.dataset_combo)
        source_layout.addRow(self.file_radio)
        source_layout.addRow(tr("File"), self.file_widget)
        source_layout.addRow(self.demo_radio)

        self.london_only_check = QCheckBox(tr("Keep &London only (reject points outside Greater London)"))
        self.boundary_combo = QgsMapLayerComboBox()
        self.boundary_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.boundary_combo.setAllowEmptyLayer(True)
        self.boundary_combo.setLayer(None)
        self.boundary_combo.setToolTip(tr("Optional: polygons of Greater London (for example the boroughs). Without it, London's bounding box is used."))
        options_box = QGroupBox(tr("Options"))
        options_layout = QFormLayout(options_box)
        options_layout.addRow(self.london_only_check)
        options_layout.addRow(tr("London boundary"), self.boundary_combo)

        self.help_browser = QTextBrowser()
        self.help_browser.setOpenExternalLinks(True)
        self.help_browser.setHtml(self._help_html())
        self.help_browser.setMinimumWidth(260)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.status_label = QLabel(tr("Ready."))
        self.status_label.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.run_button = self.buttons.addButton(tr("&Run"), QDialogButtonBox.AcceptRole)
        self.run_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(tr("&Cancel"), QDialogButtonBox.RejectRole)
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.buttons.button(QDialogButtonBox.Close).clicked.connect(self.close)

        inputs = QWidget()
        inputs_layout = QVBoxLayout(inputs)
        inputs_layout.setContentsMargins(0, 0, 0, 0)
        inputs_layout.addWidget(source_box)
        inputs_layout.addWidget(options_box)
        inputs_layout.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(inputs, 3)
        top.addWidget(self.help_browser, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)
        self.resize(780, 420)

    def _help_html(self):
        return tr(
            "<h3>Load charge points</h3>"
            "<p><b>London Datastore</b>: a preset, or any dataset slug or address. Downloads are "
            "cached; with no network the cached copy is used and you are told so. Private "
            "datasets need an API key in <i>EV Charge Points &gt; Settings</i>.</p>"
            "<p><b>File</b>: OCPI 2.2.1 Locations (JSON), the National Chargepoint Registry CSV, "
            "the plugin's charge point CSV standard, GeoPackage, GeoJSON, Shapefile, or a zip "
            "holding one of these. UTF-8 and Windows-1252 text are both read.</p>"
            "<p><b>Demo data</b>: about 3,500 invented charge points across London's 33 "
            "boroughs, with some deliberately bad records so the report has something to show.</p>"
            "<p>The result is a point layer in British National Grid (EPSG:27700), styled by "
            "charging speed, and a <b>data-quality report</b> listing every rejected, repaired "
            "or flagged record with its line or feature number, field and reason.</p>"
            "<p>The same load is the Processing algorithm <i>EV Charge Points &gt; Load charge "
            "points</i>, for models and batch runs.</p>"
        )

    # -- state ----------------------------------------------------------------
    def _restore(self):
        settings = QgsSettings()
        kind = settings.value(f"{REMEMBERED}/kind", "demo", type=str)
        {"datastore": self.datastore_radio, "file": self.file_radio}.get(kind, self.demo_radio).setChecked(True)
        dataset = settings.value(f"{REMEMBERED}/dataset", "", type=str)
        if dataset:
            index = self.dataset_combo.findData(dataset)
            if index >= 0:
                self.dataset_combo.setCurrentIndex(index)
            else:
                self.dataset_combo.setEditText(dataset)
        self.file_widget.setFilePath(settings.value(f"{REMEMBERED}/file", "", type=str))
        self.london_only_check.setChecked(settings.value(f"{REMEMBERED}/london_only", False, type=bool))

    def _remember(self):
        settings = QgsSettings()
        settings.setValue(f"{REMEMBERED}/kind", self.source_kind())
        settings.setValue(f"{REMEMBERED}/dataset", self.dataset())
        settings.setValue(f"{REMEMBERED}/file", self.file_widget.filePath())
        settings.setValue(f"{REMEMBERED}/london_only", self.london_only_check.isChecked())

    def source_kind(self) -> str:
        if self.datastore_radio.isChecked():
            return "datastore"
        return "file" if self.file_radio.isChecked() else "demo"

    def dataset(self) -> str:
        text = self.dataset_combo.currentText().strip()
        index = self.dataset_combo.findText(text)
        return self.dataset_combo.itemData(index) if index >= 0 else text

    def source(self) -> str:
        kind = self.source_kind()
        if kind == "datastore":
            return DATASTORE_PREFIX + self.dataset() if self.dataset() else ""
        if kind == "file":
            return self.file_widget.filePath().strip()
        return DEMO_SOURCE

    def parameters(self) -> dict:
        return {
            "SOURCE": self.source(),
            "LONDON_ONLY": self.london_only_check.isChecked(),
            "BOUNDARY": self.boundary_combo.currentLayer(),
            "OUTPUT": "TEMPORARY_OUTPUT",
            "REPORT": "TEMPORARY_OUTPUT",
        }

    def _update_enabled(self):
        running = self.run is not None
        self.dataset_combo.setEnabled(self.datastore_radio.isChecked() and not running)
        self.file_widget.setEnabled(self.file_radio.isChecked() and not running)
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    # -- running --------------------------------------------------------------
    def start(self):
        source = self.source()
        if not source:
            self.status_label.setText(tr("Choose a dataset or a file first."))
            return
        self._remember()
        self.run = AlgorithmRun(ALGORITHM_ID, self.parameters(), tr("Load charge points: {source}").format(source=source), self)
        self.run.progressChanged.connect(lambda value: self.progress_bar.setValue(int(value)))
        self.run.messageChanged.connect(self.status_label.setText)
        self.run.finished.connect(self._finished)
        self.progress_bar.setValue(0)
        self.status_label.setText(tr("Loading {source}...").format(source=source))
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
            outcome, message = CANCELLED, tr("Cancelled: nothing was added to the project.")
            self.progress_bar.setValue(0)
        elif successful:
            outcome, message = LOADED, tr("{loaded:,} loaded, {rejected:,} rejected.").format(
                loaded=int(results["LOADED"]), rejected=int(results["REJECTED"]))
            self.progress_bar.setValue(100)
        else:
            outcome, message = FAILED, tr("The load failed: {reason}").format(reason=_last_error(log))
        self.status_label.setText(message)
        self.finished_loading.emit(outcome, results, context, message)

    def reject(self):
        """Escape cancels a running load first, and closes the dialog only when idle."""
        if self.run is not None:
            self.cancel()
        else:
            super().reject()

    def closeEvent(self, event):
        self.cancel()
        super().closeEvent(event)


def _last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else tr("see the QGIS log for details.")
