"""Vector layers: GeoPackage, GeoJSON and Shapefile, also inside a zip, read through GDAL.

Fields are found by name whatever their case or spelling among known aliases
(``siteid``, ``chargeDeviceID``, ``longtitude`` ...), which covers TfL's rapid
charging sites layer as well as layers users draw themselves.
"""
import io
import math
import re
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from pyproj import Transformer
from pyproj.exceptions import ProjError

from ..errors import SourceError
from ..i18n import tr
from ..report import FLAGGED, REPAIRED, WARNING, ValidationReport
from ..schema import BNG_EPSG, WGS84_EPSG
from ..validation import RAW_COLUMNS, finalise_chargepoints
from . import ReadResult
from ._common import display_name, normalise_name

# Candidate field names for each raw column, best first, compared by normalise_name.
FIELD_ALIASES = {
    "chargepoint_id": ("chargepoint_id", "chargeDeviceID", "siteid", "evse_id", "cp_id", "id"),
    "name": ("name", "sitename", "chargepoint_name", "location_name"),
    "operator": ("operator", "operator_name", "deviceControllerName", "deviceOwnerName"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "longtitude", "lon", "lng", "long"),
    "easting": ("easting", "eastings"),
    "northing": ("northing", "northings"),
    "power_kw": ("power_kw", "power", "kw", "ratedoutputkw", "max_power_kw", "rated_power_kw"),
    "connectors": ("connectors", "numberrcpoints", "number_of_connectors", "connector_count"),
    "connector_types": ("connector_types", "connector_type"),
    "status": ("status", "chargeDeviceStatus"),
    "on_street": ("on_street", "onStreetFlag"),
    "scheme": ("scheme", "network", "deviceNetworks"),
}
# TfL's rapid charging sites layer counts rapid charge points per site and gives no power.
RAPID_SITES_FIELD = "numberrcpoints"
RAPID_KW = 50.0
LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson")
ZIP_PATTERN = re.compile(r"^(?:/vsizip/)?(?P<archive>.+?\.zip)(?:/(?P<member>.*))?$", re.IGNORECASE)
# British National Grid as proj parameters: a custom definition (an ESRI .prj, a
# proj string) that matches these is EPSG:27700 whatever its name or datum shift.
BNG_PARAMETERS = {"proj": "tmerc", "lat_0": 49.0, "lon_0": -2.0, "k": 0.9996012717, "x_0": 400000.0, "y_0": -100000.0}
AIRY_1830 = (6377563.396, 299.3249646)


def _same(value, expected) -> bool:
    if isinstance(expected, str):
        return value == expected
    return isinstance(value, (int, float)) and math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9)


def is_british_national_grid(crs) -> bool:
    """True for EPSG:27700 and for custom definitions of the same projection on the Airy ellipsoid."""
    if crs.to_epsg() == BNG_EPSG:
        return True
    with warnings.catch_warnings():
        # Exporting to proj parameters loses datum details; only the projection is compared.
        warnings.simplefilter("ignore")
        try:
            parameters = crs.to_dict()
        except ProjError:  # an engineering or local CRS has no PROJ parameters: not BNG
            return False
    ellipsoid = crs.ellipsoid
    return (
        all(_same(parameters.get(key), value) for key, value in BNG_PARAMETERS.items())
        and ellipsoid is not None
        and _same(ellipsoid.semi_major_metre, AIRY_1830[0])
        and _same(ellipsoid.inverse_flattening, AIRY_1830[1])
    )


def _zip_member(archive: str, member: str, layer) -> tuple:
    """The GDAL path of the layer file inside a zip, and the layer name still to pass on."""
    try:
        with zipfile.ZipFile(archive) as opened:
            names = opened.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise SourceError(tr("{name} is not a readable zip archive: {reason}.").format(name=Path(archive).name, reason=error)) from error
    candidates = [name for name in names if name.lower().endswith(LAYER_SUFFIXES) and not name.startswith("__MACOSX/")]
    if member:
        candidates = [name for name in candidates if name == member or name.startswith(member.rstrip("/") + "/")]
    by_layer = [name for name in candidates if layer and PurePosixPath(name).stem == layer]
    if by_layer:
        candidates, layer = by_layer, None
    if len(candidates) != 1:
        found = ", ".join(candidates) or tr("none")
        raise SourceError(tr("{name} should hold one layer file, or name one with layer=; layer files found: {found}.").format(name=Path(archive).name, found=found))
    return f"/vsizip/{Path(archive).resolve().as_posix()}/{candidates[0]}", layer


