"""CSV, TSV and Excel exports, with column names mapped onto the record model.

Understands the column names of Embase, Scopus, Zotero, Rayyan, Covidence, WoS and ASReview
(including rispy-style names such as `primary_title` and label columns such as
`label_included`); unmapped columns are kept in `Record.extra`.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pandas as pd

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, normalise_pmid, parse_year, split_pages

# Normalised column name (lower case, runs of space/underscore/dot/hyphen as one space) -> field.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "title": (
        "title",
        "primary title",
        "article title",
        "document title",
        "ti",
        "t1",
        "titles",
        "record title",
    ),
    "abstract": ("abstract", "abstract note", "abstracts", "ab", "n2", "notes abstract", "description"),
    "authors": (
        "authors",
        "author",
        "author names",
        "author full names",
        "au",
        "a1",
        "af",
        "first authors",
        "creator",
        "creators",
        "authors full names",
    ),
    "year": (
        "year",
        "publication year",
        "py",
        "pubyear",
        "pub year",
        "publication date",
        "date",
        "year published",
        "y1",
        "publication year year",
    ),
    "doi": ("doi", "do", "di", "digital object identifier"),
    "pmid": ("pmid", "pubmed id", "pubmed", "medline pmid", "pm"),
    "journal": (
        "journal",
        "journal title",
        "source title",
        "publication title",
        "secondary title",
        "t2",
        "jo",
        "jf",
        "so",
        "journal name",
        "journal book",
        "source",
        "alternate title3",
    ),
    "journal_abbrev": (
        "journal abbreviation",
        "abbreviated source title",
        "j2",
        "ja",
        "ji",
        "j9",
        "journal abbrev",
        "alternate title2",
        "alternate title1",
        "iso abbreviation",
    ),
    "volume": ("volume", "vl", "vol"),
    "issue": ("issue", "number", "is", "journal issue"),
    "pages": ("pages", "page", "pg", "page range", "pagination"),
    "start_page": ("start page", "page start", "sp", "bp", "first page"),
    "end_page": ("end page", "page end", "ep", "last page"),
    "keywords": ("keywords", "author keywords", "kw", "manual tags", "de", "keyword", "tags"),
    "mesh": (
        "mesh",
        "mesh terms",
        "mesh headings",
        "index keywords",
        "emtree medical index terms",
        "emtree drug index terms",
        "automatic tags",
        "mh",
    ),
    "language": ("language", "la", "language of original document", "languages"),
    "publication_types": (
        "publication type",
        "publication types",
        "document type",
        "item type",
        "pt",
        "dt",
        "type of reference",
        "type",
        "ty",
    ),
    "url": ("url", "link", "ur", "urls", "open url link"),
    "source_id": (
        "record id",
        "key",
        "accession number",
        "an",
        "eid",
        "ut",
        "ut unique wos id",
        "unique wos id",
        "covidence",
        "covidence #",
        "embase accession number",
    ),
}

# Columns that carry screening labels (ASReview and the labelled datasets): kept verbatim in extra.
LABEL_COLUMNS = (
    "label_included",
    "included",
    "label",
    "final_included",
    "included_label",
    "label_abstract_screening",
    "label_abstract",
    "abstract_included",
    "included_final",
    "include",
    "inclusion",
    "debug_label",
)

_FIELD_OF: dict[str, str] = {name: field for field, names in COLUMN_NAMES.items() for name in names}


def _joined_names() -> dict[str, str]:
    """Every name without its spaces -> its field, leaving out a joined form two fields share."""
    joined: dict[str, set[str]] = {}
    for name, field in _FIELD_OF.items():
        joined.setdefault(name.replace(" ", ""), set()).add(field)
    return {name: next(iter(fields)) for name, fields in joined.items() if len(fields) == 1}


_FIELD_OF_JOINED = _joined_names()


# How R, Excel and databases write an empty cell.
_MISSING = frozenset(("NA", "N/A", "NaN", "nan", "NULL", "null", "None", "#N/A"))


def normalise_column(name: str) -> str:
    return re.sub(r"[\s_.\-#]+", " ", str(name).strip().lower()).strip()


def map_columns(columns: list[str], generation: int = 1) -> dict[str, str]:
    """Which input column fills which record field (first matching column wins), read as
    column generation `generation` reads names (COLUMN_GENERATION)."""
    mapping: dict[str, str] = {}
    for column in columns:
        name = normalise_column(column)
        field = _FIELD_OF.get(name)
        if field is None and generation >= 2:
            field = _FIELD_OF_JOINED.get(name.replace(" ", ""))
        if field and field not in mapping.values() and column not in LABEL_COLUMNS:
            mapping[column] = field
    return mapping


def columns_unread(header: list[str], generation: int, current: int) -> list[str]:
    """The columns of `header` that generation `current` reads as a field and `generation`
    leaves unread (a table imported before they were read: its ids would differ now)."""
    old, new = map_columns(header, generation), map_columns(header, current)
    return [column for column in new if column not in old]


def header_of(data: bytes, path: str | Path, fmt: str) -> list[str]:
    """A table's column names as its import reads them (frame_to_records' columns)."""
    if fmt == "excel":
        frame = read_excel(data, path)
    else:
        from ..textio import decode_bytes

        frame = read_frame_from_text(decode_bytes(data, path)[0], path, strict=False)
    return [str(c) for c in frame.columns]


def _sniff_delimiter(text: str, path: str | Path) -> str:
    """The delimiter is the one the header row uses most (abstracts are full of commas)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in ("\t", ";", "|", ",")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return "\t" if Path(str(path)).suffix.lower() in (".tsv", ".tab") else ","
    return best


