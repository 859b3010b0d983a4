"""What review.toml and searches/NAME.toml may hold: every key's type and allowed values.

Both files travel through git, so a collaborator's typo or a hostile commit reaches every
command. Each file is checked in full when it is read: a wrong value is a ScreenerError naming
the file, the key path (`reviewers[2].role`, `files[0].sha256`), what was found and what to
write instead. Unknown keys are allowed (later versions add settings) and come back as
warnings, with the known key they probably misspell.

The schema is declarative: a `Table` of keys, each a `Spec` that checks one value and returns
it normalised (a TOML date becomes its ISO text). Rules that span keys (stage order, duplicate
names, a search's name against its file's) follow the table check. `parse_toml` parses the
text itself, refusing what would stall the TOML parser.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import shlex
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ScreenerError
from .importers import FORMATS
from .names import MAX_FILE_NAME, MAX_NAME, check_name, name_problem, rule_text
from .records import safe_text

# The values the two files may hold live here, at the bottom, and the modules that act on them
# import them from here (review, prisma, search.pubmed): nothing here imports upwards.
STAGES = ("title-abstract", "full-text")  # in screening order: full-text reads title-abstract
ROLES = ("screener", "resolver")
# The PRISMA 2020 sources a search can be: databases and registers, or other methods.
DATABASE_KINDS = ("database", "register")
OTHER_KINDS = ("website", "organisation", "citations")
KINDS = DATABASE_KINDS + OTHER_KINDS
SOURCES = ("file", "pubmed")
# Where `screener fulltext get` looks for open-access copies, in the order given.
FULLTEXT_SOURCES = ("europepmc", "unpaywall", "openalex")
DATETYPES = ("edat", "pdat", "mdat", "crdt")  # PubMed's dates a search can be limited by
# tomllib's time grows with the square of a dotted key's length (10,000 parts: 3 s, 400 MB).
MAX_KEY_PARTS = 32


def default_votes(active_screeners: int) -> int:
    """Votes that make a record final where review.toml says none: two, or one when the
    review has a single active screener."""
    return max(1, min(2, active_screeners))


@dataclass
class Checked:
    """A validated file: its contents with known values normalised, and warnings to show once."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class Context:
    """The file being checked: where errors point, and the warnings collected so far."""

    def __init__(self, path: Path, root: Table) -> None:
        self.path, self.root = path, root
        self.warnings: list[str] = []

    def error(self, key: str, problem: str, hint: str) -> ScreenerError:
        return ScreenerError(f"{key} {problem}", path=self.path, hint=hint)


# -- describing what was found -------------------------------------------------------------


def shown(text: str, limit: int = 60) -> str:
    """A string as Python writes it (control characters escaped), cut to `limit` characters."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def found(value: object) -> str:
    """What a TOML value is, for 'KEY is ...' messages; never deep (a value may nest 900 levels)."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {shown(value)}"
    if isinstance(value, dt.datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, dt.time):
        return f"the time {value.isoformat()}"
    if isinstance(value, list):
        if not value:
            return "an empty array"
        if len(value) <= 4 and all(isinstance(item, str) for item in value):
            return "the array [" + ", ".join(shown(item, 30) for item in value) + "]"
        return f"an array of {len(value)} value(s)"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def key_text(key: str) -> str:
    """A key as it can be printed: bare when it is a plain TOML key, else quoted and escaped."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else shown(key, 40)


def control_character(text: str, allow: str = "") -> str | None:
    """The first control character of `text` (terminal escapes, NUL...) not in `allow`."""
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in allow:
            return f"U+{ord(char):04X}"
    return None


# -- helpers -------------------------------------------------------------------------------


def _is_day(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_timestamp(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2})?)?", text):
        return False
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _plural(kind: str) -> str:
    return {"a string": "strings", "a table": "tables"}.get(kind, kind)


def could_be_labels_file(name: str) -> bool:
    """Whether labels/<stage>/NAME.csv can exist (earlier versions wrote any such name)."""
    return (
        bool(name)
        and "/" not in name
        and "\0" not in name
        and name not in (".", "..")
        and len(f"{name}.csv".encode()) <= 255  # a file name's limit on common file systems
    )


def safe_name(name: str) -> str:
    """A name within the rule made from `name`, to suggest in a rename."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(c if name_problem(c) is None or c in " .'" else "-" for c in text)
    text = re.sub(r"-{2,}", "-", text).lstrip(" .-").rstrip(" -")[:MAX_NAME].rstrip(" ")
    return text if name_problem(text) is None else "reviewer"


