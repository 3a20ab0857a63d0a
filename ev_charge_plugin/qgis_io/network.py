"""The Datastore client's transport inside QGIS: QGIS's own network stack."""
from typing import Mapping, Optional

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsNetworkAccessManager
from qgis.PyQt.QtCore import QEventLoop, QTimer, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from ..core.errors import AccessDeniedError
from ..core.i18n import tr
from ..core.transport import (
    Cancelled,
    Headers,
    Progress,
    Response,
    Transport,
    cancelled_error,
    certificate_error,
    content_length,
    offline_error,
    timeout_error,
    truncated_error,
)
from .main_thread import NotTakenUp, in_main_thread, run_in_main_thread, serving

Error = QNetworkReply.NetworkError
# Errors that arrive after the status line: the connection broke while the body was coming.
BROKEN_OFF = (
    Error.RemoteHostClosedError,
    Error.TemporaryNetworkFailureError,
    Error.NetworkSessionFailedError,
    Error.UnknownNetworkError,
    Error.ProxyConnectionClosedError,
    Error.ProtocolFailure,
)
CANCEL_POLL_MS = 100


class QgisTransport(Transport):
    """HTTP through ``QgsNetworkAccessManager``, so the user's proxy, SSL and auth settings apply.

    Not ``QgsBlockingNetworkRequest``: it follows redirects itself, HTTPS to HTTP
    included, and does not tell where it ended up, which would slip past the
    client's redirect checks.

    The exchange runs in the main thread: a task's thread hands it over and
    waits (see :mod:`.main_thread`). Made in the task's thread, it hung now and
    then, or failed with "wrapped C/C++ object of type QNetworkReply has been
    deleted", when the main thread was deleting a widget at the same moment.

    ``authcfg`` is a QGIS auth config id; its credentials go only on requests the
    client marks ``authenticate`` (the Datastore's own origin).
    """

    def __init__(self, authcfg: Optional[str] = None):
        self._authcfg = authcfg
        self.holds_credentials = bool(authcfg)

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        progress: Optional[Progress] = None,
        cancelled: Optional[Cancelled] = None,
        authenticate: bool = False,
    ) -> Response:
        if cancelled and cancelled():
            raise cancelled_error()

        def begin(done):
            request = self._request(url, headers, authenticate)
            _Exchange(request, url, timeout, progress, cancelled, done).start()

        if in_main_thread() or not serving():
            return _wait_here(begin)
        try:
            return run_in_main_thread(begin, wait_to_start=timeout)
        except NotTakenUp:
            raise timeout_error(url, timeout) from None

    def _request(self, url: str, headers: Mapping[str, str], authenticate: bool) -> QNetworkRequest:
        request = QNetworkRequest(QUrl(url))
        for name, value in headers.items():
            request.setRawHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setAttribute(
            QNetworkRequest.Attribute.RedirectPolicyAttribute, QNetworkRequest.RedirectPolicy.ManualRedirectPolicy
        )
        # The client keeps its own cache and validators; Qt's cache would turn a 304
        # into a 200 with its own copy and keep files the client did not ask for.
        request.setAttribute(
            QNetworkRequest.Attribute.CacheLoadControlAttribute, QNetworkRequest.CacheLoadControl.AlwaysNetwork
        )
        request.setAttribute(QNetworkRequest.Attribute.CacheSaveControlAttribute, False)
        if authenticate and self._authcfg:
            request = self._authenticate(request, url)
        return request

    def _authenticate(self, request: QNetworkRequest, url: str) -> QNetworkRequest:
        manager = QgsApplication.authManager()
        updated, request = manager.updateNetworkRequest(request, self._authcfg)
        if updated:
            return request
        # QGIS 3.22 has no "API Header" auth method (the one that holds a bare key,
        # as the Datastore wants), so apply such a config's headers here.
        loaded, config = manager.loadAuthenticationConfig(self._authcfg, QgsAuthMethodConfig(), True)
        if not loaded or config.method() != "APIHeader":
            raise AccessDeniedError(
                tr("The authentication configuration '{id}' set in Settings could not be used. Check it under Settings > Options > Authentication.").format(
                    id=self._authcfg
                ),
                url,
            )
        for name, value in config.configMap().items():
            request.setRawHeader(name.encode("latin-1"), value.encode("latin-1"))
        return request


class _Exchange:
    """One GET, driven by the reply's signals in the thread that starts it; ``done(response, error)`` ends it."""

    def __init__(self, request: QNetworkRequest, url: str, timeout: float, progress, cancelled, done):
        self.request, self.url, self.timeout = request, url, timeout
        self.progress, self.cancelled, self.done = progress, cancelled, done
        self.ended_by = "finished"
        self.reply = None
        # Like requests' read timeout, this counts time without data, not the whole transfer.
        self.idle = QTimer()
        self.idle.setSingleShot(True)
        self.idle.setInterval(int(timeout * 1000))
        self.idle.timeout.connect(lambda: self._give_up("timeout"))
        self.poll = QTimer()
        self.poll.setInterval(CANCEL_POLL_MS)
        self.poll.timeout.connect(lambda: self.cancelled and self.cancelled() and self._give_up("cancelled"))

    def start(self) -> None:
        _running.add(self)  # the exchange lives until its reply ends, whoever started it
        self.reply = QgsNetworkAccessManager.instance().get(self.request)
        self.reply.downloadProgress.connect(self._received)
        self.reply.finished.connect(self._finished)
        self.idle.start()
        self.poll.start()
        if self.reply.isFinished():
            self._finished()

    def _give_up(self, reason: str) -> None:
        self.ended_by = reason
        self.reply.abort()

    def _received(self, done: int, total: int) -> None:
        self.idle.start()
        if self.progress:
            self.progress(done, total if total >= 0 else None)

    def _finished(self) -> None:
        if self not in _running:
            return  # already ended
        _running.discard(self)
        self.idle.stop()
        self.poll.stop()
        try:
            response, error = _response(self.reply, self.url, self.timeout, self.ended_by), None
        except Exception as raised:  # handed to the caller, who raises it
            response, error = None, raised
        finally:
            self.reply.deleteLater()
        self.done(response, error)


_running = set()


def _wait_here(begin) -> Response:
    """Run the exchange ``begin`` starts in this thread, in a local event loop, and return its response."""
    loop = QEventLoop()
    outcome = {}

    def done(response, error):
        outcome.update(response=response, error=error)
        loop.quit()

    begin(done)
    if not outcome:
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    if outcome["error"] is not None:
        raise outcome["error"]
    return outcome["response"]


def _response(reply: QNetworkReply, url: str, timeout: float, ended_by: str) -> Response:
    """Map a finished reply to a Response or to the transport errors the client expects.

    Qt reports HTTP errors (404, 500) as reply errors too; those are answers, and go
    back as a Response. QGIS's own network timeout aborts a reply, which shows as
    a cancel we did not ask for.
    """
    error = reply.error()
    status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    if ended_by == "cancelled":
        raise cancelled_error()
    if ended_by == "timeout" or error in (Error.TimeoutError, Error.OperationCanceledError):
        raise timeout_error(url, timeout)
    if error == Error.SslHandshakeFailedError:
        raise certificate_error(url)
    if status is None:
        raise offline_error(url, reply.errorString())
    headers = Headers(
        (bytes(name).decode("latin-1"), bytes(reply.rawHeader(name)).decode("latin-1"))
        for name in reply.rawHeaderList()
    )
    body = bytes(reply.readAll())
    if error in BROKEN_OFF:
        raise truncated_error(url, len(body), content_length(headers))
    return Response(int(status), headers, body, url)