def read_frame_from_text(text: str, path: str | Path, strict: bool = True) -> pd.DataFrame:
    """The table, refused when it was cut off or its first row would shift every column;
    `strict=False` reads a stored file as it was read when imported (see `parse_bytes`)."""
    delimiter = _sniff_delimiter(text, path)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise ImportFormatError("has no header row", path=path, hint="is it really a table?") from None
    except pd.errors.ParserError as exc:
        if "EOF inside string" in str(exc):
            raise ImportFormatError(
                "a quoted cell opened here is never closed: the file looks cut off",
                path=path,
                line=_open_quote_line(text, delimiter),
                hint="export it again (or close that quote)",
            ) from None
        line = re.search(r"line (\d+)", str(exc))
        raise ImportFormatError(
            f"cannot be read as a delimited table ({str(exc).strip()})",
            path=path,
            line=int(line.group(1)) if line else None,
            hint="check the quoting on that line, or save it again as CSV (UTF-8)",
        ) from None
    if not strict:
        return frame
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes a first row with one cell more than the header as "row names" and shifts
        # every column of every row by one: titles would be read from the abstract column.
        raise ImportFormatError(
            f"the first row has more cells than the header ({len(frame.columns)}): "
            "a cell holding the separator without quotes?",
            path=path,
            line=_first_row_line(text),
            hint="quote that cell, or save the table again as CSV",
        )
    _check_last_row(text, delimiter, len(frame.columns), path)
    return frame


def _open_quote_line(text: str, delimiter: str) -> int | None:
    """The line where the row holding a never-closed quote starts."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error:
        return start
    return None


def _first_row_line(text: str) -> int:
    """The line of the first row after the header (blank lines are skipped, as pandas does)."""
    lines = text.split("\n")
    filled = (number for number, line in enumerate(lines, start=1) if line.strip())
    next(filled, None)
    return next(filled, 2)


def _check_last_row(text: str, delimiter: str, columns: int, path: str | Path) -> None:
    """Refuse a file cut off in the middle of its last row.

    A cut leaves the last row with fewer cells than the header and no line break at the end.
    Both are needed: some exporters leave out the final line break (Zotero), and a row whose
    trailing empty cells were dropped (Excel does so) still ends with one.
    """
    if text.endswith(("\n", "\r")) or "\n" not in text:
        return
    # The last row starts after the last line break that no quoted cell spans: the one before
    # which the quotes are balanced. Counting quotes is cheap; only the last row is parsed.
    total = text.count('"')
    end = len(text)
    after = 0
    while True:
        newline = text.rfind("\n", 0, end)
        after += text.count('"', newline + 1, end)
        if newline < 0 or (total - after) % 2 == 0:
            break
        end = newline
    start = newline + 1
    if start == 0:
        return  # the header is the only row
    rows = list(csv.reader(io.StringIO(text[start:]), delimiter=delimiter))
    if len(rows) != 1:
        return  # quotes inside unquoted cells: the row cannot be found this way; say nothing
    if len(rows[0]) == 1 and not rows[0][0].strip():
        return  # spaces after the last line break: not a row (pandas skips it too)
    if len(rows[0]) < columns:
        raise ImportFormatError(
            f"the last row has {len(rows[0])} of the header's {columns} cells and the file ends "
            "inside it: the file looks cut off",
            path=path,
            line=text.count("\n", 0, start) + 1,
            hint="export it again (if the row is complete, end it with a line break)",
        )


def record_lines(text: str, path: str | Path) -> list[int]:
    """The line where each data row starts, in the order `parse` returns records."""
    delimiter = _sniff_delimiter(text, path)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    lines, start = [], 1
    for row in reader:
        if len(row) > 1 or any(cell.strip() for cell in row):  # pandas skips only blank lines
            lines.append(start)
        start = reader.line_num + 1
    return lines[1:]  # the first is the header


# An .xlsx is a zip: what it unpacks to is what parsing costs (a 700 KB file can hold a 236 MB
# sheet). Real exports of 100,000 records unpack to well under this.
MAX_EXCEL_UNPACKED = 512 << 20
MAX_EXCEL_RATIO = 250


def _check_unpacked_size(data: bytes, path: str | Path) -> None:
    """Refuse a workbook whose declared contents are far larger than any export (a zip bomb)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ImportFormatError(f"is not a readable .xlsx workbook ({exc})", path=path) from None
    if unpacked > MAX_EXCEL_UNPACKED or unpacked > MAX_EXCEL_RATIO * max(len(data), 1 << 16):
        raise ImportFormatError(
            f"unpacks to {unpacked:,} bytes from {len(data):,}: far more than any export holds",
            path=path,
            hint="export the records again as .csv or .xlsx from the database",
        )


