"""Turn the raw records a reader found into the canonical charge point frame.

Every reader ends here, so coordinates, duplicates and speed bands are judged
the same way whatever the source. A record that cannot be placed on the map is
rejected with a reason; nothing is dropped silently.
"""
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
    if not pd.api.types.is_numeric_dtype(series):
        series = series.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(series, errors="coerce").astype("float64")


def has_text(series: pd.Series) -> pd.Series:
    """True where a value is present: not missing and not only spaces."""
    return series.notna() & (series.astype(str).str.strip() != "")


def text_values(series: pd.Series) -> pd.Series:
    """Values as stripped text; missing or only spaces becomes <NA>."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _in_range(values, bounds):
    return (values >= bounds[0]) & (values <= bounds[1])


def _transformer(source_epsg, target_epsg):
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


def _place(raw: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Fill latitude/longitude from whichever coordinates the record has; reject the rest."""
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
    keep = in_uk | swapped

    # Only records with something to report are visited one by one, so large clean files stay vectorised.
    unreadable = use_bng & ~bng_ok & (east.isna() | north.isna())
    given = raw.loc[unreadable, COORDINATE_COLUMNS].apply(has_text)
    for index in raw.index[in_wrong_columns | swapped | ~keep]:
        record, cp_id = raw.at[index, "record"], raw.at[index, "chargepoint_id"]
        if in_wrong_columns[index]:
            report.add(record, "latitude", tr("Easting/northing ({e:.0f}, {n:.0f}) were in the latitude/longitude columns; read as British National Grid.").format(e=east[index], n=north[index]), REPAIRED, cp_id)
        if swapped[index]:
            report.add(record, "latitude", tr("Latitude and longitude were swapped ({lat}, {lon}); swapped back.").format(lat=raw.at[index, "latitude"], lon=raw.at[index, "longitude"]), REPAIRED, cp_id)
        elif unreadable[index]:
            report.add(record, "latitude", _unreadable_coordinates(raw.loc[index, COORDINATE_COLUMNS], given.loc[index], numbers.loc[index]), REJECTED, cp_id)
        elif use_bng[index] and not bng_ok[index]:
            report.add(record, "easting", tr("Easting/northing ({e}, {n}) lie outside the British National Grid.").format(e=east[index], n=north[index]), REJECTED, cp_id)
        elif not keep[index]:
            report.add(record, "latitude", tr("Coordinates ({lat:.6f}, {lon:.6f}) lie outside the United Kingdom.").format(lat=lat[index], lon=lon[index]), REJECTED, cp_id)

    placed = raw.assign(latitude=lat, longitude=lon)
    return placed[keep]


def _drop_duplicates(frame: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    missing = frame["chargepoint_id"].isna()
    for record in frame.loc[missing, "record"]:
        report.add(record, "chargepoint_id", tr("The charge point id is missing."), REJECTED)
    frame = frame[~missing]
    duplicated = frame["chargepoint_id"].duplicated(keep="first")
    first_record = frame.drop_duplicates("chargepoint_id").set_index("chargepoint_id")["record"]
    for record, cp_id in frame.loc[duplicated, ["record", "chargepoint_id"]].itertuples(index=False):
        report.add(record, "chargepoint_id", tr("Duplicate id {id}: already used by record {first}.").format(id=cp_id, first=first_record[cp_id]), REJECTED, cp_id)
    return frame[~duplicated]


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


def _clean_power(frame: pd.DataFrame, report: ValidationReport) -> None:
    power = to_float(frame["power_kw"])
    bad = has_text(frame["power_kw"]) & ~(np.isfinite(power) & (power >= 0))
    for record, cp_id, value in frame.loc[bad, ["record", "chargepoint_id", "power_kw"]].itertuples(index=False):
        report.add(record, "power_kw", tr("Power {value!r} is not a usable number of kW; left empty.").format(value=value), REPAIRED, cp_id)
    frame["power_kw"] = power.where(~bad)


def _clean_connectors(frame: pd.DataFrame, report: ValidationReport) -> None:
    count = to_float(frame["connectors"])
    bad = has_text(frame["connectors"]) & ~((count >= 0) & (count <= MAX_CONNECTORS) & (count == count.round()))
    for record, cp_id, value in frame.loc[bad, ["record", "chargepoint_id", "connectors"]].itertuples(index=False):
        report.add(record, "connectors", tr("The number of connectors {value!r} is not a whole number; left empty.").format(value=value), REPAIRED, cp_id)
    frame["connectors"] = count.where(~bad).astype("Int64")


def _clean_on_street(frame: pd.DataFrame, report: ValidationReport) -> None:
    flag = text_values(frame["on_street"]).str.lower().map(ON_STREET_WORDS)
    bad = has_text(frame["on_street"]) & flag.isna()
    for record, cp_id, value in frame.loc[bad, ["record", "chargepoint_id", "on_street"]].itertuples(index=False):
        report.add(record, "on_street", tr("On-street {value!r} is not one of yes, no, true, false, 1 or 0; left empty.").format(value=value), REPAIRED, cp_id)
    frame["on_street"] = flag.astype("boolean")


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

    raw = raw.reindex(columns=RAW_COLUMNS).reset_index(drop=True)
    raw["chargepoint_id"] = text_values(raw["chargepoint_id"])
    frame = _drop_duplicates(_place(raw, report), report).copy()

    easting, northing = wgs84_to_bng(frame["latitude"], frame["longitude"])
    in_london, where = _in_london(easting, northing, london_boundary)
    frame["in_london"] = in_london
    # Asking for London only turns the "outside London" note into a rejection.
    severity, reason = (REJECTED, tr("Outside {where}, and only London was asked for.")) if london_only else (FLAGGED, tr("In the United Kingdom but outside {where}."))
    for record, cp_id in frame.loc[~in_london, ["record", "chargepoint_id"]].itertuples(index=False):
        report.add(record, "latitude", reason.format(where=where), severity, cp_id)
    if london_only:
        frame, easting, northing = frame[in_london], easting[in_london], northing[in_london]

    for column in TEXT_COLUMNS:
        frame[column] = text_values(frame[column])
    _clean_power(frame, report)
    _clean_connectors(frame, report)
    _clean_on_street(frame, report)
    frame["speed_band"] = schema.speed_bands(frame["power_kw"])
    frame["source"] = source
    frame = frame.reindex(columns=list(schema.CHARGEPOINT_COLUMNS)).astype(schema.CHARGEPOINT_COLUMNS)
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=_points(easting, northing), crs=schema.BNG_EPSG)


def _points(x, y):
    """Point geometries in BNG. Shapely 2 builds them vectorised; on shapely 1.8,
    geopandas' points_from_xy probes every Point for an array interface, which
    costs four times as much as building them, so fill the array directly."""
    import geopandas as gpd
    import shapely
    from geopandas.array import GeometryArray
    from shapely.geometry import Point

    if int(shapely.__version__.split(".")[0]) >= 2:
        return gpd.points_from_xy(x, y, crs=schema.BNG_EPSG)
    points = np.empty(len(x), dtype=object)
    for index, (east, north) in enumerate(zip(np.asarray(x).tolist(), np.asarray(y).tolist())):
        points[index] = Point(east, north)
    return GeometryArray(points, crs=schema.BNG_EPSG)
