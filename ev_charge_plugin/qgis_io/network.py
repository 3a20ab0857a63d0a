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
    client's redirect checks. A local event loop gives the same blocking call, in
    the main thread or in a task's thread (the manager instance is per thread).

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
        reply = QgsNetworkAccessManager.instance().get(request)
        try:
            ended_by = _wait(reply, timeout, progress, cancelled)
            return _response(reply, url, timeout, ended_by)
        finally:
            reply.deleteLater()

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


def _wait(reply: QNetworkReply, timeout: float, progress, cancelled) -> str:
    """Run an event loop until ``reply`` ends; say why: "finished", "timeout" or "cancelled"."""
    loop = QEventLoop()
    ended_by = "finished"

    def give_up(reason: str) -> None:
        nonlocal ended_by
        ended_by = reason
        reply.abort()

    # Like requests' read timeout, this counts time without data, not the whole transfer.
    idle = QTimer()
    idle.setSingleShot(True)
    idle.setInterval(int(timeout * 1000))
    idle.timeout.connect(lambda: give_up("timeout"))

    def received(done: int, total: int) -> None:
        idle.start()
        if progress:
            progress(done, total if total >= 0 else None)

    poll = QTimer()
    poll.setInterval(CANCEL_POLL_MS)
    poll.timeout.connect(lambda: cancelled and cancelled() and give_up("cancelled"))
    reply.downloadProgress.connect(received)
    reply.finished.connect(loop.quit)
    idle.start()
    poll.start()
    if not reply.isFinished():
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    idle.stop()
    poll.stop()
    return ended_by


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