# -- value specs ---------------------------------------------------------------------------


class Spec:
    """One value's type and rule. `check` returns the value normalised or raises."""

    kind = "a value"  # what the value must be, for messages
    example = '"..."'  # how to write one, for hints

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        raise NotImplementedError

    def wrong_type(self, value: Any, key: str, ctx: Context) -> ScreenerError:
        leaf = key.rsplit(".", 1)[-1]
        example = self.example if leaf.endswith("]") else f"{leaf} = {self.example}"
        return ctx.error(key, f"is {found(value)}; it must be {self.kind}", f"e.g. {example}")


class Text(Spec):
    """A string; free text may hold line breaks and tabs, never other control characters (a
    terminal escape in a title would act on the screen of whoever runs `status`)."""

    kind = "a string"

    def __init__(
        self, multiline: bool = True, nonempty: bool = False, example: str = '"..."', controls: bool = False
    ) -> None:
        self.multiline, self.nonempty, self.example = multiline, nonempty, example
        self.controls = controls  # any character at all: a record of a name, never printed

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        bad = None if self.controls else control_character(value, "\t\n\r" if self.multiline else "")
        if bad:
            what = "a line break" if bad in ("U+000A", "U+000D") else f"the control character {bad}"
            raise ctx.error(key, f"{shown(value)} holds {what}", "remove it; it would garble the screen")
        if self.nonempty and not value.strip():
            raise ctx.error(key, f"is empty ({shown(value)})", "write the text, or remove the entry")
        if self.nonempty and value != value.strip():
            raise ctx.error(
                key, f"{shown(value)} starts or ends with a space", "remove the spaces: they cannot be seen"
            )
        # Bidi controls (no Cc, so not refused above) are cleaned like record fields: a title
        # reaches terminals, the report and exports.
        return value if self.controls else safe_text(value)


class Choice(Spec):
    """One of a few strings; `values` may be a function, for lists that live in slow modules."""

    kind = "a string"

    def __init__(self, values: Sequence[str] | Callable[[], Sequence[str]], why: str = "") -> None:
        self._values, self.why = values, why

    @property
    def values(self) -> Sequence[str]:
        return self._values() if callable(self._values) else self._values

    @property
    def example(self) -> str:  # type: ignore[override]
        return f'"{self.values[0]}"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        values = self.values
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if value not in values:
            close = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            hint += "one of: " + ", ".join(values) + (f"; {self.why}" if self.why else "")
            raise ctx.error(key, f"is {found(value)}, which is not one of the allowed values", hint)
        return value


class Integer(Spec):
    """A whole number, at least `minimum` (TOML's true/false are not numbers here)."""

    def __init__(self, minimum: int = 0, why: str = "") -> None:
        self.minimum = minimum
        self.kind = f"a whole number of at least {minimum}"
        self.example = str(max(minimum, 1))
        self.why = why or f"a count is {minimum} or more"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(
                key,
                f"is {found(value)}; it must be {self.kind}",
                f"write the number without quotes; {self.why}",
            )
        if value < self.minimum:
            raise ctx.error(key, f"is {value}; it must be at least {self.minimum}", self.why)
        return value


class Boolean(Spec):
    """true or false (not the strings "true"/"false")."""

    kind = "true or false"
    example = "false"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, bool):
            raise self.wrong_type(value, key, ctx)
        return value


