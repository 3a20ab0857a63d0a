"""Write the committee report's layout templates into resources/layouts/ (run after changing report/templates.py).

Run: QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/make_layout_templates.py
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ev_charge_plugin.toolbelt.headless import run_headless  # noqa: E402


def main() -> int:
    from qgis.core import QgsProject

    from ev_charge_plugin.report.templates import write_templates

    for path in write_templates(QgsProject.instance()):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    run_headless(main)
