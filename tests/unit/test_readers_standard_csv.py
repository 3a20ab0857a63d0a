"""The plugin's own charge point CSV standard (docs/data-standard.md)."""
from pathlib import Path

import pandas as pd
import pytest

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.standard_csv import read_standard_csv
from ev_charge_plugin.core.report import FLAGGED, REJECTED, REPAIRED, WARNING
from ev_charge_plugin.core.schema import STANDARD_CSV_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
HEADER = ",".join(STANDARD_CSV_COLUMNS)


def csv_bytes(*rows, header=HEADER, encoding="utf-8", newline="\r\n"):
    return newline.join((header,) + rows).encode(encoding) + newline.encode(encoding)


def row(cp_id, lat="51.5074", lon="-0.1278", power="7", east="", north="", name="Site", on_street="yes", connectors="2", types="IEC_62196_T2"):
    return ",".join([cp_id, name, "Op", lat, lon, east, north, power, connectors, types, "AVAILABLE", on_street, "GULCS"])


def by_id(result):
    return result.chargepoints.set_index("chargepoint_id")


def reasons(result, record):
    return [(problem.field, problem.severity, problem.reason) for problem in result.report.of_record(record)]


def test_values_and_speed_bands():
    result = read_standard_csv(csv_bytes(
        row("A", power="3.7", types="DOMESTIC_G ; IEC_62196_T2"),
        row("B", power="22", on_street="No"),
        row("C", power="50", on_street="TRUE", connectors="1"),
        row("D", power="150", on_street="0"),
    ))
    points = by_id(result)
    assert list(points.index) == ["A", "B", "C", "D"]
    assert list(points["speed_band"]) == ["slow", "fast", "rapid", "ultra-rapid"]
    assert list(points["power_kw"]) == [3.7, 22.0, 50.0, 150.0]
    assert list(points["on_street"]) == [True, False, True, False]
    assert list(points["connectors"]) == [2, 2, 1, 2]
    assert points.at["A", "connector_types"] == "DOMESTIC_G;IEC_62196_T2"
    assert points.at["A", "operator"] == "Op" and points.at["A", "scheme"] == "GULCS"
    assert result.chargepoints.crs.to_epsg() == 27700
    # Trafalgar Square area in British National Grid metres.
    geometry = result.chargepoints.geometry.iloc[0]
    assert geometry.x == pytest.approx(530028.7, abs=0.5) and geometry.y == pytest.approx(180380.1, abs=0.5)
    assert result.report.problems == []


def test_header_any_case_order_and_extra_columns():
    data = b" Power_KW ,LONGITUDE,Colour,latitude,ChargePoint_ID\n7,-0.1278,red,51.5074,X1\n"
    result = read_standard_csv(data)
    assert list(result.chargepoints["chargepoint_id"]) == ["X1"]
    assert result.chargepoints["power_kw"].iloc[0] == 7.0
    [warning] = result.report.problems
    assert (warning.record, warning.field, warning.severity) == (1, "colour", WARNING)


def test_missing_required_columns_are_named():
    with pytest.raises(SourceError) as raised:
        read_standard_csv(b"name,latitude\nSite,51.5\n")
    message = str(raised.value)
    assert "chargepoint_id" in message and "power_kw" in message and "longitude" in message


def test_easting_northing_only():
    result = read_standard_csv(b"chargepoint_id,power_kw,easting,northing\nE1,7,530028.7,180380.1\n")
    point = result.chargepoints.iloc[0]
    assert point["latitude"] == pytest.approx(51.5074, abs=1e-4)
    assert point["longitude"] == pytest.approx(-0.1278, abs=1e-4)
    assert (point["easting"], point["northing"]) == pytest.approx((530028.7, 180380.1), abs=1e-3)


def test_easting_northing_columns_are_the_geometry():
    result = read_standard_csv(csv_bytes(row("LATLON"), row("BNG", lat="", lon="", east="530028.7", north="180380.1"), row("MCR", lat="53.4808", lon="-2.2426")))
    points = result.chargepoints
    assert points["easting"].dtype == points["northing"].dtype == "float64"
    assert list(points["easting"]) == list(points.geometry.x) and list(points["northing"]) == list(points.geometry.y)
    assert by_id(result).at["MCR", "easting"] == pytest.approx(384000, abs=1000)


