"""The options page: typed settings, URL checks, and the key kept out of plain settings."""
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

from ev_charge_plugin.gui.options_page import OptionsPage
from ev_charge_plugin.toolbelt.settings import DEFAULT_DATASTORE_URL, PluginSettings

pytestmark = pytest.mark.qgis
SECRET = "k3y-that-must-not-leak"


@pytest.fixture
def page(qtbot, qgis_app):
    PluginSettings().save()
    manager = QgsApplication.authManager()
    manager.setMasterPassword("evcharge-tests", True)
    widget = OptionsPage()
    qtbot.addWidget(widget)
    yield widget
    PluginSettings().save()


def test_insecure_address_is_refused_and_nothing_saved(page):
    page.url_edit.setText("http://data.example.org")
    page.apply()
    assert "http" in page.message.text().lower()
    assert PluginSettings.load().datastore_url == DEFAULT_DATASTORE_URL


def test_settings_round_trip_and_key_goes_to_the_auth_database(page):
    page.url_edit.setText("https://datastore.example.org/")
    page.timeout_spin.setValue(45)
    page.key_edit.setText(SECRET)
    page.apply()
    saved = PluginSettings.load()
    assert (saved.datastore_url, saved.timeout_seconds) == ("https://datastore.example.org", 45)
    assert saved.authcfg
    config = QgsAuthMethodConfig()
    assert QgsApplication.authManager().loadAuthenticationConfig(saved.authcfg, config, True)
    assert config.config("Authorization") == SECRET
    QgsSettings().sync()
    assert SECRET not in Path(QgsSettings().fileName()).read_text()
    assert page.key_edit.text() == ""

    # A new key updates the same configuration rather than adding another.
    page.key_edit.setText(SECRET + "-2")
    page.apply()
    assert PluginSettings.load().authcfg == saved.authcfg


def test_environment_overrides_address_and_cache(monkeypatch, qgis_app, tmp_path):
    PluginSettings(datastore_url="https://stored.example.org").save()
    monkeypatch.setenv("EVCHARGE_DATASTORE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path))
    settings = PluginSettings.load()
    assert settings.effective_datastore_url() == "http://127.0.0.1:9"
    assert settings.effective_cache_dir() == tmp_path
    monkeypatch.delenv("EVCHARGE_DATASTORE_URL")
    assert PluginSettings.load().effective_datastore_url() == "https://stored.example.org"
    PluginSettings().save()
