"""A PDF's text, with pypdf, cached in the user's cache by the sha256 of its bytes.

Why pypdf (BSD) and not pdfminer.six (MIT): on the two real papers of the shared test corpus,
pypdf reads the first two pages 1.3 to 2.6 times faster with the same text (docs/benchmarks.md),
and it refuses the hostile self-referencing XObjects file at once. PyMuPDF is AGPL: not for us.

Every failure is a `PdfProblem` with one line that says what is wrong and what to do: encrypted
with a password, damaged, not a PDF, too slow (a hostile file: extraction is bounded in time
and recursion), no text layer (a scan: OCR it with ocrmypdf when installed).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import signal
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..cache import cache_root
from ..errors import ScreenerError

# The first pages hold the title, the authors and the DOI: matching reads only these.
FIRST_PAGES = 2
# Seconds one file's first pages may take (a hostile file must not hang a run over a thousand
# PDFs), and its whole text (`fulltext show` of a long report).
TIME_LIMIT = 20.0
WHOLE_TIME_LIMIT = 120.0
MAX_BYTES = 200 << 20
# Fewer letters than this on the pages read: no usable text layer (a scan, or a figure).
MIN_LETTERS = 200
CACHE_VERSION = "1"


class PdfProblem(ScreenerError):
    """A PDF screener cannot read: the message says why and what to do."""


@dataclass
class PdfText:
    sha256: str
    pages: list[str]  # the text of each page read
    page_count: int  # pages in the file
    metadata: dict[str, str]

    @property
    def complete(self) -> bool:
        return len(self.pages) >= self.page_count

    @property
    def text(self) -> str:
        return "\n".join(self.pages)

    @property
    def letters(self) -> int:
        return sum(c.isalpha() for page in self.pages for c in page)

    def has_text_layer(self) -> bool:
        return self.letters >= min(MIN_LETTERS, 40 * max(1, len(self.pages)))

    def with_page_marks(self) -> str:
        """Each page under its mark, its paragraphs as single lines (see `reflow`)."""
        return "\n".join(
            f"--- page {number} of {self.page_count} ---\n{reflow(page.rstrip())}\n"
            for number, page in enumerate(self.pages, start=1)
        )


_SENTENCE_END = tuple(".!?:;")


def reflow(page: str) -> str:
    """A page's text with the PDF's line breaks inside a paragraph joined, so that rewrapping it
    to a terminal gives even lines, not a short line after each of the PDF's. A break is joined
    when the next line starts lowercase, or when the line is near full width (the PDF wrapped it)
    and does not end a sentence. Blank lines and short lines (headings, a paragraph's end) stay."""
    lines = page.split("\n")
    # Near full width: 60% of the page's longest line, and never a short heading.
    wide = max(40, 0.6 * max((len(line.strip()) for line in lines), default=0))
    out: list[str] = []
    for line in lines:
        text = line.strip()
        previous = out[-1] if out else ""
        joins = (
            text
            and previous
            and (text[0].islower() or (len(previous) >= wide and not previous.endswith(_SENTENCE_END)))
        )
        if joins:
            # A word hyphenated across the break keeps its hyphen, without a space ("well-known").
            out[-1] = previous + ("" if previous.endswith("-") else " ") + text
        else:
            out.append(text)
    return "\n".join(out)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _TooSlow after `seconds` (pypdf is pure Python, so a signal interrupts it); only
    in the main thread, where signals are delivered."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def extract(
    data: bytes, name: str = "", pages: int | None = FIRST_PAGES, time_limit: float | None = None
) -> PdfText:
    """The text of the first `pages` pages (all when None) of the PDF `data`; a PdfProblem
    naming `name` when it cannot be read."""
    if len(data) > MAX_BYTES:
        raise PdfProblem(
            f"{name}: is {len(data) >> 20} MiB, more than screener reads ({MAX_BYTES >> 20} MiB)"
        )
    if b"%PDF-" not in data[:1024]:
        raise PdfProblem(f"{name}: is not a PDF (no %PDF- header)", hint="save the article as PDF")
    digest = sha256_bytes(data)
    cached = _from_cache(digest, pages)
    if cached is not None:
        return cached
    import pypdf

    if time_limit is None:
        time_limit = TIME_LIMIT if pages is not None else WHOLE_TIME_LIMIT
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its warnings are ours to phrase
    try:
        with _time_limit(time_limit), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                # Publishers often encrypt with an empty user password (printing or copying
                # restricted): that one opens; a real password does not.
                try:
                    opened = reader.decrypt("")
                except Exception:  # noqa: BLE001 - a cipher pypdf cannot handle
                    opened = 0
                if not opened:
                    raise PdfProblem(
                        f"{name}: is encrypted with a password",
                        hint="open it with its password and save an unencrypted copy, then attach that",
                    )
            count = len(reader.pages)
            texts = []
            for page in reader.pages[: count if pages is None else pages]:
                texts.append(page.extract_text() or "")
            metadata = {}
            info = reader.metadata or {}
            for key in ("/Title", "/Author", "/Subject", "/doi", "/Keywords"):
                value = info.get(key)
                if isinstance(value, str):
                    metadata[key.lstrip("/").lower()] = value[:2000]
    except PdfProblem:
        raise
    except _TooSlow:
        raise PdfProblem(
            f"{name}: reading it took more than {time_limit:g} s (a damaged or hostile file); skipped",
            hint="open it in a PDF viewer and save a fresh copy",
        ) from None
    except RecursionError:
        raise PdfProblem(
            f"{name}: its structure refers to itself endlessly (a damaged or hostile file)",
            hint="open it in a PDF viewer and save a fresh copy",
        ) from None
    except MemoryError:
        raise PdfProblem(f"{name}: needs too much memory to read (a damaged or hostile file)") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure on a foreign file is its damage
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise PdfProblem(
            f"{name}: is damaged and cannot be read ({reason})",
            hint="open it in a PDF viewer and save a fresh copy, or download it again",
        ) from None
    result = PdfText(digest, texts, count, metadata)
    _to_cache(result)
    return result


