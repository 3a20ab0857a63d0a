"""Session-level CSV (core/readers/sessions_csv.py): the fast and slow paths, chunks, bad rows."""
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ev_charge_plugin.core.errors import CancelledError, SourceError
from ev_charge_plugin.core.readers.sessions_csv import is_sessions_header, read_session_chunks, read_sessions_csv
from ev_charge_plugin.core.report import REJECTED, WARNING, ValidationReport
from ev_charge_plugin.core.usage import SESSION_COLUMNS

HEADER = "session_id,chargepoint_id,start,end,energy_kwh,charging_hours"


def session_row(number, cp_id="CP-1", day=1, energy=None, charging="1.5"):
    """A 2.5 h session (10:00 to 12:30 UTC) on ``day`` July 2024."""
    energy = f"{number}.5" if energy is None else energy
    return f"S{number},{cp_id},2024-07-{day:02d}T10:00:00Z,2024-07-{day:02d}T12:30:00Z,{energy},{charging}"


def csv_bytes(rows, header=HEADER, newline="\n", encoding="utf-8"):
    return (newline.join([header] + list(rows)) + newline).encode(encoding)


def quoted(rows, header=HEADER):
    """The same content with every field quoted, which sends the file down the csv-module path."""
    def quote(line):
        return ",".join(f'"{field}"' for field in line.split(","))
    return csv_bytes([quote(row) for row in rows], header=quote(header))


def problems(report):
    return [(problem.record, problem.field, problem.severity) for problem in report.problems]


TEN = [session_row(i, cp_id=f"CP-{i % 3}", day=1 + i) for i in range(10)]


def test_a_plain_file_is_read_and_typed():
    result = read_sessions_csv(csv_bytes(TEN[:2]))
    sessions = result.sessions
    assert list(sessions.columns) == ["record"] + SESSION_COLUMNS
    assert list(sessions["record"]) == [2, 3]
    assert list(sessions["session_id"]) == ["S0", "S1"]
    assert list(sessions["chargepoint_id"]) == ["CP-0", "CP-1"]
    assert sessions["start"].iloc[1] == pd.Timestamp("2024-07-02 10:00", tz="UTC")
    assert sessions["end"].iloc[1] == pd.Timestamp("2024-07-02 12:30", tz="UTC")
    assert list(sessions["energy_kwh"]) == [0.5, 1.5]
    assert list(sessions["charging_hours"]) == [1.5, 1.5]
    assert result.usage is None and result.report.problems == []


def test_the_fast_and_slow_paths_give_identical_sessions():
    fast = read_sessions_csv(csv_bytes(TEN))
    slow = read_sessions_csv(quoted(TEN))
    assert len(fast.sessions) == 10
    pd.testing.assert_frame_equal(fast.sessions.reset_index(drop=True), slow.sessions.reset_index(drop=True))
    assert fast.report.problems == slow.report.problems == []


def test_the_paths_agree_on_bad_values_too():
    rows = [session_row(1), session_row(2, energy="-3"), session_row(3, energy=" 12.5 "), session_row(4, charging=""),
            "S5,CP-1,not a time,2024-07-01T12:00:00Z,1,", session_row(1, day=9)]
    fast = read_sessions_csv(csv_bytes(rows))
    slow = read_sessions_csv(quoted(rows))
    pd.testing.assert_frame_equal(fast.sessions.reset_index(drop=True), slow.sessions.reset_index(drop=True))
    assert problems(fast.report) == problems(slow.report)
    # Line 3: negative energy; line 6: start not a time; line 7: S1 again.
    assert sorted(problems(fast.report)) == [(3, "energy_kwh", REJECTED), (6, "start", REJECTED), (7, "session_id", REJECTED)]
    good = fast.sessions.set_index("record")
    assert good.loc[4, "energy_kwh"] == 12.5
    assert pd.isna(good.loc[5, "charging_hours"])


@pytest.mark.parametrize("make", [csv_bytes, quoted], ids=["unquoted", "quoted"])
def test_rows_with_too_many_and_too_few_fields_are_reported_by_line_and_good_rows_kept(make):
    rows = [session_row(1), session_row(2) + ",extra", session_row(3), "S4,CP-1,2024-07-01T10:00:00Z,2024-07-01T11:00:00Z,1", session_row(5)]
    result = read_sessions_csv(make(rows))
    # Line 3 has 7 fields, line 5 has 5; the header has 6. The delimiter count balances out, so the
    # file looks well formed to the fast path's check; both rows must still be reported and left out.
    assert list(result.sessions["record"]) == [2, 4, 6]
    assert list(result.sessions["session_id"]) == ["S1", "S3", "S5"]
    assert problems(result.report) == [(3, "", REJECTED), (5, "", REJECTED)]
    assert "7 fields" in result.report.problems[0].reason and "5 fields" in result.report.problems[1].reason


def test_a_row_with_too_few_fields_alone_is_reported():
    rows = [session_row(1), "S2,CP-1,2024-07-01T10:00:00Z", session_row(3)]
    result = read_sessions_csv(csv_bytes(rows))
    assert list(result.sessions["record"]) == [2, 4]
    assert problems(result.report) == [(3, "", REJECTED)]


