"""Importing usage files into the history archive (core/importer.py).

Two charge points in the plugin's standard: CP-1 (7 kW, 1 connector) and CP-2
(50 kW, 2 connectors). Q3 2024 has 2208 hours, Q4 2024 has 2209 (the October
clock change).
"""
import json

import pandas as pd
import pytest

from ev_charge_plugin.core.archive import Archive
from ev_charge_plugin.core.errors import CancelledError, SourceError
from ev_charge_plugin.core.importer import OCPI_CDRS, RETURN, SESSIONS, import_usage, usage_kind
from ev_charge_plugin.core.readers import read_chargepoints
from ev_charge_plugin.core.report import REJECTED, REPLACED, WARNING

CHARGEPOINTS_CSV = """chargepoint_id,name,operator,latitude,longitude,easting,northing,power_kw,connectors,connector_types,status,on_street,scheme
CP-1,Lamp column 1,Example Charging Ltd,51.494312,-0.115872,,,7,1,IEC_62196_T2,AVAILABLE,yes,
CP-2,Rapid hub bay 1,Example Charging Ltd,,,530785,175021,50,2,IEC_62196_T2_COMBO;CHADEMO,AVAILABLE,no,
"""
RETURN_HEADER = "chargepoint_id,period_start,period_end,sessions,energy_kwh,occupied_hours,charging_hours,available_hours"
# period_end is the quarter's last day, inclusive, as the standard has it.
CP1_Q3 = "CP-1,2024-07-01,2024-09-30,184,1545.6,1104,552,"
CP2_Q3 = "CP-2,2024-07-01,2024-09-30,920,44160,3312,1104,"
UNKNOWN_Q3 = "CP-9,2024-07-01,2024-09-30,5,10,5,,"
SESSIONS_HEADER = "session_id,chargepoint_id,start,end,energy_kwh,charging_hours"
Q3 = pd.Timestamp("2024-07-01")
Q4 = pd.Timestamp("2024-10-01")