class Votes(Integer):
    """How many agreeing screener decisions make a record final: 1 to 3, for every stage
    (`votes = 2`) or per stage (`votes = { title-abstract = 1, full-text = 2 }`)."""

    PER_STAGE = "{ title-abstract = 1, full-text = 2 }"

    def __init__(self) -> None:
        super().__init__(1, "1 (single screening) to 3; 2 is dual screening")
        self.kind = "a whole number from 1 to 3, or a table of one per stage"
        self.example = "2"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, dict):
            return self._one(value, key, ctx)
        if not value:
            raise ctx.error(
                key,
                "is an empty table",
                f"give one number per stage, e.g. votes = {self.PER_STAGE}, or remove votes",
            )
        for stage in value:
            if stage not in STAGES:
                close = difflib.get_close_matches(stage.casefold().replace("_", "-"), STAGES, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ctx.error(
                    f"{key}.{key_text(stage)}",
                    "is no stage",
                    f"{hint}the stages are {' and '.join(STAGES)}, e.g. votes = {self.PER_STAGE}",
                )
        return {stage: self._one(number, f"{key}.{stage}", ctx) for stage, number in value.items()}

    def _one(self, value: Any, key: str, ctx: Context) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(
                key,
                f"is {found(value)}; it must be a whole number from 1 to 3",
                f"write the number without quotes; {self.why}",
            )
        if not 1 <= value <= 3:
            raise ctx.error(key, f"is {value}; it must be from 1 to 3", self.why)
        return value


class Fraction(Spec):
    """A share of the records, from 0 to 1 (0.1 is 10%); a whole 0 or 1 is accepted too."""

    kind = "a fraction from 0 to 1"
    example = "0.1"

    def __init__(self, why: str) -> None:
        self.why = why

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ctx.error(
                key, f"is {found(value)}; it must be {self.kind}", f"e.g. {self.example}; {self.why}"
            )
        if not 0 <= value <= 1:
            hint = f"a fraction, not a percent: 0.1 is 10%; {self.why}"
            raise ctx.error(key, f"is {value}; it must be from 0 to 1", hint)
        return float(value)


class Date(Spec):
    """A day, "YYYY-MM-DD" (or a bare TOML date), stored as its text; "" when unknown."""

    kind = 'a date "YYYY-MM-DD"'
    example = '"2024-03-01"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if type(value) is dt.date:
            return value.isoformat()
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if value and not _is_day(value):
            raise ctx.error(key, f"is {found(value)}, not a date", "use YYYY-MM-DD, e.g. 2024-03-01")
        return value


class Timestamp(Spec):
    """When something ran: an ISO date or date-time (as screener writes them), or ""."""

    kind = 'an ISO date-time "YYYY-MM-DDTHH:MM:SS+00:00"'
    example = '"2024-03-01T12:00:00+00:00"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if isinstance(value, dt.date):  # a bare TOML date or date-time
            return value.isoformat()
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if value and not _is_timestamp(value):
            raise ctx.error(key, f"is {found(value)}, not a date or date-time", f"use e.g. {self.example}")
        return value


class PubmedDate(Spec):
    """An Entrez date limit: YYYY, YYYY/MM or YYYY/MM/DD (or with '-'), or ""."""

    kind = "a date string"
    example = '"2012/06/15"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        match = re.fullmatch(r"([0-9]{4})(?:[/-]([0-9]{1,2})(?:[/-]([0-9]{1,2}))?)?", value)
        try:
            if value and not match:
                raise ValueError
            if match:
                dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
        except ValueError:
            raise ctx.error(
                key, f"is {found(value)}, not a date", "use YYYY, YYYY/MM or YYYY/MM/DD"
            ) from None
        return value


class Sha256(Spec):
    kind = "64 hexadecimal digits"
    example = '"' + "0" * 64 + '"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ctx.error(
                key,
                f"is {found(value)}; it must be {self.kind} (lower case)",
                "it is the raw file's sha256 as screener wrote it: restore this file from git, "
                "or import the export again",
            )
        return value


class Name(Spec):
    """A name that becomes a path (names.check_name's rule)."""

    kind = "a string"

    def __init__(self, what: str, limit: int = MAX_NAME) -> None:
        self.what, self.limit = what, limit

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if name_problem(value, self.limit) is None:
            return value
        return check_name(value, key, limit=self.limit, path=ctx.path, hint=self.hint(value))

    def hint(self, value: str) -> str:
        return f"a {self.what} uses {rule_text(self.limit)}"


