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


# The production layouts, against autodiff: n = 9000 rows make X^T r a batch of 1000-row block
# products (_linalg.rmatvec) and the Hessian three 3000-row Gram blocks (_gram.weighted_gram);
# the Newton direction of a float64 fit takes the mixed-precision path (float32 Gram, float64
# corrections), the one fit_newton uses at scale.
N_BLOCKED, D_BLOCKED = 9000, 6


def sample_blocked(key, dtype):
    """(w, b, X, y, sw, l2, g) at n = 9000: data as in :func:`sample`, row weights in
    [0.5, 1.5], a penalty in [0.1, 1] and a small right-hand side g for the Newton solve (small
    enough that the inexact-Newton forcing term is at its floor, 4 eps: the solve is then
    refined to full precision)."""
    kx, kw, kb, ky, ks, kl, kg = jax.random.split(key, 7)
    X = jax.random.normal(kx, (N_BLOCKED, D_BLOCKED), dtype)
    w = jax.random.normal(kw, (D_BLOCKED,), dtype) / jnp.sqrt(D_BLOCKED)
    b = jax.random.normal(kb, (), dtype)
    y = jax.random.bernoulli(ky, jax.nn.sigmoid(X @ w + b)).astype(dtype)
    sw = jax.random.uniform(ks, (N_BLOCKED,), dtype, 0.5, 1.5)
    l2 = jax.random.uniform(kl, (), dtype, 0.1, 1.0)
    g = 1e-13 * jax.random.normal(kg, (D_BLOCKED + 1,), dtype)
    return w, b, X, y, sw, l2, g


def _penalised(theta, X, y, sw, l2):
    """sum_n sw_n E_n + l2/2 ||w||^2 without any custom derivative (the autodiff reference)."""
    z = X @ theta[:-1] + theta[-1]
    return jnp.sum(sw * (jnp.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * jnp.vdot(theta[:-1],
                                                                             theta[:-1])


def _mixed_direction(w, b, X, y, sw, l2, g):
    from jaxdl import _newton_step

    z = X @ w + b
    # float64: the mixed-precision step of fit_newton at scale; float32 (which has no mixed
    # step) the working-precision Cholesky solve.
    delta, _, _, _ = _newton_step.logistic_direction(X, z, g, l2, sw,
                                                     mixed=X.dtype == jnp.float64)
    return delta


register(Identity(
    name="logistic.grad_w[blocked]",
    seed="Q1",
    statement="dE/dw = sum_n (p_n - y_n) x_n through the blocked X^T r (n = 9000)",
    closed_form=lambda w, b, X, y, *_: logistic.grad(w, b, X, y)[0],
    reference=lambda w, b, X, y, *_: jax.grad(plain_loss, argnums=0)(w, b, X, y),
    sample=sample_blocked,
    rtol=EXACT_RTOL,
    scale=lambda w, b, X, y, *_: _terms_w(w, b, X, y),
))

register(Identity(
    name="logistic.hessian[blocked]",
    seed="Q1",
    statement="d2E/dtheta2 = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T through three Gram blocks "
    "(n = 9000)",
    closed_form=lambda w, b, X, y, *_: logistic.hessian(w, b, X),
    reference=lambda w, b, X, y, *_: jax.hessian(_theta_loss)(jnp.append(w, b), X, y),
    sample=sample_blocked,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="logistic.newton_direction[mixed]",
    seed="Q1/Q6",
    statement="the mixed-precision Newton direction (float32 Gram, float64 corrections) "
    "solves H delta = g, H = d2/dtheta2 [sum sw E + l2/2 ||w||^2] by autodiff (n = 9000)",
    closed_form=_mixed_direction,
    reference=lambda w, b, X, y, sw, l2, g: jnp.linalg.solve(
        jax.hessian(_penalised)(jnp.append(w, b), X, y, sw, l2), g),
    sample=sample_blocked,
    rtol=EXACT_RTOL,
))


# With an offset o_n (a known term added to the logits): the closed forms take the logits
# z = X w + b + o, and nothing else changes.


def sample_offset(key, dtype):
    """(w, b, X, y, o): data as in :func:`sample`, drawn with a standard normal offset."""
    kx, kw, kb, ky, ko = jax.random.split(key, 5)
    X = jax.random.normal(kx, (N, D), dtype)
    w = jax.random.normal(kw, (D,), dtype) / jnp.sqrt(D)
    b = jax.random.normal(kb, (), dtype)
    o = jax.random.normal(ko, (N,), dtype)
    y = jax.random.bernoulli(ky, jax.nn.sigmoid(X @ w + b + o)).astype(dtype)
    return w, b, X, y, o


def plain_loss_offset(w, b, X, y, o):
    """E = sum_n log(1 + e^{z_n}) - y_n z_n at z = X w + b + o (no custom derivative)."""
    z = X @ w + b + o
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z)


def _terms_offset(w, b, X, y, o):
    """The size of the terms summed into the gradient: max_j sum_n |(p_n - y_n) a_nj|."""
    r = jnp.abs(jax.nn.sigmoid(X @ w + b + o) - y)
    return jnp.maximum(jnp.max(r @ jnp.abs(X)), jnp.sum(r))


register(Identity(
    name="logistic.grad[offset]",
    seed="Q1",
    statement="dE/d[w; b] = sum_n (p_n - y_n) [x_n; 1] with p_n = sigma(w^T x_n + b + o_n) "
    "(an offset o moves the logits only)",
    closed_form=lambda w, b, X, y, o: logistic.grad(w, b, X, y, offset=o),
    reference=lambda w, b, X, y, o: jax.grad(plain_loss_offset, argnums=(0, 1))(w, b, X, y, o),
    sample=sample_offset,
    rtol=EXACT_RTOL,
    scale=_terms_offset,
))

register(Identity(
    name="logistic.hessian[offset]",
    seed="Q1",
    statement="d2E/dtheta2 = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T with p_n = "
    "sigma(w^T x_n + b + o_n)",
    closed_form=lambda w, b, X, y, o: logistic.hessian(w, b, X, offset=o),
    reference=lambda w, b, X, y, o: jax.hessian(
        lambda t: plain_loss_offset(t[:-1], t[-1], X, y, o))(jnp.append(w, b)),
    sample=sample_offset,
    rtol=EXACT_RTOL,
))
