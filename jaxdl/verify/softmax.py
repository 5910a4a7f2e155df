"""Seed Q3(a), Q3(b) and Q7 identities: softmax Jacobian, cross-entropy gradient and Hessian."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl import softmax
from jaxdl.verify.core import EXACT_RTOL, Identity, psd_identity, register

K = 7


def sample_z(key, dtype):
    """Logits with a spread of a few units: (z,)."""
    return (3.0 * jax.random.normal(key, (K,), dtype),)


def sample_zy(key, dtype):
    """Logits and a one-hot target: (z, y)."""
    kz, ky = jax.random.split(key)
    z = 3.0 * jax.random.normal(kz, (K,), dtype)
    y = jax.nn.one_hot(jax.random.randint(ky, (), 0, K), K, dtype=dtype)
    return z, y


def _p_scale(z, *_):
    """The size of the terms: entries of J, H and p - y are built from probabilities, so their
    rounding error scales with max p, not with the (possibly cancelled) result."""
    return jnp.max(softmax.softmax(z))


register(Identity(
    name="softmax.jacobian",
    seed="Q3a",
    statement="dp_k/dz_i = p_k (delta_ik - p_i), J = diag(p) - p p^T",
    closed_form=softmax.jacobian,
    reference=jax.jacrev(softmax.softmax),
    sample=sample_z,
    rtol=EXACT_RTOL,
    scale=_p_scale,
))

register(Identity(
    name="softmax.ce_grad",
    seed="Q3b/Q7",
    statement="dL/dz = p - y for L = -sum y log softmax(z), y one-hot",
    closed_form=softmax.ce_grad,
    reference=jax.grad(softmax.cross_entropy),
    sample=sample_zy,
    rtol=EXACT_RTOL,
    scale=lambda z, y: jnp.maximum(_p_scale(z), jnp.max(y)),
))

register(Identity(
    name="softmax.ce_hessian",
    seed="Q7",
    statement="d2L/dz2 = diag(p) - p p^T (independent of y)",
    closed_form=lambda z, y: softmax.ce_hessian(z),
    reference=jax.hessian(softmax.cross_entropy),
    sample=sample_zy,
    rtol=EXACT_RTOL,
    scale=_p_scale,
))

register(psd_identity(
    name="softmax.ce_hessian_psd",
    seed="Q7",
    statement="v^T H v = Var_p(v) >= 0: H is PSD, L is convex in z",
    matrix=softmax.ce_hessian,
    sample=sample_z,
    size=K,
))

register(Identity(
    name="softmax.ce_hessian_singular",
    seed="Q7",
    statement="H 1 = 0 (shift invariance): PSD, never PD",
    closed_form=lambda z: softmax.ce_hessian(z) @ jnp.ones_like(z),
    reference=lambda z: jnp.zeros_like(z),
    sample=sample_z,
    rtol=EXACT_RTOL,
    scale=_p_scale,
))
