"""Seed Q3(c): the two-layer net's closed-form backprop, dropout, leaky ReLU, bad input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS

from jaxdl import mlp, softmax
from jaxdl.verify import mlp as vmlp
from jaxdl.verify.core import REGISTRY, check

D, H, K, B = 5, 8, 4, 6
TOL = {jnp.float64: 1e-12, jnp.float32: 2e-5}

STATIC = ("inverted",)
grads_jit = jax.jit(mlp.grads, static_argnames=STATIC)
loss_grad_jit = jax.jit(jax.grad(mlp.loss), static_argnames=STATIC)
forward_jit = jax.jit(mlp.forward, static_argnames=STATIC)
acts_jit = jax.jit(mlp.activations, static_argnames=STATIC)
loss_jit = jax.jit(mlp.loss, static_argnames=STATIC)


@functools.cache
def _data(dtype, *, batch, seed=0):
    """(params, x, y, mask) from the registry's sampler (cached: sampling compiles per shape)."""
    return (vmlp.sample_batch if batch else vmlp.sample_one)(jax.random.key(seed), dtype)


def _rel_tree(a, b):
    """Worst leaf of max|a - b| / max|b| (each parameter on its own scale)."""
    out = 0.0
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        out = max(out, np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))
    return out


# ----------------------------------------------------------------------------------------------
# Registry identities and closed form vs autodiff.


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["mlp.grads", "mlp.grads_batch_inverted"])
def test_registry_identity(name, dtype):
    out = check(REGISTRY[name], dtype=dtype, trials=TRIALS)
    assert out.ok, out


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("inverted", [False, True])
def test_grads_match_autodiff_per_parameter(dtype, batch, inverted):
    p, x, y, m = _data(dtype, batch=batch)
    got = grads_jit(p, x, y, m, keep=0.8, inverted=inverted)
    want = loss_grad_jit(p, x, y, m, keep=0.8, inverted=inverted)
    assert isinstance(got, mlp.Params)
    assert all(g.dtype == dtype for g in got)
    assert jax.tree.map(jnp.shape, got) == jax.tree.map(jnp.shape, p)
    assert _rel_tree(got, want) < TOL[dtype]


@pytest.mark.parametrize("inverted", [False, True])
def test_grads_without_mask_match_autodiff(inverted):
    p, x, y, _ = _data(jnp.float64, batch=True)
    got = grads_jit(p, x, y, None, keep=0.7, inverted=inverted)
    want = loss_grad_jit(p, x, y, None, keep=0.7, inverted=inverted)
    assert _rel_tree(got, want) < 1e-12


def test_matrix_form_by_hand():
    """One example, the digest's formulas written out with numpy."""
    p, x, y, m = (jax.tree.map(np.asarray, a) for a in _data(jnp.float64, batch=False))
    z1 = p.W1 @ x + p.b1
    ahat = np.where(z1 > 0, z1, 0.01 * z1)
    a1 = m * ahat
    z2 = p.W2 @ a1 + p.b2
    prob = np.exp(z2 - z2.max()) / np.exp(z2 - z2.max()).sum()
    d2 = prob - y
    d1 = (p.W2.T @ d2) * m * np.where(z1 > 0, 1.0, 0.01)
    want = mlp.Params(np.outer(d1, x), d1, np.outer(d2, a1), d2)
    assert _rel_tree(mlp.grads(mlp.Params(*p), x, y, m), want) < 1e-13
    acts = acts_jit(mlp.Params(*p), x, m)
    np.testing.assert_allclose(acts.z1, z1, rtol=1e-14)
    np.testing.assert_allclose(acts.a1, a1, rtol=1e-14)
    np.testing.assert_allclose(softmax.softmax(acts.z2), prob, rtol=1e-13)


# ----------------------------------------------------------------------------------------------
# Leaky ReLU, dropout.


def test_leaky_relu_derivative_at_zero():
    z = jnp.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(mlp.leaky_relu_grad(z, slope=0.05), [0.05, 0.05, 1.0])
    np.testing.assert_array_equal(
        jax.vmap(jax.grad(functools.partial(mlp.leaky_relu, slope=0.05)))(z), [0.05, 0.05, 1.0]
    )


@pytest.mark.parametrize("inverted", [False, True])
def test_grads_at_exact_zero_preactivation(inverted):
    """z1 = 0 exactly for some units: closed form and jax.grad both use the slope there."""
    p, x, y, _ = _data(jnp.float64, batch=False)
    m = jnp.ones(H)
    # units 0 and 3: zero weights and zero bias, so z1 = 0.0 exactly; they still pass gradient
    # through LeakyReLU'(0) = slope to b1 (dL/db1_i = (W2^T delta2)_i * slope).
    p = p._replace(W1=p.W1.at[jnp.array([0, 3])].set(0.0), b1=p.b1.at[jnp.array([0, 3])].set(0.0))
    acts = acts_jit(p, x, m, slope=0.1, inverted=inverted)
    np.testing.assert_array_equal(acts.z1[jnp.array([0, 3])], 0.0)
    got = grads_jit(p, x, y, m, slope=0.1, inverted=inverted)
    want = loss_grad_jit(p, x, y, m, slope=0.1, inverted=inverted)
    assert _rel_tree(got, want) < 1e-12
    delta2 = softmax.ce_grad(acts.z2, y)
    scale = 1 / 0.8 if inverted else 1.0
    np.testing.assert_allclose(got.b1[0], (p.W2.T @ delta2)[0] * 0.1 * scale, rtol=1e-14)
    assert float(jnp.abs(got.b1[0])) > 0


