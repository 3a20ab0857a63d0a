"""The load dialog under qtbot: real tasks, real files, a real local HTTP server."""
from pathlib import Path

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.core import QgsCategorizedSymbolRenderer, QgsProject

from ev_charge_plugin.gui.load_dialog import LoadChargePointsDialog
from ev_charge_plugin.gui.task_dialog import CANCELLED, FAILED, SUCCEEDED
from ev_charge_plugin.gui.load_results import add_load_results
from ev_charge_plugin.qgis_io.project import layer_folder

pytestmark = pytest.mark.qgis

CSV = (
    "chargepoint_id,name,operator,latitude,longitude,easting,northing,power_kw,connectors,connector_types,status,on_street,scheme\n"
    "A1,Lamp post 1,Op,51.5010,-0.1420,,,5.5,1,Type 2,AVAILABLE,yes,GULCS\n"
    "A2,Hub,Op,,,530000,180000,50,2,CCS;CHAdeMO,AVAILABLE,no,TfL rapid\n"
    "A3,Bollard,Op,51.52,-0.10,,,7,1,Type 2,CHARGING,yes,GULCS\n"
    "A4,Swapped,Op,-0.11,51.49,,,7,1,Type 2,AVAILABLE,yes,GULCS\n"
    "A5,Nowhere,Op,,,,,7,1,Type 2,AVAILABLE,yes,GULCS\n"
)


@pytest.fixture
def dialog(open_dialog):
    return open_dialog(LoadChargePointsDialog)


def choose_file(dialog, tmp_path):
    """Write CSV to a file and choose it in the dialog."""
    path = tmp_path / "points.csv"
    path.write_text(CSV, encoding="utf-8")
    dialog.source_chooser.file_radio.setChecked(True)
    dialog.source_chooser.file_widget.setFilePath(str(path))


def choose_dataset(dialog, httpserver, monkeypatch, slug="borough-charge-points"):
    """Serve a Datastore-shaped dataset holding CSV and choose it in the dialog."""
    httpserver.expect_request(f"/api/dataset/{slug}").respond_with_json({"id": slug, "resources": {
        "r1": {"title": "Charge points CSV", "format": "csv", "order": 0, "check_timestamp": "2024-05-01T10:00:00",
               "url": httpserver.url_for(f"/download/{slug}/r1/points.csv")},
    }})
    httpserver.expect_request(f"/download/{slug}/r1/points.csv").respond_with_data(CSV.encode(), content_type="text/csv")
    monkeypatch.setenv("EVCHARGE_DATASTORE_URL", httpserver.url_for("/").rstrip("/"))
    dialog.source_chooser.datastore_radio.setChecked(True)
    dialog.source_chooser.dataset_combo.setEditText(slug)
    return slug


def run_and_wait(qtbot, dialog):
    with qtbot.waitSignal(dialog.finished_run, timeout=120000) as blocker:
        qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    return blocker.args


def test_file_load_reports_counts_and_adds_styled_layers(qtbot, dialog, tmp_path):
    choose_file(dialog, tmp_path)
    outcome, results, context, message = run_and_wait(qtbot, dialog)
    assert outcome == SUCCEEDED
    assert (results["LOADED"], results["REJECTED"]) == (4, 1)
    assert dialog.status_label.text() == message == "4 loaded, 1 rejected."
    assert dialog.progress_bar.value() == 100
    points, report = add_load_results(results, context)
    # A file in the plugin's layer folder (the project is not saved: the one in the QGIS profile), not a memory layer.
    assert points.providerType() == "ogr" and Path(points.source().split("|")[0]).parent == layer_folder()
    assert points.crs().authid() == "EPSG:27700"
    assert isinstance(points.renderer(), QgsCategorizedSymbolRenderer)
    assert points.renderer().classAttribute() == "speed_band"
    assert {f["chargepoint_id"]: f["speed_band"] for f in points.getFeatures()} == {"A1": "slow", "A2": "rapid", "A3": "slow", "A4": "slow"}
    rows = {(f["chargepoint_id"], f["severity"]) for f in report.getFeatures()}
    assert ("A5", "rejected") in rows and ("A4", "repaired") in rows
    group = QgsProject.instance().layerTreeRoot().findGroup("EV Charge Points")
    assert {node.layer().id() for node in group.findLayers()} == {points.id(), report.id()}


def saved_project(tmp_path) -> Path:
    """Save the (empty) project in ``tmp_path``, so that the plugin's layers go beside it; their folder."""
    assert QgsProject.instance().write(str(tmp_path / "borough.qgz"))
    return tmp_path / "ev_charge_layers"


