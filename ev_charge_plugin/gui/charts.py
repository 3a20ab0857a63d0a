"""The dock's charts (pyqtgraph): bars by area, a histogram, trends and operator stacks, with PNG/SVG export.

Each chart keeps the figures it draws (``values()``), so what a user reads is
what a test checks. A :class:`Theme` sets the colours: the screen one follows
the QGIS palette, the print one (white paper, dark text) is for layouts.
"""
import html
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph import exporters
from qgis.PyQt.QtCore import QPointF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QFont, QFontMetrics, QPalette
from qgis.PyQt.QtWidgets import QApplication, QFileDialog, QHBoxLayout, QMenu, QMessageBox, QScrollArea, QToolButton, QToolTip, QVBoxLayout, QWidget

from ..toolbelt.i18n import tr

# Categorical colours (ColorBrewer Set2 and Dark2), distinct in print and for most colour-blind readers.
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
           "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3")
OTHER_COLOUR = "#bbbbbb"


@dataclass(frozen=True)
class Theme:
    background: str
    foreground: str
    bar: str
    highlight: str
    reference: str  # the London line
    font_points: int = 9


def screen_theme(widget=None) -> Theme:
    """Colours from the application's palette, so the dock looks right in light and dark QGIS themes."""
    palette = (widget or QApplication.instance()).palette()
    return Theme(palette.color(QPalette.Base).name(), palette.color(QPalette.Text).name(), "#6a9fd4", "#e6550d", "#c51b8a")


PRINT_THEME = Theme("#ffffff", "#222222", "#4a7fb5", "#d94801", "#c51b8a", font_points=11)


