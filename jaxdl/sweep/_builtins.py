"""The built-in sweeps (``jaxdl sweep --list``): each a :class:`jaxdl.sweep.Sweep` whose
configuration function calls the same compiled cores as the public fits and diagnostics, so a
row equals the single call it stands for."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import (
    _cross_validation,
    _fit,
    _inference,
    _solver,
    batchnorm,
    data,
    logistic,
    newton,
    noise,
)
from jaxdl.results import Status
from jaxdl.sweep._spec import AXIS, Param, Sweep, register

_COMPLETED, _INVALID = np.int32(Status.COMPLETED), np.int32(Status.INVALID_INPUT)


@functools.lru_cache(maxsize=4)
def _breast_cancer(dtype_name: str):
    """The bundled breast-cancer data, standardised, as ``(X, y)`` in ``dtype``."""
    ds = data.load_breast_cancer()
    X, _, _ = data.standardize(jnp.asarray(ds.X, dtype_name))
    return X, jnp.asarray(ds.y, dtype_name)


# --- gd-rates: the seed's gradient descent over a grid of (lr_w, lr_b) --------------------

def _gd_prepare(dtype, static):
    X, y = _breast_cancer(jnp.dtype(dtype).name)
    return X, y


def _gd_config(ctx, *, lr_w, lr_b, l2, gtol, max_steps):
    X, y = ctx
    dtype = X.dtype
    res = _fit.fit(logistic.Model(), "gd", X, y, jnp.zeros(X.shape[1] + 1, dtype), l2, gtol,
                   jnp.ones(X.shape[0], dtype), lr_w, lr_b, max_steps=max_steps, cold=True,
                   batched=True, lockstep=AXIS)
    h = res.loss_history  # NaN-padded past the last step
    rise = jnp.nanmax(jnp.where(jnp.isnan(h[1:]) | jnp.isnan(h[:-1]), -jnp.inf, h[1:] - h[:-1]))
    # the loss went up by more than rounding at some step: the rates are past stability
    diverged = ~jnp.isfinite(res.loss) | (rise > 1e-10 * jnp.abs(h[0]))
    return {"loss": res.loss, "grad_norm": res.grad_norm, "steps": res.steps,
            "status": res.status, "diverged": diverged.astype(jnp.int32)}


_RATES = tuple(float(v) for v in np.geomspace(1e-4, 0.3, 16))

GD_RATES = register(Sweep(
    "gd-rates",
    "the seed's gradient descent (Q1) on breast cancer over a grid of (lr_w, lr_b)",
    (Param("lr_w", _RATES, "learning rate of w"),
     Param("lr_b", _RATES, "learning rate of b"),
     Param("l2", (1.0,), "ridge penalty on w"),
     Param("gtol", lambda dt: (1e-9 if jnp.dtype(dt) == jnp.float64 else 1e-5,),
           "tolerance on the per-sample mean gradient (inf-norm)"),
     Param("max_steps", (5000,), "step budget", kind="int", static=True)),
    prepare=_gd_prepare, config=_gd_config))


# --- newton-starts: Newton's method from many starting points (Q6) ------------------------

def _sqrt2(x):
    return x * x - 2.0


def _dottie(x):
    return jnp.cos(x) - x


def _wallis(x):
    return x * x * x - 2.0 * x - 5.0


def _double(x):
    return (x - 1.0) ** 2


# (name, f, the root x*) per problem; "double" has a double root (order 1, rate 1/2).
PROBLEMS = (("sqrt2", _sqrt2, 2.0 ** 0.5), ("cos", _dottie, 0.7390851332151607),
            ("cubic", _wallis, 2.0945514815423265), ("double", _double, 1.0))


def _newton_one(f, x_star, x0, tol, max_steps):
    res = newton.solve_traced(f, x0, tol, "root", max_steps)
    xs = jnp.asarray(x_star, x0.dtype)
    floor = newton.rounding_floor(None, x0.dtype)
    order = newton.last_valid_traced(newton.order_traced(res.history, xs, floor))[0]
    ratio = newton.last_valid_traced(newton.ratio_traced(res.history, xs, floor,
                                                       jnp.asarray(2.0, x0.dtype)))[0]
    rate = newton.last_valid_traced(newton.ratio_traced(res.history, xs, floor,
                                                      jnp.asarray(1.0, x0.dtype)))[0]
    limit = newton.limit_traced(f, xs)
    return {"root": res.x, "steps": res.steps, "status": res.status, "order": order,
            "ratio": ratio, "limit": limit, "linear_rate": rate}


def _newton_prepare(dtype, static):
    return jnp.asarray(newton.default_tol(dtype), dtype)


def _newton_config(tol, *, problem, x0, max_steps):
    branches = [functools.partial(_newton_one, f, xs, tol=tol, max_steps=max_steps)
                for _, f, xs in PROBLEMS]
    return jax.lax.switch(problem, branches, x0)


NEWTON_STARTS = register(Sweep(
    "newton-starts",
    "Newton's method (Q6) from many starts: observed order and |e_k+1|/e_k^2 vs its limit",
    (Param("problem", tuple(p[0] for p in PROBLEMS),
           "x^2-2 (sqrt2), cos x - x (cos), x^3-2x-5 (cubic), (x-1)^2 (double root)",
           kind="choice", choices=tuple(p[0] for p in PROBLEMS)),
     Param("x0", (0.25, 0.5, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0), "starting point"),
     Param("max_steps", (50,), "step budget", kind="int", static=True)),
    prepare=_newton_prepare, config=_newton_config))


# --- noise-sigma: Monte-Carlo gradient under weight noise vs the closed form (Q5) ---------

NOISE_W, NOISE_X, NOISE_Y = (0.5, -1.0, 0.25), (1.0, 2.0, -1.5), 1.0


def _noise_prepare(dtype, static):
    return tuple(jnp.asarray(v, dtype) for v in (NOISE_W, NOISE_X, NOISE_Y))


def _noise_config(ctx, *, sigma, seed, num_samples):
    w, x, y_d = ctx
    mc, se = noise.mc_traced(jax.random.key(seed), w, x, y_d, sigma, num_samples=num_samples,
                       which="grad")
    exact = noise.expected_grad(w, x, y_d, sigma=sigma)
    z = jnp.max(jnp.abs(mc - exact) / jnp.where(se > 0, se, 1))
    ok = (sigma >= 0) & jnp.all(jnp.isfinite(mc))
    return {"mc_grad": mc, "std_err": se, "exact": exact, "max_z": z,
            "status": jnp.where(ok, _COMPLETED, jnp.where(sigma >= 0,
                                                          jnp.int32(Status.NONFINITE), _INVALID))}


NOISE_SIGMA = register(Sweep(
    "noise-sigma",
    "weight noise (Q5): Monte-Carlo E[dJ/dw] with standard errors vs the closed form",
    (Param("sigma", tuple(float(v) for v in np.linspace(0.0, 1.0, 11)),
           "noise standard deviation"),
     Param("seed", (0,), "PRNG seed of the draws", kind="int"),
     Param("num_samples", (20000,), "Monte-Carlo draws per configuration", kind="int",
           static=True)),
    prepare=_noise_prepare, config=_noise_config))


# --- batchnorm-n: the seed's n -> infinity limit (Q2c) -------------------------------------

def _bn_prepare(dtype, static):
    return jnp.zeros((), dtype)


def _bn_config(zero, *, g_mean, gamma, seed, n):
    key = jax.random.fold_in(jax.random.key(seed), n)
    gam = jnp.full((1,), gamma, zero.dtype)
    jac, gap, gmg = batchnorm.seed_limit_traced(key, g_mean.astype(zero.dtype), gam, n=n)
    return {"jacobian_gap": jac, "one_over_n": jnp.asarray(1.0 / n, zero.dtype),
            "gradient_gap": gap, "gamma_mean_g": gmg,
            "status": jnp.where(jnp.isfinite(gap), _COMPLETED, jnp.int32(Status.NONFINITE))}


BATCHNORM_N = register(Sweep(
    "batchnorm-n",
    "mean-only batch norm (Q2c): max|J - I| = 1/n, but dL/dx - gamma g stays -gamma mean(g)",
    (Param("n", (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), "batch size (a shape)",
           kind="int", static=True),
     Param("g_mean", (1.0,), "mean of the upstream gradients"),
     Param("gamma", (1.5,), "the BN scale"),
     Param("seed", (0,), "PRNG seed", kind="int")),
    prepare=_bn_prepare, config=_bn_config))


# --- l2-path: coefficients against l2 with bootstrap bands (Q1, fit_newton_many) -----------

def _l2_prepare(dtype, static):
    return _breast_cancer(jnp.dtype(dtype).name)


def _l2_config(ctx, *, l2, seed, num_resamples):
    X, y = ctx
    n, p = X.shape[0], X.shape[1] + 1
    dtype = X.dtype
    gtol = jnp.asarray(_solver.default_gtol(None, dtype), dtype)
    fit = _fit.fit(logistic.Model(), "newton", X, y, jnp.zeros(p, dtype), l2, gtol,
                   jnp.ones(n, dtype), jnp.zeros((), dtype), jnp.zeros((), dtype),
                   max_steps=50, cold=True, batched=True)
    counts = _inference.bootstrap_counts(jax.random.key(seed), n, num_resamples, dtype)
    many = _fit.fit_many(logistic.Model(), X, y, jnp.zeros((num_resamples, p), dtype),
                         jnp.full((num_resamples,), l2, dtype), gtol, counts, max_steps=50,
                         cold=True)
    thetas = jnp.concatenate([many.params[0], many.params[1][:, None]], axis=1)
    boot = _inference.bootstrap_std_err(thetas, many.status)
    ok = (many.status == Status.CONVERGED)[:, None]
    kept = jnp.where(ok, thetas, jnp.nan)
    lo, hi = jnp.nanquantile(kept, 0.025, axis=0), jnp.nanquantile(kept, 0.975, axis=0)
    theta = jnp.concatenate([fit.params[0], fit.params[1][None]])
    return {"loss": fit.loss, "grad_norm": fit.grad_norm, "steps": fit.steps,
            "status": fit.status, "num_ok": boot.num_ok, "theta": theta,
            "std_err": boot.std_err, "lo": lo, "hi": hi}


L2_PATH = register(Sweep(
    "l2-path",
    "logistic coefficients (Q1) on breast cancer against l2, with bootstrap 95% bands",
    (Param("l2", tuple(float(v) for v in np.geomspace(1e-2, 1e3, 11)), "ridge penalty on w"),
     Param("seed", (0,), "PRNG seed of the resamples", kind="int"),
     Param("num_resamples", (64,), "bootstrap resamples per l2", kind="int", static=True)),
    prepare=_l2_prepare, config=_l2_config))


# --- cv-l2: the cross-validation curve of the penalty (Q1, logistic.cross_validate) ---------

CV_FOLDS = 5  # every row has this many score columns, so the folds are not a parameter


@functools.lru_cache(maxsize=8)
def _cv_folds(dtype_name: str, seed: int):
    """Breast cancer, standardised, and its folds as row weights ``(CV_FOLDS, n)`` each: the
    stratified, seeded folds of ``logistic.cross_validate(..., folds=CV_FOLDS, seed=seed)``."""
    X, y = _breast_cancer(dtype_name)
    ids, k = _cross_validation.fold_ids(np.asarray(y), CV_FOLDS, seed, np.ones(X.shape[0]))
    train, test = _cross_validation.fold_weights(ids, k, np.ones(X.shape[0], X.dtype))
    return X, y, jnp.asarray(train), jnp.asarray(test)


def _cv_prepare(dtype, static):
    return _cv_folds(jnp.dtype(dtype).name, static["seed"])


def _cv_config(ctx, *, l2, seed, scoring, max_steps):
    X, y, train, test = ctx
    dtype = X.dtype
    gtol = jnp.asarray(_solver.default_gtol(None, dtype), dtype)
    # every fold's Newton fit at this penalty from zero: the program cross_validate runs for
    # every (fold, penalty) pair of a problem this small (in float64 throughout: breast cancer
    # is far below the size at which its Newton steps form the Hessian in float32)
    _, scores, status, steps, _ = _fit.cv_path(
        logistic.Model(), "newton", X, y, jnp.zeros((CV_FOLDS, X.shape[1] + 1), dtype),
        jnp.broadcast_to(l2, (1, CV_FOLDS)), jnp.ones((1,), bool), gtol, train, test,
        max_steps=max_steps, memory=10, mixed=False, scoring=scoring)
    scores, status = scores[0], status[0]
    mean, se = _cross_validation.mean_se(scores)
    converged = status == Status.CONVERGED
    return {"mean": mean, "se": se, "score": scores, "steps": jnp.max(steps[0]),
            "folds_converged": jnp.sum(converged).astype(jnp.int32),
            # the first fold that did not converge speaks for the row (converged if none)
            "status": status[jnp.argmin(converged)]}


CV_L2 = register(Sweep(
    "cv-l2",
    f"{CV_FOLDS}-fold cross-validation of logistic regression (Q1) on breast cancer over l2: "
    "the held-out score per fold, its mean and standard error",
    (Param("l2", tuple(float(v) for v in np.geomspace(1e-3, 1e3, 13)), "ridge penalty on w"),
     Param("seed", (0,), "seed of the folds' stratified shuffle (a fold assignment)",
           kind="int", static=True),
     Param("scoring", ("log_loss",), "held-out score: log_loss (mean negative "
           "log-likelihood) or accuracy", kind="choice",
           choices=tuple(_cross_validation.SCORINGS), static=True),
     Param("max_steps", (50,), "Newton step budget of every fold's fit", kind="int",
           static=True)),
    prepare=_cv_prepare, config=_cv_config))
