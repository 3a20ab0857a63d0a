"""What a finished utilisation run adds to the project: the styled layer, and the
temporal controller set to step through its periods."""
from qgis.core import QgsDateTimeRange, QgsInterval, QgsProject, QgsTemporalNavigationObject, QgsUnitTypes

from ..qgis_io.project import add_to_plugin_group
from ..qgis_io.symbology import RendererSettings, style_by_utilisation

PROJECT_SCOPE = "EvChargePoints"


def add_utilisation_layer(results: dict, context, settings: RendererSettings, start, end, by_period: bool, navigation=None):
    """Style the run's layer, put it into the plugin's group and remember metric and period in the project.

    ``navigation`` is the map canvas's temporal controller; with ``by_period``
    it is set to step through the archived periods one at a time.
    """
    layer = context.takeResultLayer(results["OUTPUT"])
    style_by_utilisation(layer, settings.metric, start, end, settings, temporal=by_period)
    add_to_plugin_group(layer)
    project = QgsProject.instance()
    # The dock panel and print layouts read the same choice, so map and charts agree.
    project.writeEntry(PROJECT_SCOPE, "metric", settings.metric)
    project.writeEntry(PROJECT_SCOPE, "period_start", str(start))
    project.writeEntry(PROJECT_SCOPE, "period_end", str(end))
    if by_period:
        extent = layer.temporalProperties().calculateTemporalExtent(layer)
        project.timeSettings().setTemporalRange(extent)
        if navigation is not None:
            step_through_periods(navigation, extent, _months_per_step(layer))
    return layer


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
    """Animate ``navigation`` over ``extent`` one period (``months`` long) per frame, starting on the first."""
    navigation.setTemporalExtents(extent)
    # In calendar months, so each frame is exactly one quarter (or month), whatever its days.
    navigation.setFrameDuration(QgsInterval(months, QgsUnitTypes.TemporalMonths))
    navigation.setNavigationMode(QgsTemporalNavigationObject.Animated)
    navigation.setCurrentFrameNumber(0)
