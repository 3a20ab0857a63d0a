"""evcharge:nearest - the nearest charge points to each point of a layer."""
from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from .base import EvChargeAlgorithm

# Charge point attributes carried onto each result, when the charge point layer has them.
DETAILS = {"name": QVariant.String, "operator": QVariant.String, "power_kw": QVariant.Double, "speed_band": QVariant.String,
           "connector_types": QVariant.String, "status": QVariant.String}


class NearestAlgorithm(EvChargeAlgorithm):
    ORIGINS = "ORIGINS"
    ORIGIN_ID_FIELD = "ORIGIN_ID_FIELD"
    CHARGEPOINTS = "CHARGEPOINTS"
    COUNT = "COUNT"
    RAPID_ONLY = "RAPID_ONLY"
    AVAILABLE_ONLY = "AVAILABLE_ONLY"
    OUTPUT = "OUTPUT"

    def name(self):
        return "nearest"

    def displayName(self):
        return self.tr("Nearest charge points")

    def shortHelpString(self):
        return self.tr(
            "For each feature of <b>Places</b>, finds the nearest charge points and writes one line per "
            "place and charge point, from the place to the charge point, with the place's id, the charge "
            "point's id, <i>rank</i> (1 is the nearest) and <i>distance_m</i>: the straight-line distance in "
            "metres, worked out in British National Grid (EPSG:27700) whatever the layers' coordinate "
            "systems. A place that is not a point is measured from a point on its surface. The charge "
            "point's name, operator, power, speed band, connector types and status are copied across "
            "when the charge point layer has them.\n\n"
            "<b>Rapid only</b>: 50 kW and over. <b>Available only</b>: status AVAILABLE (as OCPI reports it) "
            "at the time the charge point layer was made.\n\n"
            "A place far from every charge point still gets its nearest, with the distance."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(self.ORIGINS, self.tr("Places"), [QgsProcessing.TypeVector]))
        self.addParameter(QgsProcessingParameterField(self.ORIGIN_ID_FIELD, self.tr("Place id field (empty: the feature id)"),
                                                      parentLayerParameterName=self.ORIGINS, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(self.CHARGEPOINTS, self.tr("Charge points"), [QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterNumber(self.COUNT, self.tr("Charge points per place"), QgsProcessingParameterNumber.Integer,
                                                       defaultValue=5, minValue=1, maxValue=100))
        self.addParameter(QgsProcessingParameterBoolean(self.RAPID_ONLY, self.tr("Rapid only (50 kW and over)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(self.AVAILABLE_ONLY, self.tr("Available only"), defaultValue=False))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Nearest charge points"), QgsProcessing.TypeVectorLine))

    def processAlgorithm(self, parameters, context, feedback):
        import numpy as np
        import pandas as pd

        from ..core import schema
        from ..core.nearest import nearest
        from ..qgis_io.layers import crs

        origins = self.parameterAsSource(parameters, self.ORIGINS, context)
        points = self.parameterAsSource(parameters, self.CHARGEPOINTS, context)
        if origins is None or points is None:
            raise QgsProcessingException(self.tr("Choose the places and the charge points."))
        id_field = self.parameterAsString(parameters, self.ORIGIN_ID_FIELD, context)
        bng = crs(schema.BNG_EPSG)

        def xy_of(source, transform):
            for feature in source.getFeatures():
                geometry = feature.geometry()
                if geometry.isNull():
                    yield feature, None
                    continue
                geometry.transform(transform)
                point = geometry.asPoint() if geometry.type() == QgsWkbTypes.PointGeometry and not geometry.isMultipart() else geometry.pointOnSurface().asPoint()
                yield feature, (point.x(), point.y())

        feedback.setProgressText(self.tr("Reading the charge points"))
        to_bng = QgsCoordinateTransform(points.sourceCrs(), bng, context.transformContext())
        names = points.fields().names()
        rows = []
        for feature, xy in xy_of(points, to_bng):
            # A NULL attribute comes back as a QVariant, not None.
            row = {name: feature[name] if name in names and not isinstance(feature[name], QVariant) else None for name in ["chargepoint_id", *DETAILS]}
            row["chargepoint_id"] = row["chargepoint_id"] if row["chargepoint_id"] not in (None, "") else str(feature.id())
            row["easting"], row["northing"] = xy if xy else (np.nan, np.nan)
            rows.append(row)
        chargepoints = pd.DataFrame(rows, columns=["chargepoint_id", *DETAILS, "easting", "northing"])

        feedback.setProgressText(self.tr("Reading the places"))
        origin_ids, origin_xy = [], []
        for feature, xy in xy_of(origins, QgsCoordinateTransform(origins.sourceCrs(), bng, context.transformContext())):
            origin_ids.append(str(feature[id_field]) if id_field else str(feature.id()))
            origin_xy.append(xy if xy else (np.nan, np.nan))
        feedback.setProgress(40)

        found = nearest(np.array(origin_xy, dtype="float64").reshape(-1, 2), chargepoints, self.parameterAsInt(parameters, self.COUNT, context),
                        rapid_only=self.parameterAsBool(parameters, self.RAPID_ONLY, context),
                        available_only=self.parameterAsBool(parameters, self.AVAILABLE_ONLY, context))
        fields = QgsFields()
        for name, kind in [("origin_id", QVariant.String), ("chargepoint_id", QVariant.String), ("rank", QVariant.Int),
                           ("distance_m", QVariant.Double), *DETAILS.items()]:
            fields.append(QgsField(name, kind))
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, QgsWkbTypes.LineString, bng)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for done, row in enumerate(found.itertuples(index=False)):
            if feedback.isCanceled():
                break
            point = chargepoints.iloc[row.chargepoint]
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(*origin_xy[row.origin]), QgsPointXY(point["easting"], point["northing"])]))
            # numpy scalars reach QGIS as opaque Python objects: hand over plain Python values.
            details = [None if pd.isna(point[name]) else point[name].item() if isinstance(point[name], np.generic) else point[name] for name in DETAILS]
            feature.setAttributes([origin_ids[row.origin], str(point["chargepoint_id"]), int(row.rank), float(row.distance_m), *details])
            if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
                raise QgsProcessingException(self.tr("Could not write the results: {error}").format(error=sink.lastError()))
            feedback.setProgress(40 + 60 * (done + 1) / max(1, len(found)))
        unanswered = len(origin_ids) - found["origin"].nunique()
        if unanswered:
            feedback.pushWarning(self.tr("{count:,} places got no answer: no geometry, or no charge point passes the filters.").format(count=unanswered))
        return {self.OUTPUT: dest_id}
