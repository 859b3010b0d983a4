"""Issue #22, truth at the seams: progress, rank, the stopping statement and the report are per
screener, per share and per round; every command that takes --reviewer checks it alike, and
its hint is a line review.toml takes."""

from __future__ import annotations

import json
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


# -- per share and per round -------------------------------------------------------------------

TA = "title-abstract"


def _decide(review: Review, name: str, ids: list[str], included: set[str] = frozenset()) -> None:
    from screener.screening.decisions import Decision, DecisionLog, decision_path, now_stamp

    DecisionLog(decision_path(review.labels_dir, TA, name)).append_many(
        [Decision(i, "include" if i in included else "exclude", "", "", now_stamp(), "test") for i in ids]
    )


def _update(review: Review, tmp_path, count: int) -> Review:
    from screener.update import update_review

    from .test_allocate import records_csv

    update_review(review, imports=[("db2", records_csv(tmp_path / "round2.csv", 9000, count))])
    return Review(review.root)


def _session(review: Review, name: str, every: bool = False):  # noqa: ANN202 - ScreenSession
    """The screen of `name` as `screener screen` builds it, ranked: from the studies' cache
    when the inputs it is keyed by are unchanged (it is then written)."""
    from screener.screening import load_stage
    from screener.screening.allocate import screen_records, share_scope
    from screener.screening.decisions import DecisionLog, decision_path
    from screener.screening.screen import ScreenSession, screen_studies_deferred, still_need_vote

    studies, member_of, _, save, rounds, arrivals = screen_studies_deferred(review)
    if save is not None:
        save()
    view = load_stage(review, TA, studies, member_of, rounds=rounds, arrivals=arrivals)
    records, said = screen_records(view, name, every=every)
    session = ScreenSession(
        TA,
        records,
        DecisionLog(decision_path(review.labels_dir, TA, name)),
        [],
        done=dict(view.decisions.get(name, {})),
        order="ranked",
        need_vote=still_need_vote(view, name),
        round_of=view.rounds,
        apart=view.apart_for(name),
        scope=share_scope(view, name, every),
    )
    session.message = said
    return session


def _screen_text(session) -> str:  # noqa: ANN001
    import io

    from rich.console import Console

    from screener.screening.screen import screen_lines

    console = Console(file=io.StringIO(), width=200, height=40, force_terminal=True, color_system=None)
    lines = screen_lines(session, console, lambda text: None, 200, 40)
    return " ".join(line.plain for line in lines)


def test_a_screener_who_finished_their_share_is_measured_against_it(cli, tmp_path) -> None:
    """status, the report's progress and its stopping statement count the share, as the screen does."""
    from screener.report import report_data
    from screener.screening import load_stage
    from screener.screening.allocate import allocate

    from .test_allocate import make_review

    review = make_review(tmp_path, ["alice", "bob", "dave"], count=60)
    allocate(review, TA)
    share = sorted(load_stage(review, TA).allocation.share("alice"))
    assert len(share) == 40
    _decide(review, "alice", share, included=set(share[:3]))
    progress = load_stage(review, TA).progress()["reviewers"]["alice"]
    assert (progress["screened"], progress["total"]) == (40, 40)
    status = cli("status", "--review", str(review.root))
    assert status.code == 0 and "40 / 40" in status.out and "40 / 60" not in status.out
    data = report_data(review)
    curve = next(c for c in data.curves if c.reviewer == "alice")
    assert curve.total == 40
    assert "alice's share (40 records)" in curve.statement and "recall is 100%" in curve.statement
    assert "more records" not in curve.statement
    assert data.to_dict()["stages"][0]["reviewers"]["alice"]["total"] == 40
    screen = _screen_text(_session(review, "alice"))
    assert "your share (40 records)" in screen and "recall is 100%" in screen
    assert "All 40 records of your share are screened" in screen


def test_after_an_update_nobody_is_told_to_stop_before_screening_the_new_round(cli, tmp_path) -> None:
    """Round 1 finished, its curve long flat: the rule said stop for every record, 30 of them
    new and unscreened. Now round 2 is judged on its own curve and the statement names it."""
    from screener.report import report_data
    from screener.screening import load_stage

    from .test_allocate import make_review

    review = make_review(tmp_path, ["alice", "bob"], count=300)
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids, included=set(ids[:8]))
    review = _update(review, tmp_path, 30)
    view = load_stage(review, TA)
    assert len(view.records) == 330 and sum(1 for n in view.rounds.values() if n == 2) == 30
    session = _session(review, "alice")
    screen = _screen_text(session)
    assert "round 2 (30 records): 0 relevant found" in screen, screen
    assert "says stop" not in screen
    import io

    from rich.console import Console

    from screener.screening.screen import help_lines

    console = Console(file=io.StringIO(), width=200, height=40, force_terminal=True, color_system=None)
    helped = " ".join(line.plain for line in help_lines(session, console, 200))
    assert "round 2 (30 records)" in helped and "Each round of the review is judged on its own" in helped
    curve = next(c for c in report_data(review).curves if c.reviewer == "alice")
    assert "round 2 (30 records)" in curve.statement and "says stop" not in curve.statement
    status = cli("status", "--review", str(review.root))
    assert "round 2: 30 records; alice 0 / 30, bob 0 / 30" in " ".join(status.out.split())
    # Round 2 screened too: the rule speaks of the last round, complete.
    _decide(review, "alice", [r for r, n in view.rounds.items() if n == 2])
    screen = _screen_text(_session(Review(review.root), "alice"))
    assert "round 2 (30 records)" in screen and "recall is 100%" in screen


