"""What a finished utilisation run adds to the project: the styled layer, and the
temporal controller set to step through its periods."""
from qgis.core import QgsDateTimeRange, QgsInterval, QgsProject, QgsTemporalNavigationObject, QgsUnitTypes

from ..qgis_io.project import UTILISATION_PERIOD, add_to_plugin_group, set_shared_choice
from ..qgis_io.symbology import RendererSettings, style_by_utilisation



def add_utilisation_layer(results: dict, context, settings: RendererSettings, start, end, by_period: bool, navigation=None):
    """Style the run's layer, put it into the plugin's group and remember metric and period in the project.

    ``navigation`` is the map canvas's temporal controller; with ``by_period``
    it is set to step through the archived periods one at a time.
    """
    layer = context.takeResultLayer(results["OUTPUT"])
    style_by_utilisation(layer, settings.metric, start, end, settings, temporal=by_period)
    layer.setCustomProperty(UTILISATION_PERIOD, f"{str(start)[:10]}/{str(end)[:10]}")
    add_to_plugin_group(layer)
    project = QgsProject.instance()
    # The dock panel and print layouts read the same choice, so map and charts agree.
    set_shared_choice(settings.metric, start, end, project)
    if by_period:
        extent = _temporal_extent(layer)
        project.timeSettings().setTemporalRange(extent)
        if navigation is not None:
            step_through_periods(navigation, extent, _months_per_step(layer))
    return layer


def _temporal_extent(layer) -> QgsDateTimeRange:
    """From the first period's start to the last period's end (exclusive); QGIS 3.22 has no Python call for it."""
    fields = layer.fields()
    return QgsDateTimeRange(layer.minimumValue(fields.indexOf("period_start")), layer.maximumValue(fields.indexOf("period_end")), True, False)


def _months_per_step(layer) -> int:
    """The shortest archived period in whole months (1 for monthly data, 3 for quarters)."""
    lengths = set()
    for feature in layer.getFeatures():
        start, end = feature["period_start"], feature["period_end"]
        lengths.add((end.date().year() - start.date().year()) * 12 + end.date().month() - start.date().month())
        if len(lengths) > 1 or len(lengths) == 1 and 1 in lengths:
            break
    return max(1, min(lengths)) if lengths else 3


def step_through_periods(navigation: QgsTemporalNavigationObject, extent: QgsDateTimeRange, months: int) -> None:
    """Animate ``navigation`` over ``extent`` one period (``months`` long) per frame, starting on the first.

    The controller's own extent ends where the last period begins: QGIS 3.22
    counts frames as whole 30-day months plus one, so an extent to the last
    period's end would add an empty frame after it.
    """
    last_start = extent.end().addMonths(-months)
    navigation.setTemporalExtents(QgsDateTimeRange(extent.begin(), max(extent.begin(), last_start)))
    # In calendar months, so each frame is exactly one quarter (or month), whatever its days.
    navigation.setFrameDuration(QgsInterval(months, QgsUnitTypes.TemporalMonths))
    navigation.setNavigationMode(QgsTemporalNavigationObject.Animated)
    navigation.setCurrentFrameNumber(0)
