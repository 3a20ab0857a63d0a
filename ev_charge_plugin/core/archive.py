"""The history archive: one GeoPackage that keeps every period ever imported (DESIGN section 6).

It is written through :mod:`sqlite3` rather than OGR because one import touches
several tables and must be one transaction: an import that fails half way (or is
cancelled through ``progress``) leaves the file as it was, byte for byte, and the
same source bytes imported twice change nothing. The file is still a plain
GeoPackage 1.2, so QGIS and geopandas open its tables as layers.

Usage periods are half-open, ``[period_start, period_end)``. A newly imported row
replaces every archived row of the same charge point whose period overlaps it,
so monthly and quarterly returns can never be counted twice; the replaced rows
are kept in ``usage_replaced`` for audit.

SQL statements name tables and columns from this module's constants and bind
every value as a parameter; the ``# nosec B608`` marks tell bandit (which the
QGIS plugin repository runs) that this string building is deliberate.
"""
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .errors import EvChargeError
from .i18n import tr

CHARGEPOINTS_TABLE = "chargepoints"
HISTORY_TABLE = "chargepoint_history"
USAGE_TABLE = "usage"
REPLACED_TABLE = "usage_replaced"
IMPORTS_TABLE = "imports"
STATUS_TABLE = "status_snapshots"
GEOMETRY_COLUMN = "geom"

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10200  # GeoPackage 1.2
# Rows written per executemany call; progress is reported between calls.
CHUNK_ROWS = 5000
# Unknown ids quoted in an error message, at most.
MAX_IDS_QUOTED = 5

ATTRIBUTE_COLUMNS = [column for column in schema.CHARGEPOINT_COLUMNS if column != "chargepoint_id"]
# `source` says where a version came from, not what the charge point is: a new
# file name with the same attributes is not a new version.
COMPARED_COLUMNS = [column for column in ATTRIBUTE_COLUMNS if column != "source"]
USAGE_VALUES = ["sessions", "energy_kwh", "occupied_hours", "charging_hours", "available_hours"]
USAGE_COLUMNS = ["chargepoint_id", "period_start", "period_end"] + USAGE_VALUES
# Values a usage row must have; charging hours are optional (DESIGN section 4).
REQUIRED_USAGE = ["chargepoint_id", "period_start", "period_end", "sessions", "energy_kwh", "occupied_hours", "available_hours"]
IMPORT_COUNTS = ["rows_imported", "rows_replaced", "rows_unchanged", "chargepoints_registered", "chargepoints_changed"]

_GPKG_TYPES = {"string": "TEXT", "float64": "REAL", "Int64": "INTEGER", "boolean": "BOOLEAN"}
_ATTRIBUTE_SQL = ", ".join(f"{name} {_GPKG_TYPES[dtype]}" for name, dtype in schema.CHARGEPOINT_COLUMNS.items() if name != "chargepoint_id")
_USAGE_SQL = ("chargepoint_id TEXT NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL, "
              "sessions INTEGER NOT NULL, energy_kwh REAL NOT NULL, occupied_hours REAL NOT NULL, "
              "charging_hours REAL, available_hours REAL NOT NULL, import_id INTEGER NOT NULL")
