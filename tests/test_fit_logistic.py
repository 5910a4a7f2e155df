"""Q1 fits: Newton/IRLS and gradient descent against an independent float64 reference."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl import _fit, data, logistic, softmax
from jaxdl.results import Status, message


@pytest.fixture(scope="module")
def cancer():
    ds = data.load_breast_cancer()
    Xs, _, _ = data.standardize(jnp.asarray(ds.X))
    return Xs, jnp.asarray(ds.y, jnp.float64)


def _numpy_newton(X, y, l2, steps=100):
    """Independent reference: plain NumPy damped Newton on [w; b] in float64."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    R = np.diag(np.r_[np.full(d, l2), 0.0])

    def f(t):
        z = A @ t
        return np.sum(np.logaddexp(0, z) - y * z) + 0.5 * t @ R @ t

    t = np.zeros(d + 1)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(A @ t)))
        g = A.T @ (p - y) + R @ t
        if np.max(np.abs(g)) < 1e-11:
            break
        H = (A * (p * (1 - p))[:, None]).T @ A + R
        step = np.linalg.solve(H, g)
        a = 1.0
        while f(t - a * step) > f(t) - 1e-4 * a * g @ step and a > 1e-10:
            a /= 2
        t = t - a * step
    return t[:-1], t[-1], f(t)


@pytest.mark.parametrize("l2", [1.0, 0.1])
def test_newton_reaches_reference_optimum(cancer, l2):
    X, y = cancer
    res = logistic.fit_newton(X, y, l2=l2)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    assert float(res.grad_norm) < 1e-8
    w_ref, b_ref, f_ref = _numpy_newton(X, y, l2)
    w, b = res.params
    np.testing.assert_allclose(w, w_ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(w_ref)))
    np.testing.assert_allclose(b, b_ref, rtol=1e-6)
    np.testing.assert_allclose(res.loss, f_ref, rtol=1e-12)
    assert res.steps < 15


def test_newton_l2_zero_nonseparable_subset(cancer):
    # All 30 standardised features separate the classes (see the next test); the first five
    # do not, so the unpenalised optimum exists and is reached.
    X, y = cancer
    X5 = X[:, :5]
    res = logistic.fit_newton(X5, y)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    assert float(res.grad_norm) < 1e-8
    w_ref, b_ref, _ = _numpy_newton(X5, y, 0.0)
    np.testing.assert_allclose(res.params[0], w_ref, rtol=1e-6)
    np.testing.assert_allclose(res.params[1], b_ref, rtol=1e-6)


def test_breast_cancer_is_separable_without_penalty(cancer):
    X, y = cancer
    res = logistic.fit_newton(X, y, l2=0.0)
    assert int(res.status) == Status.SEPARABLE, message(res.status)
    w, b = res.params
    assert bool(jnp.all(jnp.isfinite(w)))
    z = X @ w + b
    assert bool(jnp.all((2 * y - 1) * z > 0))  # a certificate: w separates the classes


def test_separable_generator():
    X, y, _, _ = data.make_separable(jax.random.key(0), 200, 4, dtype=jnp.float64)
    res = logistic.fit_newton(X, y)
    assert int(res.status) == Status.SEPARABLE
    assert bool(jnp.all(jnp.isfinite(res.params[0])))
    assert "no finite minimiser" in message(res.status)
    # With a penalty the optimum is finite.
    assert int(logistic.fit_newton(X, y, l2=1.0).status) == Status.CONVERGED


def test_duplicated_column_is_singular(cancer):
    X, y = cancer
    Xd = jnp.concatenate([X[:, :4], X[:, :1]], axis=1)
    res = logistic.fit_newton(Xd, y)
    assert int(res.status) == Status.SINGULAR
    assert "l2 > 0" in message(res.status)
    assert bool(jnp.all(jnp.isfinite(res.params[0])))
    assert int(logistic.fit_newton(Xd, y, l2=1e-3).status) == Status.CONVERGED


def test_mixed_precision_step_matches_full(cancer):
    X, y = cancer
    mixed = logistic.fit_newton(X, y, l2=1.0, precision="mixed")
    full = logistic.fit_newton(X, y, l2=1.0, precision="full")
    assert int(mixed.status) == int(full.status) == Status.CONVERGED
    np.testing.assert_allclose(mixed.params[0], full.params[0], rtol=1e-9, atol=1e-12)
    assert abs(int(mixed.steps) - int(full.steps)) <= 1


