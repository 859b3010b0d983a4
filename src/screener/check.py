"""`screener check`: verify a whole review before it is committed or shared.

Problems (the review is corrupt or unsafe; exit 1): a file that cannot be read or validated,
a raw export that differs from its recorded sha256 or record count, a symlink, a decision on
an id that is no record of the review, a leftover of an interrupted command. Open work (not a
failure): undecided duplicate pairs, records still to screen, conflicts, a resumable search.
Warnings: what is ignored (unknown keys, decision files of people not in review.toml).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ScreenerError
from .importers import COLUMN_GENERATION, EXTENSIONS
from .names import name_problem
from .words import plural

LEFTOVER_SUFFIXES = (".tmp",)


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    open_work: list[str] = field(default_factory=list)
    files_verified: int = 0
    decisions_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "warnings": self.warnings,
            "open_work": self.open_work,
            "files_verified": self.files_verified,
            "decisions_read": self.decisions_read,
        }


def check_review(review) -> CheckReport:  # noqa: ANN001 - a review.Review
    """Every check, each failure recorded rather than raised, so one run lists them all."""
    report = CheckReport()
    try:
        config = review.config
    except ScreenerError as exc:
        report.problems.append(str(exc))
        return report  # without review.toml nothing else can be judged
    report.warnings.extend(getattr(config, "warnings", []))
    _check_links(review, report)
    searches_ok = _check_searches(review, report)
    _check_labels(review, report, config)
    _check_fulltext(review, report)
    if searches_ok and not report.problems:
        _open_work(review, report)
    return report


def _rel(review, path: Path) -> str:  # noqa: ANN001
    try:
        return str(path.relative_to(review.root))
    except ValueError:
        return str(path)


def _check_links(review, report: CheckReport) -> None:  # noqa: ANN001
    """Symlinks anywhere under searches/, labels/ and allocation/ (and those folders themselves)."""
    from .outputs import REVIEW_FOLDERS

    for top in REVIEW_FOLDERS:
        base = review.root / top
        if base.is_symlink():
            report.problems.append(f"{top}/ is a symbolic link; replace it with the real folder")
            continue
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_symlink():
                report.problems.append(
                    f"{_rel(review, path)} is a symbolic link; screener never follows links in a review "
                    "(replace it with the real file)"
                )
            elif path.is_file() and path.stat().st_nlink > 1:
                report.problems.append(
                    f"{_rel(review, path)} is a hard link to another file; writing to it would change "
                    "that file too (replace it with a copy)"
                )
    if (review.root / ".screener").exists():
        report.warnings.append(
            ".screener/ is an old cache folder inside the review; screener no longer reads it "
            "(delete it, and never commit it)"
        )


def _columns_unread(data: bytes, search, file) -> list[str]:  # noqa: ANN001 - Search, SearchFile
    """A table's columns the current column generation reads and its own leaves unread."""
    if file.format not in ("csv", "excel") or file.columns >= COLUMN_GENERATION:
        return []
    from .importers.tabular import columns_unread, header_of

    try:
        header = header_of(data, file.path, file.format)
    except Exception:  # noqa: BLE001 - the file was read already; a header it cannot give says nothing
        return []
    return columns_unread(header, file.columns, COLUMN_GENERATION)


