"""Q1 closed forms: loss, gradient, Hessian; extremes, vmap, bad shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import checks, logistic
from jaxdl.verify.logistic import sample


def _np_loss(w, b, X, y):
    z = np.asarray(X, np.float64) @ np.asarray(w, np.float64) + float(b)
    y = np.asarray(y, np.float64)
    return np.sum((1 - y) * np.logaddexp(0, z) + y * np.logaddexp(0, -z))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_loss_matches_numpy(dtype):
    w, b, X, y = sample(jax.random.key(1), dtype)
    got = logistic.loss(w, b, X, y)
    assert got.dtype == dtype
    rtol = 1e-14 if dtype == jnp.float64 else 1e-6
    np.testing.assert_allclose(float(got), _np_loss(w, b, X, y), rtol=rtol)


def test_loss_at_zero_is_n_ln2():
    X = jnp.ones((5, 3))
    y = jnp.array([0.0, 1, 1, 0, 1])
    np.testing.assert_allclose(logistic.loss(jnp.zeros(3), 0.0, X, y), 5 * np.log(2), rtol=1e-15)


def test_extreme_logits_float32():
    # Logits of +-1e4 in float32: correct sides cost 0, wrong sides cost |z|, gradients finite.
    X = jnp.array([[1.0], [1.0], [-1.0], [-1.0]], jnp.float32)
    y = jnp.array([1.0, 0.0, 0.0, 1.0], jnp.float32)
    w = jnp.array([1e4], jnp.float32)
    b = jnp.float32(0.0)
    L = logistic.loss(w, b, X, y)
    np.testing.assert_allclose(float(L), 2e4, rtol=1e-7)
    # The residuals sigma(z) - y are (0, 1, 0, -1) to within half an ulp of 1 each (eps / 2):
    # dE/dw = 2 and dE/db = 0 in exact arithmetic (they cancel in pairs), to 2 eps in float32.
    eps = float(jnp.finfo(jnp.float32).eps)
    gw, gb = logistic.grad(w, b, X, y)
    np.testing.assert_allclose(np.asarray(gw), [2.0], rtol=0, atol=2 * eps)
    assert abs(float(gb)) <= 2 * eps
    H = logistic.hessian(w, b, X)
    assert bool(jnp.all(jnp.isfinite(H)))
    np.testing.assert_allclose(np.asarray(jax.grad(logistic.loss)(w, b, X, y)), [2.0], rtol=0,
                               atol=2 * eps)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_loss_from_logits_at_inf(dtype):
    z = jnp.array([jnp.inf, jnp.inf, -jnp.inf, -jnp.inf, 1e4, -1e4, 40.0], dtype)
    y = jnp.array([1, 0, 0, 1, 1, 1, 1], dtype)
    got = np.asarray(logistic.loss_from_logits(z, y))
    want = [0.0, np.inf, 0.0, np.inf, 0.0, 1e4, np.log1p(np.exp(-40.0))]
    np.testing.assert_allclose(got, np.asarray(want, dtype), rtol=1e-6)
    # No cancellation: the tiny loss of a confident correct logit keeps full relative accuracy.
    assert got[-1] > 0
    g = jax.grad(lambda z: jnp.sum(logistic.loss_from_logits(z, y)))(z)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_hessian_psd_for_huge_norms():
    # Rows with norms up to 1e6: the closed-form Hessian stays PSD and symmetric in float32.
    key = jax.random.key(3)
    X = jax.random.normal(key, (64, 6), jnp.float32)
    X = X * jnp.logspace(0, 6, 64, dtype=jnp.float32)[:, None] / jnp.linalg.norm(X, axis=1)[:, None]
    w = jnp.full((6,), 1e-6, jnp.float32)
    H = logistic.hessian(w, jnp.float32(0.0), X)
    assert bool(jnp.all(jnp.isfinite(H)))
    checks.assert_symmetric(H)
    checks.assert_psd(H)


def test_hessian_closed_form_vs_autodiff_float64():
    w, b, X, y = sample(jax.random.key(7), jnp.float64)
    H = logistic.hessian(w, b, X, y)
    theta_loss = lambda t: logistic.loss(t[:-1], t[-1], X, y)  # noqa: E731
    np.testing.assert_allclose(H, jax.hessian(theta_loss)(jnp.append(w, b)), rtol=1e-12,
                               atol=1e-12 * float(jnp.max(jnp.abs(H))))
    assert H.shape == (X.shape[1] + 1, X.shape[1] + 1)


def test_vmap_over_weights_equals_loop():
    w, b, X, y = sample(jax.random.key(2), jnp.float64)
    ws = jnp.stack([w, 2 * w, -w, 0 * w])
    batched = jax.vmap(logistic.grad, in_axes=(0, None, None, None))(ws, b, X, y)
    # The batched and the single programs may sum in different orders: they agree to a few
    # eps of the size of the summed terms |r_n x_nj| (the gradient itself can cancel: relative
    # to its value they differ by up to 1.2e-13 on other seeds), and the loss, a sum of
    # positive terms, to a few eps relative.
    eps = float(jnp.finfo(jnp.float64).eps)
    Xn = np.asarray(X)
    for i, wi in enumerate(ws):
        gw, gb = logistic.grad(wi, b, X, y)
        r = np.asarray(jax.nn.sigmoid(X @ wi + b) - y)
        np.testing.assert_allclose(batched[0][i], gw, rtol=0,
                                   atol=8 * eps * float(np.max(np.abs(r[:, None] * Xn).sum(0))))
        np.testing.assert_allclose(batched[1][i], gb, rtol=0,
                                   atol=8 * eps * float(np.abs(r).sum()))
    Ls = jax.vmap(logistic.loss, in_axes=(0, None, None, None))(ws, b, X, y)
    np.testing.assert_allclose(Ls, [logistic.loss(wi, b, X, y) for wi in ws], rtol=8 * eps)


def test_jit_equals_eager():
    # Two differently compiled programs (one fused, one op by op): equal to a few ulp, not
    # bitwise (fusion may contract a * b + c into an FMA and reorder the sum).
    w, b, X, y = sample(jax.random.key(4), jnp.float64)
    np.testing.assert_array_max_ulp(jax.jit(logistic.loss)(w, b, X, y),
                                    logistic.loss(w, b, X, y), maxulp=8)


@pytest.mark.parametrize(
    ("args", "exc", "msg"),
    [
        ((jnp.zeros(3), 0.0, jnp.zeros(3), jnp.zeros(3)), ValueError, r"X: expected a 2-D array"),
        ((jnp.zeros(3), 0.0, jnp.zeros((2, 3, 1)), jnp.zeros(2)), ValueError, "X: expected a 2-D"),
        ((jnp.zeros(4), 0.0, jnp.zeros((2, 3)), jnp.zeros(2)), ValueError,
         r"w: expected shape \(3,\) \(one weight per column of X\), got shape \(4,\)"),
        ((jnp.zeros(3), 0.0, jnp.zeros((2, 3)), jnp.zeros(3)), ValueError,
         r"y: expected shape \(2,\)"),
        ((jnp.zeros(3), jnp.zeros(2), jnp.zeros((2, 3)), jnp.zeros(2)), ValueError,
         r"b: expected a scalar"),
        ((jnp.zeros(0), 0.0, jnp.zeros((2, 0)), jnp.zeros(2)), ValueError,
         r"X: expected at least one row and one column"),
        ((jnp.zeros(3), 0.0, jnp.zeros((0, 3)), jnp.zeros(0)), ValueError,
         r"X: expected at least one row and one column"),
        ((jnp.zeros(3), 0.0, jnp.zeros((2, 3)), jnp.array([0.0, 2.0])), ValueError,
         r"y: expected labels in \{0, 1\}"),
        ((jnp.zeros(3), 0.0, jnp.zeros((2, 3), jnp.int32), jnp.zeros(2)), TypeError,
         r"X: expected a floating-point array"),
        ((jnp.zeros(3, jnp.float32), 0.0, jnp.zeros((2, 3)), jnp.zeros(2)), TypeError,
         r"w: expected dtype float64 \(the dtype of X\), got float32"),
        ((jnp.zeros(3), 0.0, jnp.full((2, 3), jnp.nan), jnp.zeros(2)), ValueError,
         r"X: expected finite values, got 6"),
    ],
)
@pytest.mark.parametrize("fn", [logistic.loss, logistic.grad])
def test_bad_input(fn, args, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(*args)
