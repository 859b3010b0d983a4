"""Screening: label, conflicts, agreement, screen, resolve."""

from __future__ import annotations

import math
from pathlib import Path

import click
from rich.cells import cell_len
from rich.text import Text

from ..errors import ScreenerError
from ..review import check_reviewer
from ..words import plural
from . import cli
from .common import (
    Table,
    console,
    err_console,
    find_review,
    json_option,
    print_json,
    review_option,
    stage_option,
    warn_about_decision_files,
)


@cli.command()
@click.argument("record_id", required=False)
@click.argument(
    "decision",
    required=False,
    type=click.Choice(["include", "exclude", "maybe", "not-retrieved", "undecided"]),
)
@click.option("--reviewer", required=True, help="Whose decision this is (a name in review.toml).")
@stage_option
@click.option("--reason", default="", help="Exclusion reason (full text: one of review.toml's reasons).")
@click.option("--note", default="", help="A note kept with the decision.")
@click.option("--tags", default="", help='Tags kept with the decision, comma-separated ("rct, adults").')
@click.option(
    "--import",
    "import_file",
    type=click.Path(path_type=Path),
    help="Import decisions made elsewhere: a CSV with record_id and decision columns.",
)
@click.option(
    "--skip-unknown",
    is_flag=True,
    help="With --import: import the rows whose id is in the review, skip the others (default: refuse).",
)
@review_option
def label(
    record_id: str | None,
    decision: str | None,
    reviewer: str,
    stage: str,
    reason: str,
    note: str,
    tags: str,
    import_file: Path | None,
    skip_unknown: bool,
    review_dir: Path | None,
) -> None:
    """Record a screening decision without the interactive screen (for scripts).

    --import reads the whole file first: an unknown id, an empty id, a short row or an
    unknown decision word and nothing is written (--skip-unknown imports the matched rows).

    \b
    Examples:
      screener label --reviewer alice pmid:16511671 include
      screener label --reviewer alice --stage full-text pmid:16511671 exclude --reason "Wrong population"
      screener label --reviewer alice pmid:16511671 include --tags "rct, adults"
      screener label --reviewer alice --import rayyan-decisions.csv
    """
    from ..screening.labels import import_decisions, record_decision

    review = find_review(review_dir)
    if import_file is not None:
        if record_id or decision:
            raise ScreenerError("give either RECORD_ID DECISION or --import FILE, not both")
        report = import_decisions(review, reviewer, stage, import_file, skip_unknown=skip_unknown)
        skipped = f"; {len(report.unknown_ids)} not in the review, skipped" if report.unknown_ids else ""
        click.echo(
            f"{report.matched} of {report.rows} ids matched{skipped}; {plural(report.written, 'decision')} "
            f"imported for {reviewer} ({stage})"
        )
        if report.clock_note:
            click.echo(f"note: {report.clock_note}", err=True)
        return
    if not record_id or not decision:
        raise ScreenerError("give RECORD_ID and DECISION (include, exclude, maybe...), or --import FILE")
    entry = record_decision(review, reviewer, stage, record_id, decision, reason, note, tags)
    from ..records import clean_text  # an id taken back may be any bytes a file held

    click.echo(
        f"{reviewer} ({stage}): {clean_text(entry.record_id)} {entry.decision}"
        + (f" ({clean_text(entry.reason)})" if entry.reason else "")
        + (f" [{clean_text(entry.tags)}]" if entry.tags else "")
    )
    if entry.clock_note:
        click.echo(f"note: {entry.clock_note}", err=True)


