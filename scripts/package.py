"""`make package`: the zip the QGIS plugin repository accepts.

One top folder named after the plugin, holding only what QGIS loads: no tests,
caches, build tooling or compiled files. Files are taken from the git index so
that nothing untracked slips in.
"""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_FOLDER = "ev_charge_points"
SHIPPED = ("__init__.py", "metadata.txt", "LICENSE", "README.md", "CHANGELOG.md", "ev_charge_plugin/", "resources/", "docs/", "i18n/")
NEVER = ("__pycache__", ".pyc", ".pyo", "docs/images/")  # screenshots are for the README on the web


def shipped_files():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    return sorted(
        path for path in tracked
        if path and path.startswith(SHIPPED) and not any(part in path for part in NEVER) and (ROOT / path).is_file()
    )


def build(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.parent / TOP_FOLDER
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in shipped_files():
            archive.write(ROOT / path, f"{TOP_FOLDER}/{path}")
    # An unpacked copy for the security scanners the plugin repository runs on upload.
    if stage.exists():
        subprocess.run(["rm", "-rf", str(stage)], check=True)
    with zipfile.ZipFile(target) as archive:
        archive.extractall(target.parent)
    return target


if __name__ == "__main__":
    zip_path = build(Path(sys.argv[1]).resolve())
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    print(f"{zip_path}: {len(names)} files under {TOP_FOLDER}/")
