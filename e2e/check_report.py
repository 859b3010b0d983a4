"""The report in a real browser: build the worked example's page, open it in headless Chromium
(Debian's package), and check what a person would see.

    python e2e/check_report.py [--chromium chromium] [--keep DIR]

Checks, each printed with its number:
- the page's own script ran under its Content-Security-Policy (the DOM Chromium dumps has the
  search boxes the script adds to the tables) and the diagram is an <svg> in that DOM;
- a screenshot of the page (1280x2000) is not blank, and shows the diagram: its orange header
  and blue stage bands (prisma/diagram.py's colours) cover a real area of the image.
Exit code 1 when a check fails, with the screenshots kept (--keep) to look at.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
HEADER = (0xFD, 0xD4, 0x9E)  # prisma.diagram.HEADER
BAND = (0xC6, 0xDB, 0xEF)  # prisma.diagram.BAND
WIDTH, HEIGHT = 1280, 2000


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        # Nothing on the page may need the network: every host resolves to nowhere.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def share_near(image: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> float:
    """The share of pixels in `box` within a few levels of `colour`."""
    region = image.convert("RGB").crop(box)
    hits = sum(
        n
        for n, (r, g, b) in region.getcolors(maxcolors=region.width * region.height)
        if abs(r - colour[0]) <= 6 and abs(g - colour[1]) <= 6 and abs(b - colour[2]) <= 6
    )
    return hits / (region.width * region.height)


def ink(image: Image.Image) -> float:
    """The share of pixels that are not (nearly) white."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[245:]) / (grey.width * grey.height)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--keep", type=Path, default=None, help="Keep the page and screenshots here.")
    args = parser.parse_args()
    if not shutil.which(args.chromium):
        print(f"e2e: no {args.chromium} here; `make e2e` installs Debian's chromium", file=sys.stderr)
        return 1
    version = chromium(args.chromium, Path(tempfile.mkdtemp()), "--version").stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="screener-e2e-"))
    out = args.keep or work
    out.mkdir(parents=True, exist_ok=True)
    page = out / "report.html"
    # The worked example, copied so the check never writes into the repository.
    example = work / "lesurtel"
    example.mkdir()
    shutil.copy(REPO / "review.toml", example / "review.toml")
    shutil.copytree(REPO / "searches", example / "searches")
    shutil.copytree(REPO / "labels", example / "labels")
    start = time.perf_counter()
    built = subprocess.run(
        [sys.executable, "-m", "screener", "report", "-o", str(page), "--review", str(example)],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, SCREENER_CACHE_DIR=str(work / "cache")),  # leaves nothing in the user's cache
    )
    if built.returncode:
        print(f"e2e: screener report failed: {built.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"e2e: built {page} ({page.stat().st_size:,} bytes) in {time.perf_counter() - start:.1f} s")
    url = page.resolve().as_uri()
    failures = []

    dom = chromium(args.chromium, work / "profile", "--dump-dom", url).stdout
    filters = dom.count('class="filter"')
    buttons = dom.count('<button type="button">')  # each sortable column's header, made by the script
    has_diagram = re.search(r"<svg[^>]*class=\"diagram\"", dom) is not None
    print(f"e2e: {version}; DOM: {filters} table search boxes and {buttons} sort buttons added by the script")
    print(f"e2e: DOM: the diagram's <svg> is there: {has_diagram}")
    if filters < 2 or buttons < 10:
        failures.append("the page's script did not run (no search boxes on the tables): check its CSP hash")
    if not has_diagram:
        failures.append("no diagram <svg> in the DOM")

    shot = out / "report.png"
    result = chromium(args.chromium, work / "profile", f"--screenshot={shot}", url)
    if not shot.is_file():
        failures.append(f"no screenshot: {result.stderr.strip()[-300:]}")
    else:
        image = Image.open(shot)
        share = ink(image)
        # The diagram comes first on the page, under the title and the contents.
        box = (0, 0, WIDTH, HEIGHT)
        header, band = share_near(image, HEADER, box), share_near(image, BAND, box)
        print(
            f"e2e: screenshot {image.width}x{image.height}: {share:.1%} of pixels not white; the diagram's "
            f"header colour {header:.2%}, stage bands {band:.2%}"
        )
        if share < 0.02:
            failures.append(f"the page is blank ({share:.2%} ink)")
        if header < 0.003 or band < 0.005:
            failures.append("the diagram is not visible (its header and stage bands are missing)")
    for failure in failures:
        print(f"e2e: FAILED: {failure}", file=sys.stderr)
    if failures:
        print(f"e2e: the page and screenshots are in {out}", file=sys.stderr)
        return 1
    print("e2e: 1 passed, 0 failed")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
