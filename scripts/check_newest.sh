#!/usr/bin/env bash
# The newest Python with the newest releases, tested: a fresh virtual environment with the
# newest CPython found (or PYTHON), jaxdl installed from this checkout as the README does
# (pip install -e ".[test,docs]", so pip resolves the newest release of every dependency and test
# extra that supports that Python), then the README test command, or the subset named in TESTS.
# A peer library of the benchmark that cannot run there (an import error, glum's lbfgs under
# scipy >= 1.18) is an UNAVAILABLE row of the benchmark, never a failed test.
#
# Usage: scripts/check_newest.sh [VERSION]       (needs PyPI; a few minutes plus the tests)
#        VERSION: 3.13 or 3.12 (default: the newest of them found), looked up as pythonX.Y on
#        PATH, else among pyenv's installed versions (the newest X.Y.Z).
# Env:   PYTHON   an interpreter to use instead of looking one up
#        TESTS    pytest arguments instead of the whole suite, e.g. TESTS="tests/test_cli.py"
#        KEEP_VENV=1 to keep the venv and print its path
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

find_python() {  # $1: X.Y; prints the interpreter, or nothing
  if "python$1" -c "" 2>/dev/null; then
    command -v "python$1"
    return
  fi
  if command -v pyenv > /dev/null; then
    local found="" p
    for p in "$(pyenv root)/versions/$1".*/bin/python3; do
      if [[ -x "$p" ]]; then found=$p; fi
    done
    echo "$found"
  fi
}

if [[ -z "${PYTHON:-}" ]]; then
  for version in ${1:-3.13 3.12}; do
    PYTHON=$(find_python "$version")
    if [[ -n "$PYTHON" ]]; then break; fi
  done
fi
if [[ -z "${PYTHON:-}" ]]; then
  echo "check_newest: no Python ${1:-3.13 or 3.12} found (PATH, pyenv); set PYTHON" >&2
  exit 2
fi
VENV=$(mktemp -d "${TMPDIR:-/tmp}/jaxdl-newest.XXXXXX")
if [[ "${KEEP_VENV:-0}" == 1 ]]; then
  echo "newest-versions venv: $VENV"
else
  trap 'rm -rf "$VENV"' EXIT
fi
start=$SECONDS

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install -q --disable-pip-version-check --upgrade --upgrade-strategy eager \
  -e "$ROOT[test,docs]"
echo "installed in $((SECONDS - start)) s: $("$VENV/bin/python" - <<'PY'
import platform
from importlib.metadata import PackageNotFoundError, version

names = ("jax", "jaxlib", "optax", "chex", "numpy", "scipy", "scikit-learn", "statsmodels",
         "glum", "matplotlib", "pytest", "hypothesis")
found = []
for name in names:
    try:
        found.append(f"{name} {version(name)}")
    except PackageNotFoundError:
        found.append(f"{name} (not installed)")
print(f"Python {platform.python_version()}, " + ", ".join(found))
PY
)"

# shellcheck disable=SC2086  # TESTS is a list of pytest arguments
"$VENV/bin/python" -m pytest -q ${TESTS:-}
echo "check_newest: passed in $((SECONDS - start)) s (${TESTS:-the whole suite})"
