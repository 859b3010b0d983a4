"""The schemas of review.toml and searches/NAME.toml (screener.schema): every key's type, its
allowed values, duplicates, names that become paths, and unknown keys as warnings."""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from screener.errors import ScreenerError
from screener.names import name_problem
from screener.review import Review, Search, parse_config
from screener.schema import check_review, check_search, parse_toml

from .conftest import REPO, SAMPLES

REVIEW_PATH = Path("/r/review.toml")
SEARCH_PATH = Path("/r/searches/embase.toml")
SHA = "cbf7bdabc65b24ff99d886a3085529d9d7478e238603c9afcbd6917e0ed1e607"


def review_data() -> dict[str, Any]:
    return {
        "title": "T",
        "question": "Q",
        "stages": ["title-abstract", "full-text"],
        "reviewers": [
            {"name": "alice", "role": "screener"},
            {"name": "bob"},
            {"name": "carol", "role": "resolver"},
        ],
        "full_text": {"exclusion_reasons": ["Wrong population", "Wrong outcomes"]},
        "highlight": {"include": ["liver"], "exclude": ["mice"]},
    }


def search_data() -> dict[str, Any]:
    return {
        "name": "embase",
        "kind": "database",
        "database": "Embase",
        "source": "file",
        "query": "q",
        "date_searched": "2012-06-15",
        "files": [
            {
                "path": "embase.ris",
                "format": "ris",
                "sha256": SHA,
                "records": 810,
                "imported": "2024-03-01T10:00:00.000+00:00",
            }
        ],
    }


