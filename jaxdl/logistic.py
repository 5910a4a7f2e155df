"""Seed Q1: logistic regression, its closed-form gradient and PSD Hessian, and its fits.

Model: ``p_n = sigma(z_n)``, ``z_n = w^T x_n + b``, labels ``y_n in {0, 1}``. Loss, summed over
samples (not averaged, as in the seed)::

    E(w, b) = -sum_n [ y_n ln p_n + (1 - y_n) ln(1 - p_n) ]
            = sum_n [ (1 - y_n) softplus(z_n) + y_n softplus(-z_n) ]

computed from the logits, never as ``ln(sigma(.))``. Closed forms::

    dE/dw = sum_n (p_n - y_n) x_n        dE/db = sum_n (p_n - y_n)
    H = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T     (theta = [w; b], b last; PSD)

The seed drops the sum in dE/db once and writes d/db (y - p) for the second derivative (a sign
slip); jaxdl implements the statements above.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxdl import checks

__all__ = [
    "loss",
    "grad",
    "hessian",
    "loss_from_logits",
    "predict_proba",
    "accuracy",
]


def _inputs(w: Any, b: Any, X: Any, y: Any | None):
    """Validate (w, b, X, y) for the Q1 functions; return jax arrays of one float dtype."""
    X = checks.float_array("X", X, shape=("n", "d"))
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(
            f"X: expected at least one row and one column (shape (n, d) with n, d >= 1), "
            f"got shape ({n}, {d})"
        )
    w = checks.float_array("w", w, ndim=1)
    if w.shape != (d,):
        raise ValueError(
            f"w: expected shape ({d},) (one weight per column of X), got shape {tuple(w.shape)}"
        )
    b = checks.float_array("b", b)
    if b.ndim != 0:
        raise ValueError(f"b: expected a scalar (shape ()), got shape {tuple(b.shape)}")
    dtype = checks.common_dtype(X=X, w=w, b=b)
    X, w, b = X.astype(dtype), w.astype(dtype), b.astype(dtype)
    if y is not None:
        y = checks.binary_labels("y", y, n, dtype)
    return w, b, X, y


def loss_from_logits(z: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> jax.Array:
    """Per-sample binary cross-entropy ``(1 - y) softplus(z) + y softplus(-z)``.

    Exact (no cancellation) for every finite ``z``, and correct at ``z = +-inf`` for labels in
    {0, 1} (``0`` for a correct infinite logit, ``inf`` for a wrong one). Elementwise.

    Args:
      z: logits ``w^T x + b``.
      y: labels in [0, 1] (0/1 for the seed's problem), same shape as ``z``.

    Returns:
      The per-sample losses, shape of ``z``.
    """
    z = jnp.asarray(z)
    y = jnp.asarray(y, dtype=z.dtype)
    neg = jnp.where(y == 1, 0.0, (1 - y) * jax.nn.softplus(z))
    pos = jnp.where(y == 0, 0.0, y * jax.nn.softplus(-z))
    return neg + pos


def loss(w: Any, b: Any, X: Any, y: Any) -> jax.Array:
    """Logistic loss ``E(w, b)`` summed over samples, computed stably from the logits.

    ``E(w, b) = sum_n (1 - y_n) softplus(z_n) + y_n softplus(-z_n)``, ``z = X w + b``.

    Args:
      w: weights, shape ``(d,)``.
      b: bias, a scalar.
      X: features, shape ``(n, d)``.
      y: labels in {0, 1}, shape ``(n,)``.

    Returns:
      The scalar loss (dtype of ``X``).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import logistic
      >>> X = jnp.array([[1.0, 2.0], [-1.0, 0.5]]); y = jnp.array([1.0, 0.0])
      >>> float(logistic.loss(jnp.zeros(2), 0.0, X, y))  # 2 ln 2
      1.386...

    Reference: seed Q1.
    """
    w, b, X, y = _inputs(w, b, X, y)
    return jnp.sum(loss_from_logits(X @ w + b, y))


def grad(w: Any, b: Any, X: Any, y: Any) -> tuple[jax.Array, jax.Array]:
    """Closed-form gradient ``(dE/dw, dE/db) = (sum (p - y) x, sum (p - y))``.

    Args:
      w, b, X, y: as in :func:`loss`.

    Returns:
      ``(gw, gb)`` with shapes ``(d,)`` and ``()``.

    Reference: seed Q1 (the seed drops the sum over n in dE/db once).
    """
    w, b, X, y = _inputs(w, b, X, y)
    r = jax.nn.sigmoid(X @ w + b) - y
    # r @ X rather than X.T @ r: XLA on CPU runs the row-vector form several times faster.
    return r @ X, jnp.sum(r)


def hessian(w: Any, b: Any, X: Any, y: Any | None = None) -> jax.Array:
    """Closed-form joint Hessian over ``theta = [w; b]`` (b last), shape ``(d + 1, d + 1)``.

    ``H = sum_n s_n [x_n; 1][x_n; 1]^T`` with ``s_n = p_n (1 - p_n) > 0``: a positive-weighted
    sum of PSD rank-one terms, hence PSD. ``s_n`` is computed as ``sigma(z) sigma(-z)``, which
    keeps full relative accuracy when ``p_n`` is near 0 or 1. The labels do not enter.

    Args:
      w, b, X: as in :func:`loss`.
      y: unused (accepted so the four Q1 functions share one signature).

    Returns:
      The ``(d + 1, d + 1)`` Hessian.

    Reference: seed Q1 (the seed argues block by block and has a sign slip in d2E/db2).
    """
    w, b, X, _ = _inputs(w, b, X, None)
    if y is not None:
        checks.binary_labels("y", y, X.shape[0], X.dtype)
    z = X @ w + b
    s = jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)
    sx = s[:, None] * X
    hww = X.T @ sx
    hwb = jnp.sum(sx, axis=0)
    hbb = jnp.sum(s)
    top = jnp.concatenate([hww, hwb[:, None]], axis=1)
    bottom = jnp.concatenate([hwb, hbb[None]])[None, :]
    return jnp.concatenate([top, bottom], axis=0)


def predict_proba(w: Any, b: Any, X: Any) -> jax.Array:
    """``p = sigma(X w + b)``, shape ``(n,)``."""
    w, b, X, _ = _inputs(w, b, X, None)
    return jax.nn.sigmoid(X @ w + b)


def accuracy(w: Any, b: Any, X: Any, y: Any) -> jax.Array:
    """Fraction of samples whose predicted class ``1[z > 0]`` equals ``y``."""
    w, b, X, y = _inputs(w, b, X, y)
    return jnp.mean(((X @ w + b) > 0).astype(X.dtype) == y)
