"""Seed Q5: multiplicative Gaussian weight noise acts as a data-scaled L2 (Tikhonov) penalty.

One linear unit with weights ``w``, input ``x`` (both shape ``(d,)``) and target ``y_d``. Each
weight is multiplied by independent noise ``beta_k ~ N(1, sigma^2)``::

    J1(w; beta) = 1/2 (y_d - sum_k beta_k w_k x_k)^2
    dJ1/dw_i    = -beta_i x_i (y_d - sum_k beta_k w_k x_k)
    E[dJ1/dw_i] = -x_i (y_d - w^T x) + sigma^2 w_i x_i^2   (E[beta_i beta_k] = 1 + sigma^2 d_ik)

The noise-free loss ``F1 = 1/2 (y_d - w^T x)^2`` has gradient ``-x_i (y_d - w^T x)``; the extra
term ``sigma^2 w_i x_i^2`` is the gradient of ``penalty = 1/2 sigma^2 sum_i w_i^2 x_i^2``, and the
loss itself satisfies ``E[J1] = F1 + penalty`` exactly: with ``c = w * x`` and ``a = y_d``,
``E[(a - beta^T c)^2] = (a - sum c)^2 + sigma^2 sum c^2``.

The expectations are checked two independent ways: exactly, by Gauss-Hermite quadrature over the
noise (:func:`gauss_hermite_expectation`, exact for polynomials in ``beta``), and statistically,
by Monte-Carlo averages of ``jax.grad(loss)`` over sampled ``beta`` (:func:`mc_grad`), whose
error falls like ``1/sqrt(S)``.

The seed's closing remark names the extra term inside the bracket (``-sigma^2 w_i x_i``, which
the bracket's factor ``-x_i`` turns into ``+sigma^2 w_i x_i^2``); jaxdl states it as the added
gradient ``+sigma^2 w_i x_i^2`` and adds the loss identity ``E[J1] = F1 + penalty``.

See the [Q5 derivation][q5-derivation].
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import checks

__all__ = [
    "loss",
    "grad",
    "clean_loss",
    "penalty",
    "expected_loss",
    "expected_grad",
    "sample_beta",
    "mc_grad",
    "mc_loss",
    "gauss_hermite_expectation",
]

# Largest quadrature grid gauss_hermite_expectation builds (num_nodes ** d points).
_MAX_GRID = 1 << 20


def _data_scalar(name: str, v: Any) -> jax.Array:
    """A 0-d float input; a Python number stays weakly typed (adopts the arrays' dtype)."""
    if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_, np.generic)):
        if not np.isfinite(float(v)):
            raise ValueError(f"{name}: expected a finite number, got {float(v)!r}")
        return jnp.asarray(float(v))
    a = checks.float_array(name, v)
    if a.ndim != 0:
        raise ValueError(f"{name}: expected a scalar (shape ()), got shape {tuple(a.shape)}")
    return a


def _sigma(sigma: Any) -> jax.Array:
    """``sigma >= 0`` checked eagerly (tracers pass); a 0-d array."""
    checks.scalar("sigma", sigma, low=0.0)
    return _data_scalar("sigma", sigma)


def _inputs(w: Any, x: Any, y_d: Any, **extra: Any) -> tuple[jax.Array, ...]:
    """Validate ``w``, ``x`` (shape (d,)), ``y_d`` (scalar) and extras; cast to one dtype.

    ``extra`` maps names to already-validated arrays (``beta`` of shape (d,), ``sigma``).
    """
    w = checks.float_array("w", w, ndim=1)
    d = w.shape[0]
    if d == 0:
        raise ValueError("w: expected at least one weight (shape (d,) with d >= 1), got shape (0,)")
    x = checks.vector("x", x, d, "one input per weight")
    y_d = _data_scalar("y_d", y_d)
    dtype = checks.common_dtype(w=w, x=x, y_d=y_d, **extra)
    out = [w.astype(dtype), x.astype(dtype), y_d.astype(dtype)]
    out += [v.astype(dtype) for v in extra.values()]
    return tuple(out)


def _beta(beta: Any, d: int) -> jax.Array:
    return checks.vector("beta", beta, d, "one noise factor per weight")


def _d(w: Any) -> int:
    return int(checks.float_array("w", w, ndim=1).shape[0])


