"""London Datastore client: dataset metadata, resource choice and cached downloads.

The Datastore API: ``GET {base}/api/dataset/{slug}`` returns JSON whose ``resources``
is an object keyed by resource id, each with ``title``, ``url``, ``format``,
``order``, ``check_timestamp`` and ``check_size``. Private datasets need an
``Authorization: <key>`` header.

Downloads are cached on disk, one folder per dataset::

    <cache_dir>/<slug>/<file name>             the bytes, replaced atomically
    <cache_dir>/<slug>/<file name>.meta.json   url, ETag, Last-Modified, when, resource

The sidecar keeps the resource record, so the cached copy can be found and served
even when the dataset metadata cannot be fetched.
"""
import ipaddress
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import List, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote, urljoin, urlsplit

from .errors import (
    AccessDeniedError,
    DatastoreError,
    InsecureUrlError,
    InvalidResponseError,
    NetworkTimeoutError,
    NotFoundError,
    OfflineError,
    ServerError,
    TruncatedDownloadError,
)
from .i18n import tr
from .transport import Cancelled, Progress, RequestsTransport, Response, Transport

DEFAULT_BASE_URL = "https://data.london.gov.uk"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
SIDECAR_SUFFIX = ".meta.json"

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")

# Failures that say nothing about the data itself, so a cached copy is still the
# best answer. 404 and 403 are left out on purpose: a withdrawn dataset or a
# refused key must be seen, not hidden behind an old copy.
STALE_OK = (OfflineError, NetworkTimeoutError, ServerError, TruncatedDownloadError, InvalidResponseError)


@dataclass(frozen=True)
class Download:
    path: Path
    from_cache: bool
    warning: Optional[str]  # set when a stale copy is served instead of failing
    resource: dict


def parse_slug(text: str) -> str:
    """The dataset slug from a slug or a dataset address (``.../dataset/<slug>``).

    Only letters, digits and hyphens pass, so a slug can never climb out of the API
    path or the cache folder.
    """
    text = text.strip()
    if "://" in text:
        parts = PurePosixPath(urlsplit(text).path).parts
        text = parts[parts.index("dataset") + 1] if "dataset" in parts[:-1] else ""
    if not _SLUG.fullmatch(text):
        raise NotFoundError(tr("'{text}' is not a London Datastore dataset name or dataset address.").format(text=text))
    return text


