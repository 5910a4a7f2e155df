"""Property-based tests (hypothesis) over random shapes, values, seeds and both float dtypes.

Profiles (registered here, chosen by the environment variable ``JAXDL_HYPOTHESIS_PROFILE``):

* ``ci`` (default): 200 examples per test (jit == eager: 50, its eager calls are the slow
  part), derandomized (the same examples every run, no example database), no deadline (the
  first example of a shape pays its compilation).
* ``long``: 2000 examples per test (10x; jit == eager 500), randomized, with hypothesis's
  example database: ``JAXDL_HYPOTHESIS_PROFILE=long pytest tests/test_properties.py``.

What is checked:

* every identity of the registry (:mod:`jaxdl.verify`) at hypothesis-drawn PRNG seeds in both
  dtypes, through :func:`jaxdl.verify.core.check` with ``trials=TRIALS`` (``check`` caches one
  jitted error function per identity and trial count, and each identity's shapes are fixed, so
  an example costs one cached call: a sampler draw and the jitted comparison);
* the core closed forms at random shapes from small fixed sets (so compilations stay bounded:
  every jitted function below is module-level and compiled once per shape and dtype) against
  JAX autodiff: logistic gradient and Hessian, softmax Jacobian, cross-entropy gradient and
  Hessian, batch-norm backward, two-layer-net gradients, weight-noise gradients;
* invariants: softmax shift invariance, ``H 1 = 0`` of the cross-entropy Hessian, symmetry and
  PSD of the Hessians, ``vmap`` == a Python loop, ``jit`` == eager.

Failures found here that are defects in files this suite does not own are pinned as
``xfail(strict=True)`` at explicit seeds (test_identity_known_failure), with the fix in the
reason. (Every public function in float32 and float64 is checked by the table in
test_extremes.py.)

Tolerances are relative to the size of the terms a result is summed from (the scale at which
float rounding acts), never loosened to pass: float64 at most 1e-12 of that scale (or tighter),
float32 a stated multiple of its machine epsilon.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxdl import batchnorm, logistic, mlp, noise, softmax, verify
from jaxdl.verify.core import check

settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow], print_blob=True,
)
settings.register_profile(
    "long", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow], print_blob=True,
)
PROFILE = settings.get_profile(os.environ.get("JAXDL_HYPOTHESIS_PROFILE", "ci"))

F32, F64 = jnp.float32, jnp.float64
DTYPES = st.sampled_from([F32, F64])
SEEDS = st.integers(0, 2**32 - 1)


def _eps(dtype) -> float:
    return float(jnp.finfo(dtype).eps)


def _tol(dtype, c32: float) -> float:
    """Relative tolerance on the term scale: 1e-12 in float64, ``c32 * eps`` in float32."""
    return 1e-12 if dtype == F64 else c32 * _eps(F32)


def _err(got, want, scale) -> float:
    """max |got - want| / scale over a pytree (numpy float64 on the host)."""
    g = [np.asarray(a, np.float64) for a in jax.tree.leaves(got)]
    w = [np.asarray(a, np.float64) for a in jax.tree.leaves(want)]
    diff = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(g, w, strict=True))
    return diff / scale if scale > 0 else (0.0 if diff == 0 else np.inf)


# ----------------------------------------------------------------------------------------------
# 1. Every registered identity at hypothesis-drawn seeds.

@pytest.mark.parametrize("name", sorted(verify.REGISTRY))
@PROFILE
@given(seed=SEEDS, dtype=st.sampled_from(verify.DTYPES))
def test_identity_at_random_seeds(name, seed, dtype):
    outcome = check(verify.REGISTRY[name], dtype=dtype, seed=seed, trials=TRIALS)
    assert outcome.ok, outcome


@pytest.mark.parametrize(("name", "dtype", "seed"), [
    ("softmax.ce_grad", "float32", 378), ("softmax.ce_hessian", "float32", 2772),
    ("softmax.jacobian", "float32", 2746), ("logistic.grad_b", "float32", 2952),
    ("softmax.ce_hessian_singular", "float32", 2746), ("softmax.ce_hessian_psd", "float32", 2683),
    ("softmax.ce_hessian_psd", "float64", 721)])
def test_identity_at_former_worst_seeds(name, dtype, seed):
    # The worst seeds of a 3000-seed scan, where these identities failed before the softmax
    # diagonal was formed as p_k * sum_{j != k} p_j and the registry measured errors against
    # the size of the summed terms instead of a cancelled result.
    assert check(verify.REGISTRY[name], dtype=dtype, seed=seed, trials=TRIALS).ok


def test_check_compiles_once_per_identity_and_dtype():
    # What makes the test above cheap: one cached jitted error function per identity, one
    # compilation per dtype, whatever the seed.
    from jaxdl.verify.core import _errors

    ident = verify.REGISTRY["softmax.ce_grad"]
    for dt in verify.DTYPES:
        check(ident, dtype=dt, seed=1, trials=TRIALS)
    fn = _errors(ident)
    before = fn._cache_size()
    for s in range(5):
        for dt in verify.DTYPES:
            check(ident, dtype=dt, seed=100 + s, trials=TRIALS)
    assert _errors(ident) is fn and fn._cache_size() == before


# ----------------------------------------------------------------------------------------------
# 2. Closed forms against autodiff at random shapes and values.


def _rng(seed):
    return np.random.default_rng(seed)


# --- logistic (Q1) ---------------------------------------------------------------------------

LOGISTIC_SHAPES = [(1, 1), (2, 5), (7, 2)]  # one sample; fewer rows than columns; more


def _theta_loss(theta, X, y):
    return logistic.loss(theta[:-1], theta[-1], X, y)


@jax.jit
def _logistic_parts(w, b, X, y):
    gw, gb = logistic.grad(w, b, X, y)
    ad_w, ad_b = jax.grad(logistic.loss, argnums=(0, 1))(w, b, X, y)
    H = logistic.hessian(w, b, X, y)
    H_ad = jax.hessian(_theta_loss)(jnp.append(w, b), X, y)
    return (gw, gb), (ad_w, ad_b), H, H_ad


@PROFILE
@given(shape=st.sampled_from(LOGISTIC_SHAPES), dtype=DTYPES, seed=SEEDS,
       logit_scale=st.sampled_from([0.1, 1.0, 10.0, 60.0]))
def test_logistic_grad_and_hessian_match_autodiff(shape, dtype, seed, logit_scale):
    n, d = shape
    r = _rng(seed)
    X = r.normal(size=(n, d)) * r.uniform(0.1, 10, size=(n, 1))
    w = r.normal(size=d)
    w *= logit_scale / max(np.max(np.abs(X @ w)), 1e-3)
    b = r.normal() * logit_scale / 4
    y = r.integers(0, 2, size=n).astype(float)
    args = [jnp.asarray(a, dtype) for a in (w, b, X, y)]
    g, g_ad, H, H_ad = _logistic_parts(*args)
    A = np.concatenate([X, np.ones((n, 1))], axis=1)
    grad_scale = float(np.max(np.abs(A).sum(0)))  # |p - y| <= 1: the terms' size
    assert _err(g, g_ad, grad_scale) <= _tol(dtype, 4 * (n + 4))
    s = 0.25  # p (1 - p) <= 1/4
    hess_scale = float(np.max(s * np.abs(A).T @ np.abs(A)))
    assert _err(H, H_ad, hess_scale) <= _tol(dtype, 8 * (n + 4))
    Hn = np.asarray(H, np.float64)
    # Symmetric to rounding (not bitwise: (s x_i) x_j and (s x_j) x_i round differently).
    assert _err(Hn, Hn.T, hess_scale) <= _tol(dtype, 4 * (n + 4))
    lam = np.linalg.eigvalsh(Hn)
    assert lam[0] >= -(n + 4) * _eps(dtype) * max(lam[-1], 0.0)  # PSD up to rounding


# --- softmax and cross-entropy (Q3a, Q3b, Q7) ------------------------------------------------

SOFTMAX_SHAPES = [(2,), (3,), (10,), (4, 3), (2, 10)]


def _ce_single(z, y):
    return softmax.cross_entropy(z, y)


@jax.jit
def _softmax_parts(z, y):
    flat_z = z.reshape(-1, z.shape[-1])
    flat_y = y.reshape(-1, z.shape[-1])
    J = softmax.jacobian(flat_z)
    J_ad = jax.vmap(jax.jacrev(softmax.softmax))(flat_z)
    G = softmax.ce_grad(flat_z, flat_y)
    G_ad = jax.vmap(jax.grad(_ce_single))(flat_z, flat_y)
    Hc = softmax.ce_hessian(flat_z)
    H_ad = jax.vmap(jax.hessian(_ce_single))(flat_z, flat_y)
    return J, J_ad, G, G_ad, Hc, H_ad, softmax.ce_hessian(z), softmax.softmax(z)


_softmax_jit = jax.jit(softmax.softmax)


def _logits(draw, shape, dtype, max_gap):
    """Logits with a common offset and a spread such that max - min <= max_gap."""
    k = shape[-1]
    spread = draw(st.floats(0.0, max_gap / 2))
    offset = draw(st.floats(-1e4, 1e4))
    u = np.asarray(draw(st.lists(st.floats(-1, 1), min_size=int(np.prod(shape)),
                                 max_size=int(np.prod(shape)))), float).reshape(shape)
    z = (offset + spread * u).astype(np.float32 if dtype == F32 else np.float64)
    t = draw(st.lists(st.integers(0, k - 1), min_size=int(np.prod(shape[:-1])),
                      max_size=int(np.prod(shape[:-1]))))
    y = np.eye(k)[np.asarray(t, int)].reshape(shape)
    return jnp.asarray(z, dtype), jnp.asarray(y, dtype)


# Gaps above ~16 (float32) / ~36 (float64) make the top probability round to 1; that regime is
# tested in test_extremes.py.
MAX_GAP = {F32: 14.0, F64: 30.0}


@PROFILE
@given(data=st.data(), shape=st.sampled_from(SOFTMAX_SHAPES), dtype=DTYPES)
def test_softmax_closed_forms_match_autodiff_and_invariants(data, shape, dtype):
    z, y = _logits(data.draw, shape, dtype, MAX_GAP[dtype])
    J, J_ad, G, G_ad, Hc, H_ad, H_batched, p = _softmax_parts(z, y)
    k = shape[-1]
    # Entries of J, G and H are (products of) probabilities, at most 1 in size, computed from
    # the same rounded exp(z - max z) by both sides: a few eps per term, k terms per sum.
    c = 8 * (k + 4)
    assert _err(J, J_ad, 1.0) <= _tol(dtype, c)
    assert _err(G, G_ad, 1.0) <= _tol(dtype, c)
    assert _err(Hc, H_ad, 1.0) <= _tol(dtype, c)
    # Q7: H 1 = 0 (shift invariance) and symmetric PSD, to rounding of entries of size <= 1
    # (relative to max|H| they fail: see test_ce_hessian_null_vector_relative below).
    Hn = np.asarray(Hc, np.float64)
    assert np.max(np.abs(Hn.sum(-1))) <= 4 * k * _eps(dtype)
    np.testing.assert_array_equal(Hn, np.swapaxes(Hn, -1, -2))  # p_i p_j == p_j p_i
    lam = np.linalg.eigvalsh(Hn)
    assert np.all(lam[:, 0] >= -4 * k * _eps(dtype))
    # The batched call equals the per-row calls to a few ulp: the same expression, but compiled
    # for another shape, so its sums over the k classes may be taken in another order (every
    # entry is a nonzero product of probabilities, so ulps are meaningful).
    np.testing.assert_array_max_ulp(np.asarray(H_batched).reshape(Hn.shape),
                                    np.asarray(Hc), maxulp=2 * (k + 2))
    # Probabilities sum to one.
    assert np.all(np.abs(np.asarray(p, np.float64).sum(-1) - 1) <= (k + 2) * _eps(dtype))


@PROFILE
@given(data=st.data(), shape=st.sampled_from(SOFTMAX_SHAPES), dtype=DTYPES)
def test_ce_hessian_null_vector_relative(data, shape, dtype):
    # The Q7 facts at the scale of H itself: |H 1| and the negative part of the smallest
    # eigenvalue within rounding of max|H|, also when the top p is within ~1e-2 of 1 (1 - p_max
    # is summed from the other probabilities, not formed by cancellation).
    z, y = _logits(data.draw, shape, dtype, MAX_GAP[dtype])
    Hn = np.asarray(_softmax_parts(z, y)[4], np.float64)
    k = shape[-1]
    hmax = np.max(np.abs(Hn), axis=(-2, -1))
    hmax = np.where(hmax > 0, hmax, 1.0)
    assert np.all(np.max(np.abs(Hn.sum(-1)), -1) <= 4 * k * _eps(dtype) * hmax)
    assert np.all(np.linalg.eigvalsh(Hn)[:, 0] >= -4 * k * _eps(dtype) * hmax)


@PROFILE
@given(data=st.data(), shape=st.sampled_from(SOFTMAX_SHAPES), dtype=DTYPES,
       shift=st.floats(-1e3, 1e3))
def test_softmax_shift_invariance(data, shape, dtype, shift):
    # softmax(z + c) == softmax(z): exactly in exact arithmetic; in floating point the shifted
    # logits z + c are rounded, so p moves by at most eps (|z| + |c|) relative per entry.
    z, _ = _logits(data.draw, shape, dtype, MAX_GAP[dtype])
    zs = z + jnp.asarray(shift, dtype)
    p, ps = np.asarray(_softmax_jit(z), np.float64), np.asarray(_softmax_jit(zs), np.float64)
    zmax = float(jnp.max(jnp.abs(z))) + abs(shift)
    rel = np.abs(p - ps) / p
    assert np.all(rel <= 4 * _eps(dtype) * (zmax + shape[-1] + 2)), float(np.max(rel))


# --- batch norm (Q2) -------------------------------------------------------------------------

BN_SHAPES = [(2, 1), (3, 2), (7, 3)]
BN_EPS = 1e-3


def _bn_vjp(g, x, gamma, beta, center_only):
    _, pull = jax.vjp(lambda x, gamma, beta: batchnorm.forward(
        x, gamma, beta, eps=BN_EPS, center_only=center_only), x, gamma, beta)
    return pull(g)


@jax.jit
def _bn_parts(g, x, gamma, beta):
    out = []
    for center_only in (False, True):
        closed = batchnorm.backward(g, x, gamma, eps=BN_EPS, center_only=center_only)
        out.append((closed, _bn_vjp(g, x, gamma, beta, center_only)))
    return out


@PROFILE
@given(shape=st.sampled_from(BN_SHAPES), dtype=DTYPES, seed=SEEDS,
       offset=st.floats(-100, 100), spread=st.sampled_from([1e-2, 1.0, 1e2]))
def test_batchnorm_backward_matches_vjp(shape, dtype, seed, offset, spread):
    r = _rng(seed)
    n, f = shape
    x = offset + spread * r.normal(size=(n, f))
    g = r.normal(0.5, 1.0, size=(n, f))
    gamma, beta = r.normal(size=f), r.normal(size=f)
    args = [jnp.asarray(a, dtype) for a in (g, x, gamma, beta)]
    for closed, ref in _bn_parts(*args):
        # dx has size |gamma| |g| / sqrt(var + eps) times O(1) factors; dgamma, dbeta sum n
        # terms of size |g| |xhat| and |g|.
        std = np.sqrt(np.var(x, axis=0) + BN_EPS)
        scale = float(np.max(np.abs(gamma) / std) * np.max(np.abs(g)) * n + np.max(np.abs(g)) * n)
        assert _err(closed, ref, scale) <= _tol(dtype, 16 * (n + 4)), shape


# --- two-layer net (Q3c) ---------------------------------------------------------------------

MLP_SHAPES = [(1, 1, 2, None, False), (3, 4, 3, 2, True), (5, 8, 4, None, True)]  # d h K B inv


def _mlp_loss(p, x, y, m, inverted):
    return mlp.loss(p, x, y, m, keep=0.8, inverted=inverted)


def _mlp_parts(p, x, y, m, inverted):
    closed = mlp.grads(p, x, y, m, keep=0.8, inverted=inverted)
    return closed, jax.grad(_mlp_loss)(p, x, y, m, inverted)


_mlp_parts_jit = jax.jit(_mlp_parts, static_argnames="inverted")


@PROFILE
@given(shape=st.sampled_from(MLP_SHAPES), dtype=DTYPES, seed=SEEDS,
       weight_scale=st.sampled_from([0.1, 1.0, 10.0]))
def test_mlp_grads_match_autodiff(shape, dtype, seed, weight_scale):
    d, h, k, B, inverted = shape
    r = _rng(seed)
    lead = () if B is None else (B,)
    p = mlp.Params(*(jnp.asarray(weight_scale * r.normal(size=s), dtype)
                     for s in ((h, d), (h,), (k, h), (k,))))
    x = jnp.asarray(r.normal(size=lead + (d,)), dtype)
    y = jnp.asarray(np.eye(k)[r.integers(0, k, size=lead)], dtype)
    m = jnp.asarray(r.integers(0, 2, size=lead + (h,)), dtype)
    closed, ref = _mlp_parts_jit(p, x, y, m, inverted=inverted)
    # Every gradient is a product of |p - y| <= 1, weights, activations and inputs: scale by
    # the size of those products.
    xs = float(np.max(np.abs(np.asarray(x)))) + 1
    a1 = weight_scale * (d * xs + 1) * 1.25  # bounds |z1| (and |a1| with 1/keep)
    scale = max(B or 1, 1) * (1 + a1) * (1 + weight_scale * k) * xs
    assert _err(closed, ref, scale) <= _tol(dtype, 16 * (d + h + k + 4))


# --- weight noise (Q5) -----------------------------------------------------------------------


@jax.jit
def _noise_parts(w, x, y_d, beta, sigma):
    g = noise.grad(w, x, y_d, beta)
    g_ad = jax.grad(noise.loss)(w, x, y_d, beta)
    e = noise.expected_grad(w, x, y_d, sigma=sigma)
    e_ad = jax.grad(lambda v: noise.expected_loss(v, x, y_d, sigma=sigma))(w)
    return g, g_ad, e, e_ad


@PROFILE
@given(d=st.sampled_from([1, 2, 5]), dtype=DTYPES, seed=SEEDS,
       sigma=st.floats(0.0, 3.0), size=st.sampled_from([0.1, 1.0, 100.0]))
def test_noise_grads_match_autodiff(d, dtype, seed, sigma, size):
    r = _rng(seed)
    w, x, beta = size * r.normal(size=d), r.normal(size=d), 1 + sigma * r.normal(size=d)
    y_d = size * r.normal()
    g, g_ad, e, e_ad = _noise_parts(*(jnp.asarray(a, dtype) for a in (w, x, y_d, beta, sigma)))
    res = abs(y_d) + np.sum(np.abs(beta * w * x))  # the residual's terms
    assert _err(g, g_ad, float(np.max(np.abs(beta * x)) * res)) <= _tol(dtype, 4 * (d + 4))
    res0 = abs(y_d) + np.sum(np.abs(w * x)) + sigma**2 * np.max(np.abs(w * x))
    assert _err(e, e_ad, float(np.max(np.abs(x)) * res0)) <= _tol(dtype, 4 * (d + 4))


# ----------------------------------------------------------------------------------------------
# 3. vmap == a Python loop, jit == eager.

_vmap_grad = jax.jit(jax.vmap(logistic.grad, in_axes=(0, None, None, None)))
_grad_jit = jax.jit(logistic.grad)
_vmap_ce_grad = jax.jit(jax.vmap(softmax.ce_grad))
_ce_grad_jit = jax.jit(softmax.ce_grad)
_vmap_bn = jax.jit(jax.vmap(lambda g, x, gamma: batchnorm.backward(g, x, gamma, eps=BN_EPS),
                            in_axes=(0, 0, None)))
_bn_jit = jax.jit(lambda g, x, gamma: batchnorm.backward(g, x, gamma, eps=BN_EPS))


@PROFILE
@given(dtype=DTYPES, seed=SEEDS)
def test_vmap_equals_loop(dtype, seed):
    r = _rng(seed)
    X, y = r.normal(size=(7, 3)), r.integers(0, 2, size=7).astype(float)
    ws = r.normal(size=(4, 3)) * 3
    cast = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    batched = _vmap_grad(cast(ws), cast(0.5), cast(X), cast(y))
    scale = float(np.max(np.abs(X).sum(0))) * 2
    for i in range(4):
        assert _err(tuple(t[i] for t in batched), _grad_jit(cast(ws[i]), cast(0.5), cast(X),
                                                            cast(y)), scale) \
            <= _tol(dtype, 4 * (7 + 4))
    Z = cast(r.normal(size=(4, 5)) * 4)
    Y = cast(np.eye(5)[r.integers(0, 5, size=4)])
    G = _vmap_ce_grad(Z, Y)
    for i in range(4):
        assert _err(G[i], _ce_grad_jit(Z[i], Y[i]), 1.0) <= _tol(dtype, 16)
    gs, xs, gamma = cast(r.normal(size=(3, 6, 2))), cast(r.normal(size=(3, 6, 2)) * 5), \
        cast(r.normal(size=2))
    B = _vmap_bn(gs, xs, gamma)
    for i in range(3):
        assert _err(tuple(t[i] for t in B), _bn_jit(gs[i], xs[i], gamma), 100.0) \
            <= _tol(dtype, 16 * 10)


_hess_jit = jax.jit(logistic.hessian)
_jac_jit = jax.jit(softmax.jacobian)
_expected_grad_jit = jax.jit(lambda w, x, y_d, s: noise.expected_grad(w, x, y_d, sigma=s))


@settings(PROFILE, max_examples=PROFILE.max_examples // 4)  # eager calls: ~25 ms an example
@given(dtype=DTYPES, seed=SEEDS)
def test_jit_equals_eager(dtype, seed):
    # The eager path validates on the host and runs op by op; under jit the same expression is
    # compiled as a whole. Both must agree to rounding (XLA may fuse differently).
    r = _rng(seed)
    cast = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    X, y, w = cast(r.normal(size=(5, 2))), cast(r.integers(0, 2, size=5)), cast(r.normal(size=2))
    b = cast(r.normal())
    tol = _tol(dtype, 32)
    s = float(jnp.sum(jnp.abs(X))) + 5
    # (logistic.loss, mlp.grads and batchnorm have their own jit == eager tests.)
    assert _err(logistic.grad(w, b, X, y), _grad_jit(w, b, X, y), s) <= tol
    assert _err(logistic.hessian(w, b, X), _hess_jit(w, b, X), s * s) <= tol
    z = cast(r.normal(size=(3, 4)) * 3)
    assert _err(softmax.jacobian(z), _jac_jit(z), 1.0) <= tol
    wn, xn = cast(r.normal(size=3)), cast(r.normal(size=3))
    assert _err(noise.expected_grad(wn, xn, 0.5, sigma=0.3),
                _expected_grad_jit(wn, xn, cast(0.5), cast(0.3)), 10.0) <= tol