def _layer_names(path: str) -> list:
    """Layer names in a data source, through whichever GDAL binding geopandas uses."""
    import geopandas as gpd

    if hasattr(gpd, "list_layers"):  # geopandas 1.0 and newer, which may come without fiona
        return list(gpd.list_layers(path)["name"])
    import fiona

    return fiona.listlayers(path)


def _gdal_path(path, layer) -> tuple:
    """The path GDAL should open and the layer to read there, choosing inside zips and multi-layer files."""
    text = str(path)
    zipped = ZIP_PATTERN.match(text)
    if zipped and not (zipped.group("member") or "").lower().endswith(LAYER_SUFFIXES):
        text, layer = _zip_member(zipped.group("archive"), zipped.group("member"), layer)
    if layer is None:
        layers = _layer_names(text)
        if len(layers) > 1:
            raise SourceError(tr("{name} holds several layers ({layers}); choose one with layer=.").format(name=PurePosixPath(text).name, layers=", ".join(layers)))
    return text, layer


def _read_layer(path_or_bytes, layer):
    import geopandas as gpd

    name = "" if isinstance(path_or_bytes, (bytes, bytearray)) else PurePosixPath(str(path_or_bytes)).name
    if name and not str(path_or_bytes).lower().startswith("/vsi") and not Path(path_or_bytes).is_file():
        raise SourceError(tr("{name} could not be opened: there is no such file.").format(name=name))
    try:
        if name:
            source, layer = _gdal_path(path_or_bytes, layer)
        else:
            source = io.BytesIO(bytes(path_or_bytes))
        options = {"layer": layer} if layer is not None else {}
        return gpd.read_file(source, **options), name
    except SourceError:
        raise
    except ProjError as error:  # newer geopandas (pyogrio) parse the CRS while reading
        raise SourceError(tr("The layer's coordinate reference system cannot be converted to latitude and longitude: {reason}.").format(reason=error)) from error
    except Exception as error:  # GDAL reports unreadable input through many exception types.
        raise SourceError(tr("{name} is not a vector layer that can be read: {reason}.").format(name=display_name(name), reason=error)) from error


def _field_for(layer, column: str):
    by_key = {normalise_name(field): field for field in layer.columns if field != layer.geometry.name}
    return next((by_key[normalise_name(alias)] for alias in FIELD_ALIASES[column] if normalise_name(alias) in by_key), None)


def _attribute(layer, column: str) -> pd.Series:
    """A raw column from its field; whole-number floats (integers with gaps, as GDAL gives them) become integers."""
    field = _field_for(layer, column)
    if field is None:
        return pd.Series(None, index=layer.index, dtype=object)
    values = layer[field]
    given = values.dropna()
    if pd.api.types.is_float_dtype(values) and ((given == given.round()) & (given.abs() < 2 ** 53)).all():
        return values.astype("Int64").astype(object)
    return values


def _with_crs(layer, report: ValidationReport):
    """The layer with a CRS: recognised British National Grid, the layer's own, or a guess from the coordinates."""
    if layer.crs is not None:
        if is_british_national_grid(layer.crs):
            return layer.set_crs(BNG_EPSG, allow_override=True)
        try:
            Transformer.from_crs(layer.crs, WGS84_EPSG)
        except ProjError as error:
            raise SourceError(tr("The layer's coordinate reference system ({crs}) cannot be converted to latitude and longitude.").format(crs=layer.crs.name)) from error
        return layer
    x0, y0, x1, y1 = layer.total_bounds
    geographic = all(np.isfinite([x0, y0, x1, y1])) and -180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90
    guess = WGS84_EPSG if geographic else BNG_EPSG
    report.add(None, "geometry", tr("The layer has no coordinate reference system; EPSG:{epsg} was assumed from its coordinates.").format(epsg=guess), WARNING)
    return layer.set_crs(guess)


