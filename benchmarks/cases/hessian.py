"""The hessian case."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from benchmarks import report, timing
from benchmarks.config import HESSIAN_RTOL, MICRO_REPEATS, SEED, TARGETS
from benchmarks.context import Context
from jaxdl import data, logistic


def _loss_theta(theta, X, y):
    return logistic.loss(theta[:-1], theta[-1], X, y)


_hessian_closed = jax.jit(logistic.hessian)
_hessian_auto = jax.jit(jax.hessian(_loss_theta))


def case_hessian(ctx: Context) -> dict[str, Any]:
    n, d = ctx.sizes["n_hess"], ctx.sizes["d_hess"]
    X, y, w, b = data.make_logistic(jax.random.key(SEED), n, d, dtype=jnp.float64)
    theta = jnp.concatenate([w, b[None]])
    jax.clear_caches()
    micro = max(MICRO_REPEATS, ctx.repeats)
    first_c, H_c = timing.timed(lambda: _hessian_closed(w, b, X))
    first_a, H_a = timing.timed(lambda: _hessian_auto(theta, X, y))
    warm_c, warm_a = [], []
    for _ in range(micro):
        warm_c.append(timing.timed(lambda: _hessian_closed(w, b, X))[0])
        warm_a.append(timing.timed(lambda: _hessian_auto(theta, X, y))[0])
    rel = float(jnp.max(jnp.abs(H_c - H_a)) / jnp.max(jnp.abs(H_a)))
    ok = rel <= HESSIAN_RTOL
    tc, ta = min(warm_c), min(warm_a)
    ratio = ta / tc if ok else None
    t = report.target("closed-form hessian vs jax.hessian (warm)", ratio, ">=", TARGETS["hessian"])
    rows = [report.row("hessian", "logistic.hessian", tc, "jit(jax.hessian(loss))", ta, ratio,
                       target=t)]
    return {"sizes": {"n": n, "d": d},
            "timings": {"closed": {"first_s": first_c, "warm_s": tc, "times_s": warm_c},
                        "autodiff": {"first_s": first_a, "warm_s": ta, "times_s": warm_a}},
            "rel_diff": rel, "agree": ok,
            "notes": [f"max |H_closed - H_auto| / max |H_auto| = {rel:.1e}; first calls "
                      f"{report.fmt_s(first_c)} (closed) and {report.fmt_s(first_a)} (autodiff)"],
            "agree_what": f"max|H_closed - H_auto| / max|H_auto| <= {HESSIAN_RTOL:g}",
            "valid": ok, "rows": rows, "targets": [t]}

