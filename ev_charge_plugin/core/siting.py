"""Siting candidates: score every candidate site, and choose the best set of sites.

Everything is worked in British National Grid (EPSG:27700), so distances are
metres on the ground, in a straight line. Every within-radius question goes
through a k-d tree (``scipy.spatial.cKDTree``), never all pairs.

The chain the Processing algorithms run::

    data = prepare(candidates, demand, "households_no_offstreet", chargepoints, "occupancy_pct", excluded)
    scores = score_candidates(data.candidate_xy, data.chargepoint_xy, data.utilisation,
                              data.demand_xy, data.demand_weight, radius_m=400, excluded=data.excluded)
    cover = coverage(data.candidate_xy, data.demand_xy, 400)  # or pass cover= to score_candidates to build it once
    selection = select_sites(cover, data.demand_weight, k=20, method="exact", existing_xy=data.chargepoint_xy,
                             allowed=scores["constraints_broken"].to_numpy() == 0)

Choices, as a user should read them:

- A candidate drawn as a polygon stands at its *point on surface* by default
  (``candidate_point="point_on_surface"``): always on the land drawn, even for an
  L-shaped car park whose centroid falls in the street. ``"centroid"`` is offered.
- Polygon demand is apportioned *by area* by default (``demand_method="area"``):
  a regular grid of points ``cell_m`` apart (default a quarter of the radius,
  100 m for 400 m) is laid over the whole layer, aligned to the national grid,
  and each polygon's weight is shared equally among the grid points inside it,
  so a catchment gets a polygon's weight in proportion to the area of the polygon
  it reaches (to the resolution of the grid). A polygon too small to hold a grid
  point keeps its whole weight at its point on surface. ``"centroid"`` puts each
  polygon's weight at its centroid, or at its point on surface when the centroid
  falls outside it (a crescent-shaped ward).
- "Within walking distance" is a straight-line distance of at most the radius
  (400 m, about five minutes' walk, by default), boundary included.
- Score parts (one column each): ``new_demand`` is the demand within the radius
  that no existing charge point has within the radius; ``served_demand`` is the
  demand within the radius that an existing charge point already serves;
  ``pressure`` is the mean utilisation of the existing charge points within the
  radius (charge points with no figure for the period are left out; 0 when there
  are none); ``constraints_broken`` counts the constraints the site breaks (inside
  an excluded area; nearer an existing charge point than the minimum spacing).
  The score adds each part times its weight, the demand parts divided by the
  most demand any candidate's catchment holds and the pressure by the highest
  pressure, so each of these lies in 0..1; broken constraints count as they are.
  With the default weights (``ScoreWeights``) a site that breaks a constraint
  always ranks below every site that breaks none.
- Rank 1 is the best score; equal scores share a rank (1, 2, 2, 4).
- Choosing sites is the maximal covering location problem. Two chosen sites
  must be at least ``min_separation_m`` apart (default 200 m), so that the set
  does not put two sites on the same street; 0 or None turns this off.
  Sites that would add no demand are never chosen, so fewer than k sites can
  come back (k larger than the number of candidates chooses every site that
  adds demand). The greedy answer takes the site that adds the most demand
  (per unit of cost with a budget), ties to the first candidate; with a budget it
  is compared with the best single affordable site and the better one is kept.
  An exact answer is reported in greedy order, so that "the demand each adds"
  reads the same way.
- ``gap`` is ``(bound - covered) / bound``: the answer covers at least
  ``1 - gap`` of the best possible. The bound is the MILP's dual bound in exact
  mode and, for greedy, the smallest over the greedy steps of "covered so far
  plus the k largest marginal gains" (a fractional knapsack of the gains with
  a budget), which holds because coverage is submodular.
"""
import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Union

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree
from shapely.validation import make_valid

try:
    from shapely import contains_xy, get_coordinates  # shapely 2
except ImportError:  # shapely 1.8 (QGIS 3.22 on Debian 12)
    from shapely.vectorized import contains as contains_xy
    get_coordinates = None

from .areas import locate_points
from .errors import CancelledError, SourceError
from .i18n import tr
from .report import REJECTED, REPAIRED, ValidationReport
from .schema import BNG_EPSG
from .choices import DEFAULT_MIN_SEPARATION_M, DEFAULT_RADIUS_M, DEFAULT_TIME_LIMIT_S, PARTS, ScoreWeights  # noqa: F401 (part of this module's API)

# Above this many grid points, area apportioning coarsens its grid (memory and time).
MAX_DEMAND_POINTS = 2_000_000

# Each part's share of the score (its weight times the part as scaled), so a score can be explained at committee.
CONTRIBUTIONS = [f"{part}_score" for part in PARTS]
SCORE_COLUMNS = [*PARTS, "constraints", *CONTRIBUTIONS, "score", "rank", "weights"]
SELECTION_COLUMNS = ["order", "candidate", "added_demand", "cumulative_demand", "cumulative_share"]

GREEDY, EXACT = "greedy", "exact"
OPTIMAL = "optimal"
GREEDY_ANSWER = "greedy"
TIME_LIMIT_GREEDY = "time limit: greedy answer"
TIME_LIMIT_BEST = "time limit: best solution found"
# Below this the relative gap is rounding in the solver, reported as 0.
GAP_TOLERANCE = 1e-9


