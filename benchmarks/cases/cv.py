"""The cv case: cross-validation of the ridge penalty.

jaxdl's ``cross_validate`` (logistic and K-class) against scikit-learn's
``LogisticRegressionCV`` (newton-cholesky and lbfgs) and, for two classes, glum's
``GeneralizedLinearRegressorCV``: the same 5 stratified folds (given to every solver as
explicit fold ids or (train, test) splits), the same grid of 10 penalties, the same
mean-gradient tolerance, held-out log-loss, refit at the best penalty.

Checked (a race whose checks fail is invalid and gets no ratio): every solver's refit is scored
and gated on the common objective at the penalty it chose (:mod:`benchmarks.gate`; a penalty no
timed jaxdl call chose gets an untimed ``fit_newton`` reference to gate against). Then, for
every scored peer (and jaxdl's named solvers) against jaxdl's default call: it chose jaxdl's
penalty; its held-out scores equal jaxdl's to ``CV_RTOL`` of the largest (scikit-learn's;
glum's folds carry another penalty, see :func:`benchmarks.peers.glum_cv`); its refit equals
the jaxdl fit at the same penalty to ``CV_RTOL`` of the largest coefficient, or lies as near
as the two certificates allow (:func:`benchmarks.gate.distance_bound`: at the tolerance, a
refit may sit ``||g|| / lambda_min`` from the minimiser, and the K-class objective's
``lambda_min`` is ``l2``, so that distance grows with n / l2).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import config, gate, peers, report, timing
from benchmarks.config import CV_FOLDS, CV_RTOL, CV_TOL, SEED
from benchmarks.context import Context
from jaxdl import data, logistic, multinomial

JAXDL = "cross_validate"
SKLEARN = ("newton-cholesky", "lbfgs")
GLUM = "glum GeneralizedLinearRegressorCV"


def _sklearn_name(solver: str) -> str:
    return f"sklearn LogisticRegressionCV {solver}"


def _theta(w, b) -> np.ndarray:
    """[W, b] as one array; K-class intercepts centred (their common shift is free)."""
    w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
    if w.ndim == 1:
        return np.r_[w, b]
    return np.concatenate([w, (b - b.mean())[:, None]], axis=1)


def _rel(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(a - ref)) / np.max(np.abs(ref)))


def _chosen(name: str, out: Any, grid: np.ndarray, n: int) -> int:
    """The grid position of a solver's chosen penalty."""
    if name.startswith(JAXDL):
        return int(out.best_index)
    if name.startswith(GLUM):
        return int(np.argmin(np.abs(np.log(grid / n) - np.log(out.alpha_))))
    return int(np.argmin(np.abs(np.log(1.0 / grid) - np.log(out.C_))))


def _held_out(name: str, out: Any) -> np.ndarray | None:
    """The (folds, grid) held-out mean log-loss, in grid order (None for glum: its folds are
    fitted at other penalties)."""
    if name.startswith(JAXDL):
        return np.asarray(out.scores)
    if name.startswith(GLUM):
        return None
    return -np.asarray(out.scores_)[:, 0, :]  # (folds, l1_ratios, Cs): Cs in the order given


