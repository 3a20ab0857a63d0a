"""Benchmark: the committee report's 33-page atlas of the demo data, to PDF.

Run: QT_QPA_PLATFORM=offscreen /usr/bin/python3 bench/bench_report.py

The issue asks for the time to export the 33-page atlas and the pages per
second. Both are printed for:

- plugin: ``evcharge:committeereport`` end to end, as the menu runs it: the area
  summary by borough and by ward, the utilisation layer for the map, the key
  figures, 66 charts, the layout from its template and the PDF.
- baseline: QGIS's own ``native:atlaslayouttopdf`` exporting the very layout the
  plugin made (it stays in the project), with the same PDF settings (300 dpi,
  vector, text as text, metadata, georeference). It does only the export, so
  the ratio shows what building everything costs on top of drawing the pages.

Demo data: ``evcharge:demodata`` (3,468 charge points, 33 boroughs, 649 wards)
and its four quarters imported into a history archive; the report is for Q3
2024. Each runs once to warm up, then they take turns REPEATS times; medians are
printed. No time is asserted; the two PDFs must both have 33 pages.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ev_charge_plugin.toolbelt.headless import run_headless  # noqa: E402

REPEATS = 3
PAGES = 33


def pages_of(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def main() -> int:
    import processing
    from qgis.core import QgsProject

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        project = QgsProject.instance()
        project.setFileName(str(folder / "bench.qgz"))  # the report's layers go into this folder
        demo = processing.run("evcharge:demodata", {"FOLDER": str(folder)})
        archive = folder / "history.gpkg"
        processing.run("evcharge:importusage", {"INPUT": demo["USAGE_CSV"], "CHARGEPOINTS": demo["CSV"], "ARCHIVE": str(archive),
                                                "REPORT": "TEMPORARY_OUTPUT"})
        gpkg = demo["GPKG"]
        inputs = {"CHARGEPOINTS": f"{gpkg}|layername=charge_points", "AREAS": f"{gpkg}|layername=boroughs",
                  "WARDS": f"{gpkg}|layername=wards", "ARCHIVE": str(archive), "PERIOD_START": "2024-07-01",
                  "PERIOD_END": "2024-10-01", "TITLE": "Benchmark"}
        layout_name = []

        def plugin():
            result = processing.run("evcharge:committeereport", {**inputs, "OUTPUT": str(folder / "plugin.pdf")})
            layout_name.append(result["LAYOUT_NAME"])
            return folder / "plugin.pdf"

        def baseline():
            processing.run("native:atlaslayouttopdf", {"LAYOUT": layout_name[-1], "DPI": 300, "FORCE_VECTOR": True, "GEOREFERENCE": True,
                                                      "INCLUDE_METADATA": True, "SIMPLIFY": True, "TEXT_FORMAT": 1,
                                                      "OUTPUT": str(folder / "qgis.pdf")})
            return folder / "qgis.pdf"

        runs = {"plugin": plugin, "qgis": baseline}
        for run in runs.values():
            run()  # warm-up (the baseline needs the plugin's layout)
        samples = {name: [] for name in runs}
        for _ in range(REPEATS):
            for name, run in runs.items():
                start = time.perf_counter()
                path = run()
                samples[name].append(time.perf_counter() - start)
                assert pages_of(path) == PAGES, (name, pages_of(path))
        project.clear()

    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"Committee report atlas of the demo data, {PAGES} pages, A4 landscape, 300 dpi vector PDF (median of {REPEATS} runs after a warm-up)")
    print(f"  plugin  {median['plugin']:6.2f} s  {PAGES / median['plugin']:5.1f} pages/s  evcharge:committeereport end to end "
          "(figures, charts, layout, PDF)")
    print(f"  qgis    {median['qgis']:6.2f} s  {PAGES / median['qgis']:5.1f} pages/s  native:atlaslayouttopdf, the same layout, export only")
    print(f"  plugin / qgis {median['plugin'] / median['qgis']:.2f}x  (what building the report adds to drawing its pages)")
    return 0


if __name__ == "__main__":
    run_headless(main)
