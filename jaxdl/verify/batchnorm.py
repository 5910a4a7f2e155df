"""Seed Q2 identities: batch-norm backward passes (mean-only and full) and the centring Jacobian."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl import batchnorm
from jaxdl.verify.core import EXACT_RTOL, Identity, register

N, F = 12, 4
EPS = 1e-3  # large enough to matter in (var + eps) for the smallest sampled variances


def sample(key, dtype):
    """A batch with per-feature offsets and scales, gamma, and dL/dy with nonzero mean.

    Returns ``(g, x, gamma, beta)``.
    """
    v = jax.random.normal(key, (2 * N * F + 4 * F,), dtype)  # one draw, cut into pieces
    z, d, mu, log_sd, gamma, beta = jnp.split(v, [N * F, 2 * N * F, 2 * N * F + F,
                                                  2 * N * F + 2 * F, 2 * N * F + 3 * F])
    x = 3.0 * mu[None, :] + jnp.exp(log_sd)[None, :] * z.reshape(N, F)
    g = 0.5 + d.reshape(N, F)
    return g, x, gamma, beta


def sample_column(key, dtype):
    """One feature of a batch, as a vector: ``(x,)`` of shape ``(N,)``."""
    return (2.0 + jax.random.normal(key, (N,), dtype),)


def _vjp(center_only):
    def ref(g, x, gamma, beta):
        _, pullback = jax.vjp(
            lambda x, gamma, beta: batchnorm.forward(
                x, gamma, beta, eps=EPS, center_only=center_only
            ),
            x, gamma, beta,
        )
        return pullback(g)

    return ref


def _backward(center_only):
    def closed(g, x, gamma, beta):
        return batchnorm.backward(g, x, gamma, eps=EPS, center_only=center_only)

    return closed


def _xhat_column(x):
    """Mean-only ``xhat`` of one feature, through :func:`batchnorm.forward` (gamma 1, beta 0)."""
    one = jnp.ones((1,), x.dtype)
    return batchnorm.forward(x[:, None], one, 0 * one, center_only=True)[:, 0]


register(Identity(
    name="batchnorm.backward_center",
    seed="Q2",
    statement="mean-only BN: dx = gamma (g - mean g), dgamma = sum g xhat, dbeta = sum g",
    closed_form=_backward(True),
    reference=_vjp(True),
    sample=sample,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="batchnorm.backward",
    seed="Q2",
    statement="full BN: dx = gamma/sqrt(var+eps) (g - mean g - xhat mean(g xhat)), "
    "dgamma = sum g xhat, dbeta = sum g",
    closed_form=_backward(False),
    reference=_vjp(False),
    sample=sample,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="batchnorm.jacobian_xhat",
    seed="Q2",
    statement="mean-only BN: d xhat_i / d x_j = delta_ij - 1/n",
    closed_form=lambda x: batchnorm.jacobian_xhat(x.shape[0], dtype=x.dtype),
    reference=jax.jacfwd(_xhat_column),
    sample=sample_column,
    rtol=EXACT_RTOL,
))
