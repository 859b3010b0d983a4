"""Whatever a file or a collaborator brings: XML that asks for entities or DTDs, rankings of
tiny or degenerate reviews, output paths that cannot be written, commands that need a terminal,
and CSV cells that a spreadsheet would run. Each gives one line and exit code 2, or works."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from screener.errors import ImportFormatError
from screener.importers import parse_bytes
from screener.safexml import RefusedXML, entrez_read

from .conftest import SAMPLES

PUBMED_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every attempt to resolve a name or open a connection is recorded and refused."""
    attempts: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("this test allows no network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def one_error_line(result) -> str:  # noqa: ANN001
    assert result.code == 2, result
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return lines[0]


def assert_import_refused(cli, review, path: Path, *words: str) -> str:  # noqa: ANN001
    before = sorted(p.name for p in review.searches_dir.iterdir())
    message = one_error_line(cli("import", str(path), "--search", "x", "--review", str(review.root)))
    assert str(path) in message
    for word in words:
        assert word in message.lower(), message
    assert sorted(p.name for p in review.searches_dir.iterdir()) == before  # nothing written
    return message


def pubmed_with_prolog(prolog: str, title: str = "A title") -> str:
    """The sample PubMed XML with its prolog replaced and its article title set."""
    text = (SAMPLES / "pubmed.xml").read_text()
    body = text[text.index("<PubmedArticleSet>") :]
    start, end = body.index("<ArticleTitle>"), body.index("</ArticleTitle>")
    return prolog + "\n" + body[: start + len("<ArticleTitle>")] + title + body[end:]


# -- XML: entities, DTDs and schemas from outside are never expanded or fetched --------------

def _laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for n in range(1, 10):
        entities.append(f'<!ENTITY lol{n} "' + f"&lol{n - 1};" * 10 + '">')
    return "".join(entities)


BILLION_LAUGHS = _laughs()  # &lol9; is 10**9 times "lol"


def test_pubmed_xml_billion_laughs_refused(cli, review, tmp_path, no_network):
    doctype = PUBMED_DOCTYPE[:-1] + f" [{BILLION_LAUGHS}]>"
    path = tmp_path / "laughs.xml"
    path.write_text(pubmed_with_prolog('<?xml version="1.0"?>\n' + doctype, "&lol9;"))
    assert_import_refused(cli, review, path, "internal doctype subset")
    assert no_network == []


def test_pubmed_xml_external_entity_never_reads_the_file(cli, review, tmp_path, no_network):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    for entity in (
        f'<!ENTITY secret SYSTEM "file://{secret}">',
        f'<!ENTITY secret SYSTEM "{secret}">',
        '<!ENTITY % remote SYSTEM "https://evil.nlm.nih.gov/x.dtd"> %remote;',
    ):
        path = tmp_path / "xxe.xml"
        path.write_text(pubmed_with_prolog(PUBMED_DOCTYPE[:-1] + f" [{entity}]>", "&secret;"))
        message = assert_import_refused(cli, review, path, "internal doctype subset")
        assert "TOP-SECRET" not in message
    assert no_network == []


@pytest.mark.parametrize(
    "system_id",
    ["evil.dtd", "../../etc/passwd", "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd.evil"],
)
def test_pubmed_xml_unknown_dtd_refused(cli, review, tmp_path, no_network, system_id):
    path = tmp_path / "dtd.xml"
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "{system_id}">'
    path.write_text(pubmed_with_prolog(prolog))
    assert_import_refused(cli, review, path, "unknown dtd")
    assert no_network == []


@pytest.mark.parametrize(
    "system_id",
    [
        "pubmed_250101.dtd",  # relative, bundled
        "../dtd/pubmed_990101.dtd",  # relative, newer than any bundled: the newest bundled one
        "http://www.ncbi.nlm.nih.gov/corehtml/query/DTD/pubmed_180101.dtd",  # old exports
    ],
)
def test_pubmed_xml_relative_or_old_dtd_read_offline(no_network, system_id):
    text = pubmed_with_prolog(f'<!DOCTYPE PubmedArticleSet SYSTEM "{system_id}">', "Offline &amp; safe")
    (record,) = parse_bytes(text.encode(), "rel.xml").records
    assert record.pmid == "12490844" and record.title == "Offline & safe"
    assert no_network == []


def test_pubmed_xml_schema_location_refused(tmp_path, no_network):
    text = pubmed_with_prolog('<?xml version="1.0"?>').replace(
        "<PubmedArticleSet>",
        '<PubmedArticleSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="https://www.ncbi.nlm.nih.gov/x/evil.xsd">',
    )
    with pytest.raises(ImportFormatError, match="schema"):
        parse_bytes(text.encode(), "xsd.xml")
    assert no_network == []


def test_pubmed_xml_declared_latin1_keeps_its_accents():
    """The prolog is rebuilt as UTF-8: a file declared ISO-8859-1 is decoded once, correctly."""
    prolog = '<?xml version="1.0" encoding="ISO-8859-1"?>\n' + PUBMED_DOCTYPE
    text = pubmed_with_prolog(prolog, "Hépatectomie")
    (record,) = parse_bytes(text.encode("latin-1"), "latin.xml").records
    assert record.title == "Hépatectomie"


def test_pubmed_xml_error_lines_point_into_the_file():
    text = pubmed_with_prolog('<?xml version="1.0"?>\n<!-- a\ncomment -->\n' + PUBMED_DOCTYPE)
    broken = text.replace("<Volume>132</Volume>", "<Volume>132</Volumes>")
    with pytest.raises(ImportFormatError) as caught:
        parse_bytes(broken.encode(), "broken.xml")
    assert caught.value.line == broken[: broken.index("</Volumes>")].count("\n") + 1


def test_entrez_answer_naming_an_unbundled_dtd_is_refused(no_network):
    answer = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD x//EN" '
        b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/29990101/esearch_new.dtd">\n'
        b"<eSearchResult><Count>1</Count></eSearchResult>"
    )
    with pytest.raises(RefusedXML, match="not a DTD bundled"):
        entrez_read(answer)
    assert no_network == []


def test_entrez_answer_with_a_bundled_dtd_is_read(no_network):
    answer = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch '
        b'20060628//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
        b"<eSearchResult><Count>3</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/>"
        b"<TranslationSet/><QueryTranslation>q</QueryTranslation></eSearchResult>"
    )
    assert entrez_read(answer)["Count"] == "3"
    assert no_network == []


def endnote_xml(before_root: str = "", title: str = "A title") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>' + before_root + "<xml><records><record>"
        f"<titles><title>{title}</title></titles></record></records></xml>"
    )


@pytest.mark.parametrize(
    "before_root, title",
    [
        # The old check read only the first 4,096 characters.
        ("<!--" + "x" * 5000 + "-->" + f"<!DOCTYPE xml [{BILLION_LAUGHS}]>", "&lol9;"),
        ('<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/hostname">]>', "&secret;"),
        ('<!DOCTYPE xml SYSTEM "relative.dtd">', "A title"),
    ],
)
def test_endnote_xml_doctype_refused_anywhere(cli, review, tmp_path, no_network, before_root, title):
    path = tmp_path / "endnote.xml"
    path.write_text(endnote_xml(before_root, title))
    assert_import_refused(cli, review, path, "doctype")
    assert no_network == []


def test_endnote_xml_plain_still_reads():
    (record,) = parse_bytes(endnote_xml("", "Caf&#233; &amp; liver").encode(), "e.xml").records
    assert record.title == "Café & liver"
