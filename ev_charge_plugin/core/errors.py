"""One hierarchy of typed errors, each carrying a user-facing message.

Readers raise :class:`SourceError` only when a whole file is unusable; bad rows go
into the validation report instead. The Datastore client raises one
:class:`DatastoreError` subclass per kind of failure, so callers can tell a
missing dataset from a server fault without parsing text.
"""


class EvChargeError(Exception):
    """Base class. ``str(error)`` is a complete sentence fit for a message bar."""


class SourceError(EvChargeError):
    """A whole source could not be read (unknown format, not a table, no usable columns)."""


class DatastoreError(EvChargeError):
    """A Datastore request failed. ``url`` is the address asked for."""

    def __init__(self, message: str, url: str = ""):
        super().__init__(message)
        self.url = url


class NotFoundError(DatastoreError):
    """HTTP 404: the dataset or file does not exist."""


class AccessDeniedError(DatastoreError):
    """HTTP 401/403: the dataset is private and the key is missing or wrong."""


class ServerError(DatastoreError):
    """HTTP 5xx or another unexpected status."""


class NetworkTimeoutError(DatastoreError):
    """The server did not answer within the configured timeout."""


class OfflineError(DatastoreError):
    """The server could not be reached at all (DNS, refused connection, no network)."""


class TruncatedDownloadError(DatastoreError):
    """The body was shorter than its Content-Length."""


class InvalidResponseError(DatastoreError):
    """The server answered, but not with what the API promises (bad JSON, no resources)."""


class InsecureUrlError(DatastoreError):
    """A plain-HTTP address that is not loopback, or a redirect from HTTPS to HTTP."""


class CancelledError(EvChargeError):
    """The user cancelled the operation."""
