"""Run by QGIS at start-up in `make run`: open build/demo/ styled, as a user would see it."""
from pathlib import Path

from qgis.core import QgsProject, QgsVectorLayer
from qgis.utils import iface, plugins

DEMO = Path.cwd() / "build" / "demo"

from ev_charge_points.ev_charge_plugin.qgis_io.project import add_to_plugin_group  # noqa: E402
from ev_charge_points.ev_charge_plugin.qgis_io.symbology import apply_chargepoint_style  # noqa: E402

for table in ("wards", "boroughs"):
    layer = QgsVectorLayer(f"{DEMO / 'demo.gpkg'}|layername={table}", f"Demo {table} (synthetic geography)", "ogr")
    symbol = layer.renderer().symbol()
    symbol.setColor(symbol.color().lighter(180) if table == "boroughs" else symbol.color().lighter(200))
    symbol.setOpacity(0.35 if table == "wards" else 0.6)
    add_to_plugin_group(layer, visible=table == "boroughs")
points = QgsVectorLayer(str(DEMO / "charge_points.gpkg"), "Charge points: demo (synthetic)", "ogr")
apply_chargepoint_style(points)
add_to_plugin_group(points)
iface.mapCanvas().setExtent(points.extent().buffered(1500))
iface.mapCanvas().refresh()
assert "ev_charge_points" in plugins, "the plugin did not load: see the Python log"
QgsProject.instance().setDirty(False)
