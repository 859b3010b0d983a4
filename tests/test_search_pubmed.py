"""PubMed search through Bio.Entrez against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib

import pytest

from screener.errors import ScreenerError
from screener.search import EntrezClient, EntrezSettings, PubmedSearch, load_settings
from screener.search.pubmed import _day, _last_run

from .conftest import FIXTURES, SAMPLES, needs_shared, stored_export
from .eutils_server import (
    EutilsServer,
    FakePubmed,
    Fault,
    generate_records,
    generated_medline,
    records_from_medline_text,
)


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


class VirtualClock:
    """Biopython's clock for the rate limit, advanced only by its own sleeps: the gaps it keeps are
    then exact, whatever else the machine is doing (a wall-clock gap measured after a late wake-up
    is shorter than the schedule Biopython keeps, and says nothing about screener)."""

    def __init__(self) -> None:
        self.now = 1000.0  # small, so a gap of 0.1 is exact to the nanosecond

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@pytest.fixture
def clock(monkeypatch) -> VirtualClock:
    from Bio import Entrez

    virtual = VirtualClock()
    monkeypatch.setattr(Entrez, "time", virtual)
    Entrez._open.previous = 0.0
    yield virtual
    Entrez._open.previous = time.time()  # the next test's first request need not wait


class TimedClient(EntrezClient):
    """Notes when each request leaves the client (after Biopython's rate-limit wait), on
    Biopython's clock."""

    def __init__(self, *args, clock: VirtualClock, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.sent: list[float] = []

    def _urlopen(self, request, *args, **kwargs):
        self.sent.append(self.clock.time())
        return super()._urlopen(request, *args, **kwargs)


def _check_rate(client: TimedClient, fake: FakePubmed, per_second: int) -> list[float]:
    gaps = [b - a for a, b in zip(client.sent, client.sent[1:], strict=False)]
    assert min(gaps) >= 1 / per_second - 1e-9, gaps  # as sent by the client, on Biopython's clock
    assert len(fake.requests()) >= len(client.sent)
    return gaps


def test_rate_limit_three_per_second(review, clock):
    fake = FakePubmed(generate_records(40))
    with EutilsServer(fake) as server:
        settings = settings_for(server)
        client = TimedClient(settings, clock=clock)
        PubmedSearch(review, "m", "q", settings=settings, client=client, batch_size=5).run()
    assert len(client.sent) >= 9
    _check_rate(client, fake, 3)


def test_rate_limit_ten_per_second_with_key(review, clock):
    fake = FakePubmed(generate_records(60))
    with EutilsServer(fake) as server:
        settings = settings_for(server, api_key="k123")
        client = TimedClient(settings, clock=clock)
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
    assert not list(review.searches_dir.glob("*.nbib"))


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
        assert info["records"] == 12 and re.fullmatch(r"searches/m-[0-9a-f]{8}\.nbib", info["stored_as"])
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


# -- robustness: unreachable servers, bad settings, damaged resume state ----------------------


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "base_url, reason",
    [
        (f"http://127.0.0.1:{_closed_port()}/entrez/eutils/", "refused"),
        # .invalid never resolves (RFC 6761): no traffic leaves the machine.
        ("http://nonexistent.invalid/entrez/eutils/", "cannot resolve nonexistent.invalid"),
    ],
)
def test_unreachable_server_fails_at_once(base_url, reason):
    waits: list[float] = []
    settings = EntrezSettings(email="tester@example.org", base_url=base_url, timeout=5.0, backoff_base=1.0)
    client = EntrezClient(settings, sleep=waits.append)
    with pytest.raises(ScreenerError, match="cannot reach NCBI E-utilities") as caught:
        client.esearch("liver")
    assert reason in str(caught.value)
    assert client.requests == 1 and waits == []  # no retry, no backoff: it fails at once


def test_cli_unreachable_server_one_line_within_seconds(review, tmp_path):
    env = dict(
        os.environ,
        NCBI_EMAIL="tester@example.org",
        SCREENER_EUTILS_URL=f"http://127.0.0.1:{_closed_port()}/entrez/eutils/",
        # A single retry would wait ten minutes: past the subprocess's time-out, failing the test.
        SCREENER_EUTILS_BACKOFF="600",
    )
    command = [sys.executable, "-m", "screener", "search", "pubmed", "--search", "m", "--query", "liver"]
    done = subprocess.run(
        command + ["--review", str(review.root)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines and "cannot reach NCBI E-utilities" in lines[0] and "refused" in lines[0]
    assert "Traceback" not in done.stderr
    assert review.search("m") is None and not list(review.searches_dir.glob("*.nbib"))


@pytest.mark.parametrize(
    "variable, value",
    [
        ("SCREENER_EUTILS_TIMEOUT", "abc"),
        ("SCREENER_EUTILS_TIMEOUT", "-1"),
        ("SCREENER_EUTILS_TIMEOUT", "inf"),
        ("SCREENER_EUTILS_TIMEOUT", "nan"),
        ("SCREENER_EUTILS_TIMEOUT", "0"),
        ("SCREENER_EUTILS_BACKOFF", "-0.5"),
        ("SCREENER_EUTILS_URL", "file:///etc/"),
        ("SCREENER_EUTILS_URL", "127.0.0.1:8080"),
    ],
)
def test_bad_settings_name_the_variable(variable, value, tmp_path):
    with pytest.raises(ScreenerError) as caught:
        load_settings({variable: value, "NCBI_EMAIL": "a@b.org"}, config_path=tmp_path / "none.toml")
    assert variable in str(caught.value) and repr(value) in str(caught.value)


def test_good_settings_are_kept(tmp_path):
    settings = load_settings(
        {"SCREENER_EUTILS_TIMEOUT": " 2.5 ", "SCREENER_EUTILS_BACKOFF": "0"}, config_path=tmp_path / "x"
    )
    assert (settings.timeout, settings.backoff_base) == (2.5, 0.0)


def test_bad_user_config_is_a_clear_error(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('ncbi = "me@example.org"\n')
    with pytest.raises(ScreenerError, match=r"\[ncbi\] must be a table"):
        load_settings({}, config_path=config)
    config.write_bytes(b"[ncbi]\nemail = '\xff'\n")
    with pytest.raises(ScreenerError, match="cannot be read"):
        load_settings({}, config_path=config)


def test_cli_bad_timeout(cli, review, monkeypatch):
    monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
    monkeypatch.setenv("SCREENER_EUTILS_TIMEOUT", "inf")
    result = cli("search", "pubmed", "--search", "m", "--query", "q", "--review", str(review.root))
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert "SCREENER_EUTILS_TIMEOUT='inf'" in result.err


def test_search_name_never_leaves_the_cache(cli, review, monkeypatch, tmp_path):
    """`--search ../..` with --restart used to delete the folder two levels above the cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SCREENER_CACHE_DIR", str(cache))
    keep = review.cache_dir / "keep.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("still here")
    monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
    monkeypatch.setenv("SCREENER_EUTILS_URL", f"http://127.0.0.1:{_closed_port()}/entrez/eutils/")
    for name in ("../..", "..", "a/b", ".hidden"):
        result = cli(
            "search", "pubmed", "--search", name, "--query", "q", "--restart", "--review", str(review.root)
        )
        assert result.code == 2 and "search name" in result.err, result
    assert keep.read_text() == "still here"
    with pytest.raises(ScreenerError, match="search name"):
        PubmedSearch(review, "../x", "q", settings=EntrezSettings(email="a@b.org"))


def _quick(server: EutilsServer) -> EntrezSettings:
    return settings_for(server, api_key="k")  # 10 requests a second


def _interrupted(review, server, batches: int = 1) -> PubmedSearch:
    """A search in batches of 5, stopped after `batches` complete batches; its work folder stays."""

    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        if done >= 5 * batches:
            raise Stop

    search = PubmedSearch(review, "m", "q", settings=_quick(server), progress=stop, batch_size=5)
    with pytest.raises(Stop):
        search.run()
    return search


def _edited(change):
    def damage(text: str) -> str:
        state = json.loads(text)
        change(state)
        return json.dumps(state)

    return damage


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "not json at all",
        lambda text: "[1, 2, 3]",
        lambda text: "[" * 100000,  # deeper than the JSON reader's recursion
        _edited(lambda state: state["slices"][0].update(done=[7])),  # not a batch start
        _edited(lambda state: state["slices"][0].update(done="0")),
        _edited(lambda state: state["slices"][0].update(done=[0, 0])),
        _edited(lambda state: state.update(count="11")),
        _edited(lambda state: state["slices"][0]["ids"].__setitem__(0, "../20000001")),
        _edited(lambda state: state["slices"][0]["ids"].pop()),  # fewer ids than its count
        _edited(lambda state: state["slices"][0].update(mindate="2020/99/99")),
        _edited(lambda state: state.update(slices=[None])),
        _edited(lambda state: state.update(parameters=["q"])),
    ],
)
def test_damaged_resume_state_says_restart(review, damage):
    fake = FakePubmed(generate_records(11))
    with EutilsServer(fake) as server:
        search = _interrupted(review, server)
        original = search.state_path.read_text()
        damaged = damage(original)
        assert damaged != original
        search.state_path.write_text(damaged)
        again = PubmedSearch(review, "m", "q", settings=_quick(server), batch_size=5)
        with pytest.raises(ScreenerError) as caught:
            again.run()
        assert "damaged" in str(caught.value) and "--restart" in str(caught.value)
        assert str(search.state_path) in str(caught.value)
        result = again.run(restart=True)
    assert not result.resumed and sorted(stored_pmids(review, "m")) == sorted(r.pmid for r in fake.records)


def test_cli_damaged_state_is_one_line(cli, review, monkeypatch):
    fake = FakePubmed(generate_records(11))
    with EutilsServer(fake) as server:
        search = _interrupted(review, server)
        search.state_path.write_text('{"parameters": ')
        monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
        monkeypatch.setenv("SCREENER_EUTILS_URL", server.base_url)
        args = ("search", "pubmed", "--search", "m", "--query", "q", "--review", str(review.root))
        result = cli(*args)
        errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
        assert result.code == 2 and len(errors) == 1 and "Traceback" not in result.err, result
        assert "damaged" in errors[0] and "--restart" in errors[0]
        assert cli(*args, "--restart").code == 0
    assert len(stored_pmids(review, "m")) == 11


def test_missing_or_altered_batches_are_fetched_again(review):
    fake = FakePubmed(generate_records(16))
    notices: list[str] = []
    with EutilsServer(fake) as server:
        search = _interrupted(review, server, batches=3)
        state = json.loads(search.state_path.read_text())
        assert state["slices"][0]["done"] == [0, 5, 10]
        search._batch_path(0, 0).unlink()  # missing
        altered = search._batch_path(0, 5)
        text = altered.read_text()
        first = text.split("PMID- ")[1].split("\n")[0]
        altered.write_text(text.replace(f"PMID- {first}", "PMID- 99999999"))  # another record
        fetched_before = len(fake.requests("efetch"))
        settings = _quick(server)
        client = EntrezClient(settings, on_retry=notices.append)
        result = PubmedSearch(review, "m", "q", settings=settings, client=client, batch_size=5).run()
    assert result.resumed
    later = sorted(int(r.params["retstart"]) for r in fake.requests("efetch")[fetched_before:])
    assert later == [0, 5, 15]  # the two bad batches and the one never fetched; 10 was good
    assert any("missing" in n for n in notices) and any("other records" in n for n in notices)
    pmids = stored_pmids(review, "m")
    assert sorted(pmids) == sorted(r.pmid for r in fake.records) and "99999999" not in pmids


def test_update_last_run_of_a_malformed_pubmed_table(review):
    """searches/NAME.toml is checked when read; the update's own reading of it never crashes either."""
    fake = FakePubmed(generate_records(3))
    with EutilsServer(fake) as server:
        PubmedSearch(review, "m", "q", settings=_quick(server)).run()
    search = review.search("m")
    for pubmed in ({"updates": "junk"}, {"updates": [None]}, {"date_run": ["x"]}, {}):
        search.pubmed = pubmed
        assert isinstance(_last_run(search), str)
    assert _day("not a date") is None and _day("2024-03-01T12:00:00+00:00") == dt.date(2024, 3, 1)


def _medline_file(tmp_path, name: str, first: int, count: int = 2):
    path = tmp_path / name
    blocks = [generated_medline(str(first + i), dt.date(2006, 1, 1)) for i in range(count)]
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def test_search_never_replaces_a_file_another_search_owns(review, tmp_path):
    """Search x's files are x-<hash>.nbib; a new search of that name stores its records
    beside them."""
    review.import_file(_medline_file(tmp_path, "a.nbib", 90000001), "x")
    review.import_file(_medline_file(tmp_path, "b.nbib", 90000011), "x")
    second = review.search("x").files[1].path
    assert review.search("x").files[0].path.startswith("x-") and second.startswith("x-")
    before = (review.searches_dir / second).read_bytes()
    name = second.removesuffix(".nbib")
    with EutilsServer(FakePubmed(generate_records(3))) as server:
        result = PubmedSearch(review, name, "q", settings=settings_for(server)).run()
    assert (review.searches_dir / second).read_bytes() == before
    assert result.search.files[0].path != second
    assert len(review.records("x")) == 4 and len(review.records(name)) == 3


@pytest.mark.parametrize("name", ["MEDLINE", "Medline"])
def test_search_name_compared_as_import_compares_it(review, name):
    review.import_file(SAMPLES / "medline.nbib", "medline")
    with EutilsServer(FakePubmed(generate_records(3))) as server:
        with pytest.raises(ScreenerError, match="medline"):
            PubmedSearch(review, name, "q", settings=settings_for(server)).run()
    assert [s.name for s in review.searches()] == ["medline"]


_LOCK_PROBE = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
    "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(1)\n"
)


def _review_locked(review) -> bool:
    """Whether another process holds the review's lock (Review.lock) now."""
    return subprocess.run([sys.executable, "-c", _LOCK_PROBE, str(review.root)], check=False).returncode == 1


def test_search_holds_the_review_lock_while_it_runs(review):
    """An import into the same search waits for the run instead of being overwritten."""
    held: list[bool] = []

    def progress(done: int, total: int) -> None:
        held.append(_review_locked(review))

    with EutilsServer(FakePubmed(generate_records(3))) as server:
        PubmedSearch(review, "x", "q", settings=settings_for(server), progress=progress).run()
    assert held and all(held)


def test_esearch_count_not_a_number_is_retried_then_one_line(review):
    """<Count>abc</Count> was an internal error; it is a bad answer, retried like one."""
    faults = [Fault("esearch", 1, "count-abc")]
    messages: list[str] = []
    with EutilsServer(FakePubmed(generate_records(7), faults=faults)) as server:
        client = EntrezClient(settings_for(server), on_retry=messages.append)
        PubmedSearch(review, "m", "q", settings=settings_for(server), client=client).run()
    assert len(stored_pmids(review, "m")) == 7
    assert any("count 'abc', not a number" in m for m in messages), messages
    always = [Fault("esearch", n, "count-abc") for n in range(1, 10)]
    with EutilsServer(FakePubmed(generate_records(7), faults=always)) as server:
        with pytest.raises(ScreenerError, match="kept failing .*not a number") as info:
            PubmedSearch(review, "n", "q", settings=settings_for(server, max_retries=2)).run()
    assert "\n" not in str(info.value)


def test_efetch_body_not_utf8_is_kept_with_a_replacement_character(review):
    faults = [Fault("efetch", 1, "not-utf8")]
    messages: list[str] = []
    with EutilsServer(FakePubmed(generate_records(5), faults=faults)) as server:
        client = EntrezClient(settings_for(server), on_retry=messages.append)
        PubmedSearch(review, "m", "q", settings=settings_for(server), client=client).run()
    titles = [r.title for r in review.records("m")]
    assert len(titles) == 5 and sum("Caf\ufffd" in t for t in titles) == 1
    assert any("not UTF-8" in m for m in messages), messages
    assert stored_export(review, "m").read_bytes().decode("utf-8")


def test_http_error_body_reaches_the_terminal_cleaned(cli, review, monkeypatch):
    with EutilsServer(FakePubmed(generate_records(3), faults=[Fault("esearch", 1, "400-escapes")])) as server:
        monkeypatch.setenv("SCREENER_EUTILS_URL", server.base_url)
        monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
        result = cli("search", "pubmed", "--search", "m", "--query", "q", "--review", str(review.root))
    assert result.code == 2 and "NCBI refused the request (HTTP 400)" in result.err, result
    assert "Bad request" in result.err and "retmax" in result.err
    assert not any(c in result.err for c in "\x1b\x07\x00"), repr(result.err)
    assert len([line for line in result.err.splitlines() if "error" in line]) == 1


def test_pubmed_update_is_written_under_the_review_lock(review, monkeypatch):
    from screener.search.pubmed import update_pubmed, write_pubmed_update

    fake = FakePubmed(generate_records(4))
    with EutilsServer(fake) as server:
        PubmedSearch(review, "m", "q", settings=settings_for(server)).run()
        fake.add(generate_records(6)[4:])
        update = update_pubmed(review, "m", round=2, settings=settings_for(server))
    held: list[bool] = []
    save = type(review).save_search

    def saving(self, search) -> None:
        held.append(_review_locked(self))
        save(self, search)

    monkeypatch.setattr(type(review), "save_search", saving)
    write_pubmed_update(review, update)
    assert held == [True]


# -- Hostile E-utilities (fix-net) ---------------------------------------------------------------


def test_a_body_dripping_a_byte_at_a_time_times_out_and_is_retried(review):
    fake = FakePubmed(generate_records(12), faults=[Fault("esearch", 1, "drip")])
    messages: list[str] = []
    with EutilsServer(fake) as server:
        settings = settings_for(server, timeout=1.0)
        client = EntrezClient(settings, on_retry=messages.append)
        PubmedSearch(review, "m", "q", settings=settings, client=client).run()
    assert len(stored_pmids(review, "m")) == 12
    assert any("timed out" in m for m in messages)


@pytest.mark.parametrize(
    ("kind", "expect"),
    [("count-markup", "kept failing"), ("translation-control", "")],
)
def test_server_text_never_breaks_the_terminal_or_the_files(cli, review, monkeypatch, kind, expect):
    faults = [Fault("esearch", n, kind) for n in range(1, 12)]
    fake = FakePubmed(generate_records(12), faults=faults)
    with EutilsServer(fake) as server:
        monkeypatch.setenv("SCREENER_EUTILS_URL", server.base_url)
        monkeypatch.setenv("SCREENER_EUTILS_BACKOFF", "0")
        monkeypatch.setenv("NCBI_EMAIL", "tester@example.org")
        result = cli("search", "pubmed", "--search", "pm", "--query", "q", "--review", str(review.root))
    assert "Traceback" not in result.err and "internal error" not in result.err.lower()
    if expect:  # the count "[/x]" printed in the retry lines as text, then one line
        assert result.code == 2 and expect in result.err and "[/x]" in result.err
        assert not list(review.searches_dir.glob("*.nbib"))
    else:  # the control character cleaned out: stored, and the review still checks
        assert result.code == 0, result.err
        assert "\x9b" not in review.search("pm").pubmed["query_translation"]
        assert cli("check", "--review", str(review.root)).code == 0