@dataclass
class Coverage:
    """Which demand points each candidate covers: a sparse (candidates x demand) matrix of ones, built once."""

    matrix: sparse.csr_matrix
    candidate_xy: np.ndarray
    demand_xy: np.ndarray
    radius_m: float

    @property
    def n_candidates(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_demand(self) -> int:
        return self.matrix.shape[1]


@dataclass
class Selection:
    """The chosen sites and how good the set is.

    ``chosen`` holds candidate row positions in the order picked, ``added`` the
    demand each adds to the ones before it. ``covered`` is the demand the set
    newly covers (demand already served by open charge points not counted),
    ``unserved_demand`` the demand no open charge point serves, ``share`` the
    first over the second (NaN when nothing is unserved). ``bound`` is an upper
    bound on the best possible ``covered``; ``gap`` is ``(bound - covered) / bound``
    (None when no bound is known).
    """

    chosen: np.ndarray
    added: np.ndarray
    covered: float
    total_demand: float
    unserved_demand: float
    share: float
    status: str
    gap: Optional[float]
    bound: Optional[float]
    method: str
    cost: Optional[float] = None
    seconds: float = 0.0
    messages: List[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per chosen site in pick order (``order`` from 1), with the running total and share."""
        cumulative = np.cumsum(self.added)
        share = cumulative / self.unserved_demand if self.unserved_demand > 0 else np.full(len(cumulative), np.nan)
        return pd.DataFrame({
            "order": np.arange(1, len(self.chosen) + 1, dtype="int64"),
            "candidate": np.asarray(self.chosen, dtype="int64"),
            "added_demand": np.asarray(self.added, dtype="float64"),
            "cumulative_demand": cumulative.astype("float64"),
            "cumulative_share": share.astype("float64"),
        }, columns=SELECTION_COLUMNS)

    def summary(self) -> dict:
        return {
            "sites": int(len(self.chosen)), "covered_demand": self.covered, "total_demand": self.total_demand,
            "unserved_demand": self.unserved_demand, "share_of_unserved": self.share, "status": self.status,
            "gap": self.gap, "bound": self.bound, "method": self.method, "cost": self.cost, "seconds": self.seconds,
        }


@dataclass
class SitingData:
    """Every input of the analysis in EPSG:27700, cleaned, as arrays.

    ``candidates`` keeps the usable candidate rows (original index) in the order of
    ``candidate_xy``; ``demand_source`` is the demand layer row position each demand
    point came from. ``utilisation`` is NaN where a charge point has no figure.
    ``messages`` are warnings for the user (geographic CRS transformed, candidates
    with no demand in reach); ``report`` lists every feature dropped or repaired.
    """

    candidates: gpd.GeoDataFrame
    candidate_xy: np.ndarray
    cost: Optional[np.ndarray]
    demand_xy: np.ndarray
    demand_weight: np.ndarray
    demand_source: np.ndarray
    chargepoint_xy: np.ndarray
    utilisation: np.ndarray
    excluded: Optional[gpd.GeoSeries]
    report: ValidationReport
    messages: List[str] = field(default_factory=list)


# -- checks --------------------------------------------------------------------------

def check_radius(radius_m) -> float:
    try:
        radius = float(radius_m)
    except (TypeError, ValueError):
        radius = math.nan
    if not math.isfinite(radius) or radius <= 0:
        raise SourceError(tr("The walking distance must be a positive number of metres; {value} was given.").format(value=radius_m))
    return radius


def _xy(points, what: str) -> np.ndarray:
    xy = np.asarray(points, dtype="float64")
    xy = xy.reshape(-1, 2) if xy.size else np.empty((0, 2))
    if not np.isfinite(xy).all():
        raise SourceError(tr("Some {what} have coordinates that are not numbers.").format(what=what))
    return xy


def _numeric(values: pd.Series, field_name: str, layer: str) -> pd.Series:
    """The field as floats; a field of text that is not all numbers is a whole-layer error."""
    if pd.api.types.is_bool_dtype(values) or not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_object_dtype(values)
                                                  or pd.api.types.is_string_dtype(values)):
        raise SourceError(tr("The field {field} of the {layer} layer is not numeric.").format(field=field_name, layer=layer))
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        raise SourceError(tr("The field {field} of the {layer} layer is not numeric: it holds \"{value}\".").format(
            field=field_name, layer=layer, value=values[bad].iloc[0]))
    return numbers.astype("float64")


def _field(frame: pd.DataFrame, name: str, layer: str) -> str:
    """The column called ``name``, matched case-insensitively."""
    matches = [column for column in frame.columns if str(column).lower() == str(name).lower()]
    if not matches:
        raise SourceError(tr("The {layer} layer has no field called {field}.").format(layer=layer, field=name))
    return name if name in matches else matches[0]


def _crs_name(crs) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _to_bng(layer, label: str, messages: List[str]):
    """The layer in EPSG:27700; a geographic CRS is transformed with a warning, no CRS is an error."""
    if layer.crs is None:
        raise SourceError(tr("The {layer} layer has no coordinate reference system, so it cannot be placed on the map.").format(layer=label))
    if layer.crs.is_geographic:
        messages.append(tr("The {layer} layer is in {crs}, a geographic coordinate reference system; it was transformed to British "
                           "National Grid (EPSG:27700) so that distances are in metres.").format(layer=label, crs=_crs_name(layer.crs)))
    if layer.crs.to_epsg() != BNG_EPSG:
        layer = layer.to_crs(BNG_EPSG)
    return layer


def _clean_geometries(layer: gpd.GeoDataFrame, label: str, report: ValidationReport):
    """``(layer, usable)``: invalid geometries repaired where GEOS can, and a mask of the rows whose geometry is usable.

    Empty and unrepairable geometries are reported as rejected, repaired ones as
    repaired, each with its feature number (from 1) in the layer as given.
    """
    geometry = layer.geometry
    usable = np.ones(len(layer), dtype=bool)
    repaired = {}
    # Whole-column checks first (fast in GEOS); only the few flagged rows are looked at one by one.
    missing = (geometry.isna() | geometry.is_empty).to_numpy()
    flagged = np.flatnonzero(missing | ~geometry.is_valid.to_numpy())
    for position in flagged:
        geom, record = geometry.iloc[position], position + 1
        if missing[position]:
            report.add(record, "geometry", tr("The {layer} feature has no geometry.").format(layer=label), REJECTED)
            usable[position] = False
        elif geom.geom_type == "Point" and not np.isfinite(geom.coords[0]).all():
            report.add(record, "geometry", tr("The {layer} point has coordinates that are not numbers.").format(layer=label), REJECTED)
            usable[position] = False
        else:
            fixed = make_valid(geom)
            if geom.geom_type.endswith("Polygon"):
                fixed = _polygonal(fixed)
            if fixed is None or fixed.is_empty:
                report.add(record, "geometry", tr("The {layer} feature has an invalid geometry that could not be repaired.").format(
                    layer=label), REJECTED)
                usable[position] = False
            else:
                report.add(record, "geometry", tr("The {layer} feature had an invalid geometry (for example a polygon crossing "
                                                  "itself); it was repaired.").format(layer=label), REPAIRED)
                repaired[position] = fixed
    if repaired:
        values = list(geometry)
        for position, fixed in repaired.items():
            values[position] = fixed
        layer = layer.set_geometry(gpd.GeoSeries(values, index=layer.index, crs=layer.crs))
    return layer, usable


def _polygonal(geom):
    """The polygon part of what ``make_valid`` returns (it may add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        from shapely.geometry import MultiPolygon
        parts = []
        for part in geom.geoms:
            if part.geom_type == "Polygon":
                parts.append(part)
            elif part.geom_type == "MultiPolygon":
                parts.extend(part.geoms)
        return MultiPolygon(parts) if parts else None
    return None


# -- points from layers ----------------------------------------------------------------

def _point_xy(points) -> np.ndarray:
    """The (n, 2) coordinates of point geometries; one GEOS call with shapely 2, one coordinate read each with 1.8."""
    if get_coordinates is not None:
        return get_coordinates(np.asarray(points, dtype=object))[:, :2].astype("float64").reshape(-1, 2)
    return np.array([point.coords[0][:2] for point in points], dtype="float64").reshape(-1, 2)


def candidate_points(candidates, how: str = "point_on_surface") -> np.ndarray:
    """The (n, 2) point each candidate stands at: points as they are; other shapes at their point on surface or centroid."""
    geometry = candidates.geometry if isinstance(candidates, gpd.GeoDataFrame) else gpd.GeoSeries(candidates)
    if how not in ("point_on_surface", "centroid"):
        raise ValueError(f"how must be 'point_on_surface' or 'centroid', not {how!r}")
    if not len(geometry):
        return np.empty((0, 2))
    is_point = (geometry.geom_type == "Point").to_numpy()
    points = geometry.copy()
    if not is_point.all():
        others = geometry[~is_point]
        points[~is_point] = others.representative_point() if how == "point_on_surface" else others.centroid
    return _point_xy(points)


def demand_points(demand: gpd.GeoDataFrame, weight_field: str, method: str = "area", cell_m: float = 100.0):
    """Demand as weighted points: ``(xy, weight, source)``, ``source`` the demand row position of each point.

    Points stay as they are. Polygons are apportioned by ``method`` (see the module
    notes): ``"area"`` shares each weight among the grid points ``cell_m`` apart that
    fall inside the polygon; ``"centroid"`` puts it at the centroid (the point on
    surface when the centroid is outside). The weights add up to the layer's.
    Expects a layer in metres (EPSG:27700) with usable geometries and weights.
    """
    if method not in ("area", "centroid"):
        raise ValueError(f"method must be 'area' or 'centroid', not {method!r}")
    weight = _numeric(demand[_field(demand, weight_field, tr("demand"))], weight_field, tr("demand")).to_numpy()
    geometry = demand.geometry
    polygonal = geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    single = ~polygonal if method == "area" else np.ones(len(demand), dtype=bool)
    xy_parts, weight_parts, source_parts = [], [], []
    if single.any():
        at = geometry[single]
        points = at.copy()
        shaped = ~(at.geom_type == "Point").to_numpy()
        if shaped.any():
            centroids = at[shaped].centroid
            inside = at[shaped].contains(centroids).to_numpy()
            points[shaped] = np.where(inside, centroids, at[shaped].representative_point())
        xy_parts.append(_point_xy(points))
        weight_parts.append(weight[single])
        source_parts.append(np.flatnonzero(single))
    if method == "area" and polygonal.any():
        xy, shares, sources = _area_points(list(geometry[polygonal]), weight[polygonal], float(cell_m))
        xy_parts.append(xy)
        weight_parts.append(shares)
        source_parts.append(np.flatnonzero(polygonal)[sources])
    if not xy_parts:
        return np.empty((0, 2)), np.empty(0), np.empty(0, dtype="int64")
    return np.concatenate(xy_parts), np.concatenate(weight_parts).astype("float64"), np.concatenate(source_parts).astype("int64")


def _area_points(polygons: list, weights: np.ndarray, cell: float):
    """Grid points inside each polygon carrying equal shares of its weight; see ``demand_points``."""
    if not math.isfinite(cell) or cell <= 0:
        raise SourceError(tr("The demand grid spacing must be a positive number of metres; {value} was given.").format(value=cell))
    bounds = np.array([polygon.bounds for polygon in polygons])
    boxes = np.maximum(bounds[:, 2] - bounds[:, 0], 0) * np.maximum(bounds[:, 3] - bounds[:, 1], 0)
    if boxes.sum() / cell ** 2 > MAX_DEMAND_POINTS:
        cell = math.sqrt(boxes.sum() / MAX_DEMAND_POINTS)
    xy_parts, weight_parts, source_parts = [], [], []
    for position, polygon in enumerate(polygons):
        west, south, east, north = bounds[position]
        # The grid is aligned to the national grid (points at half a cell), so neighbouring polygons share it.
        xs = (np.arange(math.ceil(west / cell - 0.5), math.floor(east / cell - 0.5) + 1) + 0.5) * cell
        ys = (np.arange(math.ceil(south / cell - 0.5), math.floor(north / cell - 0.5) + 1) + 0.5) * cell
        inside = np.empty((0, 2))
        if len(xs) and len(ys):
            grid_x, grid_y = np.meshgrid(xs, ys)
            grid_x, grid_y = grid_x.ravel(), grid_y.ravel()
            hit = contains_xy(polygon, grid_x, grid_y)
            inside = np.column_stack([grid_x[hit], grid_y[hit]])
        if not len(inside):
            point = polygon.representative_point()
            inside = np.array([[point.x, point.y]])
        xy_parts.append(inside)
        weight_parts.append(np.full(len(inside), weights[position] / len(inside)))
        source_parts.append(np.full(len(inside), position))
    return np.concatenate(xy_parts), np.concatenate(weight_parts), np.concatenate(source_parts)


# -- preparing the inputs ----------------------------------------------------------------

def prepare(candidates: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, weight_field: str,
            chargepoints: Optional[gpd.GeoDataFrame] = None, utilisation: Union[str, pd.Series, None] = None,
            excluded: Union[gpd.GeoDataFrame, gpd.GeoSeries, None] = None, *, radius_m: float = DEFAULT_RADIUS_M,
            cost_field: Optional[str] = None, demand_method: str = "area", candidate_point: str = "point_on_surface",
            cell_m: Optional[float] = None) -> SitingData:
    """Check the layers, bring them into EPSG:27700 and turn them into arrays.

    ``utilisation`` is a field of ``chargepoints`` or a Series aligned on its index
    (the chosen period's figure per charge point). ``cell_m`` is the demand grid
    spacing for area apportioning (default a quarter of the radius). Raises
    ``SourceError`` for a whole-layer problem (empty candidate layer, radius not
    positive, field missing or not numeric, layer without CRS); features that cannot
    be used are dropped and listed in ``report``.
    """
    radius = check_radius(radius_m)
    messages: List[str] = []
    report = ValidationReport(source=tr("siting"))
    label_candidates, label_demand = tr("candidate"), tr("demand")
    label_chargepoints, label_excluded = tr("charge point"), tr("excluded area")
    if candidates is None or not len(candidates):
        raise SourceError(tr("The candidate layer has no features: draw or load at least one candidate site."))
    if demand is None or not len(demand):
        raise SourceError(tr("The demand layer has no features."))

    candidates, usable = _clean_geometries(_to_bng(candidates, label_candidates, messages), label_candidates, report)
    cost = None
    if cost_field:
        cost_values = _numeric(candidates[_field(candidates, cost_field, label_candidates)], cost_field, label_candidates)
        priced = (cost_values.notna() & (cost_values >= 0)).to_numpy()
        for position in np.flatnonzero(~priced):
            report.add(position + 1, cost_field, tr("The candidate has no cost, or a negative one; it cannot be chosen within a budget."),
                       REJECTED)
        usable &= priced
        cost = cost_values.to_numpy()[usable]
    candidates = candidates[usable]
    if not len(candidates):
        raise SourceError(tr("No candidate site has a usable geometry; see the report for each one."))
    candidate_xy = candidate_points(candidates, candidate_point)

    demand, usable = _clean_geometries(_to_bng(demand, label_demand, messages), label_demand, report)
    weight_column = _field(demand, weight_field, label_demand)
    weights = _numeric(demand[weight_column], weight_field, label_demand)
    for position in np.flatnonzero(weights.isna().to_numpy()):
        report.add(position + 1, weight_field, tr("The demand feature has no weight; it was left out."), REJECTED)
    for position in np.flatnonzero((weights < 0).to_numpy()):
        report.add(position + 1, weight_field, tr("The demand feature has a negative weight; it was left out."), REJECTED)
    usable &= (weights.notna() & (weights >= 0)).to_numpy()
    demand = demand.assign(**{weight_column: weights})[usable]
    if not len(demand):
        raise SourceError(tr("No demand feature has both a usable geometry and a weight; see the report for each one."))
    demand_xy, demand_weight, demand_source = demand_points(demand, weight_column, demand_method,
                                                            cell_m if cell_m is not None else radius / 4)

    chargepoint_xy, utilisation_values = np.empty((0, 2)), np.empty(0)
    if chargepoints is not None and len(chargepoints):
        chargepoints, usable = _clean_geometries(_to_bng(chargepoints, label_chargepoints, messages), label_chargepoints, report)
        chargepoints = chargepoints[usable]
        chargepoint_xy = candidate_points(chargepoints, "centroid")
        if utilisation is None:
            utilisation_values = np.full(len(chargepoints), np.nan)
        elif isinstance(utilisation, str):
            utilisation_values = _numeric(chargepoints[_field(chargepoints, utilisation, label_chargepoints)], utilisation,
                                          label_chargepoints).to_numpy()
        else:
            utilisation_values = pd.to_numeric(pd.Series(utilisation).reindex(chargepoints.index), errors="coerce").to_numpy(dtype="float64")

    excluded_geometry = None
    if excluded is not None and len(excluded):
        excluded_layer = excluded if isinstance(excluded, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=excluded)
        excluded_layer, usable = _clean_geometries(_to_bng(excluded_layer, label_excluded, messages), label_excluded, report)
        excluded_geometry = excluded_layer.geometry[usable]

    if len(demand_xy):
        distance, _ = cKDTree(demand_xy).query(candidate_xy, k=1, distance_upper_bound=np.nextafter(radius, np.inf))
        far = int(np.count_nonzero(~(distance <= radius)))
        if far:
            messages.append(tr("{far} of {count} candidate sites have no demand within {radius:g} m (outside the demand area); "
                               "they score no demand and are never chosen.").format(far=far, count=len(candidate_xy), radius=radius))
    return SitingData(candidates=candidates, candidate_xy=candidate_xy, cost=cost, demand_xy=demand_xy, demand_weight=demand_weight,
                      demand_source=demand_source, chargepoint_xy=chargepoint_xy, utilisation=utilisation_values,
                      excluded=excluded_geometry, report=report, messages=messages)


# -- spatial queries -------------------------------------------------------------------------

def _pairs_within(a_xy: np.ndarray, b_xy: np.ndarray, radius: float):
    """Row positions (i in a, j in b) of every pair at most ``radius`` apart, through two k-d trees."""
    if not len(a_xy) or not len(b_xy):
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    found = cKDTree(a_xy).sparse_distance_matrix(cKDTree(b_xy), radius, output_type="ndarray")
    return found["i"].astype("int64"), found["j"].astype("int64")


def coverage(candidate_xy, demand_xy, radius_m: float = DEFAULT_RADIUS_M) -> Coverage:
    """The sparse coverage model: candidate i covers demand point j when they are at most ``radius_m`` apart."""
    radius = check_radius(radius_m)
    candidate_xy, demand_xy = _xy(candidate_xy, tr("candidate sites")), _xy(demand_xy, tr("demand points"))
    rows, columns = _pairs_within(candidate_xy, demand_xy, radius)
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(candidate_xy), len(demand_xy)))
    matrix.sort_indices()
    return Coverage(matrix=matrix, candidate_xy=candidate_xy, demand_xy=demand_xy, radius_m=radius)


def served_mask(demand_xy, open_xy, radius_m: float) -> np.ndarray:
    """True for each demand point with an open charge point at most ``radius_m`` away."""
    demand_xy = _xy(demand_xy, tr("demand points"))
    open_xy = _xy(open_xy, tr("charge points")) if open_xy is not None else np.empty((0, 2))
    if not len(open_xy) or not len(demand_xy):
        return np.zeros(len(demand_xy), dtype=bool)
    distance, _ = cKDTree(open_xy).query(demand_xy, k=1, distance_upper_bound=np.nextafter(radius_m, np.inf))
    return distance <= radius_m


def broken_constraints(candidate_xy, chargepoint_xy=None, excluded=None, min_spacing_m: Optional[float] = None):
    """``(count, reasons)`` per candidate: inside an excluded area; nearer an existing charge point than ``min_spacing_m``.

    A candidate exactly on an excluded area's edge is not inside it; one exactly
    ``min_spacing_m`` from a charge point keeps the spacing.
    """
    candidate_xy = _xy(candidate_xy, tr("candidate sites"))
    count = np.zeros(len(candidate_xy), dtype="int64")
    reasons = [[] for _ in range(len(candidate_xy))]
    if excluded is not None and len(excluded) and len(candidate_xy):
        inside = locate_points(candidate_xy[:, 0], candidate_xy[:, 1], list(excluded)) >= 0
        count += inside
        for position in np.flatnonzero(inside):
            reasons[position].append(tr("in an excluded area"))
    chargepoint_xy = _xy(chargepoint_xy, tr("charge points")) if chargepoint_xy is not None else np.empty((0, 2))
    if min_spacing_m and min_spacing_m > 0 and len(chargepoint_xy) and len(candidate_xy):
        distance, _ = cKDTree(chargepoint_xy).query(candidate_xy, k=1, distance_upper_bound=min_spacing_m)
        near = distance < min_spacing_m
        count += near
        for position in np.flatnonzero(near):
            reasons[position].append(tr("{distance:.0f} m from an existing charge point (minimum {minimum:g} m)").format(
                distance=distance[position], minimum=min_spacing_m))
    return count, ["; ".join(reason) for reason in reasons]


# -- scoring -------------------------------------------------------------------------------------

def score_candidates(candidate_xy, chargepoint_xy, chargepoint_utilisation, demand_xy, demand_weight,
                     radius_m: float = DEFAULT_RADIUS_M, weights: ScoreWeights = ScoreWeights(), excluded=None,
                     min_spacing_m: Optional[float] = None, cover: Optional[Coverage] = None) -> pd.DataFrame:
    """One row per candidate (row positions as index): SCORE_COLUMNS.

    The parts, the score and the rank are explained in the module notes.
    ``constraints`` says in words which constraints a site breaks; ``weights`` (also
    ``frame.attrs["weights"]``) records the weights used, and ``frame.attrs["scales"]``
    what the demand and pressure parts were divided by. A ready ``cover`` built
    with the same radius saves building it again.
    """
    radius = check_radius(radius_m)
    candidate_xy = _xy(candidate_xy, tr("candidate sites"))
    chargepoint_xy = _xy(chargepoint_xy if chargepoint_xy is not None else np.empty((0, 2)), tr("charge points"))
    demand_xy = _xy(demand_xy, tr("demand points"))
    weight = np.nan_to_num(np.asarray(demand_weight, dtype="float64"))
    if cover is None:
        cover = coverage(candidate_xy, demand_xy, radius)
    served = served_mask(demand_xy, chargepoint_xy, radius)
    new_demand = cover.matrix @ np.where(served, 0.0, weight)
    served_demand = cover.matrix @ np.where(served, weight, 0.0)

    utilisation = (np.asarray(chargepoint_utilisation, dtype="float64") if chargepoint_utilisation is not None
                   else np.full(len(chargepoint_xy), np.nan))
    known = np.isfinite(utilisation)
    rows, columns = _pairs_within(candidate_xy, chargepoint_xy[known], radius)
    total = np.bincount(rows, weights=utilisation[known][columns], minlength=len(candidate_xy))
    counted = np.bincount(rows, minlength=len(candidate_xy))
    pressure = np.divide(total, counted, out=np.zeros(len(candidate_xy)), where=counted > 0)

    broken, reasons = broken_constraints(candidate_xy, chargepoint_xy, excluded, min_spacing_m)
    demand_scale = float(np.max(new_demand + served_demand)) if len(candidate_xy) else 0.0
    pressure_scale = float(np.max(pressure)) if len(candidate_xy) else 0.0
    demand_scale, pressure_scale = demand_scale or 1.0, pressure_scale or 1.0
    contributions = (weights.new_demand * new_demand / demand_scale, weights.served_demand * served_demand / demand_scale,
                     weights.pressure * pressure / pressure_scale, weights.constraints_broken * broken.astype("float64"))
    score = sum(contributions)
    frame = pd.DataFrame({
        "new_demand": new_demand, "served_demand": served_demand, "pressure": pressure,
        "constraints_broken": broken, "constraints": reasons, **dict(zip(CONTRIBUTIONS, contributions)), "score": score,
        "rank": pd.Series(-score).rank(method="min").to_numpy(dtype="int64") if len(score) else np.empty(0, dtype="int64"),
        "weights": weights.describe(),
    }, columns=SCORE_COLUMNS)
    frame.attrs.update(weights=weights.as_dict(), scales={"demand": demand_scale, "pressure": pressure_scale},
                       radius_m=radius, min_spacing_m=min_spacing_m)
    return frame


# -- choosing sites ----------------------------------------------------------------------------

@dataclass
class _Problem:
    """The reduced covering problem: candidates by columns of demand groups with identical covering sets."""

    matrix: sparse.csr_matrix  # candidates x groups, ineligible candidates' rows empty
    weight: np.ndarray  # per group
    eligible: np.ndarray  # bool per candidate
    cost: Optional[np.ndarray]
    neighbours: sparse.csr_matrix  # candidates within the separation of each other


def _reduce(cover: Coverage, weight: np.ndarray, eligible: np.ndarray) -> tuple:
    """Drop served, weightless and uncoverable demand; merge demand points covered by exactly the same candidates."""
    matrix = cover.matrix
    if not eligible.all():
        matrix = sparse.diags(eligible.astype("float64")) @ matrix
    matrix = sparse.csc_matrix(matrix)
    matrix.eliminate_zeros()
    keep = np.flatnonzero((weight > 0) & (np.diff(matrix.indptr) > 0))
    matrix = matrix[:, keep]
    matrix.sort_indices()
    if not len(keep):
        return sparse.csr_matrix((cover.n_candidates, 0)), np.empty(0)
    # Two random hashes of each column's candidate set, summed in the same (sorted) order, plus its size.
    rng = np.random.default_rng(0)
    signature = np.column_stack([matrix.T @ rng.random(matrix.shape[0]), matrix.T @ rng.random(matrix.shape[0]),
                                 np.diff(matrix.indptr)])
    _, first, inverse = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    group_weight = np.bincount(inverse.ravel(), weights=weight[keep], minlength=len(first))
    grouped = sparse.csr_matrix(matrix[:, first])
    grouped.sort_indices()
    return grouped, group_weight


def _neighbours(candidate_xy: np.ndarray, eligible: np.ndarray, separation: Optional[float]) -> sparse.csr_matrix:
    n = len(candidate_xy)
    if not separation or separation <= 0 or n < 2:
        return sparse.csr_matrix((n, n))
    # Strictly nearer than the separation conflicts; exactly that far apart is allowed.
    pairs = cKDTree(candidate_xy).query_pairs(np.nextafter(separation, 0), output_type="ndarray")
    pairs = pairs[eligible[pairs[:, 0]] & eligible[pairs[:, 1]]]
    rows, columns = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, n))


