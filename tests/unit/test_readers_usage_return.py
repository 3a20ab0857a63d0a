"""The plugin's quarterly usage return CSV (docs/data-standard.md, section 6)."""
from pathlib import Path

import pandas as pd
import pytest

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.usage_return import RETURN_COLUMNS, UsageReadResult, read_usage_return
from ev_charge_plugin.core.report import FLAGGED, REJECTED, REPAIRED, WARNING
from ev_charge_plugin.core.usage import USAGE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs" / "templates" / "usage_return_template.csv"
HEADER = ",".join(RETURN_COLUMNS)


def csv_bytes(*rows, header=HEADER, encoding="utf-8", newline="\r\n", separator=","):
    lines = [header.replace(",", separator)] + [row.replace(",", separator) for row in rows]
    return (newline.join(lines) + newline).encode(encoding)


def row(cp_id="A", start="2024-07-01", end="2024-09-30", sessions="10", energy="100.5", occupied="50", charging="40", available="2208"):
    return ",".join([cp_id, start, end, sessions, energy, occupied, charging, available])


def problems(result):
    return [(problem.record, problem.field, problem.severity) for problem in result.report.problems]


def test_good_rows_are_typed_with_an_exclusive_end():
    result = read_usage_return(csv_bytes(row("A"), row("B", sessions="0", energy="0", occupied="0", charging="", available="")))
    assert isinstance(result, UsageReadResult) and result.sessions is None
    usage = result.usage
    assert list(usage.columns) == ["record"] + USAGE_COLUMNS
    assert list(usage["record"]) == [2, 3]
    assert list(usage["chargepoint_id"]) == ["A", "B"]
    assert (usage["period_start"] == pd.Timestamp("2024-07-01")).all()
    assert (usage["period_end"] == pd.Timestamp("2024-10-01")).all()
    assert usage["sessions"].dtype == "int64" and list(usage["sessions"]) == [10, 0]
    assert list(usage["energy_kwh"]) == [100.5, 0.0]
    assert list(usage["occupied_hours"]) == [50.0, 0.0]
    assert usage["charging_hours"].iloc[0] == 40.0 and pd.isna(usage["charging_hours"].iloc[1])
    assert usage["available_hours"].iloc[0] == 2208.0 and pd.isna(usage["available_hours"].iloc[1])
    assert result.report.problems == [] and result.loaded == 2 and result.rejected == 0


def test_uk_dates_and_a_month():
    result = read_usage_return(csv_bytes(row("A", start="01/07/2024", end="30/09/2024"), row("B", start="1/2/2024", end="29/02/2024", available="")))
    usage = result.usage.set_index("chargepoint_id")
    assert usage.at["A", "period_start"] == pd.Timestamp("2024-07-01") and usage.at["A", "period_end"] == pd.Timestamp("2024-10-01")
    assert usage.at["B", "period_start"] == pd.Timestamp("2024-02-01") and usage.at["B", "period_end"] == pd.Timestamp("2024-03-01")
    assert result.report.problems == []


def test_optional_columns_may_be_left_out_and_headers_match_loosely():
    data = b"Energy kWh;Chargepoint-ID;PERIOD_START;period end;Sessions;Occupied Hours\n12,5;A;2024-10-01;2024-12-31;3;7,25\n"
    usage = read_usage_return(data).usage
    assert list(usage["chargepoint_id"]) == ["A"]
    assert usage["energy_kwh"].iloc[0] == 12.5 and usage["occupied_hours"].iloc[0] == 7.25
    assert usage["period_end"].iloc[0] == pd.Timestamp("2025-01-01")
    assert usage["charging_hours"].isna().all() and usage["available_hours"].isna().all()


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_windows_1252_and_bom(encoding):
    data = csv_bytes(row("Café-1"), row("Ü-2"), encoding=encoding)
    result = read_usage_return(data)
    assert list(result.usage["chargepoint_id"]) == ["Café-1", "Ü-2"]
    assert result.report.problems == []


def test_semicolon_separator():
    result = read_usage_return(csv_bytes(row("A", energy="100.5"), separator=";", newline="\n"))
    assert list(result.usage["chargepoint_id"]) == ["A"] and result.usage["energy_kwh"].iloc[0] == 100.5
    assert result.report.problems == []


