"""The Trends tab's benchmark from official statistics: DfT's public charging device counts, a borough against London.

The table comes from ``evcharge:importdftstats`` (run here as a task) and stays
in the project as a layer, so it is there when the project is opened again.
A borough is matched by GSS code first, name second. Per 100,000 residents when
the borough layer has a population field; otherwise the borough's count against
London's mean per borough.
"""
import numpy as np
from qgis.core import QgsMapLayerProxyModel, QgsProject
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from ..qgis_io.project import add_to_plugin_group
from ..qgis_io.layers import attribute_value
from ..toolbelt.i18n import tr
from ..toolbelt.tasks import AlgorithmRun
from .charts import TrendChart, chart_box
from .layer_combos import on_layer_change

ALGORITHM_ID = "evcharge:importdftstats"
# Marks the table layers this view made (and their metadata says where they came from).
DFT_TABLE = "evcharge/dft_table"
TABLE_FIELDS = ("gss_code", "name", "quarter", "speed", "devices")  # what evcharge:importdftstats writes



class OfficialStatsView(QWidget):
    # outcome, message
    imported = pyqtSignal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run = None
        self.table_cache = (None, None)  # (layer id, frame)
        self.area = ("", None, None)  # (boroughs layer id, name field, borough name)
        self.chart = TrendChart()
        self.chart.setObjectName("officialStatsChart")
        self.table_combo = QgsMapLayerComboBox()
        self.table_combo.setFilters(QgsMapLayerProxyModel.NoGeometry)
        self.table_combo.setAllowEmptyLayer(True)
        self.table_combo.setLayer(None)
        self.table_combo.setToolTip(tr("A table imported from DfT's 'Electric vehicle public charging infrastructure statistics'."))
        self.speed_combo = QComboBox()
        self.speed_combo.addItem(tr("All speeds"), "all")
        self.speed_combo.addItem(tr("Rapid (50 kW and above)"), "rapid")
        self.import_button = QPushButton(tr("Import DfT table..."))
        self.import_button.setToolTip(tr("Read DfT's quarterly table (xlsx or ods): sheets 1a and 1b, or EVCD_01a and EVCD_01b."))
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(chart_box(self.chart, "official_statistics", self.table_combo, self.speed_combo, self.import_button), 1)
        layout.addWidget(self.status)
        self.import_button.clicked.connect(self.choose_file)
        on_layer_change(self.table_combo, lambda _: self.draw())
        self.speed_combo.activated.connect(lambda _: self.draw())

    def choose_file(self):
        path, _ = QFileDialog.getOpenFileName(self, tr("Import DfT statistics"), "", tr("Spreadsheets (*.xlsx *.ods)"))
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> bool:
        if self.run is not None:
            return False
        self.run = AlgorithmRun(ALGORITHM_ID, {"INPUT": path, "OUTPUT": "TEMPORARY_OUTPUT"}, tr("Import DfT statistics"), self)
        self.run.finished.connect(self._imported)
        self.import_button.setEnabled(False)
        self.status.setText(tr("Reading {path}...").format(path=path))
        self.run.start()
        return True

    def _imported(self, successful, results, context, log):
        from .task_dialog import FAILED, SUCCEEDED, last_error

        self.run = None
        self.import_button.setEnabled(True)
        if not successful:
            message = tr("The DfT table could not be imported: {reason}").format(reason=last_error(log))
            self.status.setText(message)
            self.imported.emit(FAILED, message)
            return
        layer = context.takeResultLayer(results["OUTPUT"])
        layer.setName(tr("DfT public charging devices"))
        layer.setCustomProperty(DFT_TABLE, True)
        add_to_plugin_group(layer)
        self.table_combo.setLayer(layer)
        message = tr("{areas:,} areas over {quarters} quarters imported.").format(areas=results["AREAS"], quarters=results["QUARTERS"])
        self.status.setText(message)
        self.imported.emit(SUCCEEDED, message)

    def _table(self):
        """The chosen table as a frame, read once per layer."""
        import pandas as pd

        layer = self.table_combo.currentLayer()
        if layer is None or not set(TABLE_FIELDS) <= set(layer.fields().names()):
            return None  # no table, or a table that is not DfT's (an import report, say)
        if self.table_cache[0] != layer.id():
            rows = [[attribute_value(feature[name]) for name in TABLE_FIELDS] for feature in layer.getFeatures()]
            frame = pd.DataFrame(rows, columns=list(TABLE_FIELDS))
            frame["quarter"] = pd.to_datetime([value.toPyDate() if hasattr(value, "toPyDate") else value for value in frame["quarter"]])
            frame["devices"] = pd.to_numeric(frame["devices"], errors="coerce")
            self.table_cache = (layer.id(), frame)
        return self.table_cache[1]

    def show_area(self, boroughs_layer, name_field: str, borough) -> None:
        """Draw ``borough`` (a name in ``boroughs_layer``; None for London alone) against London."""
        self.area = (boroughs_layer.id() if boroughs_layer is not None else "", name_field, borough)
        self.draw()

    def draw(self) -> None:
        import pandas as pd

        from ..core.area_summary import POPULATION_NAMES, guess_field
        from ..core.dft_stats import code_field_of, london_series, match_areas

        table, (boroughs_id, name_field, borough) = self._table(), self.area
        boroughs = QgsProject.instance().mapLayer(boroughs_id) if boroughs_id else None  # it may have been removed since
        self.status.clear()
        if table is None or boroughs is None:
            self.chart.set_series([])
            self.chart.set_title(tr("Import DfT's table to compare with the official counts."))
            return
        speed = self.speed_combo.currentData()
        table = table[table["speed"] == speed]
        fields = boroughs.fields().names()
        code_field, population_field = code_field_of(fields), guess_field(fields, POPULATION_NAMES)
        areas = pd.DataFrame([[attribute_value(feature[name]) for name in filter(None, (name_field, code_field, population_field))]
                              for feature in boroughs.getFeatures()], columns=list(filter(None, (name_field, code_field, population_field))))
        matched = match_areas(table, areas, code_field, name_field)
        london = london_series(table).sort_values("quarter")
        series = []
        if population_field:
            # Per 100,000 residents: the borough's own rate, and London's from its summed residents.
            population = pd.to_numeric(areas.set_index(name_field)[population_field], errors="coerce")
            london_scale, unit = 100_000 / population.sum(), tr("devices per 100,000 residents")
        else:
            population, london_scale, unit = None, 1 / max(len(areas), 1), tr("devices (London: mean per borough)")
        if borough is not None:
            rows = table[matched == borough].sort_values("quarter")
            scale = 100_000 / population.get(borough, np.nan) if population is not None else 1.0
            series.append((borough, [day.date() for day in rows["quarter"]], (rows["devices"] * scale).tolist()))
        series.append((tr("London"), [day.date() for day in london["quarter"]], (london["devices"].astype("float64") * london_scale).tolist()))
        self.chart.set_series(series, decimals=1 if population_field else 0)
        self.chart.set_title(tr("Official statistics (DfT): {unit}").format(unit=unit))
        if borough is not None and not series[0][1]:
            self.status.setText(tr("{borough} is not in the DfT table (matched by GSS code, then name).").format(borough=borough))

    def unload(self):
        if self.run is not None:
            self.run.cancel()
            self.run.task.waitForFinished(30000)
            self.run = None
