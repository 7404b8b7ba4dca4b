# Two commands do everything: `make demo` and `make test`. Both set up .venv first, from the lock file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements-dev.lock
# The lock tool itself is pinned; `make lock` installs it into its own venv.
UV_VERSION := 0.13.9
UV_VENV    := .venv-uv
UV         := $(UV_VENV)/bin/uv
PIP        := python -m pip install --quiet --disable-pip-version-check

.PHONY: setup demo test unit lint typecheck bench docs lock test-latest test-lowest wheel-check clean fuzz

# Exactly what the lock says (hash-checked), then careflow itself without touching the pins.
$(STAMP): $(LOCK) pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP) --require-hashes --no-deps -r $(LOCK)
	$(BIN)/$(PIP) --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Python packages, plus Graphviz's `dot` (Debian package graphviz) where it is missing.
setup: $(STAMP)
	@sh scripts/ensure-graphviz.sh

demo: setup
	$(BIN)/python -m careflow.cli.demo

# The whole suite: tests, lint, types, the import layering contract, and the package as users get it.
test: setup
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	sh scripts/wheel-check.sh $(BIN)/python

# The input boundary's invariant with hypothesis at full strength: 50,000 examples (2,000 in `make test`).
fuzz: setup
	CAREFLOW_FUZZ=1 $(BIN)/python -m pytest -q -p no:randomly tests/hostile/test_invariant.py

unit: setup
	$(BIN)/python -m pytest -q -x

# Build the sdist and wheel, install the wheel in a fresh venv away from the source tree, smoke-test it.
wheel-check: setup
	sh scripts/wheel-check.sh $(BIN)/python

# Refresh the lock: the newest versions pyproject.toml allows, with hashes, for every platform.
lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --universal --python-version 3.11 \
	  --upgrade -o $(LOCK)

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/$(PIP) uv==$(UV_VERSION)

# Early warning, outside CI: the suite against the newest versions upstream allows today.
test-latest: $(UV)
	sh scripts/test-env.sh latest $(UV) $(PYTHON)

# The lower bounds pyproject.toml claims, really installed: runtime dependencies at their minimum.
test-lowest: $(UV)
	sh scripts/test-env.sh lowest $(UV) $(PYTHON)

# Handbook diagrams of every bundled process (docs/diagrams/); `make test` checks they are up to date.
docs: setup
	$(BIN)/python scripts/make_docs.py

# careflow beside the anchor libraries in one run (its own venv with their pinned versions), then stores.
bench: setup
	sh bench/setup.sh
	.venv-bench/bin/python bench/run.py
	$(BIN)/python bench/bench_stores.py
	$(BIN)/python bench/bench_audit.py

clean:
	rm -rf $(VENV) $(UV_VENV) .venv-latest .venv-lowest .pytest_cache .mypy_cache .ruff_cache .hypothesis dist
