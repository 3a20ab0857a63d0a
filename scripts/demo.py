"""`make demo`: the plugin's main job, headless, on the built-in demo data.

Builds the demo dataset, loads its operators' CSV through the same Processing
algorithm the plugin's dialog runs, and writes everything to the given folder.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ev_charge_plugin.toolbelt.headless import start_qgis, stop_qgis  # noqa: E402


def reason_kind(reason: str) -> str:
    """A report reason without its values, so that like problems count together."""
    general = re.sub(r"\([^)]*\)|'[^']*'|\b[A-Z]+-\d+\b|-?\d[\d.,]*", "", reason.split(":")[0])
    return re.sub(r"\s+", " ", general).strip(" .")


def render_map(layers, path: Path, size=(1600, 1200)) -> None:
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[-1].crs())
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor("white"))
    settings.setExtent(layers[-1].extent().buffered(1000))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(str(path))


def main(out: Path) -> int:
    import processing
    from qgis.PyQt.QtGui import QColor
    from qgis.core import QgsVectorLayer

    from ev_charge_plugin.qgis_io.symbology import apply_chargepoint_style

    out.mkdir(parents=True, exist_ok=True)
    demo = processing.run("evcharge:demodata", {"FOLDER": str(out)})
    gpkg = demo["GPKG"]
    load = processing.run("evcharge:loadchargepoints", {
        "SOURCE": demo["CSV"],
        "BOUNDARY": f"{gpkg}|layername=boroughs",
        "OUTPUT": str(out / "charge_points.gpkg"),
        "REPORT": str(out / "data_quality_report.csv"),
    })

    points = QgsVectorLayer(load["OUTPUT"], "charge points", "ogr")
    boroughs = QgsVectorLayer(f"{gpkg}|layername=boroughs", "boroughs", "ogr")
    apply_chargepoint_style(points)
    boroughs.renderer().symbol().setColor(QColor("#e8e8e8"))
    render_map([points, boroughs], out / "map.png")

    bands = {}
    operators = {}
    for feature in points.getFeatures():
        bands[feature["speed_band"]] = bands.get(feature["speed_band"], 0) + 1
        operators[feature["operator"]] = operators.get(feature["operator"], 0) + 1
    reasons = {}
    report = QgsVectorLayer(str(out / "data_quality_report.csv"), "report", "ogr")
    for feature in report.getFeatures():
        if feature["severity"] == "rejected":
            reasons[reason_kind(feature["reason"])] = reasons.get(reason_kind(feature["reason"]), 0) + 1

    print(f"London EV Charge Points demo (synthetic data) -> {out}/")
    print(f"  {int(load['LOADED']):,} charge points loaded, {int(load['REJECTED']):,} rejected, "
          f"{int(load['REPAIRED']):,} repaired, {int(load['FLAGGED']):,} flagged")
    print("  by speed band: " + ", ".join(f"{band} {count:,}" for band, count in sorted(bands.items(), key=lambda item: -item[1])))
    print("  by operator:   " + ", ".join(f"{name} {count:,}" for name, count in sorted(operators.items(), key=lambda item: -item[1])))
    print("  rejected for:  " + "; ".join(f"{reason} ({count})" for reason, count in sorted(reasons.items(), key=lambda item: -item[1])))
    for name in ("demo.gpkg", "demo_chargepoints.csv", "charge_points.gpkg", "data_quality_report.csv", "map.png"):
        print(f"  wrote {out / name}")
    del points, boroughs, report
    return 0


if __name__ == "__main__":
    app = start_qgis()
    try:
        status = main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo").resolve())
    finally:
        stop_qgis(app)
    sys.exit(status)
