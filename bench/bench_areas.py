"""Benchmark: 25,000 charge points summarised into 680 wards, against QGIS's own join.

Run: QT_QPA_PLATFORM=offscreen /usr/bin/python3 bench/bench_areas.py

Target (from the issue): ``evcharge:areasummary`` summarising 25,000 charge
points into 680 wards (counts, sums and metrics) is at least 10x faster than
QGIS's own "Join attributes by location (summary)" on the same layers, measured
in the same run.

- plugin: ``evcharge:areasummary`` with POINTS=points, AREAS=wards,
  AREA_NAME_FIELD=name, no archive (it sums the usage fields already on the
  points), OUTPUT=TEMPORARY_OUTPUT: counts by speed band, the ten sums of
  ``utilisation.SUM_COLUMNS`` and the metrics from them, per ward.
- baseline, the headline: QGIS's ``joinbylocationsummary`` (``qgis:`` on 3.22,
  ``native:`` later) with the same wards as INPUT and the points as JOIN,
  predicate "contains" (a point on an edge is in no ward, as in ours), summaries
  count and sum of chargepoint_id and the ten sum fields, OUTPUT=TEMPORARY_OUTPUT.
  It cannot choose summaries per field, so it also counts each numeric field;
  ours does more besides (band counts, metrics), so the ratio flatters neither.
- core, for context: ``areas.locate_points`` + ``area_summary.summarise_areas``
  on the same coordinates and columns already in numpy/pandas, i.e. what the
  algorithm costs beyond reading the layers and writing its output.

The layers are built in memory, seeded: 680 wards as Voronoi cells clipped to
the demo's outline of London (``demo.stylised_outline()``, EPSG:27700), and
25,000 points inside it with chargepoint_id, speed_band, power_kw, operator and
the sum fields (about 10% of points without usage, 5% more without charging
hours). Both run in two configurations, each on the same layers for both:

- GeoPackage, the headline: the layers saved into one GeoPackage (with its
  R-tree) in a temporary folder, loaded as ``path|layername=...`` OGR layers.
  This is how the layers reach the summary: the plugin saves the charge points
  it loads (and its utilisation layers) as GeoPackages, and boroughs' own
  boundaries are files. The plugin reads these points straight from the file.
- memory, for reference: the two memory layers, each with a spatial index, as a
  scratch layer or a Processing temporary output would be. QGIS has no bulk
  read of a memory layer: its file writer copies the points out (about 55 ms of
  the run), so this ratio is lower.

In each, every pipeline runs once to warm up, then they take turns REPEATS
times; the best and the median are printed, and ratios against QGIS's join in
the same run. No time is asserted; the per-ward counts and summed sessions of
the two must agree, or the script stops. A last instrumented run per
configuration times the plugin's phases (reading the areas and the points,
locating, summing, writing), by wrapping them from here; it is not timed itself.
"""
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ev_charge_plugin.toolbelt.headless import run_headless  # noqa: E402

POINTS = 25_000
WARDS = 680
REPEATS = 3
CORE_REPEATS = 11
TARGET_RATIO = 10.0
SEED = 680
QGIS_JOINS = ("native:joinbylocationsummary", "qgis:joinbylocationsummary")


def _inside(outline, x, y) -> np.ndarray:
    from shapely import vectorized

    return vectorized.contains(outline, x, y)


