"""The plugin's shape: entry point, metadata, and a core that never needs QGIS."""
import ast
import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email", "repository")


def test_root_init_holds_only_class_factory():
    tree = ast.parse((ROOT / "__init__.py").read_text())
    definitions = [node for node in tree.body if not isinstance(node, ast.Expr)]
    assert [type(node) for node in definitions] == [ast.FunctionDef]
    assert definitions[0].name == "classFactory"


def test_metadata_has_what_the_plugin_repository_requires():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for key in REQUIRED_METADATA:
        assert general.get(key, "").strip(), key
    assert general["hasProcessingProvider"] == "yes"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["version"] in general["changelog"]
    assert (ROOT / general["icon"]).is_file()
    assert "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text() and "Version 2" in (ROOT / "LICENSE").read_text()


def test_core_imports_without_qgis():
    """Every core module imports in a fresh interpreter that never loads qgis."""
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "ev_charge_plugin" / "core").rglob("*.py")
        if path.name != "__init__.py"
    )
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'qgis' or m.startswith('qgis.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert len(modules) >= 10
