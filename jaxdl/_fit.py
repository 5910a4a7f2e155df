"""The compiled fit programs behind every fit of every linear-predictor model.

A model (:class:`LinearModel`: logistic regression, K-class regression) says how its
parameters flatten to one vector ``theta``, what its objective looks like to the loops
(:class:`jaxdl._solver.NewtonOracle`) and which values are out of its domain; this module holds
the jitted programs for gradient descent, damped Newton, L-BFGS and batches of Newton fits, and
turns ``theta`` back into the model's parameters.

An offset (a known term per row, of the logits' shape) enters the objective only through the
carried predictor: the loops see ``aux = A theta + offset`` (:func:`with_offset`), while the
directions ``along(delta) = A delta`` stay linear, so a line search adds the offset exactly
once. ``offset=None`` is a separate program without the addition, not a zeros array.

The inputs are validated once, by :mod:`jaxdl._linear_model`; nothing here checks them
again.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import optax

from jaxdl import _solver
from jaxdl.results import FitResult, Status

__all__ = ["LinearModel", "fit", "fit_many", "cv_path", "seed_optimizer", "with_offset"]

SOLVERS = ("gd", "newton", "lbfgs")  # checked by jaxdl._linear_model


class LinearModel(Protocol):
    """What a model provides to the fit helper (a hashable, static description)."""

    def oracle(self, X, y, l2, sw, *, mixed: bool, outer: Any,
               row_shards: int) -> _solver.NewtonOracle:
        """The objective as the loops see it; its ``aux`` is the linear predictor
        ``A theta`` of the logits' shape (an offset is added by :func:`with_offset`)."""

    def split(self, theta: jax.Array, d: int) -> tuple[jax.Array, jax.Array]:
        """Flat ``theta`` -> the free parameters ``(w, b)`` (what GD's optimizer sees)."""

    def join(self, params: tuple[jax.Array, jax.Array]) -> jax.Array:
        """Inverse of :meth:`split`."""

    def start(self, theta0: jax.Array, d: int, l2: jax.Array) -> jax.Array:
        """A user's start moved to the model's convention for the penalty ``l2`` (traced)."""

    def finish(self, theta: jax.Array, d: int, l2: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Flat ``theta`` -> the parameters the user gets (the convention may depend on
        ``l2``)."""

    def cold_logits(self, X: jax.Array, theta0: jax.Array) -> jax.Array:
        """The predictor ``A theta0`` when the weights of ``theta0`` are zero (no pass over
        ``X``; the fits add the offset)."""

    def invalid(self, y, l2, sw) -> jax.Array:
        """In-jit domain check of values the eager checks could not see."""

    def outer(self, X: jax.Array) -> Any:
        """Precomputed per-row products for batched Newton fits on one ``X`` (or None)."""

    def logits(self, w: jax.Array, b: jax.Array, X: jax.Array) -> jax.Array:
        """The linear predictor of the parameters ``(w, b)``."""

    def classify(self, z: jax.Array) -> jax.Array:
        """int32 class ids from logits."""

    def nll(self, z: jax.Array, y: jax.Array) -> jax.Array:
        """The per-row negative log-likelihood ``(n,)`` of the labels ``y`` at logits ``z``."""

    def ridge(self, d: int, dtype: Any) -> jax.Array:
        """``r`` with the penalty ``l2/2 sum_i r_i theta_i^2`` (for ``l2 > 0``): 1 on the
        penalised entries of the flat ``theta``, 0 elsewhere."""


# ----------------------------------------------------------------------------------------------
# The jitted programs.


def with_offset(oracle: _solver.NewtonOracle, offset: jax.Array | None) -> _solver.NewtonOracle:
    """``oracle`` whose predictor is ``A theta + offset`` (``along`` unchanged)."""
    if offset is None:
        return oracle
    predictor = oracle.predictor
    return oracle._replace(predictor=lambda theta: predictor(theta) + offset)


def _start_logits(model: LinearModel, X, theta0, offset, cold: bool):
    """The carried predictor at a cold start (None: the loops compute it)."""
    if not cold:
        return None
    z0 = model.cold_logits(X, theta0)
    return z0 if offset is None else z0 + offset


def seed_optimizer(lr_w: Any, lr_b: Any) -> optax.GradientTransformation:
    """The seed's update ``w <- w - lr_w g_w``, ``b <- b - lr_b g_b`` on params ``(w, b)``."""
    return optax.multi_transform({"w": optax.sgd(lr_w), "b": optax.sgd(lr_b)},
                                 param_labels=("w", "b"))


@functools.partial(jax.jit, static_argnames=("model", "solver", "optimizer", "max_steps",
                                             "memory", "mixed", "cold", "row_shards",
                                             "batched", "lockstep"))
def fit(model: LinearModel, solver: str, X, y, theta0, l2, gtol, sw, lr_w, lr_b, *,
        optimizer: optax.GradientTransformation | None = None, max_steps: int,
        memory: int = 10, mixed: bool = False, cold: bool = False,
        row_shards: int = 1, batched: bool = False,
        lockstep: str | None = None, offset: jax.Array | None = None) -> FitResult:
    """One fit of ``model`` by ``solver`` (static), compiled once per model, solver and shape.

    Hyperparameters ``l2``, ``gtol``, ``lr_w``, ``lr_b`` and the weights are traced: a new
    value is no recompile. ``gtol`` is relative to the total weight (a mean-gradient rule).
    ``batched=True`` is for a fit that will be vmapped over configurations sharing ``X`` (a
    sweep): the products over ``X`` are then plain dots, which vmap turns into one GEMM for
    the batch (as in :func:`fit_many`), instead of a single fit's row-block stream (about 3x
    faster for a batch of 64 gradient-descent fits on breast cancer). ``lockstep`` (solver
    ``"gd"``) names the ``vmap`` axis of such a batch: see :func:`_solver.gradient_descent`.
    ``offset``: a known term added to the logits (traced; None is its own program).
    """
    d = X.shape[1]
    oracle = with_offset(model.oracle(X, y, l2, sw, mixed=mixed,
                                      outer=model.outer(X) if batched else None,
                                      row_shards=row_shards), offset)
    kw = dict(max_steps=max_steps, gtol=gtol * jnp.sum(sw), invalid=model.invalid(y, l2, sw))
    theta0 = model.start(theta0, d, l2)
    aux0 = _start_logits(model, X, theta0, offset, cold)
    if solver == "newton":
        res = _solver.damped_newton(oracle, theta0, aux0=aux0, **kw)
    elif solver == "lbfgs":
        res = _solver.lbfgs(oracle, theta0, memory=memory, aux0=aux0, **kw)
    elif solver == "gd":
        if optimizer is None:  # a traced rate out of domain (a sweep's row) is a status
            opt = seed_optimizer(lr_w, lr_b)
            kw["invalid"] = kw["invalid"] | ~(lr_w > 0) | ~(lr_b > 0)
        else:
            opt = optimizer

        def value_and_grad(params):
            theta = model.join(params)
            z = oracle.predictor(theta)
            return (oracle.value(theta, z), model.split(oracle.grad(theta, z), d),
                    oracle.separated(theta, z))

        res = _solver.gradient_descent(value_and_grad, model.split(theta0, d), opt,
                                       lockstep=lockstep, **kw)
        res = res._replace(params=model.join(res.params))
    else:  # pragma: no cover - the wrappers pass a literal
        raise ValueError(f"solver: expected one of {SOLVERS}, got {solver!r}")
    return res._replace(params=model.finish(res.params, d, l2))


@functools.partial(jax.jit, static_argnames=("model", "max_steps", "cold"))
def fit_many(model: LinearModel, X, y, theta0, l2, gtol, sw, *, max_steps: int,
             cold: bool, offset: jax.Array | None = None) -> FitResult:
    """A batch of Newton fits on one ``X``: ``sw (b, n)``, ``l2 (b,)``, ``theta0 (b, p)``;
    one ``offset`` (or None) for all of them."""
    d = X.shape[1]
    outer = model.outer(X)

    def one(sw, l2, theta0):
        theta0 = model.start(theta0, d, l2)
        oracle = with_offset(model.oracle(X, y, l2, sw, mixed=False, outer=outer,
                                          row_shards=1), offset)
        res = _solver.damped_newton(oracle, theta0, max_steps=max_steps,
                                    gtol=gtol * jnp.sum(sw), invalid=model.invalid(y, l2, sw),
                                    aux0=_start_logits(model, X, theta0, offset, cold))
        return res._replace(params=model.finish(res.params, d, l2))

    return jax.vmap(one)(sw, l2, theta0)


@functools.partial(jax.jit, static_argnames=("model", "solver", "max_steps", "memory", "mixed",
                                             "scoring"))
def cv_path(model: LinearModel, solver: str, X, y, theta0, l2s, live, gtol, train, test,
            offset=None, *, max_steps: int, memory: int, mixed: bool, scoring: str):
    """A chunk of cross-validation fits: ``L`` lanes, each fitting ``c`` penalties in turn.

    ``l2s``: ``(c, L)``, lane ``j``'s penalties in order; ``train``, ``test``: ``(L, n)`` the
    lanes' row weights of the fit and of the held-out score; ``theta0``: ``(L, p)`` the lanes'
    starts (flat, in the fits' own coordinates). Each fit starts at the lane's previous
    solution (a warm start along a penalty path; ``c = 1`` gives independent fits, one per
    lane). A fit that fails leaves the lane's start where it was for the next penalty.
    ``live``: ``(c,)`` bool, False for padding: those steps do no work (their outputs are zeros
    and the lanes' starts pass through). ``offset``: added to the logits of every fit and
    score (None: its own program).

    Returns:
      The lanes' last good ``theta`` ``(L, p)``; the held-out scores ``(c, L)`` (mean
      negative log-likelihood, or accuracy, over the held-out weights); the statuses and step
      counts ``(c, L)``; every fit's ``theta`` ``(c, L, p)``.
    """
    d = X.shape[1]
    outer = model.outer(X) if solver == "newton" else None
    ridge = model.ridge(d, X.dtype)
    lanes, p = theta0.shape

    def fit_one(theta, pairs, sw, l2, l2_prev):
        oracle = with_offset(model.oracle(X, y, l2, sw, mixed=mixed, outer=outer, row_shards=1),
                             offset)
        kw = dict(max_steps=max_steps, gtol=gtol * jnp.sum(sw), invalid=model.invalid(y, l2, sw))
        theta = model.start(theta, d, l2)
        if solver == "newton":
            return _solver.damped_newton(oracle, theta, **kw), pairs
        # The previous fit's curvature pairs, moved to this penalty: y = the change of the
        # gradient along s, whose penalty part changes by (l2 - l2_prev) r s. Pairs made
        # invalid by the move are dropped; none are kept across l2 = 0 (a K-class fit then
        # holds other entries).
        Y = pairs.Y + (l2 - l2_prev) * ridge[None, :] * pairs.S
        sy = jnp.sum(pairs.S * Y, axis=1)
        keep = (pairs.rho > 0) & (sy > 0) & (l2 > 0) & (l2_prev > 0)
        warm = _solver.Pairs(jnp.where(keep[:, None], pairs.S, 0), jnp.where(keep[:, None], Y, 0),
                             jnp.where(keep, 1 / jnp.where(keep, sy, 1), 0),
                             jnp.where(jnp.any(keep), pairs.count, 0))
        return _solver.lbfgs(oracle, theta, memory=memory, pairs0=warm, return_pairs=True, **kw)

    def score(theta, held, l2):
        z = model.logits(*model.finish(theta, d, l2), X)
        z = z if offset is None else z + offset
        if scoring == "accuracy":
            per_row = (model.classify(z) == y.astype(jnp.int32)).astype(X.dtype)
        else:
            per_row = model.nll(z, y)
        return jnp.sum(held * per_row) / jnp.sum(held)

    def fit_step(carry, l2):
        theta, pairs, l2_prev = carry
        res, pairs = jax.vmap(fit_one)(theta, pairs, train, l2, l2_prev)
        ok = (res.status == Status.CONVERGED)[:, None]
        scores = jax.vmap(score)(res.params, test, l2)
        return ((jnp.where(ok, res.params, theta), pairs, l2),
                (scores, res.status, res.steps, res.params))

    def skip(carry, l2):
        zeros = jnp.zeros(l2.shape, X.dtype)
        counts = jnp.zeros(l2.shape, jnp.int32)
        return carry, (zeros, counts, counts, carry[0])

    def step(carry, xs):
        l2, on = xs  # a scalar predicate outside vmap: a real branch, not a select
        return jax.lax.cond(on, fit_step, skip, carry, l2)

    pairs = jax.vmap(lambda _: _solver.Pairs.empty(memory, p, X.dtype))(jnp.arange(lanes))
    carry = (theta0, pairs, jnp.zeros((lanes,), X.dtype))
    (theta, _, _), (scores, status, steps, params) = jax.lax.scan(step, carry, (l2s, live))
    return theta, scores, status, steps, params
