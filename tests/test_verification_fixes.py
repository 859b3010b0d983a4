"""What a new user and two attacks found in the team screening and the report (#15, #17), each
fix held by a test that fails without it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from screener.errors import ScreenerError
from screener.records import normalise_doi
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import read_log_rows

from .conftest import SAMPLES
from .test_report import SVG, XLINK_HREF, build, parse


def two_screeners(tmp_path: Path, cli) -> Path:
    root = tmp_path / "review"
    assert (
        cli(
            "init", str(root), "--reviewer", "alice", "--reviewer", "bob", "--reviewer", "carol:resolver"
        ).code
        == 0
    )
    assert (
        cli("import", str(SAMPLES / "medline.nbib"), "--search", "medline", "--review", str(root)).code == 0
    )
    return root


def first_id(root: Path) -> str:
    from screener.screening import load_stage

    return load_stage(Review(root), "title-abstract").records[0].id


# -- labels files -------------------------------------------------------------------------------


def test_a_labels_header_in_another_order_is_an_error_not_a_misread(tmp_path: Path, cli) -> None:
    root = two_screeners(tmp_path, cli)
    rid = first_id(root)
    path = root / "labels" / "title-abstract" / "bob.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"record_id,decision,tags,reason,note,timestamp,version\n{rid},include,old,,oldnote,2024-01-01,0.1.0\n"
    )
    with pytest.raises(ScreenerError) as raised:
        read_log_rows(path)
    assert raised.value.line == 1
    status = cli("status", "--review", str(root))
    assert status.code == 2 and "bob.csv:1" in status.err
    assert cli("check", "--review", str(root)).code == 1


def test_a_resolver_import_on_a_record_not_in_conflict_is_refused(tmp_path: Path, cli) -> None:
    root = two_screeners(tmp_path, cli)
    rid = first_id(root)
    answers = tmp_path / "answers.csv"
    answers.write_text(f"record_id,decision\n{rid},exclude\n")
    result = cli("label", "--reviewer", "carol", "--import", str(answers), "--review", str(root))
    assert result.code == 2 and "not in conflict" in result.err and "answers.csv:2" in result.err
    assert not (root / "labels" / "title-abstract" / "carol.csv").exists()


def test_a_screener_who_left_is_told_so_not_shown_none(tmp_path: Path) -> None:
    from screener.screening import load_stage
    from screener.screening.allocate import screen_records

    review = Review(
        init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("dave")])
    )
    review.import_file(SAMPLES / "medline.nbib", "medline")
    text = review.config_path.read_text().replace('name = "dave"', 'name = "dave", active = false')
    review.config_path.write_text(text)
    _, said = screen_records(load_stage(Review(review.root), "title-abstract"), "dave")
    assert "None" not in said and "active = false" in said


# -- the screen's cache -----------------------------------------------------------------------


def test_a_damaged_abstracts_cache_is_rebuilt_not_shown(tmp_path: Path) -> None:
    from screener.screening import review_studies
    from screener.screening.screen import screen_studies, screen_studies_lazy
    from screener.screening.screen.studies import _studies_key

    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    review.import_file(SAMPLES / "medline.nbib", "medline")
    expected = [r.to_dict() for r in review_studies(review)[0]]
    screen_studies(review)  # stored
    entry = review.cache_dir / "studies" / f"{_studies_key(review)}.marshal"
    abstracts = entry.with_suffix(".abstracts")
    data = bytearray(abstracts.read_bytes())
    # Cut short: rebuilt before the screen opens.
    abstracts.write_bytes(bytes(data[:-5]))
    assert screen_studies_lazy(review)[2] is None
    assert [r.to_dict() for r in screen_studies(review)[0]] == expected
    # The same length, one byte that is no UTF-8: one line, and the entry goes.
    data = bytearray(abstracts.read_bytes())
    data[-1] = 0xFF
    abstracts.write_bytes(bytes(data))
    studies, _, lazy = screen_studies_lazy(review)
    assert lazy is not None
    with pytest.raises(ScreenerError):
        lazy.fill_all()
    assert not entry.exists()
    assert [r.to_dict() for r in screen_studies(review)[0]] == expected


# -- outputs ------------------------------------------------------------------------------------


def test_outputs_never_replace_allocation_files_or_hide_behind_a_planted_review_toml(tmp_path, cli) -> None:
    root = two_screeners(tmp_path, cli)
    (root / "allocation").mkdir()
    allocation = root / "allocation" / "title-abstract.csv"
    allocation.write_text("record_id,reviewer\n")
    assert cli("label", first_id(root), "include", "--reviewer", "alice", "--review", str(root)).code == 0
    (root / "labels" / "review.toml").write_bytes((root / "review.toml").read_bytes())
    alice = root / "labels" / "title-abstract" / "alice.csv"
    before = {p: p.read_bytes() for p in (allocation, alice)}
    for target in (allocation, alice):
        result = cli("--review", str(root), "report", "-o", str(target))
        assert result.code == 2 and "review's own files" in result.err
    assert {p: p.read_bytes() for p in (allocation, alice)} == before


def test_a_read_only_output_is_kept_and_a_pipe_without_reader_refused(tmp_path, cli) -> None:
    root = two_screeners(tmp_path, cli)
    kept = tmp_path / "kept.html"
    kept.write_text("mine")
    kept.chmod(stat.S_IRUSR | stat.S_IRGRP)
    result = cli("--review", str(root), "report", "-o", str(kept))
    assert result.code == 2 and "read-only" in result.err and kept.read_text() == "mine"
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    result = cli("--review", str(root), "report", "-o", str(pipe))
    assert result.code == 2 and "no program is reading" in result.err


# -- the report --------------------------------------------------------------------------------


def test_a_title_never_takes_a_boxs_link_and_links_stay_on_the_page(tmp_path: Path) -> None:
    from screener.report import build_report

    review = build(tmp_path)
    text = review.config_path.read_text().replace(
        'title = "<i>NET</i> review & co"', 'title = "Reports excluded: a title"'
    )
    review.config_path.write_text(text)
    page = build_report(Review(review.root))
    assert 'target="_blank"' not in page
    diagram = next(svg for svg in parse(page).iter(f"{SVG}svg") if svg.get("class") == "diagram")
    linked = {}
    for anchor in diagram.iter(f"{SVG}a"):
        words = " ".join("".join(anchor.itertext()).split())
        linked.setdefault(anchor.get(XLINK_HREF), []).append(words)
    assert not any("a title" in " ".join(words) for words in linked.values())
    assert "#box-dbr_excluded" in linked


def test_control_and_bidi_characters_never_enter_a_doi() -> None:
    assert normalise_doi("10.1000/aaa\u202e") == "10.1000/aaa"
    assert normalise_doi("10.1000/nul\x00x") == "10.1000/nulx"
    assert normalise_doi("https://doi.org/10.1000/ok\u200b") == "10.1000/ok"


def test_each_box_list_counts_its_studies_once_and_an_empty_review_says_so(tmp_path: Path) -> None:
    import re

    from screener.prisma import prisma_counts
    from screener.report import build_report

    review = build(tmp_path)
    page = build_report(review)
    included = prisma_counts(review).to_dict()["total_studies"]
    summary = re.search(r'<details id="box-total_studies"><summary>[^<]*\(n = (\d+)\)', page)
    assert summary and int(summary.group(1)) == included
    empty = Review(init_review(tmp_path / "empty", reviewers=[Reviewer("alice")]))
    assert "No records yet" in build_report(empty) and "Screening complete" not in build_report(empty)