def test_windows_1252_bytes():
    rows = ["S1,Café Street 1,2024-07-01T10:00:00Z,2024-07-01T11:00:00Z,3.5,", "S2,Café Street 2,2024-07-01T10:00:00Z,2024-07-01T11:00:00Z,1,"]
    data = csv_bytes(rows, encoding="cp1252")
    assert b"Caf\xe9" in data
    result = read_sessions_csv(data)
    assert list(result.sessions["chargepoint_id"]) == ["Café Street 1", "Café Street 2"]
    assert list(result.sessions["energy_kwh"]) == [3.5, 1.0]


def test_semicolons_and_decimal_commas():
    data = ("session_id;chargepoint_id;start;end;energy_kwh;charging_hours\n"
            "S1;CP-1;2024-07-01T10:00:00Z;2024-07-01T12:00:00Z;12,5;1,25\n"
            "S2;CP-2;2024-07-01T10:00:00Z;2024-07-01T11:00:00Z;3;\n").encode()
    result = read_sessions_csv(data)
    assert list(result.sessions["session_id"]) == ["S1", "S2"]
    assert list(result.sessions["energy_kwh"]) == [12.5, 3.0]
    assert result.sessions["charging_hours"].iloc[0] == 1.25
    assert result.report.problems == []


def test_windows_line_endings():
    assert list(read_sessions_csv(csv_bytes(TEN[:3], newline="\r\n")).sessions["session_id"]) == ["S0", "S1", "S2"]


def test_a_missing_required_column_is_a_source_error():
    with pytest.raises(SourceError, match="energy_kwh"):
        read_sessions_csv(b"session_id,chargepoint_id,start,end\nS1,CP-1,2024-07-01T10:00:00Z,2024-07-01T11:00:00Z\n")
    with pytest.raises(SourceError):
        read_sessions_csv(b"")
    with pytest.raises(SourceError):
        read_sessions_csv(b"\n\n")


def test_header_aliases_in_any_order_and_unused_columns_warned():
    data = ("Start Time,End Time,Transaction ID,EVSE ID,Total Energy,Charging Time,Tariff\n"
            "2024-07-01T10:00:00Z,2024-07-01T12:00:00Z,T1,GB*ABC*E1,7.5,1.5,cheap\n").encode()
    result = read_sessions_csv(data)
    row = result.sessions.iloc[0]
    assert row["session_id"] == "T1" and row["chargepoint_id"] == "GB*ABC*E1"
    assert row["energy_kwh"] == 7.5 and row["charging_hours"] == 1.5
    assert row["end"] - row["start"] == pd.Timedelta(hours=2)
    assert problems(result.report) == [(1, "", WARNING)] and "Tariff" in result.report.problems[0].reason


def test_without_charging_hours_they_are_unknown():
    data = b"session_id,chargepoint_id,start,end,energy_kwh\nS1,CP-1,2024-07-01T10:00:00Z,2024-07-01T11:00:00Z,2\n"
    sessions = read_sessions_csv(data).sessions
    assert len(sessions) == 1 and sessions["charging_hours"].isna().all()


def test_is_sessions_header():
    assert is_sessions_header(HEADER.split(","))
    assert is_sessions_header(["Transaction ID", "Start Time", "End Time"])
    assert not is_sessions_header(["chargepoint_id", "period_start", "period_end", "sessions"])


@pytest.mark.parametrize("make", [csv_bytes, quoted], ids=["fast", "slow"])
def test_duplicates_across_chunks_are_caught(make):
    # Ten rows, chunks of 3: lines 2-4, 5-7, 8-10, 11. S2 (line 4) comes back on line 10, S0 (line 2) on 11.
    rows = [session_row(i, day=1 + i) for i in range(8)] + [session_row(2, day=20), session_row(0, day=21)]
    report = ValidationReport()
    chunks = read_session_chunks(make(rows), report, lambda sessions: list(sessions["record"]), chunk_rows=3)
    assert chunks == [[2, 3, 4], [5, 6, 7], [8, 9], []]
    assert problems(report) == [(10, "session_id", REJECTED), (11, "session_id", REJECTED)]


@pytest.mark.parametrize("make", [csv_bytes, quoted], ids=["fast", "slow"])
def test_progress_ends_at_one(make):
    fractions = []
    read_session_chunks(make(TEN), ValidationReport(), len, chunk_rows=3, progress=fractions.append)
    assert len(fractions) == 4
    assert fractions == sorted(fractions) and 0 < fractions[0]
    assert fractions[-1] == pytest.approx(1.0)


def test_cancelled_stops_with_cancelled_error():
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) >= 2

    seen = []
    with pytest.raises(CancelledError):
        read_session_chunks(csv_bytes(TEN), ValidationReport(), seen.append, chunk_rows=3, cancelled=cancelled)
    # The first chunk went through, the second was stopped before it was handed on.
    assert len(seen) == 1


