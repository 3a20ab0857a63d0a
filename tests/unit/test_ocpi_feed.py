"""The OCPI Locations feed client against a real local server (pytest-httpserver)."""
import json
import socket

import pytest
from pytest_httpserver import HTTPServer

from ev_charge_plugin.core.errors import CancelledError, InsecureUrlError, OfflineError
from ev_charge_plugin.core.ocpi_feed import (
    FeedClient,
    FeedFormatError,
    FeedHttpError,
    FeedLoopError,
    FeedSnapshot,
    FeedStatusError,
    FeedTooLongError,
    parse_next_link,
    snapshot_bytes,
)
from ev_charge_plugin.core.readers.ocpi import read_ocpi
from ev_charge_plugin.core.transport import RequestsTransport

PATH = "/ocpi/2.2.1/locations"
TOKEN = {"Authorization": "Token s3cr3t-feed-t0ken"}
TIMEOUT = 2


def location(number, status="AVAILABLE"):
    """A small but complete OCPI Location with one EVSE (two for even numbers)."""
    evses = [
        {"uid": f"{number}-{n}", "evse_id": f"GB*ABC*E{number}{n}", "status": status, "last_updated": "2024-01-01T00:00:00Z",
         "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                         "max_voltage": 230, "max_amperage": 32, "last_updated": "2024-01-01T00:00:00Z"}]}
        for n in range(1, 3 if number % 2 == 0 else 2)
    ]
    return {"country_code": "GB", "party_id": "ABC", "id": f"L{number}", "publish": True, "name": f"Site {number}",
            "address": "1 Road", "city": "London", "country": "GBR", "coordinates": {"latitude": "51.5074", "longitude": "-0.1278"},
            "evses": evses, "time_zone": "Europe/London", "last_updated": "2024-01-01T00:00:00Z"}


def wrapped(data, status_code=1000, status_message="Success"):
    return json.dumps({"data": data, "status_code": status_code, "status_message": status_message, "timestamp": "2024-01-01T00:00:00Z"})


LOCATIONS = [location(n) for n in range(1, 6)]  # five locations, served two a page


def serve_linked(server, locations=LOCATIONS, status="AVAILABLE", total=True):
    """Three pages at /page1../page3, each (but the last) linking to the next."""
    pages = [locations[0:2], locations[2:4], locations[4:]]
    for number, items in enumerate(pages, start=1):
        headers = {"X-Total-Count": str(len(locations))} if total else {}
        if number < len(pages):
            headers["Link"] = f'<{server.url_for(f"/page{number + 1}")}>; rel="next"'
        body = wrapped([dict(item, evses=[dict(evse, status=status) for evse in item["evses"]]) for item in items])
        server.expect_request(f"/page{number}").respond_with_data(body, headers=headers, content_type="application/json")
    return server.url_for("/page1")


def seen(server):
    return [(request.path, request.query_string.decode()) for request, _ in server.log]


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{PATH}"


@pytest.fixture
def client(tmp_path):
    return FeedClient(transport=RequestsTransport(), cache_dir=tmp_path / "cache", timeout=TIMEOUT)


@pytest.fixture
def cached(client, httpserver):
    """A good snapshot of /page1 in the cache, its file's bytes, and a server with no handlers left."""
    url = serve_linked(httpserver)
    client.fetch(url)
    httpserver.clear()
    return url, client.cache_path(url).read_bytes()


def statuses(snapshot):
    return [evse["status"] for item in snapshot.locations for evse in item["evses"]]


# ---- paging -------------------------------------------------------------------


def test_three_linked_pages_are_fetched_in_order(client, httpserver):
    url = serve_linked(httpserver)
    calls = []
    snapshot = client.fetch(url, headers=TOKEN, progress=lambda done, total: calls.append((done, total)))
    assert snapshot.locations == LOCATIONS
    assert (snapshot.url, snapshot.pages, snapshot.total_count, snapshot.stale, snapshot.problem) == (url, 3, 5, False, "")
    assert seen(httpserver) == [("/page1", ""), ("/page2", ""), ("/page3", "")]
    assert [request.headers["Authorization"] for request, _ in httpserver.log] == [TOKEN["Authorization"]] * 3
    assert calls == [(1, 3), (2, 3), (3, 3)]
    record = json.loads(client.cache_path(url).read_text(encoding="utf-8"))
    assert record == {"url": url, "fetched_at": snapshot.fetched_at, "pages": 3, "total_count": 5, "locations": LOCATIONS}
    assert snapshot.fetched_at.endswith("+00:00")
    assert client.cached(url) == FeedSnapshot(url, LOCATIONS, snapshot.fetched_at, 3, 5)


def test_relative_next_links_and_no_total(client, httpserver):
    httpserver.expect_request("/a").respond_with_data(wrapped(LOCATIONS[:3]), headers={"Link": '<b?x=1>; rel=next'})
    httpserver.expect_request("/b").respond_with_data(wrapped(LOCATIONS[3:]))
    calls = []
    snapshot = client.fetch(httpserver.url_for("/a"), progress=lambda done, total: calls.append((done, total)))
    assert (snapshot.locations, snapshot.pages, snapshot.total_count) == (LOCATIONS, 2, None)
    assert seen(httpserver) == [("/a", ""), ("/b", "x=1")]
    assert calls == [(1, None), (2, None)]


def offset_server(locations, page_size):
    """An OCPI server that pages by offset/limit (capped at page_size) and sends no Link header."""
    from werkzeug import Response

    def handler(request):
        offset = int(request.args.get("offset", 0))
        limit = min(int(request.args.get("limit", page_size)), page_size)
        return Response(wrapped(locations[offset:offset + limit]), headers={"X-Total-Count": str(len(locations))})
    return handler


@pytest.mark.parametrize("page_limit, limit", [(None, 2), (5, 5)])
def test_offset_paging_when_there_is_no_link(tmp_path, httpserver, page_limit, limit):
    # With page_limit 5 the server still gives 2 a page: the next offset follows what came, not what was asked.
    httpserver.expect_request(PATH).respond_with_handler(offset_server(LOCATIONS, 2))
    client = FeedClient(transport=RequestsTransport(), cache_dir=tmp_path, page_limit=page_limit)
    snapshot = client.fetch(httpserver.url_for(PATH) + "?key=1")
    assert snapshot.locations == LOCATIONS
    assert (snapshot.pages, snapshot.total_count) == (3, 5)
    assert seen(httpserver) == [(PATH, "key=1"), (PATH, f"key=1&offset=2&limit={limit}"), (PATH, f"key=1&offset=4&limit={limit}")]


def test_an_empty_page_while_more_are_promised_stops(client, httpserver):
    httpserver.expect_request(PATH).respond_with_data(wrapped([]), headers={"X-Total-Count": "4"})
    with pytest.raises(FeedFormatError) as info:
        client.fetch(httpserver.url_for(PATH))
    assert "Page 1 of the feed" in str(info.value) and "is empty although the feed says it holds 4 locations" in str(info.value)


def test_more_than_max_pages_stops(tmp_path, httpserver):
    httpserver.expect_request(PATH).respond_with_handler(offset_server(LOCATIONS, 1))
    client = FeedClient(transport=RequestsTransport(), cache_dir=tmp_path, max_pages=3)
    with pytest.raises(FeedTooLongError) as info:
        client.fetch(httpserver.url_for(PATH))
    assert "has more than 3 pages" in str(info.value)
    assert len(httpserver.log) == 3
    assert list(tmp_path.iterdir()) == []


# ---- Link header parsing --------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ('<https://x.org/l?offset=2&limit=2>; rel="next"', "https://x.org/l?offset=2&limit=2"),
    ("<https://x.org/2>; rel=next", "https://x.org/2"),
    ('<https://x.org/2>; REL="Next"', "https://x.org/2"),
    ('<https://x.org/1>; rel="prev", <https://x.org/3>; rel="next"', "https://x.org/3"),
    ('<https://x.org/1>;rel="prev",<https://x.org/3>;rel="next"', "https://x.org/3"),
    ('<https://x.org/a,b>; title="one, two; three"; rel="next last"', "https://x.org/a,b"),
    ('<https://x.org/9>; rel="last"', None),
    ('<https://x.org/9>; title="rel=next"', None),
    ("", None),
    ("garbage", None),
])
def test_link_header_variants(value, expected):
    assert parse_next_link(value) == expected


