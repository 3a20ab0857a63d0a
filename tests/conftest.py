"""Shared fixtures. Unit tests under tests/unit need no QGIS."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # shared test helpers (ocpi_pages)
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.fail(f"real test data not found at {REAL_DATA}: check out ../shared beside the project")
    return REAL_DATA


@pytest.fixture(scope="session")
def qgis_app(tmp_path_factory):
    """One headless QgsApplication for the whole run, with Processing and our provider.

    Started on first use so that unit tests never pay for (or depend on) QGIS.
    """
    from ev_charge_plugin.toolbelt.headless import start_qgis, stop_qgis

    # Tests must never write to the user's own QGIS settings or authentication database.
    home = tmp_path_factory.mktemp("qgis_profile")
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = str(home / "auth")
    (home / "auth").mkdir()
    app = start_qgis(profile_folder=home / "profile")
    yield app
    stop_qgis(app)


@pytest.fixture(scope="session")
def demo_files(qgis_app, tmp_path_factory):
    """``(gpkg, archive)``: the demo GeoPackage and a history archive holding its four quarters of usage, made once."""
    import processing

    folder = tmp_path_factory.mktemp("demo_files")
    gpkg = processing.run("evcharge:demodata", {"FOLDER": str(folder)})["GPKG"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVCHARGE_CACHE_DIR", str(folder / "cache"))
        processing.run("evcharge:importusage", {"INPUT": "demo", "CHARGEPOINTS": "demo", "ARCHIVE": str(folder / "history.gpkg"),
                                                "PERIOD": 0, "REPORT": "TEMPORARY_OUTPUT"})
    return gpkg, folder / "history.gpkg"


@pytest.fixture(scope="session")
def qapp(qgis_app):
    """Make pytest-qt's qtbot use the QgsApplication rather than a bare QApplication."""
    return qgis_app


@pytest.fixture
def stall(httpserver):
    """A request handler that answers only when the test is over, so clients time out."""
    import threading

    import requests
    from werkzeug import Response

    release = threading.Event()

    def handler(request):
        release.wait(10)
        return Response(b"too late")

    yield handler
    release.set()
    # The server takes one request at a time: once this probe is answered, every
    # request that queued behind the stalled one is done and none leaks into the
    # next test's log.
    requests.get(httpserver.url_for("/drain"), timeout=10)