def test_points_are_independent_of_the_frame_that_made_them():
    import copy
    import gc
    import pickle

    result = read_standard_csv(csv_bytes(row("A"), row("B", lat="", lon="", east="530028.7", north="180380.1")))
    points, xy = list(result.chargepoints.geometry), list(zip(result.chargepoints["easting"], result.chargepoints["northing"]))
    del result
    assert [point.geom_type for point in points] == ["Point", "Point"]
    assert [(point.x, point.y) for point in points] == xy
    assert [pickle.loads(pickle.dumps(point)).wkt for point in points] == [point.wkt for point in points]
    # Copies own their geometry: they outlive the points they were made from.
    copies = [copy.deepcopy(point) for point in points]
    del points
    gc.collect()
    assert [(type(point).__name__, point.x, point.y) for point in copies] == [("Point", x, y) for x, y in xy]


def test_numbers_with_spaces_and_decimal_commas():
    result = read_standard_csv(csv_bytes(row("A", lat=" 51.5074 ", lon='"-0,1278"', power='" 7,4 "'), row("B", power="7")))
    points = by_id(result)
    assert (points.at["A", "latitude"], points.at["A", "longitude"], points.at["A", "power_kw"]) == (51.5074, -0.1278, 7.4)
    assert points.at["B", "power_kw"] == 7.0 and result.report.problems == []


def test_blank_rows_and_a_repeated_column_name():
    header = "chargepoint_id,power_kw,latitude,longitude,power_kw"
    result = read_standard_csv(csv_bytes("A,7,51.5074,-0.1278,99", " , ,\t, , ", ",,,,", "B,22,51.5074,-0.1278,", header=header))
    assert list(result.chargepoints["chargepoint_id"]) == ["A", "B"]
    assert list(result.chargepoints["power_kw"]) == [7.0, 22.0]
    [warning] = result.report.problems
    assert (warning.record, warning.field, warning.severity) == (1, "power_kw", WARNING) and "of column 2" in warning.reason


def test_utf8_bom_and_windows_1252():
    with_bom = b"\xef\xbb\xbf" + csv_bytes(row("A", name="Caf\u00e9 \u00a3 bay"))
    assert read_standard_csv(with_bom).chargepoints["name"].iloc[0] == "Caf\u00e9 \u00a3 bay"
    cp1252 = csv_bytes(row("A", name="Caf\u00e9 \u00a3 bay"), encoding="cp1252")
    assert b"\xe9" in cp1252 and b"\xa3" in cp1252
    assert read_standard_csv(cp1252).chargepoints["name"].iloc[0] == "Caf\u00e9 \u00a3 bay"


def test_utf16_is_refused():
    with pytest.raises(SourceError, match="UTF-16"):
        read_standard_csv(csv_bytes(row("A"), encoding="utf-16"))
    with pytest.raises(SourceError, match="UTF-16"):
        read_standard_csv(csv_bytes(row("A"), encoding="utf-16-le"))


def test_semicolon_separated_with_decimal_comma():
    data = "chargepoint_id;name;latitude;longitude;power_kw;connector_types\nS1;Rue, Nord;51,5074;-0,1278;7,4;IEC_62196_T2;\n".replace(";\n", "\n")
    result = read_standard_csv(data.encode("cp1252"))
    point = result.chargepoints.iloc[0]
    assert point["name"] == "Rue, Nord"
    assert (point["latitude"], point["longitude"], point["power_kw"]) == (51.5074, -0.1278, 7.4)


