"""Issue #24: citation searching (`screener chase`) against real HTTP servers on 127.0.0.1 that
answer in OpenAlex's and Europe PMC's documented formats (tests/openalex_server.py), faults
included. Nothing here reaches the network."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from screener.chase import europepmc as epmc_module
from screener.chase import openalex as oa_module
from screener.chase import provenance
from screener.chase.model import Seed
from screener.chase.openalex import SERVICE, OpenAlexSource, abstract_text
from screener.errors import ScreenerError
from screener.net import JsonClient, NetSettings
from screener.prisma import prisma_counts
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

from .openalex_server import CitationServer, Fault, Graph, Work

TA, FT = "title-abstract", "full-text"
SEED_A, SEED_B, SEED_D, SEED_E = "pmid:100", "doi:10.1000/b", "pmid:300", "pmid:999"

DATABASE = """title,authors,year,pmid,doi,abstract,journal,volume,issue,pages
"Seed A: liver resection for metastases","Alice Author; Bob Second",2010,100,10.1000/a,"A cohort.",J,1,1,1-9
"Seed B: embolisation outcomes","Carol Third",2011,,10.1000/b,"A trial.",J,1,1,1-9
"Seed C: a conference abstract without identifiers","Dan Fourth",2012,,,"No ids at all.",J,1,1,1-9
"Work D: already in the review","Eve Fifth",2009,300,10.1000/d,"Also cited by seed A.",J,1,1,1-9
"Seed E: unknown to every source","Fay Sixth",2013,999,,"Nobody indexed it.",J,1,1,1-9
"""


def graph() -> Graph:
    """A: refs W10..W13 (W13 is D, in the review), cited by W30..W34; B: refs W11, W14;
    W10 refs W20 (depth 2); W30 is cited by W40 (depth 2)."""
    works = [
        Work(
            "W1",
            "Seed A: liver resection for metastases",
            2010,
            "10.1000/a",
            "100",
            refs=["W10", "W11", "W12", "W13"],
        ),
        Work("W2", "Seed B: embolisation outcomes", 2011, "10.1000/b", "", refs=["W11", "W14"]),
        Work(
            "W10",
            "Reference ten",
            2001,
            "10.1000/r10",
            "110",
            abstract="Ten is a reference of A",
            refs=["W20"],
        ),
        Work("W11", "Reference eleven", 2002, "10.1000/r11", "111"),
        Work("W12", "Reference twelve", 2003, "", "112"),
        Work("W13", "Work D: already in the review", 2009, "10.1000/d", "300"),
        Work("W14", "Reference fourteen", 2004, "10.1000/r14", "114"),
        Work("W20", "Reference of reference", 1999, "10.1000/r20", "120"),
        *[
            Work(f"W3{k}", f"Citing work {k}", 2015 + k, f"10.1000/c3{k}", f"13{k}", refs=["W1"])
            for k in range(5)
        ],
        Work("W40", "Citing a citing work", 2021, "10.1000/c40", "140", refs=["W30"]),
    ]
    return Graph(works)


def vote(review: Review, stage: str, record_id: str, decision: str) -> None:
    for name in ("alice", "bob"):
        DecisionLog(decision_path(review.labels_dir, stage, name)).append(record_id, decision, "")


@pytest.fixture
def chase_review(tmp_path: Path) -> Review:
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    (tmp_path / "db.csv").write_text(DATABASE)
    # Each database record is at least as complete as its chase copy, so it represents its study:
    # see test_duplicate_counted_whichever_record_represents_the_study.
    review.import_file(tmp_path / "db.csv", "base", database="Embase")
    seed_c = next(r.id for r in review.records() if r.title.startswith("Seed C"))
    for record_id in (SEED_A, SEED_B, seed_c, SEED_E):
        vote(review, TA, record_id, "include")
        vote(review, FT, record_id, "include")
    vote(review, TA, SEED_D, "exclude")
    return review


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with CitationServer(graph()) as running:
        monkeypatch.setenv("SCREENER_OPENALEX_URL", running.openalex_url)
        monkeypatch.setenv("SCREENER_EUROPEPMC_URL", running.europepmc_url)
        monkeypatch.setenv("SCREENER_HTTP_BACKOFF", "0")
        monkeypatch.setenv("SCREENER_CACHE_DIR", str(tmp_path / "cache"))  # each test asks afresh
        yield running


def stored_rows(review: Review, name: str) -> list[dict[str, str]]:
    search = review.search(name)
    assert search is not None and search.kind == "citations"
    data = review.raw_file_path(search.files[0]).read_text()
    return list(csv.DictReader(io.StringIO(data)))


def test_both_directions_one_level_from_openalex(cli, chase_review, server) -> None:
    result = cli("chase", "--search", "cites", "--source", "openalex", "--json", cwd=chase_review.root)
    assert result.code == 0, result
    rows = stored_rows(chase_review, "cites")
    titles = {r["title"] for r in rows}
    assert titles == {
        "Reference ten",
        "Reference eleven",
        "Reference twelve",
        "Work D: already in the review",
        "Reference fourteen",
        *[f"Citing work {k}" for k in range(5)],
    }
    eleven = next(r for r in rows if r["title"] == "Reference eleven")  # a reference of both seeds
    assert eleven["chase_seed"] == f"{SEED_A}\n{SEED_B}"
    assert eleven["chase_direction"] == "backward\nbackward" and eleven["chase_depth"] == "1\n1"
    assert next(r for r in rows if r["title"] == "Reference ten")["abstract"] == "Ten is a reference of A"
    citing = next(r for r in rows if r["title"] == "Citing work 2")
    assert (citing["chase_seed"], citing["chase_direction"], citing["chase_source"]) == (
        SEED_A,
        "forward",
        "openalex",
    )
    # The seed with no DOI or PMID is listed, not silently skipped; the unknown seed is named.
    assert "has no DOI or PMID and is not chased" in result.err
    search = chase_review.search("cites")
    assert "seeds without DOI or PMID" in search.notes and SEED_E in search.notes
    # PRISMA: the citations count is the distinct works found; D is an other-methods duplicate.
    counts = prisma_counts(chase_review)
    assert counts.count("citations_results") == len(rows) == 10
    assert SEED_D in counts.boxes["other_duplicates"]


def test_duplicate_counted_whichever_record_represents_the_study(cli, chase_review, server, tmp_path) -> None:
    (tmp_path / "bare.csv").write_text('title,pmid\n"Reference twelve",112\n')
    chase_review.import_file(tmp_path / "bare.csv", "bare", database="Handsearch")
    assert cli("chase", "--search", "cites", "--source", "openalex", cwd=chase_review.root).code == 0
    assert "pmid:112" in prisma_counts(chase_review).boxes["other_duplicates"]


def test_depth_two_follows_both_directions_through_several_pages(
    cli, chase_review, server, monkeypatch
) -> None:
    monkeypatch.setattr(oa_module, "PER_PAGE", 2)  # five citing works: three pages
    monkeypatch.setattr(oa_module, "BATCH", 2)
    result = cli("chase", "--search", "deep", "--source", "openalex", "--depth", "2", cwd=chase_review.root)
    assert result.code == 0, result
    rows = {r["title"]: r for r in stored_rows(chase_review, "deep")}
    assert rows["Reference of reference"]["chase_depth"] == "2"
    assert rows["Reference of reference"]["chase_via"] == "W10"
    assert rows["Citing a citing work"]["chase_direction"] == "forward"
    assert rows["Citing a citing work"]["chase_via"] == "W30"
    pages = [r for r in server.graph.log if r.params.get("filter", "").startswith("cites:")]
    assert {r.params["cursor"] for r in pages} >= {"*", "c2", "c4"}


def test_europe_pmc_pages_and_a_seed_without_pmid(cli, chase_review, server, monkeypatch) -> None:
    monkeypatch.setattr(epmc_module, "PAGE_SIZE", 2)
    result = cli("chase", "--search", "epmc", "--source", "europepmc", "--json", cwd=chase_review.root)
    assert result.code == 0, result
    rows = {r["title"] for r in stored_rows(chase_review, "epmc")}
    assert {"Reference ten", "Citing work 4", "Work D: already in the review"} <= rows
    assert "Reference fourteen" not in rows  # B has no PMID: Europe PMC does not know it
    assert '"doi:10.1000/b"' in result.out and '"pmid:999"' in result.out  # seeds_not_found


def test_dry_run_counts_lookups_and_asks_nothing(cli, chase_review, server) -> None:
    result = cli("chase", "--search", "x", "--dry-run", "--json", cwd=chase_review.root)
    assert result.code == 0, result
    assert '"lookups": 18' in result.out  # 3 identified seeds x 2 sources x (1 + 2 directions)
    assert server.graph.log == [] and chase_review.search("x") is None


def test_second_run_is_answered_from_the_cache(cli, chase_review, server) -> None:
    assert cli("chase", "--search", "one", "--source", "openalex", cwd=chase_review.root).code == 0
    asked = len(server.graph.log)
    result = cli(
        "chase", "--search", "two", "--source", "openalex", "--backward", "--json", cwd=chase_review.root
    )
    assert result.code == 0, result
    assert len(server.graph.log) == asked and '"requests": 0' in result.out
    # The same chase again finds the same works: said, and nothing written.
    same = cli("chase", "--search", "three", "--source", "openalex", cwd=chase_review.root)
    assert same.code == 2 and "found exactly what search 'one' holds" in same.err
    assert chase_review.search("three") is None and len(server.graph.log) == asked


def test_interrupted_chase_resumes_without_asking_again(cli, chase_review, server) -> None:
    server.graph.faults = [Fault("cites%3A", "500") for _ in range(10)]  # more than the retries
    failed = cli("chase", "--search", "cut", "--source", "openalex", cwd=chase_review.root)
    assert failed.code == 2 and "kept failing" in failed.err and chase_review.search("cut") is None
    before = [r.path + str(sorted(r.params.items())) for r in server.graph.log if r.status == 200]
    server.graph.faults = []
    server.graph.log.clear()
    assert cli("chase", "--search", "cut", "--source", "openalex", cwd=chase_review.root).code == 0
    again = [r.path + str(sorted(r.params.items())) for r in server.graph.log]
    assert again and not set(again) & set(before)


@pytest.mark.parametrize("fault", ["429", "500", "truncate"])
def test_a_fault_then_success(fault, server) -> None:
    slept: list[float] = []
    server.graph.faults = [Fault("works/doi:10.1000/a", fault, retry_after="7")]
    client = JsonClient(SERVICE, NetSettings(backoff_base=0.01), sleep=slept.append)
    work = OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
    assert work is not None and work.key == "W1" and work.refs == ["W10", "W11", "W12", "W13"]
    assert len(slept) == 1 and client.requests == 2
    if fault == "429":
        assert slept[0] >= 7  # Retry-After honoured
    # The faulty answer was not cached: the next client is answered from the cache.
    again = JsonClient(SERVICE, NetSettings(), sleep=slept.append)
    assert OpenAlexSource(again).lookup(Seed(SEED_A, doi="10.1000/a")) is not None
    assert again.requests == 0 and again.cached == 1


def test_not_found_is_an_answer_not_a_failure(server) -> None:
    client = JsonClient(SERVICE, NetSettings(backoff_base=0))
    assert OpenAlexSource(client).lookup(Seed(SEED_E, pmid="999")) is None
    assert [r.status for r in server.graph.log] == [404]


def test_an_unreachable_server_is_one_line_at_once(cli, chase_review, monkeypatch, tmp_path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("SCREENER_OPENALEX_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("SCREENER_CACHE_DIR", str(tmp_path / "cache"))
    result = cli("chase", "--search", "x", "--source", "openalex", cwd=chase_review.root)
    assert result.code == 2 and "cannot reach OpenAlex" in result.err and "Traceback" not in result.err


def test_a_bad_base_url_is_refused(cli, chase_review, monkeypatch) -> None:
    monkeypatch.setenv("SCREENER_OPENALEX_URL", "ftp://example")
    result = cli("chase", "--search", "x", "--source", "openalex", cwd=chase_review.root)
    assert result.code == 2 and "SCREENER_OPENALEX_URL" in result.err


def test_keys_are_sent_but_never_cached(server, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OPENALEX_API_KEY", "secret-key")
    monkeypatch.setenv("OPENALEX_EMAIL", "me@example.org")
    client = JsonClient(SERVICE, NetSettings())
    OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
    client.close()
    assert server.graph.log[0].params["api_key"] == "secret-key"
    assert server.graph.log[0].params["mailto"] == "me@example.org"
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"secret-key" not in stored


def test_seed_provenance_reaches_the_report_and_prisma_explain(cli, chase_review, server) -> None:
    assert (
        cli("chase", "--search", "cites", "--source", "openalex", "--backward", cwd=chase_review.root).code
        == 0
    )
    paths = provenance(chase_review.records("cites"))
    assert [p.describe() for p in paths["pmid:111"]] == [
        f"backward from {SEED_A} (depth 1, openalex)",
        f"backward from {SEED_B} (depth 1, openalex)",
    ]
    explained = cli("prisma", "--explain", "citations_results", cwd=chase_review.root)
    assert f"pmid:114\tbackward from {SEED_B} (depth 1, openalex)" in explained.out
    report = cli("report", "-o", str(chase_review.root / "report.html"), cwd=chase_review.root)
    assert report.code == 0, report
    page = (chase_review.root / "report.html").read_text()
    assert "backward from doi:10.1000/b (depth 1, openalex)" in page


def test_no_seed_yet_says_what_to_do(cli, tmp_path, server) -> None:
    review = Review(init_review(tmp_path / "empty"))
    (tmp_path / "db.csv").write_text(DATABASE)
    review.import_file(tmp_path / "db.csv", "db")
    result = cli("chase", "--search", "x", cwd=review.root)
    assert result.code == 2 and "no study is included at full-text" in result.err


def test_abstract_rebuilt_from_the_inverted_index() -> None:
    assert (
        abstract_text(
            {
                "Despite": [0],
                "growing": [1],
                "interest": [2],
                "in": [3, 6],
                "the": [4],
                "field": [5],
                "practice": [7],
            }
        )
        == "Despite growing interest in the field in practice"
    )
    assert abstract_text(None) == ""


def test_seed_ids_with_separators_survive_the_stored_file() -> None:
    from screener.chase import Found, FoundPath, to_csv
    from screener.chase.model import Work as Found_work
    from screener.importers import parse_bytes

    sici = "doi:10.1002/(sici)1097-0258(19980515)17:9<1033::aid-sim784>3.0.co;2-2"
    paths = [
        FoundPath(sici, "backward", 1, "openalex"),
        FoundPath("x:a,b", "forward", 2, "europepmc", "MED:1"),
    ]
    data = to_csv([Found(Found_work("openalex", "W9", "A title", doi="10.1000/w9"), paths)], "2026-01-01")
    records = parse_bytes(data, "c.csv", "csv", "c").records
    assert provenance(records) == {"doi:10.1000/w9": paths}


def test_unknown_seed_id_is_refused(cli, chase_review, server) -> None:
    result = cli("chase", "--search", "x", "--ids", "pmid:42", cwd=chase_review.root)
    assert result.code == 2 and "no record 'pmid:42'" in result.err and server.graph.log == []


def test_a_chase_that_finds_nothing_is_a_search_with_no_file(cli, chase_review, server) -> None:
    result = cli("chase", "--search", "none", "--ids", SEED_E, cwd=chase_review.root)
    assert result.code == 0, result
    assert "0 distinct works" in result.out and "OpenAlex does not know 1 seed: pmid:999" in result.err
    search = chase_review.search("none")
    assert search is not None and search.kind == "citations" and search.files == [] and SEED_E in search.notes


def test_a_chase_never_rewrites_a_database_study(cli, tmp_path, server) -> None:
    """A chase brings OpenAlex's copy of an included study (with a PMID the Embase record lacks,
    and OpenAlex's volume, pages and authors): the study keeps its id and the team's data; the
    copy only fills what Embase lacks; the per-search table agrees with PRISMA."""
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    (tmp_path / "db.csv").write_text(
        "title,authors,year,doi,journal,volume,issue,pages\n"
        '"Seed A: liver resection for metastases","Zed Team; Yan Other",2010,10.1000/A,J,7,4,100-109\n'
        '"Reference eleven","Xu Writer",2002,10.1000/r11,J,8,,\n'
    )
    review.import_file(tmp_path / "db.csv", "base", database="Embase")
    vote(review, TA, "doi:10.1000/a", "include")
    vote(review, FT, "doi:10.1000/a", "include")
    vote(review, TA, "doi:10.1000/r11", "include")
    vote(review, FT, "doi:10.1000/r11", "include")
    assert cli("chase", "--search", "cites", "--source", "openalex", cwd=review.root).code == 0
    from screener.dedup import dedup_review

    outcome = dedup_review(review)
    studies = {s.id: s for s in outcome.studies()}
    eleven = studies["doi:10.1000/r11"]  # the copy from the chase has pmid:111: the id stays
    assert (eleven.authors, eleven.volume, eleven.pages, eleven.pmid) == (["Xu Writer"], "8", "10-19", "111")
    assert eleven.issue == "2"  # Embase has none: OpenAlex fills it
    seed = studies["doi:10.1000/a"]
    assert (seed.authors, seed.volume, seed.issue, seed.pages) == (
        ["Zed Team", "Yan Other"],
        "7",
        "4",
        "100-109",
    )
    removed = {s.name: s.duplicates_removed for s in outcome.searches}
    assert removed["base"] == 0
    # both included studies come back (each cites or is cited by the other): two duplicates
    assert removed["cites"] == len(prisma_counts(review, outcome).boxes["other_duplicates"]) == 2
    exported = cli("export", "--format", "csv", "-o", str(tmp_path / "out.csv"), cwd=review.root)
    assert exported.code == 0, exported
    rows = {r["study_id"]: r for r in csv.DictReader((tmp_path / "out.csv").open())}
    assert rows["doi:10.1000/r11"]["authors"] == "Xu Writer" and "pmid:111" not in rows


def test_no_seed_to_chase_writes_nothing(cli, chase_review, server) -> None:
    seed_c = next(r.id for r in chase_review.records() if r.title.startswith("Seed C"))
    before = sorted(p.name for p in (chase_review.root / "searches").iterdir())
    result = cli("chase", "--search", "x", "--ids", seed_c, cwd=chase_review.root)
    assert result.code == 2 and "no seed has a DOI or PMID" in result.err and "Traceback" not in result.err
    assert "next:" not in result.out and server.graph.log == []
    assert sorted(p.name for p in (chase_review.root / "searches").iterdir()) == before


def test_a_chase_that_finds_nothing_says_so(cli, chase_review, server) -> None:
    result = cli("chase", "--search", "none", "--ids", SEED_E, "--source", "openalex", cwd=chase_review.root)
    assert result.code == 0, result
    assert "recorded search 'none' with 0 works" in result.out and "next: screener dedup" not in result.out
    assert (
        "1 seed chased (1 unknown to the sources)" in result.out and "1 seeds" not in result.out + result.err
    )


def test_ids_match_as_dedup_does_and_the_summary_counts_seeds_chased(cli, chase_review, server) -> None:
    seed_c = next(r.id for r in chase_review.records() if r.title.startswith("Seed C"))
    ids = ["--ids", "DOI:10.1000/A", "--ids", "doi:10.1000/B", "--ids", seed_c, "--ids", SEED_E]
    result = cli("chase", "--search", "x", "--source", "openalex", "--backward", *ids, cwd=chase_review.root)
    assert result.code == 0, result
    assert (
        "5 distinct works from 3 seeds chased (1 without DOI or PMID, 1 unknown to the sources)" in result.out
    )
    assert "(Seed C: a conference abstract without identifiers)" in result.err  # short: whole


def test_a_long_seed_title_is_cut_with_an_ellipsis(cli, tmp_path, server) -> None:
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    long_title = "A conference abstract whose title runs on " + "and on " * 10
    (tmp_path / "db.csv").write_text(f'title,year\n"{long_title}",2012\n"Other",2013\n')
    review.import_file(tmp_path / "db.csv", "base")
    ids = [r.id for r in review.records()]
    result = cli("chase", "--search", "x", "--ids", ids[0], "--dry-run", cwd=review.root)
    assert result.code == 2  # no seed has an identifier
    from screener.cli.chase import shorten

    assert shorten(long_title, 60).endswith("…") and len(shorten(long_title, 60)) == 60
    assert shorten("Short", 60) == "Short"


def test_a_seed_with_a_pmid_only_is_found_through_europe_pmc(cli, chase_review, server, tmp_path) -> None:
    (tmp_path / "twelve.csv").write_text('title,pmid\n"Reference twelve",112\n')
    chase_review.import_file(tmp_path / "twelve.csv", "twelve", database="MEDLINE")
    args = ("chase", "--search", "x", "--ids", "pmid:112", "--source", "europepmc", "--forward")
    result = cli(*args, cwd=chase_review.root)
    assert result.code == 0, result
    assert [p.params["query"] for p in server.graph.log if p.path.endswith("search")] == [
        "EXT_ID:112 AND SRC:MED"
    ]
    assert "does not know" not in result.err
    assert {r["title"] for r in stored_rows(chase_review, "x")} == {"Seed A: liver resection for metastases"}


def test_an_unreachable_europe_pmc_suggests_openalex(cli, chase_review, server, monkeypatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("SCREENER_EUROPEPMC_URL", f"http://127.0.0.1:{port}/")
    result = cli("chase", "--search", "x", "--source", "europepmc", cwd=chase_review.root)
    assert result.code == 2 and "cannot reach Europe PMC" in result.err and "--source openalex" in result.err
    assert "Traceback" not in result.err


# -- Hostile servers (fix-net): hangs, answers of the wrong shape, damaged answers cached ---------


def _page_of(work_id: str):
    """A mutate hook's helper: the work `work_id` as it appears in a list answer."""

    def fill(graph: Graph, per_page: int) -> list[dict]:
        status, body = graph.openalex("works", {"filter": f"openalex:{work_id}", "per-page": "1"})
        return body["results"] * per_page

    return fill