def test_float32_newton(cancer):
    X, y = cancer
    res = logistic.fit_newton(X.astype(jnp.float32), y.astype(jnp.float32), l2=1.0)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    assert res.params[0].dtype == jnp.float32
    full = logistic.fit_newton(X, y, l2=1.0)
    np.testing.assert_allclose(res.params[0], full.params[0], rtol=2e-3, atol=2e-4)


def test_gd_seed_update_reaches_newton_loss(cancer):
    X, y = cancer
    newton = logistic.fit_newton(X, y, l2=1.0)
    gd = logistic.fit_gd(X, y, lr_w=1e-3, lr_b=1e-3, l2=1.0, max_steps=30000, gtol=1e-9)
    assert int(gd.status) == Status.CONVERGED, message(gd.status)
    np.testing.assert_allclose(gd.loss, newton.loss, rtol=1e-11)
    h = np.asarray(gd.loss_history[: int(gd.steps) + 1])
    assert np.all(np.diff(h) <= 1e-12)  # monotone for a step below 1/L
    assert np.all(np.isnan(np.asarray(gd.loss_history[int(gd.steps) + 1:])))


def test_gd_accepts_any_optax_optimizer(cancer):
    X, y = cancer
    res = logistic.fit_gd(X, y, optimizer=optax.adam(0.05), l2=1.0, max_steps=3000, gtol=1e-6)
    newton = logistic.fit_newton(X, y, l2=1.0)
    assert abs(float(res.loss) - float(newton.loss)) < 1e-3


def test_gd_diverging_rate_is_nonfinite_status():
    X, y, _, _ = data.make_logistic(jax.random.key(1), 50, 3, dtype=jnp.float64)
    res = logistic.fit_gd(X * 1e150, y, lr_w=1e150, lr_b=1.0, max_steps=50)
    assert int(res.status) == Status.NONFINITE
    # The last finite iterate is returned, not the overflowed one.
    assert bool(jnp.all(jnp.isfinite(res.params[0]))) and bool(jnp.isfinite(res.params[1]))


def test_gd_on_separable_data_says_separable():
    X, y, _, _ = data.make_separable(jax.random.key(12), 60, 3, dtype=jnp.float64)
    res = logistic.fit_gd(X, y, lr_w=0.5, lr_b=0.5, max_steps=5000)
    assert int(res.status) == Status.SEPARABLE, message(res.status)
    assert bool(jnp.all((2 * y - 1) * (X @ res.params[0] + res.params[1]) > 0))
    Xm, ym = data.make_multiclass(jax.random.key(3), 30, 2, 3, dtype=jnp.float64)
    sep = jnp.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    ys = jnp.array([0, 1, 2])
    assert int(softmax.fit_gd(sep, ys, lr=0.1, max_steps=5000).status) == Status.SEPARABLE
    assert int(softmax.fit_gd(Xm, ym, lr=0.01, l2=1.0, max_steps=10).status) == \
        Status.MAX_STEPS


def test_gd_new_rate_does_not_recompile():
    X, y, _, _ = data.make_logistic(jax.random.key(5), 80, 3, dtype=jnp.float64)
    logistic.fit_gd(X, y, lr_w=0.01, lr_b=0.01, max_steps=5)
    before = _fit.fit._cache_size()
    for lr in (0.02, 0.03):
        logistic.fit_gd(X, y, lr_w=lr, lr_b=lr / 2, max_steps=5)
    assert _fit.fit._cache_size() == before


def test_all_zero_weights_under_jit_are_invalid():
    X, y, _, _ = data.make_logistic(jax.random.key(5), 80, 3, dtype=jnp.float64)
    fit = jax.jit(lambda sw: logistic.fit_newton(X, y, sample_weight=sw))
    assert int(fit(jnp.zeros(80)).status) == Status.INVALID_INPUT
    many = logistic.fit_newton_many(X, y, sample_weight=jnp.ones((2, 80)))
    assert [int(v) for v in many.status] == [Status.CONVERGED] * 2