def _uniform_inside(outline, count: int, rng) -> tuple:
    """``count`` points uniformly inside ``outline`` (rejection from its bounding box)."""
    west, south, east, north = outline.bounds
    xs, ys = [], []
    while sum(len(x) for x in xs) < count:
        x, y = rng.uniform(west, east, count), rng.uniform(south, north, count)
        keep = _inside(outline, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
    return np.concatenate(xs)[:count], np.concatenate(ys)[:count]


def make_wards(rng):
    """680 Voronoi cells clipped to the demo's outline, named W0001... from west to east."""
    import geopandas as gpd
    from shapely.geometry import MultiPoint
    from shapely.ops import voronoi_diagram

    from ev_charge_plugin.core.demo import stylised_outline

    outline = stylised_outline()
    x, y = _uniform_inside(outline, WARDS, rng)
    envelope = outline.buffer(10_000).envelope
    cells = [cell.intersection(outline) for cell in voronoi_diagram(MultiPoint(list(zip(x, y))), envelope=envelope).geoms]
    cells = [cell for cell in cells if not cell.is_empty]
    cells.sort(key=lambda cell: cell.centroid.x)
    assert len(cells) == WARDS, len(cells)
    wards = gpd.GeoDataFrame({
        "name": [f"W{i:04d}" for i in range(1, WARDS + 1)],
        "population": rng.integers(8_000, 18_000, WARDS),
    }, geometry=cells, crs=27700)
    return outline, wards


def make_points(outline, rng):
    """25,000 charge points inside ``outline`` with plausible usage sums for one quarter (some NULL)."""
    import geopandas as gpd

    from ev_charge_plugin.core.schema import speed_bands
    from ev_charge_plugin.core.utilisation import SUM_COLUMNS

    x, y = _uniform_inside(outline, POINTS, rng)
    power = rng.choice([3.6, 5.5, 7.0, 22.0, 50.0, 150.0], size=POINTS, p=[0.2, 0.3, 0.35, 0.08, 0.05, 0.02])
    days = np.full(POINTS, 91.0)
    available = days * 24 * rng.uniform(0.9, 1.0, POINTS)
    occupied = available * rng.uniform(0.0, 0.4, POINTS)
    charging = occupied * rng.uniform(0.5, 1.0, POINTS)
    previous_available = days * 24 * rng.uniform(0.9, 1.0, POINTS)
    sums = {
        "sessions": np.round(occupied / rng.uniform(1.5, 4.0, POINTS)),
        "energy_kwh": np.round(charging * np.minimum(power, 11.0) * rng.uniform(0.6, 0.95, POINTS), 3),
        "occupied_hours": occupied,
        "charging_hours": charging,
        "charging_available_hours": available,
        "available_hours": available,
        "capacity_kwh": power * available,
        "days": days,
        "previous_occupied_hours": previous_available * rng.uniform(0.0, 0.4, POINTS),
        "previous_available_hours": previous_available,
    }
    no_usage = rng.random(POINTS) < 0.10
    no_charging = rng.random(POINTS) < 0.05
    frame = {
        "chargepoint_id": [f"BENCH-{i:06d}" for i in range(POINTS)],
        "speed_band": speed_bands(pd.Series(power)).to_numpy(),
        "power_kw": power,
        "operator": rng.choice(["Alpha", "Beta", "Gamma", "Delta"], size=POINTS),
    }
    for column in SUM_COLUMNS:
        values = sums[column].astype("float64")
        values[no_usage] = np.nan
        if column in ("charging_hours", "charging_available_hours"):
            values[no_charging] = np.nan
        frame[column] = values
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=27700)
    return points, x, y


def qgis_join_id() -> str:
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    return next(name for name in QGIS_JOINS if registry.algorithmById(name) is not None)


def qgis_parameters(join_id: str, wards, points) -> dict:
    from qgis.core import QgsApplication

    from ev_charge_plugin.core.utilisation import SUM_COLUMNS

    algorithm = QgsApplication.processingRegistry().algorithmById(join_id)
    summaries = algorithm.parameterDefinition("SUMMARIES").options()
    predicates = algorithm.parameterDefinition("PREDICATE").options()
    return {
        "INPUT": wards, "JOIN": points,
        "PREDICATE": [predicates.index("contains")],  # the ward contains the point: an edge point is in no ward
        "JOIN_FIELDS": ["chargepoint_id", *SUM_COLUMNS],
        "SUMMARIES": [summaries.index("count"), summaries.index("sum")],
        "DISCARD_NONMATCHING": False,
        "OUTPUT": "TEMPORARY_OUTPUT",
    }


def run_qgis(join_id: str, parameters: dict):
    import processing

    return processing.run(join_id, dict(parameters))["OUTPUT"]


