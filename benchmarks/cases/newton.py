"""The newton case."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import gate, peers, report, timing
from benchmarks.config import TARGETS, TOL_MEAN_GRAD
from benchmarks.context import Context
from jaxdl import logistic


def case_newton(ctx: Context) -> dict[str, Any]:
    X, y, Xn, yn, Xc = ctx.data64()
    ours = "fit_newton"
    solvers = [
        # The same stopping rule as scikit-learn's: max-norm of the mean gradient <= tol.
        peers.jaxdl_fit(ours, lambda: logistic.fit_newton(X, y, gtol=TOL_MEAN_GRAD)),
        peers.sklearn("sklearn newton-cholesky", Xn, yn, solver="newton-cholesky", C=np.inf,
                      tol=TOL_MEAN_GRAD, max_iter=100),
        peers.statsmodels_newton(Xc, yn),
        peers.glum("glum irls-cd", Xn, yn, solver="irls-cd", max_iter=100),
        peers.glum("glum irls-ls", Xn, yn, solver="irls-ls", max_iter=100),
    ]
    race = timing.race(solvers, ctx.repeats)
    rec = gate.case_record(gate.score_race(solvers, race, X, y), [ours])
    sc = rec["score"]
    jt = race[ours]["warm_s"]
    rows, targets = [], []
    for peer, key in (("sklearn newton-cholesky", "newton_vs_sklearn"),
                      ("statsmodels Logit newton", "newton_vs_statsmodels"),
                      ("glum irls-cd", "newton_vs_glum"), ("glum irls-ls", None)):
        ratio = report.ratio(race, sc, peer, ours) if rec["valid"] else None
        t = None if key is None else report.target(f"fit_newton vs {peer} (warm)", ratio, ">=",
                                                   TARGETS[key])
        if t is not None:
            targets.append(t)
        rows.append(report.row("newton", ours, jt, report.peer_label(peer, sc),
                               report.seconds(race, peer), ratio, target=t))
    rows.append(report.row("newton", "fit_newton compile overhead",
                           race[ours]["compile_overhead_s"], unit=""))
    return {"sizes": {"n": X.shape[0], "d": X.shape[1]}, "timings": timing.timing_record(race),
            **rec, "rows": rows, "targets": targets,
            "notes": timing.race_notes(race) + rec["score_notes"] + [
                "peers get owned C-contiguous NumPy copies, and statsmodels X with its constant "
                "column, built outside the timing"]}