def is_loopback(host: Optional[str]) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> None:
    """Refuse any address but HTTPS, or plain HTTP to this computer (tests, local mirrors)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" and bool(parts.hostname)
    local = parts.scheme == "http" and is_loopback(parts.hostname)
    if not (secure or local):
        raise InsecureUrlError(
            tr("Refused to connect to {url}: only HTTPS addresses are allowed (plain HTTP only to this computer).").format(
                url=url
            ),
            url,
        )


def check_redirect(source: str, target: str) -> None:
    """Refuse a redirect to an address :func:`check_base_url` refuses, or from HTTPS to HTTP."""
    check_base_url(target)
    if urlsplit(source).scheme == "https" and urlsplit(target).scheme != "https":
        raise InsecureUrlError(
            tr("Refused the redirect from {source} to {url}: it would leave HTTPS for an unencrypted connection.").format(
                source=source, url=target
            ),
            target,
        )


def choose_resource(dataset: Mapping, formats: Sequence[str]) -> dict:
    """The newest resource in one of ``formats`` (case-insensitive).

    A resource matches by its ``format`` or by the extension of its url. Newest is
    the latest ``check_timestamp`` (resources without one lose), then the lowest
    ``order``, then the resource id, so the choice never depends on JSON key order.
    The result is a copy of the resource with its ``id`` added.
    """
    wanted = {name.lower() for name in formats}
    resources = [dict(resource, id=key) for key, resource in dataset["resources"].items() if isinstance(resource, dict)]
    matching = [resource for resource in resources if _resource_formats(resource) & wanted]
    if not matching:
        offered = sorted({str(resource.get("format") or "?").lower() for resource in resources})
        raise NotFoundError(
            tr("Dataset '{slug}' has no file in the format {wanted}; it offers: {offered}.").format(
                slug=dataset.get("slug", ""),
                wanted=" / ".join(formats),
                offered=", ".join(offered) or tr("no files at all"),
            )
        )
    return min(matching, key=_newest_first)


def _resource_formats(resource: Mapping) -> set:
    names = {str(resource.get("format") or "").lower()}
    suffix = PurePosixPath(urlsplit(str(resource.get("url") or "")).path).suffix
    names.add(suffix[1:].lower())
    return names - {""}


def _newest_first(resource: Mapping) -> Tuple:
    stamp = _timestamp(resource.get("check_timestamp"))
    missing = stamp is None
    try:
        order = float(resource.get("order"))
    except (TypeError, ValueError):
        order = float("inf")
    return (missing, -(stamp.timestamp() if stamp else 0.0), order, str(resource["id"]))


def _timestamp(value) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    try:
        # fromisoformat before Python 3.11 does not take a trailing Z
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def file_name(url: str, fallback: str) -> str:
    """A safe file name for the cache from the last segment of ``url``."""
    name = _UNSAFE_FILE_CHARACTERS.sub("_", unquote(PurePosixPath(urlsplit(url).path).name))
    return fallback if name.strip(".") == "" else name


class DatastoreClient:
    """London Datastore API client with an on-disk cache.

    Which failures fall back to the cached copy: offline, timeout, HTTP 5xx (and
    other unexpected statuses), truncated body and invalid answers. With
    ``allow_stale`` (the default) :meth:`download` then returns the cached copy with
    a warning saying why; without it, or with nothing cached, it raises the typed
    error. 404 (:class:`NotFoundError`), 401/403 (:class:`AccessDeniedError`), an
    insecure address or redirect (:class:`InsecureUrlError`) and cancelling always
    raise: the user has to know that the dataset is gone, the key is refused or the
    server misbehaved. In every case the cached copy is left exactly as it was, and
    :meth:`cached` still returns it.

    The API key goes only to the Datastore's own origin (scheme, host and port of
    ``base_url``), never to a file host it redirects to, and never into a message.
    """

    def __init__(
        self,
        *,
        cache_dir: Path,
        base_url: str = DEFAULT_BASE_URL,
        transport: Optional[Transport] = None,
        api_key: Optional[str] = None,
        timeout: float = 30,
    ):
        self.base_url = base_url.rstrip("/")
        check_base_url(self.base_url)
        self.cache_dir = Path(cache_dir)
        self.timeout = timeout
        self._transport = transport or RequestsTransport()
        self._api_key = api_key or None
        self._origin = _origin(self.base_url)

    def dataset(self, slug: str, cancelled: Optional[Cancelled] = None) -> dict:
        """The dataset's metadata; ``slug`` may also be a dataset address."""
        slug = parse_slug(slug)
        url = f"{self.base_url}/api/dataset/{slug}"
        response = self._get(url, {"Accept": "application/json"}, cancelled=cancelled)
        if response.status != 200:
            raise self._status_error(response)
        try:
            dataset = json.loads(response.body)
        except ValueError:
            dataset = None
        if not isinstance(dataset, dict) or not isinstance(dataset.get("resources"), dict):
            raise InvalidResponseError(
                tr("The London Datastore's answer for dataset '{slug}' is not the dataset description expected ({url}).").format(
                    slug=slug, url=response.url
                ),
                response.url,
            )
        dataset.setdefault("slug", slug)
        return dataset

    choose_resource = staticmethod(choose_resource)

    def download(
        self,
        slug: str,
        formats: Sequence[str],
        progress: Optional[Progress] = None,
        cancelled: Optional[Cancelled] = None,
        allow_stale: bool = True,
    ) -> Download:
        """The newest file of ``slug`` in one of ``formats``, from the cache when still current."""
        slug = parse_slug(slug)
        try:
            resource = choose_resource(self.dataset(slug, cancelled), formats)
            return self._fetch(slug, resource, progress, cancelled)
        except STALE_OK as error:
            cached = self._cached_entry(slug, formats) if allow_stale else None
            if cached is None:
                raise
            path, meta = cached
            warning = tr("Served the copy of {file} cached on {date} because the download failed. {reason}").format(
                file=path.name, date=_display_date(meta.get("downloaded")), reason=error
            )
            return Download(path, True, warning, meta["resource"])

    def cached(self, slug: str, formats: Sequence[str]) -> Optional[Path]:
        """The newest cached file of ``slug`` in one of ``formats``, or None."""
        cached = self._cached_entry(parse_slug(slug), formats)
        return cached[0] if cached else None

    def _fetch(self, slug, resource, progress, cancelled) -> Download:
        if not resource.get("url"):
            raise InvalidResponseError(
                tr("Resource '{id}' of dataset '{slug}' has no download address.").format(id=resource["id"], slug=slug)
            )
        url = urljoin(self.base_url + "/", str(resource["url"]))
        folder = self.cache_dir / slug
        path = folder / file_name(url, fallback=str(resource["id"]))
        meta = _read_sidecar(path) if path.is_file() else None
        headers = {}
        if meta and meta.get("url") == url:  # validators belong to the url they came from
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        response = self._get(url, headers, progress, cancelled)
        if response.status == 304 and headers:
            return Download(path, True, None, resource)
        if response.status != 200:
            raise self._status_error(response)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, response.body)
        sidecar = {
            "url": url,
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
            "downloaded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "resource": resource,
        }
        _write_atomically(_sidecar_path(path), json.dumps(sidecar, indent=1).encode("utf-8"))
        return Download(path, False, None, resource)

    def _get(self, url: str, headers: Mapping[str, str], progress=None, cancelled=None) -> Response:
        """GET, following up to MAX_REDIRECTS redirects, each checked before it is followed."""
        check_base_url(url)
        for _ in range(MAX_REDIRECTS + 1):
            own_origin = _origin(url) == self._origin
            sent = dict(headers)
            if self._api_key and own_origin:
                sent["Authorization"] = self._api_key
            response = self._transport.get(url, sent, self.timeout, progress, cancelled, authenticate=own_origin)
            if response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location")
            if not location:
                raise InvalidResponseError(
                    tr("{url} answered with a redirect but did not say where to.").format(url=url), url
                )
            target = urljoin(url, location)
            check_redirect(url, target)
            url = target
        raise InvalidResponseError(
            tr("{url} redirected more than {count} times; the server is misconfigured.").format(url=url, count=MAX_REDIRECTS),
            url,
        )

    def _cached_entry(self, slug: str, formats: Sequence[str]) -> Optional[Tuple[Path, dict]]:
        wanted = {name.lower() for name in formats}
        entries: List[Tuple[Path, dict]] = []
        folder = self.cache_dir / slug
        for sidecar in folder.glob("*" + SIDECAR_SUFFIX) if folder.is_dir() else ():
            path = sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)])
            meta = _read_sidecar(path)
            if meta and path.is_file() and _resource_formats(meta.get("resource") or {}) & wanted:
                entries.append((path, meta))
        return max(entries, key=lambda entry: str(entry[1].get("downloaded", "")), default=None)

    def _status_error(self, response: Response) -> DatastoreError:
        # Credentials (the key, or the transport's auth config) go only to the Datastore's own origin.
        sent_key = _origin(response.url) == self._origin and bool(self._api_key or self._transport.holds_credentials)
        return _http_error(response, sent_key)


