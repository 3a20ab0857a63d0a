"""`make demo`: the plugin's main job, headless, on the built-in demo data.

Builds the demo dataset, loads its operators' CSV, imports their quarterly usage
return into a history archive, styles the charge points by occupancy and sums them by
borough (with the dock's chart of occupancy by borough against London), all
through the same Processing algorithms the plugin's dialogs run, and writes
everything to the given folder.
"""
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ev_charge_plugin.toolbelt.headless import run_headless  # noqa: E402


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


def borough_chart(summary, total: dict, path: Path):
    """Occupancy by borough against London, drawn by the dock's own chart in its print colours."""
    from ev_charge_plugin.gui.charts import PRINT_THEME, BarChart

    names, values = zip(*[(feature["name"], feature["occupancy_pct"]) for feature in summary.getFeatures()])
    chart = BarChart(PRINT_THEME)
    chart.resize(900, 1100)
    chart.set_title("Occupancy % by borough, Q3 2024 (synthetic demo data)")
    chart.set_data(names, [value if isinstance(value, float) else float("nan") for value in values], total["occupancy_pct"], "London")
    chart.export(path, width=1200)
    return chart


def main(out: Path) -> int:
    import processing
    from qgis.PyQt.QtGui import QColor
    from qgis.core import QgsProject, QgsVectorLayer

    from ev_charge_plugin.core.utilisation import metrics
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, apply_chargepoint_style, style_by_utilisation

    out.mkdir(parents=True, exist_ok=True)
    demo = processing.run("evcharge:demodata", {"FOLDER": str(out)})
    gpkg = demo["GPKG"]
    load = processing.run("evcharge:loadchargepoints", {
        "SOURCE": demo["CSV"],
        "BOUNDARY": f"{gpkg}|layername=boroughs",
        "OUTPUT": str(out / "charge_points.gpkg"),
        "REPORT": str(out / "data_quality_report.csv"),
    })

    # Each run starts a fresh archive, so the figures below are the same every time.
    archive = out / "history.gpkg"
    archive.unlink(missing_ok=True)
    imported = processing.run("evcharge:importusage", {
        "INPUT": demo["USAGE_CSV"], "CHARGEPOINTS": demo["CSV"], "ARCHIVE": str(archive),
        "REPORT": str(out / "import_report.csv"),
    })
    again = processing.run("evcharge:importusage", {
        "INPUT": demo["USAGE_CSV"], "CHARGEPOINTS": demo["CSV"], "ARCHIVE": str(archive), "REPORT": "TEMPORARY_OUTPUT",
    })
    quarter = ("2024-07-01", "2024-10-01")
    utilisation = processing.run("evcharge:utilisation", {
        "ARCHIVE": str(archive), "PERIOD_START": quarter[0], "PERIOD_END": quarter[1],
        "OUTPUT": str(out / "utilisation_q3_2024.gpkg"),
    })

    by_borough = processing.run("evcharge:areasummary", {
        "POINTS": load["OUTPUT"], "AREAS": f"{gpkg}|layername=boroughs", "ARCHIVE": str(archive),
        "PERIOD_START": quarter[0], "PERIOD_END": quarter[1], "OUTPUT": str(out / "boroughs_q3_2024.gpkg"),
    })
    chart = borough_chart(QgsVectorLayer(by_borough["OUTPUT"], "boroughs", "ogr"), json.loads(by_borough["TOTAL"]),
                          out / "chart_boroughs_occupancy_q3_2024.png")

    # The committee report, as an officer would print it: the atlas of every borough, and Camden's page alone.
    # Its layout and layers go into a project saved beside the rest, to open in QGIS and adjust by hand.
    project = QgsProject.instance()
    project.setFileName(str(out / "demo_project.qgz"))
    shutil.rmtree(out / "ev_charge_layers", ignore_errors=True)  # the previous run's report layers
    committee = {"CHARGEPOINTS": load["OUTPUT"], "AREAS": f"{gpkg}|layername=boroughs", "WARDS": f"{gpkg}|layername=wards",
                 "ARCHIVE": str(archive), "PERIOD_START": quarter[0], "PERIOD_END": quarter[1],
                 "TITLE": "Public charge points", "ORGANISATION": "Demo Borough Council (synthetic data)"}
    atlas = processing.run("evcharge:committeereport", {**committee, "OUTPUT": str(out / "committee_report.pdf")})
    camden = processing.run("evcharge:committeereport", {**committee, "AREA": "Camden", "OUTPUT": str(out / "committee_report_camden.pdf")})
    project.write()

    points = QgsVectorLayer(load["OUTPUT"], "charge points", "ogr")
    boroughs = QgsVectorLayer(f"{gpkg}|layername=boroughs", "boroughs", "ogr")
    used = QgsVectorLayer(utilisation["OUTPUT"], "utilisation", "ogr")
    apply_chargepoint_style(points)
    boroughs.renderer().symbol().setColor(QColor("#e8e8e8"))
    render_map([points, boroughs], out / "map.png")
    style_by_utilisation(used, "occupancy_pct", *quarter, RendererSettings())
    render_map([used, boroughs], out / "map_occupancy_q3_2024.png")
    totals = {name: 0.0 for name in ("occupied_hours", "available_hours", "previous_occupied_hours", "previous_available_hours", "sessions", "days")}
    for feature in used.getFeatures():
        for name in totals:
            totals[name] += feature[name] or 0.0

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
    print("  import:        " + imported["SUMMARY"])
    print("  again:         " + again["SUMMARY"])
    occupancy = 100.0 * totals["occupied_hours"] / totals["available_hours"]
    previous = 100.0 * totals["previous_occupied_hours"] / totals["previous_available_hours"]
    print(f"  {utilisation['PERIOD']}, all London ({metrics()['occupancy_pct'].short.rstrip('.')}): occupancy {occupancy:.1f}% "
          f"({occupancy - previous:+.1f} points on the quarter before), {totals['sessions'] / totals['days']:.2f} sessions per charge point per day")
    ranked = sorted(chart.values().items(), key=lambda item: -item[1])
    print(f"  by borough:    busiest {ranked[0][0]} {ranked[0][1]:.1f}%, quietest {ranked[-1][0]} {ranked[-1][1]:.1f}% "
          f"(London {chart.reference:.1f}%; {int(by_borough['OUTSIDE']):,} charge points outside every borough)")
    print(f"  committee:     {int(atlas['PAGES'])} pages, one per borough; Camden alone {int(camden['PAGES'])} page "
          f"(layouts '{atlas['LAYOUT_NAME']}' and '{camden['LAYOUT_NAME']}' in demo_project.qgz)")
    for name in ("demo.gpkg", "demo_chargepoints.csv", "demo_usage_return.csv", "charge_points.gpkg", "data_quality_report.csv",
                 "history.gpkg", "import_report.csv", "utilisation_q3_2024.gpkg", "boroughs_q3_2024.gpkg", "map.png",
                 "map_occupancy_q3_2024.png", "chart_boroughs_occupancy_q3_2024.png", "committee_report.pdf",
                 "committee_report_camden.pdf", "demo_project.qgz"):
        print(f"  wrote {out / name}")
    del points, boroughs, report, used
    project.clear()
    return 0


if __name__ == "__main__":
    run_headless(main, Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo").resolve())
