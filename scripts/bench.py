#!/usr/bin/env python
"""Benchmark jaxdl's logistic solvers against scikit-learn, statsmodels, glum and optax.

Every figure is a ratio of two timings taken side by side in this one run (the machine is
shared, so absolute seconds mean little).

Scoring. A timed solver is scored only if (1) it reports convergence by its own test (jaxdl:
``FitResult.ok``; scikit-learn and glum: ``n_iter_ < max_iter`` and no ConvergenceWarning;
statsmodels: ``mle_retvals["converged"]``; the optax loop: its own gradient test) and (2) its
coefficients meet the stated gradient rule on one common float64 objective ``F``
(:func:`jaxdl.logistic.loss` summed over the rows, plus ``l2/2 ||w||^2`` where penalised):
``||grad F||_inf <= TOL_MEAN_GRAD * n``. A solver that fails either is reported with the reason
and gets no ratio. The losses of all solvers must then pass the gate, computed from the measured
gradients (see :func:`score`)::

    F(x_i) - min_j F(x_j)  <=  ||g_i||_2^2 / (2 mu_i)  +  err_i  +  err_best
    mu_i  = lambda_min(H(x_i)) - R ||g_i||_2,     R = max_n ||[x_n; 1]||_2
    err   = u ((n + 4) F + (d + 2) sum_n (|x_n| . |w| + |b|))           (u = 2^-53)

The first term bounds the suboptimality ``F(x_i) - F*`` (strong convexity on the segment from
``x_i`` to the minimiser: the logistic loss has ``|phi'''| <= R phi''`` along any unit
direction, so the curvature there stays above ``mu_i``); ``err`` bounds the float64 rounding of
one evaluation of ``F``. A case whose losses break the gate is invalid.

Timing: the first call of each solver is timed on its own; JAX's in-memory caches are cleared at
the start of each case, so a JAX solver's first call includes tracing and compilation (what a
user sees on the first call in a fresh process, bar one-time lazy initialisation, which falls on
the first case run; the first_call case measures truly fresh processes). Solvers that share a
compiled program share its compilation. The warm time is the best (min) of ``--repeats``
further calls, taken round-robin across the solvers of a case so that a change in machine load
hits all of them alike; each timed call directly follows an untimed call of the same solver, so
no solver is timed cold from the one before it (see ``_race``). Compilation overhead is
``first - warm``. No persistent compilation cache is used, except in the first_call case, which
measures it.

Cases (default sizes; ``--quick`` shrinks them to a smoke test that still scores every solver):

  newton          fit_newton vs scikit-learn newton-cholesky, statsmodels Logit (Newton) and
                  glum irls-cd and irls-ls, N x d
  first_order     jaxdl solver table (JAXDL_SOLVERS) vs scikit-learn lbfgs, optax.lbfgs and
                  glum lbfgs, warm and first call
  gd_step         fit_gd per-step time (float32) vs the bandwidth bound 2 x t(X @ v)
  bootstrap_fits  256 Newton fits (64 bootstrap resamples x 4 l2) in one call of
                  fit_newton_many (resamples as count weights on the shared X) vs a
                  scikit-learn loop on the resampled rows, on standardised breast cancer
  hessian         closed-form logistic.hessian vs jax.hessian of the loss
  memory          peak RSS of an eager logistic.fit_newton(X, y) in a fresh process,
                  relative to the bytes of X
  sweep           the gd-rates sweep (jaxdl.sweep: 16 x 16 (lr_w, lr_b), 5000 steps, breast
                  cancer) in one run vs a Python loop of fit_gd calls with the same settings;
                  the floor (the same batched GD arithmetic with no stop test or status) vs
                  that loop; and a sweep chunked to a memory bound: XLA's bytes vs the bound
  first_call      fit_newton first-call overhead in a fresh process, without and with the
                  persistent compilation cache

Usage::

  python scripts/bench.py                      # all cases, full size (minutes)
  python scripts/bench.py --quick              # seconds; every solver scored, targets printed
  python scripts/bench.py --cases newton,first_order --repeats 5 --json-out out.json --strict

Exit status: 0, or 1 if a case is invalid (the losses break the gate, a jaxdl solver is not
scored, or the case raised), or 2 with ``--strict`` when a target is missed at full size
(targets are printed, never enforced, otherwise; quick sizes never enforce them).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import data, enable_compilation_cache, logistic
from jaxdl.results import Status

# Every solver that has a gradient tolerance stops at this per-sample mean-gradient size
# (max-norm of grad / n; optax's loop is given the same rule), and every solver is scored
# against it on the common objective.
TOL_MEAN_GRAD = 1e-7
# statsmodels' Newton stops on the change in the parameters (its default, made explicit); it is
# scored by the same gradient rule as everyone else.
STATSMODELS_TOL = 1e-8
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2  # u = 2^-53
GATE_FORMULA = (
    "F(x_i) - min_j F(x_j) <= ||g_i||_2^2 / (2 mu_i) + err_i + err_best; "
    "mu_i = lambda_min(H(x_i)) - R ||g_i||_2, R = max_n ||[x_n; 1]||_2; "
    "err = u ((n + 4) F + (d + 2) sum_n (|x_n|.|w| + |b|)), u = 2^-53")
RULE = f"||grad F||_inf <= {TOL_MEAN_GRAD:g} * n"
SEED = 0
L2_GRID = (0.1, 1.0, 10.0, 100.0)
GD_GTOL = 1e-30  # fit_gd runs all its steps
HESSIAN_RTOL = 1e-10
MICRO_REPEATS = 10  # at least this many repeats for the millisecond-scale kernels

SIZES = {
    "full": dict(n=200_000, d=200, n_hess=10_000, d_hess=200, resamples=64, gd_steps=50,
                 n_mem=200_000, d_mem=200, sweep_rates=16, sweep_steps=5000),
    # Memory in quick mode: X of 40 MB, and n d^2 large enough for fit_newton's mixed path
    # (the one the full size takes); small X would drown in allocator noise.
    "quick": dict(n=2_000, d=20, n_hess=1_000, d_hess=20, resamples=2, gd_steps=50,
                  n_mem=50_000, d_mem=100, sweep_rates=4, sweep_steps=300),
}

TARGETS = {
    "newton_vs_sklearn": 3.0,       # fit_newton >= 3x faster than sklearn newton-cholesky
    "newton_vs_statsmodels": 5.0,   # ... >= 5x faster than statsmodels Logit Newton
    "newton_vs_glum": 5.0,          # ... >= 5x faster than glum irls-cd
    "first_order_warm": 1.2,        # fastest jaxdl solver >= 1.2x faster than the faster peer
    "first_order_first_call": 5.0,  # jaxdl first call >= 5x faster than optax.lbfgs's
    "gd_step": 1.3,                 # fit_gd per step <= 1.3 x (2 t(X @ v))
    "bootstrap_fits": 10.0,         # 256 fits in one call >= 10x faster than a sklearn loop
    "hessian": 5.0,                 # closed-form Hessian >= 5x faster than jax.hessian
    "memory": 1.5,                  # (peak RSS - RSS before X) / bytes(X) <= 1.5
    "first_call": 1.0,              # first-call overhead < 1 s
    "sweep": 20.0,                  # gd-rates sweep >= 20x faster than a loop of fit_gd
    "sweep_memory": 1.0,            # a chunk's bytes / max_memory <= 1
}


# ----------------------------------------------------------------------------------------------
# Solvers. A solver is a zero-argument call with its data bound in, plus how to read its
# coefficients and whether it says it converged (its own test, never ours).


@dataclass
class Solver:
    name: str
    run: Callable[[], Any]
    params: Callable[[Any], tuple[Any, Any]]  # output -> (w, b)
    converged: Callable[[Any], Any]  # output -> bool (or a bool per problem for a batch)
    report: Callable[[Any], str]  # output -> the solver's own words on how it stopped
    is_jax: bool = False
    iterations: Callable[[Any], Any] = lambda r: None


def _jaxdl_fit(name: str, call: Callable[[], Any]) -> Solver:
    return Solver(name, call, params=lambda r: r.params,
                  converged=lambda r: np.asarray(r.ok),
                  report=lambda r: _status_words(r.status_name),
                  is_jax=True, iterations=lambda r: int(np.max(np.asarray(r.steps))))


def _status_words(names: Any) -> str:
    """One status name, or the distinct names of a batch with their counts."""
    if isinstance(names, str):
        return names
    flat = list(np.ravel(np.asarray(names, dtype=object)))
    return ", ".join(f"{k} x{flat.count(k)}" for k in sorted(set(flat)))


# jaxdl's solver options raced in the first_order case: add a row to race another solver
# (name -> call on (X, y) returning a FitResult). Each entry compiles its own program, so every
# first call includes its compilation.
JAXDL_SOLVERS: dict[str, Callable[[Any, Any], Any]] = {
    f"fit_lbfgs(gtol={TOL_MEAN_GRAD:g})": lambda X, y: logistic.fit_lbfgs(
        X, y, gtol=TOL_MEAN_GRAD),
    f"fit_newton(gtol={TOL_MEAN_GRAD:g})": lambda X, y: logistic.fit_newton(
        X, y, gtol=TOL_MEAN_GRAD),
}


def _sklearn_fit(X: np.ndarray, y: np.ndarray, **kw: Any):
    """A scikit-learn LogisticRegression fit that keeps its ConvergenceWarnings."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est = LogisticRegression(**kw).fit(X, y)
    est.convergence_warnings_ = [str(w.message) for w in caught
                                 if issubclass(w.category, ConvergenceWarning)]
    return est


