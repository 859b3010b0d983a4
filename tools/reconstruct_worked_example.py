"""Rebuild the worked example at the repository root: Lesurtel et al., HPB 2015.

    .venv/bin/python tools/reconstruct_worked_example.py [--seed ../shared/seed] [--review .]

What is real: the 38 included studies, with the bibliographic data of the paper's reference list
(refs 7 and 11-47) and the PMIDs/DOIs of included_38_identifiers.csv, and the facts the paper
reports (databases searched, reference lists, 1594 records identified, 38 included, two
independent screeners and a third to resolve). Everything else is a reconstruction, because the
original exports and the intermediate counts of the paper's Figure 1 are not public: the other
records are synthetic (assembled from tools/lesurtel_data.py by a seeded generator, each one
marked "Synthetic record" in its export), and so are the split across databases, the duplicates,
the decisions and the full-text exclusion reasons. searches/README.md explains it for readers.

The script writes real export files (MEDLINE for MEDLINE, RIS as Embase and the Cochrane
Library write it, a CSV for the reference lists), imports them with screener's own importers,
deduplicates them with screener's own dedup, writes the reviewers' decision files, and then
checks that the PRISMA counts come out as designed. Same seed, same files, byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from lesurtel_data import (  # noqa: E402
    CONCLUSIONS,
    FULL_TEXT_EXCLUDED,
    JOURNALS,
    NOT_RETRIEVED,
    OTHER_METHODS_EXCLUDED,
    RESULTS,
    SLOTS,
    SURGICAL_JOURNALS,
    SURNAMES,
    SYNTHETIC_JOURNALS,
    TOPICS,
)

SYNTHETIC = "Synthetic record (screener worked example, not a real publication)"
DATE_SEARCHED = "2012-06-15"  # reconstructed: before the December 2012 conference
QUERY = (
    '(neuroendocrine tumors[mh] OR neuroendocrine OR carcinoid* OR "islet cell" OR '
    "gastrinoma* OR insulinoma*) AND (liver neoplasms/secondary[mh] OR liver metasta* OR "
    "hepatic metasta*) AND (hepatectomy[mh] OR resection OR hepatectom* OR surgery OR ablation "
    "OR embolization OR transplantation)"
)
QUERY_NOTE = (
    "Reconstruction: the original strategy (Medical Library Careum, Zurich) is published in "
    "Stump R et al., JMIR Res Protoc 2013;2(2):e58 and is not reproduced here; this query only "
    "illustrates it. The records are real for the 38 included studies and synthetic otherwise "
    "(see searches/README.md)."
)

# The design: how many records each source holds and how the studies flow (see README).
MEDLINE_RECORDS, EMBASE_RECORDS, COCHRANE_RECORDS, REFERENCE_LIST_RECORDS = 706, 810, 70, 8
EMBASE_ALSO_IN_MEDLINE = 398  # synthetic records Embase shares with MEDLINE
COCHRANE_ONLY = 16
REAL_VIA_REFERENCE_LISTS = (24, 41)  # found by scanning reference lists, not by the searches
REAL_EMBASE_ONLY = (19, 46)  # a meeting abstract (Ann Surg Oncol supplement), Eur Surg
REAL_NOT_IN_EMBASE = (7, 28)
REAL_IN_COCHRANE = (16, 20)
FULL_TEXT_NOT_RETRIEVED = 4
REVIEWERS = ("reviewer-a", "reviewer-b")
RESOLVER = "resolver-c"


# -- the 38 included studies, from the paper's reference list ------------------------------


@dataclass
class Study:
    key: str
    title: str
    authors: list[str]  # "Surname AB"
    year: int
    journal: str  # MEDLINE abbreviation
    volume: str
    issue: str
    pages: str  # first-last, full
    abstract: str = ""
    pmid: str = ""
    doi: str = ""
    real: bool = False
    keywords: list[str] = field(default_factory=list)
    language: str = "eng"
    publication_type: str = "Journal Article"
    # where it was found and what happened to it
    sources: set[str] = field(default_factory=set)
    ta: str = "exclude"  # the final title/abstract decision
    ft: str = ""  # include, exclude, not-retrieved
    reason: str = ""


_REF = re.compile(
    r"^(?P<n>\d+)\. (?P<authors>.+?)\.\*? \((?P<year>\d{4})\) (?P<title>.+?[.?])\s+"
    r"(?:\[Erratum[^\]]*\]\]?\.?\s+)?\*(?P<journal>[^*]+)\*(?:\s*\[[^\]]*\])?\s*"
    r"(?P<volume>\w+):(?P<pages>[\w]+(?:[–-]\w+)?)"
)
JOURNAL_NAMES = {"HPB": "HPB (Oxford)", "Eur Surg Acta Chir Austriaca": "Eur Surg"}


def _full_pages(pages: str) -> str:
    first, _, last = pages.replace("–", "-").partition("-")
    if last and first.isdigit() and last.isdigit() and len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return f"{first}-{last}" if last else first


def included_studies(seed: Path) -> dict[int, Study]:
    text = (seed / "lesurtel_2015_hpb_review.txt").read_text(encoding="utf-8")
    wanted = {7, *range(11, 48)}
    studies: dict[int, Study] = {}
    for line in text.splitlines():
        match = _REF.match(line.strip())
        if not match or int(match["n"]) not in wanted:
            continue
        n = int(match["n"])
        authors = []
        named = re.sub(r"\s*\*et al\.?\*?\s*$", "", match["authors"])  # the first six are listed
        for part in named.split(", "):
            part = part.strip().rstrip(".")
            if not part:
                continue
            if re.fullmatch(r"\d+(st|nd|rd|th)", part) and authors:
                authors[-1] += f" {part}"  # "Martin RCG, 2nd"
            else:
                authors.append(part)
        title = match["title"].strip()
        title = title.removesuffix(".")
        journal = match["journal"].strip()
        studies[n] = Study(
            key=f"ref{n}",
            title=title,
            authors=authors,
            year=int(match["year"]),
            journal=JOURNAL_NAMES.get(journal, journal),
            volume=match["volume"],
            issue="",
            pages=_full_pages(match["pages"]),
            real=True,
            language="fre" if title.startswith("[") else "eng",
        )
    with (seed / "included_38_identifiers.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            study = studies[int(row["ref_no"])]
            study.pmid, study.doi = row["pmid"].strip(), row["doi"].strip()
    missing = wanted - set(studies)
    if missing:
        raise SystemExit(f"could not read references {sorted(missing)} from the seed text")
    return studies


# -- synthetic records -------------------------------------------------------------------------


class Generator:
    def __init__(self, seed: int = 2012) -> None:
        self.random = random.Random(seed)
        self.titles: set[str] = set()
        self.doi_number = 0

    def fill(self, template: str) -> str:
        r = self.random

        def slot(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "n":
                return str(r.randint(12, 420))
            value = r.choice(SLOTS[name.lower()])
            return value[0].upper() + value[1:] if name[0].isupper() else value

        return re.sub(r"\{(\w+)\}", slot, template)

    def unique_title(self, templates: list[str]) -> str:
        for _ in range(200):
            title = self.fill(self.random.choice(templates))
            if title.lower() not in self.titles:
                self.titles.add(title.lower())
                return title
        raise RuntimeError(f"templates exhausted: {templates[0]}")

    def abstract(self, background: str, year: int) -> str:
        r = self.random
        if background.startswith("We report"):
            return (
                f"{background} A {r.randint(24, 83)}-year-old patient presented with symptoms of "
                f"{r.randint(2, 30)} months' duration. The diagnosis was confirmed at histology and "
                f"the patient was well {r.randint(3, 48)} months after treatment."
            )
        numbers = dict(m=r.randint(9, 120), p=r.randint(3, 95), q=r.randint(0, 9), s=r.randint(60, 99))
        results = " ".join(r.sample(RESULTS, 2)).format(**numbers)
        end = r.randint(year - 6, year - 1)
        return (
            f"BACKGROUND: {background} METHODS: We analysed {r.randint(12, 900)} patients treated "
            f"between {r.randint(end - 20, end - 2)} and {end}. RESULTS: {results} "
            f"CONCLUSIONS: {r.choice(CONCLUSIONS)}"
        )

    def study(self, key: str, templates: list[str], background: str, journals: list[str]) -> Study:
        r = self.random
        year = r.randint(1985, 2012)
        n_authors = r.randint(1, 7)
        authors = [
            f"{surname} {''.join(r.choice('ABCDEFGHIJKLMNOPRSTVW') for _ in range(r.randint(1, 2)))}"
            for surname in r.sample(SURNAMES, n_authors)
        ]
        first = r.randint(1, 1400)
        doi = ""
        if year >= 2000 and r.random() < 0.7:
            self.doi_number += 1
            doi = f"10.5555/screener-example.{self.doi_number:04d}"  # Crossref's test prefix
        return Study(
            key=key,
            title=self.unique_title(templates),
            authors=authors,
            year=year,
            journal=r.choice(journals),
            volume=str(max(1, year - r.randint(1920, 1995))),
            issue=str(r.randint(1, 12)),
            pages=f"{first}-{first + r.randint(3, 14)}",
            abstract=self.abstract(background, year),
            doi=doi,
            keywords=[SYNTHETIC],
        )


def build_design(seed: Path) -> tuple[list[Study], list[Study]]:
    """Every study with its sources and its fate; and the records found by reference lists."""
    real = included_studies(seed)
    gen = Generator()
    for n, study in real.items():
        study.ta, study.ft = "include", "include"
        if n in REAL_VIA_REFERENCE_LISTS:
            study.sources = {"reference-lists"}
            continue
        study.sources = {"embase"} if n in REAL_EMBASE_ONLY else {"medline", "embase"}
        if n in REAL_NOT_IN_EMBASE:
            study.sources.discard("embase")
        if n in REAL_IN_COCHRANE:
            study.sources.add("cochrane")
    # A real erratum (its citation is in the paper's reference 18): Embase indexes it apart.
    osborne = real[18]
    erratum = Study(
        key="erratum18",
        title=f"Erratum: {osborne.title}",
        authors=osborne.authors[:3],
        year=2006,
        journal="Ann Surg Oncol",
        volume="13",
        issue="",
        pages="1162",
        real=True,
        publication_type="Erratum",
        sources={"embase"},
    )

    count = 0

    def make(templates: list[str], background: str, journals: list[str]) -> Study:
        nonlocal count
        count += 1
        return gen.study(f"syn{count:04d}", templates, background, journals)

    # Studies that pass title/abstract screening and fall at full text.
    sought: list[Study] = []
    for reason, (n, templates) in FULL_TEXT_EXCLUDED.items():
        for _ in range(n):
            study = make(
                templates,
                "Neuroendocrine liver metastases are treated by many approaches.",
                SURGICAL_JOURNALS,
            )
            study.ta, study.ft, study.reason = "include", "exclude", reason
            sought.append(study)
    for template in NOT_RETRIEVED:
        study = make([template], "Liver metastases of endocrine tumours were resected.", SURGICAL_JOURNALS)
        study.ta, study.ft = "include", "not-retrieved"
        study.year = gen.random.randint(1986, 1994)
        study.doi = ""
        sought.append(study)
    # Studies excluded at title/abstract.
    weights = [t[2] for t in TOPICS]
    real_db = [s for s in real.values() if s.sources & {"medline", "embase", "cochrane"}]
    needed_unique = 1102
    excluded_n = needed_unique - len(real_db) - 1 - len(sought)  # 1: the erratum
    excluded = []
    for _ in range(excluded_n):
        templates, background, _w = gen.random.choices(TOPICS, weights)[0]
        excluded.append(make(templates, background, SYNTHETIC_JOURNALS + SURGICAL_JOURNALS))

    # Sources of the synthetic studies: MEDLINE holds most; Embase repeats many of them.
    pool = sought + excluded
    gen.random.shuffle(pool)
    medline_n = MEDLINE_RECORDS - sum("medline" in s.sources for s in real_db)
    medline, rest = pool[:medline_n], pool[medline_n:]
    cochrane_only, embase_only = rest[:COCHRANE_ONLY], rest[COCHRANE_ONLY:]
    for s in medline:
        s.sources = {"medline"}
    for s in cochrane_only:
        s.sources = {"cochrane"}
    for s in embase_only:
        s.sources = {"embase"}
    for s in gen.random.sample(medline, EMBASE_ALSO_IN_MEDLINE):
        s.sources.add("embase")
    real_cochrane = sum("cochrane" in s.sources for s in real_db)
    for s in gen.random.sample(medline, COCHRANE_RECORDS - COCHRANE_ONLY - real_cochrane):
        s.sources.add("cochrane")

    # Reference lists: the two real studies and six synthetic reports, none found by the searches.
    reference = [real[n] for n in REAL_VIA_REFERENCE_LISTS]
    for reason, (n, templates) in OTHER_METHODS_EXCLUDED.items():
        for _ in range(n):
            study = make(
                templates, "Liver metastases of neuroendocrine tumours were resected.", SURGICAL_JOURNALS
            )
            study.ta, study.ft, study.reason = "include", "exclude", reason
            study.sources = {"reference-lists"}
            reference.append(study)
    study = make(
        [NOT_RETRIEVED[2]], "Liver metastases of endocrine tumours were resected.", SURGICAL_JOURNALS
    )
    study.ta, study.ft, study.sources = "include", "not-retrieved", {"reference-lists"}
    reference.append(study)

    studies = real_db + [erratum] + pool
    order = {name: i for i, name in enumerate(("medline", "embase", "cochrane"))}
    assert sum("medline" in s.sources for s in studies) == MEDLINE_RECORDS
    assert sum("cochrane" in s.sources for s in studies) == COCHRANE_RECORDS
    embase = sum("embase" in s.sources for s in studies)
    if embase != EMBASE_RECORDS:
        raise SystemExit(f"design error: {embase} Embase records, expected {EMBASE_RECORDS}")
    assert len(reference) == REFERENCE_LIST_RECORDS and order
    return studies, reference


# -- export files, as each database writes them ----------------------------------------------


def _initials_dotted(author: str) -> tuple[str, str]:
    surname, _, initials = author.rpartition(" ")
    if not surname or not initials.isupper() or len(initials) > 3:
        return author, ""
    return surname, ".".join(initials) + "."


def _medline_pages(pages: str) -> str:
    """MEDLINE drops the leading digits the last page shares with the first: 1097-102."""
    first, _, last = pages.partition("-")
    if not last or len(first) != len(last) or not first.isdigit():
        return pages
    i = 0
    while i < len(first) - 1 and first[i] == last[i]:
        i += 1
    return f"{first}-{last[i:]}"


def _wrap(tag: str, text: str) -> list[str]:
    import textwrap

    lines = textwrap.wrap(text, 82) or [""]
    return [f"{tag:<4}- {lines[0]}"] + [f"      {line}" for line in lines[1:]]


def medline_record(s: Study) -> str:
    lines = []
    if s.pmid:
        lines += [f"PMID- {s.pmid}", "OWN - NLM", "STAT- MEDLINE"]
    lines += [f"DP  - {s.year}"]
    lines += _wrap("TI", s.title)
    if s.pages:
        lines.append(f"PG  - {_medline_pages(s.pages)}")
    if s.doi:
        lines.append(f"LID - {s.doi} [doi]")
    if s.abstract:
        lines += _wrap("AB", s.abstract)
    for author in s.authors:
        lines.append(f"AU  - {author}")
    lines.append(f"LA  - {s.language}")
    lines.append(f"PT  - {s.publication_type}")
    lines.append(f"TA  - {s.journal}")
    lines.append(f"JT  - {JOURNALS[s.journal][0]}")
    if s.volume:
        lines.append(f"VI  - {s.volume}")
    if s.issue:
        lines.append(f"IP  - {s.issue}")
    for keyword in s.keywords:
        lines.append(f"OT  - {keyword}")
    if not s.real:
        lines.append(f"GN  - {SYNTHETIC}.")
    source = (
        f"{s.journal}. {s.year};{s.volume}"
        + (f"({s.issue})" if s.issue else "")
        + f":{_medline_pages(s.pages)}."
    )
    lines += _wrap("SO", source)
    return "\n".join(lines)


def embase_record(s: Study, accession: int) -> str:
    full, abbrev = JOURNALS[s.journal]
    first, _, last = s.pages.partition("-")
    lines = [
        "TY  - JOUR",
        f"M3  - {'Erratum' if s.publication_type == 'Erratum' else 'Article'}",
        f"Y1  - {s.year}",
    ]
    if s.volume:
        lines.append(f"VL  - {s.volume}")
    if s.issue:
        lines.append(f"IS  - {s.issue}")
    lines.append(f"SP  - {first}")
    if last:
        lines.append(f"EP  - {last}")
    lines += [f"JF  - {full.split(' : ')[0]}", f"JO  - {abbrev}"]
    lines.append(
        f"UR  - http://www.embase.com/search/results?subaction=viewrecord&from=export&id=L{accession}"
    )
    lines += [f"U2  - L{accession}", "DB  - Embase"]
    if s.doi:
        lines += [f"L2  - http://dx.doi.org/{s.doi}", f"DO  - {s.doi}"]
    for author in s.authors:
        surname, initials = _initials_dotted(author)
        lines.append(f"A1  - {surname} {initials}".rstrip())
    lines.append(f"T1  - {s.title}")
    lines.append(f"LA  - {'French' if s.language == 'fre' else 'English'}")
    if s.abstract:
        lines.append(f"N2  - {s.abstract} Copyright {s.year} Elsevier. All rights reserved.")
    for keyword in s.keywords:
        lines.append(f"KW  - {keyword}")
    if not s.real:
        lines.append(f"N1  - {SYNTHETIC}.")
    lines.append("ER  - ")
    return "\n".join(lines)


def cochrane_record(s: Study, accession: int) -> str:
    full, _ = JOURNALS[s.journal]
    first, _, last = s.pages.partition("-")
    lines = ["TY  - JOUR", f"ID  - CN-{accession:08d}"]
    for author in s.authors:
        surname, initials = _initials_dotted(author)
        lines.append(f"AU  - {surname}, {initials.replace('.', '. ').strip()}".rstrip(", "))
    lines.append(f"TI  - {s.title}")
    lines.append(f"JO  - {full.split(' : ')[0].capitalize() if full.isascii() else full}")
    lines.append(f"PY  - {s.year}")
    if s.volume:
        lines.append(f"VL  - {s.volume}")
    if s.issue:
        lines.append(f"IS  - {s.issue}")
    lines.append(f"SP  - {first}")
    if last:
        lines.append(f"EP  - {last}")
    if s.abstract:
        lines.append(f"AB  - {s.abstract}")
    for keyword in s.keywords:
        lines.append(f"KW  - {keyword}")
    if s.doi:
        lines.append(f"DO  - {s.doi}")
    if s.pmid:
        lines.append(f"AN  - PUBMED {s.pmid}")
    if not s.real:
        lines.append(f"N1  - {SYNTHETIC}.")
    lines.append(f"UR  - https://www.cochranelibrary.com/central/doi/10.1002/central/CN-{accession:08d}/full")
    lines.append("ER  - ")
    return "\n".join(lines)


def reference_list_csv(studies: list[Study]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["title", "author", "year", "journal", "volume", "pages", "doi", "pmid", "notes"])
    for s in studies:
        writer.writerow(
            [
                s.title,
                " and ".join(s.authors),
                s.year,
                JOURNALS[s.journal][0].split(" : ")[0],
                s.volume,
                s.pages,
                s.doi,
                s.pmid,
                "" if s.real else SYNTHETIC,
            ]
        )
    return out.getvalue()


def write_exports(
    studies: list[Study], reference: list[Study], directory: Path
) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """The four export files, and the study keys of each file's records in file order."""
    rng = random.Random(7)
    # Each database lists in its own order: PubMed newest first, the others as they come.
    in_medline = [s for s in studies if "medline" in s.sources]
    rng.shuffle(in_medline)
    in_medline.sort(key=lambda s: -s.year)
    in_embase = [s for s in studies if "embase" in s.sources]
    rng.shuffle(in_embase)
    in_cochrane = [s for s in studies if "cochrane" in s.sources]
    rng.shuffle(in_cochrane)
    medline = [medline_record(s) for s in in_medline]
    embase_ids = rng.sample(range(10_000_000, 60_000_000), len(in_embase))
    embase = [embase_record(s, a) for s, a in zip(in_embase, embase_ids, strict=True)]
    cochrane_ids = rng.sample(range(100_000, 900_000), len(in_cochrane))
    cochrane = [cochrane_record(s, a) for s, a in zip(in_cochrane, cochrane_ids, strict=True)]
    order = {
        "medline": [s.key for s in in_medline],
        "embase": [s.key for s in in_embase],
        "cochrane": [s.key for s in in_cochrane],
        "reference-lists": [s.key for s in reference],
    }
    files = {
        "medline": directory / "medline.nbib",
        "embase": directory / "embase.ris",
        "cochrane": directory / "cochrane-library.ris",
        "reference-lists": directory / "reference-lists.csv",
    }
    files["medline"].write_text("\n\n".join(medline) + "\n", encoding="utf-8")
    files["embase"].write_text("\n\n".join(embase) + "\n", encoding="utf-8")
    files["cochrane"].write_text("\n\n".join(cochrane) + "\n", encoding="utf-8")
    files["reference-lists"].write_text(reference_list_csv(reference), encoding="utf-8")
    return files, order


