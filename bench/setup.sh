#!/bin/sh
# .venv-bench: the anchors' pinned requirements plus careflow (editable), made once; redone when
# pyproject.toml or the anchors' requirements change. Run from the project's root.
set -e
ANCHORS="${CAREFLOW_BENCH_ANCHORS:-../shared/bench-anchors}"
VENV=.venv-bench
STAMP="$VENV/.installed"
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt "$ANCHORS/requirements.txt" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ANCHORS/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e .
touch "$STAMP"
