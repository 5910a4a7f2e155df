#!/usr/bin/env bash
# The dependency floor, tested: install exactly the minimum versions that pyproject.toml declares
# (every `name>=X` of [project] dependencies becomes `name==X`) in a fresh virtual environment,
# then run the smoke subset against this checkout: import, `jaxdl verify` in both dtypes, one fit
# per solver asserting success, and a PSD assertion under chex.chexify.
#
# Usage: scripts/check_min_versions.sh        (needs network access to PyPI; about 3 minutes)
# Env:   PYTHON (default python3.11, else python3), KEEP_VENV=1 to keep the venv and print it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=$(mktemp -d "${TMPDIR:-/tmp}/jaxdl-min.XXXXXX")
if [[ "${KEEP_VENV:-0}" == 1 ]]; then
  echo "min-versions venv: $VENV"
else
  trap 'rm -rf "$VENV"' EXIT
fi
start=$SECONDS

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" - "$ROOT/pyproject.toml" > "$VENV/minimum.txt" <<'PY'
import re, sys, tomllib

with open(sys.argv[1], "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
for dep in deps:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*", dep)
    if m is None:
        sys.exit(f"pyproject.toml: expected 'name>=version' for every dependency, got {dep!r}")
    print(f"{m[1]}=={m[2]}")
PY
echo "minimum versions: $(tr '\n' ' ' < "$VENV/minimum.txt")"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$VENV/minimum.txt"
# Fail if the resolver moved a pinned package (pip would have refused, but say it plainly).
"$VENV/bin/python" - "$VENV/minimum.txt" <<'PY'
import sys
from importlib.metadata import version

for line in open(sys.argv[1]):
    name, want = line.strip().split("==")
    got = version(name)
    assert got == want, f"{name}: expected {want} installed, got {got}"
PY
echo "installed in $((SECONDS - start)) s"

# The checkout itself, without a build step (package data are read from the source tree).
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$VENV"  # so that nothing else of the checkout shadows the installed packages
"$VENV/bin/python" -m jaxdl verify --dtype both --trials 1 > "$VENV/verify.txt" || {
  cat "$VENV/verify.txt"; exit 1; }
tail -n 1 "$VENV/verify.txt"
"$VENV/bin/python" - <<'PY'
from importlib.metadata import version

import jax

jax.config.update("jax_enable_x64", True)  # this script is a user session, not the library

import chex  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

import jaxdl  # noqa: E402, F401
from jaxdl import checks, data, logistic, newton, softmax  # noqa: E402
from jaxdl.results import Status  # noqa: E402

key = jax.random.key(0)
X, y = data.make_logistic(key, 200, 3, dtype=jnp.float64)[:2]
Xm, ym = data.make_multiclass(key, 200, 3, 3, dtype=jnp.float64)[:2]
fits = {
    "logistic.fit_gd": lambda: logistic.fit_gd(
        X, y, lr=logistic.gd_step_bound(X, l2=1.0), l2=1.0, max_steps=5000),
    "logistic.fit_gd(optax.adam)": lambda: logistic.fit_gd(
        X, y, optimizer=optax.adam(0.1), l2=1.0, max_steps=5000),
    "logistic.fit_newton": lambda: logistic.fit_newton(X, y, l2=1.0),
    "logistic.fit_lbfgs": lambda: logistic.fit_lbfgs(X, y, l2=1.0),
    "logistic.fit_newton_many": lambda: logistic.fit_newton_many(X, y, l2=jnp.array([0.5, 1.0])),
    "softmax.fit_gd": lambda: softmax.fit_gd(
        Xm, ym, lr=softmax.gd_step_bound(Xm, l2=1.0), l2=1.0, max_steps=5000),
    "softmax.fit_newton": lambda: softmax.fit_newton(Xm, ym, l2=1.0),
    "softmax.fit_lbfgs": lambda: softmax.fit_lbfgs(Xm, ym, l2=1.0),
    "softmax.fit_newton_many": lambda: softmax.fit_newton_many(Xm, ym, l2=jnp.array([0.5, 1.0])),
}
for name, fit in fits.items():
    res = fit()
    assert bool(res.ok), f"{name}: {res.status_name}"
    print(f"{name}: {res.status_name}", flush=True)

r = newton.root(lambda x: x * x - 2.0, jnp.asarray(1.0))
assert abs(float(r.x) - 2**0.5) < 1e-12, r
m = newton.minimize(lambda x: jnp.sum((x - 1.0) ** 4 + x**2), jnp.zeros(2))
assert int(m.status) == Status.CONVERGED, m
print("newton.root, newton.minimize: converged")

step = chex.chexify(jax.jit(lambda H: (checks.assert_psd(H), jnp.trace(H))[1]), async_check=False)
assert float(step(jnp.eye(2))) == 2.0
try:
    step(jnp.diag(jnp.array([1.0, -1.0])))
except AssertionError as err:
    assert "smallest eigenvalue -1.000e+00" in str(err), err
else:
    raise AssertionError("assert_psd under chex.chexify: a negative eigenvalue passed")
print("checks.assert_psd under chex.chexify: ok")
print("smoke subset passed with " + ", ".join(
    f"{name} {version(name)}" for name in ("jax", "jaxlib", "optax", "chex", "numpy")))
PY
echo "check_min_versions: passed in $((SECONDS - start)) s"
