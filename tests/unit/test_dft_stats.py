"""Reading DfT's quarterly EV charging infrastructure tables (xlsx and ods), matching boroughs, London's series."""
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from dft_fixtures import AREAS, BOROUGHS, CELLS, MISSING, QUARTERS, expected, label, sheet_grid, write_dft_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ev_charge_plugin.core.dft_stats import (
    LONDON_CODE,
    TABLE_COLUMNS,
    area_key,
    code_field_of,
    london_series,
    match_areas,
    read_dft_stats,
)
from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.report import FLAGGED, REJECTED, WARNING

ROWS = len(AREAS) * len(QUARTERS) * 2


def value(table, code, speed, quarter):
    rows = table[(table["gss_code"] == code) & (table["speed"] == speed) & (table["quarter"] == pd.Timestamp(quarter))]
    assert len(rows) == 1
    devices = rows["devices"].iloc[0]
    return None if pd.isna(devices) else int(devices)


@pytest.fixture(params=["xlsx", "ods"])
def suffix(request):
    return request.param


def test_reads_both_sheets_with_exact_counts(tmp_path, suffix):
    result = read_dft_stats(write_dft_workbook(tmp_path / f"dft.{suffix}"))
    table = result.table
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) == ROWS
    assert str(table["devices"].dtype) == "Int64" and pd.api.types.is_datetime64_dtype(table["quarter"])
    assert set(table["speed"]) == {"all", "rapid"}
    assert sorted(set(table["quarter"])) == list(QUARTERS)
    assert table.groupby(["gss_code", "quarter", "speed"]).size().max() == 1
    assert value(table, "E09000007", "all", "2025-10-01") == expected("E09000007", "all", "2025-10-01") == 20 + 7 * 6 + 3 * 24
    assert value(table, "E09000007", "rapid", "2025-10-01") == (20 + 7 * 6 + 3 * 24) // 5
    assert value(table, "E09000033", "all", "2025-10-01") == 3456  # "3,456" stored as text
    assert value(table, "E09000030", "all", "2025-07-01") == 812   # "812" stored as text
    assert value(table, LONDON_CODE, "all", "2019-10-01") == expected(LONDON_CODE, "all", "2019-10-01")
    assert table.loc[table["gss_code"] == "E09000021", "name"].iloc[0] == "Kingston upon Thames"
    for (code, speed, quarter_label), _cell in CELLS.items():
        quarter = next(quarter for quarter in QUARTERS if label(quarter) == quarter_label)
        assert value(table, code, speed, quarter) == expected(code, speed, quarter)


def test_missing_markers_stay_missing_and_are_reported(tmp_path, suffix):
    result = read_dft_stats(write_dft_workbook(tmp_path / f"dft.{suffix}"))
    table = result.table
    assert table["devices"].isna().sum() == len(MISSING) == 4
    assert value(table, "E09000007", "rapid", "2019-10-01") is None  # [x], not 0
    problems = {(problem.field, problem.record): problem for problem in result.report.problems}
    assert len(problems) == 4 and all(problem.severity == REJECTED for problem in problems.values())
    # Two notes rows, then the header (row 3), UK, England, London: City of London is row 7, Camden row 13.
    assert "[x]" in problems[("1b Oct-19", 13)].reason and "Camden" in problems[("1b Oct-19", 13)].reason
    assert ".." in problems[("1a Jan-20", 7)].reason
    assert "blank" in problems[("1b Jul-20", 9)].reason


def test_older_sheet_names(tmp_path, suffix):
    current = read_dft_stats(write_dft_workbook(tmp_path / f"new.{suffix}")).table
    older = read_dft_stats(write_dft_workbook(tmp_path / f"old.{suffix}", old_names=True)).table
    pd.testing.assert_frame_equal(older, current)


def test_an_extra_notes_row_moves_the_header_not_the_data(tmp_path, suffix):
    current = read_dft_stats(write_dft_workbook(tmp_path / f"new.{suffix}"))
    noted = read_dft_stats(write_dft_workbook(tmp_path / f"noted.{suffix}", extra_notes=True))
    pd.testing.assert_frame_equal(noted.table, current.table)
    assert sorted(problem.record for problem in noted.report.problems) == sorted(problem.record + 1 for problem in current.report.problems)


def test_quarter_headers_with_a_suffix_after_a_line_break(tmp_path, suffix):
    assert sheet_grid("rapid", suffix_headers=True)[2][2] == "Oct-19\n(25kW and above)"
    result = read_dft_stats(write_dft_workbook(tmp_path / f"suffix.{suffix}", suffix_headers=True))
    rapid = result.table[result.table["speed"] == "rapid"]
    assert sorted(set(rapid["quarter"])) == list(QUARTERS)
    assert value(result.table, "E09000012", "rapid", "2019-10-01") == expected("E09000012", "rapid", QUARTERS[0])


