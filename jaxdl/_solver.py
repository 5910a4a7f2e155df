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
LINE_NEWTON_STEPS = 3
LINE_CURVATURE = 0.1


class NewtonOracle(NamedTuple):
    """What the damped Newton loop needs from a model whose predictor is linear in theta.

    ``aux`` is the linear predictor (logits) ``A theta``; it is carried along so that a line
    search costs ``O(n)`` per trial instead of a pass over ``X``.

    Attributes:
      predictor: ``theta -> aux``.
      value: ``(theta, aux) -> f``.
      grad: ``(theta, aux) -> g`` (same shape as theta).
      direction: ``(theta, g, aux, solve_error) -> (delta, ok, daux, solve_error)``: solves
        ``H delta = g``; ``ok`` False when ``H`` is numerically singular; ``daux`` is
        ``A delta`` when the solve computed it anyway (saving the line search a pass), else
        None; ``solve_error`` is the measured relative error of an approximate factor, carried
        from one step to the next (see :func:`jaxdl._newton_step.mixed_direction`), started
        at ``solve_error0``.
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
    solve_error0: Any = None


class History(NamedTuple):
    """The per-step records every loop keeps: fixed length ``max_steps + 1``, NaN-padded."""

    loss: jax.Array
    grad_norm: jax.Array
    step_size: jax.Array

    @classmethod
    def start(cls, f0: jax.Array, g0: Any, max_steps: int) -> History:
        nan = jnp.full((max_steps + 1,), jnp.nan, jnp.result_type(f0))
        return cls(nan.at[0].set(f0), nan.at[0].set(_tree_max_abs(g0)), nan)

    def record(self, k: jax.Array, f: jax.Array, g: Any, t: jax.Array,
               keep: jax.Array | bool = True) -> History:
        """Entry ``k`` set to ``(f, max|g|, t)`` where ``keep`` (else left as it was)."""
        def put(h, v):
            return h.at[k].set(jnp.where(keep, v, h[k]))

        return History(put(self.loss, f), put(self.grad_norm, _tree_max_abs(g)),
                       put(self.step_size, t))


def result(params: Any, f: jax.Array, g: Any, k: jax.Array, status: jax.Array,
           history: History) -> FitResult:
    """The one place a :class:`FitResult` is built, for every loop."""
    return FitResult(params=params, loss=f, grad_norm=_tree_max_abs(g), steps=k,
                     status=jnp.asarray(status, jnp.int32), loss_history=history.loss,
                     grad_norm_history=history.grad_norm, step_size_history=history.step_size)


class _NewtonState(NamedTuple):
    k: jax.Array
    theta: jax.Array
    aux: jax.Array
    f: jax.Array
    g: jax.Array
    status: jax.Array
    hist: History
    solve_error: Any


def lazy_select(pred: jax.Array, value: Any, otherwise: Callable[[], Any]) -> Any:
    """``value`` where ``pred``, else ``otherwise()``: a ``lax.cond`` that stays lazy under vmap.

    Under ``vmap`` a ``lax.cond`` with a batched predicate becomes a select that evaluates
    both branches for every element (and broadcasts what they close over, e.g. ``X``). Written
    as a while loop of at most one trip, ``otherwise`` runs only when some element of the
    batch needs it, and not at all when none does. Unbatched, it is a plain conditional.
    """
    def body(c):
        return jnp.ones_like(c[0]), otherwise()

    return jax.lax.while_loop(lambda c: ~c[0], body, (jnp.asarray(pred, bool), value))[1]


def _start(oracle: NewtonOracle, theta0: jax.Array, aux0: jax.Array | None, max_steps: int):
    """What both oracle loops evaluate before their first step: the logits (unless given),
    objective and gradient at ``theta0``, and the histories with entry 0 filled in."""
    if aux0 is None:
        aux0 = oracle.predictor(theta0)
    f0 = oracle.value(theta0, aux0)
    g0 = oracle.grad(theta0, aux0)
    return aux0, f0, g0, History.start(f0, g0, max_steps)


def _running() -> jax.Array:
    return jnp.int32(Status.RUNNING)


def _is_running(status: jax.Array) -> jax.Array:
    return status == Status.RUNNING


def _tree_max_abs(tree: Any) -> jax.Array:
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in jax.tree.leaves(tree)]))


def _classify(f, g, k, *, gtol, max_steps, separated=None) -> jax.Array:
    """The stop test shared by every loop: NONFINITE, SEPARABLE, CONVERGED, MAX_STEPS or
    RUNNING, in that order of precedence."""
    gnorm = _tree_max_abs(g)
    finite = jnp.isfinite(f) & jnp.isfinite(gnorm)
    status = jnp.where(~finite, Status.NONFINITE, _running())
    # A separating iterate (no penalty) certifies that no finite minimiser exists: a small
    # gradient then only reflects the loss's asymptote, so SEPARABLE outranks CONVERGED.
    if separated is not None:
        status = jnp.where(_is_running(status) & separated, Status.SEPARABLE, status)
    status = jnp.where(_is_running(status) & (gnorm <= gtol), Status.CONVERGED, status)
    status = jnp.where(_is_running(status) & (k >= max_steps), Status.MAX_STEPS, status)
    return status.astype(jnp.int32)


def _initial(status: jax.Array, invalid: jax.Array | None) -> jax.Array:
    """The status before the first step: INVALID_INPUT when the caller's in-jit domain check
    failed (labels or penalties out of range: values the eager checks could not see)."""
    if invalid is None:
        return status
    return jnp.where(invalid, Status.INVALID_INPUT, status).astype(jnp.int32)


def _backtrack(phi: Callable, accept: Callable, t0: jax.Array):
    """Halve ``t`` from ``t0`` until ``accept(t, phi(t))`` (at most MAX_HALVINGS times).

    Returns ``(t, phi(t), accepted)``.
    """

    def cond(c):
        t, ft, j = c
        return (j < MAX_HALVINGS) & ~accept(t, ft)

    def body(c):
        t, _, j = c
        t = 0.5 * t
        return t, phi(t), j + 1

    t, ft, _ = jax.lax.while_loop(cond, body, (t0, phi(t0), 0))
    return t, ft, accept(t, ft)


def damped_newton(
    oracle: NewtonOracle, theta0: jax.Array, *, max_steps: int, gtol: jax.Array,
    invalid: jax.Array | None = None, aux0: jax.Array | None = None,
) -> FitResult:
    """Newton's method with Armijo backtracking and honest statuses.

    Stops with CONVERGED when ``||g||_inf <= gtol``, or when the Newton decrement is below the
    objective's rounding and a full Newton step no longer shrinks the gradient (the optimum is
    reached to working precision);
    SEPARABLE when ``oracle.separated``; SINGULAR when the solve fails; LINE_SEARCH_FAILED when
    no halving of the step decreases the objective; NONFINITE on a NaN/inf objective or
    gradient; MAX_STEPS otherwise.

    ``aux0``: ``oracle.predictor(theta0)`` when the caller knows it without a pass over the
    data (a cold start, theta0 = 0, has logits equal to the intercept).

    Returns:
      A :class:`FitResult` whose ``params`` is the flat ``theta`` (the model unflattens it).
    """
    dtype = theta0.dtype
    eps = jnp.finfo(dtype).eps
    aux0, f0, g0, hist = _start(oracle, theta0, aux0, max_steps)
    state = _NewtonState(
        k=jnp.int32(0), theta=theta0, aux=aux0, f=f0, g=g0, status=_running(), hist=hist,
        solve_error=oracle.solve_error0,
    )

    def classify(s: _NewtonState) -> jax.Array:
        return _classify(s.f, s.g, s.k, gtol=gtol, max_steps=max_steps,
                         separated=oracle.separated(s.theta, s.aux))

    # No lax.cond in the loop: under vmap a batched cond broadcasts every operand it closes
    # over (X included) to the batch size. The stop test sits in the loop condition instead.
    def step(s: _NewtonState) -> _NewtonState:
        delta, ok, daux, solve_error = oracle.direction(s.theta, s.g, s.aux, s.solve_error)
        decrement = jnp.vdot(s.g, delta)  # g^T H^{-1} g >= 0 for a PD Hessian
        ok = ok & jnp.isfinite(decrement) & (decrement >= 0)
        # Below the objective's rounding the Armijo test cannot see progress: take the full
        # Newton step and judge it by the gradient, which stays informative much longer.
        tiny = 0.5 * decrement <= 8 * eps * jnp.maximum(1.0, jnp.abs(s.f))
        if daux is None:
            daux = oracle.along(delta)

        def trial(t):
            return oracle.value(s.theta - t * delta, s.aux - t * daux)

        def armijo(t, ft):
            return tiny | (ft <= s.f - ARMIJO_C * t * decrement)

        t, ft, found = _backtrack(trial, armijo, jnp.ones((), dtype))
        new_status = jnp.where(~ok, Status.SINGULAR, _running())
        new_status = jnp.where(_is_running(new_status) & ~found,
                               Status.LINE_SEARCH_FAILED, new_status).astype(jnp.int32)
        move = _is_running(new_status)
        theta = jnp.where(move, s.theta - t * delta, s.theta)
        aux = jnp.where(move, s.aux - t * daux, s.aux)
        g = oracle.grad(theta, aux)
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
        new = s._replace(k=k, theta=theta, aux=aux, f=f, g=g, solve_error=solve_error,
                         hist=s.hist.record(k, f, g, t, keep=move))
        return new._replace(status=jnp.where(move, classify(new), new_status).astype(jnp.int32))

    state = state._replace(status=_initial(classify(state), invalid))
    s = jax.lax.while_loop(lambda s: _is_running(s.status), step, state)
    return result(s.theta, s.f, s.g, s.k, s.status, s.hist)


class _GDState(NamedTuple):
    k: jax.Array
    params: Any
    opt_state: Any
    f: jax.Array
    g: Any
    sep: jax.Array
    status: jax.Array
    hist: History


def default_gtol(gtol: Any, dtype: Any) -> Any:
    """The fits' tolerance on the per-sample mean gradient: ``gtol``, or by default 1e-12
    (float64) and 1e-5 (float32). (Checked by the caller's boundary.)"""
    if gtol is None:
        return 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-5
    return gtol


def gradient_descent(
    value_and_grad: Callable[[Any], tuple[jax.Array, Any, jax.Array]],
    params0: Any,
    optimizer: optax.GradientTransformation,
    *,
    max_steps: int,
    gtol: jax.Array,
    invalid: jax.Array | None = None,
    lockstep: str | None = None,
) -> FitResult:
    """Run an optax optimiser in one ``lax.while_loop`` until ``||g||_inf <= gtol``.

    ``value_and_grad(params) -> (f, g, separated)`` should compute the objective, its gradient
    and the separation certificate (see :class:`NewtonOracle`) from one shared forward pass
    (the closed forms do). The step-size history records ``||update||_inf``. Statuses:
    CONVERGED, SEPARABLE, MAX_STEPS, NONFINITE, INVALID_INPUT.

    ``lockstep`` names a ``vmap`` axis the call runs under (any batch of fits, such as a
    sweep's configurations). Plain ``vmap`` of a while loop with a per-element predicate
    selects the whole carry every trip, the ``max_steps + 1`` histories included:
    O(batch x max_steps) work a step. With
    ``lockstep`` the loop runs while any element of the axis runs (one ``psum``), each element
    freezes itself once it stops, and a step writes one history entry per element. The
    results are those of the plain loop.
    """
    f0, g0, sep0 = value_and_grad(params0)
    state = _GDState(
        k=jnp.int32(0), params=params0, opt_state=optimizer.init(params0), f=f0, g=g0,
        sep=sep0, status=_running(), hist=History.start(f0, g0, max_steps),
    )

    def classify(s: _GDState) -> jax.Array:
        return _classify(s.f, s.g, s.k, gtol=gtol, max_steps=max_steps, separated=s.sep)

    def cond(s: _GDState) -> jax.Array:
        if lockstep is None:
            return _is_running(s.status)
        return jax.lax.psum(_is_running(s.status).astype(jnp.int32), lockstep) > 0

    def body(s: _GDState) -> _GDState:
        updates, opt_state = optimizer.update(s.g, s.opt_state, s.params)
        params = optax.apply_updates(s.params, updates)
        f, g, sep = value_and_grad(params)
        k = s.k + 1
        # Unbatched (or plain vmap), the body only runs while this fit runs; in lockstep a
        # stopped element rides along, writes nothing and keeps its state.
        live = True if lockstep is None else _is_running(s.status)
        new = s._replace(k=k, params=params, opt_state=opt_state, f=f, g=g, sep=sep,
                         hist=s.hist.record(k, f, g, _tree_max_abs(updates), keep=live))
        status = classify(new)
        # A step that overflowed is recorded in the history, but the last finite iterate is
        # what the result returns (with status NONFINITE).
        keep = jax.tree.map(lambda a, b: jnp.where(status == Status.NONFINITE, b, a),
                            (new.params, new.f, new.g), (s.params, s.f, s.g))
        new = new._replace(params=keep[0], f=keep[1], g=keep[2], status=status)
        if lockstep is None:
            return new
        hist = new.hist
        frozen = jax.tree.map(lambda a, b: jnp.where(live, a, b), new._replace(hist=None),
                              s._replace(hist=None))
        return frozen._replace(hist=hist)

    state = state._replace(status=_initial(classify(state), invalid))
    s = jax.lax.while_loop(cond, body, state)
    return result(s.params, s.f, s.g, s.k, s.status, s.hist)


class _LBFGSState(NamedTuple):
    k: jax.Array
    pairs: jax.Array  # curvature pairs accepted so far (the ring buffer's write counter)
    theta: jax.Array
    aux: jax.Array
    f: jax.Array
    g: jax.Array
    S: jax.Array
    Y: jax.Array
    rho: jax.Array
    status: jax.Array
    hist: History


def _two_loop(g: jax.Array, S: jax.Array, Y: jax.Array, rho: jax.Array, k: jax.Array):
    """L-BFGS two-loop recursion: ``H_k g`` from the last ``m`` pairs (ring buffer).

    ``k`` counts the pairs written (skipped pairs do not advance it), so slot ``(k - 1) % m``
    is the newest. Slots never written have ``rho = 0`` and drop out of both loops.
    """
    m = S.shape[0]

    def newest_first(i, c):
        q, alpha = c
        j = (k - 1 - i) % m
        a = rho[j] * jnp.vdot(S[j], q)
        return q - a * Y[j], alpha.at[j].set(a)

    q, alpha = jax.lax.fori_loop(0, m, newest_first, (g, jnp.zeros((m,), g.dtype)))
    last = (k - 1) % m
    sy, yy = jnp.vdot(S[last], Y[last]), jnp.vdot(Y[last], Y[last])
    gamma = jnp.where((rho[last] > 0) & (yy > 0), sy / yy, 1.0)
    r = gamma * q

    def oldest_first(i, r):
        j = (k - m + i) % m
        b = rho[j] * jnp.vdot(Y[j], r)
        return r + S[j] * (alpha[j] - b)

    return jax.lax.fori_loop(0, m, oldest_first, r)


class Pairs(NamedTuple):
    """L-BFGS curvature pairs: a ring buffer of ``(s, y)`` steps and gradient changes with
    ``rho = 1 / s^T y`` (0 in unwritten slots) and ``count``, the pairs written so far."""

    S: jax.Array
    Y: jax.Array
    rho: jax.Array
    count: jax.Array

    @classmethod
    def empty(cls, memory: int, p: int, dtype: Any) -> Pairs:
        return cls(jnp.zeros((memory, p), dtype), jnp.zeros((memory, p), dtype),
                   jnp.zeros((memory,), dtype), jnp.int32(0))


def lbfgs(
    oracle: NewtonOracle, theta0: jax.Array, *, max_steps: int, gtol: jax.Array,
    memory: int = 10, invalid: jax.Array | None = None, aux0: jax.Array | None = None,
    pairs0: Pairs | None = None, return_pairs: bool = False,
) -> FitResult | tuple[FitResult, Pairs]:
    """Limited-memory BFGS for convex linear-predictor models, in one ``lax.while_loop``.

    Each step costs one pass for ``A p`` (the logits' direction) and one for the gradient. The
    line search takes up to LINE_NEWTON_STEPS Newton steps on ``phi'(t) = 0``, stopping once
    ``|phi'(t)| <= LINE_CURVATURE |phi'(0)|`` (strong Wolfe curvature), where ``phi(t)`` moves
    the logits along ``A p`` so ``phi'`` and ``phi''`` (forward mode) cost ``O(n)``; then an
    Armijo check with backtracking; the new logits are reused for the gradient. Curvature
    pairs with ``s^T y <= 0`` (possible only through rounding, the objective being convex) are
    skipped. ``oracle.direction`` is not used. Statuses: CONVERGED, SEPARABLE,
    LINE_SEARCH_FAILED, NONFINITE, MAX_STEPS. ``aux0`` as in :func:`damped_newton`.

    ``pairs0``: curvature pairs to start from (a warm start of the quasi-Newton model, e.g.
    from a fit of a nearby problem, its ``y`` moved to this objective); ``return_pairs``: also
    return the final pairs.
    """
    dtype = theta0.dtype
    p_dim = theta0.shape[0]
    aux0, f0, g0, hist = _start(oracle, theta0, aux0, max_steps)
    pairs0 = Pairs.empty(memory, p_dim, dtype) if pairs0 is None else pairs0
    state = _LBFGSState(
        k=jnp.int32(0), pairs=pairs0.count, theta=theta0, aux=aux0, f=f0, g=g0,
        S=pairs0.S, Y=pairs0.Y, rho=pairs0.rho, status=_running(), hist=hist,
    )

    def classify(s: _LBFGSState) -> jax.Array:
        return _classify(s.f, s.g, s.k, gtol=gtol, max_steps=max_steps,
                         separated=oracle.separated(s.theta, s.aux))

    def body(s: _LBFGSState) -> _LBFGSState:
        direction = -_two_loop(s.g, s.S, s.Y, s.rho, s.pairs)
        slope = jnp.vdot(s.g, direction)
        # A non-descent direction (rounding) falls back to steepest descent.
        direction = jnp.where(slope < 0, direction, -s.g)
        slope = jnp.where(slope < 0, slope, -jnp.vdot(s.g, s.g))
        daux = oracle.along(direction)
        eps = jnp.finfo(dtype).eps

        def phi(t):
            return oracle.value(s.theta + t * direction, s.aux + t * daux)

        def dphi(t):  # phi'(t) and phi''(t) by forward mode: O(n), no pass over X
            def d1(t):
                return jax.jvp(phi, (t,), (jnp.ones_like(t),))[1]

            return jax.jvp(d1, (t,), (jnp.ones_like(t),))

        # Exact line search: a few safeguarded Newton steps on phi'(t) = 0 (phi is convex),
        # started at the quasi-Newton step t = 1 (scaled on the first iteration).
        t_init = jnp.where(s.pairs == 0, 1.0 / jnp.maximum(1.0, jnp.max(jnp.abs(s.g))), 1.0)

        # Newton steps stop once |phi'(t)| <= LINE_CURVATURE |phi'(0)| (the strong Wolfe
        # curvature condition): near the optimum the quasi-Newton step t = 1 usually meets it
        # at once, and each skipped step saves an O(n) evaluation of phi' and phi''.
        def newton_cond(c):
            j, _, d1, _ = c
            return (j < LINE_NEWTON_STEPS) & (jnp.abs(d1) > LINE_CURVATURE * jnp.abs(slope))

        def newton_1d(c):
            j, t, d1, d2 = c
            t_new = t - d1 / d2
            ok = jnp.isfinite(t_new) & (d2 > 0) & (t_new > 0)
            # A refused step ends the search (j jumps to the limit).
            t = jnp.where(ok, t_new, t)
            j = jnp.where(ok, j + 1, LINE_NEWTON_STEPS)
            d1, d2 = dphi(t)
            return j, t, d1, d2

        t0 = t_init.astype(dtype)
        _, t_exact, _, _ = jax.lax.while_loop(newton_cond, newton_1d, (0, t0, *dphi(t0)))
        # Below the objective's rounding the Armijo test cannot see progress; phi'(t), a sum
        # of O(n) terms, still can: there a step is accepted when it halves |phi'|.
        tiny = -slope <= 8 * eps * jnp.maximum(1.0, jnp.abs(s.f))

        def armijo(t, ft):
            decrease = ft <= s.f + ARMIJO_C * t * slope
            # phi'(t) only where it decides (lazily: not an O(n) evaluation per trial).
            return lazy_select(~tiny, decrease,
                               lambda: jnp.abs(dphi(t)[0]) <= 0.5 * jnp.abs(slope))

        t, ft, found = _backtrack(phi, armijo, t_exact)
        theta = s.theta + t * direction
        aux = s.aux + t * daux
        g = oracle.grad(theta, aux)
        sk, yk = t * direction, g - s.g
        sy = jnp.vdot(sk, yk)
        slot = s.pairs % memory
        good = sy > jnp.finfo(dtype).eps * jnp.vdot(yk, yk)
        S = jnp.where(good, s.S.at[slot].set(sk), s.S)
        Y = jnp.where(good, s.Y.at[slot].set(yk), s.Y)
        rho = jnp.where(good, s.rho.at[slot].set(1.0 / jnp.where(good, sy, 1.0)), s.rho)
        k = s.k + 1
        moved = s._replace(
            k=k, pairs=s.pairs + good.astype(jnp.int32), theta=theta, aux=aux, f=ft, g=g,
            S=S, Y=Y, rho=rho, hist=s.hist.record(k, ft, g, t),
        )
        moved = moved._replace(status=classify(moved))
        failed = s._replace(status=jnp.int32(Status.LINE_SEARCH_FAILED))
        return jax.tree.map(lambda a, b: jnp.where(found, a, b), moved, failed)

    state = state._replace(status=_initial(classify(state), invalid))
    s = jax.lax.while_loop(lambda s: _is_running(s.status), body, state)
    res = result(s.theta, s.f, s.g, s.k, s.status, s.hist)
    return (res, Pairs(s.S, s.Y, s.rho, s.pairs)) if return_pairs else res