@cli.command()
@stage_option
@review_option
@json_option
def conflicts(stage: str, review_dir: Path | None, as_json: bool) -> None:
    """Records the screeners disagree on, and records only some have screened.

    \b
    Example:
      screener conflicts --stage title-abstract --json
    """
    from ..screening import load_stage

    review = find_review(review_dir)
    view = load_stage(review, stage)
    titles = {r.id: r.title for r in view.records}
    rows = [
        {
            "record_id": c.record_id,
            "kind": c.kind,
            "title": titles.get(c.record_id, ""),
            "decisions": {
                n: {"decision": d.decision, "reason": d.reason, "note": d.note, "tags": d.tags}
                for n, d in c.decisions.items()
            },
        }
        for c in view.conflicts
    ]
    if as_json:
        print_json(rows)
        return
    warn_about_decision_files(view)
    if not rows:
        click.echo(f"No conflicts at {stage}.")
        return
    # Disagreements first: they are the resolver's work; records waiting for more votes are not.
    rows.sort(key=lambda r: r["kind"] == "single")
    waiting = sum(r["kind"] == "single" for r in rows)
    console.print(
        Text(f"Conflicts at {stage}: {len(rows) - waiting} to resolve, {waiting} waiting for more votes"),
        style="bold",
    )
    for r in rows:
        for line in conflict_lines(r, console.width):
            console.print(line, no_wrap=True, overflow="ignore", crop=False)


_KINDS = {"disagree": "disagree", "reason": "reasons differ", "single": "waiting for votes"}


def conflict_lines(row: dict, width: int) -> list[Text]:
    """One conflict in a list that reads at any width: the id whole with the kind and each
    screener's decision, wrapped under it only when they do not fit; then the title on one
    line, cut with "…". A table squeezed its title into a narrow column, a line per word."""
    kind = _KINDS.get(row["kind"], row["kind"])
    decided = [
        f"{n}: {d['decision']}" + (f" ({d['reason']})" if d["reason"] else "")
        for n, d in row["decisions"].items()
    ]
    head = Text.assemble((row["record_id"], "bold"), "  ", (kind, "dim"))
    together = " · ".join(decided)
    lines = [head]
    if cell_len(head.plain) + 2 + cell_len(together) <= width:
        head.append("  " + together)
    elif 4 + cell_len(together) <= width:
        lines.append(Text("    " + together))
    else:  # each decision on a line of its own, folded only when it alone is too long
        lines.extend(Text("    " + chunk) for part in decided for chunk in _folded(part, width - 4))
    title = Text("    " + " ".join((row["title"] or "(no title)").split()), style="italic")
    title.truncate(max(width, 8), overflow="ellipsis")
    return [*lines, title]


def _folded(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(width, 10), break_on_hyphens=False) or [""]


@cli.command("agreement")
@click.option(
    "--stage",
    type=click.Choice(["title-abstract", "full-text", "all"]),
    default="all",
    show_default=True,
    help="The screening stage, or all.",
)
@review_option
@json_option
def agreement_cmd(stage: str, review_dir: Path | None, as_json: bool) -> None:
    """Agreement between screeners: Cohen's kappa with 95% CI, percent agreement, PABAK, 2x2 table.

    Include and maybe count as include. Computed for every pair of screeners on the records both
    decided; with three screeners or more, also Fleiss' kappa over the pool ('status --json'
    has it per stage).

    \b
    Example:
      screener agreement --stage title-abstract --json
    """
    from ..screening import (
        agreement,
        describe_sample,
        load_stage,
        load_stages,
        pool_kappa,
        review_studies,
        sample_agreement,
    )

    review = find_review(review_dir)
    studies, member_of = review_studies(review)
    stages = ["title-abstract", "full-text"] if stage == "all" else [stage]
    both = load_stages(review, studies, member_of) if stage == "all" else None
    views = [both[s] if both else load_stage(review, s, studies, member_of) for s in stages]
    results = [a for view in views for a in agreement(view)]
    if as_json:
        print_json([a.to_dict() for a in results])
        return
    if not results:
        click.echo("Agreement needs two screeners in review.toml.")
        return
    table = Table(title="Agreement between screeners", title_justify="left")
    for column in ("stage", "pair", "n", "agreement", "kappa (95% CI)", "PABAK", "2x2 (II, IE, EI, EE)"):
        table.add_column(column)

    def number(value: float, form: str = ".3f") -> str:
        return format(value, form) if math.isfinite(value) else "n/a"  # no overlap, one category

    for a in results:
        cells = list(a.table.values())
        kappa = number(a.kappa)
        if math.isfinite(a.kappa_ci_low):
            kappa += f" ({number(a.kappa_ci_low)} to {number(a.kappa_ci_high)})"
        elif math.isfinite(a.kappa):
            kappa += " (CI not estimable)"
        table.add_row(
            a.stage,
            f"{a.reviewer_1} / {a.reviewer_2}",
            str(a.n),
            number(a.percent_agreement, ".1%"),
            kappa,
            number(a.pabak),
            ", ".join(str(c) for c in cells),
        )
    console.print(table)
    for view in views:
        if len(view.screeners) > 2:
            kappa, n = pool_kappa(view)
            click.echo(
                f"{view.stage}: Fleiss' kappa over the {len(view.screeners)} screeners, "
                f"{plural(n, 'record')} with two votes or more: {number(kappa)}"
            )
        sample = sample_agreement(view)
        if sample is not None:
            click.echo(f"{view.stage}: {describe_sample(sample)}")


