"""Issue #23 item 1: `screener fulltext get` against a real HTTP server on 127.0.0.1 answering as
Europe PMC, Unpaywall and OpenAlex do (tests/fulltext_server.py), serving PDFs that matplotlib
writes at test time, faults included. Nothing here reaches the network."""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import pytest

from screener.fulltext.manifest import read_manifest
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

from .fulltext_helpers import article
from .fulltext_server import Fault, FulltextServer, Paper, Site

A = "Liver resection for colorectal metastases in older adults: a cohort study"
B = "Embolisation before major hepatectomy and its outcomes in a randomised trial"
C = "Radiofrequency ablation versus surgery for small hepatocellular carcinoma"
D = "Portal vein ligation and liver growth in staged hepatectomy patients"
E = "Chemotherapy associated liver injury before resection of metastases"
F = "A conference abstract on liver surgery without any identifier at all"
G = "Laparoscopic versus open liver resection in a national registry"

ROWS = [
    {
        "title": A,
        "authors": "Author, Alice; Second, Bob",
        "year": "2010",
        "doi": "10.1000/a",
        "pmid": "101",
        "pmcid": "PMC101",
    },
    {"title": B, "authors": "Third, Carol", "year": "2011", "doi": "10.1000/b"},
    {"title": C, "authors": "Fourth, Dan", "year": "2012", "pmid": "103"},
    {"title": D, "authors": "Fifth, Eve", "year": "2013", "doi": "10.1000/d"},
    {"title": E, "authors": "Sixth, Fay", "year": "2014", "doi": "10.1000/e"},
    {"title": F, "authors": "Seventh, Gus", "year": "2015"},
    {"title": G, "authors": "Eighth, Hal", "year": "2016", "doi": "10.1000/g"},
]


@functools.cache
def pdf_of(title: str) -> bytes:
    """Made once per session: matplotlib takes a while."""
    if title not in {r["title"] for r in ROWS}:
        return article(title, "Other, O", 2001)
    row = next(r for r in ROWS if r["title"] == title)
    return article(row["title"], row["authors"].replace(";", ","), int(row["year"]))


def site() -> Site:
    papers = [
        # Everyone has A: the first source (Europe PMC) wins.
        Paper(
            A,
            "10.1000/a",
            "101",
            "PMC101",
            europepmc_oa=True,
            unpaywall_pdf="a-upw.pdf",
            openalex_pdf="a-oa.pdf",
        ),
        Paper(B, "10.1000/b", unpaywall_pdf="b.pdf"),  # only Unpaywall
        Paper(C, pmid="103", openalex_pdf="c.pdf"),  # only OpenAlex, by PMID
        Paper(D, "10.1000/d", unpaywall_pdf="d-landing.html", openalex_pdf="d.pdf"),  # a web page first
        Paper(E, "10.1000/e", unpaywall_pdf="e-wrong.pdf"),  # a PDF of another article
        Paper(G, "10.1000/g"),  # closed
    ]
    files = {
        "PMC101": ("application/pdf", pdf_of(A)),
        "a-upw.pdf": ("application/pdf", pdf_of(A)),
        "a-oa.pdf": ("application/pdf", pdf_of(A)),
        "b.pdf": ("application/pdf", pdf_of(B)),
        "c.pdf": ("application/octet-stream", pdf_of(C)),
        "d-landing.html": ("text/html; charset=utf-8", b"<html><body>Download the PDF here</body></html>"),
        "d.pdf": ("application/pdf", pdf_of(D)),
        "e-wrong.pdf": (
            "application/pdf",
            pdf_of("An unrelated study of kidney stones in cats"),
        ),
    }
    return Site(papers, files)


def make_review(tmp_path: Path, rows: list[dict[str, str]]) -> Review:
    review = Review(init_review(tmp_path / "review", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    table = tmp_path / "records.csv"
    columns = ["title", "authors", "year", "doi", "pmid", "pmcid", "journal"]
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "J Test Med" if c == "journal" else "") for c in columns])
    review.import_file(table, "search")
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for record in review.records():
            log.append(record.id, "include")
    return review


def ids(review: Review) -> dict[str, str]:
    return {r.title: r.id for r in review.records()}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with FulltextServer(site()) as running:
        for key, value in running.environment().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("UNPAYWALL_EMAIL", "tester@example.org")
        monkeypatch.setenv("SCREENER_HTTP_BACKOFF", "0")
        monkeypatch.setenv("SCREENER_CACHE_DIR", str(tmp_path / "cache"))
        yield running