def test_dropped_units_get_zero_gradient():
    p, x, y, _ = _data(jnp.float64, batch=False)
    m = jnp.ones(H).at[jnp.array([1, 5, 6])].set(0.0)
    for inverted in (False, True):
        g = mlp.grads(p, x, y, m, inverted=inverted)
        for i in (1, 5, 6):
            np.testing.assert_array_equal(g.W1[i], 0.0)  # rows of W1
            np.testing.assert_array_equal(g.b1[i], 0.0)
            np.testing.assert_array_equal(g.W2[:, i], 0.0)  # a1_i = 0
        assert bool(jnp.all(g.W1[jnp.array([0, 2, 3, 4, 7])] != 0))
    # batch: a unit dropped in every example has a zero row; dropped in some, not
    pb, xb, yb, _ = _data(jnp.float64, batch=True)
    mb = jnp.ones((B, H)).at[:, 2].set(0.0).at[0, 4].set(0.0)
    gb = grads_jit(pb, xb, yb, mb, inverted=False)
    np.testing.assert_array_equal(gb.W1[2], 0.0)
    assert bool(jnp.all(gb.W1[4] != 0))


def test_mask_none_is_expected_dropout():
    p, x, _, _ = _data(jnp.float64, batch=True)
    a = acts_jit(p, x, None, keep=0.8)
    np.testing.assert_allclose(a.a1, 0.8 * a.ahat1, rtol=1e-15)
    ai = acts_jit(p, x, None, keep=0.8, inverted=True)
    np.testing.assert_array_equal(ai.a1, ai.ahat1)
    np.testing.assert_allclose(
        forward_jit(p, x, None, inverted=True), forward_jit(p, x, jnp.ones((B, H))), rtol=1e-15
    )
    # inverted dropout scales kept units by 1/keep
    m = mlp.sample_mask(jax.random.key(5), (B, H), dtype=jnp.float64)
    np.testing.assert_allclose(acts_jit(p, x, m, keep=0.8, inverted=True).a1,
                               np.asarray(m) * np.asarray(a.ahat1) / 0.8, rtol=1e-15)


def test_sample_mask():
    m = mlp.sample_mask(jax.random.key(0), (200, 100), keep=0.8)
    assert m.dtype == jnp.float32 and m.shape == (200, 100)
    assert set(np.unique(np.asarray(m)).tolist()) == {0.0, 1.0}
    assert abs(float(jnp.mean(m)) - 0.8) < 4 * np.sqrt(0.16 / 20000)
    np.testing.assert_array_equal(mlp.sample_mask(jax.random.key(1), (7,), keep=1.0), 1.0)
    with pytest.raises(ValueError, match="^keep:"):
        mlp.sample_mask(jax.random.key(0), (3,), keep=0.0)
    with pytest.raises(TypeError, match="^dtype:"):
        mlp.sample_mask(jax.random.key(0), (3,), dtype=jnp.int32)


def test_init_params():
    p = mlp.init_params(jax.random.key(0), 400, 300, 10, dtype=jnp.float64)
    assert isinstance(p, mlp.Params)
    assert [a.shape for a in p] == [(300, 400), (300,), (10, 300), (10,)]
    assert all(a.dtype == jnp.float64 for a in p)
    np.testing.assert_array_equal(p.b1, 0.0)
    np.testing.assert_array_equal(p.b2, 0.0)
    assert abs(float(jnp.std(p.W1)) / np.sqrt(2 / 400) - 1) < 0.02  # He: var 2/d
    assert abs(float(jnp.std(p.W2)) / np.sqrt(2 / 310) - 1) < 0.05  # Glorot: var 2/(h+K)
    assert mlp.init_params(jax.random.key(0), 3, 4, 2).W1.dtype == jnp.float32
    with pytest.raises(ValueError, match="^k:"):
        mlp.init_params(jax.random.key(0), 3, 4, 1)


# ----------------------------------------------------------------------------------------------
# Batch = sum of examples; vmap; jit; float32.


