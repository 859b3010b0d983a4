"""The report's templates: escaping is the engine's default, not a call someone may forget."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

import jinja2
import pytest

from screener.records import safe_text

from .conftest import REPO

TEMPLATES = REPO / "src" / "screener" / "report" / "templates"
HOSTILE = "\"'><script>alert(1)</script>&amp; \u202eevil\u202c \x1b[31m"


def env() -> jinja2.Environment:
    from screener.report.page import environment

    return environment()


@pytest.mark.parametrize(
    "source",
    [
        "<p>{{ value }}</p>",
        '<p title="{{ value }}">x</p>',
        "{% for v in [value] %}<li>{{ v }}</li>{% endfor %}",
        "{% set v = value %}{{ v ~ '' }}",
    ],
)
def test_every_value_a_template_prints_is_escaped_and_cleaned_without_a_call(source):
    page = env().from_string(source).render(value=HOSTILE)
    shown = html.escape(safe_text(HOSTILE), quote=True)
    assert shown in page and "<script>" not in page and "\u202e" not in page and "\x1b" not in page


def test_a_name_a_template_does_not_have_fails_loudly():
    with pytest.raises(jinja2.UndefinedError):
        env().from_string("{{ tittle }}").render(title="x")


def test_no_template_marks_a_value_safe_and_page_py_marks_only_what_it_drew():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", text), path.name
    page = (REPO / "src" / "screener" / "report" / "page.py").read_text(encoding="utf-8")
    # The diagram (its two halves), the JSON for scripts, table()'s cells that are HTML by
    # contract, and _finalize's own escaped text.
    assert len(re.findall(r"\bMarkup\(", page)) == 5


def test_every_template_the_page_uses_ships_with_the_package():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "templates/*" in config["tool"]["setuptools"]["package-data"]["screener.report"]
    shipped = set(env().list_templates())
    named = {
        name
        for path in TEMPLATES.glob("*.html")
        for name in re.findall(r"{%-?\s*(?:include|import|from)\s+\"([^\"]+)\"", path.read_text("utf-8"))
    }
    assert named and named <= shipped, named - shipped


def test_a_templates_line_breaks_are_for_reading_and_a_blank_line_is_one_on_the_page():
    source = "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n\n<p>c</p>\n"
    joined = env().preprocess(source, "x.html")
    assert joined == "<ul><li>a</li><li>b</li></ul>\n<p>c</p>"
    assert env().preprocess("a {\n  b\n}\n", "report.css") == "a {\n  b\n}\n"  # the CSS keeps its own


def test_the_page_ends_with_one_line_break_and_has_none_between_its_elements(tmp_path: Path):
    from screener.report import build_report
    from screener.review import Review, init_review

    page = build_report(Review(init_review(tmp_path / "r", title="T")))
    head, body = page.split("\n", 1)
    assert head == "<!DOCTYPE html>" and body.endswith("</html>\n")
    before_style, after_script = body.split("<style>", 1)[0], body.rsplit("</script>", 1)[1]
    assert "\n" not in before_style and after_script == "</body></html>\n"