def _bound(gains: np.ndarray, covered: float, k: Optional[int], cost: Optional[np.ndarray], budget: Optional[float]) -> float:
    """Covered so far plus the most the remaining gains could add (top k, or a fractional knapsack in the budget)."""
    bound = math.inf
    if k is not None:
        top = gains if k >= len(gains) else np.partition(gains, len(gains) - k)[len(gains) - k:]
        bound = covered + float(top.sum())
    if budget is not None:
        useful = gains > 0
        g, c = gains[useful], cost[useful]
        free = c <= 0
        extra = float(g[free].sum())
        g, c = g[~free], c[~free]
        order = np.argsort(-g / c, kind="stable")
        g, c = g[order], c[order]
        spent = np.cumsum(c)
        whole = int(np.searchsorted(spent, budget, side="right"))
        extra += float(g[:whole].sum())
        if whole < len(g):
            room = budget - (spent[whole - 1] if whole else 0.0)
            extra += float(g[whole] * room / c[whole])
        bound = min(bound, covered + extra)
    return bound


def _greedy(problem: _Problem, k: Optional[int], budget: Optional[float], cancelled: Optional[Callable[[], bool]]):
    """Lazy greedy (CELF): ``(chosen, added, bound)``; see the module notes for order, ties and the bound."""
    matrix, cost = problem.matrix, problem.cost
    indptr, indices = matrix.indptr, matrix.indices
    uncovered = problem.weight.copy()
    gains = matrix @ uncovered
    affordable = problem.eligible & ((cost <= budget) if budget is not None else True)
    blocked = ~affordable
    bound_gains = np.where(affordable, gains, 0.0)
    bound = _bound(bound_gains, 0.0, k, cost, budget)

    def priority(i, gain):
        if budget is None:
            return gain
        return math.inf if cost[i] <= 0 else gain / cost[i]

    heap = [(-priority(i, gains[i]), int(i), 0, float(gains[i])) for i in np.flatnonzero(affordable & (gains > 0))]
    heapq.heapify(heap)
    chosen, added, covered, spent = [], [], 0.0, 0.0
    limit = k if k is not None else len(gains)
    while heap and len(chosen) < limit:
        if cancelled is not None and cancelled():
            raise CancelledError(tr("Choosing sites was cancelled."))
        _, i, stamp, gain = heapq.heappop(heap)
        if blocked[i] or (budget is not None and spent + cost[i] > budget):
            continue  # neither a chosen neighbour nor a spent budget ever comes back
        if stamp != len(chosen):
            gain = float(uncovered[indices[indptr[i]:indptr[i + 1]]].sum())
            if gain > 0:
                heapq.heappush(heap, (-priority(i, gain), i, len(chosen), gain))
            continue
        chosen.append(i)
        added.append(gain)
        covered += gain
        spent += cost[i] if budget is not None else 0.0
        uncovered[indices[indptr[i]:indptr[i + 1]]] = 0.0
        blocked[i] = True
        blocked[problem.neighbours.indices[problem.neighbours.indptr[i]:problem.neighbours.indptr[i + 1]]] = True
        bound = min(bound, _bound(np.where(affordable, matrix @ uncovered, 0.0), covered, k, cost, budget))
    if budget is not None and affordable.any():
        # Gain per cost alone can lose to one big site; keep the better of the two answers.
        single = np.where(affordable, gains, 0.0)
        best = int(np.argmax(single))
        if single[best] > covered:
            chosen, added = [best], [float(single[best])]
    return chosen, added, bound


