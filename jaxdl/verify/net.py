"""Seeds Q2 + Q3(c) identity: the batch-norm + dropout network's composed closed-form gradient."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl import mlp, net
from jaxdl.verify.core import EXACT_RTOL, Identity, register

B, D, H, K = 6, 4, 5, 3


def sample(key, dtype):
    """(params, x, y, mask): random weights and BN affine, a batch, one-hot labels, a mask."""
    kp, kg, kx, ky, km = jax.random.split(key, 5)
    params, _ = net.init(kp, D, H, K, dtype=dtype)
    gamma_beta = jax.random.normal(kg, (2, H), dtype)
    params = params._replace(gamma=1.0 + 0.5 * gamma_beta[0], beta=gamma_beta[1],
                             b1=jnp.zeros((H,), dtype) + 0.1, b2=jnp.zeros((K,), dtype) - 0.2)
    x = jax.random.normal(kx, (B, D), dtype)
    y = jax.nn.one_hot(jax.random.randint(ky, (B,), 0, K), K, dtype=dtype)
    mask = mlp.sample_mask(km, (B, H), keep=0.8, dtype=dtype)
    return params, x, y, mask


register(Identity(
    name="net.grads",
    seed="Q2/Q3c",
    statement="BN + leaky ReLU + dropout net: composed closed forms (p - y, Q3c mask and "
    "slope, Q2 batch-norm backward) == jax.grad of the training-mode loss",
    closed_form=net.grads,
    reference=jax.grad(net.loss),
    sample=sample,
    rtol=EXACT_RTOL,
))
