"""evcharge:reliabilitysummary - charge point reliability by area (borough) and by operator."""
from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from .base import LiveStatusAlgorithm

NEEDED = ("snapshots", "working", "status", "operator")


class ReliabilitySummaryAlgorithm(LiveStatusAlgorithm):
    INPUT = "INPUT"
    AREAS = "AREAS"
    AREA_NAME_FIELD = "AREA_NAME_FIELD"
    OUTPUT = "OUTPUT"

    def name(self):
        return "reliabilitysummary"

    def displayName(self):
        return self.tr("Reliability by area and operator")


    def shortHelpString(self):
        return self.tr(
            "Sums the live-status history of charge points by operator and, given areas (the boroughs, "
            "say), by area: one row per group with its charge points, status snapshots, snapshots in a "
            "working state (available, charging or reserved) and <i>reliability_pct</i> = working "
            "snapshots / all snapshots x 100, from the sums, so no group's figure is an average of "
            "percentages. <i>out_of_order_now</i> counts those whose latest status is out of order or "
            "inoperative. Least reliable first.\n\n"
            "<b>Live status</b>: the layer <i>Refresh live status</i> makes with a history archive (it "
            "has the fields snapshots, working, status and operator)."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Live status"), [QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterFeatureSource(self.AREAS, self.tr("Areas (for example the boroughs)"),
                                                              [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(self.AREA_NAME_FIELD, self.tr("Area name field"), defaultValue="name",
                                                      parentLayerParameterName=self.AREAS, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Reliability"), QgsProcessing.TypeVector))

    def processAlgorithm(self, parameters, context, feedback):
        import geopandas as gpd
        import pandas as pd
        from shapely import wkb

        from ..core import schema
        from ..core.areas import area_of_points
        from ..core.errors import EvChargeError
        from ..core.live_status import reliability_summary
        from ..qgis_io.layers import crs
        from ..qgis_io.sources import areas_from_source

        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.tr("Choose the live-status layer."))
        missing = [name for name in NEEDED if name not in source.fields().names()]
        if missing:
            raise QgsProcessingException(self.tr("The layer has no {fields} field: refresh the live status with a history archive first.").format(
                fields=", ".join(missing)))
        rows, shapes = [], []
        for feature in source.getFeatures():
            values = [feature[name] for name in NEEDED]
            rows.append([None if isinstance(value, QVariant) else value for value in values])
            geometry = feature.geometry()
            shapes.append(None if geometry.isNull() else wkb.loads(bytes(geometry.asWkb())))
        points = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(NEEDED)), geometry=shapes, crs=source.sourceCrs().authid() or None)
        for column in ("snapshots", "working"):
            points[column] = pd.to_numeric(points[column], errors="coerce")
        feedback.setProgress(40)

        frames = [reliability_summary(points, "operator", self.tr("operator"))]
        areas_source = self.parameterAsSource(parameters, self.AREAS, context)
        if areas_source is not None:
            field = self.parameterAsString(parameters, self.AREA_NAME_FIELD, context) or "name"
            try:
                areas = areas_from_source(areas_source, context, [field])
                points["area"] = area_of_points(points.to_crs(schema.BNG_EPSG), areas, field).to_numpy()
            except EvChargeError as error:
                raise QgsProcessingException(str(error)) from error
            points["area"] = points["area"].astype("string").fillna(self.tr("(outside every area)"))
            frames.insert(0, reliability_summary(points, "area", self.tr("area")))
        summary = pd.concat(frames, ignore_index=True)
        feedback.setProgress(80)
        output = self.write_frame_to_sink(summary, parameters, self.OUTPUT, context, feedback, QgsWkbTypes.NoGeometry, crs(schema.BNG_EPSG), (80, 100))
        return {self.OUTPUT: output}
