"""Turn the raw records a reader found into the canonical charge point frame.

Every reader ends here, so coordinates, duplicates and speed bands are judged
the same way whatever the source. A record that cannot be placed on the map is
rejected with a reason; nothing is dropped silently.
"""
import functools
import struct

import numpy as np
import pandas as pd

from . import schema
from .i18n import tr
from .report import FLAGGED, REJECTED, REPAIRED, ValidationReport

# A generous box around the United Kingdom (Scilly to Shetland, Northern Ireland to Lowestoft).
UK_LAT = (49.8, 61.0)
UK_LON = (-8.8, 2.0)
# The National Grid's extent, in metres.
BNG_EASTING = (0.0, 700000.0)
BNG_NORTHING = (0.0, 1300000.0)
# Greater London's bounding box in BNG, used when no boundary layer is given.
LONDON_BBOX_BNG = (503500.0, 155800.0, 561950.0, 200950.0)

COORDINATE_COLUMNS = ["latitude", "longitude", "easting", "northing"]
TEXT_COLUMNS = ["name", "operator", "connector_types", "status", "scheme"]
# More than any charge device or site has: a bigger count is a typing error.
MAX_CONNECTORS = 1000
# Accepted spellings of the on-street flag (compared lower-case).
ON_STREET_WORDS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
RAW_COLUMNS = [
    "record", "chargepoint_id", "name", "operator", "latitude", "longitude",
    "easting", "northing", "power_kw", "connectors", "connector_types", "status",
    "on_street", "scheme",
]


def to_float(series: pd.Series) -> pd.Series:
    """Numbers from text as operators write them: surrounding spaces, decimal comma."""
    if pd.api.types.is_numeric_dtype(series):
        return pd.to_numeric(series, errors="coerce").astype("float64")
    text = series.astype(str)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    # Most values parse as they are; cleaning only the rest keeps large files fast.
    retry = numbers.isna()
    if retry.any():
        # Missing values (a column the source lacks) read as "nan" or "None": no number to clean up.
        retry &= series.notna() & (text != "")
        numbers[retry] = pd.to_numeric(text[retry].str.strip().str.replace(",", ".", regex=False), errors="coerce")
    return numbers


def _stripped(series: pd.Series) -> list:
    """Each value as stripped text, None where missing or only spaces.

    A plain loop over the values is several times faster than pandas' string methods.
    """
    values = series.to_numpy()
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        # Text only, none missing, as a CSV reader's columns are: no copy as "string" needed.
        return [value.strip() or None for value in values]
    values = series.astype("string").to_numpy(dtype=object, na_value=None)
    return [None if value is None else value.strip() or None for value in values]


def text_values(series: pd.Series) -> pd.Series:
    """Values as stripped text; missing or only spaces becomes <NA>."""
    return pd.Series(_stripped(series), index=series.index, dtype="string")


def has_text(series: pd.Series) -> pd.Series:
    """True where a value is present: not missing and not only spaces."""
    return pd.Series([value is not None for value in _stripped(series)], index=series.index, dtype=bool)


def _in_range(values, bounds):
    return (values >= bounds[0]) & (values <= bounds[1])


@functools.lru_cache(maxsize=None)
def _transformer(source_epsg, target_epsg):
    """Built once per pair: looking the operation up in PROJ's database costs more
    than transforming 25,000 points, and transformers are thread-safe (pyproj >= 3.1)."""
    from pyproj import Transformer

    return Transformer.from_crs(source_epsg, target_epsg, always_xy=True)


def bng_to_wgs84(easting, northing):
    lon, lat = _transformer(schema.BNG_EPSG, schema.WGS84_EPSG).transform(np.asarray(easting, float), np.asarray(northing, float))
    return np.asarray(lat), np.asarray(lon)


def wgs84_to_bng(latitude, longitude):
    easting, northing = _transformer(schema.WGS84_EPSG, schema.BNG_EPSG).transform(np.asarray(longitude, float), np.asarray(latitude, float))
    return np.asarray(easting), np.asarray(northing)


def _unreadable_coordinates(values: pd.Series, given: pd.Series, numbers: pd.Series) -> str:
    """Say why a record's coordinates could not be used; all three are indexed by coordinate column."""
    if not given.any():
        return tr("Coordinates are missing.")
    # Describe the pair the record tried: easting/northing only if it gave no latitude/longitude.
    pair = ("latitude", "longitude") if given["latitude"] or given["longitude"] else ("easting", "northing")
    details = []
    for column in pair:
        if not given[column]:
            details.append(tr("{column} is missing").format(column=column))
        elif pd.isna(numbers[column]):
            details.append(tr("{column} {value!r} is not a number").format(column=column, value=values[column]))
    return tr("Coordinates cannot be read: {details}.").format(details="; ".join(details))


