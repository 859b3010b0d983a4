"""Issue #15, item 4: PRISMA's other-methods column adds up. Records found by other methods are
screened like every record; each one is in a box: a copy of a study counted already
(other_duplicates), excluded at title/abstract (other_records_excluded), or sought for retrieval
and then not retrieved, excluded with a reason, or included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screener.prisma import prisma_counts
from screener.prisma.diagram import draw
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

from .conftest import SAMPLES

TA, FT = "title-abstract", "full-text"
EXCLUDED, INCLUDED, REJECTED, MISSING = "pmid:9000001", "pmid:9000002", "pmid:9000003", "pmid:9000004"
OSBORNE = "pmid:16511671"  # in the MEDLINE sample: a citation-search copy of it is a duplicate

CITATIONS = """PMID,title,abstract,authors,year
9000001,"Octreotide for carcinoid crisis during anaesthesia","Case series.","Zed A",2001
9000002,"Hepatic artery embolisation of gastrinoma nodules","Cohort.","Yeo B",2003
9000003,"Quality of life after pancreatic islet cell tumour surgery","Survey.","Xu C",2005
9000004,"Cryoablation of midgut carcinoid liver deposits","Trial.","Wu D",2007
16511671,"Liver resection for neuroendocrine metastases","Copy of a MEDLINE record.","Osborne DA",2006
"""
WEBSITE = """PMID,title,abstract,authors,year
9000002,"Hepatic artery embolisation of gastrinoma nodules","Found again on a registry site.","Yeo B",2003
"""


def vote(review: Review, stage: str, record_id: str, decision: str, reason: str = "") -> None:
    for name in ("alice", "bob"):
        DecisionLog(decision_path(review.labels_dir, stage, name)).append(record_id, decision, reason)


def build(tmp_path: Path) -> Review:
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    (tmp_path / "refs.csv").write_text(CITATIONS)
    review.import_file(tmp_path / "refs.csv", "refs", database="Reference lists", kind="citations")
    (tmp_path / "site.csv").write_text(WEBSITE)
    review.import_file(tmp_path / "site.csv", "site", database="Trial registry site", kind="website")
    vote(review, TA, EXCLUDED, "exclude")
    for record_id in (INCLUDED, REJECTED, MISSING):
        vote(review, TA, record_id, "include")
    vote(review, FT, INCLUDED, "include")
    vote(review, FT, REJECTED, "exclude", review.config.exclusion_reasons[0])
    vote(review, FT, MISSING, "not-retrieved")
    return review


def test_every_other_methods_record_is_in_a_box_and_the_column_adds_up(tmp_path) -> None:
    review = build(tmp_path)
    for stage in (TA, FT):
        vote(review, stage, OSBORNE, "include")  # the database column finished too
    vote(review, TA, "pmid:18345317", "exclude")
    counts = prisma_counts(review)
    data = counts.to_dict()
    identified = data["website_results"] + data["organisation_results"] + data["citations_results"]
    assert identified == 6 == counts.identified_by_other_methods
    # The copy of the MEDLINE record and the website's copy of a citation-search record.
    assert sorted(counts.boxes["other_duplicates"]) == sorted([INCLUDED, OSBORNE])
    assert sorted(counts.other_studies) == sorted([EXCLUDED, INCLUDED, REJECTED, MISSING])
    assert identified == data["other_duplicates"] + data["other_methods_screened"]
    assert counts.boxes["other_records_excluded"] == [EXCLUDED]
    assert data["other_methods_screened"] == data["other_records_excluded"] + data["other_sought_reports"]
    assert data["other_sought_reports"] == data["other_notretrieved_reports"] + data["other_assessed"] == 3
    assert counts.boxes["other_notretrieved_reports"] == [MISSING]
    assert data["other_excluded"] == {review.config.exclusion_reasons[0]: 1}
    assert data["other_assessed"] == sum(data["other_excluded"].values()) + 1  # + the included study
    assert INCLUDED in counts.boxes["new_studies"] and not counts.in_progress
    # The databases column is untouched by the other methods' copies.
    assert data["database_results"] == 2 and data["duplicates"] == 0 and data["records_screened"] == 2
    # The diagram shows the two boxes the template lacks.
    svg = draw(counts, tmp_path / "flow.svg").read_text()
    words = " ".join(re.sub(r"<[^>]*>", " ", svg).replace("\u00a0", " ").split())  # the text, lines joined
    assert "Duplicate records removed (n = 2) Records excluded at title/abstract (n = 1)" in words


def test_an_other_methods_record_not_screened_yet_is_awaiting(tmp_path) -> None:
    review = build(tmp_path)
    vote(review, TA, EXCLUDED, "undecided")  # taken back: waiting for title/abstract votes again
    counts = prisma_counts(review)
    assert EXCLUDED in counts.other_studies and counts.boxes["other_records_excluded"] == []
    assert EXCLUDED not in counts.boxes["other_sought_reports"]
    assert counts.in_progress and counts.awaiting[TA]["undecided"] == 3  # it and the two MEDLINE records
    assert len(counts.other_studies) == counts.count("other_sought_reports") + 1


# Issue #22: a study found by a database and by citation searching, represented by its
# citation record (more complete, or first because its search name sorts first).
STUDY = '"Octreotide for carcinoid crisis during anaesthesia","Zed A",2001'
DATABASE_COPIES = {
    "less complete": f'title,authors,year\n{STUDY}\n"Another study of liver deposits","Yu B",2002\n',
    "as complete": f'PMID,title,authors,year,abstract\n9000001,{STUDY},"Case series."\n'
    '9000005,"Another study of liver deposits","Yu B",2002,"Cohort."\n',
}


@pytest.mark.parametrize("copy", sorted(DATABASE_COPIES))
@pytest.mark.parametrize("database, citations", [("embase", "refs"), ("zdb", "arefs")])
def test_the_columns_add_up_whichever_record_represents_the_study(
    tmp_path, copy, database, citations
) -> None:
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    (tmp_path / "db.csv").write_text(DATABASE_COPIES[copy])
    (tmp_path / "refs.csv").write_text(f'PMID,title,authors,year,abstract\n9000001,{STUDY},"Case series."\n')
    review.import_file(tmp_path / "db.csv", database, database="Embase")
    review.import_file(tmp_path / "refs.csv", citations, database="Reference lists", kind="citations")
    counts = prisma_counts(review)
    data = counts.to_dict()
    # Both studies were found by the database: its column counts them, none removed there.
    assert data["database_results"] == 2 and data["duplicates"] == 0 and data["records_screened"] == 2
    # The citation-search copy is the other-methods column's duplicate, whichever record leads.
    assert data["citations_results"] == 1 == data["other_duplicates"]
    assert data["other_methods_screened"] == 0 and counts.removed_copies == []