def loss(w: Any, x: Any, y_d: Any, beta: Any) -> jax.Array:
    """The noisy loss ``J1 = 1/2 (y_d - sum_k beta_k w_k x_k)^2`` for one draw of ``beta``.

    Args:
      w: weights, shape ``(d,)``.
      x: input, shape ``(d,)``.
      y_d: target, a scalar.
      beta: multiplicative noise factors, shape ``(d,)`` (``beta_k ~ N(1, sigma^2)``).

    Returns:
      The scalar loss.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import noise
      >>> float(noise.loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0]), 4.0, jnp.ones(2)))
      0.5

    See the [Q5 derivation][q5-derivation].
    """
    beta = _beta(beta, _d(w))
    w, x, y_d, beta = _inputs(w, x, y_d, beta=beta)
    r = y_d - jnp.sum(beta * w * x)
    return 0.5 * r * r


def grad(w: Any, x: Any, y_d: Any, beta: Any) -> jax.Array:
    """Closed-form ``dJ1/dw_i = -beta_i x_i (y_d - sum_k beta_k w_k x_k)``.

    Args:
      w, x, y_d, beta: as in :func:`loss`.

    Returns:
      The gradient with respect to ``w``, shape ``(d,)``.

    See the [Q5 derivation][q5-derivation].
    """
    beta = _beta(beta, _d(w))
    w, x, y_d, beta = _inputs(w, x, y_d, beta=beta)
    r = y_d - jnp.sum(beta * w * x)
    return -beta * x * r


def clean_loss(w: Any, x: Any, y_d: Any) -> jax.Array:
    """The noise-free loss ``F1 = 1/2 (y_d - w^T x)^2`` (the seed's ``F1`` hat).

    Args:
      w, x, y_d: as in :func:`loss`.

    Returns:
      The scalar loss.

    See the [Q5 derivation][q5-derivation].
    """
    w, x, y_d = _inputs(w, x, y_d)
    r = y_d - jnp.sum(w * x)
    return 0.5 * r * r


def penalty(w: Any, x: Any, *, sigma: Any) -> jax.Array:
    """The data-scaled L2 penalty the noise induces: ``1/2 sigma^2 sum_i w_i^2 x_i^2``.

    Its gradient is ``sigma^2 w_i x_i^2``, the term by which ``E[dJ1/dw]`` exceeds ``dF1/dw``.

    Args:
      w, x: as in :func:`loss`.
      sigma: noise standard deviation, ``>= 0`` (keyword-only).

    Returns:
      The scalar penalty.

    See the [Q5 derivation][q5-derivation].
    """
    w, x, _, sigma = _inputs(w, x, 0.0, sigma=_sigma(sigma))
    c = w * x
    return 0.5 * sigma * sigma * jnp.sum(c * c)


def expected_loss(w: Any, x: Any, y_d: Any, *, sigma: Any) -> jax.Array:
    """``E_beta[J1] = F1 + 1/2 sigma^2 sum_i w_i^2 x_i^2`` (exact, not an approximation).

    With ``c = w * x``: ``E[(y_d - beta^T c)^2] = (y_d - sum c)^2 + sigma^2 sum c^2``, since
    ``beta^T c`` has mean ``sum c`` and variance ``sigma^2 sum c^2``.

    Args:
      w, x, y_d: as in :func:`loss`.
      sigma: noise standard deviation, ``>= 0`` (keyword-only).

    Returns:
      The scalar expected loss.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import noise
      >>> w, x = jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0])
      >>> float(noise.expected_loss(w, x, 4.0, sigma=0.5))  # 0.5 * (1 + 0.25 * 5)
      1.125

    See the [Q5 derivation][q5-derivation] (the seed derives the gradient only; the loss
    identity is jaxdl's).
    """
    w, x, y_d, sigma = _inputs(w, x, y_d, sigma=_sigma(sigma))
    c = w * x
    r = y_d - jnp.sum(c)
    return 0.5 * (r * r + sigma * sigma * jnp.sum(c * c))


