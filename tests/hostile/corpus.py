"""The hostile-input corpus: what a file, a name or a collaborator can bring, each as a Case.

A case damages a copy of the base review (or prepares a hostile input beside it), runs one or
more commands, and says which exit codes are right. The test then checks, for every case: exit
0 or 2, no traceback, one `error: ` line; on exit 2 nothing committed in the review changed;
nothing outside the review changed; and the review stays readable (`status`, `prisma`, `dedup`
exit 0, or, when the case damages a committed file, exit 2 naming it).

Tokens in argv and link targets: @OUT@ is the folder that holds the review (and the sentinel
tree), @IN@ the folder of hostile inputs. Absolute names point inside @OUT@, never at / (the
tests may run as root). A relative path starting with @CACHE@/ is in the review's folder of the
user's cache (SCREENER_CACHE_DIR, set per case).
"""

from __future__ import annotations

import csv
import io
import marshal
import os
import shutil
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from .harness import (
    CONFLICT_RECORD,
    OPEN_RECORD,
    SAMPLES,
    Ctx,
    Outcome,
    json_problem,
    run_in_process,
    stored_name,
)

ANY = frozenset((0, 2))
OK = frozenset((0,))
REFUSED = frozenset((2,))


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    expect: frozenset[int] = ANY
    mentions: str = ""  # on exit 2, the error line names this
    env: tuple[tuple[str, str], ...] = ()


@dataclass
class Case:
    id: str
    commands: list[Command]
    prepare: Callable[[Ctx], None] | None = None
    # The committed files a refusal of status/prisma/dedup may name; empty: they must exit 0.
    damaged: tuple[str, ...] = ()
    subprocess: bool = False  # could hang or exhaust memory: run the real script with a time-out
    verify: Callable[[Ctx, list[Outcome]], list[str]] | None = None
    timeout: float = 30


def cmd(
    *argv: str, expect: frozenset[int] = ANY, mentions: str = "", env: dict[str, str] | None = None
) -> Command:
    return Command(tuple(argv), expect, mentions, tuple((env or {}).items()))


# -- preparing -----------------------------------------------------------------------------


