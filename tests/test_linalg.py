"""The shared dense products: X^T r in its blocked and fallback layouts, and the weighted Gram
matrix the Newton fits factor, against float64 NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _gram, _linalg, _newton_step, logistic


@pytest.mark.parametrize(
    ("n", "block"),
    [(2000, 1000), (1797, 599), (1009, None), (569, None), (64, None), (250, 125)],
)
def test_row_block_divides_n_or_falls_back(n, block):
    assert _linalg.row_block(n) == block
    if block is not None:
        assert n % block == 0 and 100 <= block <= 4000


@pytest.mark.parametrize("n", [3000, 3001])  # a 1000-row block layout, and the fallback
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_rmatvec_matches_numpy(n, dtype):
    kx, kr = jax.random.split(jax.random.key(0))
    X = jax.random.normal(kx, (n, 7), dtype)
    r = jax.random.normal(kr, (n,), dtype)
    ref = np.asarray(X, np.float64).T @ np.asarray(r, np.float64)
    got = jax.jit(_linalg.rmatvec)(X, r)
    assert got.dtype == dtype and got.shape == (7,)
    # Relative to the sum of |terms| (the scale a summation error is measured against).
    scale = np.abs(np.asarray(X, np.float64)).T @ np.abs(np.asarray(r, np.float64))
    tol = 1e-14 if dtype == jnp.float64 else 2e-6
    assert np.max(np.abs(np.asarray(got, np.float64) - ref) / scale) < tol


def test_rmatvec_batches_under_vmap():
    X = jax.random.normal(jax.random.key(1), (2000, 5))
    R = jax.random.normal(jax.random.key(2), (3, 2000))
    got = jax.vmap(_linalg.rmatvec, in_axes=(None, 0))(X, R)
    np.testing.assert_allclose(got, np.asarray(R) @ np.asarray(X), rtol=1e-12, atol=1e-12)


# balanced blocks with a shifted last one, one full block, one short block, two unequal halves
@pytest.mark.parametrize("n", [10000, 4096, 100, 4097])
@pytest.mark.parametrize("acc", [jnp.float32, jnp.float64])
def test_weighted_gram_is_the_joint_hessian(n, acc):
    kx, ks = jax.random.split(jax.random.key(3))
    X = jax.random.normal(kx, (n, 6))
    s = jax.random.uniform(ks, (n,)) * 0.25
    s = s.at[0].set(0.0)  # a zero weight (sqrt(0) = 0)
    A = np.concatenate([np.asarray(X), np.ones((n, 1))], axis=1)
    ref = A.T @ (np.asarray(s)[:, None] * A)
    H = _gram.weighted_gram(X, s, acc)
    assert H.dtype == acc and H.shape == (7, 7)
    tol = 1e-13 if acc == jnp.float64 else 1e-5
    got = np.asarray(H, np.float64)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())


def test_mixed_newton_with_blocked_layouts_matches_full():
    # n = 9000: three 3000-row Gram blocks, and 1000-row blocks for X^T r, so the
    # mixed-precision step (float32 Hessian, checked float64 corrections) runs every layout.
    from jaxdl import data
    from jaxdl.results import Status

    X, y, _, _ = data.make_logistic(jax.random.key(4), 9000, 8, dtype=jnp.float64)
    mixed = logistic.fit_newton(X, y, precision="mixed")
    full = logistic.fit_newton(X, y, precision="full")
    assert int(mixed.status) == int(full.status) == Status.CONVERGED
    np.testing.assert_allclose(mixed.params[0], full.params[0], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(float(mixed.loss), float(full.loss), rtol=1e-14)
    assert abs(int(mixed.steps) - int(full.steps)) <= 1


def test_mixed_newton_under_vmap_matches_single_fits():
    # vmap over sample weights with X shared: the mixed step's fallback and the reuse of
    # X delta are lazy selects (while loops), so the batch runs the same arithmetic as one fit.
    from jaxdl import data

    X, y, _, _ = data.make_logistic(jax.random.key(5), 3000, 6, dtype=jnp.float64)
    W = jax.random.uniform(jax.random.key(6), (3, 3000), jnp.float64) * 2

    def fit(w):
        return logistic.fit_newton(X, y, sample_weight=w, l2=0.5, precision="mixed")

    batched = jax.vmap(fit)(W)
    for i in range(3):
        one = fit(W[i])
        np.testing.assert_allclose(batched.params[0][i], one.params[0], rtol=1e-12, atol=1e-14)
        assert int(batched.status[i]) == int(one.status) == 0


def test_mixed_newton_falls_back_to_float64_when_float32_is_too_ill_conditioned():
    # Two columns equal to 1e-4: the Hessian's pivot ratio (~1e-9) is far below what a float32
    # factor can refine (1e-4), so the mixed step forms the Hessian in float64 instead.
    k1, k2, k3, k4 = jax.random.split(jax.random.key(7), 4)
    x0 = jax.random.normal(k1, (2000,))
    X = jnp.stack([x0, x0 + 1e-4 * jax.random.normal(k2, (2000,)),
                   jax.random.normal(k3, (2000,))], axis=1)
    y = jax.random.bernoulli(k4, jax.nn.sigmoid(X @ jnp.array([1.0, -0.5, 0.8]))).astype(X.dtype)
    mixed = logistic.fit_newton(X, y, precision="mixed")
    full = logistic.fit_newton(X, y, precision="full")
    assert int(mixed.status) == int(full.status) == 0
    np.testing.assert_allclose(mixed.params[0], full.params[0], rtol=1e-8)
    batched = jax.vmap(lambda w: logistic.fit_newton(X, y, sample_weight=w, precision="mixed"))(
        jnp.ones((2, 2000)))
    np.testing.assert_allclose(batched.params[0][1], full.params[0], rtol=1e-8)


def test_measured_solve_error_is_floored_at_float32_resolution():
    # Integer X at a cold start (s = 1/4): the float32-summed Hessian is exact, the check
    # measures ~1e-16, and recording that would switch every later check off. The error is
    # floored at float32 eps, so checks are skipped only while eta >= 100 * 1.2e-7.
    X = jax.random.randint(jax.random.key(8), (3000, 8), -3, 4).astype(jnp.float64)
    y = (jax.random.uniform(jax.random.key(9), (3000,)) < 0.5).astype(jnp.float64)
    z = jnp.zeros(3000)
    gw, gb = logistic._gradient(jnp.zeros(8), X, y, z, 0.0, jnp.ones(3000))
    g = jnp.concatenate([gw, gb[None]])
    _, ok, _, solve_error = _newton_step.logistic_direction(
        X, z, g, 0.0, jnp.ones(3000), mixed=True, solve_error=jnp.float64(jnp.inf))
    assert bool(ok)
    assert float(solve_error) == float(jnp.finfo(jnp.float32).eps)
