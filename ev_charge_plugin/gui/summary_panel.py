"""The dock's charts: a shared header (layers, period, metric) and the London, Area, Trends and Operators tabs.

Figures come from ``evcharge:areasummary`` run as a task, once for the
boroughs and once for the wards; the charts draw what it returned. Selection
is linked both ways: a bar selects its area's charge points on the map, and a
selection on the map lights up the areas holding it. The header's metric and
period are the project's shared choice, so the map style and the charts agree.
"""
import html
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qgis.core import QgsApplication, QgsMapLayerProxyModel, QgsProject, QgsTask
from qgis.gui import QgsFieldComboBox, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QObject, Qt, QVariant, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..qgis_io.project import SCOPE, set_shared_choice, shared_choice, shared_choice_changed
from ..qgis_io.layers import attribute_value, parents_of
from ..toolbelt.i18n import tr
from ..toolbelt.tasks import AlgorithmRun
from .charts import BarChart, Histogram, StackedBarChart, TrendChart, chart_box
from .official_stats import OfficialStatsView
from .layer_combos import at_layer_change, on_layer_change

ALGORITHM_ID = "evcharge:areasummary"
ALL_PERIODS = "all"
# What the area bars can show besides the header's metric: (key, label, decimals).
COUNTS = (("chargepoints", "Charge points", 0), ("rapid_total", "Rapid and ultra-rapid charge points", 0),
          ("chargepoints_per_1k_households_no_offstreet", "Charge points per 1,000 households without off-street parking", 2),
          ("chargepoints_per_10k_residents", "Charge points per 10,000 residents", 2))
# Counts of charge points: London's line for them is the mean per area, not London's own figure.
PER_AREA_KEYS = ("chargepoints", "rapid_total")
METRIC_CHOICE = "metric"
OPERATOR_MODES = (("chargepoints", "Charge points"), ("share_of_sessions_pct", "Share of sessions %"))
TOP_OPERATORS = 8
# Project entries (under SCOPE) that keep the dock's settings with the project.
SETTING_KEYS = ("points_layer", "areas_layer", "areas_field", "wards_layer", "wards_field", "dft_layer", "bars_show", "sort_by_name",
                "operators_mode", "area", "tab")



@dataclass
class AreaFigures:
    """What one area summary run returned, as plain arrays (the result layers are let go)."""
    names: list
    fields: dict                       # summary field -> np.ndarray, one value per area
    total: dict                        # the same figures for all areas together
    point_fids: np.ndarray             # sorted feature ids of the charge point layer
    point_area: np.ndarray             # the area position of each of those ids (-1 outside)
    point_metrics: dict                # metric -> np.ndarray aligned with point_fids
    trends: list = field(default_factory=list)     # (scope, area_name, period_start, values dict)
    operators: list = field(default_factory=list)  # (scope, area_name, operator, chargepoints, share_of_sessions_pct)

    def value(self, key: str) -> np.ndarray:
        if key == "rapid_total":
            return self.fields["rapid_count"] + self.fields["ultra_rapid_count"]
        return self.fields.get(key, np.full(len(self.names), np.nan))

    def total_value(self, key: str) -> float:
        if key == "rapid_total":
            return float(self.total["rapid_count"] + self.total["ultra_rapid_count"])
        value = self.total.get(key)
        return float("nan") if value is None else float(value)

    def areas_of(self, fids) -> set:
        """Positions of the areas holding any of ``fids``."""
        fids = np.fromiter(fids, dtype="int64")
        if not len(fids) or not len(self.point_fids):
            return set()
        found = np.searchsorted(self.point_fids, fids).clip(0, len(self.point_fids) - 1)
        known = self.point_fids[found] == fids
        areas = self.point_area[found[known]]
        return set(np.unique(areas[areas >= 0]).tolist())

    def fids_in(self, area: int) -> list:
        return self.point_fids[self.point_area == area].tolist()


RESULT_LAYERS = ("OUTPUT", "POINT_AREAS", "TRENDS", "OPERATORS")


def result_layers(results: dict, context) -> dict:
    """A finished run's result layers, taken from its context (they are then ours), by output name."""
    return {name: context.takeResultLayer(results[name]) for name in RESULT_LAYERS if results.get(name)}


