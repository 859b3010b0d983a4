"""Deduplication on the forms real Ovid, EndNote, Embase and CENTRAL exports take (issue #14).

Every record here is made up, written in the patterns those exports show: notes appended to
titles, translated and quoted titles, author particles and suffixes moved about, journals named
in several ways, an issue field holding EndNote's record number. None is copied from a gold
standard.
"""

from __future__ import annotations

import pytest

from screener import normalise as N
from screener.dedup import deduplicate
from screener.dedup.engine import _issues_are_record_numbers
from screener.records import Record, finalise

TITLE = "Intrapleural fibrinolytics for loculated effusions in adults: a randomised trial"


def rec(**fields) -> Record:
    return finalise(Record(**fields))


def together(records: list[Record], a: int = 0, b: int = 1) -> bool:
    result = deduplicate(records)
    return result.cluster_of[a] == result.cluster_of[b]


@pytest.mark.parametrize(
    "annotated",
    [
        f"{TITLE}.[Erratum appears in Thorax. 2011 Jun;66(6):540]",
        f"{TITLE}.[Erratum appears in Thorax. 2011 Jun;66(6):540 Note: Smith, Jo",  # cut by the export
        f"{TITLE} [Review] [45 refs]",
        f"{TITLE} [Review]",
        f"{TITLE} (Provisional abstract)",
        f"{TITLE} [comment]",
        f"{TITLE} [abstract no: 134]",
        f"{TITLE} [Abstract]",
        f"{TITLE} (multiple letters) [1]",
        f"{TITLE} LA: Chi",
        f"{TITLE} TO: Fibrinolytiques intrapleuraux pour les epanchements cloisonnes",
        f"{TITLE} <ORIGINAL> Fibrinolytiques intrapleuraux",
        f'"{TITLE}"',
        f'"[{TITLE}]"',
        f"[{TITLE}] LA: Fre",
        f'"{TITLE}',  # a quoted title cut short: the closing quote is gone
    ],
)
def test_database_notes_are_no_part_of_the_title(annotated):
    assert N.title_key(annotated) == N.title_key(TITLE)


def test_a_title_that_only_looks_like_a_note_keeps_its_words():
    # "to:" in lower case is a word of the title, not Ovid's TO: field.
    assert N.title_key("Response to: intrapleural fibrinolytics") != N.title_key("Response")
    assert N.notice_kind(N.title_key("Response to: intrapleural fibrinolytics"), []) == "reply"
    # "[corrected]" marks a corrected word; the rest of the title stays.
    assert N.title_key("Gemcitabine plus cisplatin [corrected] in lung cancer") == N.title_key(
        "Gemcitabine plus cisplatin in lung cancer"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("van, Hamont D", "van Hamont, D."),
        ("Hamont, D. van", "van Hamont, Dirk"),
        ("Le, Quintrec M", "Le Quintrec, M."),
        ("Wright Jr., T C", "Wright, T. C."),
        ("Wright, Jr, T. C.", "Wright TC"),
        ("Wright TC Jr", "Wright, Thomas C., Jr."),
        ("St Clair, A. B.", "Clair, A B"),
        ("von Ahlen, J.", "Ahlen J"),
    ],
)
def test_author_particles_and_suffixes_written_differently(one, other):
    assert N.parse_author(one).surname == N.parse_author(other).surname


def test_a_short_surname_that_is_also_a_particle_stays_the_surname():
    assert N.parse_author("Le, M.").surname == "le"
    assert N.parse_author("Le, Minh").surname == "le"
    assert N.parse_author("De, S K").surname == "de"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Ai zheng = Aizheng = Chinese journal of cancer", "Chinese Journal of Cancer"),
        ("Ai zheng = Aizheng = Chinese journal of cancer", "Aizheng"),
        ("PLoS ONE [Electronic Resource]", "PLoS One"),
        (
            "Gan to Kagaku Ryoho [Japanese Journal of Cancer & Chemotherapy]",
            "Japanese journal of cancer and chemotherapy",
        ),
        ("Annales francaises d'anesthesie et de reanimation", "Ann Fr Anesth Reanim"),
        ("Cirugia y cirujanos", "Cir Cir"),
        (
            '"Clinical Medicine Insights: Circulatory, Respiratory and Pulmonary Medicine"',
            "Clin Med Insights Circ Respir Pulm Med",
        ),
    ],
)
def test_journal_named_in_other_forms(one, other):
    assert N.journals_match(N.journal_key(one), N.journal_key(other))


def test_other_names_do_not_make_different_journals_match():
    assert not N.journals_match(
        N.journal_key("Ai zheng = Chinese journal of cancer"), N.journal_key("Cancer")
    )
    assert not N.journals_match(
        N.journal_key("PLoS ONE [Electronic Resource]"), N.journal_key("PLoS Medicine")
    )


