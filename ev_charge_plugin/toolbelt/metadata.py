"""The plugin's identity, read once from metadata.txt (the single source of truth)."""
import configparser
from functools import lru_cache
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = PLUGIN_ROOT / "resources"
SETTINGS_GROUP = "ev_charge_points"
MENU_TITLE = "EV Charge Points"


@lru_cache(maxsize=1)
def _general() -> dict:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PLUGIN_ROOT / "metadata.txt", encoding="utf-8")
    return dict(parser["general"])


def plugin_name() -> str:
    return _general()["name"]


def plugin_version() -> str:
    return _general()["version"]


def icon_path(name: str) -> str:
    return str(RESOURCES / "icons" / name)
