"""Runs inside a real QGIS desktop (started by test_desktop.py) and writes what it saw.

Not a test module itself: QGIS executes it with --code after loading the plugin.
"""
import json
import os
import sys
import time
import traceback

from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.PyQt.QtWidgets import QAction, QApplication, QDockWidget, QLabel, QPushButton, QToolBar
from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsProject, QgsVectorLayer
from qgis.utils import iface, loadPlugin, plugins, startPlugin, unloadPlugin

PLUGIN = "ev_charge_points"
OUT = os.environ["EVCHARGE_E2E_OUT"]
seen = {"slot_errors": []}
# An exception in a slot would open QGIS's modal error dialog and stall the run: record it instead.
sys.excepthook = lambda kind, value, trace: seen["slot_errors"].append("".join(traceback.format_exception(kind, value, trace)))


def flush():
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        QApplication.processEvents()


def state():
    window = iface.mainWindow()
    ours = [a for a in window.menuBar().actions() if a.menu() is not None and a.menu().objectName() == "EvChargePointsMenu" and a.isVisible()]
    return {
        "loaded": PLUGIN in plugins,
        "menus": [a.text() for a in ours],
        "menu_actions": [item.text() for a in ours for item in a.menu().actions() if not item.isSeparator()],
        "toolbars": [t.objectName() for t in window.findChildren(QToolBar) if t.objectName() == "EvChargePointsToolbar"],
        "actions": sorted(a.objectName() for a in window.findChildren(QAction) if a.objectName().startswith("EvCharge")),
        "provider": QgsApplication.processingRegistry().providerById("evcharge") is not None,
        "docks": [d.objectName() for d in window.findChildren(QDockWidget) if d.objectName() == "EvChargePointsDock"],
    }


def attribute_tables():
    """Titles of the open attribute table windows (QGIS names each after its layer id)."""
    return [w.windowTitle() for w in QApplication.topLevelWidgets() if w.objectName().startswith("QgsAttributeTableDialog") and w.isVisible()]


def wait_for(predicate, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.05)
    return False


