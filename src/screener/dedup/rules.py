"""When two records are one study: the rules that label a scored pair duplicate, uncertain or
distinct, each with its reason in words (`decide_pair`), and the comparison of the pair's
fields shown beside it (`explain_facts`).

False merges drop studies from a review, so every rule that merges asks for agreement on more
than one field, and known look-alikes (errata, comments, conference abstracts, protocols,
parts of a series, the same title in other years) are vetoed first. engine.decide applies them
to every scored pair."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import normalise as N

if TYPE_CHECKING:
    from .engine import Prepared

DUPLICATE, UNCERTAIN, DISTINCT = 2, 1, 0
LABELS = {DUPLICATE: "duplicate", UNCERTAIN: "uncertain", DISTINCT: "distinct"}


def _field_state(a: str, b: str) -> int:
    """1 equal, -1 both present and different, 0 one missing."""
    if not a or not b:
        return 0
    return 1 if a == b else -1


def _subtitle_dropped(a: str, b: str) -> bool:
    """One title is the other's main title alone (title_key keeps the subtitle after two
    spaces): numbers only the subtitle has ("... in 378 patients") are no evidence of another
    article, as databases drop subtitles. The main title must be long enough to say something."""
    main_a, main_b = a.split("  ")[0], b.split("  ")[0]
    return main_a == main_b and len(main_a) >= 15 and (a == main_a) != (b == main_b)


def _footnote_mark_only(a: str, b: str) -> bool:
    """One title is the other plus a lone digit at its end (a footnote mark), and long enough
    that the digit cannot be what tells two studies apart."""
    short, long_ = sorted((a, b), key=len)
    rest = long_[len(short) :]
    return len(short) >= 40 and long_.startswith(short) and re.fullmatch(r" ?\d", rest) is not None


_MEETING_BOOK = re.compile(r"\b(?:abstracts|proceedings|congress|conference|symposium|meeting)\b")


def explain_facts(p: Prepared, i: int, j: int, t: float, au: float, ab: float) -> str:
    """What a pair's fields show, for the explanation of a decision."""

    def mark(a: str, b: str) -> str:
        return "=≠?"[[1, -1, 0].index(_field_state(a, b))]

    yi, yj = int(p.year[i]), int(p.year[j])
    dy = abs(yi - yj) if yi > 0 and yj > 0 else -1
    journal = "?"
    if p.journal[i] and p.journal[j]:
        journal = "=" if N.journals_match(p.journal[i], p.journal[j]) else "≠"
    return (
        f"title {t:.0f}, authors {au:.0f}"
        + (f", abstract {ab:.0f}" if ab >= 0 else "")
        + f", year {'=' if dy == 0 else ('?' if dy < 0 else f'±{dy}')}"
        + f", doi {mark(p.doi[i], p.doi[j])}, pmid {mark(p.pmid[i], p.pmid[j])}"
        + f", journal {journal}, volume {mark(p.volume[i], p.volume[j])}"
        + f", pages {mark(p.first_page[i], p.first_page[j])}"
    )