def _place(raw: pd.DataFrame, ids: pd.Series, report: ValidationReport):
    """Latitude/longitude of every record from whichever coordinates it has, and
    which records could be placed in the United Kingdom; the rest are reported."""
    numbers = pd.DataFrame({column: to_float(raw[column]) for column in COORDINATE_COLUMNS})
    lat, lon, east, north = (numbers[column] for column in COORDINATE_COLUMNS)

    # Easting/northing typed into the latitude/longitude columns.
    in_wrong_columns = ~(_in_range(lat, (-90, 90)) & _in_range(lon, (-180, 180))) & _in_range(lon, BNG_EASTING) & _in_range(lat, BNG_NORTHING) & east.isna()
    east = east.where(~in_wrong_columns, lon)
    north = north.where(~in_wrong_columns, lat)
    lat = lat.where(~in_wrong_columns)
    lon = lon.where(~in_wrong_columns)

    use_bng = lat.isna() | lon.isna()
    bng_ok = use_bng & _in_range(east, BNG_EASTING) & _in_range(north, BNG_NORTHING)
    if bng_ok.any():
        converted_lat, converted_lon = bng_to_wgs84(east[bng_ok], north[bng_ok])
        lat[bng_ok], lon[bng_ok] = converted_lat, converted_lon

    in_uk = _in_range(lat, UK_LAT) & _in_range(lon, UK_LON)
    swapped = ~in_uk & _in_range(lon, UK_LAT) & _in_range(lat, UK_LON)
    lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
    placed = in_uk | swapped

    # Only records with something to report are visited one by one, so large clean files stay vectorised.
    unreadable = use_bng & ~bng_ok & (east.isna() | north.isna())
    given = raw.loc[unreadable, COORDINATE_COLUMNS].apply(has_text)
    for index in raw.index[in_wrong_columns | swapped | ~placed]:
        record, cp_id = raw.at[index, "record"], ids[index]
        if in_wrong_columns[index]:
            report.add(record, "latitude", tr("Easting/northing ({e:.0f}, {n:.0f}) were in the latitude/longitude columns; read as British National Grid.").format(e=east[index], n=north[index]), REPAIRED, cp_id)
        if swapped[index]:
            report.add(record, "latitude", tr("Latitude and longitude were swapped ({lat}, {lon}); swapped back.").format(lat=raw.at[index, "latitude"], lon=raw.at[index, "longitude"]), REPAIRED, cp_id)
        elif unreadable[index]:
            report.add(record, "latitude", _unreadable_coordinates(raw.loc[index, COORDINATE_COLUMNS], given.loc[index], numbers.loc[index]), REJECTED, cp_id)
        elif use_bng[index] and not bng_ok[index]:
            report.add(record, "easting", tr("Easting/northing ({e}, {n}) lie outside the British National Grid.").format(e=east[index], n=north[index]), REJECTED, cp_id)
        elif not placed[index]:
            report.add(record, "latitude", tr("Coordinates ({lat:.6f}, {lon:.6f}) lie outside the United Kingdom.").format(lat=lat[index], lon=lon[index]), REJECTED, cp_id)
    return lat, lon, placed


def _unique_ids(records: pd.Series, ids: pd.Series, placed: pd.Series, report: ValidationReport) -> pd.Series:
    """Which placed records have an id that no earlier placed record used; the others are reported."""
    missing = placed & ids.isna()
    for record in records[missing]:
        report.add(record, "chargepoint_id", tr("The charge point id is missing."), REJECTED)
    candidates = placed & ~missing
    duplicated = ids[candidates].duplicated(keep="first")
    if duplicated.any():
        candidate_ids, candidate_records = ids[candidates], records[candidates]
        first_record = dict(zip(candidate_ids[~duplicated], candidate_records[~duplicated]))
        for record, cp_id in zip(candidate_records[duplicated], candidate_ids[duplicated]):
            report.add(record, "chargepoint_id", tr("Duplicate id {id}: already used by record {first}.").format(id=cp_id, first=first_record[cp_id]), REJECTED, cp_id)
    return candidates & ~duplicated.reindex(ids.index, fill_value=False)


