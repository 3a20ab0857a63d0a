"""evcharge:reliabilitysummary through processing.run, with the real London borough boundaries."""
import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

pytestmark = pytest.mark.qgis


def live_layer():
    """Three charge points: two in Westminster (9/10 and 0/2 working), one in Camden (4/4)."""
    layer = QgsVectorLayer("Point?crs=EPSG:27700&field=chargepoint_id:string&field=operator:string&field=status:string"
                           "&field=snapshots:integer&field=working:integer", "live", "memory")
    rows = [("W1", "Op A", "AVAILABLE", 10, 9, (529500, 180500)), ("W2", "Op A", "OUTOFORDER", 2, 0, (529000, 179500)),
            ("C1", "Op B", "CHARGING", 4, 4, (529000, 184000))]
    features = []
    for cp_id, operator, status, snapshots, working, (east, north) in rows:
        feature = QgsFeature(layer.fields())
        feature.setAttributes([cp_id, operator, status, snapshots, working])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(east, north)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_by_borough_and_by_operator_from_sums(qgis_app, real_data):
    import processing

    boroughs = QgsVectorLayer(str(real_data / "london_boroughs_wgs84.geojson"), "boroughs", "ogr")  # WGS84, upper-case fields
    output = processing.run("evcharge:reliabilitysummary", {"INPUT": live_layer(), "AREAS": boroughs, "AREA_NAME_FIELD": "NAME",
                                                            "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    rows = {(f["by"], f["name"]): (f["charge_points"], f["snapshots"], f["working"], f["reliability_pct"], f["out_of_order_now"])
            for f in output.getFeatures()}
    assert rows[("area", "Westminster")] == (2, 12, 9, 75.0, 1)
    assert rows[("area", "Camden")] == (1, 4, 4, 100.0, 0)
    assert rows[("operator", "Op A")] == (2, 12, 9, 75.0, 1)
    assert rows[("operator", "Op B")] == (1, 4, 4, 100.0, 0)


def test_a_layer_without_history_is_refused_clearly(qgis_app):
    import processing
    from qgis.core import QgsProcessingException

    plain = QgsVectorLayer("Point?crs=EPSG:27700&field=chargepoint_id:string", "points", "memory")
    with pytest.raises(QgsProcessingException) as refused:
        processing.run("evcharge:reliabilitysummary", {"INPUT": plain, "OUTPUT": "TEMPORARY_OUTPUT"})
    assert "history archive" in str(refused.value)


def test_the_dock_tab_lists_the_groups_least_reliable_first(qtbot, qgis_app, real_data):
    from qgis.core import QgsProject

    from ev_charge_plugin.gui.reliability_panel import ReliabilityPanel

    live = live_layer()
    boroughs = QgsVectorLayer(str(real_data / "london_boroughs_2019_bng.gpkg"), "boroughs", "ogr")
    QgsProject.instance().addMapLayers([live, boroughs])
    panel = ReliabilityPanel()
    qtbot.addWidget(panel)
    try:
        panel.points_combo.setLayer(live)
        panel.areas_combo.setLayer(boroughs)
        qtbot.waitUntil(lambda: panel.field_combo.currentField() == "name", timeout=5000)  # the name field, once the change is over
        with qtbot.waitSignal(panel.summarised, timeout=30000) as blocker:
            assert panel.summarise()
        assert blocker.args[0] == "succeeded"
        listed = [(panel.table.item(row, 0).text(), panel.table.item(row, 1).text(), panel.table.item(row, 3).text())
                  for row in range(panel.table.rowCount())]
        assert listed == [("area", "Westminster", "75.0"), ("area", "Camden", "100.0"), ("operator", "Op A", "75.0"), ("operator", "Op B", "100.0")]
    finally:
        panel.unload()
        live = boroughs = None
        QgsProject.instance().clear()
