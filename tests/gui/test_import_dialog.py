"""The import usage dialog under qtbot: real tasks, real files, a real local HTTP server."""
import hashlib

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.core import QgsProject

from ev_charge_plugin.gui.import_dialog import REMEMBERED, ImportUsageDialog, project_archive
from ev_charge_plugin.gui.task_dialog import CANCELLED, SUCCEEDED
from ev_charge_plugin.toolbelt.metadata import SETTINGS_GROUP

pytestmark = pytest.mark.qgis

CHARGEPOINTS_CSV = (
    "chargepoint_id,name,operator,latitude,longitude,easting,northing,power_kw,connectors,connector_types,status,on_street,scheme\n"
    "A1,Lamp post 1,Op,51.5010,-0.1420,,,7,1,Type 2,AVAILABLE,yes,GULCS\n"
    "A2,Rapid hub,Op,,,530000,180000,50,2,CCS;CHAdeMO,AVAILABLE,no,TfL rapid\n"
)
RETURN_CSV = (
    "chargepoint_id,period_start,period_end,sessions,energy_kwh,occupied_hours,charging_hours,available_hours\n"
    "A1,2024-07-01,2024-09-30,40,300.5,500,400,2208\n"
    "A2,2024-07-01,2024-09-30,120,2500,900,800,4416\n"
)


@pytest.fixture
def dialog(open_dialog, forget_settings):
    forget_settings(REMEMBERED, f"{SETTINGS_GROUP}/last_archive")
    return open_dialog(ImportUsageDialog)


def run_and_wait(qtbot, dialog):
    with qtbot.waitSignal(dialog.finished_run, timeout=120000) as blocker:
        qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    return blocker.args


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_import_succeeds_and_the_project_remembers_the_archive(qtbot, dialog, tmp_path):
    archive = tmp_path / "history.gpkg"
    dialog.usage_chooser.demo_radio.setChecked(True)
    dialog.chargepoint_chooser.demo_radio.setChecked(True)
    dialog.archive_widget.setFilePath(str(archive))
    outcome, results, _, message = run_and_wait(qtbot, dialog)
    assert outcome == SUCCEEDED, dialog.status_label.text()
    assert "13,872" in message and "3,468 charge points registered" in message
    assert (results["IMPORTED"], results["REGISTERED"], results["REJECTED"]) == (13872, 3468, 0)
    assert dialog.status_label.text() == message
    assert dialog.progress_bar.value() == 100
    assert archive.is_file()
    assert project_archive() == str(archive)
    assert QgsProject.instance().readEntry("EvChargePoints", "history_archive", "")[0] == str(archive)
    assert dialog.run_button.isEnabled() and not dialog.cancel_button.isEnabled()


def choose_files(dialog, tmp_path):
    """Write the charge point file and the Q3 return, and choose both in the dialog."""
    (tmp_path / "points.csv").write_text(CHARGEPOINTS_CSV, encoding="utf-8")
    (tmp_path / "q3.csv").write_text(RETURN_CSV, encoding="utf-8")
    dialog.usage_chooser.file_radio.setChecked(True)
    dialog.usage_chooser.file_widget.setFilePath(str(tmp_path / "q3.csv"))
    dialog.chargepoint_chooser.file_radio.setChecked(True)
    dialog.chargepoint_chooser.file_widget.setFilePath(str(tmp_path / "points.csv"))


def test_archive_name_without_suffix_gets_gpkg(qtbot, dialog, tmp_path):
    choose_files(dialog, tmp_path)
    dialog.archive_widget.setFilePath(str(tmp_path / "history"))
    outcome, results, _, _ = run_and_wait(qtbot, dialog)
    assert outcome == SUCCEEDED, dialog.status_label.text()
    assert (results["IMPORTED"], results["REGISTERED"]) == (2, 2)
    assert (tmp_path / "history.gpkg").is_file()
    assert project_archive() == str(tmp_path / "history.gpkg")


def test_cancel_mid_run_leaves_the_archive_unchanged(qtbot, dialog, tmp_path, httpserver, stall, monkeypatch):
    archive = tmp_path / "history.gpkg"
    choose_files(dialog, tmp_path)
    dialog.archive_widget.setFilePath(str(archive))
    assert run_and_wait(qtbot, dialog)[0] == SUCCEEDED
    before = digest(archive)

    # Now a Datastore dataset that never answers: the run is stuck fetching when Cancel is pressed.
    httpserver.expect_request("/api/dataset/slow-usage").respond_with_handler(stall)
    monkeypatch.setenv("EVCHARGE_DATASTORE_URL", httpserver.url_for("/").rstrip("/"))
    dialog.usage_chooser.datastore_radio.setChecked(True)
    dialog.usage_chooser.dataset_combo.setEditText("slow-usage")
    dialog.chargepoint_chooser.none_radio.setChecked(True)
    with qtbot.waitSignal(dialog.finished_run, timeout=60000) as blocker:
        dialog.run_button.click()
        assert dialog.run is not None and dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
        assert not dialog.archive_widget.isEnabled()
        qtbot.wait(500)
        assert dialog.run is not None  # still waiting for the server
        qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
    assert blocker.args[0] == CANCELLED
    assert dialog.status_label.text() == "Cancelled: nothing was changed."
    assert dialog.progress_bar.value() == 0
    assert digest(archive) == before
    assert dialog.run_button.isEnabled() and dialog.archive_widget.isEnabled()


def test_empty_file_choice_asks_for_one_and_runs_nothing(qtbot, dialog, tmp_path):
    archive = tmp_path / "history.gpkg"
    dialog.usage_chooser.file_radio.setChecked(True)
    dialog.usage_chooser.file_widget.setFilePath("")
    dialog.archive_widget.setFilePath(str(archive))
    with qtbot.assertNotEmitted(dialog.finished_run, wait=200):
        dialog.run_button.click()
    assert dialog.run is None
    assert dialog.status_label.text() == "Choose the usage to import: a dataset or a file."
    assert not archive.exists()


def test_charge_point_choice_left_empty_asks_for_it(qtbot, dialog, tmp_path):
    (tmp_path / "q3.csv").write_text(RETURN_CSV, encoding="utf-8")
    dialog.usage_chooser.file_radio.setChecked(True)
    dialog.usage_chooser.file_widget.setFilePath(str(tmp_path / "q3.csv"))
    dialog.chargepoint_chooser.file_radio.setChecked(True)
    dialog.chargepoint_chooser.file_widget.setFilePath("")
    dialog.archive_widget.setFilePath(str(tmp_path / "history.gpkg"))
    dialog.run_button.click()
    assert dialog.run is None
    assert dialog.status_label.text() == "Choose the charge points' dataset or file, or None."
    assert not (tmp_path / "history.gpkg").exists()