def _race(ctx: Context, n: int, d: int, k: int) -> dict[str, Any]:
    key = jax.random.key(SEED)
    if k == 2:
        X, y, _, _ = data.make_logistic(key, n, d, dtype=jnp.float64, scale=config.CV_SCALE)
        family = logistic
    else:
        X, y = data.make_multiclass(key, n, d, k, dtype=jnp.float64, scale=config.CV_SCALE)
        family = multinomial
    Xn, yn = np.array(X), np.array(y)  # owned, C-contiguous: no copy inside a peer
    ids = data.stratified_folds(yn, CV_FOLDS, seed=SEED)  # jaxdl's folds for folds=5
    splits = [(np.flatnonzero(ids != f), np.flatnonzero(ids == f)) for f in range(CV_FOLDS)]
    grid = np.asarray(config.CV_L2)
    label = f"cv {n}x{d}" if k == 2 else f"cv K={k} {n}x{d}"

    def jaxdl_call(solver: str):
        return lambda: family.cross_validate(X, y, l2=grid, folds=ids, solver=solver,
                                             gtol=CV_TOL)

    solvers = [peers.jaxdl_cv(JAXDL, jaxdl_call("auto"))]
    # jaxdl's two solvers, each named, beside the default ("auto" picks one of them by size;
    # it shares that one's compiled program, so the named twin's first call is warm).
    more = not ctx.quick and n * d <= config.CV_NAMED_UP_TO
    named = {f"{JAXDL}(solver={s!r})": s for s in ("newton", "lbfgs")} if more else {}
    explicit = list(named)
    solvers += [peers.jaxdl_cv(name, jaxdl_call(s)) for name, s in named.items()]
    # Each peer as installed, and (below the largest size) with its BLAS and OpenMP pools
    # limited to one thread: on a loaded 2-core machine OpenBLAS's two threads made
    # LogisticRegressionCV up to 15x slower at 300 x 5 (5.4 s against 0.3 s).
    for threads in (None, 1) if more else (None,):
        tail = "" if threads is None else " (1 thread)"
        solvers += [peers.sklearn_cv(_sklearn_name(s) + tail, Xn, yn, splits, grid, solver=s,
                                     tol=CV_TOL, max_iter=config.CV_MAX_ITER, threads=threads)
                    for s in SKLEARN]
        if k == 2:
            solvers.append(peers.glum_cv(GLUM + tail, Xn, yn, splits, grid, tol=CV_TOL,
                                         max_iter=config.CV_MAX_ITER, threads=threads))
    race = timing.race(solvers, ctx.repeats, once_s=config.CV_ONCE_S)
    ran = [s for s in solvers if "unavailable" not in race[s.name]]
    out = {s.name: race[s.name]["output"] for s in ran}
    chosen = {s.name: _chosen(s.name, out[s.name], grid, n) for s in ran}
    params = {s.name: s.params(out[s.name]) for s in ran}

    # Score and gate each solver's refit at the penalty it chose, with the others that chose
    # it; a penalty no jaxdl call chose gets an untimed fit_newton to be gated against.
    jaxdl_names = [JAXDL, *explicit]
    references: dict[str, int] = {}
    groups: dict[int, list[str]] = {}
    for name, g in chosen.items():
        groups.setdefault(g, []).append(name)
    sc_parts = []
    certs: dict[str, dict[str, Any]] = {}
    ref_of: dict[int, str] = {}  # penalty -> the jaxdl fit the others are compared with
    for g, names in sorted(groups.items()):
        recs = {}
        for name in names:
            s = next(s for s in ran if s.name == name)
            recs[name] = {"converged": s.converged(out[name]),
                          "report": race[name]["own_report"],
                          "cert": gate.certify(*params[name], X, y, grid[g], classes=k > 2)}
        ours = [nm for nm in names if nm in jaxdl_names]
        if ours:
            ref_of[g] = ours[0]
        else:
            ref = f"fit_newton(l2={grid[g]:.4g}) (untimed reference)"
            res = family.fit_newton(X, y, l2=float(grid[g]), gtol=CV_TOL / 100)
            references[ref], ref_of[g], params[ref] = g, ref, res.params
            recs[ref] = {"converged": np.asarray(res.ok), "report": res.status_name,
                         "cert": gate.certify(*res.params, X, y, grid[g], classes=k > 2)}
        certs.update({nm: r["cert"] for nm, r in recs.items()})
        sc_parts.append(gate.score(recs, tol=CV_TOL))
    sc = _merge(sc_parts, timing.unavailable(race))

    # The comparisons with jaxdl's default call.
    best = chosen[JAXDL]
    ours_scores = _held_out(JAXDL, out[JAXDL])
    checks: dict[str, dict[str, Any]] = {}
    for name in out:
        if name == JAXDL:
            continue
        held = _held_out(name, out[name])
        ref = ref_of[chosen[name]]
        theta, theta_ref = _theta(*params[name]), _theta(*params[ref])
        # How far apart the two refits may be, from their certificates: each lies within
        # distance_bound of the minimiser (inf where the certificate cannot say).
        allowed = float(gate.distance_bound(certs[name]) + gate.distance_bound(certs[ref]))
        c = {"l2": float(grid[chosen[name]]), "same_l2": chosen[name] == best,
             "compared_with": ref, "rel_coef_diff": _rel(theta, theta_ref),
             "coef_dist": float(np.linalg.norm(theta - theta_ref)),
             "coef_dist_allowed": allowed,
             "rel_score_diff": None if held is None else _rel(held, ours_scores)}
        c["coef_agree"] = bool(c["rel_coef_diff"] <= CV_RTOL or c["coef_dist"] <= allowed)
        c["agree"] = bool(c["coef_agree"] and (
            name.startswith(GLUM) or (c["same_l2"] and c["rel_score_diff"] <= CV_RTOL)))
        checks[name] = c
    # A check counts for the solvers that are scored (the others get no ratio anyway).
    disagree = [nm for nm, c in checks.items() if nm in sc["scored"] and not c["agree"]]
    unscored_jaxdl = [nm for nm in jaxdl_names if nm not in sc["scored"]]
    agree = bool(sc["gate_holds"] and not disagree)
    valid = bool(agree and not unscored_jaxdl)

    rows = _rows(label, n, d, race, sc, explicit, valid, ctx.quick)
    targets = [r["target"] for r in rows if r["target"] is not None]
    auto_is = [nm for nm in explicit if _same_result(out[nm], out[JAXDL])]
    notes = _notes(label, grid, n, race, sc, chosen, checks, references, auto_is, disagree,
                    unscored_jaxdl)
    return {"sizes": {"n": n, "d": d, "classes": k, "folds": CV_FOLDS, "l2": list(grid)},
            "timings": timing.timing_record(race), "score": sc, "checks": checks,
            "chosen_l2": {nm: float(grid[g]) for nm, g in chosen.items()},
            "agree": agree, "valid": valid, "rows": rows, "targets": targets, "notes": notes}