def _library(n: int, issue_of) -> list[Record]:
    """n different articles, as a database search returns them."""
    return [
        rec(
            title=f"Outcome {k} of chest drain size in pleural infection: a cohort study of {k + 7} centres",
            authors=[f"Author{k}, A.", f"Second{k}, B."],
            year=2000 + k % 15,
            journal="Respiratory Medicine",
            volume=str(80 + k),
            issue=issue_of(k),
            pages=f"{100 + k}-{108 + k}",
        )
        for k in range(n)
    ]


def test_issue_field_holding_the_record_number_is_ignored():
    # EndNote wrote its record number into the issue field: every record has its own.
    copies = [
        rec(
            title=TITLE,
            authors=["van Hamont, D.", "Wright Jr., T C"],
            year=2010,
            journal="Thorax",
            volume="65",
            issue="1112",
            pages="",
        ),
        rec(
            title=f"{TITLE} [Review] [45 refs]",
            authors=["van, Hamont D", "Wright, T. C."],
            year=2010,
            journal="Thorax [Electronic Resource]",
            volume="65",
            issue="1113",
            pages="301-309",
        ),
    ]
    library = copies + _library(60, lambda k: str(2000 + k))
    assert _issues_are_record_numbers([r.issue for r in library])
    assert together(library)


def test_real_issues_are_kept():
    assert not _issues_are_record_numbers([str(1 + k % 12) for k in range(200)])
    assert not _issues_are_record_numbers([str(5000 + k) for k in range(20)])  # too few to tell
    # Issue numbers that differ still tell two articles apart where the pages cannot.
    pair = [
        rec(
            title=TITLE, authors=["Hamont, D."], year=2010, journal="Thorax", volume="65", issue="3", pages=""
        ),
        rec(
            title=TITLE,
            authors=["Hamont, D."],
            year=2010,
            journal="Thorax",
            volume="65",
            issue="7",
            pages="12",
        ),
    ]
    assert not together(pair + _library(60, lambda k: str(1 + k % 12)))


def test_ovid_and_embase_copies_with_notes_merge():
    medline = rec(
        search="medline",
        title=f"{TITLE}.[Erratum appears in Thorax. 2011 Jun;66(6):540]",
        authors=["Le Quintrec, M.", "St Clair, A. B.", "Okafor, N."],
        year=2010,
        journal="Thorax",
        volume="65",
        issue="4",
        pages="301-9",
    )
    embase = rec(
        search="embase",
        title=f'"{TITLE}"',
        authors=["Le, Quintrec M", "Clair, A B", "Okafor, Ngozi"],
        year=2010,
        journal="Thorax",
        volume="65",
        issue="4",
        pages="301-309",
    )
    assert together([medline, embase])


def test_the_erratum_notice_stays_apart_from_the_annotated_article():
    article = rec(
        title=f"{TITLE}.[Erratum appears in Thorax. 2011 Jun;66(6):540]",
        authors=["Hamont, D.", "Okafor, N."],
        year=2010,
        journal="Thorax",
        volume="65",
        pages="301-9",
    )
    notice = rec(
        title=f"Erratum: {TITLE}",
        authors=["Hamont, D.", "Okafor, N."],
        year=2011,
        journal="Thorax",
        volume="66",
        pages="540",
    )
    assert not together([article, notice])


def test_the_conference_abstract_stays_apart_from_the_article_once_notes_are_gone():
    abstract = rec(
        title=f"{TITLE} [abstract no: 134]",
        authors=["Hamont, D.", "Okafor, N."],
        year=2009,
        journal="European Respiratory Journal. Conference: European Respiratory Society Annual Congress",
        volume="34",
        pages="S27",
    )
    article = rec(
        title=TITLE,
        authors=["Hamont, D.", "Okafor, N."],
        year=2010,
        journal="Thorax",
        volume="65",
        pages="301-9",
    )
    assert not together([abstract, article])


@pytest.mark.parametrize("ovid_form", ["Suppl-12", "pt-8", "Suppl 4"])
def test_ovid_supplement_and_part_numbers_are_not_pages(ovid_form):
    assert N.pages_key(ovid_form) == ("", "")
    assert N.pages_key("S109-S112") == ("s109", "s112")


def _copy(pages: str, **changes) -> Record:
    fields = dict(
        title=TITLE,
        authors=["Hamont, D.", "Okafor, N.", "Lindqvist, K."],
        year=2010,
        journal="Thorax",
        volume="65",
        issue="4",
        pages=pages,
    )
    return rec(**(fields | changes))


