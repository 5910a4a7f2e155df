"""The numerical gate: the common objective F, its certificate at any solver's point, the
score of a case (which solvers are scored) and whether the losses pass the gate."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.config import GATE_FORMULA, RULE, TOL_MEAN_GRAD, UNIT_ROUNDOFF
from benchmarks.peers import Solver
from jaxdl import logistic, multinomial

# ----------------------------------------------------------------------------------------------
# Scoring: the common objective, its certificate at a solver's point, and the gate.


@jax.jit
def objective(w, b, X, y, l2):
    """The common float64 objective F: summed logistic loss + l2/2 ||w||^2."""
    return logistic.loss(w, b, X, y) + 0.5 * l2 * jnp.vdot(w, w)


def _certificate_one(w, b, X, y, l2):
    """What the gate needs at one point (w, b) of F: F, its gradient's norms, a lower bound
    on the Hessian's smallest eigenvalue, R and the rounding bound of one evaluation of F."""
    n, d = X.shape
    f, (gw, gb) = jax.value_and_grad(objective, argnums=(0, 1))(w, b, X, y, l2)
    g = jnp.concatenate([gw, gb[None]])
    ridge = jnp.concatenate([jnp.full((d,), l2, X.dtype), jnp.zeros((1,), X.dtype)])
    H = logistic.hessian(w, b, X) + jnp.diag(ridge)
    eig = jnp.linalg.eigvalsh(H)
    # Forming H (n-term sums) and eigvalsh each err by at most about (n + d + 1) u ||H||_2.
    lam_min = eig[0] - (n + d + 1) * UNIT_ROUNDOFF * eig[-1]
    spread = jnp.sum(jnp.abs(X) @ jnp.abs(w)) + n * jnp.abs(b)
    return {
        "loss": f,
        "grad_inf": jnp.max(jnp.abs(g)),
        "grad_2": jnp.sqrt(jnp.vdot(g, g)),
        "lambda_min": lam_min,
        "R": jnp.sqrt(jnp.max(jnp.sum(jnp.square(X), axis=1)) + 1.0),
        "loss_err": UNIT_ROUNDOFF * ((n + 4) * jnp.abs(f) + (d + 2) * spread),
        "n": jnp.asarray(n, X.dtype),
        "dim": jnp.asarray(d + 1, X.dtype),
    }


def _certificate_classes(W, b, X, y, l2):
    """:func:`_certificate_one` for the K-class objective ``multinomial.loss(..., l2=l2)``
    (``l2 > 0``) over ``theta = [W_1, b_1, ..., W_K, b_K]``.

    The objective is flat along the common intercept shift ``e`` (one constant added to every
    ``b_k``) and its gradient is orthogonal to ``e``, so the bound lives in the complement of
    ``e``: ``lambda_min`` is the Hessian's smallest eigenvalue there, that of
    ``H + tr(H) e e^T / ||e||^2`` (``e`` is an eigenvector of ``H`` for 0). Along a unit
    direction ``u``, row n's logits move by ``v_k = u_k . [x_n; 1]`` and
    ``phi''' = sum_n E_p[(v - E_p v)^3]``, at most ``max_k v_k - min_k v_k <= sqrt(2) R`` times
    ``phi''``: the ``R`` reported is ``sqrt(2) max_n ||[x_n; 1]||``. The rounding bound adds the
    K terms of each row's log-sum-exp."""
    n, d = X.shape
    k = W.shape[0]
    f, (gW, gb) = jax.value_and_grad(
        lambda W, b: multinomial.loss(W, b, X, y, l2=l2), argnums=(0, 1))(W, b)
    g = jnp.concatenate([gW, gb[:, None]], axis=1).ravel()
    H = multinomial.hessian(W, b, X, l2=l2)
    e = jnp.tile(jnp.concatenate([jnp.zeros((d,), X.dtype), jnp.ones((1,), X.dtype)]), k)
    eig = jnp.linalg.eigvalsh(H + jnp.trace(H) * jnp.outer(e, e) / k)
    lam_min = eig[0] - (n + d + 1) * UNIT_ROUNDOFF * eig[-1]
    spread = jnp.sum(jnp.abs(X) @ jnp.abs(W).T) + n * jnp.sum(jnp.abs(b))
    return {
        "loss": f,
        "grad_inf": jnp.max(jnp.abs(g)),
        "grad_2": jnp.sqrt(jnp.vdot(g, g)),
        "lambda_min": lam_min,
        "R": jnp.sqrt(2.0 * (jnp.max(jnp.sum(jnp.square(X), axis=1)) + 1.0)),
        "loss_err": UNIT_ROUNDOFF * ((n + k + 4) * jnp.abs(f) + (d + 2) * spread),
        "n": jnp.asarray(n, X.dtype),
        "dim": jnp.asarray(k * (d + 1) - 1, X.dtype),
    }


