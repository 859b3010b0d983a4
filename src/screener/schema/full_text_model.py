"""TRIAL (issue #25): review.toml's [full_text] as a pydantic model, with screener's wording.

The model says the types; what a user reads (the key, what was found, what to write instead,
did you mean) is rebuilt from pydantic's structured errors by `PydanticTable.check`, and the
unknown keys go through the same warning as every other table's.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from ..records import safe_text
from .context import Context
from .describe import control_character, found, shown
from .specs import Spec
from .tables import Table, unknown_key_warning
from .vocab import FULLTEXT_SOURCES


def _problem(problem: str, hint: str, index: int | None = None) -> PydanticCustomError:
    """An error in screener's words; `{key}` in them is filled in with the key's path."""
    return PydanticCustomError("screener", "{problem}", {"problem": problem, "hint": hint, "index": index})


def _one_line(value: str) -> str:
    bad = control_character(value)
    if bad:
        what = "a line break" if bad in ("U+000A", "U+000D") else f"the control character {bad}"
        raise _problem(f"{shown(value)} holds {what}", "remove it; it would garble the screen")
    if not value.strip():
        raise _problem(f"is empty ({shown(value)})", "write the text, or remove the entry")
    if value != value.strip():
        raise _problem(
            f"{shown(value)} starts or ends with a space", "remove the spaces: they cannot be seen"
        )
    return safe_text(value)


def _once(values: list[Any], same: Any = lambda value: value) -> list[Any]:
    first: dict[Any, int] = {}
    for i, value in enumerate(values):
        earlier = first.setdefault(same(value), i)
        if earlier != i:
            raise _problem(
                f"{shown(value)} repeats {{key}}[{earlier}] {shown(values[earlier])}", "list each one once", i
            )
    return values


class FullText(BaseModel):
    """[full_text]: the reasons a full text may be excluded for, and where `fulltext get` looks."""

    model_config = ConfigDict(strict=True, extra="allow")

    exclusion_reasons: list[Annotated[str, AfterValidator(_one_line)]] | None = Field(
        None, json_schema_extra={"example": '["Wrong population", "Wrong outcomes"]'}
    )
    sources: list[Literal[FULLTEXT_SOURCES]] | None = Field(  # type: ignore[valid-type]
        None,
        json_schema_extra={
            "example": '["europepmc", "unpaywall", "openalex"]',
            "why": "`screener fulltext get` asks them in this order",
        },
    )

    @field_validator("exclusion_reasons")
    @classmethod
    def _reasons_once(cls, reasons: list[str] | None) -> list[str] | None:
        return None if reasons is None else _once(reasons, lambda reason: " ".join(reason.split()).casefold())

    @field_validator("sources")
    @classmethod
    def _sources_once(cls, sources: list[str] | None) -> list[str] | None:
        return None if sources is None else _once(sources)


class PydanticTable(Table):
    """A table whose keys a pydantic model checks: a Table to the rest of the schema (unknown
    keys, did-you-mean across tables), pydantic's errors told in screener's words."""

    KINDS = {"list_type": "an array of strings", "string_type": "a string"}

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__({name: Spec() for name in model.model_fields})
        self.model = model

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, dict):
            raise self.wrong_type(value, key, ctx)
        try:
            checked = self.model.model_validate(value)
        except ValidationError as exc:
            raise self._told(exc.errors()[0], key, ctx) from None
        for name, item in (checked.model_extra or {}).items():
            ctx.warnings.append(unknown_key_warning(ctx, self, key, name, item))
        return dict(value) | checked.model_dump(exclude_unset=True, exclude=set(checked.model_extra or ()))

    def _told(self, error: Any, key: str, ctx: Context) -> Any:
        field, *index = error["loc"]
        extra = self.model.model_fields[field].json_schema_extra or {}
        path = f"{key}.{field}" + "".join(f"[{i}]" for i in index)
        value = error["input"]
        if error["type"] == "screener":
            where = error["ctx"]["index"]
            full = path if where is None else f"{path}[{where}]"
            return ctx.error(full, error["ctx"]["problem"].replace("{key}", path), error["ctx"]["hint"])
        if error["type"] == "literal_error":
            values = FULLTEXT_SOURCES
            close = (
                difflib.get_close_matches(value, values, n=1, cutoff=0.6) if isinstance(value, str) else []
            )
            if isinstance(value, str):
                hint = (f"did you mean {close[0]!r}? " if close else "") + "one of: " + ", ".join(values)
                hint += f"; {extra['why']}" if "why" in extra else ""
                return ctx.error(path, f"is {found(value)}, which is not one of the allowed values", hint)
            return ctx.error(path, f"is {found(value)}; it must be a string", f'e.g. "{values[0]}"')
        kind = self.KINDS.get(error["type"], "a value of another type")
        example = f"{field} = {extra.get('example', '...')}" if not index else '"..."'
        return ctx.error(path, f"is {found(value)}; it must be {kind}", f"e.g. {example}")
