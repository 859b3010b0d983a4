"""Reading export files as text: encodings real databases produce, and refusing binaries."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ImportFormatError

_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
]


def decode_bytes(data: bytes, path: str | Path) -> tuple[str, str]:
    """Decode an export: a BOM decides; else UTF-8; else Windows-1252 (what old exports use).

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


def _looks_binary(head: bytes) -> bool:
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control > max(4, len(head) // 100)


def read_export_bytes(path: str | Path) -> bytes:
    """The bytes of an export file, with the usual mistakes (no file, a folder) as user errors."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ImportFormatError("no such file", path=path) from None
    except IsADirectoryError:
        raise ImportFormatError("is a directory, not an export file", path=path) from None


def read_text(path: str | Path) -> tuple[str, str]:
    """Read and decode an export file; see `decode_bytes`."""
    return decode_bytes(read_export_bytes(path), path)


def _default_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_file_mode()


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
