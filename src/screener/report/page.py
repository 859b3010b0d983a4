"""The report page: one HTML file with its CSS, script and figures inline, nothing fetched.

The page comes from Jinja2 templates (templates/, one per section, page.html the whole): every
value is escaped and cleaned of control and bidi characters (`_finalize`) unless it is one of the
fragments this module draws itself and marks as HTML (the diagram's SVG, the page's JSON). This
module only gathers what the templates show: numbers, rows, the order of the lists. The only
links built from records are PubMed's (digits only) and doi.org's (a DOI, percent-encoded). A
Content-Security-Policy lets only the page's own script run and nothing load, so a mistake here
could not turn a hostile title into running code or a request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import jinja2
import jinja2.ext
from markupsafe import Markup

from ..cache import cache_root
from ..records import safe_text
from ..words import plural
from . import RecallCurve, ReportData

STAGE_NAMES = {"title-abstract": "Title and abstract", "full-text": "Full text"}
# Ids longer than this (DOIs) may wrap in a table; shorter ones stay on one line.
LONG_ID = 24


# -- the template environment -----------------------------------------------------------------


def _finalize(value: Any) -> Markup:
    """Every value a template prints: text from the review as text (quotes escaped too, for
    attribute values), without control or bidi characters (`safe_text`): an id from a labels
    file must not reorder the page. Markup (a macro's output, the diagram) passes as it is."""
    if isinstance(value, Markup):
        return value
    # html.escape, not Markup.escape: the same entities the page always had (&quot; &#x27;).
    return Markup(html.escape(safe_text(value), quote=True))


class _JoinLines(jinja2.ext.Extension):
    """Templates are written one element a line, indented, for reading; the page has no
    whitespace between its elements. So a line break and the indentation after it are dropped,
    and a blank line puts one line break on the page. The CSS and script keep theirs."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if not (name or "").endswith(".html"):
            return source
        return re.sub(r"\n[ \t]*(?!\n)", "", source)


def _break_after_punctuation(value: str) -> list[str]:
    """`value` cut after each / . : _ - that is not its last character (where <wbr> goes)."""
    return re.split(r"(?<=[/.:_-])(?!\Z)", value)


def number(value: float, form: str = ".3f") -> str:
    return format(value, form) if isinstance(value, int | float) and math.isfinite(value) else "n/a"


def pubmed_url(pmid: str) -> str | None:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid.isascii() and pmid.isdigit() else None


def doi_url(doi: str) -> str | None:
    # A DOI is "10.<registrant>/<suffix>"; anything else from a record makes no link.
    if not re.fullmatch(r"10\.\d{4,9}/\S+", doi or ""):
        return None
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


def first_author(record) -> str:  # noqa: ANN001 - records.Record
    if not record.authors:
        return ""
    return record.authors[0] + (" et al." if len(record.authors) > 1 else "")


def _full_text(item: dict | None) -> str:
    """Where an included study's report came from: "attach, 2026-01-05" or its state."""
    if not item:
        return ""
    if "sha256" in item:
        return ", ".join(p for p in (item.get("source", ""), item.get("date", "")[:10]) if p)
    return item.get("state", "").replace("_", " ")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """The compiled templates, kept in the user's cache folder: compiling them all costs about
    0.1 s, a tenth of a small review's report. Entries are keyed by each template's source, so
    a changed template is compiled again; without a writable cache the page is the same."""
    folder = cache_root() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment, made once a process (it compiles each template once)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("screener.report", "templates"),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails loudly, never prints ""
        keep_trailing_newline=True,  # the page ends with a line break
        finalize=_finalize,
        extensions=[_JoinLines],
    )
    env.globals["LONG_ID"] = LONG_ID
    env.filters.update(
        plural=plural,
        fmt=format,
        stage_name=lambda stage: STAGE_NAMES.get(stage, stage),
        pubmed_url=pubmed_url,
        doi_url=doi_url,
        first_author=first_author,
        full_text=_full_text,
        break_after_punctuation=_break_after_punctuation,
    )
    return env


