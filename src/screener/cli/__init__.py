"""The `screener` command: parse arguments, call the library, print. Nothing else lives here.

One module per stage registers its commands on the `cli` group: review (init, import, status,
check), search (search pubmed, update), chase, dedup, screening (label, conflicts, agreement,
screen, resolve), ranking (simulate, rank), export, prisma, fulltext (attach, status, show, list)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import ScreenerError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="screener")
@click.option(
    "--review",
    "review_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The review directory, for every command (default: found upward from here).",
)
@click.pass_context
def cli(ctx: click.Context, review_dir: Path | None) -> None:
    """Screen a systematic review from search to PRISMA diagram, in plain files.

    \b
    Example:
      screener init my-review && cd my-review
      screener import ~/Downloads/pubmed-export.nbib --search medline --database MEDLINE
      screener status
    """
    ctx.obj = {"review_dir": review_dir}


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback.

    A failure the code did not foresee is a bug: it is reported in one line with exit code 1
    (SCREENER_DEBUG=1 shows the traceback), so tests can tell it from an input error.
    """
    import os

    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe whose encoding lacks a character (PYTHONIOENCODING=ascii, a Latin-1
        # locale) shows a replacement, never fails the command on an arrow or an accented title.
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace" if stream is sys.stdout else "backslashreplace")
            except (ValueError, OSError):
                pass
    try:
        cli.main(args=argv, prog_name="screener", standalone_mode=False)
    except ScreenerError as exc:
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {_one_line(exc.format_message())}{where}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code if exc.exit_code != 1 else 2)
    except KeyboardInterrupt:
        click.echo("Interrupted; run the command again to resume.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:  # the disk, a folder that vanished, permissions: the user can act
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {_one_line(where + (exc.strerror or str(exc)))}", err=True)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("SCREENER_DEBUG"):
            raise
        message = _one_line(f"{type(exc).__name__}: {exc}")[:300]
        click.echo(
            f"error: internal error, a bug in screener ({message}); please report it "
            "(SCREENER_DEBUG=1 shows the details)",
            err=True,
        )
        sys.exit(1)


def _one_line(text: str) -> str:
    """An error as one line of plain text: what a file or a server put in it (an id, an HTTP
    error body) never moves the cursor or recolours the terminal."""
    from ..records import safe_text

    return " ".join(line.strip() for line in safe_text(text).splitlines() if line.strip())


# Registering the commands: each module adds its own to `cli` when imported.
from . import (  # noqa: E402,F401
    allocate,
    chase,
    dedup,
    export,
    fulltext,
    prisma,
    ranking,
    report,
    review,
    screening,
    search,
)
from .ranking import rank, simulate  # noqa: E402,F401  (tests call them directly)

if __name__ == "__main__":
    main()
