"""Benchmark: 25,000 charge points from the plugin's CSV standard into a styled layer.

Baseline, measured in the same run: QGIS opening the same points from a
GeoPackage with its own OGR provider, with the same style. Both pipelines are
timed up to the moment the user sees the map (the layer rendered once), and also
up to a styled layer object (which, for OGR, reads no features yet).
Printed as ratios; medians of several runs.
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ev_charge_plugin.toolbelt.headless import start_qgis, stop_qgis  # noqa: E402

POINTS = 25_000
REPEATS = 5
TARGET_RATIO = 2.0


def make_csv(path: Path) -> None:
    from ev_charge_plugin.core import schema

    rng = np.random.default_rng(25_000)
    power = rng.choice([3.6, 5.5, 7.0, 22.0, 50.0, 150.0], size=POINTS, p=[0.2, 0.3, 0.35, 0.08, 0.05, 0.02])
    frame = pd.DataFrame({
        "chargepoint_id": [f"BENCH-{i:06d}" for i in range(POINTS)],
        "name": [f"Bench site {i}" for i in range(POINTS)],
        "operator": rng.choice(["Alpha", "Beta", "Gamma", "Delta"], size=POINTS),
        "latitude": np.round(rng.uniform(51.30, 51.68, POINTS), 6),
        "longitude": np.round(rng.uniform(-0.50, 0.30, POINTS), 6),
        "power_kw": power,
        "connectors": rng.integers(1, 3, POINTS),
        "connector_types": "Type 2",
        "status": "AVAILABLE",
        "on_street": np.where(power < 8, "yes", "no"),
        "scheme": "bench",
    }).reindex(columns=schema.STANDARD_CSV_COLUMNS)
    frame.to_csv(path, index=False)


def render(layer) -> None:
    from qgis.PyQt.QtCore import QSize
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings

    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setOutputSize(QSize(1200, 900))
    settings.setExtent(layer.extent())
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()


def load_with_plugin(csv_path: Path):
    import processing

    from ev_charge_plugin.qgis_io.symbology import apply_chargepoint_style

    result = processing.run("evcharge:loadchargepoints", {"SOURCE": str(csv_path), "OUTPUT": "TEMPORARY_OUTPUT", "REPORT": "TEMPORARY_OUTPUT"})
    layer = result["OUTPUT"]
    apply_chargepoint_style(layer)
    assert layer.featureCount() == POINTS, layer.featureCount()
    return layer


def open_with_ogr(gpkg: Path):
    from qgis.core import QgsVectorLayer

    from ev_charge_plugin.qgis_io.symbology import apply_chargepoint_style

    layer = QgsVectorLayer(f"{gpkg}|layername=charge_points", "baseline", "ogr")
    apply_chargepoint_style(layer)
    assert layer.featureCount() == POINTS
    return layer


def timed(function, *args, then_render=False):
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        layer = function(*args)
        if then_render:
            render(layer)
        samples.append(time.perf_counter() - start)
        del layer
    return statistics.median(samples)


def main() -> int:
    from ev_charge_plugin.qgis_io.layers import write_gpkg

    with tempfile.TemporaryDirectory() as folder:
        csv_path, gpkg = Path(folder) / "points.csv", Path(folder) / "points.gpkg"
        make_csv(csv_path)
        write_gpkg({"charge_points": load_with_plugin(csv_path)}, gpkg)
        load_with_plugin(csv_path)  # warm both paths once so neither pays first-use costs
        open_with_ogr(gpkg)

        rows = []
        for label, then_render in (("to the rendered map", True), ("to a styled layer object", False)):
            ours = timed(load_with_plugin, csv_path, then_render=then_render)
            baseline = timed(open_with_ogr, gpkg, then_render=then_render)
            rows.append((label, ours, baseline, ours / baseline))

    print(f"Load {POINTS:,} charge points from the plugin's CSV standard (median of {REPEATS})")
    print("baseline: QGIS's OGR provider opening the same points from a GeoPackage, same style")
    for label, ours, baseline, ratio in rows:
        print(f"  {label:26s} plugin {ours * 1000:8.1f} ms   baseline {baseline * 1000:8.1f} ms   ratio {ratio:5.2f}x")
    headline = rows[0][3]
    print(f"headline ratio (to the rendered map): {headline:.2f}x, target <= {TARGET_RATIO:.0f}x: {'met' if headline <= TARGET_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    app = start_qgis()
    try:
        code = main()
    finally:
        stop_qgis(app)
    sys.exit(code)