def _in_london(easting, northing, london_boundary):
    """Which points lie in London, and a phrase saying how that was decided."""
    x0, y0, x1, y1 = LONDON_BBOX_BNG if london_boundary is None else london_boundary.bounds
    inside = (easting >= x0) & (easting <= x1) & (northing >= y0) & (northing <= y1)
    if london_boundary is None:
        return inside, tr("Greater London's bounding box")
    from shapely.geometry import Point
    from shapely.prepared import prep

    # Shapely 1.8 has no vectorised point-in-polygon: test only the points in the
    # boundary's box, against a prepared geometry, which is fast for a detailed boundary.
    boundary = prep(london_boundary)
    candidates = np.flatnonzero(inside)
    inside[candidates] = [boundary.contains(Point(x, y)) for x, y in zip(easting[candidates], northing[candidates])]
    return inside, tr("Greater London (the boundary layer given)")


def _given(values: pd.Series, unusable: pd.Series) -> pd.Series:
    """Which of the unusable values were given rather than left blank. Only those
    are looked at, so a clean column costs nothing here."""
    given = unusable.copy()
    given[unusable] = has_text(values[unusable]).to_numpy()
    return given


# The cleaners below take a column of the records kept, with their record numbers
# and ids for the report, and return the cleaned column.
def _clean_power(values: pd.Series, records: pd.Series, ids: pd.Series, report: ValidationReport) -> pd.Series:
    power = to_float(values)
    bad = _given(values, ~(np.isfinite(power) & (power >= 0)))
    for record, cp_id, value in zip(records[bad], ids[bad], values[bad]):
        report.add(record, "power_kw", tr("Power {value!r} is not a usable number of kW; left empty.").format(value=value), REPAIRED, cp_id)
    return power.where(~bad)


def _clean_connectors(values: pd.Series, records: pd.Series, ids: pd.Series, report: ValidationReport) -> pd.Series:
    count = to_float(values)
    bad = _given(values, ~((count >= 0) & (count <= MAX_CONNECTORS) & (count == count.round())))
    for record, cp_id, value in zip(records[bad], ids[bad], values[bad]):
        report.add(record, "connectors", tr("The number of connectors {value!r} is not a whole number; left empty.").format(value=value), REPAIRED, cp_id)
    return count.where(~bad).astype("Int64")


def _clean_on_street(values: pd.Series, records: pd.Series, ids: pd.Series, report: ValidationReport) -> pd.Series:
    # A file spells the flag a few ways: each spelling is looked up once.
    codes, words = pd.factorize(np.array(_stripped(values), dtype=object))  # missing is -1
    flag = pd.Series(pd.array([ON_STREET_WORDS.get(word.lower()) for word in words] + [None], dtype="boolean")[codes], index=values.index)
    bad = pd.Series(codes >= 0, index=values.index) & flag.isna()
    for record, cp_id, value in zip(records[bad], ids[bad], values[bad]):
        report.add(record, "on_street", tr("On-street {value!r} is not one of yes, no, true, false, 1 or 0; left empty.").format(value=value), REPAIRED, cp_id)
    return flag