def _sklearn(name: str, X: np.ndarray, y: np.ndarray, **kw: Any) -> Solver:
    def converged(est):
        return not est.convergence_warnings_ and int(est.n_iter_[0]) < kw["max_iter"]

    def report(est):
        warned = "; ConvergenceWarning" if est.convergence_warnings_ else ""
        return f"n_iter_ {int(est.n_iter_[0])} of max_iter {kw['max_iter']}{warned}"

    return Solver(name, lambda: _sklearn_fit(X, y, **kw),
                  params=lambda e: (e.coef_[0], e.intercept_[0]), converged=converged,
                  report=report, iterations=lambda e: int(e.n_iter_[0]))


def _glum(name: str, X: np.ndarray, y: np.ndarray, *, solver: str, max_iter: int) -> Solver:
    """glum's GeneralizedLinearRegressor (binomial, no penalty) with one of its solvers.

    glum minimises the weighted mean of the log-loss (its weights are normalised to sum 1), so
    its ``gradient_tol`` is on the mean gradient, like our rule: the IRLS solvers stop on the
    L1 norm of the mean gradient (stricter than the max-norm rule), lbfgs on its max-norm.
    Converged: ``n_iter_ < max_iter`` and no ConvergenceWarning."""
    from sklearn.exceptions import ConvergenceWarning

    def run():
        from glum import GeneralizedLinearRegressor

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = GeneralizedLinearRegressor(
                family="binomial", alpha=0.0, solver=solver, gradient_tol=TOL_MEAN_GRAD,
                max_iter=max_iter, scale_predictors=False).fit(X, y)
        # glum's own failure reports: a ConvergenceWarning, or (lbfgs stopped by scipy for
        # another reason) a plain warning "lbfgs failed for the reason: ...".
        est.convergence_warnings_ = [
            str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
            or str(w.message).startswith("lbfgs failed")]
        return est

    def converged(est):
        return not est.convergence_warnings_ and int(est.n_iter_) < max_iter

    def report(est):
        warned = "; ConvergenceWarning" if est.convergence_warnings_ else ""
        return f"n_iter_ {int(est.n_iter_)} of max_iter {max_iter}{warned}"

    return Solver(name, run, params=lambda e: (e.coef_, e.intercept_), converged=converged,
                  report=report, iterations=lambda e: int(e.n_iter_))


def _statsmodels_newton(X_const: np.ndarray, y: np.ndarray) -> Solver:
    import statsmodels.api as sm

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is read from mle_retvals instead
            return sm.Logit(y, X_const).fit(method="newton", disp=0, tol=STATSMODELS_TOL,
                                             maxiter=100)

    return Solver("statsmodels Logit newton", run,
                  params=lambda r: (r.params[1:], r.params[0]),
                  converged=lambda r: bool(r.mle_retvals["converged"]),
                  report=lambda r: f"mle_retvals converged={bool(r.mle_retvals['converged'])}",
                  iterations=lambda r: int(r.mle_retvals["iterations"]))


def _optax_lbfgs_loop(theta0, X, y, tol, *, max_iter):
    """optax.lbfgs (zoom line search) in a lax.while_loop, as in optax's L-BFGS example."""

    def fun(theta):
        return logistic.loss(theta[:-1], theta[-1], X, y)

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fun)

    def step(carry):
        theta, state = carry
        value, grad = value_and_grad(theta, state=state)
        updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(theta, updates), state

    def grad_norm(state):
        # The same stopping rule as jaxdl's solvers: the max-norm of the summed gradient.
        return jnp.max(jnp.abs(optax.tree.get(state, "grad")))

    def keep_going(carry):
        _, state = carry
        count = optax.tree.get(state, "count")
        return (count == 0) | ((count < max_iter) & (grad_norm(state) > tol))

    theta, state = jax.lax.while_loop(keep_going, step, (theta0, opt.init(theta0)))
    return theta, optax.tree.get(state, "count"), grad_norm(state)


_optax_lbfgs = jax.jit(_optax_lbfgs_loop, static_argnames="max_iter")
OPTAX_MAX_ITER = 5000


def _optax(X, y) -> Solver:
    n, d = X.shape
    tol = jnp.asarray(TOL_MEAN_GRAD * n, X.dtype)  # max-norm of the summed gradient
    theta0 = jnp.zeros((d + 1,), X.dtype)

    def converged(r):
        return bool(r[2] <= tol) and int(r[1]) < OPTAX_MAX_ITER

    return Solver(
        "optax.lbfgs (while_loop)",
        lambda: _optax_lbfgs(theta0, X, y, tol, max_iter=OPTAX_MAX_ITER),
        params=lambda r: (r[0][:-1], r[0][-1]), converged=converged,
        report=lambda r: (f"its gradient test {'met' if bool(r[2] <= tol) else 'not met'} "
                          f"after {int(r[1])} of {OPTAX_MAX_ITER} iterations"),
        is_jax=True, iterations=lambda r: int(r[1]))