def test_vmap_over_problems_equals_loop():
    keys = jax.random.split(jax.random.key(2), 8)
    Xs, ys = jax.vmap(lambda k: data.make_logistic(k, 64, 3, dtype=jnp.float64)[:2])(keys)
    l2s = jnp.linspace(0.0, 1.0, 8)
    batched = jax.vmap(lambda X, y, l2: logistic.fit_newton(X, y, l2=l2))(Xs, ys, l2s)
    for i in range(8):
        one = logistic.fit_newton(Xs[i], ys[i], l2=float(l2s[i]))
        assert int(batched.status[i]) == int(one.status)
        np.testing.assert_allclose(batched.params[0][i], one.params[0], rtol=1e-10, atol=1e-12)


def test_vmap_one_failure_does_not_spoil_others():
    X, y, _, _ = data.make_logistic(jax.random.key(3), 64, 3, dtype=jnp.float64)
    Xsep, ysep, _, _ = data.make_separable(jax.random.key(4), 64, 3, dtype=jnp.float64)
    Xb, yb = jnp.stack([X, Xsep, X.at[0, 0].set(jnp.nan)]), jnp.stack([y, ysep, y])
    res = jax.vmap(lambda X, y: logistic.fit_newton(X, y))(Xb, yb)
    assert [int(s) for s in res.status] == [Status.CONVERGED, Status.SEPARABLE, Status.NONFINITE]
    assert bool(jnp.all(jnp.isfinite(res.params[0][:2])))


def test_no_recompile_for_same_shapes():
    # One compiled program per (model, solver, shape): new data and new traced
    # hyperparameters (penalty, rates) of the same shapes reuse it.
    X1, y1, _, _ = data.make_logistic(jax.random.key(5), 80, 3, dtype=jnp.float64)
    X2, y2, _, _ = data.make_logistic(jax.random.key(6), 80, 3, dtype=jnp.float64)
    logistic.fit_newton(X1, y1, l2=0.5)
    logistic.fit_gd(X1, y1, lr_w=0.01, lr_b=0.01, max_steps=10)
    before = _fit.fit._cache_size()
    logistic.fit_newton(X2, y2, l2=0.25)
    logistic.fit_gd(X2, y2, lr_w=0.02, lr_b=0.01, max_steps=10)
    logistic.fit_gd(X2, y2, lr=0.03, max_steps=10)
    assert _fit.fit._cache_size() == before
    softmax.fit_newton(X1, (y1 > 0).astype(jnp.int32), num_classes=2)
    assert _fit.fit._cache_size() == before + 1  # another model is another program


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"l2": -1.0}, ValueError, "l2: expected a finite number >= 0, got -1.0"),
        ({"max_steps": 0}, ValueError, "max_steps: expected an int >= 1, got 0"),
        ({"gtol": 0.0}, ValueError, "gtol: expected a finite number > 0"),
        ({"precision": "half"}, ValueError, "precision: expected 'auto', 'mixed' or 'full'"),
    ],
)
def test_newton_bad_arguments(kwargs, exc, msg):
    X = jnp.ones((4, 2))
    y = jnp.array([0.0, 1.0, 0.0, 1.0])
    with pytest.raises(exc, match=msg):
        logistic.fit_newton(X, y, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"lr_w": 0.0, "lr_b": 0.1}, ValueError, "lr_w: expected a finite number > 0, got 0.0"),
        ({"lr_w": 0.1, "lr_b": -1.0}, ValueError, "lr_b: expected a finite number > 0"),
        ({"lr_w": 0.1}, TypeError, "lr_w, lr_b: expected both learning rates"),
        ({"lr_w": 0.1, "lr_b": 0.1, "optimizer": optax.sgd(0.1)}, TypeError, "got both"),
    ],
)
def test_gd_bad_arguments(kwargs, exc, msg):
    X = jnp.ones((4, 2))
    y = jnp.array([0.0, 1.0, 0.0, 1.0])
    with pytest.raises(exc, match=msg):
        logistic.fit_gd(X, y, **kwargs)


def test_lbfgs_reaches_reference_optimum(cancer):
    X, y = cancer
    res = logistic.fit_lbfgs(X, y, l2=1.0)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    assert float(res.grad_norm) <= 1e-12 * X.shape[0]
    w_ref, b_ref, f_ref = _numpy_newton(X, y, 1.0)
    np.testing.assert_allclose(res.params[0], w_ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(w_ref)))
    np.testing.assert_allclose(res.loss, f_ref, rtol=1e-12)
    h = np.asarray(res.loss_history[: int(res.steps) + 1])
    assert np.all(np.diff(h) <= 1e-9 * abs(f_ref))  # monotone up to rounding


