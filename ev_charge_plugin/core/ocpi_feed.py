"""Live availability: fetch an operator's open OCPI 2.2.1 Locations feed, every page.

OCPI wraps each page as ``{data, status_code, status_message, timestamp}`` and pages
with ``Link: <...>; rel="next"`` and ``X-Total-Count``; a server that sends no Link
is asked for the next page by ``offset``/``limit``. A feed either arrives whole or
not at all: the last good snapshot is kept on disk, one file per feed address::

    <cache_dir>/<sha256 of the url>.json   url, fetched_at, pages, total_count, locations

and when a fetch fails it is returned marked stale, with the reason, so the map
keeps showing the last known statuses rather than nothing.
"""
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, List, Mapping, Optional
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .datastore import MAX_REDIRECTS, REDIRECT_STATUSES, _origin, _write_atomically, check_base_url, check_redirect
from .errors import CancelledError, DatastoreError, EvChargeError
from .i18n import tr
from .transport import Cancelled, Response, Transport, cancelled_error

PageProgress = Callable[[int, Optional[int]], None]  # (pages done, pages expected or None)
SUCCESS = 1000  # OCPI "generic success"


class FeedError(EvChargeError):
    """An OCPI feed could not be fetched whole. ``url`` is the page asked for, ``page`` its number from 1."""

    def __init__(self, message: str, url: str = "", page: int = 0):
        super().__init__(message)
        self.url = url
        self.page = page


class FeedHttpError(FeedError):
    """A page answered with an HTTP status other than 200, or redirected badly."""


class FeedFormatError(FeedError):
    """A page is not JSON, or not a wrapped OCPI response with a list in ``data``."""


class FeedStatusError(FeedError):
    """A page's OCPI ``status_code`` is not 1000 (success)."""


class FeedLoopError(FeedError):
    """A next link points to a page already fetched."""


class FeedTooLongError(FeedError):
    """The feed has more pages than ``max_pages``."""


@dataclass
class FeedSnapshot:
    url: str
    locations: list  # the OCPI Location objects of every page, in order
    fetched_at: str  # ISO 8601 UTC of the fetch that produced them
    pages: int
    total_count: Optional[int]  # X-Total-Count of the first page, if given
    stale: bool = False  # True when this is the last good snapshot because the latest fetch failed
    problem: str = ""  # why the latest fetch failed (user-facing sentence), when stale


def snapshot_bytes(snapshot: FeedSnapshot) -> bytes:
    """The locations as one OCPI Locations JSON list, ready for ``readers.ocpi.read_ocpi``."""
    return json.dumps(snapshot.locations, ensure_ascii=False).encode("utf-8")