def _macros() -> Any:
    return environment().get_template("macros.html").module


def record_id(value: str) -> str:
    """A record id as HTML (a long one may wrap only after punctuation)."""
    return _macros().record_id(value)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    caption: str = "",
    sortable: bool = False,
    row_header: bool = True,
    numeric: Sequence[int] = (),
) -> str:
    """A table from cells that are already HTML (the caller escaped them). The first cell of
    each row is its header (scope="row") unless row_header is False."""
    cells = [[Markup(cell) for cell in row] for row in rows]  # the caller's HTML, as promised
    return str(_macros().cells_table(columns, cells, caption, sortable, row_header, tuple(numeric)))


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


def diagram_svg(data: ReportData) -> tuple[str, str]:
    """The PRISMA 2020 flow diagram as inline SVG (the one `prisma --diagram` draws, with its
    in-progress marks), each box a link to the list of its record ids further down: its opening
    tag and the rest, for the page to put its title between."""
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
    # The one HTML edited in Python: matplotlib's SVG, trimmed and tagged for the page (a
    # template cannot reach inside a drawing it is handed whole).
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration, no DOCTYPE naming a DTD on the web
    svg = svg.replace(' target="_blank"', "")  # a box's list is on this page, not in a new tab
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    svg = re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        r'<svg\1 class="diagram" aria-labelledby="prisma-diagram-title"',
        svg,
        count=1,
    )
    head_end = svg.index(">") + 1
    return svg[:head_end], svg[head_end:]


# -- a recall curve -------------------------------------------------------------------------


def _curve(curve: RecallCurve) -> SimpleNamespace:
    """The curve with its drawing's geometry (curve.html draws it): inclusions found against
    records screened, over the whole stage (what is left shows)."""
    width, height, left, bottom, top, right = 520, 240, 56, 40, 14, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max(curve.total, 1)
    y_max = max(curve.found, 1)

    def x(v: float) -> float:
        return left + plot_w * v / x_max

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    unscreened = None
    if curve.screened < curve.total:
        unscreened = {"x": f"{x(curve.screened):.1f}", "width": f"{x(x_max) - x(curve.screened):.1f}"}
    geometry = {
        "width": width,
        "height": height,
        "left": left,
        "top": top,
        "plot_w": plot_w,
        "plot_h": plot_h,
        "bottom_y": top + plot_h,
        "middle_x": f"{left + plot_w / 2:.0f}",
        "middle_y": f"{top + plot_h / 2:.0f}",
        "unscreened": unscreened,
        "ticks_x": [{"value": v, "x": f"{x(v):.1f}"} for v in _ticks(x_max)],
        "ticks_y": [{"value": v, "y": f"{y(v):.1f}", "label_y": f"{y(v) + 4:.1f}"} for v in _ticks(y_max)],
        "points": " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in curve.points),
    }
    return SimpleNamespace(**vars(curve), geometry=geometry)


def _ticks(top: int) -> list[int]:
    """Round tick values from 0 to `top` (about five)."""
    raw = max(top / 5, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, top + 1, int(step)))


# -- what the sections show -----------------------------------------------------------------

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


def _rounds(data: ReportData) -> SimpleNamespace:
    """The latest round and each round's records, for the header (after an update it says
    which round the diagram counts: it shows one round's flow, not every round's records)."""
    per_round: dict[int, int] = {}
    for search in data.searches:
        for f in search.files:
            per_round[f.round] = per_round.get(f.round, 0) + f.records
    latest = max(data.counts.round, *per_round, 1)  # a PubMed re-run that found nothing is a round
    # The rounds that exist, never every number up to the latest (a round is read from a file).
    each = [(n, per_round.get(n, 0)) for n in sorted({1, data.counts.round, *per_round})]
    return SimpleNamespace(latest=latest, each=each)