@cli.command()
@click.option("--reviewer", required=True, help="Who is screening (a screener in review.toml).")
@stage_option
@click.option(
    "--order",
    type=click.Choice(["ranked", "file", "random"]),
    default="ranked",
    show_default=True,
    help="ranked: most likely relevant first, learnt from your own decisions after each one (file "
    "order until you have included and excluded at least one).",
)
@click.option(
    "--all",
    "all_records",
    is_flag=True,
    help="With an allocation ('screener allocate'): every record, not only your share (your votes "
    "outside it count like any other).",
)
@review_option
def screen(reviewer: str, stage: str, order: str, all_records: bool, review_dir: Path | None) -> None:
    """Screen records one at a time in the terminal, blind to the other screeners.

    Keys: i include, e exclude (full text: then a reason by number), r report not retrieved
    (full text), m maybe, u undo (also your last decision of an earlier session), n note,
    t tags, s skip for now, h history (see and change earlier decisions), / search the records
    and screen the matches, o the record's PubMed/DOI link, space/PgDn/PgUp scroll the
    abstract, ? help (what each key and decision means, where decisions are saved, the
    stopping rule), q quit. Each decision is on disk before the next record appears; a change
    appends a line; quitting and starting again resumes where you were. With an allocation,
    the screen holds your share of the records still waiting for votes.

    \b
    Example:
      screener screen --reviewer alice --stage title-abstract
    """
    import gc
    import sys
    import threading

    from ..screening import load_stage
    from ..screening.allocate import screen_records, share_scope
    from ..screening.began import held_now
    from ..screening.decisions import DecisionLog, session_lock
    from ..screening.screen import (
        KeyReader,
        ScreenSession,
        StoppingInBackground,
        highlighter,
        order_records,
        require_terminal,
        run_terminal,
        save_apart,
        screen_studies_deferred,
        searches_changed,
        still_need_vote,
    )

    review = find_review(review_dir)
    config = review.config
    check_reviewer(review, reviewer, ("screener",), "the resolver settles conflicts with 'screener resolve'")
    require_terminal("screener screen", "in scripts, record decisions with 'screener label'")
    with session_lock(review.cache_dir / "locks", stage, reviewer):
        err_console.print("Preparing the records...")  # no spinner: stopping its thread takes a while
        gc.disable()  # 20,000 records: the cyclic collector would walk them again and again
        # The work in the background (the ranking's features, the abstracts) hands the
        # interpreter back within 1 ms when a key comes, not Python's default 5 ms a turn.
        sys.setswitchinterval(0.001)
        # What this screen's ranking holds, whatever a pull adds while it is open: taken before
        # the records (a pull in between makes the line miss exports it holds: the safe side).
        held = held_now(review)
        changed = searches_changed(review)  # a pull meanwhile: said on screen (TA: the stopping rule)
        # Abstracts read when needed; the studies' cache entry, if any, written once drawn.
        studies, member_of, abstracts, save_studies, rounds, arrivals = screen_studies_deferred(review)
        view = load_stage(review, stage, studies, member_of, rounds=rounds, arrivals=arrivals)
        gc.freeze()  # they live all session: no collection walks them again
        gc.enable()
        log = DecisionLog.for_reviewer(review, stage, reviewer, view, held)
        records, need = screen_records(view, reviewer, every=all_records)  # the allocation's share
        session = ScreenSession(
            stage,
            order_records(records, "random" if order == "random" else "file", f"{reviewer}/{stage}"),
            log,
            config.exclusion_reasons,
            done=dict(view.decisions.get(reviewer, {})),
            order=order,
            need_vote=still_need_vote(view, reviewer),
            abstracts=abstracts,
            round_of=view.rounds,
            apart=view.apart_for(reviewer),
            scope=share_scope(view, reviewer, every=all_records),
            settled={r.id for r in records} - view.voting(),  # final or in conflict: shown last
            finals={rid: (f.decision, f.reason) for rid, f in view.final.items()},
        )
        session.message = need
        if stage == "full-text":
            session.report_text, session.report_file = _full_text_readers(review, view, member_of)
        else:
            session.searches_changed = changed
        session.stopping = StoppingInBackground(hold=True)  # seconds on 20,000 records: not in the key loop
        background = settings = None
        if order == "ranked" and len(session.records) > 1:
            background, settings = _background_ranking(review, session, reviewer)
            session.rerank = background

        saved: list = []  # what waits for the studies' cache entry to be written

        def start_background() -> None:
            if save_studies is not None:  # first, while the screen has no other thread
                saved.append(save_apart(save_studies))
            if abstracts is not None:  # every abstract, before a search or the ranking asks
                threading.Thread(target=abstracts.fill_in_background, daemon=True).start()
            session.stopping.release(session)  # its input is read once the first record is drawn
            if background is not None:
                background.request(session)  # the first ranking, applied from the first decision

        highlight = highlighter(config.highlight_include, config.highlight_exclude)
        with KeyReader() as keys:
            keys.news = session.news  # a newer estimate, the ranking ready: draw again

            def first_drawn() -> None:
                if keys.discard_typed():  # typed while "Preparing": no record was on screen
                    ignored = "keys typed before the first record was shown were ignored"
                    session.message = f"{ignored}; {session.message}" if session.message else ignored
                    keys.redraw = True
                start_background()

            session.on_first_draw = first_drawn
            run_terminal(session, console, highlight, keys.getchar, keys.prompt, click.launch)
        if save_studies is not None and not saved:  # never drawn: the next start still finds it
            save_studies()
        for wait in saved:
            wait()  # the next start reads the entry: a half-written one would be written again
        if background is not None:
            from ..screening.screen import save_order

            save_order(review, session, reviewer, settings, background.ranked_ids(session))
    console.print(f"{session.screened} of {len(session.records)} screened; decisions in {log.path}")


