"""Seeds Q3(a), Q3(b) and Q7: softmax, its Jacobian, and softmax cross-entropy.

For logits ``z`` (last axis, ``K >= 2`` classes) and ``p = softmax(z)``::

    dp_k/dz_i = p_k (delta_ik - p_i)            J = diag(p) - p p^T          (Q3a)
    L(z, y) = -sum_k y_k log p_k,  dL/dz = p - y  (y one-hot, or any distribution)  (Q3b, Q7)
    d2L/dz2 = diag(p) - p p^T                   (independent of y)           (Q7)

The Hessian is the variance form ``v^T H v = sum p v^2 - (sum p v)^2 >= 0`` (PSD, convex in z)
and ``H 1 = 0`` (softmax is unchanged by a common shift), so it is PSD and never PD. The seed's
intermediate steps in Q7 write ``p_i - 1`` where ``p_i - y_i`` is meant; the result is right.

The K-class logistic regression built on these closed forms is :mod:`jaxdl.multinomial`; its
fits, predictions and inference are also reachable here (``softmax.fit_newton`` and so on).

Every function accepts ``z`` of shape ``(K,)`` or batched ``(..., K)``. Logits may be ``-inf``
(a masked class, probability 0) and one entry per row may be ``+inf`` (the limit: a one-hot
distribution); NaN logits, rows that are all ``-inf`` and rows with two ``+inf`` have no
softmax and are rejected eagerly.

See the [Q3 derivation][q3-derivation] and the [Q7 derivation][q7-derivation].
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxdl import checks

__all__ = [
    "softmax",
    "log_softmax",
    "jacobian",
    "cross_entropy",
    "ce_grad",
    "ce_hessian",
]

# The K-class regression built on these functions lives in jaxdl.multinomial; its verbs stay
# reachable here under the same names (softmax.fit_newton is multinomial.fit_newton).
_REGRESSION = ("fit_gd", "fit_newton", "fit_lbfgs", "fit_newton_many", "predict_proba",
               "predict", "accuracy", "gd_step_bound", "inference", "summary", "bootstrap",
               "Inference", "Bootstrap", "cross_validate", "CVResult")


def __getattr__(name: str) -> Any:
    if name in _REGRESSION:
        from jaxdl import multinomial

        return getattr(multinomial, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



def _logits(z: Any) -> jax.Array:
    z = checks.float_array("z", z, ndim=tuple(range(1, 33)), allow_inf=True)
    k = z.shape[-1]
    if k < 2:
        raise ValueError(
            f"z: expected at least 2 classes on the last axis (shape (..., K) with K >= 2), got "
            f"K = {k}"
        )
    if checks.is_concrete(z):
        with jax.ensure_compile_time_eval():
            two_pos, all_neg = (bool(v) for v in _infinite_rows(z))
        if two_pos:
            raise ValueError(
                "z: expected at most one +inf logit per row, got a row with two or more"
            )
        if all_neg:
            raise ValueError("z: expected at least one finite logit per row, got a row of all -inf")
    return z


def _targets(y: Any, z: jax.Array) -> jax.Array:
    y = checks.float_array("y", y, ndim=z.ndim)
    if y.shape != z.shape:
        raise ValueError(
            f"y: expected shape {tuple(z.shape)} (a one-hot or probability vector per row of z), "
            f"got shape {tuple(y.shape)}"
        )
    checks.common_dtype(z=z, y=y)
    if checks.is_concrete(y):
        with jax.ensure_compile_time_eval():
            negative, worst = (v.item() for v in _target_defects(y))
        tol = 64 * jnp.finfo(y.dtype).eps * y.shape[-1]
        if negative:
            raise ValueError("y: expected non-negative target probabilities, got a negative entry")
        if worst > tol:
            raise ValueError(
                f"y: expected each row to sum to 1 (one-hot or a distribution), got a row off "
                f"by {worst:.3g}"
            )
    return y.astype(z.dtype)


@jax.jit  # one program per shape for the eager checks, not one per operation
def _infinite_rows(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Whether some row of ``z`` holds two ``+inf`` logits, and whether some row is all
    ``-inf``."""
    two_pos = jnp.any(jnp.sum(z == jnp.inf, axis=-1) > 1)
    all_neg = jnp.any(jnp.all(z == -jnp.inf, axis=-1))
    return two_pos, all_neg


