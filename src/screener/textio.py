"""Reading export files as text: encodings real databases produce, and refusing binaries."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import ImportFormatError, ScreenerError

# The largest export read: far above any real database export (PubMed's 10,000-record MEDLINE
# files are ~30 MB), and a bound on the memory a mistaken path (a disk image, a log) can take.
MAX_EXPORT_BYTES = 1 << 30
# The largest text file a user names for a small value (a search strategy).
MAX_USER_TEXT_BYTES = 1 << 20

_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
]


def decode_bytes(data: bytes, path: str | Path) -> tuple[str, str]:
    """Decode an export: a BOM decides; else UTF-16 when its NULs say so (no BOM); else UTF-8;
    else Windows-1252 (what old exports use).

    Returns (text, encoding). Raises ImportFormatError for empty or binary files.
    """
    if not data.strip():
        raise ImportFormatError("the file is empty", path=path, hint="export the search results again")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1 if encoding == "utf-8-sig" else None
                raise ImportFormatError(
                    f"starts with a {encoding} byte-order mark but is not valid {encoding}",
                    path=path,
                    line=line,
                    hint="re-export it as UTF-8",
                ) from None
    head = data[:8192]
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                f"looks like {utf16.upper()} text without a byte-order mark, but is not valid "
                f"{utf16.upper()} (byte {exc.start})",
                path=path,
                hint="re-export it as UTF-8",
            ) from None
        if "\x00" not in text:
            return text, utf16
    if b"\x00" in head or _looks_binary(head):
        raise ImportFormatError(
            "is a binary file, not a text export",
            path=path,
            hint="export as RIS, MEDLINE/nbib, XML, CSV or BibTeX; for Excel use .xlsx",
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when `data` is UTF-16 with no byte-order mark (some Windows
    tools write it so): a NUL in every other byte, as Latin text gives, and almost never between."""
    head = data[:8192]
    if len(data) % 2 or len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.6 * len(zeros) and others.count(0) <= 0.01 * len(others):
            return encoding
    return None


def _looks_binary(head: bytes) -> bool:
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control > max(4, len(head) // 100)


def read_regular(
    path: str | Path,
    limit: int | None = None,
    what: str = "a file",
    error: type[ScreenerError] = ScreenerError,
    follow: bool = True,
    missing: str = "no such file",
) -> bytes:
    """The bytes of a regular file, at most `limit`: the one reader of files for every caller.

    A FIFO, a device (/dev/zero, /dev/stdin), a socket or a folder is refused without reading
    it: reading one would wait forever or never end. `follow=False` (files found inside a
    review) opens with O_NOFOLLOW and lets the ELOOP OSError of a symlink through, for
    names.read_regular_bytes to name it.
    """
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait (it is refused just below).
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    except FileNotFoundError:
        raise error(missing, path=path) from None
    except IsADirectoryError:
        raise error(f"is a directory, not {what}", path=path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise
        raise error(f"cannot be read ({exc.strerror})", path=path) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"is a directory, not {what}", path=path)
        if not stat.S_ISREG(info.st_mode):
            kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
            raise error(f"is {kind}, not a regular file", path=path, hint=f"save {what} as a file first")
        limit = limit if limit is not None else info.st_size + (1 << 30)  # only a file that grows
        too_large = error(
            f"is too large ({info.st_size:,} bytes; at most {limit:,})",
            path=path,
            hint=f"is this really {what}?",
        )
        if info.st_size > limit:
            raise too_large
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError as exc:
                raise error(f"cannot be read ({exc.strerror})", path=path) from None
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_export_bytes(path: str | Path) -> bytes:
    """The bytes of an export file, with the usual mistakes (no file, a folder, a device, a
    FIFO, something far too large) as user errors."""
    return read_regular(path, MAX_EXPORT_BYTES, "an export file", ImportFormatError)


def read_user_text(path: str | Path, what: str) -> str:
    """A small text file the user names on the command line (a query file), as text.

    UTF-8 (a BOM is dropped), UTF-16 with a BOM (Notepad's "Unicode") or without, else Windows-1252, the
    usual encoding of text saved on Windows. A binary file, a device, a FIFO or anything over
    MAX_USER_TEXT_BYTES is refused with a ScreenerError naming `what` ("query file").
    """
    data = read_regular(path, MAX_USER_TEXT_BYTES, f"a {what}")
    not_text = ScreenerError(
        "is not a text file (it holds binary data)", path=path, hint=f"the {what} must be plain text"
    )
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise ScreenerError(
                    f"starts with a {encoding} byte-order mark but is not valid {encoding}",
                    path=path,
                    hint=f"save the {what} again as UTF-8 text",
                ) from None
            break
    else:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            text = data.decode(utf16, "replace")
        elif b"\x00" in data or _looks_binary(data[:8192]):
            raise not_text
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
                    text = data.decode("latin-1")
    if "\x00" in text:
        raise not_text
    return text


def read_text(path: str | Path) -> tuple[str, str]:
    """Read and decode an export file; see `decode_bytes`."""
    return decode_bytes(read_export_bytes(path), path)


def default_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = default_file_mode()


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it: all or nothing.

    `durable=False` skips the fsync, for rebuildable caches: after a crash such a file may be
    empty or old, never half-written under its name.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def open_cache_file(path: str | Path) -> int:
    """A descriptor of a cache file opened for reading, which must be a regular file: a FIFO
    planted there must not block, a directory or device is no cache entry (ValueError: the
    caller rebuilds it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def load_marshalled(path: str | Path) -> object:
    """marshal.loads of a cache file (see `open_cache_file`). Read into memory, not mapped: a
    mapped file cut short while it is read (by another writer, or over NFS) kills the process
    with SIGBUS, and nothing can say what happened. Raises what marshal raises for a damaged
    or empty file: the caller rebuilds it."""
    import marshal

    with os.fdopen(open_cache_file(path), "rb") as handle:
        return marshal.loads(handle.read())
