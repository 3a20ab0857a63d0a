"""Live status on the map: refresh the operators' feeds on demand or every few minutes.

The refresh runs evcharge:refreshstatus as a background task; only the finished
handler, on the GUI thread, touches the project: it swaps the previous live-status
layer for the new one, so the map shows one live layer however often it refreshes.
"""
from pathlib import Path

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal
from qgis.core import QgsProject

from ..toolbelt.i18n import tr
from ..toolbelt.settings import PluginSettings
from ..toolbelt.tasks import AlgorithmRun
from .task_dialog import CANCELLED, FAILED, SUCCEEDED, last_error

ALGORITHM_ID = "evcharge:refreshstatus"
MAX_MINUTES = 24 * 60  # QTimer's interval is a 32-bit count of milliseconds
# Runs cancelled by stop() while their task still holds their context; kept until the task ends.
_STOPPING = set()


def no_feeds_message() -> str:
    return tr("Add operators' OCPI feeds in EV Charge Points > Settings.")


class LiveStatusController(QObject):
    # outcome (SUCCEEDED, FAILED or CANCELLED), message for the user
    refreshed = pyqtSignal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run = None
        self.layer_id = ""  # the live-status layer this controller last added
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)

    def refresh(self) -> bool:
        """Start a refresh; False (and nothing started) if one is going or no feeds are set."""
        if self.run is not None:
            return False
        urls = [feed.url for feed in PluginSettings.load().feed_list()]
        if not urls:
            self.refreshed.emit(FAILED, no_feeds_message())
            return False
        from .import_dialog import project_archive

        parameters = {"FEEDS": "\n".join(urls), "OUTPUT": "TEMPORARY_OUTPUT"}
        archive = project_archive()
        if Path(archive).is_file():  # reliability comes from the history; never start an archive just for this
            parameters["ARCHIVE"] = archive
        self.run = AlgorithmRun(ALGORITHM_ID, parameters, tr("Refresh live status"))
        self.run.finished.connect(self._finished)
        self.run.start()
        return True

    def running(self) -> bool:
        return self.run is not None

    def apply_settings(self) -> None:
        """Follow the settings' refresh interval: a timer every N minutes, or none for 0."""
        minutes = min(PluginSettings.load().refresh_minutes, MAX_MINUTES)
        if minutes > 0:
            self.timer.start(minutes * 60000)
        else:
            self.timer.stop()

    def stop(self) -> None:
        """Stop the timer and cancel any run (plugin unload)."""
        self.timer.stop()
        if self.run is not None:
            run, self.run = self.run, None
            # The task still uses the run's context until it notices the cancel.
            _STOPPING.add(run)
            run.finished.connect(lambda *_: _STOPPING.discard(run))
            run.finished.disconnect(self._finished)
            run.cancel()

    def _tick(self) -> None:
        # A slow feed may outlast the interval: skip this tick rather than queue another run.
        # With no feeds set there is nothing to refresh, and no need to say so every few minutes.
        if self.run is None and PluginSettings.load().feed_list():
            self.refresh()

    def _finished(self, successful, results, context, log):
        run, self.run = self.run, None
        if run.feedback.isCanceled():
            self.refreshed.emit(CANCELLED, tr("Live status refresh cancelled: the map is unchanged."))
        elif not successful:
            self.refreshed.emit(FAILED, tr("Live status refresh failed: {reason}").format(reason=last_error(log)))
        else:
            from ..qgis_io.symbology import style_by_status

            layer = context.takeResultLayer(results["OUTPUT"])
            style_by_status(layer, results["REFRESHED"])
            self._replace_layer(layer)
            self.refreshed.emit(SUCCEEDED, success_message(results))

    def _replace_layer(self, layer) -> None:
        """Add ``layer`` in place of the one added last time (if the user has not removed it), keeping its visibility."""
        from ..qgis_io.project import add_to_plugin_group

        project = QgsProject.instance()
        node = project.layerTreeRoot().findLayer(self.layer_id) if self.layer_id else None
        visible = node.itemVisibilityChecked() if node is not None else True
        if project.mapLayer(self.layer_id) is not None:
            project.removeMapLayer(self.layer_id)
        add_to_plugin_group(layer, project, visible=visible)
        self.layer_id = layer.id()


def success_message(results: dict) -> str:
    from ..core.live_status import refreshed_label

    message = tr("{count:,} charge points, refreshed {time}").format(count=int(results["CHARGEPOINTS"]), time=refreshed_label(results["REFRESHED"]))
    # STALE_FEEDS counts every feed that failed, whether or not it had a last good snapshot to show instead.
    failed = int(results.get("STALE_FEEDS") or 0)
    if failed == 1:
        message += tr("; 1 feed could not be refreshed")
    elif failed:
        message += tr("; {count} feeds could not be refreshed").format(count=failed)
    return message
