"""Seed Q6 identities: Newton steps, the error recursion, and the quadratic-convergence ratio.

Three kinds of identity:

* ``newton.step[...]`` / ``newton.minimize_step[...]``: the hand-derived update
  ``x - f/f'`` (``x - f'/f''``, ``x - J^{-1} F``) against :func:`jaxdl.newton.step` /
  :func:`jaxdl.newton.minimize_step`, whose derivatives come from JAX autodiff. Exact.
* ``newton.error_recursion``: the seed's ``e_{k+1} = e_k^2 f''(xi_k) / (2 f'(x_k))``. For a
  cubic the Lagrange point is known exactly, ``xi_k = x_k - e_k / 3``, so the recursion is checked
  as an exact identity against the actual Newton step. The root is ``x* = 0`` so that ``e_{k+1}``
  is the computed iterate itself, not a difference that rounding would swamp. Exact.
* ``newton.quadratic_ratio[...]``: ``|e_{k+1}| / e_k^2 -> L = |f''(x*)| / (2 |f'(x*)|)``. This is
  a limit, so at any finite step the ratio differs from ``L`` by a predictable amount: Taylor to
  one more order gives ``ratio_k = L (1 + c1 e_k + O(e_k^2))`` with
  ``c1 = 2 f'''/(3 f'') - f''/f'`` at ``x*``, and rounding perturbs the measured errors by about
  ``delta = 8 eps (1 + |x*|)``. The identity runs :func:`jaxdl.newton.root` from a random start,
  takes the ratio at the most informative step, the one whose predicted deviation
  ``L (2 |c1| |e_k| + delta / |e_{k+1}| + 2 delta / |e_k|)`` is smallest, and measures its
  distance to the hand-derived ``L`` in units of that deviation: tolerance 1 in both dtypes (the
  factor 2 covers the ``O(e_k^2)`` term). In float64 the predicted deviation is about ``1e-4``
  relative; in float32 truncation and rounding balance near ``e_k ~ 1e-2`` to ``1e-1``, a
  deviation of about 10% of ``L``, tight enough to reject a limit 30% off on every seed the
  mutation test runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxdl import newton
from jaxdl.verify.core import ASYMPTOTIC_TOL, EXACT_RTOL, Identity, register

MAX_STEPS = 20


class RootExample(NamedTuple):
    """A scalar root problem with hand-derived derivatives and its root (float64)."""

    name: str
    f: Callable[[jax.Array], jax.Array]
    df: Callable[[jax.Array], jax.Array]
    d2f: Callable[[jax.Array], jax.Array]
    x_star: float
    start: tuple[float, float]  # a random start is x* + U(start)


def _sq(x):
    return x * x - 2


def _cos(x):
    return jnp.cos(x) - x


def _exp(x):
    return jnp.exp(x) - 3


ROOT_EXAMPLES = (
    RootExample("x^2 - 2", _sq, lambda x: 2 * x, lambda x: 2 + 0 * x,
                1.4142135623730951, (0.2, 1.0)),
    RootExample("cos x - x", _cos, lambda x: -jnp.sin(x) - 1, lambda x: -jnp.cos(x),
                0.7390851332151607, (0.2, 1.0)),
    RootExample("e^x - 3", _exp, jnp.exp, jnp.exp, 1.0986122886681098, (0.2, 1.0)),
)


def system(v):
    """A 3-d system with root (1, 1, 1): x^2 + y^2 + z^2 = 3, x = y, y = z^2."""
    x, y, z = v[0], v[1], v[2]
    return jnp.stack([x * x + y * y + z * z - 3, x - y, y - z * z])


def system_jacobian(v):
    """Hand-derived Jacobian of :func:`system`."""
    x, y, z = v[0], v[1], v[2]
    one, zero = jnp.ones_like(x), jnp.zeros_like(x)
    return jnp.stack([
        jnp.stack([2 * x, 2 * y, 2 * z]),
        jnp.stack([one, -one, zero]),
        jnp.stack([zero, one, -2 * z]),
    ])


def objective(x):
    """A smooth scalar objective with f'' = 3 x^2 + 1 > 0: x^4/4 + x^2/2 - x."""
    return x**4 / 4 + x * x / 2 - x


def cubic(x):
    """x^3 + x^2 + 2x = x (x^2 + x + 2): a simple root at 0 only, f' > 0 everywhere."""
    return x**3 + x * x + 2 * x


def _sample_scalar(low, high):
    def sample(key, dtype):
        return (jax.random.uniform(key, (), dtype, low, high),)
    return sample


def _sample_system(key, dtype):
    """A point (1, 1, 1) + U(-0.5, 0.5)^3."""
    return (1 + jax.random.uniform(key, (3,), dtype, -0.5, 0.5),)


register(Identity(
    name="newton.step[x^2 - 2]",
    seed="Q6",
    statement="x - f/f' = (x^2 + 2) / (2x) for f = x^2 - 2 (f' by jax.jvp)",
    closed_form=lambda x: (x * x + 2) / (2 * x),
    reference=lambda x: newton.step(_sq, x),
    sample=_sample_scalar(0.5, 3.0),
    rtol=EXACT_RTOL,
))

