"""The options page: typed settings, URL checks, and the key kept out of plain settings."""
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

from ev_charge_plugin.gui.options_page import OptionsPage
from ev_charge_plugin.toolbelt.metadata import SETTINGS_GROUP
from ev_charge_plugin.toolbelt.settings import DEFAULT_DATASTORE_URL, Feed, PluginSettings

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
    page.layer_folder_widget.setFilePath("/srv/gis/ev layers")
    page.key_edit.setText(SECRET)
    page.apply()
    saved = PluginSettings.load()
    assert (saved.datastore_url, saved.timeout_seconds, saved.layer_folder) == ("https://datastore.example.org", 45, "/srv/gis/ev layers")
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


# -- live status feeds ------------------------------------------------------------
FEED = "https://ocpi.operator.example/ocpi/2.2.1/locations"
OTHER = "https://other.example.org/ocpi/locations?country=GB"
LOCAL = "http://127.0.0.1:8080/ocpi/locations"


def test_feed_list_round_trips_through_qgis_settings(qgis_app):
    settings = PluginSettings()
    settings.set_feed_list([Feed(FEED, "abc1234"), Feed(OTHER)])
    settings.save()
    QgsSettings().sync()
    assert PluginSettings.load().feed_list() == [Feed(FEED, "abc1234"), Feed(OTHER, "")]
    PluginSettings().save()
    assert PluginSettings.load().feed_list() == []


@pytest.mark.parametrize("text", ["[{", "{}", '"x"', "[1, null, {\"authcfg\": \"a\"}, {\"url\": 5}, {\"url\": \"  \"}]", "null"])
def test_feed_settings_edited_into_nonsense_read_as_no_feeds(qgis_app, text):
    QgsSettings().setValue(f"{SETTINGS_GROUP}/feeds", text)
    try:
        assert PluginSettings.load().feed_list() == []
    finally:
        PluginSettings().save()


def test_feeds_and_refresh_interval_saved_and_shown_again(page, qtbot):
    from ev_charge_plugin.qgis_io.auth import store_api_key

    token = store_api_key("operator-token", "")
    page.add_feed(FEED, token)
    page.add_feed(" " + OTHER + " ")
    page.add_feed("")  # an empty row is dropped
    page.add_feed(FEED)  # a repeat is dropped; the first one (with its token) counts
    page.refresh_spin.setValue(5)
    with qtbot.waitSignal(page.applied, timeout=1000):
        page.apply()
    saved = PluginSettings.load()
    assert saved.feed_list() == [Feed(FEED, token), Feed(OTHER, "")]
    assert saved.refresh_minutes == 5
    assert SECRET not in saved.feeds and "operator-token" not in saved.feeds

    again = OptionsPage()
    qtbot.addWidget(again)
    assert again.feed_rows() == [(FEED, token), (OTHER, "")]
    assert again.refresh_spin.value() == 5


def test_an_insecure_feed_is_refused_with_the_reason_and_not_saved(page):
    page.add_feed("http://ocpi.example.org/locations")
    page.add_feed(LOCAL)  # plain HTTP to this computer is allowed (tests, local mirrors)
    page.apply()
    assert page.message.text().startswith("Not saved: Refused to connect to http://ocpi.example.org/locations: only HTTPS")
    assert PluginSettings.load().feed_list() == [Feed(LOCAL)]
    # The refused address stays in the table to be corrected.
    assert [url for url, _ in page.feed_rows()] == ["http://ocpi.example.org/locations", LOCAL]

    page.feed_table.item(0, 0).setText("https://ocpi.example.org/locations")
    page.apply()
    assert page.message.text() == ""
    assert PluginSettings.load().feed_list() == [Feed("https://ocpi.example.org/locations"), Feed(LOCAL)]


def test_add_and_remove_buttons(page, qtbot):
    from qgis.PyQt.QtCore import Qt

    qtbot.mouseClick(page.add_button, Qt.LeftButton)
    qtbot.mouseClick(page.add_button, Qt.LeftButton)
    assert page.feed_table.rowCount() == 2
    page.feed_table.item(0, 0).setText(FEED)
    page.feed_table.item(1, 0).setText(OTHER)
    page.feed_table.selectRow(0)
    qtbot.mouseClick(page.remove_button, Qt.LeftButton)
    assert page.feed_rows() == [(OTHER, "")]


def test_the_factory_hands_on_each_apply(page, qtbot):
    from ev_charge_plugin.gui.options_page import OptionsFactory

    calls = []
    factory = OptionsFactory(on_applied=lambda: calls.append(1))
    created = factory.createWidget(None)
    qtbot.addWidget(created)
    created.apply()
    assert calls == [1]