# -- decisions ---------------------------------------------------------------------------------


class Clock:
    """Plausible, deterministic timestamps: working days, 09:00 to 17:00."""

    def __init__(self, start: dt.datetime, rng: random.Random) -> None:
        self.now, self.rng = start, rng

    def tick(self, low: int, high: int) -> str:
        self.now += dt.timedelta(seconds=self.rng.randint(low, high))
        if self.now.hour >= 17:
            self.now = (self.now + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0)
            while self.now.weekday() >= 5:
                self.now += dt.timedelta(days=1)
        return self.now.isoformat() + "+00:00"


def write_decisions(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    # The decisions were written before labels files had a tags column: they keep their six
    # columns, as any file written then does (nothing already written is rewritten).
    from screener.screening.decisions import COLUMNS_WITHOUT_TAGS

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS_WITHOUT_TAGS)
        for row in rows:
            writer.writerow([*row, "reconstruction"])


def decide(studies: list[Study], ids: dict[str, str], labels: Path) -> dict[str, int]:
    """Both screeners' decisions with realistic disagreement, and the resolver's."""
    rng = random.Random(38)
    screened = [s for s in studies]
    include = [s for s in screened if s.ta == "include"]
    exclude = [s for s in screened if s.ta == "exclude"]
    # Title/abstract: each screener misses a few true includes and lets a few others through;
    # their mistakes differ, so each one is a conflict the resolver settles.
    misses = rng.sample(include, 16)
    extras = rng.sample(exclude, 54)
    wrong = {
        REVIEWERS[0]: set(s.key for s in misses[:7] + extras[:24]),
        REVIEWERS[1]: set(s.key for s in misses[7:] + extras[24:]),
    }
    maybe = {
        REVIEWERS[0]: {s.key for s in rng.sample(include, 10)},
        REVIEWERS[1]: {s.key for s in rng.sample(include, 6)},
    }
    notes = {
        "erratum18": "Erratum notice, not a study.",
    }
    stats = {}
    for reviewer, start in zip(
        REVIEWERS, (dt.datetime(2012, 7, 2, 9, 0), dt.datetime(2012, 7, 3, 9, 30)), strict=True
    ):
        clock = Clock(start, random.Random(reviewer))
        rows = []
        for s in screened:
            truth = s.ta
            decision = ("exclude" if truth == "include" else "include") if s.key in wrong[reviewer] else truth
            if decision == "include" and s.key in maybe[reviewer]:
                decision = "maybe"
            note = notes.get(s.key, "") if reviewer == REVIEWERS[0] else ""
            rows.append((ids[s.key], decision, "", note, clock.tick(8, 75)))
        write_decisions(labels / "title-abstract" / f"{reviewer}.csv", rows)
    clock = Clock(dt.datetime(2012, 8, 20, 9, 0), random.Random(RESOLVER))
    conflicts = [s for s in screened if s.key in wrong[REVIEWERS[0]] | wrong[REVIEWERS[1]]]
    write_decisions(
        labels / "title-abstract" / f"{RESOLVER}.csv",
        [(ids[s.key], s.ta, "", "Discussed with both screeners.", clock.tick(60, 240)) for s in conflicts],
    )
    stats["title-abstract conflicts"] = len(conflicts)

    # Full text: two include/exclude disagreements each way, and five differing reasons.
    assessed = [s for s in include if s.ft in ("include", "exclude")]
    flip = rng.sample([s for s in assessed if s.ft == "include"], 2) + rng.sample(
        [s for s in assessed if s.ft == "exclude"], 2
    )
    reason_conflicts = rng.sample([s for s in assessed if s.ft == "exclude" and s not in flip], 5)
    other_reason = {
        "Overall survival not reported": "No hepatic resection or liver-directed treatment",
        "Not neuroendocrine liver metastases": "Overall survival not reported",
        "No hepatic resection or liver-directed treatment": "Overall survival not reported",
        "Liver transplantation only": "No hepatic resection or liver-directed treatment",
        "Review, editorial or letter": "Case report",
        "Case report": "Review, editorial or letter",
        "Duplicate or overlapping cohort": "Overall survival not reported",
    }
    full_text_rows: dict[str, list[tuple[str, str, str, str, str]]] = {}
    for index, reviewer in enumerate(REVIEWERS):
        clock = Clock(dt.datetime(2012, 9, 3 + index, 9, 0), random.Random(reviewer + "ft"))
        rows = []
        for s in include:
            decision, reason, note = s.ft, s.reason, ""
            if s in flip[index::2]:
                if s.ft == "include":
                    decision, reason = "exclude", "Overall survival not reported"
                    note = "Survival only shown in a figure?"
                else:
                    decision, reason = "include", ""
            if s in reason_conflicts and index == 1:
                reason = other_reason[s.reason]
            if decision == "not-retrieved":
                note = "Requested through interlibrary loan; not received."
            rows.append((ids[s.key], decision, reason, note, clock.tick(300, 1500)))
        full_text_rows[reviewer] = rows
        write_decisions(labels / "full-text" / f"{reviewer}.csv", rows)
    clock = Clock(dt.datetime(2012, 10, 15, 9, 0), random.Random(RESOLVER + "ft"))
    resolved = flip + reason_conflicts
    write_decisions(
        labels / "full-text" / f"{RESOLVER}.csv",
        [
            (ids[s.key], s.ft, s.reason, "Settled at the consensus meeting.", clock.tick(120, 600))
            for s in resolved
        ],
    )
    stats["full-text conflicts"] = len(resolved)
    return stats