def _check_searches(review, report: CheckReport) -> bool:  # noqa: ANN001
    """Every search's provenance, and every raw file hashed and parsed afresh."""
    try:
        searches = review.searches()
    except ScreenerError as exc:
        report.problems.append(str(exc))
        return False
    ok = True
    listed: set[str] = set()
    removed = {str(entry.get("path", "")): search.name for search in searches for entry in search.removed}
    holders: dict[str, list[str]] = {}  # sha256 -> the stored files holding that export
    for search in searches:
        report.warnings.extend(getattr(search, "warnings", []))
        for file in search.files:
            listed.add(file.path)
            holders.setdefault(file.sha256, []).append(f"searches/{file.path}")
            try:
                data = review.verify_raw_file(search, file)  # hashed afresh, whatever the cache says
                review.load_file_records(search, file)
                report.files_verified += 1
                unread = _columns_unread(data, search, file)
                if unread:
                    report.warnings.append(
                        f"searches/{file.path}: read as at its import, its column(s) {', '.join(unread)} "
                        f"are not read (files[{search.files.index(file)}] has no `columns = "
                        f"{COLUMN_GENERATION}`). Imported before screener read them, it is right as it "
                        "is (its decisions keep their ids); if a git merge dropped that line, put it "
                        f"back in searches/{search.name}.toml"
                    )
                if file.empty:
                    report.warnings.append(
                        f"searches/{file.path}: {plural(file.empty, 'empty record')} "
                        "kept out of screening (PRISMA: removed before screening, other reasons)"
                    )
            except ScreenerError as exc:
                report.problems.append(str(exc))
                ok = False
    for files in holders.values():
        if len(files) > 1:  # one clone refuses this; two clones importing one download under two
            # search names merge cleanly
            report.problems.append(
                f"{' and '.join(files)} are one export (one sha256), listed by two searches: its records "
                f"are identified twice; remove one ('screener import --remove {files[-1]}')"
            )
            ok = False
    searches_dir = review.root / "searches"
    if searches_dir.is_dir() and not searches_dir.is_symlink():
        exports = set(EXTENSIONS.values())
        for path in sorted(searches_dir.iterdir()):
            name = path.name
            if unicodedata.normalize("NFC", name) in listed and name not in listed:
                continue  # the listed file in another Unicode form: reported as such above
            if name.endswith(LEFTOVER_SUFFIXES) and name.startswith("."):
                report.problems.append(
                    f"searches/{name}: a temporary file left by an interrupted command; delete it"
                )
            elif path.suffix.lower() in exports and name in removed and path.is_file():
                report.problems.append(
                    f"searches/{name}: an export search {removed[name]!r} removed (under [[removed]]), "
                    "back in the folder: delete it (git keeps it)"
                )
            elif path.suffix.lower() in exports and name not in listed and path.is_file():
                report.problems.append(
                    f"searches/{name}: an export no search lists: another clone's, whose [[files]] "
                    "entry was lost resolving a merge (restore the entry from the other side: 'git log "
                    "-p -- searches/'), or left by an interrupted import (import it again, 'screener "
                    f"import searches/{name} --search NAME', or delete it)"
                )
    return ok