def _judged_apart_until_screened(review: Review, view, group: str) -> None:  # noqa: ANN001 - StageView
    """alice's screen and report judge `group` ("<name> (N records)") on its own, never saying
    stop before it is screened; once alice screens it, complete."""
    from screener.report import report_data

    screen = _screen_text(_session(review, "alice"))
    assert f"{group}: 0 relevant found" in screen, screen
    assert "says stop" not in screen
    curve = next(c for c in report_data(review).curves if c.reviewer == "alice")
    assert group in curve.statement and "says stop" not in curve.statement
    said = _status_stopping(review)["alice"]  # status says what the screen and report say
    assert said == {"statement": curve.statement, "says_stop": False}
    _decide(review, "alice", sorted(view.apart))
    screen = _screen_text(_session(Review(review.root), "alice"))
    assert group in screen and "recall is 100%" in screen
    said = _status_stopping(Review(review.root))["alice"]
    assert group in said["statement"] and "recall is 100%" in said["statement"] and said["says_stop"]


def _status_stopping(review: Review) -> dict:
    from screener.screening import progress_all

    return next(stage for stage in progress_all(review) if stage["stage"] == TA)["stopping"]


def test_records_a_chase_brought_after_screening_began_are_judged_apart(cli, tmp_path) -> None:
    """Round 1's database records screened, the curve flat: a chase then brings 30 records in
    round 1. Their own group is judged, so nobody is told to stop before screening any of them,
    and the statement names what it covers; once screened, the rule speaks of them, complete."""
    from screener.screening import LATE_OTHER, load_stage

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=300)
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids, included=set(ids[:8]))
    review.import_file(records_csv(tmp_path / "chase.csv", 9000, 30), "cites", kind="citations")
    review = Review(review.root)
    view = load_stage(review, TA)
    assert len(view.records) == 330 and set(view.apart.values()) == {LATE_OTHER} and len(view.apart) == 30
    assert not view.rounds  # still round 1: the chase is no update
    _judged_apart_until_screened(review, view, f"{LATE_OTHER} (30 records)")


def test_a_database_imported_after_screening_began_is_judged_apart(cli, tmp_path, monkeypatch) -> None:
    """Round 1's first database screened, the curve flat: a second database imported then (no
    update) brings 60 records, 16 of them duplicates of nothing. The rule must not say stop
    with them unseen: they are judged as a group of their own, named for what they are; a
    study one of whose copies came before screening began stays in round 1's curve."""
    from screener.screening import LATE_IMPORT, load_stage
    from screener.screening.screen import screen_studies_deferred

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=300)
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids, included=set(ids[:8]))
    before = load_stage(Review(review.root), TA)
    assert before.apart == {}
    # 60 new records and 10 already in the first database (PMIDs 1000-1009): those 10 stay.
    late = records_csv(tmp_path / "late.csv", 9000, 60)
    with late.open("a") as handle:
        handle.writelines((tmp_path / "first.csv").read_text().splitlines(keepends=True)[1:11])
    review.import_file(late, "embase", database="Embase", allow_overlap=True)
    review = Review(review.root)
    view = load_stage(review, TA)
    assert len(view.records) == 360 and set(view.apart.values()) == {LATE_IMPORT} and len(view.apart) == 60
    assert not view.rounds  # still round 1: a late import is no update
    _judged_apart_until_screened(review, view, f"{LATE_IMPORT} (60 records)")
    # The screen knows when each study came from its cache, without reading every record again
    # (1.5 s at 100,000 records), and so judges the same studies apart.
    cached = screen_studies_deferred(review)
    assert cached.save is None
    monkeypatch.setattr(Review, "records", lambda *_: pytest.fail("every record read again"))
    studies, member_of, rounds, arrivals = cached.studies, cached.member_of, cached.rounds, cached.arrivals
    again = load_stage(review, TA, studies, member_of, rounds=rounds, arrivals=arrivals)
    assert again.apart == view.apart


@pytest.mark.parametrize("then", ["decided again", "first file removed and imported again"])
def test_a_late_database_stays_late(tmp_path, then) -> None:
    """The attack helper's two ways to lose the late group, each of which made the rule say
    stop with 60 records unseen: every early record decided again after the late import (a
    fresh export of the same decisions), and the round's first file removed and imported again
    (the same content: it came when it first did)."""
    from screener.screening import LATE_IMPORT, load_stage

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=300)
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids, included=set(ids[:8]))
    review.import_file(records_csv(tmp_path / "late.csv", 9000, 60), "embase", database="Embase")
    review = Review(review.root)
    assert len(load_stage(review, TA).apart) == 60
    if then == "decided again":
        _decide(review, "alice", ids, included=set(ids[:8]))
    else:
        stored = review.search("db").files[0].path
        review.remove_file(stored, reason="wrong export")
        review.import_file(tmp_path / "first.csv", "db", database="MEDLINE")
    view = load_stage(Review(review.root), TA)
    assert len(view.records) == 360 and set(view.apart.values()) == {LATE_IMPORT} and len(view.apart) == 60
    screen = _screen_text(_session(Review(review.root), "alice"))
    assert f"{LATE_IMPORT} (60 records)" in screen and "says stop" not in screen, screen


