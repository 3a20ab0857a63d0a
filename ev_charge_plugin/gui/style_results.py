"""What a finished utilisation run adds to the project: the styled layer, and the
temporal controller set to step through its periods; and the map following the
metric and period chosen elsewhere (the dock), so map and charts agree."""
from dataclasses import replace

from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.core import QgsDateTimeRange, QgsInterval, QgsProject, QgsTemporalNavigationObject, QgsUnitTypes

from ..qgis_io.project import UTILISATION_PERIOD, add_to_plugin_group, discard_layer_file, new_layer_file, result_layer, set_shared_choice, shared_choice_changed
from ..qgis_io.symbology import RendererSettings, style_by_utilisation
from ..toolbelt.i18n import tr
from ..toolbelt.tasks import AlgorithmRun



def add_utilisation_layer(results: dict, context, settings: RendererSettings, start, end, by_period: bool, navigation=None):
    """Style the run's layer, put it into the plugin's group and remember metric and period in the project.

    ``navigation`` is the map canvas's temporal controller; with ``by_period``
    it is set to step through the archived periods one at a time.
    """
    layer = result_layer(context, results["OUTPUT"])
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


def utilisation_layers(project=None) -> list:
    """The layers utilisation runs added, with their period as (start, end) ISO dates."""
    project = project or QgsProject.instance()
    return [(layer, tuple(layer.customProperty(UTILISATION_PERIOD).split("/"))) for layer in project.mapLayers().values()
            if layer.customProperty(UTILISATION_PERIOD)]


class MapFollower(QObject):
    """Restyles the map's utilisation layer when the shared metric or period changes.

    A new metric restyles the layer in place. A new period shows that period's
    frame on a layer holding every period; a layer already showing the period is
    kept; else ``evcharge:utilisation`` runs for it (as a task) and its layer
    takes the place of those showing other periods.
    """

    # outcome, message
    followed = pyqtSignal(str, str)

    def __init__(self, navigation=None, parent=None):
        super().__init__(parent)
        self.navigation, self.run = navigation, None
        shared_choice_changed().connect(self.follow)

    def follow(self, metric: str, start: str, end: str) -> None:
        from ..qgis_io.project import LEGEND_TITLE
        from ..qgis_io.symbology import legend_title

        settings = replace(RendererSettings.load(), metric=metric)
        layers = utilisation_layers()
        showing = [(layer, period) for layer, period in layers if layer.temporalProperties().isActive() or period == (start, end)]
        for layer, (layer_start, layer_end) in showing:
            # A layer just styled for this choice (by the Style dialog, say) is left as it is.
            if layer.customProperty(LEGEND_TITLE) != legend_title(metric, layer_start, layer_end):
                style_by_utilisation(layer, metric, layer_start, layer_end, settings, temporal=layer.temporalProperties().isActive())
                layer.triggerRepaint()
            if layer.temporalProperties().isActive() and self.navigation is not None and start:
                self._show_frame(layer_start, start)
        stale = [layer.id() for layer, period in layers if (layer, period) not in showing]
        if stale and not showing and start:
            self._replace(stale, settings, start, end)

    def _show_frame(self, first_start: str, start: str) -> None:
        from datetime import date

        first, chosen = date.fromisoformat(first_start), date.fromisoformat(start)
        months = (chosen.year - first.year) * 12 + chosen.month - first.month
        step = max(1, self.navigation.frameDuration().originalDuration()) if self.navigation.frameDuration().originalUnit() == QgsUnitTypes.TemporalMonths else 3
        self.navigation.setCurrentFrameNumber(max(0, months // int(step)))

    def _replace(self, old_ids, settings, start, end) -> None:
        """Compute the period's layer as a task; it takes the place of the layers ``old_ids`` (other periods)."""
        from .import_dialog import project_archive

        if self.run is not None:  # the latest choice wins
            self.run.cancel()
        output = new_layer_file("utilisation")
        self.run = AlgorithmRun("evcharge:utilisation", {"ARCHIVE": project_archive(), "PERIOD_START": start, "PERIOD_END": end,
                                                         "BY_PERIOD": False, "METRIC": 0, "OUTPUT": output},
                                tr("Utilisation for the map"), self)

        def finished(successful, results, context, log, run=self.run):
            from .task_dialog import FAILED, SUCCEEDED, last_error

            if run is not self.run:
                discard_layer_file(output)
                return  # a newer choice replaced this run
            self.run = None
            run.deleteLater()
            if not successful:
                discard_layer_file(output)
                self.followed.emit(FAILED, tr("The map could not be restyled for the period: {reason}").format(reason=last_error(log)))
                return
            add_utilisation_layer(results, context, settings, start, end, False, self.navigation)
            QgsProject.instance().removeMapLayers([layer_id for layer_id in old_ids if QgsProject.instance().mapLayer(layer_id)])
            self.followed.emit(SUCCEEDED, tr("The map now shows {start} to {end}.").format(start=start, end=end))

        self.run.finished.connect(finished)
        self.run.start()

    def unload(self) -> None:
        shared_choice_changed().disconnect(self.follow)
        if self.run is not None:
            self.run.cancel()
            self.run.task.waitForFinished(30000)
            self.run = None
