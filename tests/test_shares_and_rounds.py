"""Issue #22, truth at the seams: progress, rank, the stopping statement and the report are per
screener, per share and per round; every command that takes --reviewer checks it alike, and
its hint is a line review.toml takes."""

from __future__ import annotations

import re

import pytest

from screener.errors import ScreenerError
from screener.review import Review, Reviewer, check_reviewer, init_review


def _hint_line(hint: str) -> str:
    found = re.search(r"add the line (\{.*?\}), inside reviewers", hint)
    assert found, hint
    return found.group(1)


@pytest.mark.parametrize("command", ["label", "rank", "screen"])
def test_the_unknown_reviewer_hint_is_a_line_the_review_toml_of_init_takes(cli, tmp_path, command) -> None:
    """Following the hint word for word leaves a valid review.toml in which the name works."""
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("carol", "resolver")])
    args = {"label": ["pmid:1", "include"], "rank": [], "screen": []}[command]
    result = cli(command, "--reviewer", "dave", *args, "--review", str(root))
    assert result.code == 2 and "Traceback" not in result.err
    line = _hint_line(" ".join(result.err.split()))
    text = (root / "review.toml").read_text()
    (root / "review.toml").write_text(text.replace("reviewers = [\n", f"reviewers = [\n    {line},\n", 1))
    review = Review(root)
    assert check_reviewer(review, "dave").role == "screener"


def test_a_review_toml_written_with_tables_gets_a_table_in_the_hint(tmp_path) -> None:
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice")])
    text = (root / "review.toml").read_text()
    text = re.sub(r"reviewers = \[.*?\]\n", "", text, flags=re.S)
    (root / "review.toml").write_text('[[reviewers]]\nname = "alice"\nrole = "screener"\n\n' + text)
    with pytest.raises(ScreenerError) as refused:
        check_reviewer(Review(root), "dave")
    assert "[[reviewers]] table" in refused.value.hint and "inside reviewers = [" not in refused.value.hint


@pytest.mark.parametrize(
    ("name", "roles", "says"),
    [
        ("alcie", ("screener",), "did you mean 'alice'?"),
        ("Alice", ("screener",), "did you mean 'alice'?"),
        ("carol", ("screener",), "is a resolver in review.toml, not a screener"),
        ("alice", ("resolver",), "is a screener in review.toml, not a resolver"),
    ],
)
def test_one_reviewer_check_names_what_was_meant(tmp_path, name, roles, says) -> None:
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("carol", "resolver")])
    with pytest.raises(ScreenerError) as refused:
        check_reviewer(Review(root), name, roles)
    assert says in f"{refused.value} {refused.value.hint}"
