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

RAW_COLUMNS = [
    "record", "chargepoint_id", "name", "operator", "latitude", "longitude",
    "easting", "northing", "power_kw", "connectors", "connector_types", "status",
    "on_street", "scheme",
]


def _to_float(series: pd.Series) -> pd.Series:
    if series.dtype == object:
        series = series.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(series, errors="coerce").astype("float64")


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


def _place(raw: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Fill latitude/longitude from whichever coordinates the record has; reject the rest."""
    lat, lon = _to_float(raw["latitude"]), _to_float(raw["longitude"])
    east, north = _to_float(raw["easting"]), _to_float(raw["northing"])
    has_text = lambda column: raw[column].notna() & (raw[column].astype(str).str.strip() != "")

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

    keep = pd.Series(True, index=raw.index)
    for index in raw.index:
        record, cp_id = raw.at[index, "record"], raw.at[index, "chargepoint_id"]
        if in_wrong_columns[index]:
            report.add(record, "latitude", tr("Easting/northing ({e:.0f}, {n:.0f}) were in the latitude/longitude columns; read as British National Grid.").format(e=east[index], n=north[index]), REPAIRED, cp_id)
        if swapped[index]:
            report.add(record, "latitude", tr("Latitude and longitude were swapped ({lat}, {lon}); swapped back.").format(lat=raw.at[index, "latitude"], lon=raw.at[index, "longitude"]), REPAIRED, cp_id)
            continue
        if in_uk[index]:
            continue
        keep[index] = False
        if use_bng[index] and not bng_ok[index]:
            given = [column for column in ("latitude", "longitude", "easting", "northing") if has_text(column)[index]]
            if not pd.isna(east[index]) and not pd.isna(north[index]):
                reason = tr("Easting/northing ({e}, {n}) lie outside the British National Grid.").format(e=east[index], n=north[index])
            elif given:
                reason = tr("Coordinates are not numbers: {values}.").format(values=", ".join(f"{c}={raw.at[index, c]!r}" for c in given))
            else:
                reason = tr("Coordinates are missing.")
            field = given[0] if given else "latitude"
        else:
            reason = tr("Coordinates ({lat:.6f}, {lon:.6f}) lie outside the United Kingdom.").format(lat=lat[index], lon=lon[index])
            field = "latitude"
        report.add(record, field, reason, REJECTED, cp_id)

    placed = raw.assign(latitude=lat, longitude=lon)
    return placed[keep]


def _drop_duplicates(frame: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    ids = frame["chargepoint_id"]
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    for record in frame.loc[missing, "record"]:
        report.add(record, "chargepoint_id", tr("The charge point id is missing."), REJECTED)
    frame = frame[~missing]
    duplicated = frame["chargepoint_id"].duplicated(keep="first")
    first_record = frame.drop_duplicates("chargepoint_id").set_index("chargepoint_id")["record"]
    for record, cp_id in frame.loc[duplicated, ["record", "chargepoint_id"]].itertuples(index=False):
        report.add(record, "chargepoint_id", tr("Duplicate id {id}: already used by record {first}.").format(id=cp_id, first=first_record[cp_id]), REJECTED, cp_id)
    return frame[~duplicated]


def _flag_outside_london(frame, easting, northing, report, london_boundary):
    if london_boundary is not None:
        import geopandas as gpd

        points = gpd.GeoSeries(gpd.points_from_xy(easting, northing), crs=schema.BNG_EPSG, index=frame.index)
        in_london = points.within(london_boundary).to_numpy()
        where = tr("Greater London (the boundary layer given)")
    else:
        x0, y0, x1, y1 = LONDON_BBOX_BNG
        in_london = (easting >= x0) & (easting <= x1) & (northing >= y0) & (northing <= y1)
        where = tr("Greater London's bounding box")
    for record, cp_id in frame.loc[~in_london, ["record", "chargepoint_id"]].itertuples(index=False):
        report.add(record, "latitude", tr("In the United Kingdom but outside {where}.").format(where=where), FLAGGED, cp_id)
    return in_london


def finalise_chargepoints(raw: pd.DataFrame, report: ValidationReport, *, source: str,
                          london_only: bool = False, london_boundary=None):
    """Validate raw reader output and return the canonical GeoDataFrame in EPSG:27700.

    ``raw`` has the columns in :data:`RAW_COLUMNS` (missing ones count as empty);
    ``record`` is the line or feature number quoted in the report.
    ``london_boundary`` is an optional shapely geometry in EPSG:27700; without it,
    Greater London's bounding box decides which points count as in London.
    """
    import geopandas as gpd

    raw = raw.reindex(columns=RAW_COLUMNS).reset_index(drop=True)
    raw["chargepoint_id"] = raw["chargepoint_id"].map(lambda v: v if pd.isna(v) else str(v).strip())
    frame = _drop_duplicates(_place(raw, report), report).copy()

    easting, northing = wgs84_to_bng(frame["latitude"], frame["longitude"])
    frame["in_london"] = _flag_outside_london(frame, easting, northing, report, london_boundary)
    if london_only:
        outside = ~frame["in_london"]
        for record, cp_id in frame.loc[outside, ["record", "chargepoint_id"]].itertuples(index=False):
            report.add(record, "latitude", tr("Outside Greater London, and only London was asked for."), REJECTED, cp_id)
        keep = ~outside.to_numpy()
        frame, easting, northing = frame[keep], easting[keep], northing[keep]

    frame["power_kw"] = _to_float(frame["power_kw"])
    frame["speed_band"] = frame["power_kw"].map(schema.speed_band)
    frame["source"] = source
    frame = frame.reindex(columns=list(schema.CHARGEPOINT_COLUMNS)).astype(schema.CHARGEPOINT_COLUMNS)
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=gpd.points_from_xy(easting, northing), crs=schema.BNG_EPSG)
