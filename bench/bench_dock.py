"""Benchmark: from a selection change on the map to redrawn dock charts, for 25,000 charge points.

Target (from the issue): under 50 ms. The dock is the real one (``EvChargeDock``)
on the demo's 33 boroughs and its wards, with 25,000 charge points spread over
them (seeded) in a memory layer; its figures come from one real
``evcharge:areasummary`` run. Each timing starts at ``layer.selectByIds`` and
ends once the dock has been painted (``QWidget.grab``: the header and the tab in view), so it holds
QGIS's selection, the highlight of the borough and ward bars, the histograms
and every repaint. Baseline, in the same run: ``selectByIds`` alone (what QGIS
itself spends on the same selection, before any chart hears of it).

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 bench/bench_dock.py

Medians of REPEATS selections of each kind; nothing is asserted.
"""
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POINTS = 25_000
REPEATS = 15
TARGET_MS = 50.0
SEED = 2025


def build_layers():
    import geopandas as gpd
    from shapely.geometry import Point

    from ev_charge_plugin.core.demo import build_demo
    from ev_charge_plugin.qgis_io.layers import memory_layer

    demo = build_demo()
    rng = np.random.default_rng(SEED)
    outline = demo.boroughs.geometry.unary_union
    west, south, east, north = outline.bounds
    xy = []
    while len(xy) < POINTS:
        candidates = rng.uniform((west, south), (east, north), size=(POINTS, 2))
        xy.extend(point for point in candidates if outline.contains(Point(point)))
    xy = np.array(xy[:POINTS])
    bands = rng.choice(["slow", "fast", "rapid", "ultra-rapid"], POINTS, p=[0.8, 0.1, 0.07, 0.03])
    points = pd.DataFrame({
        "chargepoint_id": [f"B-{i:06d}" for i in range(POINTS)],
        "operator": rng.choice(["Ubitricity", "Source London", "char.gy", "Shell Recharge", "Connected Kerb"], POINTS),
        "speed_band": bands,
        "sessions": rng.poisson(120, POINTS).astype("float64"),
        "occupied_hours": rng.uniform(100, 1500, POINTS),
        "available_hours": np.full(POINTS, 2208.0),
        "energy_kwh": rng.uniform(200, 5000, POINTS),
        "capacity_kwh": np.full(POINTS, 2208.0 * 7),
        "days": np.full(POINTS, 92.0),
        "occupancy_pct": rng.uniform(5, 70, POINTS),
    })
    points = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    return memory_layer(points, "charge points"), memory_layer(demo.boroughs, "boroughs"), memory_layer(demo.wards, "wards")


def main():
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import QEventLoop

    from ev_charge_plugin.toolbelt.headless import start_qgis

    app = start_qgis()
    from ev_charge_plugin.gui.dock import EvChargeDock

    points, boroughs, wards = build_layers()
    QgsProject.instance().addMapLayers([points, boroughs, wards])
    dock = EvChargeDock(None)
    dock.resize(520, 1000)
    dock.show()
    panel = dock.summary
    panel.points_combo.setLayer(points)
    panel.areas_combo.setLayer(boroughs)
    panel.wards_combo.setLayer(wards)
    loop = QEventLoop()
    panel.summarised.connect(lambda *_: loop.quit())
    panel.refresh()
    loop.exec_()
    panel.drill_down(panel.boroughs.names.index("Camden"))
    app.processEvents()

    rng = np.random.default_rng(SEED)
    fids = np.array(sorted(feature.id() for feature in points.getFeatures()))
    kinds = {
        "one charge point": lambda: [int(rng.choice(fids))],
        "1% of them (250)": lambda: rng.choice(fids, POINTS // 100, replace=False).tolist(),
        "one borough (Westminster)": lambda: panel.boroughs.fids_in(panel.boroughs.names.index("Westminster")),
        "all 25,000": lambda: fids.tolist(),
    }
    print(f"Selection change to redrawn dock charts, {POINTS:,} charge points in {len(panel.boroughs.names)} boroughs "
          f"and {len(panel.wards.names)} wards (median of {REPEATS})")
    worst = 0.0
    for name, choose in kinds.items():
        with_charts, qgis_only = [], []
        for _ in range(REPEATS):
            ids = choose()
            points.removeSelection()
            dock.grab()
            started = time.perf_counter()
            points.selectByIds(ids)
            dock.grab()  # paints every chart
            with_charts.append((time.perf_counter() - started) * 1000)
            panel._link_selection(None)  # the baseline: the same selection with no chart listening
            points.removeSelection()
            started = time.perf_counter()
            points.selectByIds(ids)
            qgis_only.append((time.perf_counter() - started) * 1000)
            panel._link_selection(points)
        median, baseline = statistics.median(with_charts), statistics.median(qgis_only)
        worst = max(worst, median)
        print(f"  {name:28s} {median:7.1f} ms   (QGIS selectByIds alone {baseline:6.2f} ms; "
              f"charts add {median - baseline:6.1f} ms)")
    print(f"headline: slowest kind {worst:.1f} ms, target < {TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'NOT met'}")
    dock.unload()
    QgsProject.instance().clear()


if __name__ == "__main__":
    main()