def expected_grad(w: Any, x: Any, y_d: Any, *, sigma: Any) -> jax.Array:
    """Closed-form ``E_beta[dJ1/dw_i] = -x_i (y_d - w^T x) + sigma^2 w_i x_i^2``.

    Derived from ``E[beta_i] = 1`` and ``E[beta_i beta_k] = 1 + sigma^2 delta_ik``; equal to the
    gradient of :func:`expected_loss` (noise = L2 penalty).

    Args:
      w, x, y_d: as in :func:`loss`.
      sigma: noise standard deviation, ``>= 0`` (keyword-only).

    Returns:
      The expected gradient, shape ``(d,)``.

    See the [Q5 derivation][q5-derivation].
    """
    w, x, y_d, sigma = _inputs(w, x, y_d, sigma=_sigma(sigma))
    r = y_d - jnp.sum(w * x)
    return -x * r + sigma * sigma * w * x * x


def sample_beta(key: jax.Array, shape: Any, *, sigma: Any, dtype: Any = None) -> jax.Array:
    """Draw noise factors ``beta = 1 + sigma * N(0, 1)``, i.e. ``beta ~ N(1, sigma^2)`` iid.

    Args:
      key: a ``jax.random`` key.
      shape: output shape (e.g. ``(S, d)``).
      sigma: noise standard deviation, ``>= 0`` (keyword-only).
      dtype: float dtype of the result (default: JAX's default float).

    Returns:
      An array of ``shape``.

    See the [Q5 derivation][q5-derivation].
    """
    sigma = _sigma(sigma)
    dtype = checks.float_dtype("dtype", dtype)
    shape = checks.shape_tuple("shape", shape)
    z = jax.random.normal(key, shape, dtype)
    return 1 + sigma.astype(dtype) * z


