"""The one client every web service goes through (OpenAlex, Europe PMC, Unpaywall; PDF downloads).

Each service is a `Service`: its base URL (an environment variable can point it at a local
test server), its polite rate and the query parameters that identify the user (an API key, an
e-mail). `JsonClient` then gives every source the same behaviour as `search/entrez.py`: a
timeout on every request, retries with exponential backoff and jitter on 429, 5xx, time-outs,
dropped connections and truncated or unreadable bodies (Retry-After honoured), a server that
cannot be reached at all reported at once, and answers cached in the user's cache folder
(never in the review), so an interrupted command resumes where it stopped and a second run
makes no request it made before. Nothing here touches the network until a command calls
`get_json`.

Well-kept parts rather than our own: requests (the HTTP client; urllib3 underneath refuses a
body shorter than its Content-Length), requests-cache (a persistent SQLite cache keyed by URL,
with expiry, and with API keys and e-mails left out of both the key and the stored request),
tenacity (retries: stop and wait policies, an injectable sleep for tests) and pyrate-limiter (a
per-host sliding-window limiter; it sits in the transport adapter, so answers from the cache
cost no slot).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import math
import os
import random
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
import requests_cache
import urllib3
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from .cache import cache_root
from .errors import ScreenerError

_CHUNK = 1 << 16
USER_AGENT = "screener (systematic-review screening; https://github.com/) python-requests"
CACHE_DAYS = 30  # citations grow: a cached answer older than this is asked for again


class TransientError(Exception):
    """A failure worth retrying: rate limited, server error, time-out, truncated body."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Service:
    """One web service: where it is, how fast it may be asked, who is asking."""

    name: str  # as users know it ("OpenAlex")
    base_url: str  # the real service, ending in "/"
    url_env: str  # the environment variable that points it elsewhere (tests)
    per_second: int  # the service's documented (or polite) rate
    identity: Mapping[str, str] = field(default_factory=dict)  # query parameter -> environment variable
    instead: str = ""  # what else to try when it cannot be reached ("--source openalex")


@dataclass
class NetSettings:
    timeout: float = 60.0
    max_retries: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    cache_days: float = CACHE_DAYS
    refresh: bool = False  # ask again even when an answer is cached
    # Requests in flight at once: answers are read while the next requests travel, so the
    # rate limit, not the round trip, sets the pace (the limiter still spaces them).
    workers: int = 4


def env_number(
    env: Mapping[str, str], name: str, *, zero_ok: bool, most: float, unit: str = "seconds"
) -> float | None:
    """A number (of `unit`) from the environment, or None when unset; anything else is an error
    naming the variable. Every source's settings (Entrez's too) are read through it."""
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok) or value > most:
        least = "from 0" if zero_ok else "above 0"
        raise ScreenerError(
            f"{name}={text!r} is not a usable number of {unit}",
            hint=f"set it to a number of {unit} {least} up to {most:g}, or unset it",
        )
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> NetSettings:
    """SCREENER_HTTP_TIMEOUT and SCREENER_HTTP_BACKOFF (seconds), SCREENER_HTTP_CACHE_DAYS."""
    env = os.environ if environ is None else environ
    settings = NetSettings()
    timeout = env_number(env, "SCREENER_HTTP_TIMEOUT", zero_ok=False, most=3600)
    if timeout is not None:
        settings.timeout = timeout
    backoff = env_number(env, "SCREENER_HTTP_BACKOFF", zero_ok=True, most=600)
    if backoff is not None:
        settings.backoff_base = backoff
    days = env_number(env, "SCREENER_HTTP_CACHE_DAYS", zero_ok=True, most=3650, unit="days")
    if days is not None:
        settings.cache_days = days
    return settings


def base_url(service: Service, environ: Mapping[str, str] | None = None) -> str:
    """The service's base URL, or the one its environment variable names (checked)."""
    env = os.environ if environ is None else environ
    url = env.get(service.url_env, "").strip()
    if not url:
        return service.base_url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScreenerError(
            f"{service.url_env}={url!r} is not an http(s) address of a {service.name} server",
            hint=f"e.g. http://127.0.0.1:8080/, or unset it to use {service.base_url}",
        )
    return url if url.endswith("/") else url + "/"


_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


