"""The synthetic demo dataset: deterministic, London-shaped, and loadable by the real rules."""
import csv
from itertools import combinations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from shapely.ops import unary_union

from ev_charge_plugin.core import demo, schema
from ev_charge_plugin.core.report import REJECTED, REPAIRED, ValidationReport
from ev_charge_plugin.core.usage import USAGE_COLUMNS
from ev_charge_plugin.core.validation import finalise_chargepoints

# Written out independently of the module, from the ONS register of codes.
LONDON_BOROUGHS = [
    ("E09000001", "City of London"), ("E09000002", "Barking and Dagenham"), ("E09000003", "Barnet"),
    ("E09000004", "Bexley"), ("E09000005", "Brent"), ("E09000006", "Bromley"), ("E09000007", "Camden"),
    ("E09000008", "Croydon"), ("E09000009", "Ealing"), ("E09000010", "Enfield"), ("E09000011", "Greenwich"),
    ("E09000012", "Hackney"), ("E09000013", "Hammersmith and Fulham"), ("E09000014", "Haringey"),
    ("E09000015", "Harrow"), ("E09000016", "Havering"), ("E09000017", "Hillingdon"), ("E09000018", "Hounslow"),
    ("E09000019", "Islington"), ("E09000020", "Kensington and Chelsea"), ("E09000021", "Kingston upon Thames"),
    ("E09000022", "Lambeth"), ("E09000023", "Lewisham"), ("E09000024", "Merton"), ("E09000025", "Newham"),
    ("E09000026", "Redbridge"), ("E09000027", "Richmond upon Thames"), ("E09000028", "Southwark"),
    ("E09000029", "Sutton"), ("E09000030", "Tower Hamlets"), ("E09000031", "Waltham Forest"),
    ("E09000032", "Wandsworth"), ("E09000033", "Westminster"),
]
ONS_INNER_LONDON = {
    "City of London", "Camden", "Hackney", "Hammersmith and Fulham", "Haringey", "Islington",
    "Kensington and Chelsea", "Lambeth", "Lewisham", "Newham", "Southwark", "Tower Hamlets",
    "Wandsworth", "Westminster",
}
SLIVER_M2 = 1.0  # shared edges may overlap by floating-point noise, never by more


@pytest.fixture(scope="module")
def data():
    return demo.build_demo()


@pytest.fixture(scope="module")
def loaded(data):
    """The demo CSV's rows through the shared rules, as a reader would pass them (CSV line = row + 2)."""
    raw = data.chargepoints.copy()
    raw.insert(0, "record", np.arange(len(raw)) + 2)
    report = ValidationReport("demo")
    return finalise_chargepoints(raw, report, source="demo"), report


def _frames_equal(first, second):
    pd.testing.assert_frame_equal(first.chargepoints, second.chargepoints)
    pd.testing.assert_frame_equal(first.usage, second.usage)
    for name in ("boroughs", "wards"):
        left, right = getattr(first, name), getattr(second, name)
        pd.testing.assert_frame_equal(pd.DataFrame(left.drop(columns="geometry")), pd.DataFrame(right.drop(columns="geometry")))
        assert [geometry.wkb for geometry in left.geometry] == [geometry.wkb for geometry in right.geometry]


def _rejected_lines(report):
    return sorted(problem.record for problem in report.problems if problem.severity == REJECTED)


def _kwh_per_session(usage):
    return usage["energy_kwh"].sum() / usage["sessions"].sum()


# Determinism

def test_same_seed_gives_identical_data_and_bytes(data, tmp_path):
    again = demo.build_demo(2024)
    _frames_equal(data, again)
    first = demo.write_demo_csv(data, tmp_path / "a").read_bytes()
    assert demo.write_demo_csv(again, tmp_path / "b").read_bytes() == first


def test_another_seed_gives_other_data_with_the_same_shape(data):
    other = demo.build_demo(7)
    assert not other.chargepoints.equals(data.chargepoints)
    assert not other.usage.equals(data.usage)
    assert [g.wkb for g in other.wards.geometry] != [g.wkb for g in data.wards.geometry]
    # The borough map is London's, whatever the seed.
    assert [g.wkb for g in other.boroughs.geometry] == [g.wkb for g in data.boroughs.geometry]
    assert len(other.chargepoints) == demo.TOTAL_RECORDS