def test_pages_alone_that_disagree_weigh_little():
    # An Excel-mangled range ("01-Jun") or a slip in one database's pages, everything else equal.
    assert together([_copy("301-309"), _copy("303-311")])
    assert together([_copy("301-309", volume=""), _copy("01-Jun")])


def test_pages_that_disagree_with_another_field_still_keep_records_apart():
    assert not together([_copy("301-309"), _copy("401-409", year=2011)])
    assert not together([_copy("301-309"), _copy("401-409", volume="66")])
    assert not together([_copy("301-309"), _copy("401-409", issue="5")])
    assert not together([_copy("301-309"), _copy("401-409", journal="Chest")])
    assert not together([_copy("301-309"), _copy("401-409", authors=["Berg, A.", "Mora, L."])])


def test_journal_named_two_ways_weighs_little_when_volume_and_pages_agree():
    # A subtitle dropped by one database, and the journal in two forms no rule can match.
    one = _copy("301-309", title=f"{TITLE}. Long-term follow-up", journal="Thorax")
    other = _copy("301-309", journal="Brit Thorac Soc J")
    assert together([one, other])
    # With other pages it is another journal, and another article.
    assert not together([one, _copy("501-509", journal="Brit Thorac Soc J")])


def test_title_in_two_languages_on_the_same_page_range_without_an_issue():
    english = _copy("301-309", title=f"[{TITLE}]", issue="")
    bilingual = _copy(
        "301-309",
        title="Fibrinoliticos intrapleurales para derrames loculados en adultos: ensayo aleatorizado; "
        "Intrapleural fibrinolytics for loculated",
        issue="",
        journal="Thorax (Spanish edition)",
    )
    assert together([english, bilingual])
    # A single page is no range: two short items can share it.
    assert not together([_copy("301", title=f"[{TITLE}]", issue=""), _copy("301", title="Ensayo", issue="")])


def test_given_names_written_where_the_surname_goes():
    assert N.swapped_authors_key(["Si Hyun, Kang", "Kyung Mook, Seo"]) == N.authors_key(
        ["Kang, S. H.", "Seo, K. M."]
    )
    assert N.swapped_authors_key(["Kang, Si Hyun", "Seo, K. M."]) == "hyun seo"
    swapped = _copy("301-309", authors=["Dirk, Hamont", "Ngozi, Okafor", "Karin, Lindqvist"])
    assert together([_copy("301-309", authors=["Hamont, D.", "Okafor, N.", "Lindqvist, K."]), swapped])
    # People whose given names are those surnames, in another volume, year and pages: another article.
    others = _copy("401-409", authors=["Berg, Dirk", "Mora, Ngozi", "Sato, Karin"], year=2011, volume="66")
    assert not together([swapped, others])


def _working_paper(year: int, **changes) -> Record:
    fields = dict(
        title="Matching workers to tasks on online labour platforms: evidence from a field experiment",
        authors=["Moreau, Elise", "Tanaka, Hiro"],
        year=year,
        pages="",
    )
    return rec(**(fields | changes))


def test_records_without_a_venue_a_year_apart_merge():
    assert together(
        [_working_paper(2017, pages="1-14"), _working_paper(2018, authors=["Moreau, E.", "Tanaka, H."])]
    )


def test_a_year_apart_with_a_venue_on_one_side_stays_apart():
    # The conference paper of one year and the article of the next are two reports.
    article = _working_paper(2018, journal="Information Systems Journal", volume="28", pages="101-124")
    assert not together([_working_paper(2017), article])
    # Two years apart is too far even without a venue.
    assert not together([_working_paper(2016), _working_paper(2018)])


@pytest.mark.parametrize(
    ("title", "types", "kind"),
    [
        ("Erratum: {t}", [], "correction"),
        ("Corrigendum to {t}", [], "correction"),
        ("{t}", ["Published Erratum"], "correction"),
        ("Notice of retraction: {t}", [], "retraction"),
        ("Reply to: {t}", [], "reply"),
        ("In reply", ["Letter"], "reply"),
        ("Comment on: {t}", [], "comment"),
        ("{t}", ["Letter"], "comment"),
        ("{t}", ["Journal Article"], ""),
    ],
)
def test_notices_have_a_kind(title, types, kind):
    assert N.notice_kind(N.title_key(title.format(t=TITLE)), types) == kind


def test_an_erratum_and_a_reply_with_one_doi_are_different_records():
    erratum = rec(title=f"Erratum: {TITLE}", authors=["Hamont, D."], year=2011, doi="10.1000/x.1")
    reply = rec(title=f"Reply to: {TITLE}", authors=["Hamont, D."], year=2011, doi="10.1000/x.1")
    same_erratum = rec(title=f"Correction: {TITLE}", authors=["Hamont, D."], year=2011, doi="10.1000/x.1")
    assert not together([erratum, reply])
    assert together([erratum, same_erratum])