def _unreachable(exc: BaseException) -> str | None:
    """Why a host cannot be reached at all (retrying would not help), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return f"cannot resolve the host name ({current.strerror or current})"
        if isinstance(current, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(current, OSError) and current.errno in _NO_ROUTE:
            return str(current.strerror)
        text = str(current)
        if "Name or service not known" in text or "nodename nor servname" in text:
            return "cannot resolve the host name"
        if "Connection refused" in text or "[Errno 111]" in text:
            return "the connection was refused"
        nested = getattr(current, "reason", None)
        if isinstance(nested, BaseException):
            current = nested
            continue
        args = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        current = args[0] if args else (current.__cause__ or current.__context__)
    return None


PACE_MARGIN = 1.06


def paced_limiter(per_second: int) -> Limiter:
    """One request every 1/per_second seconds plus 6 %, never a burst. A window of `per_second`
    a second with a buffer lets a full window go at once and then waits the buffer on every
    window (at 10 a second, 1.15x the floor); evenly spaced requests reach the floor within
    1.06x and a server counting any one second sees `per_second` unless one request is held
    back by more than 6 % of a second relative to the tenth after it."""
    interval_ms = max(1, math.ceil(1000 * PACE_MARGIN / per_second))
    return Limiter(InMemoryBucket([Rate(1, interval_ms)]), buffer_ms=0)


def read_by(read1: Callable[[int], bytes], deadline: float, limit: float) -> bytes:
    """A whole body read in pieces as they arrive, failing with TimeoutError once `deadline`
    (time.monotonic) has passed: a per-read timeout alone lets a server that sends one byte
    every half second hold a request for ever."""
    parts: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the answer took more than {limit:g} s in all")
        part = read1(_CHUNK)
        if not part:
            return b"".join(parts)
        parts.append(part)


class _RateLimitedAdapter(HTTPAdapter):
    """Takes a slot of the host's limiter for each request that really goes out, and reads the
    body within `deadline` seconds of sending (headers and body together)."""

    def __init__(
        self, limiter: Limiter, host: str, on_send: Callable[[], None], deadline: float = 60.0
    ) -> None:
        super().__init__(pool_connections=1, pool_maxsize=4)
        self.limiter, self.host, self.on_send, self.deadline = limiter, host, on_send, deadline

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.limiter.try_acquire(self.host)
        self.on_send()  # counted as it goes out: a request that fails half-way was still made
        started = time.monotonic()
        kwargs["stream"] = True  # the body is read here, against the deadline
        response = super().send(request, *args, **kwargs)
        try:
            body = read_by(
                lambda n: response.raw.read1(n, decode_content=True),
                started + self.deadline,
                self.deadline,
            )
        except TimeoutError as exc:
            response.close()
            raise requests.exceptions.ReadTimeout(str(exc), request=request) from None
        except urllib3.exceptions.ReadTimeoutError as exc:
            response.close()
            raise requests.exceptions.ReadTimeout(str(exc), request=request) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError, OSError) as exc:
            response.close()
            raise requests.exceptions.ChunkedEncodingError(str(exc), request=request) from None
        response._content = body  # what `response.content` gives; requests-cache stores it
        response._content_consumed = True
        return response


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(when.tzinfo or dt.UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class JsonClient:
    """GET requests to one service answering JSON, cached, rate limited and retried.

    `requests` counts what went out to the network (retries included), `cached` what the
    cache answered. `on_retry` hears each retry (the CLI prints it above the progress bar).
    """

    def __init__(
        self,
        service: Service,
        settings: NetSettings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
        per_second: int | None = None,
        paced: bool = False,
    ) -> None:
        env = os.environ if environ is None else environ
        self.service = service
        self.settings = settings or load_settings(env)
        self.base_url = base_url(service, env)
        self.identity = {param: env[var] for param, var in service.identity.items() if env.get(var)}
        self.sleep = sleep
        self.on_retry = on_retry
        self.requests = 0
        self.cached = 0
        self._count_lock = threading.Lock()
        self.host = urllib.parse.urlsplit(self.base_url).netloc
        rate = per_second or service.per_second
        # A 150 ms margin: a slot is taken a little before the request reaches the server, and
        # requests in flight together arrive in a jittered order.
        self._limiter = (
            paced_limiter(rate)
            if paced
            else Limiter(InMemoryBucket([Rate(rate, Duration.SECOND)]), buffer_ms=150)
        )
        self._session: requests_cache.CachedSession | None = None

    @property
    def session(self) -> requests_cache.CachedSession:
        """Opened on first use: a client that is never asked anything creates no cache file."""
        if self._session is None:
            folder = cache_root() / "http"
            folder.mkdir(parents=True, exist_ok=True)
            days = self.settings.cache_days
            self._session = requests_cache.CachedSession(
                str(folder / f"{self.service.name.lower().replace(' ', '-')}.sqlite"),
                backend="sqlite",
                expire_after=dt.timedelta(days=days) if days else requests_cache.DO_NOT_CACHE,
                allowable_codes=(200, 404),  # "not found" is an answer too
                ignored_parameters=tuple(self.service.identity),  # never in the key or the file
                cache_control=False,
                # Write-ahead log, synchronous=NORMAL: no fsync per answer (a cache entry lost in
                # a power cut is asked for again), and the file is never left torn.
                wal=True,
            )
            self._session.headers["User-Agent"] = USER_AGENT
            self._session.mount(
                self.base_url,
                _RateLimitedAdapter(self._limiter, self.host, self._sent, self.settings.timeout),
            )
        return self._session

    def _sent(self) -> None:
        with self._count_lock:
            self.requests += 1

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """function(item) for each item, up to `workers` at once, answers in the items' order."""
        items = list(items)
        if self.settings.workers <= 1 or len(items) <= 1:
            yield from map(function, items)
            return
        _ = self.session  # opened once, before the threads share it
        with ThreadPoolExecutor(max_workers=self.settings.workers) as pool:
            yield from pool.map(function, items)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def url(self, path: str) -> str:
        return urllib.parse.urljoin(self.base_url, path.lstrip("/"))

    def _once(
        self, url: str, params: dict[str, Any], refresh: bool
    ) -> tuple[int, Any, requests.Response | None]:
        try:
            response = self.session.get(
                url,
                params={**params, **self.identity},
                timeout=self.settings.timeout,
                force_refresh=refresh,
            )
        except requests.exceptions.Timeout:
            raise TransientError(f"timed out after {self.settings.timeout:g} s") from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise TransientError(f"truncated response ({type(exc).__name__})") from None
        except requests.exceptions.ConnectionError as exc:
            why = _unreachable(exc)
            if why:
                where = (
                    f"the server {self.service.url_env} names"
                    if self.base_url != self.service.base_url
                    else ("the network")
                )
                raise ScreenerError(
                    f"cannot reach {self.service.name} at {self.host} ({why})",
                    hint=f"check {where}, then run the command again: what was fetched is kept"
                    + (f"; or {self.service.instead}" if self.service.instead else ""),
                ) from None
            raise TransientError(f"connection failed ({type(exc).__name__})") from None
        except (requests.exceptions.RequestException, ValueError) as exc:
            # A redirect to file://, gopher://, an address that does not parse, or a loop.
            raise ScreenerError(
                f"{self.service.name} at {self.host}: the server redirected to an address screener "
                f"does not follow ({_target(exc)})",
                hint=f"check the server {self.service.url_env} names, or unset it",
            ) from None
        if getattr(response, "from_cache", False):
            with self._count_lock:
                self.cached += 1
        status = response.status_code
        if status == 429 or status >= 500:
            wait = _retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > self.settings.backoff_max:
                raise ScreenerError(
                    f"{self.service.name} asks to wait {_duration(wait)} (HTTP {status}): try again later",
                    hint="what was fetched is cached and is not asked for again",
                )
            raise TransientError(f"HTTP {status}", wait)
        if status == 404:
            return status, None, response
        if status >= 400:
            message = _printable(response.text.strip()[:300]) or response.reason
            raise ScreenerError(f"{self.service.name} refused the request (HTTP {status}): {message}")
        try:
            return status, json.loads(response.content), response
        except (ValueError, RecursionError):
            # A body cut short with no Content-Length, or a proxy's error page: not kept.
            self._forget(response)
            raise TransientError("unreadable JSON (truncated?)") from None

    def _forget(self, response: requests.Response | None) -> None:
        """Drop a damaged answer from the cache: kept, it would fail every rerun for a month."""
        if response is not None:
            with contextlib.suppress(Exception):
                self.session.cache.delete(requests=[response.request])

    def _wait(self, state: RetryCallState) -> float:
        return _backoff(self.settings, state)

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        validate: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The JSON answer to GET base_url/path?params, or None when the service says 404.

        `validate` may raise TransientError (a page with fewer results than it announced): the
        cached answer is dropped and the request made again.
        """
        url = self.url(path)
        query = dict(params or {})
        refresh = self.settings.refresh

        def attempt() -> Any:
            nonlocal refresh
            status, data, response = self._once(url, query, refresh)
            if data is None or validate is None:
                return data
            try:
                return validate(data)
            except TransientError:
                self._forget(response)
                refresh = True  # the cached copy is the bad one
                raise
            except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
                # A check that missed a shape: the answer is damaged all the same.
                self._forget(response)
                refresh = True
                raise TransientError(f"a damaged answer ({type(exc).__name__})") from None

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.upcoming_sleep
            if self.on_retry:
                self.on_retry(f"{self.service.name}: {exc}; retrying in {delay:.1f} s")

        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.settings.max_retries + 1),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except TransientError as exc:
            raise ScreenerError(
                f"{self.service.name} kept failing ({exc}) after {self.settings.max_retries} retries",
                hint="try again later; what was fetched is cached and is not asked for again",
            ) from None


# -- Services more than one command asks (chase and fulltext get share their caches) -----------

OPENALEX = Service(
    name="OpenAlex",
    base_url="https://api.openalex.org/",
    url_env="SCREENER_OPENALEX_URL",
    per_second=100,  # documented: at most 100 requests a second, whatever the plan
    identity={"api_key": "OPENALEX_API_KEY", "mailto": "OPENALEX_EMAIL"},
)
EUROPEPMC = Service(
    name="Europe PMC",
    base_url="https://www.ebi.ac.uk/europepmc/",
    url_env="SCREENER_EUROPEPMC_URL",
    per_second=10,  # no published limit: a polite pace
)
UNPAYWALL = Service(
    name="Unpaywall",
    base_url="https://api.unpaywall.org/",
    url_env="SCREENER_UNPAYWALL_URL",
    # Documented: 100,000 calls a day (about 1.2 a second over a day); bursts of 10 a second
    # are what its own clients use politely.
    per_second=10,
    identity={"email": "UNPAYWALL_EMAIL"},
)


# -- Binary downloads (PDFs) from whatever host an answer names --------------------------------

PDF_PER_SECOND = 10  # per host: publishers and repositories publish no rate; a polite pace
MAX_DOWNLOAD = 200 << 20  # as fulltext.text.MAX_BYTES: a larger file is never read anyway


class Refused(Exception):
    """A download that is not kept: not a PDF, too large, gone, or failing after retries."""


@dataclass(frozen=True)
class Download:
    path: Path  # the temporary file holding the bytes (the caller moves or deletes it: discard)
    sha256: str
    size: int
    url: str  # where it came from, after redirects
    # The file's handle, flock-ed while the download lives: a later run's clean_stale_downloads
    # leaves it alone; a kill -9 releases the lock, and the next run removes the file.
    lock: IO[bytes] | None = field(default=None, compare=False, repr=False)

    def discard(self) -> None:
        """Remove the temporary file and release its lock."""
        self.path.unlink(missing_ok=True)
        if self.lock is not None:
            self.lock.close()


def downloads_folder() -> Path:
    return cache_root() / "downloads"


def clean_stale_downloads(folder: Path | None = None) -> int:
    """Remove `*.part` files an earlier run left (Ctrl-C between download and keep, kill -9):
    those from before now that no live download holds locked. How many were removed."""
    folder = folder or downloads_folder()
    started, removed = time.time(), 0
    for path in folder.glob("*.part") if folder.is_dir() else ():
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_mtime >= started:
                continue
            with path.open("rb") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another run's download, still in use
                path.unlink()
                removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove: never a reason to stop a run
    return removed


class _PerHostAdapter(HTTPAdapter):
    """One limiter per host, taken for every request that really goes out (redirects too)."""

    def __init__(self, per_second: int, on_send: Callable[[], None]) -> None:
        super().__init__(pool_connections=8, pool_maxsize=8)
        self.per_second, self.on_send = per_second, on_send
        self._limiters: dict[str, Limiter] = {}
        self._lock = threading.Lock()

    def limiter(self, host: str) -> Limiter:
        with self._lock:
            if host not in self._limiters:
                self._limiters[host] = paced_limiter(self.per_second)
            return self._limiters[host]

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        host = urllib.parse.urlsplit(request.url or "").netloc
        self.limiter(host).try_acquire(host)
        self.on_send()
        return super().send(request, *args, **kwargs)


_PDF_TYPES = ("", "application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream")


def _is_pdf_type(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    # Servers label PDFs loosely (octet-stream, none at all); the magic bytes decide those.
    return kind in (
        "",
        "application/pdf",
        "application/x-pdf",
        "application/octet-stream",
        "binary/octet-stream",
    )


class Downloader:
    """GET a PDF from any http(s) URL: per-host rate limit, the same retries as `JsonClient`,
    streamed to a temporary file in the user's cache folder (never held in memory whole twice),
    refused when it is not a PDF (an HTML landing page), larger than `max_bytes` or cut short.
    Not cached over HTTP: the review's manifest is what says a report was fetched."""

    def __init__(
        self,
        settings: NetSettings | None = None,
        *,
        per_second: int = PDF_PER_SECOND,
        max_bytes: int = MAX_DOWNLOAD,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.max_bytes, self.sleep, self.on_retry = max_bytes, sleep, on_retry
        self.requests = 0
        self._count_lock = threading.Lock()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/pdf"
        self.adapter = _PerHostAdapter(per_second, self._sent)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)

    def _sent(self) -> None:
        with self._count_lock:
            self.requests += 1

    def close(self) -> None:
        self.session.close()

    def _once(self, url: str) -> Download:
        import hashlib
        import tempfile

        try:
            response = self.session.get(url, timeout=self.settings.timeout, stream=True)
        except requests.exceptions.Timeout:
            raise TransientError(f"timed out after {self.settings.timeout:g} s") from None
        except requests.exceptions.ConnectionError as exc:
            why = _unreachable(exc)
            if why:
                raise Refused(f"cannot reach {urllib.parse.urlsplit(url).netloc} ({why})") from None
            raise TransientError(f"connection failed ({type(exc).__name__})") from None
        except requests.exceptions.RequestException as exc:
            raise Refused(f"cannot be fetched ({type(exc).__name__})") from None
        with response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise TransientError(f"HTTP {status}", _retry_after(response.headers.get("Retry-After")))
            if status >= 400:
                raise Refused(f"HTTP {status} {response.reason or ''}".strip())
            kind = response.headers.get("Content-Type", "")
            if not _is_pdf_type(kind):
                raise Refused(f"the server sent {kind.split(';')[0] or 'something'} instead of a PDF")
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > self.max_bytes:
                raise Refused(f"is {int(announced) >> 20} MiB, more than {self.max_bytes >> 20} MiB")
            folder = downloads_folder()
            folder.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            handle = tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False)  # noqa: SIM115
            keep = False
            try:
                # Locked while in use (the handle stays open in the Download): see clean_stale_downloads.
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                for chunk in response.iter_content(_CHUNK):
                    if size == 0 and b"%PDF-" not in chunk[:1024]:
                        raise Refused("is not a PDF (no %PDF- header; a web page?)")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise Refused(f"is more than {self.max_bytes >> 20} MiB")
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                if size == 0:
                    raise TransientError("an empty body")
                if announced.isdigit() and size != int(announced):
                    raise TransientError(f"truncated body ({size} of {announced} bytes)")
                keep = True
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
                raise TransientError(f"truncated body ({type(exc).__name__})") from None
            finally:
                if not keep:  # any exception, Ctrl-C too: no .part left behind
                    os.unlink(handle.name)
                    handle.close()
        return Download(Path(handle.name), digest.hexdigest(), size, response.url or url, handle)

    def fetch(self, url: str) -> Download:
        """The PDF at `url` in a temporary file; Refused (with why) when it is not kept."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"{url[:80]!r} is not an http(s) address")

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if self.on_retry:
                self.on_retry(f"{parts.netloc}: {exc}; retrying in {state.upcoming_sleep:.1f} s")

        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.settings.max_retries + 1),
            wait=lambda state: _backoff(self.settings, state),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._once, url)
        except TransientError as exc:
            raise Refused(f"kept failing ({exc}) after {self.settings.max_retries} retries") from None


def _target(exc: BaseException) -> str:
    """The address a refused request or redirect named, as far as the error says."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) if request is not None else None
    return _printable(str(url or exc))[:120]


def _printable(text: str) -> str:
    """Server text on its way to a terminal: every control or bidi character a space (as
    records.safe_text, which sits above this layer)."""
    return "".join(c if c.isprintable() else " " for c in text)


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.0f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s"


def _backoff(settings: NetSettings, state: RetryCallState) -> float:
    """Exponential backoff with jitter, at least what Retry-After asked (capped)."""
    delay = min(settings.backoff_max, settings.backoff_base * 2 ** (state.attempt_number - 1))
    delay *= 0.5 + random.random() / 2
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        delay = max(delay, min(settings.backoff_max, exc.retry_after))
    return delay