def _count_rows(data: ReportData) -> list[dict[str, Any]]:
    """The rows of the counts table beside the diagram, each a link to its box's records."""
    counts = data.counts
    numbers = counts.to_dict()
    named = [(key, label, anchor) for key, label, anchor in _COUNT_ROWS if key in counts.boxes]
    known = {key for key, _, _ in _COUNT_ROWS} | _REPORT_BOXES
    # A box PRISMA gains later still gets its row, under its JSON key.
    named += [(key, key.replace("_", " "), f"box-{key}") for key in counts.boxes if key not in known]
    rows = [
        {"anchor": anchor, "label": label, "key": key, "reason": None, "n": numbers[key]}
        for key, label, anchor in named
    ]
    for table_key, label, anchor in (
        ("dbr_excluded", "Reports excluded", "box-dbr_excluded"),
        ("other_excluded", "Reports excluded (other methods)", "box-other_excluded"),
    ):
        ordered = sorted(numbers[table_key].items(), key=lambda item: (-item[1], item[0]))
        rows += [
            {
                "anchor": f"{anchor}-{k}",
                "label": f"{label}: {reason}",
                "key": table_key,
                "reason": reason,
                "n": n,
            }
            for k, (reason, n) in enumerate(ordered)
        ]
    return rows


def _stage(stage) -> SimpleNamespace:  # noqa: ANN001 - StageReport
    """A stage with its rows ready: progress per screener, each pair's agreement as text."""
    p = stage.progress
    reviewers = [
        SimpleNamespace(
            name=reviewer,
            screened=r["screened"],
            total=r["total"],
            share=r["screened"] / r["total"] if r["total"] else 0.0,
            included=r["included"],
            need_vote=p["need_vote_from"].get(reviewer, 0),
        )
        for reviewer, r in p["reviewers"].items()
    ]
    agreement = []
    for a in stage.agreement:
        kappa = number(a.kappa)
        if math.isfinite(a.kappa_ci_low):
            kappa += f" ({number(a.kappa_ci_low)} to {number(a.kappa_ci_high)})"
        elif math.isfinite(a.kappa):
            kappa += " (CI not estimable)"
        percent = a.percent_agreement
        agreement.append(
            SimpleNamespace(
                first=a.reviewer_1,
                second=a.reviewer_2,
                n=a.n,
                percent=f"{number(percent * 100, '.1f')}%" if math.isfinite(percent) else "n/a",
                kappa=kappa,
                pabak=number(a.pabak),
                cells=list(a.table.values()),
            )
        )
    fleiss = None
    if stage.fleiss is not None:
        fleiss = SimpleNamespace(kappa=number(stage.fleiss[0]), n=stage.fleiss[1])
    return SimpleNamespace(
        stage=stage.stage,
        progress=p,
        reviewers=reviewers,
        resolvers=list(stage.resolvers.items()),
        agreement=agreement,
        fleiss=fleiss,
        conflicts=stage.conflicts,
    )


def _exclusion_reasons(data: ReportData) -> list[tuple[str, int]]:
    """Reports excluded at full text per reason, both columns together, the most common first."""
    numbers = data.counts.to_dict()
    reasons = dict(numbers["dbr_excluded"])
    for reason, n in numbers["other_excluded"].items():
        reasons[reason] = reasons.get(reason, 0) + n
    return sorted(reasons.items(), key=lambda item: (-item[1], item[0]))


