"""Scaling out with JAX's own sharding: X sharded on its rows across 4 (simulated CPU) devices
gives the single-device answers, and the compiled fits and Hessian never gather X onto one
device."""

import json
import os
import sys
import textwrap

import pytest

# Runs in a fresh process: the number of CPU devices is fixed when JAX starts.
_SCRIPT = textwrap.dedent("""
    import json
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    jax.config.update("jax_enable_x64", True)
    from jaxdl import _fit, _linalg, data, logistic

    n, d = 8000, 6
    X, y, _, _ = data.make_logistic(jax.random.key(0), n, d, dtype=jnp.float64)
    mesh = Mesh(np.array(jax.devices()), ("rows",))
    Xs = jax.device_put(X, NamedSharding(mesh, P("rows", None)))
    ys = jax.device_put(y, NamedSharding(mesh, P("rows")))
    out = {"devices": len(jax.devices()), "row_shards": _linalg.row_shards(Xs),
           "row_shards_single": _linalg.row_shards(X), "rel": {}, "status": {}}
    w = jnp.linspace(-0.5, 0.5, d)
    o = jnp.linspace(-1.0, 1.0, n)  # an offset, sharded like the rows of X
    os_ = jax.device_put(o, NamedSharding(mesh, P("rows")))
    cases = {
        "fit_newton mixed": lambda X, y: logistic.fit_newton(X, y, precision="mixed"),
        "fit_newton mixed offset": lambda X, y: logistic.fit_newton(
            X, y, precision="mixed", offset=os_ if X is Xs else o),
        "fit_lbfgs": lambda X, y: logistic.fit_lbfgs(X, y),
        "grad": lambda X, y: logistic.grad(w, 0.1, X, y)[0],
        "hessian": lambda X, y: logistic.hessian(w, 0.1, X),
    }
    for name, fn in cases.items():
        ref, got = fn(X, y), fn(Xs, ys)
        a = ref.params[0] if hasattr(ref, "params") else ref
        b = got.params[0] if hasattr(got, "params") else got
        out["rel"][name] = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a)))
        if hasattr(got, "status"):
            out["status"][name] = int(got.status)
    fit_args = (Xs, ys, jnp.zeros(d + 1), jnp.float64(0), jnp.float64(1e-12), jnp.ones(n),
                jnp.float64(0), jnp.float64(0))
    programs = {
        "newton": _fit.fit.lower(logistic.Model(), "newton", *fit_args, max_steps=50,
                                 mixed=True, cold=True, row_shards=4),
        "lbfgs": _fit.fit.lower(logistic.Model(), "lbfgs", *fit_args, max_steps=50, cold=True,
                                row_shards=4),
        "hessian": logistic._hessian.lower(w, jnp.float64(0.1), Xs, row_shards=4),
        "newton offset": _fit.fit.lower(logistic.Model(), "newton", *fit_args, max_steps=50,
                                        mixed=True, cold=True, row_shards=4, offset=os_),
    }
    # Cross-validation: the fits' axis sharded over the devices, the single-device answers.
    cv4 = logistic.cross_validate(X, y, l2=[0.1, 1.0, 10.0], folds=4)
    cv1 = logistic.cross_validate(X, y, l2=[0.1, 1.0, 10.0], folds=4, devices=jax.devices()[:1])
    out["cv_rel"] = float(jnp.max(jnp.abs(cv4.scores - cv1.scores)) / jnp.max(cv1.scores))
    spied, path = [], _fit.cv_path
    _fit.cv_path = lambda *a, **k: spied.append(path(*a, **k)) or spied[-1]
    logistic.cross_validate(X, y, l2=[0.1, 1.0], folds=4)
    _fit.cv_path = path
    out["cv_devices"] = len(spied[0][0].sharding.device_set)
    out["gathers"] = {
        name: [line.strip()[:120] for line in lowered.compile().as_text().splitlines()
               if " all-gather(" in line]
        for name, lowered in programs.items()}
    print(json.dumps(out))
""")


_PADDED = [(4, 8000), (3, 9001)]  # (devices, rows) of the padded-rows script below


