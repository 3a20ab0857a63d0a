"""Load charge points...: choose a source, run the load as a task, show progress."""
from qgis.PyQt.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QVBoxLayout, QWidget
from qgis.core import QgsMapLayerProxyModel, QgsSettings
from qgis.gui import QgsMapLayerComboBox

from ..qgis_io.project import new_layer_file
from ..toolbelt.i18n import tr
from ..toolbelt.metadata import SETTINGS_GROUP
from .task_dialog import SourceChooser, TaskDialog

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


class LoadChargePointsDialog(TaskDialog):
    ALGORITHM_ID = ALGORITHM_ID

    def __init__(self, parent=None):
        super().__init__(tr("Load charge points"), "EvChargeLoadDialog", parent)
        self.source_chooser = SourceChooser(tr("Source"), DATASTORE_PRESETS, FILE_FILTER, tr("Charge point file"))
        self.source_chooser.file_radio.setText(tr("&File from an operator or the registry"))

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

        inputs = QWidget()
        inputs_layout = QVBoxLayout(inputs)
        inputs_layout.setContentsMargins(0, 0, 0, 0)
        inputs_layout.addWidget(self.source_chooser)
        inputs_layout.addWidget(options_box)
        inputs_layout.addStretch(1)
        self.build(inputs, self._help_html())
        self.resize(780, 420)
        self.source_chooser.restore(REMEMBERED)
        self.london_only_check.setChecked(QgsSettings().value(f"{REMEMBERED}/london_only", False, type=bool))
        self._update_enabled()

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

    def remember(self):
        self.source_chooser.remember(REMEMBERED)
        QgsSettings().setValue(f"{REMEMBERED}/london_only", self.london_only_check.isChecked())

    def set_running(self, running):
        self.source_chooser.set_running(running)

    def problem(self):
        return "" if self.source_chooser.source() else tr("Choose a dataset or a file first.")

    def description(self):
        return tr("Load charge points: {source}").format(source=self.source_chooser.source())

    def parameters(self) -> dict:
        return {
            "SOURCE": self.source_chooser.source(),
            "LONDON_ONLY": self.london_only_check.isChecked(),
            "BOUNDARY": self.boundary_combo.currentLayer(),
            "OUTPUT": new_layer_file("chargepoints"),
            "REPORT": "TEMPORARY_OUTPUT",
        }

    def success_message(self, results):
        return tr("{loaded:,} loaded, {rejected:,} rejected.").format(loaded=int(results["LOADED"]), rejected=int(results["REJECTED"]))
