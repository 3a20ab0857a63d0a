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


def test_loading_the_provider_as_qgis_does_at_start_up_imports_no_data_stack():
    """Adding the provider builds every algorithm's parameters; their defaults must not pull in the analyses."""
    code = (
        "import sys\n"
        "from qgis.core import QgsApplication\n"
        "app = QgsApplication([], False)\n"
        "app.initQgis()\n"
        "from ev_charge_plugin.processing.provider import EvChargeProvider\n"
        "from ev_charge_plugin.qgis_io import main_thread\n"
        "provider = EvChargeProvider()\n"
        "assert QgsApplication.processingRegistry().addProvider(provider)\n"
        "print(len(provider.algorithms()), main_thread.serving())\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(ROOT / "build")})
    counts, heavy = result.stdout.strip().splitlines()[-2:]
    assert counts == "12 True"  # every algorithm loaded, and the main thread serves tasks' requests
    assert heavy == "[]"