def format_value(value, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return tr("no data")
    return f"{value:,.{decimals}f}"


class Chart(pg.PlotWidget):
    """A plot with the theme applied, a title, and export to PNG or SVG."""

    def __init__(self, theme: Theme = None, parent=None, **options):
        super().__init__(parent, **options)
        self.theme = theme or screen_theme(parent)
        self.setBackground(self.theme.background)
        self.setMenuEnabled(False)
        self.plotItem.hideButtons()
        font = QFont(self.font())
        font.setPointSize(self.theme.font_points)
        for name in ("left", "bottom"):
            axis = self.plotItem.getAxis(name)
            axis.setPen(self.theme.foreground)
            axis.setTextPen(self.theme.foreground)
            axis.setStyle(tickFont=font)
        self.setMouseEnabled(x=False, y=False)

    def set_title(self, title: str) -> None:
        self.plotItem.setTitle(title, color=self.theme.foreground, size=f"{self.theme.font_points + 1}pt")

    def set_axis_label(self, axis: str, text: str) -> None:
        self.plotItem.setLabel(axis, text, color=self.theme.foreground)

    def export(self, path, width: int = 1200) -> Path:
        """Write the chart to ``path``: PNG ``width`` pixels wide, or SVG (vector) by the suffix."""
        path = Path(path)
        if not self.isVisible():
            # A chart never shown has no layout yet: lay it out off screen, as a print layout's picture needs.
            self.setAttribute(Qt.WA_DontShowOnScreen, True)
            self.show()
            QApplication.processEvents()
        if path.suffix.lower() == ".svg":
            exporter = exporters.SVGExporter(self.plotItem)
        elif path.suffix.lower() == ".png":
            exporter = exporters.ImageExporter(self.plotItem)
            # Setting the width makes pyqtgraph keep the height in proportion; both must be whole pixels.
            exporter.parameters()["width"] = int(width)
            exporter.parameters()["height"] = int(round(width * self.plotItem.height() / max(self.plotItem.width(), 1)))
            exporter.parameters()["background"] = QColor(self.theme.background)
        else:
            raise ValueError(f"Charts export to .png or .svg, not {path.suffix}")
        exporter.export(str(path))
        return path

    def _index_at(self, scene_position, count: int, axis: int):
        """The category under a scene position (categories sit at 0..count-1 along ``axis``), or None."""
        if not self.plotItem.sceneBoundingRect().contains(scene_position):
            return None
        point = self.plotItem.vb.mapSceneToView(scene_position)
        index = int(round(point.y() if axis == 1 else point.x()))
        return index if 0 <= index < count else None


ROW_PIXELS = 18  # the least height a bar (and its name) gets on screen


def _fit_rows(chart: Chart, rows: int) -> None:
    """Give each bar a legible height: a chart with many bars grows, and its box scrolls (see :func:`chart_box`)."""
    chart.setMinimumHeight(rows * ROW_PIXELS + 70)


def _fit_left_axis(chart: Chart, labels) -> None:
    """Make the left axis as wide as its longest label now: pyqtgraph only widens it once painted on screen,
    and a chart exported or printed without being shown would cut the names off."""
    metrics = QFontMetrics(chart.getAxis("left").style.get("tickFont") or chart.font())
    chart.getAxis("left").setWidth(max([metrics.horizontalAdvance(label) for label in labels] or [0]) + 16)


class BarChart(Chart):
    """Horizontal bars, one per area, with an optional reference line (London's figure).

    Bars are sorted by value (largest at the top) or by name. Clicking a bar
    emits ``barClicked`` with the area's position in the data given; hovering
    shows its exact value.
    """

    barClicked = pyqtSignal(int)

    def __init__(self, theme: Theme = None, parent=None):
        super().__init__(theme, parent)
        self.labels, self.data, self.order, self.highlighted = [], np.array([]), np.array([], dtype=int), set()
        self.decimals, self.unit, self.sort_by_value = 1, "", True
        self.fixed_order = False  # True: the bars stay in the order given, the first at the top
        self.reference, self.reference_label = None, ""
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.addItem(self.bars)
        self.reference_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(self.theme.reference, width=2, style=Qt.DashLine),
                                              label="{value}", labelOpts={"position": 0.02, "color": self.theme.reference, "anchors": [(1, 1), (1, 1)],
                                                                         "fill": self.theme.background})
        self.addItem(self.reference_line)
        self.reference_line.hide()
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._hovered)

    def set_data(self, labels, values, reference=None, reference_label: str = "", unit: str = "", decimals: int = 1) -> None:
        self.labels = [str(label) for label in labels]
        self.data = np.asarray(values, dtype="float64")
        self.reference, self.reference_label, self.unit, self.decimals = reference, reference_label, unit, decimals
        self.highlighted &= set(range(len(self.labels)))
        self._draw()

    def set_highlighted(self, indices) -> None:
        self.highlighted = set(int(index) for index in indices)
        self._paint()

    def values(self) -> dict:
        """The figure drawn for each label (NaN where there is no data)."""
        return dict(zip(self.labels, self.data.tolist()))

    def displayed_order(self) -> list:
        """Labels from the top bar down."""
        return [self.labels[index] for index in self.order[::-1]]

    def _draw(self) -> None:
        count = len(self.labels)
        # Row 0 is the bottom bar. By value: largest at the top, missing values at the bottom, and
        # equal values in alphabetical order from the top (a stable sort over names in reverse).
        by_name = sorted(range(count), key=lambda i: self.labels[i].lower(), reverse=True)
        keys = np.where(np.isnan(self.data), -np.inf, self.data)
        if self.fixed_order:
            by_name = list(range(count))[::-1]
        self.order = np.array(sorted(by_name, key=lambda i: keys[i]) if self.sort_by_value and not self.fixed_order else by_name, dtype=int)
        widths = np.nan_to_num(self.data[self.order], nan=0.0)
        self.bars.setOpts(x0=np.zeros(count), y=np.arange(count), width=widths, height=0.7)
        self.getAxis("left").setTicks([[(row, self.labels[index]) for row, index in enumerate(self.order)]])
        _fit_left_axis(self, self.labels)
        _fit_rows(self, count)
        if self.reference is not None and not math.isnan(self.reference):
            # The label only updates while shown.
            self.reference_line.show()
            self.reference_line.label.setFormat(f"{self.reference_label} {format_value(self.reference, self.decimals)} ")
            self.reference_line.setValue(self.reference)
        else:
            self.reference_line.hide()
        finite = self.data[np.isfinite(self.data)]
        top = max([0.0, *(finite.tolist()), self.reference or 0.0])
        self.setXRange(min(0.0, float(finite.min()) if len(finite) else 0.0), top * 1.05 or 1.0, padding=0)
        self.setYRange(-0.6, max(count, 1) - 0.4, padding=0)
        self._paint()

    def _paint(self) -> None:
        brushes = [pg.mkBrush(self.theme.highlight if index in self.highlighted else self.theme.bar) for index in self.order]
        self.bars.setOpts(brushes=brushes, pens=[pg.mkPen(None)] * len(brushes))

    def _index_under(self, scene_position):
        row = self._index_at(scene_position, len(self.labels), axis=1)
        return None if row is None else int(self.order[row])

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        index = self._index_under(event.scenePos())
        if index is not None:
            self.barClicked.emit(index)

    def _hovered(self, scene_position) -> None:
        index = self._index_under(scene_position)
        if index is None:
            QToolTip.hideText()
            return
        text = f"{self.labels[index]}: {format_value(self.data[index], self.decimals)}{(' ' + self.unit) if self.unit else ''}"
        QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_position)), text, self)

    def bar_position(self, index: int):
        """Where ``index``'s bar is, in the view's viewport coordinates (for tests and tooltips)."""
        row = int(np.flatnonzero(self.order == index)[0])
        middle = max(float(np.nan_to_num(self.data[index])), 0.0) / 2
        return self.mapFromScene(self.plotItem.vb.mapViewToScene(QPointF(middle, row)))


