"""evcharge:importusage - one usage source into the history archive, in one transaction."""
from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core.errors import CancelledError, EvChargeError
from ..qgis_io.sources import CHARGEPOINTS, DATASTORE_PREFIX, DEMO_SOURCE, USAGE, fetch_source
from .base import UsageAlgorithm, gc_paused

FREQUENCIES = ("quarter", "month")


class ImportUsageAlgorithm(UsageAlgorithm):
    INPUT = "INPUT"
    CHARGEPOINTS = "CHARGEPOINTS"
    ARCHIVE = "ARCHIVE"
    PERIOD = "PERIOD"
    REPORT = "REPORT"

    def name(self):
        return "importusage"

    def displayName(self):
        return self.tr("Import usage into the history archive")


    def shortHelpString(self):
        return self.tr(
            "Adds a usage source to the history archive, a GeoPackage that keeps every period ever "
            "imported, with the source file and import time of every row.\n\n"
            "<b>Usage</b>: the plugin's quarterly return CSV (docs/data-standard.md), a session CSV "
            "(one row per charging session) or OCPI 2.2.1 CDRs (JSON: a list, a response, or saved "
            "pages); <i>{prefix}slug</i> for a private London Datastore dataset; or <i>{demo}</i>.\n\n"
            "<b>Charge points</b> (optional): a charge point source, as for Load charge points, "
            "registered in the archive in the same transaction. Usage naming a charge point the archive "
            "does not know is rejected.\n\n"
            "<b>Sessions summed by</b>: quarters or calendar months. A session that crosses a period "
            "boundary is split by time; it counts once, in the period it started in.\n\n"
            "A newer return for the same charge point and period replaces the older row, which is kept "
            "aside, and the summary counts it as replaced. Importing the same file again changes nothing. "
            "If anything fails, the archive is left exactly as it was."
        ).format(prefix=DATASTORE_PREFIX, demo=DEMO_SOURCE)

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterString(self.INPUT, self.tr("Usage (file, datastore:slug or demo)")))
        self.addParameter(QgsProcessingParameterString(self.CHARGEPOINTS, self.tr("Charge points to register (file, datastore:slug or demo)"), optional=True))
        self.addParameter(QgsProcessingParameterFile(self.ARCHIVE, self.tr("History archive (GeoPackage; created if missing)"), extension="gpkg"))
        self.addParameter(QgsProcessingParameterEnum(self.PERIOD, self.tr("Sessions summed by"), [self.tr("Quarter"), self.tr("Month")], defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(self.REPORT, self.tr("Import report")))
        for name, description in (("IMPORTED", self.tr("Usage rows new to the archive")),
                                  ("REPLACED", self.tr("Usage rows that replaced older ones")),
                                  ("UNCHANGED", self.tr("Usage rows the archive already held")),
                                  ("REJECTED", self.tr("Usage records rejected")),
                                  ("REGISTERED", self.tr("Charge points registered")),
                                  ("CHARGEPOINTS_REJECTED", self.tr("Charge point records rejected"))):
            self.addOutput(QgsProcessingOutputNumber(name, description))
        self.addOutput(QgsProcessingOutputString("SUMMARY", self.tr("Import summary")))
        self.addOutput(QgsProcessingOutputString("LABEL", self.tr("Where the usage came from")))

    def processAlgorithm(self, parameters, context, feedback):
        from ..core import schema
        from ..core.importer import KIND_LABELS, import_usage
        from ..core.readers import read_chargepoints
        from ..core.report import REJECTED
        from ..qgis_io.layers import crs

        usage_source = self.parameterAsString(parameters, self.INPUT, context).strip()
        chargepoint_source = self.parameterAsString(parameters, self.CHARGEPOINTS, context).strip()
        archive = self.parameterAsFile(parameters, self.ARCHIVE, context)
        if not usage_source:
            raise QgsProcessingException(self.tr("Choose the usage to import: a file, datastore:<slug> or demo."))
        if not archive:
            raise QgsProcessingException(self.tr("Choose the history archive (a GeoPackage)."))
        freq = FREQUENCIES[self.parameterAsEnum(parameters, self.PERIOD, context)]

        try:
            chargepoints = chargepoint_problems = chargepoints_path = None
            if chargepoint_source:
                fetched = fetch_source(chargepoint_source, feedback, progress=(0, 10), kind=CHARGEPOINTS)
                feedback.setProgressText(self.tr("Reading charge points from {name}").format(name=fetched.label))
                with gc_paused():
                    loaded = read_chargepoints(fetched.path, source=fetched.label)
                chargepoints, chargepoint_problems, chargepoints_path = loaded.chargepoints, loaded.report.problems, fetched.path
                feedback.pushInfo(self.tr("{count:,} charge points to register, {rejected:,} rejected.").format(count=loaded.loaded, rejected=loaded.rejected))
            fetched = fetch_source(usage_source, feedback, progress=(10, 20), kind=USAGE)
            for warning in fetched.warnings:
                feedback.pushWarning(warning)
            feedback.setProgressText(self.tr("Importing {name}").format(name=fetched.label))
            with gc_paused():
                result = import_usage(archive, fetched.path, chargepoints=chargepoints, chargepoints_path=chargepoints_path,
                                      source=fetched.label, freq=freq, cancelled=feedback.isCanceled,
                                      progress=lambda fraction: feedback.setProgress(20 + 75 * fraction))
        except CancelledError:
            feedback.reportError(self.tr("The import was cancelled; the archive is as it was."))
            return {}
        except EvChargeError as error:
            raise QgsProcessingException(str(error)) from error

        report = result.report
        rejected = report.rejected
        chargepoints_rejected = sum(1 for problem in chargepoint_problems or () if problem.severity == REJECTED)
        if chargepoint_problems:
            report.problems[:0] = chargepoint_problems
        report_id = self.write_frame_to_sink(report.to_frame(), parameters, self.REPORT, context, feedback, QgsWkbTypes.NoGeometry, crs(schema.BNG_EPSG), (95, 100))
        summary = result.summary
        if summary.already_imported_at:
            text = self.tr("{name} was already imported on {when}; the archive is unchanged.").format(name=fetched.label, when=summary.already_imported_at)
        else:
            text = self.tr("{kind}: {imported:,} rows imported, {replaced:,} replaced, {unchanged:,} unchanged, {rejected:,} rejected; "
                           "{registered:,} charge points registered, {changed:,} changed, {cp_rejected:,} charge point records rejected.").format(
                kind=KIND_LABELS[result.kind], imported=summary.imported, replaced=summary.replaced, unchanged=summary.unchanged,
                rejected=rejected, registered=summary.chargepoints_registered, changed=summary.chargepoints_changed, cp_rejected=chargepoints_rejected)
        feedback.pushInfo(text)
        return {
            self.REPORT: report_id,
            "IMPORTED": summary.imported,
            "REPLACED": summary.replaced,
            "UNCHANGED": summary.unchanged,
            "REJECTED": rejected,
            "REGISTERED": summary.chargepoints_registered,
            "CHARGEPOINTS_REJECTED": chargepoints_rejected,
            "SUMMARY": text,
            "LABEL": fetched.label,
        }
