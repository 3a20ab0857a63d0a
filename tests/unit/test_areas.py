"""Counting charge points per area, and the London boundary for the readers."""
import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from ev_charge_plugin.core.areas import count_points_in_areas, london_boundary_from
from ev_charge_plugin.core.errors import SourceError


@pytest.fixture
def areas_wgs84():
    squares = gpd.GeoDataFrame({"NAME": ["West", "East", "Empty"]}, geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(0, 5000, 100, 5100)], crs=27700)
    squares["geometry"] = squares.geometry.translate(530000, 180000)
    return squares.to_crs(4326)


@pytest.fixture
def points():
    xy = [(100, 100), (200, 900), (1500, 500), (3000, 3000)]
    return gpd.GeoDataFrame({"chargepoint_id": list("abcd")}, geometry=[Point(530000 + x, 180000 + y) for x, y in xy], crs=27700)


def test_counts_reproject_areas_and_include_empty_ones(points, areas_wgs84):
    counts = count_points_in_areas(points, areas_wgs84, "name")
    assert counts.to_dict() == {"West": 2, "East": 1, "Empty": 0}
    assert list(counts.index) == ["West", "East", "Empty"] and counts.index.name == "NAME"


def test_missing_field_or_crs_is_a_source_error(points, areas_wgs84):
    with pytest.raises(SourceError, match="borough"):
        count_points_in_areas(points, areas_wgs84, "borough")
    with pytest.raises(SourceError, match="coordinate reference system"):
        count_points_in_areas(points, gpd.GeoDataFrame(areas_wgs84[["NAME"]], geometry=list(areas_wgs84.geometry)), "NAME")


def test_london_boundary_is_the_union_in_bng(points, areas_wgs84):
    boundary = london_boundary_from(areas_wgs84)
    assert boundary.bounds == pytest.approx((530000, 180000, 532000, 185100), abs=0.01)
    assert [boundary.contains(point) for point in points.geometry] == [True, True, True, False]