def _mean_stderr(v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean over axis 0 and its standard error ``std(ddof=1) / sqrt(S)`` (two-pass)."""
    s = v.shape[0]
    mean = jnp.mean(v, axis=0)
    dev = v - jnp.expand_dims(mean, 0)
    var = jnp.sum(dev * dev, axis=0) / (s - 1)
    return mean, jnp.sqrt(var / s)


@functools.partial(jax.jit, static_argnames=("num_samples", "which"))
def mc_traced(key, w, x, y_d, sigma, num_samples, which):
    betas = sample_beta(key, (num_samples, w.shape[0]), sigma=sigma, dtype=w.dtype)
    fn = jax.grad(_loss_raw) if which == "grad" else _loss_raw
    vals = jax.vmap(fn, in_axes=(None, None, None, 0))(w, x, y_d, betas)
    return _mean_stderr(vals)


def _loss_raw(w, x, y_d, beta):
    r = y_d - jnp.sum(beta * w * x)
    return 0.5 * r * r


def _mc_inputs(w, x, y_d, sigma, num_samples):
    checks.positive_int("num_samples", num_samples, minimum=2)
    return _inputs(w, x, y_d, sigma=_sigma(sigma))


def mc_grad(
    key: jax.Array, w: Any, x: Any, y_d: Any, *, sigma: Any, num_samples: int
) -> tuple[jax.Array, jax.Array]:
    """Monte-Carlo estimate of ``E_beta[dJ1/dw]``: mean of ``jax.grad(loss)`` over S draws.

    Draws ``S = num_samples`` noise vectors ``beta ~ N(1, sigma^2 I)`` with :func:`sample_beta`,
    takes ``jax.grad`` of :func:`loss` at each (vmapped), and returns the per-component mean and
    its standard error ``std / sqrt(S)`` (``ddof = 1``). The mean converges to
    :func:`expected_grad` at rate ``1 / sqrt(S)``.

    Jittable with ``num_samples`` static, e.g.
    ``jax.jit(mc_grad, static_argnames="num_samples")``; the sampling core is jitted per ``S``.

    Args:
      key: a ``jax.random`` key.
      w, x, y_d: as in :func:`loss`.
      sigma: noise standard deviation, ``>= 0`` (keyword-only).
      num_samples: number of draws ``S >= 2`` (keyword-only, static).

    Returns:
      ``(mean, stderr)``, each of shape ``(d,)``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxdl import noise
      >>> w, x = jnp.array([0.5, -1.0]), jnp.array([1.0, 2.0])
      >>> m, se = noise.mc_grad(jax.random.key(0), w, x, 1.0, sigma=0.3, num_samples=10_000)
      >>> bool(jnp.all(jnp.abs(m - noise.expected_grad(w, x, 1.0, sigma=0.3)) < 5 * se))
      True

    See the [Q5 derivation][q5-derivation].
    """
    w, x, y_d, sigma = _mc_inputs(w, x, y_d, sigma, num_samples)
    return mc_traced(key, w, x, y_d, sigma, num_samples=num_samples, which="grad")


def mc_loss(
    key: jax.Array, w: Any, x: Any, y_d: Any, *, sigma: Any, num_samples: int
) -> tuple[jax.Array, jax.Array]:
    """Monte-Carlo estimate of ``E_beta[J1]``: mean of :func:`loss` over S draws of ``beta``.

    Args:
      key, w, x, y_d, sigma, num_samples: as in :func:`mc_grad`.

    Returns:
      ``(mean, stderr)``, two scalars; the mean converges to :func:`expected_loss`.

    See the [Q5 derivation][q5-derivation].
    """
    w, x, y_d, sigma = _mc_inputs(w, x, y_d, sigma, num_samples)
    return mc_traced(key, w, x, y_d, sigma, num_samples=num_samples, which="loss")


def gauss_hermite_expectation(
    fn: Callable[[jax.Array], Any],
    d: int,
    *,
    sigma: Any,
    num_nodes: int = 3,
    dtype: Any = None,
) -> Any:
    """``E[fn(beta)]``, ``beta ~ N(1, sigma^2 I_d)``: exact when ``fn`` is a low-degree polynomial.

    Tensor-product Gauss-Hermite quadrature, one noise component at a time: with the
    ``n = num_nodes`` probabilists' Hermite nodes ``t_j`` and normalised weights ``p_j``,
    ``E[g(beta_k)] = sum_j p_j g(1 + sigma t_j)`` exactly when ``g`` is a polynomial of degree
    ``<= 2n - 1``. Nesting over the ``d`` components gives a grid of ``n**d`` points, exact for
    ``fn`` polynomial of degree ``<= 2n - 1`` in each ``beta_k`` (``J1`` and ``dJ1/dw`` have degree
    2 and 3, so ``n = 2`` suffices; ``n = 3`` is the default). For general ``fn`` it is an
    approximation. The grid has ``n**d`` points, so this is for small ``d``.

    Args:
      fn: maps ``beta`` of shape ``(d,)`` to an array or pytree of arrays.
      d: the number of noise components.
      sigma: noise standard deviation, ``>= 0`` (keyword-only).
      num_nodes: quadrature nodes per component (``>= 1``).
      dtype: float dtype of the nodes (default: JAX's default float).

    Returns:
      The expectation, with the structure of ``fn``'s output.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import noise
      >>> m = noise.gauss_hermite_expectation(lambda b: b[0] ** 2, 1, sigma=0.5)
      >>> round(float(m), 6)  # E[beta^2] = 1 + sigma^2
      1.25

    See the [Q5 derivation][q5-derivation] (jaxdl's exact check of the seed's expectations).
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable beta -> array, got {type(fn).__name__}")
    d = checks.positive_int("d", d)
    num_nodes = checks.positive_int("num_nodes", num_nodes)
    if num_nodes**d > _MAX_GRID:
        raise ValueError(
            f"num_nodes: expected num_nodes**d <= {_MAX_GRID} grid points, got {num_nodes}**{d}; "
            "use fewer nodes (degree <= 2 * num_nodes - 1 is exact) or mc_grad"
        )
    sigma = _sigma(sigma)
    dtype = checks.float_dtype("dtype", dtype)
    t, p = np.polynomial.hermite_e.hermegauss(num_nodes)
    p = p / p.sum()
    grid_t = np.stack(np.meshgrid(*([t] * d), indexing="ij"), axis=-1).reshape(-1, d)
    grid_p = np.prod(np.stack(np.meshgrid(*([p] * d), indexing="ij"), axis=-1), axis=-1)
    betas = 1 + sigma.astype(dtype) * jnp.asarray(grid_t, dtype)
    weights = jnp.asarray(grid_p.reshape(-1), dtype)
    values = jax.vmap(fn)(betas)
    return jax.tree.map(lambda v: jnp.tensordot(weights, v, axes=1), values)