class ReviewerName(Name):
    """A reviewer's name, which is also their decision files' name: renaming takes both."""

    def __init__(self) -> None:
        super().__init__("reviewer name")

    def hint(self, value: str) -> str:
        new = safe_name(value)
        hint = f"a reviewer name uses {rule_text()}: rename it in review.toml, e.g. name = {new!r}"
        if not could_be_labels_file(value):
            return hint
        if not value.isprintable():
            return hint + f", and rename their decision files in labels/<stage>/ to {new}.csv as well"
        moves = [
            f"git mv {shlex.quote(f'labels/{stage}/{value}.csv')} {shlex.quote(f'labels/{stage}/{new}.csv')}"
            for stage in STAGES
        ]
        return hint + ", and their decision files with it: " + "; ".join(moves) + " (for each that exists)"


class Regex(Text):
    """A regular expression (the screen's highlight terms), of the kind that cannot take hours
    to search a text: see `regex_hazard`."""

    def __init__(self) -> None:
        super().__init__(multiline=False, example='"liver metasta\\\\w*"')

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        super().check(value, key, ctx)
        try:
            re.compile(value)
        except re.error as exc:
            raise ctx.error(
                key, f"{shown(value)} is not a valid regular expression ({exc})", "fix or remove the term"
            ) from None
        hazard = regex_hazard(value)
        if hazard:
            raise ctx.error(
                key,
                f"{shown(value)} {hazard}, which can take hours to search one abstract",
                'repeat single characters only (e.g. "metasta\\\\w*"), or list each keyword as a term',
            )
        return value


def regex_hazard(pattern: str) -> str | None:
    """Why searching with `pattern` could backtrack exponentially, or None: a repetition of
    anything but one character (`(a+)+`, `(a|aa)*`, `(ab){2,}`) or a back-reference. What is
    left costs at most a power of the text's length, which the screen's time limit bounds."""
    from re import _constants as c  # the parser re itself compiles with
    from re import _parser as parser

    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}
    single = {c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY, c.CATEGORY}

    def walk(items: Any) -> str | None:
        for op, av in items:
            if str(op).startswith("GROUPREF"):
                return "refers back to a group"
            if op in repeats and av[1] > 1 and not (len(av[2]) == 1 and av[2][0][0] in single):
                return "repeats a group or a repetition"
            for part in av if isinstance(av, tuple | list) else ():
                nested = (
                    [part] if isinstance(part, parser.SubPattern) else part if isinstance(part, list) else []
                )
                for sub in nested:
                    if isinstance(sub, parser.SubPattern):
                        found = walk(sub)
                        if found:
                            return found
        return None

    return walk(parser.parse(pattern))


class ListOf(Spec):
    """An array of values of one spec; `unique` compares them with `same` (exact by default)."""

    def __init__(
        self,
        item: Spec,
        *,
        unique: bool = False,
        same: Callable[[Any], Any] = lambda value: value,
        example: str = '["...", "..."]',
    ) -> None:
        self.item, self.unique, self.same, self.example = item, unique, same, example
        self.kind = f"an array of {_plural(item.kind)}"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, list):
            raise self.wrong_type(value, key, ctx)
        out = [self.item.check(item, f"{key}[{i}]", ctx) for i, item in enumerate(value)]
        if self.unique:
            first: dict[Any, int] = {}
            for i, item in enumerate(out):
                earlier = first.setdefault(self.same(item), i)
                if earlier != i:
                    raise ctx.error(
                        f"{key}[{i}]",
                        f"{shown(item)} repeats {key}[{earlier}] {shown(out[earlier])}",
                        "list each one once",
                    )
        return out


