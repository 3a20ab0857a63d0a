"""Default styles. Speed bands differ in both shape and colour so the map still
reads in greyscale print and for colour-blind readers."""
from dataclasses import dataclass, fields

from qgis.PyQt.QtCore import QVariant
from qgis.core import (
    Qgis,
    QgsCategorizedSymbolRenderer,
    QgsClassificationEqualInterval,
    QgsClassificationJenks,
    QgsClassificationPrettyBreaks,
    QgsClassificationQuantile,
    QgsExpression,
    QgsFeatureRequest,
    QgsMarkerSymbol,
    QgsProperty,
    QgsRendererCategory,
    QgsRuleBasedRenderer,
    QgsSettings,
    QgsStyle,
    QgsSymbolLayer,
    QgsUnitTypes,
    QgsVectorLayerTemporalProperties,
)

from ..core import schema
from ..toolbelt.i18n import tr
from ..toolbelt.metadata import SETTINGS_GROUP

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


# -- utilisation --------------------------------------------------------------
# Classification methods offered, by key, with QGIS's own implementation of each.
CLASSIFICATION_METHODS = {
    "quantile": QgsClassificationQuantile,
    "jenks": QgsClassificationJenks,
    "equal": QgsClassificationEqualInterval,
    "pretty": QgsClassificationPrettyBreaks,
}
NO_DATA_COLOUR = "#bdbdbd"
STYLE_SETTINGS = f"{SETTINGS_GROUP}/style"


@dataclass
class RendererSettings:
    """How the utilisation map is classified; remembered between sessions."""

    method: str = "quantile"
    classes: int = 5
    ramp: str = "Viridis"
    metric: str = "occupancy_pct"

    @classmethod
    def load(cls) -> "RendererSettings":
        stored = QgsSettings()
        values = {setting.name: stored.value(f"{STYLE_SETTINGS}/{setting.name}", setting.default, type=type(setting.default))
                  for setting in fields(cls)}
        settings = cls(**values)
        if settings.method not in CLASSIFICATION_METHODS:
            settings.method = cls.method
        settings.classes = min(max(int(settings.classes), 2), 12)
        return settings

    def save(self) -> None:
        stored = QgsSettings()
        for setting in fields(self):
            stored.setValue(f"{STYLE_SETTINGS}/{setting.name}", getattr(self, setting.name))


def _shape_by_speed_band(symbol: QgsMarkerSymbol) -> None:
    """Marker shape and size follow the speed band, as on the speed band map, whatever the colour says."""
    shapes = " ".join(f"WHEN {QgsExpression.quotedValue(band)} THEN {QgsExpression.quotedValue(shape)}" for band, (shape, _, _) in SPEED_BAND_STYLE.items())
    sizes = " ".join(f"WHEN {QgsExpression.quotedValue(band)} THEN {size + 0.6:g}" for band, (_, _, size) in SPEED_BAND_STYLE.items())
    layer = symbol.symbolLayer(0)
    layer.setDataDefinedProperty(QgsSymbolLayer.PropertyName, QgsProperty.fromExpression(f'CASE "speed_band" {shapes} ELSE \'circle\' END'))
    layer.setDataDefinedProperty(QgsSymbolLayer.PropertySize, QgsProperty.fromExpression(f'CASE "speed_band" {sizes} ELSE 2 END'))


def _metric_symbol(colour: str) -> QgsMarkerSymbol:
    symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": colour, "outline_color": "#222222", "outline_width": "0.15"})
    symbol.setSizeUnit(QgsUnitTypes.RenderMillimeters)
    _shape_by_speed_band(symbol)
    return symbol


def legend_title(metric_key: str, start, end) -> str:
    from ..core.usage import period_label
    from ..core.utilisation import metrics

    return tr("{metric}, {period}").format(metric=metrics()[metric_key].label, period=period_label(start, end))


