"""The London Datastore client against a real local server (pytest-httpserver)."""
import http.client
import json
import shutil
import socket
import ssl
import subprocess
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WerkzeugResponse

from ev_charge_plugin.core.datastore import STALE_OK, DatastoreClient, choose_resource, parse_slug
from ev_charge_plugin.core.errors import (
    AccessDeniedError,
    CancelledError,
    InsecureUrlError,
    InvalidResponseError,
    NetworkTimeoutError,
    NotFoundError,
    OfflineError,
    ServerError,
    TruncatedDownloadError,
)

SLUG = "electric-vehicle-charging-site-2lzpg"
METADATA_PATH = f"/api/dataset/{SLUG}"
FILE_PATH = f"/download/{SLUG}/r-gpkg/rapid_sites.gpkg"
FORMATS = ("gpkg", "geopackage")
CONTENT = b"GeoPackage bytes, first edition"
ETAG = '"edition-1"'
LAST_MODIFIED = "Wed, 01 Nov 2023 10:00:00 GMT"
SECRET = "k3y-7f2c9a-private"
TIMEOUT = 0.3


def resource(url, fmt, order=0, stamp="2023-11-01T10:00:00Z", title="Rapid charging sites"):
    return {"title": title, "url": url, "format": fmt, "order": order, "check_timestamp": stamp, "check_size": 31}


def dataset_json(gpkg_url=FILE_PATH):
    return {
        "slug": SLUG,
        "title": "Electric Vehicle Charging Sites",
        "resources": {
            "r-csv": resource(f"/download/{SLUG}/r-csv/rapid_sites.csv", "csv"),
            "r-gpkg": resource(gpkg_url, "GeoPackage", order=1),
        },
    }


def serve_healthy(server, body=CONTENT, headers=None):
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    server.expect_request(FILE_PATH).respond_with_data(
        body, headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED} if headers is None else headers
    )


def requests_to(server, path):
    return [request for request, _ in server.log if request.path == path]


def cache_listing(client):
    folder = client.cache_dir / SLUG
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def base_url(httpserver):
    return httpserver.url_for("/").rstrip("/")


@pytest.fixture
def client(base_url, tmp_path):
    return DatastoreClient(base_url=base_url, cache_dir=tmp_path / "cache", api_key=SECRET, timeout=TIMEOUT)


@pytest.fixture
def cached(client, httpserver):
    """A client whose cache holds CONTENT, and a server with no handlers left."""
    serve_healthy(httpserver)
    download = client.download(SLUG, FORMATS)
    assert download.path.read_bytes() == CONTENT
    httpserver.clear()
    return download.path


def truncated_handler(request):
    # An iterable body keeps werkzeug from correcting the Content-Length.
    return WerkzeugResponse(iter([b"short"]), headers={"Content-Length": "100"})


# ---- choosing a resource ------------------------------------------------------


def test_newest_check_timestamp_wins_over_order():
    dataset = {"resources": {
        "old": resource("/a/old.gpkg", "gpkg", order=0, stamp="2023-01-01T00:00:00Z"),
        "new": resource("/a/new.gpkg", "gpkg", order=5, stamp="2024-03-01T00:00:00Z"),
        "csv": resource("/a/newest.csv", "csv", order=0, stamp="2025-01-01T00:00:00Z"),
    }}
    chosen = choose_resource(dataset, FORMATS)
    assert chosen["id"] == "new"
    assert chosen["url"] == "/a/new.gpkg"


def test_format_matches_case_insensitively_or_by_url_extension():
    dataset = {"resources": {
        "by-format": resource("/a/download", "GeoPackage", stamp="2023-01-01T00:00:00Z"),
        "by-extension": resource("/a/sites.GPKG?v=2", "spatial data", stamp="2023-06-01T00:00:00Z"),
    }}
    assert choose_resource(dataset, ("gpkg",))["id"] == "by-extension"
    assert choose_resource(dataset, ("geopackage",))["id"] == "by-format"


def test_time_zones_are_compared_as_instants():
    dataset = {"resources": {
        "noon-plus-two": resource("/a.gpkg", "gpkg", stamp="2024-01-01T12:00:00+02:00"),  # 10:00 UTC
        "eleven-utc": resource("/b.gpkg", "gpkg", stamp="2024-01-01T11:00:00Z"),
    }}
    assert choose_resource(dataset, FORMATS)["id"] == "eleven-utc"


@pytest.mark.parametrize("missing", [None, "", "not a date"])
def test_missing_timestamp_loses(missing):
    dataset = {"resources": {
        "undated": resource("/a.gpkg", "gpkg", order=0, stamp=missing),
        "dated": resource("/b.gpkg", "gpkg", order=9, stamp="2020-01-01T00:00:00"),
    }}
    assert choose_resource(dataset, FORMATS)["id"] == "dated"