class Table(Spec):
    """A table of known keys (`required` ones must be present); unknown keys are warnings."""

    kind = "a table"

    def __init__(
        self, keys: dict[str, Spec], required: Sequence[str] = (), example: str = "{ ... }", missing: str = ""
    ) -> None:
        self.keys, self.required, self.example = keys, tuple(required), example
        self.missing = missing  # the hint when a required key is absent

    def wrong_type(self, value: Any, key: str, ctx: Context) -> ScreenerError:
        hint = (
            f"each entry is a table, e.g. {self.example}"
            if key.endswith("]")
            else f"write [{key}] and its keys"
        )
        return ctx.error(key, f"is {found(value)}; it must be a table", hint)

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, dict):
            raise self.wrong_type(value, key, ctx)
        for name in self.required:
            if name not in value:
                hint = self.missing or f"add {name} = {self.keys[name].example}"
                raise ctx.error(key, f"has no {name}", hint)
        out = dict(value)
        for name, item in value.items():
            path = f"{key}.{key_text(name)}" if key else key_text(name)
            spec = self.keys.get(name)
            if spec is None:
                ctx.warnings.append(unknown_key_warning(ctx, self, key, name, item))
            else:
                out[name] = spec.check(item, path, ctx)
        return out


class Tables(Spec):
    """An array of tables, `[[key]]` in TOML."""

    def __init__(self, table: Table, what: str) -> None:
        self.table, self.what = table, what
        self.kind = f"an array of tables, one [[...]] per {what}"

    def wrong_type(self, value: Any, key: str, ctx: Context) -> ScreenerError:
        return ctx.error(
            key,
            f"is {found(value)}; it must be an array of tables",
            f"write one [[{key}]] per {self.what}, its keys below it",
        )

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.wrong_type(value, key, ctx)
        return [self.table.check(item, f"{key}[{i}]", ctx) for i, item in enumerate(value)]


class AnyTable(Spec):
    """A table whose keys another part checks (`[ranking]`: RankerConfig.from_table)."""

    kind = "a table"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, dict):
            raise ctx.error(key, f"is {found(value)}; it must be a table", f"write [{key}] and its keys")
        return value


# -- unknown keys --------------------------------------------------------------------------


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _shown_key(name: str, spec: Spec | None, value: Any = None) -> str:
    """A key as the user writes it: [table], [[array of tables]] or a plain key."""
    if isinstance(spec, Tables) or spec is None and _is_tables(value):
        return f"[[{name}]]"
    if isinstance(spec, (Table, AnyTable)) or spec is None and isinstance(value, dict):
        return f"[{name}]"
    return name


def _known_keys(table: Table, parent: str = "") -> Iterator[tuple[str, str, Spec]]:
    """(key, the table it lives in as written, spec) for every key of a schema, nested ones too."""
    for name, spec in table.keys.items():
        yield name, parent, spec
        inner = spec.table if isinstance(spec, Tables) else spec if isinstance(spec, Table) else None
        if inner is not None:
            full = f"{parent.strip('[]')}.{name}" if parent else name
            yield from _known_keys(inner, _shown_key(full, spec))


def unknown_key_warning(ctx: Context, table: Table, table_key: str, name: str, value: Any) -> str:
    """'unknown key X, ignored', with the known key it probably misspells."""
    full = f"{table_key}.{key_text(name)}" if table_key else key_text(name)
    is_table = _is_tables(value) or isinstance(value, dict)
    # Inside an entry of an array of tables a header cannot be written alone: show the path.
    shown_full = full if "]" in table_key or not is_table else _shown_key(full, None, value)
    suggestion = ""
    close = difflib.get_close_matches(name, list(table.keys), n=1)
    if close:
        in_header = table_key and "]" not in table_key and isinstance(table.keys[close[0]], (Table, Tables))
        suggestion = _shown_key(f"{table_key}.{close[0]}" if in_header else close[0], table.keys[close[0]])
    else:  # a key written in the wrong table, e.g. exclusion_reasons outside [full_text]
        elsewhere = {
            key: (where, spec) for key, where, spec in _known_keys(ctx.root) if key not in table.keys
        }
        close = difflib.get_close_matches(name, list(elsewhere), n=1)
        if close:
            where, spec = elsewhere[close[0]]
            suggestion = _shown_key(close[0], spec) + (f" in {where}" if where else " at the top of the file")
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    return f"{ctx.path}: unknown {'table' if is_table else 'key'} {shown_full}, ignored{hint}"


# -- the two files -------------------------------------------------------------------------

