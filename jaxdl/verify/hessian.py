"""Seed Q4 identities: the hand-derived H against forward- and reverse-over-reverse autodiff.

``jax.hessian(f)`` is ``jacfwd(jacrev(f))``, the same program as ``jacfwd(grad f)``, so comparing
those two could never fail; each autodiff mode is compared with the hand-derived Hessian
instead, and symmetry (Schwarz) is checked on the reverse-over-reverse Jacobian. A central
finite difference of the gradient, which shares no derivative rule with either mode, checks the
hand-derived H as the Jacobian of the gradient directly, within its predicted truncation and
rounding error.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl.hessian import EXAMPLES, jacobian_of_gradient
from jaxdl.verify.core import ASYMPTOTIC_TOL, EXACT_RTOL, Identity, register


def sample(key, dtype):
    """A point x = (u, v, z) in [-1.5, 1.5]^3."""
    return (jax.random.uniform(key, (3,), dtype, -1.5, 1.5),)



def _step(x):
    """The central-difference step ``eps^(1/3) max(1, |x|)`` (truncation ~ rounding)."""
    return jnp.finfo(x.dtype).eps ** (1 / 3) * jnp.maximum(1.0, jnp.max(jnp.abs(x)))


def _fd_jacobian(f):
    """``x -> [(g(x + h e_j) - g(x - h e_j)) / 2h]_j`` for ``g = grad f``: column j is the
    derivative of the gradient along ``e_j``."""
    g = jax.grad(f)

    def jac(x):
        h = _step(x)
        E = h * jnp.eye(x.shape[0], dtype=x.dtype)
        cols = jax.vmap(lambda e: (g(x + e) - g(x - e)) / (2 * h))(E)
        return cols.T

    return jac


def _fd_deviation(f):
    """Predicted error of :func:`_fd_jacobian`: truncation ``h^2/6 max|d^3 g / dx_j^3|``
    (doubled: the third derivative is taken at x, not at the unknown intermediate point) plus
    rounding ``8 eps (max|g| + max|H| max|x|) / h`` of the two gradient evaluations."""
    g = jax.grad(f)

    def dev(x):
        h = _step(x)
        d3 = jax.jacfwd(jax.jacfwd(jax.jacfwd(g)))(x)  # d3[i, j, k, l] = d^3 g_i / dx_j dx_k dx_l
        n = x.shape[0]
        along = jnp.stack([d3[:, j, j, j] for j in range(n)], axis=1)  # d^3 g_i / dx_j^3
        H = jax.jacfwd(g)(x)
        eps = jnp.finfo(x.dtype).eps
        trunc = 2 * h**2 / 6 * jnp.max(jnp.abs(along))
        terms = jnp.max(jnp.abs(g(x))) + jnp.max(jnp.abs(H)) * jnp.max(jnp.abs(x))
        rounding = 8 * eps * terms / h
        return trunc + rounding

    return dev


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
    register(Identity(
        name=f"hessian.finite_difference[{i}]",
        seed="Q4",
        statement=f"hand-derived H == central finite difference of grad y (the Jacobian of the "
        f"gradient, no autodiff of second order) for y = {ex.name}, within its predicted "
        "truncation + rounding error (error in units of that prediction)",
        closed_form=ex.hessian,
        reference=_fd_jacobian(ex.f),
        sample=sample,
        rtol=ASYMPTOTIC_TOL,
        scale=_fd_deviation(ex.f),
        kind="asymptotic",
    ))
