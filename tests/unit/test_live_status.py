"""Live status groups, reliability, and status snapshots in the history archive."""
import pandas as pd
import pytest

from ev_charge_plugin.core.archive import Archive
from ev_charge_plugin.core.live_status import AVAILABLE, IN_USE, OUT_OF_ORDER, UNKNOWN, refreshed_label, reliability, status_group


def test_status_groups():
    statuses = pd.Series(["AVAILABLE", "charging", " RESERVED ", "BLOCKED", "OUTOFORDER", "INOPERATIVE", "PLANNED", "REMOVED", "UNKNOWN", "broken", None])
    assert list(status_group(statuses)) == [AVAILABLE, IN_USE, IN_USE, IN_USE, OUT_OF_ORDER, OUT_OF_ORDER, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]


def snapshot(when, statuses):
    return pd.DataFrame({"chargepoint_id": list(statuses), "status": list(statuses.values()), "operator": "Op", "fetched_at": when})


def test_reliability_is_the_share_of_snapshots_working():
    # A: working in 3 of 4 (AVAILABLE, CHARGING, RESERVED count; OUTOFORDER does not).
    # B: BLOCKED (not working by the regulations' definition) then AVAILABLE: 1 of 2.
    frames = [snapshot("2026-01-01T10:00:00+00:00", {"A": "AVAILABLE", "B": "BLOCKED"}),
              snapshot("2026-01-01T11:00:00+00:00", {"A": "CHARGING", "B": "AVAILABLE"}),
              snapshot("2026-01-01T12:00:00+00:00", {"A": "OUTOFORDER"}),
              snapshot("2026-01-01T13:00:00+00:00", {"A": "RESERVED"})]
    result = reliability(pd.concat(frames, ignore_index=True)).set_index("chargepoint_id")
    assert result.loc["A", "reliability_pct"] == 75.0 and result.loc["A", "snapshots"] == 4
    assert result.loc["B", "reliability_pct"] == 50.0
    assert result.loc["A", "last_status"] == "RESERVED" and result.loc["B", "last_seen"] == "2026-01-01T11:00:00+00:00"


def test_archive_keeps_each_snapshot_once(tmp_path):
    path = tmp_path / "history.gpkg"
    first = snapshot("2026-01-01T10:00:00+00:00", {"A": "AVAILABLE", "B": "OUTOFORDER"})
    second = snapshot("2026-01-01T11:00:00+00:00", {"A": "OUTOFORDER", "B": "OUTOFORDER"})
    with Archive(path) as archive:
        assert archive.append_statuses(first, feed_url="https://feed.example/locations", fetched_at="2026-01-01T10:00:00+00:00") == 2
        # The same snapshot again (a stale copy after a failed refresh) adds nothing.
        assert archive.append_statuses(first, feed_url="https://feed.example/locations", fetched_at="2026-01-01T10:00:00+00:00") == 0
        assert archive.append_statuses(second, feed_url="https://feed.example/locations", fetched_at="2026-01-01T11:00:00+00:00") == 2
    with Archive(path) as archive:
        stored = archive.status_snapshots()
    assert len(stored) == 4
    scores = reliability(stored).set_index("chargepoint_id")["reliability_pct"]
    assert scores.to_dict() == {"A": 50.0, "B": 0.0}


def test_an_archive_made_before_status_snapshots_gets_the_table_when_first_needed(tmp_path):
    import sqlite3

    path = tmp_path / "history.gpkg"
    Archive(path).close()
    with sqlite3.connect(path) as connection:  # as an archive from the previous release
        connection.execute("DROP TABLE status_snapshots")
        connection.execute("DELETE FROM gpkg_contents WHERE table_name = 'status_snapshots'")
    with Archive(path) as archive:
        assert archive.status_snapshots().empty
        archive.append_statuses(snapshot("2026-01-01T10:00:00+00:00", {"A": "AVAILABLE"}), feed_url="f", fetched_at="2026-01-01T10:00:00+00:00")
        assert list(archive.status_snapshots()["status"]) == ["AVAILABLE"]


@pytest.mark.parametrize("fetched_at, label", [("2026-11-28T06:55:12+00:00", "28 Nov 2026 06:55 UTC"), ("2026-07-01T10:00:00Z", "1 Jul 2026 10:00 UTC")])
def test_refreshed_label(fetched_at, label):
    assert refreshed_label(fetched_at) == label


def test_reliability_by_group_comes_from_sums_not_an_average_of_percentages():
    from ev_charge_plugin.core.live_status import reliability_summary

    # Op A: one charge point seen 10 times, working 9 (90 %), one seen twice, working 0 (0 %).
    # From sums: 9 / 12 = 75 %; the average of the two percentages would be 45 %.
    points = pd.DataFrame({"operator": ["A", "A", "B"], "snapshots": [10, 2, 4], "working": [9, 0, 4],
                           "status": ["AVAILABLE", "OUTOFORDER", "CHARGING"]})
    summary = reliability_summary(points, "operator", "operator").set_index("name")
    assert summary.loc["A", "reliability_pct"] == 75.0 and summary.loc["B", "reliability_pct"] == 100.0
    assert summary.loc["A", "out_of_order_now"] == 1 and summary.loc["A", "charge_points"] == 2
    assert list(summary.index) == ["A", "B"]  # least reliable first
    assert set(summary["by"]) == {"operator"}


def test_area_of_points():
    import geopandas as gpd
    from shapely.geometry import Point, box

    from ev_charge_plugin.core.areas import area_of_points

    areas = gpd.GeoDataFrame({"NAME": ["West", "East"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=27700)
    points = gpd.GeoDataFrame(geometry=[Point(5, 5), Point(15, 5), Point(50, 50)], crs=27700)
    assert list(area_of_points(points, areas, "name").fillna("-")) == ["West", "East", "-"]