def figures_from_layers(layers: dict, total: str, name_field: str) -> AreaFigures:
    """Read a run's result layers (see :func:`result_layers`) and its TOTAL into :class:`AreaFigures`.

    Reading 25,000 charge points takes about 0.2 s: it runs in a background task
    (the layers belong to no project, so nothing else reads them meanwhile).
    """
    from ..core.area_summary import COUNT_FIELDS
    from ..core.utilisation import METRIC_KEYS

    areas = layers["OUTPUT"]
    summary_fields = [name for name in areas.fields().names() if name in COUNT_FIELDS or name in METRIC_KEYS
                      or name.startswith("chargepoints_per_") or name.endswith("_count") or name in ("sessions", "energy_kwh")]
    rows = [[attribute_value(feature[name]) for name in [name_field, *summary_fields]] for feature in areas.getFeatures()]
    names = [str(row[0]) if row[0] is not None else tr("(no name)") for row in rows]
    fields = {name: np.array([np.nan if row[i + 1] is None else row[i + 1] for row in rows], dtype="float64")
              for i, name in enumerate(summary_fields)}
    point_layer = layers["POINT_AREAS"]
    point_names = ["fid", "area_index", *[name for name in METRIC_KEYS if point_layer.fields().lookupField(name) >= 0]]
    columns = list(zip(*[[attribute_value(feature[name]) for name in point_names] for feature in point_layer.getFeatures()])) or [[] for _ in point_names]
    fids = np.array(columns[0], dtype="int64")
    order = np.argsort(fids)
    point_metrics = {name: np.array([np.nan if value is None else value for value in column], dtype="float64")[order]
                     for name, column in zip(point_names[2:], columns[2:])}
    trends = []
    if "TRENDS" in layers:
        for feature in layers["TRENDS"].getFeatures():
            values = {name: attribute_value(feature[name]) for name in METRIC_KEYS}
            trends.append((feature["scope"], attribute_value(feature["area_name"]), feature["period_start"].date().toPyDate(), values))
    operators = []
    if "OPERATORS" in layers:
        for feature in layers["OPERATORS"].getFeatures():
            operators.append((feature["scope"], attribute_value(feature["area_name"]), feature["operator"], feature["chargepoints"],
                              attribute_value(feature["share_of_sessions_pct"])))
    return AreaFigures(names, fields, json.loads(total), fids[order], np.array(columns[1], dtype="int64")[order],
                       point_metrics, trends, operators)