def _record_blocks(data: ReportData) -> list[dict[str, Any]]:
    """The record lists under the diagram, in the order of the diagram's columns: each a box
    ("boxes": its parts' ids), the removed records ("removed") or the exclusion reasons."""
    counts = data.counts
    b = counts.boxes
    blocks: list[dict[str, Any]] = []

    def block(anchor: str, heading: str, parts: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        # A study box and its report box list the same ids: the heading counts them once.
        same = all(list(ids) == list(parts[0][2]) for _, _, ids in parts)
        total = len(parts[0][2]) if parts and same else sum(len(ids) for _, _, ids in parts)
        blocks.append({"kind": "boxes", "anchor": anchor, "heading": heading, "total": total, "parts": parts})

    block(
        "box-identified",
        "Records identified from databases and registers",
        [
            ("database_results", "Databases", b["database_results"]),
            ("register_results", "Registers", b["register_results"]),
        ],
    )
    removed = len(b["duplicates"]) + len(b["excluded_automatic"]) + len(b["excluded_other"])
    blocks.append(
        {
            "kind": "removed",
            "anchor": "box-removed",
            "heading": "Records removed before screening",
            "total": removed,
        }
    )
    listed = {"duplicates", "excluded_automatic", "excluded_other"}
    for key, heading in (
        ("records_screened", "Records screened"),
        ("records_excluded", "Records excluded at title and abstract"),
        ("dbr_sought_reports", "Reports sought for retrieval"),
        ("dbr_notretrieved_reports", "Reports not retrieved"),
        ("dbr_assessed", "Reports assessed for eligibility"),
    ):
        block(f"box-{key}", heading, [(key, heading, b[key])])
    for reasons, key, heading in (
        (counts.exclusion_reasons, "dbr_excluded", "Reports excluded"),
        (counts.other_exclusion_reasons, "other_excluded", "Reports excluded (other methods)"),
    ):
        ordered = sorted(reasons.items(), key=lambda item: (-len(item[1]), item[0]))
        total = sum(len(ids) for _, ids in ordered)
        blocks.append(
            {
                "kind": "reasons",
                "anchor": f"box-{key}",
                "key": key,
                "heading": heading,
                "total": total,
                "parts": ordered,
            }
        )
        if ordered:
            listed.add(key)
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
    listed |= {key for block_ in blocks if block_["kind"] == "boxes" for key, _, _ in block_["parts"]}
    for key in b:
        if key not in listed:  # a box PRISMA gains later is listed all the same
            block(f"box-{key}", key.replace("_", " "), [(key, key.replace("_", " "), b[key])])
            listed.add(key)
    return blocks


# -- the page ---------------------------------------------------------------------------------


def render(data: ReportData) -> str:
    """The page for `data` (see report_data)."""
    env = environment()
    try:
        svg_open, svg_rest = diagram_svg(data)
        in_progress = " (in progress, not final)" if data.counts.in_progress else ""
        # Trusted: the SVG matplotlib drew from the counts; review text in it is SVG-escaped
        # by matplotlib. The one place the diagram is marked as HTML.
        diagram = {
            "error": "",
            "svg_open": Markup(svg_open),
            "svg_rest": Markup(svg_rest),
            "title": "PRISMA 2020 flow diagram" + in_progress,
        }
    except Exception as exc:  # noqa: BLE001 - a drawing failure leaves the numbers readable
        diagram = {"error": f"{type(exc).__name__}: {exc}"}
    script = env.loader.get_source(env, "report.js")[0]
    script_hash = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    # The numbers for scripts, as JSON that cannot close its own script element; marked as
    # HTML here (its quotes must stay quotes), the one place it is.
    payload = json.dumps(data.to_dict(), ensure_ascii=False, allow_nan=False, sort_keys=True)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    decided = data.pair_decisions
    return env.get_template("page.html").render(
        data=data,
        title=data.title or "Untitled review",
        policy=policy,
        payload=Markup(payload),
        diagram=diagram,
        rounds=_rounds(data),
        count_rows=_count_rows(data),
        pair_tally={w: sum(1 for p in decided if p.decision == w) for w in ("same", "different", "skip")},
        stages=[_stage(stage) for stage in data.stages],
        exclusion_reasons=_exclusion_reasons(data),
        curves=[_curve(curve) for curve in data.curves],
        record_blocks=_record_blocks(data),
    )
