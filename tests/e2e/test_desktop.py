"""The plugin in a real QGIS desktop under Xvfb: load, use, unload, reload."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from qgis_profile import enable  # noqa: E402

EXPECTED_MENU = ["Load charge points...", "Import usage...", "Style by utilisation...", "Show panel", "Draw candidate sites",
                 "Score candidates...", "Choose best sites...", "Committee report...", "Nearest charge points", "Refresh live status", "Settings...", "Help"]


@pytest.fixture(scope="module")
def desktop(tmp_path_factory):
    if not shutil.which("xvfb-run") or not shutil.which("qgis"):
        pytest.fail("QGIS desktop and xvfb-run are needed: run `make setup`")
    home = tmp_path_factory.mktemp("qgis")
    profile = home / "profiles" / "e2e"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "ev_charge_points").symlink_to(ROOT)
    enable(profile)
    out = home / "seen.json"
    env = dict(os.environ, EVCHARGE_E2E_OUT=str(out), EVCHARGE_CACHE_DIR=str(home / "cache"), QT_QPA_PLATFORM="xcb",
               EVCHARGE_E2E_ARCHIVE=str(home / "history.gpkg"))
    completed = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--profiles-path", str(home), "--profile", "e2e",
         "--nologo", "--noversioncheck", "--code", str(Path(__file__).with_name("desktop_check.py"))],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.exists(), f"QGIS wrote nothing; its output:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    seen = json.loads(out.read_text())
    assert "error" not in seen, seen["error"]
    assert not seen["slot_errors"], seen["slot_errors"][0]
    return seen


def test_plugin_adds_its_menu_toolbar_and_provider(desktop):
    start = desktop["after_start"]
    assert start["loaded"]
    assert start["menus"] == ["&EV Charge Points"]
    assert start["menu_actions"] == EXPECTED_MENU
    assert start["toolbars"] == ["EvChargePointsToolbar"]
    assert start["provider"]


def test_usage_import_then_style_every_period_for_the_temporal_controller(desktop):
    imported = desktop["import"]
    assert imported["finished"] and imported["archive_exists"]
    assert imported["status"].startswith("usage return: 13,872 rows imported, 0 replaced")
    assert any("13,872 rows imported" in text for text in imported["bar"])
    assert "Import report: Demo charge point usage (synthetic)" in imported["layers"]
    style = desktop["style"]
    assert style["finished"], style["status"]
    assert style["periods"][:2] == ["Q3 2024", "Last 12 months (1 Oct 2023 to 30 Sep 2024)"]
    assert style["layers"] == [["Charge points: Occupancy %, 1 Oct 2023 to 30 Sep 2024", 4 * 3468, "QgsRuleBasedRenderer", True]]
    # The map canvas's temporal controller steps through the four archived quarters.
    assert (style["frames"], style["first_frame"], style["last_frame_end"]) == (4, "2023-10-01", "2024-10-01")


def test_nearest_charge_points_from_a_click_in_the_panel(desktop):
    nearest = desktop["nearest"]
    assert nearest["dock_visible"] and nearest["tool_active"] and nearest["checked"]
    assert nearest["answered"][0][0] == "succeeded" and nearest["rows"] == 5


def test_dock_charts_summarise_the_period_and_drill_down_on_a_click(desktop):
    charts = desktop["charts"]
    assert charts["summaries"] and charts["summaries"][-1][0] == "succeeded", charts["summaries"]
    assert charts["boroughs"] == 33 and charts["wards"] > 5 and "Camden" in charts["breadcrumb"]
    assert charts["selected"] > 0 and charts["tab"] == "Area"


def test_committee_report_from_the_menu_prints_the_borough_and_keeps_its_layout(desktop):
    report = desktop["report"]
    assert report["reported"] and report["reported"][0][0] == "succeeded", report["reported"]
    assert report["pdf"] and report["reported"][0][1].startswith("1 page(s) written to")
    assert any(name.endswith(": Camden, Q3 2024") for name in report["layouts"]), report["layouts"]


def test_candidate_sites_drawn_on_the_map_are_scored_and_explained(desktop):
    sites = desktop["sites"]
    assert sites["drawn"] == 3 and sites["editing"]
    assert not sites["tool_after_escape"] and not sites["checked"]
    assert sites["scored"] == 3 and sites["rows"] == 3
    assert "rank 1" in sites["explanation"] and "Site " in sites["explanation"]


def test_demo_load_through_the_dialog_adds_layers_and_reports(desktop):
    load = desktop["load"]
    assert load["finished"]
    assert load["layers"].get("Charge points: Demo charge points (synthetic)") == 3468
    assert load["layers"].get("Data-quality report: Demo charge points (synthetic)") == 40  # 32 rejected, 8 repaired
    assert load["status"] == "3,468 loaded, 32 rejected."
    assert "3,468 loaded, 32 rejected" in load["bar"]
    assert load["open_report_buttons"] == 1
    assert len(load["new_tables"]) == 1 and "Data-quality report" in load["new_tables"][0]


@pytest.mark.parametrize("moment", ["after_unload", "after_second_unload"])
def test_unload_leaves_nothing_behind(desktop, moment):
    after = desktop[moment]
    assert after == {"loaded": False, "menus": [], "menu_actions": [], "toolbars": [], "actions": [], "provider": False, "docks": []}


def test_reload_gives_one_menu_not_two(desktop):
    again = desktop["after_reload"]
    assert again["menus"] == ["&EV Charge Points"]
    assert again["menu_actions"] == EXPECTED_MENU
    assert again["provider"]