def _background_ranking(review, session, reviewer: str):  # noqa: ANN001, ANN202
    """The ranking for `screen --order ranked`, built and trained in a background thread (with
    numpy and scikit-learn imported there): the first record shows at once, in the order the
    last session's ranking left (when the decisions are unchanged since), else in file order
    until the model is ready."""
    from ..names import read_regular_bytes
    from ..screening.screen import BackgroundRanking, load_saved_order

    records = session.records
    # Everything the ranking reads besides the decisions: the [ranking] table and the question.
    settings = read_regular_bytes(review.config_path).decode("utf-8", "replace")

    def build():  # noqa: ANN202
        from ..ranking import Ranker, RankerConfig, record_text
        from ..ranking.question import review_question

        if session.abstracts is not None:
            session.abstracts.fill_all()  # the model reads them
        texts = [record_text(r) for r in records]
        config = RankerConfig.from_table(review.config.ranking)
        question = review_question(review)  # it ranks the records before the first inclusion
        return Ranker(texts, config, cache_dir=review.cache_dir / "features", question=question)

    background = BackgroundRanking(build=build)
    load_saved_order(review, session, reviewer, settings)
    return background, settings


@cli.command()
@click.option("--reviewer", required=True, help="The resolver (role resolver in review.toml).")
@stage_option
@review_option
def resolve(reviewer: str, stage: str, review_dir: Path | None) -> None:
    """Settle the screeners' conflicts: each one shown with both decisions and notes.

    The same keys as `screener screen`; decisions go to the resolver's own file and become the
    final decision of each record.

    \b
    Example:
      screener resolve --reviewer carol --stage title-abstract
    """
    from ..screening import load_stage
    from ..screening.decisions import DecisionLog, session_lock
    from ..screening.screen import KeyReader, ScreenSession, highlighter, require_terminal, run_terminal

    review = find_review(review_dir)
    config = review.config
    check_reviewer(review, reviewer, ("resolver",), "a screener's votes are screened with 'screener screen'")
    require_terminal("screener resolve", "in scripts, record the resolver's decisions with 'screener label'")
    with session_lock(review.cache_dir / "locks", stage, reviewer):
        view = load_stage(review, stage)
        to_settle = [c for c in view.conflicts if c.to_resolve]
        by_id = {r.id: r for r in view.records}
        # Each screener's decision on a line of its own, with their note and tags.
        context = {
            c.record_id: "\n".join(
                f"{name}: {d.decision}"
                + (f" ({d.reason})" if d.reason else "")
                + (f" · note: {d.note}" if d.note else "")
                + (f" · tags: {d.tags}" if d.tags else "")
                for name, d in c.decisions.items()
            )
            for c in to_settle
        }
        session = ScreenSession(
            stage,
            [by_id[c.record_id] for c in to_settle],
            DecisionLog.for_reviewer(review, stage, reviewer, view),
            config.exclusion_reasons,
            context=context,
            allow_maybe=False,
        )
        if stage == "full-text":
            session.report_text, session.report_file = _full_text_readers(review, view, None)
        if not to_settle:
            console.print(f"No conflicts to resolve at {stage}.")
            return
        with KeyReader() as keys:
            run_terminal(
                session,
                console,
                highlighter(config.highlight_include, config.highlight_exclude),
                keys.getchar,
                keys.prompt,
                click.launch,
            )
    console.print(f"{session.screened} of {plural(len(to_settle), 'conflict')} resolved")