@pytest.mark.parametrize("inverted", [False, True])
def test_vmap_over_examples_equals_batch(inverted):
    p, x, y, m = _data(jnp.float64, batch=True)
    kw = dict(keep=0.8, inverted=inverted)

    @jax.jit
    def per_example(p, x, y, m):
        one = functools.partial(mlp.grads, **kw), functools.partial(mlp.forward, **kw), \
            functools.partial(mlp.loss, **kw)
        return (jax.vmap(one[0], in_axes=(None, 0, 0, 0))(p, x, y, m),
                jax.vmap(one[1], in_axes=(None, 0, 0))(p, x, m),
                jax.vmap(one[2], in_axes=(None, 0, 0, 0))(p, x, y, m))

    per, z_per, loss_per = per_example(p, x, y, m)
    batch = grads_jit(p, x, y, m, **kw)
    assert _rel_tree(jax.tree.map(lambda a: jnp.sum(a, axis=0), per), batch) < 1e-13
    np.testing.assert_allclose(z_per, forward_jit(p, x, m, **kw), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(jnp.sum(loss_per), loss_jit(p, x, y, m, **kw), rtol=1e-14)


def test_jit_matches_eager_and_does_not_recompile():
    p, x, y, m = _data(jnp.float64, batch=True)
    assert _rel_tree(grads_jit(p, x, y, m), mlp.grads(p, x, y, m)) < 1e-14
    compiled = grads_jit._cache_size()
    p2, x2, y2, m2 = _data(jnp.float64, batch=True, seed=1)
    grads_jit(p2, x2, y2, m2)
    assert grads_jit._cache_size() == compiled


def test_float32_run():
    p, x, y, m = _data(jnp.float32, batch=True)
    g = grads_jit(p, x, y, m, inverted=True)
    assert all(a.dtype == jnp.float32 for a in g)
    assert loss_jit(p, x, y, m).dtype == jnp.float32
    # float32 closed form agrees with the float64 one to float32 accuracy
    p64, x64, y64, m64 = jax.tree.map(lambda a: a.astype(jnp.float64), (p, x, y, m))
    assert _rel_tree(g, grads_jit(p64, x64, y64, m64, inverted=True)) < 2e-6


# ----------------------------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize("keep", [0.0, -0.2, 1.5, float("nan")])
def test_bad_keep(keep):
    p, x, y, m = _data(jnp.float64, batch=False)
    with pytest.raises(ValueError, match=r"^keep: expected a finite number > 0 and <= 1"):
        mlp.forward(p, x, m, keep=keep)
    with pytest.raises(ValueError, match="^keep:"):
        mlp.grads(p, x, y, m, keep=keep, inverted=True)


def test_bad_mask():
    p, x, y, m = _data(jnp.float64, batch=False)
    with pytest.raises(ValueError, match=r"^mask: expected values in \{0, 1\}"):
        mlp.forward(p, x, m.at[2].set(1.25))
    with pytest.raises(ValueError, match=r"^mask: expected values in \{0, 1\}"):
        mlp.grads(p, x, y, m / 0.8)
    with pytest.raises(ValueError, match=r"^mask: expected shape \(8,\)"):
        mlp.forward(p, x, m[:5])
    with pytest.raises(ValueError, match=r"^mask: expected a 1-D array of shape \(8,\)"):
        mlp.forward(p, x, m[None, :])
    with pytest.raises(TypeError, match="^mask: expected a floating-point array"):
        mlp.forward(p, x, m.astype(bool))
    with pytest.raises(TypeError, match="^mask: expected dtype float64"):
        mlp.forward(p, x, m.astype(jnp.float32))
    pb, xb, _, mb = _data(jnp.float64, batch=True)
    with pytest.raises(ValueError, match=r"^mask: expected a 2-D array of shape \(6, 8\)"):
        mlp.forward(pb, xb, mb[0])


def test_bad_shapes_and_targets():
    p, x, y, m = _data(jnp.float64, batch=False)
    with pytest.raises(ValueError, match=r"^x: expected shape \(5,\) or \(B, 5\)"):
        mlp.forward(p, x[:4], m)
    with pytest.raises(ValueError, match=r"^params.b1: expected shape \(8,\)"):
        mlp.forward(p._replace(b1=p.b1[:3]), x, m)
    with pytest.raises(ValueError, match=r"^params.W2: expected shape \(K, 8\)"):
        mlp.forward(p._replace(W2=p.W2[:, :3]), x, m)
    with pytest.raises(ValueError, match=r"^params.b2: expected shape \(4,\)"):
        mlp.forward(p._replace(b2=p.b2[:3]), x, m)
    with pytest.raises(TypeError, match="^params:"):
        mlp.forward((p.W1, p.b1), x, m)
    with pytest.raises(ValueError, match=r"^y: expected shape \(4,\)"):
        mlp.grads(p, x, y[:3], m)
    with pytest.raises(ValueError, match="^y: expected each row to sum to 1"):
        mlp.grads(p, x, 2 * y, m)
    with pytest.raises(ValueError, match="^y: expected each row to sum to 1"):
        mlp.loss(p, x, 0 * y, m)
    with pytest.raises(TypeError, match="^inverted:"):
        mlp.forward(p, x, m, inverted=1)
    with pytest.raises(ValueError, match="^slope:"):
        mlp.forward(p, x, m, slope=float("inf"))