def with_value(data: dict[str, Any], keys: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `data` with data[k1][k2]... set to `value`."""
    out = copy.deepcopy(data)
    target = out
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return out


def refused(check, data: dict[str, Any], path: Path) -> ScreenerError:  # noqa: ANN001
    with pytest.raises(ScreenerError) as info:
        check(data, path)
    error = info.value
    assert error.path == str(path) and error.hint, error
    return error


# -- wrong types -------------------------------------------------------------------------------

REVIEW_WRONG_TYPES = [
    (("title",), 3, "title is the integer 3; it must be a string"),
    (("question",), {"a": 1}, "question is a table; it must be a string"),
    (("stages",), "full-text", "stages is the string 'full-text'; it must be an array of strings"),
    (("stages",), [1], "stages[0] is the integer 1; it must be a string"),
    (("reviewers",), "alice", "reviewers is the string 'alice'; it must be an array of tables"),
    (("reviewers",), ["alice"], "reviewers is the array ['alice']; it must be an array of tables"),
    (("reviewers", 1, "name"), 1, "reviewers[1].name is the integer 1; it must be a string"),
    (("reviewers", 0, "role"), 5, "reviewers[0].role is the integer 5; it must be a string"),
    (("full_text",), 3, "full_text is the integer 3; it must be a table"),
    (
        ("full_text", "exclusion_reasons"),
        "Wrong population",
        "full_text.exclusion_reasons is the string 'Wrong population'; it must be an array of strings",
    ),
    (("full_text", "exclusion_reasons"), [1, 2], "full_text.exclusion_reasons[0] is the integer 1"),
    (
        ("full_text", "sources"),
        "europepmc",
        "full_text.sources is the string 'europepmc'; it must be an array",
    ),
    (("full_text", "sources"), [3], "full_text.sources[0] is the integer 3; it must be a string"),
    (("full_text", "sources"), ["openalex", "openalex"], "full_text.sources[1] 'openalex' repeats"),
    (("highlight",), "liver", "highlight is the string 'liver'; it must be a table"),
    (("highlight", "include"), "liver", "highlight.include is the string 'liver'; it must be an array"),
    (("ranking",), 3, "ranking is the integer 3; it must be a table"),
]


@pytest.mark.parametrize(("keys", "value", "message"), REVIEW_WRONG_TYPES, ids=lambda v: str(v)[:30])
def test_review_wrong_types_name_the_key_and_what_was_found(keys, value, message):
    error = refused(parse_config, with_value(review_data(), keys, value), REVIEW_PATH)
    assert error.message.startswith(message), error


SEARCH_WRONG_TYPES = [
    (("name",), 5, "name is the integer 5; it must be a string"),
    (("database",), ["x"], "database is the array ['x']; it must be a string"),
    (("date_searched",), 5, 'date_searched is the integer 5; it must be a date "YYYY-MM-DD"'),
    (("files",), "x", "files is the string 'x'; it must be an array of tables"),
    (("files",), [1], "files is an array of 1 value(s); it must be an array of tables"),
    (("files", 0, "path"), 7, "files[0].path is the integer 7; it must be a string"),
    (("files", 0, "records"), "many", "files[0].records is the string 'many'; it must be a whole number"),
    (("files", 0, "records"), True, "files[0].records is the boolean true; it must be a whole number"),
    (("files", 0, "records"), 1.5, "files[0].records is the number 1.5; it must be a whole number"),
    (("files", 0, "sha256"), 5, "files[0].sha256 is the integer 5; it must be 64 hexadecimal digits"),
    (("files", 0, "round"), "x", "files[0].round is the string 'x'; it must be a whole number of at least 1"),
    (("pubmed",), 3, "pubmed is the integer 3; it must be a table"),
    (
        ("pubmed",),
        {"updates": [1]},
        "pubmed.updates is an array of 1 value(s); it must be an array of tables",
    ),
    (("pubmed",), {"count": "10"}, "pubmed.count is the string '10'; it must be a whole number"),
    (
        ("pubmed",),
        {"updates": [{"date_run": "2024-01-01T00:00:00+00:00", "round": "x"}]},
        "pubmed.updates[0].round is the string 'x'",
    ),
]


@pytest.mark.parametrize(("keys", "value", "message"), SEARCH_WRONG_TYPES, ids=lambda v: str(v)[:30])
def test_search_wrong_types_name_the_key_and_what_was_found(keys, value, message):
    error = refused(Search.from_toml, with_value(search_data(), keys, value), SEARCH_PATH)
    assert error.message.startswith(message), error


# -- allowed values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "value", "message", "hint"),
    [
        (("reviewers", 0, "role"), "boss", "reviewers[0].role is the string 'boss'", "screener, resolver"),
        (("stages",), ["fulltext"], "stages[0] is the string 'fulltext'", "did you mean 'full-text'?"),
        (
            ("full_text", "sources"),
            ["unpaywal"],
            "full_text.sources[0] is the string 'unpaywal'",
            "did you mean 'unpaywall'?",
        ),
        (
            ("highlight", "exclude"),
            ["("],
            "highlight.exclude[0] '(' is not a valid regular expression",
            "fix",
        ),
        (
            ("title",),
            "a\x1b]0;owned\x07",
            "title 'a\\x1b]0;owned\\x07' holds the control character U+001B",
            "",
        ),
        (
            ("full_text", "exclusion_reasons"),
            ["a\nb"],
            "full_text.exclusion_reasons[0] 'a\\nb' holds a line",
            "",
        ),
    ],
)
def test_review_values_outside_the_rule_are_refused(keys, value, message, hint):
    error = refused(parse_config, with_value(review_data(), keys, value), REVIEW_PATH)
    assert error.message.startswith(message) and hint in error.hint, error


@pytest.mark.parametrize(
    ("keys", "value", "message", "hint"),
    [
        (("files", 0, "format"), "exe", "files[0].format is the string 'exe'", "medline, pubmed-xml, ris"),
        (("kind",), "x", "kind is the string 'x'", "database, register, website, organisation, citations"),
        (("source",), "ftp", "source is the string 'ftp'", "file, pubmed"),
        (
            ("date_searched",),
            "15/06/2012",
            "date_searched is the string '15/06/2012', not a date",
            "YYYY-MM-DD",
        ),
        (
            ("date_searched",),
            "2012-02-30",
            "date_searched is the string '2012-02-30', not a date",
            "YYYY-MM-DD",
        ),
        (
            ("files", 0, "date_searched"),
            "20120615",
            "files[0].date_searched is the string '20120615'",
            "YYYY",
        ),
        (("files", 0, "imported"), "yesterday", "files[0].imported is the string 'yesterday'", "2024-03-01T"),
        (("files", 0, "sha256"), "abc", "files[0].sha256 is the string 'abc'", "restore this file from git"),
        (
            ("files", 0, "sha256"),
            SHA.upper(),
            "files[0].sha256 is the string 'CBF7",
            "import the export again",
        ),
        (("files", 0, "round"), 0, "files[0].round is 0; it must be at least 1", "1 is the original review"),
        (("files", 0, "records"), -5, "files[0].records is -5; it must be at least 0", "0 or more"),
        (("pubmed",), {"datetype": "xdat"}, "pubmed.datetype is the string 'xdat'", "edat"),
        (
            ("pubmed",),
            {"mindate": "2012/13"},
            "pubmed.mindate is the string '2012/13', not a date",
            "YYYY/MM",
        ),
        (("pubmed",), {"updates": [{"round": 2}]}, "pubmed.updates[0] has no date_run", "restore this file"),
    ],
)
def test_search_values_outside_the_rule_are_refused(keys, value, message, hint):
    error = refused(Search.from_toml, with_value(search_data(), keys, value), SEARCH_PATH)
    assert error.message.startswith(message) and hint in error.hint, error


@pytest.mark.parametrize("missing", ["path", "format", "sha256", "records"])
def test_a_stored_file_without_a_key_screener_writes_is_refused(missing):
    data = search_data()
    del data["files"][0][missing]
    error = refused(Search.from_toml, data, SEARCH_PATH)
    assert error.message == f"files[0] has no {missing}" and "git" in error.hint


def test_an_imported_files_original_name_may_be_any_name_the_disk_allowed():
    data = with_value(search_data(), ("files", 0, "original_name"), "embase\x1b\nexport.ris")
    assert Search.from_toml(data, SEARCH_PATH).files[0].original_name == "embase\x1b\nexport.ris"
    error = refused(Search.from_toml, with_value(search_data(), ("database",), "Emb\x1b[31mase"), SEARCH_PATH)
    assert error.message == "database 'Emb\\x1b[31mase' holds the control character U+001B"


def test_dates_written_as_toml_dates_are_read_as_their_text():
    data = with_value(search_data(), ("date_searched",), dt.date(2012, 6, 15))
    data["pubmed"] = {"date_run": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    search = Search.from_toml(data, SEARCH_PATH)
    assert search.date_searched == "2012-06-15" and search.pubmed["date_run"] == "2024-01-02T03:04:05+00:00"


# -- stages, duplicates, empty reasons ---------------------------------------------------------


IN_ORDER = 'stages = ["title-abstract", "full-text"]'


@pytest.mark.parametrize(
    ("stages", "message", "hint"),
    [
        ([], "stages is empty", IN_ORDER),
        (["full-text"], "stages is the array ['full-text']; the stages are title-abstract, then", IN_ORDER),
        (["full-text", "title-abstract"], "stages is the array ['full-text', 'title-abstract']", IN_ORDER),
        (["title-abstract", "title-abstract"], "stages[1] 'title-abstract' repeats stages[0]", "once"),
    ],
)
def test_stages_are_title_abstract_then_full_text_each_once(stages, message, hint):
    error = refused(parse_config, with_value(review_data(), ("stages",), stages), REVIEW_PATH)
    assert error.message.startswith(message) and hint in error.hint, error


def test_title_abstract_alone_is_a_review():
    config = parse_config(with_value(review_data(), ("stages",), ["title-abstract"]), REVIEW_PATH)
    assert config.stages == ["title-abstract"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("alice", "reviewers[1].name 'alice' is reviewers[0].name too"),
        # One decision file on macOS and Windows, whose file systems ignore case.
        ("Alice", "reviewers[1].name 'Alice' is reviewers[0].name 'alice' in other case"),
    ],
)
def test_two_reviewers_with_one_name_are_refused(second, message):
    error = refused(parse_config, with_value(review_data(), ("reviewers", 1, "name"), second), REVIEW_PATH)
    assert error.message == message and "decision files" in error.hint


@pytest.mark.parametrize(
    ("reasons", "message"),
    [
        (
            ["Wrong population", "Wrong population"],
            "full_text.exclusion_reasons[1] 'Wrong population' repeats",
        ),
        (
            ["Wrong population", "wrong  Population"],
            "full_text.exclusion_reasons[1] 'wrong  Population' repeats",
        ),
        (["Wrong population", ""], "full_text.exclusion_reasons[1] is empty"),
        (["Wrong population", "   "], "full_text.exclusion_reasons[1] is empty"),
        (
            ["Wrong population "],
            "full_text.exclusion_reasons[0] 'Wrong population ' starts or ends with a space",
        ),
        ([], "full_text.exclusion_reasons is empty; every full-text exclusion needs a reason"),
    ],
)
def test_exclusion_reasons_are_distinct_and_not_empty(reasons, message):
    data = with_value(review_data(), ("full_text", "exclusion_reasons"), reasons)
    error = refused(parse_config, data, REVIEW_PATH)
    assert error.message.startswith(message), error


def test_no_reasons_are_needed_without_a_full_text_stage():
    data = with_value(review_data(), ("full_text", "exclusion_reasons"), [])
    data["stages"] = ["title-abstract"]
    assert parse_config(data, REVIEW_PATH).exclusion_reasons == []


def test_one_stored_file_listed_twice_is_refused():
    data = search_data()
    data["files"].append(dict(data["files"][0], path="Embase.ris"))
    error = refused(Search.from_toml, data, SEARCH_PATH)
    assert error.message == "files[1].path 'Embase.ris' is files[0].path 'embase.ris' in other case"


# -- names that become paths -------------------------------------------------------------------

BAD_NAMES = {
    "parent": ("../x", "starts with a dot or a space"),
    "absolute": ("/abs", "has the character '/'"),
    "empty": ("", "is empty"),
    "too-long": ("a" * 65, "is 65 characters long (at most 64)"),
    "hidden": (".x", "starts with a dot or a space"),
}


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_reviewer_names_follow_the_name_rule(name, problem):
    error = refused(parse_config, with_value(review_data(), ("reviewers", 2, "name"), name), REVIEW_PATH)
    assert error.message == f"reviewers[2].name {name!r} {problem}", error
    suggested = error.hint.split("e.g. name = ")[1].split("'")[1]
    assert name_problem(suggested) is None, error.hint
    # No decision file can have been written for a name with a '/' or none at all.
    assert ("git mv" in error.hint) == (name in ("a" * 65, ".x")), error.hint


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_search_names_follow_the_name_rule(name, problem):
    error = refused(Search.from_toml, with_value(search_data(), ("name",), name), SEARCH_PATH)
    assert error.message == f"name {name!r} {problem}" and "search name" in error.hint, error


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../x", "starts with a dot or a space"),
        ("/abs", "has the character '/'"),
        ("", "is empty"),
        ("a" * 101, "is 101 characters long (at most 100)"),
        (".hidden.ris", "starts with a dot or a space"),
        ("sub/embase.ris", "has the character '/'"),
        ("embase.ris\x00", "has the character U+0000"),
    ],
    ids=["parent", "absolute", "empty", "too-long", "hidden", "subfolder", "nul"],
)
def test_stored_file_paths_are_plain_file_names(path, problem):
    error = refused(Search.from_toml, with_value(search_data(), ("files", 0, "path"), path), SEARCH_PATH)
    assert error.message.startswith("files[0].path ") and error.message.endswith(problem), error
    assert "at most 100" in error.hint


def test_a_file_name_as_long_as_the_limit_is_allowed():
    search = Search.from_toml(with_value(search_data(), ("files", 0, "path"), "a" * 76 + ".ris"), SEARCH_PATH)
    assert search.files[0].path == "a" * 76 + ".ris"


def test_a_search_is_named_by_its_file():
    error = refused(Search.from_toml, with_value(search_data(), ("name",), "other"), SEARCH_PATH)
    assert error.message == "name is the string 'other', but the file is embase.toml"
    assert 'name = "embase"' in error.hint
    data = search_data()
    del data["name"]
    assert Search.from_toml(data, SEARCH_PATH).name == "embase"
    with pytest.raises(ScreenerError, match="search file name '.embase' starts with a dot"):
        Search.from_toml(data, Path("/r/searches/.embase.toml"))


def test_renaming_a_reviewer_as_the_hint_says_keeps_their_decisions(tmp_path):
    """The suggested `git mv` moves the decision files (the name is quoted for the shell, so a
    name holding `$(...)` runs nothing), and the new name passes."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    old = "Alice Smith? $(touch pwned)"
    root = tmp_path / "review"
    for stage in ("title-abstract", "full-text"):
        (root / "labels" / stage).mkdir(parents=True)
        (root / "labels" / stage / f"{old}.csv").write_text(f"pmid:1,include,,,{stage}\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "labels"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "decisions"], cwd=root, check=True)
    error = refused(
        parse_config, with_value(review_data(), ("reviewers", 0, "name"), old), root / "review.toml"
    )
    assert "rename it in review.toml" in error.hint
    new = error.hint.split("e.g. name = ")[1].split("'")[1]
    commands = error.hint.split("with it: ")[1].split(" (for each")[0].split("; ")
    assert len(commands) == 2 and all(c.startswith("git mv ") for c in commands), error.hint
    for command in commands:
        subprocess.run(["bash", "-c", command], cwd=root, check=True)
    assert not (root / "pwned").exists()
    for stage in ("title-abstract", "full-text"):
        assert (root / "labels" / stage / f"{new}.csv").read_text().endswith(f"{stage}\n")
        assert not (root / "labels" / stage / f"{old}.csv").exists()
    config = parse_config(with_value(review_data(), ("reviewers", 0, "name"), new), root / "review.toml")
    assert config.reviewers[0].name == new


def test_a_name_a_terminal_cannot_show_gets_no_command_to_paste():
    error = refused(
        parse_config, with_value(review_data(), ("reviewers", 0, "name"), "a\x1b[2Jb"), REVIEW_PATH
    )
    assert "'a\\x1b[2Jb'" in error.message and "\x1b" not in str(error)
    assert "git mv" not in error.hint and "rename their decision files" in error.hint


# -- unknown keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "value", "warning"),
    [
        (("titel",), "x", "unknown key titel, ignored (did you mean title?)"),
        (
            ("reviewer",),
            [{"name": "dan"}],
            "unknown table [[reviewer]], ignored (did you mean [[reviewers]]?)",
        ),
        (
            ("exclusion_reason",),
            ["x"],
            "unknown key exclusion_reason, ignored (did you mean exclusion_reasons in",
        ),
        (
            ("full_text", "exclusion_reason"),
            ["x"],
            "unknown key full_text.exclusion_reason, ignored (did you me",
        ),
        (("reviewers", 0, "rol"), "resolver", "unknown key reviewers[0].rol, ignored (did you mean role?)"),
        (("hilight",), {"include": ["x"]}, "unknown table [hilight], ignored (did you mean [highlight]?)"),
        (("screening_speed",), 3, "unknown key screening_speed, ignored"),
    ],
)
def test_unknown_review_keys_are_kept_and_warned_about(keys, value, warning):
    config = parse_config(with_value(review_data(), keys, value), REVIEW_PATH)
    assert len(config.warnings) == 1 and config.warnings[0].startswith(f"{REVIEW_PATH}: {warning}"), config
    if len(keys) == 1:
        assert config.to_toml()[keys[0]] == value  # later versions' settings survive a rewrite


def test_a_misplaced_key_points_to_its_table():
    config = parse_config(with_value(review_data(), ("exclusion_reasons",), ["x"]), REVIEW_PATH)
    assert config.warnings == [
        f"{REVIEW_PATH}: unknown key exclusion_reasons, ignored"
        " (did you mean exclusion_reasons in [full_text]?)"
    ]
    assert config.exclusion_reasons == ["Wrong population", "Wrong outcomes"]


@pytest.mark.parametrize(
    ("keys", "value", "warning"),
    [
        (("files", 0, "sha"), "x", "unknown key files[0].sha, ignored (did you mean sha256?)"),
        (
            ("pubmed",),
            {"updats": []},
            "unknown key pubmed.updats, ignored (did you mean [[pubmed.updates]]?)",
        ),
        (("dtabase",), "x", "unknown key dtabase, ignored (did you mean database?)"),
    ],
)
def test_unknown_search_keys_are_warned_about(keys, value, warning):
    search = Search.from_toml(with_value(search_data(), keys, value), SEARCH_PATH)
    assert search.warnings == [f"{SEARCH_PATH}: {warning}"]


def test_an_unprintable_unknown_key_is_shown_escaped():
    config = parse_config(with_value(review_data(), ("\x1b[31mx",), 1), REVIEW_PATH)
    assert config.warnings == [f"{REVIEW_PATH}: unknown key '\\x1b[31mx', ignored"]


def test_ranking_is_still_checked_by_the_ranker():
    error = refused(parse_config, with_value(review_data(), ("ranking",), {"classifier": "x"}), REVIEW_PATH)
    assert error.message.startswith("[ranking]: classifier must be one of")


# -- the files screener itself writes ----------------------------------------------------------


def test_the_worked_example_validates_without_warnings():
    review = Review(REPO)
    assert review.config.warnings == [] and review.config.stages == ["title-abstract", "full-text"]
    searches = review.searches()
    assert {s.name for s in searches} == {"cochrane", "embase", "medline", "reference-lists"}
    for search in searches:
        assert search.warnings == [], search.name
        data = tomllib.loads((REPO / "searches" / f"{search.name}.toml").read_text(encoding="utf-8"))
        assert check_search(data, REPO / "searches" / f"{search.name}.toml").warnings == []


def test_files_written_by_init_and_import_validate_without_warnings(cli, tmp_path):
    root = tmp_path / "r"
    assert cli("init", str(root), "--reviewer", "alice", "--reviewer", "Bob Ó'Brien:resolver").code == 0
    for sample, search in (("wos.ciw", "wos"), ("ovid.ris", "ovid"), ("rayyan.csv", "rayyan")):
        result = cli(
            "import",
            str(SAMPLES / sample),
            "--search",
            search,
            "--date-searched",
            "2024-03-01",
            "--review",
            str(root),
        )
        assert result.code == 0, result
    data = tomllib.loads((root / "review.toml").read_text(encoding="utf-8"))
    assert check_review(data, root / "review.toml").warnings == []
    review = Review(root)
    assert [s.name for s in review.searches()] == ["ovid", "rayyan", "wos"]
    for search in review.searches():
        path = root / "searches" / f"{search.name}.toml"
        assert check_search(tomllib.loads(path.read_text(encoding="utf-8")), path).warnings == []


def test_a_pubmed_search_and_its_update_validate_without_warnings(review):
    from screener.search import EntrezSettings, PubmedSearch
    from screener.search.pubmed import update_pubmed, write_pubmed_update

    from .eutils_server import EutilsServer, FakePubmed, generate_records

    fake = FakePubmed(generate_records(30))
    with EutilsServer(fake) as server:
        settings = EntrezSettings(
            email="t@example.org", base_url=server.base_url, timeout=1.0, backoff_base=0.01
        )
        PubmedSearch(review, "m", "q", mindate="2000", datetype="pdat", settings=settings).run()
        fake.add(generate_records(5, start_pmid=30000001, first_day=dt.date(2020, 1, 1), days=10))
        write_pubmed_update(review, update_pubmed(review, "m", round=2, settings=settings))
    path = review.searches_dir / "m.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["pubmed"]["updates"] and data["files"][-1]["round"] == 2
    assert check_search(data, path).warnings == [] and review.search("m").warnings == []


# -- through the CLI ---------------------------------------------------------------------------


def test_a_wrong_review_toml_is_one_error_line_and_nothing_is_written(cli, review):
    path = review.config_path
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["stages"] = "full-text"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    for args in (("status",), ("label", "--reviewer", "reviewer1", "pmid:1", "include")):
        result = cli(*args, "--review", str(review.root))
        assert result.code == 2, result
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: stages is the string 'full-text'")
        assert "Traceback" not in result.err
    assert not [p for p in review.labels_dir.rglob("*") if p.is_file()]


def test_a_review_toml_that_is_not_utf8_or_not_a_file_is_refused(review):
    path = review.config_path
    path.write_bytes(b'title = "ok"\n\ntitle2 = "H\xe9patique"\n')
    with pytest.raises(ScreenerError) as info:
        _ = Review(review.root).config
    assert info.value.path == str(path) and info.value.line == 3 and "UTF-8" in info.value.message
    path.unlink()
    os.mkfifo(path)  # opened without blocking, and refused: not a regular file
    with pytest.raises(ScreenerError, match="not a regular file"):
        _ = Review(review.root).config


# -- parsing -----------------------------------------------------------------------------------


def test_a_very_long_dotted_key_is_refused_before_the_parser_stalls():
    text = 'title = "t"\n' + "x." * 20000 + "y = 1\n"  # tomllib: ~12 s and 1.6 GB
    with pytest.raises(ScreenerError) as info:  # screener's own check, before tomllib runs
        parse_toml(text, REVIEW_PATH)
    assert info.value.line == 2 and "dotted key" in info.value.message
    for header in ("[" + "a." * 40 + "b]", "[[" + '"a" . ' * 40 + "b]]", "t = { " + "a." * 40 + "b = 1 }"):
        with pytest.raises(ScreenerError, match="dotted key"):
            parse_toml(header + "\n", REVIEW_PATH)
    # Dots in values are text, not keys.
    assert parse_toml('notes = "' + "a." * 100 + '"\n', REVIEW_PATH)["notes"] == "a." * 100


def test_deep_nesting_and_invalid_toml_are_errors_with_their_line():
    with pytest.raises(ScreenerError, match="too deeply"):
        parse_toml("a = " + "[" * 5000 + "]" * 5000 + "\n", REVIEW_PATH)
    with pytest.raises(ScreenerError) as info:
        parse_toml('title = "t"\nstages = [1,,]\n', REVIEW_PATH)
    assert info.value.line == 2 and "not valid TOML" in info.value.message