def utilisation_renderer(values, metric_key: str, settings: RendererSettings) -> QgsRuleBasedRenderer:
    """Classes of ``values`` (the metric's non-empty values) by the chosen method, one rule each, plus no data,
    after a first rule that only carries the metric's definition for the legend (see :func:`metric_rules`).

    A graduated renderer draws nothing for a feature whose value is empty, and
    charge points without usage in the period must still show, so the classes
    are rules (with QGIS's own classification) and "no usage data" is the
    renderer's ELSE rule.
    """
    from ..core.utilisation import metrics

    metric = metrics()[metric_key]
    method = CLASSIFICATION_METHODS[settings.method]()
    method.setLabelPrecision(metric.decimals)
    method.setLabelTrimTrailingZeroes(False)
    ranges = method.classes([float(value) for value in values], settings.classes) if len(values) else []
    ramp = QgsStyle.defaultStyle().colorRamp(settings.ramp) or QgsStyle.defaultStyle().colorRamp("Viridis")
    field = QgsExpression.quotedColumnRef(metric_key)
    root = QgsRuleBasedRenderer.Rule(None)
    # First a rule without symbol, which draws nothing and which the legend shows as a line of text: the definition.
    root.appendChild(QgsRuleBasedRenderer.Rule(None, 0, 0, "", metric.short, metric.long))
    for index, class_range in enumerate(ranges):
        lower = ">=" if index == 0 else ">"
        expression = f"{field} {lower} {class_range.lowerBound()!r} AND {field} <= {class_range.upperBound()!r}"
        colour = ramp.color(index / max(1, len(ranges) - 1)).name()
        root.appendChild(QgsRuleBasedRenderer.Rule(_metric_symbol(colour), 0, 0, expression, class_range.label()))
    # A change needs the period before as well: without it there is nothing to compare.
    no_data = tr("No usage data in this period or the one before") if metric_key.endswith("_change_pp") else tr("No usage data in this period")
    root.appendChild(QgsRuleBasedRenderer.Rule(_metric_symbol(NO_DATA_COLOUR), 0, 0, "ELSE", no_data))
    renderer = QgsRuleBasedRenderer(root)
    # Busy charge points on top; power second, so a rapid hub is not hidden under its neighbours.
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause(metric_key, True, False),
                                                   QgsFeatureRequest.OrderByClause("power_kw", True, True)]))
    renderer.setOrderByEnabled(True)
    return renderer


def metric_rules(renderer: QgsRuleBasedRenderer) -> list:
    """The class rules of a utilisation renderer, then its "no usage data" rule (all but the definition)."""
    return renderer.rootRule().children()[1:]


def style_by_utilisation(layer, metric_key: str, start, end, settings: RendererSettings, temporal: bool = False) -> None:
    """Style a utilisation layer, name it and its legend by metric and period, and record both in its metadata.

    With ``temporal`` the layer holds one feature per charge point per period and
    the temporal controller shows each period's features in turn.
    """
    from ..core.utilisation import metrics

    from .layers import set_layer_metadata
    from .project import LEGEND_TITLE

    metric = metrics()[metric_key]
    values = [feature[metric_key] for feature in layer.getFeatures(QgsFeatureRequest().setSubsetOfAttributes([metric_key], layer.fields()).setFlags(QgsFeatureRequest.NoGeometry))]
    values = [value for value in values if value is not None and value == value and not isinstance(value, QVariant)]
    layer.setRenderer(utilisation_renderer(values, metric_key, settings))
    title = legend_title(metric_key, start, end)
    layer.setName(tr("Charge points: {title}").format(title=title))
    layer.setCustomProperty(LEGEND_TITLE, title)
    definitions = "\n".join(f"{item.label}: {item.long}" for item in metrics().values())
    set_layer_metadata(layer, title, tr(
        "{short}\n{long}\n\nPeriod: {title}. Computed from summed hours, sessions and energy in the plugin's history "
        "archive. Marker shape shows the speed band (circle slow, square fast, triangle rapid, star ultra-rapid); "
        "grey markers had no usage data in this period.\n\nAll metrics:\n{definitions}").format(
        short=metric.short, long=metric.long, title=title, definitions=definitions))
    properties = layer.temporalProperties()
    properties.setIsActive(temporal)
    if temporal:
        properties.setMode(QgsVectorLayerTemporalProperties.ModeFeatureDateTimeStartAndEndFromFields)
        properties.setStartField("period_start")
        properties.setEndField("period_end")
        # period_end is the first moment after the period.
        properties.setLimitMode(Qgis.VectorTemporalLimitMode.IncludeBeginExcludeEnd)
    layer.triggerRepaint()


# -- live status -------------------------------------------------------------
# Status group -> fill colour: green, blue, red, grey (ColorBrewer RdYlBu ends, colour-blind safe with the shapes).
STATUS_COLOURS = {"available": "#1a9850", "in use": "#4575b4", "out of order": "#d73027", "unknown": "#bdbdbd"}


def style_by_status(layer, fetched_at: str) -> None:
    """Style a live-status layer by status group (shapes keep the speed band) and name it by the refresh time."""
    from ..core.live_status import group_labels, refreshed_label

    from .project import LEGEND_TITLE

    categories = [QgsRendererCategory(group, _metric_symbol(colour), group_labels()[group]) for group, colour in STATUS_COLOURS.items()]
    layer.setRenderer(QgsCategorizedSymbolRenderer("status_group", categories))
    title = tr("Live status, refreshed {time}").format(time=refreshed_label(fetched_at))
    layer.setName(title)
    layer.setCustomProperty(LEGEND_TITLE, title)
    layer.triggerRepaint()
