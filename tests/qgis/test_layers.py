"""The frame-to-layer bridge: points from x/y, 64-bit integers, and the load's paused collector."""
import gc

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

pytestmark = pytest.mark.qgis


def test_point_geometries_keep_every_coordinate_exactly(qgis_app):
    from qgis.core import QgsWkbTypes

    from ev_charge_plugin.qgis_io.layers import point_geometries

    x, y = [530028.7, 0.1 + 0.2, -1e-300], [180380.1, 1300000.0, 5e-324]
    geometries = point_geometries(x, y)
    assert [geometry.wkbType() for geometry in geometries] == [QgsWkbTypes.Point] * 3
    assert [(geometry.constGet().x(), geometry.constGet().y()) for geometry in geometries] == list(zip(x, y))
    assert point_geometries([], []) == []


def test_features_from_given_xy_match_features_from_the_shapes(qgis_app):
    from ev_charge_plugin.qgis_io.layers import features_from_frame, fields_for

    frame = gpd.GeoDataFrame({"name": ["a", None], "count": pd.array([3, None], dtype="Int64")},
                             geometry=[Point(530000.5, 180000.25), Point(531000, 181000)], crs=27700)
    fields = fields_for(frame)
    from_shapes = list(features_from_frame(frame, fields))
    from_xy = list(features_from_frame(frame, fields, xy=(frame.geometry.x, frame.geometry.y)))
    assert [f.geometry().asWkt() for f in from_xy] == [f.geometry().asWkt() for f in from_shapes]
    assert [f.attributes() for f in from_xy] == [f.attributes() for f in from_shapes] == [["a", 3], [None, None]]
    assert all(f.fields() == fields for f in from_xy)


def test_a_reused_feature_fills_a_sink_like_fresh_features(qgis_app):
    from qgis.core import QgsFeatureSink, QgsVectorLayer

    from ev_charge_plugin.qgis_io.layers import features_from_frame, fields_for

    frame = gpd.GeoDataFrame({"name": ["a", None, "c"], "count": pd.array([3, None, 5], dtype="Int64")},
                             geometry=[Point(530000.5, 180000.25), Point(531000, 181000), Point(532000, 182000)], crs=27700)
    fields = fields_for(frame)
    reused = list(features_from_frame(frame, fields, reuse=True))
    assert all(feature is reused[0] for feature in reused)
    layer = QgsVectorLayer("Point?crs=EPSG:27700", "reused", "memory")
    layer.dataProvider().addAttributes(fields.toList())
    layer.updateFields()
    for feature in features_from_frame(frame, fields, reuse=True):
        assert layer.dataProvider().addFeature(feature, QgsFeatureSink.FastInsert)
    fresh = list(features_from_frame(frame, fields))
    assert [f.attributes() for f in layer.getFeatures()] == [f.attributes() for f in fresh] == [["a", 3], [None, None], ["c", 5]]
    assert [f.geometry().asWkt() for f in layer.getFeatures()] == [f.geometry().asWkt() for f in fresh]


def test_repeated_values_are_shared_and_keep_their_types_and_nulls(qgis_app):
    from qgis.PyQt.QtCore import QVariant

    from ev_charge_plugin.qgis_io.layers import memory_layer

    rows = 40  # enough repeats for the columns' values to be shared between features
    frame = gpd.GeoDataFrame({
        "band": pd.array(["slow", "fast", None, "slow"] * (rows // 4), dtype="string"),
        "flag": pd.array([True, None, False, True] * (rows // 4), dtype="boolean"),
        "unique": pd.array([f"id-{i}" for i in range(rows)], dtype="string"),
        "count": pd.array([2, None, 2**40, 2] * (rows // 4), dtype="Int64"),
    }, geometry=[Point(530000 + i, 180000) for i in range(rows)], crs=27700)
    layer = memory_layer(frame, "shared")
    assert [field.type() for field in layer.fields()] == [QVariant.String, QVariant.Bool, QVariant.String, QVariant.LongLong]
    assert [f.attributes() for f in layer.getFeatures()] == [
        [band, flag, unique, count] for band, flag, unique, count in zip(
            ["slow", "fast", None, "slow"] * (rows // 4), [True, None, False, True] * (rows // 4),
            [f"id-{i}" for i in range(rows)], [2, None, 2**40, 2] * (rows // 4))]
    assert layer.dataProvider().lastError() == ""


def test_integers_keep_their_values_and_nulls_in_a_64_bit_field(qgis_app):
    from qgis.PyQt.QtCore import QVariant

    from ev_charge_plugin.qgis_io.layers import memory_layer

    frame = gpd.GeoDataFrame({"connectors": pd.array([2, None, 2**40], dtype="Int64")},
                             geometry=[Point(530000, 180000)] * 3, crs=27700)
    layer = memory_layer(frame, "integers")
    assert layer.fields().field("connectors").type() == QVariant.LongLong
    assert [f["connectors"] for f in layer.getFeatures()] == [2, None, 2**40]
    assert layer.dataProvider().lastError() == ""


def test_areas_are_still_built_from_their_shapes(qgis_app):
    from qgis.core import QgsWkbTypes

    from ev_charge_plugin.qgis_io.layers import memory_layer

    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    layer = memory_layer(gpd.GeoDataFrame({"name": ["square"]}, geometry=[square], crs=27700), "areas")
    [feature] = layer.getFeatures()
    assert feature.geometry().wkbType() == QgsWkbTypes.MultiPolygon and feature.geometry().area() == 1.0


def test_gc_paused_nests_and_restores_the_collector(qgis_app):
    from ev_charge_plugin.processing.base import gc_paused

    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled(), "a collector switched off before the load stays off"
    finally:
        gc.enable()