def _positions(layer, ids: pd.Series, report: ValidationReport) -> pd.DataFrame:
    """Easting/northing for British National Grid layers, otherwise latitude/longitude, from the geometry."""
    geometry = layer.geometry.copy()
    geometry[geometry.values.isna() | geometry.is_empty.to_numpy()] = None
    shapes = geometry.geom_type
    non_point = shapes.notna() & (shapes != "Point")
    for record, cp_id, shape in zip(np.flatnonzero(non_point) + 1, ids[non_point], shapes[non_point]):
        report.add(record, "geometry", tr("The feature is a {shape}, not a point; its centroid was used.").format(shape=shape), REPAIRED, cp_id)
    if non_point.any():
        # Centroids are taken in metres, where they are meaningful.
        geometry[non_point] = geometry[non_point].to_crs(BNG_EPSG).centroid.to_crs(layer.crs)
    empty = pd.Series(np.nan, index=layer.index)
    if layer.crs.to_epsg() == BNG_EPSG:
        return pd.DataFrame({"latitude": empty, "longitude": empty, "easting": geometry.x, "northing": geometry.y})
    points = geometry.to_crs(WGS84_EPSG)
    return pd.DataFrame({"latitude": points.y, "longitude": points.x, "easting": empty, "northing": empty})


def _raw_chargepoints(layer, report: ValidationReport) -> pd.DataFrame:
    raw = pd.DataFrame({column: _attribute(layer, column) for column in FIELD_ALIASES}, index=layer.index)
    positions = _positions(layer, raw["chargepoint_id"], report)
    placed = positions.notna().any(axis=1)
    coordinate_columns = list(positions.columns)
    unplaced_with_fields = ~placed & raw[coordinate_columns].notna().any(axis=1)
    for record, cp_id in zip(np.flatnonzero(unplaced_with_fields) + 1, raw.loc[unplaced_with_fields, "chargepoint_id"]):
        report.add(record, "geometry", tr("The feature has no geometry; its coordinate fields were used."), FLAGGED, cp_id)
    raw[coordinate_columns] = positions.where(placed, raw[coordinate_columns], axis=0)
    if _field_for(layer, "power_kw") is None and normalise_name(RAPID_SITES_FIELD) in map(normalise_name, layer.columns):
        report.add(None, "power_kw", tr("The layer has no power field; as a rapid charging sites layer (it has {field}), every site was given {kw:.0f} kW.").format(field=RAPID_SITES_FIELD, kw=RAPID_KW), WARNING)
        raw["power_kw"] = RAPID_KW
    raw["record"] = np.arange(1, len(layer) + 1)
    return raw.reindex(columns=RAW_COLUMNS)


def read_vector(path_or_bytes, *, layer: str = None, london_only: bool = False, london_boundary=None, source: str = None) -> ReadResult:
    """Read charge points from a GeoPackage, GeoJSON or Shapefile, plain or zipped.

    ``path_or_bytes`` is a path (a ``.zip``, or a ``/vsizip/`` path with or
    without the file inside) or the bytes of a GeoJSON or GeoPackage. ``layer``
    names the layer (or, in a zip, the file) when there are several.
    ``record`` in the report is the feature number, from 1.
    """
    layer_frame, name = _read_layer(path_or_bytes, layer)
    source = source or name or tr("vector layer")
    report = ValidationReport(source=source)
    if _field_for(layer_frame, "chargepoint_id") is None:
        raise SourceError(tr("{name} has no charge point id field; name one of: {aliases}.").format(name=display_name(name), aliases=", ".join(FIELD_ALIASES["chargepoint_id"])))
    raw = _raw_chargepoints(_with_crs(layer_frame, report), report)
    chargepoints = finalise_chargepoints(raw, report, source=source, london_only=london_only, london_boundary=london_boundary)
    return ReadResult(chargepoints, report)
