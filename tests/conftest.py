"""Shared fixtures. Unit tests under tests/unit need no QGIS."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.fail(f"real test data not found at {REAL_DATA}: check out ../shared beside the project")
    return REAL_DATA


@pytest.fixture(scope="session")
def qgis_app():
    """One headless QgsApplication for the whole run, with Processing and our provider.

    Started on first use so that unit tests never pay for (or depend on) QGIS.
    """
    import sys

    from qgis.core import QgsApplication, QgsProject

    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    yield app
    # Layers still alive at interpreter exit can segfault the process after a
    # green run, so release the project before QGIS goes away.
    QgsProject.instance().clear()
    Processing.deinitialize()
    app.exitQgis()


@pytest.fixture(scope="session")
def qapp(qgis_app):
    """Make pytest-qt's qtbot use the QgsApplication rather than a bare QApplication."""
    return qgis_app