def test_wrong_coordinates_are_repaired_or_rejected_by_line():
    result = read_standard_csv(csv_bytes(
        row("OK"),
        row("SWAP", lat="-0.1278", lon="51.5074"),
        row("BNG", lat="180380.1", lon="530028.7"),
        row("MADRID", lat="40.416288", lon="-3.703373"),
        row("TEXT", lat="north", lon="-0.1"),
        row("HALF", lat="51.5", lon=""),
        row("NONE", lat="", lon=""),
        row("OFFGRID", lat="", lon="", east="800000", north="100"),
    ))
    assert list(result.chargepoints["chargepoint_id"]) == ["OK", "SWAP", "BNG"]
    swapped = by_id(result).loc["SWAP"]
    assert (swapped["latitude"], swapped["longitude"]) == (51.5074, -0.1278)
    assert reasons(result, 3) == [("latitude", REPAIRED, "Latitude and longitude were swapped (-0.1278, 51.5074); swapped back.")]
    assert reasons(result, 4)[0][:2] == ("latitude", REPAIRED) and "British National Grid" in reasons(result, 4)[0][2]
    assert by_id(result).loc["BNG", "latitude"] == pytest.approx(51.5074, abs=1e-4)
    assert reasons(result, 5) == [("latitude", REJECTED, "Coordinates (40.416288, -3.703373) lie outside the United Kingdom.")]
    assert reasons(result, 6) == [("latitude", REJECTED, "Coordinates cannot be read: latitude 'north' is not a number.")]
    assert reasons(result, 7) == [("latitude", REJECTED, "Coordinates cannot be read: longitude is missing.")]
    assert reasons(result, 8) == [("latitude", REJECTED, "Coordinates are missing.")]
    assert reasons(result, 9)[0][:2] == ("easting", REJECTED) and "outside the British National Grid" in reasons(result, 9)[0][2]
    assert result.rejected == 5


def test_duplicate_and_missing_ids():
    result = read_standard_csv(csv_bytes(row("A"), row(" "), row("A ", name="second"), row("B")))
    assert list(result.chargepoints["chargepoint_id"]) == ["A", "B"]
    assert by_id(result).at["A", "name"] == "Site"
    assert reasons(result, 3) == [("chargepoint_id", REJECTED, "The charge point id is missing.")]
    assert reasons(result, 4) == [("chargepoint_id", REJECTED, "Duplicate id A: already used by record 2.")]


def test_bad_values_are_repaired_to_empty():
    result = read_standard_csv(csv_bytes(row("A", on_street="maybe", power="7kW", connectors="two"), row("B", power="")))
    points = by_id(result)
    assert points.at["A", "on_street"] is pd.NA
    assert points["power_kw"].isna().all()
    assert list(points["speed_band"]) == ["unknown", "unknown"]
    assert {(field, severity) for field, severity, _ in reasons(result, 2)} == {("on_street", REPAIRED), ("power_kw", REPAIRED), ("connectors", REPAIRED)}
    assert reasons(result, 3) == [("power_kw", FLAGGED, "Power is missing, although the data standard requires it; the speed band is unknown.")]


def test_malformed_rows_are_reported_by_csv_line():
    data = csv_bytes(
        row("A", name='"Two\nline name"'),  # one record over two physical lines: still line 2
        row("B") + ",extra",
        "",
        "C,short",
        row("D"),
    )
    result = read_standard_csv(data)
    assert list(result.chargepoints["chargepoint_id"]) == ["A", "D"]
    assert result.chargepoints["name"].iloc[0] == "Two\nline name"
    [(field, severity, reason)] = reasons(result, 3)
    assert severity == REJECTED and reason.startswith("The row has 14 fields but the header has 13")
    assert result.report.of_record(3)[0].chargepoint_id == "B"
    assert reasons(result, 5)[0][2].startswith("The row has 2 fields")
    assert result.rejected == 2


def test_london_only_rejects_once_per_point():
    result = read_standard_csv(csv_bytes(row("LDN"), row("MCR", lat="53.4808", lon="-2.2426")), london_only=True)
    assert list(result.chargepoints["chargepoint_id"]) == ["LDN"]
    assert reasons(result, 3) == [("latitude", REJECTED, "Outside Greater London's bounding box, and only London was asked for.")]


def test_outside_london_is_flagged_without_london_only():
    result = read_standard_csv(csv_bytes(row("LDN"), row("MCR", lat="53.4808", lon="-2.2426")))
    assert list(result.chargepoints["in_london"]) == [True, False]
    assert reasons(result, 3) == [("latitude", FLAGGED, "In the United Kingdom but outside Greater London's bounding box.")]


