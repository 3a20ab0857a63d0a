"""QGIS start-up stays quick: loading the plugin and its provider imports no data stack."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "geopandas", "scipy", "shapely", "pyproj", "requests")


def test_plugin_and_provider_import_without_the_data_stack():
    code = (
        "import sys\n"
        "from ev_charge_plugin import plugin\n"
        "from ev_charge_plugin.processing.provider import EvChargeProvider\n"
        "from ev_charge_plugin.gui import options_page, load_dialog\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip().splitlines()[-1] == "[]"
