"""evcharge:utilisation - utilisation metrics per charge point for a period, from the history archive."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsWkbTypes,
)

from .base import UsageAlgorithm, gc_paused

# The charge point attributes carried onto the output, before the period, sums and metrics.
ATTRIBUTES = ["chargepoint_id", "name", "operator", "power_kw", "speed_band", "connectors", "connector_types",
              "status", "on_street", "scheme", "in_london"]


def style_loaded(metric: str, start, end, by_period: bool):
    """What a loaded utilisation layer gets: the style for its metric and period, and the mark the map follower reads."""
    def style(layer):
        from ..qgis_io.project import UTILISATION_PERIOD
        from ..qgis_io.symbology import RendererSettings, style_by_utilisation

        style_by_utilisation(layer, metric, start, end, RendererSettings.load(), temporal=by_period)
        layer.setCustomProperty(UTILISATION_PERIOD, f"{str(start)[:10]}/{str(end)[:10]}")
    return style


class UtilisationAlgorithm(UsageAlgorithm):
    ARCHIVE = "ARCHIVE"
    PERIOD_START = "PERIOD_START"
    PERIOD_END = "PERIOD_END"
    BY_PERIOD = "BY_PERIOD"
    METRIC = "METRIC"
    OUTPUT = "OUTPUT"

    def name(self):
        return "utilisation"

    def displayName(self):
        return self.tr("Utilisation per charge point")


    def shortHelpString(self):
        from ..core.utilisation import definitions_html

        definitions = definitions_html()
        return self.tr(
            "Computes utilisation per charge point from the history archive, for the periods that lie "
            "wholly inside <b>Period start</b> (inclusive) to <b>Period end</b> (exclusive); empty means "
            "every archived period. Every metric is computed from summed hours, sessions and energy, and "
            "the sums are in the output too, so areas can be summed the same way. Charge points with no "
            "usage in the period are kept, with empty metrics.\n\n"
            "<b>One feature per period</b>: one point per charge point per archived period, with "
            "period_start/period_end, so QGIS's temporal controller can step through the periods.\n\n"
            "<b>Style by</b>: the metric the loaded layer is styled by.<ul>{definitions}</ul>"
        ).format(definitions=definitions)

    def initAlgorithm(self, config=None):
        from ..core.choices import METRIC_KEYS

        self.addParameter(QgsProcessingParameterFile(self.ARCHIVE, self.tr("History archive (GeoPackage)"), extension="gpkg"))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_START, self.tr("Period start"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_END, self.tr("Period end (exclusive)"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterBoolean(self.BY_PERIOD, self.tr("One feature per period (for the temporal controller)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterEnum(self.METRIC, self.tr("Style by"), list(METRIC_KEYS), defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Utilisation"), QgsProcessing.TypeVectorPoint))
        self.addOutput(QgsProcessingOutputNumber("CHARGEPOINTS", self.tr("Charge points")))
        self.addOutput(QgsProcessingOutputNumber("WITH_USAGE", self.tr("Charge points with usage in the period")))
        self.addOutput(QgsProcessingOutputString("PERIOD", self.tr("Period")))

    def processAlgorithm(self, parameters, context, feedback):

        from ..core import schema
        from ..core.usage import period_label
        from ..core.utilisation import METRIC_KEYS, utilisation, utilisation_by_period
        from ..qgis_io.layers import crs

        path = self.parameterAsFile(parameters, self.ARCHIVE, context)
        start, end = self.chosen_period(parameters, context)
        by_period = self.parameterAsBool(parameters, self.BY_PERIOD, context)
        metric = METRIC_KEYS[self.parameterAsEnum(parameters, self.METRIC, context)]

        feedback.setProgressText(self.tr("Reading the history archive"))
        chargepoints, usage = self.read_archive(path)
        if usage.empty:
            raise QgsProcessingException(self.tr("The history archive holds no usage yet: import a usage return first."))
        feedback.setProgress(30)
        start, end = self.archived_range(usage, start, end)

        with gc_paused():
            if by_period:
                metrics = utilisation_by_period(usage, chargepoints, start, end)
            else:
                metrics = utilisation(usage, chargepoints, start, end).assign(period_start=start, period_end=end)
            frame = chargepoints[ATTRIBUTES + ["easting", "northing"]].merge(metrics, on="chargepoint_id", how="right")
            feedback.setProgress(50)
            xy = (frame.pop("easting"), frame.pop("northing"))
            output = self.write_frame_to_sink(frame, parameters, self.OUTPUT, context, feedback, QgsWkbTypes.Point, crs(schema.BNG_EPSG), (50, 100), xy=xy)

        label = period_label(start, end)
        self.style_on_load(context, output, style_loaded(metric, start, end, by_period))
        with_usage = metrics.loc[metrics["available_hours"].notna(), "chargepoint_id"].nunique()
        if not with_usage:
            feedback.pushWarning(self.tr("No archived period lies wholly inside {label}: every charge point shows as without usage data.").format(label=label))
        feedback.pushInfo(self.tr("{label}: {count:,} charge points, {with_usage:,} with usage.").format(label=label, count=len(chargepoints), with_usage=with_usage))
        return {self.OUTPUT: output, "CHARGEPOINTS": len(chargepoints), "WITH_USAGE": with_usage, "PERIOD": label}

