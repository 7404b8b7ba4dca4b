#!/bin/sh
# The package as users get it: build the sdist and the wheel, install the wheel into a fresh venv
# with no source tree on the path, and smoke-test it there. Usage: sh scripts/wheel-check.sh PYTHON
# PYTHON must have `build` and `hatchling` (the locked .venv has both), so this needs no network
# beyond the lock's own dependencies, which are installed from the lock by hash.
set -eu
python=$1
root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/careflow-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" -m build --no-isolation --sdist --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
  cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/careflow-*.whl)
ls "$work"/dist/careflow-*.tar.gz >/dev/null
echo "wheel check: built $(basename "$wheel") and the sdist"
"$python" -m venv "$work/venv"
vpy="$work/venv/bin/python"
pip="$vpy -m pip install --quiet --disable-pip-version-check"
# the runtime dependencies at their locked versions, then the wheel itself
$pip --require-hashes --no-deps -r requirements-dev.lock
$pip --no-deps "$wheel"
mkdir -p "$work/elsewhere/histories"
cp -R "$root/tests/histories/psht" "$work/elsewhere/histories/psht"  # a folder named after its process
cd "$work/elsewhere"
export PYTHONSAFEPATH=1  # no source tree on the path: the current folder is not searched either
"$vpy" - <<'PY'
import careflow, pathlib, sys
where = pathlib.Path(careflow.__file__).resolve()
assert "site-packages" in where.parts, f"careflow imported from {where}, not from the wheel"
careflow.load("psht")
print("wheel check: import careflow; careflow.load('psht') from", where.parent)
PY
ids=$("$work/venv/bin/careflow" list | awk 'NR>0 {print $1}' | grep -E '^[a-z_]+$' || true)
[ -n "$ids" ] || { echo "wheel check: 'careflow list' found no bundled process" >&2; exit 1; }
# shellcheck disable=SC2086
"$work/venv/bin/careflow" validate --strict $ids
"$work/venv/bin/careflow" render psht -f svg -o psht.svg
grep -q "<svg" psht.svg
echo "wheel check: careflow render psht -f svg"
cat > pyproject.toml <<'TOML'
[tool.pytest.ini_options]
careflow_histories = ["histories"]
TOML
"$vpy" -m pytest -q -p no:cacheprovider histories
echo "wheel check: passed"
