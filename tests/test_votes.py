"""Issue #15, votes not pairs: any number of screeners, a record final on `votes` agreeing
decisions, any disagreement a conflict, screeners who leave, and what a resolver may answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from screener.review import Review
from screener.screening import load_stage

from .conftest import SAMPLES


def make_review(cli, tmp_path: Path, screeners: list[str], votes: int | str | None = None) -> Review:
    root = tmp_path / "review"
    people = [arg for name in screeners for arg in ("--reviewer", name)]
    assert cli("init", str(root), *people, "--reviewer", "carol:resolver").code == 0
    if votes is not None:
        with (root / "review.toml").open("a") as handle:
            handle.write(f"\n[screening]\nvotes = {votes}\n")
    for name in ("medline.nbib", "embase.ris"):
        assert (
            cli("import", str(SAMPLES / name), "--search", name.split(".")[0], "--review", str(root)).code
            == 0
        )
    return Review(root)


def label(cli, review: Review, reviewer: str, record: str, decision: str) -> None:
    result = cli("label", "--reviewer", reviewer, record, decision, "--review", str(review.root))
    assert result.code == 0, result


def add_screener(review: Review, name: str) -> None:
    carol = '{ name = "carol", role = "resolver" }'
    text = review.config_path.read_text()
    assert carol in text
    review.config_path.write_text(text.replace(carol, f'{{ name = "{name}", role = "screener" }}, {carol}'))


def test_a_third_screener_keeps_every_final_decision(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    ids = load_stage(review, "title-abstract").record_ids
    table = tmp_path / "all-excluded.csv"
    table.write_text("record_id,decision\n" + "".join(f"{record},exclude\n" for record in ids))
    for name in ("alice", "bob"):
        result = cli("label", "--reviewer", name, "--import", str(table), "--review", str(review.root))
        assert result.code == 0, result
    assert len(load_stage(review, "title-abstract").final) == len(ids)
    add_screener(review, "dave")
    view = load_stage(Review(review.root), "title-abstract")
    assert view.screeners == ["alice", "bob", "dave"]
    assert len(view.final) == len(ids) and not view.conflicts
    assert view.progress()["need_vote_from"] == {"alice": 0, "bob": 0, "dave": 0}


def test_three_screeners_two_votes_final_open_and_conflict(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob", "dave"])
    first, second, third = load_stage(review, "title-abstract").record_ids[:3]
    label(cli, review, "alice", first, "include")
    label(cli, review, "dave", first, "maybe")  # maybe counts as include: final, on to full text
    label(cli, review, "bob", second, "exclude")  # one vote of two: open
    label(cli, review, "alice", third, "exclude")
    label(cli, review, "bob", third, "exclude")
    label(cli, review, "dave", third, "include")  # a third vote that disagrees: a conflict
    view = load_stage(review, "title-abstract")
    assert view.votes == 2
    assert view.final[first].decision == "include" and view.final[first].by == "agreement"
    kinds = {c.record_id: c.kind for c in view.conflicts}
    assert kinds[second] == "single" and kinds[third] == "disagree" and third not in view.final
    progress = view.progress()
    assert progress["conflicts_to_resolve"] == 1 and progress["screened_by_some_only"] == 1
    # Who still has to vote on `second`: alice and dave, not bob.
    total = len(view.records)
    assert progress["need_vote_from"]["bob"] == total - 3
    assert progress["need_vote_from"]["alice"] == total - 2
    label(cli, review, "carol", third, "exclude")
    assert load_stage(review, "title-abstract").final[third].by == "carol"


def test_single_screening_and_three_votes(cli, tmp_path: Path) -> None:
    single = make_review(cli, tmp_path / "one", ["alice", "bob"], votes=1)
    record = load_stage(single, "title-abstract").record_ids[0]
    label(cli, single, "bob", record, "exclude")
    assert load_stage(single, "title-abstract").final[record].decision == "exclude"
    triple = make_review(cli, tmp_path / "three", ["alice", "bob", "dave", "erin"], votes=3)
    record = load_stage(triple, "title-abstract").record_ids[0]
    for name in ("alice", "bob"):
        label(cli, triple, name, record, "include")
    assert record not in load_stage(triple, "title-abstract").final
    label(cli, triple, "erin", record, "include")
    assert load_stage(triple, "title-abstract").final[record].decision == "include"


def test_a_screener_who_left_keeps_their_votes_and_gets_no_work(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob", "dave"])
    record = load_stage(review, "title-abstract").record_ids[0]
    label(cli, review, "alice", record, "exclude")
    label(cli, review, "bob", record, "exclude")
    bob = '{ name = "bob", role = "screener" }'
    text = review.config_path.read_text()
    assert bob in text
    review.config_path.write_text(text.replace(bob, '{ name = "bob", role = "screener", active = false }'))
    view = load_stage(Review(review.root), "title-abstract")
    assert view.final[record].decision == "exclude"
    assert "bob" not in view.progress()["need_vote_from"]


@pytest.mark.parametrize("votes", ["0", "4", '"two"', "true"])
def test_votes_out_of_range_is_refused(cli, tmp_path: Path, votes: str) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    with review.config_path.open("a") as handle:
        handle.write(f"\n[screening]\nvotes = {votes}\n")
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "screening.votes" in result.err


def test_a_resolver_cannot_answer_maybe(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    record = load_stage(review, "title-abstract").record_ids[0]
    label(cli, review, "alice", record, "include")
    label(cli, review, "bob", record, "exclude")
    result = cli("label", "--reviewer", "carol", record, "maybe", "--review", str(review.root))
    assert result.code == 2 and "not maybe" in result.err
    # A maybe written by hand into the resolver's file settles nothing either.
    path = review.root / "labels" / "title-abstract" / "carol.csv"
    path.write_text(f"record_id,decision\n{record},maybe\n")
    view = load_stage(review, "title-abstract")
    assert record not in view.final and view.progress()["conflicts_to_resolve"] == 1


def test_fleiss_kappa_matches_fleiss_1971_worked_example() -> None:
    """The textbook example (10 subjects, 14 raters, 5 categories): kappa 0.210."""
    from screener.screening import fleiss_kappa

    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(counts) == pytest.approx(0.2099, abs=5e-4)
    # By hand: agreement 1, 1, 0 (mean 2/3), chance 0.5^2 + 0.5^2 = 1/2, so (2/3 - 1/2) / (1/2).
    assert fleiss_kappa([[2, 0], [0, 2], [1, 1]]) == pytest.approx(1 / 3)
    assert fleiss_kappa([[3, 0], [2, 0]]) != fleiss_kappa([[3, 0], [2, 0]])  # one category: undefined (NaN)


def test_agreement_reports_the_pool_and_every_pair(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob", "dave"])
    ids = load_stage(review, "title-abstract").record_ids
    for name, decisions in (("alice", "iiee"), ("bob", "iiei"), ("dave", "ieee")):
        table = tmp_path / f"{name}.csv"
        words = {"i": "include", "e": "exclude"}
        table.write_text(
            "record_id,decision\n"
            + "".join(f"{r},{words[d]}\n" for r, d in zip(ids, decisions, strict=False))
        )
        assert (
            cli("label", "--reviewer", name, "--import", str(table), "--review", str(review.root)).code == 0
        )
    pairs = json.loads(cli("agreement", "--json", "--review", str(review.root)).out)
    assert {(p["reviewer_1"], p["reviewer_2"]) for p in pairs if p["stage"] == "title-abstract"} == {
        ("alice", "bob"),
        ("alice", "dave"),
        ("bob", "dave"),
    }
    result = cli("agreement", "--review", str(review.root))
    assert result.code == 0, result
    # Per record, how many of the three included: the columns of the strings above.
    from screener.screening import fleiss_kappa

    columns = list(zip("iiee", "iiei", "ieee", strict=True))[: len(ids)]
    expected = fleiss_kappa([[c.count("i"), c.count("e")] for c in columns])
    assert f"{len(ids)} records with two votes or more: {expected:.3f}" in result.out


def test_export_says_conflict_open_or_undecided_for_records_not_final(cli, tmp_path: Path) -> None:
    import csv
    import io

    review = make_review(cli, tmp_path, ["alice", "bob"])
    ids = load_stage(review, "title-abstract").record_ids
    label(cli, review, "alice", ids[0], "include")
    label(cli, review, "bob", ids[0], "exclude")
    label(cli, review, "alice", ids[1], "include")
    result = cli(
        "export",
        "--stage",
        "title-abstract",
        "--decision",
        "all",
        "--format",
        "csv",
        "--review",
        str(review.root),
    )
    assert result.code == 0, result
    decided = {row["study_id"]: row["decision"] for row in csv.DictReader(io.StringIO(result.out))}
    assert decided[ids[0]] == "conflict" and decided[ids[1]] == "open" and decided[ids[2]] == "undecided"


def test_votes_beyond_the_active_screeners_are_refused_and_a_leaver_lowers_the_default(
    cli, tmp_path: Path
) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    with review.config_path.open("a") as handle:
        handle.write("\n[screening]\nvotes = 3\n")
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "screening.votes is 3 but 2 screeners are active" in result.err
    other = make_review(cli, tmp_path / "left", ["alice", "bob"])
    bob = '{ name = "bob", role = "screener" }'
    text = other.config_path.read_text()
    other.config_path.write_text(text.replace(bob, '{ name = "bob", role = "screener", active = false }'))
    record = load_stage(other, "title-abstract").record_ids[0]
    label(cli, other, "alice", record, "include")  # one active screener: one vote is enough
    assert load_stage(Review(other.root), "title-abstract").final[record].decision == "include"


def test_a_resolver_answer_on_a_record_not_in_conflict_is_refused(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    record = load_stage(review, "title-abstract").record_ids[0]
    label(cli, review, "alice", record, "include")  # open: one vote of two
    result = cli("label", "--reviewer", "carol", record, "include", "--review", str(review.root))
    assert result.code == 2 and "not in conflict" in result.err
    label(cli, review, "bob", record, "exclude")  # now a conflict: the resolver settles it
    label(cli, review, "carol", record, "exclude")
    assert load_stage(review, "title-abstract").final[record].by == "carol"


def test_rank_tables_never_cut_ids_or_titles(cli, tmp_path: Path, monkeypatch) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    long_doi = "10.1097/sla.0b013e31816a9d65.this-is-a-very-long-suffix-of-a-doi"
    table = tmp_path / "long.ris"
    title = "A title long enough to need several lines in an eighty column terminal about liver metastases"
    table.write_text(f"TY  - JOUR\nTI  - {title}\nAU  - Smith, J\nPY  - 2020\nDO  - {long_doi}\nER  - \n")
    assert cli("import", str(table), "--search", "long", "--review", str(review.root)).code == 0
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("rank", "--reviewer", "alice", "--top", "10", "--review", str(review.root))
    assert result.code == 0 and "…" not in result.out
    rows = [line.split("│")[1:-1] for line in result.out.splitlines() if line.startswith("│")]
    record_column = "".join(cells[2].strip() for cells in rows)  # a folded cell, joined again
    title_column = " ".join(cells[3].strip() for cells in rows)
    assert f"doi:{long_doi}" in record_column and title in " ".join(title_column.split())


def test_votes_per_stage(cli, tmp_path: Path) -> None:
    """One vote at title-abstract, two at full text: a table of one number per stage."""
    review = make_review(cli, tmp_path, ["alice", "bob"], votes="{ title-abstract = 1, full-text = 2 }")
    record = load_stage(review, "title-abstract").record_ids[0]
    label(cli, review, "alice", record, "include")
    view = load_stage(Review(review.root), "title-abstract")
    assert view.votes == 1 and view.final[record].decision == "include"
    assert load_stage(Review(review.root), "full-text").votes == 2
    result = cli("status", "--review", str(review.root))
    assert result.code == 0, result


@pytest.mark.parametrize(("votes", "code"), [("{ title-abstract = 1 }", 0), ("{ title-abstract = 2 }", 2)])
def test_a_verified_sample_needs_single_screening_at_some_stage(cli, tmp_path: Path, votes: str, code: int):
    review = make_review(cli, tmp_path, ["alice", "bob"])
    with review.config_path.open("a") as handle:
        handle.write(f"\n[screening]\nvotes = {votes}\nverify_sample = 0.1\n")
    result = cli("status", "--review", str(review.root))
    assert result.code == code, result.err
    if code:
        assert "verify_sample" in result.err and "no stage has votes = 1" in result.err


@pytest.mark.parametrize(
    ("screening", "said"),
    [
        ("votes = { fulltext = 1 }", "screening.votes.fulltext"),
        ("votes = { full-text = 4 }", "screening.votes.full-text"),
        ("votes = { full-text = 3 }", "screening.votes.full-text is 3 but 2 screeners are active"),
        ('votes = { title-abstract = "one" }', "screening.votes.title-abstract"),
        ("votes = {}", "screening.votes is an empty table"),
        ('votes = { "Title-Abstract" = 1 }', "did you mean 'title-abstract'"),
        ('votes = { "title-abstract " = 1 }', "screening.votes.'title-abstract '"),
        ("votes = { title-abstract = { x = 1 } }", "is a table; it must be a whole number from 1 to 3 ("),
        ("votes = { title-abstract = 3 }\nverify_sample = 0.1", "screening.votes.title-abstract is 3"),
        ("votes = { title-abstract = 2 }\nverify_sample = 0.1", "no stage has votes = 1"),
    ],
)
def test_votes_per_stage_errors_say_what_is_wrong(cli, tmp_path: Path, screening: str, said: str) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    with review.config_path.open("a") as handle:
        handle.write(f"\n[screening]\n{screening}\n")
    before = sorted(p.name for p in (review.root / "labels" / "title-abstract").glob("*"))
    result = cli("label", "--reviewer", "alice", "pmid:16511671", "include", "--review", str(review.root))
    assert result.code == 2 and said in result.err, result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in (review.root / "labels" / "title-abstract").glob("*")) == before


def test_votes_for_a_stage_the_review_does_not_have_is_refused(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    text = review.config_path.read_text()
    text, replaced = re.subn(r"stages = \[[^\]]*\]", 'stages = ["title-abstract"]', text)
    assert replaced == 1
    review.config_path.write_text(text + "\n[screening]\nvotes = { full-text = 1 }\n")
    result = cli("status", "--review", str(review.root))
    assert (
        result.code == 2
        and "screening.votes.full-text is for a stage this review does not have" in result.err
    )


def test_a_number_of_thousands_of_digits_is_an_error_not_a_crash(cli, tmp_path: Path) -> None:
    review = make_review(cli, tmp_path, ["alice", "bob"])
    with review.config_path.open("a") as handle:
        handle.write("\n[screening]\nvotes = " + "9" * 5000 + "\n")
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "number too long" in result.err and "Traceback" not in result.err
