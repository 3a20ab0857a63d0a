"""The Datastore client through QGIS's network stack behaves as it does through requests."""
import os
import socket
import threading
import time

import pytest
from werkzeug import Response as WerkzeugResponse

# The auth configs made here must never land in the user's own QGIS auth database.
# Collection imports every module before the session's QgsApplication starts, so
# this takes effect for it.

from ev_charge_plugin.core.datastore import DatastoreClient  # noqa: E402
from ev_charge_plugin.core.errors import (  # noqa: E402
    AccessDeniedError,
    CancelledError,
    InsecureUrlError,
    NetworkTimeoutError,
    NotFoundError,
    OfflineError,
    TruncatedDownloadError,
)
from ev_charge_plugin.core.transport import RequestsTransport  # noqa: E402
from ev_charge_plugin.qgis_io.network import QgisTransport  # noqa: E402

pytestmark = pytest.mark.qgis

SLUG = "electric-vehicle-charging-site-2lzpg"
METADATA_PATH = f"/api/dataset/{SLUG}"
FILE_PATH = f"/download/{SLUG}/r-gpkg/rapid_sites.gpkg"
FORMATS = ("gpkg",)
CONTENT = b"GeoPackage bytes, first edition"
ETAG = '"edition-1"'
SECRET = "k3y-from-the-qgis-auth-db"
TIMEOUT = 0.3


def dataset_json(gpkg_url=FILE_PATH):
    return {"slug": SLUG, "resources": {
        "r-gpkg": {"title": "Sites", "url": gpkg_url, "format": "GeoPackage", "order": 0,
                   "check_timestamp": "2023-11-01T10:00:00Z", "check_size": len(CONTENT)},
    }}


def serve_healthy(server, gpkg_url=FILE_PATH):
    server.expect_request(METADATA_PATH).respond_with_json(dataset_json(gpkg_url))
    server.expect_request(FILE_PATH).respond_with_data(CONTENT, headers={"ETag": ETAG})


def requests_to(server, path):
    return [request for request, _ in server.log if request.path == path]


@pytest.fixture(params=["requests", "qgis"])
def make_client(request, qgis_app, httpserver, tmp_path):
    """Build clients on either transport; every test below runs on both."""
    def make(transport=None, base_url=httpserver.url_for("/"), timeout=TIMEOUT):
        if transport is None:
            transport = RequestsTransport() if request.param == "requests" else QgisTransport()
        return DatastoreClient(base_url=base_url, cache_dir=tmp_path, transport=transport, timeout=timeout)
    make.kind = request.param
    return make