def _env(devices: int) -> dict:
    return dict(os.environ, JAX_PLATFORMS="cpu",
                XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def BACKGROUND(start):
    """Every fresh process of this module starts when the suite does (tests/conftest.py)."""
    start("row_sharded", [sys.executable, "-c", _SCRIPT], env=_env(4))
    for devices, n in _PADDED:
        start((devices, n), [sys.executable, "-c", _PADDED_SCRIPT, str(n)], env=_env(devices))


def _result(job) -> dict:
    code, out, err = job.result(timeout=300)
    assert code == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_row_sharded_fits_match_and_never_gather_x(background):
    out = _result(background["row_sharded"])
    assert out["devices"] == 4 and out["row_shards"] == 4 and out["row_shards_single"] == 1
    for name, rel in out["rel"].items():
        assert rel < 1e-12, (name, rel)
    assert all(s == 0 for s in out["status"].values()), out["status"]
    assert out["gathers"] == {"newton": [], "lbfgs": [], "hessian": [], "newton offset": []}, \
        out["gathers"]
    assert out["cv_rel"] < 1e-12 and out["cv_devices"] == 4, (out["cv_rel"], out["cv_devices"])


# Padded host data through jaxdl.sharding.shard_rows: every fit and inference, eagerly and inside
# a user's jit, against the unpadded single-device answers; the compiled programs never gather X.
_PADDED_SCRIPT = """import json, sys
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from jaxdl import _gram, _linalg, logistic, sharding, softmax

n_dev = len(jax.devices())
n, d, k = int(sys.argv[1]), 5, 3
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d))
yb = (X @ np.linspace(-1, 1, d) + rng.normal(size=n) > 0).astype(np.float64)
yk = np.argmax(X[:, :k] + rng.normal(size=(n, k)), axis=1).astype(np.int32)
sw = rng.uniform(0.5, 2.0, size=n)
mesh = sharding.row_mesh()
rb, rk = sharding.shard_rows(mesh, X, yb, sw), sharding.shard_rows(mesh, X, yk, sw)
# The GD rates sit below the safe 1 / L (about 2.4e-4 here): on an unstable, oscillating path
# the different summation order of the shards is amplified step by step.
fits = {
    "logistic newton": lambda X, y, w: logistic.fit_newton(X, y, l2=0.5, sample_weight=w),
    "logistic lbfgs": lambda X, y, w: logistic.fit_lbfgs(X, y, l2=0.5, sample_weight=w),
    "logistic gd": lambda X, y, w: logistic.fit_gd(X, y, lr=1e-4, l2=0.5, max_steps=100,
                                                   sample_weight=w),
    "softmax newton": lambda X, y, w: softmax.fit_newton(X, y, num_classes=k, l2=0.5,
                                                         sample_weight=w),
    "softmax lbfgs": lambda X, y, w: softmax.fit_lbfgs(X, y, num_classes=k, l2=0.5,
                                                       sample_weight=w),
    "softmax gd": lambda X, y, w: softmax.fit_gd(X, y, num_classes=k, lr=1e-4, l2=0.5,
                                                 max_steps=100, sample_weight=w),
    "logistic newton_many": lambda X, y, w: logistic.fit_newton_many(
        X, y, l2=jnp.array([0.5, 2.0]), sample_weight=w),
}
def flat(res):
    return jnp.concatenate([jnp.ravel(p) for p in jax.tree.leaves(res.params)])
def rel(a, b):
    return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a)))
out = {"devices": n_dev, "n": n, "n_padded": int(rb.X.shape[0]), "eager": {}, "jit": {},
       "status": {}, "gathers": {}, "x_shards": len(rb.X.sharding.device_set),
       "blocks": _linalg.interleaved_blocks(int(rb.X.shape[0]), n_dev, _gram.GRAM_BLOCK)}
for name, fn in fits.items():
    r = rk if name.startswith("softmax") else rb
    ref = fn(X, yk if name.startswith("softmax") else yb, sw)
    got = fn(r.X, r.y, r.sample_weight)
    jf = jax.jit(fn)
    lowered = jf.lower(r.X, r.y, r.sample_weight)
    hlo = lowered.compile().as_text()
    inj = jf(r.X, r.y, r.sample_weight)
    out["eager"][name] = rel(flat(ref), flat(got))
    out["jit"][name] = rel(flat(ref), flat(inj))
    out["status"][name] = [int(s) for s in np.ravel(got.status)] + [
        int(s) for s in np.ravel(inj.status)]
    out["gathers"][name] = [line.strip()[:100] for line in hlo.splitlines()
                            if " all-gather(" in line]
# inference on the padded rows equals the unpadded inference
for name, mod, y, r in (("logistic inference", logistic, yb, rb),
                       ("softmax inference", softmax, yk, rk)):
    kw = dict(num_classes=k) if mod is softmax else {}
    f_ref = mod.fit_newton(X, y, l2=0.5, sample_weight=sw, **kw)
    f_got = mod.fit_newton(r.X, r.y, l2=0.5, sample_weight=r.sample_weight, **kw)
    a = mod.inference(f_ref, X, y, l2=0.5, sample_weight=sw)
    b = mod.inference(f_got, r.X, r.y, l2=0.5, sample_weight=r.sample_weight)
    out["eager"][name] = max(rel(a.std_err, b.std_err), rel(a.params, b.params), rel(a.cov, b.cov))
print(json.dumps(out))
"""


@pytest.mark.parametrize(("devices", "n"), _PADDED)
def test_padded_rows_every_fit_in_user_jit_match_and_never_gather_x(background, devices, n):
    out = _result(background[devices, n])
    assert out["devices"] == devices and out["x_shards"] == devices, out
    assert out["n_padded"] % devices == 0 and 0 <= out["n_padded"] - n < 4 * devices
    assert out["blocks"] is not None, out  # the Hessian's blocks interleave over the shards
    print(json.dumps({"devices": devices, "eager": out["eager"], "jit": out["jit"]}))
    assert len(out["eager"]) == 9 and len(out["jit"]) == 7, out
    for where in ("eager", "jit"):
        for name, rel in out[where].items():
            assert rel < 1e-12, (where, name, rel)
    expected = {"gd": 1}  # GD runs its 100 steps; the others converge
    for name, codes in out["status"].items():
        assert set(codes) == {expected.get(name.split()[-1], 0)}, (name, codes)
    assert all(g == [] for g in out["gathers"].values()), out["gathers"]


def test_shard_rows_bad_input_names_the_argument():
    import jax
    import numpy as np
    from jax.sharding import Mesh

    from jaxdl import sharding

    X, y = np.ones((5, 2)), np.zeros(5)
    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    with pytest.raises(ValueError, match=r"axis: expected one of the mesh's axes \('data',\)"):
        sharding.shard_rows(mesh, X, y)
    with pytest.raises(ValueError, match="y: expected 5 rows"):
        sharding.shard_rows(None, X, np.zeros(4))
    with pytest.raises(ValueError, match="sample_weight: expected 5 rows"):
        sharding.shard_rows(None, X, y, np.ones(6))
    with pytest.raises(ValueError, match=r"X: expected a 2-d array \(N, d\), got shape \(5,\)"):
        sharding.shard_rows(None, y, y)
    rows = sharding.shard_rows(mesh, X, y, axis="data")
    assert rows.n == 5 and rows.X.shape == (5, 2) and float(rows.sample_weight.sum()) == 5.0