# Boroughs

def test_boroughs_are_the_33_with_their_real_codes_in_order(data):
    boroughs = data.boroughs
    assert list(zip(boroughs["gss_code"], boroughs["name"])) == LONDON_BOROUGHS
    assert set(boroughs.loc[boroughs["inner"], "name"]) == ONS_INNER_LONDON
    assert boroughs.crs.to_epsg() == schema.BNG_EPSG
    assert list(boroughs.columns) == ["gss_code", "name", "inner", "area_ha", "geometry"]
    assert (boroughs.geometry.geom_type == "Polygon").all()
    np.testing.assert_allclose(boroughs["area_ha"], boroughs.area / 10000.0, atol=0.05)


def test_boroughs_tile_the_outline(data):
    outline = demo.stylised_outline()
    geometries = list(data.boroughs.geometry)
    assert unary_union(geometries).area == pytest.approx(outline.area, rel=1e-3)
    assert sum(g.area for g in geometries) == pytest.approx(outline.area, rel=1e-3)
    overlaps = [a.intersection(b).area for a, b in combinations(geometries, 2)]
    assert max(overlaps) < SLIVER_M2


def test_outline_fits_london_bounding_box_and_size():
    from ev_charge_plugin.core.validation import LONDON_BBOX_BNG

    x0, y0, x1, y1 = demo.stylised_outline().bounds
    bx0, by0, bx1, by1 = LONDON_BBOX_BNG
    assert bx0 < x0 and by0 < y0 and x1 < bx1 and y1 < by1
    # Greater London is about 159,000 ha.
    assert 150000 < demo.stylised_outline().area / 10000.0 < 190000


def test_borough_seeds_lie_in_the_real_boroughs(real_data):
    real = gpd.read_file(real_data / "london_boroughs_2019_bng.gpkg").set_index("gss_code")
    for gss_code, name, inner, easting, northing, _households in demo.BOROUGHS:
        assert real.at[gss_code, "name"] == name
        assert (real.at[gss_code, "ons_inner"] == "T") == inner
        assert real.at[gss_code, "geometry"].contains(Point(easting, northing)), name


# Wards

def test_ward_counts_codes_and_fields(data):
    wards = data.wards
    assert 600 <= len(wards) <= 720
    per_borough = wards.groupby("borough_gss").size()
    assert len(per_borough) == 33 and per_borough.between(15, 25).all()
    assert wards["ward_code"].is_unique
    assert wards["ward_code"].str.fullmatch(r"DEMO-E090000\d\d-\d\d").all()
    assert (wards["ward_code"].str[5:14] == wards["borough_gss"]).all()
    assert (wards["name"] == wards["borough"] + " ward " + wards["ward_code"].str[-2:].astype(int).astype(str)).all()
    names = dict(LONDON_BOROUGHS)
    assert (wards["borough_gss"].map(names) == wards["borough"]).all()
    assert wards.crs.to_epsg() == schema.BNG_EPSG
    assert ((wards["households_no_offstreet"] >= 0) & (wards["households_no_offstreet"] <= wards["households"])).all()


def test_wards_tile_each_borough(data):
    for borough in data.boroughs.itertuples():
        cells = list(data.wards.loc[data.wards["borough_gss"] == borough.gss_code].geometry)
        assert unary_union(cells).area == pytest.approx(borough.geometry.area, rel=1e-3)
        assert sum(cell.area for cell in cells) == pytest.approx(borough.geometry.area, rel=1e-3)
        assert all(borough.geometry.buffer(1.0).contains(cell) for cell in cells)


def test_inner_london_has_fewer_off_street_spaces(data):
    wards = data.wards.merge(data.boroughs[["gss_code", "inner"]], left_on="borough_gss", right_on="gss_code")
    totals = wards.groupby("inner")[["households_no_offstreet", "households"]].sum()
    share = totals["households_no_offstreet"] / totals["households"]
    assert share[True] > 0.7 and share[False] < 0.55


# Charge points: the operators' CSV