# Compiled ahead of time and kept here: the cases clear JAX's caches (so that their solvers
# compile on the first call), and the certificate should compile once per shape, not per case.
_CERTIFICATE_PROGRAMS: dict[tuple, Any] = {}


def certify(w, b, X, y, l2=0.0, *, batched: bool = False,
            classes: bool = False) -> dict[str, np.ndarray]:
    """Evaluate the certificate in float64 at coefficients from any solver (NumPy or JAX);
    ``batched``: one problem per leading index of every argument; ``classes``: the K-class
    objective (``w`` is ``W (K, d)``, ``b`` is ``(K,)``, ``y`` holds class ids, ``l2 > 0``)."""
    f64 = jnp.float64
    args = (jnp.asarray(np.asarray(w), f64), jnp.asarray(np.asarray(b), f64),
            jnp.asarray(X, f64), jnp.asarray(y, jnp.int32 if classes else f64),
            jnp.asarray(l2, f64))
    key = (batched, classes, *(a.shape for a in args))
    if key not in _CERTIFICATE_PROGRAMS:
        one = _certificate_classes if classes else _certificate_one
        fn = jax.vmap(one) if batched else one
        _CERTIFICATE_PROGRAMS[key] = jax.jit(fn).lower(*args).compile()
    out = _CERTIFICATE_PROGRAMS[key](*args)
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def suboptimality_bound(cert: dict[str, Any]) -> np.ndarray:
    """Upper bound on F(x) - F* from the gradient and curvature at x (inf when it cannot say).

    Along the unit direction u from x towards the minimiser, phi(t) = F(x + t u) has
    |phi'''| <= R phi'' (|sigma''| <= sigma' and |[x_n; 1] . u| <= R; the ridge term adds to
    phi'' only), so phi'' >= lambda e^{-R t}, lambda = lambda_min(H(x)). phi' reaches 0 at the
    minimiser's distance delta, which forces 1 - e^{-R delta} <= R ||g|| / lambda; hence the
    curvature on the whole segment is at least mu = lambda - R ||g||_2, and F(x) - F* <=
    ||g||_2^2 / (2 mu)."""
    g2 = np.asarray(cert["grad_2"], np.float64)
    mu = np.asarray(cert["lambda_min"], np.float64) - np.asarray(cert["R"]) * g2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mu > 0, g2 * g2 / (2 * np.where(mu > 0, mu, 1.0)), np.inf)


def distance_bound(cert: dict[str, Any]) -> np.ndarray:
    """Upper bound on ``||x - x*||_2`` from the gradient and curvature at x (inf when it cannot
    say): with ``lambda``, ``R`` and ``delta`` as in :func:`suboptimality_bound`,
    ``1 - e^{-R delta} <= R ||g|| / lambda``, so ``delta <= -log(1 - R ||g|| / lambda) / R``
    (``<= ||g|| / mu``). For the K-class objective, the distance within the complement of the
    common intercept shift (compare points with centred intercepts)."""
    g2 = np.asarray(cert["grad_2"], np.float64)
    lam, R = np.asarray(cert["lambda_min"], np.float64), np.asarray(cert["R"], np.float64)
    x = np.where(lam > 0, R * g2 / np.where(lam > 0, lam, 1.0), np.inf)
    return np.where(x < 1, -np.log1p(-np.where(x < 1, x, 0.0)) / R, np.inf)


