"""Usage and sessions: periods, aggregation of sessions, and the checks (core/usage.py).

Expected values are worked out by hand in the comments; London is on GMT
(UTC+0) until 01:00 UTC on 31 March 2024 and on BST (UTC+1) until 01:00 UTC on
27 October 2024.
"""
import numpy as np
import pandas as pd
import pytest

from ev_charge_plugin.core.report import REJECTED, WARNING, ValidationReport
from ev_charge_plugin.core.usage import (SESSION_COLUMNS, USAGE_COLUMNS, SeenSessions, aggregate_sessions, check_usage,
                                         fill_available_hours, finalise_sessions,
                                         finalise_usage, london_midnight_utc, period_hours, period_label,
                                         reject_unknown_chargepoints, sum_usage)

NAN = float("nan")


def sessions(*rows):
    """Sessions from (session_id, chargepoint_id, start, end, energy_kwh, charging_hours) with UTC times."""
    frame = pd.DataFrame(rows, columns=SESSION_COLUMNS)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame.astype({"energy_kwh": "float64", "charging_hours": "float64"})


def by_period(usage):
    return usage.set_index(["chargepoint_id", "period_start"])


def problems(report):
    return [(problem.record, problem.field, problem.severity) for problem in report.problems]


# -- periods -------------------------------------------------------------------