def _full_text_readers(review, view, member_of):  # noqa: ANN001, ANN202 - Review, StageView, dict | None
    """For the screen at full text: a record id -> its report's text with page marks (None when
    no file is attached, so the abstract shows), and -> its PDF's path ("" when none here). A
    file that cannot be read says why in place of the text, in one line."""
    import functools

    from ..errors import ScreenerError
    from ..fulltext import reports, verified_pdf
    from ..fulltext.manifest import pdf_folder
    from ..fulltext.text import extract, scan_hint
    from ..records import safe_text

    stage = (view.records, member_of) if member_of is not None else None
    items = {r.record.id: r for r in reports(review, stage)[0]}
    folder = pdf_folder(review.root)

    def path_of(record_id: str) -> str:
        item = items.get(record_id)
        return str(folder / item.entry.file) if item and item.present and item.entry else ""

    @functools.lru_cache(maxsize=64)
    def text_of(record_id: str) -> str | None:
        item = items.get(record_id)
        if item is None or not item.has_file:
            return None
        if not item.present:
            return f"(the PDF, {item.path}, is not in this clone: copy fulltext/pdf/ from a teammate)"
        try:  # the file the manifest recorded, not one swapped in since
            pdf = extract(verified_pdf(review, item), item.path, pages=None)
        except ScreenerError as exc:
            return f"({safe_text(exc)})"
        # A PDF's text may hold escape sequences: each control character a space, lines kept.
        return safe_text(pdf.with_page_marks()) if pdf.has_text_layer() else f"({item.path}: {scan_hint()})"

    return text_of, path_of
