"""Styles of the siting layers: candidate scores graduated by rank, chosen sites labelled by pick order.

Rank 1 (the best site) is drawn darkest and on top; colours run from dark to light
blue, which reads in greyscale print and for colour-blind readers alike.
"""
from qgis.PyQt.QtGui import QColor, QFont
from qgis.core import (
    QgsExpression,
    QgsFeatureRequest,
    QgsGradientColorRamp,
    QgsGraduatedSymbolRenderer,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsRendererRange,
    QgsSingleSymbolRenderer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsUnitTypes,
    QgsVectorLayerSimpleLabeling,
)

from ..toolbelt.i18n import tr

BEST_COLOUR = "#08306b"
WORST_COLOUR = "#c6dbef"
CHOSEN_COLOUR = "#d55e00"
RANK_CLASSES = 5


def _marker(colour: str, size: float, shape: str = "circle") -> QgsMarkerSymbol:
    symbol = QgsMarkerSymbol.createSimple({"name": shape, "color": colour, "outline_color": "#222222", "outline_width": "0.2"})
    symbol.setSize(size)
    symbol.setSizeUnit(QgsUnitTypes.RenderMillimeters)
    return symbol


def _label(layer, field: str, prefix: str = "") -> None:
    """Label every feature with ``field`` (optionally after a prefix), in a small bold font with a white halo."""
    settings = QgsPalLayerSettings()
    column = QgsExpression.quotedColumnRef(field)
    if prefix:
        settings.fieldName = f"{QgsExpression.quotedValue(prefix)} || {column}"
        settings.isExpression = True
    else:
        settings.fieldName = field
    settings.placement = QgsPalLayerSettings.OverPoint
    settings.yOffset = -3.0
    text = QgsTextFormat()
    font = QFont()
    font.setBold(True)
    text.setFont(font)
    text.setSize(8)
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    buffer.setSize(0.8)
    buffer.setColor(QColor("white"))
    text.setBuffer(buffer)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def rank_ranges(ranks, classes: int = RANK_CLASSES) -> list:
    """At most ``classes`` classes of the ranks present, rank 1 first, coloured dark (best) to light.

    Each class holds a run of whole ranks of about equal length, bounds included
    (a graduated renderer matches ``lower <= rank <= upper``), so the legend's
    "Rank 1 to 4" means exactly ranks 1, 2, 3 and 4.
    """
    values = sorted({int(rank) for rank in ranks if isinstance(rank, (int, float)) and rank == rank})
    if not values:
        return []
    count = min(classes, len(values))
    chunks = [values[len(values) * index // count:len(values) * (index + 1) // count] for index in range(count)]
    ramp = QgsGradientColorRamp(QColor(BEST_COLOUR), QColor(WORST_COLOUR))
    ranges = []
    for index, chunk in enumerate(chunks):
        lower, upper = chunk[0], chunk[-1]
        label = tr("Rank {rank}").format(rank=lower) if lower == upper else tr("Rank {lower} to {upper}").format(lower=lower, upper=upper)
        step = index / max(1, count - 1)
        ranges.append(QgsRendererRange(lower, upper, _marker(ramp.color(step).name(), 3.2 - 1.4 * step), label))
    return ranges


def style_scores(layer) -> None:
    """Candidate scores graduated by ``rank`` (best dark and on top), each candidate labelled with its rank."""
    request = QgsFeatureRequest().setSubsetOfAttributes(["rank"], layer.fields()).setFlags(QgsFeatureRequest.NoGeometry)
    ranks = [feature["rank"] for feature in layer.getFeatures(request)]
    renderer = QgsGraduatedSymbolRenderer("rank", rank_ranges(ranks))
    renderer.setSourceSymbol(_marker(BEST_COLOUR, 2.4))
    # Highest rank number drawn first, so rank 1 is never hidden under a worse site.
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause("rank", False, False)]))
    renderer.setOrderByEnabled(True)
    layer.setRenderer(renderer)
    _label(layer, "rank")
    layer.triggerRepaint()


def style_selection(layer) -> None:
    """Chosen sites as large stars, each labelled with the order it was picked in (1 adds the most demand)."""
    layer.setRenderer(QgsSingleSymbolRenderer(_marker(CHOSEN_COLOUR, 5.0, "star")))
    _label(layer, "order", prefix="#")
    layer.triggerRepaint()