@pytest.fixture
def review(tmp_path: Path) -> Review:
    return make_review(tmp_path, ROWS)


def run_get(cli, review: Review, *args: str) -> dict:
    result = cli("fulltext", "get", "--json", *args, cwd=review.root)
    assert result.code == 0, result
    return json.loads(result.out)


def by_record(data: dict) -> dict[str, dict]:
    return {r["record_id"]: r for r in data["results"]}


def test_ordered_sources_first_that_has_it_wins(cli, review, server) -> None:
    data = run_get(cli, review)
    got, rid = by_record(data), ids(review)
    assert got[rid[A]]["source"] == "europepmc" and got[rid[A]]["state"] == "prepared"
    assert got[rid[A]]["url"].endswith("europepmc-pdf/articles/PMC101?pdf=render")
    assert got[rid[B]]["source"] == "unpaywall" and got[rid[B]]["state"] == "prepared"
    assert got[rid[C]]["source"] == "openalex" and got[rid[C]]["state"] == "prepared"
    # The first source with A's PDF ended its look-ups: no other source was asked about it.
    assert not server.site.requests("unpaywall/v2/10.1000/a")
    assert not server.site.requests("files/a-")
    # The manifest says where each file came from, and the files are in fulltext/pdf/.
    entries = {e.record_id: e for e in read_manifest(review.root)[0]}
    assert entries[rid[B]].source == "unpaywall" and entries[rid[B]].url.endswith("files/b.pdf")
    assert entries[rid[B]].timestamp and len(entries[rid[B]].sha256) == 64
    assert (review.root / "fulltext" / "pdf" / entries[rid[B]].file).is_file()
    # Only identifiers and the e-mail left the machine: no title, no author in any request.
    for path in server.site.requests():
        assert "Liver" not in path and "Author" not in path


def test_configured_order_is_followed(cli, review, server) -> None:
    config = review.config_path.read_text()
    review.config_path.write_text(
        config + '\n[full_text]\nsources = ["openalex", "europepmc"]\n'
        if "[full_text]" not in config
        else config
    )
    if "[full_text]" in config:
        text = config.replace("[full_text]", '[full_text]\nsources = ["openalex", "europepmc"]', 1)
        review.config_path.write_text(text)
    got = by_record(run_get(cli, review, "--ids", ids(review)[A]))
    assert got[ids(review)[A]]["source"] == "openalex"
    assert not server.site.requests("unpaywall")


def test_a_misspelt_source_is_one_line_naming_the_key(cli, review, server) -> None:
    config = review.config_path.read_text()
    if "[full_text]" in config:
        config = config.replace("[full_text]", '[full_text]\nsources = ["unpaywal"]', 1)
    else:
        config += '\n[full_text]\nsources = ["unpaywal"]\n'
    review.config_path.write_text(config)
    result = cli("fulltext", "get", cwd=review.root)
    assert result.code == 2
    assert "full_text.sources[0]" in result.err and "did you mean 'unpaywall'" in result.err
    assert "Traceback" not in result.err
    assert not server.site.requests()


def test_html_instead_of_pdf_is_refused_and_the_next_source_asked(cli, review, server) -> None:
    got = by_record(run_get(cli, review))
    d = got[ids(review)[D]]
    assert d["source"] == "openalex" and d["state"] == "prepared"
    assert any("text/html" in t for t in d["tried"])
    assert len(list((review.root / "fulltext" / "pdf").glob("*.pdf"))) == 5  # A, B, C, D, E


def test_html_labelled_as_pdf_is_refused_by_its_bytes(cli, review, server) -> None:
    server.site.files["d-landing.html"] = ("application/pdf", b"<!DOCTYPE html><html>Sign in</html>")
    got = by_record(run_get(cli, review, "--ids", ids(review)[D]))
    d = got[ids(review)[D]]
    assert d["source"] == "openalex"
    assert any("not a PDF" in t for t in d["tried"])


def test_a_pdf_that_is_not_the_article_needs_a_look(cli, review, server) -> None:
    got = by_record(run_get(cli, review))
    e = got[ids(review)[E]]
    assert e["outcome"] == "found" and e["state"] == "needs_manual_preparation"
    assert "title" in e["note"]
    status = {r["record_id"]: r for r in json.loads(cli("fulltext", "status", "--json", cwd=review.root).out)}
    assert status[ids(review)[E]]["state"] == "needs_manual_preparation"