def _check_labels(review, report: CheckReport, config) -> None:  # noqa: ANN001
    """Every decision file parses; every id is a record of the review."""
    from .dedup.decisions import read_decision_log
    from .records import clean_text
    from .screening import STAGES
    from .screening.decisions import read_log_file

    labels = review.root / "labels"
    if not labels.is_dir() or labels.is_symlink():
        return
    known_ids: set[str] | None = None
    try:
        from .dedup.split_ids import read_recorded

        read_recorded(review)
    except ScreenerError as exc:
        report.problems.append(str(exc))
    else:
        try:
            from .dedup import dedup_review
            from .dedup.split_ids import unrecorded_splits

            outcome = dedup_review(review)
            # Each record's id as the review uses it: a split record answers to its split id only.
            known_ids = {r.id for r in outcome.result.records}
            unrecorded = unrecorded_splits(review, outcome)
            if unrecorded:
                report.warnings.append(
                    f"{len(unrecorded)} ids split by dedup are not recorded in labels/ids.csv yet; "
                    "'screener dedup' records them, so they stay with their records"
                )
        except ScreenerError:
            pass  # reported by the search checks
    reviewers = {r.name for r in config.reviewers}
    from .screening.began import read_began

    try:
        held_rounds = review.rounds_held()
    except ScreenerError:
        held_rounds = None  # reported by the search checks
    report.warnings.extend(read_began(labels, reviewers, held_rounds)[1])  # what each ranking held
    for stage_dir in sorted(p for p in labels.iterdir() if p.is_dir() and not p.is_symlink()):
        if stage_dir.name == "began":
            continue
        if stage_dir.name not in STAGES:
            report.warnings.append(f"labels/{stage_dir.name}/ is not a stage ({', '.join(STAGES)}); ignored")
            continue
        for path in sorted(stage_dir.iterdir()):
            where = _rel(review, path)
            if path.is_symlink() or not path.is_file():
                continue  # links are reported above
            if path.name.startswith(".") and path.name.endswith(LEFTOVER_SUFFIXES):
                report.problems.append(f"{where}: a temporary file left by an interrupted command; delete it")
                continue
            if path.suffix != ".csv":
                continue
            problem = name_problem(path.stem)
            if problem:
                report.problems.append(f"{where}: the reviewer name {problem}; rename the file")
                continue
            if path.stem not in reviewers:
                report.warnings.append(f"{where}: {_not_a_reviewer(path.stem, reviewers)}")
            try:
                log = read_log_file(path)
            except ScreenerError as exc:
                report.problems.append(str(exc))
                continue
            decisions = log.decisions
            report.decisions_read += len(decisions)
            report.warnings.extend(log.skipped)
            if log.disorder:
                report.warnings.append(log.disorder)
            if log.future:
                report.problems.append(log.future)
            if log.unreadable:
                report.warnings.append(log.unreadable)
            if known_ids is not None:
                latest = {d.record_id: d.decision for d in decisions}  # an undecided line retracts
                unknown = sorted(i for i, d in latest.items() if d != "undecided" and i not in known_ids)
                if unknown:
                    # Ids from a file anyone can edit: never an escape sequence on the terminal.
                    shown = ", ".join(map(clean_text, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
                    report.problems.append(
                        f"{where}: decisions on {len(unknown)} ids that are no records of the review "
                        f"({shown}); take each back with 'screener label --reviewer {path.stem} "
                        f"--stage {stage_dir.name} ID undecided', or restore the search they came from"
                    )
    dedup_file = labels / "dedup.csv"
    if dedup_file.exists() and not dedup_file.is_symlink():
        try:
            pairs, disorder, ahead = read_decision_log(dedup_file)
        except ScreenerError as exc:
            report.problems.append(str(exc))
            return
        if disorder:
            report.warnings.append(disorder)
        if ahead:
            report.problems.append(ahead)
        if known_ids is not None:
            unknown = sorted({i for pair in pairs for i in pair} - known_ids)
            if unknown:
                report.problems.append(
                    f"labels/dedup.csv: {len(unknown)} ids are not records of the review "
                    f"({', '.join(clean_text(i) for i in unknown[:5])}{' ...' if len(unknown) > 5 else ''})"
                )


def _check_fulltext(review, report: CheckReport) -> None:  # noqa: ANN001
    """fulltext/manifest.csv parses; every attached PDF this clone has matches its sha256; the
    ones it lacks are named (PDFs are never committed: a clone without them is normal)."""
    from .fulltext.manifest import latest, pdf_folder, read_manifest
    from .fulltext.text import sha256_bytes
    from .names import read_regular_bytes

    try:
        entries, skipped = read_manifest(review.root)
        folder = pdf_folder(review.root)
    except ScreenerError as exc:
        report.problems.append(str(exc))
        return
    report.warnings.extend(skipped)
    attributes = review.root / ".gitattributes"
    if entries and "fulltext/manifest.csv merge=union" not in _text_or_empty(attributes):
        report.warnings.append(
            ".gitattributes lacks 'fulltext/manifest.csv merge=union': two clones that both attached "
            "PDFs will meet a merge conflict in the manifest (add the line)"
        )
    lacking: list[str] = []
    named: set[str] = set()
    for entry in latest(entries).values():
        if not entry.has_file:
            continue
        named.add(entry.file)
        path = folder / entry.file
        if not path.exists() and not path.is_symlink():
            lacking.append(entry.file)
            continue
        try:
            digest = sha256_bytes(read_regular_bytes(path))
        except ScreenerError as exc:
            report.problems.append(str(exc))
            continue
        report.files_verified += 1
        if digest != entry.sha256:
            report.problems.append(
                f"fulltext/pdf/{entry.file}: its sha256 is not the one fulltext/manifest.csv line "
                f"{entry.line} records for {entry.record_id} (replaced or damaged); attach the right "
                "PDF again with 'screener fulltext attach'"
            )
    if lacking:
        report.warnings.append(
            f"{len(lacking)} attached PDFs are not in this clone (fulltext/pdf/{lacking[0]}"
            f"{' ...' if len(lacking) > 1 else ''}); copy fulltext/pdf/ from a teammate to read them"
        )
    if folder.is_dir() and not folder.is_symlink():
        stray = sorted(p.name for p in folder.iterdir() if p.suffix == ".pdf" and p.name not in named)
        if stray:
            report.warnings.append(
                f"fulltext/pdf/ holds {len(stray)} PDFs the manifest does not list ({stray[0]}"
                f"{' ...' if len(stray) > 1 else ''}); left by an interrupted attach? attach them again"
            )


def _text_or_empty(path: Path) -> str:
    if path.is_symlink() or not path.is_file():
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
def _not_a_reviewer(name: str, reviewers: set[str]) -> str:
    """Why a decision file counts for nothing, and the reviewer it probably belongs to: names
    are compared exactly, so `Alice.csv` is not alice's file."""
    said = f"{name!r} is not a reviewer in review.toml; these decisions are ignored"
    alike = sorted(r for r in reviewers if r.casefold() == name.casefold())
    if alike:
        return (
            f"{said} (names are compared case-sensitively: is it {alike[0]}'s file? rename it to "
            f"{alike[0]}.csv, or merge its lines into that file)"
        )
    return f"{said} (add them to review.toml's reviewers, or rename the file to a reviewer's name)"


def _open_work(review, report: CheckReport) -> None:  # noqa: ANN001
    """What is still to do: listed, never a failure."""
    from .dedup import dedup_review
    from .screening import load_stage, review_studies
    from .screening.allocate import over_allocation_warning

    try:
        outcome = dedup_review(review)
        if outcome.pending:
            report.open_work.append(
                f"{plural(len(outcome.pending), 'uncertain duplicate pair')} "
                f"wait{'s' if len(outcome.pending) == 1 else ''} for a person "
                "('screener dedup --review')"
            )
        if review.config.reviewers and outcome.result.records:
            studies, member_of = review_studies(review, outcome)
            for stage in review.config.stages:
                view = load_stage(review, stage, studies, member_of)
                for reviewer, split in view.copies_disagree.items():
                    report.warnings.append(
                        f"{stage}: {reviewer} decided differently on copies of {len(split)} studies that "
                        f"deduplication merged ({', '.join(split[:3])}); the latest decision counts"
                    )
                if view.allocation is not None:  # allocation/<stage>.csv, read by load_stage
                    report.problems.extend(view.allocation.problems())
                    report.warnings.extend(view.allocation.warnings())
                    over = over_allocation_warning(view)
                    if over:
                        report.warnings.append(over)
                progress = view.progress()
                if progress["not_allocated"]:
                    report.open_work.append(
                        f"{stage}: {progress['not_allocated']} records waiting for votes are not allocated "
                        "('screener allocate')"
                    )
                for name, left in progress["need_vote_from"].items():  # active screeners only
                    if left:
                        # With an allocation the count is of their share, so measure it against that.
                        of = (
                            f"{name}'s {len(view.allocation.share(name))}-record share"
                            if view.allocation is not None
                            else f"{len(view.records)} records"
                        )
                        report.open_work.append(f"{stage}: {left} of {of} still need {name}'s vote")
                disputed = sum(1 for c in view.conflicts if c.to_resolve)
                if disputed:
                    conflicts = plural(disputed, "conflict")
                    report.open_work.append(f"{stage}: {conflicts} to resolve ('screener resolve')")
                if stage == "full-text" and view.records:
                    from .fulltext import reports

                    without = {
                        r.record.id for r in reports(review, (view.records, member_of))[0] if not r.has_file
                    }
                    if without:
                        report.open_work.append(
                            f"full-text: {len(without)} of {len(view.records)} records have no full text "
                            "attached ('screener fulltext status')"
                        )
                    # A decision on a record with no report was made on its abstract, or on a
                    # file outside the review: worth a look, not corrupt. not-retrieved says so.
                    blind = {
                        rid
                        for decided in view.decisions.values()
                        for rid, d in decided.items()
                        if rid in without and d.decision != "not-retrieved"
                    }
                    if blind:
                        first = sorted(blind)[0]
                        report.open_work.append(
                            f"full-text: {plural(len(blind), 'record')} decided with no report attached "
                            f"({first}{' ...' if len(blind) > 1 else ''}): attach the PDF "
                            "('screener fulltext attach'), or decide not-retrieved"
                        )
    except ScreenerError as exc:
        report.problems.append(str(exc))
    searches = review.cache_dir / "searches"
    if searches.is_dir():
        for state in sorted(searches.glob("*/state.json")):
            report.open_work.append(
                f"PubMed search {state.parent.name!r} was interrupted; run it again to resume "
                "(or --restart)"
            )
