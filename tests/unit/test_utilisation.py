"""Utilisation metrics from sums (core/utilisation.py), checked against hand-worked values.

The fixture: two charge points over Q2 and Q3 2024.
- A: 7 kW, 1 connector. Q2 2024 has 2184 h, Q3 2024 has 2208 h.
- B: 50 kW, 2 connectors, so 2 x 2184 = 4368 h available in Q2 and 2 x 2208 = 4416 h in Q3.
  B's Q2 return gives no charging hours.
- C: 22 kW, registered but without any usage.
Q2 2024 is 91 days, Q3 2024 is 92 days.
"""
import numpy as np
import pandas as pd
import pytest

from ev_charge_plugin.core.usage import USAGE_COLUMNS
from ev_charge_plugin.core.utilisation import (METRIC_KEYS, SUM_COLUMNS, metrics, metrics_from_sums, previous_range,
                                               usage_sums, utilisation, utilisation_by_period)

NAN = float("nan")
Q2 = (pd.Timestamp("2024-04-01"), pd.Timestamp("2024-07-01"))
Q3 = (pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-01"))


@pytest.fixture
def usage():
    rows = [
        # id, start, end, sessions, energy, occupied, charging, available
        ("A", *Q2, 91, 1092.0, 546.0, 273.0, 2184.0),    # occupancy 25 %, charging 12.5 %
        ("A", *Q3, 184, 1545.6, 1104.0, 552.0, 2208.0),  # occupancy 50 %, charging 25 %
        ("B", *Q2, 455, 21840.0, 1092.0, NAN, 4368.0),   # occupancy 25 %, charging not reported
        ("B", *Q3, 920, 44160.0, 3312.0, 1104.0, 4416.0),  # occupancy 75 %, charging 25 %
    ]
    frame = pd.DataFrame(rows, columns=USAGE_COLUMNS)
    return frame.astype({"chargepoint_id": "string", "sessions": "int64"})


@pytest.fixture
def chargepoints():
    return pd.DataFrame({"chargepoint_id": ["A", "B", "C"], "power_kw": [7.0, 50.0, 22.0], "area": ["W1", "W1", "W2"]})


def test_every_metric_has_a_definition():
    described = metrics()
    assert tuple(described) == METRIC_KEYS
    for metric in described.values():
        assert metric.label and metric.short and metric.long


def test_one_quarter_per_charge_point(usage, chargepoints):
    result = utilisation(usage, chargepoints, *Q3).set_index("chargepoint_id")
    assert list(result.index) == ["A", "B", "C"]
    # A: 1104 / 2208 = 50 %; 552 / 2208 = 25 %; 1545.6 / (7 x 2208 = 15456) = 10 %;
    # 184 / 92 = 2 sessions a day; 1545.6 / 92 = 16.8 kWh a day; 50 - 25 (Q2: 546 / 2184) = +25 points.
    assert result.loc["A", "occupancy_pct"] == pytest.approx(50.0)
    assert result.loc["A", "charging_pct"] == pytest.approx(25.0)
    assert result.loc["A", "capacity_factor_pct"] == pytest.approx(10.0)
    assert result.loc["A", "sessions_per_day"] == pytest.approx(2.0)
    assert result.loc["A", "kwh_per_day"] == pytest.approx(16.8)
    assert result.loc["A", "occupancy_change_pp"] == pytest.approx(25.0)
    # B (2 connectors): 3312 / 4416 = 75 %; 1104 / 4416 = 25 %; 44160 / (50 x 4416 = 220800) = 20 %;
    # 920 / 92 = 10 a day; 44160 / 92 = 480 kWh a day; 75 - 25 (Q2: 1092 / 4368) = +50 points.
    assert result.loc["B", "occupancy_pct"] == pytest.approx(75.0)
    assert result.loc["B", "charging_pct"] == pytest.approx(25.0)
    assert result.loc["B", "capacity_factor_pct"] == pytest.approx(20.0)
    assert result.loc["B", "sessions_per_day"] == pytest.approx(10.0)
    assert result.loc["B", "kwh_per_day"] == pytest.approx(480.0)
    assert result.loc["B", "occupancy_change_pp"] == pytest.approx(50.0)
    # The sums are kept beside the metrics.
    assert result.loc["B", "available_hours"] == 4416.0
    assert result.loc["B", "capacity_kwh"] == pytest.approx(220800.0)
    assert result.loc["B", "days"] == 92.0
    assert result.loc["A", "previous_occupied_hours"] == 546.0 and result.loc["A", "previous_available_hours"] == 2184.0


def test_a_charge_point_without_usage_keeps_a_row_with_empty_metrics(usage, chargepoints):
    result = utilisation(usage, chargepoints, *Q3).set_index("chargepoint_id")
    for key in METRIC_KEYS:
        assert np.isnan(result.loc["C", key]), key
    assert np.isnan(result.loc["C", "sessions"])
    # And for a range with no usage at all, every charge point keeps its row.
    empty = utilisation(usage, chargepoints, "2023-01-01", "2023-04-01")
    assert list(empty["chargepoint_id"]) == ["A", "B", "C"]
    assert empty["occupancy_pct"].isna().all()


def test_two_quarters_sum_hours_and_charging_only_over_periods_that_report_it(usage, chargepoints):
    result = utilisation(usage, chargepoints, Q2[0], Q3[1]).set_index("chargepoint_id")
    # A: (546 + 1104) / (2184 + 2208) = 1650 / 4392; charging (273 + 552) / 4392 = 825 / 4392.
    assert result.loc["A", "occupancy_pct"] == pytest.approx(100 * 1650 / 4392)
    assert result.loc["A", "charging_pct"] == pytest.approx(100 * 825 / 4392)
    # Capacity: (1092 + 1545.6) / (7 x 4392 = 30744) = 2637.6 / 30744.
    assert result.loc["A", "capacity_factor_pct"] == pytest.approx(100 * 2637.6 / 30744)
    # Days 91 + 92 = 183: (91 + 184) / 183 sessions, 2637.6 / 183 kWh a day.
    assert result.loc["A", "days"] == 183.0
    assert result.loc["A", "sessions_per_day"] == pytest.approx(275 / 183)
    assert result.loc["A", "kwh_per_day"] == pytest.approx(2637.6 / 183)
    # B: occupancy (1092 + 3312) / (4368 + 4416) = 4404 / 8784.
    assert result.loc["B", "occupancy_pct"] == pytest.approx(100 * 4404 / 8784)
    # B's charging %: only Q3 reports charging hours, so 1104 / 4416 = 25 % (not 1104 / 8784 = 12.6 %).
    assert result.loc["B", "charging_pct"] == pytest.approx(25.0)
    assert result.loc["B", "charging_available_hours"] == 4416.0
    # The previous six months (Oct 2023 to Mar 2024) have no data: no change.
    assert np.isnan(result.loc["B", "occupancy_change_pp"])


def test_a_quarter_without_charging_hours_has_no_charging_pct(usage, chargepoints):
    result = utilisation(usage, chargepoints, *Q2).set_index("chargepoint_id")
    # B in Q2: occupancy 1092 / 4368 = 25 %, charging unknown, not 0.
    assert result.loc["B", "occupancy_pct"] == pytest.approx(25.0)
    assert np.isnan(result.loc["B", "charging_pct"])
    assert np.isnan(result.loc["B", "charging_hours"])
    assert result.loc["A", "charging_pct"] == pytest.approx(12.5)


def test_areas_are_computed_from_sums_never_averages_of_averages(usage, chargepoints):
    per_point = utilisation(usage, chargepoints, *Q3)
    per_point["area"] = per_point["chargepoint_id"].map(chargepoints.set_index("chargepoint_id")["area"])
    # The plugin's way: add up each charge point's sums, divide once.
    areas = metrics_from_sums(per_point.groupby("area")[SUM_COLUMNS].sum(min_count=1))
    # W1 = A + B in Q3: occupied 1104 + 3312 = 4416 over 2208 + 4416 = 6624 h -> 66.67 %,
    # while the mean of A's 50 % and B's 75 % is 62.5 %.
    w1 = areas.loc["W1"]
    assert w1["occupancy_pct"] == pytest.approx(100 * 4416 / 6624)
    mean_of_percentages = per_point.loc[per_point["area"] == "W1", "occupancy_pct"].mean()
    assert mean_of_percentages == pytest.approx(62.5)
    assert abs(w1["occupancy_pct"] - mean_of_percentages) > 4
    # Capacity factor: (1545.6 + 44160) / (15456 + 220800) = 45705.6 / 236256 = 19.35 %, not (10 + 20) / 2 = 15 %.
    assert w1["capacity_factor_pct"] == pytest.approx(100 * 45705.6 / 236256)
    # Charging: (552 + 1104) / 6624 = 25 %. Sessions a day: (184 + 920) / (92 + 92) = 6 per charge point.
    assert w1["charging_pct"] == pytest.approx(25.0)
    assert w1["sessions_per_day"] == pytest.approx(6.0)
    assert w1["kwh_per_day"] == pytest.approx(45705.6 / 184)
    # Change: Q2 for W1 is (546 + 1092) / (2184 + 4368) = 1638 / 6552 = 25 %, so +41.67 points.
    assert w1["occupancy_change_pp"] == pytest.approx(100 * 4416 / 6624 - 25.0)
    # W2 holds only C, which has no usage: empty metrics, not zero.
    assert np.isnan(areas.loc["W2", "occupancy_pct"])

    # usage_sums by an area column straight from the usage rows gives the same sums.
    rows = usage.assign(area=usage["chargepoint_id"].map(chargepoints.set_index("chargepoint_id")["area"]))
    q3_rows = rows[rows["period_start"] == Q3[0]]
    direct = usage_sums(q3_rows, chargepoints.set_index("chargepoint_id")["power_kw"], by=("area",))
    direct["previous_occupied_hours"] = NAN
    direct["previous_available_hours"] = NAN
    direct = metrics_from_sums(direct)
    assert direct.loc["W1", "occupancy_pct"] == pytest.approx(100 * 4416 / 6624)
    assert direct.loc["W1", "capacity_factor_pct"] == pytest.approx(100 * 45705.6 / 236256)
    assert direct.loc["W1", "available_hours"] == 6624.0


def test_area_charging_pct_over_two_quarters_ignores_the_unreported_quarter(usage, chargepoints):
    # W1 over Q2 + Q3: charging hours 273 + 552 + 1104 = 1929 over the hours of the periods that report
    # them, 2184 + 2208 + 4416 = 8808 (B's Q2 4368 h left out): 21.9 %.
    per_point = utilisation(usage, chargepoints, Q2[0], Q3[1]).assign(area=["W1", "W1", "W2"])
    areas = metrics_from_sums(per_point.groupby("area")[SUM_COLUMNS].sum(min_count=1))
    assert areas.loc["W1", "charging_pct"] == pytest.approx(100 * 1929 / 8808)


def test_previous_range():
    # A quarter: the quarter before, across a year end too.
    assert previous_range("2024-07-01", "2024-10-01") == (pd.Timestamp("2024-04-01"), pd.Timestamp("2024-07-01"))
    assert previous_range("2024-01-01", "2024-04-01") == (pd.Timestamp("2023-10-01"), pd.Timestamp("2024-01-01"))
    # A month: the month before (February 2024 has 29 days, so not "31 days before").
    assert previous_range("2024-03-01", "2024-04-01") == (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01"))
    # Twelve months: the twelve before.
    assert previous_range("2023-10-01", "2024-10-01") == (pd.Timestamp("2022-10-01"), pd.Timestamp("2023-10-01"))
    # Any other range: the same number of days before. 10 to 20 July (end exclusive 21st) = 11 days -> 29 Jun to 9 Jul.
    assert previous_range("2024-07-10", "2024-07-21") == (pd.Timestamp("2024-06-29"), pd.Timestamp("2024-07-10"))


def test_occupancy_change_against_the_previous_quarter_only(usage, chargepoints):
    # A month of usage inside Q2 must not count as "the previous quarter" of Q3: only whole periods
    # inside [1 Apr, 1 Jul) count, and here the extra row is a Q1 month, outside it.
    extra = pd.DataFrame([("A", pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01"), 1, 1.0, 743.0, NAN, 743.0)], columns=USAGE_COLUMNS)
    more = pd.concat([usage, extra.astype({"chargepoint_id": "string"})], ignore_index=True)
    result = utilisation(more, chargepoints, *Q3).set_index("chargepoint_id")
    assert result.loc["A", "occupancy_change_pp"] == pytest.approx(25.0)
    # Q2 for A: 25 % against Q1, which holds only March at 100 %: 25 - 100 = -75 points.
    before = utilisation(more, chargepoints, *Q2).set_index("chargepoint_id")
    assert before.loc["A", "occupancy_change_pp"] == pytest.approx(-75.0)


def test_utilisation_by_period_gives_one_block_per_archived_period(usage, chargepoints):
    result = utilisation_by_period(usage, chargepoints)
    assert len(result) == 6  # 2 periods x 3 charge points
    blocks = result.groupby("period_start")
    assert sorted(blocks.groups) == [Q2[0], Q3[0]]
    q2 = result[result["period_start"] == Q2[0]].set_index("chargepoint_id")
    q3 = result[result["period_start"] == Q3[0]].set_index("chargepoint_id")
    assert (q2["period_end"] == Q2[1]).all() and (q3["period_end"] == Q3[1]).all()
    assert list(q3.index) == ["A", "B", "C"]
    assert q2.loc["A", "occupancy_pct"] == pytest.approx(25.0)
    assert q3.loc["B", "occupancy_pct"] == pytest.approx(75.0)
    # Q2's previous quarter (Q1) has no data; Q3's is Q2.
    assert np.isnan(q2.loc["A", "occupancy_change_pp"])
    assert q3.loc["A", "occupancy_change_pp"] == pytest.approx(25.0)
    # Limited to a range: Q3 only.
    only_q3 = utilisation_by_period(usage, chargepoints, *Q3)
    assert set(only_q3["period_start"]) == {Q3[0]} and len(only_q3) == 3


def test_utilisation_by_period_without_usage_is_empty(usage, chargepoints):
    result = utilisation_by_period(usage.iloc[0:0], chargepoints)
    assert result.empty
    assert {"period_start", "period_end", "occupancy_pct"} <= set(result.columns)


def test_metrics_from_sessions_that_cross_a_quarter_boundary_on_a_two_connector_charge_point():
    """Sessions to metrics, end to end, on a 50 kW charge point with two connectors (hand-computed).

    S1 runs 20:00 on 30 Sep to 04:00 on 1 Oct 2024 London time (BST, UTC+1): 4 hours in Q3, 4 in Q4,
    40 kWh split 20 + 20, 6 hours charging split 3 + 3; it counts as a session in Q3 only.
    S2 runs 10:00 to 12:00 UTC on 15 Aug: 2 hours, 10 kWh, 2 hours charging.
    Hours available: Q3 2024 = 92 days x 24 = 2208 per connector, 4416 for two;
    Q4 2024 = 2209 (the October clock change) per connector, 4418 for two.
    """
    from ev_charge_plugin.core.report import ValidationReport
    from ev_charge_plugin.core.usage import aggregate_sessions, fill_available_hours

    sessions = pd.DataFrame({
        "session_id": ["S1", "S2"], "chargepoint_id": ["HUB", "HUB"],
        "start": pd.to_datetime(["2024-09-30T19:00:00Z", "2024-08-15T10:00:00Z"], utc=True),
        "end": pd.to_datetime(["2024-10-01T03:00:00Z", "2024-08-15T12:00:00Z"], utc=True),
        "energy_kwh": [40.0, 10.0], "charging_hours": [6.0, 2.0],
    })
    usage = fill_available_hours(aggregate_sessions(sessions), pd.Series({"HUB": 2}), ValidationReport())
    hub = pd.DataFrame({"chargepoint_id": ["HUB"], "power_kw": [50.0]})
    q3 = utilisation(usage, hub, "2024-07-01", "2024-10-01").iloc[0]
    q4 = utilisation(usage, hub, "2024-10-01", "2025-01-01").iloc[0]
    assert q3["occupancy_pct"] == pytest.approx((4 + 2) / 4416 * 100)
    assert q3["charging_pct"] == pytest.approx((3 + 2) / 4416 * 100)
    assert q3["capacity_factor_pct"] == pytest.approx((20 + 10) / (50 * 4416) * 100)
    assert q3["sessions_per_day"] == pytest.approx(2 / 92) and q3["kwh_per_day"] == pytest.approx(30 / 92)
    assert q4["occupancy_pct"] == pytest.approx(4 / 4418 * 100)
    assert q4["sessions_per_day"] == 0 and q4["kwh_per_day"] == pytest.approx(20 / 92)
    assert q4["occupancy_change_pp"] == pytest.approx(4 / 4418 * 100 - 6 / 4416 * 100)