def _same_result(a: Any, b: Any) -> bool:
    return bool(np.array_equal(np.asarray(a.scores), np.asarray(b.scores)))


def _merge(parts: list[dict[str, Any]], unavailable: dict[str, str]) -> dict[str, Any]:
    """One score from the per-penalty scores of a race."""
    solvers = {k: v for p in parts for k, v in p["solvers"].items()}
    scored = [k for p in parts for k in p["scored"]]
    gaps = [solvers[k]["rel_loss_gap"] for k in scored]
    gates = [solvers[k]["rel_gate"] for k in scored]
    return {"solvers": solvers, "scored": scored,
            "not_scored": {k: v for p in parts for k, v in p["not_scored"].items()},
            "gate_holds": all(p["gate_holds"] for p in parts),
            "gate_formula": parts[0]["gate_formula"] if parts else None,
            "rule": f"||grad F||_inf <= {CV_TOL:g} * n",
            "max_rel_loss_gap": max(gaps, default=None),
            "min_rel_gate": min(gates, default=None),
            "problems": len(parts), "unavailable": unavailable}


def _rows(label, n, d, race, sc, explicit, valid, quick) -> list[dict[str, Any]]:
    rows = []
    jt = race[JAXDL]["warm_s"]
    sk = [nm for nm in race if nm.startswith("sklearn")]
    ready = [nm for nm in sk if nm in sc["scored"]]
    fastest = min(ready, key=lambda nm: race[nm]["warm_s"]) if ready else sk[0]
    tkey = config.CV_TARGET_OF.get((n, d), "cv_small" if quick else None)
    for peer in [nm for nm in race if not nm.startswith(JAXDL)]:
        r = report.ratio(race, sc, peer, JAXDL) if valid else None
        t = None
        if peer == fastest and tkey is not None:
            t = report.target(f"{label}: {JAXDL} vs the fastest sklearn LogisticRegressionCV "
                              f"(warm)", r, ">=", config.TARGETS[tkey])
        rows.append(report.row(label, JAXDL, jt, report.peer_label(peer, sc),
                               report.seconds(race, peer), r, target=t))
    for name in explicit:
        r = report.ratio(race, sc, fastest, name) if valid else None
        rows.append(report.row(label, name, race[name]["warm_s"],
                               report.peer_label(fastest, sc), report.seconds(race, fastest), r))
    rows.append(report.row(label, f"{JAXDL} first call - warm (compile)",
                           race[JAXDL]["compile_overhead_s"], unit=""))
    return rows