def test_chargepoint_records_are_standard_text(data):
    records = data.chargepoints
    assert list(records.columns) == schema.STANDARD_CSV_COLUMNS
    assert len(records) == 3500 == demo.TOTAL_RECORDS
    assert all(isinstance(value, str) for value in records.to_numpy().ravel())
    assert records["chargepoint_id"].str.fullmatch(r"DEMO-\d{6}").all()
    assert records["chargepoint_id"].nunique() == 3500 - demo.DUPLICATE_RECORDS
    assert records["operator"].str.endswith("(demo)").all()
    assert records["operator"].nunique() == len(demo.SLOW_OPERATORS) + len(demo.RAPID_OPERATORS)
    assert set(records["status"]) == set(demo.STATUSES)
    assert set(records["on_street"]) == {"yes", "no"}
    # Both kinds of coordinates the standard allows are used, latitude/longitude with 6 decimals.
    latlon = records["latitude"].str.fullmatch(r"5\d\.\d{6}") & records["longitude"].str.fullmatch(r"-?0\.\d{6}")
    bng = records["easting"].str.fullmatch(r"5\d{5}") & records["northing"].str.fullmatch(r"1\d{5}")
    assert latlon.sum() > 2000 and bng.sum() > 500


def test_real_rules_load_3468_and_reject_32(loaded):
    chargepoints, report = loaded
    assert len(chargepoints) == 3468
    assert report.rejected == 32
    problems = report.to_frame()
    rejected = problems.loc[problems["severity"] == REJECTED, "reason"]
    assert rejected.str.startswith("Coordinates are missing").sum() == 10
    assert rejected.str.contains("outside the United Kingdom|outside the British National Grid").sum() == 8
    assert rejected.str.startswith("Duplicate id").sum() == 8
    assert rejected.str.startswith("Coordinates cannot be read").sum() == 6
    # Swapped and misplaced coordinates are repaired and loaded.
    assert (problems["severity"] == REPAIRED).sum() == demo.SWAPPED_RECORDS + demo.BNG_IN_LATLON_RECORDS
    assert chargepoints["in_london"].all()


def test_speed_bands_are_161_rapid_and_the_rest_slow(data, loaded):
    chargepoints, _report = loaded
    assert chargepoints["speed_band"].value_counts().to_dict() == {schema.SLOW: 3307, schema.RAPID: 161}
    # The same counted straight from the text, with the schema's own banding.
    good_ids = set(chargepoints["chargepoint_id"])
    text = data.chargepoints.drop_duplicates("chargepoint_id")
    bands = text.loc[text["chargepoint_id"].isin(good_ids), "power_kw"].astype(float).map(schema.speed_band)
    assert (bands == schema.RAPID).sum() == 161
    slow = chargepoints[chargepoints["speed_band"] == schema.SLOW]
    assert set(slow["power_kw"]) == {3.6, 5.5, 7.0}
    assert slow["on_street"].all() and (slow["scheme"] == "GULCS").all()
    rapid = chargepoints[chargepoints["speed_band"] == schema.RAPID]
    assert (rapid["scheme"] == "TfL rapid").all()
    assert rapid["on_street"].mean() < 0.5


def test_each_chargepoint_lies_in_the_borough_its_name_gives(data, loaded):
    chargepoints, _report = loaded
    boroughs = data.boroughs.set_index("name").geometry
    named = chargepoints["name"].str.rsplit(", ", n=1).str[1]
    assert named.isin(boroughs.index).all()
    assert all(boroughs[name].contains(point) for name, point in zip(named, chargepoints.geometry))


def test_on_street_points_are_denser_in_inner_london(data, loaded):
    chargepoints, _report = loaded
    slow = chargepoints[chargepoints["speed_band"] == schema.SLOW]
    boroughs = data.boroughs.set_index("name")
    counts = slow["name"].str.rsplit(", ", n=1).str[1].value_counts().reindex(boroughs.index, fill_value=0)
    inner = boroughs["inner"]
    per_ha = {is_inner: counts[inner == is_inner].sum() / boroughs.loc[inner == is_inner, "area_ha"].sum() for is_inner in (True, False)}
    assert per_ha[True] > 2 * per_ha[False]
    assert counts[inner].mean() > counts[~inner].mean()


def test_write_demo_csv_writes_the_standard(data, tmp_path):
    path = demo.write_demo_csv(data, tmp_path / "new folder")
    assert path.name == "demo_chargepoints.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == schema.STANDARD_CSV_COLUMNS
    assert rows[1:] == data.chargepoints.values.tolist()


