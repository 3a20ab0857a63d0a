"""QGIS opens the history archive's tables as layers: the GeoPackage written through sqlite3 is a real one."""
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from ev_charge_plugin.core import schema
from ev_charge_plugin.core.archive import CHARGEPOINTS_TABLE, USAGE_TABLE, Archive

pytestmark = pytest.mark.qgis


def test_qgis_opens_the_archive_layers(qgis_app, tmp_path):
    from qgis.core import NULL, QgsVectorLayer, QgsWkbTypes

    path = tmp_path / "archive.gpkg"
    points = pd.DataFrame({"chargepoint_id": ["A", "B"], "operator": ["Op", "Other"], "easting": [530000.5, 531000.0],
                           "northing": [180000.25, 181000.0], "power_kw": [7.0, 50.0], "on_street": [True, False]})
    points = points.reindex(columns=list(schema.CHARGEPOINT_COLUMNS)).astype(schema.CHARGEPOINT_COLUMNS)
    points = gpd.GeoDataFrame(points, geometry=[Point(530000.5, 180000.25), Point(531000.0, 181000.0)], crs=schema.BNG_EPSG)
    usage = pd.DataFrame({"chargepoint_id": ["A", "B"], "period_start": "2024-01-01", "period_end": "2024-04-01", "sessions": [10, 4],
                          "energy_kwh": [100.0, 30.0], "occupied_hours": [25.0, 10.0], "charging_hours": [20.0, None], "available_hours": 4368.0})
    with Archive(path) as archive:
        archive.import_batch(usage=usage, chargepoints=points, source="q1.csv", source_sha256="sha")

    layer = QgsVectorLayer(f"{path}|layername={CHARGEPOINTS_TABLE}", "x", "ogr")
    table = QgsVectorLayer(f"{path}|layername={USAGE_TABLE}", "usage", "ogr")
    features = rows = None
    try:
        assert layer.isValid() and layer.featureCount() == 2
        assert layer.crs().authid() == "EPSG:27700"
        assert layer.wkbType() == QgsWkbTypes.Point
        features = {feature["chargepoint_id"]: feature for feature in layer.getFeatures()}
        assert features["B"]["operator"] == "Other" and features["B"]["power_kw"] == 50.0
        assert features["B"]["on_street"] is False and features["A"]["on_street"] is True  # BOOLEAN reads as a boolean field
        assert features["A"]["first_period"].toString("yyyy-MM-dd") == "2024-01-01"
        point = features["A"].geometry().asPoint()
        assert (point.x(), point.y()) == (530000.5, 180000.25)
        extent = layer.extent()
        assert (extent.xMinimum(), extent.yMaximum()) == (530000.5, 181000.0)

        assert table.isValid() and not table.isSpatial() and table.featureCount() == 2
        rows = {feature["chargepoint_id"]: feature for feature in table.getFeatures()}
        assert rows["A"]["sessions"] == 10 and rows["A"]["charging_hours"] == 20.0
        assert rows["B"]["charging_hours"] == NULL
    finally:
        # Let go of the file (OGR keeps GeoPackages open while a layer lives).
        features = rows = layer = table = None
