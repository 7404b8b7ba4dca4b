#!/bin/sh
# The suite outside the lock, in a venv of its own (.venv-latest or .venv-lowest). Not part of CI.
#   latest: the newest versions pyproject.toml allows today, for everything; the whole suite.
#   lowest: careflow's runtime dependencies at the lower bounds pyproject.toml claims, with the
#           locked test tools; the tests (lint and types are the locked venv's business).
# Usage: sh scripts/test-env.sh latest|lowest UV PYTHON
set -eu
mode=$1 uv=$2 python=$3
venv=".venv-$mode"
rm -rf "$venv"
"$python" -m venv "$venv"
py="$venv/bin/python"
case "$mode" in
  latest)
    "$uv" pip install --quiet --python "$py" --upgrade --refresh -e '.[dev]'
    ;;
  lowest)
    # only careflow's own ranges go low; the test tools stay at their locked versions
    pins=$(grep -E '^(pytest|hypothesis|check-jsonschema)==' requirements-dev.lock | sed 's/ .*//')
    # shellcheck disable=SC2086
    "$uv" pip install --quiet --python "$py" --resolution lowest-direct -e '.[postgres,lsp]' $pins
    ;;
  *) echo "usage: sh scripts/test-env.sh latest|lowest UV PYTHON" >&2; exit 2 ;;
esac
echo "== $mode: the versions installed in $venv"
"$uv" pip list --python "$py" | grep -Ei '^(attrs|pyyaml|jsonschema|networkx|graphviz|transitions|psycopg|pytest|hypothesis|mypy|ruff|import-linter) '
sh scripts/ensure-graphviz.sh
status=0
"$py" -m pytest -q -p no:cacheprovider || status=1
if [ "$mode" = latest ]; then
  "$venv/bin/ruff" check --no-cache src tests bench || status=1
  "$venv/bin/mypy" --cache-dir=/dev/null || status=1
  "$venv/bin/lint-imports" --no-cache || status=1
fi
[ $status = 0 ] && echo "== $mode: green" || echo "== $mode: RED: upstream moved; see above, then fix or bound the range"
exit $status
