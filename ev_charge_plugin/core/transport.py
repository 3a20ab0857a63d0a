"""The one small HTTP interface the Datastore client talks through.

Two implementations: :class:`RequestsTransport` here (tests, command line) and
``qgis_io.network.QgisTransport`` inside QGIS, so the user's proxy, SSL and auth
settings apply. Transports never follow redirects: they hand every 3xx back, and the
client checks each ``Location`` before it goes there (HTTPS only, no downgrade).
Transports raise the network-level errors (offline, timeout, truncated body,
cancelled) and return every HTTP status, good or bad, as a :class:`Response`.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.client import IncompleteRead
from typing import Callable, Iterable, Iterator, Mapping, Optional, Tuple

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from .errors import (
    CancelledError,
    InsecureUrlError,
    InvalidResponseError,
    NetworkTimeoutError,
    OfflineError,
    TruncatedDownloadError,
)
from .i18n import tr

Progress = Callable[[int, Optional[int]], None]  # (bytes received, bytes expected or None)
Cancelled = Callable[[], bool]

CHUNK_SIZE = 64 * 1024


class Headers(Mapping[str, str]):
    """Response headers, looked up without regard to case as HTTP requires."""

    def __init__(self, items: Iterable[Tuple[str, str]] = ()):
        self._items = {name.lower(): (name, value) for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Response:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    url: str = ""  # the address that answered; transports do not follow redirects, so the one asked for


class Transport(ABC):
    holds_credentials = False  # True when the transport adds credentials of its own

    @abstractmethod
    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        progress: Optional[Progress] = None,
        cancelled: Optional[Cancelled] = None,
        authenticate: bool = False,
    ) -> Response:
        """GET ``url`` without following redirects.

        ``timeout`` is in seconds without any data arriving. ``authenticate`` is True
        only for addresses on the Datastore's own origin: a transport that holds
        credentials of its own (a QGIS auth config) attaches them only then, so a
        redirect to a file host never receives them.

        Raises OfflineError, NetworkTimeoutError, TruncatedDownloadError,
        InsecureUrlError (certificate not trusted) or CancelledError.
        """


def offline_error(url: str, detail: str) -> OfflineError:
    return OfflineError(
        tr("Could not connect to {url} ({detail}). Check the network connection, and the address in EV Charge Points > Settings.").format(
            url=url, detail=detail
        ),
        url,
    )


def timeout_error(url: str, timeout: float) -> NetworkTimeoutError:
    return NetworkTimeoutError(
        tr("The server did not answer {url} within {seconds:g} seconds. Try again later.").format(url=url, seconds=timeout),
        url,
    )


def truncated_error(url: str, received: int, expected: Optional[int]) -> TruncatedDownloadError:
    if expected is None:
        message = tr("The download of {url} broke off after {received} bytes. Try again.")
    else:
        message = tr("The download of {url} broke off after {received} of {expected} bytes. Try again.")
    return TruncatedDownloadError(message.format(url=url, received=received, expected=expected), url)


def certificate_error(url: str) -> InsecureUrlError:
    return InsecureUrlError(
        tr("The secure connection to {url} failed: the server's certificate could not be verified.").format(url=url), url
    )


def cancelled_error() -> CancelledError:
    return CancelledError(tr("The download was cancelled."))


def content_length(headers: Mapping[str, str]) -> Optional[int]:
    try:
        return int(headers["Content-Length"])
    except (KeyError, ValueError):
        return None


class RequestsTransport(Transport):
    """``requests`` with certificates always verified and redirects never followed.

    It holds no credentials (the client sends its API key as a header), so
    ``authenticate`` changes nothing here.
    """

    def __init__(self, session: Optional[requests.Session] = None):
        self._session = session or requests.Session()

    def get(self, url, headers, timeout, progress=None, cancelled=None, authenticate=False):
        if cancelled and cancelled():
            raise cancelled_error()
        try:
            reply = self._session.get(
                url, headers=dict(headers), timeout=timeout, allow_redirects=False, stream=True, verify=True
            )
        except requests.exceptions.SSLError:
            raise certificate_error(url) from None
        except requests.Timeout:
            raise timeout_error(url, timeout) from None
        except requests.ConnectionError as error:
            raise offline_error(url, _reason(error)) from None
        with reply:
            body = self._read_body(reply, url, timeout, progress, cancelled)
            return Response(reply.status_code, Headers(reply.headers.items()), body, url)

    @staticmethod
    def _read_body(reply, url, timeout, progress, cancelled) -> bytes:
        expected = content_length(reply.headers)
        chunks = []
        try:
            # raw.stream rather than iter_content: requests would turn a read timeout
            # into a ConnectionError, hiding which of the two happened.
            for chunk in reply.raw.stream(CHUNK_SIZE, decode_content=True):
                if cancelled and cancelled():
                    raise cancelled_error()
                chunks.append(chunk)
                if progress:
                    progress(reply.raw.tell(), expected)
        except ReadTimeoutError:
            raise timeout_error(url, timeout) from None
        except (ProtocolError, IncompleteRead):
            raise truncated_error(url, reply.raw.tell(), expected) from None
        except DecodeError:
            raise InvalidResponseError(
                tr("The answer from {url} could not be decompressed.").format(url=url), url
            ) from None
        # urllib3 1.x does not check Content-Length by default: a connection closed
        # early just ends the stream. A 304 or 204 has no body whatever the header says.
        received = reply.raw.tell()
        if expected is not None and received < expected and reply.status_code not in (204, 304):
            raise truncated_error(url, received, expected)
        return b"".join(chunks)


def _reason(error: Exception) -> str:
    """The innermost cause, which names the real problem (refused, name not known)."""
    while error.__context__ is not None or error.__cause__ is not None:
        error = error.__cause__ or error.__context__
    return str(error) or type(error).__name__
