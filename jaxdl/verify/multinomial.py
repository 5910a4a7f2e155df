"""Seed Q7 identities of the K-class regression: the penalised gradient and Hessian over all K
rows of ``[W, b]``, and the symmetric optimum (the rows of ``W`` sum to zero when ``l2 > 0``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl import multinomial
from jaxdl.verify.core import EXACT_RTOL, Identity, register

N, D, K = 40, 3, 4


def sample(key, dtype):
    """Parameters, data drawn from them and a penalty: (W, b, X, y, l2)."""
    kw, kb, kx, ky, kl = jax.random.split(key, 5)
    W = jax.random.normal(kw, (K, D), dtype)
    b = jax.random.normal(kb, (K,), dtype)
    X = jax.random.normal(kx, (N, D), dtype)
    y = jax.random.categorical(ky, X @ W.T + b[None, :])
    l2 = jax.random.uniform(kl, (), dtype, 0.1, 2.0)
    return W, b, X, y, l2


def plain_loss(W, b, X, y, l2):
    """``sum_n logsumexp(z_n) - z_{n, y_n} + l2/2 ||W||^2``, written without jaxdl's softmax:
    the autodiff reference must not reuse the closed form's probabilities."""
    Z = X @ W.T + b[None, :]
    picked = jnp.take_along_axis(Z, y[:, None], axis=1)[:, 0]
    return jnp.sum(jax.nn.logsumexp(Z, axis=1) - picked) + 0.5 * l2 * jnp.sum(W**2)


def _theta_loss(theta, X, y, l2):
    rows = theta.reshape(K, D + 1)
    return plain_loss(rows[:, :-1], rows[:, -1], X, y, l2)


def _terms(W, b, X, y, l2):
    """Size of the terms summed into the gradient: max over entries of ``sum_n |p - y| |a_n|``
    plus the penalty's ``l2 |W|`` (the gradient is a sum that can cancel)."""
    P = jax.nn.softmax(X @ W.T + b[None, :], axis=1)
    R = jnp.abs(P - jax.nn.one_hot(y, K, dtype=X.dtype))
    A = jnp.abs(jnp.concatenate([X, jnp.ones((N, 1), X.dtype)], axis=1))
    return jnp.max(R.T @ A) + l2 * jnp.max(jnp.abs(W))


register(Identity(
    name="multinomial.grad",
    seed="Q7",
    statement="dF/d[W_k, b_k] = sum_n (p_nk - y_nk) [x_n; 1] + l2 [W_k; 0] for all K rows",
    closed_form=lambda W, b, X, y, l2: multinomial.grad(W, b, X, y, l2=l2),
    reference=lambda W, b, X, y, l2: jax.grad(plain_loss, argnums=(0, 1))(W, b, X, y, l2),
    sample=sample,
    rtol=EXACT_RTOL,
    scale=_terms,
))

register(Identity(
    name="multinomial.hessian",
    seed="Q7",
    statement="d2F/dtheta2 = sum_n (diag(p_n) - p_n p_n^T) (x) a_n a_n^T + l2 diag([1_d; 0] per "
    "class), theta = [W_1, b_1, ..., W_K, b_K]",
    closed_form=lambda W, b, X, y, l2: multinomial.hessian(W, b, X, l2=l2),
    reference=lambda W, b, X, y, l2: jax.hessian(_theta_loss)(
        jnp.concatenate([W, b[:, None]], axis=1).reshape(-1), X, y, l2),
    sample=sample,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="multinomial.rows_sum_to_zero",
    seed="Q7",
    statement="l2 > 0: summing dF/dW_k = 0 over k gives l2 sum_k W_k = 0 at the optimum "
    "(a Newton fit from a start whose rows do not sum to zero)",
    closed_form=lambda W, b, X, y, l2: jnp.sum(multinomial.fit_newton(
        X, y, num_classes=K, l2=l2, w0=W, b0=b).params[0], axis=0),
    reference=lambda W, b, X, y, l2: jnp.zeros((D,), X.dtype),
    sample=sample,
    rtol=EXACT_RTOL,
    scale=lambda W, b, X, y, l2: jnp.max(jnp.abs(W)),
))


# With an offset o_n (a known term per row and class added to the logits): the closed forms
# take the logits z_n = W x_n + b + o_n, and nothing else changes.


def sample_offset(key, dtype):
    """(W, b, X, y, l2, o): as :func:`sample`, with a standard normal offset ``o (N, K)``."""
    kw, kb, kx, ky, kl, ko = jax.random.split(key, 6)
    W = jax.random.normal(kw, (K, D), dtype)
    b = jax.random.normal(kb, (K,), dtype)
    X = jax.random.normal(kx, (N, D), dtype)
    o = jax.random.normal(ko, (N, K), dtype)
    y = jax.random.categorical(ky, X @ W.T + b[None, :] + o)
    l2 = jax.random.uniform(kl, (), dtype, 0.1, 2.0)
    return W, b, X, y, l2, o


def plain_loss_offset(W, b, X, y, l2, o):
    """:func:`plain_loss` at the logits ``X W^T + b + o``."""
    Z = X @ W.T + b[None, :] + o
    picked = jnp.take_along_axis(Z, y[:, None], axis=1)[:, 0]
    return jnp.sum(jax.nn.logsumexp(Z, axis=1) - picked) + 0.5 * l2 * jnp.sum(W**2)


def _terms_offset(W, b, X, y, l2, o):
    P = jax.nn.softmax(X @ W.T + b[None, :] + o, axis=1)
    R = jnp.abs(P - jax.nn.one_hot(y, K, dtype=X.dtype))
    A = jnp.abs(jnp.concatenate([X, jnp.ones((N, 1), X.dtype)], axis=1))
    return jnp.max(R.T @ A) + l2 * jnp.max(jnp.abs(W))


register(Identity(
    name="multinomial.grad[offset]",
    seed="Q7",
    statement="dF/d[W_k, b_k] = sum_n (p_nk - y_nk) [x_n; 1] + l2 [W_k; 0] with p_n = "
    "softmax(W x_n + b + o_n), an offset o_n per row and class",
    closed_form=lambda W, b, X, y, l2, o: multinomial.grad(W, b, X, y, l2=l2, offset=o),
    reference=lambda W, b, X, y, l2, o: jax.grad(plain_loss_offset, argnums=(0, 1))(
        W, b, X, y, l2, o),
    sample=sample_offset,
    rtol=EXACT_RTOL,
    scale=_terms_offset,
))

register(Identity(
    name="multinomial.hessian[offset]",
    seed="Q7",
    statement="d2F/dtheta2 = sum_n (diag(p_n) - p_n p_n^T) (x) a_n a_n^T + l2 diag([1_d; 0] per "
    "class) with p_n = softmax(W x_n + b + o_n)",
    closed_form=lambda W, b, X, y, l2, o: multinomial.hessian(W, b, X, l2=l2, offset=o),
    reference=lambda W, b, X, y, l2, o: jax.hessian(
        lambda t: plain_loss_offset(t.reshape(K, D + 1)[:, :-1], t.reshape(K, D + 1)[:, -1],
                                    X, y, l2, o))(
        jnp.concatenate([W, b[:, None]], axis=1).reshape(-1)),
    sample=sample_offset,
    rtol=EXACT_RTOL,
))
