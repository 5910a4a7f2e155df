"""Tests for jaxdl.newton (seed Q6): Newton's method, its statuses and its quadratic convergence."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS

import jaxdl.verify.newton as vn
from jaxdl import newton
from jaxdl.results import NewtonResult, SolverError, Status, raise_if_failed
from jaxdl.verify.core import REGISTRY, check

DTYPES = (jnp.float64, jnp.float32)
EPS = {dt: float(jnp.finfo(dt).eps) for dt in DTYPES}
STARTS = {"x^2 - 2": 1.0, "cos x - x": 1.0, "e^x - 3": 2.0}
EXAMPLES = {ex.name: ex for ex in vn.ROOT_EXAMPLES}


def _diagnostics(result, x_star):
    """Errors, observed orders, quadratic and linear ratios (the library jits each once)."""
    return (newton.errors(result, x_star), newton.convergence_order(result, x_star),
            newton.quadratic_ratio(result, x_star), newton.error_ratio(result, x_star))


def _double(x):
    """(x - 1)^2 (x + 2): a double root at 1, in factored form (accurate near the root)."""
    return (x - 1) ** 2 * (x + 2)


def _no_real_root(x):
    return x * x + 1


def _exp_min(x):
    return jnp.exp(x) - 2 * x


def _rosenbrock(v):
    return 100 * (v[1] - v[0] ** 2) ** 2 + (1 - v[0]) ** 2


A = np.array([[4.0, 1.0, 0.0, 0.5], [1.0, 3.0, 1.0, 0.0], [0.0, 1.0, 2.0, 0.3],
              [0.5, 0.0, 0.3, 1.5]])
B = np.array([1.0, 2.0, 3.0, -1.0])


def _quadratic(x):
    a, b = jnp.asarray(A, x.dtype), jnp.asarray(B, x.dtype)
    return 0.5 * x @ (a @ x) - b @ x


def _root_vmapped(f):
    return jax.jit(jax.vmap(lambda x0: newton.root(f, x0)))


_vmapped_sq = _root_vmapped(vn._sq)
_vmapped_no_root = _root_vmapped(_no_real_root)


def _assert_well_formed(res: NewtonResult, max_steps: int = 50):
    """x is finite and is history[steps]; history is finite up to steps and NaN after."""
    steps = int(res.steps)
    hist, rhist, x = (np.asarray(a) for a in (res.history, res.residual_history, res.x))
    assert 0 <= steps <= max_steps
    assert hist.shape[0] == rhist.shape[0] == max_steps + 1
    assert res.status.dtype == jnp.int32 and res.steps.dtype == jnp.int32
    assert x.dtype == hist.dtype == rhist.dtype and not res.x.weak_type
    np.testing.assert_array_equal(hist[steps], x)
    assert np.all(np.isfinite(x))
    assert np.all(np.isfinite(hist[: steps + 1])) and np.all(np.isnan(hist[steps + 1:]))
    assert np.all(np.isfinite(rhist[: steps + 1])) and np.all(np.isnan(rhist[steps + 1:]))


# ----------------------------------------------------------------------------------------------
# Simple roots: quadratic convergence, measured.


@pytest.mark.parametrize("name", sorted(STARTS))
def test_root_converges_quadratically_float64(name):
    ex = EXAMPLES[name]
    x_star = jnp.asarray(ex.x_star)
    res = newton.root(ex.f, jnp.asarray(STARTS[name]))
    _assert_well_formed(res)
    assert int(res.status) == Status.CONVERGED
    assert abs(float(res.x) - ex.x_star) <= 4 * EPS[jnp.float64] * (1 + ex.x_star)
    e, order, ratio, _ = _diagnostics(res, x_star)
    q, k = newton.last_valid(order)
    assert 1.8 <= float(q) <= 2.2, f"observed order {float(q)} at step {int(k)}"
    r, kr = newton.last_valid(ratio)
    limit = float(newton.quadratic_limit(ex.f, x_star))
    hand = abs(float(ex.d2f(x_star))) / (2 * abs(float(ex.df(x_star))))
    assert limit == pytest.approx(hand, rel=1e-14)
    assert abs(float(r) - limit) / limit < 1e-2, (float(r), limit, int(kr))
    # The per-step bound of Q6: |e_{k+1}| <= e_k^2 max|f''| / (2 |f'(x_k)|), up to rounding in
    # the measured error (the max of |f''| is sampled: a numerical check).
    bound, e = np.asarray(newton.error_bound(ex.f, res, x_star)), np.asarray(e)
    steps = int(res.steps)
    slack = 8 * EPS[jnp.float64] * (1 + ex.x_star)
    assert np.all(np.isfinite(bound[:steps])) and np.all(np.isnan(bound[steps:]))
    assert np.all(e[1: steps + 1] <= bound[:steps] * (1 + 1e-6) + slack)


def test_error_bound_is_tight_for_constant_second_derivative():
    """For x^2 - 2 (f'' = 2) the bound is an equality: e_{k+1} = e_k^2 / (2 x_k)."""
    ex = EXAMPLES["x^2 - 2"]
    res = newton.root(ex.f, jnp.asarray(3.0))
    e = np.asarray(newton.errors(res, jnp.asarray(ex.x_star)))
    bound = np.asarray(newton.error_bound(ex.f, res, jnp.asarray(ex.x_star)))
    informative = e[1:] > 1e-10
    np.testing.assert_allclose(e[1:][informative], bound[:-1][informative], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(STARTS))
def test_root_float32(name):
    ex = EXAMPLES[name]
    res = newton.root(ex.f, jnp.asarray(STARTS[name], jnp.float32))
    _assert_well_formed(res)
    assert res.x.dtype == jnp.float32 and res.history.dtype == jnp.float32
    assert int(res.status) == Status.CONVERGED
    assert abs(float(res.x) - ex.x_star) <= 4 * EPS[jnp.float32] * (1 + ex.x_star)


@pytest.mark.parametrize("dtype", DTYPES)
def test_root_system(dtype):
    res = newton.root(vn.system, jnp.asarray([2.0, 0.5, 1.5], dtype))
    _assert_well_formed(res)
    assert res.x.shape == (3,) and res.history.shape == (51, 3)
    assert int(res.status) == Status.CONVERGED
    np.testing.assert_allclose(res.x, np.ones(3), rtol=0, atol=8 * EPS[dtype])
    if dtype == jnp.float64:
        q, _ = newton.last_valid(_diagnostics(res, jnp.ones(3, dtype))[1])
        assert 1.8 <= float(q) <= 2.2


# ----------------------------------------------------------------------------------------------
# A double root converges only linearly.


def test_double_root_is_linear():
    x_star = jnp.asarray(1.0)
    res = newton.root(_double, jnp.asarray(2.0))
    _assert_well_formed(res)
    e, order, quad, lin = _diagnostics(res, x_star)
    q, _ = newton.last_valid(order)
    assert 0.95 <= float(q) <= 1.05, float(q)
    r, _ = newton.last_valid(lin)
    assert abs(float(r) - 0.5) < 1e-3  # e_{k+1} / e_k -> 1 - 1/m = 1/2
    assert float(newton.last_valid(quad)[0]) > 1e3  # |e_{k+1}| / e_k^2 is unbounded
    # The default tolerance stops it, slowly, with an error of about tol (1 + |x|), not eps.
    assert int(res.status) == Status.CONVERGED and int(res.steps) >= 20
    assert 1e-12 < abs(float(res.x) - 1) < 1e-6
    assert bool(jnp.isinf(newton.quadratic_limit(_double, x_star)))
    # With no tolerance the budget runs out: MAX_STEPS, finite x.
    res0 = newton.root(_double, jnp.asarray(2.0), tol=0.0, max_steps=30)
    _assert_well_formed(res0, max_steps=30)
    assert int(res0.status) == Status.MAX_STEPS and int(res0.steps) == 30


# ----------------------------------------------------------------------------------------------
# Failures are statuses, with a finite x; never a NaN reported as converged.


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_derivative(dtype):
    res = newton.root(vn._sq, jnp.asarray(0.0, dtype))
    _assert_well_formed(res)
    assert int(res.status) == Status.ZERO_DERIVATIVE and int(res.steps) == 0
    assert float(res.x) == 0.0


def test_singular_jacobian_and_hessian():
    res = newton.root(lambda v: jnp.stack([v[0] + v[1], v[0] + v[1] - 1]), jnp.ones(2))
    _assert_well_formed(res)
    assert int(res.status) == Status.ZERO_DERIVATIVE and int(res.steps) == 0
    res = newton.minimize(lambda v: v[0] ** 2 + 0 * v[1], jnp.ones(2))
    _assert_well_formed(res)
    assert int(res.status) == Status.ZERO_DERIVATIVE and int(res.steps) == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_real_root_never_converges(dtype):
    res = newton.root(_no_real_root, jnp.asarray(0.5, dtype))
    _assert_well_formed(res)
    assert int(res.status) == Status.MAX_STEPS  # from 0.5 it wanders for the whole budget
    with pytest.raises(SolverError, match="max_steps"):
        raise_if_failed(res)
    assert raise_if_failed(res, allow=(Status.MAX_STEPS,)) is res
    res = newton.root(_no_real_root, jnp.asarray(0.0, dtype))
    assert int(res.status) == Status.ZERO_DERIVATIVE and float(res.x) == 0.0


def test_nonfinite():
    # log x from 3: the first Newton step lands at x < 0, where log is NaN.
    res = newton.root(jnp.log, jnp.asarray(3.0))
    _assert_well_formed(res)
    assert int(res.status) == Status.NONFINITE and int(res.steps) == 0 and float(res.x) == 3.0
    # f NaN everywhere.
    res = newton.root(lambda x: x - jnp.nan, jnp.asarray(1.0))
    assert int(res.status) == Status.NONFINITE and float(res.x) == 1.0
    # A NaN start: eagerly an error, under jit a status.
    with pytest.raises(ValueError, match="^x0:"):
        newton.root(vn._sq, jnp.asarray(jnp.nan))
    res = jax.jit(lambda x0: newton.root(vn._sq, x0))(jnp.asarray(jnp.nan))
    assert int(res.status) == Status.NONFINITE
    # f = 1/x (no root; Newton doubles x) made NaN beyond x = 5: 1 -> 2 -> 4 -> 8 (NaN).
    res = newton.root(lambda x: jnp.where(x < 5, 1 / x, jnp.nan), jnp.asarray(1.0))
    _assert_well_formed(res)
    assert int(res.status) == Status.NONFINITE and int(res.steps) == 2 and float(res.x) == 4.0
    # f' = inf (cube root at 0) would give a zero step: NONFINITE, never a false convergence.
    res = newton.root(lambda x: jnp.cbrt(x) - 1, jnp.asarray(0.0))
    assert int(res.status) == Status.NONFINITE and int(res.steps) == 0
    # A derivative that underflows to zero far out is a zero derivative, not a NaN:
    # f = e^-x + 1 runs 0 -> 2 -> 10.4 -> 32513, where f' = -e^-x == 0.
    res = newton.root(lambda x: jnp.exp(-x) + 1, jnp.asarray(0.0))
    _assert_well_formed(res)
    assert int(res.status) == Status.ZERO_DERIVATIVE and int(res.steps) == 3


def test_vmap_matches_loop():
    starts = jnp.asarray([0.0, 0.5, 1.0, 2.0, -3.0, 10.0])
    batched = _vmapped_sq(starts)
    for i, x0 in enumerate(np.asarray(starts)):
        one = newton.root(vn._sq, x0)
        assert int(batched.status[i]) == int(one.status)
        assert int(batched.steps[i]) == int(one.steps)
        np.testing.assert_allclose(batched.x[i], one.x, rtol=1e-15)
        np.testing.assert_allclose(batched.history[i], one.history, rtol=1e-15)
    assert [int(s) for s in batched.status] == [Status.ZERO_DERIVATIVE] + [Status.CONVERGED] * 5
    np.testing.assert_allclose(jnp.abs(batched.x[1:]), np.sqrt(2.0), rtol=4e-16)
    mixed = _vmapped_no_root(jnp.asarray([0.0, 0.5]))
    assert [int(s) for s in mixed.status] == [Status.ZERO_DERIVATIVE, Status.MAX_STEPS]
    assert bool(jnp.all(jnp.isfinite(mixed.x)))


def test_compiled_once_per_function():
    calls = []

    def f(x):
        calls.append(1)
        return x * x - 3

    newton.root(f, jnp.asarray(1.0))
    traced = len(calls)
    assert traced > 0
    res = newton.root(f, jnp.asarray(5.0), tol=1e-12)
    assert len(calls) == traced, "a second call with the same f and shapes retraced"
    assert int(res.status) == Status.CONVERGED


class _Unhashable:
    """A callable that defines __eq__ without __hash__: it cannot key the compile cache."""

    __hash__ = None

    def __eq__(self, other):
        return self is other

    def __call__(self, x):
        return x * x - 5


def test_unhashable_callable_still_solves():
    res = newton.root(_Unhashable(), jnp.asarray(2.0))
    assert int(res.status) == Status.CONVERGED
    assert float(res.x) == pytest.approx(np.sqrt(5.0), rel=4 * EPS[jnp.float64])


def test_tol_is_traceable_and_inside_jit():
    solve = jax.jit(lambda x0, tol: newton.root(vn._sq, x0, tol=tol))
    loose = solve(jnp.asarray(1.0), jnp.asarray(1e-2))
    tight = solve(jnp.asarray(1.0), jnp.asarray(1e-12))
    assert int(loose.status) == int(tight.status) == Status.CONVERGED
    assert int(loose.steps) < int(tight.steps)


# ----------------------------------------------------------------------------------------------
# Minimisation: Newton on the gradient.


@pytest.mark.parametrize("dtype", DTYPES)
def test_minimize_scalar(dtype):
    cases = [(vn.objective, 1.0, 0.6823278038280193), (_exp_min, 0.0, float(np.log(2.0)))]
    for f, x0, x_star in cases:
        res = newton.minimize(f, jnp.asarray(x0, dtype))
        _assert_well_formed(res)
        assert int(res.status) == Status.CONVERGED
        assert abs(float(res.x) - x_star) <= 4 * EPS[dtype] * (1 + x_star)
        assert float(jax.grad(jax.grad(f))(res.x)) > 0  # a minimum
        if dtype == jnp.float64:
            q, _ = newton.last_valid(_diagnostics(res, jnp.asarray(x_star))[1])
            assert 1.8 <= float(q) <= 2.2
            # The minimisation form: the ratio limit of f' (|f'''| / (2 |f''|) at x*).
            r, _ = newton.last_valid(_diagnostics(res, jnp.asarray(x_star))[2])
            limit = float(newton.quadratic_limit(jax.grad(f), jnp.asarray(x_star)))
            assert abs(float(r) - limit) / limit < 1e-2


@pytest.mark.parametrize("dtype", DTYPES)
def test_minimize_quadratic_in_one_step(dtype):
    res = newton.minimize(_quadratic, jnp.zeros(4, dtype))
    _assert_well_formed(res)
    exact = np.linalg.solve(A, B)
    tol = {jnp.float64: 1e-13, jnp.float32: 1e-5}[dtype]
    # The first step solves it: history[1] is A^{-1} b to rounding, its gradient rounding-sized.
    np.testing.assert_allclose(res.history[1], exact, rtol=tol, atol=tol)
    grad_floor = 64 * EPS[dtype] * float(np.abs(B).max())
    assert float(res.residual_history[1]) <= grad_floor
    # So the solver stops within one or two steps; which one is float rounding, not maths (it
    # differs between CPUs and ISA levels): at step 1 when that gradient rounds to exactly zero
    # (the f(x) == 0 rule), else after a second, rounding-sized step that meets the step rule.
    steps = int(res.steps)
    assert int(res.status) == Status.CONVERGED and steps in (1, 2), (int(res.status), steps)
    if steps == 1:
        assert float(res.residual_history[1]) == 0.0
    else:
        second = np.max(np.abs(np.asarray(res.history[2]) - np.asarray(res.history[1])))
        assert second <= 64 * EPS[dtype] * np.linalg.cond(A) * float(np.abs(exact).max())
        assert float(res.residual_history[2]) <= grad_floor
    np.testing.assert_allclose(res.x, exact, rtol=tol, atol=tol)


def test_minimize_rosenbrock():
    res = newton.minimize(_rosenbrock, jnp.asarray([-1.2, 1.0]))
    _assert_well_formed(res)
    assert int(res.status) == Status.CONVERGED
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------------------------
# Diagnostics on a hand-made error sequence, and the registry.


def test_diagnostics_on_known_sequence():
    errs = jnp.asarray([1e-1, 1e-2, 1e-4, 1e-8, 0.0])
    hist = jnp.concatenate([2.0 + errs, jnp.full((2,), jnp.nan)])
    res = NewtonResult(x=hist[4], steps=jnp.int32(4), status=jnp.int32(0), history=hist,
                       residual_history=jnp.zeros(7))
    e, order, quad, lin = _diagnostics(res, jnp.asarray(2.0))
    np.testing.assert_allclose(e[:5], errs, rtol=1e-7, atol=1e-15)
    # Orders: q_1 = log(1e-4/1e-2)/log(1e-2/1e-1) = 2, q_2 = 2; q_3 uses e_4 = 0: uninformative.
    assert bool(jnp.isnan(order[0])) and bool(jnp.all(jnp.isnan(order[3:])))
    np.testing.assert_allclose(order[1:3], [2.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(quad[:3], [1.0, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(lin[:3], [0.1, 0.01, 1e-4], rtol=1e-6)
    val, k = newton.last_valid(order)
    assert int(k) == 2 and float(val) == pytest.approx(2.0, rel=1e-6)
    val, k = newton.last_valid(jnp.full((3,), jnp.nan))
    assert int(k) == -1 and bool(jnp.isnan(val))
    # A floor above 1e-4 hides the last ratios.
    assert int(newton.last_valid(newton.quadratic_ratio(res, 2.0, floor=1e-3))[1]) == 0


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if n.startswith("newton.")))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_registry_identities(name, dtype):
    outcome = check(REGISTRY[name], dtype=dtype, trials=TRIALS)
    assert outcome.ok, outcome


# ----------------------------------------------------------------------------------------------
# Bad inputs: ValueError/TypeError naming the argument.


def test_bad_inputs():
    x0 = jnp.asarray(1.0)
    cases = [
        (ValueError, "max_steps:", lambda: newton.root(vn._sq, x0, max_steps=0)),
        (ValueError, "max_steps:", lambda: newton.minimize(vn._sq, x0, max_steps=-3)),
        (TypeError, "max_steps:", lambda: newton.root(vn._sq, x0, max_steps=5.0)),
        (ValueError, "tol:", lambda: newton.root(vn._sq, x0, tol=-1.0)),
        (ValueError, "x0:", lambda: newton.root(vn._sq, jnp.ones((2, 2)))),
        (ValueError, "x0:", lambda: newton.root(vn._sq, jnp.ones(0))),
        (TypeError, "x0:", lambda: newton.root(vn._sq, jnp.asarray(1))),
        (TypeError, "f:", lambda: newton.root("x^2", x0)),
        (ValueError, "f:", lambda: newton.root(lambda v: v[:2], jnp.ones(3))),
        (ValueError, "f:", lambda: newton.minimize(lambda v: v, jnp.ones(3))),
        (TypeError, "f:", lambda: newton.root(lambda x: x.astype(jnp.float64),
                                              jnp.asarray(1.0, jnp.float32))),
        (ValueError, "x_star:", lambda: newton.quadratic_limit(vn._sq, jnp.ones(2))),
        (ValueError, "num_points:", lambda: newton.error_bound(
            vn._sq, newton.root(vn._sq, x0), 1.4, num_points=1)),
    ]
    for exc, prefix, call in cases:
        with pytest.raises(exc) as info:
            call()
        assert str(info.value).startswith(prefix), (prefix, str(info.value))