def test_loaded_layer_is_kept_beside_the_saved_project_and_is_there_on_reopening(qtbot, dialog, tmp_path):
    folder = saved_project(tmp_path)
    choose_file(dialog, tmp_path)
    outcome, results, context, _ = run_and_wait(qtbot, dialog)
    assert outcome == SUCCEEDED
    points, _ = add_load_results(results, context)
    [kept] = folder.glob("*.gpkg")
    assert kept.name.startswith("chargepoints_") and points.source().split("|")[0] == str(kept)
    name = points.name()
    assert QgsProject.instance().write()
    QgsProject.instance().clear()
    assert QgsProject.instance().read(str(tmp_path / "borough.qgz"))
    [reopened] = QgsProject.instance().mapLayersByName(name)
    assert sorted(feature["chargepoint_id"] for feature in reopened.getFeatures()) == ["A1", "A2", "A3", "A4"]


def test_missing_file_fails_with_a_message_and_adds_nothing(qtbot, dialog, tmp_path):
    folder = saved_project(tmp_path)
    dialog.source_chooser.file_radio.setChecked(True)
    dialog.source_chooser.file_widget.setFilePath(str(tmp_path / "missing.csv"))
    outcome, _, _, message = run_and_wait(qtbot, dialog)
    assert outcome == FAILED
    assert dialog.status_label.text() == message
    assert message.startswith("Load charge points failed:")
    assert "missing.csv" in dialog.status_label.text()
    assert dialog.run_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert not folder.exists() or list(folder.iterdir()) == []  # no layer file left behind


def test_empty_dataset_asks_for_one(dialog):
    dialog.source_chooser.datastore_radio.setChecked(True)
    dialog.source_chooser.dataset_combo.setEditText("")
    dialog.run_button.click()
    assert dialog.run is None
    assert dialog.status_label.text() == "Choose a dataset or a file first."


def test_cancel_stops_the_load(qtbot, dialog, tmp_path):
    folder = saved_project(tmp_path)
    dialog.source_chooser.demo_radio.setChecked(True)
    with qtbot.waitSignal(dialog.finished_run, timeout=120000) as blocker:
        dialog.run_button.click()
        assert dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
        qtbot.keyClick(dialog, Qt.Key_Escape)  # Escape cancels a running load
    assert blocker.args[0] == CANCELLED
    assert dialog.status_label.text() == "Cancelled: nothing was changed."
    assert not folder.exists() or list(folder.iterdir()) == []


def test_datastore_load_through_qgis_network_stack(qtbot, dialog, httpserver, monkeypatch, tmp_path):
    slug = choose_dataset(dialog, httpserver, monkeypatch)
    outcome, results, _, _ = run_and_wait(qtbot, dialog)
    assert outcome == SUCCEEDED, dialog.status_label.text()
    assert (results["LOADED"], results["REJECTED"]) == (4, 1)
    assert [request.path for request, _ in httpserver.log] == [f"/api/dataset/{slug}", f"/download/{slug}/r1/points.csv"]
    assert results["WARNINGS"] == ""


def test_report_saves_as_csv_with_every_problem(qtbot, dialog, tmp_path):
    import csv

    from ev_charge_plugin.qgis_io.layers import write_csv

    choose_file(dialog, tmp_path)
    _, results, context, _ = run_and_wait(qtbot, dialog)
    _, report = add_load_results(results, context)
    target = tmp_path / "report.csv"
    assert write_csv(report, target) == ""
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == report.featureCount()
    rejected = [row for row in rows if row["severity"] == "rejected"]
    assert [(row["record"], row["chargepoint_id"]) for row in rejected] == [("6", "A5")]
    assert rejected[0]["reason"]
    assert write_csv(report, tmp_path / "missing-folder" / "x" / "report.csv") != ""


def test_datastore_failure_falls_back_to_the_cached_copy_with_a_warning(qtbot, dialog, httpserver, monkeypatch):
    slug = choose_dataset(dialog, httpserver, monkeypatch)
    assert run_and_wait(qtbot, dialog)[0] == SUCCEEDED

    httpserver.clear()
    httpserver.expect_request(f"/api/dataset/{slug}").respond_with_data("down for maintenance", status=503)
    outcome, results, _, _ = run_and_wait(qtbot, dialog)
    assert outcome == SUCCEEDED
    assert (results["LOADED"], results["REJECTED"]) == (4, 1)
    assert "cached" in results["WARNINGS"].lower()
    assert "503" in results["WARNINGS"]
