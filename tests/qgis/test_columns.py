"""qgis_io.columns: a feature source read in bulk, checked against QGIS's own feature by feature reading."""
import math

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDateTime

pytestmark = pytest.mark.qgis

BNG = "EPSG:27700"
ROWS = [("a", 1.5, QDateTime(2024, 7, 1, 0, 0, 0), "POINT(-0.1 51.5)"),
        (None, None, None, "POINT(-0.12 51.51)"),
        ("é", 2.0, QDateTime(2024, 10, 1, 12, 30, 0), None),  # no geometry: left out
        ("c", 3.0, QDateTime(2024, 10, 1, 0, 0, 0), "POINT(-0.2 51.45)")]


def _layer(kind="Point"):
    layer = QgsVectorLayer(f"{kind}?crs=EPSG:4326&field=name:string&field=n:double&field=t:datetime", "points", "memory")
    features = []
    for name, number, when, wkt in ROWS:
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name, number, when])
        if wkt:
            geometry = QgsGeometry.fromWkt(wkt)
            if kind == "MultiPoint":
                geometry.convertToMultiType()
            feature.setGeometry(geometry)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def _read(source):
    from ev_charge_plugin.qgis_io.columns import feature_ids, read_columns

    frame = read_columns(source, ["name", "n", "t", "absent"], QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext())
    return frame, feature_ids(source)


def _expected(layer, ids):
    transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(BNG), QgsProject.instance())
    rows = []
    for fid in ids:
        feature = layer.getFeature(int(fid))
        point = transform.transform(feature.geometry().vertexAt(0).x(), feature.geometry().vertexAt(0).y())
        rows.append((feature["name"], feature["n"], feature["t"], point.x(), point.y()))
    return rows


def _check(frame, ids, layer):
    assert list(frame.columns) == ["name", "n", "t", "x", "y"]
    assert len(frame) == len(ids) == 3
    for row, (name, number, when, x, y) in zip(frame.itertuples(index=False), _expected(layer, ids)):
        assert row.name == (name if isinstance(name, str) else None)
        assert (math.isnan(row.n) and not isinstance(number, float)) or row.n == number
        if isinstance(when, QDateTime):
            assert row.t.to_pydatetime() == when.toPyDateTime()
        else:
            assert row.t != row.t  # NaT
        assert (row.x, row.y) == (pytest.approx(x, abs=1e-6), pytest.approx(y, abs=1e-6))
        assert 500_000 < row.x < 560_000 and 170_000 < row.y < 190_000  # London in EPSG:27700


@pytest.mark.parametrize("kind", ["Point", "MultiPoint"])
def test_memory_layer_in_wgs84_with_nulls_strings_and_date_times(qgis_app, kind):
    layer = _layer(kind)
    frame, ids = _read(layer)
    assert ids.tolist() == [1, 2, 4]
    _check(frame, ids, layer)


def test_geopackage_layer(qgis_app, tmp_path):
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    path = str(tmp_path / "points.gpkg")
    assert QgsVectorFileWriter.writeAsVectorFormatV3(_layer(), path, QgsProject.instance().transformContext(), options)[0] == 0
    layer = QgsVectorLayer(path, "points", "ogr")
    assert layer.isValid()
    frame, ids = _read(layer)
    _check(frame, ids, layer)


def test_selected_features_only(qgis_app):
    layer = _layer()
    QgsProject.instance().addMapLayer(layer)
    try:
        layer.selectByIds([2, 4])
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        import processing  # noqa: F401  (Processing's Python side, for parameter evaluation)
        from qgis.core import QgsProcessingParameterFeatureSource, QgsProcessingParameters

        definition = QgsProcessingParameterFeatureSource("INPUT")
        source = QgsProcessingParameters.parameterAsSource(definition, {"INPUT": QgsProcessingFeatureSourceDefinition(layer.id(), True)}, context)
        frame, ids = _read(source)
        assert ids.tolist() == [2, 4]
        assert frame["name"].tolist() == [None, "c"]
        assert frame["n"].iloc[1] == 3.0
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
