"""Run by QGIS at start-up in `make run`: open build/demo/ styled, as a user would see it."""
from pathlib import Path

from qgis.PyQt.QtGui import QColor
from qgis.core import QgsProject, QgsVectorLayer
from qgis.utils import iface, plugins

DEMO = Path.cwd() / "build" / "demo"

from ev_charge_points.ev_charge_plugin.qgis_io.project import add_to_plugin_group  # noqa: E402
from ev_charge_points.ev_charge_plugin.qgis_io.symbology import apply_chargepoint_style  # noqa: E402

for table, fill in (("wards", "#f7f7f7"), ("boroughs", "#e8e8e8")):
    layer = QgsVectorLayer(f"{DEMO / 'demo.gpkg'}|layername={table}", f"Demo {table} (synthetic geography)", "ogr")
    layer.renderer().symbol().setColor(QColor(fill))
    add_to_plugin_group(layer, visible=table == "boroughs")
points = QgsVectorLayer(str(DEMO / "charge_points.gpkg"), "Charge points: demo (synthetic)", "ogr")
apply_chargepoint_style(points)
add_to_plugin_group(points)
iface.mapCanvas().setExtent(points.extent().buffered(1500))
iface.mapCanvas().refresh()
if "ev_charge_points" not in plugins:
    iface.messageBar().pushCritical("EV Charge Points", "The plugin did not load: see View > Panels > Log Messages.")
QgsProject.instance().setDirty(False)
