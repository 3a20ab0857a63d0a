"""Areas (boroughs, wards) and the charge points inside them."""
import geopandas as gpd
import numpy as np
import pandas as pd

try:
    from shapely import contains_xy  # shapely 2 (shapely.vectorized is deprecated there)
except ImportError:  # shapely 1.8 (QGIS 3.22 on Debian 12)
    from shapely.vectorized import contains as contains_xy

from .errors import SourceError
from .i18n import tr
from .schema import BNG_EPSG


def _field(areas: gpd.GeoDataFrame, name_field: str) -> str:
    """The area layer's column called ``name_field``, matched case-insensitively (``name`` or ``NAME``)."""
    matches = [column for column in areas.columns if str(column).lower() == name_field.lower()]
    if not matches:
        raise SourceError(tr("The area layer has no field called {field}.").format(field=name_field))
    return name_field if name_field in matches else matches[0]


def _with_crs(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if areas.crs is None:
        raise SourceError(tr("The area layer has no coordinate reference system, so it cannot be matched to the charge points."))
    return areas


def locate_points(x, y, geometries, bounds=None) -> np.ndarray:
    """The position in ``geometries`` of the polygon holding each point (x, y), or -1 outside all of them.

    Each polygon tests only the points inside its bounding box, all at once in
    GEOS (``contains_xy``), never every pair. A point on an edge lies
    within no polygon, so a point on a shared edge is not counted twice; where
    polygons overlap, the first holds the point. ``bounds``, one (west, south,
    east, north) row per polygon, saves asking shapely for them, which costs
    more than the tests themselves for a few points per polygon.
    """
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    located = np.full(len(x), -1, dtype="int64")
    if not len(x):
        return located
    if bounds is None:
        bounds = [geometry.bounds if geometry is not None and not geometry.is_empty else (np.nan,) * 4 for geometry in geometries]
    bounds = np.asarray(bounds, dtype="float64").reshape(-1, 4)
    # Points sorted by x: a polygon's x-range is then one slice, and its y-test runs on a view.
    order = np.argsort(x, kind="stable")
    sorted_x, sorted_y = x[order], y[order]
    located_sorted = np.full(len(x), -1, dtype="int64")
    starts = np.searchsorted(sorted_x, bounds[:, 0], "left").tolist()
    ends = np.searchsorted(sorted_x, bounds[:, 2], "right").tolist()
    souths, norths = bounds[:, 1].tolist(), bounds[:, 3].tolist()
    # Last polygon first, so that where polygons overlap the first one's answer is the one left.
    for position in range(len(geometries) - 1, -1, -1):
        start, end, geometry = starts[position], ends[position], geometries[position]
        if start >= end or geometry is None:
            continue
        window = sorted_y[start:end]
        candidates = np.flatnonzero((window >= souths[position]) & (window <= norths[position])) + start
        if len(candidates):
            inside = contains_xy(geometry, sorted_x[candidates], sorted_y[candidates])
            located_sorted[candidates[inside]] = position
    located[order] = located_sorted
    return located


def _located(points_gdf: gpd.GeoDataFrame, areas_gdf: gpd.GeoDataFrame, name_field: str):
    """The name field, the areas in the points' CRS and each point's area position (-1 outside)."""
    field = _field(areas_gdf, name_field)
    areas = _with_crs(areas_gdf)[[field, areas_gdf.geometry.name]].to_crs(points_gdf.crs)
    points = points_gdf.geometry
    return field, areas, locate_points(points.x, points.y, areas.geometry)


def count_points_in_areas(points_gdf: gpd.GeoDataFrame, areas_gdf: gpd.GeoDataFrame, name_field: str) -> pd.Series:
    """Number of points inside each area, indexed by area name, most first; areas with none count 0.

    The areas are reprojected to the points' CRS (see :func:`locate_points` for edges).
    """
    field, areas, located = _located(points_gdf, areas_gdf, name_field)
    names = areas[field].to_numpy()
    counts = pd.Series(names[located[located >= 0]]).value_counts().reindex(areas[field].unique(), fill_value=0)
    counts = counts.rename_axis(field).rename("chargepoints").astype("int64")
    return counts.sort_index().sort_values(ascending=False, kind="stable")


def area_of_points(points_gdf: gpd.GeoDataFrame, areas_gdf: gpd.GeoDataFrame, name_field: str) -> pd.Series:
    """The name of the area each point lies in, indexed like the points; missing outside every area."""
    field, areas, located = _located(points_gdf, areas_gdf, name_field)
    names = pd.Series(areas[field].to_numpy(), dtype="object").reindex(located)
    return pd.Series(names.to_numpy(), index=points_gdf.index, name="area")


def london_boundary_from(areas_gdf: gpd.GeoDataFrame):
    """The union of the areas in EPSG:27700, to pass as ``london_boundary=`` to the readers."""
    geometry = _with_crs(areas_gdf).geometry.to_crs(BNG_EPSG)
    # GeoSeries.union_all replaces unary_union from geopandas 1.0 on.
    return geometry.union_all() if hasattr(geometry, "union_all") else geometry.unary_union
