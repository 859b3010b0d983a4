"""Citation searching from the included studies: chase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ..errors import ScreenerError
from ..names import check_name
from ..records import safe_text
from ..review import SEARCH_NAME_HINT
from ..words import plural
from . import cli
from .common import err_console, find_review, json_option, print_json, progress_bar, review_option


def _sources(names: tuple[str, ...], progress: Any) -> list[Any]:
    """The chosen sources, each on the shared network client, retries printed above the bar."""
    from ..chase.europepmc import SERVICE as EUROPEPMC
    from ..chase.europepmc import EuropePmcSource
    from ..chase.openalex import SERVICE as OPENALEX
    from ..chase.openalex import OpenAlexSource
    from ..net import JsonClient, load_settings

    settings = load_settings()

    def say(message: str) -> None:
        # Server text may hold "[/x]": a Text is never read as markup.
        progress.console.print(Text(safe_text(message), style="yellow"), highlight=False)

    made = {
        "openalex": lambda: OpenAlexSource(JsonClient(OPENALEX, settings, on_retry=say)),
        "europepmc": lambda: EuropePmcSource(JsonClient(EUROPEPMC, settings, on_retry=say)),
    }
    return [made[name]() for name in names]


@cli.command()
@click.option("--search", "search_name", required=True, help="Name of the new citations search.")
@click.option("--backward", is_flag=True, help="The seeds' references.")
@click.option("--forward", is_flag=True, help="The works that cite the seeds.")
@click.option(
    "--stage",
    type=click.Choice(["title-abstract", "full-text"]),
    default="full-text",
    show_default=True,
    help="Seeds: the studies included at this stage.",
)
@click.option("--ids", "ids", multiple=True, help="Seeds: this record id instead (repeatable).")
@click.option("--depth", type=click.IntRange(1, 2), default=1, show_default=True, help="Levels to follow.")
@click.option(
    "--source",
    type=click.Choice(["openalex", "europepmc"]),
    default=None,
    help="Ask one source only (default: OpenAlex, then Europe PMC).",
)
@click.option("--dry-run", is_flag=True, help="Count the look-ups and list the seeds; ask nothing.")
@review_option
@json_option
def chase(
    search_name: str,
    backward: bool,
    forward: bool,
    stage: str,
    ids: tuple[str, ...],
    depth: int,
    source: str | None,
    dry_run: bool,
    review_dir: Path | None,
    as_json: bool,
) -> None:
    """Citation searching: the references of the included studies (--backward), the works
    that cite them (--forward), or both (neither flag means both).

    Every result is kept as one new search of kind `citations` (a CSV in searches/, with its
    sha256 and provenance in searches/NAME.toml); each row says which seed it came from, in
    which direction, how deep and from which source. Works the review holds already are found
    by dedup and counted as other-methods duplicates in PRISMA. Seeds are looked up by DOI or
    PMID; a seed with neither is listed, not chased.

    Asks OpenAlex (OPENALEX_API_KEY, OPENALEX_EMAIL from the environment) and Europe PMC;
    answers are cached in the user's cache folder, so an interrupted chase resumes and asks
    nothing twice. SCREENER_OPENALEX_URL and SCREENER_EUROPEPMC_URL point at other servers.

    \b
    Examples:
      screener chase --search citations --dry-run
      OPENALEX_EMAIL=me@example.org screener chase --search citations --backward --forward
      screener chase --search early-chase --stage title-abstract --source openalex --depth 2
      screener chase --search chase-two --ids pmid:16511671 --ids doi:10.1016/j.ejso.2009.02.017 --backward
    """
    from ..chase import SOURCES, plan, seeds_from_review, store
    from ..chase import chase as run

    check_name(search_name, "search name", hint=SEARCH_NAME_HINT)
    directions = [d for d, on in (("backward", backward), ("forward", forward)) if on] or [
        "backward",
        "forward",
    ]
    sources = (source,) if source else SOURCES
    review = find_review(review_dir)
    if review.search(search_name) is not None:
        raise ScreenerError(
            f"search {search_name!r} exists already",
            hint="name this chase with another --search (each chase is one search)",
        )
    id_list = [i for i in ids if i.strip()]  # one per option: an id may hold a comma
    with err_console.status("Finding the seeds"):
        seeds = seeds_from_review(review, stage, id_list)
    if not seeds:
        raise ScreenerError(
            f"no study is included at {stage} yet: nothing to chase from",
            hint="screen first, pass --stage title-abstract for an early look, or name records with --ids",
        )
    missing = [s for s in seeds if not s.identified]
    if len(missing) == len(seeds):  # nothing to ask: no search is recorded for a chase never made
        shown = ", ".join(s.record_id for s in missing[:5]) + (", …" if len(missing) > 5 else "")
        raise ScreenerError(
            f"no seed has a DOI or PMID ({shown}): nothing was chased and nothing written",
            hint="chase studies with a DOI or PMID, or add one to the record's export",
        )
    for seed in missing:
        err_console.print(
            f"warning: seed {seed.record_id} has no DOI or PMID and is not chased "
            f"({shorten(seed.title, 60)})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if dry_run:
        counted = plan(seeds, sources, directions, depth)
        if as_json:
            print_json(counted)
            return
        more = "; depth 2 adds one per work found at depth 1" if depth > 1 else ""
        click.echo(
            f"{plural(counted['seeds'], 'seed')} ({counted['seeds_with_doi_or_pmid']} with a DOI or PMID): "
            f"{counted['lookups']} look-ups ({counted['seed_lookups']} to find the seeds, "
            f"{counted['depth_1_lookups']} for {' and '.join(directions)} citations), "
            f"more where answers run to several pages{more}; nothing was asked"
        )
        return
    with progress_bar("Chasing citations") as (progress, task):
        chosen = _sources(sources, progress)

        def show(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        try:
            result = run(seeds, chosen, directions, depth, show)
        finally:
            for item in chosen:
                item.client.close()
    store(review, search_name, result, stage, id_list)
    info = result.to_dict()
    if as_json:
        print_json(info)
        return
    labels = {"openalex": "OpenAlex", "europepmc": "Europe PMC"}
    chased = len(seeds) - len(missing)
    # A seed counts as unknown when no source asked knows it (the others found it elsewhere).
    unknown = [
        s.record_id
        for s in seeds
        if s.identified and all(s.record_id in result.not_found.get(name, ()) for name in sources)
    ]
    left = [f"{len(missing)} without DOI or PMID"] if missing else []
    left += [f"{len(unknown)} unknown to the sources"] if unknown else []
    origin = f"from {plural(chased, 'seed')} chased" + (f" ({', '.join(left)})" if left else "")
    cost = f"{info['requests']} requests, {info['answered_from_cache']} answered from the cache"
    for name, why in result.failed.items():
        # The other sources' works are stored; this one's are not (it stopped part-way).
        click.echo(
            f"warning: {labels.get(name, name)} failed and none of its works are in this search: {why} "
            f"(chase it again later with --source {name} and another --search)",
            err=True,
        )
    for name, seed_ids in result.not_found.items():
        click.echo(
            f"warning: {labels.get(name, name)} does not know {plural(len(seed_ids), 'seed')}: "
            f"{', '.join(seed_ids)}",
            err=True,
        )
    if not info["stored_as"]:  # a search that found nothing is still a search PRISMA reports
        click.echo(
            f"0 distinct works {origin}; recorded search {search_name!r} with 0 works "
            f"(kind citations; {cost}): nothing to deduplicate or screen"
        )
        return
    click.echo(
        f"{plural(info['works_found'], 'distinct work')} {origin}, stored in {info['stored_as']} "
        f"(search {search_name!r}, kind citations; {cost})"
    )
    click.echo("next: screener dedup, then screen the new records like any search")


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters, with an ellipsis when something was cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