def test_every_bad_row_is_reported_with_line_field_and_reason():
    result = read_usage_return(csv_bytes(
        row("GOOD"),
        row(""),                               # 3: no id
        row("D1", start="2024-13-01"),         # 4: no such month
        row("D2", end="09/30/2024"),           # 5: US order
        row("D3", start="2024/07/01"),         # 6: not an accepted form
        row("E", energy="-3"),                 # 7: negative energy
        row("S", sessions="2.5"),              # 8: fractional sessions
        "W,2024-07-01,2024-09-30,1,1",          # 9: wrong field count
        row("N", occupied="abc"),              # 10: not a number
        row("R", start="2024-10-01", end="2024-07-01"),  # 11: ends before it starts
        row("O", occupied="3000"),             # kept here: checked against available hours later
    ))
    assert list(result.usage["chargepoint_id"]) == ["GOOD", "O"]
    by_record = {problem.record: problem for problem in result.report.problems}
    assert set(by_record) == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert all(problem.severity == REJECTED for problem in result.report.problems)
    assert (by_record[3].field, by_record[3].reason) == ("chargepoint_id", "The row names no charge point.")
    assert by_record[4].field == "period_start" and "not a date" in by_record[4].reason
    assert by_record[5].field == "period_end" and "not a date" in by_record[5].reason
    assert by_record[6].field == "period_start"
    assert (by_record[7].field, by_record[7].chargepoint_id) == ("energy_kwh", "E") and "negative (-3)" in by_record[7].reason
    assert by_record[8].field == "sessions" and "not a whole number (2.5)" in by_record[8].reason
    assert by_record[9].field == "" and "5 fields but the header has 8" in by_record[9].reason
    assert by_record[10].field == "occupied_hours" and "not a number" in by_record[10].reason
    assert by_record[11].field == "period_end" and "ends before it starts" in by_record[11].reason
    assert len(result.report.problems) == 9


def test_unreadable_optional_hours_are_left_empty_and_reported():
    result = read_usage_return(csv_bytes(row("A", charging="lots", available="n/a")))
    assert result.usage["charging_hours"].isna().all() and result.usage["available_hours"].isna().all()
    assert problems(result) == [(2, "charging_hours", REPAIRED), (2, "available_hours", REPAIRED)]


def test_a_period_that_is_not_a_month_or_quarter_is_kept_and_flagged():
    result = read_usage_return(csv_bytes(row("A", end="2024-09-29"), row("B", start="2024-08-01", end="2024-10-31")))
    assert list(result.usage["chargepoint_id"]) == ["A", "B"]
    assert problems(result) == [(2, "period_end", FLAGGED), (3, "period_end", FLAGGED)]


def test_missing_required_column_is_refused_by_name():
    with pytest.raises(SourceError, match="occupied_hours"):
        read_usage_return(b"chargepoint_id,period_start,period_end,sessions,energy_kwh\nA,2024-07-01,2024-09-30,1,1\n")
    with pytest.raises(SourceError, match="chargepoint_id, period_start"):
        read_usage_return(b"sessions,energy_kwh,occupied_hours,period_end\n")


def test_unknown_columns_give_one_warning():
    result = read_usage_return(csv_bytes(row("A") + ",x,y", header=HEADER + ",colour,record"))
    assert list(result.usage["chargepoint_id"]) == ["A"]
    [warning] = result.report.problems
    assert (warning.record, warning.severity) == (1, WARNING)
    assert "'colour'" in warning.reason and "'record'" in warning.reason


def test_empty_and_header_only_files():
    with pytest.raises(SourceError):
        read_usage_return(b"")
    result = read_usage_return(HEADER.encode() + b"\n")
    assert result.usage.empty and list(result.usage.columns) == ["record"] + USAGE_COLUMNS


def test_template_reads_cleanly():
    result = read_usage_return(TEMPLATE)
    assert result.report.source == "usage_return_template.csv"
    assert result.report.problems == []
    usage = result.usage
    assert list(usage["chargepoint_id"]) == ["DEMO-000001", "DEMO-000002", "DEMO-000003"]
    assert (usage["period_start"] == pd.Timestamp("2024-07-01")).all() and (usage["period_end"] == pd.Timestamp("2024-10-01")).all()
    # Template values are consistent: occupied <= available, charging <= occupied.
    assert (usage["charging_hours"] <= usage["occupied_hours"]).all()
    assert (usage["occupied_hours"].fillna(0) <= usage["available_hours"].fillna(2208)).all()
