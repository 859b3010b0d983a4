"""Updating a review: new rounds of searches, deduplicated against everything already found."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import pytest

from screener.errors import ScreenerError
from screener.prisma import prisma_counts
from screener.review import Review
from screener.update import update_review

from .conftest import SAMPLES
from .eutils_server import EutilsServer, FakePubmed, PubmedRecord, generate_records, generated_medline
from .test_prisma import GOMEZ, OSBORNE, build


def test_import_update_only_new_studies_enter_screening(tmp_path):
    review = build(tmp_path)  # round 1: Osborne included after full text
    before = prisma_counts(review)
    assert before.round == 1 and before.count("total_studies") == 1
    # Round 2: Rayyan's export has Osborne again (a duplicate of round 1) and Que 1995, which
    # Ovid's export has too (a duplicate within the round), with Kianmanesh 2008.
    report = update_review(
        review, imports=[("rayyan", SAMPLES / "rayyan.csv"), ("ovid", SAMPLES / "ovid.ris")]
    )
    assert report.round == 2 == review.current_round()
    assert report.identified == 4 and report.duplicates == 2 and report.new_studies_to_screen == 2
    counts = prisma_counts(review)
    data = counts.to_dict()
    assert data["round"] == 2
    assert data["database_results"] == 4 and data["citations_results"] == 0
    assert data["database_results_by_database"] == {"rayyan": 2, "ovid": 2}
    assert data["duplicates"] == 2 and data["records_screened"] == 2
    assert counts.boxes["previous_studies"] == [OSBORNE] and data["previous_reports"] == 1
    assert data["new_studies"] == 0 and data["total_studies"] == 1
    # Only the two new studies wait for title/abstract screening.
    assert data["pending"]["title-abstract"] == 2
    meta = tomllib.loads((review.searches_dir / "ovid.toml").read_text())
    assert meta["files"][0]["round"] == 2

    # Screening the new ones: Kianmanesh is included, and the total adds it to the previous one.
    from screener.screening import review_studies
    from screener.screening.decisions import DecisionLog, decision_path

    studies, _ = review_studies(review)
    new = [s for s in studies if s.id in counts.boxes["records_screened"]]
    kianmanesh = next(s.id for s in new if "Two-step" in s.title)
    for reviewer in ("alice", "bob"):
        ta = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for study in new:
            ta.append(study.id, "include" if study.id == kianmanesh else "exclude")
        DecisionLog(decision_path(review.labels_dir, "full-text", reviewer)).append(kianmanesh, "include")
    data = prisma_counts(review).to_dict()
    assert data["records_excluded"] == 1 and data["new_studies"] == 1
    assert data["previous_studies"] == 1 and data["total_studies"] == 2


def test_update_refuses_bad_input_and_writes_nothing(tmp_path):
    review = build(tmp_path)
    snapshot = {
        p: p.read_bytes() for p in review.root.rglob("*") if p.is_file() and ".screener" not in p.parts
    }
    bad = tmp_path / "broken.ris"
    bad.write_text("TY  - JOUR\nTI  - A title with no end record\n", encoding="utf-8")
    with pytest.raises(ScreenerError):
        update_review(review, imports=[("ovid", SAMPLES / "ovid.ris"), ("broken", bad)])
    with pytest.raises(ScreenerError, match="nothing to update"):
        update_review(review)
    with pytest.raises(ScreenerError, match="no search"):
        update_review(review, searches=["nope"])
    after = {p: p.read_bytes() for p in review.root.rglob("*") if p.is_file() and ".screener" not in p.parts}
    assert after == snapshot
    assert review.current_round() == 1


def _pubmed_review(tmp_path, cli, server) -> Review:
    root = tmp_path / "r"
    cli("init", str(root), "--reviewer", "alice", "--reviewer", "bob")
    cli("search", "pubmed", "--search", "medline", "--query", "neuroendocrine liver", "--review", str(root))
    return Review(root)


def test_pubmed_update_fetches_only_new_pmids(tmp_path, cli, monkeypatch):
    fake = FakePubmed(generate_records(1200, first_day=dt.date(2001, 1, 1), days=3000))
    with EutilsServer(fake) as server:
        monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
        monkeypatch.setenv("SCREENER_EUTILS_URL", server.base_url)
        review = _pubmed_review(tmp_path, cli, server)
        assert len(review.records("medline")) == 1200
        # PubMed grows: 30 records entered today, and 2 old ones indexed late.
        today = dt.date.today()
        recent = [
            PubmedRecord(str(30000001 + i), today, generated_medline(str(30000001 + i), today))
            for i in range(30)
        ]
        late_day = dt.date(2003, 5, 1)
        late = [
            PubmedRecord(str(31000001 + i), late_day, generated_medline(str(31000001 + i), late_day))
            for i in range(2)
        ]
        fake.add(recent + late)
        fake.log.clear()
        result = cli("update", "--all", "--json", "--review", str(review.root))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    (pubmed,) = report["pubmed"]
    assert pubmed["count"] == 1232 and pubmed["known"] == 1200 and pubmed["new"] == 32
    assert pubmed["since_last_run"] == 30 and pubmed["indexed_late"] == 2
    # Only the 32 new PMIDs were fetched, by id, in one request.
    fetches = fake.requests("efetch")
    assert len(fetches) == 1 and sorted(fetches[0].params["id"].split(",")) == sorted(
        r.pmid for r in recent + late
    )
    assert report["round"] == 2 and report["records_identified"] == 32
    assert report["duplicates_removed"] == 0 and report["new_studies_to_screen"] == 32
    meta = tomllib.loads((review.searches_dir / "medline.toml").read_text())
    assert meta["files"][1]["round"] == 2 and meta["files"][1]["path"] == pubmed["stored_as"]
    # Named by its day and content: two clones updating on one day never clash in git.
    digest = meta["files"][1]["sha256"][:8]
    assert pubmed["stored_as"] == f"medline-update-{dt.date.today().isoformat()}-{digest}.nbib"
    assert meta["pubmed"]["updates"][0]["new"] == 32
    stored = {r.pmid for r in Review(review.root).records("medline")}
    assert len(stored) == 1232

    # A second update finds nothing new: a round with no records, and nothing fetched.
    with EutilsServer(fake) as server:
        monkeypatch.setenv("SCREENER_EUTILS_URL", server.base_url)
        fake.log.clear()
        result = cli("update", "--search", "medline", "--review", str(review.root))
    assert result.code == 0, result.err
    assert "0 new" in result.out and not fake.requests("efetch")
    counts = prisma_counts(Review(review.root))
    assert counts.round == 3 and counts.count("database_results") == 0


def test_importing_the_same_file_again_opens_no_round(tmp_path, cli):
    review = build(tmp_path)
    result = cli("update", "--import", f"medline={SAMPLES / 'medline.nbib'}", "--review", str(review.root))
    assert result.code == 0 and "Nothing new" in result.out
    assert review.current_round() == 1 and prisma_counts(review).round == 1


def test_update_cli_explains_bad_arguments(tmp_path, cli):
    review = build(tmp_path)
    result = cli("update", "--import", "no-equals-sign", "--review", str(review.root))
    assert result.code == 2 and "NAME=FILE" in result.err
    result = cli("update", "--search", "medline", "--review", str(review.root))
    assert result.code == 2 and "imported from a file" in result.err


def test_a_failing_search_leaves_the_review_as_it_was(tmp_path):
    from screener.review import Reviewer, init_review
    from screener.search import EntrezSettings, PubmedSearch

    from .eutils_server import Fault

    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    fake = FakePubmed(generate_records(300))
    with EutilsServer(fake) as server:
        settings = EntrezSettings(email="t@example.org", base_url=server.base_url, max_retries=0, timeout=2)
        for name in ("medline-a", "medline-b"):
            PubmedSearch(review, name, f"query {name}", settings=settings).run()
        snapshot = {p: p.read_bytes() for p in review.searches_dir.iterdir()}
        today = dt.date.today()
        fake.add(
            [
                PubmedRecord(str(40000001 + i), today, generated_medline(str(40000001 + i), today))
                for i in range(5)
            ]
        )
        fake.log.clear()
        fake.faults = [Fault("efetch", len(fake.requests("efetch")) + 2, "503")]
        fake._counters.clear()
        with pytest.raises(ScreenerError, match="kept failing"):
            update_review(review, searches=["medline-a", "medline-b"], settings=settings)
    # medline-a's new records were fetched, but nothing is written when medline-b fails.
    assert {p: p.read_bytes() for p in review.searches_dir.iterdir()} == snapshot
    assert review.current_round() == 1


def test_an_update_rounds_in_progress_counts_are_the_rounds_own(tmp_path, cli):
    """The in-progress line of round 2 counts round 2's records, as its flow does; round 1's
    open work is said apart (it was counted into round 2's figures before)."""
    from screener.screening.decisions import DecisionLog, decision_path

    review = build(tmp_path)
    # Round 1 left a full-text conflict: bob changed his mind on Gomez.
    DecisionLog(decision_path(review.labels_dir, "full-text", "bob")).append(GOMEZ, "include")
    update_review(review, imports=[("rayyan", SAMPLES / "rayyan.csv"), ("ovid", SAMPLES / "ovid.ris")])
    counts = prisma_counts(review)
    assert counts.round == 2 and counts.count("records_screened") == 2
    assert counts.awaiting["title-abstract"] == {"undecided": 2, "open": 0, "conflicts": 0}
    assert sum(counts.awaiting["full-text"].values()) == 0
    assert counts.earlier_rounds_waiting == 1 and counts.in_progress
    said = "title-abstract: 2 not screened yet; earlier rounds: 1 record not final"
    assert counts.in_progress_text() == said
    assert prisma_counts(review, round=1).awaiting["full-text"]["conflicts"] == 1
    text = cli("prisma", "--review", str(review.root)).out
    assert "earlier rounds: 1 record not final" in " ".join(text.split())


def test_update_import_takes_database_and_date_and_warns_when_the_round_is_unfinished(tmp_path, cli):
    review = build(tmp_path)  # round 1 finished: Osborne included after full text
    assert update_review(review, imports=[("ovid", SAMPLES / "ovid.ris")]).unfinished == []
    # Round 2 is left unscreened; round 3 says so, and takes the database and the search date.
    result = cli(
        "update",
        "--import",
        f"cinahl={SAMPLES / 'rayyan.csv'}",
        "--database",
        "CINAHL",
        "--date-searched",
        "2025-06-30",
        "--review",
        str(review.root),
    )
    assert result.code == 0, result
    assert "warning: the previous round is unfinished (title-abstract:" in result.err
    search = Review(review.root).search("cinahl")
    # A new search: the date is its own (an existing one would record it on the new file).
    assert search.database == "CINAHL" and search.date_searched == "2025-06-30"
    assert search.files[0].round == 3
    refused = cli("update", "--all", "--database", "x", "--review", str(review.root))
    assert refused.code == 2 and "give --import NAME=FILE" in refused.err


def test_a_refused_update_writes_nothing(tmp_path, cli):
    review = build(tmp_path)
    root = str(review.root)
    before = {p: p.read_bytes() for p in review.root.rglob("*") if p.is_file()}
    for imports in (
        [
            "--import",
            f"newx={SAMPLES / 'ovid.ris'}",
            "--import",
            f"medline={SAMPLES / 'rayyan.csv'}",
            "--database",
            "Embase",
        ],
        ["--import", f"newx={SAMPLES / 'ovid.ris'}", "--import", f"NewX={SAMPLES / 'rayyan.csv'}"],
    ):
        result = cli("update", *imports, "--review", root)
        assert result.code == 2, result
        assert {p: p.read_bytes() for p in review.root.rglob("*") if p.is_file()} == before
    assert Review(root).current_round() == 1


def test_prisma_round_draws_an_earlier_rounds_flow_as_it_was(tmp_path, cli):
    """Issue #22: after an update, round 1's flow (JSON, CSV, diagram) is still there to draw."""
    review = build(tmp_path)  # round 1: Osborne included after full text
    root = str(review.root)
    before = {fmt: cli("prisma", "--format", fmt, "--review", root).out for fmt in ("json", "csv")}
    update_review(review, imports=[("rayyan", SAMPLES / "rayyan.csv"), ("ovid", SAMPLES / "ovid.ris")])
    assert prisma_counts(review, round=1).to_dict() == json.loads(before["json"])
    for fmt in ("json", "csv"):
        assert cli("prisma", "--round", "1", "--format", fmt, "--review", root).out == before[fmt]
    latest = json.loads(cli("prisma", "--round", "2", "--format", "json", "--review", root).out)
    assert latest == prisma_counts(review).to_dict() and latest["round"] == 2
    text = cli("prisma", "--round", "1", "--review", root).out
    assert "Round 1 of 2" in " ".join(text.split())
    # Round 1's diagram is a new review's: no previous studies, round 1's records.
    svg = tmp_path / "round1.svg"
    result = cli("prisma", "--round", "1", "--diagram", str(svg), "--review", root)
    assert (
        result.code == 0 and "Previous studies" not in svg.read_text() and "round 1 of 2" in svg.read_text()
    )
    for bad in ("3", "0", "x"):
        result = cli("prisma", "--round", bad, "--review", root)
        assert (
            result.code == 2 and "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
        )
    assert "no round 3: this review has rounds 1 to 2" in cli("prisma", "--round", "3", "--review", root).err


def test_status_lists_each_rounds_date_searched(tmp_path, cli):
    review = build(tmp_path)
    first = review.search("medline").date_searched
    update_review(review, imports=[("medline", SAMPLES / "ovid.ris")], date_searched="2031-02-03")
    root = str(review.root)
    info = json.loads(cli("status", "--json", "--review", root).out)
    medline = next(s for s in info["searches"] if s["name"] == "medline")
    assert [(r["round"], r["date_searched"]) for r in medline["rounds"]] == [(1, first), (2, "2031-02-03")]
    assert sum(r["records"] for r in medline["rounds"]) == medline["records"]
    # fix-rest 2: the round-1 date stays; the latest round's is there too.
    assert (medline["date_searched"], medline["last_date_searched"]) == (first, "2031-02-03")
    text = cli("status", "--review", root).out
    assert "2031-02-03 (round 2)" in text and f"{first or 'no date'} (round 1)" in text
def test_update_import_warns_of_empty_records_and_bibtex_closed_early(tmp_path, cli):
    review = build(tmp_path)
    blank = tmp_path / "cinahl.ris"
    blank.write_text("TY  - JOUR\nTI  - A new trial\nER  -\n\nTY  - GEN\nER  -\n")
    bib = tmp_path / "scholar.bib"
    bib.write_text("@article{k,\n  title={Another new trial}},\n  year={2020}\n}\n")
    result = cli(
        "update", "--import", f"cinahl={blank}", "--import", f"scholar={bib}", "--review", str(review.root)
    )
    assert result.code == 0, result
    stored = review.search("cinahl").files[0].path
    assert f"searches/{stored}: 1 empty record kept out of screening" in result.err, result
    assert "BibTeX entry 'k' ends early" in result.err and "(year)" in result.err, result
    assert review.empty_records() == {"cinahl": 1}
    assert prisma_counts(review).count("excluded_other") == 1


def test_the_screens_cached_studies_keep_each_studys_round(tmp_path):
    """After an update the screen keeps each study's round with its cached studies (working it
    out again costs a deduplication at every start): the same rounds, and the same stage, as
    computed afresh; a planted round is not trusted."""
    import marshal

    from screener.screening import load_stage, review_studies, study_rounds
    from screener.screening.screen import screen_studies_deferred

    review = build(tmp_path)
    update_review(review, imports=[("rayyan", SAMPLES / "rayyan.csv"), ("ovid", SAMPLES / "ovid.ris")])
    review.records()  # its files verified: the cache has a key
    studies, member_of = review_studies(review)
    expected = study_rounds(review, member_of)
    assert sorted(set(expected.values())) == [2]
    computed = screen_studies_deferred(review)
    assert computed.rounds == expected
    computed.save()
    cached = screen_studies_deferred(review)
    assert cached.save is None and cached.rounds == expected
    cached.abstracts.fill_all()
    fresh = load_stage(review, "title-abstract")
    kept = load_stage(review, "title-abstract", cached.studies, cached.member_of, rounds=cached.rounds)
    assert kept.rounds == fresh.rounds == expected
    assert json.dumps(kept.progress(), sort_keys=True) == json.dumps(fresh.progress(), sort_keys=True)
    entry = next((review.cache_dir / "studies").glob("*.marshal"))
    fields, rows, member, rounds, arrivals, key, digest = marshal.loads(entry.read_bytes())
    planted = {next(iter(rounds)): True}  # not a round number
    entry.write_bytes(marshal.dumps((fields, rows, member, planted, arrivals, key, digest)))
    again = screen_studies_deferred(review)
    assert again.save is not None and again.rounds == expected  # rebuilt, not trusted
    # So are the arrivals kept with them (when each study's copies came): a time that is no
    # number, or a study that is none of the studies, is rebuilt.
    study = next(iter(rounds))
    for planted in ({study: ("soon", False)}, {"nobody": (1.0, False)}, {study: (1.0, "yes")}):
        entry.write_bytes(marshal.dumps((fields, rows, member, rounds, planted, key, digest)))
        again = screen_studies_deferred(review)
        assert again.save is not None and again.arrivals == arrivals, planted


def test_after_an_update_the_same_export_imported_again_is_still_refused(tmp_path, cli):
    """A plain import after an update lands in the update's round, but it is no new run of the
    search: the same export again (one newline added) is refused as it is before any update,
    and round 2's counts stay those of the update (found by the attack helper: 20 spurious
    records). `update` itself still brings an overlapping export of the search run again."""
    review = build(tmp_path)
    root = str(review.root)
    assert cli("update", "--import", f"ovid={SAMPLES / 'ovid.ris'}", "--review", root).code == 0
    before = prisma_counts(Review(root)).to_dict()
    again = tmp_path / "medline-again.nbib"
    again.write_bytes((SAMPLES / "medline.nbib").read_bytes() + b"\n")
    result = cli("import", str(again), "--search", "medline", "--review", root)
    assert result.code == 2 and "already in search 'medline'" in result.err, result
    assert prisma_counts(Review(root)).to_dict() == before
    rerun = cli("update", "--import", f"medline={again}", "--review", root)
    assert rerun.code == 0, rerun


def test_removing_an_updates_only_file_says_its_round_is_gone(tmp_path, cli):
    """The update's only file removed: round 2 is gone, and the remove says so, with how to
    bring the file as an update again (found by the attack helper: re-imported with plain
    import, it silently joined round 1)."""
    review = build(tmp_path)
    root = str(review.root)
    assert cli("update", "--import", f"ovid={SAMPLES / 'ovid.ris'}", "--review", root).code == 0
    assert Review(root).current_round() == 2
    stored = Review(root).search("ovid").files[0].path
    removed = cli("import", "--remove", stored, "--reason", "wrong file", "--review", root)
    assert removed.code == 0, removed
    assert "round 2 had no other file, so it is gone and the review is back to round 1" in removed.err
    assert "screener update --import ovid=FILE" in removed.err
    assert Review(root).current_round() == 1
    again = cli("update", "--import", f"ovid={SAMPLES / 'ovid.ris'}", "--review", root, "--json")
    assert again.code == 0 and Review(root).current_round() == 2, again
    # A removal that leaves its round other files says nothing of rounds.
    review = build(tmp_path / "b")
    root = str(review.root)
    two = ["--import", f"ovid={SAMPLES / 'ovid.ris'}", "--import", f"rayyan={SAMPLES / 'rayyan.csv'}"]
    assert cli("update", *two, "--review", root).code == 0
    stored = Review(root).search("ovid").files[0].path
    removed = cli("import", "--remove", stored, "--reason", "wrong file", "--review", root, "--json")
    assert removed.code == 0 and "round" not in removed.err and "round_closed" not in removed.out
    # A middle round emptied: said too, with the rounds that remain (second attack helper).
    review = build(tmp_path / "c")
    root = str(review.root)
    assert cli("update", "--import", f"ovid={SAMPLES / 'ovid.ris'}", "--review", root).code == 0
    assert cli("update", "--import", f"rayyan={SAMPLES / 'rayyan.csv'}", "--review", root).code == 0
    stored = Review(root).search("ovid").files[0].path
    removed = cli("import", "--remove", stored, "--reason", "wrong file", "--review", root)
    assert removed.code == 0 and "round 2 had no other file, so it is gone; rounds 1, 3 remain" in removed.err
