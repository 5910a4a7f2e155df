"""Seed Q1 identities: logistic-regression gradient and joint Hessian, and its PSD property."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl import logistic
from jaxdl.verify.core import EXACT_RTOL, Identity, psd_identity, register

N, D = 48, 5


def sample(key, dtype):
    """Non-separable logistic data with moderate logits: (w, b, X, y)."""
    kx, kw, kb, ky = jax.random.split(key, 4)
    X = jax.random.normal(kx, (N, D), dtype)
    w = jax.random.normal(kw, (D,), dtype) / jnp.sqrt(D)
    b = jax.random.normal(kb, (), dtype)
    y = jax.random.bernoulli(ky, jax.nn.sigmoid(X @ w + b)).astype(dtype)
    return w, b, X, y


def _terms_w(w, b, X, y):
    """Size of the terms summed into dE/dw: max_j sum_n |(p_n - y_n) x_nj|. The gradient is a
    sum that can cancel, so its rounding error scales with its terms, not with its value."""
    r = jax.nn.sigmoid(X @ w + b) - y
    return jnp.max(jnp.sum(jnp.abs(r[:, None] * X), axis=0))


def _terms_b(w, b, X, y):
    """Size of the terms summed into dE/db: sum_n |p_n - y_n|."""
    return jnp.sum(jnp.abs(jax.nn.sigmoid(X @ w + b) - y))


def plain_loss(w, b, X, y):
    """E = sum_n log(1 + e^{z_n}) - y_n z_n, z = X w + b, written without jaxdl's custom-JVP
    softplus: the autodiff reference must not reuse the sigmoid of the closed form."""
    z = X @ w + b
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z)


def _theta_loss(theta, X, y):
    return plain_loss(theta[:-1], theta[-1], X, y)


register(Identity(
    name="logistic.grad_w",
    seed="Q1",
    statement="dE/dw = sum_n (p_n - y_n) x_n",
    closed_form=lambda w, b, X, y: logistic.grad(w, b, X, y)[0],
    reference=lambda w, b, X, y: jax.grad(plain_loss, argnums=0)(w, b, X, y),
    sample=sample,
    rtol=EXACT_RTOL,
    scale=_terms_w,
))

register(Identity(
    name="logistic.grad_b",
    seed="Q1",
    statement="dE/db = sum_n (p_n - y_n)",
    closed_form=lambda w, b, X, y: logistic.grad(w, b, X, y)[1],
    reference=lambda w, b, X, y: jax.grad(plain_loss, argnums=1)(w, b, X, y),
    sample=sample,
    rtol=EXACT_RTOL,
    scale=_terms_b,
))

register(Identity(
    name="logistic.hessian",
    seed="Q1",
    statement="d2E/dtheta2 = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T, theta = [w; b]",
    closed_form=lambda w, b, X, y: logistic.hessian(w, b, X),
    reference=lambda w, b, X, y: jax.hessian(_theta_loss)(jnp.append(w, b), X, y),
    sample=sample,
    rtol=EXACT_RTOL,
))

register(psd_identity(
    name="logistic.hessian_psd",
    seed="Q1",
    statement="the joint Hessian over [w; b] is PSD (E is convex)",
    matrix=lambda w, b, X, y: logistic.hessian(w, b, X),
    sample=sample,
    size=D + 1,
))