def test_a_late_database_an_update_finds_again_stays_late(tmp_path) -> None:
    """A database imported after screening began, then run again by `update`: its export holds
    the 15 late records again and 5 new. The 15 stay round 1's (their earliest copy's round),
    and their copies in round 2's file were in none of round 1's ranking either: still judged
    apart, never folded into round 1's finished curve, where the rule said every record was
    screened with the 15 unseen (attack helper)."""
    from screener.screening import LATE_IMPORT, load_stage
    from screener.update import update_review

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=200)
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids, included=set(ids[:8]))
    late = records_csv(tmp_path / "late.csv", 9000, 15)
    review.import_file(late, "embase", database="Embase")
    rerun = tmp_path / "rerun.csv"
    new = records_csv(tmp_path / "new.csv", 9500, 5).read_text().split("\n", 1)[1]
    rerun.write_text(late.read_text() + new)
    update_review(review, imports=[("embase", rerun)])
    review = Review(review.root)
    view = load_stage(review, TA)
    assert sorted(view.rounds.values()) == [2] * 5
    assert len(view.apart) == 15 and set(view.apart.values()) == {LATE_IMPORT}
    _decide(review, "alice", [r for r, n in view.rounds.items() if n == 2])  # round 2 screened
    screen = _screen_text(_session(Review(review.root), "alice"))
    assert f"{LATE_IMPORT} (15 records; then round 2 (5 records)): 0 relevant found" in screen, screen
    assert "recall is 100%" not in screen


def _clones(review: Review, tmp_path, *names: str) -> list[Review]:
    from .test_screening import _git, _publish

    remote = _publish(review.root, tmp_path)
    for name in names:
        _git(tmp_path, "clone", str(remote), name)
    return [Review(tmp_path / name) for name in names]


def _share(*clones: Review) -> Review:
    """Each clone's work committed, pushed in turn (each pulling first); the last one's review."""
    from .test_screening import _git

    for clone in clones:
        _git(clone.root, "add", "-A")
        _git(clone.root, "commit", "--allow-empty", "-m", "work")
        _git(clone.root, "pull", "--no-rebase", "origin", "main")
        _git(clone.root, "push", "origin", "main")
    return Review(clones[-1].root)


def _decide_now(review: Review, name: str, ids: list[str], included: set[str] = frozenset()) -> None:
    """Decisions as the screen and `label` write them: the first of a round notes labels/began/."""
    from screener.screening import load_stage
    from screener.screening.decisions import Decision, DecisionLog, now_stamp

    log = DecisionLog.for_reviewer(review, TA, name, load_stage(review, TA))
    verdict = {True: "include", False: "exclude"}
    log.append_many([Decision(i, verdict[i in included], "", "", now_stamp()) for i in ids])


def test_a_database_another_clone_imported_earlier_by_its_clock_is_judged_apart(tmp_path, cli) -> None:
    """Bob's clone imports a database before alice's first decision by the clocks, and its
    commit reaches alice's clone only after she screened round 1 to a flat curve. The import
    time says it came first, yet it was in none of her ranking: judged apart on her curve, from
    what her first decision wrote in labels/began/ (by the clocks alone, the rule said stop with
    its 60 records unseen). Her own line leaves the studies' cache entry in place."""
    from screener.screening import LATE_IMPORT, load_stage
    from screener.screening.screen import screen_studies_deferred

    from .test_allocate import make_review, records_csv

    alice, bob = _clones(make_review(tmp_path, ["alice", "bob"], count=300), tmp_path, "alice-m", "bob-m")
    bob.import_file(records_csv(tmp_path / "late.csv", 9000, 60), "embase", database="Embase")
    ids = load_stage(alice, TA).record_ids
    screen_studies_deferred(alice).save()  # her screen's cache entry, as its first start leaves it
    _decide_now(alice, "alice", ids, included=set(ids[:8]))
    assert screen_studies_deferred(Review(alice.root)).save is None  # her own line moved nothing
    began = (alice.root / "labels" / "began" / "alice.csv").read_text().splitlines()
    assert began[0] == "round,timestamp,exports" and len(began) == 2 and began[1].startswith("1,")
    for merged in (_share(bob, alice), Review(bob.root)):  # either clone pulling the other's work
        if merged.root == bob.root:
            from .test_screening import _git

            _git(bob.root, "pull", "--no-rebase", "origin", "main")
        view = load_stage(merged, TA)
        assert len(view.records) == 360 and view.apart == {} and list(view.apart_of) == ["alice"]
        assert set(view.apart_for("alice").values()) == {LATE_IMPORT} and len(view.apart_for("alice")) == 60
        assert cli("check", "--review", str(merged.root)).code == 0
        screen = _screen_text(_session(merged, "alice"))
        assert f"{LATE_IMPORT} (60 records): 0 relevant found" in screen and "says stop" not in screen, screen
        said = _status_stopping(merged)["alice"]
        assert f"{LATE_IMPORT} (60 records)" in said["statement"] and not said["says_stop"]
    # Without the line, the clocks alone fold the 60 into round 1's finished curve.
    (merged.root / "labels" / "began" / "alice.csv").unlink()
    assert load_stage(Review(merged.root), TA).apart_for("alice") == {}


