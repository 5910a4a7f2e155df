"""Seed Q4: the Hessian is the Jacobian of the gradient.

For a scalar ``y(u, v, z)`` the Hessian is ``H = J(grad y)``, ``H_ij = d2y / d_i d_j``, symmetric
when the second partials are continuous (Schwarz). In JAX the three spellings agree::

    jax.hessian(f) == jax.jacfwd(jax.grad(f)) == jax.jacrev(jax.grad(f))

(the seed lists ``grad y`` as ``[dz, dv, du]`` but builds ``H`` in the order ``u, v, z``; jaxdl
uses ``(u, v, z)`` throughout). :data:`EXAMPLES` holds smooth test functions of
``x = (u, v, z)`` with hand-derived Hessians, so the identity is checked against a closed form
as well as between the autodiff modes.

See the [Q4 derivation][q4-derivation].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["jacobian_of_gradient", "Example", "EXAMPLES"]


def jacobian_of_gradient(f: Callable[[jax.Array], jax.Array], *, mode: str = "fwd") -> Callable:
    """Return ``x -> J(grad f)(x)``: forward-over-reverse (``"fwd"``) or reverse-over-reverse.

    Args:
      f: a scalar function of one array.
      mode: ``"fwd"`` for ``jax.jacfwd(jax.grad(f))`` (what ``jax.hessian`` does) or ``"rev"``
        for ``jax.jacrev(jax.grad(f))``.

    See the [Q4 derivation][q4-derivation].
    """
    if mode == "fwd":
        return jax.jacfwd(jax.grad(f))
    if mode == "rev":
        return jax.jacrev(jax.grad(f))
    raise ValueError(f"mode: expected 'fwd' or 'rev', got {mode!r}")


class Example(NamedTuple):
    """A smooth function of ``x = (u, v, z)`` and its hand-derived Hessian."""

    name: str
    f: Callable[[jax.Array], jax.Array]
    hessian: Callable[[jax.Array], jax.Array]


def _poly_trig_exp(x):
    u, v, z = x
    return u**2 * v + jnp.sin(v * z) + jnp.exp(u * z)


def _poly_trig_exp_h(x):
    u, v, z = x
    e, s, c = jnp.exp(u * z), jnp.sin(v * z), jnp.cos(v * z)
    huv = 2 * u
    huz = e * (1 + u * z)
    hvz = c - v * z * s
    return jnp.stack(
        [
            jnp.stack([2 * v + z**2 * e, huv, huz]),
            jnp.stack([huv, -(z**2) * s, hvz]),
            jnp.stack([huz, hvz, -(v**2) * s + u**2 * e]),
        ]
    )


def _log_norm(x):
    return jnp.log1p(jnp.sum(x**2))


def _log_norm_h(x):
    s = 1 + jnp.sum(x**2)
    return 2 * jnp.eye(3, dtype=x.dtype) / s - 4 * jnp.outer(x, x) / s**2


def _cubic(x):
    u, v, z = x
    return u * v * z + u**3 - 2 * v**2 * z


def _cubic_h(x):
    u, v, z = x
    return jnp.stack(
        [
            jnp.stack([6 * u, z, v]),
            jnp.stack([z, -4 * z, u - 4 * v]),
            jnp.stack([v, u - 4 * v, jnp.zeros_like(u)]),
        ]
    )


EXAMPLES: tuple[Example, ...] = (
    Example("u^2 v + sin(v z) + exp(u z)", _poly_trig_exp, _poly_trig_exp_h),
    Example("log(1 + u^2 + v^2 + z^2)", _log_norm, _log_norm_h),
    Example("u v z + u^3 - 2 v^2 z", _cubic, _cubic_h),
)
