"""evcharge:refreshstatus - live status from operators' open OCPI Locations feeds."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core.errors import CancelledError, EvChargeError
from .base import LiveStatusAlgorithm, gc_paused

# Feeds are given one per line (or separated by spaces or commas).
FEED_SEPARATORS = (",", " ", "\t")


def feed_urls(text: str) -> list:
    """The feed addresses in ``text``, in order, each once."""
    for separator in FEED_SEPARATORS:
        text = text.replace(separator, "\n")
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def _style_status(layer, refreshed: str) -> None:
    from ..qgis_io.symbology import style_by_status

    style_by_status(layer, refreshed)


class RefreshStatusAlgorithm(LiveStatusAlgorithm):
    FEEDS = "FEEDS"
    ARCHIVE = "ARCHIVE"
    OUTPUT = "OUTPUT"

    def name(self):
        return "refreshstatus"

    def displayName(self):
        return self.tr("Refresh live status")


    def shortHelpString(self):
        return self.tr(
            "Fetches operators' open OCPI 2.2.1 Locations feeds (the Public Charge Point Regulations 2023 "
            "require every operator to publish one) and writes one point per charge point (EVSE) with its "
            "live status: available; charging, reserved or blocked; out of order or inoperative; unknown, "
            "planned or removed.\n\n"
            "<b>Feeds</b>: the feeds' addresses, one per line. Every page is fetched (OCPI paging). A feed "
            "that fails keeps its last good snapshot, marked <i>stale</i> with the reason, and the run "
            "carries on with the other feeds.\n\n"
            "<b>History archive</b> (optional): each new snapshot is added to it, and every charge point "
            "gets <i>reliability_pct</i>: the share of all its snapshots in which it was working "
            "(available, charging or reserved, as the regulations count it)."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterString(self.FEEDS, self.tr("OCPI Locations feeds (one address per line)"), multiLine=True))
        self.addParameter(QgsProcessingParameterFile(self.ARCHIVE, self.tr("History archive (GeoPackage)"), extension="gpkg", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Live status"), QgsProcessing.TypeVectorPoint))
        self.addOutput(QgsProcessingOutputNumber("CHARGEPOINTS", self.tr("Charge points")))
        self.addOutput(QgsProcessingOutputNumber("STALE_FEEDS", self.tr("Feeds that failed (last good snapshot used)")))
        self.addOutput(QgsProcessingOutputString("REFRESHED", self.tr("Time of the refresh")))
        self.addOutput(QgsProcessingOutputString("PROBLEMS", self.tr("What went wrong with each failed feed")))

    def processAlgorithm(self, parameters, context, feedback):
        import pandas as pd

        from ..core import schema
        from ..core.archive import Archive
        from ..core.live_status import reliability, status_group
        from ..core.ocpi_feed import FeedClient, snapshot_bytes
        from ..core.readers.ocpi import read_ocpi
        from ..qgis_io.layers import crs
        from ..qgis_io.network import QgisTransport
        from ..toolbelt.settings import PluginSettings

        urls = feed_urls(self.parameterAsString(parameters, self.FEEDS, context))
        if not urls:
            raise QgsProcessingException(self.tr("Give at least one OCPI Locations feed address."))
        archive_path = self.parameterAsFile(parameters, self.ARCHIVE, context)
        settings = PluginSettings.load()
        # A feed set up in Settings may carry a QGIS auth config (an operator's token); any other address goes without.
        authcfgs = {feed.url: feed.authcfg for feed in settings.feed_list()}

        frames, problems, snapshots = [], [], []
        for index, url in enumerate(urls):
            feedback.setProgressText(self.tr("Fetching {url}").format(url=url))
            client = FeedClient(transport=QgisTransport(authcfg=authcfgs.get(url) or None), cache_dir=settings.effective_cache_dir() / "feeds",
                                timeout=settings.timeout_seconds)
            try:
                snapshot = client.fetch(url, cancelled=feedback.isCanceled)
            except CancelledError:
                return {}
            except EvChargeError as error:
                problems.append(f"{url}: {error}")
                feedback.reportError(self.tr("{url} failed and has no earlier snapshot: {error}").format(url=url, error=error))
                continue
            if snapshot.stale:
                problems.append(f"{url}: {snapshot.problem}")
                feedback.pushWarning(self.tr("{url} failed; its snapshot of {when} is shown instead: {problem}").format(
                    url=url, when=snapshot.fetched_at, problem=snapshot.problem))
            with gc_paused():
                chargepoints = read_ocpi(snapshot_bytes(snapshot), source=url).chargepoints
            frames.append(chargepoints.assign(feed=url, fetched_at=snapshot.fetched_at, stale=snapshot.stale))
            snapshots.append((snapshot, chargepoints))
            feedback.setProgress(60 * (index + 1) / len(urls))
        if not frames:
            raise QgsProcessingException(self.tr("No feed could be read: {problems}").format(problems="; ".join(problems)))

        points = pd.concat(frames, ignore_index=True)
        points["status_group"] = status_group(points["status"])
        if archive_path:
            try:
                with Archive(archive_path) as archive:
                    for snapshot, chargepoints in snapshots:
                        if not snapshot.stale:
                            archive.append_statuses(chargepoints, feed_url=snapshot.url, fetched_at=snapshot.fetched_at)
                    scores = reliability(archive.status_snapshots())
            except EvChargeError as error:
                raise QgsProcessingException(str(error)) from error
            points = points.merge(scores[["chargepoint_id", "reliability_pct", "snapshots", "working"]], on="chargepoint_id", how="left")
        feedback.setProgress(70)

        columns = ["chargepoint_id", "name", "operator", "power_kw", "speed_band", "connector_types", "status", "status_group",
                   "feed", "fetched_at", "stale"] + (["reliability_pct", "snapshots", "working"] if archive_path else [])
        frame = points[columns].copy()
        output = self.write_frame_to_sink(frame, parameters, self.OUTPUT, context, feedback, QgsWkbTypes.Point, crs(schema.BNG_EPSG), (70, 100),
                                          xy=(points["easting"], points["northing"]))
        refreshed = max(snapshot.fetched_at for snapshot, _ in snapshots)
        self.style_on_load(context, output, lambda layer: _style_status(layer, refreshed))
        return {self.OUTPUT: output, "CHARGEPOINTS": len(frame), "STALE_FEEDS": len(problems), "REFRESHED": refreshed,
                "PROBLEMS": "\n".join(problems)}

