"""evcharge:refreshstatus against a local server serving paged, wrapped OCPI Locations."""
import pytest
from ocpi_pages import location, page
from werkzeug import Response

pytestmark = pytest.mark.qgis


@pytest.fixture
def feed(httpserver, tmp_path, monkeypatch):
    """A two-page feed whose statuses the test sets; returns (url, set_statuses)."""
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path / "cache"))
    state = {"first": ["AVAILABLE", "CHARGING"], "second": ["OUTOFORDER"], "fail": False}
    url = httpserver.url_for("/ocpi/2.2.1/locations")

    def first(request):
        return page([location("L1", state["first"])], next_url=httpserver.url_for("/ocpi/2.2.1/locations/page2"), total=2)

    def second(request):
        if state["fail"]:
            return Response("down for maintenance", status=500)
        return page([location("L2", state["second"], latitude="51.52", longitude="-0.10")], total=2)

    httpserver.expect_request("/ocpi/2.2.1/locations").respond_with_handler(first)
    httpserver.expect_request("/ocpi/2.2.1/locations/page2").respond_with_handler(second)
    return url, state


def refresh(url, archive):
    import processing

    result = processing.run("evcharge:refreshstatus", {"FEEDS": url, "ARCHIVE": str(archive), "OUTPUT": "TEMPORARY_OUTPUT"})
    features = {f["chargepoint_id"]: f for f in result["OUTPUT"].getFeatures()}
    return result, features


def test_every_page_every_evse_with_its_status_group_and_reliability(qgis_app, feed, tmp_path):
    url, state = feed
    archive = tmp_path / "history.gpkg"
    result, features = refresh(url, archive)
    assert (result["CHARGEPOINTS"], result["STALE_FEEDS"]) == (3, 0)
    assert {cp: (f["status"], f["status_group"]) for cp, f in features.items()} == {
        "GB*OP*EL11": ("AVAILABLE", "available"), "GB*OP*EL12": ("CHARGING", "in use"), "GB*OP*EL21": ("OUTOFORDER", "out of order")}
    assert features["GB*OP*EL21"]["reliability_pct"] == 0.0 and features["GB*OP*EL11"]["reliability_pct"] == 100.0
    assert not features["GB*OP*EL11"].geometry().isNull()

    # A second refresh with other statuses: two snapshots, reliability from both.
    state["first"], state["second"] = ["OUTOFORDER", "RESERVED"], ["AVAILABLE"]
    result, features = refresh(url, archive)
    assert {cp: f["reliability_pct"] for cp, f in features.items()} == {"GB*OP*EL11": 50.0, "GB*OP*EL12": 100.0, "GB*OP*EL21": 50.0}
    assert {cp: f["snapshots"] for cp, f in features.items()} == {"GB*OP*EL11": 2, "GB*OP*EL12": 2, "GB*OP*EL21": 2}


def test_a_feed_failing_half_way_keeps_the_last_good_snapshot_marked_stale(qgis_app, feed, tmp_path):
    url, state = feed
    archive = tmp_path / "history.gpkg"
    refresh(url, archive)
    state["fail"], state["first"] = True, ["OUTOFORDER", "OUTOFORDER"]
    result, features = refresh(url, archive)
    assert result["STALE_FEEDS"] == 1 and "500" in result["PROBLEMS"] and "page 2" in result["PROBLEMS"]
    # The last good statuses, marked stale, and not counted again in reliability.
    assert {cp: (f["status"], f["stale"]) for cp, f in features.items()} == {
        "GB*OP*EL11": ("AVAILABLE", True), "GB*OP*EL12": ("CHARGING", True), "GB*OP*EL21": ("OUTOFORDER", True)}
    assert {cp: f["snapshots"] for cp, f in features.items()} == {"GB*OP*EL11": 1, "GB*OP*EL12": 1, "GB*OP*EL21": 1}


def test_the_loaded_layer_is_styled_by_status_and_named_by_the_refresh_time(qgis_app, feed, tmp_path):
    import processing
    from qgis.core import QgsProject

    url, _ = feed
    project = QgsProject.instance()
    try:
        result = processing.runAndLoadResults("evcharge:refreshstatus", {"FEEDS": url, "OUTPUT": "TEMPORARY_OUTPUT"})
        layer = project.mapLayer(result["OUTPUT"])
        assert layer.name().startswith("Live status, refreshed ") and layer.name().endswith(" UTC")
        labels = [category.label() for category in layer.renderer().categories()]
        assert labels == ["Available", "Charging, reserved or blocked", "Out of order or inoperative", "Unknown, planned or removed"]
    finally:
        layer = None
        project.clear()