# ---- failures: typed errors, and the last good snapshot stays -------------------


def page2_loops(server):
    server.expect_request("/page1").respond_with_data(wrapped(LOCATIONS[:2]), headers={"Link": f'<{server.url_for("/page2")}>; rel="next"'})
    server.expect_request("/page2").respond_with_data(wrapped(LOCATIONS[2:]), headers={"Link": f'<{server.url_for("/page1")}>; rel="next"'})


def page2_answers(body, status=200):
    def setup(server):
        server.expect_request("/page1").respond_with_data(wrapped(LOCATIONS[:2]), headers={"Link": '</page2>; rel="next"', "X-Total-Count": "5"})
        server.expect_request("/page2").respond_with_data(body, status=status)
    return setup


def page2_redirects_to_plain_http(server):
    server.expect_request("/page1").respond_with_data(wrapped(LOCATIONS[:2]), headers={"Link": '</page2>; rel="next"'})
    server.expect_request("/page2").respond_with_data("", status=302, headers={"Location": "http://example.org/page2"})


FAILURES = [
    pytest.param(page2_loops, FeedLoopError, "loops: the next link of page 2 points back to a page already fetched", id="loop"),
    pytest.param(page2_answers(wrapped(None, 2001, "Invalid or missing parameters")), FeedStatusError,
                 "error on page 2 (http://localhost", id="status-code"),
    pytest.param(page2_answers("<html>oops</html>", status=500), FeedHttpError, "answered page 2 (http://localhost", id="http-500"),
    pytest.param(page2_answers('{"data": [{"id": '), FeedFormatError, "is not valid JSON", id="invalid-json"),
    pytest.param(page2_answers(json.dumps(LOCATIONS)), FeedFormatError, "is not a wrapped OCPI response", id="not-wrapped"),
    pytest.param(page2_answers(json.dumps({"status_code": 1000, "data": {"id": "L1"}})), FeedFormatError, "with a list of Locations in 'data'", id="data-not-list"),
    pytest.param(page2_redirects_to_plain_http, InsecureUrlError, "only HTTPS addresses are allowed", id="redirect-to-http"),
]


