"""PubMed search through Bio.Entrez against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib

import pytest

from screener.errors import ScreenerError
from screener.search import EntrezClient, EntrezSettings, PubmedSearch

from .conftest import FIXTURES, needs_shared
from .eutils_server import EutilsServer, FakePubmed, Fault, generate_records, records_from_medline_text


def settings_for(server: EutilsServer, **overrides) -> EntrezSettings:
    values = dict(email="tester@example.org", base_url=server.base_url, timeout=1.0, backoff_base=0.01)
    values.update(overrides)
    return EntrezSettings(**values)


def stored_pmids(review, name: str) -> list[str]:
    return [r.pmid for r in review.records(name)]


def test_search_stores_every_record_once_with_provenance(review):
    fake = FakePubmed(generate_records(1234))
    with EutilsServer(fake) as server:
        result = PubmedSearch(
            review, "medline", "neuroendocrine AND liver resection", settings=settings_for(server)
        ).run()
    pmids = stored_pmids(review, "medline")
    assert len(pmids) == 1234 == len(set(pmids))
    assert set(pmids) == {r.pmid for r in fake.records}
    assert result.count == 1234 and not result.resumed
    assert [r.params["retstart"] for r in fake.requests("efetch")] == ["0", "500", "1000"]
    assert all(r.params["rettype"] == "medline" for r in fake.requests("efetch"))
    assert fake.requests("esearch")[0].params["usehistory"] == "y"
    meta = tomllib.loads((review.searches_dir / "medline.toml").read_text())
    assert meta["source"] == "pubmed"
    assert meta["query"] == "neuroendocrine AND liver resection"
    assert meta["pubmed"]["query_translation"] == "neuroendocrine AND liver resection[All Fields]"
    assert meta["pubmed"]["count"] == 1234
    assert meta["pubmed"]["biopython_version"]
    assert meta["pubmed"]["date_run"]
    record = review.records("medline")[0]
    assert record.id == f"pmid:{record.pmid}" and record.doi.startswith("10.5555/test.")
    # The e-mail is sent to NCBI but never written into the review.
    assert fake.requests()[0].params["email"] == "tester@example.org"
    assert fake.requests()[0].params["tool"] == "screener"
    for path in review.root.rglob("*"):
        if path.is_file():
            assert b"tester@example.org" not in path.read_bytes(), path


class TimedClient(EntrezClient):
    """Notes when each request leaves the client (after Biopython's rate-limit wait)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[float] = []

    def _urlopen(self, request, *args, **kwargs):
        self.sent.append(time.monotonic())
        return super()._urlopen(request, *args, **kwargs)


def _most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


def _check_rate(client: TimedClient, fake: FakePubmed, per_second: int) -> list[float]:
    gaps = [b - a for a, b in zip(client.sent, client.sent[1:], strict=False)]
    assert min(gaps) >= 1 / per_second - 0.005, gaps  # as sent by the client
    # As seen by the server, arrivals can bunch up a little behind a slow one.
    assert _most_in_one_second([r.time for r in fake.requests()]) <= per_second + 1
    return gaps


def test_rate_limit_three_per_second(review):
    fake = FakePubmed(generate_records(40))
    with EutilsServer(fake) as server:
        settings = settings_for(server)
        client = TimedClient(settings)
        PubmedSearch(review, "m", "q", settings=settings, client=client, batch_size=5).run()
    assert len(client.sent) >= 9
    _check_rate(client, fake, 3)


def test_rate_limit_ten_per_second_with_key(review):
    fake = FakePubmed(generate_records(60))
    with EutilsServer(fake) as server:
        settings = settings_for(server, api_key="k123")
        client = TimedClient(settings)
        PubmedSearch(review, "m", "q", settings=settings, client=client, batch_size=5).run()
    assert all(r.params["api_key"] == "k123" for r in fake.requests())
    gaps = _check_rate(client, fake, 10)
    assert sorted(gaps)[len(gaps) // 2] < 0.3  # and it does use the higher limit


def test_faults_are_retried_and_every_record_arrives_once(review):
    faults = [
        Fault("esearch", 1, "503"),
        Fault("efetch", 1, "429"),
        Fault("efetch", 2, "truncate"),
        Fault("efetch", 3, "slow"),
        Fault("efetch", 4, "expire"),
        Fault("efetch", 6, "short"),
        Fault("efetch", 7, "503"),
    ]
    fake = FakePubmed(generate_records(1800), faults=faults, slow_seconds=2.5)
    messages: list[str] = []
    with EutilsServer(fake) as server:
        settings = settings_for(server, timeout=0.8)
        client = EntrezClient(settings, on_retry=messages.append)
        PubmedSearch(review, "medline", "q", settings=settings, client=client).run()
    pmids = stored_pmids(review, "medline")
    assert sorted(pmids) == sorted(r.pmid for r in fake.records)
    statuses = [r.status for r in fake.requests()]
    assert 503 in statuses and 429 in statuses and 400 in statuses
    # The expired WebEnv was answered by a new ESearch, and the fetch went on from there.
    assert len(fake.requests("esearch")) == 3
    assert any("timed out" in m for m in messages)
    assert any("truncated" in m for m in messages)


def test_gives_up_with_a_clear_error_after_retries(review):
    faults = [Fault("efetch", n, "503") for n in range(1, 20)]
    fake = FakePubmed(generate_records(10), faults=faults)
    with EutilsServer(fake) as server:
        search = PubmedSearch(review, "m", "q", settings=settings_for(server, max_retries=2))
        with pytest.raises(ScreenerError, match="kept failing"):
            search.run()
    assert review.search("m") is None  # nothing half-written into searches/
    assert not (review.searches_dir / "m.nbib").exists()


def test_large_result_split_into_date_slices(review):
    fake = FakePubmed(generate_records(47, days=300), esearch_limit=10)
    with EutilsServer(fake) as server:
        # An API key lets the many small requests go at 10 a second.
        settings = settings_for(server, api_key="k")
        result = PubmedSearch(review, "big", "q", settings=settings, batch_size=4, esearch_limit=10).run()
    pmids = stored_pmids(review, "big")
    assert sorted(pmids) == sorted(r.pmid for r in fake.records)
    meta = review.search("big").pubmed
    assert meta["date_slices"] >= 5 and meta["count_not_in_date_slices"] == 0
    assert all(int(r.params.get("retstart", 0)) == 0 for r in fake.requests("esearch"))
    assert all(r.params.get("datetype") == "edat" for r in fake.requests("esearch")[1:])
    assert result.count == 47


def test_date_limits_are_sent(review):
    fake = FakePubmed(generate_records(30, days=3000))
    with EutilsServer(fake) as server:
        PubmedSearch(
            review,
            "m",
            "q",
            mindate="2003",
            maxdate="2004/06",
            datetype="pdat",
            settings=settings_for(server),
        ).run()
    params = fake.requests("esearch")[0].params
    assert (params["mindate"], params["maxdate"], params["datetype"]) == ("2003/01/01", "2004/06/30", "pdat")
    dates = {r.pmid: r.date for r in fake.records}
    assert all(2003 <= dates[p].year <= 2004 for p in stored_pmids(review, "m"))


def test_resume_after_interruption_in_process(review):
    fake = FakePubmed(generate_records(2100))

    class Stop(Exception):
        pass

    def stop_after_two(done: int, total: int) -> None:
        if done >= 1000:
            raise Stop

    with EutilsServer(fake) as server:
        first = PubmedSearch(review, "m", "q", settings=settings_for(server), progress=stop_after_two)
        with pytest.raises(Stop):
            first.run()
        assert review.search("m") is None
        result = PubmedSearch(review, "m", "q", settings=settings_for(server)).run()
    assert result.resumed
    retstarts = [r.params["retstart"] for r in fake.requests("efetch")]
    assert retstarts == ["0", "500", "1000", "1500", "2000"]  # nothing fetched twice
    assert sorted(stored_pmids(review, "m")) == sorted(r.pmid for r in fake.records)


def test_resume_refuses_other_parameters(review):
    fake = FakePubmed(generate_records(1100))

    def stop(done: int, total: int) -> None:
        if done >= 500:
            raise KeyboardInterrupt

    with EutilsServer(fake) as server:
        with pytest.raises(KeyboardInterrupt):
            PubmedSearch(review, "m", "q1", settings=settings_for(server), progress=stop).run()
        with pytest.raises(ScreenerError, match="other parameters"):
            PubmedSearch(review, "m", "q2", settings=settings_for(server)).run()
        result = PubmedSearch(review, "m", "q2", settings=settings_for(server)).run(restart=True)
    assert not result.resumed and result.fetched == 1100


def test_killed_cli_resumes_from_last_complete_batch(review):
    """SIGKILL a real `screener search pubmed` process mid-way, then run it again."""
    fake = FakePubmed(generate_records(4000), latency=0.2)
    with EutilsServer(fake) as server:
        env = dict(os.environ, NCBI_EMAIL="tester@example.org", SCREENER_EUTILS_URL=server.base_url)
        command = [
            sys.executable,
            "-m",
            "screener",
            "search",
            "pubmed",
            "--search",
            "medline",
            "--query",
            "liver",
            "--review",
            str(review.root),
        ]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        work = review.cache_dir / "searches" / "medline"
        deadline = time.monotonic() + 60
        while len(list(work.glob("*.nbib"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Complete batches are those the saved state lists: a kill between writing a batch's
        # file and recording it leaves a file that the resume rightly fetches again.
        state = json.loads((work / "state.json").read_text())
        done_before = sum(len(piece["done"]) for piece in state["slices"])
        assert 2 <= done_before < 8 and len(list(work.glob("*.nbib"))) >= done_before
        assert review.search("medline") is None
        fetched_before = len(fake.requests("efetch"))
        second = subprocess.run(command + ["--json"], env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    info = json.loads(second.stdout)
    assert info["resumed"] and info["records"] == 4000
    later = [r.params["retstart"] for r in fake.requests("efetch")[fetched_before:]]
    assert len(later) == 8 - done_before  # only the batches that were missing
    pmids = stored_pmids(review, "medline")
    assert len(pmids) == 4000 == len(set(pmids))


def test_cli_search_and_errors(cli, review, monkeypatch):
    fake = FakePubmed(generate_records(12))
    with EutilsServer(fake) as server:
        monkeypatch.setenv("SCREENER_EUTILS_URL", server.base_url)
        monkeypatch.delenv("NCBI_EMAIL", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(review.root / "no-config"))
        no_email = cli("search", "pubmed", "--search", "m", "--query", "q", "--review", str(review.root))
        assert no_email.code == 2 and "NCBI_EMAIL" in no_email.err
        monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
        query_file = review.root / "strategy.txt"
        query_file.write_text("(neuroendocrine[tiab]) AND liver\n")
        ok = cli(
            "search",
            "pubmed",
            "--search",
            "m",
            "--query-file",
            str(query_file),
            "--json",
            "--review",
            str(review.root),
        )
        assert ok.code == 0, ok
        info = json.loads(ok.out)
        assert info["records"] == 12 and info["stored_as"] == "searches/m.nbib"
        assert review.search("m").query == "(neuroendocrine[tiab]) AND liver"
        again = cli("search", "pubmed", "--search", "m", "--query", "q", "--review", str(review.root))
        assert again.code == 2 and "exists already" in again.err
        status = json.loads(cli("status", "--json", "--review", str(review.root)).out)
        assert status["records_identified"] == 12


def test_no_hits(review):
    fake = FakePubmed(generate_records(5, days=10))
    with EutilsServer(fake) as server:
        result = PubmedSearch(
            review, "none", "q", mindate="1990", maxdate="1990", settings=settings_for(server)
        ).run()
    assert result.count == 0 and review.search("none").files == []
    assert review.records("none") == []


@needs_shared
def test_recorded_ncbi_responses(review):
    """The recorded MEDLINE response of Biopython's test suite, served as NCBI served it."""
    text = (FIXTURES / "ncbi_eutils_biopython/Medline/pubmed_result2.txt").read_text()
    fake = FakePubmed(records_from_medline_text(text))
    with EutilsServer(fake) as server:
        PubmedSearch(review, "m", "biopython", settings=settings_for(server)).run()
    records = {r.pmid: r for r in review.records("m")}
    assert set(records) == {"16403221", "16377612", "14871861", "14630660"}
    assert records["16403221"].title == "A high level interface to SCOP and ASTRAL implemented in python."


@needs_shared
def test_recorded_esearch_with_history(review):
    body = (FIXTURES / "ncbi_eutils_biopython/Entrez/esearch2.xml").read_bytes()
    fake = FakePubmed([], recorded_esearch=body)
    with EutilsServer(fake) as server:
        result = EntrezClient(settings_for(server)).esearch("cancer", retmax=100)
    assert result["count"] == 42249
    assert len(result["ids"]) == 100
    assert result["webenv"].startswith("MCID_") and result["query_key"] == "1"
    assert "neoplasms" in result["query_translation"]
