"""qgis_io.columns: a feature source read in bulk, checked against QGIS's own feature by feature reading."""
import math

import pandas as pd
import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingFeatureSource,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate, QDateTime

pytestmark = pytest.mark.qgis

BNG = "EPSG:27700"
ROWS = [("a", 1.5, QDateTime(2024, 7, 1, 0, 0, 0), "POINT(-0.1 51.5)"),
        (None, None, None, "POINT(-0.12 51.51)"),
        ("é", 2.0, QDateTime(2024, 10, 1, 12, 30, 0), None),  # no geometry: left out
        ("c", 3.0, QDateTime(2024, 10, 1, 0, 0, 0), "POINT(-0.2 51.45)")]


def _saved(layer, path, driver: str, layer_name: str = "") -> str:
    """``layer`` written by QGIS into a new file at ``path`` with the OGR ``driver``; the path."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = driver
    options.layerName = layer_name
    assert QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(path), QgsProject.instance().transformContext(), options)[0] == 0
    return str(path)


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
    from ev_charge_plugin.qgis_io.columns import read_columns

    frame = read_columns(source, ["name", "n", "t", "absent"], QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext(), with_ids=True)
    return frame.drop(columns="fid"), frame["fid"].to_numpy()


def _expected(layer, ids):
    transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(BNG), QgsProject.instance())
    rows = []
    for fid in ids:
        feature = layer.getFeature(int(fid))
        point = transform.transform(feature.geometry().vertexAt(0).x(), feature.geometry().vertexAt(0).y())
        rows.append((feature["name"], feature["n"], feature["t"], point.x(), point.y()))
    return rows


def _check(frame, ids, layer, rows=3):
    assert list(frame.columns) == ["name", "n", "t", "x", "y"]
    assert len(frame) == len(ids) == rows
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
    path = _saved(_layer(), tmp_path / "points.gpkg", "GPKG")
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
        # Selected features come in the order of QGIS's id set, not the layer's.
        assert sorted(zip(ids.tolist(), frame["name"], frame["n"].fillna(-1.0))) == [(2, None, -1.0), (4, "c", 3.0)]
        _check(frame, ids, layer, rows=2)
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


def _geopackage(tmp_path, crs):
    """A GeoPackage layer in ``crs`` with NULLs, text, numbers, dates and date-times, and a gap in its fids."""
    layer = QgsVectorLayer(f"Point?crs={crs}&field=name:string&field=n:double&field=count:integer&field=t:datetime&field=d:date",
                           "points", "memory")
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), layer.crs(), QgsProject.instance())
    features = []
    for index in range(40):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([None if index % 7 == 3 else f"cp-{index}-é", None if index % 5 == 1 else index * 1.25,
                               None if index % 6 == 2 else index, None if index % 4 == 0 else QDateTime(2024, 1 + index % 12, 1 + index % 28, index % 24, 30, 0),
                               None if index % 3 == 0 else QDate(2023, 1 + index % 12, 1)])
        if index % 9 != 5:  # some without geometry
            geometry = QgsGeometry.fromWkt(f"POINT({-0.3 + index * 0.01} {51.4 + index * 0.004})")
            geometry.transform(transform)
            feature.setGeometry(geometry)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    path = _saved(layer, tmp_path / f"points_{crs.replace(':', '_')}.gpkg", "GPKG", "charge_points")
    written = QgsVectorLayer(f"{path}|layername=charge_points", "points", "ogr")
    assert written.isValid()
    assert written.dataProvider().deleteFeatures([2, 3, 10])  # so that fids are not row numbers
    return written


@pytest.mark.parametrize("crs", ["EPSG:27700", "EPSG:4326"])
def test_file_layer_read_from_its_file_as_through_qgis(qgis_app, tmp_path, crs):
    from ev_charge_plugin.qgis_io.columns import read_columns

    layer = _geopackage(tmp_path, crs)
    names = ["name", "n", "count", "t", "d", "absent"]
    context = QgsProcessingContext()

    def read(source):
        return read_columns(source, names, QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext(), with_ids=True)

    direct = read(layer)  # a layer read whole: straight from the file
    through_qgis = read(QgsProcessingFeatureSource(layer, context))  # a Processing source: through QGIS's file writer
    assert len(direct) == 37 - 4  # 40 features, 3 deleted, 4 of the rest without geometry
    assert list(direct.columns) == ["fid", "name", "n", "count", "t", "d", "x", "y"]
    assert direct.drop(columns=["x", "y"]).equals(through_qgis.drop(columns=["x", "y"]))
    assert (direct["x"] - through_qgis["x"]).abs().max() < 1e-6 and (direct["y"] - through_qgis["y"]).abs().max() < 1e-6
    # fids 2, 3 (index 1, 2) are deleted and index 5 has no geometry.
    head = direct.head(3)
    assert head["fid"].tolist() == [1, 4, 5]
    assert head["name"].tolist() == ["cp-0-é", None, "cp-4-é"]
    assert head["n"].tolist() == [0.0, 3.75, 5.0] and head["count"].tolist() == [0.0, 3.0, 4.0]
    assert head["t"].isna().tolist() == [True, False, True] and head["t"].iloc[1] == pd.Timestamp(2024, 4, 4, 3, 30)
    assert head["d"].iloc[:2].isna().all() and head["d"].iloc[2] == pd.Timestamp(2023, 5, 1)
    to_bng = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), QgsCoordinateReferenceSystem(BNG), QgsProject.instance())
    first = to_bng.transform(-0.3, 51.4)  # index 0's point
    assert (direct["x"].iloc[0], direct["y"].iloc[0]) == (pytest.approx(first.x(), abs=1e-6), pytest.approx(first.y(), abs=1e-6))

    # The fids are QGIS's feature ids: selecting by them gives those features.
    layer.selectByIds(direct["fid"].tolist()[-5:])
    selected = sorted((feature.id(), feature["name"] if isinstance(feature["name"], str) else None) for feature in layer.selectedFeatures())
    assert selected == list(zip(direct["fid"].tolist()[-5:], direct["name"].tolist()[-5:]))


def test_shapefile_layer_read_from_its_file_as_through_qgis(qgis_app, tmp_path):
    from ev_charge_plugin.qgis_io.columns import read_columns

    path = _saved(_layer(), tmp_path / "points.shp", "ESRI Shapefile")
    layer = QgsVectorLayer(path, "points", "ogr")
    frames = [read_columns(source, ["name", "n"], QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext(), with_ids=True)
              for source in (layer, QgsProcessingFeatureSource(layer, QgsProcessingContext()))]
    assert frames[0]["fid"].tolist() == [0, 1, 3]  # a Shapefile counts from 0; the third feature has no geometry
    assert frames[0].drop(columns=["x", "y"]).equals(frames[1].drop(columns=["x", "y"]))
    assert (frames[0][["x", "y"]] - frames[1][["x", "y"]]).abs().to_numpy().max() < 1e-6
    assert frames[0]["name"].tolist() == ["a", None, "c"] and frames[0]["n"].fillna(-1.0).tolist() == [1.5, -1.0, 3.0]


def test_readable_source_is_the_whole_layer_only_when_all_of_it_is_asked_for(qgis_app, tmp_path):
    from qgis.core import QgsApplication

    from ev_charge_plugin.qgis_io.columns import read_columns, readable_source

    layer = _geopackage(tmp_path, BNG)
    QgsProject.instance().addMapLayer(layer)
    try:
        layer.selectByIds([1, 5])
        algorithm = QgsApplication.processingRegistry().algorithmById("evcharge:areasummary")
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())

        def source(value):
            return readable_source(algorithm, {"POINTS": value}, "POINTS", context)

        assert source(layer) is layer
        assert source(layer.id()) is layer
        assert source(QgsProcessingFeatureSourceDefinition(layer.id(), False)) is layer
        selected = source(QgsProcessingFeatureSourceDefinition(layer.id(), True))
        assert not isinstance(selected, QgsVectorLayer) and selected.featureCount() == 2
        limited = source(QgsProcessingFeatureSourceDefinition(layer.id(), False, 3))
        assert not isinstance(limited, QgsVectorLayer)
        frame = read_columns(limited, ["name"], QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext(), with_ids=True)
        assert frame["fid"].tolist() == [1, 4, 5]  # the first three: 2 and 3 are deleted
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


def test_a_subset_or_an_edited_layer_is_read_as_qgis_shows_it(qgis_app, tmp_path):
    from ev_charge_plugin.qgis_io.columns import read_columns

    layer = _geopackage(tmp_path, BNG)
    layer.setSubsetString("n > 40")
    frame = read_columns(layer, ["n"], QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext())
    assert frame["n"].tolist() == [41.25, 42.5, 43.75, 46.25, 47.5, 48.75]
    layer.setSubsetString("")
    layer.startEditing()
    layer.changeAttributeValue(1, layer.fields().lookupField("n"), 99.0)
    frame = read_columns(layer, ["n"], QgsCoordinateReferenceSystem(BNG), QgsProject.instance().transformContext())
    assert frame["n"].iloc[0] == 99.0
    layer.rollBack()
