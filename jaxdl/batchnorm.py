"""Seed Q2: batch normalisation, its closed-form backward pass, and running statistics.

Training mode normalises each feature (column) of ``x`` of shape ``(n, features)`` over the batch
axis 0. Two variants share one code path:

* mean-only (seed Q2(c), ``center_only=True``)::

      mu = (1/n) sum_j x_j,   xhat_i = x_i - mu,   y_i = gamma xhat_i + beta
      d xhat_i / d x_j = delta_ij - 1/n        (per feature; :func:`jacobian_xhat`)
      dL/dx_i = gamma (g_i - mean(g)),         g_i = dL/dy_i

* full BN (the library layer), with the biased batch variance ``var = mean((x - mu)^2)``::

      xhat = (x - mu) / sqrt(var + eps),       y = gamma xhat + beta
      dL/dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat mean(g xhat))

and in both ``dL/dgamma = sum_i g_i xhat_i`` and ``dL/dbeta = sum_i g_i``.

The n -> inf remark of the seed (Q2(c)): the seed concludes ``dL/dx_i -> gamma g_i``. What is
true is that every Jacobian entry ``d xhat_i / d x_j`` tends to ``delta_ij``
(``max |J - I| = 1/n``), but the gradient is ``gamma g_i - gamma mean(g)`` for every n: it tends
to ``gamma g_i`` only when ``mean(g) -> 0``. At n = 1, ``xhat = 0`` identically and
``dL/dx = 0`` exactly. :func:`seed_limit_demo` shows both facts numerically. (The seed also says
in Q2(a) that the input distribution "does not change" during training; it does change, which
is why BN helps.)

Inference uses running statistics held in an explicit :class:`BatchNormState` pytree, updated
functionally by :func:`forward_train` and read by :func:`forward_eval`; nothing is mutated.

See the [Q2 derivation][q2-derivation].
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import checks

__all__ = [
    "forward",
    "backward",
    "jacobian_xhat",
    "BatchNormState",
    "init_state",
    "forward_train",
    "forward_eval",
    "LimitDemo",
    "seed_limit_demo",
]


class BatchNormState(NamedTuple):
    """Running statistics for inference (a pytree: passes through jit, vmap and optax).

    Attributes:
      mean: running mean per feature, shape ``(features,)``.
      var: running (unbiased) variance per feature, shape ``(features,)``.
    """

    mean: jax.Array
    var: jax.Array


class _Normalized(NamedTuple):
    xhat: jax.Array
    mu: jax.Array  # (1, features)
    var: jax.Array | None  # biased batch variance, (1, features); None when center_only
    std: jax.Array | None  # sqrt(var + eps), (1, features); None when center_only


# ----------------------------------------------------------------------------------------------
# Validation.


def _x(x: Any, *, need_two: bool, name: str = "x") -> jax.Array:
    x = checks.float_array(name, x, shape=("n", "features"), min_size=1)
    if need_two and x.shape[0] < 2:
        raise ValueError(
            f"{name}: expected at least 2 rows for variance batch norm (the batch variance of "
            f"one sample carries no information; use center_only=True for n = 1), got "
            f"{x.shape[0]} row"
        )
    return x


def _vector(name: str, v: Any, features: int) -> jax.Array:
    return checks.vector(name, v, features, "one entry per feature, the columns of x")


def _eps(eps: Any) -> Any:
    return checks.scalar("eps", eps, low=0, low_open=True)


def _state(state: Any, features: int) -> BatchNormState:
    if not (hasattr(state, "mean") and hasattr(state, "var")):
        raise TypeError(
            f"state: expected a BatchNormState(mean, var) (see init_state), got "
            f"{type(state).__name__}"
        )
    mean = _vector("state.mean", state.mean, features)
    var = _vector("state.var", state.var, features)
    if checks.is_concrete(var) and bool((np.asarray(var) < 0).any()):
        raise ValueError("state.var: expected non-negative running variances, got a negative entry")
    return BatchNormState(mean, var)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a Python bool, got {type(value).__name__}")
    return bool(value)


# ----------------------------------------------------------------------------------------------
# The one place where xhat is computed.


def _normalize(x: jax.Array, eps: Any, center_only: bool) -> _Normalized:
    """``xhat`` and the batch statistics it used (x already validated).

    The mean is taken of the data shifted by its first row, ``mu = x_0 + mean(x - x_0)``: a
    constant feature then centres to exactly 0 (``mean(x)`` of n copies of c is not always c in
    floating point, and in float32 that rounding, e.g. 0.06 for c = 1e6, divided by its own
    tiny standard deviation gave ``xhat = +-1`` instead of 0), and features with a large
    offset keep their accuracy (``x - x_0`` is exact for nearby values).
    """
    shift = x[:1]
    d = x - shift
    dmu = jnp.mean(d, axis=0, keepdims=True)
    mu = shift + dmu
    xc = d - dmu
    if center_only:
        return _Normalized(xc, mu, None, None)
    var = jnp.mean(xc * xc, axis=0, keepdims=True)  # biased (divide by n), two-pass: stable
    std = jnp.sqrt(var + eps)
    return _Normalized(xc / std, mu, var, std)


def _affine(xhat: jax.Array, gamma: jax.Array, beta: jax.Array) -> jax.Array:
    return gamma[None, :] * xhat + beta[None, :]


def _inputs(x, gamma, *, eps, center_only, batch_stats=True, **named):
    """Validate ``x``, ``gamma``, ``eps`` and the named per-feature (or ``g``) arrays.

    ``batch_stats``: ``x``'s own variance is used, so full BN needs ``n >= 2``.
    """
    center_only = _bool("center_only", center_only)
    x = _x(x, need_two=batch_stats and not center_only)
    f = x.shape[1]
    gamma = _vector("gamma", gamma, f)
    out = {}
    for nm, v in named.items():
        if nm == "g":
            v = checks.float_array("g", v, ndim=2)
            if v.shape != x.shape:
                raise ValueError(
                    f"g: expected shape {tuple(x.shape)} (dL/dy, the shape of x), got shape "
                    f"{tuple(v.shape)}"
                )
        else:
            v = _vector(nm, v, f)
        out[nm] = v
    dtype = checks.common_dtype(x=x, gamma=gamma, **out)
    _eps(eps)
    out = {nm: v.astype(dtype) for nm, v in out.items()}
    return x.astype(dtype), gamma.astype(dtype), out, center_only


# ----------------------------------------------------------------------------------------------
# Training mode.


def forward(
    x: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    beta: jax.typing.ArrayLike,
    *,
    eps: Any = 1e-5,
    center_only: bool = False,
) -> jax.Array:
    """Training-mode batch norm over batch axis 0: ``y = gamma xhat + beta``.

    ``xhat = x - mu`` (``center_only``, seed Q2(c)) or ``(x - mu) / sqrt(var + eps)`` with the
    biased batch variance ``var = mean((x - mu)^2)`` (full BN). A feature with zero variance
    gives ``xhat = 0`` (finite, because ``eps > 0``).

    Args:
      x: activations, shape ``(n, features)``; ``n >= 2`` for full BN, ``n >= 1`` mean-only.
      gamma: scale, shape ``(features,)``.
      beta: shift, shape ``(features,)``.
      eps: variance floor, ``> 0`` (validated also when ``center_only``, where it is unused).
      center_only: mean-only BN of seed Q2(c).

    Returns:
      ``y``, shape ``(n, features)``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import batchnorm
      >>> x = jnp.array([[1.0, 2.0], [3.0, 6.0]])
      >>> batchnorm.forward(x, jnp.ones(2), jnp.zeros(2), center_only=True)  # x - mean(x)
      Array([[-1., -2.],
             [ 1.,  2.]], dtype=float32)

    See the [Q2 derivation][q2-derivation] (mean-only); full BN as in Ioffe & Szegedy (2015).
    """
    x, gamma, a, center_only = _inputs(x, gamma, beta=beta, eps=eps, center_only=center_only)
    return _affine(_normalize(x, eps, center_only).xhat, gamma, a["beta"])


def backward(
    g: jax.typing.ArrayLike,
    x: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    *,
    eps: Any = 1e-5,
    center_only: bool = False,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Closed-form backward pass of :func:`forward`: ``(dL/dx, dL/dgamma, dL/dbeta)``.

    With ``g = dL/dy`` and means over the batch axis::

        mean-only:  dx = gamma (g - mean(g))
        full:       dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat mean(g xhat))
        both:       dgamma = sum(g xhat, axis 0),   dbeta = sum(g, axis 0)

    At ``n = 1`` (mean-only) ``dx`` is exactly 0.

    Args:
      g: upstream gradient ``dL/dy``, shape of ``x``.
      x, gamma, eps, center_only: as in :func:`forward` (``beta`` does not enter).

    Returns:
      ``(dx, dgamma, dbeta)`` with shapes ``(n, features)``, ``(features,)``, ``(features,)``.

    See the [Q2 derivation][q2-derivation] (the seed's n -> inf conclusion ``dx -> gamma g``
    holds only when ``mean(g) -> 0``; see the module docstring and :func:`seed_limit_demo`).
    """
    x, gamma, a, center_only = _inputs(x, gamma, g=g, eps=eps, center_only=center_only)
    g = a["g"]
    nz = _normalize(x, eps, center_only)
    gc = g - jnp.mean(g, axis=0, keepdims=True)
    if center_only:
        dx = gamma[None, :] * gc
    else:
        proj = jnp.mean(g * nz.xhat, axis=0, keepdims=True)
        dx = (gamma[None, :] / nz.std) * (gc - nz.xhat * proj)
    return dx, jnp.sum(g * nz.xhat, axis=0), jnp.sum(g, axis=0)


