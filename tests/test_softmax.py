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
    # Exact by construction, not by rounding luck: exp(z - max z) = (exp(0), exp(-2e4),
    # exp(-1e4)) = (1, 0, 0) in any dtype (exp(0) is exactly 1, the others underflow).
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
    # Exact in float32 in any summation order: the logits are ~20 apart, so the sum of all the
    # other exp(z_k - max z) is ~2.1e-9, far below half an ulp of 1 (6e-8).
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
    # Batched, per-row and vmapped calls are differently compiled programs: equal to a few ulp
    # (the sums over K = 6 classes may be taken in another order), not bitwise. Every entry of
    # J and H is a product of probabilities, nonzero; p - y and the cross-entropy can cancel,
    # so they are compared at the size of their terms.
    nulp, eps = 2 * (6 + 2), float(jnp.finfo(z.dtype).eps)
    for i in range(4):
        for j in range(3):
            np.testing.assert_array_max_ulp(J[i, j], softmax.jacobian(z[i, j]), maxulp=nulp)
            np.testing.assert_allclose(G[i, j], softmax.ce_grad(z[i, j], y[i, j]), rtol=0,
                                       atol=nulp * eps)
            # -log p_t = log sum exp(z - max z) - (z_t - max z): absolute rounding eps (1 + |z|).
            np.testing.assert_allclose(L[i, j], softmax.cross_entropy(z[i, j], y[i, j]), rtol=0,
                                       atol=nulp * eps * (1 + float(jnp.max(jnp.abs(z[i, j])))))
    np.testing.assert_array_max_ulp(jax.vmap(jax.vmap(softmax.ce_hessian))(z), H, maxulp=nulp)
    checks.assert_psd(H)


def test_shift_invariance_and_null_vector():
    z = jax.random.normal(jax.random.key(5), (6,))
    np.testing.assert_allclose(softmax.softmax(z + 123.0), softmax.softmax(z), rtol=1e-13)
    H = softmax.ce_hessian(z)
    # H 1 = 0 and a zero eigenvalue, to rounding at the scale of H: K eps max|H| (over 3000
    # seeds the worst |H 1| is 0.35 of it and the worst |smallest eigenvalue| 0.66).
    k, eps = 6, float(jnp.finfo(H.dtype).eps)
    scale = k * eps * float(jnp.max(jnp.abs(H)))
    np.testing.assert_allclose(H @ jnp.ones(6), 0.0, rtol=0, atol=scale)
    assert abs(float(jnp.linalg.eigvalsh(H)[0])) <= 2 * scale  # singular: PSD, never PD


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