def test_teammates_each_screening_the_database_they_imported_judge_the_other_apart(tmp_path) -> None:
    """From an empty review, bob imports Embase and alice MEDLINE, each in their own clone, and
    each screens their own first. After the merge each one's curve judges the other's database
    apart: alice's MEDLINE is no late group of hers (attack helper: the groups came out swapped,
    or both late in one group on which the rule could say stop with Embase unseen)."""
    from screener.screening import LATE_IMPORT, load_stage

    from .test_allocate import records_csv

    root = init_review(tmp_path / "review", reviewers=[Reviewer("alice"), Reviewer("bob")])
    alice, bob = _clones(Review(root), tmp_path, "alice-m", "bob-m")
    bob.import_file(records_csv(tmp_path / "embase.csv", 9000, 60), "embase", database="Embase")
    alice.import_file(records_csv(tmp_path / "medline.csv", 1000, 300), "medline", database="MEDLINE")
    medline = load_stage(alice, TA).record_ids
    _decide_now(alice, "alice", medline, included=set(medline[:8]))
    embase = load_stage(bob, TA).record_ids
    _decide_now(bob, "bob", embase, included=set(embase[:2]))
    merged = _share(bob, alice)
    view = load_stage(merged, TA)
    assert view.apart == {} and set(view.apart_for("alice")) == set(embase)
    assert set(view.apart_for("bob")) == set(medline)
    assert set(view.apart_for("alice").values()) == {LATE_IMPORT}
    said = _status_stopping(merged)["alice"]["statement"]
    assert "says stop" not in said and f"{LATE_IMPORT} (60 records)" in said


def test_an_export_missing_from_a_line_is_late_though_her_first_decision_no_longer_counts(tmp_path) -> None:
    """Alice's first decisions were on an export removed later (she took them back, as check
    says): her line still shows bob's Embase was in none of her ranking, and it is judged apart,
    though her first decision that counts came after the line (attack helper: said stop)."""
    from screener.screening import LATE_IMPORT, load_stage

    from .test_allocate import make_review, records_csv

    alice, bob = _clones(make_review(tmp_path, ["alice", "bob"], count=300), tmp_path, "alice-m", "bob-m")
    bob.import_file(records_csv(tmp_path / "late.csv", 9000, 60), "embase", database="Embase")
    alice.import_file(records_csv(tmp_path / "wrong.csv", 5000, 5), "wrong", database="Wrong")
    wrong = [f"pmid:{5000 + k}" for k in range(5)]
    _decide_now(alice, "alice", wrong)
    alice.remove_file(alice.search("wrong").files[0].path, reason="wrong file")
    alice = Review(alice.root)
    from screener.screening.decisions import Decision, DecisionLog, decision_path, now_stamp

    DecisionLog(decision_path(alice.labels_dir, TA, "alice")).append_many(
        [Decision(i, "undecided", "", "", now_stamp()) for i in wrong]
    )
    ids = load_stage(alice, TA).record_ids
    _decide_now(alice, "alice", ids, included=set(ids[:8]))
    merged = _share(bob, alice)
    view = load_stage(merged, TA)
    assert len(view.apart_for("alice")) == 60 and set(view.apart_for("alice").values()) == {LATE_IMPORT}
    assert "says stop" not in _status_stopping(merged)["alice"]["statement"]


def test_a_screener_who_began_after_a_late_import_had_it_from_the_start(tmp_path) -> None:
    """A database imported once alice had screened is apart on her curve; bob, who began after
    it came, held it from his first decision: on his curve it is no late group (new-user
    helper: a teammate who joined later was told of a late group he never lacked)."""
    from screener.screening import LATE_IMPORT, load_stage

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=100)
    ids = load_stage(review, TA).record_ids
    _decide_now(review, "alice", ids, included=set(ids[:5]))
    review.import_file(records_csv(tmp_path / "late.csv", 9000, 30), "embase", database="Embase")
    review = Review(review.root)
    _decide_now(review, "bob", ids[:10])
    view = load_stage(review, TA)
    assert len(view.apart) == 30 and set(view.apart.values()) == {LATE_IMPORT}
    assert view.apart_for("alice") == view.apart and view.apart_for("bob") == {}
    said = _status_stopping(review)
    assert f"{LATE_IMPORT} (30 records)" in said["alice"]["statement"]
    assert "after screening began" not in said["bob"]["statement"]


@pytest.mark.parametrize("how", ["screened before lines were written", "line deleted"])
def test_no_line_is_written_once_the_round_was_screened(tmp_path, how) -> None:
    """Alice screened round 1 with no labels/began line (a screener before these lines, or the
    file deleted), then a database came late; her next decision writes no line, which would
    say she held it from the start and fold its 60 records into her finished curve (attack
    helper: the rule said stop with them unseen): the clocks judge, as before."""
    from screener.screening import LATE_IMPORT, load_stage

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=200)
    ids = load_stage(review, TA).record_ids
    if how == "line deleted":
        _decide_now(review, "alice", ids, included=set(ids[:5]))
        (review.root / "labels" / "began" / "alice.csv").unlink()
    else:
        _decide(review, "alice", ids, included=set(ids[:5]))
    review.import_file(records_csv(tmp_path / "late.csv", 9000, 60), "embase", database="Embase")
    review = Review(review.root)
    _decide_now(review, "alice", ids[:1])  # one decision more, on a record seen already
    assert not (review.root / "labels" / "began" / "alice.csv").exists()
    view = load_stage(review, TA)
    assert len(view.apart_for("alice")) == 60 and set(view.apart_for("alice").values()) == {LATE_IMPORT}
    assert "says stop" not in _status_stopping(review)["alice"]["statement"]