class Histogram(Chart):
    """How the metric spreads across charge points; the selected ones drawn over the rest."""

    def __init__(self, theme: Theme = None, parent=None):
        super().__init__(theme, parent)
        self.all_bars = pg.BarGraphItem(x0=[], x1=[], height=[], y0=0, brush=self.theme.bar, pen=pg.mkPen(None))
        self.selected_bars = pg.BarGraphItem(x0=[], x1=[], height=[], y0=0, brush=self.theme.highlight, pen=pg.mkPen(None))
        self.addItem(self.all_bars)
        self.addItem(self.selected_bars)
        self.edges, self.counts, self.selected_counts = np.array([]), np.array([]), np.array([])
        self.set_axis_label("left", tr("charge points"))

    def set_values(self, values, selected=None, bins: int = 20) -> None:
        values = np.asarray(values, dtype="float64")
        values = values[np.isfinite(values)]
        if not len(values):
            self.edges, self.counts = np.array([0.0, 1.0]), np.array([0])
        else:
            self.counts, self.edges = np.histogram(values, bins=bins)
        self.all_bars.setOpts(x0=self.edges[:-1], x1=self.edges[1:], height=self.counts)
        self.set_selected(selected)

    def set_selected(self, selected) -> None:
        selected = np.asarray([] if selected is None else selected, dtype="float64")
        selected = selected[np.isfinite(selected)]
        self.selected_counts = np.histogram(selected, bins=self.edges)[0] if len(selected) else np.zeros(len(self.edges) - 1, int)
        self.selected_bars.setOpts(x0=self.edges[:-1], x1=self.edges[1:], height=self.selected_counts)

    def values(self) -> dict:
        return {"edges": self.edges.tolist(), "counts": self.counts.tolist(), "selected": self.selected_counts.tolist()}


