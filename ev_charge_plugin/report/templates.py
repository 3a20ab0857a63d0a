"""The committee report's print layout templates: A4 and A3, portrait and landscape.

The templates in ``resources/layouts/`` are made by :func:`make_layout` (run
``scripts/make_layout_templates.py`` after changing it) and may be edited in
QGIS's layout designer: the report finds its items by their ids (:data:`ITEM_IDS`),
not by position, so they can be moved, resized or restyled.

Sizes are in millimetres and fonts in points, fixed whatever the paper: on A3
the map and charts grow, the text stays legible at the same size.
"""
from pathlib import Path

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor, QFont
from qgis.PyQt.QtXml import QDomDocument
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsLayoutFrame,
    QgsLayoutItemAttributeTable,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemPage,
    QgsLayoutItemPicture,
    QgsLayoutItemScaleBar,
    QgsLayoutMeasurement,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsLegendStyle,
    QgsPrintLayout,
    QgsReadWriteContext,
    QgsScaleBarSettings,
    QgsSymbolLayerUtils,
    QgsTextFormat,
    QgsUnitTypes,
)

from ..toolbelt.metadata import RESOURCES

PAPERS = ("A4", "A3")
ORIENTATIONS = ("landscape", "portrait")
FOLDER = RESOURCES / "layouts"
MM = QgsUnitTypes.LayoutMillimeters

TITLE, SUBTITLE, DATE = "title", "subtitle", "date"
MAP, LEGEND, SCALE_BAR, NORTH_ARROW = "map", "legend", "scale_bar", "north_arrow"
KEY_FIGURES, WARD_CHART, TREND_CHART = "key_figures", "ward_chart", "trend_chart"
SITES_HEADING, SITES_TABLE, SOURCES = "sites_heading", "sites_table", "sources"
ITEM_IDS = (TITLE, SUBTITLE, DATE, MAP, LEGEND, SCALE_BAR, NORTH_ARROW, KEY_FIGURES, WARD_CHART, TREND_CHART,
            SITES_HEADING, SITES_TABLE, SOURCES)
TEXT_COLOUR = "#222222"


def template_path(paper: str, orientation: str) -> Path:
    return FOLDER / f"committee_{paper.lower()}_{orientation}.qpt"


def load_layout(project, paper: str, orientation: str) -> QgsPrintLayout:
    """A new print layout (not yet in ``project``'s layout manager) from the template for ``paper`` and ``orientation``."""
    document = QDomDocument()
    path = template_path(paper, orientation)
    if not document.setContent(path.read_text(encoding="utf-8")):
        raise ValueError(f"{path} is not a layout template")
    layout = QgsPrintLayout(project)
    _, loaded = layout.loadFromTemplate(document, QgsReadWriteContext())
    if not loaded:
        raise ValueError(f"{path} could not be loaded as a layout template")
    return layout


