"""The inference case."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import numpy as np

from benchmarks import report, timing
from benchmarks.config import SEED, STATSMODELS_TOL
from benchmarks.context import Context
from jaxdl import logistic


def case_inference(ctx: Context) -> dict[str, Any]:
    """Analytic standard errors (fit_newton + logistic.inference) vs statsmodels
    Logit(...).fit() + .bse on the bench problem; bootstrap refits (logistic.bootstrap, one
    fit_newton_many call) vs a loop of statsmodels fits on the same resampled rows' sizes.
    Without statsmodels (it cannot be imported here) the rows time jaxdl alone and name the peer
    unavailable: there is nothing to compare the standard errors with."""
    X, y, Xn, yn, Xc = ctx.data64()
    n = Xn.shape[0]
    B = 16 if ctx.quick else 256

    def ours():
        res = logistic.fit_newton(X, y)  # converged to rounding: statsmodels is at tol 1e-8
        return logistic.inference(res, X, y).std_err

    try:
        import statsmodels.api as sm
    except ImportError as e:
        return _without_statsmodels(ctx, ours, timing.unavailable_reason(e))

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(sm.Logit(yn, Xc).fit(method="newton", disp=0, tol=STATSMODELS_TOL,
                                                    maxiter=100).bse)

    first_j, warm_j = timing.min_time(ours, ctx.repeats)
    _, warm_s = timing.min_time(theirs, ctx.repeats)
    se_j, se_s = np.asarray(ours()), theirs()
    # statsmodels puts its constant first (Xc = [1, X]); jaxdl's intercept is last.
    se_rel = float(np.max(np.abs(np.r_[se_j[-1], se_j[:-1]] - se_s) / se_s))

    # A smaller problem for the bootstrap: B statsmodels fits at the full size take minutes.
    nb = min(n, 2000)
    Xb, yb, Xcb, ynb = X[:nb], y[:nb], Xc[:nb], yn[:nb]
    idx = np.random.default_rng(SEED).integers(0, nb, (B, nb))

    def ours_bs():
        return logistic.bootstrap(Xb, yb, key=jax.random.key(SEED), num_resamples=B).std_err

    def theirs_bs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            P = [sm.Logit(ynb[i], Xcb[i]).fit(method="newton", disp=0, tol=STATSMODELS_TOL,
                                              maxiter=100).params for i in idx]
        return np.std(np.asarray(P), axis=0, ddof=1)

    first_b, warm_b = timing.min_time(ours_bs, max(1, ctx.repeats // 3))
    warm_sb, _ = timing.timed(theirs_bs)
    rows = [report.row("inference", "fit_newton + inference", warm_j, "statsmodels Logit + bse",
                       warm_s, warm_s / warm_j),
            report.row("inference", f"bootstrap x{B} (n = {nb})", warm_b,
                       f"statsmodels loop x{B}", warm_sb, warm_sb / warm_b)]
    agree = bool(se_rel < 1e-6)
    return {"sizes": {"n": n, "d": Xn.shape[1], "bootstrap_n": nb, "resamples": B},
            "timings": {"inference_first_s": first_j, "inference_warm_s": warm_j,
                        "statsmodels_bse_s": warm_s, "bootstrap_first_s": first_b,
                        "bootstrap_warm_s": warm_b, "statsmodels_bootstrap_s": warm_sb},
            "agree": agree, "valid": agree,
            "max_rel_std_err_diff": se_rel, "rows": rows, "targets": [],
            "notes": [f"analytic std err vs statsmodels bse: max relative difference "
                      f"{se_rel:.1e}"]}



def _without_statsmodels(ctx: Context, ours, reason: str) -> dict[str, Any]:
    first_j, warm_j = timing.min_time(ours, ctx.repeats)
    peer = "statsmodels Logit + bse (unavailable)"
    return {"sizes": {"n": ctx.sizes["n"], "d": ctx.sizes["d"]},
            "timings": {"inference_first_s": first_j, "inference_warm_s": warm_j},
            "agree": None, "valid": True, "unavailable": {"statsmodels": reason},
            "rows": [report.row("inference", "fit_newton + inference", warm_j, peer)],
            "targets": [], "notes": [f"UNAVAILABLE statsmodels: {reason}; no comparison"]}