def _round_2_and_cinahl_unpushed(tmp_path) -> tuple[Review, Review]:  # noqa: ANN001
    """alice screened round 1 and ran an update (round 2), shared; bob pulled it and imported
    CINAHL into round 2 without pushing: the two clones."""
    from screener.screening import load_stage
    from screener.update import update_review

    from .test_allocate import make_review, records_csv
    from .test_screening import _git

    alice, bob = _clones(make_review(tmp_path, ["alice", "bob"], count=100), tmp_path, "alice-m", "bob-m")
    _decide_now(alice, "alice", load_stage(alice, TA).record_ids)
    update_review(alice, imports=[("db2", records_csv(tmp_path / "round2.csv", 5000, 40))])
    alice = _share(Review(alice.root))
    _git(bob.root, "pull", "--no-rebase", "origin", "main")
    bob = Review(bob.root)
    bob.import_file(records_csv(tmp_path / "cinahl.csv", 30000, 50), "cinahl", database="CINAHL")
    return alice, Review(bob.root)


def test_a_late_import_of_round_2_from_another_clone_is_apart_though_round_1_ended_just_before(
    tmp_path,
) -> None:
    """Alice screens round 1, the update comes seconds later, bob's clone imports CINAHL into
    round 2 before alice's first round-2 decision by the clocks and pushes after she screened
    round 2. Her line for round 2 is written (her first decision on a round-2 study), so CINAHL
    is apart on her curve (attack helper: a line was refused when her last decision came less
    than 10 minutes before the update, and the rule said stop with 50 records unseen)."""
    from screener.screening import LATE_IMPORT, load_stage

    alice, bob = _round_2_and_cinahl_unpushed(tmp_path)
    view = load_stage(alice, TA)
    _decide_now(alice, "alice", [r for r, n in view.rounds.items() if n == 2])
    merged = _share(bob, alice)
    view = load_stage(merged, TA)
    assert view.apart == {}  # by the clocks CINAHL came before her first round-2 decision
    assert len(view.apart_for("alice")) == 50
    assert set(view.apart_for("alice").values()) == {f"round 2: {LATE_IMPORT}"}
    assert "says stop" not in _status_stopping(merged)["alice"]["statement"]


def test_a_line_written_after_the_curve_of_its_round_began_is_not_trusted(tmp_path) -> None:
    """Alice screened round 2 on a machine whose screener wrote no line; CINAHL came into round
    2 after; her laptop, holding CINAHL but not those decisions, wrote a round-2 line listing
    it. After the merge that line, dated after her first round-2 decision, says nothing of what
    her ranking held: the clocks judge, and CINAHL stays apart (attack helper: said stop)."""
    from screener.screening import LATE_IMPORT, load_stage
    from screener.screening.began import note_began
    from screener.screening.decisions import now_stamp

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=100)
    _decide_now(review, "alice", load_stage(review, TA).record_ids)
    review = _update(review, tmp_path, 40)
    round_2 = [r for r, n in load_stage(review, TA).rounds.items() if n == 2]
    _decide(review, "alice", round_2)  # the other machine: no line
    review.import_file(records_csv(tmp_path / "cinahl.csv", 30000, 50), "cinahl", database="CINAHL")
    review = Review(review.root)
    note_began(review, "alice", TA, now_stamp(), None, [2])  # the laptop's line, held CINAHL
    view = load_stage(review, TA)
    assert len(view.apart_for("alice")) == 50
    assert set(view.apart_for("alice").values()) == {f"round 2: {LATE_IMPORT}"}


def test_what_a_late_line_lacks_still_counts(tmp_path) -> None:
    """A round-2 line dated 1 ms after alice's first round-2 decision (a clock, a restored file)
    says nothing of what she held, but an export it lacks was lacking when she began too:
    CINAHL, imported before her first decision by the clocks, stays apart (attack helper: the
    late line was dropped whole, and the clocks said stop with 50 unseen)."""
    import datetime as dt

    from screener.applog import parse_stamp
    from screener.screening import LATE_IMPORT, load_stage
    from screener.screening.began import held_now, note_began

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=100)
    _decide_now(review, "alice", load_stage(review, TA).record_ids)
    review = _update(review, tmp_path, 40)
    held = held_now(review)  # her screen starts
    review.import_file(records_csv(tmp_path / "cinahl.csv", 30000, 50), "cinahl", database="CINAHL")
    review = Review(review.root)
    round_2 = [r for r, n in load_stage(review, TA).rounds.items() if n == 2]
    _decide(review, "alice", round_2)
    decided = load_stage(review, TA).decisions["alice"].values()
    first = min(d.timestamp for d in decided if d.record_id in round_2)
    later = (parse_stamp(first) + dt.timedelta(milliseconds=1)).isoformat(timespec="milliseconds")
    note_began(review, "alice", TA, later, held, [2])
    view = load_stage(Review(review.root), TA)
    assert view.apart == {}  # by the clocks CINAHL came first
    assert len(view.apart_for("alice")) == 50
    assert set(view.apart_for("alice").values()) == {f"round 2: {LATE_IMPORT}"}


