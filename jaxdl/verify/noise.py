"""Seed Q5 identities: weight noise, its gradient, and its expected loss and gradient.

The expectations over ``beta ~ N(1, sigma^2 I)`` are checked exactly by Gauss-Hermite quadrature
(:func:`jaxdl.noise.gauss_hermite_expectation`; ``J1`` and ``dJ1/dw`` are polynomials of degree 2
and 3 in ``beta``, integrated exactly), and statistically by Monte Carlo. The Monte-Carlo
identities are statistical: their error is the largest ``|mean - exact| / stderr`` over the
components (a z-score, in standard errors), and their tolerance is 5 standard errors in both
dtypes; the draws come from the sampler's key, so each run is deterministic.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl import noise
from jaxdl.verify.core import EXACT_RTOL, STATISTICAL_TOL, Identity, register

D = 5
NUM_SAMPLES = 4096


def sample(key, dtype):
    """Weights, input, target and noise level: (w, x, y_d, sigma), sigma in [0.1, 1]."""
    kw, kx, ky, ks = jax.random.split(key, 4)
    w = jax.random.normal(kw, (D,), dtype)
    x = jax.random.normal(kx, (D,), dtype)
    y_d = jax.random.normal(ky, (), dtype)
    sigma = jax.random.uniform(ks, (), dtype, 0.1, 1.0)
    return w, x, y_d, sigma


def sample_beta(key, dtype):
    """(w, x, y_d, beta) with one noise draw beta ~ N(1, sigma^2)."""
    kb, k = jax.random.split(key)
    w, x, y_d, sigma = sample(k, dtype)
    return w, x, y_d, noise.sample_beta(kb, (D,), sigma=sigma, dtype=dtype)


def sample_mc(key, dtype):
    """(mc_key, w, x, y_d, sigma): the Monte-Carlo key is derived from the sampler's key."""
    kmc, k = jax.random.split(key)
    return (kmc, *sample(k, dtype))


def _gh(fn, sigma, dtype):
    return noise.gauss_hermite_expectation(fn, D, sigma=sigma, num_nodes=3, dtype=dtype)


register(Identity(
    name="noise.grad",
    seed="Q5",
    statement="dJ1/dw_i = -beta_i x_i (y_d - sum_k beta_k w_k x_k)",
    closed_form=noise.grad,
    reference=jax.grad(noise.loss),
    sample=sample_beta,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="noise.expected_grad",
    seed="Q5",
    statement="E_beta[dJ1/dw_i] = -x_i (y_d - w^T x) + sigma^2 w_i x_i^2 (reference: the "
    "exact expectation of jax.grad(J1) by 3-node Gauss-Hermite quadrature per beta_k)",
    closed_form=lambda w, x, y_d, s: noise.expected_grad(w, x, y_d, sigma=s),
    reference=lambda w, x, y_d, s: _gh(
        lambda b: jax.grad(noise.loss)(w, x, y_d, b), s, w.dtype),
    sample=sample,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="noise.expected_grad_is_penalised_grad",
    seed="Q5",
    statement="E[dJ1/dw] = d/dw [F1 + 1/2 sigma^2 sum w_i^2 x_i^2]: the noise adds the "
    "L2 penalty's gradient sigma^2 w_i x_i^2",
    closed_form=lambda w, x, y_d, s: noise.expected_grad(w, x, y_d, sigma=s),
    reference=lambda w, x, y_d, s: jax.grad(noise.clean_loss)(w, x, y_d)
    + jax.grad(lambda v: noise.penalty(v, x, sigma=s))(w),
    sample=sample,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="noise.expected_loss",
    seed="Q5",
    statement="E_beta[J1] = F1 + 1/2 sigma^2 sum w_i^2 x_i^2 exactly, from E[(a - beta^T c)^2] "
    "= (a - sum c)^2 + sigma^2 sum c^2, c = w x (reference: 3-node Gauss-Hermite per beta_k)",
    closed_form=lambda w, x, y_d, s: noise.expected_loss(w, x, y_d, sigma=s),
    reference=lambda w, x, y_d, s: _gh(lambda b: noise.loss(w, x, y_d, b), s, w.dtype),
    sample=sample,
    rtol=EXACT_RTOL,
))


def _z_mc_grad(k, w, x, y_d, s):
    mean, se = noise.mc_grad(k, w, x, y_d, sigma=s, num_samples=NUM_SAMPLES)
    return mean / se, noise.expected_grad(w, x, y_d, sigma=s) / se


def _z_mc_loss(k, w, x, y_d, s):
    mean, se = noise.mc_loss(k, w, x, y_d, sigma=s, num_samples=NUM_SAMPLES)
    return mean / se, noise.expected_loss(w, x, y_d, sigma=s) / se


register(Identity(
    name="noise.mc_grad",
    seed="Q5",
    statement=f"mean of jax.grad(J1) over S={NUM_SAMPLES} draws of beta = E[dJ1/dw] within 5 "
    "standard errors per component (error = max |z|, in standard errors)",
    closed_form=lambda *a: _z_mc_grad(*a)[0],
    reference=lambda *a: _z_mc_grad(*a)[1],
    sample=sample_mc,
    rtol=STATISTICAL_TOL,
    scale=lambda *a: jnp.ones(()),
    kind="statistical",
))

register(Identity(
    name="noise.mc_loss",
    seed="Q5",
    statement=f"mean of J1 over S={NUM_SAMPLES} draws of beta = F1 + penalty within 5 "
    "standard errors (error = |z|, in standard errors)",
    closed_form=lambda *a: _z_mc_loss(*a)[0],
    reference=lambda *a: _z_mc_loss(*a)[1],
    sample=sample_mc,
    rtol=STATISTICAL_TOL,
    scale=lambda *a: jnp.ones(()),
    kind="statistical",
))
