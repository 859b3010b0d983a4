"""Property (issue #22): random reviews keep both PRISMA columns adding up, in every round,
whichever search name sorts first.

Hypothesis draws a few studies, searches of random kinds (database, register, website,
organisation, citations) with random names that each find some of the studies (copies across
searches and rounds, more or less complete, so any copy can be the one deduplication keeps), and
random final decisions (title/abstract and full text, conflicts and not-retrieved included).
The same review is built twice, the second time with search names that sort the other way:
every round's numbers must be the same. Derandomised and bounded, like test_property.py.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from screener.prisma import KINDS, prisma_counts
from screener.review import Review, Reviewer, init_review
from screener.screening import load_stages, review_studies
from screener.screening.decisions import DecisionLog, decision_path

TA, FT = "title-abstract", "full-text"
# Studies no two of which deduplication could take for one (title, first author, year).
STUDIES = [
    ("Octreotide for carcinoid crisis during anaesthesia", "Zed A", "2001", 9100001),
    ("Hepatic artery embolisation of gastrinoma nodules", "Yeo B", "2003", 9100002),
    ("Quality of life after pancreatic islet cell tumour surgery", "Xu C", "2005", 9100003),
    ("Cryoablation of midgut carcinoid liver deposits", "Wu D", "2007", 9100004),
    ("Somatostatin receptor imaging in childhood neuroblastoma", "Vo E", "2009", 9100005),
    ("Long term survival after liver transplantation for metastatic insulinoma", "Ute F", "2011", 9100006),
]
TA_DECISIONS = ("include", "exclude", "not-retrieved", "none", "conflict")
FT_DECISIONS = ("include", "exclude", "not-retrieved", "none", "conflict")

copy = st.tuples(st.integers(0, len(STUDIES) - 1), st.booleans(), st.booleans())  # study, pmid, abstract
search = st.fixed_dictionaries(
    {
        "name": st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6),
        "kind": st.sampled_from(KINDS),
        "round": st.integers(1, 3),
        "copies": st.lists(copy, min_size=1, max_size=4, unique_by=lambda c: c[0]),
    }
)
review_spec = st.fixed_dictionaries(
    {
        "searches": st.lists(search, min_size=1, max_size=4, unique_by=lambda s: s["name"]),
        "title_abstract": st.lists(
            st.sampled_from(TA_DECISIONS), min_size=len(STUDIES), max_size=len(STUDIES)
        ),
        "full_text": st.lists(st.sampled_from(FT_DECISIONS), min_size=len(STUDIES), max_size=len(STUDIES)),
    }
)


def build(root: Path, spec: dict, reverse: bool) -> Review:
    """The review the spec describes; `reverse`: search names that sort the other way round."""
    review = Review(init_review(root / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    searches = spec["searches"]
    # Rounds as they happen: 1, 2, ... with no gap.
    numbered = {r: n for n, r in enumerate(sorted({s["round"] for s in searches}), start=1)}
    order = sorted(s["name"] for s in searches)
    for s in sorted(searches, key=lambda s: (s["round"], s["name"])):
        rank = order.index(s["name"])
        name = f"s{len(order) - rank}-{s['name']}" if reverse else f"s{rank + 1}-{s['name']}"
        path = root / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["PMID", "title", "authors", "year", "abstract"])
            for study, with_pmid, with_abstract in s["copies"]:
                title, author, year, pmid = STUDIES[study]
                writer.writerow(
                    [pmid if with_pmid else "", title, author, year, "Cohort." if with_abstract else ""]
                )
        review.import_file(
            path, name, database=f"Source {s['name']}", kind=s["kind"], round=numbered[s["round"]]
        )
    studies, member_of = review_studies(review)
    by_title = {study.title: study.id for study in studies}
    for index, (title, *_rest) in enumerate(STUDIES):
        study_id = by_title.get(title)
        if study_id is None:
            continue
        vote(review, TA, study_id, spec["title_abstract"][index])
        if spec["title_abstract"][index] == "include":
            vote(review, FT, study_id, spec["full_text"][index])
    return review


def vote(review: Review, stage: str, record_id: str, decision: str) -> None:
    if decision == "none":
        return
    for name in ("alice", "bob"):
        said = decision if decision != "conflict" else ("include" if name == "alice" else "exclude")
        reason = review.config.exclusion_reasons[0] if said == "exclude" and stage == FT else ""
        DecisionLog(decision_path(review.labels_dir, stage, name)).append(record_id, said, reason)


def check_columns_add_up(review: Review) -> list[dict]:
    """Every round's boxes add up in both columns; returns each round's numbers."""
    studies, member_of = review_studies(review)
    views = load_stages(review, studies, member_of)
    ta_final, ft_final = views[TA].final, views[FT].final
    rounds = review.record_rounds()
    out = []
    new_over_rounds = 0
    for shown in range(1, review.current_round() + 1):
        counts = prisma_counts(review, round=shown)
        data = counts.to_dict()
        boxes = counts.boxes
        assert counts.identified == rounds.count(shown)
        removed = data["duplicates"] + data["excluded_automatic"] + data["excluded_other"]
        assert counts.identified_by_databases - removed == data["records_screened"], data
        other_found = data["website_results"] + data["organisation_results"] + data["citations_results"]
        assert other_found - data["other_duplicates"] == data["other_methods_screened"], data
        for screened, excluded, prefix in (
            (boxes["records_screened"], boxes["records_excluded"], "dbr"),
            (counts.other_studies, boxes["other_records_excluded"], "other"),
        ):
            sought = boxes[f"{prefix}_sought_reports"]
            awaiting = [sid for sid in screened if sid not in ta_final]
            assert sorted(screened) == sorted(excluded + sought + awaiting), (prefix, data)
            not_retrieved, assessed = boxes[f"{prefix}_notretrieved_reports"], boxes[f"{prefix}_assessed"]
            waiting = [sid for sid in sought if sid not in ft_final and sid not in not_retrieved]
            assert sorted(sought) == sorted(not_retrieved + assessed + waiting), (prefix, data)
        excluded_reports = sum(data["dbr_excluded"].values()) + sum(data["other_excluded"].values())
        assert data["dbr_assessed"] + data["other_assessed"] == excluded_reports + data["new_studies"], data
        assert data["total_studies"] == data["previous_studies"] + data["new_studies"]
        new_over_rounds += counts.screened
        out.append({k: v for k, v in data.items() if not k.endswith(("_by_database", "_by_register"))})
    assert new_over_rounds == len(studies)  # each study is new in exactly one round
    return out


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)
@given(review_spec)
def test_prisma_columns_add_up_in_every_round_whichever_name_sorts_first(spec) -> None:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        numbers = check_columns_add_up(build(Path(first), spec, reverse=False))
        assert check_columns_add_up(build(Path(second), spec, reverse=True)) == numbers
