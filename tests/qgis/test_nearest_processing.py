"""evcharge:nearest through processing.run: layers in different coordinate systems, filters, far places."""
import math

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer

pytestmark = pytest.mark.qgis

# (id, easting, northing, speed band, status)
CHARGEPOINTS = [
    ("A", 530000, 180000, "slow", "AVAILABLE"),
    ("B", 530300, 180400, "rapid", "CHARGING"),    # 500 m from A
    ("C", 531000, 180000, "rapid", "AVAILABLE"),   # 1 km from A
    ("D", 533000, 184000, "slow", None),           # 5 km from A
]


def points_layer():
    layer = QgsVectorLayer("Point?crs=EPSG:27700&field=chargepoint_id:string&field=name:string&field=speed_band:string&field=status:string&field=power_kw:double",
                           "charge points", "memory")
    features = []
    for cp_id, east, north, band, status in CHARGEPOINTS:
        feature = QgsFeature(layer.fields())
        feature.setAttributes([cp_id, f"Site {cp_id}", band, status, 50.0 if band == "rapid" else 7.0])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(east, north)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def places_layer(bng_points):
    """Places given in BNG, stored in WGS84 as a user's GPS points would be."""
    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=place:string", "places", "memory")
    to_wgs84 = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:27700"), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance())
    features = []
    for name, (east, north) in bng_points.items():
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name])
        feature.setGeometry(QgsGeometry.fromPointXY(to_wgs84.transform(QgsPointXY(east, north))))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def run(places, **options):
    import processing

    parameters = {"ORIGINS": places, "ORIGIN_ID_FIELD": "place", "CHARGEPOINTS": points_layer(), "COUNT": 3, "OUTPUT": "TEMPORARY_OUTPUT"}
    parameters.update(options)
    output = processing.run("evcharge:nearest", parameters)["OUTPUT"]
    return [(f["origin_id"], f["rank"], f["chargepoint_id"], f["distance_m"], f["status"]) for f in output.getFeatures()]


def test_nearest_three_with_ranks_and_distances_across_coordinate_systems(qgis_app):
    rows = run(places_layer({"at A": (530000, 180000)}))
    assert [(rank, cp) for _, rank, cp, _, _ in rows] == [(1, "A"), (2, "B"), (3, "C")]
    distances = [distance for _, _, _, distance, _ in rows]
    # Through WGS84 and back: within a few centimetres of the true distances.
    assert distances == pytest.approx([0.0, 500.0, 1000.0], abs=0.05)
    assert rows[0][0] == "at A" and rows[0][4] == "AVAILABLE"


def test_filters(qgis_app):
    places = places_layer({"at A": (530000, 180000)})
    assert [cp for _, _, cp, _, _ in run(places, RAPID_ONLY=True)] == ["B", "C"]
    assert [cp for _, _, cp, _, _ in run(places, AVAILABLE_ONLY=True)] == ["A", "C"]
    assert [cp for _, _, cp, _, _ in run(places, RAPID_ONLY=True, AVAILABLE_ONLY=True)] == ["C"]


def test_a_place_far_outside_london_gets_its_nearest_with_the_distance(qgis_app):
    rows = run(places_layer({"Manchester": (383000, 398000)}), COUNT=1)
    [(place, rank, cp, distance, _)] = rows
    assert (place, rank, cp) == ("Manchester", 1, "D")
    assert distance == pytest.approx(math.hypot(533000 - 383000, 184000 - 398000), abs=0.5)
