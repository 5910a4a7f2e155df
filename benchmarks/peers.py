"""Peer adapters: each solver, jaxdl's or a peer library's, as a zero-argument call with its
data bound in, plus how to read its coefficients and whether it says it converged (its own
test, never ours)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.config import STATSMODELS_TOL, TOL_MEAN_GRAD
from jaxdl import logistic


@dataclass
class Solver:
    """A timed solver. ``peer``: another library's (or a hand-written loop's), not jaxdl's; a
    peer whose first call raises (its library missing, or broken in this environment) is
    reported unavailable instead of failing the case (see :func:`benchmarks.timing.race`)."""

    name: str
    run: Callable[[], Any]
    params: Callable[[Any], tuple[Any, Any]]  # output -> (w, b)
    converged: Callable[[Any], Any]  # output -> bool (or a bool per problem for a batch)
    report: Callable[[Any], str]  # output -> the solver's own words on how it stopped
    is_jax: bool = False
    iterations: Callable[[Any], Any] = lambda r: None
    peer: bool = True


def jaxdl_fit(name: str, call: Callable[[], Any]) -> Solver:
    return Solver(name, call, params=lambda r: r.params,
                  converged=lambda r: np.asarray(r.ok),
                  report=lambda r: status_words(r.status_name),
                  is_jax=True, iterations=lambda r: int(np.max(np.asarray(r.steps))),
                  peer=False)


def status_words(names: Any) -> str:
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


def sklearn_fit(X: np.ndarray, y: np.ndarray, **kw: Any):
    """A scikit-learn LogisticRegression fit that keeps its ConvergenceWarnings."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est = LogisticRegression(**kw).fit(X, y)
    est.convergence_warnings_ = [str(w.message) for w in caught
                                 if issubclass(w.category, ConvergenceWarning)]
    return est


def sklearn(name: str, X: np.ndarray, y: np.ndarray, **kw: Any) -> Solver:
    def converged(est):
        return not est.convergence_warnings_ and int(est.n_iter_[0]) < kw["max_iter"]

    def report(est):
        warned = "; ConvergenceWarning" if est.convergence_warnings_ else ""
        return f"n_iter_ {int(est.n_iter_[0])} of max_iter {kw['max_iter']}{warned}"

    return Solver(name, lambda: sklearn_fit(X, y, **kw),
                  params=lambda e: (e.coef_[0], e.intercept_[0]), converged=converged,
                  report=report, iterations=lambda e: int(e.n_iter_[0]))


def glum(name: str, X: np.ndarray, y: np.ndarray, *, solver: str, max_iter: int) -> Solver:
    """glum's GeneralizedLinearRegressor (binomial, no penalty) with one of its solvers.

    glum minimises the weighted mean of the log-loss (its weights are normalised to sum 1), so
    its ``gradient_tol`` is on the mean gradient, like our rule: the IRLS solvers stop on the
    L1 norm of the mean gradient (stricter than the max-norm rule), lbfgs on its max-norm.
    Converged: ``n_iter_ < max_iter`` and no ConvergenceWarning."""
    def run():
        from glum import GeneralizedLinearRegressor

        return _caught(lambda: GeneralizedLinearRegressor(
            family="binomial", alpha=0.0, solver=solver, gradient_tol=TOL_MEAN_GRAD,
            max_iter=max_iter, scale_predictors=False).fit(X, y))

    return _glum_solver(name, run, max_iter, "n_iter_")


def _glum_solver(name: str, run: Callable[[], Any], max_iter: int, counted: str) -> Solver:
    """A glum fit as a Solver: converged when glum warned nothing (see :func:`_caught`) and
    ``n_iter_ < max_iter``; ``counted`` names the count in the report."""
    def converged(est):
        return not est.convergence_warnings_ and int(est.n_iter_) < max_iter

    def report(est):
        warned = "; ConvergenceWarning" if est.convergence_warnings_ else ""
        return f"{counted} {int(est.n_iter_)} of max_iter {max_iter}{warned}"

    return Solver(name, run, params=lambda e: (e.coef_, e.intercept_), converged=converged,
                  report=report, iterations=lambda e: int(e.n_iter_))


def statsmodels_newton(X_const: np.ndarray, y: np.ndarray) -> Solver:
    def run():
        import statsmodels.api as sm

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


def optax_lbfgs(X, y) -> Solver:
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
# Cross-validation of the penalty (the cv case): each adapter's output is the fitted
# estimator or CVResult; ``params`` reads the refit at the chosen penalty.