def test_period_hours_over_the_clock_changes():
    # Q1 2024: 31 + 29 + 31 = 91 days = 2184 h, less the hour lost on 31 March -> 2183.
    # Q2 2024: 30 + 31 + 30 = 91 days = 2184 h, wholly in BST -> 2184.
    # Q3 2024: 31 + 31 + 30 = 92 days = 2208 h.
    # Q4 2024: 31 + 30 + 31 = 92 days = 2208 h, plus the hour gained on 27 October -> 2209.
    hours = period_hours(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"],
                         ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"])
    assert list(hours) == [2183.0, 2184.0, 2208.0, 2209.0]
    # March 2024 alone: 31 x 24 - 1 = 743; the 31st itself is 23 hours long.
    assert list(period_hours(["2024-03-01", "2024-03-31", "2024-10-27"], ["2024-04-01", "2024-04-01", "2024-10-28"])) == [743.0, 23.0, 25.0]


def test_london_midnight_is_23_utc_in_summer():
    instants = london_midnight_utc(["2024-04-01", "2024-01-01"])
    assert instants[0] == pd.Timestamp("2024-03-31 23:00", tz="UTC")
    assert instants[1] == pd.Timestamp("2024-01-01 00:00", tz="UTC")


@pytest.mark.parametrize("start, end, label", [
    ("2024-07-01", "2024-10-01", "Q3 2024"),
    ("2024-01-01", "2024-04-01", "Q1 2024"),
    ("2024-10-01", "2025-01-01", "Q4 2024"),
    ("2024-07-01", "2024-08-01", "Jul 2024"),
    ("2024-12-01", "2025-01-01", "Dec 2024"),
    # Three months not starting a quarter is a range, its end given inclusive.
    ("2024-02-01", "2024-05-01", "1 Feb 2024 to 30 Apr 2024"),
    ("2024-07-01", "2025-07-01", "1 Jul 2024 to 30 Jun 2025"),
    ("2024-07-10", "2024-07-21", "10 Jul 2024 to 20 Jul 2024"),
])
def test_period_label(start, end, label):
    assert period_label(start, end) == label


# -- aggregate_sessions ----------------------------------------------------------


def test_a_session_inside_one_quarter():
    # 10:00 to 12:30 UTC on 1 Aug 2024: 2.5 h, all in Q3 (London periods, [1 Jul, 1 Oct)).
    usage = aggregate_sessions(sessions(("s1", "A", "2024-08-01T10:00Z", "2024-08-01T12:30Z", 12.5, 2.0)))
    assert list(usage.columns) == USAGE_COLUMNS
    assert len(usage) == 1
    row = usage.iloc[0]
    assert row["chargepoint_id"] == "A"
    assert row["period_start"] == pd.Timestamp("2024-07-01") and row["period_end"] == pd.Timestamp("2024-10-01")
    assert row["sessions"] == 1
    assert row["energy_kwh"] == pytest.approx(12.5)
    assert row["occupied_hours"] == pytest.approx(2.5)
    assert row["charging_hours"] == pytest.approx(2.0)
    assert np.isnan(row["available_hours"])


def test_a_session_crossing_the_quarter_boundary_at_london_midnight_is_split_by_time():
    # 1 April 2024 00:00 London (BST) = 31 March 23:00 UTC.
    # Session 20:00 UTC 31 Mar to 02:00 UTC 1 Apr = 6 h: 20:00 -> 23:00 is 3 h (Q1),
    # 23:00 -> 02:00 is 3 h (Q2). Energy 30 kWh -> 15 / 15.
    # Charging 4 h -> 2 / 2. Counted once, in Q1 where it started.
    # A second session 22:00 UTC 31 Mar to 23:30 UTC = 1.5 h: 1 h in Q1, 0.5 h in Q2 (a third).
    # Energy 9 -> 6 / 3; charging 1.5 -> 1 / 0.5.
    usage = by_period(aggregate_sessions(sessions(
        ("s1", "A", "2024-03-31T20:00Z", "2024-04-01T02:00Z", 30.0, 4.0),
        ("s2", "B", "2024-03-31T22:00Z", "2024-03-31T23:30Z", 9.0, 1.5),
    )))
    q1, q2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01")
    assert usage.loc[("A", q1), "period_end"] == q2 and usage.loc[("A", q2), "period_end"] == pd.Timestamp("2024-07-01")
    assert usage.loc[("A", q1), "occupied_hours"] == pytest.approx(3.0)
    assert usage.loc[("A", q2), "occupied_hours"] == pytest.approx(3.0)
    assert usage.loc[("A", q1), "energy_kwh"] == pytest.approx(15.0)
    assert usage.loc[("A", q2), "energy_kwh"] == pytest.approx(15.0)
    assert usage.loc[("A", q1), "charging_hours"] == pytest.approx(2.0)
    assert usage.loc[("A", q2), "charging_hours"] == pytest.approx(2.0)
    assert usage.loc[("A", q1), "sessions"] == 1 and usage.loc[("A", q2), "sessions"] == 0
    assert usage.loc[("B", q1), "occupied_hours"] == pytest.approx(1.0)
    assert usage.loc[("B", q2), "occupied_hours"] == pytest.approx(0.5)
    assert usage.loc[("B", q1), "energy_kwh"] == pytest.approx(6.0)
    assert usage.loc[("B", q2), "energy_kwh"] == pytest.approx(3.0)
    assert usage.loc[("B", q1), "charging_hours"] == pytest.approx(1.0)
    assert usage.loc[("B", q2), "charging_hours"] == pytest.approx(0.5)
    assert usage.loc[("B", q1), "sessions"] == 1 and usage.loc[("B", q2), "sessions"] == 0
    assert usage["sessions"].sum() == 2


def test_a_session_spanning_three_months_in_month_mode():
    # 12:00 UTC 31 Jan 2024 to 12:00 UTC 1 Mar 2024 (GMT throughout): 30 days = 720 h.
    # Jan: 12 h; Feb (29 days in 2024): 696 h; Mar: 12 h.
    # Energy 72 kWh -> 1.2 / 69.6 / 1.2; charging 7.2 h -> 0.12 / 6.96 / 0.12.
    usage = aggregate_sessions(sessions(("s1", "A", "2024-01-31T12:00Z", "2024-03-01T12:00Z", 72.0, 7.2)), freq="month")
    assert list(usage["period_start"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")]
    assert list(usage["period_end"]) == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")]
    assert usage["occupied_hours"].to_numpy() == pytest.approx([12.0, 696.0, 12.0])
    assert usage["energy_kwh"].to_numpy() == pytest.approx([1.2, 69.6, 1.2])
    assert usage["charging_hours"].to_numpy() == pytest.approx([0.12, 6.96, 0.12])
    assert list(usage["sessions"]) == [1, 0, 0]


def test_a_session_ending_exactly_on_a_boundary_belongs_to_the_earlier_period_only():
    # 1 Jul 2024 00:00 London = 30 Jun 23:00 UTC. 21:00 -> 23:00 UTC: 2 h, all in Q2; Q3 gets no row.
    usage = aggregate_sessions(sessions(("s1", "A", "2024-06-30T21:00Z", "2024-06-30T23:00Z", 8.0, 2.0)))
    assert len(usage) == 1
    assert usage["period_start"].iloc[0] == pd.Timestamp("2024-04-01")
    assert usage["occupied_hours"].iloc[0] == pytest.approx(2.0)
    assert usage["energy_kwh"].iloc[0] == pytest.approx(8.0)
    # The same in month mode: June only.
    monthly = aggregate_sessions(sessions(("s1", "A", "2024-06-30T21:00Z", "2024-06-30T23:00Z", 8.0, 2.0)), freq="month")
    assert list(monthly["period_start"]) == [pd.Timestamp("2024-06-01")]


def test_a_session_starting_exactly_on_a_boundary_belongs_to_the_later_period():
    # 30 Jun 23:00 UTC is 1 Jul 00:00 London: Q3.
    usage = aggregate_sessions(sessions(("s1", "A", "2024-06-30T23:00Z", "2024-07-01T01:00Z", 4.0, 1.0)))
    assert list(usage["period_start"]) == [pd.Timestamp("2024-07-01")]
    assert usage["occupied_hours"].iloc[0] == pytest.approx(2.0)


def test_a_zero_length_session_counts_once_with_its_energy_and_no_hours():
    usage = aggregate_sessions(sessions(("s1", "A", "2024-08-01T10:00Z", "2024-08-01T10:00Z", 0.5, 0.0)))
    assert len(usage) == 1
    assert usage["sessions"].iloc[0] == 1
    assert usage["occupied_hours"].iloc[0] == 0.0
    assert usage["energy_kwh"].iloc[0] == pytest.approx(0.5)
    assert usage["charging_hours"].iloc[0] == 0.0


def test_charging_hours_unknown_for_a_period_where_any_session_lacks_them():
    usage = by_period(aggregate_sessions(sessions(
        ("s1", "A", "2024-08-01T10:00Z", "2024-08-01T12:00Z", 10.0, 1.0),
        ("s2", "A", "2024-08-02T10:00Z", "2024-08-02T12:00Z", 10.0, NAN),
        ("s3", "A", "2024-11-02T10:00Z", "2024-11-02T12:00Z", 10.0, 1.5),
        ("s4", "B", "2024-08-02T10:00Z", "2024-08-02T11:00Z", 5.0, 0.5),
    )))
    q3, q4 = pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-01")
    assert np.isnan(usage.loc[("A", q3), "charging_hours"])
    # The rest of the period's sums are still there: 2 sessions, 4 h, 20 kWh.
    assert usage.loc[("A", q3), "sessions"] == 2
    assert usage.loc[("A", q3), "occupied_hours"] == pytest.approx(4.0)
    assert usage.loc[("A", q3), "energy_kwh"] == pytest.approx(20.0)
    assert usage.loc[("A", q4), "charging_hours"] == pytest.approx(1.5)
    assert usage.loc[("B", q3), "charging_hours"] == pytest.approx(0.5)


def test_a_crossing_session_without_charging_hours_spoils_both_periods_only():
    # s1 crosses Q1/Q2 without charging hours; s2 is in Q2 with them. Both periods lack charging hours.
    usage = by_period(aggregate_sessions(sessions(
        ("s1", "A", "2024-03-31T20:00Z", "2024-04-01T02:00Z", 30.0, NAN),
        ("s2", "A", "2024-05-01T10:00Z", "2024-05-01T11:00Z", 5.0, 1.0),
        ("s3", "A", "2024-08-01T10:00Z", "2024-08-01T11:00Z", 5.0, 1.0),
    )))
    assert np.isnan(usage.loc[("A", pd.Timestamp("2024-01-01")), "charging_hours"])
    assert np.isnan(usage.loc[("A", pd.Timestamp("2024-04-01")), "charging_hours"])
    assert usage.loc[("A", pd.Timestamp("2024-07-01")), "charging_hours"] == pytest.approx(1.0)


def test_no_sessions_give_empty_usage():
    usage = aggregate_sessions(sessions())
    assert usage.empty and list(usage.columns) == USAGE_COLUMNS


def test_sum_usage_adds_chunks_and_keeps_charging_unknown_if_any_chunk_lacks_it():
    q3 = (pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-01"))
    first = pd.DataFrame([["A", *q3, 2, 10.0, 3.0, 1.0, NAN], ["B", *q3, 1, 5.0, 2.0, 1.0, NAN]], columns=USAGE_COLUMNS)
    second = pd.DataFrame([["A", *q3, 3, 7.5, 4.0, 2.0, NAN], ["B", *q3, 1, 1.0, 1.0, NAN, NAN]], columns=USAGE_COLUMNS)
    total = sum_usage([first, second]).set_index("chargepoint_id")
    assert total.loc["A", "sessions"] == 5 and total["sessions"].dtype == "int64"
    assert total.loc["A", "energy_kwh"] == pytest.approx(17.5)
    assert total.loc["A", "occupied_hours"] == pytest.approx(7.0)
    assert total.loc["A", "charging_hours"] == pytest.approx(3.0)
    assert total.loc["B", "occupied_hours"] == pytest.approx(3.0)
    assert np.isnan(total.loc["B", "charging_hours"])


# -- available hours and checks -------------------------------------------------


def usage_rows(*rows):
    """Usage rows (record, chargepoint_id, start, end, sessions, energy, occupied, charging, available)."""
    frame = pd.DataFrame(rows, columns=["record"] + USAGE_COLUMNS)
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.astype({"sessions": "int64", "energy_kwh": "float64", "occupied_hours": "float64",
                         "charging_hours": "float64", "available_hours": "float64"})


def test_fill_available_hours_counts_connectors_and_warns_about_unknown_ones():
    usage = usage_rows(
        (2, "A", "2024-07-01", "2024-10-01", 1, 1.0, 1.0, NAN, NAN),
        (3, "B", "2024-07-01", "2024-10-01", 1, 1.0, 1.0, NAN, NAN),
        (4, "B", "2024-10-01", "2025-01-01", 1, 1.0, 1.0, NAN, NAN),
        (5, "C", "2024-07-01", "2024-10-01", 1, 1.0, 1.0, NAN, NAN),
        (6, "D", "2024-07-01", "2024-10-01", 1, 1.0, 1.0, NAN, 1000.0),
        (7, "E", "2024-01-01", "2024-04-01", 1, 1.0, 1.0, NAN, NAN),
    )
    connectors = pd.Series({"A": 2, "C": 0, "D": 4, "E": 3})
    report = ValidationReport()
    filled = fill_available_hours(usage, connectors, report).set_index("record")
    # A: 2 connectors x 2208 h in Q3 2024.
    assert filled.loc[2, "available_hours"] == 4416.0
    # B: not in the series -> one connector: Q3 2208, Q4 2209.
    assert filled.loc[3, "available_hours"] == 2208.0
    assert filled.loc[4, "available_hours"] == 2209.0
    # C: 0 connectors is not a count -> one.
    assert filled.loc[5, "available_hours"] == 2208.0
    # D: given in the return, kept.
    assert filled.loc[6, "available_hours"] == 1000.0
    # E: 3 x 2183 in Q1 2024.
    assert filled.loc[7, "available_hours"] == 6549.0
    warned = sorted((problem.chargepoint_id, problem.field, problem.severity) for problem in report.problems)
    # Once per charge point, B's two rows included.
    assert warned == [("B", "available_hours", WARNING), ("C", "available_hours", WARNING)]
    # The input is not changed.
    assert usage["available_hours"].isna().sum() == 5


def test_check_usage_rejects_impossible_hours_and_overlapping_periods():
    usage = usage_rows(
        (2, "A", "2024-07-01", "2024-10-01", 1, 1.0, 2208.5, NAN, 2208.0),   # occupied > available
        (3, "B", "2024-07-01", "2024-10-01", 1, 1.0, 10.0, 10.5, 2208.0),    # charging > occupied
        (4, "C", "2024-07-01", "2024-10-01", 1, 1.0, 10.0, 5.0, 2208.0),     # fine
        (5, "C", "2024-08-01", "2024-09-01", 1, 1.0, 10.0, 5.0, 744.0),      # August inside Q3 for C: rejected
        (6, "D", "2024-08-01", "2024-09-01", 1, 1.0, 10.0, 5.0, 744.0),      # the same month for another charge point: fine
        (7, "C", "2024-10-01", "2025-01-01", 1, 1.0, 2209.0, 10.0, 2209.0),  # touching the Q3 row, not overlapping: fine
        (8, "E", "2024-07-01", "2024-10-01", 1, 1.0, 2208.005, 2208.005, 2208.0),  # within the 0.01 h rounding slack
    )
    report = ValidationReport()
    kept = check_usage(usage, report)
    assert sorted(kept["record"]) == [4, 6, 7, 8]
    assert sorted(problems(report)) == [(2, "occupied_hours", REJECTED), (3, "charging_hours", REJECTED), (5, "period_start", REJECTED)]
    assert {problem.record: problem.chargepoint_id for problem in report.problems} == {2: "A", 3: "B", 5: "C"}


def test_reject_unknown_chargepoints_names_each_row():
    usage = usage_rows((2, "A", "2024-07-01", "2024-10-01", 1, 1.0, 1.0, NAN, NAN),
                       (3, "Z", "2024-07-01", "2024-10-01", 1, 1.0, 1.0, NAN, NAN))
    report = ValidationReport()
    kept = reject_unknown_chargepoints(usage, ["A", "B"], report)
    assert list(kept["chargepoint_id"]) == ["A"]
    assert problems(report) == [(3, "chargepoint_id", REJECTED)]
    assert report.problems[0].chargepoint_id == "Z" and "'Z'" in report.problems[0].reason


# -- finalise_sessions / finalise_usage -------------------------------------------


def test_finalise_sessions_rejects_each_kind_of_bad_row_with_its_record_and_field():
    raw = pd.DataFrame([
        (2, "S1", "A", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "10.5", "1.5"),   # good
        (3, "", "A", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "1", ""),            # no session id
        (4, "S3", " ", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "1", ""),          # no charge point
        (5, "S4", "A", "yesterday", "2024-08-01T12:00:00Z", "1", ""),                     # start not a time
        (6, "S5", "A", "2024-08-01T10:00:00Z", "", "1", ""),                              # no end
        (7, "S6", "A", "2024-08-01T12:00:00Z", "2024-08-01T10:00:00Z", "1", ""),          # end before start
        (8, "S7", "A", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "-1", ""),         # negative energy
        (9, "S8", "A", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "", ""),           # no energy
        (10, "S9", "A", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "1", "2.5"),      # charging 2.5 h > 2 h session
        (11, "S10", "A", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", "1", "-0.5"),    # negative charging
        (12, "S1", "B", "2024-08-02T10:00:00Z", "2024-08-02T12:00:00Z", "3", ""),         # repeats S1
        (13, "S11", "B", "2024-08-01T11:00:00+01:00", "2024-08-01T12:00:00+01:00", "2", "1.0"),  # good, offset
    ], columns=["record"] + SESSION_COLUMNS)
    report = ValidationReport()
    seen = SeenSessions()
    kept = finalise_sessions(raw, report, seen)
    assert list(kept.columns) == ["record"] + SESSION_COLUMNS
    assert list(kept["record"]) == [2, 13]
    # Each bad row once, under the first check it fails (the report lists them check by check).
    assert sorted(problems(report)) == [
        (3, "session_id", REJECTED), (4, "chargepoint_id", REJECTED), (5, "start", REJECTED), (6, "end", REJECTED),
        (7, "end", REJECTED), (8, "energy_kwh", REJECTED), (9, "energy_kwh", REJECTED), (10, "charging_hours", REJECTED),
        (11, "charging_hours", REJECTED), (12, "session_id", REJECTED),
    ]
    good = kept.set_index("record")
    assert good.loc[2, "energy_kwh"] == 10.5 and good.loc[2, "charging_hours"] == 1.5
    assert good.loc[2, "start"] == pd.Timestamp("2024-08-01 10:00", tz="UTC")
    # 11:00 at +01:00 is 10:00 UTC.
    assert good.loc[13, "start"] == pd.Timestamp("2024-08-01 10:00", tz="UTC")
    # The first S1 is kept: the one at charge point A.
    assert good.loc[2, "chargepoint_id"] == "A"
    assert list(seen.pending) == ["S1", "S11"]


def test_finalise_sessions_takes_naive_times_as_utc():
    raw = pd.DataFrame({"record": [2], "session_id": ["S1"], "chargepoint_id": ["A"],
                        "start": pd.to_datetime(["2024-08-01 10:00"]), "end": pd.to_datetime(["2024-08-01 11:00"]),
                        "energy_kwh": [1.0], "charging_hours": [NAN]})
    kept = finalise_sessions(raw, ValidationReport())
    assert kept["start"].iloc[0] == pd.Timestamp("2024-08-01 10:00", tz="UTC")


def test_finalise_sessions_catches_repeats_in_a_later_chunk_through_seen():
    def chunk(records, ids):
        return pd.DataFrame({"record": records, "session_id": ids, "chargepoint_id": "A",
                             "start": "2024-08-01T10:00:00Z", "end": "2024-08-01T11:00:00Z", "energy_kwh": "1", "charging_hours": ""})

    report = ValidationReport()
    seen = SeenSessions()
    first = finalise_sessions(chunk([2, 3, 4], ["a", "b", "c"]), report, seen)
    second = finalise_sessions(chunk([5, 6, 7], ["d", "b", "a"]), report, seen)
    assert list(first["session_id"]) == ["a", "b", "c"]
    assert list(second["session_id"]) == ["d"]
    assert problems(report) == [(6, "session_id", REJECTED), (7, "session_id", REJECTED)]
    # The first chunk was hashed only when the second came; the second waits for a third.
    assert len(seen.keys) == 3 and len(seen.pending[0]) == 1


def test_repeated_session_ids_across_chunks():
    seen = SeenSessions()
    assert list(seen.repeated(np.array(["a", "b", "a"], dtype=object))) == [False, False, True]
    assert len(seen.keys) == 0  # one chunk so far: nothing hashed
    assert list(seen.repeated(np.array(["b", "c", "c", "d"], dtype=object))) == [True, False, True, False]
    assert list(seen.repeated(np.array(["e", "d", "a"], dtype=object))) == [False, True, True]
    assert len(seen.keys) == 4 and np.all(np.diff(seen.keys.astype(np.float64)) >= 0)


def test_finalise_usage_rejects_bad_values():
    raw = pd.DataFrame([
        (2, "A", "2024-07-01", "2024-10-01", "10", "100.5", "50", "", ""),     # good
        (3, "", "2024-07-01", "2024-10-01", "10", "1", "1", "", ""),           # no id
        (4, "B", "2024-07-01", "2024-07-01", "10", "1", "1", "", ""),          # empty period
        (5, "C", "2024-07-01", "2024-10-01", "2.5", "1", "1", "", ""),         # fractional sessions
        (6, "D", "2024-07-01", "2024-10-01", "1", "-1", "1", "", ""),          # negative energy
        (7, "E", "2024-07-01", "2024-10-01", "1", "1", "", "", ""),            # occupied missing
        (8, "F", "not a date", "2024-10-01", "1", "1", "1", "", ""),           # bad start
    ], columns=["record"] + USAGE_COLUMNS)
    # The reader parses the dates (a date it cannot read is NaT); finalise_usage checks them.
    for column in ("period_start", "period_end"):
        raw[column] = pd.to_datetime(raw[column], errors="coerce")
    report = ValidationReport()
    usage = finalise_usage(raw, report)
    assert list(usage["record"]) == [2]
    assert usage["sessions"].dtype == "int64" and usage["energy_kwh"].iloc[0] == 100.5
    assert sorted(problems(report)) == [(3, "chargepoint_id", REJECTED), (4, "period_end", REJECTED), (5, "sessions", REJECTED),
                                        (6, "energy_kwh", REJECTED), (7, "occupied_hours", REJECTED), (8, "period_start", REJECTED)]