def test_dataset_json(make_client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    dataset = make_client().dataset(SLUG)
    assert dataset["resources"]["r-gpkg"]["check_size"] == len(CONTENT)


def test_304_serves_the_cache(make_client, httpserver):
    client = make_client()
    serve_healthy(httpserver)
    first = client.download(SLUG, FORMATS)
    httpserver.clear()
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_data("", status=304)
    second = client.download(SLUG, FORMATS)
    assert (first.from_cache, second.from_cache, second.warning) == (False, True, None)
    assert second.path.read_bytes() == CONTENT
    [request] = requests_to(httpserver, FILE_PATH)
    assert request.headers["If-None-Match"] == ETAG


def test_404(make_client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_data("gone", status=404)
    with pytest.raises(NotFoundError) as info:
        make_client().dataset(SLUG)
    url = httpserver.url_for(METADATA_PATH)
    assert str(info.value).startswith(f"The London Datastore has nothing at {url} (HTTP 404)")


def test_timeout(make_client, httpserver, stall):
    httpserver.expect_request(METADATA_PATH).respond_with_handler(stall)
    started = time.monotonic()
    with pytest.raises(NetworkTimeoutError) as info:
        make_client().dataset(SLUG)
    assert time.monotonic() - started < 3
    assert "did not answer" in str(info.value) and "within 0.3 seconds" in str(info.value)


def test_truncated_body(make_client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_handler(
        lambda request: WerkzeugResponse(iter([b"short"]), headers={"Content-Length": "100"})
    )
    client = make_client()
    with pytest.raises(TruncatedDownloadError) as info:
        client.download(SLUG, FORMATS)
    assert "broke off after 5 of 100 bytes" in str(info.value)
    assert not (client.cache_dir / SLUG).exists() or list((client.cache_dir / SLUG).iterdir()) == []


def test_redirects_come_back_to_the_client(make_client, httpserver):
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    httpserver.expect_request(FILE_PATH).respond_with_data("", status=302, headers={"Location": "/files/current.gpkg"})
    httpserver.expect_request("/files/current.gpkg").respond_with_data(
        "", status=302, headers={"Location": "http://example.org/x.gpkg"}
    )
    with pytest.raises(InsecureUrlError) as info:
        make_client().download(SLUG, FORMATS)
    assert info.value.url == "http://example.org/x.gpkg"
    assert [request.path for request, _ in httpserver.log] == [METADATA_PATH, FILE_PATH, "/files/current.gpkg"]


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_offline(make_client):
    url = closed_port_url()
    with pytest.raises(OfflineError) as info:
        make_client(base_url=url).dataset(SLUG)
    assert str(info.value).startswith(f"Could not connect to {url}{METADATA_PATH} (")


def test_progress(make_client, httpserver):
    serve_healthy(httpserver)
    calls = []
    make_client().download(SLUG, FORMATS, progress=lambda received, total: calls.append((received, total)))
    assert calls[-1] == (len(CONTENT), len(CONTENT))


def test_cancelled_before_the_request(make_client, httpserver):
    serve_healthy(httpserver)
    with pytest.raises(CancelledError):
        make_client().download(SLUG, FORMATS, cancelled=lambda: True)
    assert httpserver.log == []


# ---- QGIS only ------------------------------------------------------------------


@pytest.fixture
def qgis_client(qgis_app, httpserver, tmp_path):
    def make(authcfg="", timeout=TIMEOUT):
        return DatastoreClient(
            base_url=httpserver.url_for("/"), cache_dir=tmp_path, transport=QgisTransport(authcfg), timeout=timeout
        )
    return make


def test_cancelling_a_waiting_request(qgis_client, httpserver, stall):
    httpserver.expect_request(METADATA_PATH).respond_with_handler(stall)
    deadline = time.monotonic() + 0.2
    with pytest.raises(CancelledError):
        qgis_client(timeout=5).dataset(SLUG, cancelled=lambda: time.monotonic() > deadline)
    assert time.monotonic() - deadline < 2


@pytest.fixture
def auth_config(qgis_app):
    """Store an auth config in the (temporary) QGIS auth database; remove it afterwards."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    assert manager.authenticationDatabasePath().startswith(os.environ["QGIS_AUTH_DB_DIR_PATH"])
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("evcharge-tests", True)
    stored = []

    def store(method, **settings):
        config = QgsAuthMethodConfig(method)
        config.setName(f"EV charge points test {method}")
        for name, value in settings.items():
            config.setConfig(name, value)
        ok, config = manager.storeAuthenticationConfig(config)
        assert ok
        stored.append(config.id())
        return config.id()

    yield store
    for config_id in stored:
        manager.removeAuthenticationConfig(config_id)


def test_api_header_auth_config_sends_the_key_to_the_datastore_only(qgis_client, httpserver, auth_config):
    authcfg = auth_config("APIHeader", Authorization=SECRET)
    elsewhere = httpserver.url_for(FILE_PATH).replace("localhost", "127.0.0.1")  # same server, other origin
    serve_healthy(httpserver, gpkg_url=elsewhere)
    assert qgis_client(authcfg).download(SLUG, FORMATS).path.read_bytes() == CONTENT
    [metadata] = requests_to(httpserver, METADATA_PATH)
    [file] = requests_to(httpserver, FILE_PATH)
    assert metadata.headers["Authorization"] == SECRET
    assert "Authorization" not in file.headers


def test_basic_auth_config_goes_through_the_auth_manager(qgis_client, httpserver, auth_config):
    authcfg = auth_config("Basic", username="borough", password="secret")
    httpserver.expect_request(METADATA_PATH).respond_with_json(dataset_json())
    qgis_client(authcfg).dataset(SLUG)
    [metadata] = requests_to(httpserver, METADATA_PATH)
    assert metadata.headers["Authorization"] == "Basic Ym9yb3VnaDpzZWNyZXQ="


def test_unknown_auth_config_is_access_denied_without_a_request(qgis_client, httpserver):
    with pytest.raises(AccessDeniedError) as info:
        qgis_client("nosuch1").dataset(SLUG)
    assert str(info.value).startswith("The authentication configuration 'nosuch1' set in Settings could not be used.")
    assert httpserver.log == []


def test_download_inside_a_qgis_task(qgis_client, httpserver):
    from qgis.core import QgsApplication, QgsTask

    serve_healthy(httpserver)
    client = qgis_client(timeout=5)
    results = {}

    def run(task):
        results["task thread"] = threading.current_thread()
        results["download"] = client.download(SLUG, FORMATS, progress=lambda done, total: progress_threads.add(threading.current_thread()))
        return True

    progress_threads = set()

    task = QgsTask.fromFunction("Datastore download", run)
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 10
    while task.status() not in (QgsTask.Complete, QgsTask.Terminated) and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert task.status() == QgsTask.Complete
    assert results["download"].path.read_bytes() == CONTENT
    assert [request.path for request, _ in httpserver.log] == [METADATA_PATH, FILE_PATH]
    # The exchange itself ran in the main thread: the task's thread made no Qt call for it.
    assert results["task thread"] is not threading.main_thread()
    assert progress_threads == {threading.main_thread()}


def test_a_request_from_a_thread_the_main_thread_never_takes_up_times_out_unsent(qgis_client, httpserver):
    from qgis.core import QgsApplication

    serve_healthy(httpserver)
    errors = []

    def request():
        try:
            qgis_client(timeout=0.3).dataset(SLUG)
        except NetworkTimeoutError as error:
            errors.append(error)

    worker = threading.Thread(target=request)
    worker.start()
    worker.join(5)  # the main thread is busy here, taking up nothing
    assert not worker.is_alive() and len(errors) == 1
    QgsApplication.processEvents()  # the withdrawn request is skipped, not sent late
    time.sleep(0.1)
    QgsApplication.processEvents()
    assert httpserver.log == []


def test_an_unusable_auth_config_in_a_tasks_thread_is_access_denied(qgis_client, httpserver):
    from qgis.core import QgsApplication

    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_raised(lambda: qgis_client("nosuch2", timeout=5).dataset(SLUG))))
    worker.start()
    deadline = time.monotonic() + 10
    while worker.is_alive() and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert isinstance(outcome[0], AccessDeniedError)
    assert httpserver.log == []


def _raised(call):
    try:
        call()
    except Exception as error:
        return error
    return None


def test_refused_auth_config_says_the_key_was_refused(qgis_client, httpserver, auth_config):
    authcfg = auth_config("APIHeader", Authorization="expired-key")
    httpserver.expect_request(METADATA_PATH).respond_with_data("Forbidden", status=403)
    with pytest.raises(AccessDeniedError) as info:
        qgis_client(authcfg).dataset(SLUG)
    assert "refused the API key set in Settings" in str(info.value)
    assert "expired-key" not in str(info.value)
