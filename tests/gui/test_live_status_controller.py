"""The live status controller: real refresh runs against a local OCPI server, one live layer kept in the project."""
import pytest
from qgis.core import QgsProject
from ocpi_pages import location, page

from ev_charge_plugin.gui import live_status
from ev_charge_plugin.gui.import_dialog import set_project_archive
from ev_charge_plugin.gui.live_status import LiveStatusController, no_feeds_message
from ev_charge_plugin.gui.task_dialog import FAILED, SUCCEEDED
from ev_charge_plugin.qgis_io.project import GROUP_NAME
from ev_charge_plugin.toolbelt.metadata import SETTINGS_GROUP
from ev_charge_plugin.toolbelt.settings import Feed, PluginSettings

pytestmark = pytest.mark.qgis
RUN_TIMEOUT_MS = 60000


@pytest.fixture
def use_settings(qgis_app):
    """``use_settings(feeds, minutes=0)``: save these feeds and interval; the settings before are restored after."""
    before = PluginSettings.load()

    def use(feeds, minutes=0):
        settings = PluginSettings.load()
        settings.set_feed_list(feeds)
        settings.refresh_minutes = minutes
        settings.save()

    yield use
    before.save()


@pytest.fixture
def feed(httpserver, tmp_path, monkeypatch, use_settings, forget_settings):
    """A two-location feed set in the settings; returns the statuses, which the test may change. No archive yet."""
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path / "cache"))
    forget_settings(f"{SETTINGS_GROUP}/last_archive")
    QgsProject.instance().clear()
    set_project_archive(str(tmp_path / "history.gpkg"))
    statuses = {"L1": ["AVAILABLE", "CHARGING"], "L2": ["OUTOFORDER"]}
    httpserver.expect_request("/ocpi/2.2.1/locations").respond_with_handler(
        lambda request: page([location("L1", statuses["L1"]), location("L2", statuses["L2"], latitude="51.52", longitude="-0.10")], total=2))
    use_settings([Feed(httpserver.url_for("/ocpi/2.2.1/locations"))])
    yield statuses
    QgsProject.instance().clear()


@pytest.fixture
def controller(qtbot, qgis_app):
    controller = LiveStatusController()
    yield controller
    controller.stop()
    qtbot.waitUntil(lambda: not live_status._STOPPING, timeout=RUN_TIMEOUT_MS)
    QgsProject.instance().clear()


def refresh(qtbot, controller):
    """Refresh and wait for the outcome: (outcome, message)."""
    with qtbot.waitSignal(controller.refreshed, timeout=RUN_TIMEOUT_MS) as blocker:
        assert controller.refresh() is True
        assert controller.refresh() is False  # one run at a time
    return tuple(blocker.args)


def live_layers():
    return [layer for layer in QgsProject.instance().mapLayers().values() if layer.name().startswith("Live status")]


def statuses_of(layer):
    return {feature["chargepoint_id"]: feature["status"] for feature in layer.getFeatures()}


def test_refresh_adds_one_styled_live_layer_and_replaces_it_next_time(qtbot, controller, feed):
    outcome, message = refresh(qtbot, controller)
    assert outcome == SUCCEEDED
    assert message.startswith("3 charge points, refreshed ") and message.endswith(" UTC")
    [layer] = live_layers()
    assert layer.featureCount() == 3
    assert statuses_of(layer) == {"GB*OP*EL11": "AVAILABLE", "GB*OP*EL12": "CHARGING", "GB*OP*EL21": "OUTOFORDER"}
    assert "reliability_pct" not in layer.fields().names()  # no archive file: none started
    assert [category.value() for category in layer.renderer().categories()] == ["available", "in use", "out of order", "unknown"]
    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    assert [node.layerId() for node in group.findLayers()] == [layer.id()]
    first_id = layer.id()
    group.findLayer(first_id).setItemVisibilityChecked(False)  # the user hid it
    layer = None

    feed["L1"] = ["OUTOFORDER", "AVAILABLE"]
    outcome, message = refresh(qtbot, controller)
    assert outcome == SUCCEEDED and message.startswith("3 charge points")
    [layer] = live_layers()
    assert layer.id() != first_id and QgsProject.instance().mapLayer(first_id) is None
    assert statuses_of(layer) == {"GB*OP*EL11": "OUTOFORDER", "GB*OP*EL12": "AVAILABLE", "GB*OP*EL21": "OUTOFORDER"}
    assert [node.layerId() for node in group.findLayers()] == [layer.id()]
    assert not group.findLayer(layer.id()).itemVisibilityChecked()  # still hidden

    # A layer the user removed is not missed: the next refresh just adds a new one.
    QgsProject.instance().removeMapLayer(layer.id())
    layer = None
    assert refresh(qtbot, controller)[0] == SUCCEEDED
    assert len(live_layers()) == 1


