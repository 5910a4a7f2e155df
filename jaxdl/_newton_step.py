"""Newton directions ``H delta = g``: a checked Cholesky solve, and the mixed-precision step.

:func:`cholesky_direction` factors the Hessian in the working dtype and reports a numerically
singular factor instead of returning garbage. :func:`mixed_direction` is for float64 problems
whose Hessian is a large weighted Gram (logistic regression): the Gram is summed in float32
(half the bytes, twice the arithmetic rate; the dominant cost of a step), factored in float64,
and the solution is checked with exact float64 Hessian-vector products, corrected until it meets
an inexact-Newton forcing term, so the outer iteration stays quadratically convergent and the
answer float64-exact. :func:`logistic_direction` wires both to the Q1 Hessian.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxdl import _gram, _linalg, _solver

__all__ = ["cholesky_direction", "mixed_direction", "logistic_direction", "CHECK_MARGIN",
           "FLOAT32_PIVOT_MIN"]

# The mixed step skips its float64 check when the forcing term exceeds the last measured error
# of the uncorrected solve by this factor (room for the Hessian to change between steps; a step
# less accurate than assumed still descends, and the stop test uses the exact gradient).
CHECK_MARGIN = 100.0
# Below this squared pivot ratio the float32-summed Hessian is too ill-conditioned for
# corrections to pay, and the Hessian is formed in the working dtype instead.
FLOAT32_PIVOT_MIN = 1e-4
# At most this many checked corrections per step.
MAX_CORRECTIONS = 8


def _factor(H: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Cholesky factor of ``H`` and its squared pivot ratio (0 for a failed factorisation)."""
    L = jnp.linalg.cholesky(H)
    piv = jnp.diagonal(L)
    ratio = (jnp.min(piv) / jnp.max(piv)) ** 2
    return L, jnp.where(jnp.all(jnp.isfinite(L)), ratio, 0.0)


def _solve(L: jax.Array, r: jax.Array) -> jax.Array:
    return jax.scipy.linalg.cho_solve((L, True), r)


def _nonsingular(ratio: jax.Array, delta: jax.Array, dtype: Any) -> jax.Array:
    """The factor is usable: pivot ratio above rounding for the size, and a finite solution."""
    eps = jnp.finfo(dtype).eps
    return (ratio > 16 * delta.shape[0] * eps) & jnp.all(jnp.isfinite(delta))