def test_date_cells_as_quarter_headers(tmp_path, suffix):
    result = read_dft_stats(write_dft_workbook(tmp_path / f"dates.{suffix}", date_headers=True))
    assert len(result.table) == ROWS
    assert value(result.table, "E09000033", "all", "2025-10-01") == 3456


def test_header_case_and_spaces_and_rate_columns(tmp_path):
    result = read_dft_stats(write_dft_workbook(tmp_path / "odd.xlsx", header_variant=True, rate_columns=True))
    assert len(result.table) == ROWS  # the per-100,000 column is not a quarter of counts
    assert set(result.table["name"].dropna()) == {name for _code, name in AREAS}


def test_notes_below_the_table_and_other_sheets_are_not_areas(tmp_path):
    table = read_dft_stats(write_dft_workbook(tmp_path / "dft.xlsx")).table
    assert set(table["gss_code"]) == {code for code, _name in AREAS}
    assert not table["name"].str.contains("Source|not available").any()


def test_without_sheet_1b_the_counts_at_all_speeds_are_read_with_a_warning(tmp_path):
    result = read_dft_stats(write_dft_workbook(tmp_path / "dft.ods", with_rapid=False))
    assert set(result.table["speed"]) == {"all"} and len(result.table) == ROWS // 2
    warnings = [problem for problem in result.report.problems if problem.severity == WARNING]
    assert len(warnings) == 1 and warnings[0].field == "1b" and "1b" in warnings[0].reason


def test_rows_without_a_gss_code_are_kept_for_name_matching(tmp_path):
    areas = (("E09000007", "Camden"), ("", "Hackney"), ("n/k", "Islington"), ("", ""))
    grid = sheet_grid("all", areas=areas)
    grid[-4][2] = 5  # the last area row has a count but neither code nor name
    path = tmp_path / "codes.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(grid, dtype=object).to_excel(writer, sheet_name="1a", header=False, index=False)
    result = read_dft_stats(path)
    assert set(result.table["name"]) == {"Camden", "Hackney", "Islington"}
    assert result.table.loc[result.table["name"] == "Islington", "gss_code"].isna().all()
    flagged = [problem for problem in result.report.problems if problem.severity == FLAGGED]
    assert [problem.record for problem in flagged] == [6] and "n/k" in flagged[0].reason
    rejected = [problem for problem in result.report.problems if problem.severity == REJECTED and problem.field == "1a"]
    assert [problem.record for problem in rejected] == [7]


@pytest.mark.parametrize("content, words", [
    (b"gss_code,name\nE09000007,Camden\n", "not an xlsx or ods"),
    (b"", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), ".xls"),
])
def test_files_that_are_not_workbooks(tmp_path, content, words):
    path = tmp_path / "dft.xlsx"
    path.write_bytes(content)
    with pytest.raises(SourceError) as refused:
        read_dft_stats(path)
    assert words in str(refused.value) and "dft.xlsx" in str(refused.value)


def test_a_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "dft.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(SourceError, match="zip file but not"):
        read_dft_stats(path)


def test_a_missing_file(tmp_path):
    with pytest.raises(SourceError, match="could not be opened"):
        read_dft_stats(tmp_path / "absent.xlsx")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_workbooks(tmp_path, suffix, keep):
    data = write_dft_workbook(tmp_path / f"dft.{suffix}").read_bytes()
    path = tmp_path / f"cut.{suffix}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(SourceError, match="damaged or incomplete"):
        read_dft_stats(path)


def test_a_workbook_without_sheet_1a(tmp_path):
    path = tmp_path / "other.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame([["a", 1]]).to_excel(writer, sheet_name="Data", header=False, index=False)
    with pytest.raises(SourceError, match="no sheet 1a"):
        read_dft_stats(path)


def test_a_sheet_without_a_header_row(tmp_path):
    path = tmp_path / "noheader.ods"
    grid = sheet_grid("all")
    del grid[2]  # the header row
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame(grid, dtype=object).to_excel(writer, sheet_name="1a", header=False, index=False)
    with pytest.raises(SourceError, match="Sheet 1a of noheader.ods has no header row"):
        read_dft_stats(path)


def test_a_header_row_without_quarters(tmp_path):
    path = tmp_path / "noquarters.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame([["Local authority / region code", "Local authority / region name", "Total"], ["E09000007", "Camden", 5]]).to_excel(
            writer, sheet_name="1a", header=False, index=False)
    with pytest.raises(SourceError, match="no quarter columns"):
        read_dft_stats(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.one_of(st.none(), st.integers(-5, 10**6), st.floats(-1e15, 1e15), st.just(float("nan")), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8),
                                st.sampled_from(["[x]", "[z]", "..", "-", "1,234", " 7 ", "12.0", "12.5"])), min_size=4, max_size=4))