try:
    flush()
    seen["after_start"] = state()

    # A user's load of the demo data, through the menu and the dialog.
    load_action = next(a for a in iface.mainWindow().findChildren(QAction) if a.objectName() == "EvChargeLoadChargePoints")
    QgsProject.instance().setCrs(QgsCoordinateReferenceSystem("EPSG:27700"))  # a London user's project
    load_action.trigger()
    dialog = plugins[PLUGIN].load_dialog
    dialog.source_chooser.demo_radio.setChecked(True)
    dialog.run_button.click()
    finished = wait_for(lambda: dialog.run is None)
    layers = {layer.name(): layer.featureCount() for layer in QgsProject.instance().mapLayers().values()}
    bar_texts = [item.text() for item in iface.messageBar().items()]
    # The summary's "Open report" button opens the report's attribute table.
    buttons = [button for item in iface.messageBar().items() for button in item.findChildren(QPushButton) if button.text() == "Open report"]
    tables_before = len(attribute_tables())
    for button in buttons:
        button.click()
    flush()
    tables = attribute_tables()
    seen["load"] = {"finished": finished, "layers": layers, "status": dialog.status_label.text(), "bar": bar_texts,
                    "open_report_buttons": len(buttons), "new_tables": tables[tables_before:]}
    shots = os.environ.get("EVCHARGE_E2E_SHOTS")  # folder for the README's screenshots
    if shots:
        dialog.grab().save(os.path.join(shots, "load_dialog.png"))
    dialog.close()
    flush()
    if shots:
        iface.mapCanvas().waitWhileRendering()
        QApplication.processEvents()
        iface.mainWindow().grab().save(os.path.join(shots, "qgis_demo_load.png"))

    # Then the quarter's usage return into a new history archive, and the map styled by it.
    import_action = next(a for a in iface.mainWindow().findChildren(QAction) if a.objectName() == "EvChargeImportUsage")
    import_action.trigger()
    importer = plugins[PLUGIN].import_dialog
    importer.usage_chooser.demo_radio.setChecked(True)
    importer.chargepoint_chooser.demo_radio.setChecked(True)
    importer.archive_widget.setFilePath(os.environ["EVCHARGE_E2E_ARCHIVE"])
    importer.run_button.click()
    imported = wait_for(lambda: importer.run is None)
    seen["import"] = {"finished": imported, "status": importer.status_label.text(),
                      "bar": [item.text() for item in iface.messageBar().items()],
                      "archive_exists": os.path.exists(os.environ["EVCHARGE_E2E_ARCHIVE"]),
                      "layers": sorted(layer.name() for layer in QgsProject.instance().mapLayers().values())}
    importer.close()
    flush()

    style_action = next(a for a in iface.mainWindow().findChildren(QAction) if a.objectName() == "EvChargeStyleByUtilisation")
    style_action.trigger()
    styler = plugins[PLUGIN].style_dialog
    every = next(index for index in range(styler.period_combo.count()) if styler.period_combo.itemText(index).startswith("Every period"))
    styler.period_combo.setCurrentIndex(every)
    styler.run_button.click()
    styled = wait_for(lambda: styler.run is None)
    navigation = iface.mapCanvas().temporalController()
    utilisation = [layer for layer in QgsProject.instance().mapLayers().values() if layer.name().startswith("Charge points: Occupancy %")]
    seen["style"] = {"finished": styled, "status": styler.status_label.text(), "periods": [styler.period_combo.itemText(i) for i in range(styler.period_combo.count())],
                     "layers": [(layer.name(), layer.featureCount(), type(layer.renderer()).__name__, layer.temporalProperties().isActive()) for layer in utilisation],
                     "frames": navigation.totalFrameCount(),
                     "first_frame": navigation.dateTimeRangeForFrameNumber(0).begin().toString("yyyy-MM-dd"),
                     "last_frame_end": navigation.dateTimeRangeForFrameNumber(navigation.totalFrameCount() - 1).end().toString("yyyy-MM-dd")}
    if shots:
        styler.grab().save(os.path.join(shots, "style_dialog.png"))
    styler.close()
    flush()
    if shots:
        for layer in QgsProject.instance().mapLayers().values():
            node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
            if node is not None and layer.name().startswith("Charge points: Demo"):
                node.setItemVisibilityChecked(False)  # the speed-band layer would hide the occupancy colours
        navigation.setCurrentFrameNumber(3)
        iface.mapCanvas().refresh()
        iface.mapCanvas().waitWhileRendering()
        QApplication.processEvents()
        iface.mainWindow().grab().save(os.path.join(shots, "qgis_occupancy.png"))

    # The panel, and its nearest-charge-point search from a click on the map.
    nearest_action = next(a for a in iface.mainWindow().findChildren(QAction) if a.objectName() == "EvChargeNearestChargePoints")
    nearest_action.trigger()
    dock = plugins[PLUGIN].dock
    panel = dock.nearest
    panel.layer_combo.setLayer(next(layer for layer in QgsProject.instance().mapLayers().values() if layer.name().startswith("Charge points: Demo")))
    canvas = iface.mapCanvas()
    answered = []
    panel.answered.connect(lambda outcome, message: answered.append((outcome, message)))
    centre = canvas.extent().center()
    pixel = canvas.getCoordinateTransform().transform(centre)
    from qgis.PyQt.QtCore import QPoint, Qt
    from qgis.PyQt.QtTest import QTest
    QTest.mouseClick(canvas.viewport(), Qt.LeftButton, pos=QPoint(round(pixel.x()), round(pixel.y())))
    wait_for(lambda: answered)
    seen["nearest"] = {"dock_visible": dock.isVisible(), "tool_active": canvas.mapTool() is panel.tool, "checked": nearest_action.isChecked(),
                       "answered": answered, "rows": panel.table.rowCount()}
    if shots:
        QApplication.processEvents()
        iface.mainWindow().grab().save(os.path.join(shots, "qgis_nearest.png"))

    # The charts: boroughs and wards from the demo GeoPackage, the period the map shows, a borough's bar clicked.
    import processing

    gpkg = processing.run("evcharge:demodata", {"FOLDER": os.path.dirname(os.environ["EVCHARGE_E2E_ARCHIVE"])})["GPKG"]
    boroughs = QgsVectorLayer(f"{gpkg}|layername=boroughs", "Demo boroughs", "ogr")
    wards = QgsVectorLayer(f"{gpkg}|layername=wards", "Demo wards", "ogr")
    for layer, width in ((wards, 0.2), (boroughs, 0.6)):
        outline = layer.renderer().symbol().symbolLayer(0)
        outline.setBrushStyle(Qt.NoBrush)  # outlines only, under the charge points
        outline.setStrokeWidth(width)
        QgsProject.instance().addMapLayer(layer, False)
        QgsProject.instance().layerTreeRoot().addLayer(layer)
    charts = dock.summary
    dock.tabs.setCurrentWidget(charts.london_tab)
    charts.points_combo.setLayer(panel.layer_combo.currentLayer())
    charts.areas_combo.setLayer(boroughs)
    charts.wards_combo.setLayer(wards)
    summaries = []
    charts.summarised.connect(lambda outcome, message: summaries.append((outcome, message)))
    charts.fill_periods()
    charts.select_period("2024-07-01", "2024-10-01")
    charts.period_combo.activated.emit(charts.period_combo.currentIndex())
    wait_for(lambda: summaries or seen["slot_errors"])
    chosen = charts.london_bars.labels.index("Camden") if "Camden" in charts.london_bars.labels else 0
    QTest.mouseClick(charts.london_bars.viewport(), Qt.LeftButton, pos=charts.london_bars.bar_position(chosen))
    flush()
    seen["charts"] = {"summaries": summaries, "boroughs": len(charts.london_bars.labels), "wards": len(charts.area_bars.labels),
                      "breadcrumb": charts.breadcrumb.text(), "selected": panel.layer_combo.currentLayer().selectedFeatureCount(),
                      "tab": dock.tabs.tabText(dock.tabs.currentIndex())}
    if shots:
        dock.tabs.setCurrentWidget(charts.london_tab)
        canvas.refresh()
        canvas.waitWhileRendering()
        QApplication.processEvents()
        iface.mainWindow().grab().save(os.path.join(shots, "qgis_dock_charts.png"))

    # Candidate sites drawn with the map tool, scored, and one explained in the Sites tab.
    draw_action = next(a for a in iface.mainWindow().findChildren(QAction) if a.objectName() == "EvChargeDrawCandidateSites")
    draw_action.trigger()
    centre = canvas.getCoordinateTransform().transform(canvas.extent().center())
    for dx, dy in ((-160, -60), (0, 40), (150, -20)):
        QTest.mouseClick(canvas.viewport(), Qt.LeftButton, pos=QPoint(round(centre.x()) + dx, round(centre.y()) + dy))
    drawn = iface.activeLayer()
    QTest.keyClick(canvas, Qt.Key_Escape)
    flush()
    scored = processing.runAndLoadResults("evcharge:scorecandidates", {
        "CANDIDATES": drawn, "CHARGEPOINTS": panel.layer_combo.currentLayer(), "DEMAND": wards,
        "DEMAND_FIELD": "households_no_offstreet", "RADIUS": 400, "OUTPUT": "TEMPORARY_OUTPUT"})
    flush()
    sites = dock.sites
    dock.tabs.setCurrentWidget(sites)
    scores = sites.scores_combo.currentLayer()
    best = min(scores.getFeatures(), key=lambda feature: feature["rank"]) if scores else None
    if best is not None:
        scores.selectByIds([best.id()])
    flush()
    seen["sites"] = {"drawn": drawn.featureCount() if drawn else 0, "editing": bool(drawn and drawn.isEditable()),
                     "tool_after_escape": canvas.mapTool() is plugins[PLUGIN].candidate_tool, "checked": draw_action.isChecked(),
                     "scored": scores.featureCount() if scores else 0, "rows": sites.scores_table.rowCount(),
                     "explanation": sites.explanation.text()}
    if shots:
        canvas.refresh()
        canvas.waitWhileRendering()
        QApplication.processEvents()
        iface.mainWindow().grab().save(os.path.join(shots, "qgis_sites.png"))

    # The committee report for Camden, from the menu, with the chosen sites, printed to PDF.
    report_action = next(a for a in iface.mainWindow().findChildren(QAction) if a.objectName() == "EvChargeCommitteeReport")
    report_action.trigger()
    flush()
    reporter = plugins[PLUGIN].report_dialog
    reporter.points_combo.setLayer(panel.layer_combo.currentLayer())
    reporter.areas_combo.setLayer(boroughs)
    reporter.wards_combo.setLayer(wards)
    reporter.borough_combo.setCurrentIndex(reporter.borough_combo.findData("Camden"))
    reporter.organisation_edit.setText("London Borough of Camden")
    pdf = os.path.join(os.path.dirname(OUT), "camden.pdf")
    reporter.output_widget.setFilePath(pdf)
    reported = []
    reporter.finished_run.connect(lambda outcome, results, message: reported.append((outcome, message)))
    QTest.mouseClick(reporter.run_button, Qt.LeftButton)  # runs in the main thread; returns when printed
    flush()
    seen["report"] = {"visible": reporter.isVisible(), "reported": reported, "pdf": os.path.exists(pdf),
                      "layouts": [layout.name() for layout in QgsProject.instance().layoutManager().printLayouts()],
                      "bar": [widget.text() for widget in iface.messageBar().findChildren(QLabel)][-3:]}
    if shots:
        import subprocess

        reporter.grab().save(os.path.join(shots, "report_dialog.png"))
        subprocess.run(["pdftoppm", "-r", "90", "-png", "-singlefile", pdf, os.path.join(shots, "committee_camden")], check=True)
    reporter.close()

    unloadPlugin(PLUGIN)
    flush()
    seen["after_unload"] = state()
    loadPlugin(PLUGIN)
    startPlugin(PLUGIN)
    flush()
    seen["after_reload"] = state()
    unloadPlugin(PLUGIN)
    flush()
    seen["after_second_unload"] = state()
except Exception:  # report, never hang the desktop
    seen["error"] = traceback.format_exc()
finally:
    with open(OUT, "w") as handle:
        json.dump(seen, handle, indent=1)
    QgsProject.instance().clear()
    os._exit(0)
