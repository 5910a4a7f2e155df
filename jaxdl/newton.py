"""Seed Q6: Newton's method, its quadratic convergence, and diagnostics that measure it.

Root finding for ``f: R -> R`` or ``f: R^n -> R^n`` and minimisation (Newton on the gradient)::

    root:      x_{k+1} = x_k - f(x_k) / f'(x_k)          (n-d: solve J(x_k) s = f(x_k))
    minimize:  x_{k+1} = x_k - f'(x_k) / f''(x_k)        (n-d: solve H(x_k) s = grad f(x_k))

With ``e_k = x_k - x*`` and Taylor's theorem with the Lagrange remainder,
``0 = f(x*) = f(x_k) - e_k f'(x_k) + e_k^2 / 2 f''(xi_k)`` for some ``xi_k`` between ``x_k`` and
``x*``, hence::

    e_{k+1} = e_k^2 f''(xi_k) / (2 f'(x_k)),      |e_{k+1}| <= e_k^2 max|f''| / (2 |f'(x_k)|)

(max over the interval between ``x_k`` and ``x*``) and ``|e_{k+1}| / e_k^2 -> |f''(x*)| /
(2 |f'(x*)|)``: quadratic convergence when ``f'(x*) != 0`` and the start is close enough. At a
multiple root the convergence is only linear (``e_{k+1} / e_k -> 1 - 1/m`` for multiplicity m).

The solvers are ``jax.lax.while_loop`` s compiled once per ``(f, shapes, dtype, max_steps)`` and
return a :class:`jaxdl.results.NewtonResult` whose status (:class:`jaxdl.results.Status`) says
how they ended; they never raise inside ``jit``/``vmap`` and never report a NaN as converged.
The diagnostics :func:`errors`, :func:`convergence_order`, :func:`error_ratio`,
:func:`quadratic_ratio`, :func:`quadratic_limit` and :func:`error_bound` measure the theory on a
finished run.

Where the seed differs: it writes ``x_{k-1}`` for ``x_{k+1}``, ``c_k`` for ``e_k``, the line
``f'(x) = f'(x)`` (meaning: minimisation applies the root update to ``f'``), a ``+`` for the
``-`` in ``f(x_k)/f'(x_k) = e_k - e_k^2 f''(xi_k) / (2 f'(x_k))``, ``x_k < xi_k < x*`` for
"``xi_k`` between ``x_k`` and ``x*``", and ``~=`` where the remainder form is an equality.

See the [Q6 derivation][q6-derivation].
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import checks
from jaxdl.results import NewtonResult, Status

__all__ = [
    "root",
    "minimize",
    "step",
    "minimize_step",
    "default_tol",
    "errors",
    "convergence_order",
    "error_ratio",
    "quadratic_ratio",
    "quadratic_limit",
    "error_bound",
    "last_valid",
]

_RUNNING = -1


def default_tol(dtype: Any) -> float:
    """The default step tolerance: ``sqrt(eps)`` of ``dtype``.

    The solver stops after a step ``s_k`` with ``||s_k|| <= tol (1 + ||x_{k+1}||)`` (max-norms).
    In the quadratic regime the returned iterate's error is about ``C ||s_k||^2`` with
    ``C = |f''| / (2 |f'|)``, i.e. about ``eps (1 + |x|)`` for ``tol = sqrt(eps)`` when
    ``C (1 + |x|)`` is of order one: full precision, while rounding noise in the steps (about
    ``eps`` times the conditioning of ``f``) stays far below ``tol``. At a multiple root
    (linear convergence) the error on return is about ``tol (1 + |x|)``.
    """
    return float(np.sqrt(jnp.finfo(checks.float_dtype("dtype", dtype)).eps))


# ----------------------------------------------------------------------------------------------
# Newton systems: x -> (residual, step, zero_derivative).


def _with_aux(fn: Callable) -> Callable:
    def both(x):
        y = fn(x)
        return y, y

    return both


def _solve_step(M: jax.Array, r: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``M^{-1} r`` by LU with partial pivoting; flag an exactly zero pivot (singular ``M``)."""
    lu, piv = jax.scipy.linalg.lu_factor(M)
    singular = jnp.any(jnp.diagonal(lu) == 0)
    s = jax.scipy.linalg.lu_solve((lu, piv), r)
    return s, singular


def _derivative_step(r: jax.Array, d: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Step ``d^{-1} r`` for a scalar derivative ``d`` or a matrix ``d``.

    A non-finite derivative makes the step NaN (reported as NONFINITE): ``f' = inf`` would
    otherwise give a zero step and a false convergence.
    """
    if r.ndim == 0:
        zero = d == 0
        s = r / jnp.where(zero, jnp.ones_like(d), d)
    else:
        s, zero = _solve_step(d, r)
    s = jnp.where(_all_finite(d), s, jnp.full_like(s, jnp.nan))
    return r, s, zero


def _root_system(f: Callable, x: jax.Array):
    if x.ndim == 0:
        r, d = jax.jvp(f, (x,), (jnp.ones_like(x),))
    else:
        d, r = jax.jacfwd(_with_aux(f), has_aux=True)(x)
    return _derivative_step(r, d)


def _minimize_system(f: Callable, x: jax.Array):
    g = jax.grad(f)
    if x.ndim == 0:
        r, d = jax.jvp(g, (x,), (jnp.ones_like(x),))
    else:
        # The Hessian as jax.hessian builds it (forward over reverse), with the gradient as aux.
        d, r = jax.jacfwd(_with_aux(g), has_aux=True)(x)
    return _derivative_step(r, d)


_SYSTEMS = {"root": _root_system, "minimize": _minimize_system}


def _check_output(kind: str, f: Callable, x: jax.Array) -> None:
    """Static check of ``f``'s output shape and dtype (runs at trace time, also under jit)."""
    out = jax.eval_shape(f, jax.ShapeDtypeStruct(x.shape, x.dtype))
    if not hasattr(out, "shape") or not hasattr(out, "dtype"):
        raise TypeError(f"f: expected f(x) to return an array, got {type(out).__name__}")
    want = x.shape if kind == "root" else ()
    what = "the shape of x0" if kind == "root" else "a scalar objective"
    if tuple(out.shape) != tuple(want):
        raise ValueError(
            f"f: expected f(x) of shape {tuple(want)} ({what}), got shape {tuple(out.shape)}"
        )
    if np.dtype(out.dtype) != np.dtype(x.dtype):
        raise TypeError(
            f"f: expected f(x) to return dtype {np.dtype(x.dtype)} (the dtype of x0), got "
            f"{np.dtype(out.dtype)}; make f keep its input's dtype"
        )


def _norm(v: jax.Array) -> jax.Array:
    return jnp.max(jnp.abs(v)) if v.ndim else jnp.abs(v)


def _all_finite(v: jax.Array) -> jax.Array:
    return jnp.all(jnp.isfinite(v))


def _classify(r, s, zero, *, converged, at_budget):
    """Status after accepting an iterate whose residual ``r`` is finite."""
    status = jnp.int32(_RUNNING)
    status = jnp.where(~_all_finite(s), jnp.int32(Status.NONFINITE), status)
    status = jnp.where(zero, jnp.int32(Status.ZERO_DERIVATIVE), status)
    status = jnp.where(at_budget, jnp.int32(Status.MAX_STEPS), status)
    return jnp.where(converged | jnp.all(r == 0), jnp.int32(Status.CONVERGED), status)


def solve_traced(f: Callable, x0: jax.Array, tol: jax.Array, kind: str, max_steps: int):
    _check_output(kind, f, x0)
    system = functools.partial(_SYSTEMS[kind], f)
    dtype = x0.dtype
    nan = jnp.array(jnp.nan, dtype)

    r0, s0, z0 = system(x0)
    ok0 = _all_finite(x0) & _all_finite(r0)
    status0 = jnp.where(
        ok0,
        _classify(r0, s0, z0, converged=jnp.array(False), at_budget=jnp.array(False)),
        jnp.int32(Status.NONFINITE),
    )
    hist = jnp.full((max_steps + 1, *x0.shape), nan).at[0].set(x0)
    rhist = jnp.full((max_steps + 1,), nan).at[0].set(_norm(r0))
    state0 = (jnp.int32(0), x0, s0, status0, hist, rhist)

    def cond(state):
        return state[3] == _RUNNING

    def body(state):
        k, x, s, _, hist, rhist = state
        x_new = x - s
        r_new, s_new, z_new = system(x_new)
        accept = _all_finite(x_new) & _all_finite(r_new)
        small = _norm(s) <= tol * (1 + _norm(x_new))
        status_new = jnp.where(
            accept,
            _classify(r_new, s_new, z_new, converged=small, at_budget=k + 1 >= max_steps),
            jnp.int32(Status.NONFINITE),
        )
        hist = hist.at[k + 1].set(jnp.where(accept, x_new, nan))
        rhist = rhist.at[k + 1].set(jnp.where(accept, _norm(r_new), nan))
        k = jnp.where(accept, k + 1, k)
        x = jnp.where(accept, x_new, x)
        s = jnp.where(accept, s_new, s)
        return k, x, s, status_new, hist, rhist

    k, x, _, status, hist, rhist = jax.lax.while_loop(cond, body, state0)
    return NewtonResult(x=x, steps=k, status=status, history=hist, residual_history=rhist)


_solve_jit = jax.jit(solve_traced, static_argnames=("f", "kind", "max_steps"))


def _run(kind: str, f: Callable, x0: Any, tol: Any, max_steps: Any) -> NewtonResult:
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    max_steps = checks.positive_int("max_steps", max_steps)
    x0 = checks.float_array("x0", x0, ndim=(0, 1))
    x0 = x0.astype(x0.dtype)  # drop weak typing: one compilation per dtype, not two
    if x0.ndim == 1 and x0.shape[0] == 0:
        raise ValueError("x0: expected a scalar or a non-empty vector, got shape (0,)")
    if tol is None:
        tol = default_tol(x0.dtype)
    else:
        checks.scalar("tol", tol, low=0.0)
    tol = jnp.asarray(tol, x0.dtype)
    try:
        hash(f)
    except TypeError:
        # Unhashable callables cannot key the compilation cache: compile for this call only.
        solver = jax.jit(functools.partial(solve_traced, f, kind=kind, max_steps=max_steps))
        return solver(x0, tol)
    return _solve_jit(f, x0, tol, kind=kind, max_steps=max_steps)


def root(f: Callable, x0: Any, *, tol: Any = None, max_steps: int = 50) -> NewtonResult:
    """Find ``x`` with ``f(x) = 0`` by Newton's method, ``x_{k+1} = x_k - f(x_k) / f'(x_k)``.

    For scalar ``x0``, ``f'`` comes from ``jax.jvp``; for a vector ``x0`` of shape ``(n,)``,
    ``f: R^n -> R^n`` and the step solves ``J(x_k) s = f(x_k)`` with ``J = jax.jacfwd(f)`` (LU
    with partial pivoting). Compiled once per ``f`` (by identity), input shape/dtype and
    ``max_steps``; runs under ``jit`` and ``vmap`` (one status per element).

    Stopping (max-norms): CONVERGED after a step with ``||s_k|| <= tol (1 + ||x_{k+1}||)`` or
    when ``f(x_k) == 0`` exactly (see :func:`default_tol` for why this reaches full precision);
    ZERO_DERIVATIVE when ``f'(x_k) == 0`` (an exactly zero pivot of ``J``); NONFINITE when
    ``f``, ``f'``, the step or the next iterate is NaN/inf; MAX_STEPS when the budget runs out.
    On every status ``x`` is the last accepted iterate, finite, and equal to
    ``history[steps]``: an iterate where ``f`` is not finite is never accepted.

    Args:
      f: a function of one array returning an array of the same shape and dtype. It must be
        hashable (functions and lambdas are): a new lambda per call compiles anew.
      x0: the starting point, a scalar or shape ``(n,)``, float32 or float64.
      tol: step tolerance ``>= 0`` (keyword-only; default ``sqrt(eps)`` of the dtype).
      max_steps: step budget ``>= 1`` (keyword-only, static).

    Returns:
      A :class:`jaxdl.results.NewtonResult`; ``history`` has ``max_steps + 1`` rows, NaN after
      row ``steps``; ``residual_history`` holds ``||f(x_k)||``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import newton
      >>> res = newton.root(lambda x: x**2 - 2, jnp.array(1.0))
      >>> int(res.status), bool(jnp.abs(res.x - jnp.sqrt(2.0)) < 1e-6)
      (0, True)

    See the [Q6 derivation][q6-derivation] (the seed writes ``x_{k-1}`` for ``x_{k+1}``).
    """
    return _run("root", f, x0, tol, max_steps)


def minimize(f: Callable, x0: Any, *, tol: Any = None, max_steps: int = 50) -> NewtonResult:
    """Find a stationary point of ``f`` by Newton's method on the gradient.

    ``x_{k+1} = x_k - f'(x_k) / f''(x_k)``; for a vector ``x0`` the step solves
    ``H(x_k) s = grad f(x_k)`` with ``H`` the Hessian (``jax.hessian``'s forward-over-reverse
    construction, the gradient by ``jax.grad``). The stopping rule and statuses are those of
    :func:`root` applied to ``grad f``; ZERO_DERIVATIVE means ``f'' = 0`` (singular ``H``).
    Pure Newton does not test curvature: it converges to a maximum or saddle as readily as to
    a minimum, so check ``f''(x) > 0`` (``H`` positive definite) at the result when it matters.
    A quadratic with a positive definite Hessian is solved by the first step (``history[1]``);
    the solver then stops at step 1 (gradient exactly 0) or after a second, rounding-sized step,
    depending on how the first step rounds.

    Args:
      f: a scalar function of one array (same dtype out as in), hashable.
      x0: the starting point, a scalar or shape ``(n,)``.
      tol: step tolerance ``>= 0`` (keyword-only; default ``sqrt(eps)``).
      max_steps: step budget ``>= 1`` (keyword-only, static).

    Returns:
      A :class:`jaxdl.results.NewtonResult`; ``residual_history`` holds ``||grad f(x_k)||``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import newton
      >>> res = newton.minimize(lambda x: jnp.exp(x) - 2 * x, jnp.array(0.0))
      >>> bool(jnp.abs(res.x - jnp.log(2.0)) < 1e-6)
      True

    See the [Q6 derivation][q6-derivation] (the seed's ``f'(x) = f'(x)`` line means this update).
    """
    return _run("minimize", f, x0, tol, max_steps)


def step(f: Callable, x: Any) -> jax.Array:
    """One Newton root step ``x - f(x) / f'(x)`` (``x - J(x)^{-1} f(x)`` for vectors).

    The derivative is ``jax.jvp`` (scalar) or ``jax.jacfwd`` (vector); no safeguards: a zero
    derivative gives inf/NaN. Jittable.

    Args:
      f: as in :func:`root`.
      x: a scalar or shape ``(n,)``.

    Returns:
      The next iterate, shape of ``x``.

    See the [Q6 derivation][q6-derivation].
    """
    x = checks.float_array("x", x, ndim=(0, 1), allow_inf=True, allow_nan=True)
    _check_output("root", f, x)
    r, d = (jax.jvp(f, (x,), (jnp.ones_like(x),)) if x.ndim == 0
            else (f(x), jax.jacfwd(f)(x)))
    return x - (r / d if x.ndim == 0 else jnp.linalg.solve(d, r))


def minimize_step(f: Callable, x: Any) -> jax.Array:
    """One Newton minimisation step ``x - f'(x) / f''(x)`` (``x - H^{-1} grad f`` for vectors).

    Derivatives by ``jax.grad`` and ``jax.hessian``. Jittable, no safeguards.

    Args:
      f: a scalar function, as in :func:`minimize`.
      x: a scalar or shape ``(n,)``.

    Returns:
      The next iterate, shape of ``x``.

    See the [Q6 derivation][q6-derivation] (the minimisation form).
    """
    x = checks.float_array("x", x, ndim=(0, 1), allow_inf=True, allow_nan=True)
    _check_output("minimize", f, x)
    g, H = jax.grad(f)(x), jax.hessian(f)(x)
    return x - (g / H if x.ndim == 0 else jnp.linalg.solve(H, g))


# ----------------------------------------------------------------------------------------------
# Diagnostics (pure and jittable; each takes one finished, unbatched NewtonResult).


def _x_star(result: NewtonResult, x_star: Any) -> jax.Array:
    shape = tuple(result.history.shape[1:])
    x_star = checks.float_array("x_star", x_star, allow_inf=False)
    if tuple(x_star.shape) != shape:
        raise ValueError(
            f"x_star: expected shape {shape} (the shape of the iterates), got shape "
            f"{tuple(x_star.shape)}"
        )
    return x_star.astype(result.history.dtype)


def rounding_floor(floor: Any, dtype: Any) -> jax.Array:
    """The floor as an array; NaN stands for the default (computed inside the jitted cores)."""
    if floor is None:
        return jnp.asarray(np.nan, dtype)
    checks.scalar("floor", floor, low=0.0)
    return jnp.asarray(floor, dtype)


def _errors_impl(history: jax.Array, x_star: jax.Array) -> jax.Array:
    diff = jnp.abs(history - jnp.expand_dims(x_star, 0))
    return diff if diff.ndim == 1 else jnp.max(diff, axis=tuple(range(1, diff.ndim)))


def _floor_value(x_star: jax.Array, floor: jax.Array) -> jax.Array:
    default = 1e3 * jnp.finfo(x_star.dtype).eps * (1 + _norm(x_star))
    return jnp.where(jnp.isnan(floor), default, floor)


def _pad(v: jax.Array, before: int, after: int) -> jax.Array:
    nan = jnp.full((), jnp.nan, v.dtype)
    return jnp.concatenate([jnp.full((before,), nan), v, jnp.full((after,), nan)])


@jax.jit
def order_traced(history, x_star, floor):
    e = _errors_impl(history, x_star)
    fl = _floor_value(x_star, floor)
    prev, mid, nxt = e[:-2], e[1:-1], e[2:]
    valid = (prev > fl) & (mid > fl) & (nxt > fl) & (mid != prev)
    safe = lambda v: jnp.where(valid, v, 1)  # noqa: E731
    q = jnp.log(safe(nxt) / safe(mid)) / jnp.log(safe(mid) / safe(prev))
    return _pad(jnp.where(valid, q, jnp.nan), 1, 1)


@jax.jit
def ratio_traced(history, x_star, floor, order):
    e = _errors_impl(history, x_star)
    fl = _floor_value(x_star, floor)
    cur, nxt = e[:-1], e[1:]
    valid = (cur > fl) & (nxt > fl)
    ratio = jnp.where(valid, nxt, 1) / jnp.where(valid, cur, 1) ** order
    return _pad(jnp.where(valid, ratio, jnp.nan), 0, 1)


def errors(result: NewtonResult, x_star: Any) -> jax.Array:
    """``|e_k| = ||x_k - x*||`` (max-norm) per row of ``result.history``, NaN after ``steps``.

    Args:
      result: a :class:`jaxdl.results.NewtonResult` (not batched; vmap this function instead).
      x_star: the true root or minimiser, shape of the iterates.

    Returns:
      Shape ``(max_steps + 1,)``.

    See the [Q6 derivation][q6-derivation] (the seed's ``c_k``).
    """
    return _errors_jit(result.history, _x_star(result, x_star))


_errors_jit = jax.jit(_errors_impl)


def convergence_order(result: NewtonResult, x_star: Any, *, floor: Any = None) -> jax.Array:
    """Observed order ``q_k = log(e_{k+1} / e_k) / log(e_k / e_{k-1})`` per step.

    ``q_k -> 2`` for a simple root (quadratic), ``-> 1`` at a multiple root. Entry ``k`` uses
    ``e_{k-1}, e_k, e_{k+1}`` and is NaN unless all three exist and exceed ``floor``: below it
    an error is rounding, not convergence.

    Args:
      result: a finished, unbatched :class:`jaxdl.results.NewtonResult`.
      x_star: the true root or minimiser.
      floor: errors ``<= floor`` are uninformative (keyword-only; default
        ``1e3 eps (1 + ||x*||)``, so a measured error carries at most ~0.1-1% rounding).

    Returns:
      Shape ``(max_steps + 1,)``; ``q_0`` and the entries from ``steps`` on are NaN.

    See the [Q6 derivation][q6-derivation].
    """
    x_star = _x_star(result, x_star)
    return order_traced(result.history, x_star, rounding_floor(floor, x_star.dtype))


def error_ratio(
    result: NewtonResult, x_star: Any, *, order: float = 1.0, floor: Any = None
) -> jax.Array:
    """``|e_{k+1}| / |e_k|**order`` per step (entry ``k``), NaN where not informative.

    ``order=1`` gives the linear rate (``-> 1 - 1/m`` at a root of multiplicity ``m``);
    ``order=2`` is :func:`quadratic_ratio`.

    Args:
      result, x_star, floor: as in :func:`convergence_order`.
      order: the exponent on ``|e_k|`` (keyword-only).

    Returns:
      Shape ``(max_steps + 1,)``; the last entry and those from ``steps`` on are NaN.

    See the [Q6 derivation][q6-derivation].
    """
    x_star = _x_star(result, x_star)
    checks.scalar("order", order, low=0.0, low_open=True)
    return ratio_traced(result.history, x_star, rounding_floor(floor, x_star.dtype),
                       jnp.asarray(order, x_star.dtype))


def quadratic_ratio(result: NewtonResult, x_star: Any, *, floor: Any = None) -> jax.Array:
    """``|e_{k+1}| / e_k^2`` per step; tends to :func:`quadratic_limit` at a simple root.

    Args:
      result, x_star, floor: as in :func:`convergence_order`.

    Returns:
      Shape ``(max_steps + 1,)``, NaN where not informative.

    See the [Q6 derivation][q6-derivation].
    """
    return error_ratio(result, x_star, order=2.0, floor=floor)


def _scalar_point(name: str, v: Any) -> jax.Array:
    v = checks.float_array(name, v)
    if v.ndim != 0:
        raise ValueError(
            f"{name}: expected a scalar (the quadratic limit and the error bound are for "
            f"f: R -> R), got shape {tuple(v.shape)}"
        )
    return v


def quadratic_limit(f: Callable, x_star: Any) -> jax.Array:
    """``|f''(x*)| / (2 |f'(x*)|)``, the limit of ``|e_{k+1}| / e_k^2`` (scalar ``f``).

    Derivatives by ``jax.grad``. For :func:`minimize` pass the derivative: ``jax.grad(f)``.

    Args:
      f: a scalar function of a scalar.
      x_star: the simple root.

    Returns:
      A scalar (inf if ``f'(x*) = 0``: a multiple root converges only linearly).

    See the [Q6 derivation][q6-derivation].
    """
    return limit_traced(f, _scalar_point("x_star", x_star))


@functools.partial(jax.jit, static_argnames=("f",))
def limit_traced(f, x_star):
    d1 = jax.grad(f)(x_star)
    d2 = jax.grad(jax.grad(f))(x_star)
    return jnp.abs(d2) / (2 * jnp.abs(d1))


def error_bound(
    f: Callable, result: NewtonResult, x_star: Any, *, num_points: int = 1025
) -> jax.Array:
    """The seed's per-step bound ``|e_{k+1}| <= e_k^2 max|f''| / (2 |f'(x_k)|)``, entry ``k``.

    The max of ``|f''|`` over the interval between ``x_k`` and ``x*`` is estimated by evaluating
    ``f''`` (``jax.grad`` twice) at ``num_points`` equally spaced points including both ends:
    a numerical check, not a proof (it can miss a narrow spike of ``|f''|`` between samples).
    Compare with ``errors(result, x_star)[k + 1]`` allowing for rounding in the measured error
    (a few ``eps (1 + |x*|)``).

    Args:
      f: the scalar function whose root was found (``jax.grad(f)`` for :func:`minimize`).
      result: a finished, unbatched scalar :class:`jaxdl.results.NewtonResult`.
      x_star: the root.
      num_points: samples per interval (keyword-only, ``>= 2``).

    Returns:
      Shape ``(max_steps + 1,)``; NaN where step ``k`` was not taken.

    See the [Q6 derivation][q6-derivation].
    """
    num_points = checks.positive_int("num_points", num_points, minimum=2)
    x_star = _scalar_point("x_star", x_star).astype(result.history.dtype)
    if result.history.ndim != 1:
        raise ValueError(
            f"result: expected a scalar run (history of shape (max_steps + 1,)), got history "
            f"of shape {tuple(result.history.shape)}"
        )
    return _bound_core(f, result.history, x_star, num_points=num_points)


@functools.partial(jax.jit, static_argnames=("f", "num_points"))
def _bound_core(f, xs, x_star, num_points):
    taken = ~jnp.isnan(jnp.concatenate([xs[1:], jnp.full((1,), jnp.nan, xs.dtype)]))
    xk = jnp.where(taken, xs, x_star)
    t = jnp.linspace(0.0, 1.0, num_points, dtype=xs.dtype)
    pts = xk[:, None] + (x_star - xk)[:, None] * t[None, :]
    d2 = jax.vmap(jax.vmap(jax.grad(jax.grad(f))))(pts)
    d1 = jax.vmap(jax.grad(f))(xk)
    e = xk - x_star
    bound = e * e * jnp.max(jnp.abs(d2), axis=1) / (2 * jnp.abs(d1))
    return jnp.where(taken, bound, jnp.nan)


def last_valid(values: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array]:
    """The last non-NaN entry of a 1-D diagnostic and its index (``(nan, -1)`` if none).

    Example: ``q, k = last_valid(convergence_order(res, x_star))`` is the order observed at the
    last informative step.
    """
    v = checks.float_array("values", values, ndim=1, allow_inf=True, allow_nan=True)
    return last_valid_traced(v)


@jax.jit
def last_valid_traced(v):
    idx = jnp.max(jnp.where(jnp.isnan(v), -1, jnp.arange(v.shape[0])))
    val = jnp.where(idx >= 0, v[jnp.maximum(idx, 0)], jnp.nan)
    return val, idx.astype(jnp.int32)