class FeedClient:
    """Fetches OCPI Locations feeds through a :class:`Transport`, with the last good snapshot cached.

    Any failure but cancelling falls back to the cached snapshot (``stale=True``,
    ``problem`` saying why) and raises only when there is none. Cancelling always
    raises :class:`CancelledError`. The cache file is replaced only by a complete
    fetch. ``headers`` (a token, say) go only to the feed's own origin, so a redirect
    or next link elsewhere never receives them, and never into a message.
    """

    def __init__(self, *, transport: Transport, cache_dir, timeout: float = 30, max_pages: int = 1000, page_limit: Optional[int] = None):
        self.cache_dir = Path(cache_dir)
        self.timeout = timeout
        self.max_pages = max_pages
        self.page_limit = page_limit
        self._transport = transport

    def fetch(
        self,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        cancelled: Optional[Cancelled] = None,
        progress: Optional[PageProgress] = None,
    ) -> FeedSnapshot:
        check_base_url(url)  # a refused address is a setting to fix, never a stale snapshot
        try:
            snapshot = self._fetch_all(url, dict(headers or {}), cancelled, progress)
        except CancelledError:
            raise
        except (FeedError, DatastoreError) as error:
            cached = self.cached(url)
            if cached is None:
                raise
            cached.stale, cached.problem = True, str(error)
            return cached
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        record = {name: getattr(snapshot, name) for name in ("url", "fetched_at", "pages", "total_count", "locations")}
        _write_atomically(self.cache_path(url), json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return snapshot

    def cache_path(self, url: str) -> Path:
        return self.cache_dir / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")

    def cached(self, url: str) -> Optional[FeedSnapshot]:
        """The last good snapshot of ``url``, or None (also when the file is unreadable)."""
        try:
            record = json.loads(self.cache_path(url).read_text(encoding="utf-8"))
            if record["url"] != url or not isinstance(record["locations"], list):
                return None
            return FeedSnapshot(url, record["locations"], record["fetched_at"], record["pages"], record.get("total_count"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _fetch_all(self, url, headers, cancelled, progress) -> FeedSnapshot:
        fetched_at = datetime.now(timezone.utc).isoformat(timespec="microseconds")  # a snapshot's identity in the archive
        origin = _origin(url)
        locations: List = []
        asked = set()
        total_count = per_page = None
        page, next_url = 0, url
        while next_url:
            if page >= self.max_pages:
                raise FeedTooLongError(
                    tr("The feed {url} has more than {count} pages; stopped there. Check the address, or raise the page limit.").format(
                        url=url, count=self.max_pages
                    ),
                    next_url,
                    page + 1,
                )
            if cancelled and cancelled():
                raise cancelled_error()
            page += 1
            asked.add(next_url)
            response = self._get(next_url, headers, origin, page, cancelled)
            items = _page_data(response, page)
            locations.extend(items)
            count = _total_count(response)
            if page == 1:
                total_count, per_page = count, len(items) or None
            count = total_count if count is None else count
            if progress:
                progress(page, math.ceil(total_count / per_page) if total_count is not None and per_page else None)
            next_url = _next_link(response)
            if next_url is None and count is not None and len(locations) < count:
                if not items:  # asking again from the same offset would get the same nothing
                    raise FeedFormatError(
                        tr("Page {page} of the feed ({url}) is empty although the feed says it holds {total} locations and only {received} have come.").format(
                            page=page, url=response.url, total=count, received=len(locations)
                        ),
                        response.url,
                        page,
                    )
                next_url = _with_offset(url, len(locations), self.page_limit or per_page)
            if next_url in asked:
                raise FeedLoopError(
                    tr("The feed {url} loops: the next link of page {page} points back to a page already fetched ({next}).").format(
                        url=url, page=page, next=next_url
                    ),
                    next_url,
                    page,
                )
        return FeedSnapshot(url, locations, fetched_at, page, total_count)

    def _get(self, url, headers, origin, page, cancelled) -> Response:
        """GET one page, following up to MAX_REDIRECTS redirects, each checked before it is followed."""
        check_base_url(url)
        for _ in range(MAX_REDIRECTS + 1):
            own_origin = _origin(url) == origin
            response = self._transport.get(url, headers if own_origin else {}, self.timeout, None, cancelled, authenticate=own_origin)
            if response.status not in REDIRECT_STATUSES:
                if response.status != 200:
                    raise _status_error(response, page)
                return response
            location = response.headers.get("Location")
            if not location:
                raise FeedHttpError(
                    tr("Page {page} of the feed ({url}) answered with a redirect but did not say where to.").format(page=page, url=url),
                    url,
                    page,
                )
            target = urljoin(url, location)
            check_redirect(url, target)
            url = target
        raise FeedHttpError(
            tr("Page {page} of the feed ({url}) redirected more than {count} times; the server is misconfigured.").format(
                page=page, url=url, count=MAX_REDIRECTS
            ),
            url,
            page,
        )


def _status_error(response: Response, page: int) -> FeedHttpError:
    if response.status in (401, 403):
        message = tr("The feed refused page {page} ({url}) with HTTP {status}: check the feed's access token.")
    else:
        message = tr("The feed answered page {page} ({url}) with HTTP {status} instead of the page. Try again later.")
    return FeedHttpError(message.format(page=page, url=response.url, status=response.status), response.url, page)


def _page_data(response: Response, page: int) -> list:
    """The ``data`` list of a wrapped OCPI response; a typed error for anything else."""
    try:
        document = json.loads(response.body)
    except (ValueError, RecursionError):
        document = None
        problem = tr("is not valid JSON")
    else:
        problem = tr("is not a wrapped OCPI response with a list of Locations in 'data'")
    if isinstance(document, dict) and "status_code" in document:
        code = document["status_code"]
        if code != SUCCESS or isinstance(code, bool):
            raise FeedStatusError(
                tr("The feed reports an error on page {page} ({url}): status_code {code}, status_message {message!r}.").format(
                    page=page, url=response.url, code=code, message=str(document.get("status_message") or "")
                ),
                response.url,
                page,
            )
        if isinstance(document.get("data"), list):
            return document["data"]
    raise FeedFormatError(
        tr("Page {page} of the feed ({url}) {problem}.").format(page=page, url=response.url, problem=problem), response.url, page
    )


def _total_count(response: Response) -> Optional[int]:
    try:
        count = int(response.headers["X-Total-Count"].strip())
    except (KeyError, ValueError):
        return None
    return count if count >= 0 else None


# One link-value of a Link header (RFC 8288): <target> then ;-separated parameters,
# whose quoted values may hold commas and semicolons.
_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,=\s]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,]*))?)*)')
_REL = re.compile(r';\s*rel\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,\s]+))', re.IGNORECASE)


def parse_next_link(value: str) -> Optional[str]:
    """The target of the first ``rel="next"`` link in a Link header value, else None.

    Several links may be separated by commas (or come as several headers, which HTTP
    joins with commas); ``rel`` may be quoted or not, any case, and list several
    relation types (``rel="next last"``).
    """
    for match in _LINK.finditer(value):
        rel = _REL.search(match.group(2))
        if rel and "next" in (rel.group(1) or rel.group(2) or "").lower().split():
            return match.group(1).strip()
    return None


def _next_link(response: Response) -> Optional[str]:
    target = parse_next_link(response.headers.get("Link", ""))
    return urljoin(response.url, target) if target else None


def _with_offset(url: str, offset: int, limit: Optional[int]) -> str:
    """``url`` with its ``offset`` and ``limit`` query parameters set (other parameters kept)."""
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in ("offset", "limit")]
    query.append(("offset", str(offset)))
    if limit:
        query.append(("limit", str(limit)))
    return urlunsplit(parts._replace(query=urlencode(query)))
