"""The history archive: one GeoPackage, one transaction per import, nothing counted twice."""
import hashlib
import sqlite3
import struct

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from ev_charge_plugin.core import schema
from ev_charge_plugin.core.archive import (
    CHARGEPOINTS_TABLE, HISTORY_TABLE, IMPORTS_TABLE, REPLACED_TABLE, STATUS_TABLE, USAGE_TABLE, Archive, ArchiveError,
)

TABLES = [CHARGEPOINTS_TABLE, HISTORY_TABLE, USAGE_TABLE, REPLACED_TABLE, IMPORTS_TABLE, "gpkg_contents", "gpkg_spatial_ref_sys", "gpkg_geometry_columns"]
Q1, Q2 = ("2024-01-01", "2024-04-01"), ("2024-04-01", "2024-07-01")
WHEN = "2025-01-02T03:04:05Z"


def chargepoints(ids=("A", "B"), operator="Op", power=7.0, xy=((530000.5, 180000.25), (531000.0, 181000.0))):
    frame = pd.DataFrame({
        "chargepoint_id": list(ids), "name": [f"Charger {i}" for i in ids], "operator": operator,
        "latitude": 51.5, "longitude": -0.1, "easting": [x for x, _ in xy], "northing": [y for _, y in xy],
        "power_kw": power, "speed_band": schema.speed_band(power), "connectors": 2, "connector_types": "Type 2",
        "status": "AVAILABLE", "on_street": [True, None][:len(ids)] + [True] * (len(ids) - 2), "scheme": None,
        "source": "points.csv", "in_london": True,
    }).astype(schema.CHARGEPOINT_COLUMNS)
    return gpd.GeoDataFrame(frame, geometry=[Point(x, y) for x, y in xy], crs=schema.BNG_EPSG)


def usage(rows):
    """rows: (id, start, end, sessions, energy); the other hours follow from them."""
    frame = pd.DataFrame(rows, columns=["chargepoint_id", "period_start", "period_end", "sessions", "energy_kwh"])
    return frame.assign(occupied_hours=frame["sessions"] * 2.5, charging_hours=np.where(frame["sessions"] > 10, np.nan, frame["sessions"] * 2.0),
                        available_hours=4368.0)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tables(path):
    with sqlite3.connect(str(path)) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "archive.gpkg"


@pytest.fixture
def filled(path):
    """An archive holding A and B for Q1 from one import."""
    with Archive(path) as archive:
        archive.import_batch(usage=usage([("A", *Q1, 10, 100.0), ("B", *Q1, 4, 30.0)]), chargepoints=chargepoints(),
                             source="q1.csv", source_sha256="sha-q1", imported_at=WHEN)
    return path


