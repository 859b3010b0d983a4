"""The PRISMA 2020 flow diagram (new and updated reviews; databases and registers, and other
methods when the review has such searches), drawn with matplotlib on an A4 page: SVG, PNG or PDF, no
system binaries."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..outputs import save_figure
from . import PrismaCounts

BAND = "#c6dbef"
HEADER = "#fdd49e"
BOX = "white"


def _box(
    axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    color: str = BOX,
    size: float = 7.2,
    wrap: int = 44,
    bold: bool = False,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    axes.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0.25,rounding_size=0.8",
            linewidth=0.8,
            edgecolor="#333333",
            facecolor=color,
        )
    )
    lines = []
    for paragraph in text.split("\n"):
        body = paragraph.lstrip(" ")
        # An indent (a database under "Databases") in no-break spaces: SVG collapses leading
        # spaces. A wrapped line goes further in, under its own first line.
        indent = "\u00a0" * (len(paragraph) - len(body))
        more = indent + "\u00a0" * 2 if indent else ""
        lines.extend(textwrap.wrap(body, wrap, initial_indent=indent, subsequent_indent=more) or [""])
    axes.text(
        x + 1.2,
        y + h - 1.2,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=size,
        fontweight="bold" if bold else "normal",
        family="DejaVu Sans",
        linespacing=1.35,
    )


def _band(axes, y: float, h: float, label: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    axes.add_patch(
        FancyBboxPatch(
            (0.5, y), 4.2, h, boxstyle="round,pad=0.2,rounding_size=0.8", linewidth=0, facecolor=BAND
        )
    )
    axes.text(2.6, y + h / 2, label, rotation=90, ha="center", va="center", fontsize=8.5, fontweight="bold")


def _arrow(axes, x1: float, y1: float, x2: float, y2: float) -> None:
    axes.annotate(
        "",
        xy=(x2, y2),
        xytext=(x1, y1),
        arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9, shrinkA=0, shrinkB=0),
    )


def _n(value: int) -> str:
    return f"(n\u00a0=\u00a0{value})"  # no-break spaces: a count is never wrapped apart


# Column widths (percent of the page) for (updated review?, other methods?).
LAYOUTS = {
    (False, False): {"main": 40.0, "side": 44.0},
    (False, True): {"main": 26.0, "side": 21.0, "omain": 19.5, "oside": 18.0},
    (True, False): {"prev": 14.0, "main": 30.0, "side": 36.0},
    (True, True): {"prev": 12.5, "main": 20.5, "side": 17.0, "omain": 17.5, "oside": 15.5},
}


def _wrap_for(width: float, size: float) -> int:
    """Characters per line that fit a box of this width at this font size."""
    return max(12, int(width * 1.38 * 7.2 / size))


def _reasons(table: dict[str, int]) -> str:
    return "\n".join(f"{reason} {_n(n)}" for reason, n in sorted(table.items(), key=lambda item: -item[1]))


def draw(counts: PrismaCounts, path: str | Path, title: str = "") -> Path:
    """Draw the flow (see `flow_figure`) where the user asked: .svg, .png or .pdf."""
    figure = flow_figure(counts, title)
    path = Path(path)
    # Where the user asked, atomically; a folder that is missing or not writable is one line.
    save_figure(figure, path, dpi=150 if path.suffix.lower() == ".png" else None)
    return path


def flow_figure(counts: PrismaCounts, title: str = ""):  # noqa: ANN201 - matplotlib Figure
    """The flow as a matplotlib figure: PRISMA 2020's template for new reviews, or for updated
    reviews when the review has been updated (a "previous studies" column and new + total
    included), with the "other methods" column when any search is a website, organisation or
    citation search. The caller closes it (`report` adds links to its boxes before saving)."""
    import matplotlib
    from matplotlib.figure import Figure

    # Real text in SVG and PDF, so the numbers can be selected, searched and edited.
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["pdf.fonttype"] = 42
    data = counts.to_dict()
    other = any(data[k] for k in ("website_results", "organisation_results", "citations_results"))
    updated = counts.updated
    # A Figure of its own, not pyplot's: no GUI backend, nothing to close, and pyplot's import
    # was a third of the report command's time on the worked example.
    figure = Figure(figsize=(8.27, 11.69))  # A4 portrait
    axes = figure.add_axes([0.03, 0.03, 0.94, 0.94])
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 140)
    axes.axis("off")
    if title:
        axes.text(50, 139, textwrap.fill(title, 95), ha="center", va="top", fontsize=9, fontweight="bold")
    if counts.in_progress:
        # A diagram of a review still being screened must never pass for the final one.
        watermark = {"rotation": 55, "fontsize": 80, "color": "#d95f02", "alpha": 0.13, "zorder": 10}
        axes.text(50, 70, "IN PROGRESS", ha="center", va="center", fontweight="bold", **watermark)
        note = textwrap.fill(f"In progress, not final: {counts.in_progress_text()}", 120)
        axes.text(50, 133.5, note, ha="center", va="bottom", fontsize=6.8, color="#b34700", fontweight="bold")

    # Column widths: [previous studies], databases and registers (main, side), [other methods].
    widths = LAYOUTS[(updated, other)]
    gap = 2.0 if len(widths) > 3 else 5.0
    x, left = 6.5, {}
    for name, width in widths.items():
        left[name] = x
        x += width + gap
    mx, mw, sx, sw = left["main"], widths["main"], left["side"], widths["side"]
    small = 6.8 if len(widths) <= 3 else 6.2
    wrap_main, wrap_side = _wrap_for(mw, 7.2), _wrap_for(sw, 7.2)

    new = "new " if updated else ""
    _box(
        axes,
        mx,
        127,
        (sx + sw) - mx,
        6,
        f"Identification of {new}studies via databases and registers",
        HEADER,
        size=8.5 if not updated or not other else 7.4,
        wrap=_wrap_for((sx + sw) - mx, 8.5),
        bold=True,
    )
    if updated:
        px, pw = left["prev"], widths["prev"]
        _box(axes, px, 127, pw, 6, "Previous studies", "#d9d9d9", size=7.4, wrap=_wrap_for(pw, 8), bold=True)
        _box(
            axes,
            px,
            100,
            pw,
            22,
            f"Studies included in previous version of review {_n(data['previous_studies'])}\n\n"
            f"Reports of studies included in previous version of review {_n(data['previous_reports'])}",
            wrap=_wrap_for(pw, small),
            size=small,
        )
    if other:
        ox, ow, osx, osw = left["omain"], widths["omain"], left["oside"], widths["oside"]
        _box(
            axes,
            ox,
            127,
            (osx + osw) - ox,
            6,
            f"Identification of {new}studies via other methods",
            "#d9d9d9",
            size=8.5 if not updated else 7.4,
            wrap=_wrap_for((osx + osw) - ox, 8.5),
            bold=True,
        )

    _band(axes, 98, 26, "Identification")
    _band(axes, 36, 59, "Screening")
    _band(axes, 6, 26, "Included")

    databases = "\n".join(
        f"  {name} {_n(n)}" for name, n in sorted(data["database_results_by_database"].items())
    )
    registers = "\n".join(
        f"  {name} {_n(n)}" for name, n in sorted(data["register_results_by_register"].items())
    )
    identified = (
        f"Records identified from:\nDatabases {_n(data['database_results'])}\n{databases}\n"
        f"Registers {_n(data['register_results'])}" + (f"\n{registers}" if registers else "")
    )
    _box(axes, mx, 100, mw, 22, identified, wrap=_wrap_for(mw, small), size=small)
    _box(
        axes,
        sx,
        103,
        sw,
        16,
        f"Records removed before screening:\nDuplicate records removed {_n(data['duplicates'])}\n"
        f"Records marked as ineligible by automation tools {_n(data['excluded_automatic'])}\n"
        f"Records removed for other reasons {_n(data['excluded_other'])}",
        wrap=_wrap_for(sw, small),
        size=small,
    )
    _arrow(axes, mx + mw, 111, sx, 111)

    _box(axes, mx, 84, mw, 8, f"Records screened\n{_n(data['records_screened'])}", wrap=wrap_main)
    _box(axes, sx, 84, sw, 8, f"Records excluded\n{_n(data['records_excluded'])}", wrap=wrap_side)
    _arrow(axes, mx + mw / 2, 100, mx + mw / 2, 92)
    _arrow(axes, mx + mw, 88, sx, 88)

    _box(
        axes, mx, 70, mw, 8, f"Reports sought for retrieval\n{_n(data['dbr_sought_reports'])}", wrap=wrap_main
    )
    _box(
        axes, sx, 70, sw, 8, f"Reports not retrieved\n{_n(data['dbr_notretrieved_reports'])}", wrap=wrap_side
    )
    _arrow(axes, mx + mw / 2, 84, mx + mw / 2, 78)
    _arrow(axes, mx + mw, 74, sx, 74)

    _box(axes, mx, 52, mw, 8, f"Reports assessed for eligibility\n{_n(data['dbr_assessed'])}", wrap=wrap_main)
    _box(
        axes,
        sx,
        38,
        sw,
        24,
        "Reports excluded:\n" + (_reasons(data["dbr_excluded"]) or "(none)"),
        wrap=_wrap_for(sw, small),
        size=small,
    )
    _arrow(axes, mx + mw / 2, 70, mx + mw / 2, 60)
    _arrow(axes, mx + mw, 56, sx, 56)

    if updated:
        # New studies, then the total with the previous ones (PRISMA's updated-review template).
        _box(
            axes,
            mx,
            21,
            mw,
            10,
            f"New studies included in review {_n(data['new_studies'])}\n"
            f"Reports of new included studies {_n(data['new_reports'])}",
            wrap=_wrap_for(mw, small),
            size=small,
        )
        _box(
            axes,
            mx,
            7,
            mw,
            10,
            f"Total studies included in review {_n(data['total_studies'])}\n"
            f"Reports of total included studies {_n(data['total_reports'])}",
            wrap=_wrap_for(mw, small),
            size=small,
            bold=True,
        )
        _arrow(axes, mx + mw / 2, 52, mx + mw / 2, 31)
        _arrow(axes, mx + mw / 2, 21, mx + mw / 2, 17)
        px, pw = left["prev"], widths["prev"]
        axes.plot([px + pw / 2, px + pw / 2], [100, 12], color="#333333", lw=0.9)
        _arrow(axes, px + pw / 2, 12, mx, 12)
        join_y = 26
    else:
        included = (
            f"Studies included in review\n{_n(data['total_studies'])}\n"
            f"Reports of included studies\n{_n(data['total_reports'])}"
        )
        _box(axes, mx, 12, mw, 14, included, wrap=wrap_main)
        _arrow(axes, mx + mw / 2, 52, mx + mw / 2, 26)
        join_y = 19

    if other:
        other_text = (
            f"Records identified from:\nWebsites {_n(data['website_results'])}\n"
            f"Organisations {_n(data['organisation_results'])}\n"
            f"Citation searching {_n(data['citations_results'])}"
        )
        _box(axes, ox, 100, ow, 22, other_text, wrap=_wrap_for(ow, small), size=small)
        # Not in PRISMA's template: without it, copies and title/abstract exclusions vanish.
        _box(
            axes,
            osx,
            83,
            osw,
            10,
            f"Duplicate records removed {_n(data['other_duplicates'])}\n"
            f"Records excluded at title/abstract {_n(data['other_records_excluded'])}",
            wrap=_wrap_for(osw, small),
            size=small,
        )
        _arrow(axes, ox + ow / 2, 88, osx, 88)
        _box(
            axes,
            ox,
            70,
            ow,
            8,
            f"Reports sought for retrieval\n{_n(data['other_sought_reports'])}",
            wrap=_wrap_for(ow, 7.2),
        )
        _box(
            axes,
            osx,
            70,
            osw,
            8,
            f"Reports not retrieved\n{_n(data['other_notretrieved_reports'])}",
            wrap=_wrap_for(osw, 7.2),
        )
        _box(
            axes,
            ox,
            52,
            ow,
            8,
            f"Reports assessed for eligibility\n{_n(data['other_assessed'])}",
            wrap=_wrap_for(ow, 7.2),
        )
        _box(
            axes,
            osx,
            38,
            osw,
            24,
            "Reports excluded:\n" + (_reasons(data["other_excluded"]) or "(none)"),
            wrap=_wrap_for(osw, small),
            size=small,
        )
        _arrow(axes, ox + ow / 2, 100, ox + ow / 2, 78)
        _arrow(axes, ox + ow, 74, osx, 74)
        _arrow(axes, ox + ow / 2, 70, ox + ow / 2, 60)
        _arrow(axes, ox + ow, 56, osx, 56)
        axes.plot([ox + ow / 2, ox + ow / 2], [52, join_y], color="#333333", lw=0.9)
        _arrow(axes, ox + ow / 2, join_y, mx + mw, join_y)

    for text in [*axes.texts, *figure.texts]:
        # Names, databases and reasons come from the review: text, never mathtext (two "$" in
        # a database name would be read as a formula, and a bad one fails the drawing).
        text.set_parse_math(False)
    return figure