def _notes(label, grid, n, race, sc, chosen, checks, references, auto_is, disagree,
           unscored_jaxdl) -> list[str]:
    notes = [f"first call {report.fmt_s(race[JAXDL]['first_s'])}, warm "
             f"{report.fmt_s(race[JAXDL]['warm_s'])}"
             + (f"; auto ran the same fits as {auto_is[0]}" if auto_is else "")]
    notes += timing.race_notes(race)
    picks = {}
    for nm, g in chosen.items():
        picks.setdefault(f"{grid[g]:.4g}", []).append(nm)
    notes.append("chosen l2: " + "; ".join(f"{v} by {', '.join(nms)}" for v, nms in picks.items()))
    for nm, c in checks.items():
        notes.append(
            f"{nm}: refit vs {c['compared_with']} at l2 {c['l2']:.4g}: {c['rel_coef_diff']:.1e}"
            + ("" if c["rel_score_diff"] is None else
               f"; held-out scores vs {JAXDL}'s: {c['rel_score_diff']:.1e}")
            + f" (max |diff| / max |value|; refit distance {c['coef_dist']:.1e}, "
            f"{c['coef_dist_allowed']:.1e} allowed by the two gradients)")
    if any(nm.startswith(GLUM) for nm in chosen):
        notes.append(f"{GLUM}: alphas = l2 / n; its fold fits average over the training rows, "
                     f"so they carry l2 x n_train / n (0.8 l2), not l2: its held-out curve is "
                     f"not compared, and its choice may differ from jaxdl's")
    for ref, g in references.items():
        notes.append(f"{ref}: gates the refits that chose l2 {grid[g]:.4g}")
    once = [nm for nm, v in race.items() if v.get("timed_once")]
    if once:
        notes.append(f"timed by one call (longer than {config.CV_ONCE_S:g} s): "
                     + ", ".join(once))
    notes += [f"UNAVAILABLE {k}: {why}" for k, why in sc["unavailable"].items()]
    notes += [f"NOT SCORED {k}: {why}" for k, why in sc["not_scored"].items()]
    if not sc["gate_holds"]:
        bad = [k for k, v in sc["solvers"].items() if not v["gate_holds"]]
        notes.append("GATE BROKEN (a loss above what its gradient allows): " + ", ".join(bad))
    if disagree:
        notes.append("DISAGREE (chosen l2, held-out scores or refit): " + ", ".join(disagree))
    if unscored_jaxdl:
        notes.append("jaxdl not scored: " + ", ".join(unscored_jaxdl))
    return [f"{label}: {w}" for w in notes]


def case_cv(ctx: Context) -> dict[str, Any]:
    races = {}
    for k, key in ((2, "cv_binary"), (config.CV_CLASSES, "cv_classes")):
        for n, d in ctx.sizes[key]:
            res = _race(ctx, n, d, k)
            races[res["rows"][0]["case"]] = res
    solvers = {f"{lab}: {k}": v for lab, r in races.items()
               for k, v in r["score"]["solvers"].items()}
    scored = [f"{lab}: {k}" for lab, r in races.items() for k in r["score"]["scored"]]
    sc = {"solvers": solvers, "scored": scored,
          "not_scored": {f"{lab}: {k}": v for lab, r in races.items()
                         for k, v in r["score"]["not_scored"].items()},
          "unavailable": {f"{lab}: {k}": v for lab, r in races.items()
                          for k, v in r["score"]["unavailable"].items()},
          "gate_holds": all(r["score"]["gate_holds"] for r in races.values()),
          "max_rel_loss_gap": max((r["score"]["max_rel_loss_gap"] for r in races.values()
                                   if r["score"]["max_rel_loss_gap"] is not None), default=None),
          "min_rel_gate": min((r["score"]["min_rel_gate"] for r in races.values()
                               if r["score"]["min_rel_gate"] is not None), default=None),
          "problems": sum(r["score"]["problems"] for r in races.values()),
          "rule": f"||grad F||_inf <= {CV_TOL:g} * n"}
    return {"sizes": {lab: r["sizes"] for lab, r in races.items()}, "races": races,
            "score": sc, "agree": all(r["agree"] for r in races.values()),
            "valid": all(r["valid"] for r in races.values()),
            "rows": [row for r in races.values() for row in r["rows"]],
            "targets": [t for r in races.values() for t in r["targets"]],
            "notes": [f"every solver stops at a mean gradient of {CV_TOL:g} and is scored by "
                      f"||grad F||_inf <= {CV_TOL:g} n (not the other cases' rule); the "
                      f"K-class gate's R is sqrt(2) max_n ||[x_n; 1]||"]
            + [n for r in races.values() for n in r["notes"]]}