@pytest.mark.parametrize("setup, error, phrase", FAILURES)
def test_failure_without_a_cache_raises_its_typed_error(client, httpserver, setup, error, phrase):
    setup(httpserver)
    with pytest.raises(error) as info:
        client.fetch(httpserver.url_for("/page1"), headers=TOKEN)
    assert type(info.value) is error
    assert phrase in str(info.value)
    assert TOKEN["Authorization"] not in str(info.value)
    assert not client.cache_dir.exists()  # no partial snapshot


@pytest.mark.parametrize("setup, error, phrase", FAILURES)
def test_failure_returns_the_last_good_snapshot_marked_stale(client, httpserver, cached, setup, error, phrase):
    url, before = cached
    setup(httpserver)
    snapshot = client.fetch(url, headers=TOKEN)
    assert (snapshot.stale, snapshot.locations, snapshot.pages) == (True, LOCATIONS, 3)
    assert phrase in snapshot.problem and TOKEN["Authorization"] not in snapshot.problem
    assert client.cache_path(url).read_bytes() == before
    assert sorted(path.name for path in client.cache_dir.iterdir()) == [client.cache_path(url).name]


def test_the_failure_messages_in_full(client, httpserver):
    page2_answers(wrapped(None, 2001, "Invalid or missing parameters"))(httpserver)
    with pytest.raises(FeedStatusError) as info:
        client.fetch(httpserver.url_for("/page1"))
    page2 = httpserver.url_for("/page2")
    assert str(info.value) == f"The feed reports an error on page 2 ({page2}): status_code 2001, status_message 'Invalid or missing parameters'."
    assert (info.value.url, info.value.page) == (page2, 2)
    httpserver.clear()
    page2_answers("nope", status=503)(httpserver)
    with pytest.raises(FeedHttpError) as info:
        client.fetch(httpserver.url_for("/page1"))
    assert str(info.value) == f"The feed answered page 2 ({page2}) with HTTP 503 instead of the page. Try again later."


def test_a_refused_token_says_so(client, httpserver):
    httpserver.expect_request(PATH).respond_with_data("no", status=401)
    with pytest.raises(FeedHttpError) as info:
        client.fetch(httpserver.url_for(PATH), headers=TOKEN)
    assert "with HTTP 401: check the feed's access token" in str(info.value)


def test_a_redirect_to_remote_plain_http_is_refused_before_any_request(client, httpserver):
    page2_redirects_to_plain_http(httpserver)
    with pytest.raises(InsecureUrlError) as info:
        client.fetch(httpserver.url_for("/page1"))
    # example.org cannot be reached from here: an OfflineError would mean it was tried.
    assert info.value.url == "http://example.org/page2"
    assert seen(httpserver) == [("/page1", ""), ("/page2", "")]


