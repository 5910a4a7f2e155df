"""Shared solver loops: damped Newton for linear-predictor models, and optax gradient descent.

Written once and used by :mod:`jaxdl.logistic` (Q1) and :mod:`jaxdl.softmax` (Q3/Q7) fits. Both
loops are single ``lax.while_loop``s with fixed-length, NaN-padded histories, report an int32
:class:`jaxdl.results.Status` instead of raising, and work under ``jit`` and ``vmap``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxdl.results import FitResult, Status

ARMIJO_C = 1e-4
MAX_HALVINGS = 40


class NewtonOracle(NamedTuple):
    """What the damped Newton loop needs from a model whose predictor is linear in theta.

    ``aux`` is the linear predictor (logits) ``A theta``; it is carried along so that a line
    search costs ``O(n)`` per trial instead of a pass over ``X``.

    Attributes:
      predictor: ``theta -> aux``.
      value: ``(theta, aux) -> f``.
      grad: ``(theta, aux) -> g`` (same shape as theta).
      direction: ``(theta, g, aux) -> (delta, ok)``: solves ``H delta = g``; ``ok`` False when
        ``H`` is numerically singular.
      along: ``delta -> A delta`` (so ``aux(theta - t delta) = aux - t A delta``).
      separated: ``(theta, aux) -> bool``: True when ``theta`` certifies that no finite
        minimiser exists (e.g. it strictly separates the classes with no penalty).
    """

    predictor: Callable
    value: Callable
    grad: Callable
    direction: Callable
    along: Callable
    separated: Callable


class _NewtonState(NamedTuple):
    k: jax.Array
    theta: jax.Array
    aux: jax.Array
    f: jax.Array
    g: jax.Array
    status: jax.Array
    done: jax.Array
    loss_h: jax.Array
    gnorm_h: jax.Array
    step_h: jax.Array


def _running() -> jax.Array:
    return jnp.int32(-1)


def damped_newton(
    oracle: NewtonOracle, theta0: jax.Array, *, max_steps: int, gtol: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array, FitResult]:
    """Newton's method with Armijo backtracking and honest statuses.

    Stops with CONVERGED when ``||g||_inf <= gtol``, or when the Newton decrement is below the
    objective's rounding and a full Newton step no longer shrinks the gradient (the optimum is
    reached to working precision);
    SEPARABLE when ``oracle.separated``; SINGULAR when the solve fails; LINE_SEARCH_FAILED when
    no halving of the step decreases the objective; NONFINITE on a NaN/inf objective or
    gradient; MAX_STEPS otherwise.

    Returns:
      ``(theta, f, g, result)`` where ``result.params`` is left as ``theta`` for the caller to
      unflatten.
    """
    dtype = theta0.dtype
    eps = jnp.finfo(dtype).eps
    nan_hist = jnp.full((max_steps + 1,), jnp.nan, dtype)

    aux0 = oracle.predictor(theta0)
    f0 = oracle.value(theta0, aux0)
    g0 = oracle.grad(theta0, aux0)
    state = _NewtonState(
        k=jnp.int32(0), theta=theta0, aux=aux0, f=f0, g=g0, status=_running(),
        done=jnp.bool_(False),
        loss_h=nan_hist.at[0].set(f0), gnorm_h=nan_hist.at[0].set(jnp.max(jnp.abs(g0))),
        step_h=nan_hist,
    )

    def classify(s: _NewtonState) -> jax.Array:
        gnorm = jnp.max(jnp.abs(s.g))
        finite = jnp.isfinite(s.f) & jnp.all(jnp.isfinite(s.g))
        status = jnp.where(~finite, Status.NONFINITE, _running())
        status = jnp.where((status < 0) & (gnorm <= gtol), Status.CONVERGED, status)
        status = jnp.where((status < 0) & oracle.separated(s.theta, s.aux), Status.SEPARABLE,
                           status)
        status = jnp.where((status < 0) & (s.k >= max_steps), Status.MAX_STEPS, status)
        return status.astype(jnp.int32)

    def cond(s: _NewtonState) -> jax.Array:
        return ~s.done

    def body(s: _NewtonState) -> _NewtonState:
        status = classify(s)
        stop = status >= 0

        def step(s: _NewtonState) -> _NewtonState:
            delta, ok = oracle.direction(s.theta, s.g, s.aux)
            decrement = jnp.vdot(s.g, delta)  # g^T H^{-1} g >= 0 for a PD Hessian
            ok = ok & jnp.isfinite(decrement) & (decrement >= 0)
            # Below the objective's rounding the Armijo test cannot see progress: take the full
            # Newton step and judge it by the gradient, which stays informative much longer.
            tiny = 0.5 * decrement <= 8 * eps * jnp.maximum(1.0, jnp.abs(s.f))
            daux = oracle.along(delta)

            def trial(t):
                return oracle.value(s.theta - t * delta, s.aux - t * daux)

            def armijo(t, ft):
                return tiny | (ft <= s.f - ARMIJO_C * t * decrement)

            def ls_cond(c):
                t, ft, j = c
                return (j < MAX_HALVINGS) & ~armijo(t, ft)

            def ls_body(c):
                t, _, j = c
                t = 0.5 * t
                return t, trial(t), j + 1

            one = jnp.ones((), dtype)
            t, ft, _ = jax.lax.while_loop(ls_cond, ls_body, (one, trial(one), 0))
            new_status = jnp.where(~ok, Status.SINGULAR, _running())
            new_status = jnp.where((new_status < 0) & ~armijo(t, ft),
                                   Status.LINE_SEARCH_FAILED, new_status).astype(jnp.int32)
            move = new_status < 0
            theta = jnp.where(move, s.theta - t * delta, s.theta)
            aux = jnp.where(move, s.aux - t * daux, s.aux)
            g = jax.lax.cond(move, lambda: oracle.grad(theta, aux), lambda: s.g)
            # At rounding level a step that does not shrink the gradient means the optimum is
            # reached to working precision: keep the better iterate and stop.
            stalled = move & tiny & (jnp.max(jnp.abs(g)) >= jnp.max(jnp.abs(s.g)))
            new_status = jnp.where(stalled, Status.CONVERGED, new_status).astype(jnp.int32)
            move = move & ~stalled
            theta = jnp.where(move, theta, s.theta)
            aux = jnp.where(move, aux, s.aux)
            g = jnp.where(move, g, s.g)
            f = jnp.where(move, ft, s.f)
            k = s.k + move.astype(jnp.int32)
            return s._replace(
                k=k, theta=theta, aux=aux, f=f, g=g, status=new_status, done=~move,
                loss_h=s.loss_h.at[k].set(jnp.where(move, f, s.loss_h[k])),
                gnorm_h=s.gnorm_h.at[k].set(jnp.where(move, jnp.max(jnp.abs(g)), s.gnorm_h[k])),
                step_h=s.step_h.at[k].set(jnp.where(move, t, s.step_h[k])),
            )

        def finish(s: _NewtonState) -> _NewtonState:
            return s._replace(status=status, done=jnp.bool_(True))

        return jax.lax.cond(stop, finish, step, s)

    s = jax.lax.while_loop(cond, body, state)
    result = FitResult(
        params=s.theta, loss=s.f, grad_norm=jnp.max(jnp.abs(s.g)), steps=s.k, status=s.status,
        loss_history=s.loss_h, grad_norm_history=s.gnorm_h, step_size_history=s.step_h,
    )
    return s.theta, s.f, s.g, result


class _GDState(NamedTuple):
    k: jax.Array
    params: Any
    opt_state: Any
    f: jax.Array
    g: Any
    status: jax.Array
    loss_h: jax.Array
    gnorm_h: jax.Array
    step_h: jax.Array


def _tree_max_abs(tree: Any) -> jax.Array:
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in jax.tree.leaves(tree)]))


def gradient_descent(
    value_and_grad: Callable[[Any], tuple[jax.Array, Any]],
    params0: Any,
    optimizer: optax.GradientTransformation,
    *,
    max_steps: int,
    gtol: jax.Array,
) -> FitResult:
    """Run an optax optimiser in one ``lax.while_loop`` until ``||g||_inf <= gtol``.

    ``value_and_grad(params) -> (f, g)`` should compute the objective and its gradient from one
    shared forward pass (the closed forms do). The step-size history records
    ``||update||_inf``. Statuses: CONVERGED, MAX_STEPS, NONFINITE.
    """
    f0, g0 = value_and_grad(params0)
    dtype = jnp.result_type(f0)
    nan_hist = jnp.full((max_steps + 1,), jnp.nan, dtype)
    state = _GDState(
        k=jnp.int32(0), params=params0, opt_state=optimizer.init(params0), f=f0, g=g0,
        status=_running(), loss_h=nan_hist.at[0].set(f0),
        gnorm_h=nan_hist.at[0].set(_tree_max_abs(g0)), step_h=nan_hist,
    )

    def classify(s: _GDState) -> jax.Array:
        gnorm = _tree_max_abs(s.g)
        finite = jnp.isfinite(s.f) & jnp.isfinite(gnorm)
        status = jnp.where(~finite, Status.NONFINITE, _running())
        status = jnp.where((status < 0) & (gnorm <= gtol), Status.CONVERGED, status)
        status = jnp.where((status < 0) & (s.k >= max_steps), Status.MAX_STEPS, status)
        return status.astype(jnp.int32)

    def cond(s: _GDState) -> jax.Array:
        return s.status < 0

    def body(s: _GDState) -> _GDState:
        updates, opt_state = optimizer.update(s.g, s.opt_state, s.params)
        params = optax.apply_updates(s.params, updates)
        f, g = value_and_grad(params)
        k = s.k + 1
        s = s._replace(
            k=k, params=params, opt_state=opt_state, f=f, g=g,
            loss_h=s.loss_h.at[k].set(f), gnorm_h=s.gnorm_h.at[k].set(_tree_max_abs(g)),
            step_h=s.step_h.at[k].set(_tree_max_abs(updates)),
        )
        return s._replace(status=classify(s))

    state = state._replace(status=classify(state))
    s = jax.lax.while_loop(cond, body, state)
    return FitResult(
        params=s.params, loss=s.f, grad_norm=_tree_max_abs(s.g), steps=s.k, status=s.status,
        loss_history=s.loss_h, grad_norm_history=s.gnorm_h, step_size_history=s.step_h,
    )
