"""PubMed XML (EFetch `retmode=xml`, or PubMed's "Save > XML"), parsed by Bio.Entrez, offline.

Biopython validates against the NLM DTD named in the DOCTYPE and would go to the network for
one it does not bundle. The file's prolog is therefore read here and rebuilt: its DOCTYPE must
name a PubMed DTD (a newer one is mapped to the newest bundled one, since the PubMed DTD only
grows), and an internal subset (entities or rules of the file's own: billion laughs, an external
entity reading a local file) is refused. Biopython then reads only its bundled DTDs
(`safexml.entrez_read`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from xml.parsers.expat import ExpatError

from Bio import Entrez

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, parse_year
from ..safexml import RefusedXML, bundled_dtds, entrez_read

_PUBMED_DTD = re.compile(r"pubmed_(\d{6})\.dtd")
_ROOTS = ("PubmedArticleSet", "PubmedBookArticleSet")
_QUOTED = r"(?:\"[^\"]*\"|'[^']*')"
# What may come before the root element: white space, the XML declaration, comments,
# processing instructions and one DOCTYPE (its head only: an internal subset is refused).
_PROLOG_ITEM = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<pi><\?.*?\?>)"
    r"|(?P<doctype><!DOCTYPE\s+(?P<root>[A-Za-z_][\w.:-]*)"
    rf"(?:\s+(?:SYSTEM\s+(?P<system>{_QUOTED})|PUBLIC\s+{_QUOTED}\s+(?P<public_system>{_QUOTED})))?"
    r"\s*(?P<end>[\[>])?)",
    re.DOTALL,
)


@lru_cache(maxsize=1)
def _newest_bundled_pubmed_dtd() -> str:
    return sorted(n for n in bundled_dtds() if _PUBMED_DTD.fullmatch(n))[-1]


def _refuse(message: str, path: str | Path, text: str, position: int, hint: str = "") -> ImportFormatError:
    return ImportFormatError(
        message,
        path=path,
        line=text.count("\n", 0, position) + 1,
        hint=hint or "export the records again from PubMed (Save > XML)",
    )


def prepare(text: str, path: str | Path) -> str:
    """The file with its prolog rebuilt: UTF-8 declaration and a PubMed DOCTYPE naming a DTD
    that Biopython bundles. Lines keep their numbers, so parse errors point at the file's own."""
    text = text.removeprefix("\ufeff")
    position, doctype = 0, None
    # Up to the root element: "<" not followed by "?" or "!".
    while position < len(text) and not re.match(r"<[^?!]", text[position : position + 2]):
        match = _PROLOG_ITEM.match(text, position)
        if match is None:
            if text.startswith("<!DOCTYPE", position):
                raise _refuse("has a DOCTYPE that is not PubMed's", path, text, position)
            raise _refuse("is not PubMed XML (text before the first element)", path, text, position)
        if match.group("doctype"):
            if doctype is not None:
                raise _refuse("has two DOCTYPE declarations", path, text, position)
            if match.group("end") != ">":
                raise _refuse(
                    "declares entities or rules of its own (an internal DOCTYPE subset); PubMed "
                    "never writes one, and screener does not expand them",
                    path,
                    text,
                    position,
                )
            if match.group("root") not in _ROOTS:
                raise _refuse(
                    f"has a foreign DOCTYPE <!DOCTYPE {match.group('root')} ...>, not PubMed's",
                    path,
                    text,
                    position,
                    hint="export PubMed results as XML from PubMed itself, or use --format",
                )
            doctype = match
        position = match.end()
    root = re.match(r"<([A-Za-z_][\w.:-]*)", text[position:])
    if root is None or root.group(1) not in _ROOTS:
        found = f"root <{root.group(1)}>" if root else "no root element"
        raise _refuse(f"is XML but not PubMed XML ({found}, no <PubmedArticleSet>)", path, text, position)
    dtd = _newest_bundled_pubmed_dtd()
    if doctype is not None:
        declared_at = doctype.start()
        if doctype.group("root") != root.group(1):
            raise _refuse(
                f"declares <!DOCTYPE {doctype.group('root')}> but its root is <{root.group(1)}>",
                path,
                text,
                declared_at,
            )
        system = (doctype.group("system") or doctype.group("public_system") or "")[1:-1]
        if system:
            named = _PUBMED_DTD.search(system.replace("\\", "/").rsplit("/", 1)[-1])
            if named is None or not system.endswith(named.group(0)):
                raise _refuse(
                    f"declares an unknown DTD for PubMed XML: {system!r}",
                    path,
                    text,
                    declared_at,
                    hint="export again from PubMed",
                )
            if named.group(0) in bundled_dtds():
                dtd = named.group(0)
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<!DOCTYPE {root.group(1)} PUBLIC "-//NLM//DTD PubMedArticle//EN" '
        f'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/{dtd}">'
    )
    return head + "\n" * text.count("\n", 0, position) + text[position:]


def parse(text: str, path: str | Path) -> list[Record]:
    text = prepare(text, path)
    try:
        result = entrez_read(text.encode("utf-8"))
    except RefusedXML as exc:
        raise ImportFormatError(str(exc), path=path, hint="export the records again from PubMed") from None
    except (ExpatError, Entrez.Parser.CorruptedXMLError, Entrez.Parser.NotXMLError) as exc:
        cause = getattr(exc, "msg", exc)  # Biopython wraps expat's error, which knows the line
        line = getattr(cause, "lineno", None)
        raise ImportFormatError(
            f"is not well-formed PubMed XML ({cause})",
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
