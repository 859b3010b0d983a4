"""Whatever a file or a collaborator brings: XML that asks for entities or DTDs, rankings of
tiny or degenerate reviews, output paths that cannot be written, commands that need a terminal,
and CSV cells that a spreadsheet would run. Each gives one line and exit code 2, or works."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
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
    errors = [line for line in lines if line.startswith("error: ")]
    # One error line, the last (a progress bar may stand above it).
    assert len(errors) == 1 and lines[-1] == errors[0], result.err
    return errors[0]


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


# -- a small review built through the CLI -----------------------------------------------------


def make_review(cli, tmp_path: Path, rows: list[tuple[str, str, str]], database: str = "Embase") -> Path:  # noqa: ANN001
    """A review with screeners alice and bob, resolver carol, and one search of these
    (title, authors, year) rows."""
    root = tmp_path / "review"
    people = ("--reviewer", "alice", "--reviewer", "bob", "--reviewer", "carol:resolver")
    assert cli("init", str(root), *people).code == 0
    export = tmp_path / "export.csv"
    with export.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "authors", "year", "journal"])
        for title, authors, year in rows:
            writer.writerow([title, "", authors, year, "Surgery"])
    result = cli("import", str(export), "--search", "s", "--database", database, "--review", str(root))
    assert result.code == 0, result
    return root


SAME_WORDS = [
    ("Liver resection (A)", "Smith J", "2001"),
    ("Liver resection (B)", "Jones K", "2005"),
    ("Liver resection (C)", "Brown P", "2010"),
]


def ids_in_order(cli, root: Path) -> list[str]:  # noqa: ANN001
    result = cli("rank", "--reviewer", "alice", "--json", "--review", str(root))
    assert result.code == 0, result
    return [r["record_id"] for r in json.loads(result.out)["records"]]


def test_rank_review_whose_records_share_every_word(cli, tmp_path):
    root = make_review(cli, tmp_path, SAME_WORDS)
    first, second, third = ids_in_order(cli, root)
    assert cli("label", "--reviewer", "alice", first, "include", "--review", str(root)).code == 0
    assert cli("label", "--reviewer", "alice", second, "exclude", "--review", str(root)).code == 0
    result = cli("rank", "--reviewer", "alice", "--json", "--review", str(root))
    assert result.code == 0, result
    report = json.loads(result.out)
    assert report["model"] is False and "ranking is off" in report["notice"]
    assert [r["record_id"] for r in report["records"]] == [third]
    text = cli("rank", "--reviewer", "alice", "--review", str(root))
    assert text.code == 0 and "ranking is off" in text.err and "Traceback" not in text.err


@pytest.mark.parametrize("count", [1, 2, 3])
def test_rank_tiny_reviews(cli, tmp_path, count):
    root = make_review(cli, tmp_path, SAME_WORDS[:count])
    ids = ids_in_order(cli, root)
    assert len(ids) == count
    for record_id, decision in zip(ids, ["include", "exclude"], strict=False):
        assert cli("label", "--reviewer", "alice", record_id, decision, "--review", str(root)).code == 0
    assert len(ids_in_order(cli, root)) == max(count - 2, 0)


def test_background_ranking_failure_is_told_not_raised(tmp_path):
    from screener.records import Record
    from screener.screening.decisions import DecisionLog
    from screener.screening.screen import BackgroundRanking, ScreenSession

    class Failing:
        notice, fitted = "", False

        def fit(self, labelled, y) -> None:  # noqa: ANN001
            raise RuntimeError("solver blew up")

    records = [Record(id=f"r{k}", title=f"title {k}") for k in range(4)]
    log = DecisionLog(tmp_path / "alice.csv")
    session = ScreenSession("title-abstract", records, log, [], order="ranked")
    background = BackgroundRanking(Failing())
    session.rerank = background
    session.decide("include")
    background.wait()
    session.decide("exclude")  # the failure is noticed here and told once
    background.wait()
    assert "ranking stopped" in session.message and "solver blew up" in session.message
    session.decide("include")
    assert session.message == "saved: include"  # told once; screening goes on in file order
    assert [d.decision for d in log.read()] == ["include", "exclude", "include"]


# -- commands that read keystrokes need a terminal --------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("screen", "--reviewer", "alice"),
        ("resolve", "--reviewer", "carol"),
        ("dedup", "--review"),
    ],
)
def test_interactive_commands_without_a_terminal(cli, tmp_path, args):
    root = make_review(cli, tmp_path, SAME_WORDS)
    labels_before = sorted(p.relative_to(root) for p in (root / "labels").rglob("*"))
    message = one_error_line(cli("--review", str(root), *args))
    assert "needs an interactive terminal" in message
    assert sorted(p.relative_to(root) for p in (root / "labels").rglob("*")) == labels_before


def test_interactive_commands_without_a_terminal_in_a_real_process(tmp_path, cli):
    """Standard input from /dev/null, as in a CI job: one line, exit 2 (click's getchar used to
    fail in the terminal library with a traceback)."""
    root = make_review(cli, tmp_path, SAME_WORDS)
    for args in (["dedup", "--review"], ["resolve", "--reviewer", "carol"], ["screen", "--reviewer", "bob"]):
        done = subprocess.run(
            [sys.executable, "-m", "screener", "--review", str(root), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and "needs an interactive terminal" in done.stderr, done
        assert "Traceback" not in done.stderr


# -- output paths the user names --------------------------------------------------------------


def output_commands(root: Path, dataset: Path, target: Path) -> list[list[str]]:
    review = ["--review", str(root)]
    return [
        ["export", "--format", "csv", "--decision", "all", "-o", str(target), *review],
        ["prisma", "--diagram", str(target.with_suffix(".svg")), *review],
        ["dedup", "--output", str(target)],
        ["dedup", "--pairs-out", str(target)],
        ["dedup", "--input", str(dataset), "--output", str(target)],
        ["simulate", str(dataset), "--plot", str(target.with_suffix(".png"))],
        ["simulate", str(dataset), "--orders-out", str(target.with_suffix(""))],
    ]


def labelled_dataset(tmp_path: Path) -> Path:
    dataset = tmp_path / "dataset.csv"
    dataset.write_text("title,label_included\nliver resection,1\npancreas surgery,0\nheart failure,0\n")
    return dataset


def test_output_into_a_missing_folder(cli, tmp_path, monkeypatch):
    root = make_review(cli, tmp_path, SAME_WORDS)
    monkeypatch.chdir(root)  # dedup finds the review upward
    for args in output_commands(root, labelled_dataset(tmp_path), tmp_path / "no-such-folder" / "out.csv"):
        message = one_error_line(cli(*args))
        assert "no-such-folder does not exist" in message, args
    assert not (tmp_path / "no-such-folder").exists()  # never created


def test_output_inside_a_file(cli, tmp_path, monkeypatch):
    root = make_review(cli, tmp_path, SAME_WORDS)
    monkeypatch.chdir(root)
    blocker = tmp_path / "a-file"
    blocker.write_text("keep")
    for args in output_commands(root, labelled_dataset(tmp_path), blocker / "out.csv"):
        message = one_error_line(cli(*args))
        assert "is not a folder" in message, args
    assert blocker.read_text() == "keep"


def test_output_that_cannot_be_written(cli, tmp_path, monkeypatch):
    """A write that fails (permission, disk full, read-only file system) is one line, and
    nothing is left at the path."""
    import screener.textio

    root = make_review(cli, tmp_path, SAME_WORDS)
    monkeypatch.chdir(root)

    def refuse(path, data, durable=True):  # noqa: ANN001
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(screener.textio, "atomic_write_bytes", refuse)
    target = tmp_path / "out" / "file.csv"
    target.parent.mkdir()
    for args in output_commands(root, labelled_dataset(tmp_path), target):
        if "--orders-out" in args:
            continue  # a folder: made, then its files written (covered by the others)
        message = one_error_line(cli(*args))
        assert "cannot be written (Permission denied)" in message, args
    assert list(target.parent.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_into_a_read_only_folder(cli, tmp_path):
    root = make_review(cli, tmp_path, SAME_WORDS)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        args = ["export", "--format", "ris", "-o", str(locked / "x.ris"), "--review", str(root)]
        assert "cannot be written" in one_error_line(cli(*args))
    finally:
        locked.chmod(0o755)


def test_outputs_written_where_asked(cli, tmp_path, monkeypatch):
    root = make_review(cli, tmp_path, SAME_WORDS)
    monkeypatch.chdir(root)
    out = tmp_path / "out"
    out.mkdir()
    for args in output_commands(root, labelled_dataset(tmp_path), out / "result.csv"):
        result = cli(*args, *(["--json"] if args[0] in ("dedup", "simulate") else []))
        assert result.code == 0, (args, result)
    assert (out / "result.csv").stat().st_size > 0 and (out / "result.svg").stat().st_size > 1000
    assert (out / "result.png").stat().st_size > 1000 and list((out / "result").glob("*.csv"))


# -- CSV for people: formula protection; the review's own files keep what was typed ------------


def test_people_csv_outputs_cannot_run_formulas(cli, tmp_path, monkeypatch):
    hostile = '=HYPERLINK("http://evil.example","click")'
    dataset = tmp_path / "ids.csv"
    with dataset.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "authors", "year"])
        writer.writerow([hostile, "Liver resection outcomes in fifty patients", "Smith J", "2001"])
        writer.writerow(["@SUM(A1)", "Liver resection outcomes in fifty patients", "Smith J", "2001"])
        writer.writerow(["-2+3", "Pancreas surgery outcomes", "Lee K", "2004"])
    clusters, pairs = tmp_path / "clusters.csv", tmp_path / "pairs.csv"
    outputs = ("--output", str(clusters), "--pairs-out", str(pairs))
    result = cli("dedup", "--input", str(dataset), "--id-column", "id", *outputs)
    assert result.code == 0, result
    ids = [row["id"] for row in csv.DictReader(clusters.open())]
    assert ids == ["'" + hostile, "'@SUM(A1)", "'-2+3"]
    (pair,) = [row for row in csv.DictReader(pairs.open()) if row["label"] == "duplicate"]
    assert (pair["id_1"], pair["id_2"]) == ("'" + hostile, "'@SUM(A1)")
    assert float(pair["title"]) == 100.0  # computed numbers stay numbers

    # searches/NAME.toml's database name, from a collaborator, in the PRISMA2020 template.
    root = make_review(cli, tmp_path, SAME_WORDS, database=hostile)
    template = cli("prisma", "--format", "csv", "--review", str(root))
    assert template.code == 0, template
    cells = [cell for row in csv.reader(io.StringIO(template.out)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert any(cell.startswith("'=HYPERLINK(") for cell in cells)

    # The reviewer's own note goes into labels/ exactly as typed.
    record_id = ids_in_order(cli, root)[0]
    note = "=1+1 check dose"
    args = ("label", "--reviewer", "alice", record_id, "include", "--note", note, "--review", str(root))
    assert cli(*args).code == 0
    rows = list(csv.DictReader((root / "labels" / "title-abstract" / "alice.csv").open()))
    assert rows[-1]["note"] == note


def test_rank_says_how_its_order_relates_to_the_screens(cli, tmp_path, monkeypatch):
    # Two models take turns in the screen: rank's list is the ranking applied from the next
    # decision, and it says so (the team read rank 1 as the screen's first record).
    monkeypatch.setenv("COLUMNS", "300")
    root = make_review(cli, tmp_path, SAME_WORDS)
    help_text = " ".join(cli("rank", "--help").out.split())
    assert "applies from the reviewer's next decision" in help_text and "first record may differ" in help_text
    text = " ".join(cli("rank", "--reviewer", "alice", "--review", str(root)).out.split())
    assert "applies this ranking from your next decision on; its first record may differ" in text
    report = json.loads(cli("rank", "--reviewer", "alice", "--json", "--review", str(root)).out)
    assert "first record may differ" in report["order"]
