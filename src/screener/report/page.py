"""The report page: one HTML file with its CSS, script and figures inline, nothing fetched.

Every string that comes from the review (titles, names, queries, reasons, ids) goes through
`esc`; the only links built from records are PubMed's (digits only) and doi.org's (a DOI,
percent-encoded). A Content-Security-Policy lets only the page's own script run and nothing
load, so a mistake here could not turn a hostile title into running code or a request.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from ..records import safe_text
from ..words import plural
from . import RecallCurve, ReportData

STAGE_NAMES = {"title-abstract": "Title and abstract", "full-text": "Full text"}


def esc(value: Any) -> str:
    """Text for HTML content and attribute values (quotes escaped too), without control or
    bidi characters (`safe_text`): an id from a labels file must not reorder the page."""
    return html.escape(safe_text(value), quote=True)


def number(value: float, form: str = ".3f") -> str:
    return format(value, form) if isinstance(value, int | float) and math.isfinite(value) else "n/a"


def pubmed_url(pmid: str) -> str | None:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid.isascii() and pmid.isdigit() else None


def doi_url(doi: str) -> str | None:
    # A DOI is "10.<registrant>/<suffix>"; anything else from a record makes no link.
    if not re.fullmatch(r"10\.\d{4,9}/\S+", doi or ""):
        return None
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


# -- the PRISMA diagram, with each box a link to its records ------------------------------

# The first words of a box's text (line breaks read as spaces) -> the anchors of its record
# lists, in the order the columns run left to right (databases and registers, other methods).
_BOX_LINKS = (
    ("Records identified from: Databases", ("box-identified",)),
    ("Records identified from: Websites", ("box-identified-other",)),
    ("Records removed before screening", ("box-removed",)),
    ("Records screened", ("box-records_screened",)),
    ("Records excluded", ("box-records_excluded",)),
    ("Reports sought for retrieval", ("box-dbr_sought_reports", "box-other_sought_reports")),
    ("Reports not retrieved", ("box-dbr_notretrieved_reports", "box-other_notretrieved_reports")),
    ("Reports assessed for eligibility", ("box-dbr_assessed", "box-other_assessed")),
    ("Reports excluded:", ("box-dbr_excluded", "box-other_excluded")),
    ("Studies included in review", ("box-total_studies",)),
    ("New studies included in review", ("box-new_studies",)),
    ("Total studies included in review", ("box-total_studies",)),
    ("Studies included in previous version", ("box-previous_studies",)),
    # Other methods' own removal box: the copies of studies counted already.
    ("Duplicate records removed", ("box-other_duplicates",)),
)


def diagram_svg(data: ReportData) -> str:
    """The PRISMA 2020 flow diagram as inline SVG (the one `prisma --diagram` draws, with its
    in-progress marks), each box a link to the list of its record ids further down."""
    import matplotlib

    from ..prisma.diagram import flow_figure

    figure = flow_figure(data.counts, data.title)
    try:
        axes = figure.axes[0]
        boxes = [p for p in axes.patches if hasattr(p, "get_boxstyle")]
        found: dict[str, list[Any]] = {}

        def box_of(text: Any) -> Any:
            """The box the text was written in (at its top left corner), or None: a title
            starting "Reports excluded" is no box and must not take a box's link."""
            x, y = text.get_position()
            for patch in boxes:
                top = patch.get_y() + patch.get_height()
                if abs(patch.get_x() + 1.2 - x) < 0.01 and abs(top - 1.2 - y) < 0.01:
                    return patch
            return None

        for text in axes.texts:  # (flow_figure draws review text as text, never as mathtext)
            if box_of(text) is None:
                continue
            words = " ".join(text.get_text().split())
            for start, _anchors in _BOX_LINKS:
                if words.startswith(start):
                    found.setdefault(start, []).append(text)
                    break
        for start, anchors in _BOX_LINKS:
            texts = sorted(found.get(start, []), key=lambda t: t.get_position()[0])
            for text, anchor in zip(texts, anchors, strict=False):
                text.set_url(f"#{anchor}")
                box_of(text).set_url(f"#{anchor}")
        buffer = io.StringIO()
        # Stable ids for clip paths, so the same review gives the same page.
        with matplotlib.rc_context({"svg.hashsalt": "screener-report"}):
            figure.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        figure.clear()  # a Figure of its own (no pyplot): nothing else holds it
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration, no DOCTYPE naming a DTD on the web
    svg = svg.replace(' target="_blank"', "")  # a box's list is on this page, not in a new tab
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    title = "PRISMA 2020 flow diagram" + (" (in progress, not final)" if data.counts.in_progress else "")
    svg = re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        r'<svg\1 class="diagram" aria-labelledby="prisma-diagram-title"',
        svg,
        count=1,
    )
    head_end = svg.index(">") + 1
    return svg[:head_end] + f'<title id="prisma-diagram-title">{esc(title)}</title>' + svg[head_end:]


# -- a recall curve -------------------------------------------------------------------------