def cholesky_direction(H: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(delta, ok)`` with ``H delta = g`` by Cholesky; ``ok`` False when ``H`` is numerically
    singular or not positive definite."""
    L, ratio = _factor(H)
    delta = _solve(L, g)
    return delta, _nonsingular(ratio, delta, g.dtype)


def mixed_direction(
    gram: Callable[[Any], jax.Array],
    hvp: Callable[[jax.Array], tuple[jax.Array, jax.Array]],
    along: Callable[[jax.Array], jax.Array],
    g: jax.Array,
    *,
    size: jax.Array,
    solve_error: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Solve ``H delta = g`` with a float32-summed ``H`` and exact float64 corrections.

    Args:
      gram: ``dtype -> H`` (penalty included), summed in ``dtype``.
      hvp: ``v -> (H v, A v)``: the exact product in the working dtype and the predictor's
        direction ``A v`` it computes on the way (reused by the line search).
      along: ``v -> A v`` alone.
      g: the gradient (right-hand side).
      size: the total sample weight; the forcing term is relative to the mean gradient.
      solve_error: the uncorrected solve's relative error as last measured (inf before any
        check, never below float32 resolution).

    Returns:
      ``(delta, ok, A delta, solve_error)``.

    The forcing term ``eta = clip(max|g| / size, 4 eps, 1e-2)`` keeps the outer convergence
    quadratic: early steps need no correction and late ones a few. Each round checks the
    current ``delta`` with one exact product and stops when the correction it implies is below
    ``eta``; a step whose forcing term exceeds ``CHECK_MARGIN * solve_error`` skips the check.
    """
    dtype = g.dtype
    eps = jnp.finfo(dtype).eps
    L32, r32 = _factor(gram(jnp.float32).astype(dtype))
    use32 = r32 >= FLOAT32_PIVOT_MIN
    L, ratio = _solver.lazy_select(use32, (L32, r32), lambda: _factor(gram(dtype)))
    delta = _solve(L, g)

    eta = jnp.clip(jnp.max(jnp.abs(g)) / size, 4 * eps, 1e-2)
    known = CHECK_MARGIN * solve_error <= eta  # False while solve_error is inf

    def refine_cond(c):
        i, _, _, done, _ = c
        return use32 & ~known & (i < MAX_CORRECTIONS) & ~done

    def refine_body(c):
        i, delta, _, _, err = c
        hv, u = hvp(delta)
        step = _solve(L, g - hv)
        rel = jnp.max(jnp.abs(step)) / jnp.max(jnp.abs(delta))
        done = rel <= eta
        err = jnp.where(i == 0, rel, err)  # the uncorrected solve's error
        return i + 1, jnp.where(done, delta, delta + step), u, done, err

    u0 = jnp.zeros_like(along(jnp.zeros_like(g)))
    _, delta, u, done, err = jax.lax.while_loop(
        refine_cond, refine_body, (0, delta, u0, jnp.bool_(False), solve_error))
    # The A delta of the last check belongs to delta unless no check ran (a known-accurate
    # solve, or the working-dtype factor) or the rounds ran out: then it is computed afresh.
    daux = _solver.lazy_select(done, u, lambda: along(delta))
    # The Hessian was summed in float32: a measured error below float32 resolution (an exact
    # Gram, e.g. integer X at a cold start where s = 1/4) says nothing about later steps, whose
    # Grams round; floored there, a check is skipped only while eta >= 1.2e-5.
    solve_error = jnp.where(use32, jnp.maximum(err, jnp.finfo(jnp.float32).eps), solve_error)
    return delta, _nonsingular(ratio, delta, dtype), daux, solve_error


def logistic_direction(
    X: jax.Array, z: jax.Array, g: jax.Array, l2: jax.Array, sw: jax.Array, *, mixed: bool,
    outer: Any = None, solve_error: Any = jnp.inf, row_shards: int = 1,
):
    """The Newton direction of penalised weighted logistic regression (seed Q1):
    ``(delta, ok, X delta or None, solve_error)`` for ``H delta = g`` at logits ``z``.

    ``H = sum_n sw_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T + l2 diag(1, ..., 1, 0)``. ``mixed``
    (float64 only, static): :func:`mixed_direction`; else one Cholesky solve in the working
    dtype (X delta is left to the solver: None). ``outer``: :func:`jaxdl._gram.packed_outer`
    of ``X`` (batched fits on one small X).
    """
    dtype = X.dtype
    d = X.shape[1]
    s = sw * jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)  # p (1 - p), accurate near 0 and 1
    ridge = jnp.concatenate([jnp.full((d,), l2, dtype), jnp.zeros((1,), dtype)])

    def gram(acc):
        if outer is not None:
            return _gram.from_packed(outer, s).astype(dtype) + jnp.diag(ridge)
        return _gram.weighted_gram(X, s, acc, row_shards).astype(dtype) + jnp.diag(ridge)

    if not mixed:
        delta, ok = cholesky_direction(gram(dtype), g)
        return delta, ok, None, solve_error

    def along(v):
        return _linalg.matvec(X, v[:-1]) + v[-1]

    def hvp(v):
        u = along(v)
        su = s * u
        hv = jnp.concatenate([_linalg.rmatvec(X, su, row_shards), jnp.sum(su)[None]]) + ridge * v
        return hv, u

    return mixed_direction(gram, hvp, along, g, size=jnp.sum(sw),
                           solve_error=jnp.asarray(solve_error, dtype))