def _boxes(width: float, height: float, landscape: bool) -> dict:
    """Each item's (x, y, width, height) on a page ``width`` by ``height`` mm."""
    margin = 10.0
    inner = width - 2 * margin
    top = 30.0  # below the title block
    sources_height = 12.0 if landscape else 16.0  # three lines, or four where the page is narrow
    bottom = height - margin - sources_height
    boxes = {
        DATE: (margin, 4.0, inner, 5.0),
        TITLE: (margin, 9.0, inner, 10.0),
        SUBTITLE: (margin, 19.5, inner, 10.0),
        SOURCES: (margin, bottom + 2.0, inner, sources_height),
    }
    if landscape:
        left = inner * 0.58
        right_x, right_width = margin + left + 5.0, inner - left - 5.0
        below_map = 42.0
        map_height = bottom - top - below_map
        boxes[MAP] = (margin, top, left, map_height)
        boxes[LEGEND] = (margin, top + map_height + 2.0, left * 0.6, below_map - 2.0)
        boxes[SITES_HEADING] = (margin + left * 0.62, top + map_height + 2.0, left * 0.38, 5.0)
        boxes[SITES_TABLE] = (margin + left * 0.62, top + map_height + 7.0, left * 0.38, below_map - 7.0)
        column = bottom - top
        boxes[KEY_FIGURES] = (right_x, top, right_width, column * 0.27)
        boxes[WARD_CHART] = (right_x, top + column * 0.28, right_width, column * 0.44)
        boxes[TREND_CHART] = (right_x, top + column * 0.73, right_width, column * 0.27)
    else:
        map_height = (bottom - top) * 0.48
        boxes[MAP] = (margin, top, inner, map_height)
        row = top + map_height + 3.0
        half = (inner - 5.0) / 2
        boxes[LEGEND] = (margin, row, half, 42.0)
        boxes[KEY_FIGURES] = (margin + half + 5.0, row, half, 42.0)
        charts = row + 45.0
        chart_height = (bottom - charts) * 0.62
        boxes[WARD_CHART] = (margin, charts, half, chart_height)
        boxes[TREND_CHART] = (margin + half + 5.0, charts, half, chart_height)
        sites = charts + chart_height + 2.0
        boxes[SITES_HEADING] = (margin, sites, inner, 5.0)
        boxes[SITES_TABLE] = (margin, sites + 5.0, inner, bottom - sites - 5.0)
    x, y, box_width, box_height = boxes[MAP]
    boxes[NORTH_ARROW] = (x + box_width - 12.0, y + 2.0, 10.0, 14.0)
    boxes[SCALE_BAR] = (x + 2.0, y + box_height - 13.0, min(70.0, box_width * 0.45), 11.0)
    return boxes


def _place(item, box) -> None:
    x, y, width, height = box
    item.attemptMove(QgsLayoutPoint(x, y, MM))
    item.attemptResize(QgsLayoutSize(width, height, MM))


