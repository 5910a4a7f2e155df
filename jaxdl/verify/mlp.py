"""Seed Q3(c) identities: closed-form backprop through the two-layer net against jax.grad."""

from __future__ import annotations

import functools
import itertools
import statistics

import jax
import jax.numpy as jnp

from jaxdl import mlp
from jaxdl.verify.core import EXACT_RTOL, Identity, register

D, H, K, B = 5, 8, 4, 6
KEEP = 0.8


# A standard normal exceeds this with probability KEEP: thresholding gives Bernoulli(KEEP).
_KEEP_THRESHOLD = statistics.NormalDist().inv_cdf(1 - KEEP)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _sample(key, dtype, batch):
    """Parameters at the scale of :func:`mlp.init_params` (He / Glorot) with nonzero biases.

    Everything comes from one normal draw (one PRNG kernel to compile): the mask thresholds
    normals at their (1 - KEEP) quantile, and the class is the argmax of K iid normals
    (uniform over the K classes by symmetry).
    """
    lead = (B,) if batch else ()
    m = B if batch else 1
    sizes = (H * D, H, K * H, K, m * D, m * H, m * K)
    v = jax.random.normal(key, (sum(sizes),), dtype)
    w1, b1, w2, b2, x, mv, yv = jnp.split(v, list(itertools.accumulate(sizes))[:-1])
    p = mlp.Params(
        W1=(2.0 / D) ** 0.5 * w1.reshape(H, D),
        b1=0.3 * b1,
        W2=(2.0 / (H + K)) ** 0.5 * w2.reshape(K, H),
        b2=0.3 * b2,
    )
    mask = (mv > _KEEP_THRESHOLD).astype(dtype).reshape(*lead, H)
    y = jax.nn.one_hot(jnp.argmax(yv.reshape(*lead, K), axis=-1), K, dtype=dtype)
    return p, x.reshape(*lead, D), y, mask


def sample_one(key, dtype):
    """One example: ``(params, x (D,), y one-hot (K,), mask (H,))``."""
    return _sample(key, dtype, batch=False)


def sample_batch(key, dtype):
    """A batch: ``(params, x (B, D), y one-hot (B, K), mask (B, H))``."""
    return _sample(key, dtype, batch=True)


def _pair(inverted):
    kw = dict(keep=KEEP, inverted=inverted)

    def closed(p, x, y, m):
        return mlp.grads(p, x, y, m, **kw)

    def ref(p, x, y, m):
        return jax.grad(lambda p: mlp.loss(p, x, y, m, **kw))(p)

    return closed, ref


_closed, _ref = _pair(False)
register(Identity(
    name="mlp.grads",
    seed="Q3c",
    statement="delta2 = p - y, dW2 = delta2 a1^T, delta1 = (W2^T delta2) m LeakyReLU'(z1), "
    "dW1 = delta1 x^T, db = delta (one example, seed's dropout)",
    closed_form=_closed,
    reference=_ref,
    sample=sample_one,
    rtol=EXACT_RTOL,
))

_closed, _ref = _pair(True)
register(Identity(
    name="mlp.grads_batch_inverted",
    seed="Q3c",
    statement="the same with m' = m / keep (inverted dropout), summed over a batch",
    closed_form=_closed,
    reference=_ref,
    sample=sample_batch,
    rtol=EXACT_RTOL,
))

del _closed, _ref
