"""The Nearest tab of the dock under qtbot: a click on a real map canvas lists the right charge points."""
import math

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsRectangle, QgsVectorLayer
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtCore import QPoint, Qt

from ev_charge_plugin.gui.nearest_panel import NearestPanel, parse_place
from ev_charge_plugin.gui.task_dialog import SUCCEEDED

pytestmark = pytest.mark.qgis

# (id, name, easting, northing, speed band, status)
POINTS = [("A", "Alpha Road", 530000, 180000, "slow", "AVAILABLE"), ("B", "Beta Street", 530400, 180300, "rapid", "CHARGING"),
          ("C", "Gamma Lane", 531000, 180000, "rapid", "AVAILABLE"), ("D", "Delta Way", 533000, 184000, "slow", "OUTOFORDER"),
          ("E", "Epsilon Close", 529500, 179500, "slow", "AVAILABLE")]


@pytest.fixture
def panel(qtbot, qgis_app):
    layer = QgsVectorLayer("Point?crs=EPSG:27700&field=chargepoint_id:string&field=name:string&field=speed_band:string"
                           "&field=status:string&field=power_kw:double&field=operator:string&field=connector_types:string", "charge points", "memory")
    features = []
    for cp_id, name, east, north, band, status in POINTS:
        feature = QgsFeature(layer.fields())
        feature.setAttributes([cp_id, name, band, status, 50.0 if band == "rapid" else 7.0, "Op", "Type 2"])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(east, north)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    canvas = QgsMapCanvas()
    canvas.resize(500, 500)
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:27700"))
    canvas.setExtent(QgsRectangle(525000, 175000, 535000, 185000))
    canvas.show()
    qtbot.addWidget(canvas)
    widget = NearestPanel(canvas)
    qtbot.addWidget(widget)
    widget.layer_combo.setLayer(layer)
    yield widget
    widget.unload()
    QgsProject.instance().clear()


def click(qtbot, panel, east, north):
    canvas = panel.canvas
    pixel = canvas.getCoordinateTransform().transform(QgsPointXY(east, north))
    with qtbot.waitSignal(panel.answered, timeout=30000) as blocker:
        qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=QPoint(round(pixel.x()), round(pixel.y())))
    return blocker.args


def brute_force(east, north, count, keep=lambda point: True):
    ranked = sorted((math.hypot(x - east, y - north), cp_id) for cp_id, _, x, y, *_ in POINTS if keep((cp_id, x, y, *_)))
    return [cp_id for _, cp_id in ranked[:count]]


def test_a_click_lists_the_nearest_charge_points(qtbot, panel):
    panel.pick_button.setChecked(True)
    assert panel.canvas.mapTool() is panel.tool
    panel.count_spin.setValue(3)
    outcome, message = click(qtbot, panel, 530050, 180020)
    assert outcome == SUCCEEDED
    # The click lands on a screen pixel: within a map unit per pixel (20 m here) of the place asked for.
    assert panel.result_ids() == brute_force(530050, 180020, 3) == ["A", "B", "E"]
    assert panel.table.item(0, 2).text() == "Alpha Road"
    assert float(panel.table.item(1, 1).text().replace(",", "")) == pytest.approx(math.hypot(400 - 50, 300 - 20), abs=30)
    assert "nearest is" in message
    assert len(panel.bands) == 2  # the place, and the charge points found


def test_filters_and_a_typed_place(qtbot, panel):
    assert panel.completer.model().stringList() == sorted(name for _, name, *_ in POINTS)
    panel.rapid_check.setChecked(True)
    panel.count_spin.setValue(5)
    with qtbot.waitSignal(panel.answered, timeout=30000):
        panel.place_edit.setText("530000 180000")
        panel.search_typed()
    assert panel.result_ids() == ["B", "C"]
    panel.rapid_check.setChecked(False)
    panel.available_check.setChecked(True)
    with qtbot.waitSignal(panel.answered, timeout=30000):
        panel.place_edit.setText("delta way")  # a charge point's name, in any case: search from where it is
        panel.search_typed()
    assert panel.result_ids() == brute_force(533000, 184000, 5, keep=lambda point: point[-1] == "AVAILABLE")


def test_typed_places():
    point, epsg = parse_place("51.5074, -0.1278")
    assert (round(point.x(), 4), round(point.y(), 4), epsg) == (-0.1278, 51.5074, 4326)
    point, epsg = parse_place("530000 180000")
    assert (point.x(), point.y(), epsg) == (530000, 180000, 27700)
    assert parse_place("somewhere") is None