def _http_error(response: Response, sent_key: bool) -> DatastoreError:
    """The typed error for an HTTP status that is not the answer asked for."""
    url, status = response.url, response.status
    if status == 404:
        return NotFoundError(
            tr("The London Datastore has nothing at {url} (HTTP 404): the dataset or file does not exist or was withdrawn.").format(url=url), url
        )
    if status in (401, 403):
        if sent_key:
            message = tr("The London Datastore refused the API key set in Settings for {url} (HTTP {status}). Check that the key is current and has access to this dataset.")
        else:
            message = tr("The London Datastore refused access to {url} (HTTP {status}): it is a private dataset. Set an API key in Settings.")
        return AccessDeniedError(message.format(url=url, status=status), url)
    if status == 304:
        return InvalidResponseError(
            tr("{url} answered 'not modified' (HTTP 304) to a request that had nothing cached.").format(url=url), url
        )
    return ServerError(
        tr("The London Datastore failed to answer {url} (HTTP {status}). Try again later.").format(url=url, status=status),
        url,
    )


def _origin(url: str) -> Tuple[str, str, Optional[int]]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_sidecar(path: Path) -> Optional[dict]:
    try:
        meta = json.loads(_sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write next to ``path`` then rename over it, so readers see the old or the new file, never half of one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _display_date(value) -> str:
    stamp = _timestamp(value)
    return stamp.strftime("%Y-%m-%d %H:%M UTC") if stamp else tr("an unknown date")
