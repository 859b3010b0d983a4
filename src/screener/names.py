"""Names that become paths, and paths inside the review that never leave it.

A review travels through git, so a search name, a reviewer name, a stage or a file name in
`searches/NAME.toml` may come from a hostile or careless collaborator. Every such name passes
`check_name` before it is joined to a path, and every path the tool builds in the review goes
through `inside`, which refuses symlinks on the way. Appends open each folder in the review
and the file with `O_NOFOLLOW`, relative to the folder above (`open_append_beneath`).

The rule: letters and digits of any script, space, `.`, `_`, `-` and `'`; no path separator, no
leading dot or space, no trailing space or dot, at most 64 characters; no compatibility
variant of a character (fullwidth `ｍ`), no mix of look-alike scripts (Latin with Cyrillic or
Greek), no Windows device name (`CON`, `nul.txt`).
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import stat
import unicodedata
from pathlib import Path

from .errors import ScreenerError

MAX_NAME = 64
# A stored raw file is a search name plus "-update-YYYY-MM-DD", "-NNN" and an extension.
MAX_FILE_NAME = MAX_NAME + 36
# File systems count bytes: 255 per name on Linux and macOS.
MAX_NAME_BYTES = 255
# What a stored file adds to a search name, at most: "-update-YYYY-MM-DD-<sha256[:8]>.nbib" (32
# bytes), "-NN" if that is taken. (24 left a name of 56 four-byte letters valid that no import
# could store: "-<sha256[:8]>" came with naming every export by its content.)
SUFFIX_BYTES = 40
_PUNCTUATION = frozenset(" ._-'")
_RULE = "letters, digits, space, '.', '_', '-' or \"'\"; no leading dot or space; at most"


def name_problem(value: object, limit: int = MAX_NAME) -> str | None:
    """Why `value` cannot be a name that becomes a path, or None when it can."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not a string"
    if not value:
        return "is empty"
    if len(value) > limit:
        return f"is {len(value)} characters long (at most {limit})"
    # A name that becomes part of a file name leaves room for what the file name adds; a whole
    # file name (the longer limit) may use every byte.
    room = 0 if limit >= MAX_FILE_NAME else SUFFIX_BYTES
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES - room:
        return f"is too long for a file name ({len(value.encode('utf-8', 'surrogatepass'))} bytes in UTF-8)"
    if unicodedata.normalize("NFC", value) != value:
        return "is not in Unicode normal form C (the same name could be written two ways)"
    if value[0] in " .":
        return "starts with a dot or a space"
    if value[-1] == " ":
        return "ends with a space"
    if value[-1] == ".":  # Windows drops it: 'x.' and 'x' would be one file there
        return "ends with a dot (Windows drops it, so it would be another name's file there)"
    for char in value:
        if char in _PUNCTUATION or char.isalnum() and unicodedata.category(char)[0] in "LN":
            continue
        shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        return f"has the character {shown}"
    return _lookalike_problem(value) or _windows_problem(value)


# Scripts whose letters look alike: a name mixing them can pose as another ('medlіne', і Cyrillic).
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})
# Device names on Windows, whatever the case or extension ('con.toml' cannot be created there).
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)), *(f"LPT{n}" for n in range(10))}
)


def _lookalike_problem(value: str) -> str | None:
    for char in value:
        plain = unicodedata.normalize("NFKC", char)
        if plain != char:
            return f"has the character {char!r}, a variant of {plain!r} (use {plain!r})"
    # Word by word: 'медлайн.toml' and 'embase ранее' are honest; 'medlіne' is not.
    for word in re.split(r"[ ._'-]+", value):
        scripts: dict[str, str] = {}
        for char in word:
            script = unicodedata.name(char, "").split(" ")[0]
            if char.isalpha() and script in _CONFUSABLE_SCRIPTS:
                scripts.setdefault(script, char)
        if len(scripts) > 1:
            (first, _), (other, char) = list(scripts.items())[:2]
            return (
                f"mixes {first.title()} and {other.title()} letters in {word!r} ({char!r} is "
                f"{unicodedata.name(char)}), so it can look like another name; write it in one script"
            )
    return None


def _windows_problem(value: str) -> str | None:
    stem, dot, rest = value.partition(".")
    if stem.rstrip(" ").upper() in _WINDOWS_DEVICES:
        return f"is a device name on Windows, never a file there; add to it, e.g. {f'{stem}-1{dot}{rest}'!r}"
    return None


def name_key(value: str) -> str:
    """What two names are compared by: names equal after case folding are one file on macOS
    and Windows, so the review holds at most one of them."""
    return unicodedata.normalize("NFKC", value).casefold()


def check_name(
    value: object, what: str, *, limit: int = MAX_NAME, hint: str = "", path: str | Path | None = None
) -> str:
    """`value` itself when it is a safe name, else a ScreenerError saying what and why."""
    problem = name_problem(value, limit)
    if problem is None:
        return value  # type: ignore[return-value]
    shown = repr(value) if not isinstance(value, str) or len(value) <= 70 else f"{value[:60]!r}..."
    raise ScreenerError(
        f"{what} {shown} {problem}",
        path=path,
        hint=hint or f"use {_RULE} {limit} characters",
    )


def rule_text(limit: int = MAX_NAME) -> str:
    return f"{_RULE} {limit} characters"


class UnsafePathError(ScreenerError):
    """A path in the review that is a symlink or leads outside it."""


