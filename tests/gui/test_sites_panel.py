"""The dock's Sites tab under qtbot: real scoring and selection runs, the explanation of a candidate, the tables."""
import pytest
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer

from ev_charge_plugin.gui.sites_panel import SCORE_ALGORITHM, SELECT_ALGORITHM, SitesPanel

pytestmark = pytest.mark.qgis

# Candidates A, B and C; demand points with households; two charge points near B.
CANDIDATES = [("Site A", 530000, 180000), ("Site B", 532000, 180000), ("Site C", 534000, 180000)]
DEMAND = [(530100, 180000, 40), (529900, 180100, 30), (532100, 180000, 25), (534000, 180200, 10)]
CHARGEPOINTS = [(532050, 180050, 45.0), (531950, 179950, 15.0)]


def memory_layer(uri, rows, make):
    layer = QgsVectorLayer(uri, "layer", "memory")
    features = []
    for row in rows:
        feature = QgsFeature(layer.fields())
        x, y, attributes = make(row)
        feature.setAttributes(attributes)
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


@pytest.fixture
def layers(qgis_app):
    candidates = memory_layer("Point?crs=EPSG:27700&field=name:string&field=cost:double", CANDIDATES,
                              lambda row: (row[1], row[2], [row[0], 7500.0]))
    demand = memory_layer("Point?crs=EPSG:27700&field=households_no_offstreet:double", DEMAND, lambda row: (row[0], row[1], [row[2]]))
    chargepoints = memory_layer("Point?crs=EPSG:27700&field=occupancy_pct:double", CHARGEPOINTS, lambda row: (row[0], row[1], [row[2]]))
    yield candidates, demand, chargepoints
    QgsProject.instance().clear()


@pytest.fixture
def panel(qtbot, qgis_app):
    widget = SitesPanel()
    qtbot.addWidget(widget)
    widget.resize(500, 900)
    widget.show()
    yield widget
    widget.unload()


def score(candidates, demand, chargepoints):
    import processing

    return processing.run(SCORE_ALGORITHM, {"CANDIDATES": candidates, "CHARGEPOINTS": chargepoints, "DEMAND": demand,
                                            "DEMAND_FIELD": "households_no_offstreet", "RADIUS": 400, "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]


def test_a_scored_layer_fills_the_table_and_a_selected_candidate_is_explained(qtbot, panel, layers):
    scores = score(*layers)
    QgsProject.instance().addMapLayer(scores)
    assert panel.scores_combo.currentLayer() is scores  # picked up as soon as it is added
    qtbot.waitUntil(lambda: panel.scores_table.rowCount() == 3, timeout=5000)  # and shown once the change is over
    ranked = sorted(scores.getFeatures(), key=lambda feature: feature["rank"])
    assert [panel.scores_table.item(row, 1).text() for row in range(3)] == [feature["name"] for feature in ranked]
    assert ranked[0]["name"] == "Site A"  # 70 households newly in reach, none served

    with qtbot.waitSignal(panel.explained, timeout=5000) as blocker:
        scores.selectByIds([ranked[0].id()])
    shown = panel.breakdown.values()
    parts = [ranked[0][f"{part}_score"] for part in ("new_demand", "served_demand", "pressure", "constraints_broken")]
    assert list(shown.values()) == pytest.approx(parts)
    assert sum(shown.values()) == pytest.approx(ranked[0]["score"])
    assert panel.breakdown.displayed_order() == list(shown)  # the parts in their own order, from the top
    assert "Site A" in blocker.args[0] and "rank 1" in blocker.args[0] and "Demand newly within walking distance: 70." in blocker.args[0]

    # A row of the table selects its candidate, which explains it.
    panel.scores_table.selectRow(2)
    assert scores.selectedFeatureIds() == [ranked[2].id()]
    assert ranked[2]["name"] in panel.explanation.text()
    scores.removeSelection()
    assert panel.breakdown.values() == {}


def test_chosen_sites_are_listed_in_the_order_picked(qtbot, panel, layers):
    import processing

    candidates, demand, chargepoints = layers
    chosen = processing.run(SELECT_ALGORITHM, {"CANDIDATES": candidates, "DEMAND": demand, "DEMAND_FIELD": "households_no_offstreet",
                                               "RADIUS": 400, "COUNT": 2, "METHOD": 1, "OUTPUT": "TEMPORARY_OUTPUT"})
    QgsProject.instance().addMapLayer(chosen["OUTPUT"])
    assert panel.chosen_combo.currentLayer() is chosen["OUTPUT"]
    qtbot.waitUntil(lambda: panel.chosen_table.rowCount() == 2, timeout=5000)
    rows = [[panel.chosen_table.item(row, column).text() for column in range(3)] for row in range(panel.chosen_table.rowCount())]
    assert rows == [["1", "Site A", "70"], ["2", "Site B", "25"]]
    assert chosen["COVERED_DEMAND"] == pytest.approx(95.0)
    panel.chosen_table.selectRow(1)
    assert [chosen["OUTPUT"].getFeature(fid)["name"] for fid in chosen["OUTPUT"].selectedFeatureIds()] == ["Site B"]


def test_dialogs_open_on_the_layers_in_use(qtbot, panel, layers):
    candidates, demand, chargepoints = layers
    QgsProject.instance().addMapLayers([candidates, demand, chargepoints])
    defaults = panel.dialog_defaults(SCORE_ALGORITHM, candidates, chargepoints, demand)
    assert defaults == {"CANDIDATES": candidates.id(), "CHARGEPOINTS": chargepoints.id(), "DEMAND": demand.id(),
                        "DEMAND_FIELD": "households_no_offstreet"}
    assert panel.dialog_defaults(SELECT_ALGORITHM, candidates, chargepoints, None)["EXISTING"] == chargepoints.id()
    dialog = panel.open_dialog(SCORE_ALGORITHM, defaults)
    qtbot.addWidget(dialog)
    assert dialog.algorithm().id() == SCORE_ALGORITHM
    values = dialog.createProcessingParameters()
    assert values["DEMAND_FIELD"] == "households_no_offstreet" and values["RADIUS"] == 400
    dialog.close()


def test_dialogs_opened_from_the_tab_close_with_it(qtbot, panel, layers):
    candidates, demand, chargepoints = layers
    QgsProject.instance().addMapLayers([candidates, demand, chargepoints])
    dialog = panel.open_dialog(SELECT_ALGORITHM, panel.dialog_defaults(SELECT_ALGORITHM, candidates, chargepoints, demand))
    assert dialog.isVisible() and panel.dialogs == [dialog]
    panel.unload()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    assert panel.dialogs == [] and sip.isdeleted(dialog)
