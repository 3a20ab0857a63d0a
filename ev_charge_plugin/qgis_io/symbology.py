"""Default styles. Speed bands differ in both shape and colour so the map still
reads in greyscale print and for colour-blind readers."""
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeatureRequest,
    QgsMarkerSymbol,
    QgsRendererCategory,
    QgsUnitTypes,
)

from ..core import schema

# band -> (marker shape, fill colour, size in mm). Okabe-Ito colours: colour-blind safe.
SPEED_BAND_STYLE = {
    schema.SLOW: ("circle", "#009E73", 1.6),
    schema.FAST: ("square", "#0072B2", 2.0),
    schema.RAPID: ("triangle", "#E69F00", 3.2),
    schema.ULTRA_RAPID: ("star", "#D55E00", 4.0),
    schema.UNKNOWN: ("diamond", "#999999", 1.6),
}


def speed_band_symbol(band: str) -> QgsMarkerSymbol:
    shape, colour, size = SPEED_BAND_STYLE[band]
    symbol = QgsMarkerSymbol.createSimple({"name": shape, "color": colour, "outline_color": "#222222", "outline_width": "0.15"})
    symbol.setSize(size)
    symbol.setSizeUnit(QgsUnitTypes.RenderMillimeters)
    return symbol


def speed_band_renderer() -> QgsCategorizedSymbolRenderer:
    categories = [
        QgsRendererCategory(band, speed_band_symbol(band), schema.SPEED_BAND_LABELS[band])
        for band in (schema.SLOW, schema.FAST, schema.RAPID, schema.ULTRA_RAPID, schema.UNKNOWN)
    ]
    renderer = QgsCategorizedSymbolRenderer("speed_band", categories)
    # Draw in rising power so the few rapid points are never hidden under slow ones.
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause("power_kw", True, True)]))
    renderer.setOrderByEnabled(True)
    return renderer


def apply_chargepoint_style(layer) -> None:
    layer.setRenderer(speed_band_renderer())
    layer.triggerRepaint()


