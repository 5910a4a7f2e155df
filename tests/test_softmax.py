"""Q3a/Q3b/Q7: softmax, Jacobian, cross-entropy; extremes, batching, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import checks, softmax


def _np_softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_softmax_matches_numpy_and_sums_to_one(dtype):
    z = 4 * jax.random.normal(jax.random.key(0), (5, 9), dtype)
    p = softmax.softmax(z)
    assert p.dtype == dtype and p.shape == z.shape
    rtol = 1e-14 if dtype == jnp.float64 else 2e-6
    np.testing.assert_allclose(p, _np_softmax(z), rtol=rtol)
    np.testing.assert_allclose(jnp.sum(p, -1), 1.0, rtol=rtol)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_extreme_logits(dtype):
    z = jnp.array([1e4, -1e4, 0.0], dtype)
    y = jnp.array([0.0, 1.0, 0.0], dtype)
    p = softmax.softmax(z)
    np.testing.assert_array_equal(p, jnp.array([1.0, 0.0, 0.0], dtype))
    np.testing.assert_allclose(softmax.cross_entropy(z, y), 2e4, rtol=1e-7)
    want = jnp.array([1.0, -1.0, 0.0], dtype)  # p = e_0 exactly, y = e_1
    np.testing.assert_array_equal(softmax.ce_grad(z, y), want)
    np.testing.assert_array_equal(jax.grad(softmax.cross_entropy)(z, y), want)
    H = softmax.ce_hessian(z)
    assert bool(jnp.all(jnp.isfinite(H)))
    checks.assert_psd(H)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_infinite_logits(dtype):
    z = jnp.array([jnp.inf, 0.0, -jnp.inf], dtype)
    np.testing.assert_array_equal(softmax.softmax(z), jnp.array([1, 0, 0], dtype))
    # A correct infinite logit costs 0, a masked true class costs inf (honest, not NaN).
    assert float(softmax.cross_entropy(z, jnp.array([1, 0, 0], dtype))) == 0.0
    assert float(softmax.cross_entropy(z, jnp.array([0, 0, 1], dtype))) == np.inf
    np.testing.assert_array_equal(softmax.ce_grad(z, jnp.array([0, 1, 0], dtype)),
                                  jnp.array([1, -1, 0], dtype))
    masked = jnp.array([2.0, -jnp.inf, 0.0], dtype)
    np.testing.assert_allclose(softmax.softmax(masked), _np_softmax([2.0, -np.inf, 0.0]),
                               rtol=1e-6)
    g = jax.grad(softmax.cross_entropy)(masked, jnp.array([1, 0, 0], dtype))
    assert bool(jnp.all(jnp.isfinite(g)))


def test_large_k_extreme_spread():
    z = jnp.linspace(-1e4, 1e4, 1000, dtype=jnp.float32)
    y = jax.nn.one_hot(500, 1000, dtype=jnp.float32)
    p = softmax.softmax(z)
    assert float(p[-1]) == 1.0 and float(jnp.sum(p)) == 1.0
    L = softmax.cross_entropy(z, y)
    np.testing.assert_allclose(L, float(z[-1] - z[500]), rtol=1e-6)
    assert bool(jnp.all(jnp.isfinite(softmax.ce_grad(z, y))))


def test_batched_equals_loop_and_vmap():
    kz, ky = jax.random.split(jax.random.key(1))
    z = 3 * jax.random.normal(kz, (4, 3, 6))
    y = jax.nn.one_hot(jax.random.randint(ky, (4, 3), 0, 6), 6)
    J = softmax.jacobian(z)
    H = softmax.ce_hessian(z)
    L = softmax.cross_entropy(z, y)
    G = softmax.ce_grad(z, y)
    assert J.shape == (4, 3, 6, 6) and L.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            np.testing.assert_array_equal(J[i, j], softmax.jacobian(z[i, j]))
            np.testing.assert_array_equal(G[i, j], softmax.ce_grad(z[i, j], y[i, j]))
            np.testing.assert_allclose(L[i, j], softmax.cross_entropy(z[i, j], y[i, j]),
                                       rtol=1e-15)
    np.testing.assert_array_equal(jax.vmap(jax.vmap(softmax.ce_hessian))(z), H)
    checks.assert_psd(H)


def test_shift_invariance_and_null_vector():
    z = jax.random.normal(jax.random.key(5), (6,))
    np.testing.assert_allclose(softmax.softmax(z + 123.0), softmax.softmax(z), rtol=1e-13)
    H = softmax.ce_hessian(z)
    np.testing.assert_allclose(H @ jnp.ones(6), 0.0, atol=1e-16)
    assert float(jnp.linalg.eigvalsh(H)[0]) < 1e-15  # singular: PSD, never PD


@pytest.mark.parametrize(
    ("z", "y", "exc", "msg"),
    [
        (jnp.array([1.0]), jnp.array([1.0]), ValueError, "z: expected at least 2 classes"),
        (jnp.array([jnp.nan, 0.0]), jnp.array([1.0, 0.0]), ValueError, "z: expected finite"),
        (jnp.array([jnp.inf, jnp.inf]), jnp.array([1.0, 0.0]), ValueError, "at most one \\+inf"),
        (jnp.array([-jnp.inf, -jnp.inf]), jnp.array([1.0, 0.0]), ValueError, "all -inf"),
        (jnp.array([0.0, 1.0]), jnp.array([1.0, 0.0, 0.0]), ValueError,
         r"y: expected shape \(2,\)"),
        (jnp.array([0.0, 1.0]), jnp.array([0.5, 0.6]), ValueError, "y: expected each row to sum"),
        (jnp.array([0.0, 1.0]), jnp.array([1.5, -0.5]), ValueError, "y: expected non-negative"),
        (jnp.array([0, 1]), jnp.array([1.0, 0.0]), TypeError, "z: expected a floating-point"),
        (jnp.array(1.0), jnp.array(1.0), ValueError, "z: expected a 1-D"),
    ],
)
def test_bad_input(z, y, exc, msg):
    with pytest.raises(exc, match=msg):
        softmax.cross_entropy(z, y)