def decide_pair(p: Prepared, i: int, j: int, t: float, tp: float, au: float, ab: float) -> tuple[int, str]:
    """Label one scored pair, with the rule that decided it in words (see explain_facts)."""
    doi = _field_state(p.doi[i], p.doi[j])
    pmid = _field_state(p.pmid[i], p.pmid[j])
    yi, yj = int(p.year[i]), int(p.year[j])
    dy = abs(yi - yj) if yi > 0 and yj > 0 else -1
    page = _field_state(p.first_page[i], p.first_page[j])
    volume = _field_state(p.volume[i], p.volume[j])
    issue = _field_state(p.issue[i], p.issue[j])
    journal = 0
    if p.journal[i] and p.journal[j]:
        journal = 1 if N.journals_match(p.journal[i], p.journal[j]) else -1
    has_authors = bool(p.authors[i]) and bool(p.authors[j])
    # Look-alikes that are different articles.
    if p.notice[i] != p.notice[j]:
        if p.notice[i] and p.notice[j]:
            return DISTINCT, f"two notices of different kinds ({p.notice[i]} and {p.notice[j]})"
        return DISTINCT, "an erratum/comment/retraction notice and an article"
    if p.protocol[i] != p.protocol[j]:
        return DISTINCT, "a protocol and a report of results"
    if p.part[i] and p.part[j] and p.part[i] != p.part[j]:
        return DISTINCT, f"parts {p.part[i]} and {p.part[j]} of a series"
    if p.part[i] != p.part[j] and t < 100:
        return DISTINCT, "only one is a numbered part of a series"
    if pmid == -1:
        return DISTINCT, "different PMIDs"
    if p.conference[i] != p.conference[j] and doi != 1 and pmid != 1:
        # The same abstract is listed by one database under the meeting and by another under
        # the journal supplement: same year, volume and title. A later article differs in them.
        same_item = (
            dy == 0
            and volume != -1
            and journal != -1
            and t >= 95
            and page != -1
            and (au >= 85 or not has_authors)
        )
        if not same_item:
            return DISTINCT, "a conference abstract and a journal article"

    # Shared identifiers.
    if pmid == 1:
        if t >= 50 or tp >= 90 or (au >= 85 and has_authors) or not p.title[i] or not p.title[j]:
            return DUPLICATE, "same PMID"
        return UNCERTAIN, "same PMID but different titles"
    if doi == 1:
        if not p.title[i] or not p.title[j]:
            if p.doi_shared[i]:
                return UNCERTAIN, "same DOI, one without a title, and the DOI is shared by different titles"
            return DUPLICATE, "same DOI"
        if t >= 70 or tp >= 90:
            return DUPLICATE, "same DOI"
        if page == -1 or (has_authors and au < 60):
            # Publishers give one DOI to a whole supplement of meeting abstracts.
            return (
                DISTINCT,
                "same DOI, but different titles and pages or authors (a supplement's DOI)",
            )
        return UNCERTAIN, "same DOI but different titles"
    if doi == -1:
        if (
            t >= 97
            and (au >= 90 or not has_authors)
            and dy == 0
            and page == 1
            and volume != -1
            and issue != -1
            and len(p.title[i]) >= 30
        ):
            return UNCERTAIN, "different DOIs, all else equal"
        return DISTINCT, "different DOIs"

    if not p.title[i] or not p.title[j]:
        return DISTINCT, "a record without a title"
    if dy >= 2:
        if t >= 95 and au >= 90 and page == 1 and volume == 1:
            return UNCERTAIN, "same article details, years far apart"
        return DISTINCT, "same title, years far apart"

    authors_ok = au >= 75 or not has_authors
    # Same volume and first page: a journal named two ways ("Praxis" / "Schweizerische Rundschau
    # fur Medizin Praxis", "Jthoraccardiovascsurg"), not two journals.
    journal_form_only = journal == -1 and page == 1 and volume == 1
    details_conflict = page == -1 or volume == -1 or (journal == -1 and not journal_form_only) or issue == -1
    details_agree = (page == 1) + (volume == 1) + (journal == 1)
    # "Editorial", "Editor's comments", "Abstracts": one title for many different items.
    generic = len(p.title[i]) < 30 or len(p.title[i].split()) <= 4
    if generic and t >= 95:
        if page == 1 and not details_conflict and dy == 0 and authors_ok:
            return DUPLICATE, "same short title, authors, year and pages"
        # A meeting's abstract book appears once in a journal volume; editorials recur.
        if _MEETING_BOOK.search(p.title[i]) and dy == 0 and volume == 1 and not details_conflict:
            return DUPLICATE, "the same meeting's abstracts in the same volume"
        return UNCERTAIN if authors_ok and not details_conflict and dy == 0 else DISTINCT, (
            "a short, generic title with nothing else to tell them apart"
        )
    if p.numbers[i] != p.numbers[j] and not _subtitle_dropped(p.title[i], p.title[j]):
        if _footnote_mark_only(p.title[i], p.title[j]) and page == 1 and volume == 1 and dy == 0 and au >= 90:
            # "... employee representation 1": a footnote mark the export kept, not a number of
            # the study, when volume and first page agree.
            return DUPLICATE, "same article; one title ends with a footnote mark"
        # "Phase 2"/"phase 3", "5-year"/"10-year", "cohort 12"/"cohort 13": other studies.
        return (UNCERTAIN if t >= 95 and au >= 90 and page == 1 else DISTINCT), (
            "titles that differ in their numbers"
        )
    if t >= 95 and issue == -1 and page != 1:
        return DISTINCT, "same title, different issues"
    if t >= 95:
        if not authors_ok:
            if details_conflict or dy == 1:
                return DISTINCT, "same title, different authors and details"
            return UNCERTAIN, "same title, different authors"
        if journal == -1 and (page == -1 or volume == -1):
            # The same abstract at two meetings, or an abstract and the article: two reports.
            return DISTINCT, "same title and authors in different journals"
        if page == -1 or (volume == -1 and page != 1) or (journal == -1 and not (page == 1 and volume == 1)):
            if (
                page == -1
                and volume != -1
                and journal == 1
                and issue != -1
                and dy == 0
                and au >= 90
                and has_authors
                and len(p.title[i]) >= 40
            ):
                # Pages are the field exports garble most (Excel dates, supplement and e-page
                # forms, a page count for a range): alone against the rest they weigh little.
                return DUPLICATE, "same title, authors, year and journal; only the pages differ"
            if (
                journal == -1
                and page == 0
                and volume == 1
                and issue == 1
                and dy == 0
                and au >= 90
                and has_authors
                and len(p.title[i]) >= 40
            ):
                # One journal named in its own language and in English (Jinko Chino Gakkai
                # Ronbunshi / Transactions of the Japanese Society for AI), the same volume and
                # issue, no pages on one side: the journal's name is the one weak field against.
                return DUPLICATE, "same title, authors, year, volume and issue; only the journal name differs"
            # (Same volume and pages: the journal's name is only spelt differently.)
            return UNCERTAIN, "same title and authors, different journal, pages or volume"
        if dy == 1 and details_agree < 2 and ab < 90:
            if (
                not p.journal[i]
                and not p.journal[j]
                and not p.volume[i]
                and not p.volume[j]
                and t >= 97
                and au >= 90
                and len(p.authors[i].split()) >= 2
                and len(p.title[i]) >= 40
            ):
                # Two records without a venue (working papers, reports as databases index them)
                # dated a year apart: nothing disagrees but the year. One with a venue may be the
                # conference paper of the other (a later article): that stays uncertain.
                return DUPLICATE, "same long title and authors, a year apart, nothing else to disagree"
            return UNCERTAIN, "same title and authors, a year apart"
        if dy < 0 and details_agree == 0 and ab < 90 and not has_authors:
            return UNCERTAIN, "same title, little else to compare"
        return DUPLICATE, "same title and authors"
    main_i, main_j = p.main_title[i], p.main_title[j]
    if (
        main_i == main_j
        and len(main_i) >= 15
        and au >= 85
        and has_authors
        and dy == 0
        and page == 1
        and not details_conflict
    ):
        return DUPLICATE, "same main title (one without its subtitle), authors, year and pages"
    if t >= 85 or (tp >= 95 and min(len(p.title[i]), len(p.title[j])) >= 40):
        if au >= 85 and has_authors and not details_conflict and dy == 0 and (details_agree >= 1 or ab >= 90):
            return DUPLICATE, "near-identical title, same authors and details"
        if details_conflict or dy == 1:
            return DISTINCT, "similar title, different details"
        if au >= 70 or ab >= 85:
            return UNCERTAIN, "similar title and authors"
        return DISTINCT, "similar title only"
    if (
        au >= 90
        and has_authors
        and dy == 0
        and page == 1
        and volume == 1
        and journal >= 0
        and issue != -1
        and (t >= 75 or ab >= 92)
    ):
        return DUPLICATE, "same authors, journal, volume and pages, title reworded or translated"
    if (
        au >= 90
        and has_authors
        and dy == 0
        and page == 1
        and p.last_page[i]
        and p.last_page[i] == p.last_page[j]
        and p.last_page[i] != p.first_page[i]
        and volume == 1
        and issue != -1
        and journal >= 0
    ):
        # One page range of one volume holds one article: a title given in two languages (the
        # issue may be unknown: left out, or a record number dropped in prepare).
        return DUPLICATE, "same authors, journal, volume and page range; title translated"
    if ab >= 95 and au >= 80:
        return UNCERTAIN, "same abstract and authors, different titles"
    if au >= 90 and has_authors and dy == 0 and page == 1 and volume == 1 and journal == 1:
        # Often a title in two languages; sometimes two articles with wrong page data.
        return UNCERTAIN, "same authors, journal, volume and pages, different titles"
    return DISTINCT, "different titles"
