"""evcharge:importdftstats - DfT's quarterly charging device counts by local authority, as a table."""
from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsWkbTypes,
)

from .base import EvChargeAlgorithm

# Problems listed one by one in the log; the rest are counted (a whole edition of [x] cells would bury the summary).
LOGGED_PROBLEMS = 20


class ImportDftStatsAlgorithm(EvChargeAlgorithm):
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    REPORT = "REPORT"

    def name(self):
        return "importdftstats"

    def displayName(self):
        return self.tr("Import DfT charging device statistics")

    def group(self):
        return self.tr("Official statistics")

    def groupId(self):
        return "officialstatistics"

    def shortHelpString(self):
        return self.tr(
            "Reads the Department for Transport's quarterly <i>Electric vehicle public charging infrastructure "
            "statistics</i> table, to compare a borough's charging devices over time with London's and other "
            "areas'.\n\n"
            "<b>DfT table</b>: the workbook (.xlsx or .ods) as published on GOV.UK. Sheet 1a (devices at all "
            "speeds) and sheet 1b (50 kW and above) are read; older editions' EVCD_01a and EVCD_01b too. Other "
            "sheets and per-100,000-population columns are left aside.\n\n"
            "<b>Device counts</b>: one row per area (local authority, region or country) per quarter per sheet, "
            "with <i>gss_code</i>, <i>name</i>, <i>quarter</i> (the first day of the quarter's month: Oct-25 is "
            "2025-10-01), <i>speed</i> (<i>all</i> for 1a, <i>rapid</i> for 1b) and <i>devices</i>. London is the "
            "row with code E12000007.\n\n"
            "Cells DfT marks as not available ([x], .., - or blank) stay empty, never 0, and are listed in the "
            "log and in the optional <b>Import report</b>."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.INPUT, self.tr("DfT table (xlsx or ods)"), QgsProcessingParameterFile.File,
                                                     fileFilter=self.tr("Spreadsheets (*.xlsx *.ods)")))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Device counts"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(self.REPORT, self.tr("Import report"), QgsProcessing.TypeVector,
                                                            optional=True, createByDefault=False))
        for name, description in (("AREAS", self.tr("Areas read")), ("QUARTERS", self.tr("Quarters read")),
                                  ("ROWS", self.tr("Rows written")), ("MISSING", self.tr("Counts not available"))):
            self.addOutput(QgsProcessingOutputNumber(name, description))

    def processAlgorithm(self, parameters, context, feedback):
        from ..core import schema
        from ..core.dft_stats import read_dft_stats
        from ..core.errors import EvChargeError
        from ..core.report import WARNING
        from ..qgis_io.layers import crs

        path = self.parameterAsFile(parameters, self.INPUT, context)
        if not path:
            raise QgsProcessingException(self.tr("Choose the DfT table: an .xlsx or .ods file."))
        feedback.setProgressText(self.tr("Reading {path}").format(path=path))
        try:
            result = read_dft_stats(path)
        except EvChargeError as error:
            raise QgsProcessingException(str(error)) from error
        feedback.setProgress(50)

        table, report = result.table, result.report
        for problem in report.problems[:LOGGED_PROBLEMS]:
            where = self.tr("row {row}, {field}").format(row=problem.record, field=problem.field) if problem.record else problem.field
            if problem.severity == WARNING:
                feedback.pushWarning(f"{where}: {problem.reason}")
            else:
                feedback.reportError(f"{where}: {problem.reason}", fatalError=False)
        if len(report.problems) > LOGGED_PROBLEMS:
            feedback.reportError(self.tr("... and {count:,} more problems (see the import report).").format(count=len(report.problems) - LOGGED_PROBLEMS), fatalError=False)

        output = table.copy()
        # A date field, not a date-time: a quarter is a day, and a time of 00:00 would shift with the time zone.
        output["quarter"] = output["quarter"].dt.date
        output_id = self.write_frame_to_sink(output, parameters, self.OUTPUT, context, feedback, QgsWkbTypes.NoGeometry, crs(schema.BNG_EPSG), (50, 95))
        results = {self.OUTPUT: output_id}
        if parameters.get(self.REPORT):
            results[self.REPORT] = self.write_frame_to_sink(report.to_frame(), parameters, self.REPORT, context, feedback, QgsWkbTypes.NoGeometry,
                                                            crs(schema.BNG_EPSG), (95, 100))
        counts = {
            "AREAS": int(table[["gss_code", "name"]].drop_duplicates().shape[0]),
            "QUARTERS": int(table["quarter"].nunique()),
            "ROWS": len(table),
            "MISSING": int(table["devices"].isna().sum()),
        }
        feedback.pushInfo(self.tr("{areas:,} areas, {quarters:,} quarters: {rows:,} rows, {missing:,} counts not available.").format(
            areas=counts["AREAS"], quarters=counts["QUARTERS"], rows=counts["ROWS"], missing=counts["MISSING"]))
        results.update(counts)
        return results
