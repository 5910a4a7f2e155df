"""Softmax regression fits (Q3b/Q7 closed forms in a Newton and a GD loop)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
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


# ----------------------------------------------------------------------------------------------
# One shape for both models: the same verbs, keywords and semantics as jaxdl.logistic.

VERBS = ("fit_gd", "fit_newton", "fit_lbfgs", "fit_newton_many", "predict_proba", "predict",
         "accuracy")


@pytest.mark.parametrize("verb", VERBS)
def test_same_verbs_and_keywords_as_logistic(verb):
    import inspect

    from jaxdl import logistic

    def keywords(fn):
        return {p.name for p in inspect.signature(fn).parameters.values()
                if p.kind == p.KEYWORD_ONLY}

    extra = {"num_classes"} if verb.startswith("fit_") else set()
    assert keywords(getattr(softmax, verb)) - extra == keywords(getattr(logistic, verb)) - \
        {"precision"}  # logistic's mixed-precision Newton has no softmax counterpart
    if verb.startswith("fit_"):
        assert {"l2", "max_steps", "gtol", "sample_weight", "w0", "b0"} <= keywords(
            getattr(softmax, verb))


def test_integer_weights_equal_repeated_rows(multiclass):
    X, y = multiclass
    counts = (jnp.arange(X.shape[0]) % 3).astype(X.dtype)
    rep = np.repeat(np.arange(X.shape[0]), np.asarray(counts, int))
    weighted = softmax.fit_newton(X, y, l2=0.5, sample_weight=counts)
    repeated = softmax.fit_newton(X[rep], y[rep], l2=0.5)
    assert weighted.ok and repeated.ok
    np.testing.assert_allclose(weighted.params[0], repeated.params[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(float(weighted.loss), float(repeated.loss), rtol=1e-12)


def test_lbfgs_and_gd_reach_the_newton_optimum(multiclass):
    X, y = multiclass
    newton = softmax.fit_newton(X, y, l2=0.5)
    lbfgs = softmax.fit_lbfgs(X, y, l2=0.5, gtol=1e-10)
    gd = softmax.fit_gd(X, y, lr_w=2e-3, lr_b=3e-3, l2=0.5, max_steps=5000, gtol=1e-8)
    for res in (newton, lbfgs, gd):
        assert res.ok, res.message
    np.testing.assert_allclose(float(lbfgs.loss), float(newton.loss), rtol=1e-12)
    np.testing.assert_allclose(lbfgs.params[0], newton.params[0], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(float(gd.loss), float(newton.loss), rtol=1e-8)


def test_warm_start_at_the_optimum_takes_no_step_and_is_shift_invariant(multiclass):
    X, y = multiclass
    ref = softmax.fit_newton(X, y, l2=0.5)
    W, b = ref.params
    warm = softmax.fit_newton(X, y, l2=0.5, w0=W, b0=b)
    assert warm.ok and int(warm.steps) == 0
    # A start in the full parameterisation: adding one row to every class is the same model.
    shifted = softmax.fit_newton(X, y, l2=0.5, w0=W + 0.3, b0=b - 0.2, max_steps=3)
    np.testing.assert_allclose(shifted.params[0], W, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"w0: expected shape \(3, 4\)"):
        softmax.fit_newton(X, y, w0=W[:2])


def test_newton_many_rows_equal_single_fits(multiclass):
    X, y = multiclass
    n = X.shape[0]
    sw = jax.random.poisson(jax.random.key(1), 1.0, (3, n)).astype(X.dtype)
    l2 = jnp.array([0.1, 0.5, 2.0])
    many = softmax.fit_newton_many(X, y, sample_weight=sw, l2=l2)
    assert many.params[0].shape == (3, 3, 4) and bool(many.ok)
    assert many.status_name == ["converged"] * 3
    for i in range(3):
        one = softmax.fit_newton(X, y, sample_weight=sw[i], l2=float(l2[i]))
        np.testing.assert_allclose(many.params[0][i], one.params[0], rtol=1e-10, atol=1e-12)


def test_predict_proba_predict_and_accuracy_agree(multiclass):
    X, y = multiclass
    W, b = softmax.fit_newton(X, y, l2=0.5).params
    P = softmax.predict_proba(W, b, X)
    np.testing.assert_allclose(jnp.sum(P, axis=1), 1.0, rtol=1e-14)
    pred = softmax.predict(W, b, X)
    np.testing.assert_array_equal(pred, jnp.argmax(P, axis=1))
    assert float(softmax.accuracy(W, b, X, y)) == pytest.approx(float(jnp.mean(pred == y)))
    with pytest.raises(ValueError, match=r"y: expected integer class ids in 0\.\.2"):
        softmax.accuracy(W, b, X, y.at[0].set(3))


def test_logistic_predict_matches_probabilities():
    from jaxdl import logistic

    X, y, _, _ = data.make_logistic(jax.random.key(2), 200, 3, dtype=jnp.float64)
    w, b = logistic.fit_newton(X, y, l2=0.1).params
    pred = logistic.predict(w, b, X)
    assert pred.dtype == jnp.int32
    np.testing.assert_array_equal(pred, (logistic.predict_proba(w, b, X) > 0.5).astype(int))
    assert float(logistic.accuracy(w, b, X, y)) == pytest.approx(float(jnp.mean(pred == y)))


def test_gd_rates_are_given_one_way():
    X, y = data.make_multiclass(jax.random.key(0), 30, 2, 3, dtype=jnp.float64)
    with pytest.raises(TypeError, match=r"lr: expected a learning rate"):
        softmax.fit_gd(X, y)
    with pytest.raises(TypeError, match=r"lr: expected either lr \(one rate\) or lr_w and lr_b"):
        softmax.fit_gd(X, y, lr=0.1, lr_w=0.1)
    with pytest.raises(TypeError, match=r"optimizer: expected either optimizer or learning"):
        softmax.fit_gd(X, y, lr=0.1, optimizer=optax.sgd(0.1))