def read_excel(data: bytes, path: str | Path) -> pd.DataFrame:
    _check_unpacked_size(data, path)
    try:
        return pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False)
    except Exception as exc:  # openpyxl/xlrd raise many types for a damaged workbook
        raise ImportFormatError(
            f"cannot be read as an Excel workbook ({exc})",
            path=path,
            hint="open it in a spreadsheet program and save it again as .xlsx or .csv",
        ) from None


_GLUED_AUTHORS = re.compile(r"(?<=[A-Z]\.)(?=[A-Z][a-z])")


def split_authors(value: str) -> list[str]:
    """'A, B; C, D' / 'A and B' / Embase's 'Liu R., Adler D.G.' into names."""
    value = value.strip()
    if not value:
        return []
    if value.startswith("[") and value.endswith("]"):  # ASReview writes Python lists
        try:
            parsed = ast.literal_eval(value)
            if isinstance(parsed, list):
                return [str(a).strip() for a in parsed if str(a).strip()]
        except (ValueError, SyntaxError):
            pass
    if ";" in value:
        return [a.strip() for a in value.split(";") if a.strip()]
    if re.search(r"\s+and\s+", value):
        return [a.strip() for a in re.split(r"\s+and\s+", value) if a.strip()]
    if "\n" in value:
        return [a.strip() for a in value.splitlines() if a.strip()]
    glued = _GLUED_AUTHORS.split(value)
    if len(glued) > 1 and "," not in value:
        # ASySD/EndNote tables glue names together: "Adeli K.Lewis G. F." -> two authors.
        return [a.strip() for a in glued if a.strip()]
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) > 1 and not all(" " in p for p in parts) and len(parts) % 2 == 0:
        # "Smith, John, Doe, Kate": surname, forename pairs
        return [f"{parts[i]}, {parts[i + 1]}" for i in range(0, len(parts), 2)]
    return parts


def _split_list(value: str) -> list[str]:
    return [p.strip() for p in re.split(r"\s*[;\n]\s*", value) if p.strip()]


_EMBASE_SOURCE = re.compile(
    r"^(?P<journal>.+?)\s*\((?P<year>\d{4})\)\s*(?P<volume>[^:\s(]*)(?::(?P<issue>[^\s(]*))?"
    r"\s*(?:\((?P<pages>[^)]*)\))?"
)


def frame_to_records(frame: pd.DataFrame, path: str | Path, generation: int = 1) -> list[Record]:
    columns = [str(c) for c in frame.columns]
    mapping = map_columns(columns, generation)
    if "title" not in mapping.values():
        raise ImportFormatError(
            f"has no title column (columns: {', '.join(columns[:12])}{', ...' if len(columns) > 12 else ''})",
            path=path,
            line=1,
            hint="rename the title column to 'title', or pass --format if this is not a table",
        )
    by_field = {field: column for column, field in mapping.items()}
    id_column = by_field.get("source_id")
    if id_column and frame[id_column].duplicated().any():
        # An id column with repeats cannot identify records; ids fall back to the content.
        del mapping[id_column], by_field["source_id"]
    extra_columns = [c for c in columns if c not in mapping]
    records = []
    rows = frame.to_dict("records")
    for row in rows:

        def get(field: str, row: dict = row) -> str:
            column = by_field.get(field)
            if not column:
                return ""
            value = str(row[column]).strip()
            return "" if value in _MISSING else value

        journal = get("journal")
        volume, issue, pages = get("volume"), get("issue"), get("pages")
        year = parse_year(get("year"))
        source = _EMBASE_SOURCE.match(journal) if by_field.get("journal") == "Source" else None
        if source:  # Embase: "Endoscopic Ultrasound (2014) 3:3 (152-160). Date of Publication: 2014"
            journal = source.group("journal")
            year = year or int(source.group("year"))
            volume = volume or source.group("volume") or ""
            issue = issue or source.group("issue") or ""
            pages = pages or source.group("pages") or ""
        record = Record(
            source_id=get("source_id"),
            pmid=normalise_pmid(get("pmid")),
            doi=get("doi") or normalise_doi(get("url")),
            title=get("title"),
            abstract=get("abstract"),
            authors=split_authors(get("authors")),
            year=year,
            journal=journal,
            journal_abbrev=get("journal_abbrev"),
            volume=volume,
            issue=issue,
            pages=pages or split_pages(get("start_page"), get("end_page")),
            keywords=_split_list(get("keywords")),
            mesh=_split_list(get("mesh")),
            publication_types=_split_list(get("publication_types")),
            language=get("language"),
            url=get("url"),
            extra={c: str(row[c]) for c in extra_columns if str(row[c]).strip()},
        )
        records.append(record)
    return records


def parse(text: str, path: str | Path, strict: bool = True, generation: int = 1) -> list[Record]:
    return frame_to_records(read_frame_from_text(text, path, strict), path, generation)


def parse_excel(data: bytes, path: str | Path, generation: int = 1) -> list[Record]:
    return frame_to_records(read_excel(data, path), path, generation)