def test_records_without_identifiers_are_listed_and_not_asked(cli, review, server) -> None:
    data = run_get(cli, review)
    got = by_record(data)
    assert got[ids(review)[F]]["outcome"] == "no_identifier"
    assert got[ids(review)[G]]["outcome"] == "not_found"
    assert data["counts"] == {
        "prepared": 4,
        "needs_manual_preparation": 1,
        "not_found": 1,
        "no_identifier": 1,
    }


def test_no_email_for_unpaywall_is_one_line(cli, review, server, monkeypatch) -> None:
    monkeypatch.delenv("UNPAYWALL_EMAIL")
    result = cli("fulltext", "get", cwd=review.root)
    assert result.code == 2
    assert "UNPAYWALL_EMAIL" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) <= 2  # the error and its hint
    assert not server.site.requests()
    assert not (review.root / "fulltext" / "manifest.csv").exists()


@pytest.mark.parametrize(
    ("fault", "path"),
    [
        (Fault("europepmc/webservices/rest/search", "429", "0"), "europepmc/webservices/rest/search"),
        (Fault("europepmc/webservices/rest/search", "500"), "europepmc/webservices/rest/search"),
        (Fault("europepmc-pdf/articles/PMC101", "429", "0"), "europepmc-pdf/articles/PMC101"),
        (Fault("europepmc-pdf/articles/PMC101", "500"), "europepmc-pdf/articles/PMC101"),
        (Fault("europepmc-pdf/articles/PMC101", "truncate"), "europepmc-pdf/articles/PMC101"),
        (Fault("europepmc/webservices/rest/search", "truncate"), "europepmc/webservices/rest/search"),
    ],
    ids=["429-lookup", "500-lookup", "429-pdf", "500-pdf", "truncated-pdf", "truncated-json"],
)
def test_faults_then_success(cli, review, server, fault: Fault, path: str) -> None:
    server.site.faults.append(fault)
    got = by_record(run_get(cli, review, "--ids", ids(review)[A]))
    a = got[ids(review)[A]]
    assert a["source"] == "europepmc" and a["state"] == "prepared"
    statuses = [s for p, s, _ in server.site.log if p.startswith(path)]
    assert len(statuses) == 2 and statuses[-1] == 200
    kept = (review.root / "fulltext" / "pdf").glob("*.pdf")
    assert [p.read_bytes() for p in kept] == [server.site.files["PMC101"][1]]  # whole, never the half


def test_a_pdf_host_that_keeps_failing_is_reported_not_fatal(cli, review, server, monkeypatch) -> None:
    monkeypatch.setenv("SCREENER_HTTP_BACKOFF", "0")
    server.site.faults.extend(Fault("files/b.pdf", "500") for _ in range(10))
    got = by_record(run_get(cli, review, "--ids", ids(review)[B], "--ids", ids(review)[C]))
    assert got[ids(review)[B]]["outcome"] == "not_found"
    assert any("kept failing" in t for t in got[ids(review)[B]]["tried"])
    assert got[ids(review)[C]]["state"] == "prepared"


def test_second_run_makes_no_new_request(cli, review, server) -> None:
    run_get(cli, review)
    before = len(server.site.requests())
    again = run_get(cli, review)
    assert len(server.site.requests()) == before
    # Only the records still without a file are looked at, all answered from the cache.
    assert {r["outcome"] for r in again["results"]} == {"not_found", "no_identifier"}
    assert sum(again["requests"].values()) == 0


def test_resume_after_an_interruption(cli, review, server, monkeypatch) -> None:
    """A run killed after some records keeps what it wrote; the next asks only for the rest."""
    import screener.fulltext.get as get_module

    real_keep, kept = get_module._keep, []

    class Killed(Exception):
        pass

    def keep_then_die(review_, fetched, who) -> None:  # noqa: ANN001
        real_keep(review_, fetched, who)
        kept.append(fetched.outcome.record_id)
        if len(kept) == 2:
            raise Killed  # as kill -9 would, right after the second manifest line was written

    monkeypatch.setattr(get_module, "_keep", keep_then_die)
    sources = get_module.configured_sources(review)
    with pytest.raises(Killed):
        get_module.get(review, get_module.wanted(review), sources, "alice")
    assert [e.record_id for e in read_manifest(review.root)[0]] == kept
    monkeypatch.setattr(get_module, "_keep", real_keep)
    data = run_get(cli, review)
    # What the manifest holds is not looked for again; the rest is found.
    assert not {r["record_id"] for r in data["results"]} & set(kept)
    found = data["counts"]["prepared"] + data["counts"]["needs_manual_preparation"]
    assert found == 5 - len(kept)
    assert len(read_manifest(review.root)[0]) == 5
    # A third run asks nothing at all.
    before = len(server.site.requests())
    run_get(cli, review)
    assert len(server.site.requests()) == before


