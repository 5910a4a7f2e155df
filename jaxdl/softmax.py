"""Seeds Q3(a), Q3(b) and Q7: softmax, its Jacobian, and softmax cross-entropy.

For logits ``z`` (last axis, ``K >= 2`` classes) and ``p = softmax(z)``::

    dp_k/dz_i = p_k (delta_ik - p_i)            J = diag(p) - p p^T          (Q3a)
    L(z, y) = -sum_k y_k log p_k,  dL/dz = p - y  (y one-hot, or any distribution)  (Q3b, Q7)
    d2L/dz2 = diag(p) - p p^T                   (independent of y)           (Q7)

The Hessian is the variance form ``v^T H v = sum p v^2 - (sum p v)^2 >= 0`` (PSD, convex in z)
and ``H 1 = 0`` (softmax is unchanged by a common shift), so it is PSD and never PD. The seed's
intermediate steps in Q7 write ``p_i - 1`` where ``p_i - y_i`` is meant; the result is right.

Every function accepts ``z`` of shape ``(K,)`` or batched ``(..., K)``. Logits may be ``-inf``
(a masked class, probability 0) and one entry per row may be ``+inf`` (the limit: a one-hot
distribution); NaN logits, rows that are all ``-inf`` and rows with two ``+inf`` have no
softmax and are rejected eagerly.
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


def _logits(z: Any) -> jax.Array:
    z = checks.float_array("z", z, ndim=tuple(range(1, 33)), allow_inf=True)
    k = z.shape[-1]
    if k < 2:
        raise ValueError(
            f"z: expected at least 2 classes on the last axis (shape (..., K) with K >= 2), got "
            f"K = {k}"
        )
    if checks.is_concrete(z):
        n_pos = jnp.sum(z == jnp.inf, axis=-1)
        all_neg = jnp.all(z == -jnp.inf, axis=-1)
        if bool(jnp.any(n_pos > 1)):
            raise ValueError(
                "z: expected at most one +inf logit per row, got a row with two or more"
            )
        if bool(jnp.any(all_neg)):
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
        if bool(jnp.any(y < 0)):
            raise ValueError("y: expected non-negative target probabilities, got a negative entry")
        total = jnp.sum(y, axis=-1)
        tol = 64 * jnp.finfo(y.dtype).eps * y.shape[-1]
        if bool(jnp.any(jnp.abs(total - 1) > tol)):
            worst = float(jnp.max(jnp.abs(total - 1)))
            raise ValueError(
                f"y: expected each row to sum to 1 (one-hot or a distribution), got a row off "
                f"by {worst:.3g}"
            )
    return y.astype(z.dtype)


def _shifted(z: jax.Array) -> jax.Array:
    """``z - max(z)`` along the last axis, extended to rows holding one ``+inf``."""
    m = jnp.max(z, axis=-1, keepdims=True)
    inf_row = m == jnp.inf
    safe_m = jnp.where(inf_row, 0.0, m)
    return jnp.where(inf_row, jnp.where(z == jnp.inf, 0.0, -jnp.inf), z - safe_m)


def log_softmax(z: Any) -> jax.Array:
    """``log softmax(z)`` along the last axis, stable (``z - max z - log sum exp``)."""
    s = _shifted(_logits(z))
    return s - jnp.log(jnp.sum(jnp.exp(s), axis=-1, keepdims=True))


def softmax(z: Any) -> jax.Array:
    """``p = exp(z) / sum exp(z)`` along the last axis, stable for any finite spread.

    Args:
      z: logits, shape ``(..., K)``.

    Returns:
      Probabilities of the shape of ``z``.

    Example:
      >>> from jaxdl import softmax
      >>> softmax.softmax(jnp.array([0.0, jnp.log(3.0)]))  # [0.25, 0.75]

    Reference: seed Q3(a).
    """
    e = jnp.exp(_shifted(_logits(z)))
    return e / jnp.sum(e, axis=-1, keepdims=True)


def jacobian(z: Any) -> jax.Array:
    """Softmax Jacobian ``J = diag(p) - p p^T`` (``J_ki = dp_k/dz_i``), shape ``(..., K, K)``.

    The same matrix is the cross-entropy Hessian (:func:`ce_hessian`).

    Reference: seed Q3(a).
    """
    p = softmax(z)
    k = p.shape[-1]
    eye = jnp.eye(k, dtype=p.dtype).reshape((1,) * (p.ndim - 1) + (k, k))
    return p[..., :, None] * (eye - p[..., None, :])


def cross_entropy(z: Any, y: Any) -> jax.Array:
    """``L = -sum_k y_k log softmax(z)_k`` along the last axis, shape ``z.shape[:-1]``.

    Classes with ``y_k = 0`` contribute exactly 0, also where ``z_k = -inf``.

    Reference: seed Q3(b), Q7.
    """
    z = _logits(z)
    y = _targets(y, z)
    logp = log_softmax(z)
    return -jnp.sum(jnp.where(y == 0, 0.0, y * logp), axis=-1)


def ce_grad(z: Any, y: Any) -> jax.Array:
    """Closed-form gradient of :func:`cross_entropy` in ``z``: ``p - y``.

    Reference: seed Q3(b), Q7.
    """
    z = _logits(z)
    return softmax(z) - _targets(y, z)


def ce_hessian(z: Any) -> jax.Array:
    """Closed-form Hessian of :func:`cross_entropy` in ``z``: ``diag(p) - p p^T``.

    Independent of ``y``; PSD with ``H 1 = 0`` (see the module docstring). Identical to the
    softmax Jacobian, so it is computed by :func:`jacobian`.

    Reference: seed Q7.
    """
    return jacobian(z)