def curve_svg(curve: RecallCurve, anchor: str) -> str:
    """Inclusions found against records screened, over the whole stage (what is left shows)."""
    width, height, left, bottom, top, right = 520, 240, 56, 40, 14, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max(curve.total, 1)
    y_max = max(curve.found, 1)

    def x(v: float) -> float:
        return left + plot_w * v / x_max

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in curve.points)
    title = f"Recall curve of {curve.reviewer}"
    desc = (
        f"{curve.reviewer} found {curve.found} inclusions in {curve.screened} of {curve.total} records "
        "screened, in the order the decisions were made."
    )
    ticks_x = _ticks(x_max)
    ticks_y = _ticks(y_max)
    parts = [
        f'<svg class="curve" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{anchor}-title {anchor}-desc">',
        f'<title id="{anchor}-title">{esc(title)}</title><desc id="{anchor}-desc">{esc(desc)}</desc>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
    ]
    if curve.screened < curve.total:  # the part not screened yet, shaded
        parts.append(
            f'<rect x="{x(curve.screened):.1f}" y="{top}" width="{x(x_max) - x(curve.screened):.1f}" '
            f'height="{plot_h}" fill="#eeeeee"/>'
        )
    for v in ticks_x:
        parts.append(
            f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            'stroke="#555"/>'
            f'<text x="{x(v):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{v}</text>'
        )
    for v in ticks_y:
        parts.append(
            f'<line x1="{left - 4}" x2="{left}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#555"/>'
            f'<text x="{left - 7}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle">records screened</text>'
        f'<text transform="translate(13 {top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "inclusions found</text>"
    )
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(top: int) -> list[int]:
    """Round tick values from 0 to `top` (about five)."""
    raw = max(top / 5, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, top + 1, int(step)))