def _font(points: float, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


def _text_format(points: float, bold: bool = False) -> QgsTextFormat:
    text_format = QgsTextFormat()
    text_format.setFont(_font(points, bold))
    text_format.setSize(points)
    text_format.setSizeUnit(QgsUnitTypes.RenderPoints)
    text_format.setColor(QColor(TEXT_COLOUR))
    return text_format


def _label(layout, item_id: str, text: str, points: float, box, bold=False, align=Qt.AlignLeft) -> QgsLayoutItemLabel:
    label = QgsLayoutItemLabel(layout)
    label.setId(item_id)
    label.setText(text)
    label.setFont(_font(points, bold))
    label.setFontColor(QColor(TEXT_COLOUR))
    label.setHAlign(align)
    label.setVAlign(Qt.AlignTop)
    layout.addLayoutItem(label)
    _place(label, box)
    return label


def _table(layout, item_id: str, box, points: float) -> QgsLayoutItemAttributeTable:
    table = QgsLayoutItemAttributeTable.create(layout)
    table.setHeaderTextFormat(_text_format(points, bold=True))
    table.setContentTextFormat(_text_format(points))
    table.setGridStrokeWidth(0.2)
    table.setGridColor(QColor("#999999"))
    table.setCellMargin(1.2)
    table.setEmptyTableBehavior(QgsLayoutItemAttributeTable.ShowMessage)
    layout.addMultiFrame(table)
    frame = QgsLayoutFrame(layout, table)
    frame.setId(item_id)
    _place(frame, box)
    table.addFrame(frame)
    return table


def make_layout(project, paper: str, orientation: str) -> QgsPrintLayout:
    """The committee page, empty of data: every item placed, styled and named by its id."""
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    layout.setName(f"Committee report {paper} {orientation}")
    page = layout.pageCollection().page(0)
    page.setPageSize(paper, QgsLayoutItemPage.Landscape if orientation == "landscape" else QgsLayoutItemPage.Portrait)
    width, height = page.pageSize().width(), page.pageSize().height()
    boxes = _boxes(width, height, orientation == "landscape")

    _label(layout, TITLE, "[title]", 18, boxes[TITLE], bold=True)
    _label(layout, DATE, "[date]", 9, boxes[DATE], align=Qt.AlignRight)
    _label(layout, SUBTITLE, "[period, metric and its definition]", 9.5, boxes[SUBTITLE])
    _label(layout, SOURCES, "[sources and licences]", 7, boxes[SOURCES])

    map_item = QgsLayoutItemMap(layout)
    map_item.setId(MAP)
    map_item.setCrs(QgsCoordinateReferenceSystem("EPSG:27700"))
    map_item.setFrameEnabled(True)
    map_item.setFrameStrokeColor(QColor("#666666"))
    map_item.setFrameStrokeWidth(QgsLayoutMeasurement(0.3, MM))
    layout.addLayoutItem(map_item)
    _place(map_item, boxes[MAP])

    legend = QgsLayoutItemLegend(layout)
    legend.setId(LEGEND)
    legend.setLinkedMap(map_item)
    legend.setAutoUpdateModel(False)
    legend.setTitle("[metric]")
    legend.setResizeToContents(False)
    legend.setColumnCount(1)
    for style, points, bold in ((QgsLegendStyle.Title, 9, True), (QgsLegendStyle.Group, 8, True),
                                (QgsLegendStyle.Subgroup, 8, True), (QgsLegendStyle.SymbolLabel, 7.5, False)):
        legend.setStyleFont(style, _font(points, bold))
    legend.setFontColor(QColor(TEXT_COLOUR))
    layout.addLayoutItem(legend)
    _place(legend, boxes[LEGEND])

    scale_bar = QgsLayoutItemScaleBar(layout)
    scale_bar.setId(SCALE_BAR)
    scale_bar.setLinkedMap(map_item)
    scale_bar.applyDefaultSettings()
    scale_bar.setStyle("Single Box")
    scale_bar.setUnits(QgsUnitTypes.DistanceKilometers)
    scale_bar.setUnitLabel("km")
    scale_bar.setNumberOfSegments(2)
    scale_bar.setNumberOfSegmentsLeft(0)
    scale_bar.setSegmentSizeMode(QgsScaleBarSettings.SegmentSizeFitWidth)
    scale_bar.setMinimumBarWidth(20.0)
    scale_bar.setMaximumBarWidth(boxes[SCALE_BAR][2] - 8.0)
    scale_bar.setTextFormat(_text_format(7.5))
    scale_bar.setBackgroundEnabled(True)  # it sits on the map
    scale_bar.setBackgroundColor(QColor(255, 255, 255, 220))
    layout.addLayoutItem(scale_bar)
    _place(scale_bar, boxes[SCALE_BAR])

    arrow = QgsLayoutItemPicture(layout)
    arrow.setId(NORTH_ARROW)
    arrow.setPicturePath(QgsSymbolLayerUtils.svgSymbolNameToPath("arrows/NorthArrow_02.svg", QgsReadWriteContext().pathResolver()))
    arrow.setLinkedMap(map_item)
    layout.addLayoutItem(arrow)
    _place(arrow, boxes[NORTH_ARROW])

    _table(layout, KEY_FIGURES, boxes[KEY_FIGURES], 8)
    for item_id in (WARD_CHART, TREND_CHART):
        picture = QgsLayoutItemPicture(layout)
        picture.setId(item_id)
        picture.setResizeMode(QgsLayoutItemPicture.Zoom)
        layout.addLayoutItem(picture)
        _place(picture, boxes[item_id])
    _label(layout, SITES_HEADING, "[chosen sites]", 8.5, boxes[SITES_HEADING], bold=True)
    _table(layout, SITES_TABLE, boxes[SITES_TABLE], 7.5)
    return layout


def write_templates(project, folder: Path = FOLDER) -> list:
    """Write every paper and orientation's template into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for paper in PAPERS:
        for orientation in ORIENTATIONS:
            path = folder / template_path(paper, orientation).name
            if not make_layout(project, paper, orientation).saveAsTemplate(str(path), QgsReadWriteContext()):
                raise OSError(f"Could not write {path}")
            written.append(path)
    return written