def steps(*functions: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        for function in functions:
            function(ctx)

    return run


def write(relative: str, data: bytes | str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.locate(relative)
        _remove(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return run


def append(relative: str, data: bytes) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        with ctx.locate(relative).open("ab") as handle:
            handle.write(data)

    return run


def edit_bytes(relative: str, change: Callable[[bytes], bytes]) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.locate(relative)
        path.write_bytes(change(path.read_bytes()))

    return run


def write_input(name: str, data: bytes | str) -> Callable[[Ctx], None]:
    """A file the user hands to a command; @OUT@ in text becomes the outer folder."""

    def run(ctx: Ctx) -> None:
        (ctx.inputs / name).write_bytes(ctx.expand(data).encode() if isinstance(data, str) else data)

    return run


def write_outer(relative: str, data: bytes | str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.outer / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return run


def copy_to_outer(relative: str, to: str) -> Callable[[Ctx], None]:
    """A copy of a review file or folder outside the review (a link's target)."""

    def run(ctx: Ctx) -> None:
        source, target = ctx.locate(relative), ctx.outer / to
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copyfile(source, target)

    return run


def link(relative: str, target: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.locate(relative)
        _remove(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(ctx.expand(target), path)

    return run


def remove(relative: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        _remove(ctx.locate(relative))

    return run


def make_dir(relative: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.locate(relative)
        _remove(path)
        path.mkdir(parents=True)

    return run


def fifo(name: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        os.mkfifo(ctx.inputs / name)

    return run


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def edit_toml(relative: str, change: Callable[[dict[str, Any], Ctx], None]) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.locate(relative)
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        change(data, ctx)
        path.write_text(tomli_w.dumps(data), encoding="utf-8")

    return run


def setter(*keys: str | int, value: Any) -> Callable[[dict[str, Any], Ctx], None]:
    """Set data[k1][k2]...= value; a string value is expanded (@OUT@)."""

    def change(data: dict[str, Any], ctx: Ctx) -> None:
        target: Any = data
        for key in keys[:-1]:
            target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
        target[keys[-1]] = ctx.expand(value) if isinstance(value, str) else value

    return change


# -- hostile inputs -------------------------------------------------------------------------

EMBASE = (SAMPLES / "embase.ris").read_text(encoding="utf-8")
MEDLINE = (SAMPLES / "medline.nbib").read_text(encoding="utf-8")
RAYYAN = (SAMPLES / "rayyan.csv").read_text(encoding="utf-8")
PUBMED_XML = (SAMPLES / "pubmed.xml").read_text(encoding="utf-8")
SCOPUS_BIB = (SAMPLES / "scopus.bib").read_text(encoding="utf-8")
ENDNOTE_XML = (SAMPLES / "endnote.xml").read_text(encoding="utf-8")


def ris(*records: dict[str, str]) -> str:
    lines = []
    for record in records:
        lines.append("TY  - JOUR")
        lines += [f"{tag}  - {value}" for tag, value in record.items()]
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines) + "\n"


NEW_RIS = ris(
    {"TI": "Liver transplantation for hostile neuroendocrine metastases", "AU": "Tester, Ann", "PY": "2019"},
    {"TI": "Radioembolisation of hepatic metastases: a hostile series", "AU": "Probe, Bea", "PY": "2021"},
)
NEW_RIS_2 = ris(
    {"TI": "Somatostatin analogues before resection, a hostile cohort", "AU": "Case, Cy", "PY": "2022"}
)


def medline(pmid: str, title: str) -> str:
    return (
        f"PMID- {pmid}\nOWN - NLM\nSTAT- MEDLINE\nDP  - 2010 Jan\nTI  - {title}\n"
        f"AU  - Tester A\nJT  - Journal of Hostile Inputs\nSO  - J Hostile Inputs. 2010 Jan;1(1):1-2.\n\n"
    )


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


TWELVE_ROWS_WITH_TY = csv_text(
    [["title", "abstract", "year"]]
    + [[f"Hostile study number {n} of hepatic metastases", "Plain abstract.", "2001"] for n in range(1, 12)]
    + [["Hostile study number 12", "a cell holding a RIS line\nTY  - JOUR\nER  - \nend", "2002"]]
)

FORMULA_CSV = csv_text(
    [
        ["title", "authors", "abstract", "year"],
        ['=HYPERLINK("http://evil.example/","click me")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "2020"],
        ["-2+3 a title that starts with a minus", "Doe, J", "=1+1", "2021"],
    ]
)

PUBMED_ARTICLE = (
    "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>{}"
    "</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>\n"
)
# Each entity ten of the one before: 10**7 characters from a few hundred bytes.
ENTITIES = '<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {name} "{("&" + before + ";") * 10}">' for before, name in zip("abcdef", "bcdefg", strict=True)
)
XML_ENTITY_BOMB = (
    f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{ENTITIES}]>\n' + PUBMED_ARTICLE.format("&g;")
)
XML_EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE PubmedArticleSet [<!ENTITY x SYSTEM "file://@OUT@/sentinel/secret.txt">]>\n'
    + PUBMED_ARTICLE.format("&x;")
)

# A PubMed resume state: the parameters of `search pubmed --search pm --query liver`.
STATE_PARAMETERS = b'{"parameters": {"query": "liver", "mindate": "", "maxdate": "", "datetype": "edat"}'
STATE_PATHS = (
    b', "slices": [{"count": 1, "done": [0], "file": "../../../../sentinel/x"}],'
    b' "batches": ["../../../../sentinel/x"]}'
)

DECISIONS_HEADER = "record_id,decision,reason,note\n"

LABELS_HEADER = "record_id,decision,reason,note,timestamp,version\n"


def labels_rows(*rows: str) -> str:
    return LABELS_HEADER + "".join(f"{row}\n" for row in rows)


# -- the families ---------------------------------------------------------------------------

READERS = ("status", "prisma", "dedup")

BAD_NAMES = {
    "up3": "../../..",
    "up2-evil": "../../evil",
    "slash": "a/b",
    "absolute": "@OUT@/abs",
    "dot-hidden": ".hidden",
    "empty": "",
    "65-chars": "x" * 65,
    "nul": "a\x00b",
    "newline": "a\nb",
    "dotdot": "..",
    "backslash": "a\\..\\b",
    "space-first": " lead",
    # Windows cannot create a device name's file, drops a trailing dot; look-alikes pose as others.
    "con": "con",
    "windows-com1-ext": "COM1.x",
    "trailing-dot": "x.",
    "confusable-cyrillic-i": "medl\u0456ne",
    "fullwidth": "\uff4dedline",
}
GOOD_NAMES = {
    "console": "console",
    "unicode-muller": "Müller",
    "unicode-cjk": "李",
    "unicode-cyrillic": "медлайн",
    "unicode-kanji-katakana": "医中誌ウェブ",
}


def name_cases() -> Iterable[Case]:
    for slug, name in {**BAD_NAMES, **GOOD_NAMES}.items():
        good = slug in GOOD_NAMES
        yield Case(
            f"name-import-{slug}",
            [cmd("import", "@IN@/new.ris", "--search", name, expect=OK if good else REFUSED)],
            write_input("new.ris", NEW_RIS),
        )
        yield Case(
            f"name-update-import-{slug}",
            [cmd("update", "--import", f"{name}=@IN@/new.ris", expect=OK if good else REFUSED)],
            write_input("new.ris", NEW_RIS),
        )
        # A good name reaches the (closed) local E-utilities port: a clean network error.
        yield Case(
            f"name-search-pubmed-{slug}",
            [cmd("search", "pubmed", "--search", name, "--query", "liver", expect=REFUSED)],
        )
    # --restart discards the resume state folder named after the search: never one outside.
    for slug in ("up3", "absolute", "dotdot", "empty"):
        yield Case(
            f"name-search-pubmed-restart-{slug}",
            [
                cmd(
                    "search",
                    "pubmed",
                    "--search",
                    BAD_NAMES[slug],
                    "--query",
                    "liver",
                    "--restart",
                    expect=REFUSED,
                )
            ],
        )
    yield Case(
        "name-update-search-up3",
        [
            cmd("update", "--search", "../../..", expect=REFUSED),
            cmd("update", "--search", "@OUT@/abs", expect=REFUSED),
        ],
    )


REVIEWER_SPECS = {
    "up3-escaped": "../../../escaped",
    "absolute": "@OUT@/abs",
    "empty": "",
    "empty-name-with-role": ":resolver",
    "unknown-role": "alice:boss",
    "absurdly-long": "a" * 500,
    "slash": "a/b",
    "two-colons": "alice:resolver:x",
    "dot-hidden": ".hidden",
    "newline": "a\nb",
}


def reviewer_cases() -> Iterable[Case]:
    for slug, spec in REVIEWER_SPECS.items():
        yield Case(
            f"init-reviewer-{slug}",
            [cmd("init", "newreview", "--reviewer", spec, "--reviewer", "bob", expect=REFUSED)],
            verify=_absent("newreview"),
        )
    yield Case(
        "init-reviewer-twice",
        [cmd("init", "newreview", "--reviewer", "alice", "--reviewer", "alice", expect=REFUSED)],
        verify=_absent("newreview"),
    )
    yield Case(
        "init-reviewer-unicode",
        [cmd("init", "newreview", "--reviewer", "Müller", "--reviewer", "李", expect=OK)],
    )
    for slug, name in {
        "up3-escaped": "../../../escaped",
        "absolute": "@OUT@/abs",
        "empty": "",
        "slash": "a/b",
        "65-chars": "x" * 65,
        "not-in-review": "dave",
        "dot-hidden": ".hidden",
        # Issue #22: a typo and another case of a reviewer's name are no reviewer, for every command.
        "typo": "alcie",
        "other-case": "Alice",
    }.items():
        yield Case(
            f"label-reviewer-{slug}",
            [cmd("label", "--reviewer", name, OPEN_RECORD, "include", expect=REFUSED)],
        )
        yield Case(f"screen-reviewer-{slug}", [cmd("screen", "--reviewer", name, expect=REFUSED)])
        yield Case(f"rank-reviewer-{slug}", [cmd("rank", "--reviewer", name, "--json", expect=REFUSED)])
        yield Case(f"resolve-reviewer-{slug}", [cmd("resolve", "--reviewer", name, expect=REFUSED)])
    yield Case("screen-reviewer-resolver", [cmd("screen", "--reviewer", "carol", expect=REFUSED)])
    yield Case("rank-reviewer-resolver", [cmd("rank", "--reviewer", "carol", "--json", expect=REFUSED)])
    yield Case("resolve-reviewer-screener", [cmd("resolve", "--reviewer", "alice", expect=REFUSED)])
    for slug, argv in {
        "label-traversal": ("label", "--reviewer", "bob", "--stage", "../../x", OPEN_RECORD, "include"),
        "label-full-text-traversal": (
            "label",
            "--reviewer",
            "bob",
            "--stage",
            "full-text/../../x",
            OPEN_RECORD,
            "include",
        ),
        "conflicts-empty": ("conflicts", "--stage", ""),
        "screen-unknown": ("screen", "--reviewer", "bob", "--stage", "x"),
        "agreement-traversal": ("agreement", "--stage", "../x"),
        "export-unknown": ("export", "--format", "csv", "--stage", "abstract"),
    }.items():
        yield Case(f"stage-{slug}", [cmd(*argv, expect=REFUSED)])


def _absent(relative: str) -> Callable[[Ctx, list[Outcome]], list[str]]:
    def check(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
        if (ctx.review / relative).exists() and any(o.code == 2 for o in outcomes):
            return [f"{relative} was created although the command was refused"]
        return []

    return check


# Commands that read every part of the review and write to it.
EVERY_COMMAND = [
    cmd("status"),
    cmd("conflicts", "--json"),
    cmd("agreement", "--json"),
    cmd("label", "--reviewer", "bob", OPEN_RECORD, "include"),
    cmd("export", "--format", "csv", "--stage", "title-abstract", "--decision", "all", "-o", "exported.csv"),
    cmd("import", "@IN@/new.ris", "--search", "fresh"),
]


def review_toml_cases() -> Iterable[Case]:
    config = "review.toml"
    damaged = (config,)
    commands = EVERY_COMMAND

    def case(slug: str, prepare: Callable[[Ctx], None], **kw: Any) -> Case:
        return Case(
            f"review-toml-{slug}",
            kw.pop("commands", commands),
            steps(write_input("new.ris", NEW_RIS), prepare),
            **{"damaged": damaged, **kw},
        )

    yield case("not-toml", write(config, "this is = not [toml\n"))
    yield case("truncated", edit_bytes(config, lambda b: b[: len(b) // 2]))
    yield case(
        "latin-1",
        edit_bytes(
            config, lambda b: b.replace(b'title = "Hostile inputs"', 'title = "Hépatique"'.encode("latin-1"))
        ),
    )
    yield case("utf-16", edit_bytes(config, lambda b: b.decode().encode("utf-16")))
    yield case("empty", write(config, b""))
    yield case("nul-bytes", edit_bytes(config, lambda b: b.replace(b"title", b"ti\x00tle", 1)))
    yield case("directory", make_dir(config))
    yield case(
        "symlink-outside",
        steps(copy_to_outer(config, "sentinel/review.toml"), link(config, "@OUT@/sentinel/review.toml")),
    )
    yield case(
        "symlink-dev-zero",
        link(config, "/dev/zero"),
        subprocess=True,
        commands=[cmd("status"), cmd("prisma")],
    )
    yield case(
        "huge", append(config, b"# " + b"x" * (24 << 20) + b"\n"), commands=[cmd("status"), cmd("conflicts")]
    )
    wrong_types: dict[str, Callable[[dict[str, Any], Ctx], None]] = {
        "title-int": setter("title", value=3),
        "reviewers-string": setter("reviewers", value="x"),
        "reviewers-int-list": setter("reviewers", value=[1]),
        "reviewer-name-int": setter("reviewers", value=[{"name": 1}, {"name": "bob"}]),
        "reviewer-role-int": setter("reviewers", 0, "role", value=5),
        "reviewer-role-unknown": setter("reviewers", 0, "role", value="boss"),
        "reviewers-same-name": setter("reviewers", value=[{"name": "alice"}, {"name": "alice"}]),
        "stages-string": setter("stages", value="full-text"),
        "stages-empty": setter("stages", value=[]),
        "stages-unknown": setter("stages", value=["x"]),
        "stages-twice": setter("stages", value=["title-abstract", "title-abstract"]),
        "stages-full-text-only": setter("stages", value=["full-text"]),
        "exclusion-reasons-string": setter("full_text", "exclusion_reasons", value="Wrong population"),
        "exclusion-reasons-ints": setter("full_text", "exclusion_reasons", value=[1, 2]),
        "full-text-int": setter("full_text", value=3),
        "highlight-bad-regex": setter("highlight", "include", value=["("]),
        "highlight-string": setter("highlight", value="liver"),
        "highlight-include-string": setter("highlight", "include", value="liver"),
        "ranking-int": setter("ranking", value=3),
        "ranking-classifier-unknown": setter("ranking", "classifier", value="x"),
        "ranking-interleave-string": setter("ranking", "interleave", value="yes"),
        "question-table": setter("question", value={"a": 1}),
    }
    for slug, change in wrong_types.items():
        yield case(slug, edit_toml(config, change))
    # Reviewer names that would become paths outside the review.
    for slug, name in {
        "up3-escaped": "../../../escaped",
        "absolute": "@OUT@/abs",
        "empty": "",
        "slash": "x/y",
    }.items():
        yield case(
            f"reviewer-name-{slug}",
            edit_toml(config, setter("reviewers", 0, "name", value=name)),
            commands=[
                cmd("status"),
                cmd("label", "--reviewer", name, OPEN_RECORD, "include", expect=REFUSED),
                cmd("screen", "--reviewer", name, expect=REFUSED),
                cmd("rank", "--reviewer", name, "--json"),
            ],
        )


EMBASE_TOML = "searches/embase.toml"
EMBASE_RAW = f"searches/{stored_name('embase.ris', 'embase')}"
CACHE = "@CACHE@"  # the review's folder in the user's cache


def searches_cases() -> Iterable[Case]:
    damaged = ("embase.toml", EMBASE_RAW.removeprefix("searches/"), "searches")
    commands = [
        cmd("status"),
        cmd("prisma", "--format", "json"),
        cmd("import", "@IN@/new.ris", "--search", "embase"),
        cmd("update", "--import", "embase=@IN@/new2.ris"),
        cmd(
            "export",
            "--format",
            "ris",
            "--stage",
            "title-abstract",
            "--decision",
            "all",
            "-o",
            "exported.ris",
        ),
    ]
    inputs = steps(write_input("new.ris", NEW_RIS), write_input("new2.ris", NEW_RIS_2))

    def case(slug: str, prepare: Callable[[Ctx], None], **kw: Any) -> Case:
        return Case(
            f"search-toml-{slug}",
            kw.pop("commands", commands),
            steps(inputs, prepare),
            **{"damaged": damaged, "verify": _stored_files_listed_once, **kw},
        )

    yield case("not-toml", write(EMBASE_TOML, "name = 'embase\n[[files]\n"))
    yield case("truncated", edit_bytes(EMBASE_TOML, lambda b: b[: len(b) * 2 // 3]))
    yield case(
        "latin-1",
        edit_bytes(EMBASE_TOML, lambda b: b.replace(b'query = ""', 'query = "hépatique"'.encode("latin-1"))),
    )
    wrong: dict[str, Callable[[dict[str, Any], Ctx], None]] = {
        "files-string": setter("files", value="x"),
        "files-int-list": setter("files", value=[1]),
        "records-string": setter("files", 0, "records", value="many"),
        "records-negative": setter("files", 0, "records", value=-5),
        "sha256-int": setter("files", 0, "sha256", value=5),
        "round-string": setter("files", 0, "round", value="x"),
        "round-zero": setter("files", 0, "round", value=0),
        "format-exe": setter("files", 0, "format", value="exe"),
        "path-int": setter("files", 0, "path", value=7),
        "path-hidden": setter("files", 0, "path", value=".hidden.ris"),
        "kind-unknown": setter("kind", value="x"),
        "source-unknown": setter("source", value="ftp"),
        "date-int": setter("date_searched", value=5),
        "pubmed-int": setter("pubmed", value=3),
        "pubmed-updates-ints": setter("pubmed", "updates", value=[1]),
        "pubmed-updates-round-string": setter("pubmed", "updates", value=[{"round": "x"}]),
        "name-other": setter("name", value="other"),
        "name-int": setter("name", value=5),
        "unknown-file-key": setter("files", 0, "evil", value="x"),
    }
    for slug, change in wrong.items():
        yield case(slug, edit_toml(EMBASE_TOML, change))
    # A round no update made: every listing of rounds once counted up to it (report hung).
    huge_round = [
        cmd(*argv, expect=REFUSED, mentions="files[0].round")
        for argv in (("status",), ("prisma", "--format", "json"), ("report", "-o", "@OUT@/report.html"))
    ]
    yield case(
        "round-huge",
        edit_toml(EMBASE_TOML, setter("files", 0, "round", value=10**12)),
        commands=huge_round,
        subprocess=True,
        timeout=60,
    )
    # The name inside the toml becomes the path it is saved to: never outside searches/.
    yield case("name-traversal", edit_toml(EMBASE_TOML, setter("name", value="../../evil")))
    yield case("name-absolute", edit_toml(EMBASE_TOML, setter("name", value="@OUT@/abs")))
    # A [[files]] path leading out of the review, at a file with the very bytes and sha256 the
    # entry lists: only the path check can refuse it.
    for slug, path, planted in (
        ("path-traversal", "../../etc/passwd", "etc/passwd"),
        ("path-absolute", "@OUT@/etc/passwd", "etc/passwd"),
        ("path-subfolder", "sub/embase.ris", None),
    ):
        prepare = steps(
            copy_to_outer(EMBASE_RAW, planted) if planted else copy_to_outer(EMBASE_RAW, "review/" + path),
            remove(EMBASE_RAW),
            remove(CACHE),
            edit_toml(EMBASE_TOML, setter("files", 0, "path", value=path)),
        )
        yield case(
            slug, prepare, commands=[*commands[:2], cmd("dedup", expect=REFUSED, mentions="embase.toml")]
        )
    yield case("lists-missing-file", steps(remove(EMBASE_RAW), remove(CACHE)))
    yield case("raw-edited-cache-kept", edit_bytes(EMBASE_RAW, lambda b: b.replace(b"Osborne", b"0sborne")))
    yield case(
        "raw-edited-no-cache",
        steps(edit_bytes(EMBASE_RAW, lambda b: b.replace(b"Osborne", b"0sborne")), remove(CACHE)),
        commands=[*commands, cmd("dedup", expect=REFUSED, mentions=EMBASE_RAW.removeprefix("searches/"))],
    )
    yield case(
        "raw-symlink-outside",
        steps(
            copy_to_outer(EMBASE_RAW, "sentinel/embase.ris"),
            link(EMBASE_RAW, "@OUT@/sentinel/embase.ris"),
            remove(CACHE),
        ),
    )
    yield case(
        "raw-symlink-dev-zero",
        steps(link(EMBASE_RAW, "/dev/zero"), remove(CACHE)),
        subprocess=True,
        commands=[cmd("dedup"), cmd("prisma")],
    )
    yield case("raw-is-directory", steps(make_dir(EMBASE_RAW), remove(CACHE)))
    yield case("toml-is-directory", make_dir(EMBASE_TOML))
    yield case(
        "toml-symlink-outside",
        steps(
            copy_to_outer(EMBASE_TOML, "sentinel/embase.toml"),
            link(EMBASE_TOML, "@OUT@/sentinel/embase.toml"),
        ),
    )
    yield case(
        "folder-symlink-outside",
        steps(copy_to_outer("searches", "sentinel/searches"), link("searches", "@OUT@/sentinel/searches")),
        commands=[*commands, cmd("import", "@IN@/new.ris", "--search", "fresh")],
    )
    yield case("folder-is-file", write("searches", "not a folder\n"))
    yield case("stray-toml-not-toml", write("searches/zzz.toml", b"\xff\xfe garbage \x00"))


ALICE = "labels/title-abstract/alice.csv"
BOB = "labels/title-abstract/bob.csv"
DEDUP_CSV = "labels/dedup.csv"
ALICE_ROWS = [
    f"{CONFLICT_RECORD},include,,,2024-01-01T00:00:00.000+00:00,0.1.0",
    f"{OPEN_RECORD},include,,,2024-01-01T00:00:01.000+00:00,0.1.0",
    "embase:L50460001,exclude,,,2024-01-01T00:00:02.000+00:00,0.1.0",
]


def _alice_decisions(ctx: Ctx) -> list[list[str]]:
    return list(csv.reader(io.StringIO((ctx.review / ALICE).read_text(encoding="utf-8", errors="replace"))))


def _no_decision_lost(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    """alice's earlier decisions and the one just appended are each a row of their own."""
    rows = _alice_decisions(ctx)
    problems = []
    if [CONFLICT_RECORD, "include"] not in [r[:2] for r in rows]:
        problems.append(f"alice's earlier decision on {CONFLICT_RECORD} was lost")
    appended = any(o.argv[:3] == ["label", "--reviewer", "alice"] and o.code == 0 for o in outcomes)
    if appended and rows[-1][:2] != [OPEN_RECORD, "exclude"]:
        problems.append(f"the appended decision is not a row of its own: last row {rows[-1]!r}")
    return problems


def labels_cases() -> Iterable[Case]:
    damaged = ("alice.csv", "bob.csv", "dave.csv", "dedup.csv", "title-abstract", "labels")
    commands = [
        cmd("status"),
        cmd("conflicts", "--json"),
        cmd("agreement", "--json"),
        cmd("label", "--reviewer", "alice", OPEN_RECORD, "exclude"),
        cmd("label", "--reviewer", "bob", OPEN_RECORD, "include"),
        cmd(
            "export",
            "--format",
            "csv",
            "--stage",
            "title-abstract",
            "--decision",
            "all",
            "-o",
            "exported.csv",
        ),
    ]

    def case(slug: str, prepare: Callable[[Ctx], None], readable: bool = False, **kw: Any) -> Case:
        return Case(
            f"labels-{slug}", kw.pop("commands", commands), prepare, damaged=() if readable else damaged, **kw
        )

    rows = labels_rows(*ALICE_ROWS)
    yield case("no-final-newline", write(ALICE, rows.rstrip("\n")), readable=True, verify=_no_decision_lost)
    yield case("partial-last-line", write(ALICE, rows + f"{OPEN_RECORD},exc"), verify=_no_decision_lost)
    yield case(
        "partial-quoted-note",
        write(ALICE, rows + f'{OPEN_RECORD},exclude,,"a note cut'),
        verify=_no_decision_lost,
    )
    yield case("unknown-decision", write(ALICE, rows + f"{OPEN_RECORD},perhaps,,,,\n"))
    yield case("empty-id", write(ALICE, rows + ",include,,,,\n"))
    yield case("ids-not-in-review", write(ALICE, rows + "pmid:999999999,include,,,,\n"), readable=True)
    yield case("header-only", write(ALICE, LABELS_HEADER), readable=True)
    yield case("empty-file", write(ALICE, b""), readable=True)
    yield case("binary-garbage", write(ALICE, bytes(range(256)) * 8))
    yield case(
        "latin-1", write(ALICE, rows.encode() + f"{OPEN_RECORD},exclude,,hépatique,,\n".encode("latin-1"))
    )
    yield case(
        "utf-8-bom", write(ALICE, b"\xef\xbb\xbf" + rows.encode()), readable=True, verify=_no_decision_lost
    )
    yield case("crlf", write(ALICE, rows.replace("\n", "\r\n")), readable=True, verify=_no_decision_lost)
    yield case(
        "extra-columns", write(ALICE, labels_rows(*(r + ",extra,more" for r in ALICE_ROWS))), readable=True
    )
    yield case("huge-line", write(ALICE, rows + f"{OPEN_RECORD},exclude,,{'n' * (4 << 20)},,\n"))
    yield case("nul-byte", write(ALICE, rows + f"{OPEN_RECORD},\x00include,,,,\n"))
    yield case(
        "formula-note",
        write(ALICE, rows + f'{OPEN_RECORD},exclude,,"=HYPERLINK(""http://x"")",,\n'),
        readable=True,
    )
    yield case("utf-16", write(ALICE, rows.encode("utf-16")))
    # A link planted by a commit: the decision must never be appended to its target.
    yield case(
        "file-symlink-outside",
        steps(write_outer("sentinel/target.csv", rows), link(ALICE, "@OUT@/sentinel/target.csv")),
    )
    yield case("file-symlink-dev-null", link(ALICE, "/dev/null"))
    yield case("file-is-directory", make_dir(ALICE))
    yield case(
        "stage-folder-symlink-outside",
        steps(
            copy_to_outer("labels/title-abstract", "sentinel/stage"),
            link("labels/title-abstract", "@OUT@/sentinel/stage"),
        ),
    )
    yield case("stage-folder-is-file", write("labels/title-abstract", "not a folder\n"))
    yield case(
        "labels-folder-symlink-outside",
        steps(copy_to_outer("labels", "sentinel/labels"), link("labels", "@OUT@/sentinel/labels")),
    )
    yield case(
        "reviewer-not-in-review",
        write("labels/title-abstract/dave.csv", labels_rows(f"{OPEN_RECORD},include,,,,")),
        readable=True,
    )
    yield case("reviewer-not-in-review-garbage", write("labels/title-abstract/dave.csv", b"\x00\xff garbage"))
    yield case(
        "full-text-unknown-reason",
        write("labels/full-text/bob.csv", labels_rows(f"{CONFLICT_RECORD},exclude,Not a reason,,,")),
    )
    yield case(
        "full-text-not-retrieved-unknown-id",
        write("labels/full-text/alice.csv", labels_rows("pmid:1,not-retrieved,,,,")),
    )
    yield case("stray-stage-folder", write("labels/x-stage/alice.csv", rows), readable=True)
    dedup_commands = [cmd("dedup"), cmd("dedup", "--json"), cmd("prisma", "--format", "json"), cmd("status")]
    yield case(
        "dedup-csv-unknown-decision",
        write(DEDUP_CSV, "record_id_1,record_id_2,decision\na,b,maybe\n"),
        commands=dedup_commands,
    )
    yield case(
        "dedup-csv-empty-ids",
        write(DEDUP_CSV, "record_id_1,record_id_2,decision\n,,same\n"),
        commands=dedup_commands,
    )
    yield case("dedup-csv-binary", write(DEDUP_CSV, bytes(range(256))), commands=dedup_commands)
    yield case(
        "dedup-csv-latin-1", write(DEDUP_CSV, "a,b,same,hélène\n".encode("latin-1")), commands=dedup_commands
    )
    yield case(
        "dedup-csv-unknown-ids",
        write(DEDUP_CSV, "pmid:1,pmid:2,same,x,,\n"),
        readable=True,
        commands=dedup_commands,
    )
    yield case(
        "dedup-csv-self-pair",
        write(DEDUP_CSV, f"{OPEN_RECORD},{OPEN_RECORD},different,x,,\n"),
        readable=True,
        commands=dedup_commands,
    )
    yield case(
        "dedup-csv-symlink-outside",
        steps(write_outer("sentinel/dedup.csv", "a,b,same\n"), link(DEDUP_CSV, "@OUT@/sentinel/dedup.csv")),
        commands=dedup_commands,
    )


def export_cases() -> Iterable[Case]:
    """Files a user hands to `import` and `label --import`: never written, the review unharmed."""

    def imported(
        slug: str, data: bytes | str | None, expect: frozenset[int], name: str = "export", **kw: Any
    ) -> Case:
        prepare = kw.pop("prepare", None) or write_input(name, data if data is not None else b"")
        return Case(
            f"import-{slug}",
            [
                cmd(
                    "import",
                    kw.pop("path", f"@IN@/{name}"),
                    "--search",
                    "hostile",
                    *kw.pop("options", ()),
                    expect=expect,
                ),
                *kw.pop("more", []),
            ],
            prepare,
            verify=kw.pop("verify", _refusal_wrote_nothing),
            **kw,
        )

    embase = EMBASE
    yield imported("truncated-ris", embase[: embase.rindex("T1  - Combined")], REFUSED, "cut.ris")
    yield imported("truncated-medline", MEDLINE[: MEDLINE.rindex("AB  - ")], REFUSED, "cut.nbib")
    yield imported("truncated-medline-mid-line", MEDLINE[: len(MEDLINE) - 40], REFUSED, "cut2.nbib")
    yield imported("truncated-csv-open-quote", RAYYAN[: RAYYAN.rindex("Cytoreduction")], REFUSED, "cut.csv")
    yield imported("truncated-pubmed-xml", PUBMED_XML[: PUBMED_XML.index("</Abstract>")], REFUSED, "cut.xml")
    yield imported("truncated-endnote-xml", ENDNOTE_XML[: len(ENDNOTE_XML) // 2], REFUSED, "cut-endnote.xml")
    yield imported("truncated-bibtex", SCOPUS_BIB[: SCOPUS_BIB.index("abstract=")], REFUSED, "cut.bib")
    yield imported(
        "csv-cell-holding-ty-line", TWELVE_ROWS_WITH_TY, OK, "twelve.csv", verify=_records_imported(12)
    )
    yield imported(
        "csv-cell-holding-pmid-line",
        TWELVE_ROWS_WITH_TY.replace("TY  - JOUR", "PMID- 123"),
        OK,
        "twelve2.csv",
        verify=_records_imported(12),
    )
    yield imported(
        "duplicate-pmid-different-titles",
        medline("111", "First title") + medline("111", "A different title"),
        REFUSED,
        "dup.nbib",
    )
    yield imported(
        "duplicate-pmid-same-record",
        medline("111", "Same title") + medline("111", "Same title"),
        OK,
        "same.nbib",
    )
    yield imported(
        "ris-without-titles",
        ris({"AU": "Tester, A", "PY": "2001"}, {"AU": "Probe, B", "PY": "2002", "AB": "Only an abstract."}),
        OK,
        "untitled.ris",
    )
    yield imported(
        "csv-empty-title-row",
        "title,abstract,year\nA real title about livers,x,2001\n,orphan abstract,2002\n",
        OK,
        "untitled.csv",
    )
    yield imported("ris-empty-record", "TY  - JOUR\nER  - \n", ANY, "empty-record.ris")
    # A reference manager's blank entry among records: kept out of screening, the rest imported.
    yield imported("ris-blank-entry", NEW_RIS + "\nTY  - GEN\nER  -\n", OK, "blank-entry.ris")
    yield imported("binary", b"%PDF-1.7\n\x00\x01\x02\xff" * 100, REFUSED, "scan.pdf")
    yield imported("empty", b"", REFUSED, "empty.ris")
    yield imported("whitespace-only", b"\n \r\n\t\n", REFUSED, "blank.ris")
    yield imported("utf-16-bom", NEW_RIS.encode("utf-16"), OK, "utf16.ris")
    yield imported("utf-16-no-bom", NEW_RIS.encode("utf-16-le"), OK, "utf16le.ris")
    yield imported("utf-16-be-no-bom", NEW_RIS.encode("utf-16-be"), OK, "utf16be.ris")
    cut = NEW_RIS.encode("utf-16-le") + b"\x00\xd8"  # a lone high surrogate at the end
    yield imported("utf-16-no-bom-cut", cut, REFUSED, "utf16cut.ris")
    yield imported(
        "invalid-utf-8-bom", b"\xef\xbb\xbf" + NEW_RIS.encode() + b"\xff\xfe\xfd", ANY, "bad-bom.ris"
    )
    yield imported(
        "directory",
        None,
        REFUSED,
        prepare=lambda ctx: (ctx.inputs / "folder.ris").mkdir(),
        path="@IN@/folder.ris",
    )
    yield imported("missing", None, REFUSED, prepare=lambda ctx: None, path="@IN@/nope.ris")
    yield imported("dev-null", None, REFUSED, prepare=lambda ctx: None, path="/dev/null")
    yield imported(
        "fifo", None, REFUSED, prepare=fifo("pipe.ris"), path="@IN@/pipe.ris", subprocess=True, timeout=20
    )
    yield imported(
        "dev-zero", None, REFUSED, prepare=lambda ctx: None, path="/dev/zero", subprocess=True, timeout=30
    )
    yield imported(
        "huge-line", ris({"TI": "A record with a huge abstract", "AB": "word " * (400_000)}), ANY, "huge.ris"
    )
    yield imported("many-tiny-lines", "\n" * 2_000_000 + NEW_RIS, ANY, "tall.ris")
    yield imported(
        "xml-entity-expansion",
        XML_ENTITY_BOMB,
        REFUSED,
        "lol.xml",
        subprocess=True,
    )
    yield imported(
        "xml-external-entity",
        XML_EXTERNAL_ENTITY,
        ANY,
        "xxe.xml",
        verify=_secret_not_read,
    )
    yield imported(
        "formula-cells",
        FORMULA_CSV,
        OK,
        "formula.csv",
        more=[
            cmd(
                "export",
                "--format",
                "csv",
                "--stage",
                "title-abstract",
                "--decision",
                "all",
                "-o",
                "exported.csv",
                expect=OK,
            )
        ],
        verify=_export_has_no_formula,
    )
    yield imported("format-override-wrong", NEW_RIS, REFUSED, "new.ris", options=("--format", "bibtex"))
    yield Case(
        "import-query-file-latin-1",
        [cmd("import", "@IN@/new.ris", "--search", "hostile", "--query-file", "@IN@/query.txt")],
        steps(
            write_input("new.ris", NEW_RIS),
            write_input("query.txt", "hépatique AND foie\n".encode("latin-1")),
        ),
    )
    yield Case(
        "import-query-file-fifo",
        [cmd("import", "@IN@/new.ris", "--search", "hostile", "--query-file", "@IN@/query.fifo")],
        steps(write_input("new.ris", NEW_RIS), fifo("query.fifo")),
        subprocess=True,
        timeout=20,
    )
    yield Case(
        "import-bad-date",
        [
            cmd(
                "import",
                "@IN@/new.ris",
                "--search",
                "hostile",
                "--date-searched",
                "2012-13-45",
                expect=REFUSED,
            )
        ],
        write_input("new.ris", NEW_RIS),
        verify=_refusal_wrote_nothing,
    )
    yield Case(
        "import-second-file-bad",
        [cmd("import", "@IN@/new.ris", "@IN@/empty.ris", "--search", "hostile", expect=REFUSED)],
        steps(write_input("new.ris", NEW_RIS), write_input("empty.ris", b"")),
        verify=_refusal_wrote_nothing,
    )

    def decisions(slug: str, data: bytes | str | None, expect: frozenset[int], **kw: Any) -> Case:
        prepare = kw.pop("prepare", None) or write_input("decisions.csv", data if data is not None else b"")
        return Case(
            f"label-import-{slug}",
            [
                cmd(
                    "label",
                    "--reviewer",
                    "bob",
                    "--import",
                    kw.pop("path", "@IN@/decisions.csv"),
                    expect=expect,
                )
            ],
            prepare,
            **kw,
        )

    yield decisions("valid", DECISIONS_HEADER + f"{OPEN_RECORD},include,,\n", OK)
    yield decisions("no-columns", "a,b\n1,2\n", REFUSED)
    yield decisions("unknown-decision", DECISIONS_HEADER + f"{OPEN_RECORD},perhaps,,\n", REFUSED)
    yield decisions("empty-id", DECISIONS_HEADER + ",include,,\n", ANY)
    yield decisions("ids-not-in-review", DECISIONS_HEADER + "pmid:999999999,include,,\n", ANY)
    yield decisions("id-with-newline", DECISIONS_HEADER + '"pmid:1\npmid:2",include,,\n', ANY)
    yield decisions("short-row", DECISIONS_HEADER + f"{OPEN_RECORD}\n", ANY)
    yield decisions("binary", bytes(range(256)) * 4, REFUSED)
    yield decisions(
        "latin-1", (DECISIONS_HEADER + f"{OPEN_RECORD},include,,hépatique\n").encode("latin-1"), ANY
    )
    yield decisions("utf-16", (DECISIONS_HEADER + f"{OPEN_RECORD},include,,\n").encode("utf-16"), ANY)
    yield decisions("empty", b"", REFUSED)
    yield decisions("header-only", DECISIONS_HEADER, ANY)
    yield decisions("truncated-quote", DECISIONS_HEADER + f'{OPEN_RECORD},include,,"a note cut', ANY)
    yield decisions("huge-line", DECISIONS_HEADER + f"{OPEN_RECORD},include,,{'n' * (4 << 20)}\n", ANY)
    yield decisions(
        "formula-note", DECISIONS_HEADER + f'{OPEN_RECORD},include,,"=HYPERLINK(""http://x"")"\n', OK
    )
    yield decisions(
        "full-text-exclusion-without-reason", DECISIONS_HEADER + f"{CONFLICT_RECORD},exclude,,\n", ANY
    )
    yield decisions("directory", None, REFUSED, prepare=lambda ctx: (ctx.inputs / "decisions.csv").mkdir())
    yield decisions("dev-null", None, REFUSED, path="/dev/null")
    yield decisions("fifo", None, REFUSED, prepare=fifo("decisions.csv"), subprocess=True, timeout=20)


def _stored_files_listed_once(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    """No command made two [[files]] entries of a search point at one stored file (an import
    that reuses the name of a listed file gives the old entry bytes it never had)."""
    problems = []
    for toml in (
        sorted((ctx.review / "searches").glob("*.toml")) if (ctx.review / "searches").is_dir() else []
    ):
        try:
            files = tomllib.loads(toml.read_text(encoding="utf-8")).get("files", [])
            paths = [entry["path"] for entry in files]
        except (ValueError, OSError, TypeError, KeyError, AttributeError):
            continue  # damaged by the case itself: the readers' refusal covers it
        repeated = sorted({path for path in paths if paths.count(path) > 1})
        if repeated:
            problems.append(
                f"{toml.name} lists {', '.join(map(str, repeated))} more than once after the commands"
            )
    return problems


def _refusal_wrote_nothing(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    if outcomes[0].code == 2 and (ctx.review / "searches" / "hostile.toml").exists():
        return ["searches/hostile.toml was written although the import was refused"]
    return []


def _records_imported(count: int) -> Callable[[Ctx, list[Outcome]], list[str]]:
    def check(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
        path = ctx.review / "searches" / "hostile.toml"
        if not path.exists():
            return []  # the exit code already says the import was refused
        stored = sum(f["records"] for f in tomllib.loads(path.read_text())["files"])
        return [] if stored == count else [f"{stored} records imported of the file's {count}"]

    return check


def _export_has_no_formula(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    path = ctx.review / "exported.csv"
    if not path.exists():
        return ["export -o exported.csv wrote nothing"]
    cells = [cell for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))) for cell in row]
    live = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    return [f"exported cells a spreadsheet would run as formulas: {live[:3]!r}"] if live else []


def _secret_not_read(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    stored = ctx.review / "searches"
    text = "".join(p.read_text(errors="replace") for p in stored.glob("hostile*") if p.is_file())
    text += "".join(o.out for o in outcomes)
    return ["the external entity's file was read into the review"] if "TOP-SECRET" in text else []


def cache_cases() -> Iterable[Case]:
    """The derived state in the user's cache (damaged or forged: rebuilt, never trusted) and an
    old `.screener/` cache folder left in a review (ignored, never written through)."""
    commands = [
        cmd("status"),
        cmd("dedup", "--json"),
        cmd("prisma", "--format", "json"),
        cmd("rank", "--reviewer", "bob", "--json"),
    ]

    def in_each(folder: str, data: bytes | Callable[[Ctx], bytes]) -> Callable[[Ctx], None]:
        def run(ctx: Ctx) -> None:
            for path in (ctx.review_cache / folder).iterdir():
                path.write_bytes(data(ctx) if callable(data) else data)

        return run

    def forged_records(ctx: Ctx) -> bytes:
        from screener.review import _RECORD_FIELDS

        return marshal.dumps((_RECORD_FIELDS, [tuple(range(len(_RECORD_FIELDS)))]))

    forged_clusters = {"cluster_of": [10**6] * 7, "pairs": [], "seconds": {}, "compared": 0, "candidates": 0}
    forged_pairs = {"cluster_of": [0] * 7, "pairs": [("a",) * 9], "seconds": "x", "compared": "x"}
    yield Case("cache-records-garbage", commands, in_each("records", b"\x00garbage\xff" * 10))
    yield Case("cache-records-forged-types", commands, in_each("records", forged_records))
    yield Case("cache-records-forged-rows", commands, in_each("records", marshal.dumps(("x", [1, 2, 3]))))
    yield Case("cache-dedup-garbage", commands, in_each("dedup", b"\x00garbage"))
    yield Case("cache-dedup-forged-clusters", commands, in_each("dedup", marshal.dumps(forged_clusters)))
    yield Case("cache-dedup-forged-pairs", commands, in_each("dedup", marshal.dumps(forged_pairs)))
    yield Case("cache-features-garbage", commands, in_each("features", b"PK\x03\x04 not a zip"))
    yield Case("cache-folder-is-file", commands, write(CACHE, "not a folder\n"), damaged=("reviews",))
    legacy = ".screener"
    yield Case("legacy-cache-garbage", commands, write(f"{legacy}/records/x.marshal", b"\x00garbage"))
    yield Case("legacy-cache-is-file", commands, write(legacy, "not a folder\n"))
    yield Case(
        "legacy-cache-symlink-outside",
        [*commands, cmd("screen", "--reviewer", "alice", "--order", "file")],
        steps(write_outer("sentinel/cache/keep.txt", "keep\n"), link(legacy, "@OUT@/sentinel/cache")),
    )
    states = {
        "not-json": b"{not json",
        "truncated": STATE_PARAMETERS[:40],
        "wrong-types": STATE_PARAMETERS + b', "slices": 3}',
        "list": b"[1, 2]",
        "binary": b"\xff\xfe\x00",
        "paths": STATE_PARAMETERS + STATE_PATHS,
    }
    for slug, data in states.items():
        yield Case(
            f"cache-pubmed-state-{slug}",
            [cmd("search", "pubmed", "--search", "pm", "--query", "liver", expect=REFUSED)],
            write(f"{CACHE}/searches/pm/state.json", data),
        )


def option_cases() -> Iterable[Case]:
    pubmed = ("search", "pubmed", "--search", "pm", "--query", "liver")
    yield Case(
        "env-eutils-timeout-abc", [cmd(*pubmed, expect=REFUSED, env={"SCREENER_EUTILS_TIMEOUT": "abc"})]
    )
    yield Case(
        "env-eutils-timeout-negative", [cmd(*pubmed, expect=REFUSED, env={"SCREENER_EUTILS_TIMEOUT": "-1"})]
    )
    yield Case(
        "env-eutils-backoff-abc", [cmd(*pubmed, expect=REFUSED, env={"SCREENER_EUTILS_BACKOFF": "abc"})]
    )
    yield Case(
        "env-eutils-url-garbage", [cmd(*pubmed, expect=REFUSED, env={"SCREENER_EUTILS_URL": "not a url\x7f"})]
    )
    dataset = write_input("labelled.csv", (SAMPLES / "asreview.csv").read_bytes())
    yield Case(
        "simulate-seeds-letters",
        [cmd("simulate", "@IN@/labelled.csv", "--seeds", "a", expect=REFUSED)],
        dataset,
    )
    yield Case(
        "simulate-seeds-empty", [cmd("simulate", "@IN@/labelled.csv", "--seeds", "", expect=REFUSED)], dataset
    )
    yield Case(
        "simulate-dataset-binary",
        [cmd("simulate", "@IN@/labelled.csv", expect=REFUSED)],
        write_input("labelled.csv", bytes(range(256))),
    )
    yield Case(
        "prisma-diagram-missing-folder",
        [cmd("prisma", "--diagram", "missing_dir/x.svg", expect=REFUSED)],
        verify=_absent("missing_dir"),
    )
    yield Case(
        "prisma-diagram-unknown-suffix",
        [cmd("prisma", "--diagram", "x.txt", expect=REFUSED)],
        verify=_absent("x.txt"),
    )
    yield Case(
        "prisma-diagram-is-directory",
        [cmd("prisma", "--diagram", "labels.svg", expect=REFUSED)],
        make_dir("labels.svg"),
    )
    yield Case(
        "export-output-missing-folder",
        [cmd("export", "--format", "csv", "-o", "missing_dir/x.csv", expect=REFUSED)],
        verify=_absent("missing_dir"),
    )
    yield Case(
        "export-output-is-directory", [cmd("export", "--format", "csv", "-o", "labels", expect=REFUSED)]
    )
    yield Case(
        "dedup-output-missing-folder",
        [cmd("dedup", "--output", "missing_dir/x.csv", expect=REFUSED)],
        verify=_absent("missing_dir"),
    )
    yield Case(
        "dedup-pairs-out-missing-folder",
        [cmd("dedup", "--pairs-out", "missing_dir/x.csv", expect=REFUSED)],
        verify=_absent("missing_dir"),
    )
    yield Case("review-option-not-a-review", [cmd("--review", "@OUT@/sentinel", "status", expect=REFUSED)])
    yield Case(
        "review-option-a-file", [cmd("status", "--review", "@OUT@/sentinel/secret.txt", expect=REFUSED)]
    )
    yield Case(
        "label-note-newline-and-quotes",
        [
            cmd(
                "label",
                "--reviewer",
                "bob",
                OPEN_RECORD,
                "include",
                "--note",
                'line one\nline "two", three\r\n',
                expect=OK,
            )
        ],
    )
    yield Case(
        "label-note-huge",
        # Refused, with nothing written: a decision line stays short enough to check its end.
        [cmd("label", "--reviewer", "bob", OPEN_RECORD, "include", "--note", "n" * 200_000, expect=REFUSED)],
    )
    yield Case(
        "label-id-with-newline",
        [cmd("label", "--reviewer", "bob", "pmid:1\npmid:2", "include", expect=REFUSED)],
    )
    yield Case(
        "label-full-text-unknown-reason",
        [
            cmd(
                "label",
                "--reviewer",
                "bob",
                "--stage",
                "full-text",
                CONFLICT_RECORD,
                "exclude",
                "--reason",
                "Because",
                expect=REFUSED,
                mentions="--reason 'Because'",  # the option is the mistake, not review.toml
            )
        ],
    )
    yield Case(
        "label-full-text-reason-in-other-case",
        [
            cmd(
                "label",
                "--reviewer",
                "bob",
                "--stage",
                "full-text",
                CONFLICT_RECORD,
                "exclude",
                "--reason",
                "wrong outcomes",
                expect=REFUSED,
                mentions="did you mean 'Wrong outcomes'?",
            )
        ],
    )
    yield Case(
        "agreement-json-is-strict-json",
        [cmd("agreement", "--json", expect=OK), cmd("status", "--json", expect=OK)],
        verify=_strict_json,
    )
    yield Case("rank-top-negative", [cmd("rank", "--reviewer", "bob", "--top", "-5")])
    yield Case(
        "update-import-no-equals",
        [cmd("update", "--import", "@IN@/new.ris", expect=REFUSED)],
        write_input("new.ris", NEW_RIS),
    )
    # Without a terminal the interactive commands refuse, never wait or crash.
    yield Case(
        "resolve-without-terminal",
        [cmd("resolve", "--reviewer", "carol", expect=REFUSED)],
        subprocess=True,
        timeout=30,
    )
    yield Case(
        "dedup-review-without-terminal",
        [cmd("dedup", "--review")],
        write(DEDUP_CSV, b""),
        subprocess=True,
        timeout=30,
    )


def _strict_json(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    """What JSON parsers other than Python's see: NaN and Infinity are not JSON (one screener
    pair that agrees on a single record has no kappa)."""
    problems = [(o, json_problem(o.out, strict=True)) for o in outcomes if o.code == 0]
    return [f"{o.describe()}: not strict JSON ({problem})" for o, problem in problems if problem]


# -- text that must not act on a terminal or reorder a page (issue #22) ----------------------

# An OSC title change with a BEL, a screen wipe and an 8-bit CSI, then bidi overrides/isolates.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m"
BIDI = "\u202e\u2066\u202a"
HOSTILE_ID = f"pmid:7{ESCAPES}{BIDI}7"
UNSAFE_CHARS = frozenset("\x1b\x07\x9b\u202e\u2066\u202a")
HOSTILE_TEXT = f"evil{BIDI}text{ESCAPES}"


def _nothing_unsafe_shown(*files: str) -> Callable[[Ctx, list[Outcome]], list[str]]:
    """No command printed a control or bidi character, and none is in the files it wrote."""

    def check(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
        # `check` exits 1 when it finds a problem (the harness takes 0 or 2): run here.
        checked = run_in_process(["check"], ctx.review, {"SCREENER_CACHE_DIR": str(ctx.cache)})
        problems = [
            f"`screener {' '.join(o.argv[:3])}` printed {sorted(UNSAFE_CHARS & set(o.out + o.err))!r}"
            for o in [*outcomes, checked]
            if UNSAFE_CHARS & set(o.out + o.err)
        ]
        for name in files:
            path = ctx.review / name
            if not path.is_file():
                problems.append(f"{name} was not written")
            elif UNSAFE_CHARS & set(path.read_text(encoding="utf-8", errors="replace")):
                problems.append(f"{name} holds control or bidi characters")
        return problems

    return check


def _hostile_id_kept(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
    """Ids are data: the id is still in alice's file, byte for byte."""
    if HOSTILE_ID.encode() not in (ctx.review / ALICE).read_bytes():
        return ["the hostile id is no longer byte-identical in alice's decision file"]
    return []


DISPLAY_COMMANDS = [
    cmd("status"),
    cmd("conflicts"),
    cmd("conflicts", "--json"),
    cmd("agreement"),
    cmd("label", "--reviewer", "bob", "--stage", "title-abstract", HOSTILE_ID, "include"),
    cmd("export", "--format", "csv", "--stage", "title-abstract", "--decision", "all", "-o", "exported.csv"),
    cmd("export", "--format", "ris", "--stage", "title-abstract", "--decision", "all", "-o", "exported.ris"),
    cmd("report", "-o", "shown.html", expect=OK),
    cmd("report", "--json", expect=OK),
]


def display_cases() -> Iterable[Case]:
    shown_files = ("exported.csv", "exported.ris", "shown.html")
    rows = [*ALICE_ROWS, f"{HOSTILE_ID},include,,,2024-01-01T00:00:03.000+00:00,0.1.0"]
    yield Case(
        "display-labels-id-escapes",
        DISPLAY_COMMANDS,
        write(ALICE, labels_rows(*rows)),
        verify=lambda ctx, outcomes: (
            _nothing_unsafe_shown(*shown_files)(ctx, outcomes) + _hostile_id_kept(ctx, outcomes)
        ),
    )
    noted = [
        f"{CONFLICT_RECORD},include,,{HOSTILE_TEXT},2024-01-01T00:00:00.000+00:00,0.1.0,{HOSTILE_TEXT}",
        f"{OPEN_RECORD},include,,{HOSTILE_TEXT},2024-01-01T00:00:01.000+00:00,0.1.0,rct",
    ]
    yield Case(
        "display-labels-notes-and-tags",
        DISPLAY_COMMANDS,
        write(
            ALICE,
            "record_id,decision,reason,note,timestamp,version,tags\n" + "".join(r + "\n" for r in noted),
        ),
        verify=_nothing_unsafe_shown(*shown_files),
    )
    for key in ("title", "question"):
        yield Case(
            f"display-review-toml-bidi-{key}",
            DISPLAY_COMMANDS,
            edit_toml("review.toml", setter(key, value=f"Liver {BIDI}metastases")),
            verify=_nothing_unsafe_shown(*shown_files),
        )
    yield Case(
        "display-search-toml-bidi-database",
        DISPLAY_COMMANDS,
        edit_toml(EMBASE_TOML, setter("database", value=f"Em{BIDI}base")),
        verify=_nothing_unsafe_shown(*shown_files),
    )


# -- outputs through committed links, and init into linked folders (issue #22) --------------


def fifo_at(relative: str) -> Callable[[Ctx], None]:
    """A FIFO at a path of the review (made on this machine: git cannot commit one)."""

    def run(ctx: Ctx) -> None:
        path = ctx.locate(relative)
        _remove(path)
        os.mkfifo(path)

    return run


def _still_link(relative: str) -> Callable[[Ctx, list[Outcome]], list[str]]:
    def check(ctx: Ctx, outcomes: list[Outcome]) -> list[str]:
        return [] if ctx.locate(relative).is_symlink() else [f"{relative} is no longer the link it was"]

    return check


# Every command that writes an output file, at the name a collaborator could commit as a link.
OUTPUT_WRITERS = {
    "report-default": ("report.html", ("report",)),
    "report-named": ("shared.html", ("report", "-o", "shared.html")),
    "prisma-diagram": ("prisma.svg", ("prisma", "--diagram", "prisma.svg")),
    "export": (
        "included.ris",
        ("export", "--format", "ris", "--stage", "title-abstract", "--decision", "all", "-o", "included.ris"),
    ),
    "dedup-output": ("clusters.csv", ("dedup", "--output", "clusters.csv")),
    "dedup-pairs-out": ("pairs.csv", ("dedup", "--pairs-out", "pairs.csv")),
}
LINK_TARGETS = {
    "dev-null": "/dev/null",
    "fifo": "@IN@/pipe",
    "file-outside": "@OUT@/sentinel/secret.txt",
    "missing": "@OUT@/sentinel/new.html",
}


def output_cases() -> Iterable[Case]:
    for writer, (name, argv) in OUTPUT_WRITERS.items():
        for slug, target in LINK_TARGETS.items():
            yield Case(
                f"output-{writer}-symlink-{slug}",
                [cmd(*argv, expect=REFUSED, mentions="symbolic link")],
                steps(fifo("pipe"), link(name, target)),
                verify=_still_link(name),
                subprocess=slug == "fifo",  # written through, a FIFO with a reader would block
                timeout=20,
            )
    # A FIFO made where the default output goes: refused at once (only a named one is written to).
    yield Case(
        "output-report-default-fifo",
        [cmd("report", expect=REFUSED, mentions="not a regular file")],
        fifo_at("report.html"),
        subprocess=True,
        timeout=20,
    )


def init_cases() -> Iterable[Case]:
    """`init` into a folder (a clone) whose review folders are links: nothing made at a target."""
    for folder in ("labels", "searches", "labels/title-abstract", "labels/full-text"):
        slug = folder.replace("/", "-")

        def prepare(ctx: Ctx, folder: str = folder) -> None:
            (ctx.outer / "sentinel" / "target").mkdir(exist_ok=True)
            fresh = ctx.outer / "review" / "fresh"
            (fresh / folder).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(ctx.outer / "sentinel" / "target", fresh / folder)

        yield Case(
            f"init-folder-symlink-{slug}",
            [cmd("init", "fresh", "--reviewer", "alice", expect=REFUSED, mentions="symbolic link")],
            prepare,
            verify=_absent("fresh/review.toml"),
        )


# Highlight patterns that backtrack exponentially: refused by every command, naming the key.
HANGING_PATTERNS = {
    "nested-plus": ("include", "(a+)+$"),
    "alternation-star": ("include", "(a|aa)*$"),
    "words-repeated": ("exclude", "(\\w+\\s?)+$"),
    "back-reference": ("exclude", "(x+)\\1"),
    "in-lookahead": ("include", "(?=(a*)*b)a"),
}


def highlight_cases() -> Iterable[Case]:
    for slug, (key, pattern) in HANGING_PATTERNS.items():
        yield Case(
            f"highlight-hangs-{slug}",
            [
                cmd("status", expect=REFUSED, mentions=f"highlight.{key}[0]"),
                cmd("screen", "--reviewer", "bob", expect=REFUSED, mentions=f"highlight.{key}[0]"),
            ],
            edit_toml("review.toml", setter("highlight", key, value=[pattern])),
            damaged=("review.toml",),
            subprocess=True,  # before the fix, `screen` would spin on the pattern
            timeout=30,
        )


def all_cases() -> list[Case]:
    cases = [
        *name_cases(),
        *reviewer_cases(),
        *review_toml_cases(),
        *searches_cases(),
        *labels_cases(),
        *export_cases(),
        *cache_cases(),
        *option_cases(),
        *display_cases(),
        *output_cases(),
        *init_cases(),
        *highlight_cases(),
    ]
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    return cases


CASES = all_cases()