# ----------------------------------------------------------------------------------------------
# Timing.


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def _race(solvers: list[Solver], repeats: int) -> dict[str, dict[str, Any]]:
    """First call of each solver, then `repeats` round-robin rounds in which every solver runs
    twice in a row and the second call is timed.

    The untimed call before each timed one warms what the previous solver let go cold: thread
    pools that went to sleep, caches, the vCPU's scheduling (measured on the 2-core VM: a 40 ms
    fit_newton_many call right after 0.4 s of scikit-learn fits took 58 ms, and 38 ms right
    after another call of itself). Every solver, peer or jaxdl, gets the same treatment."""
    jax.clear_caches()  # the case's JAX solvers compile on their first call
    out: dict[str, dict[str, Any]] = {}
    for s in solvers:
        first, res = _timed(s.run)
        out[s.name] = {"first_s": first, "times_s": [], "output": res}
    for _ in range(repeats):
        for s in solvers:
            jax.block_until_ready(s.run())  # untimed: warms what the previous solver cooled
            t, res = _timed(s.run)
            out[s.name]["times_s"].append(t)
            out[s.name]["output"] = res
    for s in solvers:
        rec = out[s.name]
        rec["warm_s"] = min(rec["times_s"])
        rec["compile_overhead_s"] = rec["first_s"] - rec["warm_s"] if s.is_jax else None
        rec["converged"] = bool(np.all(s.converged(rec["output"])))
        rec["own_report"] = s.report(rec["output"])
        rec["iterations"] = s.iterations(rec["output"])
    return out


def _race_notes(race: dict[str, dict[str, Any]]) -> list[str]:
    its = [f"{k} {v['iterations']}" for k, v in race.items() if v["iterations"] is not None]
    return ["iterations: " + ", ".join(its)] if its else []


def _timing_record(race: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: {kk: vv for kk, vv in v.items() if kk != "output"} for k, v in race.items()}


# ----------------------------------------------------------------------------------------------
# Scoring: the common objective, its certificate at a solver's point, and the gate.


@jax.jit
def _objective(w, b, X, y, l2):
    """The common float64 objective F: summed logistic loss + l2/2 ||w||^2."""
    return logistic.loss(w, b, X, y) + 0.5 * l2 * jnp.vdot(w, w)


def _certificate_one(w, b, X, y, l2):
    """What the gate needs at one point (w, b) of F: F, its gradient's norms, a lower bound
    on the Hessian's smallest eigenvalue, R and the rounding bound of one evaluation of F."""
    n, d = X.shape
    f, (gw, gb) = jax.value_and_grad(_objective, argnums=(0, 1))(w, b, X, y, l2)
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


# Compiled ahead of time and kept here: the cases clear JAX's caches (so that their solvers
# compile on the first call), and the certificate should compile once per shape, not per case.
_CERTIFICATE_PROGRAMS: dict[tuple, Any] = {}


def certify(w, b, X, y, l2=0.0, *, batched: bool = False) -> dict[str, np.ndarray]:
    """Evaluate the certificate in float64 at coefficients from any solver (NumPy or JAX);
    ``batched``: one problem per leading index of every argument."""
    f64 = jnp.float64
    args = (jnp.asarray(np.asarray(w), f64), jnp.asarray(np.asarray(b), f64),
            jnp.asarray(X, f64), jnp.asarray(y, f64), jnp.asarray(l2, f64))
    key = (batched, *(a.shape for a in args))
    if key not in _CERTIFICATE_PROGRAMS:
        fn = jax.vmap(_certificate_one) if batched else _certificate_one
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


def _score_race(solvers: list[Solver], race: dict[str, dict[str, Any]], X, y, l2=0.0, *,
                batched: bool = False) -> dict[str, Any]:
    recs = {}
    for s in solvers:
        out = race[s.name]["output"]
        w, b = s.params(out)
        recs[s.name] = {"converged": s.converged(out), "report": race[s.name]["own_report"],
                        "cert": certify(w, b, X, y, l2, batched=batched)}
    return score(recs)


def _case_record(sc: dict[str, Any], jaxdl_names: list[str]) -> dict[str, Any]:
    """agree / valid / notes from a score: valid needs the gate and every jaxdl solver scored."""
    unscored_jaxdl = [k for k in jaxdl_names if k not in sc["scored"]]
    notes = [f"NOT SCORED {k}: {why}" for k, why in sc["not_scored"].items()]
    if not sc["gate_holds"]:
        bad = [k for k, v in sc["solvers"].items() if not v["gate_holds"]]
        notes.append("GATE BROKEN (a loss above what its gradient allows): " + ", ".join(bad))
    return {"score": sc, "agree": sc["gate_holds"], "max_rel_loss_gap": sc["max_rel_loss_gap"],
            "min_rel_gate": sc["min_rel_gate"],
            "valid": bool(sc["gate_holds"] and not unscored_jaxdl), "score_notes": notes}


def _target(name: str, value: float | None, op: str, threshold: float,
            unit: str = "") -> dict[str, Any]:
    if value is None or not math.isfinite(value):
        met = None
    else:
        met = bool(value >= threshold if op == ">=" else value <= threshold if op == "<="
                   else value < threshold)
    return {"name": name, "value": value, "op": op, "threshold": threshold, "unit": unit,
            "met": met}


def _row(case: str, jaxdl: str, jaxdl_s: float | None, peer: str = "", peer_s: float | None = None,
         ratio: float | None = None, unit: str = "x", target: dict | None = None) -> dict:
    return {"case": case, "jaxdl": jaxdl, "jaxdl_s": jaxdl_s, "peer": peer, "peer_s": peer_s,
            "ratio": ratio, "unit": unit, "target": target}


def _ratio(race, sc, slow: str, fast: str, key: str = "warm_s") -> float | None:
    """slow time / fast time, only when both solvers are scored."""
    if slow in sc["scored"] and fast in sc["scored"]:
        return race[slow][key] / race[fast][key]
    return None


def _peer_label(name: str, sc: dict[str, Any]) -> str:
    return name if name in sc["scored"] else f"{name} (not scored)"


# ----------------------------------------------------------------------------------------------
# Shared data.


class Context:
    def __init__(self, sizes: dict[str, int], repeats: int, quick: bool):
        self.sizes = sizes
        self.repeats = repeats
        self.quick = quick
        self._cache: dict[str, Any] = {}

    def data64(self):
        """(X, y) float64 jax arrays and owned NumPy copies (X, y, X with a constant column)."""
        if "d64" not in self._cache:
            n, d = self.sizes["n"], self.sizes["d"]
            X, y, _, _ = data.make_logistic(jax.random.key(SEED), n, d, dtype=jnp.float64)
            Xn, yn = np.array(X), np.array(y)  # owned, C-contiguous: no copy inside a peer
            Xc = np.concatenate([np.ones((n, 1)), Xn], axis=1)  # statsmodels' add_constant
            self._cache["d64"] = (X, y, Xn, yn, Xc)
        return self._cache["d64"]


# ----------------------------------------------------------------------------------------------
# Cases. Each returns a dict with at least: agree, valid, rows, targets.


def case_newton(ctx: Context) -> dict[str, Any]:
    X, y, Xn, yn, Xc = ctx.data64()
    ours = "fit_newton"
    solvers = [
        # The same stopping rule as scikit-learn's: max-norm of the mean gradient <= tol.
        _jaxdl_fit(ours, lambda: logistic.fit_newton(X, y, gtol=TOL_MEAN_GRAD)),
        _sklearn("sklearn newton-cholesky", Xn, yn, solver="newton-cholesky", C=np.inf,
                 tol=TOL_MEAN_GRAD, max_iter=100),
        _statsmodels_newton(Xc, yn),
        _glum("glum irls-cd", Xn, yn, solver="irls-cd", max_iter=100),
        _glum("glum irls-ls", Xn, yn, solver="irls-ls", max_iter=100),
    ]
    race = _race(solvers, ctx.repeats)
    rec = _case_record(_score_race(solvers, race, X, y), [ours])
    sc = rec["score"]
    jt = race[ours]["warm_s"]
    rows, targets = [], []
    for peer, key in (("sklearn newton-cholesky", "newton_vs_sklearn"),
                      ("statsmodels Logit newton", "newton_vs_statsmodels"),
                      ("glum irls-cd", "newton_vs_glum"), ("glum irls-ls", None)):
        ratio = _ratio(race, sc, peer, ours) if rec["valid"] else None
        t = None if key is None else _target(f"fit_newton vs {peer} (warm)", ratio, ">=",
                                             TARGETS[key])
        if t is not None:
            targets.append(t)
        rows.append(_row("newton", ours, jt, _peer_label(peer, sc), race[peer]["warm_s"], ratio,
                         target=t))
    rows.append(_row("newton", "fit_newton compile overhead", race[ours]["compile_overhead_s"],
                     unit=""))
    return {"sizes": {"n": X.shape[0], "d": X.shape[1]}, "timings": _timing_record(race),
            **rec, "rows": rows, "targets": targets,
            "notes": _race_notes(race) + rec["score_notes"] + [
                "peers get owned C-contiguous NumPy copies, and statsmodels X with its constant "
                "column, built outside the timing"]}


