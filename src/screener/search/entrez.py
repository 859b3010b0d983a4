"""A careful NCBI E-utilities client on top of Bio.Entrez.

Biopython builds the requests, parses ESearch XML and keeps NCBI's rate limit (it spaces
requests 0.37 s apart, 0.1 s with an API key). It sets no socket timeout and its retries are
few and fixed, so this client turns Biopython's retries off and does its own: a timeout on every
request, exponential backoff with jitter on 429, 5xx, time-outs, dropped connections and
truncated bodies, honouring Retry-After.

Requests go out through `Bio.Entrez.urlopen`, which is swapped for the duration of a call;
`base_url` points them at another E-utilities server (tests use one on 127.0.0.1). A server
that cannot be reached at all (no such host, connection refused, no network) is reported at
once: retrying would only make the user wait for the same answer. NCBI's XML answers are read
offline (`safexml.entrez_read`): no DTD is ever fetched.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import random
import socket
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Bio import Entrez

from ..errors import ScreenerError
from ..net import env_number, read_by
from ..records import clean_text, safe_text
from ..safexml import entrez_read

NCBI_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
USER_CONFIG = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "screener" / "config.toml"


class TransientError(Exception):
    """A failure worth retrying (rate limited, server error, time-out, truncated body)."""


class HistoryExpired(Exception):
    """NCBI no longer knows the WebEnv/query_key (it keeps them for a limited time)."""


@dataclass
class EntrezSettings:
    email: str = ""
    api_key: str = ""
    tool: str = "screener"
    base_url: str = ""  # empty: NCBI itself
    timeout: float = 60.0
    max_retries: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    @property
    def requests_per_second(self) -> int:
        return 10 if self.api_key else 3


def _base_url(env: Mapping[str, str]) -> str:
    url = env.get("SCREENER_EUTILS_URL", "").strip()
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScreenerError(
            f"SCREENER_EUTILS_URL={url!r} is not an http(s) address of an E-utilities server",
            hint="e.g. http://127.0.0.1:8080/entrez/eutils/, or unset it to use NCBI",
        )
    return url


def load_settings(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> EntrezSettings:
    """E-mail, API key and tool from the environment, else the user config; never the review.

    NCBI_EMAIL, NCBI_API_KEY, NCBI_TOOL; the user config is ~/.config/screener/config.toml with
    an [ncbi] table (email, api_key, tool). SCREENER_EUTILS_URL points at another server;
    SCREENER_EUTILS_TIMEOUT and SCREENER_EUTILS_BACKOFF are seconds. A value that cannot be
    used is an error naming it, not a default taken silently.
    """
    env = os.environ if environ is None else environ
    file_values: dict[str, Any] = {}
    path = config_path or USER_CONFIG
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("ncbi", {})
        except tomllib.TOMLDecodeError as exc:
            raise ScreenerError(f"is not valid TOML ({exc})", path=path) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScreenerError(f"cannot be read ({exc})", path=path) from None
        if not isinstance(table, dict):
            raise ScreenerError("[ncbi] must be a table (email, api_key, tool)", path=path)
        for key in ("email", "api_key", "tool"):
            if key in table and not isinstance(table[key], str):
                raise ScreenerError(f"[ncbi] {key} must be a string", path=path)
        file_values = table
    settings = EntrezSettings(
        email=env.get("NCBI_EMAIL") or str(file_values.get("email", "")),
        api_key=env.get("NCBI_API_KEY") or str(file_values.get("api_key", "")),
        tool=env.get("NCBI_TOOL") or str(file_values.get("tool", "screener")),
        base_url=_base_url(env),
    )
    timeout = env_number(env, "SCREENER_EUTILS_TIMEOUT", zero_ok=False, most=3600)
    if timeout is not None:
        settings.timeout = timeout
    backoff = env_number(env, "SCREENER_EUTILS_BACKOFF", zero_ok=True, most=600)
    if backoff is not None:
        settings.backoff_base = backoff
    return settings


_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


def _unreachable(reason: object, host: str) -> str | None:
    """Why `host` cannot be reached at all, or None for a failure worth retrying."""
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve {host}: {reason.strerror or reason}"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection"
    if isinstance(reason, OSError) and reason.errno in _NO_ROUTE:
        return f"{host}: {reason.strerror}"
    return None


class EntrezClient:
    """ESearch and EFetch with time-outs, retries and backoff. One instance per search run."""

    def __init__(
        self,
        settings: EntrezSettings,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        if not settings.email:
            raise ScreenerError(
                "NCBI asks every E-utilities user for an e-mail address",
                hint='set NCBI_EMAIL, or put email = "..." under [ncbi] in ' + str(USER_CONFIG),
            )
        self.settings = settings
        self.sleep = sleep
        self.on_retry = on_retry
        self.requests = 0

    # -- plumbing ---------------------------------------------------------------------

    def _urlopen(self, request: urllib.request.Request | str, *args: Any, **kwargs: Any) -> Any:
        if self.settings.base_url:
            url = request.full_url if isinstance(request, urllib.request.Request) else request
            if url.startswith(NCBI_BASE):
                new_url = self.settings.base_url.rstrip("/") + "/" + url[len(NCBI_BASE) :]
                if isinstance(request, urllib.request.Request):
                    request.full_url = new_url
                else:
                    request = new_url
        kwargs.setdefault("timeout", self.settings.timeout)
        return urllib.request.urlopen(request, *args, **kwargs)

    @contextlib.contextmanager
    def _biopython(self) -> Iterator[None]:
        saved = (Entrez.email, Entrez.api_key, Entrez.tool, Entrez.max_tries, Entrez.urlopen)
        Entrez.email = self.settings.email
        Entrez.api_key = self.settings.api_key or None
        Entrez.tool = self.settings.tool
        Entrez.max_tries = 1  # retries are ours, with backoff
        Entrez.urlopen = self._urlopen
        try:
            yield
        finally:
            Entrez.email, Entrez.api_key, Entrez.tool, Entrez.max_tries, Entrez.urlopen = saved

    def _once(self, function: Callable[..., Any], params: dict[str, Any]) -> bytes:
        self.requests += 1
        started = time.monotonic()
        try:
            with self._biopython():
                handle = function(**params)
            try:
                # Biopython decodes a text/plain body as UTF-8 and raises on a bad byte; the
                # bytes are read as sent and checked by the caller (see _utf8).
                # Read against a deadline: a per-read timeout alone lets a server dripping a
                # byte at a time hold the request for ever.
                raw = handle.buffer if hasattr(handle, "buffer") else handle
                read1 = getattr(raw, "read1", None) or raw.read
                data = read_by(read1, started + self.settings.timeout, self.settings.timeout)
            finally:
                handle.close()
        except urllib.error.HTTPError as exc:
            body = b""
            with contextlib.suppress(Exception):
                body = exc.read()
            if exc.code == 429 or exc.code >= 500:
                raise TransientError(f"HTTP {exc.code}", exc.headers.get("Retry-After")) from None
            if exc.code == 400 and params.get("webenv"):
                raise HistoryExpired(body.decode("utf-8", "replace")[:300]) from None
            # The body reaches the terminal: tags, escapes and control characters cleaned out.
            message = clean_text(body.decode("utf-8", "replace"))[:300] or clean_text(exc.reason)
            raise ScreenerError(f"NCBI refused the request (HTTP {exc.code}): {message}") from None
        except (http.client.IncompleteRead, http.client.RemoteDisconnected) as exc:
            raise TransientError(f"truncated response ({type(exc).__name__})") from None
        except TimeoutError as exc:
            raise TransientError(f"timed out after {self.settings.timeout:g} s ({exc})") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise TransientError(f"timed out after {self.settings.timeout:g} s") from None
            self._raise_if_unreachable(exc.reason)
            raise TransientError(f"connection failed ({exc.reason})") from None
        except (ConnectionError, http.client.HTTPException) as exc:
            self._raise_if_unreachable(exc)
            raise TransientError(f"connection failed ({type(exc).__name__})") from None
        return data.encode("utf-8") if isinstance(data, str) else data

    def _raise_if_unreachable(self, reason: object) -> None:
        base = self.settings.base_url or NCBI_BASE
        why = _unreachable(reason, urllib.parse.urlsplit(base).netloc)
        if why is None:
            return
        check = f"the server SCREENER_EUTILS_URL names ({base})" if self.settings.base_url else "the network"
        raise ScreenerError(
            f"cannot reach NCBI E-utilities ({why})",
            hint=f"check {check}, then run the command again",
        )

    def call(
        self,
        function: Callable[..., Any],
        params: dict[str, Any],
        validate: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """One E-utility call, retried with backoff; `validate` may raise TransientError too."""
        attempt = 0
        while True:
            try:
                data = self._once(function, params)
                return validate(data) if validate else data
            except TransientError as exc:
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise ScreenerError(
                        f"NCBI E-utilities kept failing ({exc.args[0]}) after "
                        f"{self.settings.max_retries} retries",
                        hint="try again later; the search resumes from its last complete batch",
                    ) from None
                delay = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2
                retry_after = exc.args[1] if len(exc.args) > 1 else None
                if retry_after:
                    with contextlib.suppress(ValueError):
                        delay = max(delay, min(self.settings.backoff_max, float(retry_after)))
                if self.on_retry:
                    self.on_retry(f"{exc.args[0]}; retrying in {delay:.1f} s")
                self.sleep(delay)

    # -- E-utilities --------------------------------------------------------------------

    def esearch(
        self,
        term: str,
        *,
        retmax: int = 0,
        mindate: str = "",
        maxdate: str = "",
        datetype: str = "",
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"db": "pubmed", "term": term, "usehistory": "y", "retmax": retmax}
        if mindate or maxdate:
            params.update(mindate=mindate or "1000/01/01", maxdate=maxdate or "3000/12/31")
            params["datetype"] = datetype or "edat"

        def parse(data: bytes) -> dict[str, Any]:
            try:
                result = entrez_read(data)  # DTDs from Biopython's bundle only, never fetched
            except Exception as exc:  # Biopython raises several parser errors
                raise TransientError(f"unreadable ESearch response ({type(exc).__name__})") from None
            if "ERROR" in result and not result.get("Count"):
                raise ScreenerError(f"PubMed refused the query: {clean_text(result['ERROR'])[:300]}")
            ids = [str(i) for i in result.get("IdList", [])]
            count_text = str(result.get("Count", "0")).strip()
            if not count_text.isascii() or not count_text.isdigit():
                raise TransientError(f"ESearch gave the count {clean_text(count_text)[:40]!r}, not a number")
            count = int(count_text)
            if len(ids) < min(retmax, count):
                raise TransientError("ESearch returned fewer ids than it announced")
            return {
                "count": count,
                "ids": ids,
                "webenv": str(result.get("WebEnv", "")),
                "query_key": str(result.get("QueryKey", "")),
                # Server text kept in searches/NAME.toml and shown: control characters cleaned
                # out here, or the review's own checks refuse the file it is written to.
                "query_translation": safe_text(result.get("QueryTranslation", "")),
                "warnings": {
                    safe_text(k): [safe_text(x) for x in v] for k, v in result.get("WarningList", {}).items()
                },
                "errors": {
                    safe_text(k): [safe_text(x) for x in v] for k, v in result.get("ErrorList", {}).items()
                },
            }

        return self.call(Entrez.esearch, params, parse)

    def efetch_medline(
        self,
        webenv: str,
        query_key: str,
        retstart: int,
        retmax: int,
        validate: Callable[[bytes], Any] | None = None,
    ) -> Any:
        params = {
            "db": "pubmed",
            "webenv": webenv,
            "query_key": query_key,
            "retstart": retstart,
            "retmax": retmax,
            "rettype": "medline",
            "retmode": "text",
        }
        return self.call(Entrez.efetch, params, self._utf8(validate))

    def _utf8(self, validate: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
        """`validate` given the body as UTF-8: MEDLINE is text, so a byte that is not UTF-8
        becomes U+FFFD in that record (said above the progress bar) instead of failing the run."""

        def check(data: bytes) -> Any:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if self.on_retry:
                    self.on_retry(f"EFetch sent a byte that is not UTF-8 (byte {exc.start}); kept as U+FFFD")
                data = data.decode("utf-8", "replace").encode("utf-8")
            return validate(data) if validate else data

        return check

    def efetch_medline_ids(self, ids: list[str], validate: Callable[[bytes], Any] | None = None) -> Any:
        """MEDLINE records of these PMIDs (Biopython POSTs a long id list)."""
        params = {
            "db": "pubmed",
            "id": ",".join(ids),
            "retmax": len(ids),
            "rettype": "medline",
            "retmode": "text",
        }
        return self.call(Entrez.efetch, params, self._utf8(validate))