def _timestamp(day) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _key(entries) -> str:
    """A legend as one line of HTML (a coloured square before each name)."""
    return "&nbsp;&nbsp;".join(f"<span style='color:{colour}'>&#9632;</span>&nbsp;{html.escape(name)}" for name, colour in entries)


class _Pooled(Chart):
    """A chart whose items are made once and reused.

    Inside QGIS, pyqtgraph cannot take an item off a plot: QGIS turns off
    PyQt's QVariant conversion, and pyqtgraph's ``itemChange`` then fails on
    the empty parent (pyqtgraph issue 774). So nothing is ever removed; items
    left over are emptied. The legend is a line of HTML in the title.
    """

    def __init__(self, theme: Theme = None, parent=None, **options):
        super().__init__(theme, parent, **options)
        self.pool = []
        self.heading = ""
        self.legend_entries = []

    def _items(self, count: int, make) -> list:
        while len(self.pool) < count:
            self.pool.append(make())
            self.addItem(self.pool[-1])
        return self.pool

    def set_title(self, title: str) -> None:
        self.heading = title
        self._show_heading()

    def _show_heading(self, entries=None) -> None:
        """The title, then the legend: ``entries`` (name, colour) as given, or the last ones when None."""
        if entries is not None:
            self.legend_entries = list(entries)
        lines = [f"<b>{html.escape(self.heading)}</b>"] if self.heading else []
        if self.legend_entries:
            lines.append(_key(self.legend_entries))
        self.plotItem.setTitle("<br>".join(lines), color=self.theme.foreground, size=f"{self.theme.font_points}pt")


class TrendChart(_Pooled):
    """Lines over time: an area against London, one point per period."""

    def __init__(self, theme: Theme = None, parent=None):
        super().__init__(theme, parent, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.getAxis("bottom").setPen(self.theme.foreground)
        self.getAxis("bottom").setTextPen(self.theme.foreground)
        self.series, self.decimals = {}, 1
        self.scene().sigMouseMoved.connect(self._hovered)

    def set_series(self, series, decimals: int = 1) -> None:
        """``series`` is a list of (name, dates, values); the first is drawn thicker (the chosen area)."""
        self.series, self.decimals = {}, decimals
        colours = [self.theme.highlight, self.theme.reference, *PALETTE]
        lines = self._items(len(series), pg.PlotDataItem)
        entries = []
        for number, line in enumerate(lines):
            if number >= len(series):
                line.setData([], [])
                continue
            name, dates, values = series[number]
            colour = colours[number % len(colours)]
            x = np.array([_timestamp(day) for day in dates], dtype="float64")
            y = np.asarray(values, dtype="float64")
            self.series[name] = (list(dates), y.tolist())
            line.setData(x, y, pen=pg.mkPen(colour, width=3 if number == 0 else 2, style=Qt.SolidLine if number == 0 else Qt.DashLine),
                         symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=colour, connect="finite")
            entries.append((name, colour))
        self._show_heading(entries)
        self.enableAutoRange()

    def values(self) -> dict:
        return self.series

    def _hovered(self, scene_position) -> None:
        if not self.series or not self.plotItem.sceneBoundingRect().contains(scene_position):
            return
        x = self.plotItem.vb.mapSceneToView(scene_position).x()
        lines = []
        for name, (dates, values) in self.series.items():
            if dates:
                nearest = int(np.argmin([abs(_timestamp(day) - x) for day in dates]))
                lines.append(f"{name}, {dates[nearest]:%b %Y}: {format_value(values[nearest], self.decimals)}")
        QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_position)), "\n".join(lines), self)