def score(solvers: dict[str, dict[str, Any]], *, tol: float = TOL_MEAN_GRAD) -> dict[str, Any]:
    """Decide which solvers are scored and whether their losses pass the gate.

    ``solvers`` maps a name to ``{"converged": the solver's own report (a bool, or one per
    problem), "cert": certify(...) at its coefficients, "report": its own words}``. A solver is
    scored when it reports convergence and meets the rule ``||grad F||_inf <= tol * n`` (on
    every problem of a batch). The gate (``GATE_FORMULA``) is checked for every solver whose
    loss is finite, scored or not, against the lowest loss any solver reached, problem by
    problem; the case is invalid when it fails. Relative figures divide by ``|min_j F(x_j)|``.
    """
    names = list(solvers)
    loss = np.stack([np.atleast_1d(solvers[k]["cert"]["loss"]) for k in names])
    err = np.stack([np.atleast_1d(solvers[k]["cert"]["loss_err"]) for k in names])
    finite = np.isfinite(loss)
    best_i = np.argmin(np.where(finite, loss, np.inf), axis=0)
    cols = np.arange(loss.shape[1])
    best, best_err = loss[best_i, cols], err[best_i, cols]
    per: dict[str, Any] = {}
    gate_ok = bool(np.all(np.isfinite(best)))
    for i, k in enumerate(names):
        c = {kk: np.atleast_1d(v) for kk, v in solvers[k]["cert"].items()}
        conv = np.broadcast_to(np.atleast_1d(np.asarray(solvers[k]["converged"], bool)),
                               loss[i].shape)
        mean_grad = c["grad_inf"] / c["n"]
        rule = np.isfinite(mean_grad) & (c["grad_inf"] <= tol * c["n"])
        sub = suboptimality_bound(c)
        # What the rule alone would allow: ||g||_2 <= sqrt(d + 1) ||g||_inf <= sqrt(d + 1) tol n.
        sub_rule = suboptimality_bound({**c, "grad_2": np.sqrt(c["dim"]) * tol * c["n"]})
        gap = loss[i] - best
        allowed = sub + err[i] + best_err
        holds = ~finite[i] | (gap <= allowed)
        gate_ok &= bool(np.all(holds))
        scored = bool(np.all(conv) and np.all(rule) and np.all(finite[i]))
        reasons = []
        if not np.all(conv):
            reasons.append(f"did not report convergence ({solvers[k].get('report', '?')})")
        if not np.all(rule):
            reasons.append(f"gradient rule not met: max ||grad F||_inf / n = "
                           f"{float(np.nanmax(mean_grad)):.2e} > {tol:g}"
                           + (f" on {int(np.sum(~rule))} of {rule.size} problems"
                              if rule.size > 1 else ""))
        if not np.all(finite[i]):
            reasons.append("non-finite loss")
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_gap, rel_allowed = gap / np.abs(best), allowed / np.abs(best)
        per[k] = {
            "scored": scored, "why_not_scored": "; ".join(reasons) or None,
            "own_report": solvers[k].get("report"),
            "converged": bool(np.all(conv)), "meets_rule": bool(np.all(rule)),
            "max_mean_grad_inf": float(np.max(mean_grad)),
            "loss": float(loss[i, 0]) if loss.shape[1] == 1 else None,
            "rel_loss_gap": float(np.max(rel_gap)),
            "rel_gate": float(np.min(rel_allowed)),
            "max_gap_over_gate": float(np.max(np.where(finite[i], gap / allowed, 0.0))),
            "suboptimality_bound": float(np.max(sub)),
            "rel_gate_at_rule": float(np.max((sub_rule + err[i] + best_err) / np.abs(best))),
            "min_lambda_min": float(np.min(c["lambda_min"])),
            "gate_holds": bool(np.all(holds)),
        }
    scored = [k for k in names if per[k]["scored"]]
    return {
        "solvers": per, "scored": scored,
        "not_scored": {k: per[k]["why_not_scored"] for k in names if not per[k]["scored"]},
        "gate_holds": gate_ok, "gate_formula": GATE_FORMULA, "rule": RULE,
        "max_rel_loss_gap": max((per[k]["rel_loss_gap"] for k in scored), default=None),
        "min_rel_gate": min((per[k]["rel_gate"] for k in scored), default=None),
        "problems": int(loss.shape[1]),
    }


def score_race(solvers: list[Solver], race: dict[str, dict[str, Any]], X, y, l2=0.0, *,
                batched: bool = False) -> dict[str, Any]:
    """:func:`score` of the solvers that ran; the peers that could not run are listed under
    ``"unavailable"`` (with the reason), neither scored nor counted against the case."""
    recs = {}
    for s in solvers:
        if "unavailable" in race[s.name]:
            continue
        out = race[s.name]["output"]
        w, b = s.params(out)
        recs[s.name] = {"converged": s.converged(out), "report": race[s.name]["own_report"],
                        "cert": certify(w, b, X, y, l2, batched=batched)}
    return {**score(recs), "unavailable": {k: v["unavailable"] for k, v in race.items()
                                           if "unavailable" in v}}


def case_record(sc: dict[str, Any], jaxdl_names: list[str]) -> dict[str, Any]:
    """agree / valid / notes from a score: valid needs the gate and every jaxdl solver scored.
    A peer that could not run (``sc["unavailable"]``) is a note, not a reason to be invalid."""
    unscored_jaxdl = [k for k in jaxdl_names if k not in sc["scored"]]
    notes = [f"UNAVAILABLE {k}: {why}" for k, why in sc.get("unavailable", {}).items()]
    notes += [f"NOT SCORED {k}: {why}" for k, why in sc["not_scored"].items()]
    if not sc["gate_holds"]:
        bad = [k for k, v in sc["solvers"].items() if not v["gate_holds"]]
        notes.append("GATE BROKEN (a loss above what its gradient allows): " + ", ".join(bad))
    return {"score": sc, "agree": sc["gate_holds"], "max_rel_loss_gap": sc["max_rel_loss_gap"],
            "min_rel_gate": sc["min_rel_gate"],
            "valid": bool(sc["gate_holds"] and not unscored_jaxdl), "score_notes": notes}

