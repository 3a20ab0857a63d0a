"""Area summaries: counts, sums and metrics per area, checked against hand counts and the real registry."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from ev_charge_plugin.core import area_summary
from ev_charge_plugin.core.areas import locate_points
from ev_charge_plugin.core.readers import read_chargepoints

# Two 1 km squares side by side, and one far away that nobody charges in.
SQUARES = [box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(0, 5000, 100, 5100)]


@pytest.fixture
def points():
    return pd.DataFrame({
        "x": [100, 200, 999, 1500, 1000, 3000],  # 1000 is on the shared edge: in neither square
        "y": [100, 900, 500, 500, 500, 3000],
        "speed_band": ["slow", "slow", "rapid", "ultra-rapid", "fast", "fast"],
        "operator": ["A", "B", "A", "A", "B", "B"],
        "sessions": [10, 30, np.nan, 60, 5, 7],
        "occupied_hours": [100.0, 300.0, np.nan, 200.0, 1.0, 1.0],
        "available_hours": [1000.0, 1000.0, np.nan, 400.0, 10.0, 10.0],
        "charging_hours": [50.0, np.nan, np.nan, np.nan, 1.0, 1.0],
        "charging_available_hours": [1000.0, 0.0, np.nan, 0.0, 10.0, 10.0],
        "energy_kwh": [700.0, 900.0, np.nan, 8000.0, 1.0, 1.0],
        "capacity_kwh": [7000.0, 7000.0, np.nan, 60000.0, 1.0, 1.0],
        "days": [91.0, 91.0, np.nan, 91.0, 1.0, 1.0],
    })


def test_points_on_an_edge_or_outside_belong_to_no_area(points):
    assert list(locate_points(points.x, points.y, SQUARES)) == [0, 0, 0, 1, -1, -1]


def test_overlapping_areas_give_a_point_to_the_first():
    assert list(locate_points([500], [500], [box(0, 0, 1000, 1000), box(0, 0, 2000, 2000)])) == [0]
    assert list(locate_points([], [], SQUARES)) == []


def test_counts_sums_and_metrics_match_hand_counts(points):
    located = locate_points(points.x, points.y, SQUARES)
    summary = area_summary.summarise_areas(points, located, 3, population=[2000, 0, None], households=[400, 100, 50])
    west, east, empty = (summary.areas.iloc[i] for i in range(3))
    assert (west.chargepoints, west.slow_count, west.fast_count, west.rapid_count, west.ultra_rapid_count) == (3, 2, 0, 1, 0)
    assert (west.with_usage, west.sessions, west.occupied_hours, west.available_hours) == (2, 40, 400, 2000)
    # From the sums: (100 + 300) / (1000 + 1000), not the mean of 10 % and 30 %... which is also 20 %; capacity shows the difference.
    assert west.occupancy_pct == pytest.approx(20.0)
    assert west.capacity_factor_pct == pytest.approx(1600 / 14000 * 100)
    assert west.charging_pct == pytest.approx(5.0)  # only the charge point that reports charging hours counts
    assert west.sessions_per_day == pytest.approx(40 / 182)
    assert west.chargepoints_per_10k_residents == pytest.approx(15.0)
    assert west.chargepoints_per_1k_households_no_offstreet == pytest.approx(7.5)
    assert (east.chargepoints, east.ultra_rapid_count, east.occupancy_pct) == (1, 1, pytest.approx(50.0))
    assert np.isnan(east.charging_pct) and np.isnan(east.chargepoints_per_10k_residents)  # no charging hours; no residents
    # An area with no charge points: zeros for counts and sums, empty metrics.
    assert (empty.chargepoints, empty.sessions, empty.energy_kwh, empty.chargepoints_per_1k_households_no_offstreet) == (0, 0, 0, 0)
    assert np.isnan(empty.occupancy_pct)
    assert summary.outside == 2 and summary.share_outside() == pytest.approx(1 / 3)
    assert (summary.total.chargepoints, summary.total.sessions) == (4, 100)
    assert summary.total.occupancy_pct == pytest.approx(600 / 2400 * 100)
    assert summary.total.chargepoints_per_1k_households_no_offstreet == pytest.approx(4 / 550 * 1000)


def test_counts_alone_without_usage(points):
    located = locate_points(points.x, points.y, SQUARES)
    summary = area_summary.summarise_areas(points[["speed_band"]], located, 3)
    assert list(summary.areas["chargepoints"]) == [3, 1, 0]
    assert list(summary.areas["sessions"]) == [0, 0, 0] and summary.areas["occupancy_pct"].isna().all()
    assert area_summary.PER_RESIDENTS not in summary.areas


def test_operators_share_of_charge_points_and_sessions(points):
    located = locate_points(points.x, points.y, SQUARES)
    table = area_summary.operators(points, located, ["West", "East", "Empty"])
    rows = {(row.area_name, row.operator): row for row in table.itertuples()}
    assert list(table["scope"]) == ["area", "area", "area", "total", "total"]
    assert rows["West", "A"].chargepoints == 2 and rows["West", "A"].share_of_chargepoints_pct == pytest.approx(200 / 3)
    assert rows["West", "A"].share_of_sessions_pct == pytest.approx(25.0)
    assert rows["West", "B"].share_of_sessions_pct == pytest.approx(75.0)
    assert rows["All areas", "A"].sessions == 70 and rows["All areas", "A"].share_of_sessions_pct == pytest.approx(70.0)
    assert ("Empty", "A") not in rows


def test_trends_sum_each_period_by_area_and_in_total():
    periods = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"])
    rows = pd.DataFrame({
        "point": [0, 0, 1, 1, 2],
        "period_start": [periods[0], periods[1], periods[0], periods[1], periods[0]],
        "period_end": [periods[1], periods[2], periods[1], periods[2], periods[1]],
        "occupied_hours": [10.0, 20.0, 30.0, 40.0, 1000.0],
        "available_hours": [100.0, 100.0, 100.0, 100.0, 1000.0],
    })
    rows = rows.reindex(columns=["point", "period_start", "period_end", *area_summary.SUM_COLUMNS])
    table = area_summary.trends(rows, np.array([0, 1, -1]), ["West", "East"])
    west = table[table.area_name == "West"]
    assert list(west["occupancy_pct"]) == pytest.approx([10.0, 20.0])
    total = table[table.scope == "total"]
    assert list(total["occupancy_pct"]) == pytest.approx([20.0, 30.0])  # the point outside every area is left out
    assert list(total["period_start"]) == list(periods[:2])


def test_guess_field_prefers_the_listed_order():
    assert area_summary.guess_field(["NAME", "Population", "households_no_offstreet"], area_summary.POPULATION_NAMES) == "Population"
    assert area_summary.guess_field(["name"], area_summary.HOUSEHOLD_NAMES) is None


@pytest.mark.parametrize("file_name, name_field", [("london_boroughs_2019_bng.gpkg", "name"), ("london_boroughs_wgs84.geojson", "NAME")])
def test_real_registry_against_real_boroughs(real_data, file_name, name_field):
    """The counts the shared data's README gives, computed there with a plain point-in-polygon test."""
    points = read_chargepoints(real_data / "ncr_snapshot_2017.csv").chargepoints
    boroughs = gpd.read_file(real_data / file_name).to_crs(27700)
    located = locate_points(points.geometry.x, points.geometry.y, boroughs.geometry)
    summary = area_summary.summarise_areas(points, located, len(boroughs))
    counts = dict(zip(boroughs[name_field], summary.areas["chargepoints"]))
    assert summary.total.chargepoints == 677 and summary.outside == len(points) - 677
    assert {name: counts[name] for name in ("Westminster", "Newham", "Camden", "Croydon", "Greenwich", "Redbridge",
                                            "Hackney", "Haringey", "City of London", "Enfield", "Merton")} == {
        "Westminster": 107, "Newham": 63, "Camden": 37, "Croydon": 33, "Greenwich": 30, "Redbridge": 29,
        "Hackney": 28, "Haringey": 27, "City of London": 26, "Enfield": 26, "Merton": 2}
    bands = summary.areas[list(area_summary.BAND_FIELDS.values())].sum(axis=1)
    assert (bands <= summary.areas["chargepoints"]).all() and bands.sum() > 600  # unknown power is in no band