REVIEW = Table(
    {
        "title": Text(),
        "question": Text(),
        "criteria": Text(),  # inclusion criteria, read by the ranking with the question
        "stages": ListOf(
            Choice(STAGES, why="full-text screening reads the title-abstract decisions"),
            unique=True,
            example='["title-abstract", "full-text"]',
        ),
        "reviewers": Tables(
            Table(
                {
                    "name": ReviewerName(),
                    "role": Choice(ROLES, why="screeners decide independently, a resolver settles conflicts"),
                    # A screener who left: their decisions keep counting, they get no new records.
                    "active": Boolean(),
                },
                required=["name"],
                example='{ name = "alice", role = "screener" }',
                missing='add name = "..." to this [[reviewers]] table; it also names their decision files',
            ),
            "reviewer",
        ),
        "full_text": Table(
            {
                "exclusion_reasons": ListOf(
                    Text(multiline=False, nonempty=True),
                    unique=True,
                    same=lambda reason: " ".join(reason.split()).casefold(),
                    example='["Wrong population", "Wrong outcomes"]',
                ),
                "sources": ListOf(
                    Choice(FULLTEXT_SOURCES, why="`screener fulltext get` asks them in this order"),
                    unique=True,
                    example='["europepmc", "unpaywall", "openalex"]',
                ),
            }
        ),
        "highlight": Table(
            {"include": ListOf(Regex(), example='["term", "other\\\\w*"]'), "exclude": ListOf(Regex())}
        ),
        "ranking": AnyTable(),  # its keys: RankerConfig.from_table
        "screening": Table(
            {
                "votes": Votes(),
                # Single screening (votes = 1) with this share of records screened twice.
                "verify_sample": Fraction("this share of the records is screened by two screeners"),
            }
        ),
        "dedup": Table(
            {"keep_first": ListOf(Name("search name"), unique=True, example='["medline", "embase"]')}
        ),
        "prisma": Table(
            {
                "meta_analysis_studies": Integer(0, "studies included in the meta-analysis, once it is done"),
                "meta_analysis_reports": Integer(0, "their reports"),
            }
        ),
    }
)


def _pubmed_datetypes() -> Sequence[str]:
    return DATETYPES


_WRITTEN_BY_SCREENER = "screener writes it: restore this file from git; git log -p shows what changed"
_FILE_NAME = Name("stored file name (a file in searches/)", limit=MAX_FILE_NAME)
_COUNT = Integer(0)
_ROUND = Integer(1, "1 is the original review, 2 the first `screener update`, ...")

# A file stored in searches/: its entry under [[files]], and under [[removed]] once taken out.
_STORED_FILE = {
    "path": _FILE_NAME,
    "format": Choice(FORMATS),
    "sha256": Sha256(),
    "records": _COUNT,
    "encoding": Text(multiline=False),
    "imported": Timestamp(),
    "original_name": Text(controls=True),  # the imported file's name, as it was
    "round": _ROUND,
    "date_searched": Date(),
    "empty": _COUNT,  # empty records of the export, kept out of screening
}

SEARCH = Table(
    {
        "name": Name("search name"),
        "database": Text(multiline=False),
        "source": Choice(SOURCES, why="file: exports imported; pubmed: run through NCBI Entrez"),
        "kind": Choice(KINDS, why="where PRISMA counts the search's records"),
        "notes": Text(),
        "query": Text(),
        "date_searched": Date(),
        "files": Tables(
            Table(
                _STORED_FILE,
                required=["path", "format", "sha256", "records"],
                missing=_WRITTEN_BY_SCREENER,
            ),
            "stored file",
        ),
        # Files taken out with `screener import --remove`: their provenance, kept.
        "removed": Tables(
            Table(
                {**_STORED_FILE, "removed": Timestamp(), "reason": Text()},
                required=["path", "sha256", "removed"],
                missing=_WRITTEN_BY_SCREENER,
            ),
            "removed file",
        ),
        "pubmed": Table(
            {
                "query_translation": Text(),
                "count": _COUNT,
                "date_run": Timestamp(),
                "started": Timestamp(),
                "mindate": PubmedDate(),
                "maxdate": PubmedDate(),
                "datetype": Choice(_pubmed_datetypes),
                "date_slices": _COUNT,
                "count_not_in_date_slices": _COUNT,
                "pmids_fetched": _COUNT,
                "screener_version": Text(multiline=False),
                "biopython_version": Text(multiline=False),
                "python_version": Text(multiline=False),
                "updates": Tables(
                    Table(
                        {
                            "date_run": Timestamp(),
                            "count": _COUNT,
                            "new": _COUNT,
                            "since_last_run": _COUNT,
                            "indexed_late": _COUNT,
                            "query_translation": Text(),
                            "round": _ROUND,
                            "file": _FILE_NAME,
                        },
                        required=["date_run"],
                        missing=_WRITTEN_BY_SCREENER,
                    ),
                    "run of `screener update`",
                ),
            }
        ),
    }
)


