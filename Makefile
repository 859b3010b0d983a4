# Everything installs into .venv from nothing: `make test` and `make run` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint run bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks

# The main job on the worked example at the repository root.
run: install
	$(BIN)/screener status

bench: install
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/entrez_bench.py

clean:
	rm -rf $(VENV) .screener .pytest_cache