def test_a_new_archive_is_a_geopackage_with_every_table(path):
    Archive(path).close()
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 10200
        assert {row[0] for row in connection.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")} == {-1, 0, 4326, 27700}
        contents = dict(connection.execute("SELECT table_name, data_type FROM gpkg_contents"))
        assert connection.execute("SELECT * FROM gpkg_geometry_columns").fetchall() == [(CHARGEPOINTS_TABLE, "geom", "POINT", 27700, 0, 0)]
    assert contents == {CHARGEPOINTS_TABLE: "features", HISTORY_TABLE: "attributes", USAGE_TABLE: "attributes",
                        REPLACED_TABLE: "attributes", IMPORTS_TABLE: "attributes", STATUS_TABLE: "attributes"}


def test_an_import_reads_back_with_its_values_and_types(filled):
    with Archive(filled) as archive:
        rows = archive.usage()
        points = archive.chargepoints()
        assert archive.known_ids() == {"A", "B"}
        imports = archive.imports()
    assert rows[["chargepoint_id", "sessions", "energy_kwh", "charging_hours", "import_id", "source"]].values.tolist() == [
        ["A", 10, 100.0, 20.0, 1, "q1.csv"], ["B", 4, 30.0, 8.0, 1, "q1.csv"]]
    assert rows["period_start"].tolist() == [pd.Timestamp("2024-01-01")] * 2
    assert rows["period_end"].dtype == "datetime64[ns]" and rows["sessions"].dtype == "int64"
    assert points.crs.to_epsg() == 27700
    assert points.drop(columns=["geometry", "first_period", "last_period"]).dtypes.to_dict() == chargepoints().drop(columns="geometry").dtypes.to_dict()
    assert points["on_street"].tolist() == [True, pd.NA] and points["scheme"].isna().all()
    assert [(p.x, p.y) for p in points.geometry] == [(530000.5, 180000.25), (531000.0, 181000.0)]
    assert imports[["source", "source_sha256", "rows_imported", "rows_replaced", "rows_unchanged", "chargepoints_registered"]].values.tolist() == [
        ["q1.csv", "sha-q1", 2, 0, 0, 2]]
    assert imports["imported_at"].tolist() == [pd.Timestamp(WHEN)]


def test_geometries_are_geopackage_points(filled):
    with sqlite3.connect(str(filled)) as connection:
        blob, = connection.execute(f"SELECT geom FROM {CHARGEPOINTS_TABLE} WHERE chargepoint_id = 'A'").fetchone()
        dates = connection.execute(f"SELECT period_start, period_end FROM {USAGE_TABLE} LIMIT 1").fetchone()
        stamp, = connection.execute(f"SELECT imported_at FROM {IMPORTS_TABLE}").fetchone()
    assert blob == struct.pack("<2sBBiBIdd", b"GP", 0, 1, 27700, 1, 1, 530000.5, 180000.25)
    assert dates == Q1 and stamp == "2025-01-02T03:04:05.000Z"


def test_the_same_bytes_twice_change_nothing(filled):
    before, contents = sha(filled), tables(filled)
    with Archive(filled) as archive:
        summary = archive.import_batch(usage=usage([("A", *Q1, 99, 1.0)]), source="renamed.csv", source_sha256="sha-q1")
    assert summary.import_id is None and summary.already_imported_at == "2025-01-02T03:04:05.000Z"
    assert (summary.imported, summary.replaced, summary.unchanged) == (0, 0, 0) and summary.replacements.empty
    assert sha(filled) == before and tables(filled) == contents


def test_a_different_file_with_the_same_rows_is_unchanged_but_recorded(filled):
    with Archive(filled) as archive:
        summary = archive.import_batch(usage=usage([("A", *Q1, 10, 100.0), ("B", *Q1, 4, 30.0)]), chargepoints=chargepoints(),
                                       source="q1 again.csv", source_sha256="sha-other")
        assert (summary.imported, summary.replaced, summary.unchanged, summary.chargepoints_registered, summary.chargepoints_changed) == (0, 0, 2, 0, 0)
        assert archive.usage()["import_id"].tolist() == [1, 1]
        assert archive.imports()["rows_unchanged"].tolist() == [0, 2]
    assert tables(filled)[REPLACED_TABLE] == [] and len(tables(filled)[HISTORY_TABLE]) == 2


def test_a_changed_value_replaces_the_old_row_which_is_kept_for_audit(filled):
    with Archive(filled) as archive:
        summary = archive.import_batch(usage=usage([("A", *Q1, 12, 100.0), ("B", *Q1, 4, 30.0)]), source="q1 revised.csv", source_sha256="sha-rev")
        rows = archive.usage()
    assert (summary.imported, summary.replaced, summary.unchanged) == (0, 1, 1)
    change = summary.replacements
    assert change[["chargepoint_id", "old_import_id", "old_source", "old_sessions", "new_sessions", "new_rows"]].values.tolist() == [
        ["A", 1, "q1.csv", 10, 12, 1]]
    assert change["period_start"].tolist() == change["new_period_start"].tolist() == [pd.Timestamp(Q1[0])]
    assert rows.set_index("chargepoint_id")["sessions"].to_dict() == {"A": 12, "B": 4}
    assert rows.set_index("chargepoint_id")["import_id"].to_dict() == {"A": 2, "B": 1}
    replaced = tables(filled)[REPLACED_TABLE]
    assert [(row[1], row[4], row[-2], row[-1]) for row in replaced] == [("A", 10, 1, 2)]  # id, sessions, import, replaced_by_import


def test_months_replace_the_quarter_they_overlap(filled):
    months = [("A", "2024-01-01", "2024-02-01", 3, 30.0), ("A", "2024-02-01", "2024-03-01", 4, 40.0), ("A", "2024-03-01", "2024-04-01", 5, 50.0)]
    with Archive(filled) as archive:
        summary = archive.import_batch(usage=usage(months), source="monthly.csv", source_sha256="sha-m")
        rows = archive.usage()
        periods = archive.periods()
    assert (summary.imported, summary.replaced, summary.unchanged) == (0, 3, 0)
    assert summary.replacements[["old_sessions", "new_sessions", "new_energy_kwh", "new_rows"]].values.tolist() == [[10, 12, 120.0, 3]]
    assert summary.replacements["new_period_end"].tolist() == [pd.Timestamp("2024-04-01")]
    assert rows.groupby("chargepoint_id")["sessions"].sum().to_dict() == {"A": 12, "B": 4}
    assert periods.values.tolist() == [[pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), 1], [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"), 1],
                                       [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01"), 1], [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01"), 1]]