def case_first_order(ctx: Context) -> dict[str, Any]:
    X, y, Xn, yn, _ = ctx.data64()
    ours = [_jaxdl_fit(name, (lambda f=f: f(X, y))) for name, f in JAXDL_SOLVERS.items()]
    peers = [
        _sklearn("sklearn lbfgs", Xn, yn, solver="lbfgs", C=np.inf, tol=TOL_MEAN_GRAD,
                 max_iter=10_000),
        _optax(X, y),
        _glum("glum lbfgs", Xn, yn, solver="lbfgs", max_iter=10_000),
    ]
    solvers = ours + peers
    race = _race(solvers, ctx.repeats)
    rec = _case_record(_score_race(solvers, race, X, y), [s.name for s in ours])
    sc = rec["score"]
    ok = rec["valid"]
    scored_peers = [p.name for p in peers if p.name in sc["scored"]]
    fastest_peer = min(scored_peers or [p.name for p in peers], key=lambda k: race[k]["warm_s"])
    peer_s = race[fastest_peer]["warm_s"]
    ratios = {s.name: _ratio(race, sc, fastest_peer, s.name) if ok else None for s in ours}
    best = min((s.name for s in ours), key=lambda k: race[k]["warm_s"])
    t = _target(f"fastest jaxdl ({best}) vs faster scored peer ({fastest_peer}) (warm)",
                ratios[best], ">=", TARGETS["first_order_warm"])
    targets = [t]
    rows = [_row("first_order", s.name, race[s.name]["warm_s"], _peer_label(fastest_peer, sc),
                 peer_s, ratios[s.name], target=t if s.name == best else None)
            for s in ours]
    for p in peers:
        if p.name != fastest_peer:
            rows.append(_row("first_order", best, race[best]["warm_s"], _peer_label(p.name, sc),
                             race[p.name]["warm_s"],
                             _ratio(race, sc, p.name, best) if ok else None))
    optax_name = peers[1].name
    ratio_first = _ratio(race, sc, optax_name, best, "first_s") if ok else None
    t = _target(f"{best} vs {optax_name} (first call, compile included)", ratio_first, ">=",
                TARGETS["first_order_first_call"])
    targets.append(t)
    rows.append(_row("first_order", f"{best} first call", race[best]["first_s"],
                     f"{_peer_label(optax_name, sc)} first call", race[optax_name]["first_s"],
                     ratio_first, target=t))
    return {"sizes": {"n": X.shape[0], "d": X.shape[1]}, "timings": _timing_record(race),
            **rec, "rows": rows, "targets": targets, "fastest_peer": fastest_peer,
            "fastest_jaxdl": best, "notes": _race_notes(race) + rec["score_notes"]}


def _matvec(X, v):
    return X @ v


def _vecmat(r, X):
    return r @ X


def _tmatvec(X, r):
    return X.T @ r


_matvec_jit, _vecmat_jit, _tmatvec_jit = (jax.jit(f) for f in (_matvec, _vecmat, _tmatvec))


def _min_time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    first, _ = _timed(fn)
    return first, min(_timed(fn)[0] for _ in range(repeats))