def test_equal_timestamps_fall_back_to_order_then_id():
    same = "2024-01-01T00:00:00Z"
    dataset = {"resources": {
        "z-second": resource("/a.gpkg", "gpkg", order=2, stamp=same),
        "y-first": resource("/b.gpkg", "gpkg", order=1, stamp=same),
        "x-first": resource("/c.gpkg", "gpkg", order=1, stamp=same),
    }}
    assert choose_resource(dataset, FORMATS)["id"] == "x-first"


def test_no_matching_format_names_the_formats_on_offer():
    dataset = {"slug": SLUG, "resources": {
        "a": resource("/a.csv", "CSV"), "b": resource("/b.zip", "zip"),
    }}
    with pytest.raises(NotFoundError) as info:
        choose_resource(dataset, FORMATS)
    assert str(info.value) == f"Dataset '{SLUG}' has no file in the format gpkg / geopackage; it offers: csv, zip."


# ---- slugs and addresses ------------------------------------------------------


@pytest.mark.parametrize("text", [
    SLUG,
    f"https://data.london.gov.uk/dataset/{SLUG}",
    f"https://data.london.gov.uk/dataset/{SLUG}/",
    f" https://data.london.gov.uk/dataset/{SLUG}?tab=data#files ",
])
def test_slug_from_name_or_dataset_address(text):
    assert parse_slug(text) == SLUG


@pytest.mark.parametrize("text", ["../../etc/passwd", "a/b", "", "slug?x=1", "%2e%2e", "https://data.london.gov.uk/about"])
def test_unsafe_or_unknown_slugs_are_refused_before_any_request(client, httpserver, text):
    with pytest.raises(NotFoundError) as info:
        client.dataset(text)
    assert "is not a London Datastore dataset name or dataset address" in str(info.value)
    assert httpserver.log == []


@pytest.mark.parametrize("url", ["http://data.london.gov.uk", "ftp://localhost/", "https://", "file:///etc"])
def test_insecure_base_url_is_refused(tmp_path, url):
    with pytest.raises(InsecureUrlError) as info:
        DatastoreClient(base_url=url, cache_dir=tmp_path)
    assert "only HTTPS addresses are allowed" in str(info.value)


@pytest.mark.parametrize("url", ["https://data.london.gov.uk", "http://localhost:8080", "http://127.0.0.2", "http://[::1]:9"])
def test_https_and_loopback_http_base_urls_are_accepted(tmp_path, url):
    assert DatastoreClient(base_url=url + "/", cache_dir=tmp_path).base_url == url


# ---- metadata -----------------------------------------------------------------