def inside(root: Path, *parts: str, what: str = "file") -> Path:
    """`root/parts...`, checked: every part a safe name, nothing on the way a symlink.

    `root` is the review directory (already resolved); parts are validated names. An existing
    component that is a symlink is refused, so neither reading nor writing can follow a link
    that a commit planted.
    """
    path = root
    for index, part in enumerate(parts):
        limit = MAX_FILE_NAME if index == len(parts) - 1 else MAX_NAME
        check_name(part, f"{what} name", limit=limit)
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            _refuse_other_normalisation(path)
            continue
        except OSError as exc:
            raise UnsafePathError(f"cannot be read ({exc.strerror})", path=path) from None
        if stat.S_ISLNK(mode):
            raise UnsafePathError(
                "is a symbolic link; screener never follows links inside a review",
                path=path,
                hint="replace the link with the real file or folder (git: commit the file, not a link)",
            )
    return path


def _refuse_other_normalisation(path: Path) -> None:
    """A missing `path` whose name exists in another Unicode form (macOS may commit "zoë" as
    NFD): say so, or that reviewer's decisions (or that export) would silently count for nothing."""
    if path.name.isascii():
        return
    try:
        siblings = os.listdir(path.parent)
    except OSError:
        return
    for name in siblings:
        if name != path.name and unicodedata.normalize("NFC", name) == path.name:
            raise ScreenerError(
                f"is missing, but {name!r} is the same name in another Unicode form",
                path=path,
                hint=f"rename it: git mv {shlex.quote(str(path.parent / name))} {shlex.quote(str(path))}",
            )


def check_not_link(path: Path) -> None:
    """Refuse `path` when it is a symlink (the review root's own folders: searches/, labels/)."""
    if path.is_symlink():
        raise UnsafePathError(
            "is a symbolic link; screener never follows links inside a review",
            path=path,
            hint="replace the link with the real folder",
        )


def open_append_beneath(path: Path, folders: int) -> int:
    """A descriptor for appending to `path` (readable too, with pread), created if missing,
    never through a link: the last `folders` folders of `path` and the file are opened one by
    one, each relative to the one above with O_NOFOLLOW (folders made when missing), so a
    folder swapped for a symlink after any earlier check cannot redirect the write. A file with
    other hard links is refused too: appending to it would write wherever its other names are."""
    dirfd = _open_folder_beneath(Path(path).parent, folders)
    try:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(Path(path).name, flags, 0o644, dir_fd=dirfd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_error(Path(path)) from None
        raise ScreenerError(f"cannot be written ({exc.strerror})", path=path) from None
    finally:
        os.close(dirfd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        os.close(fd)
        raise UnsafePathError(
            "is not a plain file of its own (a device, or a hard link to another file)",
            path=path,
            hint="replace it with a copy of the file (git checkout restores it)",
        )
    return fd


def _open_folder_beneath(path: Path, folders: int) -> int:
    """A descriptor of `path` (a folder), whose last `folders` parts are opened one by one
    with O_NOFOLLOW, each relative to the one above (made when missing)."""
    parts = Path(path).parts
    split = len(parts) - folders
    dirfd = os.open(Path(*parts[:split]), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    for index in range(split, len(parts)):
        name, where = parts[index], Path(*parts[: index + 1])
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            try:
                fd = os.open(name, flags, dir_fd=dirfd)
            except FileNotFoundError:
                os.mkdir(name, dir_fd=dirfd)
                fd = os.open(name, flags, dir_fd=dirfd)
        except OSError as exc:
            os.close(dirfd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _link_error(where) from None
            raise ScreenerError(f"cannot be opened ({exc.strerror})", path=where) from None
        os.close(dirfd)
        dirfd = fd
    return dirfd


def make_folder_beneath(path: Path, folders: int) -> None:
    """Make the last `folders` folders of `path` where missing, none through a link."""
    os.close(_open_folder_beneath(path, folders))


def atomic_write_beneath(path: Path, data: bytes, folders: int = 1) -> None:
    """Write a file of the review all or nothing (a temporary file, fsync, rename), every step
    relative to its folder's descriptor, the last `folders` folders opened without following
    links: a folder swapped for a symlink cannot redirect the write."""
    import secrets

    from .textio import default_file_mode

    path = Path(path)
    dirfd = _open_folder_beneath(path.parent, folders)
    temporary = f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temporary, flags, default_file_mode(), dir_fd=dirfd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path.name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=dirfd)
        except OSError:
            pass
        raise
    finally:
        os.close(dirfd)


def _link_error(path: Path) -> UnsafePathError:
    return UnsafePathError(
        "is a symbolic link; screener never reads or writes through links inside a review",
        path=path,
        hint="replace the link with the real file",
    )


def read_regular_bytes(path: Path, *, limit: int | None = None, follow: bool = False) -> bytes:
    """The bytes of a regular file (textio.read_regular); a symlink is refused unless `follow`
    (for a file the user names on the command line, not one found in a review)."""
    from .textio import read_regular

    try:
        return read_regular(path, limit, follow=follow, missing="is missing")  # a file the review lists
    except OSError as exc:  # ELOOP: a link opened with O_NOFOLLOW
        if exc.errno == errno.ELOOP:
            raise _link_error(Path(path)) from None
        raise


def read_review_text(path: Path, *, limit: int | None = None, hint: str = "save it as UTF-8") -> str:
    """A text file of the review (a toml, a decision file): a regular file, never through a
    link, UTF-8 (an Excel BOM dropped), a bad byte reported with its line."""
    data = read_regular_bytes(path, limit=limit)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScreenerError(
            "is not valid UTF-8", path=path, line=data[: exc.start].count(b"\n") + 1, hint=hint
        ) from None
