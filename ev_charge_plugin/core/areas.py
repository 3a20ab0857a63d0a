"""Areas (boroughs, wards) and the charge points inside them."""
import geopandas as gpd
import pandas as pd

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


def count_points_in_areas(points_gdf: gpd.GeoDataFrame, areas_gdf: gpd.GeoDataFrame, name_field: str) -> pd.Series:
    """Number of points inside each area, indexed by area name, most first; areas with none count 0.

    The areas are reprojected to the points' CRS. A point on a shared edge lies
    within neither area, so it is not counted twice.
    """
    field = _field(areas_gdf, name_field)
    areas = _with_crs(areas_gdf)[[field, areas_gdf.geometry.name]].to_crs(points_gdf.crs)
    joined = gpd.sjoin(points_gdf[[points_gdf.geometry.name]], areas, how="inner", predicate="within")
    counts = joined[field].value_counts().reindex(areas[field].unique(), fill_value=0)
    counts = counts.rename_axis(field).rename("chargepoints").astype("int64")
    return counts.sort_index().sort_values(ascending=False, kind="stable")


def area_of_points(points_gdf: gpd.GeoDataFrame, areas_gdf: gpd.GeoDataFrame, name_field: str) -> pd.Series:
    """The name of the area each point lies in, indexed like the points; missing outside every area."""
    field = _field(areas_gdf, name_field)
    areas = _with_crs(areas_gdf)[[field, areas_gdf.geometry.name]].to_crs(points_gdf.crs)
    joined = gpd.sjoin(points_gdf[[points_gdf.geometry.name]], areas, how="left", predicate="within")
    # Overlapping areas would list a point twice: it takes the first.
    return joined.loc[~joined.index.duplicated(), field].reindex(points_gdf.index).rename("area")


def london_boundary_from(areas_gdf: gpd.GeoDataFrame):
    """The union of the areas in EPSG:27700, to pass as ``london_boundary=`` to the readers."""
    geometry = _with_crs(areas_gdf).geometry.to_crs(BNG_EPSG)
    # GeoSeries.union_all replaces unary_union from geopandas 1.0 on.
    return geometry.union_all() if hasattr(geometry, "union_all") else geometry.unary_union
