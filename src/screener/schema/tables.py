"""Arrays and tables of specs, and the warning for an unknown key: ignored, with the known key
it probably misspells (in its own table or another)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import ScreenerError
from .context import Context
from .describe import found, key_text, shown
from .specs import Spec


def _plural(kind: str) -> str:
    return {"a string": "strings", "a table": "tables"}.get(kind, kind)


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