def test_a_journal_named_in_two_languages_with_the_same_volume_and_issue():
    # Chosen on wagner digital_work (a Japanese journal and its English name), checked on the others.
    one = rec(
        title="Predicting reviewer workload from the history of an open source project",
        authors=["Tanaka, Hiroshi", "Mori, Aiko"],
        year=2016,
        journal="Joho Shori Gakkai Ronbunshi",
        volume="57",
        issue="3",
        pages="",
    )
    other = rec(
        **{
            **one.to_dict(),
            "journal": "Transactions of the Information Processing Society of Japan",
            "pages": "A-12_1-9",
            "id": "",
        }
    )
    assert together([one, other])
    # With pages on both sides that differ, the journal is no longer the only weak field.
    assert not together(
        [
            rec(**{**one.to_dict(), "pages": "100-110", "id": ""}),
            rec(**{**other.to_dict(), "pages": "200-210", "id": ""}),
        ]
    )


def test_a_footnote_mark_after_the_title_is_not_a_number_of_the_study():
    title = "Collective bargaining for platform workers: reflections on the limits of analogy"
    one = rec(title=title, authors=["Weber, Kai"], year=2018, journal="Work Studies", volume="12", pages="38")
    other = rec(
        title=f"{title} 1",
        authors=["Weber, K."],
        year=2018,
        journal="Work Studies",
        volume="12",
        pages="38-59",
    )
    assert together([one, other])
    # A number that is part of the title still keeps studies apart.
    assert not together(
        [
            rec(**{**one.to_dict(), "title": f"{title} 2", "id": ""}),
            rec(**{**other.to_dict(), "title": f"{title} 3", "id": ""}),
        ]
    )


@pytest.mark.parametrize(
    ("pages", "key"), [("viii108", ("108", "")), ("iv12-iv15", ("12", "15")), ("S108", ("s108", ""))]
)
def test_a_roman_supplement_number_before_the_page_is_no_part_of_it(pages, key):
    # Chosen on rathbone respiratory (Annals of Oncology's "viii108" against "108"), checked on the others.
    assert N.pages_key(pages) == key


def test_numbers_only_in_a_dropped_subtitle_do_not_keep_copies_apart():
    # One database dropped the subtitle, which held the study's size (the team's repro).
    main = "Hepatic resection for colorectal liver metastases"
    abstract = "BACKGROUND: Liver metastases are the commonest indication for hepatectomy. METHODS: 789."
    fields = dict(
        authors=["Borg, L. K.", "Chan, T.", "Chaudhry, N. J."],
        year=2007,
        journal="Journal of Clinical Oncology",
        abstract=abstract,
    )
    full = rec(title=f"{main}: perioperative morbidity in 378 patients from an Australian centre", **fields)
    assert together([full, rec(title=main, **fields)])
    # Both subtitles present and differing in their numbers: still other studies.
    assert not together([full, rec(title=f"{main}: perioperative morbidity in 212 patients", **fields)])
    # A number in the main title itself still counts.
    assert not together([rec(title=f"{main} in 378 patients", **fields), rec(title=main, **fields)])


def test_one_pubmed_id_is_one_record_whatever_id_the_rows_have(tmp_path):
    """`dedup --input` numbers the rows, so the PubMed id itself joins copies: PubMed's
    "Comment" or "Editorial" beside Web of Science's type is one record, not an erratum and its
    article (three such pairs in revtools' restoration exports); inside a review the same
    files give the same duplicates."""
    from screener.dedup import dedup_files
    from screener.review import Review, Reviewer, init_review

    from .conftest import SHARED_DATA

    folder = SHARED_DATA / "fixtures" / "revtools_exports"
    files = [folder / "restoration_pubmed.nbib", folder / "restoration_WoS.ciw"]
    if not all(f.exists() for f in files):
        pytest.skip(f"needs the shared fixtures in {folder}")
    ids, result = dedup_files([str(f) for f in files])
    merged = len(ids) - len(set(result.cluster_of.tolist()))
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    review.import_file(files[0], "medline", database="MEDLINE")
    review.import_file(files[1], "wos", database="Web of Science")
    from screener.dedup import dedup_review

    assert merged == dedup_review(review).duplicates_removed == 25
    for pmid in ("30611342", "30630922", "30368996"):
        assert len({int(result.cluster_of[k]) for k, rid in enumerate(ids) if rid == f"pmid:{pmid}"}) == 1