def _cache_path(digest: str) -> Path:
    return cache_root() / "fulltext" / f"v{CACHE_VERSION}" / digest[:2] / f"{digest}.json"


def _from_cache(digest: str, pages: int | None) -> PdfText | None:
    path = _cache_path(digest)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        result = PdfText(digest, list(data["pages"]), int(data["page_count"]), dict(data["metadata"]))
        if not all(isinstance(p, str) for p in result.pages):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pages is None and not result.complete:
        return None
    if pages is not None:
        result.pages = result.pages[:pages]
    return result


def _to_cache(result: PdfText) -> None:
    """Kept unless a longer extraction is there already. The cache is derived: a failure to
    write it costs a re-read, nothing else."""
    from ..textio import atomic_write_text

    path = _cache_path(result.sha256)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if len(old.get("pages", [])) >= len(result.pages):
            return
    except (OSError, ValueError, AttributeError):
        pass
    payload = {"pages": result.pages, "page_count": result.page_count, "metadata": result.metadata}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(payload, ensure_ascii=False))
    except OSError:
        pass


def ocr_available() -> bool:
    return shutil.which("ocrmypdf") is not None


def scan_hint() -> str:
    if ocr_available():
        return "no text layer (a scan?): attach with --ocr, or run ocrmypdf IN.pdf OUT.pdf and attach OUT.pdf"
    return "no text layer (a scan?): OCR it first (e.g. install ocrmypdf, run ocrmypdf IN.pdf OUT.pdf)"


OCR_TIME_LIMIT = 600


def ocr(data: bytes, name: str) -> bytes:
    """The PDF with a text layer added by ocrmypdf (optional: only when it is installed), cached
    by the original's sha256 so a second run does not OCR again."""
    import subprocess
    import tempfile

    digest = sha256_bytes(data)
    cached = ocr_cache_path(digest)
    try:
        return cached.read_bytes()
    except OSError:
        pass
    program = shutil.which("ocrmypdf")
    if program is None:
        raise PdfProblem(f"{name}: {scan_hint()}")
    with tempfile.TemporaryDirectory(prefix="screener-ocr-") as tmp:
        source, target = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        source.write_bytes(data)
        try:
            done = subprocess.run(
                [program, "--skip-text", "--quiet", str(source), str(target)],
                capture_output=True,
                text=True,
                timeout=OCR_TIME_LIMIT,
            )
        except subprocess.TimeoutExpired:
            raise PdfProblem(f"{name}: OCR took more than {OCR_TIME_LIMIT} s; skipped") from None
        except OSError as exc:
            raise PdfProblem(f"{name}: ocrmypdf could not run ({exc.strerror})") from None
        if done.returncode != 0 or not target.is_file():
            said = " ".join((done.stderr or "").split())[-160:]
            raise PdfProblem(f"{name}: OCR failed (ocrmypdf exit {done.returncode}: {said or 'no message'})")
        result = target.read_bytes()
    from ..textio import atomic_write_bytes

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, result)
    except OSError:
        pass
    return result


def ocr_cache_path(data_sha256: str) -> Path:
    return cache_root() / "fulltext" / "ocr" / data_sha256[:2] / f"{data_sha256}.pdf"