def test_loopback_redirects_are_followed_and_the_token_stays_home(client, httpserver):
    elsewhere = httpserver.url_for("/moved").replace("localhost", "127.0.0.1")  # same server, other origin
    httpserver.expect_request(PATH).respond_with_data("", status=307, headers={"Location": elsewhere})
    httpserver.expect_request("/moved").respond_with_data(wrapped(LOCATIONS))
    snapshot = client.fetch(httpserver.url_for(PATH), headers=TOKEN)
    assert snapshot.locations == LOCATIONS
    [first, moved] = [request for request, _ in httpserver.log]
    assert first.headers["Authorization"] == TOKEN["Authorization"]
    assert moved.host.startswith("127.0.0.1:") and "Authorization" not in moved.headers


def test_endless_redirects_stop(client, httpserver):
    httpserver.expect_request(PATH).respond_with_data("", status=302, headers={"Location": PATH})
    with pytest.raises(FeedHttpError) as info:
        client.fetch(httpserver.url_for(PATH))
    assert "redirected more than 5 times" in str(info.value)
    assert len(httpserver.log) == 6


def test_an_insecure_feed_address_is_refused_even_with_a_cache(client):
    with pytest.raises(InsecureUrlError):
        client.fetch("http://example.org/locations")


def test_offline_without_a_cache_raises_offline_error(client):
    url = closed_port_url()
    with pytest.raises(OfflineError) as info:
        client.fetch(url)
    assert str(info.value).startswith(f"Could not connect to {url} (")


def test_offline_with_a_cache_serves_it_stale(client):
    server = HTTPServer()
    server.start()
    try:
        url = serve_linked(server)
        client.fetch(url)
    finally:
        server.clear()
        server.stop()
    snapshot = client.fetch(url)
    assert (snapshot.stale, snapshot.locations) == (True, LOCATIONS)
    assert snapshot.problem.startswith(f"Could not connect to {url} (")


def test_a_cache_file_for_another_address_or_broken_is_not_served(client, httpserver, cached):
    url, _ = cached
    page2_answers("", status=500)(httpserver)
    client.cache_path(url).write_text("{broken", encoding="utf-8")
    with pytest.raises(FeedHttpError):
        client.fetch(url)
    assert client.cached(url) is None


# ---- cancelling ------------------------------------------------------------------


def test_cancelling_between_pages_keeps_the_cache(client, httpserver, cached):
    url, before = cached
    serve_linked(httpserver, status="CHARGING")
    pages = []
    with pytest.raises(CancelledError) as info:
        client.fetch(url, progress=lambda done, total: pages.append(done), cancelled=lambda: bool(pages))
    assert str(info.value) == "The download was cancelled."
    assert seen(httpserver) == [("/page1", "")]
    assert client.cache_path(url).read_bytes() == before


# ---- fresh snapshots replace old ones, and read as charge points ------------------


def test_a_second_fetch_replaces_the_snapshot(client, httpserver):
    url = serve_linked(httpserver, status="AVAILABLE")
    first = client.fetch(url)
    httpserver.clear()
    serve_linked(httpserver, status="CHARGING")
    second = client.fetch(url)
    assert set(statuses(first)) == {"AVAILABLE"} and set(statuses(second)) == {"CHARGING"}
    assert client.cached(url).locations == second.locations
    assert set(statuses(client.cached(url))) == {"CHARGING"}
    assert len(list(client.cache_dir.iterdir())) == 1  # no temporary files left


def test_snapshot_bytes_read_as_one_charge_point_per_evse(client, httpserver):
    mixed = [location(1, "AVAILABLE"), location(2, "CHARGING"), location(3, "OUTOFORDER"), location(4, "UNKNOWN"), location(5, "BLOCKED")]
    httpserver.expect_request(PATH).respond_with_data(wrapped(mixed))
    snapshot = client.fetch(httpserver.url_for(PATH))
    result = read_ocpi(snapshot_bytes(snapshot))
    points = result.chargepoints.set_index("chargepoint_id")["status"]
    assert points.to_dict() == {
        "GB*ABC*E11": "AVAILABLE",
        "GB*ABC*E21": "CHARGING", "GB*ABC*E22": "CHARGING",
        "GB*ABC*E31": "OUTOFORDER",
        "GB*ABC*E41": "UNKNOWN", "GB*ABC*E42": "UNKNOWN",
        "GB*ABC*E51": "BLOCKED",
    }
