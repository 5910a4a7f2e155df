"""Seed Q2: batch norm forward/backward, running statistics, bad input, n = 1 and n -> inf."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS

import jaxdl.verify.batchnorm as vbn
from jaxdl import batchnorm as bn
from jaxdl.verify.core import REGISTRY, check

EPS = 1e-3
TOL = {jnp.float64: 1e-12, jnp.float32: 2e-5}

fwd_jit = jax.jit(bn.forward, static_argnames=("center_only",))
bwd_jit = jax.jit(bn.backward, static_argnames=("center_only",))


@functools.partial(jax.jit, static_argnames=("center_only",))
def vjp_jit(g, x, gamma, beta, *, eps, center_only):
    """Autodiff reference for backward: jax.vjp of forward."""
    _, pull = jax.vjp(lambda *a: bn.forward(*a, eps=eps, center_only=center_only), x, gamma, beta)
    return pull(g)


train_jit = jax.jit(bn.forward_train, static_argnames=("center_only",))
eval_jit = jax.jit(bn.forward_eval, static_argnames=("center_only",))


@functools.cache
def _data(dtype, n=9, f=3, seed=0):
    """(x, gamma, beta, g); drawn with numpy (cached), so no per-shape RNG compilation."""
    rng = np.random.default_rng(seed)
    x = 2.0 + 3.0 * rng.standard_normal((n, f))
    gamma, beta = rng.standard_normal(f), rng.standard_normal(f)
    g = 0.7 + rng.standard_normal((n, f))
    return tuple(jnp.asarray(a, dtype) for a in (x, gamma, beta, g))


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(np.float64).tiny)


# ----------------------------------------------------------------------------------------------
# Registry identities.


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "name", ["batchnorm.backward_center", "batchnorm.backward", "batchnorm.jacobian_xhat"]
)
def test_registry_identity(name, dtype):
    out = check(REGISTRY[name], dtype=dtype, trials=TRIALS)
    assert out.ok, out


# ----------------------------------------------------------------------------------------------
# Forward and backward.


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
@pytest.mark.parametrize("center_only", [False, True])
def test_backward_matches_vjp_per_output(dtype, center_only):
    """Each of dx, dgamma, dbeta against jax.vjp, with its own relative error."""
    x, gamma, beta, g = _data(dtype)
    got = bn.backward(g, x, gamma, eps=EPS, center_only=center_only)
    want = vjp_jit(g, x, gamma, beta, eps=EPS, center_only=center_only)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype and a.shape == b.shape
        assert _rel(a, b) < TOL[dtype]


def test_forward_statistics():
    x, gamma, beta, _ = _data(jnp.float64, n=50)
    xhat = bn.forward(x, jnp.ones(3), jnp.zeros(3), eps=0.0 + 1e-12)
    np.testing.assert_allclose(jnp.mean(xhat, axis=0), 0.0, atol=1e-13)
    np.testing.assert_allclose(jnp.var(xhat, axis=0), 1.0, rtol=1e-10)
    y = bn.forward(x, gamma, beta, eps=EPS)
    v = jnp.var(x, axis=0)  # biased, as the layer uses
    xn, gn, bn_ = (np.asarray(a) for a in (x, gamma, beta))  # numpy broadcasting
    want = gn * (xn - xn.mean(0)) / np.sqrt(np.asarray(v) + EPS) + bn_
    assert _rel(y, want) < 1e-13
    yc = bn.forward(x, gamma, beta, center_only=True)
    assert _rel(yc, gn * (xn - xn.mean(0)) + bn_) < 1e-13


def test_jacobian_xhat_2d_structure():
    """The jacfwd of mean-only xhat over an (n, f) batch is (I - 1/n) per feature, no mixing."""
    n, f = 5, 3
    x = _data(jnp.float64, n=n, f=f)[0]
    J = jax.jit(jax.jacfwd(lambda x: bn.forward(x, jnp.ones(f), jnp.zeros(f),
                                                center_only=True)))(x)
    want = jnp.einsum("ij,ab->iajb", bn.jacobian_xhat(n, dtype=jnp.float64), jnp.eye(f))
    np.testing.assert_allclose(J, want, atol=1e-15)
    np.testing.assert_array_equal(bn.jacobian_xhat(1), jnp.zeros((1, 1)))


def test_n1_center_only_gives_exact_zero():
    x = jnp.array([[0.3, -1.7, 12.5]])
    g = jnp.array([[1.1, -0.4, 2.0]])
    gamma = jnp.array([2.0, -3.0, 0.5])
    dx, dgamma, dbeta = bn.backward(g, x, gamma, center_only=True)
    np.testing.assert_array_equal(dx, jnp.zeros_like(x))
    np.testing.assert_array_equal(dgamma, jnp.zeros(3))
    np.testing.assert_array_equal(dbeta, g[0])
    beta = jnp.array([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(bn.forward(x, gamma, beta, center_only=True), beta[None, :])
    # autodiff agrees: xhat is identically 0 at n = 1
    ref = jax.grad(lambda x: jnp.sum(g * bn.forward(x, gamma, beta, center_only=True)))(x)
    np.testing.assert_array_equal(ref, jnp.zeros_like(x))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_zero_variance_feature_stays_finite(dtype):
    x, gamma, beta, g = _data(dtype)
    x = x.at[:, 1].set(0.1)  # constant column (mean has rounding, var ~ 0)
    y = fwd_jit(x, gamma, beta, eps=1e-5)
    grads = bwd_jit(g, x, gamma, eps=1e-5)
    ref = vjp_jit(g, x, gamma, beta, eps=1e-5, center_only=False)
    for a in (y, *grads, *ref):
        assert bool(jnp.all(jnp.isfinite(a)))
    np.testing.assert_allclose(y[:, 1], beta[1], atol=1e-4 if dtype == jnp.float32 else 1e-10)
    for a, b in zip(grads, ref, strict=True):
        assert _rel(a, b) < TOL[dtype]
    # an exactly representable constant gives xhat = 0 exactly
    x2 = x.at[:, 1].set(2.0)
    np.testing.assert_array_equal(fwd_jit(x2, gamma, beta, eps=1e-5)[:, 1], beta[1])


# ----------------------------------------------------------------------------------------------
# The seed's n -> inf claim.


def test_seed_limit_demo():
    ns = [1, 10, 100, 1000]
    demo = bn.seed_limit_demo(ns, jax.random.key(3), g_mean=1.0, gamma=1.5, dtype=jnp.float64)
    np.testing.assert_array_equal(demo.n, ns)
    # the Jacobian tends to I entrywise: max |J - I| = 1/n
    np.testing.assert_allclose(demo.jacobian_gap, 1.0 / np.array(ns), rtol=1e-12)
    # ... but dx - gamma g stays at -gamma mean(g), which does not vanish
    np.testing.assert_allclose(demo.gradient_gap, demo.gamma_mean_g, rtol=1e-12)
    assert float(demo.gradient_gap[-1]) > 1.2  # |1.5 * mean(g)| with mean(g) -> 1
    # with zero-mean g, the gap is the sample mean of g, which shrinks like 1/sqrt(n)
    demo0 = bn.seed_limit_demo([1000], jax.random.key(4), g_mean=0.0, dtype=jnp.float64)
    assert float(demo0.gradient_gap[0]) < 1.5 * 4 / np.sqrt(1000)


# ----------------------------------------------------------------------------------------------
# Running statistics.


def test_init_state():
    s = bn.init_state(4, jnp.float64)
    assert isinstance(s, bn.BatchNormState)
    np.testing.assert_array_equal(s.mean, jnp.zeros(4))
    np.testing.assert_array_equal(s.var, jnp.ones(4))
    assert s.mean.dtype == jnp.float64
    with pytest.raises(ValueError, match="^features:"):
        bn.init_state(0)
    with pytest.raises(TypeError, match="^dtype:"):
        bn.init_state(3, jnp.int32)


def test_forward_train_updates_state_unbiased():
    x, gamma, beta, _ = _data(jnp.float64, n=7)
    s0 = bn.BatchNormState(jnp.array([0.5, -1.0, 2.0]), jnp.array([1.0, 4.0, 0.25]))
    y, s1 = bn.forward_train(x, gamma, beta, s0, eps=EPS, momentum=0.9)
    np.testing.assert_array_equal(y, bn.forward(x, gamma, beta, eps=EPS))
    xn = np.asarray(x)
    np.testing.assert_allclose(s1.mean, 0.9 * s0.mean + 0.1 * xn.mean(0), rtol=1e-13)
    np.testing.assert_allclose(s1.var, 0.9 * s0.var + 0.1 * xn.var(0, ddof=1), rtol=1e-13)
    assert isinstance(s1, bn.BatchNormState)
    # nothing mutated
    np.testing.assert_array_equal(s0.mean, [0.5, -1.0, 2.0])
    # momentum 0: the batch statistics themselves
    _, s2 = bn.forward_train(x, gamma, beta, s0, eps=EPS, momentum=0.0)
    np.testing.assert_allclose(s2.var, xn.var(0, ddof=1), rtol=1e-13)


def test_forward_train_center_only_keeps_var():
    x, gamma, beta, _ = _data(jnp.float64, n=1)
    s0 = bn.init_state(3, jnp.float64)
    y, s1 = bn.forward_train(x, gamma, beta, s0, momentum=0.5, center_only=True)
    np.testing.assert_array_equal(y, jnp.broadcast_to(beta, x.shape))
    np.testing.assert_allclose(s1.mean, 0.5 * x[0], rtol=1e-15)
    np.testing.assert_array_equal(s1.var, s0.var)


def test_forward_eval_uses_running_stats():
    x, gamma, beta, _ = _data(jnp.float64, n=5)
    s = bn.BatchNormState(jnp.array([1.0, 2.0, 3.0]), jnp.array([4.0, 0.5, 9.0]))
    x, gamma, beta = np.asarray(x), np.asarray(gamma), np.asarray(beta)
    mean, var = np.asarray(s.mean), np.asarray(s.var)
    want = gamma * (x - mean) / np.sqrt(var + EPS) + beta
    np.testing.assert_allclose(bn.forward_eval(x, gamma, beta, s, eps=EPS), want, rtol=1e-13)
    want_c = gamma * (x - mean) + beta
    np.testing.assert_allclose(bn.forward_eval(x, gamma, beta, s, center_only=True), want_c,
                               rtol=1e-13)
    # rows are independent in eval mode (n = 1 allowed for full BN), unlike training mode
    np.testing.assert_allclose(bn.forward_eval(x[:1], gamma, beta, s, eps=EPS), want[:1],
                               rtol=1e-13)
    assert _rel(bn.forward(x, gamma, beta, eps=EPS), want) > 1e-2


def test_running_stats_converge_to_population():
    """Repeated training steps on one batch drive the running stats to its mean/unbiased var."""
    x, gamma, beta, _ = _data(jnp.float64, n=8)
    s = bn.init_state(3, jnp.float64)
    for _ in range(400):
        _, s = train_jit(x, gamma, beta, s, eps=EPS, momentum=0.9)
    np.testing.assert_allclose(s.mean, jnp.mean(x, axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.var, jnp.var(x, axis=0, ddof=1), rtol=1e-12)
    assert train_jit._cache_size() == 1


# ----------------------------------------------------------------------------------------------
# Bad input.


def test_n1_full_variant_rejected():
    x = jnp.ones((1, 3))
    with pytest.raises(ValueError, match=r"^x: expected at least 2 rows for variance batch norm"):
        bn.forward(x, jnp.ones(3), jnp.zeros(3))
    with pytest.raises(ValueError, match="^x: expected at least 2 rows"):
        bn.backward(x, x, jnp.ones(3))
    with pytest.raises(ValueError, match="^x: expected at least 2 rows"):
        bn.forward_train(x, jnp.ones(3), jnp.zeros(3), bn.init_state(3, jnp.float64))


@pytest.mark.parametrize("eps", [0.0, -1e-5, float("nan"), float("inf")])
@pytest.mark.parametrize("center_only", [False, True])
def test_bad_eps(eps, center_only):
    x, gamma, beta, g = _data(jnp.float64)
    with pytest.raises(ValueError, match="^eps: expected a finite number > 0"):
        bn.forward(x, gamma, beta, eps=eps, center_only=center_only)
    with pytest.raises(ValueError, match="^eps:"):
        bn.backward(g, x, gamma, eps=eps, center_only=center_only)
    with pytest.raises(ValueError, match="^eps:"):
        bn.forward_eval(x, gamma, beta, bn.init_state(3, jnp.float64), eps=eps)


def test_bad_shapes():
    x, gamma, beta, g = _data(jnp.float64)
    with pytest.raises(ValueError, match=r"^gamma: expected shape \(3,\)"):
        bn.forward(x, gamma[:2], beta)
    with pytest.raises(ValueError, match=r"^beta: expected shape \(3,\)"):
        bn.forward(x, gamma, jnp.zeros(4))
    with pytest.raises(ValueError, match=r"^gamma:"):
        bn.forward(x, gamma[None, :], beta)
    with pytest.raises(ValueError, match=r"^g: expected shape \(9, 3\)"):
        bn.backward(g[:4], x, gamma)
    with pytest.raises(ValueError, match=r"^x: expected a 2-D array"):
        bn.forward(x[0], gamma, beta)
    with pytest.raises(ValueError, match=r"^state.mean: expected shape \(3,\)"):
        bn.forward_eval(x, gamma, beta, bn.init_state(2, jnp.float64))
    with pytest.raises(ValueError, match=r"^state.var: expected non-negative"):
        bn.forward_eval(x, gamma, beta, bn.BatchNormState(jnp.zeros(3), -jnp.ones(3)))
    with pytest.raises(TypeError, match="^state:"):
        bn.forward_eval(x, gamma, beta, (jnp.zeros(3), jnp.ones(3)))


def test_bad_dtypes_and_values():
    x, gamma, beta, g = _data(jnp.float64)
    with pytest.raises(TypeError, match="^gamma: expected dtype float64"):
        bn.forward(x, gamma.astype(jnp.float32), beta)
    with pytest.raises(TypeError, match="^x: expected a floating-point array"):
        bn.forward(jnp.ones((3, 3), jnp.int32), gamma, beta)
    with pytest.raises(ValueError, match="^x: expected finite values"):
        bn.forward(x.at[0, 0].set(jnp.nan), gamma, beta)
    with pytest.raises(TypeError, match="^center_only:"):
        bn.forward(x, gamma, beta, center_only=1)


@pytest.mark.parametrize("momentum", [1.0, -0.1, 1.5, float("nan")])
def test_bad_momentum(momentum):
    x, gamma, beta, _ = _data(jnp.float64)
    with pytest.raises(ValueError, match=r"^momentum: expected a finite number >= 0 and < 1"):
        bn.forward_train(x, gamma, beta, bn.init_state(3, jnp.float64), momentum=momentum)


# ----------------------------------------------------------------------------------------------
# jit / vmap.


@pytest.mark.parametrize("center_only", [False, True])
def test_jit_matches_eager(center_only):
    x, gamma, beta, g = _data(jnp.float64)
    np.testing.assert_allclose(
        fwd_jit(x, gamma, beta, eps=EPS, center_only=center_only),
        bn.forward(x, gamma, beta, eps=EPS, center_only=center_only), rtol=1e-14, atol=1e-14)
    for a, b in zip(bwd_jit(g, x, gamma, eps=EPS, center_only=center_only),
                    bn.backward(g, x, gamma, eps=EPS, center_only=center_only), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14)
    s = bn.init_state(3, jnp.float64)
    np.testing.assert_allclose(eval_jit(x, gamma, beta, s, eps=EPS, center_only=center_only),
                               bn.forward_eval(x, gamma, beta, s, eps=EPS,
                                               center_only=center_only), rtol=1e-14)


def test_vmap_over_batches_matches_loop():
    xs = jnp.stack([_data(jnp.float64, seed=s)[0] for s in range(4)])
    gs = jnp.stack([_data(jnp.float64, seed=s)[3] for s in range(4)])
    _, gamma, beta, _ = _data(jnp.float64)
    fwd = functools.partial(bn.forward, eps=EPS)
    ys = jax.jit(jax.vmap(fwd, in_axes=(0, None, None)))(xs, gamma, beta)
    bwd = jax.jit(jax.vmap(functools.partial(bn.backward, eps=EPS), in_axes=(0, 0, None)))(
        gs, xs, gamma)
    for i in range(4):
        np.testing.assert_allclose(ys[i], fwd(xs[i], gamma, beta), rtol=1e-14, atol=1e-14)
        for a, b in zip((t[i] for t in bwd), bn.backward(gs[i], xs[i], gamma, eps=EPS),
                        strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    s = bn.init_state(3, jnp.float64)
    _, states = jax.vmap(lambda x: bn.forward_train(x, gamma, beta, s, eps=EPS))(xs)
    np.testing.assert_allclose(states.mean[2], bn.forward_train(xs[2], gamma, beta, s,
                                                                eps=EPS)[1].mean, rtol=1e-14)


def test_float32_stays_float32():
    x, gamma, beta, g = _data(jnp.float32)
    y, s = bn.forward_train(x, gamma, beta, bn.init_state(3))
    assert y.dtype == jnp.float32 and s.mean.dtype == jnp.float32 and s.var.dtype == jnp.float32
    assert all(a.dtype == jnp.float32 for a in bn.backward(g, x, gamma))


def test_sample_used_by_registry_is_nondegenerate():
    g, x, gamma, beta = vbn.sample(jax.random.key(0), jnp.float64)
    assert x.shape == (vbn.N, vbn.F) and float(jnp.min(jnp.var(x, axis=0))) > 1e-3
    assert abs(float(jnp.mean(g))) > 0.1  # mean(g) != 0, so dx has both terms