def check_review(data: dict[str, Any], path: Path) -> Checked:
    """review.toml's contents checked; raises a ScreenerError naming the file and the key."""
    ctx = Context(path, REVIEW)
    out = REVIEW.check(data, "", ctx)
    stages = out.get("stages", list(STAGES))
    if not stages:
        raise ctx.error(
            "stages",
            "is empty; a review has at least the title-abstract stage",
            'stages = ["title-abstract", "full-text"]',
        )
    if stages != list(STAGES[: len(stages)]):
        raise ctx.error(
            "stages",
            f"is {found(stages)}; the stages are title-abstract, then full-text, each once",
            "full-text screening reads the title-abstract decisions: "
            'stages = ["title-abstract", "full-text"] or ["title-abstract"]',
        )
    reviewers = out.get("reviewers", [])
    seen: dict[str, int] = {}
    for i, reviewer in enumerate(reviewers):
        # One name in two cases is one decision file on macOS and Windows.
        earlier = seen.setdefault(reviewer["name"].casefold(), i)
        if earlier != i:
            other = reviewers[earlier]["name"]
            raise ctx.error(
                f"reviewers[{i}].name",
                f"{shown(reviewer['name'])} is reviewers[{earlier}].name"
                + (" too" if other == reviewer["name"] else f" {shown(other)} in other case"),
                "each reviewer has their own name: it names their decision files "
                "(one file on macOS and Windows when names differ only in case)",
            )
    _check_votes(out, ctx)
    _check_verify_sample(out, ctx)
    reasons = out.get("full_text", {}).get("exclusion_reasons")
    if reasons == [] and "full-text" in stages:
        raise ctx.error(
            "full_text.exclusion_reasons",
            "is empty; every full-text exclusion needs a reason",
            'list the reasons, e.g. exclusion_reasons = ["Wrong population", "Wrong outcomes"]',
        )
    return Checked(out, ctx.warnings)


def _active_screeners(out: dict[str, Any]) -> int:
    reviewers = out.get("reviewers", [])
    return sum(1 for r in reviewers if r.get("role", "screener") == "screener" and r.get("active", True))


def _votes_per_stage(out: dict[str, Any]) -> dict[str, int]:
    """[screening] votes at each of the review's stages, defaults filled in."""
    votes = out.get("screening", {}).get("votes", 0)
    default = default_votes(_active_screeners(out))
    stages = [s for s in out.get("stages", STAGES) if s in STAGES]
    given = votes if isinstance(votes, dict) else dict.fromkeys(stages, votes)
    return {stage: given.get(stage) or default for stage in stages}


def _check_votes(out: dict[str, Any], ctx: Context) -> None:
    """Votes for a stage the review has, and no more than its active screeners can give (else
    every record would stay open)."""
    votes = out.get("screening", {}).get("votes", 0)
    stages = out.get("stages", STAGES)
    if isinstance(votes, dict):
        for stage in votes:
            if stage not in stages:
                raise ctx.error(
                    f"screening.votes.{stage}",
                    f"is for a stage this review does not have (stages = {list(stages)})",
                    f"remove it from votes, or add {stage!r} to stages",
                )
    active = _active_screeners(out)
    for key, number in votes.items() if isinstance(votes, dict) else [("", votes)]:
        if number and active and number > active:
            raise ctx.error(
                f"screening.votes.{key}" if key else "screening.votes",
                f"is {number} but {active} screener{'s are' if active > 1 else ' is'} active: "
                "no record could become final",
                "lower votes, or add (or reactivate) screeners in [[reviewers]]",
            )