def test_the_projects_archive_gives_reliability_when_the_file_exists(qtbot, controller, feed, tmp_path):
    from ev_charge_plugin.core.archive import Archive

    with Archive(tmp_path / "history.gpkg"):
        pass
    assert refresh(qtbot, controller)[0] == SUCCEEDED
    [layer] = live_layers()
    assert {f["chargepoint_id"]: f["reliability_pct"] for f in layer.getFeatures()} == {"GB*OP*EL11": 100.0, "GB*OP*EL12": 100.0, "GB*OP*EL21": 0.0}


def test_feeds_that_failed_are_counted_in_the_message(qtbot, controller, feed, httpserver, use_settings):
    good = httpserver.url_for("/ocpi/2.2.1/locations")
    httpserver.expect_request("/down/locations").respond_with_data("down for maintenance", status=500)
    use_settings([Feed(good), Feed(httpserver.url_for("/down/locations"))])
    outcome, message = refresh(qtbot, controller)
    assert outcome == SUCCEEDED
    assert message.startswith("3 charge points, refreshed ") and message.endswith(" UTC; 1 feed could not be refreshed")
    assert len(live_layers()) == 1


def test_a_run_that_fails_says_why(qtbot, controller, httpserver, use_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path / "cache"))
    httpserver.expect_request("/down/locations").respond_with_data("down for maintenance", status=500)
    use_settings([Feed(httpserver.url_for("/down/locations"))])
    outcome, message = refresh(qtbot, controller)
    assert outcome == FAILED
    assert message.startswith("Live status refresh failed: ") and "HTTP 500" in message
    assert live_layers() == []


def test_no_feeds_says_where_to_add_them(qtbot, controller, use_settings):
    use_settings([])
    with qtbot.waitSignal(controller.refreshed, timeout=1000) as blocker:
        assert controller.refresh() is False
    assert blocker.args == [FAILED, no_feeds_message()]
    assert "EV Charge Points > Settings" in blocker.args[1]
    assert not controller.running()


def test_timer_follows_the_settings_and_stop_stops_it(controller, use_settings):
    use_settings([], minutes=2)
    controller.apply_settings()
    assert controller.timer.isActive() and controller.timer.interval() == 120000
    use_settings([], minutes=0)
    controller.apply_settings()
    assert not controller.timer.isActive()
    use_settings([], minutes=15)
    controller.apply_settings()
    assert controller.timer.interval() == 15 * 60000
    controller.stop()
    assert not controller.timer.isActive()


def test_a_tick_while_a_run_is_going_is_skipped(qtbot, controller, feed, monkeypatch):
    started = []
    monkeypatch.setattr(controller, "refresh", lambda: started.append(1))
    controller.run = object()  # a run is going
    controller.timer.timeout.emit()
    assert started == []
    controller.run = None
    controller.timer.timeout.emit()
    assert started == [1]


def test_stop_cancels_a_run_and_leaves_the_project_alone(qtbot, controller, httpserver, use_settings, stall, tmp_path, monkeypatch):
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path / "cache"))
    QgsProject.instance().clear()
    httpserver.expect_request("/slow/locations").respond_with_handler(stall)
    use_settings([Feed(httpserver.url_for("/slow/locations"))], minutes=5)
    controller.apply_settings()
    outcomes = []
    controller.refreshed.connect(lambda *args: outcomes.append(args))
    assert controller.refresh()
    qtbot.wait(300)  # let the task reach the network
    assert controller.running()
    controller.stop()
    assert not controller.running() and not controller.timer.isActive()
    qtbot.waitUntil(lambda: not live_status._STOPPING, timeout=RUN_TIMEOUT_MS)
    assert outcomes == [] and live_layers() == []


def test_each_feed_carries_only_its_own_auth_config(qtbot, controller, feed, httpserver, use_settings):
    from qgis.core import QgsApplication

    from ev_charge_plugin.qgis_io.auth import store_api_key

    QgsApplication.authManager().setMasterPassword("evcharge-tests", True)
    token = store_api_key("operator-token", "")
    seen = {}

    def answer(name):
        def handler(request):
            seen[name] = request.headers.get("Authorization")
            return page([location(name, ["AVAILABLE"])])
        return handler

    httpserver.expect_request("/private/locations").respond_with_handler(answer("P"))
    httpserver.expect_request("/open/locations").respond_with_handler(answer("O"))
    use_settings([Feed(httpserver.url_for("/private/locations"), token), Feed(httpserver.url_for("/open/locations"))])
    outcome, message = refresh(qtbot, controller)
    assert outcome == SUCCEEDED and message.startswith("2 charge points")
    assert seen == {"P": "operator-token", "O": None}