def _in_greedy_order(problem: _Problem, chosen: Sequence[int]):
    """The chosen set ordered by marginal gain, with what each adds; sites adding nothing dropped."""
    indptr, indices = problem.matrix.indptr, problem.matrix.indices
    uncovered = problem.weight.copy()
    left, order, added = list(chosen), [], []
    while left:
        gains = [float(uncovered[indices[indptr[i]:indptr[i + 1]]].sum()) for i in left]
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        i = left.pop(best)
        order.append(i)
        added.append(gains[best])
        uncovered[indices[indptr[i]:indptr[i + 1]]] = 0.0
    return order, added


def _exact(problem: _Problem, k: Optional[int], budget: Optional[float], time_limit_s: float):
    """The MILP on the reduced problem with HiGHS: ``(chosen, status, dual bound)``; chosen None without a solution."""
    useful = np.flatnonzero(problem.eligible & (np.diff(problem.matrix.indptr) > 0)
                            & ((problem.cost <= budget) if budget is not None else True))
    a = problem.matrix[useful].T.tocsr()  # groups x useful candidates
    n_x, n_y = len(useful), a.shape[0]
    blocks = [sparse.hstack([-a, sparse.identity(n_y, format="csr")], format="csr")]
    upper = [np.zeros(n_y)]
    if k is not None and k < n_x:
        blocks.append(sparse.csr_matrix(np.concatenate([np.ones(n_x), np.zeros(n_y)])[None, :]))
        upper.append(np.array([float(k)]))
    if budget is not None:
        blocks.append(sparse.csr_matrix(np.concatenate([problem.cost[useful], np.zeros(n_y)])[None, :]))
        upper.append(np.array([float(budget)]))
    pairs = sparse.triu(problem.neighbours[useful][:, useful], k=1).tocoo()
    if pairs.nnz:
        rows = np.repeat(np.arange(pairs.nnz), 2)
        columns = np.column_stack([pairs.row, pairs.col]).ravel()
        blocks.append(sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(pairs.nnz, n_x + n_y)))
        upper.append(np.ones(pairs.nnz))
    matrix = sparse.vstack(blocks, format="csr")
    upper = np.concatenate(upper)
    objective = np.concatenate([np.zeros(n_x), -problem.weight])
    integrality = np.concatenate([np.ones(n_x), np.zeros(n_y)])
    result = milp(objective, constraints=LinearConstraint(matrix, -np.inf, upper), integrality=integrality,
                  bounds=Bounds(0, 1), options={"time_limit": float(time_limit_s), "mip_rel_gap": 0.0, "disp": False})
    dual = getattr(result, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else None
    chosen = None if result.x is None else useful[np.asarray(result.x[:n_x]) > 0.5].tolist()
    return chosen, int(result.status), bound


def select_sites(cover: Coverage, demand_weight, k: Optional[int] = None, budget: Optional[float] = None,
                 cost=None, method: str = GREEDY, time_limit_s: float = DEFAULT_TIME_LIMIT_S, existing_xy=None,
                 min_separation_m: Optional[float] = DEFAULT_MIN_SEPARATION_M, allowed=None,
                 cancelled: Optional[Callable[[], bool]] = None, progress: Optional[Callable[[float], None]] = None) -> Selection:
    """Choose up to ``k`` sites, or sites within ``budget`` (``cost`` per candidate), covering the most unserved demand.

    ``method`` is ``"greedy"`` (lazy greedy, fast) or ``"exact"`` (the MILP with
    HiGHS, limited to ``time_limit_s``; when time runs out, the better of the
    solver's best solution and the greedy answer). Charge points at
    ``existing_xy`` count as already open: the demand they serve is not counted
    again. ``allowed`` (bool per candidate) leaves out sites that break
    constraints. ``cancelled`` is polled between steps (the solver itself stops
    at its time limit); ``progress`` receives a percentage.
    """
    started = time.perf_counter()
    if method not in (GREEDY, EXACT):
        raise SourceError(tr("The method must be greedy or exact, not {method}.").format(method=method))
    try:
        time_limit_s = float(time_limit_s)
    except (TypeError, ValueError):
        time_limit_s = math.nan
    if not time_limit_s >= 0:
        raise SourceError(tr("The time limit must be a number of seconds of at least 0; {value} was given.").format(value=time_limit_s))
    if k is None and budget is None:
        raise SourceError(tr("Give the number of sites to choose, or a budget."))
    if k is not None:
        if isinstance(k, bool) or not float(k).is_integer() or k < 1:
            raise SourceError(tr("The number of sites to choose must be a whole number of at least 1; {value} was given.").format(value=k))
        k = int(k)
    n = cover.n_candidates
    weight = np.asarray(demand_weight, dtype="float64")
    if weight.shape != (cover.n_demand,):
        raise ValueError("demand_weight must have one value per demand point of the coverage")
    if not np.isfinite(weight).all() or (weight < 0).any():
        raise SourceError(tr("Every demand weight must be a number of at least 0."))
    if budget is not None:
        if cost is None:
            raise SourceError(tr("A budget needs a cost for each candidate site."))
        budget = float(budget)
        if not math.isfinite(budget) or budget <= 0:
            raise SourceError(tr("The budget must be a positive number; {value} was given.").format(value=budget))
        cost = np.asarray(cost, dtype="float64")
        if cost.shape != (n,) or not np.isfinite(cost).all() or (cost < 0).any():
            raise SourceError(tr("Every candidate site needs a cost of at least 0 to be chosen within a budget."))
    else:
        cost = None
    eligible = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()

    served = served_mask(cover.demand_xy, existing_xy, cover.radius_m)
    total = float(weight.sum())
    unserved = float(weight[~served].sum())
    grouped, group_weight = _reduce(cover, np.where(served, 0.0, weight), eligible)
    problem = _Problem(grouped, group_weight, eligible, cost, _neighbours(cover.candidate_xy, eligible, min_separation_m))
    if progress is not None:
        progress(10.0)

    chosen, added, bound = _greedy(problem, k, budget, cancelled)
    status = GREEDY_ANSWER
    if progress is not None:
        progress(40.0 if method == EXACT else 100.0)
    greedy_covered = float(sum(added))
    if method == EXACT:
        if bound - greedy_covered <= GAP_TOLERANCE * max(bound, 1.0):
            status = OPTIMAL  # the greedy answer meets its own upper bound
        else:
            if cancelled is not None and cancelled():
                raise CancelledError(tr("Choosing sites was cancelled."))
            exact, solver_status, dual_bound = _exact(problem, k, budget, time_limit_s)
            if cancelled is not None and cancelled():
                raise CancelledError(tr("Choosing sites was cancelled."))
            if dual_bound is not None:
                bound = min(bound, dual_bound)
            exact_order, exact_added = _in_greedy_order(problem, exact) if exact is not None else ([], [])
            if solver_status == 0 and exact is not None:
                chosen, added, status = exact_order, exact_added, OPTIMAL
            elif exact is not None and sum(exact_added) > greedy_covered:
                chosen, added, status = exact_order, exact_added, TIME_LIMIT_BEST
            elif solver_status == 1:
                status = TIME_LIMIT_GREEDY
            else:
                raise SourceError(tr("The solver could not choose sites (status {status}).").format(status=solver_status))
    covered = float(sum(added))
    if status == OPTIMAL:
        bound = max(bound, covered) if bound is not None else covered
    gap = None
    if bound is not None and math.isfinite(bound):
        gap = 0.0 if bound <= 0 else max(0.0, (bound - covered) / bound)
        gap = 0.0 if gap < GAP_TOLERANCE else gap
    messages = []
    if k is not None and len(chosen) < k:
        messages.append(tr("{count} sites were chosen, not {wanted}: no other site that is allowed, keeps the separation and fits "
                           "the budget would add demand that is not already covered.").format(count=len(chosen), wanted=k))
    if progress is not None:
        progress(100.0)
    return Selection(
        chosen=np.asarray(chosen, dtype="int64"), added=np.asarray(added, dtype="float64"), covered=covered,
        total_demand=total, unserved_demand=unserved, share=covered / unserved if unserved > 0 else math.nan,
        status=status, gap=gap, bound=bound if bound is not None and math.isfinite(bound) else None, method=method,
        cost=float(cost[np.asarray(chosen, dtype="int64")].sum()) if cost is not None else None,
        seconds=time.perf_counter() - started, messages=messages)