def test_whatever_the_cells_a_count_or_a_reported_missing_value(tmp_path_factory, cells):
    grid = sheet_grid("all", areas=(("E09000007", "Camden"),))
    grid[3][2:6] = cells
    path = tmp_path_factory.mktemp("cells") / "cells.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(grid, dtype=object).to_excel(writer, sheet_name="1a", header=False, index=False)
    result = read_dft_stats(path)
    first = result.table.iloc[:4]
    assert len(result.table) == len(QUARTERS)
    assert (first["devices"].dropna() >= 0).all()
    missing_fields = sorted(f"1a {label(quarter)}" for quarter, devices in zip(first["quarter"], first["devices"]) if pd.isna(devices))
    assert sorted(problem.field for problem in result.report.problems if problem.severity == REJECTED) == missing_fields


@settings(max_examples=30, deadline=None)
@given(position=st.integers(0, 10**6), replacement=st.binary(min_size=1, max_size=16))
def test_whatever_the_bytes_a_table_or_one_source_error(position, replacement):
    import io

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame(sheet_grid("all", areas=(("E09000007", "Camden"),)), dtype=object).to_excel(writer, sheet_name="1a", header=False, index=False)
    data = bytearray(buffer.getvalue())
    position %= len(data)
    data[position:position + len(replacement)] = replacement
    try:
        result = read_dft_stats(bytes(data))
    except SourceError as error:
        assert str(error).endswith(".")
        return
    assert list(result.table.columns) == TABLE_COLUMNS


# --- matching boroughs and London's series -------------------------------------------------

@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return read_dft_stats(write_dft_workbook(tmp_path_factory.mktemp("dft") / "dft.xlsx")).table


@pytest.mark.parametrize("layer, name_field", [("london_boroughs_2019_bng.gpkg", "name"), ("london_boroughs_wgs84.geojson", "NAME")])
def test_every_borough_matches_the_real_boundaries_by_code(real_data, table, layer, name_field):
    areas = gpd.read_file(real_data / layer)
    code_field = code_field_of(areas.columns)
    assert code_field == name_field.replace("name", "gss_code").replace("NAME", "GSS_CODE")
    matched = match_areas(table, areas, code_field, name_field)
    assert matched.index.equals(table.index)
    by_code = dict(zip(table["gss_code"], matched))
    assert {code: by_code[code] for code, _name in BOROUGHS} == dict(zip(areas[code_field], areas[name_field]))
    assert by_code[LONDON_CODE] is None and by_code["E06000035"] is None


def test_matching_by_name_when_the_layer_has_no_codes(real_data):
    areas = gpd.read_file(real_data / "london_boroughs_wgs84.geojson").drop(columns="GSS_CODE")
    assert code_field_of(areas.columns) is None
    stats = pd.DataFrame({"gss_code": [None, None, None, None, "E12000007"],
                          "name": ["Barking & Dagenham", "Kingston-upon-Thames", "City of London Corporation", "Royal Borough of Kensington & Chelsea", "London"]})
    assert match_areas(stats, areas, None, "NAME").tolist() == ["Barking and Dagenham", "Kingston upon Thames", "City of London", "Kensington and Chelsea", None]


def test_the_code_wins_over_the_name(real_data):
    areas = gpd.read_file(real_data / "london_boroughs_2019_bng.gpkg")
    stats = pd.DataFrame({"gss_code": ["e09000007 ", "E09999999"], "name": ["Camden Town", "Hackney"]})
    assert match_areas(stats, areas, "gss_code", "name").tolist() == ["Camden", "Hackney"]


def test_area_key():
    assert area_key("City of Westminster") == area_key("Westminster") == "westminster"
    assert area_key("City of London") == area_key("City of London Corporation") == "city of london"
    assert area_key("St. Helens") == area_key("St Helens")
    assert area_key("Ynys Môn") == "ynys mon"


def test_london_from_the_region_row(table):
    london = london_series(table)
    assert list(london.columns) == ["quarter", "speed", "devices"] and len(london) == 2 * len(QUARTERS)
    row = london[(london["speed"] == "rapid") & (london["quarter"] == QUARTERS[0])]
    assert int(row["devices"].iloc[0]) == expected(LONDON_CODE, "rapid", QUARTERS[0])


def test_london_from_the_boroughs_when_there_is_no_region_row(table):
    without_region = table[table["gss_code"] != LONDON_CODE]
    london = london_series(without_region).set_index(["speed", "quarter"])["devices"]
    assert london[("all", QUARTERS[-1])] == sum(expected(code, "all", QUARTERS[-1]) for code, _name in BOROUGHS)
    assert london[("all", QUARTERS[2])] == expected(LONDON_CODE, "all", QUARTERS[2])
    # Camden's rapid count for Oct-19 is [x]: the other 32 boroughs are not London.
    assert pd.isna(london[("rapid", QUARTERS[0])])
    assert pd.isna(london[("all", QUARTERS[1])])  # City of London's Jan-20 is ".."
