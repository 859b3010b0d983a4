"""Shared test helpers: the CLI run in-process, a fresh review, and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screener.cli import main
from screener.review import Review, init_review

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).parent / "samples"
SHARED_DATA = Path(os.environ.get("SCREENER_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURES = SHARED_DATA / "fixtures"



@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Tests keep screener's cache in their own folder, never in the user's."""
    previous = os.environ.get("SCREENER_CACHE_DIR")
    os.environ["SCREENER_CACHE_DIR"] = str(tmp_path_factory.mktemp("screener-cache"))
    yield
    if previous is None:
        os.environ.pop("SCREENER_CACHE_DIR", None)
    else:
        os.environ["SCREENER_CACHE_DIR"] = previous


needs_shared = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"the shared third-party data is not at {SHARED_DATA} (set SCREENER_SHARED_DATA)",
)


@pytest.fixture
def review(tmp_path: Path) -> Review:
    return Review(init_review(tmp_path / "review", title="Test review"))


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[-500:]!r}, err={self.err[-500:]!r})"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `screener ARGS...` in-process (through main, so errors map to exit codes)."""

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def stored_export(review: Review, search: str, index: int = 0) -> Path:
    """Where a search's `index`th export is kept in searches/ (named by its content)."""
    found = review.search(search)
    assert found is not None, f"no search {search!r}"
    return review.searches_dir / found.files[index].path
