"""Scaling out with JAX's own sharding: X sharded on its rows across 4 (simulated CPU) devices
gives the single-device answers, and the compiled fits and Hessian never gather X onto one
device."""

import json
import os
import subprocess
import sys
import textwrap

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
    cases = {
        "fit_newton mixed": lambda X, y: logistic.fit_newton(X, y, precision="mixed"),
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
        "newton": _fit.fit.lower(logistic._MODEL, "newton", *fit_args, max_steps=50,
                                 mixed=True, cold=True, row_shards=4),
        "lbfgs": _fit.fit.lower(logistic._MODEL, "lbfgs", *fit_args, max_steps=50, cold=True,
                                row_shards=4),
        "hessian": logistic._hessian.lower(w, jnp.float64(0.1), Xs, row_shards=4),
    }
    out["gathers"] = {
        name: [line.strip()[:120] for line in lowered.compile().as_text().splitlines()
               if " all-gather(" in line]
        for name, lowered in programs.items()}
    print(json.dumps(out))
""")


def test_row_sharded_fits_match_and_never_gather_x():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 4 and out["row_shards"] == 4 and out["row_shards_single"] == 1
    for name, rel in out["rel"].items():
        assert rel < 1e-12, (name, rel)
    assert all(s == 0 for s in out["status"].values()), out["status"]
    assert out["gathers"] == {"newton": [], "lbfgs": [], "hessian": []}, out["gathers"]