def case_gd_step(ctx: Context) -> dict[str, Any]:
    n, d, steps = ctx.sizes["n"], ctx.sizes["d"], ctx.sizes["gd_steps"]
    X, y, _, _ = data.make_logistic(jax.random.key(SEED), n, d, dtype=jnp.float32)
    # 4 / ||[X, 1]||_F^2 <= 4 / ||[X, 1]||_2^2 = 1 / L (see gd_step_bound): a safe rate; the
    # step count, not the rate, is what is timed.
    lr = float(4.0 / (jnp.sum(jnp.square(X), dtype=jnp.float64) + n))

    def ran_all(r):  # a fixed-step run: "converged" here means it ran the planned steps
        return int(r.steps) == steps and int(r.status) == Status.MAX_STEPS

    gd = Solver("fit_gd", lambda: logistic.fit_gd(X, y, lr_w=lr, lr_b=lr, max_steps=steps,
                                                   gtol=GD_GTOL),
                params=lambda r: r.params, converged=ran_all,
                report=lambda r: f"{r.status_name} after {int(r.steps)} steps", is_jax=True)
    race = _race([gd], ctx.repeats)
    res = race["fit_gd"]["output"]
    micro = max(MICRO_REPEATS, ctx.repeats)
    v = jnp.ones((d,), jnp.float32)
    r = jnp.ones((n,), jnp.float32)
    kernels = {}
    for name, fn in (("X @ v", lambda: _matvec_jit(X, v)), ("r @ X", lambda: _vecmat_jit(r, X)),
                     ("X.T @ r", lambda: _tmatvec_jit(X, r))):
        first, warm = _min_time(fn, micro)
        kernels[name] = {"first_s": first, "warm_s": warm}
    bound = 2 * kernels["X @ v"]["warm_s"]
    per_step = race["fit_gd"]["warm_s"] / steps
    w, b = res.params
    loss64 = float(_objective(w.astype(jnp.float64), b.astype(jnp.float64),
                              X.astype(jnp.float64), y.astype(jnp.float64), jnp.float64(0.0)))
    hist = np.asarray(res.loss_history)
    checks = {
        "ran_all_steps": ran_all(res),
        "loss_finite": bool(np.isfinite(float(res.loss))),
        "loss_decreased": bool(hist[steps] < hist[0]),
    }
    valid = all(checks.values())
    ratio = per_step / bound if valid else None
    t = _target("fit_gd per step / (2 t(X @ v))", ratio, "<=", TARGETS["gd_step"])
    rows = [
        _row("gd_step", "fit_gd per step (f32)", per_step, "2 x t(X @ v)", bound, ratio,
             unit="x bound", target=t),
        _row("gd_step", "fit_gd compile overhead", race["fit_gd"]["compile_overhead_s"],
             unit=""),
    ]
    two_pass = kernels["X @ v"]["warm_s"] + kernels["r @ X"]["warm_s"]
    notes = [f"{steps} steps; per step = warm / steps (includes the initial gradient and the "
             f"loop setup); t(X @ v) = {_fmt_s(kernels['X @ v']['warm_s'])}, "
             f"t(r @ X) = {_fmt_s(kernels['r @ X']['warm_s'])}, "
             f"t(X.T @ r) = {_fmt_s(kernels['X.T @ r']['warm_s'])}; per step / (t(X @ v) + "
             f"t(r @ X)) = {per_step / two_pass:.2f}"]
    if not valid:
        notes.append("checks failed: " + ", ".join(k for k, v in checks.items() if not v))
    return {"sizes": {"n": n, "d": d, "steps": steps, "dtype": "float32"},
            "timings": _timing_record(race), "kernels": kernels, "per_step_s": per_step,
            "bound_s": bound, "lr": lr, "checks": checks,
            "loss_float32": float(res.loss), "loss_float64_rescored": loss64,
            "rel_gap_float32_vs_float64": abs(float(res.loss) - loss64) / abs(loss64),
            "agree": valid, "agree_what": "ran all steps; loss finite and decreasing",
            "notes": notes, "valid": valid, "rows": rows, "targets": [t]}


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
            est = _sklearn_fit(Xn[i], yn[i], solver="newton-cholesky", C=1.0 / l2n[i],
                               tol=TOL_MEAN_GRAD, max_iter=max_iter)
            W[i], b[i], iters[i] = est.coef_[0], est.intercept_[0], est.n_iter_[0]
            warned[i] = bool(est.convergence_warnings_)
        return W, b, iters, warned

    jn, sn = f"fit_newton_many x{m}", f"sklearn newton-cholesky loop x{m}"
    solvers = [
        _jaxdl_fit(jn, lambda: _fit_batched(Xs, y, counts, l2_all)),
        Solver(sn, sk_loop, params=lambda r: (r[0], r[1]),
               converged=lambda r: (r[2] < max_iter) & ~r[3],
               report=lambda r: (f"max n_iter_ {int(np.max(r[2]))} of max_iter {max_iter}; "
                                 f"{int(np.sum(r[3]))} ConvergenceWarnings"),
               iterations=lambda r: int(np.max(r[2]))),
    ]
    race = _race(solvers, ctx.repeats)
    rec = _case_record(_score_race(solvers, race, X_all, y_all, l2_all, batched=True), [jn])
    sc = rec["score"]
    ratio = _ratio(race, sc, sn, jn) if rec["valid"] else None
    t = _target(f"{jn} vs {sn} (warm)", ratio, ">=", TARGETS["bootstrap_fits"])
    rows = [_row("bootstrap_fits", jn, race[jn]["warm_s"], _peer_label(sn, sc),
                 race[sn]["warm_s"], ratio, target=t),
            _row("bootstrap_fits", "fit_newton_many compile overhead",
                 race[jn]["compile_overhead_s"], unit="")]
    res = race[jn]["output"]
    statuses = np.asarray(res.status)
    W_j = np.concatenate([np.asarray(res.params[0]), np.asarray(res.params[1])[:, None]], 1)
    W_s = np.concatenate([race[sn]["output"][0], race[sn]["output"][1][:, None]], 1)
    coef_rel = float(np.max(np.abs(W_j - W_s)) / np.max(np.abs(W_s)))
    notes = [f"{int(np.sum(statuses == Status.CONVERGED))}/{m} jaxdl fits converged "
             f"(max {int(np.max(np.asarray(res.steps)))} steps); sklearn max "
             f"{int(np.max(race[sn]['output'][2]))} iterations; "
             f"max |coef diff| / max |coef| = {coef_rel:.1e}; each of the {m} problems is "
             "scored and gated on its own"] + rec["score_notes"]
    return {"sizes": {"n": n, "d": d, "resamples": B, "l2": list(L2_GRID), "fits": m},
            "timings": _timing_record(race), **rec, "max_rel_coef_diff": coef_rel,
            "jaxdl_converged": int(np.sum(statuses == Status.CONVERGED)),
            "rows": rows, "targets": [t], "notes": notes}


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
    first_c, H_c = _timed(lambda: _hessian_closed(w, b, X))
    first_a, H_a = _timed(lambda: _hessian_auto(theta, X, y))
    warm_c, warm_a = [], []
    for _ in range(micro):
        warm_c.append(_timed(lambda: _hessian_closed(w, b, X))[0])
        warm_a.append(_timed(lambda: _hessian_auto(theta, X, y))[0])
    rel = float(jnp.max(jnp.abs(H_c - H_a)) / jnp.max(jnp.abs(H_a)))
    ok = rel <= HESSIAN_RTOL
    tc, ta = min(warm_c), min(warm_a)
    ratio = ta / tc if ok else None
    t = _target("closed-form hessian vs jax.hessian (warm)", ratio, ">=", TARGETS["hessian"])
    rows = [_row("hessian", "logistic.hessian", tc, "jit(jax.hessian(loss))", ta, ratio,
                 target=t)]
    return {"sizes": {"n": n, "d": d},
            "timings": {"closed": {"first_s": first_c, "warm_s": tc, "times_s": warm_c},
                        "autodiff": {"first_s": first_a, "warm_s": ta, "times_s": warm_a}},
            "rel_diff": rel, "agree": ok,
            "notes": [f"max |H_closed - H_auto| / max |H_auto| = {rel:.1e}; first calls "
                      f"{_fmt_s(first_c)} (closed) and {_fmt_s(first_a)} (autodiff)"],
            "agree_what": f"max|H_closed - H_auto| / max|H_auto| <= {HESSIAN_RTOL:g}",
            "valid": ok, "rows": rows, "targets": [t]}


# ----------------------------------------------------------------------------------------------
# Subprocess cases (memory, first_call): a fresh interpreter runs this script with --child.


