# Everything installs into .venv from nothing: `make test` and `make run` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

BENCH_VENV := .venv-bench

.PHONY: install test lint run e2e worked-example bench bench-env clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: install
	$(BIN)/ruff check src tests benchmarks tools e2e
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks tools e2e
	$(BIN)/lint-imports

# The main job on the worked example at the repository root.
run: install
	$(BIN)/screener dedup
	$(BIN)/screener status
	$(BIN)/screener agreement
	$(BIN)/screener prisma --diagram prisma.svg
	$(BIN)/screener prisma --format json > prisma.json
	$(BIN)/screener prisma --diagram prisma.png --format csv > PRISMA.csv
	$(BIN)/screener report -o report.html
	@echo "Wrote prisma.svg, prisma.png, prisma.json, PRISMA.csv (the PRISMA2020 R package's template) and report.html."

# The report in a real browser: Debian's chromium (installed here when missing, as root or
# through sudo), the worked example's page opened headless, its screenshot checked.
e2e: install
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; \
	  elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
	  else echo "make e2e needs Debian's chromium: apt-get install chromium (as root)"; exit 1; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null; }
	$(BIN)/python e2e/check_report.py

# Rebuild the worked example's searches/ and labels/ from ../shared/seed (deterministic).
worked-example: install
	$(BIN)/python tools/reconstruct_worked_example.py

# The tools we compare against live in their own environment, so their pins never touch ours.
bench-env: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet "bib-dedupe==0.11.0" "asreview>=3,<4"
	touch $@

# Each script records its figures in benchmarks/results/ (a full default run only); the last
# line renders docs/benchmarks.md from them, for the figures to be committed together. A missed
# target is a figure too: the scripts that exit non-zero on one (-) do not stop the others.
bench: install bench-env
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/entrez_bench.py
	-$(BIN)/python benchmarks/chase_bench.py
	$(BIN)/python benchmarks/dedup_bench.py --bib-dedupe-python $(BENCH_VENV)/bin/python
	$(BIN)/python benchmarks/dedup_bench.py --no-bib-dedupe
	$(BIN)/python benchmarks/dedup_scale.py
	$(BIN)/python benchmarks/screen_latency.py
	$(BIN)/python benchmarks/ranking_bench.py --asreview-python $(BENCH_VENV)/bin/python
	$(BIN)/python benchmarks/ranking_bench.py --level ta --asreview-python $(BENCH_VENV)/bin/python --no-timing
	$(BIN)/python benchmarks/stopping_choice.py
	$(BIN)/python benchmarks/ranking_variants.py --seeds 0,1,2 --record meaning --variants tiab+q,tiab-meaning-turns+q,tiab-meaning-partner+q
	$(BIN)/python benchmarks/ranker_startup.py
	$(BIN)/python benchmarks/report_bench.py
	$(BIN)/python benchmarks/fulltext_attach_bench.py
	-$(BIN)/python benchmarks/fulltext_get_bench.py
	$(BIN)/python tools/benchmarks_doc.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .screener .pytest_cache .import_linter_cache .grimp_cache