register(Identity(
    name="newton.step[cos x - x]",
    seed="Q6",
    statement="x - f/f' = x - (cos x - x) / (-sin x - 1) for f = cos x - x",
    closed_form=lambda x: x - (jnp.cos(x) - x) / (-jnp.sin(x) - 1),
    reference=lambda x: newton.step(_cos, x),
    sample=_sample_scalar(0.0, 1.5),
    rtol=EXACT_RTOL,
))

register(Identity(
    name="newton.step[system]",
    seed="Q6",
    statement="x - J(x)^{-1} F(x) with the hand Jacobian = newton.step (J by jax.jacfwd), "
    "F = (x^2 + y^2 + z^2 - 3, x - y, y - z^2)",
    closed_form=lambda v: v - jnp.linalg.solve(system_jacobian(v), system(v)),
    reference=lambda v: newton.step(system, v),
    sample=_sample_system,
    rtol=EXACT_RTOL,
))

register(Identity(
    name="newton.minimize_step",
    seed="Q6",
    statement="x - f'/f'' = x - (x^3 + x - 1) / (3x^2 + 1) for f = x^4/4 + x^2/2 - x "
    "(f', f'' by jax.grad / jax.hessian)",
    closed_form=lambda x: x - (x**3 + x - 1) / (3 * x * x + 1),
    reference=lambda x: newton.minimize_step(objective, x),
    sample=_sample_scalar(0.0, 2.0),
    rtol=EXACT_RTOL,
))

register(Identity(
    name="newton.error_recursion",
    seed="Q6",
    statement="e_{k+1} = e_k^2 f''(xi_k) / (2 f'(x_k)), xi_k = x_k - e_k/3 exactly for the "
    "cubic f = x^3 + x^2 + 2x (x* = 0), against the Newton step by autodiff",
    closed_form=lambda x: x * x * (6 * (x - x / 3) + 2) / (2 * (3 * x * x + 2 * x + 2)),
    reference=lambda x: newton.step(cubic, x) - 0,
    sample=_sample_scalar(0.25, 2.0),
    rtol=EXACT_RTOL,
))


def _best_step(ex: RootExample, x0: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(ratio_k, predicted deviation at k)`` at the most informative step of a run from ``x0``.

    Each informative step k has its predicted deviation from the limit,
    ``L (2 |c1| e_k + delta / e_{k+1} + 2 delta / e_k)``: truncation shrinks with ``e_k`` while
    rounding grows as the errors shrink. The step where their sum is smallest is the sharpest
    test the run offers. The last informative step would be dominated by rounding in float32
    (``delta / e_{k+1}`` near 1), where a limit 30% off would pass.
    """
    x_star = jnp.asarray(ex.x_star, x0.dtype)
    res = newton.root(ex.f, x0, max_steps=MAX_STEPS)
    delta = 8 * jnp.finfo(x0.dtype).eps * (1 + jnp.abs(x_star))
    # The diagnostics' default floor (1e3 eps) hides the steps where truncation and rounding
    # balance; the predicted deviation below accounts for rounding, so errors down to a few
    # delta are usable.
    ratios = newton.quadratic_ratio(res, x_star, floor=2 * delta)
    e = newton.errors(res, x_star)
    d1 = jax.grad(ex.f)
    d2 = jax.grad(d1)
    d3 = jax.grad(d2)
    c1 = 2 * d3(x_star) / (3 * d2(x_star)) - d2(x_star) / d1(x_star)
    limit = newton.quadratic_limit(ex.f, x_star)
    ek, ek1 = e, jnp.roll(e, -1)
    dev = limit * (2 * jnp.abs(c1) * ek + delta / ek1 + 2 * delta / ek)
    dev = jnp.where(jnp.isnan(ratios) | ~jnp.isfinite(dev), jnp.inf, dev)
    k = jnp.argmin(dev)
    # No informative step at all: NaN, which the runner reports as a failure.
    return jnp.where(jnp.isfinite(dev[k]), ratios[k], jnp.nan), dev[k]


for _ex in ROOT_EXAMPLES:
    register(Identity(
        name=f"newton.quadratic_ratio[{_ex.name}]",
        seed="Q6",
        statement=f"|e_(k+1)| / e_k^2 -> |f''(x*)| / (2 |f'(x*)|) for f = {_ex.name}: at the "
        "most informative step, within its predicted deviation L (2|c1 e_k| + rounding) "
        "(error in units of that prediction)",
        closed_form=lambda x0, ex=_ex: jnp.abs(ex.d2f(jnp.asarray(ex.x_star, x0.dtype)))
        / (2 * jnp.abs(ex.df(jnp.asarray(ex.x_star, x0.dtype)))),
        reference=lambda x0, ex=_ex: _best_step(ex, x0)[0],
        sample=lambda key, dtype, ex=_ex: (
            ex.x_star + jax.random.uniform(key, (), dtype, *ex.start),),
        rtol=ASYMPTOTIC_TOL,
        scale=lambda x0, ex=_ex: _best_step(ex, x0)[1],
        kind="asymptotic",
    ))