def _run_child(args: list[str], timeout: float, env_extra: dict[str, str] | None = None):
    # The child decides the cache itself (--cache-dir or none): no inherited cache setting,
    # nor JAXDL_NO_CACHE (the test session sets it), may change what the cache runs measure.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JAX_COMPILATION_CACHE") and k != "JAXDL_NO_CACHE"}
    env.update(env_extra or {})
    cmd = [sys.executable, os.path.abspath(__file__), "--child", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _proc_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024
    return out


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _settle() -> None:
    """Let freed buffers leave the resident set before a reading: XLA's CPU client frees an
    executable's temporaries asynchronously (right after a call RSS still holds them; measured
    2.5 x bytes(X) after creating X, 1.0 x a second later), and glibc keeps freed heap pages
    until ``malloc_trim``. Waits until RSS stops changing (at most 5 s), then trims."""
    last, stable, deadline = -1, 0, time.monotonic() + 5.0
    while stable < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        rss = _proc_status()["VmRSS"]
        stable = stable + 1 if rss == last else 0
        last = rss
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _fit_summary(res, X, y) -> dict[str, Any]:
    """What the parent scores: the fit's own report, its coefficients and its gradient."""
    w, b = res.params
    gw, gb = logistic.grad(w, b, X, y)
    return {"ok": bool(res.ok), "status_name": res.status_name, "steps": int(res.steps),
            "loss": float(_objective(w, b, X, y, jnp.float64(0.0))),
            "grad_inf": float(jnp.maximum(jnp.max(jnp.abs(gw)), jnp.abs(gb))),
            "w": np.asarray(w).tolist(), "b": float(b)}


def child_memory(n: int, d: int) -> dict[str, Any]:
    """Peak RSS of the eager ``logistic.fit_newton(X, y)`` a user writes. The first call traces
    and compiles; X is then dropped, and a repeat call on a fresh X (compiled program resident,
    as for any later call) gives the fit's own memory. Each reading starts from a settled RSS."""
    f64 = jnp.float64
    key = jax.random.key(SEED)

    def generate(key):  # the make_logistic model, compiled ahead of time below
        kx, kw, ky = jax.random.split(key, 3)
        X = jax.random.normal(kx, (n, d), f64)
        v = jax.random.normal(kw, (d + 1,), f64) / math.sqrt(d + 1)
        y = jax.random.bernoulli(ky, jax.nn.sigmoid(X @ v[:d] + v[d])).astype(f64)
        return X, y

    gen = jax.jit(generate).lower(key).compile()

    def fresh_data():
        _settle()
        _reset_peak()
        before = _proc_status()["VmRSS"]
        X, y = jax.block_until_ready(gen(key))
        peak = _proc_status()["VmHWM"] - before
        _settle()  # the generator's temporaries, freed asynchronously, are not the fit's
        _reset_peak()
        return X, y, before, peak, _proc_status()["VmRSS"]

    resettable = _reset_peak()
    X, y, base0, gen_peak, after_x0 = fresh_data()
    first = jax.block_until_ready(logistic.fit_newton(X, y))  # traces, compiles, runs
    st_first = _proc_status()
    first_ok = bool(first.ok)
    del X, y, first
    X, y, base, _, after_x = fresh_data()
    res = jax.block_until_ready(logistic.fit_newton(X, y))
    st = _proc_status()
    xbytes = X.size * X.dtype.itemsize
    summary = _fit_summary(res, X, y)
    summary.pop("w")  # the parent checks the rule only (there is no second solver to compare)
    return {
        "n": n, "d": d, "x_bytes": xbytes, "peak_reset_supported": resettable,
        "rss_before_x": base, "rss_after_x": after_x, "data_creation_peak_bytes": gen_peak,
        "fit_peak_rss": st["VmHWM"], "rss_after_fit": st["VmRSS"],
        "ratio": (st["VmHWM"] - base) / xbytes,
        "fit_extra_ratio": (st["VmHWM"] - after_x) / xbytes,
        "first_call_rss_before_x": base0, "first_call_rss_after_x": after_x0,
        "first_call_peak_rss": st_first["VmHWM"],
        "first_call_ratio": (st_first["VmHWM"] - base0) / xbytes,
        "first_call_extra_ratio": (st_first["VmHWM"] - after_x0) / xbytes,
        "resident_after_first_call_bytes": base - base0,
        "first_ok": first_ok, **summary,
    }


def child_firstcall(n: int, d: int, repeats: int, cache_dir: str | None) -> dict[str, Any]:
    X, y, _, _ = data.make_logistic(jax.random.key(SEED), n, d, dtype=jnp.float64)
    jax.block_until_ready((X, y))
    first, res = _timed(lambda: logistic.fit_newton(X, y))
    warm = min(_timed(lambda: logistic.fit_newton(X, y))[0] for _ in range(repeats))
    return {"n": n, "d": d, "cache_dir": cache_dir, "first_s": first, "warm_s": warm,
            "compile_overhead_s": first - warm, **_fit_summary(res, X, y)}


def case_memory(ctx: Context) -> dict[str, Any]:
    n, d = ctx.sizes["n_mem"], ctx.sizes["d_mem"]
    r = _run_child(["memory", "--n", str(n), "--d", str(d)], timeout=1200)
    rule = r["grad_inf"] <= TOL_MEAN_GRAD * n
    ok = bool(r["ok"] and r["first_ok"] and rule and math.isfinite(r["loss"]))
    t = _target("(peak RSS - RSS before X) / bytes(X), eager call", r["ratio"] if ok
                else None, "<=", TARGETS["memory"])
    rows = [_row("memory", "eager fit_newton peak / bytes(X)", None, ratio=t["value"], unit="",
                 target=t),
            _row("memory", "first eager call (compiles) peak / bytes(X)", None,
                 ratio=r["first_call_ratio"] if ok else None, unit="")]
    notes = [f"X is {r['x_bytes'] / 2**20:.0f} MiB; RSS growth during the fit alone "
             f"{r['fit_extra_ratio']:.2f} x bytes(X); the first call (tracing and compilation "
             f"included) grew RSS by {r['first_call_extra_ratio']:.2f} x bytes(X) and left "
             f"{r['resident_after_first_call_bytes'] / 2**20:.0f} MiB resident (the compiled "
             f"program, counted in the base of the eager call's ratio); creating X peaked at "
             f"{r['data_creation_peak_bytes'] / r['x_bytes']:.2f} x bytes(X) (reset before the "
             f"fit); the fit: {r['status_name']} in {r['steps']} steps, ||grad||_inf / n = "
             f"{r['grad_inf'] / n:.1e}"]
    if not ok:
        notes.append(f"NOT SCORED: the fit must report success and meet {RULE}")
    if not r["peak_reset_supported"]:
        notes.append("/proc/self/clear_refs not writable: the peak includes creating X")
    return {"sizes": {"n": n, "d": d}, "child": r, "agree": ok, "notes": notes,
            "agree_what": f"fit reported success and met {RULE}", "valid": ok, "rows": rows,
            "targets": [t]}


def case_first_call(ctx: Context) -> dict[str, Any]:
    X, y, _, _, _ = ctx.data64()  # the children draw the same data (same key and sizes)
    n, d = X.shape
    base = ["firstcall", "--n", str(n), "--d", str(d), "--repeats", str(ctx.repeats)]
    runs = {"no cache": _run_child(base, timeout=1200)}
    with tempfile.TemporaryDirectory(prefix="jaxdl-bench-cache-") as cache:
        runs["cache, cold"] = _run_child(base + ["--cache-dir", cache], timeout=1200)
        runs["cache, warm"] = _run_child(base + ["--cache-dir", cache], timeout=1200)
    rec = _case_record(score({k: {"converged": v["ok"], "report": v["status_name"],
                                  "cert": certify(np.asarray(v["w"]), v["b"], X, y)}
                              for k, v in runs.items()}), list(runs))
    for v in runs.values():
        v.pop("w")
    ok = rec["valid"]
    over = runs["no cache"]["compile_overhead_s"]
    t = _target("fit_newton first-call overhead, fresh process (s)", over if ok else None, "<",
                TARGETS["first_call"], unit=" s")
    cold = runs["cache, cold"]["compile_overhead_s"]
    warm = runs["cache, warm"]["compile_overhead_s"]
    rows = [
        _row("first_call", "fit_newton first - warm (no cache)", over, unit="", target=t),
        _row("first_call", "first - warm, cache cold", cold, "first - warm, cache warm", warm,
             cold / warm if warm > 0 else None, unit="x"),
    ]
    notes = [f"fresh processes: first call {_fmt_s(runs['no cache']['first_s'])}, warm "
             f"{_fmt_s(runs['no cache']['warm_s'])} without a cache; with the persistent "
             f"compilation cache the first call took {_fmt_s(runs['cache, cold']['first_s'])} "
             f"(cold cache, written) then {_fmt_s(runs['cache, warm']['first_s'])} (read back)"]
    return {"sizes": {"n": n, "d": d}, "runs": runs, **rec, "rows": rows, "targets": [t],
            "cache_speedup": cold / warm if warm > 0 else None,
            "notes": notes + rec["score_notes"]}


def case_inference(ctx: Context) -> dict[str, Any]:
    """Analytic standard errors (fit_newton + logistic.inference) vs statsmodels
    Logit(...).fit() + .bse on the bench problem; bootstrap refits (logistic.bootstrap, one
    fit_newton_many call) vs a loop of statsmodels fits on the same resampled rows' sizes."""
    import statsmodels.api as sm

    X, y, Xn, yn, Xc = ctx.data64()
    n = Xn.shape[0]
    B = 16 if ctx.quick else 256

    def ours():
        res = logistic.fit_newton(X, y)  # converged to rounding: statsmodels is at tol 1e-8
        return logistic.inference(res, X, y).std_err

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(sm.Logit(yn, Xc).fit(method="newton", disp=0, tol=STATSMODELS_TOL,
                                                    maxiter=100).bse)

    first_j, warm_j = _min_time(ours, ctx.repeats)
    _, warm_s = _min_time(theirs, ctx.repeats)
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

    first_b, warm_b = _min_time(ours_bs, max(1, ctx.repeats // 3))
    warm_sb, _ = _timed(theirs_bs)
    rows = [_row("inference", "fit_newton + inference", warm_j, "statsmodels Logit + bse",
                 warm_s, warm_s / warm_j),
            _row("inference", f"bootstrap x{B} (n = {nb})", warm_b, f"statsmodels loop x{B}",
                 warm_sb, warm_sb / warm_b)]
    agree = bool(se_rel < 1e-6)
    return {"sizes": {"n": n, "d": Xn.shape[1], "bootstrap_n": nb, "resamples": B},
            "timings": {"inference_first_s": first_j, "inference_warm_s": warm_j,
                        "statsmodels_bse_s": warm_s, "bootstrap_first_s": first_b,
                        "bootstrap_warm_s": warm_b, "statsmodels_bootstrap_s": warm_sb},
            "agree": agree, "valid": agree,
            "max_rel_std_err_diff": se_rel, "rows": rows, "targets": [],
            "notes": [f"analytic std err vs statsmodels bse: max relative difference "
                      f"{se_rel:.1e}"]}


def _gd_floor(X, y, lr_w, lr_b, l2: float, steps: int) -> Callable[[], Any]:
    """The sweep's arithmetic alone: ``steps`` batched GD steps (the library's own oracle, one
    shared forward pass for loss and gradient, and its seed update) recording the loss, in a
    ``fori_loop`` with no stop test, status or freezing. No sweep of these configurations can
    run faster here. The call returns the final iterates' losses (checked against the sweep)."""
    from jaxdl import _fit

    model, n, d = logistic._MODEL, X.shape[0], X.shape[1]
    oracle = model.oracle(X, y, jnp.asarray(l2, X.dtype), jnp.ones(n, X.dtype), mixed=False,
                          outer=model.outer(X), row_shards=1)

    def step(theta, lw, lb):
        z = oracle.predictor(theta)
        params, opt = model.split(theta, d), _fit.seed_optimizer(lw, lb)
        updates, _ = opt.update(model.split(oracle.grad(theta, z), d), opt.init(params), params)
        return model.join(optax.apply_updates(params, updates)), oracle.value(theta, z)

    @jax.jit
    def run(lw, lb):
        def body(i, c):
            theta, hist = c
            theta, f = jax.vmap(step)(theta, lw, lb)
            return theta, hist.at[:, i].set(f)

        b = lw.shape[0]
        theta, _ = jax.lax.fori_loop(0, steps, body, (jnp.zeros((b, d + 1), X.dtype),
                                                      jnp.zeros((b, steps), X.dtype)))
        return jax.vmap(lambda t: oracle.value(t, oracle.predictor(t)))(theta)

    lw, lb = jnp.asarray(lr_w, X.dtype), jnp.asarray(lr_b, X.dtype)
    return lambda: np.asarray(jax.block_until_ready(run(lw, lb)))


def case_sweep(ctx: Context) -> dict[str, Any]:
    from jaxdl import _sweeps, sweep

    s = sweep.get("gd-rates")
    k, steps = ctx.sizes["sweep_rates"], ctx.sizes["sweep_steps"]
    rates = [float(v) for v in np.geomspace(1e-4, 0.3, k)]
    values = {"lr_w": rates, "lr_b": rates, "max_steps": [steps]}
    X, y = _sweeps._breast_cancer("float64")
    cfgs = sweep.grid(s, values)

    def run_sweep():
        return sweep.run(s, configs=cfgs, progress=False)

    def run_loop():
        return [logistic.fit_gd(X, y, lr_w=c["lr_w"], lr_b=c["lr_b"], l2=c["l2"],
                                gtol=c["gtol"], max_steps=steps).loss.block_until_ready()
                for c in cfgs]

    first_s, table = _timed(run_sweep)
    run_loop()  # compiles fit_gd once (the rates are traced)
    sweep_s = min(_timed(run_sweep)[0] for _ in range(max(ctx.repeats, 1)))
    loop_s, losses = _timed(run_loop)  # one timed loop: it is the slow side
    ratio = loop_s / sweep_s
    floor = _gd_floor(X, y, [c["lr_w"] for c in cfgs], [c["lr_b"] for c in cfgs],
                      cfgs[0]["l2"], steps)
    floor_loss = floor()
    floor_s = min(_timed(floor)[0] for _ in range(max(ctx.repeats, 1)))
    stable = np.asarray([c["lr_w"] <= 0.01 and c["lr_b"] <= 0.01 for c in cfgs])
    # the floor did the sweep's arithmetic: where a stable configuration used its whole step
    # budget, both end at the same iterate
    full_run = stable & (np.asarray(table["status"]) == "max_steps")
    fdiff = np.abs(floor_loss - table["loss"]) / np.abs(table["loss"])
    diff = np.abs(table["loss"] - np.asarray(losses, float)) / np.asarray(losses, float)
    t = _target(f"gd-rates sweep x{len(cfgs)} vs a fit_gd loop (warm)", ratio, ">=",
                TARGETS["sweep"])
    # The compile time of one chunk's program, measured on its own: the first call minus a warm
    # call would also carry the machine's drift over the case (it went negative on this VM).
    sweep._COMPILED.clear()
    sweep._chunk_fn.cache_clear()
    jax.clear_caches()
    compile_s, full = _timed(lambda: sweep.chunk_memory(s, table.meta["chunk_size"],
                                                        static={"max_steps": steps}))
    # The memory bound: half of what one default chunk takes, so the runner must shrink it.
    bound = full // 2
    bounded = sweep.run(s, configs=cfgs, max_memory=bound, progress=False)
    used = sweep.chunk_memory(s, bounded.meta["chunk_size"], static={"max_steps": steps})
    frac = used / bound
    tm = _target("chunk bytes / max_memory", frac, "<=", TARGETS["sweep_memory"])
    rows = [_row("sweep", f"gd-rates sweep x{len(cfgs)}", sweep_s,
                 f"fit_gd loop x{len(cfgs)}", loop_s, ratio, target=t),
            _row("sweep", f"bare batched GD steps x{len(cfgs)} (the floor)", floor_s,
                 f"fit_gd loop x{len(cfgs)}", loop_s, loop_s / floor_s),
            _row("sweep", "sweep first call (compile included)", first_s, unit=""),
            _row("sweep", "compiling one chunk's program", compile_s, unit=""),
            _row("sweep", f"chunk of {bounded.meta['chunk_size']} configs, bytes / bound",
                 None, ratio=frac, unit="", target=tm)]
    notes = [f"{len(cfgs)} configurations, {steps} steps budget, chunks of "
             f"{table.meta['chunk_size']}; statuses "
             f"{_status_words(table['status'])}; max relative loss difference to the loop "
             f"{float(np.max(diff[stable])):.1e} in the stable region (lr <= 0.01), "
             f"{float(np.max(diff)):.1e} overall (beyond it GD oscillates and roundings part)",
             f"floor: {steps} GD steps of all {len(cfgs)} configurations in one fori_loop "
             f"(the oracle's loss and gradient, no stop test or status): loop / floor "
             f"{loop_s / floor_s:.2f}x bounds any sweep of them on this machine; the sweep "
             f"takes {sweep_s / floor_s:.2f}x the floor; its final loss equals the sweep's to "
             f"{float(np.max(fdiff[full_run], initial=0.0)):.1e} on the {int(full_run.sum())} "
             f"stable configurations that used the whole budget",
             f"memory: default chunk {full} bytes; bound {bound}; chosen chunk "
             f"{bounded.meta['chunk_size']} uses {used} bytes (XLA memory analysis)"]
    bdiff = np.abs(bounded["loss"] - table["loss"]) / np.abs(table["loss"])
    agree = (bool(np.max(diff[stable]) <= 1e-12) and bool(np.max(bdiff[stable]) <= 1e-12)
             and bool(full_run.any()) and bool(np.max(fdiff[full_run]) <= 1e-12))
    return {"sizes": {"configs": len(cfgs), "max_steps": steps}, "ratio": ratio,
            "sweep_s": sweep_s, "loop_s": loop_s, "floor_s": floor_s, "first_s": first_s,
            "compile_s": compile_s,
            "memory_fraction": frac, "agree": agree,
            "valid": agree, "agree_what": "stable-region losses equal the loop's to 1e-12; "
            "so do the memory-bounded run's, and the floor's where the budget was used",
            "rows": rows, "targets": [t, tm], "notes": notes}


CASES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "newton": case_newton,
    "first_order": case_first_order,
    "gd_step": case_gd_step,
    "bootstrap_fits": case_bootstrap_fits,
    "hessian": case_hessian,
    "memory": case_memory,
    "first_call": case_first_call,
    "inference": case_inference,
    "sweep": case_sweep,
}


# ----------------------------------------------------------------------------------------------
# Report.


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(),
        "processor": platform.processor(), "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "jax": jax.__version__, "numpy": np.__version__, "optax": optax.__version__,
        "device_kind": jax.devices()[0].device_kind, "backend": jax.default_backend(),
    }
    import jaxlib

    info["jaxlib"] = jaxlib.__version__
    for mod in ("sklearn", "statsmodels", "glum", "scipy"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "version")}
                               for p in threadpool_info()]
    except ImportError:
        pass
    return info


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1e3:.2f} ms" if abs(x) < 0.1 else f"{x:.3f} s"


