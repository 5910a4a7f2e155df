"""The first_order case."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import gate, peers, report, timing
from benchmarks.config import TARGETS, TOL_MEAN_GRAD
from benchmarks.context import Context


def case_first_order(ctx: Context) -> dict[str, Any]:
    X, y, Xn, yn, _ = ctx.data64()
    ours = [peers.jaxdl_fit(name, (lambda f=f: f(X, y)))
            for name, f in peers.JAXDL_SOLVERS.items()]
    peer_solvers = [
        peers.sklearn("sklearn lbfgs", Xn, yn, solver="lbfgs", C=np.inf, tol=TOL_MEAN_GRAD,
                      max_iter=10_000),
        peers.optax_lbfgs(X, y),
        peers.glum("glum lbfgs", Xn, yn, solver="lbfgs", max_iter=10_000),
    ]
    solvers = ours + peer_solvers
    race = timing.race(solvers, ctx.repeats)
    rec = gate.case_record(gate.score_race(solvers, race, X, y), [s.name for s in ours])
    sc = rec["score"]
    ok = rec["valid"]
    scored_peers = [p.name for p in peer_solvers if p.name in sc["scored"]]
    ran = [p.name for p in peer_solvers if p.name not in sc["unavailable"]]
    # the faster scored peer; with none scored, the faster one that ran (no ratio either way)
    fastest_peer = min(scored_peers or ran or [peer_solvers[0].name],
                       key=lambda k: report.seconds(race, k) or 0.0)
    peer_s = report.seconds(race, fastest_peer)
    ratios = {s.name: report.ratio(race, sc, fastest_peer, s.name) if ok else None for s in ours}
    best = min((s.name for s in ours), key=lambda k: race[k]["warm_s"])
    t = report.target(f"fastest jaxdl ({best}) vs faster scored peer ({fastest_peer}) (warm)",
                      ratios[best], ">=", TARGETS["first_order_warm"])
    targets = [t]
    rows = [report.row("first_order", s.name, race[s.name]["warm_s"],
                       report.peer_label(fastest_peer, sc), peer_s, ratios[s.name],
                       target=t if s.name == best else None)
            for s in ours]
    for p in peer_solvers:
        if p.name != fastest_peer:
            rows.append(report.row("first_order", best, race[best]["warm_s"],
                                   report.peer_label(p.name, sc), report.seconds(race, p.name),
                                   report.ratio(race, sc, p.name, best) if ok else None))
    optax_name = peer_solvers[1].name
    ratio_first = report.ratio(race, sc, optax_name, best, "first_s") if ok else None
    t = report.target(f"{best} vs {optax_name} (first call, compile included)", ratio_first,
                      ">=", TARGETS["first_order_first_call"])
    targets.append(t)
    rows.append(report.row("first_order", f"{best} first call", race[best]["first_s"],
                           f"{report.peer_label(optax_name, sc)} first call",
                           report.seconds(race, optax_name, "first_s"), ratio_first, target=t))
    return {"sizes": {"n": X.shape[0], "d": X.shape[1]}, "timings": timing.timing_record(race),
            **rec, "rows": rows, "targets": targets, "fastest_peer": fastest_peer,
            "fastest_jaxdl": best, "notes": timing.race_notes(race) + rec["score_notes"]}