def test_read_from_a_path(tmp_path):
    path = tmp_path / "sessions.csv"
    path.write_bytes(csv_bytes(TEN[:4]))
    result = read_sessions_csv(path)
    assert len(result.sessions) == 4 and result.report.source == "sessions.csv"


# -- properties ------------------------------------------------------------------

TOKENS = ["S1", "S2", "CP-1", "GB*ABC*E1", "2024-07-01T10:00:00Z", "2024-07-01T12:00:00+01:00", "2024-13-45T99:00",
          "", " ", "12,5", "-1", "1e309", "nan", "NA", "é", "\u00a0", '"', '""', "'", ";", ",", "\r", "\n", "\r\n",
          "x" * 300, "0", "3.25", "session_id", "start", "end"]
HEADERS = [HEADER, HEADER.replace(",", ";"), "Transaction ID,EVSE ID,Start Time,End Time,Energy", "start,end", ""]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_result_or_a_source_error(data):
    try:
        result = read_sessions_csv(data)
    except SourceError:
        return
    assert list(result.sessions.columns) == ["record"] + SESSION_COLUMNS


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HEADERS),
       st.lists(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=8), max_size=8),
       st.sampled_from([",", ";"]), st.sampled_from(["\n", "\r\n"]), st.sampled_from(["utf-8", "cp1252"]),
       st.integers(min_value=1, max_value=4))
def test_garbled_csv_gives_a_result_or_a_source_error(header, rows, delimiter, newline, encoding, chunk_rows):
    text = newline.join([header] + [delimiter.join(row) for row in rows]) + newline
    data = text.encode(encoding, errors="replace")
    try:
        result = read_sessions_csv(data, chunk_rows=chunk_rows)
    except SourceError:
        return
    sessions = result.sessions
    assert list(sessions.columns) == ["record"] + SESSION_COLUMNS
    assert not sessions["session_id"].duplicated().any()
    assert (sessions["end"] >= sessions["start"]).all()
    assert (sessions["energy_kwh"] >= 0).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["S1", "S2", "S3", "S4", ""]), st.sampled_from(["CP-1", "CP-2", ""]),
                          st.sampled_from(["2024-07-01T10:00:00Z", "2024-07-01T11:00:00+01:00", "bad", ""]),
                          st.sampled_from(["2024-07-01T12:00:00Z", "2024-07-01T09:00:00Z", ""]),
                          st.sampled_from(["1", "2.5", "-1", " 3 ", "", "x"]), st.sampled_from(["", "1", "5", "-0.5"])),
                min_size=1, max_size=8),
       st.integers(min_value=1, max_value=3))
def test_fast_and_slow_paths_agree(rows, chunk_rows):
    lines = [",".join(row) for row in rows]
    fast_report, slow_report = ValidationReport(), ValidationReport()
    fast = pd.concat(read_session_chunks(csv_bytes(lines), fast_report, lambda frame: frame, chunk_rows=chunk_rows), ignore_index=True)
    slow = pd.concat(read_session_chunks(quoted(lines), slow_report, lambda frame: frame, chunk_rows=chunk_rows), ignore_index=True)
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
    assert problems(fast_report) == problems(slow_report)


def test_times_in_every_layout_read_from_the_bytes_or_as_text_agree_with_the_csv_module_path():
    # The fixed layout (with or without Z, T or a space) is read from the bytes; the rest goes to the text parser.
    times = [
        ("2024-07-01T10:00:00Z", "2024-07-01 10:00:00+00:00"),
        ("2024-07-01 10:00:00", "2024-07-01 10:00:00+00:00"),        # no offset: UTC
        ("2024-07-01T11:00:00+01:00", "2024-07-01 10:00:00+00:00"),  # an offset
        ("2024-07-01T10:00:00.250Z", "2024-07-01 10:00:00.250+00:00"),
        ("2024-02-30T10:00:00Z", None),                               # no such day
        ("2024-07-01T24:00:00Z", None),                               # no such hour
        ("01/07/2024 10:00", None),                                   # day and month cannot be told apart
    ]
    rows = [f"S{number},CP-1,{start},2024-07-02T10:00:00Z,1," for number, (start, _) in enumerate(times)]
    fast = read_sessions_csv(csv_bytes(rows))
    slow = read_sessions_csv(quoted(rows))
    expected = [pd.Timestamp(value) for _, value in times if value is not None]
    for result in (fast, slow):
        assert list(result.sessions["start"]) == expected
        assert [(problem.record, problem.field) for problem in result.report.problems] == [(6, "start"), (7, "start"), (8, "start")]


def test_a_time_in_the_last_column_of_a_crlf_file():
    rows = ["S1,CP-1,2.5,2024-07-01T10:00:00Z,2024-07-01T12:30:00Z", "S2,CP-1,1,2024-07-02T10:00:00Z,2024-07-02T11:00:00"]
    result = read_sessions_csv(csv_bytes(rows, header="session_id,chargepoint_id,energy_kwh,start,end", newline="\r\n"))
    assert not result.report.problems
    assert list(result.sessions["end"]) == [pd.Timestamp("2024-07-01 12:30", tz="UTC"), pd.Timestamp("2024-07-02 11:00", tz="UTC")]
