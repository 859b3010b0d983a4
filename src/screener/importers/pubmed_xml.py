"""PubMed XML (EFetch `retmode=xml`, or PubMed's "Save > XML"), parsed by Bio.Entrez.

Biopython validates against the NLM DTD named in the DOCTYPE and would go to the network for
one it does not bundle; a newer PubMed DTD is therefore mapped to the newest bundled one (the
PubMed DTD only grows), and any other DOCTYPE is refused before parsing.
"""

from __future__ import annotations

import io
import os
import re
from functools import lru_cache
from pathlib import Path
from xml.parsers.expat import ExpatError

from Bio import Entrez

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, parse_year

_DOCTYPE = re.compile(r"<!DOCTYPE\s+(\w+)([^>]*)>", re.IGNORECASE)
_PUBMED_DTD = re.compile(r"pubmed_(\d{6})\.dtd")


@lru_cache(maxsize=1)
def _newest_bundled_pubmed_dtd() -> str:
    folder = os.path.join(os.path.dirname(Entrez.__file__), "DTDs")
    names = sorted(n for n in os.listdir(folder) if _PUBMED_DTD.fullmatch(n))
    return names[-1]


def _bundled(name: str) -> bool:
    folder = os.path.join(os.path.dirname(Entrez.__file__), "DTDs")
    return os.path.exists(os.path.join(folder, name))


def prepare(text: str, path: str | Path) -> str:
    """Check the DOCTYPE and make sure Biopython can validate offline."""
    head = text[:4096]
    match = _DOCTYPE.search(head)
    if not match:
        if "<PubmedArticleSet" not in head:
            raise ImportFormatError("is XML but not PubMed XML (no <PubmedArticleSet>)", path=path, line=1)
        # No DOCTYPE: give it the newest one so Biopython knows the structure.
        doctype = (
            '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle//EN" '
            f'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/{_newest_bundled_pubmed_dtd()}">\n'
        )
        start = text.find("<PubmedArticleSet")
        return text[:start] + doctype + text[start:]
    root, ident = match.group(1), match.group(2)
    line = text.count("\n", 0, match.start()) + 1
    if root not in ("PubmedArticleSet", "PubmedBookArticleSet"):
        raise ImportFormatError(
            f"has a foreign DOCTYPE <!DOCTYPE {root} ...>, not PubMed's",
            path=path,
            line=line,
            hint="export PubMed results as XML from PubMed itself, or use --format",
        )
    dtd = _PUBMED_DTD.search(ident)
    if dtd is None:
        raise ImportFormatError(
            f"declares an unknown DTD for PubMed XML:{ident.strip()}",
            path=path,
            line=line,
            hint="export again from PubMed",
        )
    if not _bundled(dtd.group(0)):
        newest = _newest_bundled_pubmed_dtd()
        new_ident = ident.replace(dtd.group(0), newest)
        text = text[: match.start()] + f"<!DOCTYPE {root}{new_ident}>" + text[match.end() :]
    return text


def parse(text: str, path: str | Path) -> list[Record]:
    text = prepare(text, path)
    try:
        result = Entrez.read(io.BytesIO(text.encode("utf-8")), validate=True)
    except (ExpatError, Entrez.Parser.CorruptedXMLError, Entrez.Parser.NotXMLError) as exc:
        line = getattr(exc, "lineno", None)
        raise ImportFormatError(
            f"is not well-formed PubMed XML ({exc})",
            path=path,
            line=line,
            hint="the file may be truncated: export it again",
        ) from None
    except (RuntimeError, ValueError) as exc:
        raise ImportFormatError(f"cannot be read as PubMed XML ({exc})", path=path) from None
    records = [article_to_record(a) for a in result.get("PubmedArticle", [])]
    records += [book_to_record(b) for b in result.get("PubmedBookArticle", [])]
    return records


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value)


def _abstract(abstract: dict | None) -> str:
    if not abstract:
        return ""
    parts = []
    for section in abstract.get("AbstractText", []):
        label = getattr(section, "attributes", {}).get("Label")
        parts.append(f"{label}: {section}" if label else str(section))
    return " ".join(parts)


def _authors(author_list: list) -> list[str]:
    names = []
    for author in author_list or []:
        if "LastName" in author:
            fore = author.get("ForeName") or author.get("Initials") or ""
            names.append(f"{author['LastName']}, {fore}".rstrip(", "))
        elif "CollectiveName" in author:
            names.append(str(author["CollectiveName"]))
    return names


def _year(pub_date: dict) -> int | None:
    return parse_year(pub_date.get("Year") or pub_date.get("MedlineDate"))


def _ids(pubmed_data: dict) -> dict[str, str]:
    return {ident.attributes.get("IdType", ""): str(ident) for ident in pubmed_data.get("ArticleIdList", [])}


def _keywords(citation: dict) -> list[str]:
    return [str(k) for group in citation.get("KeywordList", []) for k in group]


def article_to_record(article: dict) -> Record:
    citation = article["MedlineCitation"]
    art = citation["Article"]
    journal = art.get("Journal", {})
    issue = journal.get("JournalIssue", {})
    ids = _ids(article.get("PubmedData", {}))
    doi = ids.get("doi", "")
    for eloc in art.get("ELocationID", []):
        if eloc.attributes.get("EIdType") == "doi":
            doi = doi or str(eloc)
    pmid = str(citation.get("PMID", ""))
    pages = _text(art.get("Pagination", {}).get("MedlinePgn", "")) if art.get("Pagination") else ""
    year = _year(issue.get("PubDate", {}))
    if year is None:
        dates = art.get("ArticleDate", [])
        year = parse_year(dates[0].get("Year")) if dates else None
    return Record(
        pmid=pmid,
        doi=normalise_doi(doi),
        title=_text(art.get("ArticleTitle")) or _text(art.get("VernacularTitle")),
        abstract=_abstract(art.get("Abstract")),
        authors=_authors(art.get("AuthorList", [])),
        year=year,
        journal=_text(journal.get("Title")),
        journal_abbrev=_text(journal.get("ISOAbbreviation"))
        or _text(citation.get("MedlineJournalInfo", {}).get("MedlineTA")),
        volume=_text(issue.get("Volume")),
        issue=_text(issue.get("Issue")),
        pages=pages,
        keywords=_keywords(citation),
        mesh=[str(h["DescriptorName"]) for h in citation.get("MeshHeadingList", [])],
        publication_types=[str(p) for p in art.get("PublicationTypeList", [])],
        language=", ".join(str(x) for x in art.get("Language", [])),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
    )


def book_to_record(book: dict) -> Record:
    doc = book.get("BookDocument", {})
    info = doc.get("Book", {})
    ids = _ids(book.get("PubmedBookData", {}))
    pmid = str(doc.get("PMID", ""))
    authors = []
    for group in doc.get("AuthorList", []):
        authors += _authors(group)
    return Record(
        pmid=pmid,
        doi=normalise_doi(ids.get("doi", "")),
        title=_text(doc.get("ArticleTitle")) or _text(info.get("BookTitle")),
        abstract=_abstract(doc.get("Abstract")),
        authors=authors,
        year=_year(info.get("PubDate", {})),
        journal=_text(info.get("BookTitle")),
        keywords=_keywords(doc),
        publication_types=[str(p) for p in doc.get("PublicationType", [])],
        language=", ".join(str(x) for x in doc.get("Language", [])),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
    )
