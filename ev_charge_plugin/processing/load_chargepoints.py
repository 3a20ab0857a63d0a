"""evcharge:loadchargepoints - one source in, a charge point layer and its report out."""
from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core.errors import CancelledError, EvChargeError
from ..qgis_io.sources import DATASTORE_PREFIX, DEMO_SOURCE, boundary_from_source, fetch_source
from .base import EvChargeAlgorithm, gc_paused


class LoadChargePointsAlgorithm(EvChargeAlgorithm):
    SOURCE = "SOURCE"
    LONDON_ONLY = "LONDON_ONLY"
    BOUNDARY = "BOUNDARY"
    OUTPUT = "OUTPUT"
    REPORT = "REPORT"

    def name(self):
        return "loadchargepoints"

    def displayName(self):
        return self.tr("Load charge points")

    def shortHelpString(self):
        return self.tr(
            "Loads charge points from one source into a point layer in British National Grid "
            "(EPSG:27700), with a data-quality report that lists every rejected, repaired or "
            "flagged record with its line or feature number, field and reason.\n\n"
            "<b>Source</b>: a file (OCPI 2.2.1 Locations JSON, National Chargepoint Registry CSV, "
            "the plugin's charge point CSV standard, GeoPackage, GeoJSON, Shapefile, or a zip of "
            "these), <i>{prefix}slug</i> for a London Datastore dataset (its slug or address), "
            "or <i>{demo}</i> for the built-in synthetic demo data.\n\n"
            "<b>Greater London boundary</b>: optional polygons (for example the boroughs). Points "
            "outside it are flagged; without it, Greater London's bounding box is used.\n\n"
            "<b>Keep London only</b>: reject points outside Greater London instead of flagging them."
        ).format(prefix=DATASTORE_PREFIX, demo=DEMO_SOURCE)

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterString(self.SOURCE, self.tr("Source (file, datastore:slug or demo)")))
        self.addParameter(QgsProcessingParameterBoolean(self.LONDON_ONLY, self.tr("Keep London only"), defaultValue=False))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.BOUNDARY, self.tr("Greater London boundary"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Charge points"), QgsProcessing.TypeVectorPoint))
        self.addParameter(QgsProcessingParameterFeatureSink(self.REPORT, self.tr("Data-quality report"), QgsProcessing.TypeVector))
        self.addOutput(QgsProcessingOutputNumber("LOADED", self.tr("Charge points loaded")))
        self.addOutput(QgsProcessingOutputNumber("REJECTED", self.tr("Records rejected")))
        self.addOutput(QgsProcessingOutputNumber("REPAIRED", self.tr("Records repaired")))
        self.addOutput(QgsProcessingOutputNumber("FLAGGED", self.tr("Records flagged")))
        self.addOutput(QgsProcessingOutputString("WARNINGS", self.tr("Warnings about the source")))
        self.addOutput(QgsProcessingOutputString("LABEL", self.tr("Where the charge points came from")))

    def processAlgorithm(self, parameters, context, feedback):
        # Imported here, not at module level: pandas and friends would slow QGIS's start-up.
        from ..core import schema
        from ..core.readers import read_chargepoints
        from ..core.report import FLAGGED, REPAIRED
        from ..qgis_io.layers import crs

        source = self.parameterAsString(parameters, self.SOURCE, context).strip()
        if not source:
            raise QgsProcessingException(self.tr("Choose a source: a file, datastore:<slug> or demo."))
        london_only = self.parameterAsBool(parameters, self.LONDON_ONLY, context)
        boundary = boundary_from_source(self.parameterAsSource(parameters, self.BOUNDARY, context), context)
        try:
            fetched = fetch_source(source, feedback, progress=(0, 40))
            for warning in fetched.warnings:
                feedback.pushWarning(warning)
            feedback.setProgressText(self.tr("Reading {name}").format(name=fetched.label))
            with gc_paused():
                result = read_chargepoints(fetched.path, london_only=london_only, london_boundary=boundary, source=fetched.label)
        except CancelledError:
            return {}
        except EvChargeError as error:
            raise QgsProcessingException(str(error)) from error
        feedback.setProgress(50)

        report = result.report
        frame, report_frame = result.chargepoints, report.to_frame()
        with gc_paused():
            output = self.write_frame_to_sink(frame, parameters, self.OUTPUT, context, feedback, QgsWkbTypes.Point, crs(schema.BNG_EPSG), (50, 95),
                                              xy=(frame["easting"], frame["northing"]))
            report_id = self.write_frame_to_sink(report_frame, parameters, self.REPORT, context, feedback, QgsWkbTypes.NoGeometry, crs(schema.BNG_EPSG), (95, 100))
        feedback.pushInfo(self.tr("{loaded:,} loaded, {rejected:,} rejected, {repaired:,} repaired, {flagged:,} flagged.").format(
            loaded=result.loaded, rejected=report.rejected, repaired=report.count(REPAIRED), flagged=report.count(FLAGGED)))
        return {
            self.OUTPUT: output,
            self.REPORT: report_id,
            "LOADED": result.loaded,
            "REJECTED": report.rejected,
            "REPAIRED": report.count(REPAIRED),
            "FLAGGED": report.count(FLAGGED),
            "WARNINGS": "\n".join(fetched.warnings),
            "LABEL": fetched.label,
        }