# -- the whole build -----------------------------------------------------------------------


def check_clusters(review, studies: list[Study], record_of: dict[tuple[str, str], str]) -> None:  # noqa: ANN001
    """screener's dedup must put exactly each designed study's copies together."""
    from screener.screening import review_studies

    _, member_of = review_studies(review)
    seen: dict[str, str] = {}
    problems = []
    for s in studies:
        found = {member_of[record_of[(name, s.key)]] for name in sorted(s.sources)}
        if len(found) != 1:
            problems.append(f"{s.key} ({s.title[:60]}) split over {len(found)} studies")
        for study_id in found:
            if study_id in seen and seen[study_id] != s.key:
                problems.append(f"{s.key} merged with {seen[study_id]}")
            seen[study_id] = s.key
    if problems:
        raise SystemExit("dedup differs from the design:\n  " + "\n  ".join(problems[:20]))


def build(seed: Path, root: Path) -> None:
    from screener.prisma import prisma_counts
    from screener.review import Review

    studies, reference = build_design(seed)
    review = Review(root)
    searches_dir = review.searches_dir
    # Start clean: the searches and labels this script owns.
    for path in list(searches_dir.glob("*.toml")) + [
        p for p in searches_dir.iterdir() if p.suffix in (".nbib", ".ris", ".csv")
    ]:
        path.unlink()
    for stage in ("title-abstract", "full-text"):
        shutil.rmtree(review.labels_dir / stage, ignore_errors=True)
    (review.labels_dir / "dedup.csv").unlink(missing_ok=True)
    shutil.rmtree(review.cache_dir, ignore_errors=True)

    with tempfile.TemporaryDirectory() as tmp:
        files, order = write_exports(studies, reference, Path(tmp))
        plan = [
            ("medline", "MEDLINE", "database", QUERY),
            ("embase", "Embase", "database", QUERY.replace("[mh]", "/exp")),
            ("cochrane", "Cochrane Library", "database", QUERY.replace("[mh]", " [MeSH]")),
            ("reference-lists", "Reference lists of included studies", "citations", ""),
        ]
        for name, database, kind, query in plan:
            review.import_file(
                files[name], name, database=database, date_searched=DATE_SEARCHED, query=query, kind=kind
            )
    for search in review.searches():
        search.notes = (
            QUERY_NOTE
            if search.kind == "database"
            else (
                "Manual search of the reference lists of included studies "
                "(reconstruction; see searches/README.md)."
            )
        )
        for f in search.files:
            f.imported = f"{DATE_SEARCHED}T12:00:00+00:00"
            f.original_name = ""
        review.save_search(search)

    # Map each designed study to the id of its first record (MEDLINE first).
    record_of: dict[tuple[str, str], str] = {}
    for name, keys in order.items():
        found = review.records(name)
        assert len(found) == len(keys), (name, len(found), len(keys))
        for key, record in zip(keys, found, strict=True):
            record_of[(name, key)] = record.id
    ids = {}
    for s in studies + reference:
        name = next(n for n in ("medline", "embase", "cochrane", "reference-lists") if n in s.sources)
        ids[s.key] = record_of[(name, s.key)]
    check_clusters(review, studies + reference, record_of)
    stats = decide(studies + reference, ids, review.labels_dir)

    counts = prisma_counts(Review(root)).to_dict()
    expected = {
        "database_results": MEDLINE_RECORDS + EMBASE_RECORDS + COCHRANE_RECORDS,
        "citations_results": REFERENCE_LIST_RECORDS,
        "records_screened": 1102,
        "total_studies": 38,
    }
    problems = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    if problems:
        raise SystemExit(f"the reconstruction does not add up (got, expected): {problems}")
    identified = counts["database_results"] + counts["citations_results"]
    print(
        f"{identified} records identified, {counts['duplicates']} duplicates removed, "
        f"{counts['records_screened']} screened, {counts['dbr_assessed'] + counts['other_assessed']} "
        f"assessed in full text, {counts['total_studies']} studies included; {stats}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=Path, default=REPO.parent / "shared" / "seed")
    parser.add_argument("--review", type=Path, default=REPO)
    args = parser.parse_args()
    if not (args.seed / "lesurtel_2015_hpb_review.txt").exists():
        raise SystemExit(
            f"{args.seed}: the seed (the paper's text and identifiers) is not there; pass --seed DIR"
        )
    build(args.seed, args.review.resolve())


if __name__ == "__main__":
    main()