def test_a_round_left_unscreened_until_the_next_update_begins_with_her_first_decision(tmp_path) -> None:
    """Round 2 was never screened when round 3 came; bob's clone imported CINAHL into round 2,
    merged after alice screened. Her first decision notes rounds 2 and 3 (neither begun), so
    CINAHL is apart on her round-2 curve (attack helper: only round 3 had a line, the clocks
    folded CINAHL into round 2 and the rule said stop with 50 unseen)."""
    from screener.screening import LATE_IMPORT, load_stage
    from screener.update import update_review

    from .test_allocate import records_csv

    alice, bob = _round_2_and_cinahl_unpushed(tmp_path)
    update_review(alice, imports=[("db3", records_csv(tmp_path / "round3.csv", 7000, 30))])
    alice = Review(alice.root)
    later = [r for r, n in load_stage(alice, TA).rounds.items() if n in (2, 3)]
    _decide_now(alice, "alice", later)
    began = (alice.root / "labels" / "began" / "alice.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in began[1:]] == ["1", "2", "3"]
    merged = _share(bob, alice)
    view = load_stage(merged, TA)
    assert len(view.apart_for("alice")) == 50
    assert set(view.apart_for("alice").values()) == {f"round 2: {LATE_IMPORT}"}
    assert "says stop" not in _status_stopping(merged)["alice"]["statement"]


def test_a_teammate_s_votes_in_a_share_are_no_records_its_owner_must_still_see(tmp_path) -> None:
    """With an allocation, bob's votes settle records of alice's share (votes = 1): her screen
    never shows them, and status and the report measure her stopping rule on what her screen
    holds, as the screen does (attack helper: they counted them unscreened and never said stop)."""
    from screener.report import report_data
    from screener.screening import load_stage
    from screener.screening.allocate import allocate

    from .test_allocate import make_review

    review = make_review(tmp_path, ["alice", "bob"], count=400, votes=1)
    allocate(review, TA)
    share = sorted(load_stage(review, TA).allocation.share("alice"))
    _decide_now(review, "alice", share[:150], included=set(share[:3]))
    _decide_now(review, "bob", share[150:])
    review = Review(review.root)
    view = load_stage(review, TA)
    assert len(view.stopping_scope("alice")) == 150
    screen = _screen_text(_session(review, "alice"))
    said = _status_stopping(review)["alice"]["statement"]
    curve = next(c for c in report_data(review).curves if c.reviewer == "alice")
    assert said == curve.statement and "alice's share (150 records)" in said, said
    assert "your share (150 records)" in screen and "recall is 100%" in said, screen


def test_an_update_bringing_back_a_removed_export_keeps_its_round_s_late_import_apart(tmp_path) -> None:
    """An export imported too early, removed, then brought by the update as round 2; a database
    imported once round 2's screening began is still judged apart (attack helper: a regression
    gave each content one round, the lowest, and round 2's first file became the late one)."""
    from screener.screening import LATE_IMPORT, load_stage
    from screener.update import update_review

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=100)
    early = records_csv(tmp_path / "big.csv", 50000, 200)
    review.import_file(early, "embase", database="Embase")
    review.remove_file(review.search("embase").files[0].path, reason="belongs to the update")
    review = Review(review.root)
    _decide_now(review, "alice", load_stage(review, TA).record_ids)
    update_review(review, imports=[("embase", early)])
    review = Review(review.root)
    view = load_stage(review, TA)
    round_2 = [r for r, n in view.rounds.items() if n == 2]
    _decide_now(review, "alice", round_2)
    review.import_file(records_csv(tmp_path / "cinahl.csv", 30000, 50), "cinahl", database="CINAHL")
    view = load_stage(Review(review.root), TA)
    assert len(view.apart) == 50 and set(view.apart.values()) == {f"round 2: {LATE_IMPORT}"}
    assert "says stop" not in _status_stopping(Review(review.root))["alice"]["statement"]


def test_began_lines_are_written_once_a_round_and_a_bad_one_is_skipped_and_named(tmp_path, cli) -> None:
    """`screener label` writes alice's line at her first decision of the round, none again;
    an update's round gets its own; a line that is none is skipped, named by check."""
    from .test_allocate import make_review

    review = make_review(tmp_path, ["alice", "bob"], count=20)
    root = str(review.root)
    for record in ("pmid:1000", "pmid:1001"):
        assert cli("label", "--reviewer", "alice", record, "include", "--review", root).code == 0
    path = review.root / "labels" / "began" / "alice.csv"
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and lines[1].split(",")[2] == review.search("db").files[0].sha256[:16]
    review = _update(review, tmp_path, 5)
    assert cli("label", "--reviewer", "alice", "pmid:1002", "exclude", "--review", root).code == 0
    lines = path.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2"]
    assert len(lines[2].split(",")[2].split()) == 2  # round 2 held both exports
    with path.open("a") as handle:
        handle.write("1,yesterday,abc\n²,2026-01-01T00:00:00+00:00,0123456789abcdef\n")
        handle.write("1,2026-01-01T00:00:00+00:00,0123456789ABCDEF\n")
        handle.write("9,2026-01-01T00:00:00+00:00,0123456789abcdef\n1,2999-01-01T00:00:00+00:00,0123456789abcdef\n")
    (path.parent / "mallory.csv").write_text("round,timestamp,exports\n")
    checked = cli("check", "--review", root)
    said = " ".join(checked.out.split())
    for number in (4, 5, 6):
        assert f"labels/began/alice.csv, line {number}: not a line of round,timestamp,exports" in said, said
    assert "labels/began/mallory.csv: 'mallory' is no reviewer" in said and "not a stage" not in said
    assert "alice.csv, line 7: round 9 is no round of the review" in said
    assert "alice.csv, line 8: dated 2999-01-01T00:00:00+00:00, in the future" in said
    assert cli("status", "--review", root).code == 0