def _fmt_ratio(r: dict) -> str:
    return "-" if r["ratio"] is None else f"{r['ratio']:.2f}{r['unit']}"


def _fmt_gate(res: dict[str, Any]) -> str:
    word = "yes" if res["agree"] else "NO"
    sc = res.get("score")
    if sc and sc["max_rel_loss_gap"] is not None:
        worst = max(v["max_gap_over_gate"] for v in sc["solvers"].values())
        word += f" (gap {sc['max_rel_loss_gap']:.1e}; {worst:.2f} x gate)"
    return word


def print_table(results: dict[str, Any], quick: bool) -> None:
    head = ("case", "jaxdl", "time", "peer", "time", "ratio", "target", "met?",
            "gate?")
    lines = [head]
    for key, res in results.items():
        if "error" in res:
            lines.append((key, "ERROR: " + res["error"].splitlines()[-1][:60],
                          "", "", "", "", "", "", "no"))
            continue
        gate = _fmt_gate(res)
        for row in res["rows"]:
            t = row["target"]
            target = met = ""
            if t is not None:
                target = f"{t['op']} {t['threshold']:g}{t['unit']}"
                met = "-" if t["met"] is None else ("yes" if t["met"] else "NO")
                if quick and t["met"] is not None:
                    met += " (quick)"
            peer_s = _fmt_s(row["peer_s"]) if row["peer"] else ""
            lines.append((row["case"], row["jaxdl"], _fmt_s(row["jaxdl_s"]), row["peer"], peer_s,
                          _fmt_ratio(row), target, met, gate))
    widths = [max(len(str(r[i])) for r in lines) for i in range(len(head))]
    for i, r in enumerate(lines):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    notes = [(k, n) for k, res in results.items() for n in res.get("notes", [])]
    if notes:
        print("\nnotes:")
        for k, n in notes:
            print(f"  {k}: {n}")
    print(f"\nscored: reported convergence by its own test and met {RULE} on the common "
          f"objective F; gate: {GATE_FORMULA}")


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic | jax.Array) and np.ndim(x) == 0:
        return _jsonable(np.asarray(x).item())
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