def jacobian_xhat(n: int, *, dtype: Any = None) -> jax.Array:
    """Mean-only BN Jacobian of one feature: ``d xhat_i / d x_j = delta_ij - 1/n``.

    ``xhat = x - mean(x)`` is linear, so the Jacobian is the centring matrix ``I - (1/n) 1 1^T``
    (features do not mix: for ``x`` of shape ``(n, f)`` the full Jacobian is this matrix for
    each feature). ``max_ij |J - I| = 1/n``, so ``J -> I`` entrywise as ``n -> inf``; at
    ``n = 1``, ``J = 0``.

    Args:
      n: batch size, an int ``>= 1``.
      dtype: float dtype of the result (default: JAX's default float).

    Returns:
      The ``(n, n)`` matrix ``J``.

    See the [Q2 derivation][q2-derivation].
    """
    n = checks.positive_int("n", n)
    dtype = checks.float_dtype("dtype", dtype)
    return jnp.eye(n, dtype=dtype) - jnp.full((n, n), 1.0 / n, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# Running statistics (inference).


def init_state(features: int, dtype: Any = jnp.float32) -> BatchNormState:
    """Initial running statistics: ``mean = 0``, ``var = 1`` (as PyTorch and Flax).

    Args:
      features: number of features, an int ``>= 1``.
      dtype: float dtype of the state.

    Returns:
      A :class:`BatchNormState` of shape ``(features,)`` arrays.
    """
    features = checks.positive_int("features", features)
    dtype = checks.float_dtype("dtype", dtype)
    return BatchNormState(jnp.zeros((features,), dtype), jnp.ones((features,), dtype))


def forward_train(
    x: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    beta: jax.typing.ArrayLike,
    state: BatchNormState,
    *,
    eps: Any = 1e-5,
    momentum: Any = 0.9,
    center_only: bool = False,
) -> tuple[jax.Array, BatchNormState]:
    """Training-mode :func:`forward` plus the updated running statistics.

    ``y`` is :func:`forward` (batch statistics, biased variance). The new state is::

        mean' = momentum * mean + (1 - momentum) * mu
        var'  = momentum * var  + (1 - momentum) * var_batch * n / (n - 1)

    i.e. the running variance uses the UNBIASED batch variance, as PyTorch's ``BatchNorm1d``
    does (Flax keeps the biased one); the normalisation itself always uses the biased variance.
    ``momentum`` is the weight of the old value (the Keras/Flax convention; PyTorch's
    ``momentum=0.1`` is ``1 - momentum`` here). With ``center_only`` the variance is neither
    used nor defined for ``n = 1``: ``var`` is carried over unchanged. ``state`` is not
    modified; a new :class:`BatchNormState` is returned.

    Args:
      x, gamma, beta, eps, center_only: as in :func:`forward`.
      state: the running :class:`BatchNormState` (see :func:`init_state`).
      momentum: in ``[0, 1)``.

    Returns:
      ``(y, new_state)``.

    See the [Q2 derivation][q2-derivation] ("inference uses running mean/variance").
    """
    x, gamma, a, center_only = _inputs(x, gamma, beta=beta, eps=eps, center_only=center_only)
    state = _state(state, x.shape[1])
    checks.common_dtype(x=x, **{"state.mean": state.mean, "state.var": state.var})
    checks.scalar("momentum", momentum, low=0, high=1, high_open=True)
    nz = _normalize(x, eps, center_only)
    y = _affine(nz.xhat, gamma, a["beta"])
    new_mean = momentum * state.mean + (1 - momentum) * nz.mu[0]
    if center_only:
        new_var = state.var
    else:
        n = x.shape[0]
        new_var = momentum * state.var + (1 - momentum) * (nz.var[0] * (n / (n - 1)))
    dtype = state.mean.dtype
    return y, BatchNormState(new_mean.astype(dtype), new_var.astype(dtype))


def forward_eval(
    x: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    beta: jax.typing.ArrayLike,
    state: BatchNormState,
    *,
    eps: Any = 1e-5,
    center_only: bool = False,
) -> jax.Array:
    """Inference-mode batch norm with the running statistics of ``state``.

    ``y = gamma (x - state.mean) / sqrt(state.var + eps) + beta`` (``center_only``:
    ``y = gamma (x - state.mean) + beta``). Rows are independent, so any ``n >= 1`` works.

    Args:
      x: activations, shape ``(n, features)``, ``n >= 1``.
      gamma, beta, eps, center_only: as in :func:`forward`.
      state: the running :class:`BatchNormState`.

    Returns:
      ``y``, shape ``(n, features)``.

    See the [Q2 derivation][q2-derivation].
    """
    x, gamma, a, center_only = _inputs(
        x, gamma, beta=beta, eps=eps, center_only=center_only, batch_stats=False
    )
    state = _state(state, x.shape[1])
    checks.common_dtype(x=x, **{"state.mean": state.mean, "state.var": state.var})
    xhat = x - state.mean[None, :]
    if not center_only:
        xhat = xhat / jnp.sqrt(state.var[None, :] + eps)
    return _affine(xhat, gamma, a["beta"])


# ----------------------------------------------------------------------------------------------
# The seed's n -> inf claim, shown numerically.


class LimitDemo(NamedTuple):
    """Output of :func:`seed_limit_demo`; one entry per batch size.

    Attributes:
      n: the batch sizes, int32.
      jacobian_gap: ``max_ij |J - I|`` of the mean-only Jacobian; equals ``1/n`` (tends to 0).
      gradient_gap: ``max_i |dL/dx_i - gamma g_i|``; equals ``|gamma mean(g)|`` for every n.
      gamma_mean_g: ``|gamma mean(g)|``, the term the seed's limit drops.
    """

    n: jax.Array
    jacobian_gap: jax.Array
    gradient_gap: jax.Array
    gamma_mean_g: jax.Array


def seed_limit_demo(
    ns: Sequence[int],
    key: jax.Array,
    *,
    g_mean: float = 1.0,
    gamma: float = 1.5,
    dtype: Any = None,
) -> LimitDemo:
    """What the seed says about n -> inf in mean-only BN, and what is true, for each n in ``ns``.

    The seed concludes ``dL/dx_i -> gamma g_i`` because ``d xhat_i / d x_j -> delta_ij``. The
    Jacobian does tend to the identity entrywise (``max |J - I| = 1/n``, from
    :func:`jacobian_xhat`), but the gradient from :func:`backward` is
    ``gamma g_i - gamma mean(g)`` for every n, so ``dL/dx - gamma g`` stays at
    ``-gamma mean(g)``: it vanishes only when ``mean(g) -> 0``. (The n terms ``-1/n`` of each
    Jacobian row add up to a finite ``-mean(g)`` however large n is.) Each n draws one feature
    ``x ~ N(0, 1)`` and upstream gradients ``g ~ N(g_mean, 1)``; with ``g_mean != 0`` the gap
    tends to ``|gamma g_mean|``, not 0. Meant for tests and notebooks: one compilation per n,
    and the ``(n, n)`` Jacobian is formed explicitly (keep n to a few thousand).

    Args:
      ns: batch sizes, ints ``>= 1``.
      key: a JAX PRNG key.
      g_mean: mean of the sampled upstream gradients.
      gamma: the BN scale.
      dtype: float dtype (default: JAX's default float).

    Returns:
      A :class:`LimitDemo` of arrays of length ``len(ns)``.

    See the [Q2 derivation][q2-derivation] (its n -> inf conclusion holds for the Jacobian, not
    the gradient).
    """
    ns = [checks.positive_int("ns", n) for n in ns]
    checks.scalar("g_mean", g_mean)
    checks.scalar("gamma", gamma)
    dtype = checks.float_dtype("dtype", dtype)
    gam = jnp.full((1,), gamma, dtype)
    g_mean = jnp.asarray(g_mean, dtype)
    rows = [seed_limit_traced(jax.random.fold_in(key, n), g_mean, gam, n=n) for n in ns]
    return LimitDemo(jnp.asarray(ns, jnp.int32), *(jnp.stack(c) for c in zip(*rows, strict=True)))


@functools.partial(jax.jit, static_argnames=("n",))
def seed_limit_traced(key, g_mean, gam, *, n):
    """One row of :func:`seed_limit_demo` (jitted: one compilation per n)."""
    v = jax.random.normal(key, (2, n, 1), gam.dtype)
    x, g = v[0], g_mean + v[1]
    J = jacobian_xhat(n, dtype=gam.dtype)  # (n, n): O(n^2) memory, fine for a demo
    dx = backward(g, x, gam, center_only=True)[0]
    jac_gap = jnp.max(jnp.abs(J - jnp.eye(n, dtype=gam.dtype)))
    grad_gap = jnp.max(jnp.abs(dx - gam[None, :] * g))
    return jac_gap, grad_gap, jnp.abs(gam[0] * jnp.mean(g))