def test_demo_csv_through_the_standard_reader(data, loaded, tmp_path):
    from ev_charge_plugin.core.readers.standard_csv import read_standard_csv

    result = read_standard_csv(demo.write_demo_csv(data, tmp_path))
    assert (result.loaded, result.rejected) == (3468, 32)
    assert (result.chargepoints["speed_band"] == schema.RAPID).sum() == 161
    # The file's line numbers are the ones the frame-level run reported.
    assert _rejected_lines(result.report) == _rejected_lines(loaded[1])


# Usage

def test_usage_covers_every_good_chargepoint_for_four_quarters(data, loaded):
    chargepoints, _report = loaded
    usage = data.usage
    assert list(usage.columns) == USAGE_COLUMNS
    assert len(usage) == 3468 * 4
    assert set(usage["chargepoint_id"]) == set(chargepoints["chargepoint_id"])
    assert not usage.duplicated(["chargepoint_id", "period_start"]).any()
    quarters = sorted(set(zip(usage["period_start"], usage["period_end"])))
    assert quarters == [(pd.Timestamp(start), pd.Timestamp(end)) for start, end in demo.QUARTERS]
    assert quarters[0][0] == pd.Timestamp("2023-10-01") and quarters[-1][1] == pd.Timestamp("2024-10-01")


@pytest.fixture(scope="module")
def usage(data, loaded):
    chargepoints, _report = loaded
    details = chargepoints[["chargepoint_id", "power_kw", "speed_band", "connectors"]]
    usage = data.usage.merge(details, on="chargepoint_id", validate="many_to_one")
    days = (usage["period_end"] - usage["period_start"]).dt.days
    return usage.assign(days=days, occupancy=usage["occupied_hours"] / usage["available_hours"],
                        sessions_per_day=usage["sessions"] / days)


def test_usage_invariants(usage):
    np.testing.assert_array_equal(usage["available_hours"], usage["days"] * 24 * usage["connectors"].astype(int))
    assert (usage["sessions"] >= 0).all() and usage["sessions"].dtype.kind == "i"
    assert (usage["charging_hours"] >= 0).all()
    assert (usage["charging_hours"] <= usage["occupied_hours"]).all()
    assert (usage["occupied_hours"] <= usage["available_hours"]).all()
    assert (usage["energy_kwh"] <= usage["power_kw"] * usage["charging_hours"] + 1e-9).all()
    idle = usage["sessions"] == 0
    assert (usage.loc[idle, ["occupied_hours", "charging_hours", "energy_kwh"]] == 0).all().all()


def test_utilisation_spread_is_realistic(usage):
    slow = usage[usage["speed_band"] == schema.SLOW]
    rapid = usage[usage["speed_band"] == schema.RAPID]
    assert slow["occupancy"].between(0.05, 0.35).mean() > 0.75
    assert slow["occupancy"].mean() > slow["occupancy"].median()  # right-skewed
    assert rapid["occupancy"].between(0.10, 0.40).mean() > 0.8
    assert 0.5 < slow["sessions_per_day"].median() < 3
    assert 5 < rapid["sessions_per_day"].median() < 20
    assert _kwh_per_session(rapid) > 1.5 * _kwh_per_session(slow)
    # A few chargers hardly used all year.
    busiest_quarter = usage.groupby("chargepoint_id")["occupancy"].max()
    assert 0.01 < (busiest_quarter < 0.01).mean() < 0.06


def test_usage_grows_quarter_on_quarter(usage):
    occupied = usage.groupby("period_start")["occupied_hours"].sum().sort_index()
    growth = occupied.pct_change().dropna()
    assert ((growth > 0) & (growth < 0.15)).all()


def test_every_layer_is_named_and_attributed_as_synthetic():
    assert demo.ATTRIBUTION == ("Synthetic demo data generated by the London EV Charge Points plugin; "
                                "not real charge points, usage or boundaries.")
    assert set(demo.LAYER_NAMES) == {"charge_points", "usage", "boroughs", "wards"}
    assert all(name.startswith("Demo ") and "synthetic" in name for name in demo.LAYER_NAMES.values())
    assert demo.LAYER_NAMES["charge_points"] == "Demo charge points (synthetic)"
    assert demo.LAYER_NAMES["boroughs"] == "Demo boroughs (synthetic geography)"

