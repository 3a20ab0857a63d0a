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
from profile import enable  # noqa: E402

EXPECTED_MENU = ["Load charge points...", "Settings...", "Help"]


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
    env = dict(os.environ, EVCHARGE_E2E_OUT=str(out), EVCHARGE_CACHE_DIR=str(home / "cache"), QT_QPA_PLATFORM="xcb")
    completed = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--profiles-path", str(home), "--profile", "e2e",
         "--nologo", "--noversioncheck", "--code", str(Path(__file__).with_name("desktop_check.py"))],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.exists(), f"QGIS wrote nothing; its output:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    seen = json.loads(out.read_text())
    assert "error" not in seen, seen["error"]
    return seen


def test_plugin_adds_its_menu_toolbar_and_provider(desktop):
    start = desktop["after_start"]
    assert start["loaded"]
    assert start["menus"] == ["&EV Charge Points"]
    assert start["menu_actions"] == EXPECTED_MENU
    assert start["toolbars"] == ["EvChargePointsToolbar"]
    assert start["provider"]


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
    assert after == {"loaded": False, "menus": [], "menu_actions": [], "toolbars": [], "actions": [], "provider": False}


def test_reload_gives_one_menu_not_two(desktop):
    again = desktop["after_reload"]
    assert again["menus"] == ["&EV Charge Points"]
    assert again["menu_actions"] == EXPECTED_MENU
    assert again["provider"]