def write(path, *lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def chargepoints_path(tmp_path):
    path = tmp_path / "chargepoints.csv"
    path.write_text(CHARGEPOINTS_CSV, encoding="utf-8")
    return path


@pytest.fixture
def chargepoints(chargepoints_path):
    result = read_chargepoints(chargepoints_path)
    assert result.report.rejected == 0 and list(result.chargepoints["chargepoint_id"]) == ["CP-1", "CP-2"]
    return result.chargepoints


@pytest.fixture
def archive_path(tmp_path):
    return tmp_path / "history.gpkg"


@pytest.fixture
def return_path(tmp_path):
    return write(tmp_path / "return_q3.csv", RETURN_HEADER, CP1_Q3, CP2_Q3, UNKNOWN_Q3)


def archived(archive_path):
    with Archive(archive_path) as archive:
        return archive.usage()


def row_of(usage, chargepoint_id, period_start):
    rows = usage[(usage["chargepoint_id"] == chargepoint_id) & (usage["period_start"] == period_start)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def rejected(report):
    return [(problem.record, problem.chargepoint_id, problem.field) for problem in report.problems if problem.severity == REJECTED]


def first_import(archive_path, return_path, chargepoints, chargepoints_path):
    return import_usage(archive_path, return_path, chargepoints=chargepoints, chargepoints_path=chargepoints_path)


# -- usage_kind ------------------------------------------------------------------


def test_usage_kind(tmp_path, return_path):
    assert usage_kind(return_path) == RETURN
    assert usage_kind(write(tmp_path / "sessions.csv", SESSIONS_HEADER)) == SESSIONS
    assert usage_kind(write(tmp_path / "sessions.txt", "Transaction ID;EVSE ID;Start Time;End Time;Energy")) == SESSIONS
    assert usage_kind(write(tmp_path / "cdrs.json", "[]")) == OCPI_CDRS
    assert usage_kind(write(tmp_path / "cdrs.JSONL", "")) == OCPI_CDRS
    with pytest.raises(SourceError):
        usage_kind(write(tmp_path / "usage.xlsx", "whatever"))


# -- a quarterly return ----------------------------------------------------------


def test_a_return_is_imported_with_unknown_charge_points_rejected(archive_path, return_path, chargepoints, chargepoints_path):
    result = first_import(archive_path, return_path, chargepoints, chargepoints_path)
    assert result.kind == RETURN
    assert result.summary.imported == 2 and result.summary.replaced == 0 and result.summary.unchanged == 0
    assert result.summary.chargepoints_registered == 2
    assert result.summary.already_imported_at is None
    # CP-9 (line 4) is not registered anywhere.
    assert rejected(result.report) == [(4, "CP-9", "chargepoint_id")]
    assert "'CP-9'" in next(problem.reason for problem in result.report.problems if problem.chargepoint_id == "CP-9")
    usage = archived(archive_path)
    assert sorted(usage["chargepoint_id"]) == ["CP-1", "CP-2"]
    cp1, cp2 = row_of(usage, "CP-1", Q3), row_of(usage, "CP-2", Q3)
    # The inclusive 30 September becomes the exclusive 1 October.
    assert cp1["period_end"] == Q4
    assert cp1["sessions"] == 184 and cp1["energy_kwh"] == 1545.6 and cp1["occupied_hours"] == 1104 and cp1["charging_hours"] == 552
    # Hours available filled from the connectors: 1 x 2208 and 2 x 2208.
    assert cp1["available_hours"] == 2208.0
    assert cp2["available_hours"] == 4416.0


def test_the_same_file_twice_changes_nothing(archive_path, return_path, chargepoints, chargepoints_path):
    first_import(archive_path, return_path, chargepoints, chargepoints_path)
    before = archived(archive_path)
    again = first_import(archive_path, return_path, chargepoints, chargepoints_path)
    assert again.summary.already_imported_at is not None
    assert again.summary.import_id is None
    assert again.summary.imported == again.summary.replaced == 0
    pd.testing.assert_frame_equal(archived(archive_path), before)
    with Archive(archive_path) as archive:
        assert len(archive.imports()) == 1


def test_the_same_return_again_without_its_charge_points_counts_nothing_twice(archive_path, return_path, chargepoints, chargepoints_path):
    first_import(archive_path, return_path, chargepoints, chargepoints_path)
    before = archived(archive_path)
    # The charge points are now known to the archive, so none need to be given.
    again = import_usage(archive_path, return_path)
    assert again.summary.imported == 0 and again.summary.replaced == 0
    # The fingerprint covers the usage and charge point files given, so this is a new import whose
    # rows all match the archive's.
    assert again.summary.already_imported_at is None and again.summary.unchanged == 2
    pd.testing.assert_frame_equal(archived(archive_path).drop(columns=["import_id", "source"]), before.drop(columns=["import_id", "source"]))


def test_a_corrected_return_replaces_the_old_row(tmp_path, archive_path, return_path, chargepoints, chargepoints_path):
    first_import(archive_path, return_path, chargepoints, chargepoints_path)
    corrected = write(tmp_path / "return_q3_corrected.csv", RETURN_HEADER, CP1_Q3.replace(",184,", ",190,"), CP2_Q3)
    result = import_usage(archive_path, corrected)
    assert result.summary.replaced == 1
    assert result.summary.unchanged == 1
    assert result.summary.imported == 0
    usage = archived(archive_path)
    assert len(usage) == 2
    assert row_of(usage, "CP-1", Q3)["sessions"] == 190
    assert row_of(usage, "CP-2", Q3)["sessions"] == 920
    replacements = result.summary.replacements
    assert len(replacements) == 1
    assert replacements["old_sessions"].iloc[0] == 184 and replacements["new_sessions"].iloc[0] == 190
    # The import report says so too, naming the older file.
    [line] = [problem for problem in result.report.problems if problem.severity == REPLACED]
    assert line.chargepoint_id == "CP-1"
    assert "Q3 2024" in line.reason and "sessions 184 -> 190" in line.reason and return_path.name in line.reason


def test_hours_beyond_the_period_are_rejected(tmp_path, archive_path, chargepoints, chargepoints_path):
    # CP-1 has one connector: 2300 h occupied in a 2208 h quarter cannot be.
    path = write(tmp_path / "return.csv", RETURN_HEADER, "CP-1,2024-07-01,2024-09-30,5,10,2300,,", CP2_Q3)
    result = import_usage(archive_path, path, chargepoints=chargepoints, chargepoints_path=chargepoints_path)
    assert rejected(result.report) == [(2, "CP-1", "occupied_hours")]
    assert result.summary.imported == 1
    assert list(archived(archive_path)["chargepoint_id"]) == ["CP-2"]


def test_a_charge_point_without_a_connector_count_is_counted_as_one(tmp_path, archive_path, chargepoints, chargepoints_path):
    points = chargepoints.copy()
    points["connectors"] = pd.array([pd.NA, 2], dtype=points["connectors"].dtype)
    path = write(tmp_path / "return.csv", RETURN_HEADER, CP1_Q3)
    result = import_usage(archive_path, path, chargepoints=points)
    assert row_of(archived(archive_path), "CP-1", Q3)["available_hours"] == 2208.0
    assert [(problem.chargepoint_id, problem.field) for problem in result.report.problems if problem.severity == WARNING] == [("CP-1", "available_hours")]


# -- sessions --------------------------------------------------------------------


def sessions_file(tmp_path, name, *rows):
    return write(tmp_path / name, SESSIONS_HEADER, *rows)


def test_a_session_csv_is_summed_into_quarters(tmp_path, archive_path, chargepoints, chargepoints_path):
    path = sessions_file(
        tmp_path, "sessions.csv",
        "S1,CP-1,2024-08-01T10:00:00Z,2024-08-01T12:00:00Z,10,1.5",    # 2 h in Q3
        "S2,CP-1,2024-08-02T10:00:00Z,2024-08-02T11:30:00Z,5,1",       # 1.5 h in Q3
        # 30 Sep 22:00 UTC to 1 Oct 01:00 UTC; Q4 starts at 30 Sep 23:00 UTC: 1 h in Q3, 2 h in Q4.
        "S3,CP-2,2024-09-30T22:00:00Z,2024-10-01T01:00:00Z,30,3",
        "S4,CP-9,2024-08-01T10:00:00Z,2024-08-01T12:00:00Z,10,1.5",    # unknown charge point
        "S1,CP-1,2024-08-03T10:00:00Z,2024-08-03T12:00:00Z,10,1.5",    # repeats S1
    )
    result = import_usage(archive_path, path, chargepoints=chargepoints, chargepoints_path=chargepoints_path)
    assert result.kind == SESSIONS
    assert sorted(rejected(result.report)) == [(5, "CP-9", "chargepoint_id"), (6, "CP-1", "session_id")]
    assert result.summary.imported == 3
    usage = archived(archive_path)
    cp1 = row_of(usage, "CP-1", Q3)
    assert cp1["sessions"] == 2 and cp1["energy_kwh"] == pytest.approx(15.0)
    assert cp1["occupied_hours"] == pytest.approx(3.5) and cp1["charging_hours"] == pytest.approx(2.5)
    assert cp1["available_hours"] == 2208.0
    cp2_q3, cp2_q4 = row_of(usage, "CP-2", Q3), row_of(usage, "CP-2", Q4)
    assert cp2_q3["sessions"] == 1 and cp2_q4["sessions"] == 0
    assert cp2_q3["occupied_hours"] == pytest.approx(1.0) and cp2_q4["occupied_hours"] == pytest.approx(2.0)
    assert cp2_q3["energy_kwh"] == pytest.approx(10.0) and cp2_q4["energy_kwh"] == pytest.approx(20.0)
    # Two connectors: 2 x 2208 in Q3, 2 x 2209 in Q4.
    assert cp2_q3["available_hours"] == 4416.0 and cp2_q4["available_hours"] == 4418.0


def test_sessions_and_a_return_for_the_same_quarter_never_double_count(tmp_path, archive_path, return_path, chargepoints, chargepoints_path):
    first_import(archive_path, return_path, chargepoints, chargepoints_path)
    # Sessions for CP-1 in Q3 replace the return's row (184 sessions), not add to it.
    path = sessions_file(tmp_path, "sessions.csv",
                         "S1,CP-1,2024-08-01T10:00:00Z,2024-08-01T12:00:00Z,10,1.5",
                         "S2,CP-1,2024-08-02T10:00:00Z,2024-08-02T11:00:00Z,5,")
    result = import_usage(archive_path, path)
    assert result.summary.replaced == 1 and result.summary.imported == 0
    cp1 = row_of(archived(archive_path), "CP-1", Q3)
    assert cp1["sessions"] == 2 and cp1["energy_kwh"] == pytest.approx(15.0) and cp1["occupied_hours"] == pytest.approx(3.0)
    # One session lacks charging hours, so the quarter's are unknown.
    assert pd.isna(cp1["charging_hours"])
    # A later return for the quarter replaces the sessions in turn.
    later = write(tmp_path / "return_q3_v2.csv", RETURN_HEADER, CP1_Q3.replace(",184,", ",186,"))
    result = import_usage(archive_path, later)
    assert result.summary.replaced == 1
    usage = archived(archive_path)
    assert len(usage[usage["chargepoint_id"] == "CP-1"]) == 1
    assert row_of(usage, "CP-1", Q3)["sessions"] == 186
    assert usage["sessions"].sum() == 186 + 920


def test_monthly_sessions_replace_a_quarterly_row_without_double_counting(tmp_path, archive_path, return_path, chargepoints, chargepoints_path):
    first_import(archive_path, return_path, chargepoints, chargepoints_path)
    path = sessions_file(tmp_path, "sessions.csv",
                         "S1,CP-1,2024-07-05T10:00:00Z,2024-07-05T12:00:00Z,10,1.5",
                         "S2,CP-1,2024-08-02T10:00:00Z,2024-08-02T11:00:00Z,5,1")
    result = import_usage(archive_path, path, freq="month")
    # Two monthly rows, both overlapping the archived quarter.
    assert result.summary.replaced == 2
    cp1 = archived(archive_path).query("chargepoint_id == 'CP-1'")
    assert list(cp1["period_start"]) == [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-08-01")]
    assert list(cp1["sessions"]) == [1, 1]
    # July 2024: 31 x 24 = 744 h for one connector.
    assert cp1["available_hours"].iloc[0] == 744.0


def test_a_cancelled_import_writes_nothing(tmp_path, archive_path, return_path, chargepoints, chargepoints_path):
    first_import(archive_path, return_path, chargepoints, chargepoints_path)
    before = archived(archive_path)
    corrected = write(tmp_path / "return_q3_corrected.csv", RETURN_HEADER, CP1_Q3.replace(",184,", ",190,"))
    with pytest.raises(CancelledError):
        import_usage(archive_path, corrected, cancelled=lambda: True)
    pd.testing.assert_frame_equal(archived(archive_path), before)


def test_progress_ends_at_one(tmp_path, archive_path, chargepoints, chargepoints_path):
    path = sessions_file(tmp_path, "sessions.csv", "S1,CP-1,2024-08-01T10:00:00Z,2024-08-01T12:00:00Z,10,1.5")
    fractions = []
    import_usage(archive_path, path, chargepoints=chargepoints, progress=fractions.append)
    assert fractions and fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)


# -- OCPI CDRs -------------------------------------------------------------------


def cdr(cdr_id, evse_id, start, end, energy, total_time, parking):
    return {"id": cdr_id, "start_date_time": start, "end_date_time": end,
            "cdr_location": {"id": "LOC1", "evse_uid": evse_id.lower(), "evse_id": evse_id},
            "total_energy": energy, "total_time": total_time, "total_parking_time": parking}


def test_ocpi_cdrs_are_imported(tmp_path, archive_path, chargepoints, chargepoints_path):
    cdrs = [
        cdr("C1", "CP-2", "2024-11-05T10:00:00Z", "2024-11-05T12:00:00Z", 40.0, 2.0, 0.5),  # charging 1.5 h
        cdr("C2", "CP-2", "2024-11-06T08:00:00Z", "2024-11-06T09:00:00Z", 20.0, 1.0, 0.0),  # charging 1 h
        cdr("C3", "CP-X", "2024-11-06T08:00:00Z", "2024-11-06T09:00:00Z", 20.0, 1.0, 0.0),  # unknown
    ]
    path = tmp_path / "cdrs.json"
    path.write_text(json.dumps({"data": cdrs, "status_code": 1000, "timestamp": "2025-01-02T00:00:00Z"}), encoding="utf-8")
    result = import_usage(archive_path, path, chargepoints=chargepoints, chargepoints_path=chargepoints_path)
    assert result.kind == OCPI_CDRS
    assert rejected(result.report) == [(3, "CP-X", "chargepoint_id")]
    assert result.summary.imported == 1
    cp2 = row_of(archived(archive_path), "CP-2", Q4)
    assert cp2["period_end"] == pd.Timestamp("2025-01-01")
    assert cp2["sessions"] == 2
    assert cp2["energy_kwh"] == pytest.approx(60.0)
    assert cp2["occupied_hours"] == pytest.approx(3.0)
    assert cp2["charging_hours"] == pytest.approx(2.5)
    # Two connectors x 2209 h (Q4 2024 gains an hour on 27 October).
    assert cp2["available_hours"] == 4418.0


def test_a_file_that_cannot_be_read_leaves_no_archive_behind(tmp_path, chargepoints, chargepoints_path):
    archive = tmp_path / "new_history.gpkg"
    broken = write(tmp_path / "broken.csv", "chargepoint_id,period_start")  # required columns missing
    with pytest.raises(SourceError):
        import_usage(archive, broken, chargepoints=chargepoints, chargepoints_path=chargepoints_path)
    assert not archive.exists()


def test_the_same_sessions_summed_by_month_are_a_new_import(tmp_path, archive_path, chargepoints, chargepoints_path):
    path = sessions_file(tmp_path, "sessions.csv",
                         "S1,CP-1,2024-07-05T10:00:00Z,2024-07-05T12:00:00Z,10,1.5",
                         "S2,CP-1,2024-08-02T10:00:00Z,2024-08-02T11:00:00Z,5,1")
    by_quarter = import_usage(archive_path, path, chargepoints=chargepoints, chargepoints_path=chargepoints_path)
    by_month = import_usage(archive_path, path, chargepoints=chargepoints, chargepoints_path=chargepoints_path, freq="month")
    assert (by_quarter.summary.imported, by_month.summary.already_imported_at) == (1, None)
    # The two months replace the quarter: July and August, never both and the quarter.
    assert by_month.summary.replaced == 2
    again = import_usage(archive_path, path, chargepoints=chargepoints, chargepoints_path=chargepoints_path, freq="month")
    assert again.summary.already_imported_at is not None