def test_a_late_erratum_sharing_an_early_doi_is_late_before_its_split_id_is_recorded(tmp_path) -> None:
    """A late file (say a merge brought it) holds an erratum with an early record's DOI, which
    dedup keeps apart under a split id not yet in labels/ids.csv. status, report and prisma
    judged it by the recorded ids alone, crediting its copy to the early record: the erratum
    fell into the first curve, while the screen had it late (attack helper). One answer now."""
    from screener.review import Reviewer, init_review
    from screener.screening import load_stage

    from .test_allocate import WORDS

    root = init_review(tmp_path / "review", reviewers=[Reviewer("alice"), Reviewer("bob")])
    rows = ["title,abstract,authors,year,doi,journal"]
    for k in range(40):
        title = " ".join(WORDS[(k + j) % len(WORDS)] for j in range(8))
        rows.append(f'"{title} study {k}",Abstract {k}.,"Author{k}, A",{2000 + k % 20},10.1000/r{k},J{k % 7}')
    (tmp_path / "early.csv").write_text("\n".join(rows) + "\n")
    review = Review(root)
    review.import_file(tmp_path / "early.csv", "medline", database="MEDLINE")
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids, included=set(ids[:4]))
    (tmp_path / "late.csv").write_text(
        "title,abstract,authors,year,doi,journal\n"
        '"Erratum: correction to the figure legends",erratum,"Zed, Q",2019,10.1000/r30,J\n'
        '"A completely new trial of something else entirely",abs,"New, N",2020,10.1000/new1,J\n'
    )
    review.import_file(tmp_path / "late.csv", "embase", database="Embase")
    review = Review(review.root)
    view = load_stage(review, TA)
    assert len(view.apart) == 2 and any(s.startswith("doi:10.1000/r30") for s in view.apart), view.apart
    assert _session(review, "alice").apart == view.apart


def test_decisions_dated_before_the_files_make_nothing_late(tmp_path) -> None:
    """Decisions imported with the times they were made elsewhere (before any file of the
    review was imported) say nothing of what the ranking held: no record is late."""
    from screener.screening import load_stage
    from screener.screening.decisions import Decision, DecisionLog, decision_path

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=100)
    ids = load_stage(review, TA).record_ids
    DecisionLog(decision_path(review.labels_dir, TA, "alice")).append_many(
        [Decision(i, "exclude", "", "", "2015-03-02T09:00:00+00:00", "test") for i in ids]
    )
    review.import_file(records_csv(tmp_path / "more.csv", 9000, 20), "embase", database="Embase")
    assert load_stage(Review(review.root), TA).apart == {}


def test_before_allocate_new_records_are_said_to_wait_for_allocation(cli, tmp_path) -> None:
    """An allocated review updated: the screen and rank say the new records wait for
    'screener allocate', not that everything is screened."""
    from screener.screening import load_stage
    from screener.screening.allocate import allocate

    from .test_allocate import make_review

    review = make_review(tmp_path, ["alice", "bob", "dave"], count=30)
    allocate(review, TA)
    _decide(review, "alice", sorted(load_stage(review, TA).allocation.share("alice")))
    review = _update(review, tmp_path, 30)
    waiting = (
        "30 records waiting for votes are not allocated yet: run 'screener allocate --stage title-abstract'"
    )
    screen = _screen_text(_session(review, "alice"))
    assert waiting in screen
    assert "All 20 records of your share are screened" in screen
    ranked = cli("rank", "--reviewer", "alice", "--review", str(review.root))
    said = " ".join(ranked.out.split())
    assert ranked.code == 0 and "nothing left" not in said, said
    assert waiting in said
    as_json = cli("rank", "--reviewer", "alice", "--json", "--review", str(review.root))
    assert json.loads(as_json.out)["not_allocated"] == 30


def test_the_screens_allocation_message_keeps_its_command_whole_at_80_columns(tmp_path) -> None:
    """fix-rest 6: at 80x24 the message after an update was cut at two lines, mid-command."""
    import io

    from rich.console import Console

    from screener.screening import load_stage
    from screener.screening.allocate import allocate
    from screener.screening.screen import screen_lines

    from .test_allocate import make_review

    review = make_review(tmp_path, ["alice", "bob", "dave"], count=30)
    allocate(review, TA)
    _decide(review, "alice", sorted(load_stage(review, TA).allocation.share("alice"))[:5])
    review = _update(review, tmp_path, 30)
    session = _session(review, "alice")
    console = Console(file=io.StringIO(), width=80, height=24, force_terminal=True, color_system=None)
    lines = screen_lines(session, console, lambda text: None, 80, 24)
    assert len(lines) <= 24 and all(len(line.plain) <= 80 for line in lines)
    said = " ".join(" ".join(line.plain for line in lines).split())
    assert "run 'screener allocate --stage title-abstract' (or screen every record with --all)" in said, said


# -- simulate: the labels it reads, and a cut run said to be one --------------------------------