def test_a_cursor_that_comes_back_ends_the_paging(server) -> None:
    cycle = {"*": "c1", "c1": "c2", "c2": "c1"}

    def loop(path, params, body):
        if path == "openalex/works" and params.get("filter", "").startswith("cites:"):
            per_page = int(params["per-page"])
            return {
                "meta": {"next_cursor": cycle[params["cursor"]]},
                "results": _page_of("W30")(server.graph, per_page),
            }
        return body

    server.graph.mutate = loop
    client = JsonClient(SERVICE, NetSettings(backoff_base=0))
    seed = OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
    cited = OpenAlexSource(client, per_page=5).citing([seed])
    assert [w.key for w in cited["W1"]] == ["W30"] * 15  # pages *, c1, c2; then c1 again: stop
    assert client.requests + client.cached == 4


def test_endless_paging_is_cut_at_the_count_and_at_the_cap(server, monkeypatch) -> None:
    def endless(path, params, body):
        if path == "openalex/works" and params.get("filter", "").startswith("cites:"):
            cursor = params["cursor"]
            following = "c" + str(int(cursor[1:]) + 1 if cursor != "*" else 1)
            per_page = int(params["per-page"])
            meta = {"next_cursor": following, **({"count": 12} if state["counted"] else {})}
            return {"meta": meta, "results": _page_of("W30")(server.graph, per_page)}
        return body

    server.graph.mutate = endless
    monkeypatch.setattr(oa_module, "MAX_WORKS", 40)
    state = {"counted": True}
    for counted, pages in ((True, 2 + 3), (False, 40 // 5)):  # count 12 at 5 a page: 3, + margin
        state["counted"] = counted
        client = JsonClient(SERVICE, NetSettings(backoff_base=0, refresh=True))
        seed = OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
        with pytest.raises(ScreenerError, match="OpenAlex kept paging past"):
            OpenAlexSource(client, per_page=5).citing([seed])
        assert client.requests == 1 + pages


def test_europe_pmc_with_a_billion_hits_is_refused_not_paged(server, cli, chase_review) -> None:
    def billion(path, params, body):
        if isinstance(body, dict) and "referenceList" in body:
            body["hitCount"] = 10**9
            items = body["referenceList"]["reference"]
            body["referenceList"]["reference"] = (items * int(params["pageSize"]))[: int(params["pageSize"])]
        return body

    server.graph.mutate = billion
    result = cli("chase", "--search", "x", "--source", "europepmc", "--backward", cwd=chase_review.root)
    assert result.code == 2 and "Europe PMC says MED:100 has 1,000,000,000 references" in result.err
    assert "Traceback" not in result.err and chase_review.search("x") is None
    assert len(server.graph.log) < 10


def test_a_body_dripping_a_byte_at_a_time_times_out_and_is_retried(server) -> None:
    slept: list[float] = []
    server.graph.faults = [Fault("works/doi:10.1000/a", "drip")]
    client = JsonClient(SERVICE, NetSettings(timeout=1.0, backoff_base=0), sleep=slept.append)
    work = OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
    assert work is not None and work.key == "W1" and len(slept) == 1 and client.requests == 2


WRONG_SHAPES = {
    "a list for the work": lambda body: [body],
    "authorships a number": lambda body: {**body, "authorships": 5} if isinstance(body, dict) else body,
    "a year of true": lambda body: {**body, "publication_year": True} if isinstance(body, dict) else body,
    "ids a list": lambda body: {**body, "ids": [1], "biblio": "x"} if isinstance(body, dict) else body,
    "an id that is a list": lambda body: {**body, "id": ["W1"]} if isinstance(body, dict) else body,
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_an_openalex_work_of_the_wrong_shape_is_never_an_internal_error(shape, server) -> None:
    change = WRONG_SHAPES[shape]
    server.graph.mutate = lambda path, params, body: (
        change(body) if path.startswith("openalex/works/") else body
    )
    client = JsonClient(SERVICE, NetSettings(backoff_base=0, max_retries=1), sleep=lambda s: None)
    try:
        work = OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
    except ScreenerError as exc:  # the whole answer is damaged: retried, then one line
        assert shape in ("a list for the work", "an id that is a list")
        assert "OpenAlex kept failing" in str(exc) and client.requests == 2
    else:  # one odd field: dropped, the work kept
        assert work is not None and work.key == "W1" and work.title.startswith("Seed A")
        assert work.year in (2010, None) and all(isinstance(a, str) for a in work.authors)
    # Nothing damaged was cached: a good server is asked again and answers.
    server.graph.mutate = None
    again = JsonClient(SERVICE, NetSettings())
    assert OpenAlexSource(again).lookup(Seed(SEED_A, doi="10.1000/a")) is not None


EPMC_SHAPES = {
    "resultList null": lambda body: {**body, "resultList": None} if "resultList" in body else body,
    "resultList a list": lambda body: {**body, "resultList": [1, 2]} if "resultList" in body else body,
    "journal a string": lambda body: (
        {
            **body,
            "resultList": {
                "result": [{**r, "journalInfo": {"journal": "Lancet"}} for r in body["resultList"]["result"]]
            },
        }
        if "resultList" in body
        else body
    ),
    "referenceList a list": lambda body: {**body, "referenceList": [1]} if "referenceList" in body else body,
    "odd fields in a reference": lambda body: (
        {
            **body,
            "referenceList": {
                "reference": [
                    {**r, "id": 12345, "pubYear": [1], "authorString": {"a": 1}}
                    for r in body["referenceList"]["reference"]
                ]
            },
        }
        if "referenceList" in body
        else body
    ),
}


@pytest.mark.parametrize("shape", sorted(EPMC_SHAPES))
def test_europe_pmc_of_the_wrong_shape_is_one_line_or_dropped_fields(
    shape, cli, chase_review, server
) -> None:
    change = EPMC_SHAPES[shape]
    server.graph.mutate = lambda path, params, body: change(body) if isinstance(body, dict) else body
    result = cli("chase", "--search", "x", "--source", "europepmc", "--backward", cwd=chase_review.root)
    assert "Traceback" not in result.err and "internal error" not in result.err.lower()
    if result.code == 2:
        assert "Europe PMC kept failing" in result.err and chase_review.search("x") is None
    else:
        # A null list is no results (each seed unknown); one odd field is dropped, the work kept.
        assert result.code == 0 and shape in (
            "journal a string",
            "odd fields in a reference",
            "resultList null",
        )


def test_one_failing_source_keeps_the_others_results(cli, chase_review, server) -> None:
    server.graph.mutate = lambda path, params, body: (
        {**body, "referenceList": [1]} if isinstance(body, dict) and "referenceList" in body else body
    )
    result = cli("chase", "--search", "x", "--backward", cwd=chase_review.root)
    assert result.code == 0, result.err
    assert "warning: Europe PMC failed and none of its works are in this search" in result.err
    rows = stored_rows(chase_review, "x")
    assert rows and {s for r in rows for s in r["chase_source"].splitlines()} == {"openalex"}


def test_a_redirect_screener_does_not_follow_is_one_line(cli, chase_review, server, monkeypatch) -> None:
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        target = ""

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", Redirect.target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("SCREENER_OPENALEX_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
    try:
        for target in ("http://[::1", "file:///etc/passwd", "gopher://example.org/", "/loop"):
            Redirect.target = target
            result = cli("chase", "--search", "x", "--source", "openalex", cwd=chase_review.root)
            assert result.code == 2 and "Traceback" not in result.err, result.err
            assert "the server redirected to an address screener does not follow" in result.err
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_retry_after_of_hours_is_said_at_once(server) -> None:
    slept: list[float] = []
    server.graph.faults = [Fault("works/doi:10.1000/a", "429", retry_after="7200")]
    client = JsonClient(SERVICE, NetSettings(backoff_base=0), sleep=slept.append)
    with pytest.raises(ScreenerError, match="asks to wait 2 hours"):
        OpenAlexSource(client).lookup(Seed(SEED_A, doi="10.1000/a"))
    assert slept == []


@pytest.mark.parametrize(
    "bad", ["Nul\x00title", "Evil \x1b]0;pwned\x07\x1b[2J\x1b[31mRED\u202e title\x9b31m"]
)
def test_a_title_with_control_characters_is_stored_cleaned_and_reread(bad, cli, chase_review, server) -> None:
    def dirty(path, params, body):
        for work in body.get("results", []) if isinstance(body, dict) else []:
            work["title"] = bad
            work["authorships"] = [{"author": {"display_name": "Mallory \x1b[5mBlink\u202e"}}]
        return body

    server.graph.mutate = dirty
    result = cli("chase", "--search", "x", "--source", "openalex", "--backward", cwd=chase_review.root)
    assert result.code == 0, result.err
    records = chase_review.records("x")
    assert records and all(r.title.isprintable() and all(a.isprintable() for a in r.authors) for r in records)
