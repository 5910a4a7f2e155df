"""Synthetic problems drawn from the models jaxdl fits."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jaxdl import checks

__all__ = ["make_logistic", "make_multiclass", "make_separable"]


def _check_float_dtype(dtype):
    return checks.float_dtype("dtype", dtype)


def make_logistic(key, n, d, *, dtype=jnp.float32, scale=1.0):
    """Draw a non-separable binary problem from a logistic model.

    ``X ~ N(0, I)``; ``(w_true, b_true) ~ N(0, scale**2 / (d + 1))`` jointly, so the
    logit ``X @ w_true + b_true`` has standard deviation about ``scale``; labels
    ``y ~ Bernoulli(sigmoid(X @ w_true + b_true))``.  Because the labels are
    random given ``X``, for ``n >> d`` the data are (with overwhelming
    probability) not linearly separable and the maximum-likelihood fit is finite.
    Larger ``scale`` means cleaner labels.  Same key -> identical arrays.

    Args:
      key: a JAX PRNG key.
      n: number of samples, an integer >= 1.
      d: number of features, an integer >= 1.
      dtype: floating dtype of every returned array (float64 needs jax x64 enabled).
      scale: size of the true logit, a finite number >= 0 (0 gives coin-flip labels).

    Returns:
      ``(X, y, w_true, b_true)``: ``X`` (n, d), ``y`` (n,) with values {0., 1.},
      ``w_true`` (d,), ``b_true`` () -- all of ``dtype``.

    Example:
      >>> X, y, w, b = make_logistic(jax.random.key(0), 500, 5)
      >>> X.shape, y.dtype
      ((500, 5), dtype('float32'))
    """
    n = checks.positive_int("n", n, minimum=1)
    d = checks.positive_int("d", d, minimum=1)
    dt = _check_float_dtype(dtype)
    scale = float(checks.scalar("scale", scale, low=0))
    return _logistic(key, jnp.asarray(scale / math.sqrt(d + 1), dt), n=n, d=d, dtype=dt)


@functools.partial(jax.jit, static_argnames=("n", "d", "dtype"))
def _logistic(key, w_scale, *, n, d, dtype):
    k_x, k_w, k_y = jax.random.split(key, 3)
    X = jax.random.normal(k_x, (n, d), dtype=dtype)
    v = jax.random.normal(k_w, (d + 1,), dtype=dtype) * w_scale
    w_true, b_true = v[:d], v[d]
    p = jax.nn.sigmoid(X @ w_true + b_true)
    y = jax.random.bernoulli(k_y, p).astype(dtype)
    return X, y, w_true, b_true


def make_separable(key, n, d, *, margin=0.5, dtype=jnp.float32):
    """Draw a strictly linearly separable binary problem with a guaranteed margin.

    ``w_true`` is a random unit vector and ``b_true ~ N(0, 0.25)``.  Points start
    as ``N(0, I)``; each is then pushed ``margin`` further from the hyperplane
    ``{x : x @ w_true + b_true = 0}`` along ``w_true`` (away from it, on its own
    side), so every point lies at geometric distance ``>= margin`` from the
    hyperplane, and ``y = 1[X @ w_true + b_true > 0]``.  (With small ``n`` one class
    can be absent or rare.)  Same key -> identical arrays.

    Args:
      key: a JAX PRNG key.
      n: number of samples, an integer >= 1.
      d: number of features, an integer >= 1.
      margin: the guaranteed distance to the separating hyperplane, a finite number > 0.
      dtype: floating dtype of every returned array (float64 needs jax x64 enabled).

    Returns:
      ``(X, y, w_true, b_true)``: ``X`` (n, d), ``y`` (n,) with values {0., 1.},
      ``w_true`` (d,) with unit norm, ``b_true`` () -- all of ``dtype``.

    Example:
      >>> X, y, w, b = make_separable(jax.random.key(0), 200, 2, margin=0.5)
      >>> bool(jnp.all(jnp.abs(X @ w + b) >= 0.5 - 1e-5))
      True
    """
    n = checks.positive_int("n", n, minimum=1)
    d = checks.positive_int("d", d, minimum=1)
    dt = _check_float_dtype(dtype)
    margin = float(checks.scalar("margin", margin, low=0, low_open=True))
    return _separable(key, jnp.asarray(margin, dt), n=n, d=d, dtype=dt)


@functools.partial(jax.jit, static_argnames=("n", "d", "dtype"))
def _separable(key, margin, *, n, d, dtype):
    k_x, k_w, k_b = jax.random.split(key, 3)
    w = jax.random.normal(k_w, (d,), dtype=dtype)
    w_true = w / jnp.linalg.norm(w)
    b_true = jax.random.normal(k_b, (), dtype=dtype) * jnp.asarray(0.5, dtype)
    X0 = jax.random.normal(k_x, (n, d), dtype=dtype)
    side = jnp.where(X0 @ w_true + b_true >= 0, 1.0, -1.0).astype(dtype)
    X = X0 + (margin * side)[:, None] * w_true[None, :]
    y = (side > 0).astype(dtype)
    return X, y, w_true, b_true


def make_multiclass(key, n, d, k, *, dtype=jnp.float32, scale=1.0):
    """Draw a non-separable ``k``-class problem from a softmax (multinomial logistic) model.

    ``X ~ N(0, I)``; weights ``W ~ N(0, scale**2 / (d + 1))`` of shape (d, k) and
    biases ``b`` likewise of shape (k,); each label is drawn from
    ``Categorical(softmax(x @ W + b))``, so for ``n >> d`` the classes overlap.
    Same key -> identical arrays.

    Args:
      key: a JAX PRNG key.
      n: number of samples, an integer >= 1.
      d: number of features, an integer >= 1.
      k: number of classes, an integer >= 2.
      dtype: floating dtype of ``X`` (float64 needs jax x64 enabled).
      scale: size of the true logits, a finite number >= 0.

    Returns:
      ``(X, y)``: ``X`` (n, d) of ``dtype``; ``y`` (n,) int32 class ids in ``0..k-1``.

    Example:
      >>> X, y = make_multiclass(jax.random.key(0), 300, 4, 3)
      >>> X.shape, y.dtype
      ((300, 4), dtype('int32'))
    """
    n = checks.positive_int("n", n, minimum=1)
    d = checks.positive_int("d", d, minimum=1)
    k = checks.positive_int("k", k, minimum=2)
    dt = _check_float_dtype(dtype)
    scale = float(checks.scalar("scale", scale, low=0))
    return _multiclass(key, jnp.asarray(scale / math.sqrt(d + 1), dt), n=n, d=d, k=k, dtype=dt)


@functools.partial(jax.jit, static_argnames=("n", "d", "k", "dtype"))
def _multiclass(key, w_scale, *, n, d, k, dtype):
    k_x, k_w, k_y = jax.random.split(key, 3)
    X = jax.random.normal(k_x, (n, d), dtype=dtype)
    Wb = jax.random.normal(k_w, (d + 1, k), dtype=dtype) * w_scale
    logits = X @ Wb[:d] + Wb[d][None, :]
    y = jax.random.categorical(k_y, logits, axis=-1).astype(jnp.int32)
    return X, y
