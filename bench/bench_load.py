"""Benchmark: 25,000 charge points from the plugin's CSV standard onto the map.

Target (from the issue): the load takes at most 2x as long as QGIS opening the
same points from a GeoPackage with its own OGR provider, measured in the same run.

Every pipeline below ends in the same place a user sees: the layer styled by
``apply_chargepoint_style`` and rendered once at 1200x900.

- plugin: ``evcharge:loadchargepoints`` (CSV -> TEMPORARY_OUTPUT, a memory layer,
  plus its data-quality report), then style and render.
- baseline A, the headline: QGIS's own Processing algorithm ``native:retainfields``,
  keeping every field, copying the GeoPackage layer, opened by the OGR provider,
  to TEMPORARY_OUTPUT, then style and render. It reaches the same end state as
  the plugin, an in-memory styled layer on the map with the same fields, so the
  ratio compares like with like. (``native:savefeatures`` would be the obvious
  copy, but on QGIS 3.22 its output is a file: TEMPORARY_OUTPUT becomes a
  GeoPackage written to disk, not a memory layer.)
- baseline B, for context: the GeoPackage layer opened by OGR, styled and rendered
  straight from the file. OGR reads features lazily and copies nothing, so this is
  the floor no loader that builds a layer can reach.
- plugin to a file, and baseline A to a file: the same two, each writing a new
  GeoPackage instead of a memory layer, as the Load dialog does since 0.2.0 (so
  the layer is still there when the project is reopened). Their ratio is the
  same comparison for that end state.

Each pipeline runs once to warm up, then the three take turns, and each time
printed is the median of REPEATS runs. Ratios are printed; no time is asserted.
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

from ev_charge_plugin.toolbelt.headless import run_headless  # noqa: E402

POINTS = 25_000
REPEATS = 11
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


def styled_and_drawn(layer):
    from ev_charge_plugin.qgis_io.symbology import apply_chargepoint_style

    apply_chargepoint_style(layer)
    render(layer)
    assert layer.featureCount() == POINTS, layer.featureCount()
    return layer


def plugin(csv_path: Path, _gpkg: Path, output="TEMPORARY_OUTPUT"):
    import processing

    result = processing.run("evcharge:loadchargepoints", {"SOURCE": str(csv_path), "OUTPUT": output, "REPORT": "TEMPORARY_OUTPUT"})
    return styled_and_drawn(_opened(result["OUTPUT"]))


def _opened(layer_or_path):
    from qgis.core import QgsVectorLayer

    return QgsVectorLayer(layer_or_path, "output", "ogr") if isinstance(layer_or_path, str) else layer_or_path


def _new_file(gpkg: Path) -> str:
    return str(gpkg.parent / f"output_{time.perf_counter_ns()}.gpkg")


def plugin_to_file(csv_path: Path, gpkg: Path):
    return plugin(csv_path, gpkg, _new_file(gpkg))


def _ogr_layer(gpkg: Path):
    from qgis.core import QgsVectorLayer

    return QgsVectorLayer(f"{gpkg}|layername=charge_points", "baseline", "ogr")


def baseline_a(_csv_path: Path, gpkg: Path, output="TEMPORARY_OUTPUT"):
    import processing

    from ev_charge_plugin.core import schema

    # Every field the plugin's layer has; only the GeoPackage's own fid is left behind.
    result = processing.run("native:retainfields", {"INPUT": _ogr_layer(gpkg), "FIELDS": list(schema.CHARGEPOINT_COLUMNS), "OUTPUT": output})
    layer = _opened(result["OUTPUT"])
    assert layer.providerType() == ("memory" if output == "TEMPORARY_OUTPUT" else "ogr"), layer.providerType()
    return styled_and_drawn(layer)


def baseline_a_to_file(csv_path: Path, gpkg: Path):
    return baseline_a(csv_path, gpkg, _new_file(gpkg))


def baseline_b(_csv_path: Path, gpkg: Path):
    return styled_and_drawn(_ogr_layer(gpkg))


PIPELINES = {
    "plugin": ("evcharge:loadchargepoints CSV -> memory layer, style, render", plugin),
    "A": ("native:retainfields GeoPackage (OGR) -> memory layer, style, render", baseline_a),
    "B": ("GeoPackage opened by OGR, no copy, style, render", baseline_b),
    "plugin file": ("evcharge:loadchargepoints CSV -> new GeoPackage, style, render", plugin_to_file),
    "A file": ("native:retainfields GeoPackage (OGR) -> new GeoPackage, style, render", baseline_a_to_file),
}


def main() -> int:
    from ev_charge_plugin.qgis_io.layers import write_gpkg

    samples = {key: [] for key in PIPELINES}
    with tempfile.TemporaryDirectory() as folder:
        csv_path, gpkg = Path(folder) / "points.csv", Path(folder) / "points.gpkg"
        make_csv(csv_path)
        write_gpkg({"charge_points": plugin(csv_path, gpkg)}, gpkg)  # the same points, fields and types
        for _label, function in PIPELINES.values():
            function(csv_path, gpkg)  # warm-up: no pipeline pays first-use costs in the timings
        # Taking turns spreads any drift in the machine's speed over all of them.
        for _ in range(REPEATS):
            for key, (_label, function) in PIPELINES.items():
                start = time.perf_counter()
                layer = function(csv_path, gpkg)
                samples[key].append(time.perf_counter() - start)
                del layer

    median = {key: statistics.median(values) for key, values in samples.items()}
    print(f"Load {POINTS:,} charge points and draw them once at 1200x900 (median of {REPEATS} runs after a warm-up)")
    for key, (label, _function) in PIPELINES.items():
        print(f"  {key:11s} {median[key] * 1000:8.1f} ms  {label}")
    ratio_a, ratio_b = median["plugin"] / median["A"], median["plugin"] / median["B"]
    print(f"  plugin / A {ratio_a:5.2f}x  (headline: the same end state, an in-memory styled layer on the map)")
    print(f"  plugin / B {ratio_b:5.2f}x  (context: OGR draws straight from the file and builds no layer)")
    print(f"  plugin file / A file {median['plugin file'] / median['A file']:5.2f}x  (each writing a new GeoPackage, as the Load dialog does)")
    print(f"headline ratio {ratio_a:.2f}x, target <= {TARGET_RATIO:.0f}x: {'met' if ratio_a <= TARGET_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    run_headless(main)
