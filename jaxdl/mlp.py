"""Seed Q3(c): backprop through a two-layer net with leaky ReLU, dropout and softmax.

For one example ``x`` (shape ``(d,)``), a one-hot target ``y`` (``(K,)``) and a dropout mask
``m in {0, 1}^h``::

    z1 = W1 x + b1                ahat1 = LeakyReLU(z1) = z1 if z1 > 0 else slope * z1
    a1 = m' * ahat1               m' = m (the seed: keep with p = keep, no rescale)
                                  m' = m / keep (inverted dropout, the library convention)
    z2 = W2 a1 + b2               p = softmax(z2),   L = -sum_k y_k log p_k

Closed-form gradients, the seed's five-factor chain rule in matrix form::

    delta2 = p - y                          dL/dW2 = delta2 a1^T,   dL/db2 = delta2
    delta1 = (W2^T delta2) * m' * LeakyReLU'(z1)
                                            dL/dW1 = delta1 x^T,    dL/db1 = delta1

with ``LeakyReLU'(z) = 1`` for ``z > 0`` and ``slope`` for ``z <= 0`` (at ``z = 0`` the seed's
"slope for z1 <= 0"; :func:`leaky_relu` is written as ``where(z > 0, z, slope * z)`` so that
``jax.grad`` picks the same value there). For a batch ``x`` of shape ``(B, d)`` (mask and
targets ``(B, h)`` and ``(B, K)``) the loss is the SUM over examples (as
:func:`jaxdl.logistic.loss`) and the gradients are the sums of the per-example ones. Softmax and
cross-entropy come from :mod:`jaxdl.softmax`.

See the [Q3 derivation][q3-derivation].
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import _linalg, checks, softmax

__all__ = [
    "Params",
    "Activations",
    "init_params",
    "leaky_relu",
    "leaky_relu_grad",
    "sample_mask",
    "activations",
    "forward",
    "loss",
    "grads",
]


class Params(NamedTuple):
    """Parameters of the two-layer net (a pytree; gradients have the same structure).

    Attributes:
      W1: first-layer weights, shape ``(h, d)``.
      b1: first-layer bias, shape ``(h,)``.
      W2: output weights, shape ``(K, h)``.
      b2: output bias, shape ``(K,)``.
    """

    W1: jax.Array
    b1: jax.Array
    W2: jax.Array
    b2: jax.Array


class Activations(NamedTuple):
    """Intermediate values of the forward pass (shapes ``(h,)``/``(K,)`` or batched ``(B, .)``).

    Attributes:
      z1: first-layer pre-activation ``W1 x + b1``.
      ahat1: ``LeakyReLU(z1)``.
      a1: after dropout, ``m' * ahat1``.
      z2: logits ``W2 a1 + b2``.
    """

    z1: jax.Array
    ahat1: jax.Array
    a1: jax.Array
    z2: jax.Array


# ----------------------------------------------------------------------------------------------
# Building blocks.


def leaky_relu(z: jax.typing.ArrayLike, *, slope: Any = 0.01) -> jax.Array:
    """``LeakyReLU(z) = z`` for ``z > 0``, ``slope * z`` otherwise (elementwise).

    Written as ``where(z > 0, z, slope * z)``, so ``jax.grad`` at ``z = 0`` gives ``slope``,
    matching :func:`leaky_relu_grad`.

    See the [Q3 derivation][q3-derivation].
    """
    z = checks.float_array("z", z, allow_inf=True, allow_nan=True)
    checks.scalar("slope", slope)
    return _leaky_relu(z, slope)


def _leaky_relu(z: jax.Array, slope: Any) -> jax.Array:
    return jnp.where(z > 0, z, slope * z)


def leaky_relu_grad(z: jax.typing.ArrayLike, *, slope: Any = 0.01) -> jax.Array:
    """``LeakyReLU'(z) = 1`` for ``z > 0``, ``slope`` for ``z <= 0`` (elementwise).

    See the [Q3 derivation][q3-derivation] ("slope for z1 <= 0").
    """
    z = checks.float_array("z", z, allow_inf=True, allow_nan=True)
    checks.scalar("slope", slope)
    return _leaky_relu_grad(z, slope)


def _leaky_relu_grad(z: jax.Array, slope: Any) -> jax.Array:
    return jnp.where(z > 0, jnp.ones_like(z), jnp.full_like(z, slope))


def init_params(
    key: jax.Array, d: int, h: int, k: int, *, dtype: Any = jnp.float32
) -> Params:
    """Random initial parameters: He-normal first layer, Glorot-normal output layer.

    ``W1 ~ N(0, 2/d)`` (He et al. 2015, for a (leaky) ReLU layer: keeps the activations'
    second moment roughly constant), ``W2 ~ N(0, 2/(h + K))`` (Glorot & Bengio 2010, for the
    linear softmax layer); both biases start at 0.

    Args:
      key: a JAX PRNG key.
      d: input dimension, ``>= 1``.
      h: hidden units, ``>= 1``.
      k: classes, ``>= 2``.
      dtype: float dtype of the parameters.

    Returns:
      :class:`Params`.

    Example:
      >>> import jax
      >>> from jaxdl import mlp
      >>> params = mlp.init_params(jax.random.key(0), 64, 32, 10)
      >>> params.W1.shape, params.W2.shape
      ((32, 64), (10, 32))

    See the [Q3 derivation][q3-derivation] (the seed does not specify an initialisation).
    """
    d = checks.positive_int("d", d)
    h = checks.positive_int("h", h)
    k = checks.positive_int("k", k, minimum=2)
    dtype = checks.float_dtype("dtype", dtype)
    k1, k2 = jax.random.split(key)
    W1 = jnp.sqrt(2.0 / d).astype(dtype) * jax.random.normal(k1, (h, d), dtype)
    W2 = jnp.sqrt(2.0 / (h + k)).astype(dtype) * jax.random.normal(k2, (k, h), dtype)
    return Params(W1, jnp.zeros((h,), dtype), W2, jnp.zeros((k,), dtype))


def sample_mask(
    key: jax.Array, shape: tuple[int, ...], *, keep: Any = 0.8, dtype: Any = jnp.float32
) -> jax.Array:
    """A dropout mask of 0/1 entries, each 1 with probability ``keep`` (Bernoulli(keep)).

    Args:
      key: a JAX PRNG key.
      shape: the mask's shape, ``(h,)`` for one example or ``(B, h)`` for a batch.
      keep: keep probability in ``(0, 1]`` (the seed's 0.8).
      dtype: float dtype of the mask.

    Returns:
      The mask, ``shape``, values exactly 0 or 1.

    See the [Q3 derivation][q3-derivation].
    """
    checks.scalar("keep", keep, low=0, low_open=True, high=1)
    dtype = checks.float_dtype("dtype", dtype)
    shape = checks.shape_tuple("shape", shape)
    return jax.random.bernoulli(key, keep, shape).astype(dtype)


# ----------------------------------------------------------------------------------------------
# Validation.


def _params(params: Any) -> Params:
    if not all(hasattr(params, f) for f in Params._fields):
        raise TypeError(
            f"params: expected a Params(W1, b1, W2, b2) (see init_params), got "
            f"{type(params).__name__}"
        )
    W1 = checks.float_array("params.W1", params.W1, shape=("h", "d"), min_size=1)
    h, _ = W1.shape
    b1 = checks.float_array("params.b1", params.b1, ndim=1)
    if b1.shape != (h,):
        raise ValueError(
            f"params.b1: expected shape ({h},) (one bias per row of W1), got shape "
            f"{tuple(b1.shape)}"
        )
    W2 = checks.float_array("params.W2", params.W2, shape=("K", h))
    k = W2.shape[0]
    if k < 2:
        raise ValueError(f"params.W2: expected at least 2 rows (K >= 2 classes), got {k}")
    b2 = checks.float_array("params.b2", params.b2, ndim=1)
    if b2.shape != (k,):
        raise ValueError(
            f"params.b2: expected shape ({k},) (one bias per row of W2), got shape "
            f"{tuple(b2.shape)}"
        )
    return Params(W1, b1, W2, b2)


def _inputs(params, x, mask, *, slope, keep, inverted):
    """Validate everything except the targets; return arrays of one dtype and ``batched``."""
    params = _params(params)
    h, d = params.W1.shape
    x = checks.float_array("x", x, ndim=(1, 2))
    if x.shape[-1] != d:
        raise ValueError(
            f"x: expected shape ({d},) or (B, {d}) (d = W1.shape[1] features), got shape "
            f"{tuple(x.shape)}"
        )
    batched = x.ndim == 2
    named = {"x": x, "params.W1": params.W1, "params.b1": params.b1, "params.W2": params.W2,
             "params.b2": params.b2}
    want = (x.shape[0], h) if batched else (h,)
    if mask is not None:
        mask = checks.float_array("mask", mask, shape=want)
        if checks.is_concrete(mask):
            host = np.asarray(mask)  # checked on the host: no per-shape compilation
            bad = (host != 0) & (host != 1)
            if bad.any():
                raise ValueError(
                    f"mask: expected values in {{0, 1}} (a dropout mask; pass the 0/1 mask, "
                    f"the 1/keep scaling comes from inverted=True), got {int(bad.sum())} "
                    f"other value(s), e.g. {float(host[bad][0])!r}"
                )
        named["mask"] = mask
    dtype = checks.common_dtype(**named)
    checks.scalar("slope", slope)
    checks.scalar("keep", keep, low=0, low_open=True, high=1)
    if not isinstance(inverted, (bool, np.bool_)):
        raise TypeError(f"inverted: expected a Python bool, got {type(inverted).__name__}")
    inverted = bool(inverted)
    params = Params(*(p.astype(dtype) for p in params))
    x = x.astype(dtype)
    # m', the factor dropout multiplies ahat1 by. Without a mask (evaluation) it is E[m']:
    # 1 for inverted dropout, keep for the seed's non-rescaled dropout.
    if mask is None:
        mult = jnp.asarray(1.0 if inverted else keep, dtype)
    else:
        mult = mask.astype(dtype) / keep if inverted else mask.astype(dtype)
    return params, x, mult, batched


def _forward(params: Params, x: jax.Array, mult: jax.Array, slope: Any) -> Activations:
    """The forward pass on validated, batched inputs (x of shape (B, d))."""
    z1 = _linalg.matmul(x, params.W1.T) + params.b1[None, :]
    ahat1 = _leaky_relu(z1, slope)
    a1 = mult * ahat1
    z2 = _linalg.matmul(a1, params.W2.T) + params.b2[None, :]
    return Activations(z1, ahat1, a1, z2)


def _batch(x: jax.Array, mult: jax.Array, batched: bool) -> tuple[jax.Array, jax.Array]:
    if batched:
        return x, mult
    return x[None, :], (mult[None, :] if mult.ndim else mult)


# ----------------------------------------------------------------------------------------------
# Public API.


def activations(
    params: Params,
    x: jax.typing.ArrayLike,
    mask: jax.typing.ArrayLike | None,
    *,
    slope: Any = 0.01,
    keep: Any = 0.8,
    inverted: bool = False,
) -> Activations:
    """All intermediates ``(z1, ahat1, a1, z2)`` of the forward pass (see :func:`forward`)."""
    params, x, mult, batched = _inputs(params, x, mask, slope=slope, keep=keep,
                                       inverted=inverted)
    xb, mb = _batch(x, mult, batched)
    acts = _forward(params, xb, mb, slope)
    return acts if batched else Activations(*(a[0] for a in acts))


def forward(
    params: Params,
    x: jax.typing.ArrayLike,
    mask: jax.typing.ArrayLike | None,
    *,
    slope: Any = 0.01,
    keep: Any = 0.8,
    inverted: bool = False,
) -> jax.Array:
    """Logits ``z2 = W2 (m' * LeakyReLU(W1 x + b1)) + b2`` of the two-layer net.

    ``m' = m`` (the seed's dropout, no rescaling) or ``m / keep`` (``inverted=True``).
    ``mask=None`` means no dropout (evaluation): ``m'`` is replaced by its expectation,
    ``1`` for inverted dropout and ``keep`` for the seed's (the classical test-time scaling).
    Probabilities are ``jaxdl.softmax.softmax(z2)``.

    Args:
      params: :class:`Params` with ``W1 (h, d)``, ``b1 (h,)``, ``W2 (K, h)``, ``b2 (K,)``.
      x: one example ``(d,)`` or a batch ``(B, d)``.
      mask: dropout mask of 0/1 entries, ``(h,)`` for one example or ``(B, h)`` for a batch,
        or ``None``.
      slope: leaky-ReLU slope for ``z <= 0``.
      keep: keep probability in ``(0, 1]``.
      inverted: divide the mask by ``keep`` (inverted dropout).

    Returns:
      Logits of shape ``(K,)`` or ``(B, K)``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxdl import mlp
      >>> params = mlp.init_params(jax.random.key(0), 4, 8, 3)
      >>> mask = mlp.sample_mask(jax.random.key(1), (8,))
      >>> mlp.forward(params, jnp.ones(4), mask).shape
      (3,)

    See the [Q3 derivation][q3-derivation].
    """
    return activations(params, x, mask, slope=slope, keep=keep, inverted=inverted).z2


def loss(
    params: Params,
    x: jax.typing.ArrayLike,
    y: jax.typing.ArrayLike,
    mask: jax.typing.ArrayLike | None,
    *,
    slope: Any = 0.01,
    keep: Any = 0.8,
    inverted: bool = False,
) -> jax.Array:
    """Cross-entropy ``L = -sum_k y_k log softmax(z2)_k``, summed over the examples of a batch.

    Args:
      params, x, mask, slope, keep, inverted: as in :func:`forward`.
      y: one-hot targets ``(K,)`` or ``(B, K)`` (any probability vector is accepted, as in
        :func:`jaxdl.softmax.cross_entropy`; the seed's is one-hot).

    Returns:
      The scalar loss (the sum over the batch, not the mean).

    See the [Q3 derivation][q3-derivation].
    """
    z2 = forward(params, x, mask, slope=slope, keep=keep, inverted=inverted)
    return jnp.sum(softmax.cross_entropy(z2, y))


def grads(
    params: Params,
    x: jax.typing.ArrayLike,
    y: jax.typing.ArrayLike,
    mask: jax.typing.ArrayLike | None,
    *,
    slope: Any = 0.01,
    keep: Any = 0.8,
    inverted: bool = False,
) -> Params:
    """Closed-form gradient of :func:`loss` with respect to every parameter.

    ``delta2 = p - y``, ``dW2 = delta2 a1^T``, ``db2 = delta2``,
    ``delta1 = (W2^T delta2) * m' * LeakyReLU'(z1)``, ``dW1 = delta1 x^T``, ``db1 = delta1``;
    for a batch each is summed over the examples (one matrix product, no loop).

    Args:
      params, x, y, mask, slope, keep, inverted: as in :func:`loss`.

    Returns:
      :class:`Params` of gradients ``(dW1, db1, dW2, db2)``.

    See the [Q3 derivation][q3-derivation] (its five-factor product for dL/dW1, in matrix form).
    """
    params, x, mult, batched = _inputs(params, x, mask, slope=slope, keep=keep,
                                       inverted=inverted)
    xb, mb = _batch(x, mult, batched)
    acts = _forward(params, xb, mb, slope)
    # delta2 = p - y, shape (B, K); jaxdl.softmax validates y against the logits' shape.
    delta2 = softmax.ce_grad(acts.z2, y) if batched else softmax.ce_grad(acts.z2[0], y)[None, :]
    delta1 = _linalg.matmul(delta2, params.W2) * mb * _leaky_relu_grad(acts.z1, slope)  # (B, h)
    return Params(
        W1=_linalg.matmul(delta1.T, xb),
        b1=jnp.sum(delta1, axis=0),
        W2=_linalg.matmul(delta2.T, acts.a1),
        b2=jnp.sum(delta2, axis=0),
    )
