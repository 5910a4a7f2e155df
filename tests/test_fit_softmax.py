"""Softmax regression fits (Q3b/Q7 closed forms in a Newton and a GD loop)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import data, softmax
from jaxdl.results import Status, message


@pytest.fixture(scope="module")
def multiclass():
    X, y = data.make_multiclass(jax.random.key(0), 300, 4, 3, dtype=jnp.float64)
    return X, y


def _numpy_gradient(W, b, X, y, l2):
    """Independent NumPy gradient of sum CE + l2/2 ||W||^2 (all K rows)."""
    W, b, X = (np.asarray(a, np.float64) for a in (W, b, X))
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    R = P - np.eye(W.shape[0])[np.asarray(y)]
    return R.T @ X + l2 * W, R.sum(0)


def test_newton_optimum_is_stationary(multiclass):
    X, y = multiclass
    res = softmax.fit_newton(X, y)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    W, b = res.params
    assert W.shape == (3, 4) and b.shape == (3,)
    np.testing.assert_array_equal(W[-1], 0.0)  # reference class
    gW, gb = _numpy_gradient(W, b, X, y, 0.0)
    assert np.max(np.abs(gW)) < 1e-9 and np.max(np.abs(gb)) < 1e-9
    assert res.steps < 15


def test_gd_reaches_newton_loss(multiclass):
    X, y = multiclass
    newton = softmax.fit_newton(X, y, l2=0.5)
    gd = softmax.fit_gd(X, y, lr=2e-3, l2=0.5, max_steps=5000, gtol=1e-8)
    assert int(gd.status) == Status.CONVERGED, message(gd.status)
    np.testing.assert_allclose(gd.loss, newton.loss, rtol=1e-8)
    np.testing.assert_allclose(gd.params[0], newton.params[0], rtol=1e-5, atol=1e-6)


def test_digits_l2_zero_is_singular_and_l2_fits():
    # Digits has all-zero pixel columns: without a penalty the Hessian is singular.
    ds = data.load_digits()
    Xs, _, _ = data.standardize(jnp.asarray(ds.X))
    y = jnp.asarray(ds.y)
    assert int(softmax.fit_newton(Xs, y).status) == Status.SINGULAR
    res = softmax.fit_newton(Xs, y, l2=1.0)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    assert float(jnp.mean(softmax.predict(*res.params, Xs) == y)) > 0.99
    gW, gb = _numpy_gradient(*res.params, Xs, y, 0.0)
    gW[:-1] += 1.0 * np.asarray(res.params[0])[:-1]
    assert np.max(np.abs(gW[:-1])) < 1e-8 and np.max(np.abs(gb[:-1])) < 1e-8


def test_separable_multiclass():
    X = jnp.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0], [2.5, 0.5], [0.5, 2.5], [-2.0, -3.0]])
    y = jnp.array([0, 1, 2, 0, 1, 2])
    res = softmax.fit_newton(X, y)
    assert int(res.status) == Status.SEPARABLE
    assert bool(jnp.all(jnp.isfinite(res.params[0])))
    np.testing.assert_array_equal(softmax.predict(*res.params, X), y)


def test_float32(multiclass):
    X, y = multiclass
    res = softmax.fit_newton(X.astype(jnp.float32), y, l2=0.5)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    ref = softmax.fit_newton(X, y, l2=0.5)
    np.testing.assert_allclose(res.params[0], ref.params[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "y", "exc", "msg"),
    [
        ({}, jnp.array([0, 1, 3]), ValueError, r"y: expected integer class ids in 0..2"),
        ({}, jnp.array([0.5, 1.0, 0.0]), ValueError, "y: expected integer class ids"),
        ({"num_classes": 1}, jnp.array([0, 0, 0]), ValueError, "num_classes: expected an int >= 2"),
        ({"l2": -0.1}, jnp.array([0, 1, 2]), ValueError, "l2: expected a finite number >= 0"),
    ],
)
def test_bad_input(kwargs, y, exc, msg):
    X = jnp.ones((3, 2))
    with pytest.raises(exc, match=msg):
        softmax.fit_newton(X, y, **({"num_classes": 3} | kwargs))
