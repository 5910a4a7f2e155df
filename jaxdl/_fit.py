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
from jaxdl.results import FitResult

__all__ = ["LinearModel", "fit", "fit_many", "seed_optimizer", "with_offset"]

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
