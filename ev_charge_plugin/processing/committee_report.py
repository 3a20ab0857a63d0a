"""evcharge:committeereport - a borough's committee page, or an atlas of every borough, as a print layout and a PDF."""
from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

from .base import EvChargeAlgorithm

LAYOUTS = [("A4", "landscape"), ("A4", "portrait"), ("A3", "landscape"), ("A3", "portrait")]
DEFAULT_TITLE = "Electric vehicle charge points"


class CommitteeReportAlgorithm(EvChargeAlgorithm):
    CHARGEPOINTS = "CHARGEPOINTS"
    AREAS = "AREAS"
    AREA_NAME_FIELD = "AREA_NAME_FIELD"
    AREA = "AREA"
    ARCHIVE = "ARCHIVE"
    PERIOD_START = "PERIOD_START"
    PERIOD_END = "PERIOD_END"
    SITES = "SITES"
    TITLE = "TITLE"
    ORGANISATION = "ORGANISATION"
    METRIC = "METRIC"
    WARDS = "WARDS"
    WARD_NAME_FIELD = "WARD_NAME_FIELD"
    LAYOUT = "LAYOUT"
    OUTPUT = "OUTPUT"
    PNG_FOLDER = "PNG_FOLDER"

    def name(self):
        return "committeereport"

    def displayName(self):
        return self.tr("Committee report (print layout and PDF)")

    def group(self):
        return self.tr("Reports")

    def groupId(self):
        return "reports"

    def flags(self):
        # Layouts and charts are drawn with Qt's painting classes, which belong to the main thread.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def shortHelpString(self):
        return self.tr(
            "Builds a print layout for a committee paper, keeps it in the project's layout manager (so it can be "
            "adjusted by hand and printed again) and exports it to PDF.\n\n"
            "<b>Area</b> empty makes an atlas with one page per area (borough) of the area layer, in name order; "
            "an area's name makes a report of that area alone. Each page has the title, the period, the metric "
            "and its definition, the date; a map of the charge points styled by the metric, clipped to the "
            "area, over the area (and ward) boundaries, with legend, scale bar and north arrow; the key figures "
            "of the area and of London (charge points, rapid charge points, mean occupancy, sessions, kWh, "
            "occupancy change on the previous period), computed by <i>Summarise charge points by area</i>; the "
            "area's chart by ward (by borough without a ward layer) and its trend against London; the chosen "
            "sites in rank order when <b>Chosen sites</b> (the output of <i>Choose best sites</i>) is given; and "
            "the sources and licences, with a notice when the data is the synthetic demo.\n\n"
            "Usage comes from the <b>history archive</b> for the period (empty: every archived period); without "
            "an archive, from the utilisation fields already on the charge point layer, or counts alone.\n\n"
            "The layers the pages show are saved as GeoPackages, with the charts, in a folder beside the "
            "project's other plugin layers, and added to the project in a group of their own. The PDF is "
            "vector where QGIS allows, with its fonts embedded; it is written only when complete. <b>PNG "
            "folder</b> also writes each page as a PNG."
        )

    def initAlgorithm(self, config=None):
        from ..core.choices import METRIC_KEYS

        self.addParameter(QgsProcessingParameterVectorLayer(self.CHARGEPOINTS, self.tr("Charge points"), [QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterVectorLayer(self.AREAS, self.tr("Areas: the boroughs (one page each)"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(self.AREA_NAME_FIELD, self.tr("Area name field"), defaultValue="name",
                                                      parentLayerParameterName=self.AREAS, optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, self.tr("PDF file"), self.tr("PDF files (*.pdf)")))
        self.addParameter(QgsProcessingParameterString(self.AREA, self.tr("One area's name (empty: an atlas of every area)"), optional=True))
        self.addParameter(QgsProcessingParameterFile(self.ARCHIVE, self.tr("History archive"), extension="gpkg", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_START, self.tr("Period start"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_END, self.tr("Period end (exclusive)"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterVectorLayer(self.SITES, self.tr("Chosen sites (output of Choose best sites)"),
                                                            [QgsProcessing.TypeVectorAnyGeometry], optional=True))
        self.addParameter(QgsProcessingParameterString(self.TITLE, self.tr("Title"), defaultValue=DEFAULT_TITLE, optional=True))
        self.addParameter(QgsProcessingParameterString(self.ORGANISATION, self.tr("Organisation"), optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.METRIC, self.tr("Metric"), options=list(METRIC_KEYS), defaultValue=0))
        self.addParameter(QgsProcessingParameterVectorLayer(self.WARDS, self.tr("Wards (optional: boundaries and ward charts)"),
                                                            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(self.WARD_NAME_FIELD, self.tr("Ward name field"), defaultValue="name",
                                                      parentLayerParameterName=self.WARDS, optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.LAYOUT, self.tr("Paper"), options=[f"{paper} {orientation}" for paper, orientation in LAYOUTS],
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(self.PNG_FOLDER, self.tr("PNG folder (optional: each page as a PNG)"), optional=True,
                                                                  createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("PAGES", self.tr("Pages")))
        self.addOutput(QgsProcessingOutputString("LAYOUT_NAME", self.tr("Print layout")))
        self.addOutput(QgsProcessingOutputString("PERIOD", self.tr("Period")))

    def processAlgorithm(self, parameters, context, feedback):
        from ..report.builder import CommitteeReport, ReportError
        from ..report.layout import ExportCancelled

        metric = self.parameterAsEnum(parameters, self.METRIC, context)
        paper, orientation = LAYOUTS[self.parameterAsEnum(parameters, self.LAYOUT, context)]
        start, end = self.chosen_period(parameters, context)
        report = CommitteeReport(
            chargepoints=self.parameterAsVectorLayer(parameters, self.CHARGEPOINTS, context),
            areas=self.parameterAsVectorLayer(parameters, self.AREAS, context),
            name_field=self.parameterAsString(parameters, self.AREA_NAME_FIELD, context) or "name",
            area=self.parameterAsString(parameters, self.AREA, context).strip() or None,
            archive=self.parameterAsFile(parameters, self.ARCHIVE, context),
            start=start, end=end,
            sites=self.parameterAsVectorLayer(parameters, self.SITES, context),
            title=self.parameterAsString(parameters, self.TITLE, context).strip() or DEFAULT_TITLE,
            organisation=self.parameterAsString(parameters, self.ORGANISATION, context).strip(),
            metric_index=metric,
            wards=self.parameterAsVectorLayer(parameters, self.WARDS, context),
            ward_name_field=self.parameterAsString(parameters, self.WARD_NAME_FIELD, context) or "name",
            paper=paper, orientation=orientation,
        )
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        png_folder = self.parameterAsString(parameters, self.PNG_FOLDER, context) if parameters.get(self.PNG_FOLDER) else ""
        try:
            built = report.build(context, feedback, output, png_folder)
        except ReportError as error:
            raise QgsProcessingException(str(error)) from None
        except OSError as error:  # a full disk, a folder that went: the run left nothing behind
            raise QgsProcessingException(self.tr("The report could not be written: {reason}").format(reason=error)) from None
        except ExportCancelled:
            feedback.reportError(self.tr("Cancelled: no PDF was written."))
            return {}
        feedback.pushInfo(self.tr("{pages} page(s) written to {path}; the layout '{name}' is in the project's layout manager.").format(
            pages=built.pages, path=output, name=built.layout_name))
        return {self.OUTPUT: output, "PAGES": built.pages, "LAYOUT_NAME": built.layout_name, "PERIOD": built.period,
                **({self.PNG_FOLDER: png_folder} if png_folder else {})}