# ----------------------------------------------------------------------------------------------
# Entry point.


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test, seconds)")
    p.add_argument("--cases", default=",".join(CASES),
                   help="comma-separated subset of " + ",".join(CASES))
    p.add_argument("--repeats", type=int, default=3, help="timed repeats after the warm-up")
    p.add_argument("--json-out", default="bench-results.json", help="where to write the JSON")
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    p.add_argument("--child", choices=("memory", "firstcall"), help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--d", type=int, help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats: expected an integer >= 1, got {args.repeats}")
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad or not cases:
        p.error(f"--cases: expected comma-separated names from {','.join(CASES)}, got "
                f"{args.cases!r}" + (f" (unknown: {','.join(bad)})" if bad else ""))
    args.cases = [c for c in CASES if c in cases]
    return args


def _child_main(args: argparse.Namespace) -> int:
    if args.cache_dir:
        enable_compilation_cache(args.cache_dir)  # what jaxdl's entry points use
    else:
        jax.config.update("jax_enable_compilation_cache", False)
    if args.child == "memory":
        out = child_memory(args.n, args.d)
    else:
        out = child_firstcall(args.n, args.d, args.repeats, args.cache_dir)
    print(json.dumps(_jsonable(out)))
    return 0


def main(argv: list[str] | None = None) -> int:
    jax.config.update("jax_enable_x64", True)
    args = _parse(argv)
    if args.child:
        return _child_main(args)
    jax.config.update("jax_enable_compilation_cache", False)  # compile times stay honest
    mode = "quick" if args.quick else "full"
    ctx = Context(SIZES[mode], args.repeats, args.quick)
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    results: dict[str, Any] = {}
    for name in args.cases:
        print(f"[{name}] ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            res = CASES[name](ctx)
        except Exception as e:  # report and go on: one broken peer should not hide the rest
            import traceback

            res = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                   "agree": False, "valid": False, "rows": [], "targets": []}
            print(res["traceback"], file=sys.stderr)
        res["case_wall_s"] = time.perf_counter() - t0
        results[name] = res
        print(f"[{name}] done in {res['case_wall_s']:.1f} s", file=sys.stderr, flush=True)

    invalid = [k for k, r in results.items() if not r["valid"]]
    missed = [t["name"] for r in results.values() for t in r["targets"] if t["met"] is False]
    not_scored = {k: r["score"]["not_scored"] for k, r in results.items()
                  if "score" in r and r["score"]["not_scored"]}
    print()
    print(f"jaxdl benchmark ({mode} sizes, best of {args.repeats} warm repeats; ratios = peer "
          "time / jaxdl time unless marked; same run, same machine)")
    print_table(results, args.quick)
    if args.quick:
        print("\nquick mode: sizes too small for the targets to mean anything; not asserted.")
    if not_scored:
        print("\nNOT SCORED (no ratio): " + "; ".join(
            f"{case}: {', '.join(v)}" for case, v in not_scored.items()))
    if invalid:
        print(f"\nINVALID (gate broken, a jaxdl solver not scored, or the case failed): "
              f"{', '.join(invalid)}")
    if missed:
        print("\ntargets missed" + (" (not asserted in quick mode)" if args.quick else "")
              + ":\n  " + "\n  ".join(missed))
    report = {
        "mode": mode, "sizes": ctx.sizes, "repeats": args.repeats,
        "tol_mean_grad": TOL_MEAN_GRAD, "rule": RULE, "gate_formula": GATE_FORMULA,
        "targets": TARGETS, "machine": machine_info(),
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
        "wall_s": time.perf_counter() - t_start, "cases": results,
        "summary": {"valid": not invalid, "invalid_cases": invalid, "targets_missed": missed,
                    "not_scored": not_scored, "targets_asserted": not args.quick},
    }
    with open(args.json_out, "w") as f:
        json.dump(_jsonable(report), f, indent=1)
    print(f"\nwrote {args.json_out} ({report['wall_s']:.1f} s)")
    if invalid:
        return 1
    if args.strict and missed and not args.quick:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
