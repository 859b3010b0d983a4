"""Words for counts people read: "1 conflict", "2 conflicts" (one helper, so no message says
"1 conflicts")."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and its noun agreeing with it: plural(1, "study", "studies") is "1 study",
    plural(0, "record") is "0 records" (the plural is the singular with "s" unless given)."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"
