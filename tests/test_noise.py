"""Tests for jaxdl.noise (seed Q5): weight noise as an L2 penalty, exact and Monte-Carlo."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS

import jaxdl.verify.noise  # noqa: F401  (registers the Q5 identities)
from jaxdl import noise
from jaxdl.verify.core import REGISTRY, check

D = 5
SIGMA = 0.5
Y_D = 0.7
SIZES = (100, 1_000, 10_000, 100_000)
SEEDS = 8
DTYPES = (jnp.float64, jnp.float32)
# RBG keys: the estimator does not depend on the key type, and on CPU XLA compiles the RBG
# sampler about twice as fast as threefry (one compilation per sample size here).
IMPL = "rbg"
EPS = {dt: float(jnp.finfo(dt).eps) for dt in DTYPES}


def _problem(dtype):
    kw, kx = jax.random.split(jax.random.key(42))
    w = (jax.random.normal(kw, (D,), jnp.float64) / 2).astype(dtype)
    x = jax.random.normal(kx, (D,), jnp.float64).astype(dtype)
    return w, x


@functools.partial(jax.jit, static_argnames="num_samples")
def _mc_many(keys, w, x, y_d, sigma, num_samples):
    def one(k):
        return noise.mc_grad(k, w, x, y_d, sigma=sigma, num_samples=num_samples)

    return jax.vmap(one)(keys)


@jax.jit
def _exact_std(w, x, y_d, sigma):
    """Exact per-component std of dJ1/dw under the noise, by Gauss-Hermite (degree 6: 4 nodes)."""
    w, x = w.astype(jnp.float64), x.astype(jnp.float64)
    mean = noise.expected_grad(w, x, y_d, sigma=sigma)
    second = noise.gauss_hermite_expectation(
        lambda b: noise.grad(w, x, y_d, b) ** 2, D, sigma=sigma, num_nodes=4,
        dtype=jnp.float64)
    return jnp.sqrt(second - mean**2)


# ----------------------------------------------------------------------------------------------
# Closed forms.


def test_loss_and_grad_hand_values():
    w, x = jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0])
    beta = jnp.array([2.0, 0.5])  # sum beta w x = 3, residual 4 - 3 = 1
    assert float(noise.loss(w, x, 4.0, beta)) == 0.5
    np.testing.assert_array_equal(noise.grad(w, x, 4.0, beta), [-2.0, -0.5])
    assert float(noise.clean_loss(w, x, 4.0)) == 0.5
    assert float(noise.penalty(w, x, sigma=0.5)) == 0.5 * 0.25 * 5
    assert float(noise.expected_loss(w, x, 4.0, sigma=0.5)) == 1.125
    np.testing.assert_array_equal(noise.expected_grad(w, x, 4.0, sigma=0.5), [-0.75, -0.5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_matches_autodiff(dtype):
    w, x = _problem(dtype)
    beta = jnp.asarray(1 + SIGMA * np.random.default_rng(1).standard_normal(D), dtype)
    got = noise.grad(w, x, Y_D, beta)
    want = jax.grad(noise.loss)(w, x, Y_D, beta)
    assert got.dtype == dtype
    scale = float(jnp.max(jnp.abs(want)))
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * EPS[dtype] * scale)


@pytest.mark.parametrize("dtype", DTYPES)
def test_expected_grad_is_clean_grad_plus_penalty_grad(dtype):
    w, x = _problem(dtype)
    eg = noise.expected_grad(w, x, Y_D, sigma=SIGMA)
    clean = jax.grad(noise.clean_loss)(w, x, Y_D)
    extra = SIGMA**2 * w * x * x
    scale = float(jnp.max(jnp.abs(eg)))
    np.testing.assert_allclose(eg, clean + extra, rtol=0, atol=8 * EPS[dtype] * scale)
    np.testing.assert_allclose(jax.grad(lambda v: noise.penalty(v, x, sigma=SIGMA))(w), extra,
                               rtol=8 * EPS[dtype])
    # No noise: the expected gradient is the clean gradient.
    np.testing.assert_allclose(noise.expected_grad(w, x, Y_D, sigma=0.0), clean,
                               rtol=8 * EPS[dtype])


def test_expected_loss_is_exact_expectation():
    w, x = _problem(jnp.float64)
    for s in (0.0, 0.1, 1.3):
        exact = noise.gauss_hermite_expectation(
            lambda b: noise.loss(w, x, Y_D, b), D, sigma=s, num_nodes=2, dtype=jnp.float64)
        got = noise.expected_loss(w, x, Y_D, sigma=s)
        np.testing.assert_allclose(got, exact, rtol=1e-13)
        np.testing.assert_allclose(
            got, noise.clean_loss(w, x, Y_D) + noise.penalty(w, x, sigma=s), rtol=1e-15)


def test_gauss_hermite_degree():
    """num_nodes = n is exact through degree 2n - 1 in each component, and not beyond."""
    s = 0.5
    m = lambda p, n: float(noise.gauss_hermite_expectation(  # noqa: E731
        lambda b: b[0] ** p, 1, sigma=s, num_nodes=n, dtype=jnp.float64))
    exact6 = 1 + 15 * s**2 + 45 * s**4 + 15 * s**6  # E[(1 + s Z)^6]
    assert m(2, 3) == pytest.approx(1 + s**2, rel=1e-15)
    assert m(4, 3) == pytest.approx(1 + 6 * s**2 + 3 * s**4, rel=1e-15)
    assert m(6, 4) == pytest.approx(exact6, rel=1e-14)
    assert abs(m(6, 3) - exact6) > 1e-3  # degree 6 > 2*3 - 1: three nodes are not exact
    # Pytrees and products across components (E[b0 b1] = 1, E[b0^2] = 1 + s^2).
    out = noise.gauss_hermite_expectation(
        lambda b: {"cross": b[0] * b[1], "sq": b[0] ** 2}, 2, sigma=s, dtype=jnp.float64)
    assert float(out["cross"]) == pytest.approx(1.0, rel=1e-15)
    assert float(out["sq"]) == pytest.approx(1 + s**2, rel=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_follows_arrays_with_python_scalars(dtype):
    w, x = _problem(dtype)
    for out in (noise.loss(w, x, 0.3, jnp.ones(D, dtype)), noise.expected_loss(w, x, 0.3,
                sigma=0.2), noise.expected_grad(w, x, 0.3, sigma=0.2), noise.penalty(w, x,
                sigma=0.2), noise.sample_beta(jax.random.key(0), (3, D), sigma=0.2,
                dtype=dtype)):
        assert out.dtype == dtype


# ----------------------------------------------------------------------------------------------
# Monte Carlo: the mean of jax.grad over sampled beta converges to the closed form at 1/sqrt(S).


@pytest.mark.parametrize("dtype", DTYPES)
def test_mc_grad_converges_at_inverse_sqrt_rate(dtype):
    w, x = _problem(dtype)
    exact = noise.expected_grad(w.astype(jnp.float64), x.astype(jnp.float64), Y_D, sigma=SIGMA)
    sd = _exact_std(w, x, jnp.asarray(Y_D), jnp.asarray(SIGMA))
    keys = jax.random.split(jax.random.key(7, impl=IMPL), SEEDS)
    rms = []
    for s in SIZES:
        mean, se = _mc_many(keys, w, x, Y_D, SIGMA, num_samples=s)
        assert mean.shape == se.shape == (SEEDS, D) and mean.dtype == dtype
        mean, se = mean.astype(jnp.float64), se.astype(jnp.float64)
        z = (mean - exact[None]) / se
        assert float(jnp.max(jnp.abs(z))) < 5.0, f"S={s}: MC mean beyond 5 standard errors"
        # stderr * sqrt(S) estimates the exact std: its spread over seeds is ~ 1/sqrt(2 S).
        ratio = jnp.mean(se * np.sqrt(s) / sd[None], axis=0)
        assert float(jnp.max(jnp.abs(ratio - 1))) < 5 * 2 / np.sqrt(2 * s * SEEDS) + 0.02
        rms.append(float(jnp.sqrt(jnp.mean(((mean - exact[None]) / sd[None]) ** 2))))
    slope = np.polyfit(np.log(SIZES), np.log(rms), 1)[0]
    assert -0.65 <= slope <= -0.35, f"log-log slope of the MC error {slope:.3f}, want -1/2"


def test_mc_grad_jit_and_determinism():
    w, x = _problem(jnp.float64)
    key = jax.random.key(3, impl=IMPL)
    eager = noise.mc_grad(key, w, x, Y_D, sigma=SIGMA, num_samples=100)
    jitted = jax.jit(noise.mc_grad, static_argnames="num_samples")(
        key, w, x, Y_D, sigma=SIGMA, num_samples=100)
    again = noise.mc_grad(key, w, x, Y_D, sigma=SIGMA, num_samples=100)
    for a, b, c in zip(eager, jitted, again, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)
        np.testing.assert_array_equal(a, c)
    # The estimator is the mean of jax.grad(loss) over sample_beta's draws.
    @jax.jit
    def per_draw_grads(key, w, x):
        betas = noise.sample_beta(key, (100, D), sigma=SIGMA, dtype=jnp.float64)
        return jax.vmap(lambda b: jax.grad(noise.loss)(w, x, Y_D, b))(betas)

    grads = np.asarray(per_draw_grads(key, w, x))
    np.testing.assert_allclose(eager[0], grads.mean(0), rtol=1e-13)
    np.testing.assert_allclose(eager[1], grads.std(0, ddof=1) / 10, rtol=1e-12)


def test_mc_loss_mean_and_stderr():
    w, x = _problem(jnp.float64)
    mean, se = noise.mc_loss(jax.random.key(5, impl=IMPL), w, x, Y_D, sigma=SIGMA, num_samples=100)
    assert mean.shape == se.shape == ()
    exact = noise.expected_loss(w, x, Y_D, sigma=SIGMA)
    assert abs(float(mean - exact)) < 5 * float(se)


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if n.startswith("noise.")))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_registry_identities(name, dtype):
    outcome = check(REGISTRY[name], dtype=dtype, trials=TRIALS)
    assert outcome.ok, outcome


# ----------------------------------------------------------------------------------------------
# Bad inputs: the message starts with the argument's name.


def test_bad_inputs():
    w, x = _problem(jnp.float64)
    key = jax.random.key(0)
    cases = [
        (ValueError, "sigma:", lambda: noise.expected_grad(w, x, Y_D, sigma=-0.1)),
        (ValueError, "sigma:", lambda: noise.penalty(w, x, sigma=float("nan"))),
        (ValueError, "sigma:", lambda: noise.mc_grad(key, w, x, Y_D, sigma=-1.0,
                                                     num_samples=10)),
        (ValueError, "sigma:", lambda: noise.sample_beta(key, (3,), sigma=-1.0)),
        (ValueError, "num_samples:", lambda: noise.mc_grad(key, w, x, Y_D, sigma=0.1,
                                                           num_samples=1)),
        (ValueError, "num_samples:", lambda: noise.mc_loss(key, w, x, Y_D, sigma=0.1,
                                                           num_samples=0)),
        (TypeError, "num_samples:", lambda: noise.mc_grad(key, w, x, Y_D, sigma=0.1,
                                                          num_samples=10.0)),
        (ValueError, "x:", lambda: noise.clean_loss(w, x[:3], Y_D)),
        (ValueError, "beta:", lambda: noise.loss(w, x, Y_D, jnp.ones(D + 1))),
        (ValueError, "y_d:", lambda: noise.clean_loss(w, x, jnp.ones(2))),
        (ValueError, "y_d:", lambda: noise.clean_loss(w, x, float("inf"))),
        (ValueError, "w:", lambda: noise.clean_loss(jnp.ones((2, 2)), x, Y_D)),
        (ValueError, "w:", lambda: noise.clean_loss(jnp.ones(0), jnp.ones(0), Y_D)),
        (TypeError, "w:", lambda: noise.clean_loss(jnp.arange(D), x, Y_D)),
        (TypeError, "x:", lambda: noise.clean_loss(w, x.astype(jnp.float32), Y_D)),
        (ValueError, "num_nodes:", lambda: noise.gauss_hermite_expectation(
            lambda b: b, 30, sigma=0.1)),
    ]
    for exc, prefix, call in cases:
        with pytest.raises(exc) as info:
            call()
        assert str(info.value).startswith(prefix), (prefix, str(info.value))
