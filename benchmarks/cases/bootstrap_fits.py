"""The bootstrap_fits case."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import gate, peers, report, timing
from benchmarks.config import L2_GRID, SEED, TARGETS, TOL_MEAN_GRAD
from benchmarks.context import Context
from jaxdl import data, logistic
from jaxdl.results import Status


def _fit_batched(X, y, counts, l2):
    """jaxdl's batch API: bootstrap resamples as count weights on the shared X."""
    return logistic.fit_newton_many(X, y, sample_weight=counts, l2=l2, gtol=TOL_MEAN_GRAD)


def case_bootstrap_fits(ctx: Context) -> dict[str, Any]:
    ds = data.load_breast_cancer()
    Xs, _, _ = data.standardize(jnp.asarray(ds.X, jnp.float64))
    y = jnp.asarray(ds.y, jnp.float64)
    n, d = Xs.shape
    B, k = ctx.sizes["resamples"], len(L2_GRID)
    idx = jax.random.randint(jax.random.key(SEED + 1), (B, n), 0, n)  # rows with replacement
    X_all = jnp.repeat(Xs[idx], k, axis=0)  # problem i: resample i // k, l2 L2_GRID[i % k]
    y_all = jnp.repeat(y[idx], k, axis=0)
    l2_all = jnp.tile(jnp.asarray(L2_GRID, jnp.float64), B)
    counts = jnp.repeat(jax.vmap(lambda i: jnp.bincount(i, length=n))(idx), k, axis=0)
    counts = counts.astype(jnp.float64)  # the same resamples as row multiplicities
    m = B * k
    Xn, yn, l2n = np.array(X_all), np.array(y_all), np.array(l2_all)
    max_iter = 100

    def sk_loop():
        W, b, iters = np.empty((m, d)), np.empty(m), np.empty(m, np.int64)
        warned = np.zeros(m, bool)
        for i in range(m):
            est = peers.sklearn_fit(Xn[i], yn[i], solver="newton-cholesky", C=1.0 / l2n[i],
                                    tol=TOL_MEAN_GRAD, max_iter=max_iter)
            W[i], b[i], iters[i] = est.coef_[0], est.intercept_[0], est.n_iter_[0]
            warned[i] = bool(est.convergence_warnings_)
        return W, b, iters, warned

    jn, sn = f"fit_newton_many x{m}", f"sklearn newton-cholesky loop x{m}"
    solvers = [
        peers.jaxdl_fit(jn, lambda: _fit_batched(Xs, y, counts, l2_all)),
        peers.Solver(sn, sk_loop, params=lambda r: (r[0], r[1]),
                     converged=lambda r: (r[2] < max_iter) & ~r[3],
                     report=lambda r: (f"max n_iter_ {int(np.max(r[2]))} of max_iter "
                                       f"{max_iter}; {int(np.sum(r[3]))} ConvergenceWarnings"),
                     iterations=lambda r: int(np.max(r[2]))),
    ]
    race = timing.race(solvers, ctx.repeats)
    rec = gate.case_record(gate.score_race(solvers, race, X_all, y_all, l2_all, batched=True),
                           [jn])
    sc = rec["score"]
    ratio = report.ratio(race, sc, sn, jn) if rec["valid"] else None
    t = report.target(f"{jn} vs {sn} (warm)", ratio, ">=", TARGETS["bootstrap_fits"])
    rows = [report.row("bootstrap_fits", jn, race[jn]["warm_s"], report.peer_label(sn, sc),
                       report.seconds(race, sn), ratio, target=t),
            report.row("bootstrap_fits", "fit_newton_many compile overhead",
                       race[jn]["compile_overhead_s"], unit="")]
    res = race[jn]["output"]
    statuses = np.asarray(res.status)
    coef_rel = None
    peer_words = "the scikit-learn loop could not run"
    if sn not in sc["unavailable"]:
        W_j = np.concatenate([np.asarray(res.params[0]), np.asarray(res.params[1])[:, None]], 1)
        W_s = np.concatenate([race[sn]["output"][0], race[sn]["output"][1][:, None]], 1)
        coef_rel = float(np.max(np.abs(W_j - W_s)) / np.max(np.abs(W_s)))
        peer_words = (f"sklearn max {int(np.max(race[sn]['output'][2]))} iterations; "
                      f"max |coef diff| / max |coef| = {coef_rel:.1e}")
    notes = [f"{int(np.sum(statuses == Status.CONVERGED))}/{m} jaxdl fits converged "
             f"(max {int(np.max(np.asarray(res.steps)))} steps); {peer_words}; each of the "
             f"{m} problems is scored and gated on its own"] + rec["score_notes"]
    return {"sizes": {"n": n, "d": d, "resamples": B, "l2": list(L2_GRID), "fits": m},
            "timings": timing.timing_record(race), **rec, "max_rel_coef_diff": coef_rel,
            "jaxdl_converged": int(np.sum(statuses == Status.CONVERGED)),
            "rows": rows, "targets": [t], "notes": notes}

