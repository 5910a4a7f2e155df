"""Seed Q4 identities: jax.hessian == jacfwd(grad) == jacrev(grad) == the hand-derived H."""

from __future__ import annotations

import jax

from jaxdl.hessian import EXAMPLES, jacobian_of_gradient
from jaxdl.verify.core import EXACT_RTOL, Identity, register


def sample(key, dtype):
    """A point x = (u, v, z) in [-1.5, 1.5]^3."""
    return (jax.random.uniform(key, (3,), dtype, -1.5, 1.5),)



for i, ex in enumerate(EXAMPLES, start=1):
    register(Identity(
        name=f"hessian.closed_form[{i}]",
        seed="Q4",
        statement=f"jax.hessian(y) == hand-derived H for y = {ex.name}",
        closed_form=ex.hessian,
        reference=jax.hessian(ex.f),
        sample=sample,
        rtol=EXACT_RTOL,
    ))
    register(Identity(
        name=f"hessian.jacfwd_grad[{i}]",
        seed="Q4",
        statement=f"jacfwd(grad y) == jax.hessian(y) for y = {ex.name}",
        closed_form=jacobian_of_gradient(ex.f, mode="fwd"),
        reference=jax.hessian(ex.f),
        sample=sample,
        rtol=EXACT_RTOL,
    ))
    register(Identity(
        name=f"hessian.jacrev_grad[{i}]",
        seed="Q4",
        statement=f"jacrev(grad y) == jax.hessian(y) for y = {ex.name}",
        closed_form=jacobian_of_gradient(ex.f, mode="rev"),
        reference=jax.hessian(ex.f),
        sample=sample,
        rtol=EXACT_RTOL,
    ))
    register(Identity(
        name=f"hessian.symmetric[{i}]",
        seed="Q4",
        statement=f"H == H^T (Schwarz) for y = {ex.name}",
        closed_form=jacobian_of_gradient(ex.f, mode="rev"),
        reference=lambda x, f=ex.f: jacobian_of_gradient(f, mode="rev")(x).T,
        sample=sample,
        rtol=EXACT_RTOL,
    ))