def run_plugin(wards, points):
    import processing

    return processing.run("evcharge:areasummary", {"POINTS": points, "AREAS": wards, "AREA_NAME_FIELD": "name",
                                                   "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]


def run_core(x, y, geometries, frame, bounds=None):
    from ev_charge_plugin.core.area_summary import summarise_areas
    from ev_charge_plugin.core.areas import locate_points

    located = locate_points(x, y, geometries, bounds)
    return summarise_areas(frame, located, len(geometries))


def _number(value):
    """A QGIS attribute as a float, None for NULL (a QVariant on QGIS 3.22)."""
    from qgis.PyQt.QtCore import QVariant

    return None if value is None or isinstance(value, QVariant) else float(value)


def _by_name(layer, fields) -> pd.DataFrame:
    rows = [[feature["name"], *[_number(feature[field]) for field in fields]] for feature in layer.getFeatures()]
    return pd.DataFrame(rows, columns=["name", *fields], dtype="object").set_index("name").astype("float64").sort_index()


def check_same(plugin_layer, qgis_layer, core) -> str:
    """Stop the script unless both give every ward the same count and the same summed sessions and energy."""
    ours = _by_name(plugin_layer, ["chargepoints", "sessions", "energy_kwh"]).fillna(0.0)
    theirs = _by_name(qgis_layer, ["chargepoint_id_count", "sessions_sum", "energy_kwh_sum"]).fillna(0.0)  # NULL where a ward has none
    theirs.columns = ours.columns
    if len(ours) != WARDS or not ours.index.equals(theirs.index):
        raise SystemExit(f"the outputs differ in their wards: {len(ours)} against {len(theirs)}")
    counts = ours["chargepoints"].to_numpy() != theirs["chargepoints"].to_numpy()
    if counts.any():
        raise SystemExit(f"per-ward counts differ in {int(counts.sum())} wards, e.g.\n{pd.concat([ours, theirs], axis=1, keys=['ours', 'qgis'])[counts].head()}")
    for column in ("sessions", "energy_kwh"):
        if not np.allclose(ours[column].to_numpy(), theirs[column].to_numpy(), rtol=1e-9, atol=1e-6):
            raise SystemExit(f"per-ward summed {column} differ")
    if not np.array_equal(core.areas["chargepoints"].to_numpy(), _by_name(plugin_layer, ["chargepoints"])["chargepoints"].reindex(
            [f"W{i:04d}" for i in range(1, WARDS + 1)]).to_numpy()):
        raise SystemExit("the core's counts differ from the algorithm's")
    empty = int((ours["chargepoints"] == 0).sum())
    return (f"checked: the same count, sessions and energy in all {WARDS} wards ({int(ours['chargepoints'].sum()):,} points, "
            f"{ours['sessions'].sum():,.0f} sessions, {empty} wards empty, {core.outside} points in none)")


def best_and_median(values) -> str:
    return f"best {min(values) * 1000:8.1f} ms, median {statistics.median(values) * 1000:8.1f} ms"


def plugin_phases() -> tuple:
    """The plugin's phases as (label, owner, attribute); the algorithm looks each up on its owner when it runs."""
    from ev_charge_plugin.core import area_summary, areas
    from ev_charge_plugin.processing.area_summary import AreaSummaryAlgorithm

    return (("read areas", AreaSummaryAlgorithm, "_read_areas"), ("read points", AreaSummaryAlgorithm, "_read_points"),
            ("locate", areas, "locate_points"), ("sums", area_summary, "summarise_areas"),
            ("write", AreaSummaryAlgorithm, "_write_areas"))


@contextmanager
def timed_phases(spent: dict):
    """Append the seconds each of :func:`plugin_phases` takes to ``spent[label]`` while inside."""
    originals = []
    for label, owner, attribute in plugin_phases():
        original = getattr(owner, attribute)

        def timed(*args, _original=original, _label=label, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label].append(time.perf_counter() - start)

        setattr(owner, attribute, timed)
        originals.append((owner, attribute, original))
    try:
        yield
    finally:
        for owner, attribute, original in originals:
            setattr(owner, attribute, original)


def phase_breakdown(run) -> str:
    """The plugin's phases, median ms of REPEATS instrumented runs of ``run``, and what the whole run took beyond them."""
    spent = {label: [] for label, _, _ in plugin_phases()}
    totals = []
    with timed_phases(spent):
        for _ in range(REPEATS):
            start = time.perf_counter()
            run()
            totals.append(time.perf_counter() - start)
    medians = {label: statistics.median(values) * 1000 for label, values in spent.items()}
    rest = statistics.median(totals) * 1000 - sum(medians.values())
    return "  ".join(f"{label} {value:.1f}" for label, value in medians.items()) + f"  rest {rest:.1f} ms"


def compare(label: str, wards, points, join_id: str, core) -> float:
    """Time QGIS's join and the plugin on ``wards`` and ``points``, check they agree, print; the ratio of their bests."""
    parameters = qgis_parameters(join_id, wards, points)
    pipelines = {
        "plugin": lambda: run_plugin(wards, points),
        "qgis": lambda: run_qgis(join_id, parameters),
    }
    outputs = {key: function() for key, function in pipelines.items()}  # warm-up, and the outputs checked
    checked = check_same(outputs["plugin"], outputs["qgis"], core)
    del outputs

    samples = {key: [] for key in pipelines}
    for _ in range(REPEATS):
        for key, function in pipelines.items():
            start = time.perf_counter()
            layer = function()
            samples[key].append(time.perf_counter() - start)
            del layer
    ratio = min(samples["qgis"]) / min(samples["plugin"])
    print(f"{label}:")
    print(f"  qgis    {best_and_median(samples['qgis'])}  {join_id}, contains, count + sum -> memory layer")
    print(f"  plugin  {best_and_median(samples['plugin'])}  evcharge:areasummary (counts by band, sums, metrics) -> memory layer")
    print(f"  plugin phases (ms, median): {phase_breakdown(pipelines['plugin'])}")
    print(f"  qgis / plugin {ratio:6.1f}x")
    print(f"  {checked}")
    return ratio


def main() -> int:
    from ev_charge_plugin.core.utilisation import SUM_COLUMNS
    from ev_charge_plugin.qgis_io.layers import memory_layer, write_gpkg
    from qgis.core import QgsVectorLayer

    rng = np.random.default_rng(SEED)
    outline, wards_frame = make_wards(rng)
    points_frame, x, y = make_points(outline, rng)
    wards, points = memory_layer(wards_frame, "wards"), memory_layer(points_frame, "charge_points")
    assert wards.featureCount() == WARDS and points.featureCount() == POINTS
    join_id = qgis_join_id()
    geometries = list(wards_frame.geometry)
    bounds = wards_frame.geometry.bounds.to_numpy()  # as the algorithm has them from QGIS while reading the wards
    core_frame = pd.DataFrame(points_frame.drop(columns="geometry"))
    core = run_core(x, y, geometries, core_frame, bounds)

    print(f"Summarise {POINTS:,} charge points into {WARDS} wards: count and sums of {len(SUM_COLUMNS)} fields "
          f"(best and median of {REPEATS} runs after a warm-up, taking turns)")
    with tempfile.TemporaryDirectory() as folder:
        path = write_gpkg({"wards": wards, "charge_points": points}, Path(folder) / "bench.gpkg")
        file_wards = QgsVectorLayer(f"{path}|layername=wards", "wards", "ogr")
        file_points = QgsVectorLayer(f"{path}|layername=charge_points", "charge_points", "ogr")
        assert file_wards.featureCount() == WARDS and file_points.featureCount() == POINTS
        file_ratio = compare("GeoPackage layers (one .gpkg)", file_wards, file_points, join_id, core)
        del file_wards, file_points  # before the folder goes
    memory_ratio = compare("memory layers", wards, points, join_id, core)

    core_samples = []
    for _ in range(CORE_REPEATS):
        start = time.perf_counter()
        run_core(x, y, geometries, core_frame, bounds)
        core_samples.append(time.perf_counter() - start)
    print(f"core      {best_and_median(core_samples)}  locate_points + summarise_areas on numpy/pandas data ({CORE_REPEATS} runs)")
    print(f"headline ratio, GeoPackage layers (as the plugin keeps the layers it loads): {file_ratio:.1f}x faster, "
          f"target >= {TARGET_RATIO:.0f}x: {'met' if file_ratio >= TARGET_RATIO else 'NOT met'}")
    print(f"for reference, memory (scratch) layers: {memory_ratio:.1f}x faster (QGIS has no bulk read of a memory layer)")
    return 0


if __name__ == "__main__":
    run_headless(main)
