"""The committee report's print layout filled in, and its export to PDF and PNG.

One page per borough, as a QGIS atlas over the summarised boroughs: each page's
map is driven by (and clipped to) its borough, and its key figures table, charts
and chosen sites follow the page's feature. A report for one borough is the same
atlas, filtered to that borough, so both kinds of report are made one way.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from qgis.PyQt.QtCore import Qt
from qgis.core import (
    QgsCoordinateTransform,
    QgsExpression,
    QgsLayoutExporter,
    QgsLayoutItemMap,
    QgsLayoutObject,
    QgsLayoutTableColumn,
    QgsLegendRenderer,
    QgsLegendStyle,
    QgsMapClippingRegion,
    QgsPrintLayout,
    QgsProperty,
    QgsRectangle,
    QgsRenderContext,
)

from ..toolbelt.i18n import tr
from . import templates


@dataclass
class PageContent:
    """What the pages show. Layers must stay alive (and in the project, for the layout to outlive the run)."""

    title: str
    subtitle: str
    dated: str                     # organisation and date, top right
    sources: str
    legend_title: str
    coverage: object               # the boroughs, summarised: one page each; has ward_chart and trend_chart paths
    name_field: str
    points: object                 # charge points styled by the metric
    key_figures: object            # a table: area, figure, borough, london
    wards: object = None
    sites: object = None           # chosen sites, in the coverage's CRS: order, site, added_demand_text
    area: Optional[str] = None     # one borough's name, or None for all


WARD_CHART_FIELD, TREND_CHART_FIELD = "ward_chart", "trend_chart"


def build_layout(project, content: PageContent, paper: str = "A4", orientation: str = "landscape", name: str = "") -> QgsPrintLayout:
    layout = templates.load_layout(project, paper, orientation)
    layout.setName(name or content.title)
    item = layout.itemById
    # The page's borough, by the atlas: QGIS evaluates text between [% and %] as an expression on each page,
    # so the texts given are kept from ever reading as one.
    item(templates.TITLE).setText(f"{_literal(content.title)}: [% @atlas_pagename %]")
    item(templates.SUBTITLE).setText(_literal(content.subtitle))
    item(templates.DATE).setText(_literal(content.dated))
    item(templates.SOURCES).setText(_literal(content.sources))

    atlas = layout.atlas()
    atlas.setEnabled(True)
    atlas.setCoverageLayer(content.coverage)
    atlas.setHideCoverage(False)
    atlas.setPageNameExpression(QgsExpression.quotedColumnRef(content.name_field))
    atlas.setSortFeatures(True)
    atlas.setSortExpression(QgsExpression.quotedColumnRef(content.name_field))
    if content.area is not None:
        atlas.setFilterFeatures(True)
        atlas.setFilterExpression(f"{QgsExpression.quotedColumnRef(content.name_field)} = {QgsExpression.quotedValue(content.area)}")

    map_item = item(templates.MAP)
    shown = [layer for layer in (content.sites, content.points, content.wards, content.coverage) if layer is not None]
    map_item.setLayers(shown)
    map_item.setKeepLayerSet(True)
    coverage_to_map = QgsCoordinateTransform(content.coverage.crs(), map_item.crs(), project.transformContext())
    _start_extent(map_item, coverage_to_map.transformBoundingBox(content.coverage.extent()))
    map_item.setAtlasDriven(True)
    map_item.setAtlasScalingMode(QgsLayoutItemMap.Auto)
    map_item.setAtlasMargin(0.06)
    clipping = map_item.atlasClippingSettings()
    clipping.setEnabled(True)
    clipping.setFeatureClippingType(QgsMapClippingRegion.FeatureClippingType.ClipPainterOnly)
    clipping.setRestrictToLayers(True)
    clipping.setLayersToClip([layer for layer in (content.points, content.wards, content.sites) if layer is not None])

    legend = item(templates.LEGEND)
    legend.setTitle(content.legend_title)
    root = legend.model().rootGroup()
    root.clear()
    for layer in shown:
        node = root.addLayer(layer)
        if layer is content.points:  # the legend's own title names the metric and period
            QgsLegendRenderer.setNodeLegendStyle(node, QgsLegendStyle.Hidden)
    legend.setResizeToContents(True)
    legend.setColumnCount(2)
    legend.setSplitLayer(True)
    legend.setEqualColumnWidth(False)

    _fill_key_figures(item(templates.KEY_FIGURES).multiFrame(), content.key_figures)
    for item_id, field in ((templates.WARD_CHART, WARD_CHART_FIELD), (templates.TREND_CHART, TREND_CHART_FIELD)):
        picture = item(item_id)
        picture.dataDefinedProperties().setProperty(QgsLayoutObject.PictureSource, QgsProperty.fromField(field))
    if content.sites is not None:
        item(templates.SITES_HEADING).setText(tr("Chosen sites, in rank order"))
        _fill_sites(item(templates.SITES_TABLE).multiFrame(), content.sites)
    else:
        table = item(templates.SITES_TABLE).multiFrame()
        for frame in list(table.frames()):
            layout.removeLayoutItem(frame)
        layout.removeMultiFrame(table)
        layout.removeLayoutItem(item(templates.SITES_HEADING))
    atlas.updateFeatures()
    return layout


def _literal(text: str) -> str:
    return text.replace("[%", "[ %")


def _start_extent(map_item, extent) -> None:
    """Give the map an extent of its own shape around ``extent``.

    The atlas zooms each page from the map's current extent, keeping its shape;
    a template's map has none, and the atlas would then reshape the item itself.
    """
    size = map_item.sizeWithUnits()
    aspect = size.height() / size.width()
    half_width = max(extent.width(), extent.height() / aspect) / 2
    centre = extent.center()
    map_item.setExtent(QgsRectangle(centre.x() - half_width, centre.y() - half_width * aspect,
                                    centre.x() + half_width, centre.y() + half_width * aspect))


def _columns(table, columns) -> None:
    listed = []
    for heading, attribute, alignment in columns:
        column = QgsLayoutTableColumn(heading)
        column.setAttribute(attribute)
        column.setHAlignment(alignment)
        listed.append(column)
    table.setColumns(listed)


def _fill_key_figures(table, figures) -> None:
    table.setVectorLayer(figures)
    _columns(table, ((tr("Figure"), "figure", Qt.AlignLeft),
                     (tr("Borough"), "borough", Qt.AlignRight),
                     (tr("London"), "london", Qt.AlignRight)))
    table.setFilterFeatures(True)
    table.setFeatureFilter('"area" = @atlas_pagename')
    table.setMaximumNumberOfFeatures(20)


def _fill_sites(table, sites) -> None:
    table.setVectorLayer(sites)
    _columns(table, ((tr("Rank"), "order", Qt.AlignRight),
                     (tr("Site"), "site", Qt.AlignLeft),
                     (tr("Added demand"), "added_demand_text", Qt.AlignRight)))
    by_rank = QgsLayoutTableColumn()
    by_rank.setAttribute("order")
    by_rank.setSortOrder(Qt.AscendingOrder)
    table.setSortColumns([by_rank])
    table.setFilterFeatures(True)
    table.setFeatureFilter("intersects($geometry, @atlas_geometry)")
    table.setMaximumNumberOfFeatures(12)


def pdf_settings() -> QgsLayoutExporter.PdfExportSettings:
    """Vector where QGIS allows, text as text (so fonts are embedded and the text can be searched)."""
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.dpi = 300
    settings.rasterizeWholeImage = False
    settings.forceVectorOutput = True
    settings.textRenderFormat = QgsRenderContext.TextFormatAlwaysText
    settings.exportMetadata = True
    settings.simplifyGeometries = True
    return settings


def export_pdf(layout: QgsPrintLayout, path, feedback=None) -> int:
    """Export every page of the layout's atlas into one PDF at ``path``; the number of pages.

    Written beside ``path`` first and moved into place only when whole, so a
    failed or cancelled export leaves no partial file (and an older report at
    ``path`` stays as it was).
    """
    path = Path(path)
    atlas = layout.atlas()
    pages = atlas.updateFeatures()
    partial = path.with_name(f".{path.name}.partial")
    try:
        result, error = QgsLayoutExporter.exportToPdf(atlas, str(partial), pdf_settings(), feedback)
        if feedback is not None and feedback.isCanceled():
            raise ExportCancelled()
        if result != QgsLayoutExporter.Success:
            raise OSError(error or f"QGIS could not export the layout (code {int(result)})")
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return pages


def export_pngs(layout: QgsPrintLayout, folder, feedback=None) -> list:
    """Export each page of the atlas as a PNG into ``folder``, named by its borough; the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atlas = layout.atlas()
    atlas.setFilenameExpression("'committee_' || replace(@atlas_pagename, ' ', '_')")
    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = 150
    result, error = QgsLayoutExporter.exportToImage(atlas, str(folder / "page"), "png", settings, feedback)
    if feedback is not None and feedback.isCanceled():
        raise ExportCancelled()
    if result != QgsLayoutExporter.Success:
        raise OSError(error or f"QGIS could not export the layout (code {int(result)})")
    return sorted(folder.glob("committee_*.png"))


class ExportCancelled(Exception):
    """The user cancelled the export."""