class StackedBarChart(_Pooled):
    """Horizontal bars split into segments (operators), with a legend; values per category sum across segments."""

    def __init__(self, theme: Theme = None, parent=None):
        super().__init__(theme, parent)
        self.categories, self.segments, self.decimals, self.unit = [], {}, 0, ""
        self.scene().sigMouseMoved.connect(self._hovered)

    def set_data(self, categories, segments: dict, unit: str = "", decimals: int = 0) -> None:
        """``segments`` maps a segment name to one value per category, in the order to stack them."""
        self.categories = [str(category) for category in categories]
        self.segments = {name: np.nan_to_num(np.asarray(values, dtype="float64")) for name, values in segments.items()}
        self.unit, self.decimals = unit, decimals
        left = np.zeros(len(self.categories))
        rows = np.arange(len(self.categories))[::-1]  # the first category at the top
        bars = self._items(len(self.segments), lambda: pg.BarGraphItem(x0=[], y=[], height=0.7, width=[]))
        entries = []
        for number, item in enumerate(bars):
            if number >= len(self.segments):
                item.setOpts(x0=[], y=[], width=[])
                continue
            name, values = list(self.segments.items())[number]
            colour = OTHER_COLOUR if number >= len(PALETTE) else PALETTE[number]
            item.setOpts(x0=left.copy(), y=rows, height=0.7, width=values, brush=colour, pen=pg.mkPen(None))
            entries.append((name, colour))
            left += values
        self._show_heading(entries)
        # pyqtgraph draws tick labels only when the ticks come in ascending order.
        self.getAxis("left").setTicks([sorted((int(row), category) for row, category in zip(rows, self.categories))])
        _fit_left_axis(self, self.categories)
        _fit_rows(self, len(self.categories))
        self.setXRange(0, float(left.max()) * 1.05 if len(left) and left.max() > 0 else 1.0, padding=0)
        self.setYRange(-0.6, max(len(self.categories), 1) - 0.4, padding=0)

    def values(self) -> dict:
        return {name: dict(zip(self.categories, values.tolist())) for name, values in self.segments.items()}

    def _hovered(self, scene_position) -> None:
        row = self._index_at(scene_position, len(self.categories), axis=1)
        if row is None:
            return
        index = len(self.categories) - 1 - row
        parts = [f"{name}: {format_value(values[index], self.decimals)}{self.unit}" for name, values in self.segments.items() if values[index]]
        QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_position)), "\n".join([self.categories[index], *parts]), self)


class ExportButton(QToolButton):
    """Save a chart as PNG or SVG, for reports."""

    def __init__(self, chart, name: str, parent=None):
        super().__init__(parent)
        self.chart, self.name = chart, name
        self.setText(tr("Export"))
        self.setToolTip(tr("Save this chart as a PNG picture or an SVG drawing"))
        self.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self)
        menu.addAction(tr("PNG picture..."), lambda: self.export("png"))
        menu.addAction(tr("SVG drawing..."), lambda: self.export("svg"))
        self.setMenu(menu)

    def export(self, kind: str):
        path, _ = QFileDialog.getSaveFileName(self, tr("Export chart"), f"{self.name}.{kind}", f"{kind.upper()} (*.{kind})")
        if not path:
            return
        target = Path(path if path.lower().endswith(f".{kind}") else f"{path}.{kind}")
        try:
            self.chart.export(target)
        except OSError as error:
            QMessageBox.warning(self, tr("Export chart"), tr("The chart could not be saved: {error}").format(error=error))
            return
        if not target.is_file():  # pyqtgraph's PNG export says nothing when it cannot write
            QMessageBox.warning(self, tr("Export chart"), tr("The chart could not be saved to {path}: is the folder writable?").format(path=target))


def chart_box(chart, name: str, *controls) -> QWidget:
    """The chart under a row of its controls, with its Export button at the end of the row."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    row = QHBoxLayout()
    for control in controls:
        row.addWidget(control)
    row.addStretch(1)
    row.addWidget(ExportButton(chart, name, box))
    layout.addLayout(row)
    scroller = QScrollArea()
    scroller.setWidgetResizable(True)
    scroller.setFrameShape(QScrollArea.NoFrame)
    scroller.setWidget(chart)
    layout.addWidget(scroller, 1)
    return box