def test_lbfgs_statuses(cancer):
    X, y = cancer
    sep = logistic.fit_lbfgs(X, y)
    assert int(sep.status) == Status.SEPARABLE
    assert bool(jnp.all((2 * y - 1) * (X @ sep.params[0] + sep.params[1]) > 0))
    short = logistic.fit_lbfgs(X, y, l2=1.0, max_steps=3)
    assert int(short.status) == Status.MAX_STEPS
    nan = jax.jit(lambda X, y: logistic.fit_lbfgs(X, y, l2=1.0, max_steps=3))(
        X.at[0, 0].set(jnp.nan), y)
    assert int(nan.status) == Status.NONFINITE


def test_sample_weight_counts_equal_resampled_rows(cancer):
    X, y = cancer
    n = X.shape[0]
    idx = jax.random.randint(jax.random.key(7), (n,), 0, n)
    counts = jnp.bincount(idx, length=n).astype(X.dtype)
    weighted = logistic.fit_newton(X, y, l2=1.0, sample_weight=counts)
    resampled = logistic.fit_newton(X[idx], y[idx], l2=1.0)
    assert int(weighted.status) == Status.CONVERGED
    np.testing.assert_allclose(weighted.params[0], resampled.params[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss, resampled.loss, rtol=1e-12)
    lb = logistic.fit_lbfgs(X, y, l2=1.0, sample_weight=counts)
    np.testing.assert_allclose(lb.params[0], resampled.params[0], rtol=1e-6, atol=1e-8)


def test_fit_newton_many_matches_single_fits(cancer):
    X, y = cancer
    n = X.shape[0]
    keys = jax.random.split(jax.random.key(8), 3)
    counts = jax.vmap(lambda k: jnp.bincount(jax.random.randint(k, (n,), 0, n), length=n))(
        keys).astype(X.dtype)
    l2 = jnp.array([0.1, 1.0, 10.0])
    many = logistic.fit_newton_many(X, y, sample_weight=counts, l2=l2)
    assert many.params[0].shape == (3, X.shape[1])
    for i in range(3):
        one = logistic.fit_newton(X, y, l2=float(l2[i]), sample_weight=counts[i])
        assert int(many.status[i]) == int(one.status) == Status.CONVERGED
        np.testing.assert_allclose(many.params[0][i], one.params[0], rtol=1e-9, atol=1e-12)
    # A penalty path with shared weights, and a fold held out by weight 0.
    path = logistic.fit_newton_many(X, y, l2=jnp.array([0.5, 5.0]))
    assert bool(jnp.all(jnp.abs(path.params[0][1]) <= jnp.abs(path.params[0][0]).max()))
    fold = jnp.ones((n,)).at[:100].set(0.0)
    held = logistic.fit_newton_many(X, y, sample_weight=fold, l2=1.0)
    sub = logistic.fit_newton(X[100:], y[100:], l2=1.0)
    np.testing.assert_allclose(held.params[0][0], sub.params[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"sample_weight": -jnp.ones(6)}, "sample_weight: expected non-negative"),
        ({"sample_weight": jnp.ones(5)}, r"sample_weight: expected shape \(6,\)"),
        ({"sample_weight": jnp.zeros(6)}, "not all zero"),
    ],
)
def test_sample_weight_bad_input(kwargs, msg):
    X = jnp.ones((6, 2))
    y = jnp.array([0.0, 1.0] * 3)
    with pytest.raises(ValueError, match=msg):
        logistic.fit_newton(X, y, **kwargs)


def test_fit_newton_many_bad_input():
    X = jnp.ones((6, 2))
    y = jnp.array([0.0, 1.0] * 3)
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(b, 6\)"):
        logistic.fit_newton_many(X, y, sample_weight=jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="l2: expected a batch of 1 or 3"):
        logistic.fit_newton_many(X, y, sample_weight=jnp.ones((3, 6)), l2=jnp.ones(2))
    with pytest.raises(ValueError, match="l2: expected penalties >= 0"):
        logistic.fit_newton_many(X, y, l2=jnp.array([1.0, -1.0]))
