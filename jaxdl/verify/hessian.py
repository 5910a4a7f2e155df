"""Seed Q4 identities: the hand-derived H against forward- and reverse-over-reverse autodiff.

``jax.hessian(f)`` is ``jacfwd(jacrev(f))``, the same program as ``jacfwd(grad f)``, so comparing
those two could never fail; each autodiff mode is compared with the hand-derived Hessian
instead, and symmetry (Schwarz) is checked on the reverse-over-reverse Jacobian.
"""

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
        statement=f"jax.hessian(y) = jacfwd(grad y) (forward-over-reverse) == hand-derived H "
        f"for y = {ex.name}",
        closed_form=ex.hessian,
        reference=jax.hessian(ex.f),
        sample=sample,
        rtol=EXACT_RTOL,
    ))
    register(Identity(
        name=f"hessian.jacrev_grad[{i}]",
        seed="Q4",
        statement=f"jacrev(grad y) (reverse-over-reverse) == hand-derived H for y = {ex.name}",
        closed_form=ex.hessian,
        reference=jacobian_of_gradient(ex.f, mode="rev"),
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
