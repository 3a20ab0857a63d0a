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
