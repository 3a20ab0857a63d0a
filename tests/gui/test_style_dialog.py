"""The style by utilisation dialog under qtbot, on a real archive holding the demo's four quarters."""
from pathlib import Path

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.core import QgsProject

from ev_charge_plugin.gui.import_dialog import project_archive
from ev_charge_plugin.gui.style_dialog import StyleByUtilisationDialog
from ev_charge_plugin.gui.task_dialog import SUCCEEDED
from ev_charge_plugin.toolbelt.metadata import SETTINGS_GROUP

pytestmark = pytest.mark.qgis

EVERY = "1 Oct 2023 to 30 Sep 2024"
PERIODS = [
    "Q3 2024",
    f"Last 12 months ({EVERY})",
    "Q2 2024",
    "Q1 2024",
    "Q4 2023",
    f"Every period, one step each in the temporal controller ({EVERY})",
    "Custom range...",
]


@pytest.fixture(scope="module")
def archive(qgis_app, tmp_path_factory):
    import processing

    folder = tmp_path_factory.mktemp("style_archive")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVCHARGE_CACHE_DIR", str(folder / "cache"))
        result = processing.run("evcharge:importusage", {"INPUT": "demo", "CHARGEPOINTS": "demo", "ARCHIVE": str(folder / "history.gpkg"),
                                                         "PERIOD": 0, "REPORT": "TEMPORARY_OUTPUT"})
    assert result["IMPORTED"] == 13872
    return folder / "history.gpkg"


@pytest.fixture
def make_dialog(open_dialog, forget_settings):
    from ev_charge_plugin.qgis_io.symbology import STYLE_SETTINGS

    forget_settings(STYLE_SETTINGS, f"{SETTINGS_GROUP}/last_archive")
    return lambda: open_dialog(StyleByUtilisationDialog)


def items(combo):
    return [combo.itemText(index) for index in range(combo.count())]


def test_periods_newest_first_then_ranges(make_dialog, archive):
    dialog = make_dialog()
    dialog.archive_widget.setFilePath(str(archive))
    assert items(dialog.period_combo) == PERIODS
    assert dialog.period_combo.currentIndex() == 0
    assert dialog.status_label.text() == "Ready."
    # The dates shown are the quarter's first and last days.
    assert dialog.from_edit.date().toString("yyyy-MM-dd") == "2024-07-01"
    assert dialog.to_edit.date().toString("yyyy-MM-dd") == "2024-09-30"
    assert not dialog.from_edit.isEnabled()


def test_metric_tooltips_are_the_long_definitions(make_dialog, archive):
    from ev_charge_plugin.core.utilisation import METRIC_KEYS, metrics

    dialog = make_dialog()
    combo = dialog.metric_combo
    assert [combo.itemData(index) for index in range(combo.count())] == list(METRIC_KEYS)
    for index in range(combo.count()):
        assert combo.itemData(index, Qt.ToolTipRole) == metrics()[combo.itemData(index)].long
    combo.setCurrentIndex(combo.findData("capacity_factor_pct"))
    assert combo.toolTip() == metrics()["capacity_factor_pct"].long
    assert metrics()["capacity_factor_pct"].long in dialog.definition_label.text()


def test_style_run_succeeds_and_remembers_the_classes(qtbot, make_dialog, archive):
    from ev_charge_plugin.gui.style_results import add_utilisation_layer
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, metric_rules

    dialog = make_dialog()
    dialog.archive_widget.setFilePath(str(archive))
    dialog.period_combo.setCurrentIndex(0)
    dialog.metric_combo.setCurrentIndex(dialog.metric_combo.findData("charging_pct"))
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("equal"))
    dialog.classes_spin.setValue(4)
    dialog.ramp_combo.setCurrentIndex(dialog.ramp_combo.findData("Blues"))
    assert dialog.parameters()["PERIOD_START"] == "2024-07-01" and dialog.parameters()["PERIOD_END"] == "2024-10-01"

    with qtbot.waitSignal(dialog.finished_run, timeout=120000) as blocker:
        qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    outcome, results, context, message = blocker.args
    assert outcome == SUCCEEDED, dialog.status_label.text()
    assert message == "Q3 2024: 3,468 of 3,468 charge points have usage data."
    assert RendererSettings.load() == RendererSettings(method="equal", classes=4, ramp="Blues", metric="charging_pct")
    assert project_archive() == str(archive)

    layer = rules = None
    try:
        layer = add_utilisation_layer(results, context, dialog.renderer_settings(), *dialog.period())
        rules = metric_rules(layer.renderer())
        assert len(rules) == 5 and rules[-1].isElse()
        assert all('"charging_pct"' in rule.filterExpression() for rule in rules[:-1])
        assert "Charging %" in layer.name() and "Q3 2024" in layer.name()
        assert layer.featureCount() == 3468
        assert layer.providerType() == "ogr" and Path(layer.source().split("|")[0]).name.startswith("utilisation_")
    finally:
        # Wrappers of the renderer's rules must not outlive it: clearing the project deletes them.
        layer = rules = None
        QgsProject.instance().clear()


def test_new_dialog_starts_from_the_remembered_choices(make_dialog, archive):
    from ev_charge_plugin.gui.import_dialog import set_project_archive
    from ev_charge_plugin.qgis_io.symbology import RendererSettings

    RendererSettings(method="jenks", classes=6, ramp="Reds", metric="kwh_per_day").save()
    set_project_archive(str(archive))
    dialog = make_dialog()
    assert (dialog.method_combo.currentData(), dialog.classes_spin.value(), dialog.ramp_combo.currentData(),
            dialog.metric_combo.currentData()) == ("jenks", 6, "Reds", "kwh_per_day")
    assert dialog.archive_widget.filePath() == str(archive)
    assert items(dialog.period_combo) == PERIODS
    assert dialog.renderer_settings() == RendererSettings.load()


def test_missing_archive_says_import_first_and_does_not_run(qtbot, make_dialog, tmp_path):
    dialog = make_dialog()
    dialog.archive_widget.setFilePath(str(tmp_path / "never_imported.gpkg"))
    assert dialog.period_combo.count() == 0
    assert "import usage first" in dialog.status_label.text()
    with qtbot.assertNotEmitted(dialog.finished_run, wait=200):
        dialog.run_button.click()
    assert dialog.run is None
    assert "archive" in dialog.status_label.text()
    assert not (tmp_path / "never_imported.gpkg").exists()