def _check_verify_sample(out: dict[str, Any], ctx: Context) -> None:
    """A verified sample is for single screening (at some stage), and needs a second screener
    to verify it."""
    screening = out.get("screening", {})
    if not screening.get("verify_sample"):
        return
    active = _active_screeners(out)
    per_stage = _votes_per_stage(out)
    if per_stage and 1 not in per_stage.values():
        given = screening.get("votes") or f"{max(per_stage.values())} (the default)"
        said = (
            f"votes is {given}: every record is screened {max(per_stage.values())} times already"
            if not isinstance(given, dict)
            else "no stage has votes = 1: every record is screened "
            + " and ".join(f"{n} times at {stage}" for stage, n in per_stage.items())
        )
        raise ctx.error(
            "screening.verify_sample",
            f"is set, but {said}",
            "a verified sample is for single screening: set votes = 1 in [screening] "
            "(or for one stage: votes = { title-abstract = 1 }), or remove verify_sample",
        )
    if active < 2:
        raise ctx.error(
            "screening.verify_sample",
            f"needs two active screeners to screen the sample twice; {active} is active",
            "add (or reactivate) a screener in [[reviewers]], or remove verify_sample",
        )


def check_search(data: dict[str, Any], path: Path) -> Checked:
    """searches/NAME.toml's contents checked; its name must be the file's own (NAME)."""
    ctx = Context(path, SEARCH)
    check_name(
        path.stem,
        "search file name",
        path=path,
        hint=f"rename the file (git mv) and its name key to {rule_text()} characters",
    )
    out = SEARCH.check(data, "", ctx)
    if "name" in out and out["name"] != path.stem:
        raise ctx.error(
            "name",
            f"is {found(out['name'])}, but the file is {path.name}",
            f'a search is named by its file: write name = "{path.stem}" (or remove the key)',
        )
    files = out.get("files", [])
    seen: dict[str, int] = {}
    for i, entry in enumerate(files):
        earlier = seen.setdefault(entry["path"].casefold(), i)
        if earlier != i:
            other = files[earlier]["path"]
            raise ctx.error(
                f"files[{i}].path",
                f"{shown(entry['path'])} is files[{earlier}].path"
                + (" too" if other == entry["path"] else f" {shown(other)} in other case"),
                "remove the repeated [[files]] entry: its records would count twice",
            )
    return Checked(out, ctx.warnings)


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """TOML text of the review parsed, with errors naming the file and line: invalid TOML, a
    dotted key long enough to stall the parser, arrays or inline tables nested too deep."""
    deep = _DEEP_KEY.search(text)
    if deep:
        raise ScreenerError(
            f"has a dotted key of more than {MAX_KEY_PARTS} parts",
            path=path,
            line=text.count("\n", 0, deep.start()) + 1,
            hint="no key of screener's nests that deep: remove it, or restore the file from git",
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ScreenerError(
            f"is not valid TOML ({exc})",
            path=path,
            line=int(line.group(1)) if line else None,
            hint="fix it by hand or restore it from git",
        ) from None
    except ValueError:  # an integer of more than 4,300 digits (Python's limit on int conversion)
        long_number = re.search(r"\d{4000,}", text)
        raise ScreenerError(
            "has a number too long to read (thousands of digits)",
            path=path,
            line=text.count("\n", 0, long_number.start()) + 1 if long_number else None,
            hint="no value of screener's is that long: fix it by hand or restore the file from git",
        ) from None
    except RecursionError:
        raise ScreenerError(
            "nests arrays or inline tables too deeply to be read",
            path=path,
            hint="no key of screener's nests that deep: remove it, or restore the file from git",
        ) from None


# A dotted key (bare or quoted parts) at a line start, a table header or inside an inline table.
_KEY_PART = r"""(?>[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')[ \t]*+\.[ \t]*+"""
_DEEP_KEY = re.compile(rf"(?:^|[{{,])[ \t]*+\[{{0,2}}[ \t]*+(?:{_KEY_PART}){{{MAX_KEY_PARTS}}}", re.MULTILINE)