def test_dry_run_counts_lookups_and_asks_nothing(cli, review, server) -> None:
    result = cli("fulltext", "get", "--dry-run", "--json", cwd=review.root)
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["records"] == 7
    assert data["lookups"] == {"europepmc": 6, "unpaywall": 5, "openalex": 6}
    assert data["without_doi_pmid_or_pmcid"] == [ids(review)[F]]
    assert not server.site.requests()
    assert not (review.root / "fulltext" / "manifest.csv").exists()
    text = cli("fulltext", "get", "--dry-run", cwd=review.root)
    assert "6 Europe PMC, 5 Unpaywall, 6 OpenAlex" in text.out and "nothing was asked" in text.out


def test_ids_limits_the_run_and_unknown_ids_are_one_line(cli, review, server) -> None:
    data = run_get(cli, review, "--ids", ids(review)[B])
    assert [r["record_id"] for r in data["results"]] == [ids(review)[B]]
    result = cli("fulltext", "get", "--ids", "doi:10.9/none", cwd=review.root)
    assert result.code == 2 and "--ids" in result.err and "Traceback" not in result.err


def test_text_output_and_progress(cli, review, server) -> None:
    result = cli("fulltext", "get", cwd=review.root)
    assert result.code == 0, result
    assert "4 prepared" in result.out and "1 not found" in result.out


def test_chase_services_are_the_shared_ones() -> None:
    from screener import net
    from screener.chase import europepmc, openalex

    # One cache per service (keyed by its name) and one documented rate.
    for chased, shared in ((openalex.SERVICE, net.OPENALEX), (europepmc.SERVICE, net.EUROPEPMC)):
        assert (chased.name, chased.base_url, chased.url_env, chased.per_second, chased.identity) == (
            shared.name,
            shared.base_url,
            shared.url_env,
            shared.per_second,
            shared.identity,
        )


def test_sources_survive_a_rewrite_of_review_toml() -> None:
    from screener.review import parse_config

    data = {"full_text": {"exclusion_reasons": ["Wrong population"], "sources": ["openalex", "unpaywall"]}}
    config = parse_config(data, Path("review.toml"))
    assert config.to_toml()["full_text"]["sources"] == ["openalex", "unpaywall"]



def test_part_files_of_killed_runs_are_cleaned_failures_leave_none(cli, review, server, monkeypatch) -> None:
    """fix-rest 9: Ctrl-C or kill -9 left *.part files in the user's cache for good. A download
    whose judging is stopped by anything leaves none; the next `fulltext get` removes those of
    earlier runs (older, and no live run holding them locked)."""
    import fcntl
    import os

    import screener.fulltext.get as get_module
    from screener.cache import cache_root

    class Killed(BaseException):
        pass

    def judge_dies(*args) -> None:  # noqa: ANN002
        raise Killed  # as Ctrl-C would, while a PDF is read

    folder = cache_root() / "downloads"
    with monkeypatch.context() as patch:
        patch.setattr(get_module, "_judge", judge_dies)
        with pytest.raises(Killed):
            get_module.get(review, get_module.wanted(review), get_module.configured_sources(review), "alice")
    assert list(folder.glob("*.part")) == []

    stale, live, new = folder / "tmpstale.part", folder / "tmplive.part", folder / "tmpnew.part"
    for path, when in ((stale, 1_000_000_000), (live, 1_000_000_000), (new, 4_000_000_000)):
        path.write_bytes(b"%PDF-1.4 half")
        os.utime(path, (when, when))
    with live.open("rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # another run, downloading right now
        run_get(cli, review)
    assert sorted(p.name for p in folder.glob("*.part")) == ["tmplive.part", "tmpnew.part"]