def test_template_file_loads_cleanly():
    result = read_standard_csv(ROOT / "docs" / "templates" / "chargepoints_template.csv")
    assert result.loaded == 2 and result.report.problems == []
    assert list(result.chargepoints["speed_band"]) == ["slow", "ultra-rapid"]
    assert result.chargepoints["source"].iloc[0] == "chargepoints_template.csv"


def test_whole_file_failures():
    with pytest.raises(SourceError, match="empty"):
        read_standard_csv(b"  \r\n")
    with pytest.raises(SourceError, match="could not be opened"):
        read_standard_csv(ROOT / "no-such-file.csv")
    with pytest.raises(SourceError, match="binary"):
        read_standard_csv(b"PK\x03\x04\x00\x00binary")


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n",
    "a,b\n1,2",
    "a;b\n\n1;2\n\n\n",
    "a,b\n \n1,\u2028x\n,\n",
    "a,b,c\n1,2\x0c3\x0b\n\x854,5\n",
], ids=["final-break", "no-final-break", "blank-lines", "spaces-and-line-separator", "other-breaks"])
def test_text_without_quotes_is_split_as_the_csv_module_splits_it(text):
    import csv
    import io

    from ev_charge_plugin.core.readers._common import _delimiter, csv_rows

    assert csv_rows(text.encode("utf-8"), "x") == list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))


def test_a_field_beyond_the_csv_modules_limit_is_refused_without_quotes_too():
    with pytest.raises(SourceError, match="field larger than field limit"):
        read_standard_csv(("chargepoint_id,latitude\n" + "x" * 200_000 + ",51.5\n").encode())


def test_line_breaks_do_not_change_what_is_read():
    rows = (row("A", name=" Site "), "", row("B", lat="530028.7", lon="180380.1"), row("A"), "C,broken", row("D", power="7,4"))
    unix, windows = read_standard_csv(csv_bytes(*rows, newline="\n")), read_standard_csv(csv_bytes(*rows))
    pd.testing.assert_frame_equal(unix.chargepoints, windows.chargepoints)
    pd.testing.assert_frame_equal(unix.report.to_frame(), windows.report.to_frame())


def test_text_values_whether_or_not_a_column_is_all_text():
    from ev_charge_plugin.core.validation import text_values

    assert text_values(pd.Series([" a ", "", "  ", "b"], dtype=object)).tolist() == ["a", pd.NA, pd.NA, "b"]
    mixed = text_values(pd.Series([" a ", "", None, float("nan"), 7, "b "], dtype=object))
    assert mixed.dtype == "string" and mixed.tolist() == ["a", pd.NA, pd.NA, pd.NA, "7", "b"]


def test_points_match_points_made_one_by_one():
    import copy

    from shapely.geometry import Point

    result = read_standard_csv(csv_bytes(row("A"), row("B", lat="", lon="", east="530028.7", north="180380.1")))
    points = list(result.chargepoints.geometry)
    expected = [Point(x, y) for x, y in zip(result.chargepoints["easting"], result.chargepoints["northing"])]
    del result
    assert [point.wkb for point in points] == [point.wkb for point in expected]
    assert [copy.deepcopy(point).wkb for point in points] == [point.wkb for point in expected]
    assert all(point.equals(other) and not point.is_empty for point, other in zip(points, expected))


def test_on_street_spellings_are_each_read_wherever_they_occur():
    spellings = [" Yes", "no", "", "maybe", "TRUE", "  ", "yes", "maybe", "0"]
    result = read_standard_csv(csv_bytes(*(row(f"S{index}", on_street=spelling) for index, spelling in enumerate(spellings))))
    flags = by_id(result)["on_street"]
    assert [flags[f"S{index}"] for index in range(len(spellings))] == [True, False, pd.NA, pd.NA, True, pd.NA, True, pd.NA, False]
    assert flags.dtype == "boolean"
    assert sorted(problem.record for problem in result.report.problems if problem.field == "on_street") == [5, 9]