def finalise_chargepoints(raw: pd.DataFrame, report: ValidationReport, *, source: str,
                          london_only: bool = False, london_boundary=None):
    """Validate raw reader output and return the canonical GeoDataFrame in EPSG:27700.

    ``raw`` has the columns in :data:`RAW_COLUMNS` (missing ones count as empty);
    ``record`` is the line or feature number quoted in the report. Values may
    still be text: power, connectors and on-street flags are parsed here, once
    for every reader.
    ``london_boundary`` is an optional shapely geometry in EPSG:27700; without it,
    Greater London's bounding box decides which points count as in London.
    """
    import geopandas as gpd

    # Nothing here writes into raw: a reader's frame already in shape is used as it is.
    if list(raw.columns) != RAW_COLUMNS or not raw.index.equals(pd.RangeIndex(len(raw))):
        raw = raw.reindex(columns=RAW_COLUMNS).reset_index(drop=True)
    ids = text_values(raw["chargepoint_id"])
    latitude, longitude, placed = _place(raw, ids, report)
    rows = np.flatnonzero(_unique_ids(raw["record"], ids, placed, report))

    easting, northing = wgs84_to_bng(latitude.iloc[rows], longitude.iloc[rows])
    in_london, where = _in_london(easting, northing, london_boundary)
    # Asking for London only turns the "outside London" note into a rejection.
    severity, reason = (REJECTED, tr("Outside {where}, and only London was asked for.")) if london_only else (FLAGGED, tr("In the United Kingdom but outside {where}."))
    outside = rows[~in_london]
    for record, cp_id in zip(raw["record"].iloc[outside], ids.iloc[outside]):
        report.add(record, "latitude", reason.format(where=where), severity, cp_id)
    if london_only:
        rows, easting, northing, in_london = rows[in_london], easting[in_london], northing[in_london], in_london[in_london]

    # From here on only the records kept are worked on, a column at a time:
    # assigning columns into a wide frame would copy the frame every time.
    def kept(series):
        series = series.iloc[rows]  # a new series: its index may be replaced
        series.index = pd.RangeIndex(len(rows))
        return series

    records, ids = kept(raw["record"]), kept(ids)
    power = _clean_power(kept(raw["power_kw"]), records, ids, report)
    columns = {
        "chargepoint_id": ids,
        "latitude": kept(latitude),
        "longitude": kept(longitude),
        "easting": easting,
        "northing": northing,
        "power_kw": power,
        "speed_band": schema.speed_bands(power),
        "connectors": _clean_connectors(kept(raw["connectors"]), records, ids, report),
        "on_street": _clean_on_street(kept(raw["on_street"]), records, ids, report),
        "source": source,
        "in_london": in_london,
    }
    columns.update({column: text_values(kept(raw[column])) for column in TEXT_COLUMNS})
    frame = pd.DataFrame(columns, columns=list(schema.CHARGEPOINT_COLUMNS)).astype(schema.CHARGEPOINT_COLUMNS, copy=False)
    return gpd.GeoDataFrame(frame, geometry=_points(easting, northing), crs=schema.BNG_EPSG)


def _points(x, y):
    """Point geometries in BNG. Shapely 2 builds them vectorised. On shapely 1.8,
    geopandas' points_from_xy probes every Point for an array interface, and even
    Point(x, y) in a loop costs 3 us a point: read them all as the parts of one
    multipoint WKB instead, a third of the time to build."""
    import geopandas as gpd
    import shapely
    from geopandas.array import GeometryArray

    if int(shapely.__version__.split(".")[0]) >= 2:
        return gpd.points_from_xy(x, y, crs=schema.BNG_EPSG)
    from shapely import wkb
    from shapely.geometry import Point
    from shapely.geos import lgeos

    points = np.empty(len(x), dtype=object)
    if len(points):
        multipoint = wkb.loads(multipoint_wkb(x, y))
        # The parts are made as multipoint.geoms makes them (a Point borrowing its
        # GEOS part, keeping its owner alive), but with their attributes filled in
        # directly: shapely 1.8 sets each through a slow Python __setattr__, which
        # made building 25,000 points take 50 ms instead of 17.
        handle, part = multipoint._geom, lgeos.GEOSGetGeometryN
        part_class = _borrowed_point_class(Point)
        for index in range(len(points)):
            point = part_class.__new__(part_class)
            point.__dict__.update(__geom__=part(handle, index), _other_owned=True, _is_empty=False, _ndim=2, __p__=multipoint)
            points[index] = point  # one at a time: numpy would probe a whole list for the deprecated array interface
    return GeometryArray(points, crs=schema.BNG_EPSG)


@functools.lru_cache(maxsize=None)
def _borrowed_point_class(point_class):
    """Shapely 1.8 Points that borrow their GEOS part from a multipoint.

    Freeing a shapely 1.8 Point resets three attributes through its slow Python
    __setattr__, a third of the cost of a 25,000-point load's frame; a borrowed
    part has nothing of its own to destroy, so it only drops its references.
    Copies and pickles come back as plain Points that own their geometry.
    """
    class BorrowedPoint(point_class):
        def __del__(self):
            self.__dict__.clear()

        def __reduce__(self):
            return (point_class, (), self.wkb)

    return BorrowedPoint


# One point of a little-endian WKB multipoint: byte order, type 1 (point), x, y.
_WKB_POINT = np.dtype([("byte_order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
_WKB_MULTIPOINT = 4


def multipoint_wkb(x, y) -> bytes:
    """One little-endian WKB multipoint holding every x/y pair, built by numpy.

    Parsing it in one call (GEOS or QGIS) is much faster than making points one
    by one in Python.
    """
    parts = np.empty(len(x), dtype=_WKB_POINT)
    parts["byte_order"], parts["type"], parts["x"], parts["y"] = 1, 1, x, y
    return struct.pack("<BII", 1, _WKB_MULTIPOINT, len(parts)) + parts.tobytes()