_CREATE = [
    """CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
        srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    f"""CREATE TABLE {CHARGEPOINTS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {GEOMETRY_COLUMN} POINT,
        chargepoint_id TEXT NOT NULL UNIQUE, {_ATTRIBUTE_SQL}, first_period DATE, last_period DATE,
        registered_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, import_id INTEGER NOT NULL)""",
    f"""CREATE TABLE {HISTORY_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
        chargepoint_id TEXT NOT NULL, {_ATTRIBUTE_SQL}, import_id INTEGER NOT NULL, valid_from DATETIME NOT NULL)""",
    f"CREATE INDEX {HISTORY_TABLE}_id ON {HISTORY_TABLE} (chargepoint_id)",
    f"""CREATE TABLE {USAGE_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {_USAGE_SQL},
        UNIQUE (chargepoint_id, period_start, period_end))""",
    f"CREATE INDEX {USAGE_TABLE}_period ON {USAGE_TABLE} (period_start, period_end)",
    f"""CREATE TABLE {REPLACED_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {_USAGE_SQL},
        replaced_by_import INTEGER NOT NULL)""",
    f"""CREATE TABLE {IMPORTS_TABLE} (import_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, source TEXT NOT NULL,
        source_sha256 TEXT NOT NULL, imported_at DATETIME NOT NULL, {", ".join(f"{c} INTEGER NOT NULL" for c in IMPORT_COUNTS)})""",
    f"CREATE INDEX {IMPORTS_TABLE}_sha ON {IMPORTS_TABLE} (source_sha256)",
]
# Added after the first archives were made: created when first needed, so older archives keep working.
_CREATE_STATUS = [
    f"""CREATE TABLE IF NOT EXISTS {STATUS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, feed_url TEXT NOT NULL,
        fetched_at DATETIME NOT NULL, chargepoint_id TEXT NOT NULL, status TEXT, operator TEXT)""",
    f"CREATE INDEX IF NOT EXISTS {STATUS_TABLE}_snapshot ON {STATUS_TABLE} (feed_url, fetched_at)",
    f"CREATE INDEX IF NOT EXISTS {STATUS_TABLE}_id ON {STATUS_TABLE} (chargepoint_id)",
]
_DESCRIPTIONS = {
    CHARGEPOINTS_TABLE: "Every charge point ever registered, with its current attributes",
    HISTORY_TABLE: "Each distinct version of a charge point's attributes",
    USAGE_TABLE: "Usage per charge point per period; period_end is exclusive",
    REPLACED_TABLE: "Usage rows replaced by a later import, kept for audit and never counted",
    IMPORTS_TABLE: "One row per import into this archive",
    STATUS_TABLE: "The status of every charge point in every live-status snapshot taken",
}

# A GeoPackage point: the "GP" header (version 0, flags 1 = little-endian, no
# envelope), the srs_id, then a little-endian WKB point.
_GPKG_POINT = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"),
                        ("byte_order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


class ArchiveError(EvChargeError):
    """The archive cannot be opened, or an import was refused; nothing was written."""


@dataclass
class ImportSummary:
    import_id: "int | None"  # None when nothing was written
    imported: int  # usage rows new to the archive
    replaced: int  # usage rows that replaced at least one older, overlapping row
    unchanged: int  # rows identical to what the archive already held
    chargepoints_registered: int
    chargepoints_changed: int
    already_imported_at: "str | None"  # set when the same source bytes were imported before: nothing was written
    # One row per archived row replaced: its period, old values and import, and the
    # sums of the new rows overlapping it (for a quarter replaced by months, the months' total).
    replacements: pd.DataFrame


def _timestamp(value=None) -> str:
    """A GeoPackage DATETIME: UTC, milliseconds, 'Z'. Naive values are taken as UTC."""
    stamp = pd.Timestamp(datetime.now(timezone.utc) if value is None else value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _dates(values: pd.Series, column: str) -> np.ndarray:
    """GeoPackage DATE text for a column of dates; only whole days make sense as period bounds."""
    try:
        stamps = pd.to_datetime(values)
    except (ValueError, TypeError) as error:
        raise ArchiveError(tr("Usage column {column} holds a value that is not a date: {error}").format(column=column, error=error)) from error
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    if stamps.isna().any() or (stamps != stamps.dt.normalize()).any():
        raise ArchiveError(tr("Usage column {column} must hold whole dates, without times or gaps.").format(column=column))
    codes, uniques = pd.factorize(stamps)
    return np.asarray(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d"), dtype=object)[codes]


def _parse_dates(text: pd.Series) -> np.ndarray:
    """Naive datetime64 from GeoPackage DATE text; there are few distinct dates, so each is parsed once."""
    codes, uniques = pd.factorize(text)
    return pd.to_datetime(pd.Series(uniques, dtype=object), format="%Y-%m-%d").to_numpy(dtype="datetime64[ns]")[codes]


def _sql_values(series: pd.Series) -> list:
    """Python values for sqlite3: NaN and pandas NA become None, booleans 0/1, numpy scalars plain."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return [None if value is None else int(value) for value in series.astype("boolean").to_numpy(dtype=object, na_value=None)]
    if pd.api.types.is_float_dtype(series.dtype):
        return [None if value != value else value for value in series.to_numpy(dtype="float64", na_value=np.nan).tolist()]
    if pd.api.types.is_integer_dtype(series.dtype):
        # Plain ints: sqlite3 cannot bind numpy integers.
        return [None if pd.isna(value) else int(value) for value in series.to_numpy(dtype=object)]
    return [None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value
            for value in series.to_numpy(dtype=object).tolist()]


def _points(x, y) -> list:
    """GeoPackage point blobs in EPSG:27700, built by numpy; None where a coordinate is missing."""
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    blobs = np.zeros(len(x), dtype=_GPKG_POINT)
    blobs["magic"], blobs["flags"], blobs["srs_id"], blobs["byte_order"], blobs["type"] = b"GP", 1, schema.BNG_EPSG, 1, 1
    blobs["x"], blobs["y"] = x, y
    data, size, placed = blobs.tobytes(), _GPKG_POINT.itemsize, np.isfinite(x) & np.isfinite(y)
    return [data[i * size:(i + 1) * size] if placed[i] else None for i in range(len(x))]


def _equal(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Elementwise equality where two missing values are equal."""
    return np.asarray((left == right).fillna(False), dtype=bool) | (left.isna().to_numpy() & right.isna().to_numpy())


def _chunks(rows: list):
    for start in range(0, len(rows), CHUNK_ROWS):
        yield rows[start:start + CHUNK_ROWS]


class _Progress:
    """Counts rows written and reports the fraction done to the caller's callback."""

    def __init__(self, callback, total: int):
        self.callback, self.total, self.done = callback, max(total, 1), 0

    def write(self, cursor, sql: str, rows: list):
        for chunk in _chunks(rows):
            cursor.executemany(sql, chunk)
            self.done += len(chunk)
            self.report()

    def report(self, fraction=None):
        if self.callback is not None:
            self.callback(min(1.0, self.done / self.total) if fraction is None else fraction)


class Archive:
    """The history archive at ``path``; a context manager that closes the file.

    Opening an existing archive only reads it: the file changes only when an
    import commits.
    """

    def __init__(self, path):
        self.path = Path(path)
        exists = self.path.is_file() and self.path.stat().st_size > 0
        if self.path.exists() and not self.path.is_file():
            raise ArchiveError(tr("{name} is a folder, not an archive file.").format(name=self.path.name))
        if not exists and not self.path.parent.is_dir():
            raise ArchiveError(tr("The folder for the archive {name} does not exist.").format(name=self.path.name))
        try:
            # Transactions are managed here (BEGIN IMMEDIATE ... COMMIT), not by the sqlite3 module.
            self._connection = sqlite3.connect(str(self.path), isolation_level=None, timeout=10)
        except sqlite3.Error as error:
            raise ArchiveError(tr("The archive {name} could not be opened: {error}.").format(name=self.path.name, error=error)) from error
        try:
            if exists:
                self._check()
            else:
                self._create()
        except BaseException:
            self._connection.close()
            raise

    # -- opening -----------------------------------------------------------

    def _check(self):
        name = self.path.name
        try:
            application_id = self._connection.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in self._connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as error:
            raise ArchiveError(tr("{name} is not a GeoPackage archive (the file is not an SQLite database, or it is damaged): {error}.").format(name=name, error=error)) from error
        if application_id != GPKG_APPLICATION_ID:
            raise ArchiveError(tr("{name} is an SQLite database but not a GeoPackage.").format(name=name))
        missing = {CHARGEPOINTS_TABLE, HISTORY_TABLE, USAGE_TABLE, REPLACED_TABLE, IMPORTS_TABLE} - tables
        if missing:
            raise ArchiveError(tr("{name} is a GeoPackage but not a charge point archive: it has no {tables} table.").format(
                name=name, tables=", ".join(sorted(missing))))
        try:
            self._connection.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as error:
            raise ArchiveError(tr("The archive {name} is damaged: {error}.").format(name=name, error=error)) from error
        self._set_journal_mode()

    def _set_journal_mode(self):
        # A rollback journal (not WAL) so a rolled-back import leaves the file as
        # it was byte for byte, and the archive stays one file to copy or share.
        self._connection.execute("PRAGMA journal_mode=DELETE")
        self._connection.execute("PRAGMA temp_store=MEMORY")

    def _create(self):
        from pyproj import CRS

        self._set_journal_mode()
        now = _timestamp()
        with self._transaction() as cursor:
            cursor.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
            cursor.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
            for statement in _CREATE + _CREATE_STATUS:
                cursor.execute(statement)
            # The rows every GeoPackage must have, then British National Grid.
            cursor.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
                ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
                ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
                ("WGS 84 geodetic", schema.WGS84_EPSG, "EPSG", schema.WGS84_EPSG, CRS.from_epsg(schema.WGS84_EPSG).to_wkt("WKT1_GDAL"),
                 "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
                ("OSGB36 / British National Grid", schema.BNG_EPSG, "EPSG", schema.BNG_EPSG, CRS.from_epsg(schema.BNG_EPSG).to_wkt("WKT1_GDAL"),
                 "British National Grid"),
            ])
            cursor.executemany("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) VALUES (?, ?, ?, ?, ?, ?)", [
                (table, "features" if table == CHARGEPOINTS_TABLE else "attributes", table, description, now,
                 schema.BNG_EPSG if table == CHARGEPOINTS_TABLE else None)
                for table, description in _DESCRIPTIONS.items()])
            cursor.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, 'POINT', ?, 0, 0)", (CHARGEPOINTS_TABLE, GEOMETRY_COLUMN, schema.BNG_EPSG))

    # -- transactions ------------------------------------------------------

    class _Transaction:
        def __init__(self, connection):
            self.connection = connection

        def __enter__(self):
            # IMMEDIATE takes the write lock now, so a second writer waits rather than failing half way.
            self.connection.execute("BEGIN IMMEDIATE")
            return self.connection.cursor()

        def __exit__(self, kind, error, trace):
            self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
            return False

    def _transaction(self):
        return self._Transaction(self._connection)

    # -- live status -------------------------------------------------------

    def append_statuses(self, statuses: pd.DataFrame, *, feed_url: str, fetched_at: str) -> int:
        """Add one live-status snapshot (``chargepoint_id``, ``status``, ``operator``) in one transaction.

        A snapshot already in the archive (same feed, same fetch time: a stale
        copy handed back after a failed refresh) is not added again, so it
        cannot weigh twice in reliability. Returns the rows added.
        """
        rows = list(zip(*[_sql_values(statuses[column].astype("string")) for column in ("chargepoint_id", "status", "operator")]))
        try:
            with self._transaction() as cursor:
                self._ensure_status_table(cursor)
                seen = cursor.execute(f"SELECT 1 FROM {STATUS_TABLE} WHERE feed_url = ? AND fetched_at = ? LIMIT 1", (feed_url, fetched_at)).fetchone()  # nosec B608
                if seen is not None or not rows:
                    return 0
                cursor.executemany(f"INSERT INTO {STATUS_TABLE} (feed_url, fetched_at, chargepoint_id, status, operator) VALUES (?, ?, ?, ?, ?)",  # nosec B608
                                   [(feed_url, fetched_at) + row for row in rows])
                cursor.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (_timestamp(), STATUS_TABLE))
        except sqlite3.Error as error:
            raise ArchiveError(tr("The archive {name} could not be written, no status was added: {error}.").format(name=self.path.name, error=error)) from error
        return len(rows)

    def status_snapshots(self) -> pd.DataFrame:
        """Every status snapshot row: ``feed_url``, ``fetched_at``, ``chargepoint_id``, ``status``, ``operator``."""
        columns = ["feed_url", "fetched_at", "chargepoint_id", "status", "operator"]
        exists = self._connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (STATUS_TABLE,)).fetchone()
        if exists is None:
            return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
        return self._frame(f"SELECT {', '.join(columns)} FROM {STATUS_TABLE} ORDER BY fid")  # nosec B608

    @staticmethod
    def _ensure_status_table(cursor) -> None:
        for statement in _CREATE_STATUS:
            cursor.execute(statement)
        cursor.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) VALUES (?, 'attributes', ?, ?, ?)",
                       (STATUS_TABLE, STATUS_TABLE, _DESCRIPTIONS[STATUS_TABLE], _timestamp()))

    def close(self):
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- reading -----------------------------------------------------------

    def _frame(self, sql: str, params=()) -> pd.DataFrame:
        cursor = self._connection.execute(sql, params)
        columns = [description[0] for description in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)

    def _current(self) -> pd.DataFrame:
        """The chargepoints table's attributes in canonical dtypes (no geometry)."""
        columns = list(schema.CHARGEPOINT_COLUMNS) + ["first_period", "last_period"]
        frame = self._frame(f"SELECT {', '.join(columns)} FROM {CHARGEPOINTS_TABLE} ORDER BY fid")  # nosec B608
        frame = frame.astype({column: "float64" for column in ("on_street", "in_london", "connectors")})
        frame = frame.astype(schema.CHARGEPOINT_COLUMNS)
        for column in ("first_period", "last_period"):
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
        return frame

    def chargepoints(self):
        """Every charge point registered, with its current attributes, as a GeoDataFrame in EPSG:27700."""
        import geopandas as gpd

        from .validation import _points as shapely_points  # the readers' fast point builder (shapely 1.8 and 2)

        frame = self._current()
        geometry = shapely_points(frame["easting"].to_numpy(), frame["northing"].to_numpy())
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=schema.BNG_EPSG)

    def known_ids(self) -> set:
        return {row[0] for row in self._connection.execute(f"SELECT chargepoint_id FROM {CHARGEPOINTS_TABLE}")}  # nosec B608

    def usage(self, start=None, end=None) -> pd.DataFrame:
        """Usage rows whose period lies wholly inside ``[start, end)``; either bound may be omitted.

        Periods come back as naive datetime64 dates, with the import that wrote each row and its source.
        """
        where, params = [], []
        if start is not None:
            where.append("period_start >= ?")
            params.append(pd.Timestamp(start).strftime("%Y-%m-%d"))
        if end is not None:
            where.append("period_end <= ?")
            params.append(pd.Timestamp(end).strftime("%Y-%m-%d"))
        sql = f"SELECT {', '.join(USAGE_COLUMNS)}, import_id FROM {USAGE_TABLE}"  # nosec B608
        frame = self._frame(sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY chargepoint_id, period_start", params)
        frame = frame.reindex(columns=USAGE_COLUMNS + ["import_id"])
        for column in ("period_start", "period_end"):
            frame[column] = _parse_dates(frame[column])
        sources = dict(self._connection.execute(f"SELECT import_id, source FROM {IMPORTS_TABLE}").fetchall())  # nosec B608
        frame["source"] = frame["import_id"].map(sources)
        return frame.astype({"chargepoint_id": "string", "sessions": "int64", "energy_kwh": "float64", "occupied_hours": "float64",
                             "charging_hours": "float64", "available_hours": "float64", "import_id": "int64", "source": "string"})

    def periods(self) -> pd.DataFrame:
        """The distinct periods held, in order, with how many usage rows each has."""
        frame = self._frame(f"SELECT period_start, period_end, COUNT(*) AS rows FROM {USAGE_TABLE} GROUP BY period_start, period_end ORDER BY period_start, period_end")  # nosec B608
        for column in ("period_start", "period_end"):
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
        return frame.astype({"rows": "int64"})

    def imports(self) -> pd.DataFrame:
        frame = self._frame(f"SELECT * FROM {IMPORTS_TABLE} ORDER BY import_id")  # nosec B608
        frame["imported_at"] = pd.to_datetime(frame["imported_at"], utc=True)
        return frame

    # -- importing ---------------------------------------------------------

    def import_batch(self, *, usage: pd.DataFrame, chargepoints=None, source: str, source_sha256: str,
                     imported_at=None, progress=None) -> ImportSummary:
        """Add one source's usage rows (and charge points) to the archive, in one transaction.

        If ``source_sha256`` was imported before, nothing is written and the
        summary says when. ``progress(fraction)`` is called between write batches;
        an exception from it (how a caller cancels) rolls the whole import back.
        """
        stamp = _timestamp(imported_at)
        rows = self._usage_rows(usage)
        points = self._chargepoint_rows(chargepoints)
        try:
            return self._import(rows, points, source, source_sha256, stamp, progress)
        except sqlite3.Error as error:
            # Most often "database is locked": another program is writing to the file.
            raise ArchiveError(tr("The archive {name} could not be written, nothing was imported: {error}.").format(name=self.path.name, error=error)) from error

    def _import(self, rows, points, source, source_sha256, stamp, progress) -> ImportSummary:
        with self._transaction() as cursor:
            earlier = cursor.execute(f"SELECT imported_at FROM {IMPORTS_TABLE} WHERE source_sha256 = ? ORDER BY import_id LIMIT 1", (source_sha256,)).fetchone()  # nosec B608
            if earlier is not None:
                return ImportSummary(None, 0, 0, 0, 0, 0, earlier[0], _empty_replacements())
            current = self._current()
            self._check_registered(rows, current, points)
            new_points, changed_points = _chargepoint_changes(points, current)
            matches = self._overlaps(cursor, rows)
            unchanged, replacing, old = _classify(rows, matches)
            insert = rows[~unchanged]
            tracker = _Progress(progress, len(new_points) * 2 + len(changed_points) * 2 + len(old) * 2 + len(insert))
            tracker.report(0.0)

            counts = (int((~unchanged & ~replacing).sum()), int(replacing.sum()), int(unchanged.sum()), len(new_points), len(changed_points))
            cursor.execute(f"INSERT INTO {IMPORTS_TABLE} (source, source_sha256, imported_at, {', '.join(IMPORT_COUNTS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # nosec B608
                           (source, source_sha256, stamp) + counts)
            import_id = cursor.lastrowid
            self._write_chargepoints(cursor, tracker, new_points, changed_points, import_id, stamp)

            # Replaced rows move to usage_replaced before the new rows go in (the UNIQUE constraint would refuse a same-period row otherwise).
            fids = [(int(fid),) for fid in old["fid"]]
            value_columns = ", ".join(USAGE_COLUMNS + ["import_id"])
            tracker.write(cursor, f"INSERT INTO {REPLACED_TABLE} ({value_columns}, replaced_by_import) SELECT {value_columns}, {import_id} FROM {USAGE_TABLE} WHERE fid = ?", fids)  # nosec B608
            tracker.write(cursor, f"DELETE FROM {USAGE_TABLE} WHERE fid = ?", fids)  # nosec B608
            values = [_sql_values(insert[column]) for column in USAGE_COLUMNS]
            tracker.write(cursor, f"INSERT INTO {USAGE_TABLE} ({value_columns}) VALUES ({', '.join('?' * (len(USAGE_COLUMNS) + 1))})",  # nosec B608
                           list(zip(*values, [import_id] * len(insert))))

            touched = set(rows["chargepoint_id"]) | set(new_points["chargepoint_id"])
            self._update_periods(cursor, touched)
            self._update_contents(cursor, stamp, bool(len(new_points) or len(changed_points)), bool(len(rows) and (~unchanged).any()))
            tracker.report(1.0)
        replacements = _replacements(rows, matches, old, replacing, self._sources())
        return ImportSummary(import_id, *counts, None, replacements)

    def _sources(self) -> dict:
        return dict(self._connection.execute(f"SELECT import_id, source FROM {IMPORTS_TABLE}").fetchall())  # nosec B608

    @staticmethod
    def _usage_rows(usage: pd.DataFrame) -> pd.DataFrame:
        """The batch's usage with dates as GeoPackage text; refuses rows the archive could not keep consistent."""
        missing = [column for column in USAGE_COLUMNS if column not in usage.columns and column != "charging_hours"]
        if missing:
            raise ArchiveError(tr("The usage to archive has no {columns} column.").format(columns=", ".join(missing)))
        rows = pd.DataFrame({
            "chargepoint_id": usage["chargepoint_id"].astype("string").to_numpy(dtype=object, na_value=None),
            "period_start": _dates(usage["period_start"], "period_start"),
            "period_end": _dates(usage["period_end"], "period_end"),
        })
        for column in USAGE_VALUES:
            rows[column] = pd.to_numeric(usage[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if column in usage.columns else np.nan
        gaps = [column for column in REQUIRED_USAGE if rows[column].isna().any()]
        if gaps:
            raise ArchiveError(tr("The usage to archive has missing values in {columns}.").format(columns=", ".join(gaps)))
        if (rows["sessions"] % 1 != 0).any():
            raise ArchiveError(tr("The usage to archive has sessions that are not whole numbers."))
        rows["sessions"] = rows["sessions"].astype("int64")
        if (rows["period_end"] <= rows["period_start"]).any():
            raise ArchiveError(tr("The usage to archive has periods that end before they start."))
        # Sorted by start, any overlap within a charge point shows between neighbours.
        ordered = rows.sort_values(["chargepoint_id", "period_start"], kind="stable")
        same_point = ordered["chargepoint_id"].to_numpy()[1:] == ordered["chargepoint_id"].to_numpy()[:-1]
        overlap = same_point & (ordered["period_start"].to_numpy()[1:] < ordered["period_end"].to_numpy()[:-1])
        if overlap.any():
            ids = pd.unique(ordered["chargepoint_id"].to_numpy()[1:][overlap])[:MAX_IDS_QUOTED]
            raise ArchiveError(tr("The usage to archive has overlapping periods for the same charge point: {ids}.").format(ids=", ".join(ids)))
        return rows

    @staticmethod
    def _chargepoint_rows(chargepoints) -> pd.DataFrame:
        """The batch's charge points in canonical dtypes, with easting/northing taken from the geometry."""
        if chargepoints is None:
            return schema.empty_chargepoints().drop(columns="geometry").pipe(pd.DataFrame)
        frame = chargepoints
        if getattr(frame, "crs", None) is not None and frame.crs.to_epsg() != schema.BNG_EPSG:
            frame = frame.to_crs(schema.BNG_EPSG)
        points = pd.DataFrame(frame.drop(columns=frame.geometry.name)) if hasattr(frame, "geometry") else pd.DataFrame(frame)
        points = points.reindex(columns=list(schema.CHARGEPOINT_COLUMNS)).astype(schema.CHARGEPOINT_COLUMNS).reset_index(drop=True)
        if hasattr(frame, "geometry") and len(frame):
            # The geometry is what the map shows: keep easting/northing in step with it.
            geometry = frame.geometry.reset_index(drop=True)
            placed = geometry.notna() & ~geometry.is_empty
            points.loc[placed, "easting"] = geometry[placed].x
            points.loc[placed, "northing"] = geometry[placed].y
        if points["chargepoint_id"].isna().any():
            raise ArchiveError(tr("Charge points to archive must all have an id."))
        duplicated = points["chargepoint_id"][points["chargepoint_id"].duplicated()]
        if len(duplicated):
            raise ArchiveError(tr("Charge points to archive have duplicate ids: {ids}.").format(ids=", ".join(pd.unique(duplicated)[:MAX_IDS_QUOTED])))
        return points

    @staticmethod
    def _check_registered(rows, current, points):
        known = set(current["chargepoint_id"]) | set(points["chargepoint_id"])
        unknown = pd.unique(rows["chargepoint_id"][~rows["chargepoint_id"].isin(known)])
        if len(unknown):
            raise ArchiveError(tr("{count} charge point(s) in the usage are not registered in the archive or in this import, for example {ids}. Import their charge points first.").format(
                count=len(unknown), ids=", ".join(map(str, unknown[:MAX_IDS_QUOTED]))))

    @staticmethod
    def _overlaps(cursor, rows) -> pd.DataFrame:
        """Archived rows of the same charge point whose period overlaps each batch row (``row`` is the batch position)."""
        cursor.execute("DROP TABLE IF EXISTS temp.incoming")
        cursor.execute("CREATE TEMP TABLE incoming (row INTEGER PRIMARY KEY, chargepoint_id TEXT, period_start TEXT, period_end TEXT)")
        cursor.executemany("INSERT INTO temp.incoming VALUES (?, ?, ?, ?)",
                           zip(range(len(rows)), rows["chargepoint_id"], rows["period_start"], rows["period_end"]))
        old_columns = ", ".join(f"u.{column}" for column in ["fid"] + USAGE_COLUMNS[1:] + ["import_id"])
        cursor.execute(f"SELECT i.row, {old_columns} FROM temp.incoming i JOIN {USAGE_TABLE} u "  # nosec B608
                       "ON u.chargepoint_id = i.chargepoint_id AND u.period_start < i.period_end AND i.period_start < u.period_end")
        matches = pd.DataFrame.from_records(cursor.fetchall(), columns=["row", "fid"] + USAGE_COLUMNS[1:] + ["import_id"])
        cursor.execute("DROP TABLE temp.incoming")
        return matches.astype({"row": "int64", "fid": "int64", "import_id": "int64", **{column: "float64" for column in USAGE_VALUES}})

    def _write_chargepoints(self, cursor, progress, new_points, changed_points, import_id, stamp):
        columns = list(schema.CHARGEPOINT_COLUMNS)
        both = pd.concat([new_points, changed_points], ignore_index=True)
        values = list(zip(*[_sql_values(both[column]) for column in columns]))
        geometry = _points(both["easting"], both["northing"])
        registered = len(new_points)
        history = [row + (import_id, stamp) for row in values]
        progress.write(cursor, f"INSERT INTO {HISTORY_TABLE} ({', '.join(columns)}, import_id, valid_from) VALUES ({', '.join('?' * (len(columns) + 2))})", history)  # nosec B608
        progress.write(cursor, f"INSERT INTO {CHARGEPOINTS_TABLE} ({GEOMETRY_COLUMN}, {', '.join(columns)}, registered_at, updated_at, import_id) VALUES ({', '.join('?' * (len(columns) + 4))})",  # nosec B608
                       [(geometry[i],) + values[i] + (stamp, stamp, import_id) for i in range(registered)])
        assignments = ", ".join(f"{column} = ?" for column in [GEOMETRY_COLUMN] + ATTRIBUTE_COLUMNS + ["updated_at", "import_id"])
        progress.write(cursor, f"UPDATE {CHARGEPOINTS_TABLE} SET {assignments} WHERE chargepoint_id = ?",  # nosec B608
                       [(geometry[i],) + values[i][1:] + (stamp, import_id, values[i][0]) for i in range(registered, len(values))])

    @staticmethod
    def _update_periods(cursor, touched):
        cursor.execute("DROP TABLE IF EXISTS temp.touched")
        cursor.execute("CREATE TEMP TABLE touched (chargepoint_id TEXT PRIMARY KEY)")
        cursor.executemany("INSERT INTO temp.touched VALUES (?)", ((cp_id,) for cp_id in touched))
        cursor.execute(f"UPDATE {CHARGEPOINTS_TABLE} SET "  # nosec B608
                       f"first_period = (SELECT MIN(period_start) FROM {USAGE_TABLE} u WHERE u.chargepoint_id = {CHARGEPOINTS_TABLE}.chargepoint_id), "
                       f"last_period = (SELECT MAX(period_end) FROM {USAGE_TABLE} u WHERE u.chargepoint_id = {CHARGEPOINTS_TABLE}.chargepoint_id) "
                       "WHERE chargepoint_id IN (SELECT chargepoint_id FROM temp.touched)")
        cursor.execute("DROP TABLE temp.touched")

    @staticmethod
    def _update_contents(cursor, stamp, points_changed, usage_changed):
        """Keep gpkg_contents' extent (QGIS's first zoom) and last_change true."""
        cursor.execute(f"UPDATE gpkg_contents SET last_change = ? WHERE table_name = '{IMPORTS_TABLE}'", (stamp,))  # nosec B608
        if points_changed:
            cursor.execute(f"UPDATE gpkg_contents SET last_change = ?, "  # nosec B608
                           f"min_x = (SELECT MIN(easting) FROM {CHARGEPOINTS_TABLE}), min_y = (SELECT MIN(northing) FROM {CHARGEPOINTS_TABLE}), "
                           f"max_x = (SELECT MAX(easting) FROM {CHARGEPOINTS_TABLE}), max_y = (SELECT MAX(northing) FROM {CHARGEPOINTS_TABLE}) "
                           f"WHERE table_name = '{CHARGEPOINTS_TABLE}'", (stamp,))
            cursor.execute(f"UPDATE gpkg_contents SET last_change = ? WHERE table_name = '{HISTORY_TABLE}'", (stamp,))  # nosec B608
        if usage_changed:
            cursor.execute(f"UPDATE gpkg_contents SET last_change = ? WHERE table_name IN ('{USAGE_TABLE}', '{REPLACED_TABLE}')", (stamp,))  # nosec B608
        # first/last period changed on the charge points whenever usage did.
        if usage_changed and not points_changed:
            cursor.execute(f"UPDATE gpkg_contents SET last_change = ? WHERE table_name = '{CHARGEPOINTS_TABLE}'", (stamp,))  # nosec B608


def _chargepoint_changes(points: pd.DataFrame, current: pd.DataFrame):
    """Split the batch's charge points into new ones and known ones whose attributes changed."""
    known = points["chargepoint_id"].isin(current["chargepoint_id"])
    new_points = points[~known].reset_index(drop=True)
    candidates = points[known].reset_index(drop=True)
    before = current.set_index("chargepoint_id").loc[candidates["chargepoint_id"]].reset_index()
    same = np.ones(len(candidates), dtype=bool)
    for column in COMPARED_COLUMNS:
        same &= _equal(candidates[column], before[column])
    return new_points, candidates[~same].reset_index(drop=True)


def _classify(rows: pd.DataFrame, matches: pd.DataFrame):
    """Which batch rows repeat an archived row exactly, which replace older rows, and the archived rows to move."""
    batch = rows.iloc[matches["row"].to_numpy()].reset_index(drop=True)
    identical = (batch["period_start"].to_numpy() == matches["period_start"].to_numpy()) & (batch["period_end"].to_numpy() == matches["period_end"].to_numpy())
    for column in USAGE_VALUES:
        identical &= _equal(batch[column].astype("float64"), matches[column])
    unchanged = np.zeros(len(rows), dtype=bool)
    unchanged[matches["row"].to_numpy()[identical]] = True
    replacing = np.zeros(len(rows), dtype=bool)
    replacing[matches["row"].to_numpy()] = True
    replacing &= ~unchanged
    old = matches[~unchanged[matches["row"].to_numpy()]]
    return unchanged, replacing, old.drop_duplicates("fid")


def _empty_replacements() -> pd.DataFrame:
    columns = (["chargepoint_id", "period_start", "period_end", "old_import_id", "old_source"] + [f"old_{c}" for c in USAGE_VALUES]
               + ["new_period_start", "new_period_end", "new_rows"] + [f"new_{c}" for c in USAGE_VALUES])
    return pd.DataFrame(columns=columns)


def _replacements(rows, matches, old, replacing, sources) -> pd.DataFrame:
    """One row per archived row replaced: its old values, and the sums of the new rows that overlap it."""
    if old.empty:
        return _empty_replacements()
    pairs = matches[replacing[matches["row"].to_numpy()]]
    new = rows.iloc[pairs["row"].to_numpy()].reset_index(drop=True).assign(fid=pairs["fid"].to_numpy())
    # Dates, not text: pandas takes the min and max of text one group at a time in Python.
    new["period_start"], new["period_end"] = _parse_dates(new["period_start"]), _parse_dates(new["period_end"])
    groups = new.groupby("fid")
    sums = groups[USAGE_VALUES].sum(min_count=1).add_prefix("new_").assign(
        new_period_start=groups["period_start"].min(), new_period_end=groups["period_end"].max(), new_rows=groups.size())
    frame = old.assign(chargepoint_id=rows["chargepoint_id"].to_numpy()[old["row"].to_numpy()], old_source=old["import_id"].map(sources))
    frame = frame.rename(columns={"import_id": "old_import_id", **{c: f"old_{c}" for c in USAGE_VALUES}})
    frame = frame.merge(sums, left_on="fid", right_index=True).sort_values(["chargepoint_id", "period_start"]).reset_index(drop=True)
    frame = frame[_empty_replacements().columns]
    for column in ("period_start", "period_end"):
        frame[column] = _parse_dates(frame[column])
    return frame.astype({"old_sessions": "int64", "new_sessions": "int64"})

