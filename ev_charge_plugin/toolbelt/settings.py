"""Typed user settings over QgsSettings, with environment overrides for scripted runs.

The Datastore API key is deliberately not a setting: only the id of a QGIS
authentication configuration is stored, and the key stays in QGIS's encrypted
authentication database.
"""
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import List

from qgis.core import QgsApplication, QgsSettings

from .metadata import SETTINGS_GROUP

DEFAULT_DATASTORE_URL = "https://data.london.gov.uk"
ENV_DATASTORE_URL = "EVCHARGE_DATASTORE_URL"
ENV_CACHE_DIR = "EVCHARGE_CACHE_DIR"


def default_cache_dir() -> str:
    return str(Path(QgsApplication.qgisSettingsDirPath()) / "cache" / SETTINGS_GROUP)


@dataclass
class Feed:
    """An operator's OCPI Locations feed and the QGIS auth config id its requests carry ("" for none)."""

    url: str
    authcfg: str = ""


@dataclass
class PluginSettings:
    datastore_url: str = DEFAULT_DATASTORE_URL
    cache_dir: str = ""  # empty means default_cache_dir()
    timeout_seconds: int = 30
    authcfg: str = ""    # QGIS auth config id holding the Datastore API key
    feeds: str = ""      # JSON list of {"url", "authcfg"}: read and write it through feed_list() / set_feed_list()
    refresh_minutes: int = 0  # live status refresh interval; 0 = only on demand
    layer_folder: str = ""    # where loaded and computed layers are saved; empty means qgis_io.project.layer_folder's default

    @classmethod
    def load(cls) -> "PluginSettings":
        stored = QgsSettings()
        values = {}
        for setting in fields(cls):
            default = setting.default
            values[setting.name] = stored.value(f"{SETTINGS_GROUP}/{setting.name}", default, type=type(default))
        return cls(**values)

    def save(self) -> None:
        stored = QgsSettings()
        for setting in fields(self):
            stored.setValue(f"{SETTINGS_GROUP}/{setting.name}", getattr(self, setting.name))

    def feed_list(self) -> List[Feed]:
        """The operator feeds; settings edited by hand into something else read as no feeds, never an error."""
        try:
            entries = json.loads(self.feeds or "[]")
        except (ValueError, RecursionError):
            return []
        if not isinstance(entries, list):
            return []
        return [Feed(str(entry["url"]), str(entry.get("authcfg") or "")) for entry in entries
                if isinstance(entry, dict) and isinstance(entry.get("url"), str) and entry["url"].strip()]

    def set_feed_list(self, feeds: List[Feed]) -> None:
        self.feeds = json.dumps([{"url": feed.url, "authcfg": feed.authcfg} for feed in feeds])

    def effective_datastore_url(self) -> str:
        return os.environ.get(ENV_DATASTORE_URL) or self.datastore_url or DEFAULT_DATASTORE_URL

    def effective_cache_dir(self) -> Path:
        return Path(os.environ.get(ENV_CACHE_DIR) or self.cache_dir or default_cache_dir())