def jaxdl_cv(name: str, call: Callable[[], Any]) -> Solver:
    """jaxdl's ``cross_validate``: converged when every fold's fit and the refit did."""
    return Solver(name, call, params=lambda r: r.fit.params,
                  converged=lambda r: bool(r.ok),
                  report=lambda r: (f"folds: {status_words(r.status_name)}; refit: "
                                    f"{r.fit.status_name}"),
                  is_jax=True, iterations=lambda r: int(r.fit.steps), peer=False)


def _caught(fit: Callable[[], Any], threads: int | None = None) -> Any:
    """Run a peer's fit keeping its ConvergenceWarnings (and glum's "lbfgs failed" words);
    ``threads``: with its native thread pools (BLAS and OpenMP) limited to that many threads
    (threadpoolctl, scikit-learn's dependency)."""
    from contextlib import nullcontext

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    limit = nullcontext() if threads is None else threadpool_limits(limits=threads)
    with warnings.catch_warnings(record=True) as caught, limit:
        warnings.simplefilter("always")
        est = fit()
    est.convergence_warnings_ = [
        str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
        or str(w.message).startswith("lbfgs failed")]
    return est


def sklearn_cv(name: str, X: np.ndarray, y: np.ndarray, splits: list, l2: np.ndarray, *,
               solver: str, tol: float, max_iter: int, threads: int | None = None
               ) -> Solver:
    """scikit-learn's LogisticRegressionCV (L2, ``Cs = 1 / l2``, the given (train, test) splits,
    held-out log-loss, refit at the best ``C``). Its objective is ``C sum_n loss_n +
    ||w||^2 / 2`` in every fold and in the refit, jaxdl's at ``l2 = 1 / C``; its ``tol`` is on
    the mean gradient (lbfgs: scipy's ``gtol``; newton-cholesky: the max-norm of the gradient
    of the mean loss). Converged: no ConvergenceWarning and every fold's ``n_iter_ <
    max_iter``. ``threads``: see :func:`_caught`."""
    def run():
        from sklearn.linear_model import LogisticRegressionCV

        return _caught(lambda: LogisticRegressionCV(
            Cs=1.0 / l2, l1_ratios=(0.0,), cv=splits, scoring="neg_log_loss", solver=solver,
            tol=tol, max_iter=max_iter, refit=True, use_legacy_attributes=False).fit(X, y),
            threads)

    def converged(est):
        return not est.convergence_warnings_ and int(np.max(est.n_iter_)) < max_iter

    def report(est):
        warned = "; ConvergenceWarning" if est.convergence_warnings_ else ""
        return f"max n_iter_ {int(np.max(est.n_iter_))} of max_iter {max_iter}{warned}"

    def params(est):
        if est.coef_.shape[0] == 1:  # binary: one row
            return est.coef_[0], est.intercept_[0]
        return est.coef_, est.intercept_

    return Solver(name, run, params=params, converged=converged, report=report,
                  iterations=lambda e: int(np.max(e.n_iter_)))


def glum_cv(name: str, X: np.ndarray, y: np.ndarray, splits: list, l2: np.ndarray, *,
            tol: float, max_iter: int, threads: int | None = None) -> Solver:
    """glum's GeneralizedLinearRegressorCV (binomial, ``l1_ratio=0``, the given splits).

    glum minimises ``mean_n deviance_n / 2 + alpha / 2 ||w||^2`` with the mean over the rows
    it is given; the binomial deviance is twice the log-loss, so a fit on all n rows is
    jaxdl's at ``l2 = n alpha``: the grid is ``alphas = l2 / n``. A fold's fit averages over
    its training rows only, so it carries ``l2 n_train / n`` (0.8 l2 with 5 folds): glum's
    held-out curve is not jaxdl's, and its choice may differ; its refit is scored at its own
    choice. Its ``gradient_tol`` is on the gradient of that mean objective (irls-ls, its
    choice for a pure L2 penalty: the max-norm). Converged: no ConvergenceWarning and the
    refit's ``n_iter_ < max_iter`` (glum reports no fold's count). ``threads``: see
    :func:`_caught`."""
    n = X.shape[0]

    def run():
        from glum import GeneralizedLinearRegressorCV

        return _caught(lambda: GeneralizedLinearRegressorCV(
            family="binomial", alphas=l2 / n, l1_ratio=0.0, cv=splits, gradient_tol=tol,
            max_iter=max_iter, scale_predictors=False).fit(X, y), threads)

    return _glum_solver(name, run, max_iter, "refit n_iter_")