def test_periods_from_two_imports_come_back_together(filled):
    with Archive(filled) as archive:
        summary = archive.import_batch(usage=usage([("A", *Q2, 7, 70.0)]), source="q2.csv", source_sha256="sha-q2")
        everything = archive.usage()
        first_half = archive.usage("2024-01-01", "2024-07-01")
        only_q2 = archive.usage(start="2024-04-01")
        only_q1 = archive.usage(end=pd.Timestamp("2024-04-01"))
    assert (summary.imported, summary.replaced) == (1, 0)
    assert everything[["chargepoint_id", "sessions", "source"]].values.tolist() == [["A", 10, "q1.csv"], ["A", 7, "q2.csv"], ["B", 4, "q1.csv"]]
    assert first_half.equals(everything)
    assert only_q2["sessions"].tolist() == [7] and only_q1["sessions"].tolist() == [10, 4]


def test_first_and_last_period_follow_the_usage(filled):
    with Archive(filled) as archive:
        archive.import_batch(usage=usage([("A", *Q2, 7, 70.0)]), chargepoints=chargepoints(["C"], xy=[(532000.0, 182000.0)]),
                             source="q2.csv", source_sha256="sha-q2")
        points = archive.chargepoints().set_index("chargepoint_id")
    assert points.loc["A", "first_period"] == pd.Timestamp("2024-01-01") and points.loc["A", "last_period"] == pd.Timestamp("2024-07-01")
    assert points.loc["B", "last_period"] == pd.Timestamp("2024-04-01")
    assert pd.isna(points.loc["C", "first_period"]) and pd.isna(points.loc["C", "last_period"])


def test_unknown_charge_points_are_refused_and_nothing_is_written(filled):
    before, contents = sha(filled), tables(filled)
    unknown = [(f"X{i}", *Q2, 1, 1.0) for i in range(7)]
    with Archive(filled) as archive, pytest.raises(ArchiveError, match="7 charge point") as error:
        archive.import_batch(usage=usage([("A", *Q2, 7, 70.0)] + unknown), chargepoints=chargepoints(["C"], xy=[(532000.0, 182000.0)]),
                             source="bad.csv", source_sha256="sha-bad")
    assert "X0, X1, X2, X3, X4." in str(error.value) and "X5" not in str(error.value)
    assert sha(filled) == before and tables(filled) == contents


def test_overlapping_rows_in_one_batch_are_refused(filled):
    with Archive(filled) as archive, pytest.raises(ArchiveError, match="overlapping"):
        archive.import_batch(usage=usage([("A", "2024-04-01", "2024-05-01", 1, 1.0), ("A", *Q2, 2, 2.0)]), source="x", source_sha256="x")


