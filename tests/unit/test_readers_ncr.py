"""National Chargepoint Registry CSV: the real 2017 export and small files made here."""
import csv
import io

import geopandas as gpd
import pandas as pd
import pytest

from ev_charge_plugin.core.areas import count_points_in_areas, london_boundary_from
from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.ncr import read_ncr
from ev_charge_plugin.core.report import REJECTED, REPAIRED, WARNING

# Per-borough counts from the data README (computed there with a plain point-in-polygon test).
README_BOROUGH_COUNTS = {
    "Westminster": 107, "Newham": 63, "Camden": 37, "Croydon": 33, "Greenwich": 30,
    "Redbridge": 29, "Hackney": 28, "Haringey": 27, "City of London": 26, "Enfield": 26,
    "Merton": 2,
}
MADRID = "d14136bf"
AUSTRALIA = "6dada9cb"


@pytest.fixture(scope="module")
def ncr_path(real_data):
    return real_data / "ncr_snapshot_2017.csv"


@pytest.fixture(scope="module")
def ncr(ncr_path):
    return read_ncr(ncr_path)


@pytest.fixture(scope="module", params=[("london_boroughs_2019_bng.gpkg", "name"), ("london_boroughs_wgs84.geojson", "NAME")], ids=["gpkg-bng", "geojson-wgs84"])
def boroughs(request, real_data):
    file_name, name_field = request.param
    return gpd.read_file(real_data / file_name), name_field


def test_real_file_loads_3962_charge_points(ncr):
    assert ncr.loaded == 3962
    assert ncr.chargepoints["chargepoint_id"].is_unique
    assert ncr.rejected == 4  # two broken records, two outside the UK


def test_real_file_broken_records_one_entry_each_with_lines(ncr):
    broken = [problem for problem in ncr.report.problems if "broken across lines" in problem.reason]
    assert [(p.record, p.chargepoint_id, p.severity) for p in broken] == [
        (970, "0df94ca5d0479fab1af38bc25e84e0bf", REJECTED),
        (973, "efe8c47a4688ef6f1f411321caecdf43", REJECTED),
    ]
    assert "lines 970-971" in broken[0].reason and "52 + 107" in broken[0].reason
    assert "lines 973-974" in broken[1].reason
    for line in (970, 971, 973, 974):
        assert len(ncr.report.of_record(line)) == (1 if line in (970, 973) else 0)
    assert not ncr.chargepoints["chargepoint_id"].isin(["0df94ca5d0479fab1af38bc25e84e0bf", "efe8c47a4688ef6f1f411321caecdf43"]).any()


def test_real_file_duplicated_header_is_repaired_with_a_warning(ncr):
    [warning] = [problem for problem in ncr.report.problems if problem.severity == WARNING]
    assert (warning.record, warning.field) == (1, "connector3Validated")
    assert "Column 92" in warning.reason and "'connector2Validated'" in warning.reason


def test_real_file_points_outside_the_uk_are_rejected_by_id(ncr):
    outside = {p.chargepoint_id[:8]: p for p in ncr.report.problems if "outside the United Kingdom" in p.reason}
    assert set(outside) == {MADRID, AUSTRALIA}
    assert "(40.416288, -3.703373)" in outside[MADRID].reason
    assert "(-25.363882, 131.044922)" in outside[AUSTRALIA].reason
    assert all(p.severity == REJECTED for p in outside.values())
    ids = ncr.chargepoints["chargepoint_id"]
    assert not ids.str.startswith(MADRID).any() and not ids.str.startswith(AUSTRALIA).any()


def test_real_file_values_of_the_first_device(ncr):
    first = ncr.chargepoints.set_index("chargepoint_id").loc["cfeedcdd5e287bef4b583158a12363f1"]
    assert first["name"] == "2 Riddons Road"
    assert first["operator"] == "Source London"
    assert first["power_kw"] == 7.0 and first["speed_band"] == "slow"
    assert first["connectors"] == 2
    assert first["connector_types"] == "3-pin Type G (BS1363);Type 2 Mennekes (IEC62196)"
    assert first["status"] == "In service" and bool(first["on_street"]) is True
    assert first["scheme"] == "Source London"


def test_real_file_counts_per_borough(ncr, boroughs):
    areas, name_field = boroughs
    counts = count_points_in_areas(ncr.chargepoints, areas, name_field)
    assert counts.sum() == 677
    assert len(counts) == 33
    assert {name: counts[name] for name in README_BOROUGH_COUNTS} == README_BOROUGH_COUNTS
    assert list(counts.index[:3]) == ["Westminster", "Newham", "Camden"]