@jax.jit
def _target_defects(y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Whether ``y`` has a negative entry, and its rows' largest distance of the sum from 1."""
    return jnp.any(y < 0), jnp.max(jnp.abs(jnp.sum(y, axis=-1) - 1))


def _shifted(z: jax.Array) -> jax.Array:
    """``z - max(z)`` along the last axis, extended to rows holding one ``+inf``."""
    m = jnp.max(z, axis=-1, keepdims=True)
    inf_row = m == jnp.inf
    safe_m = jnp.where(inf_row, 0.0, m)
    return jnp.where(inf_row, jnp.where(z == jnp.inf, 0.0, -jnp.inf), z - safe_m)


# The closed forms are compiled kernels (one program per shape and dtype, in an eager call as
# inside a caller's jit); the public functions check their arguments and call them.


@jax.jit
def _log_probs(z: jax.Array) -> jax.Array:
    s = _shifted(z)
    return s - jnp.log(jnp.sum(jnp.exp(s), axis=-1, keepdims=True))


@jax.jit
def _probs(z: jax.Array) -> jax.Array:
    e = jnp.exp(_shifted(z))
    return e / jnp.sum(e, axis=-1, keepdims=True)


@jax.jit
def _jacobian(z: jax.Array) -> jax.Array:
    p = _probs(z)
    k = p.shape[-1]
    eye = jnp.eye(k, dtype=bool).reshape((1,) * (p.ndim - 1) + (k, k))
    top = jnp.argmax(p, axis=-1, keepdims=True)
    is_top = jnp.arange(k).reshape((1,) * (p.ndim - 1) + (k,)) == top
    rest = jnp.sum(jnp.where(is_top, 0.0, p), axis=-1, keepdims=True)  # 1 - p_top, no rounding
    others = jnp.where(is_top, rest, 1.0 - p)  # 1 - p_k is exact enough below the top
    outer = p[..., :, None] * p[..., None, :]
    return jnp.where(eye, (p * others)[..., :, None], -outer)


@jax.jit
def _cross_entropy(z: jax.Array, y: jax.Array) -> jax.Array:
    return -jnp.sum(jnp.where(y == 0, 0.0, y * _log_probs(z)), axis=-1)


@jax.jit
def _ce_grad(z: jax.Array, y: jax.Array) -> jax.Array:
    return _probs(z) - y


def log_softmax(z: Any) -> jax.Array:
    """``log softmax(z)`` along the last axis, stable (``z - max z - log sum exp``)."""
    return _log_probs(_logits(z))


def softmax(z: Any) -> jax.Array:
    """``p = exp(z) / sum exp(z)`` along the last axis, stable for any finite spread.

    Args:
      z: logits, shape ``(..., K)``.

    Returns:
      Probabilities of the shape of ``z``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import softmax
      >>> p = softmax.softmax(jnp.array([0.0, jnp.log(3.0)]))
      >>> bool(jnp.allclose(p, jnp.array([0.25, 0.75])))  # float32: 0.75 to rounding
      True

    See the [Q3 derivation][q3-derivation] (part a).
    """
    return _probs(_logits(z))


def jacobian(z: Any) -> jax.Array:
    """Softmax Jacobian ``J = diag(p) - p p^T`` (``J_ki = dp_k/dz_i``), shape ``(..., K, K)``.

    The same matrix is the cross-entropy Hessian (:func:`ce_hessian`).

    The diagonal ``p_k (1 - p_k)`` is computed as ``p_k * sum_{j != k} p_j``: when one
    probability rounds to 1, ``1 - p_k`` would round to 0 while the off-diagonal terms do not,
    and the computed matrix would be indefinite with ``H 1 != 0``. Summing the other
    probabilities keeps every row summing to 0 to rounding, so the matrix stays PSD.

    See the [Q3 derivation][q3-derivation] (part a).
    """
    return _jacobian(_logits(z))


def cross_entropy(z: Any, y: Any) -> jax.Array:
    """``L = -sum_k y_k log softmax(z)_k`` along the last axis, shape ``z.shape[:-1]``.

    Classes with ``y_k = 0`` contribute exactly 0, also where ``z_k = -inf``.

    See the [Q3 derivation][q3-derivation] (part b) and the [Q7 derivation][q7-derivation].
    """
    z = _logits(z)
    return _cross_entropy(z, _targets(y, z))


def ce_grad(z: Any, y: Any) -> jax.Array:
    """Closed-form gradient of :func:`cross_entropy` in ``z``: ``p - y``.

    See the [Q3 derivation][q3-derivation] (part b) and the [Q7 derivation][q7-derivation].
    """
    z = _logits(z)
    return _ce_grad(z, _targets(y, z))


def ce_hessian(z: Any) -> jax.Array:
    """Closed-form Hessian of :func:`cross_entropy` in ``z``: ``diag(p) - p p^T``.

    Independent of ``y``; PSD with ``H 1 = 0`` (see the module docstring). Identical to the
    softmax Jacobian, so it is computed by :func:`jacobian`.

    See the [Q7 derivation][q7-derivation].
    """
    return jacobian(z)