def test_a_failure_half_way_leaves_the_file_exactly_as_it_was(path):
    points = chargepoints([f"P{i}" for i in range(5000)], xy=[(530000.0 + i, 180000.0) for i in range(5000)])
    quarters = pd.date_range("2023-01-01", periods=5, freq="QS")
    first = usage([(f"P{i}", quarters[q], quarters[q + 1], i % 30, 1.0) for i in range(5000) for q in range(2)])
    with Archive(path) as archive:
        archive.import_batch(usage=first, chargepoints=points, source="first.csv", source_sha256="sha-1")
    before, contents = sha(path), tables(path)
    # 20,000 rows: half of them replace the first import's rows, with a changed operator for every charge point.
    second = usage([(f"P{i}", quarters[q], quarters[q + 1], i % 30 + 1, 2.0) for i in range(5000) for q in range(4)])
    seen = []

    def fail_half_way(fraction):
        seen.append(fraction)
        if fraction >= 0.5:
            raise RuntimeError("injected failure")

    with Archive(path) as archive, pytest.raises(RuntimeError, match="injected"):
        archive.import_batch(usage=second, chargepoints=chargepoints(points["chargepoint_id"], operator="New Op", xy=list(zip(points["easting"], points["northing"]))),
                             source="second.csv", source_sha256="sha-2", progress=fail_half_way)
    assert len(seen) > 3 and 0.5 <= seen[-1] < 1.0
    assert sha(path) == before and tables(path) == contents
    with Archive(path) as archive:  # and the archive still works
        summary = archive.import_batch(usage=second, source="second.csv", source_sha256="sha-2")
    assert (summary.imported, summary.replaced) == (10000, 10000)


def test_changed_attributes_add_a_history_row_and_identical_ones_nothing(filled):
    with Archive(filled) as archive:
        same = archive.import_batch(usage=usage([]), chargepoints=chargepoints().assign(source="renamed.csv"), source="same", source_sha256="s1")
        changed = archive.import_batch(usage=usage([]), chargepoints=chargepoints(operator="New Op", power=50.0).iloc[:1], source="changed", source_sha256="s2")
        current = archive.chargepoints().set_index("chargepoint_id")
    assert (same.chargepoints_registered, same.chargepoints_changed) == (0, 0)
    assert (changed.chargepoints_registered, changed.chargepoints_changed) == (0, 1)
    assert current.loc["A", "operator"] == "New Op" and current.loc["A", "power_kw"] == 50.0 and current.loc["A", "speed_band"] == "rapid"
    assert current.loc["B", "operator"] == "Op"
    with sqlite3.connect(str(filled)) as connection:
        history = connection.execute(f"SELECT chargepoint_id, operator, power_kw, import_id FROM {HISTORY_TABLE} ORDER BY fid").fetchall()
        set_by = connection.execute(f"SELECT import_id, registered_at < updated_at FROM {CHARGEPOINTS_TABLE} WHERE chargepoint_id = 'A'").fetchone()
    assert history == [("A", "Op", 7.0, 1), ("B", "Op", 7.0, 1), ("A", "New Op", 50.0, 3)]
    assert set_by == (3, 1)


@pytest.mark.parametrize("content", [b"not a database at all, just some text\n" * 50, b"SQLite format 3\x00" + b"\x00" * 200])
def test_a_file_that_is_not_an_archive_is_refused(tmp_path, content):
    path = tmp_path / "notes.gpkg"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match="notes.gpkg"):
        Archive(path)
    assert path.read_bytes() == content


def test_another_geopackage_is_refused(tmp_path):
    path = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=27700).to_file(path, layer="roads", driver="GPKG")
    with pytest.raises(ArchiveError, match="not a charge point archive"):
        Archive(path)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match="folder"):
        Archive(tmp_path / "missing" / "archive.gpkg")


def test_geopandas_reads_the_layers(filled):
    points = gpd.read_file(filled, layer=CHARGEPOINTS_TABLE)
    rows = gpd.read_file(filled, layer=USAGE_TABLE)
    assert points.crs.to_epsg() == 27700
    assert [(p.x, p.y) for p in points.geometry] == [(530000.5, 180000.25), (531000.0, 181000.0)]
    assert points["chargepoint_id"].tolist() == ["A", "B"] and points["power_kw"].tolist() == [7.0, 7.0]
    assert rows["sessions"].tolist() == [10, 4]