def test_real_file_in_london_with_the_borough_boundary(ncr_path, boroughs):
    areas, _ = boroughs
    boundary = london_boundary_from(areas)
    result = read_ncr(ncr_path, london_boundary=boundary)
    assert result.chargepoints["in_london"].sum() == 677
    london = read_ncr(ncr_path, london_boundary=boundary, london_only=True)
    assert london.loaded == 677
    assert london.rejected == 4 + 3962 - 677


# --- small files made here ---------------------------------------------------

HEADER = [
    "chargeDeviceID", "name", "latitude", "longitude", "deviceOwnerName", "deviceControllerName",
    "deviceNetworks", "chargeDeviceStatus", "onStreetFlag",
    "connector1ID", "connector1Type", "connector1RatedOutputKW", "connector1Description", "connector1Validated",
    "connector2ID", "connector2Type", "connector2RatedOutputKW", "connector2Description", "connector3Validated",
    "connector3ID", "connector3Type", "connector3RatedOutputKW", "connector3Description", "connector3Validated",
]


def device(cp_id, lat="51.5", lon="-0.12", owner="Owner", controller="Controller", network="Net", on_street="1", connectors=(("11", "Type 2", "7.0"),)):
    values = [cp_id, f"Device {cp_id}", lat, lon, owner, controller, network, "In service", on_street]
    for slot in range(3):
        connector_id, kind, power = connectors[slot] if slot < len(connectors) else ("", "", "")
        values += [connector_id, kind, power, "", "0"]
    return values


def ncr_bytes(rows, header=HEADER):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header] + rows)
    return out.getvalue().encode("utf-8")


def test_connectors_power_operator_and_placeholders():
    result = read_ncr(ncr_bytes([
        device("A", connectors=(("1", "Type 2", "7.0"), ("2", "CHAdeMO", "50.0"), ("3", "Type 2", "22"))),
        device("B", controller="*No Controller", network="*No Network", on_street="", connectors=(("", "3-pin", "3.7"),)),
        device("C", controller="", connectors=()),
    ]))
    points = result.chargepoints.set_index("chargepoint_id")
    assert points.at["A", "power_kw"] == 50.0 and points.at["A", "speed_band"] == "rapid"
    assert points.at["A", "connectors"] == 3
    assert points.at["A", "connector_types"] == "Type 2;CHAdeMO"
    assert points.at["A", "operator"] == "Controller" and points.at["A", "scheme"] == "Net"
    assert points.at["B", "operator"] == "Owner"
    assert pd.isna(points.at["B", "scheme"]) and pd.isna(points.at["B", "on_street"])
    assert points.at["B", "connectors"] == 1 and points.at["B", "connector_types"] == "3-pin"
    assert points.at["C", "connectors"] == 0 and pd.isna(points.at["C", "power_kw"])
    assert points.at["C", "speed_band"] == "unknown" and pd.isna(points.at["C", "connector_types"])
    assert [p.reason for p in result.report.problems if p.severity == WARNING] == [
        "Column 19 is named 'connector3Validated', a name used twice; it was read as 'connector2Validated' because it follows 'connector2Description'."
    ]


def test_unreadable_connector_power_is_reported():
    result = read_ncr(ncr_bytes([device("A", connectors=(("1", "Type 2", "seven"), ("2", "Type 2", "22")))]))
    assert result.chargepoints["power_kw"].tolist() == [22.0]
    [problem] = result.report.of_record(2)
    assert (problem.field, problem.severity, problem.chargepoint_id) == ("connector1RatedOutputKW", REPAIRED, "A")


def test_record_broken_by_a_bare_carriage_return():
    # Break record B inside its name with a bare CR, as the registry's export did.
    result = read_ncr(ncr_bytes([device("A"), device("B"), device("C")]).replace(b"Device B", b"Device\rB"))
    assert list(result.chargepoints["chargepoint_id"]) == ["A", "C"]
    [problem] = result.report.of_record(3)
    assert problem.chargepoint_id == "B" and problem.severity == REJECTED
    assert problem.reason.startswith("The record is broken across lines 3-4: a line break inside a field split its 24 fields into 2 + 23")
    assert result.report.of_record(4) == []
    assert result.report.rejected == 1


def test_row_with_extra_fields_is_rejected_alone():
    result = read_ncr(ncr_bytes([device("A") + ["surplus"], device("B")]))
    assert list(result.chargepoints["chargepoint_id"]) == ["B"]
    [problem] = result.report.of_record(2)
    assert problem.reason.startswith("The row has 25 fields but the header has 24")


def test_missing_required_column_is_a_source_error():
    header = [name for name in HEADER if name != "longitude"]
    with pytest.raises(SourceError, match="longitude"):
        read_ncr(ncr_bytes([device("A")[:3] + device("A")[4:]], header=header))
