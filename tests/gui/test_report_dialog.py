"""The committee report dialog under qtbot, on the demo data: real runs, real PDFs."""
import subprocess

import pytest
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.core import QgsProject

from demo_data import demo_layers
from ev_charge_plugin.core.utilisation import metrics
from ev_charge_plugin.gui.report_dialog import ALL_BOROUGHS, CommitteeReportDialog
from ev_charge_plugin.gui.task_dialog import CANCELLED, FAILED, SUCCEEDED
from ev_charge_plugin.qgis_io.project import set_shared_choice

pytestmark = pytest.mark.qgis


def pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture
def dialog(qtbot, demo_files, tmp_path):
    """The dialog on a saved project holding the demo's layers, the archive as the project's, the map on Q3 2024."""
    from ev_charge_plugin.gui.import_dialog import set_project_archive

    gpkg, archive = demo_files
    project = QgsProject.instance()
    project.clear()
    assert project.write(str(tmp_path / "borough.qgz"))
    layers = demo_layers(gpkg, "charge_points", "boroughs", "wards")
    for name, layer in layers.items():
        layer.setName(f"Demo {name.replace('_', ' ')}")
        project.addMapLayer(layer)
    set_project_archive(str(archive))
    set_shared_choice("charging_pct", "2024-07-01", "2024-10-01")
    widget = CommitteeReportDialog()
    qtbot.addWidget(widget)
    widget.output_widget.setFilePath(str(tmp_path / "report.pdf"))
    yield widget
    layers.clear()
    project.clear()


def run(qtbot, dialog):
    with qtbot.waitSignal(dialog.finished_run, timeout=120000) as blocker:
        qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    return blocker.args


def test_it_offers_the_projects_layers_boroughs_periods_and_the_maps_choice(dialog):
    assert dialog.points_combo.currentLayer().name() == "Demo charge points"
    assert dialog.areas_combo.currentLayer().name() == "Demo boroughs"
    assert dialog.wards_combo.currentLayer().name() == "Demo wards"
    assert dialog.name_combo.currentField() == dialog.ward_name_combo.currentField() == "name"
    boroughs = [dialog.borough_combo.itemData(index) for index in range(dialog.borough_combo.count())]
    assert boroughs[0] is ALL_BOROUGHS and len(boroughs) == 34 and "Camden" in boroughs
    assert dialog.period_combo.currentText() == "Q3 2024"  # the map's period
    assert dialog.metric_combo.currentData() == "charging_pct"  # and its metric
    assert metrics()["charging_pct"].long in dialog.definition_label.text()


def test_printing_one_borough_writes_its_page_and_keeps_the_layout(qtbot, dialog, tmp_path):
    dialog.borough_combo.setCurrentIndex(dialog.borough_combo.findData("Camden"))
    dialog.title_edit.setText("Charging review")
    dialog.png_check.setChecked(True)
    outcome, results, message = run(qtbot, dialog)
    assert outcome == SUCCEEDED, message
    assert pages(tmp_path / "report.pdf") == 1
    assert [path.name for path in (tmp_path / "report_pages").iterdir()] == ["committee_Camden.png"]
    assert message.startswith("1 page(s) written to") and "Charging review: Camden, Q3 2024" in message
    assert QgsProject.instance().layoutManager().layoutByName("Charging review: Camden, Q3 2024") is not None
    assert dialog.open_button.isEnabled() and dialog.run_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert dialog.progress_bar.value() == 100


def test_cancel_while_printing_the_atlas_leaves_no_pdf(qtbot, dialog, tmp_path):
    seen_running = []

    def click_cancel():
        # Running: only Cancel works, and the rest of QGIS takes no input meanwhile.
        seen_running.append(dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
                            and dialog.windowModality() == Qt.ApplicationModal)
        qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)

    QTimer.singleShot(400, click_cancel)  # a click the dialog handles while the report runs
    outcome, results, message = run(qtbot, dialog)
    assert seen_running == [True]
    assert outcome == CANCELLED, message
    assert message == "Cancelled: no PDF was written."
    assert not (tmp_path / "report.pdf").exists()
    assert dialog.run_button.isEnabled() and dialog.progress_bar.value() == 0
    assert dialog.windowModality() == Qt.NonModal


def test_an_unwritable_pdf_path_fails_with_the_reason(qtbot, dialog, tmp_path):
    dialog.borough_combo.setCurrentIndex(dialog.borough_combo.findData("Camden"))
    dialog.output_widget.setFilePath(str(tmp_path / "no such folder" / "report"))
    outcome, _, message = run(qtbot, dialog)
    assert outcome == FAILED
    assert message.startswith("Not printed: Cannot write the PDF to") and "report.pdf" in message
    assert dialog.status_label.text() == message