def test_dataset_returns_the_metadata(client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    dataset = client.dataset(f"https://data.london.gov.uk/dataset/{SLUG}")
    assert sorted(dataset["resources"]) == ["r-csv", "r-gpkg"]
    assert dataset["resources"]["r-gpkg"]["format"] == "GeoPackage"
    assert [request.path for request, _ in httpserver.log] == [METADATA_PATH]


@pytest.mark.parametrize("body", ["<html>maintenance</html>", json.dumps({"resources": []}), json.dumps([1, 2])])
def test_metadata_that_is_not_a_dataset_is_an_invalid_response(client, httpserver, body):
    httpserver.expect_request(METADATA_PATH).respond_with_data(body, content_type="application/json")
    with pytest.raises(InvalidResponseError) as info:
        client.dataset(SLUG)
    assert f"answer for dataset '{SLUG}' is not the dataset description expected" in str(info.value)


# ---- downloads and the cache --------------------------------------------------


def test_first_download_fills_the_cache(client, httpserver):
    serve_healthy(httpserver)
    download = client.download(SLUG, FORMATS)
    assert download.path == client.cache_dir / SLUG / "rapid_sites.gpkg"
    assert download.path.read_bytes() == CONTENT
    assert (download.from_cache, download.warning, download.resource["id"]) == (False, None, "r-gpkg")
    sidecar = json.loads((client.cache_dir / SLUG / "rapid_sites.gpkg.meta.json").read_text())
    assert (sidecar["etag"], sidecar["last_modified"]) == (ETAG, LAST_MODIFIED)
    assert sidecar["url"] == httpserver.url_for(FILE_PATH)
    [request] = requests_to(httpserver, FILE_PATH)
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    assert cache_listing(client) == ["rapid_sites.gpkg", "rapid_sites.gpkg.meta.json"]


def test_revalidation_sends_the_validators_and_304_serves_the_cache(client, httpserver, cached):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_data("", status=304)
    download = client.download(SLUG, FORMATS)
    [request] = requests_to(httpserver, FILE_PATH)
    assert request.headers["If-None-Match"] == ETAG
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert (download.path, download.from_cache, download.warning) == (cached, True, None)
    assert cached.read_bytes() == CONTENT


def test_last_modified_alone_is_revalidated_with_if_modified_since(client, httpserver):
    serve_healthy(httpserver, headers={"Last-Modified": LAST_MODIFIED})
    client.download(SLUG, FORMATS)
    httpserver.clear()
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_data("", status=304)
    assert client.download(SLUG, FORMATS).from_cache
    [request] = requests_to(httpserver, FILE_PATH)
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in request.headers


def test_a_changed_file_replaces_the_cached_copy(client, httpserver, cached):
    serve_healthy(httpserver, body=b"second edition", headers={"ETag": '"edition-2"'})
    download = client.download(SLUG, FORMATS)
    assert (download.path, download.from_cache) == (cached, False)
    assert cached.read_bytes() == b"second edition"
    sidecar = json.loads((client.cache_dir / SLUG / "rapid_sites.gpkg.meta.json").read_text())
    assert (sidecar["etag"], sidecar["last_modified"]) == ('"edition-2"', None)
    assert cache_listing(client) == ["rapid_sites.gpkg", "rapid_sites.gpkg.meta.json"]


def test_a_304_without_a_cached_copy_is_an_invalid_response(client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_data("", status=304)
    with pytest.raises(InvalidResponseError) as info:
        client.download(SLUG, FORMATS)
    assert "answered 'not modified' (HTTP 304) to a request that had nothing cached" in str(info.value)


def test_a_failed_write_leaves_the_cached_copy_and_no_temporary_file(client, httpserver, cached, monkeypatch):
    serve_healthy(httpserver, body=b"second edition", headers={"ETag": '"edition-2"'})

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ev_charge_plugin.core.datastore.os.replace", disk_full)
    with pytest.raises(OSError):
        client.download(SLUG, FORMATS)
    assert cached.read_bytes() == CONTENT
    assert cache_listing(client) == ["rapid_sites.gpkg", "rapid_sites.gpkg.meta.json"]


def test_progress_reports_bytes_received_and_expected(client, httpserver):
    serve_healthy(httpserver)
    calls = []
    client.download(SLUG, FORMATS, progress=lambda received, total: calls.append((received, total)))
    assert calls[-1] == (len(CONTENT), len(CONTENT))


def test_cancelling_raises_and_keeps_the_cache(client, httpserver, cached):
    serve_healthy(httpserver, body=b"never stored")
    with pytest.raises(CancelledError) as info:
        client.download(SLUG, FORMATS, cancelled=lambda: True)
    assert str(info.value) == "The download was cancelled."
    assert cached.read_bytes() == CONTENT


# ---- failures: one typed error each, and the cached copy survives ---------------


def file_status(status):
    def setup(server, stall):
        server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
        server.expect_request(FILE_PATH).respond_with_data("<html>error page</html>", status=status)
    return setup


def metadata_status(status):
    def setup(server, stall):
        server.expect_request(METADATA_PATH).respond_with_data("<html>error page</html>", status=status)
    return setup


def file_stalls(server, stall):
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    server.expect_request(FILE_PATH).respond_with_handler(stall)


def file_truncated(server, stall):
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    server.expect_request(FILE_PATH).respond_with_handler(truncated_handler)


def metadata_not_json(server, stall):
    server.expect_request(METADATA_PATH).respond_with_data('{"resources": {"r-gpkg": ', content_type="application/json")


def file_redirects_to_plain_http(server, stall):
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    server.expect_request(FILE_PATH).respond_with_data("", status=302, headers={"Location": "http://example.org/sites.gpkg"})


FAILURES = [
    pytest.param(file_status(404), NotFoundError, "has nothing at", id="404"),
    pytest.param(file_status(403), AccessDeniedError, "refused the API key set in Settings", id="403"),
    pytest.param(file_status(500), ServerError, "failed to answer", id="500"),
    pytest.param(metadata_status(503), ServerError, "(HTTP 503)", id="503-metadata"),
    pytest.param(file_stalls, NetworkTimeoutError, "within 0.3 seconds", id="timeout"),
    pytest.param(file_truncated, TruncatedDownloadError, "broke off after 5 of 100 bytes", id="truncated"),
    pytest.param(metadata_not_json, InvalidResponseError, "is not the dataset description expected", id="invalid-json"),
    pytest.param(file_redirects_to_plain_http, InsecureUrlError, "only HTTPS addresses are allowed", id="redirect-to-http"),
]


@pytest.mark.parametrize("setup, error, phrase", FAILURES)
def test_failure_without_a_cache_raises_its_typed_error(client, httpserver, stall, setup, error, phrase):
    setup(httpserver, stall)
    with pytest.raises(error) as info:
        client.download(SLUG, FORMATS)
    assert type(info.value) is error
    assert phrase in str(info.value)
    assert info.value.url.startswith(("http://localhost", "http://example.org"))
    assert SECRET not in str(info.value)
    assert cache_listing(client) == []  # nothing half-written left behind


@pytest.mark.parametrize("setup, error, phrase", FAILURES)
def test_failure_leaves_the_cached_copy_intact(client, httpserver, stall, cached, setup, error, phrase):
    sidecar = cached.with_name(cached.name + ".meta.json")
    sidecar_before = sidecar.read_bytes()
    setup(httpserver, stall)
    with pytest.raises(error) as info:
        client.download(SLUG, FORMATS, allow_stale=False)
    assert phrase in str(info.value)
    assert cached.read_bytes() == CONTENT
    assert sidecar.read_bytes() == sidecar_before
    assert cache_listing(client) == ["rapid_sites.gpkg", "rapid_sites.gpkg.meta.json"]
    assert client.cached(SLUG, FORMATS) == cached


@pytest.mark.parametrize("setup, error, phrase", FAILURES)
def test_stale_copy_is_served_only_when_the_failure_says_nothing_about_the_data(
    client, httpserver, stall, cached, setup, error, phrase
):
    setup(httpserver, stall)
    if not issubclass(error, STALE_OK):
        with pytest.raises(error):
            client.download(SLUG, FORMATS)
        return
    download = client.download(SLUG, FORMATS)
    assert (download.path, download.from_cache, download.resource["id"]) == (cached, True, "r-gpkg")
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert download.warning.startswith(f"Served the copy of rapid_sites.gpkg cached on {today} ")
    assert "because the download failed." in download.warning and phrase in download.warning
    assert SECRET not in download.warning
    assert cached.read_bytes() == CONTENT


def test_truncating_handler_really_sends_a_short_body(httpserver):
    httpserver.expect_request(FILE_PATH).respond_with_handler(truncated_handler)
    connection = http.client.HTTPConnection(urlsplit(httpserver.url_for("/")).netloc, timeout=5)
    connection.request("GET", FILE_PATH)
    response = connection.getresponse()
    assert response.getheader("Content-Length") == "100"
    with pytest.raises(http.client.IncompleteRead) as info:
        response.read()
    assert (info.value.partial, info.value.expected) == (b"short", 95)
    connection.close()


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_offline_without_a_cache_raises_offline_error(tmp_path):
    offline = DatastoreClient(base_url=closed_port_url(), cache_dir=tmp_path, timeout=TIMEOUT)
    with pytest.raises(OfflineError) as info:
        offline.download(SLUG, FORMATS)
    assert str(info.value).startswith(f"Could not connect to {offline.base_url}{METADATA_PATH} (")
    assert "Connection refused" in str(info.value)
    assert "Check the network connection" in str(info.value)


def test_offline_with_a_cache_serves_it_with_a_warning(client, cached):
    offline = DatastoreClient(base_url=closed_port_url(), cache_dir=client.cache_dir, timeout=TIMEOUT)
    download = offline.download(SLUG, FORMATS)
    assert (download.path, download.from_cache) == (cached, True)
    assert "because the download failed. Could not connect to" in download.warning


def test_an_older_cached_resource_stands_in_when_the_newer_one_fails(client, httpserver, cached):
    newer_path = f"/download/{SLUG}/r-new/rapid_sites_2024.gpkg"
    newer = dataset_json()
    newer["resources"]["r-new"] = resource(newer_path, "gpkg", stamp="2024-06-01T00:00:00Z")
    httpserver.expect_request(METADATA_PATH).respond_with_json(newer)
    httpserver.expect_request(newer_path).respond_with_data("", status=502)
    download = client.download(SLUG, FORMATS)
    assert (download.path, download.resource["id"]) == (cached, "r-gpkg")
    assert "(HTTP 502)" in download.warning
    assert requests_to(httpserver, newer_path)


# ---- API key ------------------------------------------------------------------


def test_api_key_goes_to_the_datastore_and_nowhere_else(client, httpserver):
    elsewhere = httpserver.url_for(FILE_PATH).replace("localhost", "127.0.0.1")  # same server, other origin
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json(gpkg_url=elsewhere))
    httpserver.expect_request(FILE_PATH).respond_with_data(CONTENT)
    assert client.download(SLUG, FORMATS).path.read_bytes() == CONTENT
    [metadata] = requests_to(httpserver, METADATA_PATH)
    [file] = requests_to(httpserver, FILE_PATH)
    assert metadata.headers["Authorization"] == SECRET
    assert file.host.startswith("127.0.0.1:")
    assert "Authorization" not in file.headers


def test_api_key_is_sent_on_same_origin_downloads(client, httpserver):
    serve_healthy(httpserver)
    client.download(SLUG, FORMATS)
    assert [request.headers.get("Authorization") for request, _ in httpserver.log] == [SECRET, SECRET]


def test_without_a_key_no_authorization_header_is_sent(base_url, tmp_path, httpserver):
    serve_healthy(httpserver)
    DatastoreClient(base_url=base_url, cache_dir=tmp_path).download(SLUG, FORMATS)
    assert len(httpserver.log) == 2
    assert all("Authorization" not in request.headers for request, _ in httpserver.log)


def test_private_dataset_without_a_key_asks_for_one(base_url, tmp_path, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_data("Forbidden", status=403)
    with pytest.raises(AccessDeniedError) as info:
        DatastoreClient(base_url=base_url, cache_dir=tmp_path).dataset(SLUG)
    assert str(info.value) == (
        f"The London Datastore refused access to {base_url}{METADATA_PATH} (HTTP 403): "
        "it is a private dataset. Set an API key in Settings."
    )


# ---- redirects ----------------------------------------------------------------


def test_loopback_redirects_are_followed(client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_data("", status=302, headers={"Location": "/files/current.gpkg"})
    httpserver.expect_request("/files/current.gpkg").respond_with_data(CONTENT)
    download = client.download(SLUG, FORMATS)
    assert download.path.name == "rapid_sites.gpkg"
    assert download.path.read_bytes() == CONTENT
    assert [request.path for request, _ in httpserver.log] == [METADATA_PATH, FILE_PATH, "/files/current.gpkg"]


def test_redirect_to_a_remote_plain_http_address_is_refused_before_any_request(client, httpserver):
    file_redirects_to_plain_http(httpserver, None)
    with pytest.raises(InsecureUrlError) as info:
        client.download(SLUG, FORMATS)
    # example.org cannot be reached from here: an OfflineError would mean it was tried.
    assert info.value.url == "http://example.org/sites.gpkg"
    assert [request.path for request, _ in httpserver.log] == [METADATA_PATH, FILE_PATH]


def test_endless_redirects_stop(client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_data("", status=302, headers={"Location": METADATA_PATH})
    with pytest.raises(InvalidResponseError) as info:
        client.dataset(SLUG)
    assert "redirected more than 5 times" in str(info.value)
    assert len(httpserver.log) == 6


# ---- real TLS: the HTTPS -> HTTP downgrade and certificate checks -----------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """An HTTPS server with a certificate made for this run, and that certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = HTTPServer(ssl_context=context)
    server.start()
    yield server, certificate
    server.clear()
    server.stop()


@pytest.fixture
def tls_client(tls, tmp_path, monkeypatch):
    server, certificate = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))  # requests trusts it; nothing else changes
    yield server, DatastoreClient(base_url=server.url_for("/"), cache_dir=tmp_path, api_key=SECRET, timeout=5)
    server.clear()


def test_redirect_from_https_to_http_is_refused_and_the_cache_survives(tls_client, httpserver):
    server, client = tls_client
    assert client.base_url.startswith("https://localhost:")
    serve_healthy(server)
    cached = client.download(SLUG, FORMATS).path
    server.clear()
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    plain = httpserver.url_for("/sites.gpkg")  # loopback http: allowed on its own, not as a downgrade
    server.expect_request(FILE_PATH).respond_with_data("", status=302, headers={"Location": plain})
    with pytest.raises(InsecureUrlError) as info:
        client.download(SLUG, FORMATS)
    assert str(info.value) == (
        f"Refused the redirect from {server.url_for(FILE_PATH)} to {plain}: "
        "it would leave HTTPS for an unencrypted connection."
    )
    assert httpserver.log == []
    assert cached.read_bytes() == CONTENT
    assert client.cached(SLUG, FORMATS) == cached


def test_untrusted_certificate_is_refused(tls_client, monkeypatch):
    server, client = tls_client
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    with pytest.raises(InsecureUrlError) as info:
        client.dataset(SLUG)
    assert "certificate could not be verified" in str(info.value)
    assert server.log == []
