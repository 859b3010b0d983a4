"""Dual screening: decision files, labels, conflicts, resolution, final decisions, agreement."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
from pathlib import Path

import pytest

from screener.errors import ScreenerError
from screener.review import Review, Reviewer, init_review
from screener.screening import agreement, cohen_kappa, load_stage
from screener.screening.decisions import DecisionLog, decision_path, session_lock

from .conftest import SAMPLES

TA, FT = "title-abstract", "full-text"
OSBORNE, GOMEZ, HOUSE = "pmid:16511671", "pmid:18345317", "pmid:16368504"
SARMIENTO, ELIAS = "pmid:12490844", "pmid:19464140"


@pytest.fixture
def screened(tmp_path) -> Review:
    """A review with five studies (one found twice) and two screeners and a resolver."""
    root = init_review(
        tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("carol", "resolver")]
    )
    review = Review(root)
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase")
    review.import_file(SAMPLES / "wos.ciw", "wos", database="Web of Science")
    review.import_file(SAMPLES / "pubmed.xml", "pubmed", database="PubMed")
    review.import_file(SAMPLES / "endnote.xml", "endnote", database="EndNote library")
    return review


def log(review: Review, stage: str, reviewer: str) -> DecisionLog:
    return DecisionLog(decision_path(review.labels_dir, stage, reviewer))


def test_decision_file_is_append_only_and_latest_wins(tmp_path):
    decisions = DecisionLog(tmp_path / "labels" / TA / "alice.csv")
    decisions.append(OSBORNE, "include")
    decisions.append(OSBORNE, "exclude", note="second thoughts")
    decisions.append(GOMEZ, "maybe")
    decisions.append(GOMEZ, "undecided")  # undo
    current = decisions.current()
    assert current[OSBORNE].decision == "exclude" and current[OSBORNE].note == "second thoughts"
    assert GOMEZ not in current
    lines = decisions.path.read_text().splitlines()
    # New files get the tags column (#15); files written before it keep their own header.
    assert lines[0] == "record_id,decision,reason,note,timestamp,version,tags" and len(lines) == 5
    before = decisions.path.read_bytes()
    decisions.append(HOUSE, "include")
    assert decisions.path.read_bytes().startswith(before)  # nothing rewritten


def test_malformed_line_names_file_and_line(tmp_path):
    decisions = DecisionLog(tmp_path / "alice.csv")
    decisions.append(OSBORNE, "include")
    with decisions.path.open("a") as handle:
        handle.write("pmid:1,perhaps,,,,\n")
    with pytest.raises(ScreenerError, match=r"alice.csv:3: .*perhaps"):
        decisions.read()


def test_second_session_is_refused(tmp_path):
    with session_lock(tmp_path, TA, "alice"):
        with pytest.raises(ScreenerError, match="already screening"):
            with session_lock(tmp_path, TA, "alice"):
                pass
        with session_lock(tmp_path, TA, "bob"):  # another reviewer is fine
            pass
    with session_lock(tmp_path, TA, "alice"):  # released
        pass


def test_a_cache_folder_that_cannot_hold_the_session_lock_is_one_line_with_what_to_do(tmp_path):
    """A read-only or broken cache folder: one line naming the lock, and SCREENER_CACHE_DIR."""
    (tmp_path / "not-a-folder").write_text("")
    with pytest.raises(ScreenerError) as refused:
        with session_lock(tmp_path / "not-a-folder" / "locks", TA, "alice"):
            pass
    assert "session lock" in str(refused.value) and "SCREENER_CACHE_DIR" in refused.value.hint


def test_stage_holds_the_deduplicated_studies(screened):
    view = load_stage(screened, TA)
    assert sorted(view.record_ids) == sorted([OSBORNE, GOMEZ, HOUSE, SARMIENTO, ELIAS])
    assert view.screeners == ["alice", "bob"] and view.resolvers == ["carol"]


def test_decision_on_any_copy_counts_for_the_study(screened):
    embase_copy = "doi:10.1245/aso.2006.03.071"  # Osborne as Embase gave it
    log(screened, TA, "alice").append(embase_copy, "include")
    assert OSBORNE in load_stage(screened, TA).decisions["alice"]


def test_conflicts_final_decisions_and_resolution(screened):
    a, b = log(screened, TA, "alice"), log(screened, TA, "bob")
    for rid in (OSBORNE, GOMEZ, HOUSE, SARMIENTO):
        a.append(rid, "include")
    b.append(OSBORNE, "include")
    b.append(GOMEZ, "maybe")  # maybe counts as include
    b.append(HOUSE, "exclude")
    view = load_stage(screened, TA)
    kinds = {c.record_id: c.kind for c in view.conflicts}
    assert kinds == {HOUSE: "disagree", SARMIENTO: "single"}
    assert view.final[OSBORNE].decision == "include" and view.final[OSBORNE].by == "agreement"
    assert view.final[GOMEZ].decision == "include"
    log(screened, TA, "carol").append(HOUSE, "exclude", note="no resection arm")
    view = load_stage(screened, TA)
    assert view.final[HOUSE].decision == "exclude" and view.final[HOUSE].by == "carol"
    assert [c.record_id for c in view.conflicts] == [SARMIENTO]


def test_full_text_stage_holds_only_included_records(screened):
    for reviewer in ("alice", "bob"):
        log(screened, TA, reviewer).append(OSBORNE, "include")
        log(screened, TA, reviewer).append(GOMEZ, "include")
        log(screened, TA, reviewer).append(HOUSE, "exclude")
    view = load_stage(screened, FT)
    assert sorted(view.record_ids) == sorted([OSBORNE, GOMEZ])
    reason = screened.config.exclusion_reasons[0]
    log(screened, FT, "alice").append(OSBORNE, "exclude", reason=reason)
    log(screened, FT, "bob").append(OSBORNE, "exclude", reason=screened.config.exclusion_reasons[1])
    log(screened, FT, "alice").append(GOMEZ, "not-retrieved")
    log(screened, FT, "bob").append(GOMEZ, "not-retrieved")
    view = load_stage(screened, FT)
    assert [(c.record_id, c.kind) for c in view.conflicts] == [(OSBORNE, "reason")]
    assert view.final[GOMEZ].decision == "not-retrieved"
    log(screened, FT, "carol").append(OSBORNE, "exclude", reason=reason)
    assert load_stage(screened, FT).final[OSBORNE].reason == reason


def test_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(7)
    for _ in range(20):
        n = rng.randint(20, 400)
        truth = [rng.random() < 0.2 for _ in range(n)]
        a = [int(t if rng.random() < 0.9 else not t) for t in truth]
        b = [int(t if rng.random() < 0.85 else not t) for t in truth]
        kappa, low, high, po, pabak = cohen_kappa(a, b)
        assert kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        assert low < kappa < high and high - low < 1
        assert po == pytest.approx(sum(x == y for x, y in zip(a, b, strict=True)) / n)
        assert pabak == pytest.approx(2 * po - 1)


def test_kappa_confidence_interval_known_value():
    # 2x2 table 40 / 10 / 5 / 45 (n=100): kappa 0.70; Fleiss-Cohen-Everitt SE 0.0711.
    a = [1] * 40 + [1] * 10 + [0] * 5 + [0] * 45
    b = [1] * 40 + [0] * 10 + [1] * 5 + [0] * 45
    kappa, low, high, po, pabak = cohen_kappa(a, b)
    assert kappa == pytest.approx(0.70)
    assert (high - low) / 2 / 1.96 == pytest.approx(0.0711, abs=5e-4)
    assert pabak == pytest.approx(0.70)


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [
        ((3, 2, 0, 8), 0.229, 1.0),  # the team's 13 records: the large-sample CI ran to 1.068
        ((0, 3, 4, 0), -1.0, None),  # all disagreement, small n: the lower end is clipped
        ((2, 0, 0, 5), None, None),  # 100% agreement on 7: SE 0, no interval to claim
    ],
)
def test_kappa_confidence_interval_stays_within_what_kappa_can_be(table, low, high):
    ii, ie, ei, ee = table
    a = [1] * ii + [1] * ie + [0] * ei + [0] * ee
    b = [1] * ii + [0] * ie + [1] * ei + [0] * ee
    kappa, lo, hi, _, _ = cohen_kappa(a, b)
    if low is None:
        assert math.isnan(lo) and math.isnan(hi) and kappa == 1.0
        return
    assert -1.0 <= lo <= kappa <= hi <= 1.0
    assert lo == pytest.approx(low, abs=5e-4)
    if high is not None:
        assert hi == high


def test_agreement_says_when_kappas_ci_is_not_estimable(screened, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    a, b = log(screened, TA, "alice"), log(screened, TA, "bob")
    for rid, x in ((OSBORNE, "include"), (GOMEZ, "exclude"), (HOUSE, "exclude")):
        a.append(rid, x)
        b.append(rid, x)
    out = cli("agreement", "--stage", TA, "--review", str(screened.root)).out
    assert "CI not estimable" in " ".join(out.split()) and "1.000 to 1.000" not in out


def test_agreement_per_pair(screened):
    a, b = log(screened, TA, "alice"), log(screened, TA, "bob")
    for rid, x, y in (
        (OSBORNE, "include", "include"),
        (GOMEZ, "exclude", "maybe"),
        (HOUSE, "exclude", "exclude"),
        (SARMIENTO, "include", "exclude"),
    ):
        a.append(rid, x)
        b.append(rid, y)
    (result,) = agreement(load_stage(screened, TA))
    assert result.n == 4
    assert result.table == {
        "both_include": 1,
        "only_alice_includes": 1,
        "only_bob_includes": 1,
        "both_exclude": 1,
    }
    assert result.percent_agreement == 0.5 and result.kappa == pytest.approx(0.0)


def test_label_cli_and_errors(cli, screened):
    root = str(screened.root)
    ok = cli("label", "--reviewer", "alice", OSBORNE, "include", "--review", root)
    assert ok.code == 0, ok
    assert cli("label", "--reviewer", "zoe", OSBORNE, "include", "--review", root).code == 2
    missing = cli("label", "--reviewer", "alice", "pmid:1", "include", "--review", root)
    assert missing.code == 2 and "no record" in missing.err
    wrong_stage = cli("label", "--reviewer", "alice", OSBORNE, "not-retrieved", "--review", root)
    assert wrong_stage.code == 2
    cli("label", "--reviewer", "bob", OSBORNE, "include", "--review", root)
    no_reason = cli("label", "--reviewer", "alice", "--stage", FT, OSBORNE, "exclude", "--review", root)
    assert no_reason.code == 2 and "--reason" in no_reason.err
    bad_reason = cli(
        "label",
        "--reviewer",
        "alice",
        "--stage",
        FT,
        OSBORNE,
        "exclude",
        "--reason",
        "Boring",
        "--review",
        root,
    )
    assert bad_reason.code == 2 and "review.toml" in bad_reason.err
    reason = screened.config.exclusion_reasons[2]
    good = cli(
        "label",
        "--reviewer",
        "alice",
        "--stage",
        FT,
        OSBORNE,
        "exclude",
        "--reason",
        reason,
        "--review",
        root,
    )
    assert good.code == 0, good


def test_import_decisions_checked_before_writing(cli, screened, tmp_path):
    good = tmp_path / "rayyan.csv"
    good.write_text(f"record_id,decision,note\n{OSBORNE},included,\n{GOMEZ},excluded,off topic\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"record_id,decision\n{HOUSE},yes\n{SARMIENTO},perhaps\n")
    result = cli("label", "--reviewer", "bob", "--import", str(bad), "--review", str(screened.root))
    assert result.code == 2 and "bad.csv:3" in result.err
    assert not decision_path(screened.labels_dir, TA, "bob").exists()
    result = cli("label", "--reviewer", "bob", "--import", str(good), "--review", str(screened.root))
    assert result.code == 0 and "2 decisions" in result.out
    current = log(screened, TA, "bob").current()
    assert current[GOMEZ].decision == "exclude" and current[GOMEZ].note == "off topic"


def test_conflicts_agreement_and_status_commands(cli, screened):
    root = str(screened.root)
    for rid, x, y in ((OSBORNE, "include", "include"), (HOUSE, "include", "exclude")):
        cli("label", "--reviewer", "alice", rid, x, "--review", root)
        cli("label", "--reviewer", "bob", rid, y, "--review", root)
    cli("label", "--reviewer", "alice", GOMEZ, "include", "--review", root)
    rows = json.loads(cli("conflicts", "--json", "--review", root).out)
    assert {r["record_id"]: r["kind"] for r in rows} == {HOUSE: "disagree", GOMEZ: "single"}
    assert rows[0]["decisions"]
    text = cli("conflicts", "--review", root)
    assert HOUSE in text.out
    # The resolver's work first; a record waiting for a second vote is said to be that.
    assert "1 to resolve, 1 waiting for more votes" in text.out and "waiting for votes" in text.out
    assert text.out.index(HOUSE) < text.out.index(GOMEZ)
    agreement_rows = json.loads(cli("agreement", "--json", "--review", root).out)
    ta = [a for a in agreement_rows if a["stage"] == TA][0]
    assert ta["n"] == 2 and ta["percent_agreement"] == 0.5
    status = json.loads(cli("status", "--json", "--review", root).out)
    stage = status["stages"][0]
    assert stage["reviewers"]["alice"]["screened"] == 3 and stage["waiting_for"]["bob"] == 3
    assert stage["conflicts_to_resolve"] == 1 and stage["waiting_for"]["carol"] == 1
    assert stage["stopping"]["alice"]["says_stop"] is False and "bob" in stage["stopping"]
    shown = cli("status", "--review", root)
    assert shown.code == 0 and "stopping rule, alice: " in " ".join(shown.out.split())


def _git(cwd, *args):
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)


def _publish(root: Path, tmp_path: Path) -> Path:
    """The review at `root` committed and pushed to a new bare repository (returned)."""
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "--bare", "-b", "main", str(remote))
    _git(root, "init", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-m", "review")
    _git(root, "remote", "add", "origin", str(remote))
    _git(root, "push", "origin", "main")
    return remote


def test_two_reviewers_two_clones_no_merge_conflict(tmp_path, screened):
    """Alice and Bob screen on their own machines and share through one bare repository."""
    remote = _publish(screened.root, tmp_path)
    machines = {}
    for name in ("alice", "bob"):
        _git(tmp_path, "clone", str(remote), f"{name}-machine")
        machines[name] = Review(tmp_path / f"{name}-machine")
    log(machines["alice"], TA, "alice").append(OSBORNE, "include")
    log(machines["alice"], TA, "alice").append(HOUSE, "include")
    log(machines["bob"], TA, "bob").append(OSBORNE, "include")
    log(machines["bob"], TA, "bob").append(HOUSE, "exclude")
    for name in ("alice", "bob"):
        _git(machines[name].root, "add", "labels")
        _git(machines[name].root, "commit", "-m", f"{name} screened")
    _git(machines["alice"].root, "push", "origin", "main")
    pulled = _git(machines["bob"].root, "pull", "--no-rebase", "origin", "main")
    assert "CONFLICT" not in pulled.stdout + pulled.stderr
    _git(machines["bob"].root, "push", "origin", "main")
    _git(machines["alice"].root, "pull", "--no-rebase", "origin", "main")
    for name in ("alice", "bob"):
        view = load_stage(machines[name], TA)
        assert [(c.record_id, c.kind) for c in view.conflicts if c.kind == "disagree"] == [
            (HOUSE, "disagree")
        ]
        assert view.final[OSBORNE].decision == "include"


def test_two_clones_each_starting_one_search_keep_both_exports(tmp_path, screened, cli):
    """Two clones each import their own export into a new search of one name (an Embase export
    split in two, one half each): the raw exports are named by their content, so git merges
    them as two files and only the provenance conflicts; resolved as the message says (both
    entries whole), the review holds both exports' records. Named `<search>.ris` in both, git
    wrote conflict markers into a raw export and one clone's export was lost (attack helper)."""
    remote = _publish(screened.root, tmp_path)
    clones, imported = [], 0
    for name, sample in (("a", "ovid.ris"), ("b", "cochrane.ris")):
        _git(tmp_path, "clone", str(remote), name)
        clone = Review(tmp_path / name)
        imported += len(clone.import_file(SAMPLES / sample, "ovid-embase", database="Embase").parsed.records)
        _git(clone.root, "add", "-A")
        _git(clone.root, "commit", "-m", f"{name} imported")
        clones.append(clone)
    _git(clones[0].root, "push", "origin", "main")
    merged = clones[1].root
    who = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    pulled = subprocess.run(
        ["git", *who, "pull", "--no-rebase", "origin", "main"],
        cwd=merged,
        capture_output=True,
        text=True,
    )
    unmerged = _git(merged, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert unmerged == ["searches/ovid-embase.toml"], pulled.stdout + pulled.stderr
    stopped = cli("status", "--review", str(merged))
    assert stopped.code == 2 and "unresolved git merge conflict" in stopped.err
    ours = _git(merged, "show", ":2:searches/ovid-embase.toml").stdout
    theirs = _git(merged, "show", ":3:searches/ovid-embase.toml").stdout
    (merged / "searches" / "ovid-embase.toml").write_text(ours + "\n" + theirs[theirs.index("[[files]]") :])
    review = Review(merged)
    assert len(review.search("ovid-embase").files) == 2
    assert len(review.records("ovid-embase")) == imported
    assert cli("check", "--review", str(merged)).code == 0


def test_a_search_conflict_resolved_by_deleting_the_markers_is_refused(tmp_path, screened, cli):
    """Two clones start one search with other databases: deleting git's marker lines, as a git
    tutorial says, leaves one side's search lines (database, date_searched) inside the other's
    [[files]] entry, where date_searched would date that file wrongly. Refused, naming the key
    and where the lines go (new-user helper: check said OK)."""
    remote = _publish(screened.root, tmp_path)
    sides = (("a", "ovid.ris", "Embase", "2025-01-01"), ("b", "cochrane.ris", "Embase.com", "2025-02-01"))
    for name, sample, database, searched in sides:
        _git(tmp_path, "clone", str(remote), name)
        clone = Review(tmp_path / name)
        clone.import_file(SAMPLES / sample, "ovid-embase", database=database, date_searched=searched)
        _git(clone.root, "add", "-A")
        _git(clone.root, "commit", "-m", f"{name} imported")
    _git(tmp_path / "a", "push", "origin", "main")
    merged = tmp_path / "b"
    who = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", *who, "pull", "--no-rebase", "origin", "main"], cwd=merged, capture_output=True)
    toml = merged / "searches" / "ovid-embase.toml"
    markers = ("<<<<<<<", "=======", ">>>>>>>")
    kept = [line for line in toml.read_text().splitlines(True) if not line.startswith(markers)]
    toml.write_text("".join(kept))
    checked = cli("check", "--review", str(merged))
    assert checked.code != 0 and "is a search's key inside a file's entry" in checked.out, checked
    assert "above the first [[files]] line" in checked.out


def test_two_entries_naming_one_export_with_other_contents_say_how_to_keep_both(tmp_path, screened, cli):
    """An earlier screener named a search's first file `<search>.ris`: two clones each starting
    the search stored two exports at one path, and git kept one. Both entries kept whole then
    name one path with two sha256: said so, with how to get the other export back, never
    "remove the repeated entry" (which drops the other export's records)."""
    toml = screened.root / "searches" / "embase.toml"
    text = toml.read_text()
    entry = text[text.index("[[files]]") :]
    other = entry.replace(screened.search("embase").files[0].sha256, "0" * 64)
    toml.write_text(text + "\n" + other)
    checked = cli("check", "--review", str(screened.root))
    result = cli("status", "--review", str(screened.root))
    assert checked.code == 1 and "files[1].path" in checked.out and "with another sha256" in checked.out
    assert result.code == 2 and "files[1].path" in result.err and "with another sha256" in result.err
    assert "git show :3:searches/" in result.err and "remove the repeated" not in result.err


def test_ranked_order_learns_from_the_reviewers_own_decisions(tmp_path):
    from screener.ranking import Ranker, record_text
    from screener.records import Record
    from screener.screening.screen import BackgroundRanking, ScreenSession

    topics = {
        "liver": "hepatic resection of neuroendocrine liver metastases improves survival",
        "heart": "statin therapy after myocardial infarction in elderly cardiology patients",
    }
    records = [
        Record(id=f"r{k}", title=f"{topics['liver' if k % 5 == 0 else 'heart']} report {k}")
        for k in range(40)
    ]
    session = ScreenSession(TA, records, DecisionLog(tmp_path / "alice.csv"), [])
    ranking = BackgroundRanking(Ranker([record_text(r) for r in records]))
    session.rerank = ranking
    assert session.current.id == "r0"
    session.decide("include")  # r0: liver
    ranking.wait()
    assert session.current.id == "r1"  # one class only: file order still
    session.decide("exclude")  # r1: heart
    ranking.wait()
    ranking.apply(session)
    upcoming = [session.by_id[rid].title.split()[0] for rid in session.queue[:7]]
    assert upcoming == ["hepatic"] * 7  # the seven other liver records come first
    session.skip()
    assert session.queue[-1] in session.skipped
    session.decide("include")
    ranking.wait()
    ranking.apply(session)
    assert session.queue[-1] in session.skipped  # a skipped record stays at the end


def test_rank_command(cli, screened):
    root = str(screened.root)
    before = json.loads(cli("rank", "--reviewer", "alice", "--json", "--review", root).out)
    assert not before["model"] and len(before["records"]) == 5
    cli("label", "--reviewer", "alice", OSBORNE, "include", "--review", root)
    cli("label", "--reviewer", "alice", SARMIENTO, "exclude", "--review", root)
    after = json.loads(cli("rank", "--reviewer", "alice", "--top", "2", "--json", "--review", root).out)
    assert after["model"] and after["trained_on"] == 2 and len(after["records"]) == 2
    assert {OSBORNE, SARMIENTO}.isdisjoint(r["record_id"] for r in after["records"])
    scores = [r["score"] for r in after["records"]]
    assert scores == sorted(scores, reverse=True)
    assert cli("rank", "--reviewer", "alice", "--review", root).code == 0
    for record in before["records"]:
        cli("label", "--reviewer", "alice", record["record_id"], "exclude", "--review", root)
    done = cli("rank", "--reviewer", "alice", "--review", root)
    assert done.code == 0 and "nothing left to rank" in done.out, done
    assert json.loads(cli("rank", "--reviewer", "alice", "--json", "--review", root).out)["records"] == []


def test_rank_follows_the_reviews_ranking_table(cli, screened):
    root = str(screened.root)
    config = screened.root / "review.toml"
    original = config.read_text()
    config.write_text(
        original + '\n[ranking]\nclassifier = "logistic"\nindex_terms = "ignore"\ninterleave = false\n'
    )
    cli("label", "--reviewer", "alice", OSBORNE, "include", "--review", root)
    cli("label", "--reviewer", "alice", SARMIENTO, "exclude", "--review", root)
    result = cli("rank", "--reviewer", "alice", "--json", "--review", root)
    assert result.code == 0, result
    answer = json.loads(result.out)
    assert answer["model"] and answer["ranking"] == {
        "features": "tfidf-one-bag",
        "classifier": "logistic",
        "query": "max",
        "index_terms": "ignore",
        "interleave": False,
        "meaning": "off",
        "turns": "round",
    }
    for table, named in [
        ('classifier = "forest"', "classifier"),
        ('index_terms = "abstracts"', "index_terms"),
        ('interleave = "yes"', "interleave must be true or false"),
        ("index_weight = 0.3", 'index_weight does not apply to features = "tfidf-one-bag"'),
        ("learning_rate = 0.1", "learning_rate"),
    ]:
        config.write_text(original + f"\n[ranking]\n{table}\n")
        refused = cli("rank", "--reviewer", "alice", "--review", root)
        assert refused.code == 2 and "review.toml" in refused.err and named in refused.err, refused


def test_background_ranking_reorders_without_blocking(tmp_path):
    from screener.ranking import Ranker, record_text
    from screener.records import Record
    from screener.screening.screen import BackgroundRanking, ScreenSession

    records = [
        Record(
            id=f"r{k}",
            title=(
                "hepatic resection neuroendocrine liver metastases"
                if k % 5 == 0
                else "statin therapy myocardial infarction cardiology"
            )
            + f" {k}",
        )
        for k in range(40)
    ]
    session = ScreenSession(TA, records, DecisionLog(tmp_path / "alice.csv"), [])
    background = BackgroundRanking(Ranker([record_text(r) for r in records]))
    session.rerank = background
    session.decide("include")  # r0
    session.decide("exclude")  # r1: the training on both starts in the background
    background.wait()
    shown = session.current.id  # the record on screen was chosen before the model was ready
    session.decide("exclude" if session.by_id[shown].title.startswith("statin") else "include")
    background.wait()
    background.apply(session)
    assert all(session.by_id[rid].title.startswith("hepatic") for rid in session.queue[:6])
    assert len(set(session.queue)) == len(session.queue) == 37
