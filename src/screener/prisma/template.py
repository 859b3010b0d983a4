"""The PRISMA2020 R package's CSV data template, filled from the review's counts.

Users who prefer that package (or its Shiny app) can render our numbers there: the rows,
node and box names are the package's own (inst/extdata/PRISMA.csv); only the `n` column is
ours. Reasons and per-database counts go in as "Name, n; Name, n", the package's syntax, which
has no way to write a ";" or "," inside a name: those become spaces, and template_changes says
which names changed (the JSON keeps every name as it is).
"""

from __future__ import annotations

import csv
import io

from ..outputs import safe_cell
from . import PrismaCounts

COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")

# data, node, box, description, boxtext: one row per box of the package's template, in its order.
ROWS = (
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies"),
    (
        "previous_studies",
        "node5",
        "box1",
        "Studies included in previous version of review",
        "Studies included in previous version of review",
    ),
    (
        "previous_reports",
        "NA",
        "box1",
        "Reports of studies included in previous version of review",
        "Reports of studies included in previous version of review",
    ),
    (
        "NA",
        "node6",
        "newstud",
        "Yellow title box; Identification of new studies via databases and registers",
        "Identification of new studies via databases and registers",
    ),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases"),
    (
        "database_specific_results",
        "NA",
        "box2",
        "Records identified from: specific databases",
        "Specific Databases",
    ),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers"),
    (
        "register_specific_results",
        "NA",
        "box2",
        "Records identified from: specific registers",
        "Specific Registers",
    ),
    (
        "NA",
        "node16",
        "othstud",
        "Grey title box; Identification of new studies via other methods",
        "Identification of new studies via other methods",
    ),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites"),
    ("organisation_results", "NA", "box11", "Records identified from: Organisations", "Organisations"),
    ("citations_results", "NA", "box11", "Records identified from: Citation searching", "Citation searching"),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records"),
    (
        "excluded_automatic",
        "NA",
        "box3",
        "Records marked as ineligible by automation tools",
        "Records marked as ineligible by automation tools",
    ),
    (
        "excluded_other",
        "NA",
        "box3",
        "Records removed for other reasons",
        "Records removed for other reasons",
    ),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)", "Records screened"),
    ("records_excluded", "node10", "box5", "Records excluded (databases and registers)", "Records excluded"),
    (
        "dbr_sought_reports",
        "node11",
        "box6",
        "Reports sought for retrieval (databases and registers)",
        "Reports sought for retrieval",
    ),
    (
        "dbr_notretrieved_reports",
        "node12",
        "box7",
        "Reports not retrieved (databases and registers)",
        "Reports not retrieved",
    ),
    (
        "other_sought_reports",
        "node18",
        "box12",
        "Reports sought for retrieval (other)",
        "Reports sought for retrieval",
    ),
    (
        "other_notretrieved_reports",
        "node19",
        "box13",
        "Reports not retrieved (other)",
        "Reports not retrieved",
    ),
    (
        "dbr_assessed",
        "node13",
        "box8",
        "Reports assessed for eligibility (databases and registers)",
        "Reports assessed for eligibility",
    ),
    ("dbr_excluded", "node14", "box9", "Reports excluded (databases and registers)", "Reports excluded"),
    (
        "other_assessed",
        "node20",
        "box14",
        "Reports assessed for eligibility (other)",
        "Reports assessed for eligibility",
    ),
    ("other_excluded", "node21", "box15", "Reports excluded (other)", "Reports excluded"),
    ("new_studies", "node15", "box10", "New studies included in review", "New studies included in review"),
    ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies"),
    (
        "total_studies",
        "node22",
        "box16",
        "Total studies included in review",
        "Total studies included in review",
    ),
    (
        "total_reports",
        "NA",
        "box16",
        "Reports of total included studies",
        "Reports of total included studies",
    ),
    ("identification", "node1", "identification", "Blue identification box", "Identification"),
    ("screening", "node2", "screening", "Blue screening box", "Screening"),
    ("included", "node3", "included", "Blue included box", "Included"),
    # Added to the package's template in December 2024: studies in a meta-analysis.
    (
        "total_studies_ma",
        "node23",
        "box17",
        "Total studies included in meta-analysis",
        "Total studies included in meta-analysis",
    ),
    (
        "total_reports_ma",
        "NA",
        "box17",
        "Reports of total included studies in meta-analysis",
        "Reports of total included studies in meta-analysis",
    ),
)
# The package's own page name where it is not the row's key.
_URLS = {"total_studies_ma": "total_studies_meta_analysis.html"}


def _template_name(name: str) -> str:
    # The package's own format forbids both characters in a name: PRISMA_parse_reasons_
    # (PRISMA2020's R/internal/PRISMA_format.R) splits the cell into entries at ";" and cuts
    # each entry's name at its first "," (gsub(",.*$", "", ...)), so "Wrong population, adults,
    # 3" would draw as "Wrong population". The CSV quoting keeps any text; only these cells change.
    return name.replace(";", " ").replace(",", " ")


def _named_counts(table: dict[str, int]) -> str:
    return "; ".join(f"{_template_name(name)}, {n}" for name, n in table.items())


def template_changes(counts: PrismaCounts) -> list[str]:
    """What the template cannot hold as it is, in one line each: names (databases, registers,
    exclusion reasons) with a ";" or "," the package would cut, and what they are written as."""
    out = []
    for what, table in (
        ("database", counts.per_database),
        ("register", counts.per_register),
        ("exclusion reason", counts.exclusion_reasons),
        ("exclusion reason", counts.other_exclusion_reasons),
    ):
        for name in table:
            if _template_name(name) != name:
                out.append(
                    f"{what} {name!r} is written as {_template_name(name)!r}: the PRISMA2020 package "
                    "reads ';' between entries and ',' before each count, so it would cut the name there"
                )
    return list(dict.fromkeys(out))


def to_template_csv(counts: PrismaCounts, meta_analysis: dict[str, int] | None = None) -> str:
    """The template CSV with every `n` filled in (title rows keep the template's 0).

    `meta_analysis` holds review.toml's [prisma] meta_analysis_studies / meta_analysis_reports:
    a number screening cannot know, recorded by the authors once the analysis is done."""
    data = counts.to_dict()
    meta_analysis = meta_analysis or {}
    data["total_studies_ma"] = meta_analysis.get("meta_analysis_studies", 0)
    data["total_reports_ma"] = meta_analysis.get("meta_analysis_reports", 0)
    special = {
        "database_specific_results": _named_counts(data["database_results_by_database"]),
        "register_specific_results": _named_counts(data["register_results_by_register"]),
        "dbr_excluded": _named_counts(data["dbr_excluded"]),
        "other_excluded": _named_counts(data["other_excluded"]),
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for key, node, box, description, boxtext in ROWS:
        if key in special:
            n = special[key]
        elif key in data and isinstance(data[key], int):
            n = data[key]
        else:
            n = 0
        tooltip = description if node != "NA" else "NA"
        url = _URLS.get(key, f"{key if key != 'NA' else box}.html") if node != "NA" else "NA"
        # Database names and reasons come from the review's files: never a formula.
        writer.writerow([safe_cell(cell) for cell in (key, node, box, description, boxtext, tooltip, url, n)])
    return out.getvalue()