class SummaryPanel(QObject):
    """The header widget and the four chart tabs, with the runs and the links between them and the map."""

    # outcome, message (as the other panels)
    summarised = pyqtSignal(str, str)

    def __init__(self, canvas=None, parent=None):
        from ..core.utilisation import metrics

        super().__init__(parent)
        self.canvas = canvas
        self.run, self.jobs, self.job_count = None, [], 0
        self.readings = set()  # the tasks reading finished runs' figures, kept alive until they end
        self.generation = 0  # counts refreshes and cancels: figures read for an older one are dropped
        self.boroughs = self.wards = None
        self.ward_parent = []
        self.area = -1  # the borough drilled into, -1 for London
        self.pending_area = ""  # a restored project's borough, found by name once the figures are in
        self.period_in_figures = None  # the period the figures were summarised for
        self.run_layers = (None, None)  # the borough and ward layers of the runs under way
        self.linked_layer = None
        self._restoring = False

        # -- header
        self.header = QWidget()
        self.header.setObjectName("EvChargeSummaryHeader")
        self.points_combo = QgsMapLayerComboBox()
        self.points_combo.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.points_combo.setToolTip(tr("The charge points to summarise: loaded, or with utilisation for a period."))
        self.areas_combo, self.areas_field = self._area_pickers(tr("The boroughs (or any areas) the London tab compares."), allow_empty=False)
        self.wards_combo, self.wards_field = self._area_pickers(tr("The wards (or any smaller areas) the Area tab shows inside the chosen borough."), allow_empty=True)
        self.period_combo = QComboBox()
        self.period_combo.setToolTip(tr("The period of usage the charts and the map show (from the project's history archive)."))
        self.metric_combo = QComboBox()
        for metric in metrics().values():
            self.metric_combo.addItem(metric.label, metric.key)
            self.metric_combo.setItemData(self.metric_combo.count() - 1, metric.long, Qt.ToolTipRole)
        self.refresh_button = QPushButton(tr("&Update charts"))
        self.refresh_button.setToolTip(tr("Summarise the charge points by area again (runs in the background)."))
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = QFormLayout(self.header)
        form.setContentsMargins(4, 4, 4, 0)
        form.addRow(tr("Charge points"), self.points_combo)
        form.addRow(tr("Boroughs"), self._pair(self.areas_combo, self.areas_field))
        form.addRow(tr("Wards"), self._pair(self.wards_combo, self.wards_field))
        form.addRow(tr("Period"), self.period_combo)
        form.addRow(tr("Metric"), self.metric_combo)
        form.addRow(self._pair(self.refresh_button, self.cancel_button))
        form.addRow(self.progress)
        form.addRow(self.status)

        # -- London tab: boroughs, with London's figure as a line, and the spread across charge points
        self.london_bars = BarChart()
        self.london_bars.setObjectName("londonBars")
        self.bars_show = QComboBox()
        self.sort_combo = QComboBox()
        self.sort_combo.addItems([tr("Sort by value"), tr("Sort by name")])
        self.london_histogram = Histogram()
        self.london_tab = self._splitter(chart_box(self.london_bars, "boroughs", self.bars_show, self.sort_combo),
                                         chart_box(self.london_histogram, "charge_points_histogram"))
        # -- Area tab: the wards of one borough, with breadcrumbs back to London
        self.breadcrumb = QLabel()
        self.breadcrumb.setTextFormat(Qt.RichText)
        self.breadcrumb.setToolTip(tr("Click London to go back to every borough."))
        self.area_combo = QComboBox()
        self.area_combo.setToolTip(tr("The borough whose wards are shown (or click its bar in the London tab)."))
        self.area_bars = BarChart()
        self.area_bars.setObjectName("areaBars")
        self.area_histogram = Histogram()
        area_top = QWidget()
        top_layout = QVBoxLayout(area_top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.breadcrumb)
        top_layout.addWidget(chart_box(self.area_bars, "wards", self.area_combo), 1)
        self.area_tab = self._splitter(area_top, chart_box(self.area_histogram, "area_histogram"))
        # -- Trends tab
        self.trend_chart = TrendChart()
        self.trend_chart.setObjectName("trendChart")
        self.official = OfficialStatsView()
        self.trends_tab = self._splitter(chart_box(self.trend_chart, "trend"), self.official)
        # -- Operators tab
        self.operators_chart = StackedBarChart()
        self.operators_chart.setObjectName("operatorsChart")
        self.operators_mode = QComboBox()
        for key, label in OPERATOR_MODES:
            self.operators_mode.addItem(tr(label), key)
        self.operators_tab = chart_box(self.operators_chart, "operators", self.operators_mode)
        self.tabs = [(self.london_tab, tr("London")), (self.area_tab, tr("Area")), (self.trends_tab, tr("Trends")),
                     (self.operators_tab, tr("Operators"))]
        self.tab_widget = None

        on_layer_change(self.areas_combo, lambda layer: self._fill_name_field(self.areas_field, layer))
        on_layer_change(self.wards_combo, lambda layer: self._fill_name_field(self.wards_field, layer))
        on_layer_change(self.points_combo, self._link_selection)
        for combo in (self.points_combo, self.areas_combo, self.wards_combo):
            at_layer_change(combo, self._layers_changed)
        # Settings are saved on a user's choices only: layers also change while a project loads.
        for combo in (self.points_combo, self.areas_combo, self.wards_combo, self.areas_field, self.wards_field, self.official.table_combo):
            combo.activated.connect(self.save_settings)
        self.official.imported.connect(lambda *_: self.save_settings())
        self.refresh_button.clicked.connect(self.refresh)
        self.cancel_button.clicked.connect(self.cancel)
        self.period_combo.activated.connect(self._choice_changed)
        self.metric_combo.activated.connect(self._choice_changed)
        self.bars_show.activated.connect(self._draw_and_save)
        self.sort_combo.activated.connect(self._draw_and_save)
        self.operators_mode.activated.connect(self._draw_and_save)
        self.area_combo.activated.connect(lambda row: self.drill_down(self.area_combo.itemData(row)))
        self.breadcrumb.linkActivated.connect(lambda _: self.drill_down(-1))
        self.london_bars.barClicked.connect(self._borough_clicked)
        self.area_bars.barClicked.connect(self._ward_clicked)
        shared_choice_changed().connect(self._shared_choice_changed)
        QgsProject.instance().readProject.connect(self.restore)
        QgsProject.instance().layersWillBeRemoved.connect(self._layers_going)
        self._fill_name_field(self.areas_field, self.areas_combo.currentLayer())
        self._fill_name_field(self.wards_field, self.wards_combo.currentLayer())
        self._link_selection(self.points_combo.currentLayer())
        self.fill_periods()
        self._draw_breadcrumb()

    # -- building blocks -----------------------------------------------------------------------------------

    def _area_pickers(self, tooltip: str, allow_empty: bool):
        combo = QgsMapLayerComboBox()
        combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        combo.setToolTip(tooltip)
        if allow_empty:
            combo.setAllowEmptyLayer(True)
            combo.setLayer(None)
        name = QgsFieldComboBox()
        name.setToolTip(tr("The field holding each area's name."))
        return combo, name

    @staticmethod
    def _pair(*widgets) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget, 1)
        return box

    @staticmethod
    def _splitter(*widgets) -> QSplitter:
        splitter = QSplitter(Qt.Vertical)
        for widget in widgets:
            splitter.addWidget(widget)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        return splitter

    @staticmethod
    def _fill_name_field(combo, layer):
        """Offer the layer's fields, starting on its name field (``name``, ``NAME``...) when it has one."""
        combo.setLayer(layer)
        if layer is not None:
            names = layer.fields().names()
            # A new layer starts on its name field, whatever field the combo happened to pick.
            combo.setField(next((name for name in names if name.lower() == "name"), SummaryPanel._name_field(combo, layer)))

    @staticmethod
    def _name_field(combo, layer) -> str:
        """The chosen name field if the layer has it, else its ``name`` field (any case), else its first text field."""
        fields = layer.fields()
        if combo.currentField() and fields.lookupField(combo.currentField()) >= 0:
            return combo.currentField()
        names = fields.names()
        return next((name for name in names if name.lower() == "name"),
                    next((field.name() for field in fields if field.type() == QVariant.String), names[0] if names else ""))

    # -- period and metric, shared with the map ---------------------------------------------------------------

    def fill_periods(self) -> None:
        """The archived periods, newest first, then every period together; keeps the current choice if it is still there."""
        from ..core.archive import Archive
        from ..core.errors import EvChargeError
        from ..core.usage import period_label
        from .import_dialog import project_archive

        current = self.period_combo.currentData()
        self.period_combo.clear()
        periods, path = None, Path(project_archive())
        if path.is_file():  # opening a missing archive would create it
            try:
                with Archive(path) as archive:
                    periods = archive.periods()
            except (EvChargeError, sqlite3.Error) as error:  # unreadable, or locked by an import under way
                self.status.setText(tr("The history archive could not be read: {error}").format(error=error))
        if periods is None or periods.empty:
            self.period_combo.addItem(tr("No usage archived (counts only)"), "")
            return
        for row in periods.sort_values("period_start", ascending=False).itertuples():
            start, end = row.period_start.date(), row.period_end.date()
            self.period_combo.addItem(period_label(start, end), f"{start.isoformat()}/{end.isoformat()}")
        first, last = periods["period_start"].min().date(), periods["period_end"].max().date()
        self.period_combo.addItem(tr("Every archived period ({period})").format(period=period_label(first, last)),
                                  f"{first.isoformat()}/{last.isoformat()}")
        index = self.period_combo.findData(current)
        self.period_combo.setCurrentIndex(max(index, 0))

    def period(self):
        """(start, end) as ISO dates, end exclusive; None without archived usage."""
        data = self.period_combo.currentData()
        return tuple(data.split("/")) if data else None

    def select_period(self, start, end) -> bool:
        """Show the period ``[start, end)`` if the archive holds it; False if not."""
        index = self.period_combo.findData(f"{str(start)[:10]}/{str(end)[:10]}")
        if index >= 0:
            self.period_combo.setCurrentIndex(index)
        return index >= 0

    def metric(self) -> str:
        return self.metric_combo.currentData()

    def _choice_changed(self, *_):
        # The shared choice's signal brings the charts (and the map) up to date.
        start, end = self.period() or ("", "")
        set_shared_choice(self.metric(), start, end)

    def _shared_choice_changed(self, metric, start, end):
        """The map was styled (or the choice made here): follow it. A new metric only redraws (every metric
        is in the figures); a new period summarises again. The archive is read again only for a period it
        did not offer (a new import)."""
        index = self.metric_combo.findData(metric)
        if index >= 0:
            self.metric_combo.setCurrentIndex(index)
        previous = self.period_in_figures
        if start and not self.select_period(start, end):
            self.fill_periods()
            self.select_period(start, end)
        if self.boroughs is not None and self.period() == previous:
            self._draw_and_save()
            self._highlight_selection()
        else:
            self.refresh()

    # -- running the summaries ----------------------------------------------------------------------------------

    def _layers_changed(self, *_):
        """Figures belong to the layers they were summarised from (their feature ids above all): drop them."""
        self.cancel()
        self.boroughs = self.wards = self.period_in_figures = None
        self.area = -1
        self.london_bars.set_data([], [])
        self.area_bars.set_data([], [])
        for histogram in (self.london_histogram, self.area_histogram):
            histogram.set_values([])
        self.trend_chart.set_series([])
        self.operators_chart.set_data([], {})
        self.status.setText(tr("The layers changed: choose Update charts to summarise them."))

    def refresh(self) -> bool:
        """Summarise the charge points by borough (and by ward) for the header's period, as background tasks."""
        from .import_dialog import project_archive

        points, areas = self.points_combo.currentLayer(), self.areas_combo.currentLayer()
        if points is None or areas is None:
            self.status.setText(tr("Choose a charge point layer and a borough layer."))
            return False
        self.cancel()
        period = self.period()
        common = {"POINTS": points, "POINT_AREAS": "TEMPORARY_OUTPUT", "OPERATORS": "TEMPORARY_OUTPUT", "OUTPUT": "TEMPORARY_OUTPUT"}
        if period is not None:
            common.update({"ARCHIVE": project_archive(), "PERIOD_START": period[0], "PERIOD_END": period[1], "TRENDS": "TEMPORARY_OUTPUT"})
        self.jobs = [("boroughs", dict(common, AREAS=areas, AREA_NAME_FIELD=self._name_field(self.areas_field, areas)))]
        wards = self.wards_combo.currentLayer()
        if wards is not None:
            self.jobs.append(("wards", dict(common, AREAS=wards, AREA_NAME_FIELD=self._name_field(self.wards_field, wards))))
        else:
            self.wards = None
        self.job_count = len(self.jobs)
        self.run_layers = (areas, wards)
        self.pending_period = period
        self.refresh_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(tr("Summarising by area..."))
        self._start_next()
        return True

    def _start_next(self):
        # One run at a time: two tasks reading the same layer at once is not safe with every provider.
        key, parameters = self.jobs.pop(0)
        self.run = AlgorithmRun(ALGORITHM_ID, parameters, tr("Area summary ({what})").format(what=key), self)
        self.run.finished.connect(lambda *args, run=self.run, key=key, name_field=parameters["AREA_NAME_FIELD"]: self._finished(run, key, name_field, *args))
        self.run.progressChanged.connect(self._progress)
        self.run.start()

    def _progress(self, value):
        done = self.job_count - len(self.jobs) - 1
        self.progress.setValue(int((done * 100 + value) / max(self.job_count, 1)))

    def cancel(self, wait: bool = False):
        """Stop the runs; with ``wait``, until the tasks have let go of their layers (before they are deleted)."""
        self.generation += 1
        if self.run is not None:
            self.run.cancel()
            if wait:
                self.run.task.waitForFinished(30000)
        if wait:
            for reading in list(self.readings):
                reading.waitForFinished(30000)
        self.run, self.jobs = None, []
        self.refresh_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def is_running(self) -> bool:
        return self.run is not None or bool(self.readings)

    def _finished(self, run, key, name_field, successful, results, context, log):
        from .task_dialog import FAILED, last_error

        if run is not self.run:
            return  # cancelled, or replaced by a newer run
        self.run = None
        if not successful and run.feedback.isCanceled():
            # Cancelled here, or by QGIS's task manager (a layer it reads was removed).
            self.cancel()
            self.status.setText(tr("The area summary was cancelled."))
            return
        if not successful:
            self.cancel()
            message = tr("The area summary failed: {reason}").format(reason=last_error(log))
            self.status.setText(message)
            self.summarised.emit(FAILED, message)
            return
        run.deleteLater()
        layers, generation = result_layers(results, context), self.generation
        # Reading the figures out of the layers is the slow part: in the background too.
        reading = QgsTask.fromFunction(tr("Area summary ({what}): reading the figures").format(what=key),
                                       lambda task: figures_from_layers(layers, results["TOTAL"], name_field),
                                       on_finished=lambda error, figures: self._figures_read(reading, generation, key, error, figures, results))
        self.readings.add(reading)
        QgsApplication.taskManager().addTask(reading)

    def _figures_read(self, reading, generation, key, error, figures, results):
        from .task_dialog import FAILED, SUCCEEDED

        self.readings.discard(reading)
        if generation != self.generation:
            return  # a newer refresh started meanwhile, or the run was cancelled
        try:
            if error is not None:
                raise error
            if key == "boroughs":
                self.boroughs = figures
            else:
                self.wards = figures
                self.ward_parent = parents_of(self.run_layers[1], self.run_layers[0])
        except Exception as problem:  # noqa: BLE001 - in a slot: say it on the panel, never QGIS's error dialog
            self.cancel()
            message = tr("The charts could not be drawn: {error}").format(error=problem)
            self.status.setText(message)
            self.summarised.emit(FAILED, message)
            return
        if self.jobs:
            self._start_next()
            return
        self.refresh_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setValue(100)
        self.period_in_figures = self.pending_period
        if self.pending_area in self.boroughs.names:
            self.area = self.boroughs.names.index(self.pending_area)
        self.pending_area = ""
        self._fill_area_combo()
        self.draw()
        self._highlight_selection()
        outside = int(results.get("OUTSIDE", 0))
        message = tr("{count:,} charge points in {areas} boroughs{outside}.").format(
            count=self.boroughs.total["chargepoints"], areas=len(self.boroughs.names),
            outside=tr("; {count:,} outside every borough").format(count=outside) if outside else "")
        self.status.setText(message)
        self.summarised.emit(SUCCEEDED, message)

    # -- drawing --------------------------------------------------------------------------------------------------

    def _bars_key(self):
        key = self.bars_show.currentData()
        return self.metric() if key in (None, METRIC_CHOICE) else key

    def _fill_bar_choices(self):
        from ..core.utilisation import metrics

        current = self.bars_show.currentData()
        self.bars_show.clear()
        self.bars_show.addItem(metrics()[self.metric()].label, METRIC_CHOICE)
        for key, label, _ in COUNTS:
            if self.boroughs is None or key == "rapid_total" or key in self.boroughs.fields:
                self.bars_show.addItem(tr(label), key)
        self.bars_show.setCurrentIndex(max(self.bars_show.findData(current), 0))

    def _decimals(self, key) -> int:
        from ..core.utilisation import metrics

        if key in metrics():
            return metrics()[key].decimals
        return next((decimals for count_key, _, decimals in COUNTS if count_key == key), 1)

    def draw(self):
        """Draw every chart from the last summaries."""
        if self.boroughs is None:
            return
        self._fill_bar_choices()
        key, by_name = self._bars_key(), self.sort_combo.currentIndex() == 1
        decimals = self._decimals(key)
        per_area = key in PER_AREA_KEYS
        for chart in (self.london_bars, self.area_bars):
            chart.sort_by_value = not by_name
        # For counts London's line is the mean per borough; for rates and metrics, London's own figure (from its sums).
        reference = self.boroughs.total_value(key) / max(len(self.boroughs.names), 1) if per_area else self.boroughs.total_value(key)
        label = tr("London mean") if per_area else tr("London")
        self.london_bars.set_data(self.boroughs.names, self.boroughs.value(key), reference, label, decimals=decimals)
        self.london_histogram.set_values(self.boroughs.point_metrics.get(self.metric(), []))
        self.london_histogram.set_axis_label("bottom", self.metric_combo.currentText())
        self._draw_area(key, decimals, reference, label)
        self._draw_trend()
        self._draw_operators()

    def _draw_and_save(self, *_):
        self.draw()
        self._highlight_selection()
        self.save_settings()

    def _ward_positions(self) -> list:
        if self.wards is None:
            return []
        return [index for index, parent in enumerate(self.ward_parent) if parent == self.area]

    def _draw_area(self, key, decimals, london_reference, london_label):
        self._draw_breadcrumb()
        wards = self._ward_positions()
        metric_values = self.boroughs.point_metrics.get(self.metric(), np.array([]))
        if self.area < 0 or self.wards is None:
            self.area_bars.set_data([], [])
            self.area_histogram.set_values(metric_values)
            return
        values = self.wards.value(key)[wards]
        reference = self.boroughs.value(key)[self.area]
        if key in PER_AREA_KEYS:
            reference = reference / max(len(wards), 1)
        self.area_bars.set_data([self.wards.names[index] for index in wards], values, reference,
                                tr("{borough} mean").format(borough=self.boroughs.names[self.area]) if key in PER_AREA_KEYS
                                else self.boroughs.names[self.area], decimals=decimals)
        in_borough = self.boroughs.point_area == self.area
        self.area_histogram.set_values(metric_values[in_borough] if len(metric_values) else [])

    def _draw_breadcrumb(self):
        if self.area < 0 or self.boroughs is None:
            self.breadcrumb.setText(tr("<b>London</b> - click a borough's bar, or choose it here, to see its wards"))
        else:
            self.breadcrumb.setText(f"<a href='london'>{tr('London')}</a> &rsaquo; <b>{html.escape(self.boroughs.names[self.area])}</b>")

    def _fill_area_combo(self):
        self.area_combo.clear()
        self.area_combo.addItem(tr("London (every borough)"), -1)
        for index in sorted(range(len(self.boroughs.names)), key=lambda i: self.boroughs.names[i].lower()):
            self.area_combo.addItem(self.boroughs.names[index], index)
        if self.area >= len(self.boroughs.names):
            self.area = -1
        self.area_combo.setCurrentIndex(max(self.area_combo.findData(self.area), 0))

    def _draw_trend(self):
        from ..core.utilisation import metrics

        metric = self.metric()
        source, name = self.boroughs, (self.boroughs.names[self.area] if self.area >= 0 else None)
        series = []
        if name is not None:
            rows = sorted((row for row in source.trends if row[0] == "area" and row[1] == name), key=lambda row: row[2])
            series.append((name, [row[2] for row in rows], [row[3][metric] for row in rows]))
        london = sorted((row for row in source.trends if row[0] == "total"), key=lambda row: row[2])
        series.append((tr("London"), [row[2] for row in london], [row[3][metric] for row in london]))
        self.trend_chart.set_series(series if london else [], metrics()[metric].decimals)
        self.trend_chart.set_title(tr("{metric} by period").format(metric=metrics()[metric].label) if london
                                   else tr("Trends need usage from the history archive: import usage first."))
        self.official.show_area(self.areas_combo.currentLayer(), self.areas_field.currentField(), name)

    def _draw_operators(self):
        """Stacked bars by operator: each borough and London, or each ward of the chosen borough and the borough."""
        mode = self.operators_mode.currentData() or "chargepoints"
        if self.area >= 0 and self.wards is not None:
            names = [self.wards.names[index] for index in self._ward_positions()]
            whole_name = self.boroughs.names[self.area]
            rows = [(area, operator, count, share) for scope, area, operator, count, share in self.wards.operators if scope == "area"]
            # The borough's own row in the boroughs' table: the wards' "total" would be all of London's wards.
            whole = [(operator, count, share) for scope, area, operator, count, share in self.boroughs.operators
                     if scope == "area" and area == whole_name]
        else:
            names, whole_name = self.boroughs.names, tr("London")
            rows = [(area, operator, count, share) for scope, area, operator, count, share in self.boroughs.operators if scope == "area"]
            whole = [(operator, count, share) for scope, _, operator, count, share in self.boroughs.operators if scope == "total"]
        top = [operator for operator, _, _ in sorted(whole, key=lambda row: (-row[1], row[0]))][:TOP_OPERATORS]
        other = tr("Other operators")
        segments = {operator: np.zeros(len(names) + 1) for operator in [*top, other]}
        row_of = {name: row for row, name in enumerate(names)}
        placed = [(row_of.get(area), operator, count, share) for area, operator, count, share in rows]
        placed += [(len(names), operator, count, share) for operator, count, share in whole]
        for row, operator, count, share in placed:
            if row is not None:
                segments[operator if operator in segments else other][row] += count if mode == "chargepoints" else (share or 0.0)
        if not segments[other].any():
            del segments[other]
        self.operators_chart.set_data([*names, whole_name], segments, unit="%" if mode != "chargepoints" else "",
                                      decimals=0 if mode == "chargepoints" else 1)

    # -- linked selection -----------------------------------------------------------------------------------------

    def drill_down(self, area) -> None:
        """Show the wards of borough ``area`` (a position in the boroughs), or London with -1."""
        self.area = -1 if area is None else int(area)
        self.area_combo.setCurrentIndex(max(self.area_combo.findData(self.area), 0))
        if self.tab_widget is not None and self.area >= 0:
            self.tab_widget.setCurrentWidget(self.area_tab)
        self._draw_and_save()

    def _borough_clicked(self, index):
        self._select_area(self.boroughs, index)
        self.drill_down(index)

    def _ward_clicked(self, index):
        # The Area chart holds the chosen borough's wards, in their order.
        self._select_area(self.wards, self._ward_positions()[index])

    def _select_area(self, figures, area):
        layer = self.points_combo.currentLayer()
        if layer is None or figures is None:
            return
        fids = figures.fids_in(area)
        layer.selectByIds(fids)
        if self.canvas is not None and fids:
            self.canvas.zoomToSelected(layer)
            self.canvas.refresh()

    def _link_selection(self, layer):
        if self.linked_layer is not None:
            try:
                self.linked_layer.selectionChanged.disconnect(self._highlight_selection)
            except (TypeError, RuntimeError):
                pass  # the layer was already deleted, or never connected
        self.linked_layer = layer
        if layer is not None:
            layer.selectionChanged.connect(self._highlight_selection)

    def _highlight_selection(self, *_):
        """Light up the bars of the areas holding the map's selected charge points, and draw those points' spread."""
        layer = self.points_combo.currentLayer()
        if layer is None or self.boroughs is None:
            return
        selected = layer.selectedFeatureIds()
        self.london_bars.set_highlighted(self.boroughs.areas_of(selected))
        if self.wards is not None:
            wards = self._ward_positions()
            row_of = {ward: row for row, ward in enumerate(wards)}
            self.area_bars.set_highlighted(row_of[ward] for ward in self.wards.areas_of(selected) if ward in row_of)
        metric = self.boroughs.point_metrics.get(self.metric())
        if metric is not None and len(metric):
            fids = np.fromiter(selected, dtype="int64")
            found = np.searchsorted(self.boroughs.point_fids, fids).clip(0, len(self.boroughs.point_fids) - 1)
            known = found[self.boroughs.point_fids[found] == fids]
            self.london_histogram.set_selected(metric[known])
            in_area = known[self.boroughs.point_area[known] == self.area] if self.area >= 0 else known
            self.area_histogram.set_selected(metric[in_area])

    # -- settings kept in the project ----------------------------------------------------------------------------

    def _settings(self) -> dict:
        return {
            "points_layer": self.points_combo.currentLayer().id() if self.points_combo.currentLayer() else "",
            "areas_layer": self.areas_combo.currentLayer().id() if self.areas_combo.currentLayer() else "",
            "areas_field": self.areas_field.currentField(),
            "wards_layer": self.wards_combo.currentLayer().id() if self.wards_combo.currentLayer() else "",
            "wards_field": self.wards_field.currentField(),
            "dft_layer": self.official.table_combo.currentLayer().id() if self.official.table_combo.currentLayer() else "",
            "bars_show": self.bars_show.currentData() or METRIC_CHOICE,
            "sort_by_name": "1" if self.sort_combo.currentIndex() == 1 else "0",
            "operators_mode": self.operators_mode.currentData() or "chargepoints",
            "area": self.boroughs.names[self.area] if self.boroughs is not None and self.area >= 0 else "",
            "tab": str(self.tab_widget.currentIndex()) if self.tab_widget is not None else "0",
        }

    def save_settings(self, *_) -> None:
        if self._restoring:
            return
        project = QgsProject.instance()
        for key, value in self._settings().items():
            project.writeEntry(SCOPE, f"dock/{key}", value)

    def restore(self, *_) -> None:
        """Put the dock back as the project was saved: layers, name fields, chart choices, the borough drilled into."""
        project = QgsProject.instance()
        saved = {key: project.readEntry(SCOPE, f"dock/{key}", "")[0] for key in SETTING_KEYS}
        self._restoring = True
        try:
            for combo, key in ((self.points_combo, "points_layer"), (self.areas_combo, "areas_layer"), (self.wards_combo, "wards_layer"),
                               (self.official.table_combo, "dft_layer")):
                if project.mapLayer(saved[key]) is not None:
                    combo.setLayer(project.mapLayer(saved[key]))
            for combo, key in ((self.areas_field, "areas_field"), (self.wards_field, "wards_field")):
                if saved[key]:
                    combo.setField(saved[key])
            self.sort_combo.setCurrentIndex(1 if saved["sort_by_name"] == "1" else 0)
            self.operators_mode.setCurrentIndex(max(self.operators_mode.findData(saved["operators_mode"]), 0))
            self.pending_area = saved["area"]
            if self.tab_widget is not None and saved["tab"].isdigit():
                self.tab_widget.setCurrentIndex(int(saved["tab"]))
            metric, start, end = shared_choice(project)
            self.fill_periods()
            if metric and self.metric_combo.findData(metric) >= 0:
                self.metric_combo.setCurrentIndex(self.metric_combo.findData(metric))
            self.select_period(start, end)
            # Every choice is offered until figures say which the areas have; the next draw keeps this one.
            self._fill_bar_choices()
            self.bars_show.setCurrentIndex(max(self.bars_show.findData(saved["bars_show"]), 0))
        finally:
            self._restoring = False
        self.refresh()

    def _layers_going(self, layer_ids):
        """A run reading a layer about to be deleted would crash QGIS: stop it first."""
        if self.run is not None and {combo.currentLayer().id() for combo in (self.points_combo, self.areas_combo, self.wards_combo)
                                     if combo.currentLayer() is not None} & set(layer_ids):
            self.cancel(wait=True)
            self.status.setText(tr("A layer the charts used was removed: choose the layers again."))

    def unload(self):
        self.cancel(wait=True)
        self.official.unload()
        self._link_selection(None)
        for signal, slot in ((shared_choice_changed(), self._shared_choice_changed), (QgsProject.instance().readProject, self.restore),
                             (QgsProject.instance().layersWillBeRemoved, self._layers_going)):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass  # never connected, or already gone