def _dataset(path, cells: list[str]):  # noqa: ANN001, ANN202
    from .test_ranking import synthetic

    texts, _ = synthetic(len(cells), max(1, len(cells) // 10))
    rows = ["record_id,title,abstract,label_included"]
    rows += [f'{k},"{t[:40]}","{t}",{cell}' for k, (t, cell) in enumerate(zip(texts, cells, strict=True))]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("yes", "no"), [("yes", "no"), ("Yes", "No"), ("TRUE", "FALSE"), ("included", "excluded"), ("1.0", "0")]
)
def test_simulate_reads_yes_no_labels(tmp_path, yes, no) -> None:
    from screener.ranking.datasets import load_labelled

    _, labels = load_labelled(_dataset(tmp_path / "d.csv", [yes, no, no, yes, no]), "final")
    assert labels.tolist() == [1, 0, 0, 1, 0]


@pytest.mark.parametrize(
    ("cells", "says", "line"),
    [
        (["1", "0", "maybe", "0"], "1 rows have a label_included that is no label: 'maybe'", 4),
        (["1", "0", "2", "0"], "that is no label: '2'", 4),
        (["1", "", "0", "0"], "1 rows have no label (first: data row 2)", 3),
    ],
)
def test_simulate_names_the_label_problem_it_has(cli, tmp_path, cells, says, line) -> None:
    result = cli("simulate", str(_dataset(tmp_path / "d.csv", cells)))
    assert result.code == 2 and says in " ".join(result.err.split()), result
    assert f"d.csv:{line}:" in result.err and len(result.err.strip().splitlines()) == 1


def test_simulate_with_n_stop_says_the_run_was_cut(cli, tmp_path) -> None:
    cells = ["1" if k % 10 == 5 else "0" for k in range(120)]  # not the records whose words stand out
    dataset = _dataset(tmp_path / "d.csv", cells)
    result = cli("simulate", str(dataset), "--n-stop", "20", "--json")
    assert result.code == 0, result
    report = json.loads(result.out)
    run = report["runs"][0]
    assert report["n_stop"] == 20 and run["cut_at"] == 20 and run["relevant_found_at_cut"] < 12
    assert "not the metrics of a full run" in report["metrics_note"]
    shown = " ".join(cli("simulate", str(dataset), "--n-stop", "20").out.split())
    assert "seed 0: cut at 20 records" in shown and "not the metrics of a full run" in shown
    full = json.loads(cli("simulate", str(dataset), "--json").out)
    assert full["metrics_note"] == "" and "cut_at" not in full["runs"][0]


def test_every_record_is_screened_is_said_only_when_every_round_is() -> None:
    """Round 1's rule says stop with records of it unscreened, round 2 is fully screened: the
    statement is round 1's "says stop", not round 2's "every record is screened" (new-user
    helper: said with 5 round-1 records still waiting for a vote)."""
    from screener.ranking.stopping import rounds_estimate

    first = [1] * 20 + [0] * 250  # a long flat tail: the rule says stop with 30 records left
    estimate = rounds_estimate([(1, first, 300), (2, [0] * 5, 5)])
    text = estimate.describe()
    assert estimate.safe_to_stop and "round 1 (300 records" in text, text
    assert "every record is screened" not in text and "says stop" in text
    # Every group says stop: the later one is not announced as work to come (new-user helper).
    assert "round 1 (300 records; round 2 (5 records): stop too)" in text and "then" not in text
    done = rounds_estimate([(1, first + [0] * 30, 300), (2, [0] * 5, 5)]).describe()
    assert "round 2 (5 records)" in done and "every record is screened" in done, done


def test_a_statement_names_the_groups_judged_after_it() -> None:
    """Round 1 not done, 60 records imported late: the statement covers 'the records screening
    began with' (no update: no 'round 1'), and says the late group comes next (new-user
    helper: the late records were never mentioned until round 1 was done)."""
    from screener.ranking.stopping import rounds_estimate
    from screener.screening import LATE_IMPORT

    estimate = rounds_estimate([(1, [1, 0, 1, 0], 300), (LATE_IMPORT, [], 60)])
    expected = f"the records screening began with (300 records; then {LATE_IMPORT} (60 records))"
    assert estimate.covers == expected
    after_update = rounds_estimate([(1, [1, 0, 1, 0], 300), (2, [], 30)])
    assert after_update.covers == "round 1 (300 records; then round 2 (30 records))"


def test_a_long_stopping_statement_ends_in_an_ellipsis_on_a_narrow_screen(tmp_path) -> None:
    """At 60 columns the statement takes two lines and says it was cut (new-user helper: it
    ended mid-sentence at 80x24); '?' shows it whole."""
    import io

    from rich.console import Console

    from screener.screening import load_stage
    from screener.screening.screen import screen_lines

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=300)
    ids = load_stage(review, TA).record_ids
    _decide(review, "alice", ids[:150], included=set(ids[:8]))
    review.import_file(records_csv(tmp_path / "late.csv", 9000, 60), "embase", database="Embase")
    session = _session(Review(review.root), "alice")
    estimate = session.shown_estimate()
    assert estimate is not None and len(estimate.describe()) > 120
    console = Console(file=io.StringIO(), width=60, height=24, force_terminal=True, color_system=None)
    lines = [line.plain for line in screen_lines(session, console, lambda text: None, 60, 24)]
    said = [i for i, line in enumerate(lines) if "screening began" in line or "relevant found" in line]
    assert said, lines
    assert lines[said[0] + 1].endswith("…"), lines[:4]


def test_import_says_when_screening_has_begun(cli, tmp_path) -> None:
    """An import once screening began says its new records are judged apart until screened
    (new-user helper: nothing said why the stopping statement changed); before, nothing."""
    import json

    from screener.screening import load_stage

    from .test_allocate import make_review, records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=20)
    root = str(review.root)
    early_file = records_csv(tmp_path / "early.csv", 5000, 5)
    late_file = records_csv(tmp_path / "late.csv", 9000, 5)
    early = cli("import", str(early_file), "--search", "cinahl", "--review", root)
    assert early.code == 0 and "Screening has begun" not in early.out
    first = load_stage(review, TA).record_ids[0]
    assert cli("label", "--reviewer", "alice", first, "exclude", "--review", root).code == 0
    late = cli("import", str(late_file), "--search", "embase", "--review", root)
    assert late.code == 0 and "Screening has begun" in late.out and "after screening began" in late.out
    more = records_csv(tmp_path / "more.csv", 9500, 5)
    as_json = cli("import", str(more), "--search", "scopus", "--json", "--review", root)
    assert json.loads(as_json.out)[0]["after_screening_began"] is True
