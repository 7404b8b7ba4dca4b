# Two commands do everything: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test unit lint typecheck bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Python packages, plus Graphviz's `dot` (Debian package graphviz) where it is missing.
setup: $(STAMP)
	@sh scripts/ensure-graphviz.sh

demo: setup
	$(BIN)/python -m careflow.demo

# The whole suite: tests, lint, types and the import layering contract.
test: setup
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/python -m pytest -q -x

# Handbook diagrams of every bundled process (docs/diagrams/); `make test` checks they are up to date.
docs: setup
	$(BIN)/python scripts/make_docs.py

# careflow beside the anchor libraries in one run (its own venv with their pinned versions), then stores.
bench: setup
	sh bench/setup.sh
	.venv-bench/bin/python bench/run.py
	$(BIN)/python bench/bench_stores.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