# -- tables ---------------------------------------------------------------------------------


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    caption: str = "",
    sortable: bool = False,
    row_header: bool = True,
    numeric: Sequence[int] = (),
    attrs: str = "",
) -> str:
    """A table from cells that are already HTML (escape text with esc before). The first cell
    of each row is its header (scope="row") unless row_header is False."""
    out = [f"<div class=table-scroll><table{' data-sortable' if sortable else ''}{attrs}>"]
    if caption:
        out.append(f"<caption>{caption}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(
            f'<th scope="col"{" class=num" if k in numeric else ""}>{c}</th>' for k, c in enumerate(columns)
        )
        + "</tr></thead><tbody>"
    )
    for row in rows:
        cells = []
        for k, cell in enumerate(row):
            num = " class=num" if k in numeric else ""
            if k == 0 and row_header:
                cells.append(f'<th scope="row"{num}>{cell}</th>')
            else:
                cells.append(f"<td{num}>{cell}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# Ids longer than this (DOIs) may wrap in a table; shorter ones stay on one line.
LONG_ID = 24
_BREAK_AFTER = re.compile(r"([/.:_-])(?=.)")


def breakable(value: str) -> str:
    """`value` escaped; when long, with a line-break opportunity after each / . : _ - and
    nowhere else: a DOI wraps where a reader expects, never inside a number, and a copy of it
    is the id unchanged (<wbr> adds no text)."""
    text = esc(value)
    return _BREAK_AFTER.sub(r"\1<wbr>", text) if len(value) > LONG_ID else text  # no / . : _ - in an entity


def record_id(value: str) -> str:
    if len(value) > LONG_ID:
        return f'<span class="id long">{breakable(value)}</span>'
    return f'<span class="id">{esc(value)}</span>'


def links(record) -> str:  # noqa: ANN001 - records.Record
    out = []
    url = pubmed_url(record.pmid)
    if url:
        out.append(f'<a href="{esc(url)}" rel="noopener noreferrer">PubMed {esc(record.pmid)}</a>')
    url = doi_url(record.doi)
    if url:
        out.append(f'<a href="{esc(url)}" rel="noopener noreferrer">{breakable("doi:" + record.doi)}</a>')
    return " ".join(out)


def noted(note: str, tags: str) -> str:
    """A decision's note and tags, as HTML after it ("" when it has neither)."""
    out = f' <span class="note">— {esc(note)}</span>' if note else ""
    return out + (f' <span class="tags">tags: {esc(tags)}</span>' if tags else "")


def _notes_cell(notes: Sequence[tuple[str, str, str, str]]) -> str:
    """Each reviewer's notes and tags on a study, one line each, with the stage they were made at."""
    return "<br>".join(
        esc(f"{who} ({STAGE_NAMES.get(stage, stage).lower()}):") + noted(note, tags)
        for who, stage, note, tags in notes
    )


def first_author(record) -> str:  # noqa: ANN001 - records.Record
    if not record.authors:
        return ""
    return record.authors[0] + (" et al." if len(record.authors) > 1 else "")


# -- sections -------------------------------------------------------------------------------


def _review_section(data: ReportData) -> str:
    out = ['<section id="review" aria-labelledby="review-h"><h2 id="review-h">Reviewers and searches</h2>']
    people = [
        (esc(r.name), esc(r.role), "yes" if r.active else "no (left the review; decisions still count)")
        for r in data.reviewers
    ]
    if people:
        out.append(table(("reviewer", "role", "active"), people, caption="Reviewers"))
    else:
        out.append("<p>No reviewers declared in review.toml.</p>")
    rows = []
    for s in data.searches:
        files = "".join(
            f"<li>{esc(f.path)}: {f.records} records, sha256 <code class=id>{esc(f.sha256)}</code>"
            + (f", round {f.round}" if f.round > 1 else "")
            + (f", searched {esc(f.date_searched)}" if f.date_searched else "")
            + "</li>"
            for f in s.files
        )
        query = f"<pre>{esc(s.query)}</pre>" if s.query else "<em>not recorded</em>"
        translation = s.pubmed.get("query_translation", "") if isinstance(s.pubmed, dict) else ""
        if translation:
            query += f"<p>PubMed's translation:</p><pre>{esc(translation)}</pre>"
        rows.append(
            (
                esc(s.name),
                esc(s.database),
                esc(s.kind or "database"),
                esc(s.date_searched) or "<em>not recorded</em>",
                str(s.record_count),
                query,
                f"<ul class=files>{files}</ul>",
            )
        )
    if rows:
        out.append(
            table(
                ("search", "database", "kind", "date searched", "records", "query", "files"),
                rows,
                caption=f"Searches ({sum(s.record_count for s in data.searches)} records)",
                numeric=(4,),
            )
        )
    else:
        out.append("<p>No searches yet.</p>")
    out.append("</section>")
    return "".join(out)


# Rows of the counts table beside the diagram: (key in `prisma --format json`, label, anchor).
_COUNT_ROWS = (
    ("database_results", "Records identified from databases", "box-identified"),
    ("register_results", "Records identified from registers", "box-identified"),
    ("website_results", "Records identified from websites", "box-identified-other"),
    ("organisation_results", "Records identified from organisations", "box-identified-other"),
    ("citations_results", "Records identified by citation searching", "box-identified-other"),
    ("duplicates", "Duplicate records removed", "box-removed"),
    ("excluded_automatic", "Records marked as ineligible by automation tools", "box-removed"),
    ("excluded_other", "Records removed for other reasons", "box-removed"),
    ("records_screened", "Records screened", "box-records_screened"),
    ("records_excluded", "Records excluded", "box-records_excluded"),
    ("dbr_sought_reports", "Reports sought for retrieval", "box-dbr_sought_reports"),
    ("dbr_notretrieved_reports", "Reports not retrieved", "box-dbr_notretrieved_reports"),
    ("dbr_assessed", "Reports assessed for eligibility", "box-dbr_assessed"),
    ("other_sought_reports", "Reports sought for retrieval (other methods)", "box-other_sought_reports"),
    ("other_notretrieved_reports", "Reports not retrieved (other methods)", "box-other_notretrieved_reports"),
    ("other_assessed", "Reports assessed for eligibility (other methods)", "box-other_assessed"),
    ("previous_studies", "Studies included in the previous version", "box-previous_studies"),
    ("new_studies", "New studies included", "box-new_studies"),
    ("total_studies", "Studies included in the review", "box-total_studies"),
)


# Boxes with the same ids as a box in the table (reports are counted as studies).
_REPORT_BOXES = {"new_reports", "total_reports", "previous_reports"}


def _records_said(data: ReportData) -> str:
    """The header's count of records, and after an update which round the diagram counts (it
    shows one round's flow, not every round's records)."""
    per_round: dict[int, int] = {}
    for search in data.searches:
        for f in search.files:
            per_round[f.round] = per_round.get(f.round, 0) + f.records
    latest = max(data.counts.round, *per_round, 1)  # a PubMed re-run that found nothing is a round
    if latest == 1:
        return plural(data.records_in_review, "record")
    # The rounds that exist, never every number up to the latest (a round is read from a file).
    rounds = ", ".join(
        f"round {n}: {per_round.get(n, 0)}" for n in sorted({1, data.counts.round, *per_round})
    )
    return (
        f"{data.records_in_review} records over {latest} rounds ({rounds}); the flow diagram "
        f"counts round {data.counts.round}'s {data.counts.identified}"
    )


def _prisma_section(data: ReportData, diagram: str) -> str:
    counts = data.counts
    numbers = counts.to_dict()
    out = ['<section id="prisma" aria-labelledby="prisma-h"><h2 id="prisma-h">PRISMA 2020 flow diagram</h2>']
    if counts.in_progress:
        out.append(
            f'<p class="in-progress" role="note"><strong>In progress, not final:</strong> '
            f"{esc(counts.in_progress_text())}</p>"
        )
    if counts.updated:
        out.append(
            f"<p>Updated review: round {counts.round}, the flow of the latest round (its records, and "
            "the studies earlier rounds included). <code>screener prisma --round N</code> draws an "
            "earlier round's flow.</p>"
        )
    out.append(
        '<figure class="diagram-figure">'
        + diagram
        + "<figcaption>The PRISMA 2020 flow diagram, computed from the review's files. Each box links "
        "to the record ids behind it; the table below gives the same numbers.</figcaption></figure>"
    )
    named = [(key, label, anchor) for key, label, anchor in _COUNT_ROWS if key in counts.boxes]
    known = {key for key, _, _ in _COUNT_ROWS} | _REPORT_BOXES
    # A box PRISMA gains later still gets its row, under its JSON key.
    named += [(key, key.replace("_", " "), f"box-{key}") for key in counts.boxes if key not in known]
    rows = [
        (f'<a href="#{anchor}">{esc(label)}</a>', f'<span data-key="{esc(key)}">{numbers[key]}</span>')
        for key, label, anchor in named
    ]
    for table_key, label, anchor in (
        ("dbr_excluded", "Reports excluded", "box-dbr_excluded"),
        ("other_excluded", "Reports excluded (other methods)", "box-other_excluded"),
    ):
        for k, (reason, n) in enumerate(
            sorted(numbers[table_key].items(), key=lambda item: (-item[1], item[0]))
        ):
            rows.append(
                (
                    f'<a href="#{anchor}-{k}">{esc(label)}: {esc(reason)}</a>',
                    f'<span data-key="{table_key}" data-reason="{esc(reason)}">{n}</span>',
                )
            )
    out.append(
        table(("box", "n"), rows, caption="PRISMA 2020 counts", numeric=(1,), attrs=' id="prisma-counts"')
    )
    out.append("</section>")
    return "".join(out)


def _dedup_section(data: ReportData) -> str:
    d = data.dedup
    out = ['<section id="dedup" aria-labelledby="dedup-h"><h2 id="dedup-h">Deduplication</h2>']
    out.append(
        f"<p>{d['records']} records in, {d['duplicates_removed']} duplicates removed, {d['unique']} unique "
        f"records; {d['pairs_compared']} pairs compared in full."
        + (
            f" <strong>{plural(d['uncertain_pending'], 'uncertain pair')} "
            f"wait{'s' if d['uncertain_pending'] == 1 else ''} for a person</strong> "
            "(<code>screener dedup --review</code>)."
            if d["uncertain_pending"]
            else ""
        )
        + "</p>"
    )
    rows = [
        (
            esc(s["name"]),
            esc(s["database"]),
            str(s["records"]),
            str(s["duplicates_removed"]),
            str(s["unique"]),
        )
        for s in d["searches"]
    ]
    rows.append(("total", "", str(d["records"]), str(d["duplicates_removed"]), str(d["unique"])))
    out.append(
        table(
            ("search", "database", "records", "duplicates removed", "unique"),
            rows,
            caption="Per search",
            numeric=(2, 3, 4),
            attrs=' id="dedup-searches"',
        )
    )
    decided = data.pair_decisions
    if decided:
        tally = {w: sum(1 for p in decided if p.decision == w) for w in ("same", "different", "skip")}
        out.append(
            f"<p>Pairs decided by a person (labels/dedup.csv): {len(decided)}: {tally['same']} the same "
            f"record, {tally['different']} different records, {tally['skip']} skipped.</p>"
        )
        out.append(
            f"<details><summary>The {len(decided)} pairs decided by a person</summary>"
            + table(
                ("record", "record", "decision", "by", "when"),
                (
                    (record_id(p.id_1), record_id(p.id_2), esc(p.decision), esc(p.reviewer), esc(p.timestamp))
                    for p in decided
                ),
                sortable=True,
                row_header=False,
            )
            + "</details>"
        )
    else:
        out.append("<p>No pair was decided by a person.</p>")
    out.append("</section>")
    return "".join(out)


def _stage_section(stage) -> str:  # noqa: ANN001 - StageReport
    name = STAGE_NAMES.get(stage.stage, stage.stage)
    p = stage.progress
    anchor = f"stage-{stage.stage}"
    out = [f'<section id="{anchor}" aria-labelledby="{anchor}-h"><h3 id="{anchor}-h">{esc(name)}</h3>']
    out.append(
        f'<p data-stage="{esc(stage.stage)}">{plural(p["records"], "record")}; '
        f'final: {p["included"]} included, '
        f"{p['excluded']} excluded"
        + (f", {p['not_retrieved']} not retrieved" if p["not_retrieved"] else "")
        + f"; {plural(p['conflicts_to_resolve'], 'conflict')} to resolve; "
        f"{p['screened_by_some_only']} waiting for "
        f"more votes ({p['votes']} agreeing vote{'s make' if p['votes'] > 1 else ' makes'} a record final); "
        f"{p['not_screened']} not screened "
        "by anyone yet.</p>"
    )
    rows = []
    for reviewer, r in p["reviewers"].items():
        share = r["screened"] / r["total"] if r["total"] else 0.0
        rows.append(
            (
                esc(reviewer),
                f"{r['screened']} / {r['total']}",
                f'<progress max="1" value="{share:.3f}" aria-label="{esc(reviewer)}: {share:.0%}">'
                f"{share:.0%}</progress> {share:.0%}",
                str(r["included"]),
                str(p["need_vote_from"].get(reviewer, 0)),
            )
        )
    for resolver, made in stage.resolvers.items():
        made_text = f"{made} decision" + ("" if made == 1 else "s")
        rows.append((esc(resolver) + " (resolver)", made_text, "", "", str(p["conflicts_to_resolve"])))
    if rows:
        out.append(
            table(
                ("reviewer", "screened", "progress", "included (incl. maybe)", "still need their vote"),
                rows,
                caption=f"Progress at {esc(name.lower())}",
                numeric=(1, 3, 4),
            )
        )
    if stage.agreement:
        rows = []
        for a in stage.agreement:
            cells = list(a.table.values())
            kappa = number(a.kappa)
            if math.isfinite(a.kappa_ci_low):
                kappa += f" ({number(a.kappa_ci_low)} to {number(a.kappa_ci_high)})"
            elif math.isfinite(a.kappa):
                kappa += " (CI not estimable)"
            rows.append(
                (
                    f'<span data-pair="{esc(a.reviewer_1)}/{esc(a.reviewer_2)}">'
                    f"{esc(a.reviewer_1)} / {esc(a.reviewer_2)}</span>",
                    f'<span data-key="n">{a.n}</span>',
                    f'<span data-key="percent_agreement">{number(a.percent_agreement * 100, ".1f")}%</span>'
                    if math.isfinite(a.percent_agreement)
                    else '<span data-key="percent_agreement">n/a</span>',
                    f'<span data-key="kappa">{kappa}</span>',
                    f'<span data-key="pabak">{number(a.pabak)}</span>',
                    " / ".join(f'<span data-key="cell{k}">{c}</span>' for k, c in enumerate(cells)),
                )
            )
        out.append(
            table(
                (
                    "pair",
                    "n",
                    "agreement",
                    "Cohen's kappa (95% CI)",
                    "PABAK",
                    "2×2: both include, only first, only second, both exclude",
                ),
                rows,
                caption=f"Agreement at {esc(name.lower())} (include and maybe count as include)",
                numeric=(1, 2, 4),
                attrs=f' class="agreement" data-stage="{esc(stage.stage)}"',
            )
        )
        for a in stage.agreement:
            out.append(_two_by_two(a))
    if stage.fleiss is not None:
        kappa, n = stage.fleiss
        out.append(
            f'<p class="fleiss" data-stage="{esc(stage.stage)}">Fleiss\' kappa over the pool of '
            f"{len(p['reviewers'])} screeners, on {n} records with two votes or more: "
            f'<span data-key="fleiss_kappa">{number(kappa)}</span></p>'
        )
    if stage.conflicts:
        rows = [
            (
                record_id(c["record_id"]),
                esc(c["kind"]),
                "<br>".join(
                    esc(f"{who}: {decision}" + (f" ({reason})" if reason else "")) + noted(note, tags)
                    for who, (decision, reason, note, tags) in c["decisions"].items()
                ),
                esc(c["title"]) or "<em>no title</em>",
            )
            for c in stage.conflicts
        ]
        out.append(
            table(
                ("record", "kind", "decisions", "title"),
                rows,
                caption=f"Open conflicts at {esc(name.lower())}: {len(rows)}, waiting for the resolver",
                sortable=True,
                attrs=f' class="conflicts" data-stage="{esc(stage.stage)}"',
            )
        )
    else:
        out.append(f"<p>No open conflicts at {esc(name.lower())}.</p>")
    out.append("</section>")
    return "".join(out)


def _two_by_two(a) -> str:  # noqa: ANN001 - screening.Agreement
    """The pair's 2x2 table, as a table (a screen reader reads its headers)."""
    cells = list(a.table.values())
    first, second = esc(a.reviewer_1), esc(a.reviewer_2)
    return (
        f'<table class="two-by-two"><caption>{first} against {second}</caption>'
        f'<thead><tr><td></td><th scope="col">{second} includes</th><th scope="col">{second} excludes</th>'
        f"</tr></thead><tbody>"
        f'<tr><th scope="row">{first} includes</th>'
        f"<td class=num>{cells[0]}</td><td class=num>{cells[1]}</td></tr>"
        f'<tr><th scope="row">{first} excludes</th>'
        f"<td class=num>{cells[2]}</td><td class=num>{cells[3]}</td></tr>"
        "</tbody></table>"
    )


def _screening_section(data: ReportData) -> str:
    out = ['<section id="screening" aria-labelledby="screening-h"><h2 id="screening-h">Screening</h2>']
    if not data.stages:
        out.append("<p>No screening stages in review.toml.</p>")
    for stage in data.stages:
        out.append(_stage_section(stage))
    numbers = data.counts.to_dict()
    reasons = dict(numbers["dbr_excluded"])
    for reason, n in numbers["other_excluded"].items():
        reasons[reason] = reasons.get(reason, 0) + n
    if reasons:
        out.append(
            table(
                ("reason", "reports excluded"),
                ((esc(r), str(n)) for r, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
                caption="Exclusion reasons at full text",
                numeric=(1,),
                attrs=' id="exclusion-reasons"',
            )
        )
    out.append("</section>")
    return "".join(out)


def _ranking_section(data: ReportData) -> str:
    out = [
        '<section id="ranking" aria-labelledby="ranking-h"><h2 id="ranking-h">Ranking and when to stop</h2>',
        "<p>Each screener's inclusions (include or maybe) against the records they screened at title "
        "and abstract, in the order they decided them. A curve that flattens early means the ranking put "
        "the relevant records first; the grey part is what is left to screen. The stopping rule's "
        "statement is the one the screen shows.</p>",
    ]
    if not data.curves:
        out.append("<p>No screeners at title and abstract.</p>")
    for k, curve in enumerate(data.curves):
        anchor = f"curve-{k}"
        out.append(
            f'<section class="curve-block" aria-labelledby="{anchor}-h">'
            f'<h3 id="{anchor}-h">{esc(curve.reviewer)}</h3>'
            f"<figure>{curve_svg(curve, anchor)}<figcaption>{curve.found} inclusions in {curve.screened} "
            f"of {curve.total} records screened.</figcaption></figure>"
            f'<p class="stopping"><strong>Stopping rule:</strong> {esc(curve.statement)}</p></section>'
        )
    out.append("</section>")
    return "".join(out)


def _full_text(item: dict | None) -> str:
    """Where an included study's report came from: "attach, 2026-01-05" or its state."""
    if not item:
        return ""
    if "sha256" in item:
        return ", ".join(p for p in (item.get("source", ""), item.get("date", "")[:10]) if p)
    return item.get("state", "").replace("_", " ")


def _studies_sections(data: ReportData) -> str:
    out = [
        '<section id="included" aria-labelledby="included-h">'
        f'<h2 id="included-h">Included studies ({len(data.included)})</h2>'
    ]
    rows = [
        (
            record_id(r.id),
            esc(first_author(r)),
            esc(r.year or ""),
            esc(r.title) or "<em>no title</em>",
            esc(r.journal),
            links(r),
            esc(by),
            _notes_cell(data.notes.get(r.id, ())),
            esc(_full_text(data.full_texts.get(r.id))),
        )
        for r, by in data.included
    ]
    if rows:
        out.append(
            table(
                (
                    "record",
                    "first author",
                    "year",
                    "title",
                    "journal",
                    "links",
                    "decided by",
                    "notes, tags",
                    "full text",
                ),
                rows,
                caption="Studies included in the review (full text)",
                sortable=True,
                attrs=' id="included-table"',
            )
        )
    else:
        out.append("<p>No study is included yet.</p>")
    out.append("</section>")
    out.append(
        '<section id="excluded" aria-labelledby="excluded-h">'
        f'<h2 id="excluded-h">Excluded at full text or not retrieved ({len(data.excluded)})</h2>'
        "<p>Reports assessed in full text and excluded, with the reason, and reports not retrieved. "
        'Records excluded at title and abstract are listed by id under <a href="#box-records_excluded">'
        "the diagram's records</a>.</p>"
    )
    rows = [
        (
            record_id(r.id),
            esc(first_author(r)),
            esc(r.year or ""),
            esc(r.title) or "<em>no title</em>",
            esc(reason),
            links(r),
        )
        for r, _decision, reason in data.excluded
    ]
    if rows:
        out.append(
            table(
                ("record", "first author", "year", "title", "reason", "links"),
                rows,
                caption="Reports excluded at full text, with reasons",
                sortable=True,
                attrs=' id="excluded-table"',
            )
        )
    else:
        out.append("<p>No report is excluded at full text yet.</p>")
    out.append("</section>")
    return "".join(out)


def _citations_section(data: ReportData) -> str:
    """Each record citation searching found, with the seed it came from (screener chase)."""
    if not data.citations:
        return ""
    rows = [
        (esc(record_id), esc(search), esc(title), "<br>".join(esc(how) for how in paths))
        for record_id, search, title, paths in data.citations
    ]
    return (
        '<section id="citations" aria-labelledby="citations-h"><h2 id="citations-h">Citation searching: '
        "where each record came from</h2><p>Each record of a <code>screener chase</code> search, with the "
        "seed (an included study), the direction (backward: its references; forward: works citing it), "
        "the depth and the source.</p>"
        + table(("record", "search", "title", "found"), rows, caption=f"Citation records ({len(rows)})")
        + "</section>"
    )


def _id_list(ids: Sequence[str]) -> str:
    if not ids:
        return "<p><em>none</em></p>"
    return '<p class="ids">' + esc(" ".join(ids)) + "</p>"  # one escape for 100,000 ids, not one each


def _records_section(data: ReportData) -> str:
    """Every box's record ids (the lists `prisma --explain BOX` prints), one anchor per box."""
    counts = data.counts
    b = counts.boxes
    out = [
        '<section id="records" aria-labelledby="records-h">'
        '<h2 id="records-h">The records behind each box</h2>',
        "<p>The ids <code>screener prisma --explain BOX</code> prints. Reports are counted as studies, so "
        "each report box lists the same ids as its study box.</p>",
    ]

    def block(anchor: str, heading: str, parts: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        # A study box and its report box list the same ids: the heading counts them once.
        same = all(list(ids) == list(parts[0][2]) for _, _, ids in parts)
        total = len(parts[0][2]) if parts and same else sum(len(ids) for _, _, ids in parts)
        inner = "".join(
            f'<h4>{esc(label)} (n = {len(ids)})</h4><div data-box="{esc(key)}">{_id_list(ids)}</div>'
            for key, label, ids in parts
        )
        out.append(f'<details id="{anchor}"><summary>{esc(heading)} (n = {total})</summary>{inner}</details>')

    block(
        "box-identified",
        "Records identified from databases and registers",
        [
            ("database_results", "Databases", b["database_results"]),
            ("register_results", "Registers", b["register_results"]),
        ],
    )
    removed = "".join(
        f"<li>{esc(r['record_id'])} ({esc(r['search'])}) → "
        f"{esc(r['merged_into'])} ({esc(r['merged_into_search'])})</li>"
        for r in counts.removed_copies
    )
    out.append(
        f'<details id="box-removed"><summary>Records removed before screening (n = '
        f"{len(b['duplicates']) + len(b['excluded_automatic']) + len(b['excluded_other'])})</summary>"
        f"<h4>Duplicate records removed (n = {len(b['duplicates'])}): each copy (its search) → the record "
        f'it joined (its search)</h4><div data-box="duplicates"><ul class="ids">{removed}</ul></div>'
        f"<h4>Marked as ineligible by automation tools (n = {len(b['excluded_automatic'])})</h4>"
        f'<div data-box="excluded_automatic">{_id_list(b["excluded_automatic"])}</div>'
        f"<h4>Removed for other reasons (n = {len(b['excluded_other'])})</h4>"
        f'<div data-box="excluded_other">{_id_list(b["excluded_other"])}</div></details>'
    )
    for key, heading in (
        ("records_screened", "Records screened"),
        ("records_excluded", "Records excluded at title and abstract"),
        ("dbr_sought_reports", "Reports sought for retrieval"),
        ("dbr_notretrieved_reports", "Reports not retrieved"),
        ("dbr_assessed", "Reports assessed for eligibility"),
    ):
        block(f"box-{key}", heading, [(key, heading, b[key])])
    for table_name, key, heading in (
        (counts.exclusion_reasons, "dbr_excluded", "Reports excluded"),
        (counts.other_exclusion_reasons, "other_excluded", "Reports excluded (other methods)"),
    ):
        ordered = sorted(table_name.items(), key=lambda item: (-len(item[1]), item[0]))
        inner = "".join(
            f'<h4 id="box-{key}-{k}">{esc(reason)} (n = {len(ids)})</h4>'
            f'<div data-box="{key}" data-reason="{esc(reason)}">{_id_list(ids)}</div>'
            for k, (reason, ids) in enumerate(ordered)
        )
        total = sum(len(ids) for _, ids in ordered)
        out.append(
            f'<details id="box-{key}"><summary>{esc(heading)} (n = {total})</summary>'
            f"{inner or _id_list([])}</details>"
        )
    block(
        "box-new_studies",
        "New studies included",
        [
            ("new_studies", "New studies", b["new_studies"]),
            ("new_reports", "Reports of new studies", b["new_reports"]),
        ],
    )
    block(
        "box-previous_studies",
        "Studies included in the previous version",
        [
            ("previous_studies", "Previous studies", b["previous_studies"]),
            ("previous_reports", "Reports of previous studies", b["previous_reports"]),
        ],
    )
    block(
        "box-total_studies",
        "Studies included in the review",
        [
            ("total_studies", "Studies", b["total_studies"]),
            ("total_reports", "Reports", b["total_reports"]),
        ],
    )
    block(
        "box-identified-other",
        "Records identified by other methods",
        [
            ("website_results", "Websites", b["website_results"]),
            ("organisation_results", "Organisations", b["organisation_results"]),
            ("citations_results", "Citation searching", b["citations_results"]),
        ],
    )
    for key, heading in (
        ("other_sought_reports", "Reports sought for retrieval (other methods)"),
        ("other_notretrieved_reports", "Reports not retrieved (other methods)"),
        ("other_assessed", "Reports assessed for eligibility (other methods)"),
    ):
        block(f"box-{key}", heading, [(key, heading, b[key])])
    listed = set(b) & {key for line in out for key in re.findall(r'data-box="([^"]+)"', line)}
    for key in b:
        if key not in listed:  # a box PRISMA gains later is listed all the same
            block(f"box-{key}", key.replace("_", " "), [(key, key.replace("_", " "), b[key])])
    out.append("</section>")
    return "".join(out)


# -- the page ---------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --line: #d0d0d0; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { border-bottom: 2px solid var(--line); margin-top: 2.5rem; }
h3 { margin-top: 1.8rem; } h4 { margin: 1rem 0 .3rem; font-size: 1rem; }
a { color: var(--accent); }
.meta, figcaption, caption { color: var(--muted); }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
table { border-collapse: collapse; margin: .8rem 0 1.2rem; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #f2f4f7; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.two-by-two { width: auto; display: inline-table; margin-right: 1.5rem; }
.id, .ids, code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
.id, .ids { overflow-wrap: anywhere; } td, th { overflow-wrap: break-word; }
td .id, th .id { white-space: nowrap; }
td .id.long, th .id.long { white-space: normal; overflow-wrap: normal; }  /* at its <wbr> only */
.table-scroll { overflow-x: auto; }  /* the last resort for a cell nothing can wrap */
.note { font-style: italic; } .tags { color: var(--muted); }
#prisma-counts, #dedup-searches, #exclusion-reasons { width: auto; min-width: min(36rem, 100%); }
.ids { line-height: 1.7; } ul.ids { list-style: none; padding: 0; }
ul.files { margin: 0; padding-left: 1rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-size: .85em; max-width: 60ch; }
.in-progress { background: #fff1e0; border-left: 4px solid #d95f02; padding: .5rem .8rem; }
.warning { background: #fff8d6; border-left: 4px solid #b38f00; padding: .5rem .8rem; }
/* The whole column: an A4 page's 6 pt box text reads at 12 px at 1280 px (at 820 px, 8.5 px). */
svg.diagram { width: 100%; height: auto; display: block; margin: 0 auto; }
svg.diagram a:hover path, svg.diagram a:focus path { stroke: var(--accent); stroke-width: 2; }
svg.curve { width: 100%; max-width: 560px; height: auto; font-size: 11px; fill: var(--ink); }
figure { margin: 1rem 0; }
details { border: 1px solid var(--line); border-radius: 4px; padding: .4rem .8rem; margin: .5rem 0; }
details:target, h4:target { outline: 3px solid var(--accent); }
summary { cursor: pointer; font-weight: 600; }
nav ol { columns: 2; }
.filter { margin: .5rem 0; } .filter input { font: inherit; padding: .2rem .4rem; min-width: 18rem; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer;
  color: inherit; text-align: inherit; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
progress { width: 6rem; vertical-align: middle; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav, .filter, th button::after { display: none; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; } figure, table.two-by-two, tr { break-inside: avoid; }
  svg.diagram { max-width: 100%; max-height: 23cm; }  /* under its heading, on one page */
  details { border: 0; padding: 0; } details > summary { list-style: none; }
  .table-scroll { overflow: visible; }
}
"""

# Sorting and searching the tables marked data-sortable; opening the box a link points at.
# Without it the page reads the same: the tables are in their natural order, the lists closed
# with their counts shown.
SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var text = (cell.getAttribute("data-sort") || cell.textContent).trim();
    var n = Number(text.replace(/,/g, ""));
    return text !== "" && !isNaN(n) ? [0, n, ""] : [1, 0, text.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) { return a[0] - b[0]; }
    if (a[1] !== b[1]) { return a[1] - b[1]; }
    return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table, index) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var label = document.createElement("label");
    label.className = "filter";
    label.textContent = "Search this table: ";
    var input = document.createElement("input");
    input.type = "search";
    input.id = "filter-" + index;
    label.appendChild(input);
    table.parentNode.insertBefore(label, table);
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var order = compare(key(a.cells[column]), key(b.cells[column]));
          return up ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  function openTarget() {
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    while (target) {
      if (target.tagName === "DETAILS") { target.open = true; }
      target = target.parentElement;
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  window.addEventListener("beforeprint", function () {
    // Every list but the raw record ids, which would fill twenty pages.
    document.querySelectorAll("details").forEach(function (d) {
      if (!d.closest("#records")) { d.open = true; }
    });
  });
})();
"""


def render(data: ReportData) -> str:
    """The page for `data` (see report_data)."""
    try:
        diagram = diagram_svg(data)
    except Exception as exc:  # noqa: BLE001 - a drawing failure leaves the numbers readable
        diagram = (
            f'<p class="warning">The diagram could not be drawn ({esc(type(exc).__name__)}: {esc(exc)}).</p>'
        )
    title = data.title or "Untitled review"
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    # Nothing loads and nothing but this page's own script runs, whatever the review holds.
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    # The numbers for scripts, as JSON that cannot close its own script element.
    payload = json.dumps(data.to_dict(), ensure_ascii=False, allow_nan=False, sort_keys=True)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if data.counts.in_progress:
        status = "In progress: " + esc(data.counts.in_progress_text())
    elif not data.counts.to_dict().get("records_screened"):
        status = "No records yet: import a search to begin"
    else:
        status = "Screening complete"
    warnings = "".join(f'<p class="warning">warning: {esc(w)}</p>' for w in data.warnings)
    nav = "".join(
        f'<li><a href="#{anchor}">{label}</a></li>'
        for anchor, label in (
            ("prisma", "PRISMA 2020 flow diagram"),
            ("review", "Reviewers and searches"),
            ("dedup", "Deduplication"),
            ("screening", "Screening"),
            ("ranking", "Ranking and when to stop"),
            ("included", "Included studies"),
            ("excluded", "Excluded at full text"),
            ("records", "The records behind each box"),
            *((("citations", "Citation searching: where each record came from"),) if data.citations else ()),
        )
    )
    body = "".join(
        (
            # The diagram first: it is what most readers came for.
            _prisma_section(data, diagram),
            _review_section(data),
            _dedup_section(data),
            _screening_section(data),
            _ranking_section(data),
            _studies_sections(data),
            _records_section(data),
            _citations_section(data),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="screener {esc(data.version)}">'
        f"<title>{esc(title)}: screening report</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="meta">Screening report. <strong>{status}</strong>. Built by screener {esc(data.version)} '
        f"from the review's files on {esc(data.generated)}; {_records_said(data)}.</p>"
        + (
            f'<p class="question"><strong>Question.</strong> {esc(data.question)}</p>'
            if data.question
            else ""
        )
        + f"{warnings}</header>"
        f'<nav aria-label="Contents"><h2 id="contents-h">Contents</h2><ol>{nav}</ol></nav>'
        f"<main>{body}</main>"
        f"<footer><p class=meta>screener {esc(data.version)}. This page needs no network and no "
        "installation; "
        "open it from disk or attach it to an e-mail.</p></footer>"
        f'<script type="application/json" id="report-data">{payload}</script>'
        f"<script>{SCRIPT}</script>"
        "</body></html>\n"
    )
