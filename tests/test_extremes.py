"""Numerical extremes: every loss and closed form finite AND correct at extreme inputs.

"Correct" means compared with an independent reference computed in NumPy extended precision
(``np.longdouble``; 80-bit on x86-64; where it is only float64, the float64 comparisons skip and
say why: test_longdouble_is_wider_than_float64) from the same (float32-representable) inputs, with
a tolerance that is the rounding-error bound of the computation in the tested dtype: ``eps`` of the
dtype times the size of the terms, never a loosened constant. Covered: logistic loss, gradient and
Hessian for logits up to +-1e4 and at +-inf; softmax, log-softmax, cross-entropy and its gradient
for K = 1000 with spreads up to 1e4 (with masked and +inf logits); the two-layer net's loss and
gradients at logits of +-1e4; batch norm on zero-variance features; logistic Hessians of data with
row norms up to 1e6; and the PSD assertions of :mod:`jaxdl.checks`, which must hold for true PSD
matrices in float32 (Gram matrices, rank-deficient ones, logistic and cross-entropy Hessians at
extreme inputs) and catch an eigenvalue of -1e-3 relative.

Last, :data:`TABLE` names every public function of every module (``__all__`` of each module in
``jaxdl.__all__``, and ``jaxdl.verify``) and runs each in float32 and float64, or points to the
test above that does, or says why it has no floating input; a new public function without an
entry fails ``test_table_names_every_public_function``.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _registry_trials import TRIALS

from jaxdl import batchnorm, checks, logistic, mlp, multinomial, newton, noise, softmax, verify
from jaxdl.verify.core import check

LD = np.longdouble
F32, F64 = jnp.float32, jnp.float64
# The references need more precision than the tested float64: np.longdouble is 80-bit on
# x86-64 Linux and 128-bit on aarch64 Linux, but only float64 on some platforms (macOS arm64,
# Windows), where a float64 result cannot be checked against it to its rounding bound.
LD_IS_WIDE = np.finfo(LD).nmant > np.finfo(np.float64).nmant
LD_REASON = (f"np.longdouble has {np.finfo(LD).nmant} mantissa bits here (float64 has "
             f"{np.finfo(np.float64).nmant}): no wider reference for float64 results")
DTYPES = [F32, F64]
TINY = {dt: float(jnp.finfo(dt).tiny) for dt in DTYPES}  # below this, results may flush to 0


# The library functions, jitted once here: one compilation per shape instead of one per
# primitive (eager validation is covered by test_bad_input.py; jit == eager by
# test_properties.py).
J = {name: jax.jit(fn) for name, fn in {
    "loss_from_logits": logistic.loss_from_logits, "loss": logistic.loss,
    "grad": logistic.grad, "hessian": logistic.hessian,
    "grad_ad": jax.grad(logistic.loss, argnums=(0, 1)),
    "softmax": softmax.softmax, "log_softmax": softmax.log_softmax,
    "cross_entropy": softmax.cross_entropy, "ce_grad": softmax.ce_grad,
    "ce_hessian": softmax.ce_hessian, "mlp_loss": mlp.loss, "mlp_grads": mlp.grads,
}.items()}
J["loss_from_logits_grad"] = jax.jit(jax.vmap(jax.grad(logistic.loss_from_logits)))
J["bn_forward"] = jax.jit(batchnorm.forward, static_argnames="center_only")
J["bn_backward"] = jax.jit(batchnorm.backward, static_argnames="center_only")


def _eps(dtype) -> float:
    return float(jnp.finfo(dtype).eps)


def test_longdouble_is_wider_than_float64():
    if not LD_IS_WIDE:
        pytest.skip(LD_REASON)
    assert np.finfo(LD).eps < np.finfo(np.float64).eps / 2**10
    assert LD(1) + LD(np.finfo(np.float64).eps) / 4 != LD(1)  # holds what float64 rounds off


def _need_wide_reference(dtype) -> None:
    """Skip a float64 comparison against the long-double reference where it is only float64."""
    if dtype == F64 and not LD_IS_WIDE:
        pytest.skip(LD_REASON)


def _ld(a) -> np.ndarray:
    return np.asarray(a).astype(LD)


def _sigmoid_ld(z):
    z = _ld(z)
    with np.errstate(over="ignore", invalid="ignore"):  # the branch np.where drops may be NaN
        return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def _softplus_ld(z):
    return np.logaddexp(LD(0), _ld(z))


def _dtypes(tree, dtype):
    """Every floating leaf of ``tree`` has ``dtype`` (the inputs' dtype is kept)."""
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == dtype, (leaf.dtype, dtype)


def _assert_within(got, want, tol, what):
    got = np.asarray(got).astype(LD)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities are checked by ==
        err = np.where(got == want, LD(0), np.abs(got - want))
    bad = ~(err <= tol)
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} entries off; worst err {float(err[bad].max()):.3e} vs "
        f"tol {float(np.asarray(tol, LD)[bad].min() if np.ndim(tol) else tol):.3e}"
    )


# ----------------------------------------------------------------------------------------------
# Logistic regression: logits up to +-1e4 and +-inf.

LOGITS = np.array([1e4, -1e4, 1e3, -1e3, 104.0, -104.0, 88.5, -88.5, 40.0, -40.0, 17.0, -17.0,
                   5.0, -5.0, 1.0, -1.0, 1e-3, -1e-3, 0.0, 0.5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_from_logits_including_inf(dtype):
    _need_wide_reference(dtype)
    z = np.concatenate([LOGITS, [np.inf, -np.inf]])
    for label in (0.0, 1.0):
        y = np.full_like(z, label)
        got = J["loss_from_logits"](jnp.asarray(z, dtype), jnp.asarray(y, dtype))
        assert got.dtype == dtype
        want = _softplus_ld(z) if label == 0 else _softplus_ld(-z)  # inf where the label is wrong
        inf = np.isinf(want)
        np.testing.assert_array_equal(np.asarray(got)[inf], np.inf)
        # softplus is relatively accurate to a few eps; below the smallest normal it may flush.
        _assert_within(np.asarray(got)[~inf], want[~inf], 4 * _eps(dtype) * want[~inf]
                       + TINY[dtype], f"loss_from_logits y={label}")
        g = J["loss_from_logits_grad"](jnp.asarray(z, dtype), jnp.asarray(y, dtype))
        # jax's softplus JVP is exp(z - softplus(z)): the difference carries eps |z|.
        zf = np.where(np.isfinite(z), np.abs(z), 0)
        _assert_within(g, _sigmoid_ld(z) - label, _eps(dtype) * (4 + zf),
                       f"d loss / dz, y={label}")


def _logit_problem(dtype):
    """X with logits z = X w + b computed exactly: column 0 holds the logits, w = (1, 0)."""
    rng = np.random.default_rng(0)
    n = LOGITS.size
    X = np.stack([LOGITS, rng.uniform(-3, 3, n)], axis=1).astype(np.float32)
    y = (np.arange(n) % 3 == 0).astype(np.float32)  # every logit meets both labels across rows
    return (jnp.asarray(X, dtype), jnp.asarray(y, dtype), jnp.asarray([1.0, 0.0], dtype),
            jnp.asarray(0.0, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_loss_grad_hessian_at_extreme_logits(dtype):
    _need_wide_reference(dtype)
    X, y, w, b = _logit_problem(dtype)
    n = X.shape[0]
    eps = _eps(dtype)
    z = _ld(X)[:, 0]
    yl = _ld(y)
    per = (1 - yl) * _softplus_ld(z) + yl * _softplus_ld(-z)
    # Loss: each softplus to a few eps, a sum of n positive terms to n eps.
    L = J["loss"](w, b, X, y)
    assert L.dtype == dtype and np.isfinite(float(L))
    _assert_within(L, per.sum(), (n + 4) * eps * per.sum(), "loss")
    # Gradient: r = sigma(z) - y is exact to 2 eps absolute (not relative: 1 - p rounds).
    A = np.concatenate([_ld(X), np.ones((n, 1), LD)], axis=1)
    r = _sigmoid_ld(z) - yl
    gw, gb = J["grad"](w, b, X, y)
    _dtypes((gw, gb), dtype)
    g = np.concatenate([np.asarray(gw).astype(LD), [LD(float(gb))]])
    _assert_within(g, r @ A, (n + 4) * eps * np.abs(A).sum(0), "grad")
    # Hessian: s = sigma(z) sigma(-z) is relatively accurate even where p rounds to 0 or 1.
    s = _sigmoid_ld(z) * _sigmoid_ld(-z)
    H = J["hessian"](w, b, X)
    _dtypes(H, dtype)
    want = (A * s[:, None]).T @ A
    _assert_within(H, want, (n + 8) * eps * (np.abs(A) * s[:, None]).T @ np.abs(A) + TINY[dtype],
                   "hessian")
    checks.assert_symmetric(H)
    checks.assert_psd(H)
    # The derivatives of the loss by autodiff agree with the reference too.
    ag = J["grad_ad"](w, b, X, y)
    g_ad = np.concatenate([np.asarray(ag[0]).astype(LD), [LD(float(ag[1]))]])
    _assert_within(g_ad, r @ A, (n + 4) * eps * np.abs(A).sum(0), "jax.grad(loss)")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rank_deficient", [False, True])
def test_logistic_hessian_rows_up_to_1e6(dtype, rank_deficient):
    _need_wide_reference(dtype)
    # Row norms from 1 to 1e6, logits from moderate to +-1e4 (s then underflows to 0).
    rng = np.random.default_rng(1)
    n, d = (4, 8) if rank_deficient else (64, 6)  # n < d + 1: H has rank n
    X = rng.normal(size=(n, d))
    X *= (np.logspace(0, 6, n) / np.linalg.norm(X, axis=1))[:, None]
    X = X.astype(np.float32)
    for w_scale in (1e-7, 1e-4, 1e-2):
        w = (w_scale * rng.normal(size=d)).astype(np.float32)
        b = np.float32(0.3)
        H = J["hessian"](jnp.asarray(w, dtype), jnp.asarray(b, dtype), jnp.asarray(X, dtype))
        assert H.dtype == dtype and bool(jnp.all(jnp.isfinite(H)))
        Xl, wl = _ld(X), _ld(w)
        z = Xl @ wl + LD(float(b))
        s = _sigmoid_ld(z) * _sigmoid_ld(-z)
        A = np.concatenate([Xl, np.ones((n, 1), LD)], axis=1)
        eps = _eps(dtype)
        # The logit itself rounds: |dz| <= (d + 2) eps (|x| |w| + |b|), and |ds / dz| <= s.
        dz = (d + 2) * eps * (np.abs(Xl) @ np.abs(wl) + abs(float(b)))
        tol = (np.abs(A) * (s * (dz + (n + 8) * eps))[:, None]).T @ np.abs(A) + TINY[dtype]
        _assert_within(H, (A * s[:, None]).T @ A, tol, f"hessian w_scale={w_scale}")
        checks.assert_symmetric(H)
        checks.assert_psd(H)
        assert bool(checks.is_psd(H))


# ----------------------------------------------------------------------------------------------
# Softmax and cross-entropy: K = 1000, spreads up to 1e4, masked and infinite logits.

K = 1000


def _softmax_ld(z):
    z = _ld(z)
    m = z.max()
    if np.isposinf(m):
        p = (z == np.inf).astype(LD)
        return p, np.where(p > 0, LD(0), LD(-np.inf))
    with np.errstate(divide="ignore"):
        e = np.exp(z - m)
        logs = np.log(e.sum())
        return e / e.sum(), (z - m) - logs


def _ce_hessian_ld(p):
    """diag(p) - p p^T in long double, the diagonal as p_k * sum_{j != k} p_j: p_k - p_k^2
    cancels when p_k is near 1 (3% error at p_top = 1 - 4e-18 even in long double)."""
    others = np.array([np.sum(np.delete(p, k)) for k in range(p.size)], dtype=LD)
    want = -np.outer(p, p)
    np.fill_diagonal(want, p * others)
    return want


def _logit_vector(spread, variant):
    rng = np.random.default_rng(int(spread * 10) % 997)
    z = (spread * rng.normal(size=K)).astype(np.float32).astype(np.float64)
    if variant in ("masked", "plus_inf"):
        z[rng.choice(K, 50, replace=False)] = -np.inf
    if variant == "plus_inf":
        z[int(np.argmin(z))] = np.inf  # the one +inf sits where a -inf may have been: fine
    return z


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["plain", "masked", "plus_inf"])
@pytest.mark.parametrize("spread", [1e-3, 30.0, 1e4])
def test_softmax_k1000_extreme_spreads(spread, variant, dtype):
    _need_wide_reference(dtype)
    z = _logit_vector(spread, variant)
    eps = _eps(dtype)
    zj = jnp.asarray(z, dtype)
    p_ref, logp_ref = _softmax_ld(z)
    m = np.max(z)
    gap = np.where(np.isfinite(z), np.abs(z - (0 if np.isinf(m) else m)), 0)
    # exp(z - m) with z - m rounded: relative error eps |z - m|; the sum of K terms: K eps.
    rtol = eps * (gap + 4 + K)
    p = J["softmax"](zj)
    assert p.dtype == dtype and bool(jnp.all(jnp.isfinite(p)))
    _assert_within(p, p_ref, rtol * p_ref + TINY[dtype], "softmax")
    assert abs(float(jnp.sum(p)) - 1) <= (K + 4) * eps
    logp = J["log_softmax"](zj)
    _dtypes(logp, dtype)
    fin = np.isfinite(logp_ref)
    np.testing.assert_array_equal(np.asarray(logp)[~fin], -np.inf)
    _assert_within(np.asarray(logp)[fin], logp_ref[fin],
                   (eps * (gap + np.log(K) + 4 + K))[fin], "log_softmax")
    for t in (int(np.nanargmax(np.where(fin, z, np.nan))), int(np.nanargmin(np.where(fin, z,
                                                                                    np.nan)))):
        y = np.zeros(K)
        y[t] = 1.0
        yj = jnp.asarray(y, dtype)
        ce = J["cross_entropy"](zj, yj)
        _dtypes(ce, dtype)
        _assert_within(ce, -logp_ref[t], eps * (gap[t] + np.log(K) + 4 + K), f"CE class {t}")
        gr = J["ce_grad"](zj, yj)
        _dtypes(gr, dtype)
        _assert_within(gr, p_ref - _ld(y), rtol * p_ref + 2 * eps, f"ce_grad class {t}")




@pytest.mark.parametrize(("spread", "dtype"), [
    (1e-3, jnp.float32), (1.0, jnp.float64), (1e3, jnp.float32), (1e4, jnp.float64),
    # spread 1e3 in float64: the top p rounds to 1 while the others are ~1e-200, not 0.
    (1e3, jnp.float64),
])
def test_ce_hessian_psd_and_null_vector(spread, dtype):
    _need_wide_reference(dtype)
    # K = 200 (not 1000: a 1000 x 1000 eigendecomposition per case costs seconds); the logits
    # are the first 200 of the K = 1000 vectors above.
    z = _logit_vector(spread, "masked")[:200]
    K = z.size
    H = J["ce_hessian"](jnp.asarray(z, dtype))
    assert H.dtype == dtype and bool(jnp.all(jnp.isfinite(H)))
    p_ref, _ = _softmax_ld(z)
    want = _ce_hessian_ld(p_ref)
    eps = _eps(dtype)
    m = np.max(z)
    gap = np.where(np.isfinite(z), np.abs(z - m), 0)
    dp = eps * (gap + 4 + K) * p_ref + TINY[dtype]
    # d(p_i p_j) = p_i dp_j + p_j dp_i, and the diagonal's p_i (1 - p_i) likewise.
    tol = np.diag(dp) + np.outer(p_ref, dp) + np.outer(dp, p_ref) + TINY[dtype]
    _assert_within(H, want, tol, "ce_hessian")
    checks.assert_psd(H)
    checks.assert_symmetric(H)
    scale = float(jnp.max(jnp.abs(H)))
    assert float(jnp.max(jnp.abs(H @ jnp.ones(K, dtype)))) <= 4 * K * eps * scale + TINY[dtype]


@pytest.mark.parametrize(("z", "dtype"), [([20.0, 0.0], jnp.float32),
                                          ([30.0] + [0.0] * 199, jnp.float32),
                                          ([40.0, 0.0, -3.0], jnp.float64)])
def test_ce_hessian_psd_when_top_probability_rounds_to_one(z, dtype):
    _need_wide_reference(dtype)
    H = softmax.ce_hessian(jnp.asarray(z, dtype))
    p_ref, _ = _softmax_ld(np.asarray(z))
    want = _ce_hessian_ld(p_ref)
    # Normwise relative accuracy of the closed form, then the two structural facts of Q7.
    err = np.max(np.abs(np.asarray(H).astype(LD) - want)) / np.max(np.abs(want))
    assert err <= 8 * _eps(dtype) * len(z), err
    checks.assert_psd(H)
    assert float(jnp.max(jnp.abs(H.sum(axis=1)))) <= 4 * len(z) * _eps(dtype) * float(
        jnp.max(jnp.abs(H)))


# ----------------------------------------------------------------------------------------------
# The two-layer net's loss and gradients at logits of +-1e4.


def _mlp_ld(params, x, y, mask, slope=0.01):
    W1, b1, W2, b2 = (_ld(a) for a in params)
    x, y, mask = _ld(x), _ld(y), _ld(mask)
    z1 = x @ W1.T + b1
    lr = np.where(z1 > 0, LD(1), LD(slope))
    a1 = mask * z1 * lr
    z2 = a1 @ W2.T + b2
    m = z2.max(axis=1, keepdims=True)
    e = np.exp(z2 - m)
    logp = z2 - m - np.log(e.sum(axis=1, keepdims=True))
    d2 = e / e.sum(axis=1, keepdims=True) - y
    d1 = (d2 @ W2) * mask * lr
    grads = (d1.T @ x, d1.sum(0), d2.T @ a1, d2.sum(0))
    mags = (np.abs(x).sum(0), np.abs(x @ np.abs(W1).T + np.abs(b1)), np.abs(a1), np.abs(z2))
    return -(y * logp).sum(), grads, z2, mags


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_loss_and_grads_at_logits_1e4(dtype):
    _need_wide_reference(dtype)
    rng = np.random.default_rng(5)
    B, d, h, k = 6, 4, 8, 3
    # He/Glorot-scaled weights with the output layer scaled so the logits reach about +-1e4;
    # everything float32-representable.
    p32 = mlp.Params(
        W1=(rng.normal(size=(h, d)) * np.sqrt(2 / d)).astype(np.float32),
        b1=(0.3 * rng.normal(size=h)).astype(np.float32),
        W2=(3000 * rng.normal(size=(k, h)) * np.sqrt(2 / (h + k))).astype(np.float32),
        b2=np.asarray([0.0, 1e4, -1e4], np.float32),
    )
    x = rng.normal(size=(B, d)).astype(np.float32)
    y = np.eye(k, dtype=np.float32)[np.arange(B) % k]
    mask = (rng.uniform(size=(B, h)) < 0.8).astype(np.float32)
    params = mlp.Params(*(jnp.asarray(a, dtype) for a in p32))
    args = (jnp.asarray(x, dtype), jnp.asarray(y, dtype), jnp.asarray(mask, dtype))
    L_ref, g_ref, z2, _ = _mlp_ld(p32, x, y, mask)
    assert np.max(np.abs(z2)) > 5e3  # the extreme regime is reached
    eps = _eps(dtype)
    L = J["mlp_loss"](params, *args)
    assert L.dtype == dtype and np.isfinite(float(L))
    # Each logit carries a rounding error of about (h + d) eps times the size of its terms;
    # the loss and the gradients inherit it (|dCE/dz| <= 1 per logit, summed over the batch).
    W1, b1, W2, b2 = (_ld(a) for a in p32)
    a_mag = np.abs(_ld(x)) @ np.abs(W1).T + np.abs(b1)  # bounds |z1| terms
    z_mag = a_mag @ np.abs(W2).T + np.abs(b2)  # bounds the terms of each logit
    dz = (h + d + 4) * eps * z_mag
    _assert_within(L, L_ref, 2 * dz.sum(), "mlp loss")
    g = J["mlp_grads"](params, *args)
    _dtypes(g, dtype)
    # dW2 = delta2^T a1, with |d delta2| <= dz (sigma' <= 1) + 2 eps; dW1 = delta1^T x likewise.
    dd2 = dz + 2 * eps
    tol_W2 = dd2.T @ a_mag + (h + 4) * eps * np.abs(g_ref[2])
    _assert_within(g.W2, g_ref[2], tol_W2, "dW2")
    _assert_within(g.b2, g_ref[3], dd2.sum(0), "db2")
    dd1 = dd2 @ np.abs(W2) + (k + 4) * eps * np.abs(_ld(np.asarray(g_ref[1])))[None, :]
    _assert_within(g.W1, g_ref[0], dd1.T @ np.abs(_ld(x)) + (B + 4) * eps * np.abs(g_ref[0]),
                   "dW1")
    _assert_within(g.b1, g_ref[1], dd1.sum(0) + (B + 4) * eps * np.abs(g_ref[1]), "db1")
    assert all(bool(jnp.all(jnp.isfinite(a))) for a in g)


# ----------------------------------------------------------------------------------------------
# Batch norm on a zero-variance feature.

CONSTANTS = [0.1, 1 / 3, 2.0, 12345.678, -7.77e4, 1e6 + 0.1, 3.3e7, np.pi * 1e5, 1e-20, 5e30]


def _bn_ld(g, x, gamma, beta, eps):
    x, g = _ld(x), _ld(g)
    gamma, beta = _ld(gamma), _ld(beta)
    mu = x.mean(0)
    xc = x - mu
    var = (xc * xc).mean(0)
    std = np.sqrt(var + LD(eps))
    xhat = xc / std
    gc = g - g.mean(0)
    dx = gamma / std * (gc - xhat * (g * xhat).mean(0))
    return gamma * xhat + beta, dx, (g * xhat).sum(0), g.sum(0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [2, 3, 7, 100])
def test_batchnorm_zero_variance_feature(n, dtype):
    _need_wide_reference(dtype)
    eps_bn = 1e-5
    rng = np.random.default_rng(n)
    for c in CONSTANTS:
        x = np.stack([np.full(n, c), rng.normal(size=n), 5 + 1e-3 * rng.normal(size=n)], 1)
        x = x.astype(np.float32)  # float32-representable in both dtypes
        g = rng.normal(0.5, 1.0, size=(n, 3)).astype(np.float32)
        gamma = np.array([1.5, -2.0, 0.5], np.float32)
        beta = np.array([0.1, 0.2, -0.3], np.float32)
        cast = [jnp.asarray(a, dtype) for a in (g, x, gamma, beta)]
        y = J["bn_forward"](*cast[1:], eps=eps_bn)
        dx, dgamma, dbeta = J["bn_backward"](*cast[:3], eps=eps_bn)
        _dtypes((y, dx, dgamma, dbeta), dtype)
        y_ref, dx_ref, dgamma_ref, dbeta_ref = _bn_ld(g, x, gamma, beta, eps_bn)
        # The constant feature normalises to exactly 0: y = beta, dgamma = 0.
        np.testing.assert_array_equal(np.asarray(y[:, 0]), np.asarray(cast[3][0]))
        assert float(dgamma[0]) == 0.0, (c, n)
        eps = _eps(dtype)
        xhat_mag = np.abs((y_ref - _ld(beta)) / _ld(gamma))
        _assert_within(y, y_ref, (n + 8) * eps * np.abs(_ld(gamma)) * (1 + xhat_mag)
                       + (2 * eps) * np.abs(_ld(beta)), f"forward c={c}")
        std = np.abs(_ld(gamma)) / np.sqrt(((_ld(x) - _ld(x).mean(0)) ** 2).mean(0) + LD(eps_bn))
        gmag = np.abs(_ld(g)).mean(0) * (1 + xhat_mag.max(0)) ** 2
        _assert_within(dx, dx_ref, (n + 8) * eps * std * gmag, f"dx c={c}")
        _assert_within(dgamma, dgamma_ref, (n + 8) * eps * (np.abs(_ld(g)) * xhat_mag).sum(0)
                       + TINY[dtype], f"dgamma c={c}")
        _assert_within(dbeta, dbeta_ref, (n + 4) * eps * np.abs(_ld(g)).sum(0), f"dbeta c={c}")
        # Mean-only BN: the constant feature centres to exactly 0 as well.
        yc = J["bn_forward"](*cast[1:], eps=eps_bn, center_only=True)
        np.testing.assert_array_equal(np.asarray(yc[:, 0]), np.asarray(cast[3][0]))


# ----------------------------------------------------------------------------------------------
# PSD assertions: no false alarms on true PSD matrices, -1e-3 relative caught.


_gram = jax.jit(lambda X: X.T @ X)


def _gram_cases():
    rng = np.random.default_rng(3)
    # One d for all (one eigvalsh compilation per dtype): fewer rows than columns, many rows
    # of rank d/2, and rank one.
    for n, d, r in [(10, 30, 10), (20000, 30, 15), (300, 30, 1)]:
        A = rng.normal(size=(n, r)).astype(np.float32)
        B = rng.normal(size=(r, d)).astype(np.float32)
        X = (A @ B) * np.logspace(0, 3, n, dtype=np.float32)[:, None]
        yield f"gram-{n}x{d}-rank{r}", X.astype(np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_psd_no_false_alarm_on_gram_matrices(dtype):
    # Rank-deficient Gram matrices from many rows with widely varying norms: the computed zero
    # eigenvalues come out as rounding-sized negatives, which must not raise.
    grams = []
    for name, X in _gram_cases():
        H = _gram(jnp.asarray(X, dtype))
        checks.assert_psd(H, name=name)
        assert bool(checks.is_psd(H)), name
        grams.append(np.asarray(H))
    # A batch of them, and the jitted predicate.
    assert bool(jnp.all(jax.jit(checks.is_psd)(jnp.asarray(np.stack(grams)))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_psd_no_false_alarm_on_extreme_hessians(dtype):
    # Logistic Hessians where every logit is extreme (curvatures near the float32 minimum).
    X, _, _, _ = _logit_problem(dtype)
    for w0 in (1.0, 0.02, 1e-3):
        H = J["hessian"](jnp.asarray([w0, 0.0], dtype), jnp.asarray(0.0, dtype), X)
        checks.assert_psd(H)
        assert bool(checks.is_psd(H))
    # Cross-entropy Hessians of a batch of extreme logit rows (top probability below 1 - eps).
    rng = np.random.default_rng(4)
    Z = jnp.asarray((rng.normal(size=(16, 50)) * np.logspace(-3, 1, 16)[:, None]), dtype)
    checks.assert_psd(J["ce_hessian"](Z))
    # Entries near the largest float: the symmetric part must not overflow.
    big = np.diag([3e38, 1.0, 2e38]).astype(np.float32)
    big[0, 2] = big[2, 0] = 1e38
    big = jnp.asarray(big, dtype)
    checks.assert_psd(big)
    assert bool(checks.is_psd(big))


def _with_negative_eigenvalue(H, rel=1e-3):
    """H with its smallest eigenvalue moved to -rel * max|eig| (eigvector from float64)."""
    Hl = np.asarray(H, np.float64)
    ev, V = np.linalg.eigh(0.5 * (Hl + Hl.T))
    top = np.max(np.abs(ev))
    v = V[:, 0]
    bad = Hl - (ev[0] + rel * top) * np.outer(v, v)
    return jnp.asarray(bad, H.dtype), -rel * top


@pytest.mark.parametrize("dtype", DTYPES)
def test_psd_catches_minus_1e3_relative(dtype):
    X, _, _, _ = _logit_problem(dtype)
    rng = np.random.default_rng(5)
    Xr = rng.normal(size=(64, 6)) * (np.logspace(0, 6, 64) / 10)[:, None]
    z = jnp.asarray(_logit_vector(1.0, "plain")[:60], dtype)
    mats = {
        "logistic-extreme-logits": J["hessian"](jnp.asarray([0.02, 0.0], dtype),
                                                jnp.asarray(0.0, dtype), X),
        "logistic-rows-1e6": J["hessian"](jnp.asarray(1e-6 * rng.normal(size=6), dtype),
                                          jnp.asarray(0.0, dtype), jnp.asarray(Xr, dtype)),
        "ce-hessian-K60": J["ce_hessian"](z),
        "gram-rank-deficient": _gram(jnp.asarray(next(_gram_cases())[1], dtype)),
    }
    for name, H in mats.items():
        checks.assert_psd(H, name=name)  # the true matrix passes ...
        bad, lam = _with_negative_eigenvalue(H)
        assert not bool(checks.is_psd(bad)), name  # ... and -1e-3 relative is caught
        with pytest.raises(AssertionError, match=rf"^{name} is not positive semidefinite: "
                           r"smallest eigenvalue -"):
            checks.assert_psd(bad, name=name)
    # Near the largest float too.
    huge = jnp.asarray(np.diag([3e38, -3e35, 1.0]).astype(np.float32), dtype)
    assert not bool(checks.is_psd(huge))
    with pytest.raises(AssertionError, match=r"smallest eigenvalue -3\.000e\+35"):
        checks.assert_psd(huge)


# ----------------------------------------------------------------------------------------------
# Every public function in float32 and float64.
#
# TABLE names every public function (callable, not a class) in the __all__ of every module of
# jaxdl.__all__ and of jaxdl.verify. An entry is either a call ``dtype -> outputs`` or, for a
# function with no floating input or output, the reason it is dtype-free. A call is made in
# both dtypes on float32-representable inputs; every floating output must come back in the
# requested dtype, finite, and the float32 result must match the float64 one (which, from the
# same inputs, is a reference ~1e-9 more accurate) to ``rtol`` (default 64 eps32 ~ 7.6e-6,
# normwise per output), or, where no such comparison holds (random draws per dtype, booleans,
# integer labels, dtype-dependent constants), each dtype's result must pass ``ref``, a check
# against an independent reference. A new public function without an entry fails
# test_table_names_every_public_function.


class Call(NamedTuple):
    fn: Callable[[Any], Any]
    rtol: float | None = 64 * float(np.finfo(np.float32).eps)  # None: no cross-dtype check
    xfail: str | None = None  # a known defect (strict xfail)
    jit: bool = False  # call under jax.jit (same dtypes; one compilation, not one per op)
    # ``(inputs, output) -> None``, asserting the output (in each dtype) against an independent
    # reference; required where ``rtol`` is None (test_every_call_is_compared).
    ref: Callable[[Any, Any], None] | None = None


def Jit(fn, rtol: float | None = 64 * float(np.finfo(np.float32).eps), xfail=None,  # noqa: N802
        ref=None) -> Call:
    return Call(fn, rtol, xfail, True, ref)




class Free(NamedTuple):
    reason: str


class Covered(NamedTuple):
    """Called in both dtypes, with its output dtypes checked, by ``file::test`` (one of this
    suite's own files, where a reference comparison already runs it)."""

    test: str


def _np_inputs():
    r = np.random.default_rng(2024)
    f = lambda *s: r.normal(size=s).astype(np.float32)  # noqa: E731
    return {
        "X": f(6, 2), "y": np.array([0, 1, 1, 0, 1, 0], np.float32), "w": f(2), "b": f(),
        "Xf": None, "z": f(2, 3) * 3, "Y": np.eye(3, dtype=np.float32)[[2, 0]],
        "x_bn": f(5, 3) * 2 + 1, "g_bn": f(5, 3), "gamma": f(3), "beta": f(3),
        "W1": f(4, 3), "b1": f(4), "W2": f(3, 4), "b2": f(3), "x_mlp": f(2, 3),
        "mask": np.array([[1, 0, 1, 1], [0, 1, 1, 1]], np.float32),
        "wn": f(3), "xn": f(3), "beta_n": 1 + 0.3 * f(3),
    }


_NP = _np_inputs()
_FIT_X32, _FIT_Y32 = (np.asarray(a) for a in
                      __import__("jaxdl").data.make_logistic(jax.random.key(11), 60, 3,
                                                             dtype=jnp.float32)[:2])
_FIT_K32 = np.asarray(__import__("jaxdl").data.make_multiclass(jax.random.key(12), 60, 3, 3,
                                                               dtype=jnp.float32)[1])


def _arrays(dtype) -> dict[str, jax.Array]:
    """The fixed inputs, cast to one dtype (a pytree, so a call can be jitted over it)."""
    out = {k: jnp.asarray(v, dtype) for k, v in _NP.items() if v is not None}
    out["fitX"], out["fity"] = jnp.asarray(_FIT_X32, dtype), jnp.asarray(_FIT_Y32, dtype)
    out["fitk"] = jnp.asarray(_FIT_K32)
    out["state_mean"] = jnp.asarray([0.1, -0.2, 0.3], dtype)
    out["state_var"] = jnp.asarray([1.5, 0.5, 2.0], dtype)
    out["H"] = jnp.asarray(_NP["X"].astype(np.float64).T @ _NP["X"], dtype)
    return out


class _In:
    """Attribute access to :func:`_arrays` plus the structured inputs built from them."""

    def __init__(self, dtype, arrays):
        self.dtype = dtype
        self.__dict__.update(arrays)
        self.params = mlp.Params(self.W1, self.b1, self.W2, self.b2)
        self.state = batchnorm.BatchNormState(self.state_mean, self.state_var)


def _sq(x):
    return x * x - 2


def _jog_impl(x):
    from jaxdl import hessian

    return hessian.jacobian_of_gradient(hessian.EXAMPLES[0].f)(x)


def _quartic(x):
    return x**4 / 4 + x * x / 2 - x


def _fit_summary(res):
    return res.loss, res.grad_norm, res.status


def _inference(mod, X, y):
    """Standard errors etc. of a well-conditioned ridge fit (l2 = 1), its array fields only."""
    inf = mod.inference(mod.fit_newton(X, y, l2=1.0), X, y, l2=1.0)
    return [a for a in jax.tree.leaves(inf) if isinstance(a, jax.Array)]


def _newton_res(i):
    return newton.root(_sq, jnp.asarray(1.0, i.dtype), max_steps=10)


# Drawn once, eagerly: a draw inside jit may differ from the eager one in the last bit.
_NET32 = jax.tree.map(np.asarray, __import__("jaxdl").net.init(jax.random.key(0), 3, 4, 3,
                                                               dtype=F32))


def _net_parts(i):
    """The net module and float32 parameters in ``i``'s dtype (the same values in both dtypes,
    so the float32 results compare with the float64 ones)."""
    from jaxdl import net

    return (net, *jax.tree.map(lambda a: jnp.asarray(a, i.dtype), _NET32))


def _net_train(i):
    from jaxdl import net

    res = net.train(jax.random.key(0), i.fitX[:8], i.fitk[:8], hidden=4, epochs=2, batch_size=4)
    # (not val_accuracy_history: NaN without validation data, by design)
    return (res.params, res.loss_history, res.train_accuracy_history, res.status,
            net.accuracy(res.params, res.state, i.fitX[:8], i.fitk[:8]))


def _net_batch(i):
    """Five rows (x, one-hot Y, dropout mask): batch norm over two rows maps them to +-1 whatever
    the first layer, so its gradient is rounding; over five it is of the size of the rest."""
    Y = jnp.asarray(np.eye(3)[[2, 0, 1, 1, 0]], i.dtype)
    mask = jnp.asarray([[1, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1]],
                       i.dtype)
    return i.x_bn, Y, mask


def _ref_net_grads(i, out) -> None:
    # autodiff of net.loss, to rounding of the gradient's size (b1's gradient is 0 in exact
    # arithmetic, batch norm removes it: no per-leaf float32/float64 comparison)
    net, params, _ = _net_parts(i)
    want = jax.jit(jax.grad(net.loss))(params, *_net_batch(i))
    size = max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(want))
    for g, w in zip(jax.tree.leaves(out), jax.tree.leaves(want), strict=True):
        assert float(jnp.max(jnp.abs(g - w))) <= 64 * _eps(i.dtype) * size, (g, w)


def _ref_net_train(i, out) -> None:
    # the recorded last training accuracy is the trained network's, computed apart; the training
    # loss is finite and its parameters moved from their start
    params, losses, accs, status, acc = out
    assert accs.shape == (2,) and losses.shape == (2,)
    _close(accs[-1], acc, 0.0)
    assert __import__("jaxdl").results.status_name(status) == "completed"
    np.testing.assert_array_equal(params.gamma != 1, True)


def _tol(i) -> float:
    """The table's normwise tolerance in ``i``'s dtype (64 eps)."""
    return 64 * _eps(i.dtype)


def _close(got, want, rtol) -> None:
    want = np.asarray(want, np.float64)
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(float(np.max(np.abs(want))), np.finfo(np.float32).tiny) if want.size else 1.0
    assert float(np.max(np.abs(got - want), initial=0.0)) <= rtol * scale, (got, want)


def _normal(a, var) -> None:
    """``a``'s entries look like iid N(0, var): mean and variance within 5 standard errors."""
    a = np.asarray(a, np.float64).ravel()
    n = a.size
    assert abs(a.mean()) <= 5 * np.sqrt(var / n), (a.mean(), var, n)
    assert abs(np.mean(a * a) / var - 1) <= 5 * np.sqrt(2 / n), (np.mean(a * a), var, n)


def _ref_bootstrap(i, out) -> None:
    # std_err is the ddof=1 standard deviation of the converged refits; num_ok counts them
    ok = np.asarray(out.status) == 0
    assert int(out.num_ok) == int(ok.sum()) == 4
    params = np.asarray(out.params, np.float64)[ok]
    _close(out.std_err, params.std(axis=0, ddof=1), 16 * _eps(i.dtype))


def _ref_psd(i, out) -> None:
    # H = X^T X is PSD and symmetric; -H (eigenvalues -|.|) and H + E (E antisymmetric of
    # size 1e-3 |H|) are not
    assert [bool(v) for v in out] == [True, False], out


def _perturbed(i):
    E = jnp.asarray([[0.0, 1e-3], [-1e-3, 0.0]], i.dtype) * jnp.max(jnp.abs(i.H))
    return i.H + E


def _ref_init(i, out) -> None:
    W1, b1, W2, b2 = out[:4] if len(out) == 4 else (out[0].W1, out[0].b1, out[0].W2, out[0].b2)
    assert W1.shape == (32, 64) and W2.shape == (10, 32)
    _normal(W1, 2 / 64)  # He: N(0, 2/d)
    _normal(W2, 2 / (32 + 10))  # Glorot: N(0, 2/(h + K))
    np.testing.assert_array_equal(b1, 0)
    np.testing.assert_array_equal(b2, 0)


def _ref_net_init(i, out) -> None:
    params, state = out
    _ref_init(i, (params,))
    want = mlp.init_params(jax.random.key(0), 64, 32, 10, dtype=i.dtype)  # "as init_params"
    np.testing.assert_array_equal(params.W1, want.W1)
    np.testing.assert_array_equal(params.W2, want.W2)
    np.testing.assert_array_equal(params.gamma, 1)
    np.testing.assert_array_equal(params.beta, 0)
    np.testing.assert_array_equal(state.mean, 0)
    np.testing.assert_array_equal(state.var, 1)


def _ref_newton_order(i, out) -> None:
    # x_{k+1} = x_k - (x_k^2 - 2) / (2 x_k) from 1, in long double: q_1 from e_0, e_1, e_2
    x, e = LD(1), []
    for _ in range(3):
        e.append(abs(x - np.sqrt(LD(2))))
        x = x - (x * x - 2) / (2 * x)
    want = np.log(e[2] / e[1]) / np.log(e[1] / e[0])
    # each e_k carries the rounding of x_k (~ eps |x_k|, relative eps |x_k| / e_k); propagated
    # through the logs, with a factor 4 of margin
    rel = sum(_eps(i.dtype) * 1.5 / float(ek) for ek in e)
    _close(out, [want], 4 * rel * (1 + float(want)) / abs(float(np.log(e[1] / e[0]))) / float(want))


def _ref_mc_loss(i, out) -> None:
    # the mean is within 5 standard errors of the exact expectation (noise.expected_loss, the
    # closed form), and the standard error is the sample's, estimated here from 1e5 NumPy draws
    mean, se = (float(v) for v in out)
    w, x = (np.asarray(a, np.float64) for a in (i.wn, i.xn))
    beta = 1 + 0.3 * np.random.default_rng(0).standard_normal((100_000, 3))
    losses = 0.5 * (0.5 - beta @ (w * x)) ** 2
    exact = float(noise.expected_loss(i.wn, i.xn, 0.5, sigma=0.3))
    assert abs(losses.mean() - exact) <= 5 * losses.std() / np.sqrt(losses.size)  # the loss
    assert abs(se / (losses.std() / np.sqrt(64)) - 1) <= 0.5, (se, losses.std())
    assert abs(mean - exact) <= 5 * se, (mean, exact, se)


def _ref_verify_check(i, out) -> None:
    # the registered identity passes; a closed form off by a relative 1e-3 is measured as such
    real, wrong = (float(v) for v in out)
    name = jnp.dtype(i.dtype).name
    assert 0 <= real <= verify.REGISTRY["logistic.grad_b"].rtol[name], real
    # (up to the rounding of (1 + r), of closed (1 + r) and of the difference, in the max_rel unit)
    assert abs(wrong - 1e-3) <= real + 16 * _eps(i.dtype), wrong


_WRONG_GRAD_B = verify.Identity(
    name="wrong", seed="Q1", statement="logistic.grad_b off by a relative 1e-3",
    closed_form=lambda *a: verify.REGISTRY["logistic.grad_b"].closed_form(*a) * (1 + 1e-3),
    reference=verify.REGISTRY["logistic.grad_b"].reference,
    sample=verify.REGISTRY["logistic.grad_b"].sample,
    rtol=verify.REGISTRY["logistic.grad_b"].rtol)


def _verify_check(i):
    name = jnp.dtype(i.dtype).name
    return [jnp.asarray(check(ident, dtype=name, trials=TRIALS).max_rel, i.dtype)
            for ident in (verify.REGISTRY["logistic.grad_b"], _WRONG_GRAD_B)]


def _verify_run(i):
    name = jnp.dtype(i.dtype).name
    names = ["logistic.grad_w", "logistic.grad_b"]  # one sampler: evaluated together
    outcomes = verify.run(names, dtypes=(name,), trials=TRIALS)
    # each as check() reports it alone, in the order asked
    assert outcomes == [check(verify.REGISTRY[n], dtype=name, trials=TRIALS) for n in names]
    assert [(o.name, o.dtype, o.trials, o.ok) for o in outcomes] == [
        (n, name, TRIALS, True) for n in names]
    return [jnp.asarray(o.max_rel, i.dtype) for o in outcomes]


def _ref_verify_run(i, out) -> None:
    name = jnp.dtype(i.dtype).name
    for v, n in zip(out, ["logistic.grad_w", "logistic.grad_b"], strict=True):
        assert 0 <= float(v) <= verify.REGISTRY[n].rtol[name], (n, v)


def _ref_softmax_predict(i, out) -> None:
    W = np.asarray(i.z.T, np.float64)
    scores = np.asarray(i.X, np.float64) @ W.T + np.asarray(i.b2, np.float64)
    want = np.argmax(scores, axis=1)
    assert len(set(want.tolist())) > 1  # the inputs separate classes
    np.testing.assert_array_equal(out, want)


def _ref_seed_limit(i, out) -> None:
    # max|J - I| = 1/n; the gradient gap is |gamma mean(g)| (the seed's dropped term) for every n
    np.testing.assert_array_equal(out.n, [1, 4])
    _close(out.jacobian_gap, [1.0, 0.25], _eps(i.dtype))
    _close(out.gradient_gap, out.gamma_mean_g, 16 * _eps(i.dtype))
    assert np.all(np.asarray(out.gamma_mean_g) > 0)


_DET = "test_determinism.py::digests"  # loops over both dtypes, checks every output's dtype
_EXT = "test_extremes.py::"  # the reference comparisons above (both dtypes)
_CV = "test_cross_validate.py::"

TABLE: dict[str, Call | Free | Covered] = {
    # checks
    "checks.is_concrete": Call(lambda i: (checks.is_concrete(i.X), jax.jit(
        lambda a: jnp.asarray(checks.is_concrete(a)))(i.X)), None,
        ref=lambda i, out: [bool(v) for v in out] == [True, False] or pytest.fail(str(out))),
    "checks.float_array": Call(lambda i: __import__("jaxdl").checks.float_array("X", i.X)),
    "checks.common_dtype": Call(lambda i: jnp.zeros((), __import__("jaxdl").checks.common_dtype(
        X=i.X, w=i.w))),
    "checks.binary_labels": Call(lambda i: __import__("jaxdl").checks.binary_labels(
        "y", i.y, 6, i.dtype)),
    "checks.class_labels": Call(lambda i: __import__("jaxdl").checks.class_labels(
        "y", i.y, 6, 2), None, ref=lambda i, out: np.testing.assert_array_equal(
            out, np.asarray([0, 1, 1, 0, 1, 0], np.int32), strict=True)),
    "checks.scalar": Call(lambda i: __import__("jaxdl").checks.scalar("l2", i.b)),
    "checks.positive_int": Free("takes and returns a Python int"),
    "checks.float_dtype": Call(lambda i: jnp.zeros((), __import__("jaxdl").checks.float_dtype(
        "dtype", i.dtype))),
    "checks.shape_tuple": Free("takes and returns a tuple of Python ints"),
    "checks.default_rtol": Call(lambda i: [jnp.asarray(checks.default_rtol(i.dtype, n), i.dtype)
                                           for n in (4, 100)], None,
                                # documented: 4 max(size, 16) eps
                                ref=lambda i, out: _close(out, [64 * _eps(i.dtype),
                                                                400 * _eps(i.dtype)], 1e-15)),
    "checks.is_symmetric": Call(lambda i: (checks.is_symmetric(i.H),
                                           checks.is_symmetric(_perturbed(i))), None, ref=_ref_psd),
    "checks.is_psd": Call(lambda i: (checks.is_psd(i.H), checks.is_psd(-i.H)), None,
                          ref=_ref_psd),
    "checks.assert_symmetric": Call(lambda i: __import__("jaxdl").checks.assert_symmetric(i.H)),
    "checks.assert_psd": Call(lambda i: __import__("jaxdl").checks.assert_psd(i.H)),
    "checks.assert_shape": Free("chex.assert_shape: compares shapes only"),
    "checks.assert_rank": Free("chex.assert_rank: compares ranks only"),
    "checks.vector": Call(lambda i: __import__("jaxdl").checks.vector(
        "w", i.w, 2, "one weight per column of X")),
    # sweep (configurations are Python values; the rows' dtype follows run's dtype=)
    "sweep.plot": Free("draws a built-in sweep's Table as a PNG (tests/test_sweep.py and the "
                       "documentation's plots run it); no array computation of its own"),
    "sweep.plot_cv": Free("draws a CVResult's curve (tests/test_sweep.py, the CLI's --plot and "
                          "the Q1 notebook run it); no array computation of its own"),
    "sweep.run": Covered("test_sweep.py::test_run_and_chunk_memory_in_both_dtypes"),
    "sweep.chunk_memory": Covered("test_sweep.py::test_run_and_chunk_memory_in_both_dtypes"),
    "sweep.grid": Free("builds Python configurations (floats, ints, choice names)"),
    "sweep.names": Free("lists the registered sweeps' names"),
    "sweep.get": Free("looks a sweep up by name"),
    "sweep.register": Free("adds a Sweep to the registry"),
    # sharding
    "sharding.shard_rows": Call(lambda i: __import__("jaxdl").sharding.shard_rows(
        None, i.X, i.y).X),
    "sharding.padded_rows": Free("takes and returns Python ints"),
    "sharding.row_mesh": Free("builds a Mesh of devices"),
    # results
    "results.message": Free("maps an int32 status code to text"),
    "results.succeeded": Free("maps int32 status codes to booleans"),
    "results.raise_if_failed": Free("reads int32 status codes only"),
    "results.status_name": Free("maps int32 status codes to names"),
    # logistic
    "logistic.loss": Covered(_EXT + "test_logistic_loss_grad_hessian_at_extreme_logits"),
    "logistic.grad": Covered(_EXT + "test_logistic_loss_grad_hessian_at_extreme_logits"),
    "logistic.hessian": Covered(_EXT + "test_logistic_hessian_rows_up_to_1e6"),
    "logistic.loss_from_logits": Covered(_EXT + "test_loss_from_logits_including_inf"),
    "logistic.predict_proba": Jit(lambda i: logistic.predict_proba(i.w, i.b, i.X)),
    "logistic.predict": Jit(lambda i: logistic.predict(i.w, i.b, i.X)),
    "logistic.accuracy": Call(lambda i: logistic.accuracy(i.w, i.b, i.X, i.y)),
    "logistic.seed_update": Call(lambda i: optax.apply_updates(
        (i.w, i.b), logistic.seed_update(lr_w=0.1, lr_b=0.2).update(
            (i.w, i.b), logistic.seed_update(lr_w=0.1, lr_b=0.2).init((i.w, i.b)))[0])),
    "logistic.gd_step_bound": Call(lambda i: jnp.asarray(logistic.gd_step_bound(i.X), i.dtype)),
    "logistic.fit_gd": Covered(_DET),
    "logistic.fit_newton": Covered(_DET),
    "logistic.fit_newton_many": Call(lambda i: _fit_summary(logistic.fit_newton_many(
        i.fitX, i.fity, l2=jnp.asarray([0.5, 1.0], i.dtype)))[::2], 1e-5),
    "logistic.fit_lbfgs": Call(lambda i: _fit_summary(logistic.fit_lbfgs(
        i.fitX, i.fity, l2=1.0))[::2], 1e-5),
    "logistic.inference": Call(lambda i: _inference(logistic, i.fitX, i.fity), 1e-4),
    "logistic.bootstrap": Call(lambda i: logistic.bootstrap(
        i.fitX, i.fity, key=jax.random.key(0), num_resamples=4, l2=1.0), 1e-4,
        ref=_ref_bootstrap),
    "logistic.cross_validate": Covered(_CV + "test_float32_agrees_with_float64"),
    "logistic.summary": Free("formats an Inference (arrays already checked above) as text"),
    # softmax
    "softmax.softmax": Covered(_EXT + "test_softmax_k1000_extreme_spreads"),
    "softmax.log_softmax": Covered(_EXT + "test_softmax_k1000_extreme_spreads"),
    "softmax.jacobian": Jit(lambda i: softmax.jacobian(i.z)),
    "softmax.cross_entropy": Covered(_EXT + "test_softmax_k1000_extreme_spreads"),
    "softmax.ce_grad": Covered(_EXT + "test_softmax_k1000_extreme_spreads"),
    "softmax.ce_hessian": Covered(_EXT + "test_ce_hessian_psd_and_null_vector"),
    # multinomial (the K-class regression; softmax.fit_newton etc. are the same functions)
    "multinomial.loss": Call(lambda i: multinomial.loss(i.W2[:, :2], i.b2, i.X,
                                                        jnp.asarray([0, 1, 2, 0, 1, 2]), l2=0.5)),
    "multinomial.grad": Call(lambda i: multinomial.grad(i.W2[:, :2], i.b2, i.X,
                                                        jnp.asarray([0, 1, 2, 0, 1, 2]), l2=0.5)),
    "multinomial.hessian": Call(lambda i: multinomial.hessian(i.W2[:, :2], i.b2, i.X, l2=0.5)),
    "multinomial.fit_newton": Call(lambda i: _fit_summary(multinomial.fit_newton(
        i.fitX, i.fitk, l2=1.0))[::2], 1e-5),
    "multinomial.fit_gd": Call(lambda i: _fit_summary(multinomial.fit_gd(
        i.fitX, i.fitk, lr=0.01, max_steps=100))[:1], 1e-5),
    "multinomial.predict": Call(lambda i: multinomial.predict(i.z.T, i.b2, i.X), None,
                                ref=_ref_softmax_predict),
    "multinomial.predict_proba": Jit(lambda i: multinomial.predict_proba(i.W2[:, :2], i.b2,
                                                                         i.X)),
    "multinomial.accuracy": Call(lambda i: multinomial.accuracy(
        i.W2[:, :2], i.b2, i.X, jnp.asarray([0, 1, 2, 0, 1, 2]))),
    "multinomial.fit_lbfgs": Call(lambda i: _fit_summary(multinomial.fit_lbfgs(
        i.fitX, i.fitk, l2=1.0))[::2], 1e-5),
    "multinomial.fit_newton_many": Call(lambda i: _fit_summary(multinomial.fit_newton_many(
        i.fitX, i.fitk, l2=jnp.asarray([0.5, 1.0], i.dtype)))[::2], 1e-5),
    "multinomial.inference": Call(lambda i: _inference(multinomial, i.fitX, i.fitk), 1e-4),
    "multinomial.bootstrap": Call(lambda i: multinomial.bootstrap(
        i.fitX, i.fitk, key=jax.random.key(0), num_resamples=4, l2=1.0), 1e-4,
        ref=_ref_bootstrap),
    "multinomial.summary": Free("formats an Inference (arrays already checked above) as text"),
    "multinomial.gd_step_bound": Call(lambda i: jnp.asarray(multinomial.gd_step_bound(i.X),
                                                            i.dtype)),
    "multinomial.fit_classifier": Call(lambda i: _fit_summary(multinomial.fit_classifier(
        i.fitX, i.fitk, num_classes=3, l2=1.0))[::2], 1e-5),
    "multinomial.cross_validate": Covered(_CV + "test_cross_validate_classifier_chooses_the_"
                                          "model_by_class_count"),
    "multinomial.cross_validate_classifier": Covered(
        _CV + "test_cross_validate_classifier_chooses_the_model_by_class_count"),
    "multinomial.classifier_step_bound": Call(lambda i: jnp.asarray(
        multinomial.classifier_step_bound(i.X, num_classes=2), i.dtype)),
    "multinomial.predict_classifier": Call(
        lambda i: multinomial.predict_classifier((i.z.T, i.b2), i.X), None,
        ref=_ref_softmax_predict),
    # batchnorm
    "batchnorm.forward": Covered(_EXT + "test_batchnorm_zero_variance_feature"),
    "batchnorm.backward": Covered(_EXT + "test_batchnorm_zero_variance_feature"),
    "batchnorm.jacobian_xhat": Call(lambda i: batchnorm.jacobian_xhat(5, dtype=i.dtype)),
    "batchnorm.init_state": Call(lambda i: batchnorm.init_state(3, i.dtype)),
    "batchnorm.forward_train": Jit(lambda i: batchnorm.forward_train(
        i.x_bn, i.gamma, i.beta, i.state)),
    "batchnorm.forward_eval": Jit(lambda i: batchnorm.forward_eval(
        i.x_bn, i.gamma, i.beta, i.state)),
    "batchnorm.seed_limit_demo": Call(lambda i: batchnorm.seed_limit_demo(
        [1, 4], jax.random.key(0), dtype=i.dtype), None, ref=_ref_seed_limit),
    # mlp
    "mlp.init_params": Call(lambda i: mlp.init_params(jax.random.key(0), 64, 32, 10,
                                                      dtype=i.dtype), None, ref=_ref_init),
    "mlp.leaky_relu": Jit(lambda i: mlp.leaky_relu(i.z)),
    "mlp.leaky_relu_grad": Jit(lambda i: mlp.leaky_relu_grad(i.z)),
    "mlp.sample_mask": Covered(_DET),
    "mlp.activations": Jit(lambda i: mlp.activations(i.params, i.x_mlp, i.mask)),
    "mlp.forward": Jit(lambda i: mlp.forward(i.params, i.x_mlp, i.mask, inverted=True)),
    "mlp.loss": Covered(_EXT + "test_mlp_loss_and_grads_at_logits_1e4"),
    "mlp.grads": Covered(_EXT + "test_mlp_loss_and_grads_at_logits_1e4"),
    # noise
    "noise.loss": Jit(lambda i: noise.loss(i.wn, i.xn, 0.5, i.beta_n)),
    "noise.grad": Jit(lambda i: noise.grad(i.wn, i.xn, 0.5, i.beta_n)),
    "noise.clean_loss": Jit(lambda i: noise.clean_loss(i.wn, i.xn, 0.5)),
    "noise.penalty": Jit(lambda i: noise.penalty(i.wn, i.xn, sigma=0.3)),
    "noise.expected_loss": Jit(lambda i: noise.expected_loss(i.wn, i.xn, 0.5, sigma=0.3)),
    "noise.expected_grad": Jit(lambda i: noise.expected_grad(i.wn, i.xn, 0.5, sigma=0.3)),
    "noise.sample_beta": Call(lambda i: noise.sample_beta(jax.random.key(0), (4096,), sigma=0.3,
                                                          dtype=i.dtype), None,
                              ref=lambda i, out: _normal(np.asarray(out, np.float64) - 1, 0.09)),
    "noise.mc_grad": Covered(_DET),
    "noise.mc_loss": Call(lambda i: noise.mc_loss(jax.random.key(0), i.wn, i.xn, 0.5,
                                                  sigma=0.3, num_samples=64), None,
                          ref=_ref_mc_loss),
    "noise.gauss_hermite_expectation": Jit(lambda i: noise.gauss_hermite_expectation(
        lambda b: noise.loss(i.wn, i.xn, 0.5, b), 3, sigma=0.3, dtype=i.dtype)),
    # newton
    "newton.root": Call(lambda i: _newton_res(i).x),
    "newton.minimize": Call(lambda i: newton.minimize(_quartic, jnp.asarray(0.5, i.dtype)).x),
    "newton.step": Jit(lambda i: newton.step(_sq, jnp.asarray(1.5, i.dtype))),
    "newton.minimize_step": Jit(lambda i: newton.minimize_step(_quartic,
                                                                jnp.asarray(0.5, i.dtype))),
    "newton.default_tol": Call(lambda i: jnp.asarray(newton.default_tol(i.dtype), i.dtype),
                               None, ref=lambda i, out: _close(out, np.sqrt(_eps(i.dtype)),
                                                               1e-7)),
    "newton.errors": Call(lambda i: newton.errors(_newton_res(i), np.sqrt(2))[:3]),
    "newton.convergence_order": Call(lambda i: newton.convergence_order(
        _newton_res(i), np.sqrt(2))[1:2], ref=_ref_newton_order),
    "newton.error_ratio": Call(lambda i: newton.error_ratio(_newton_res(i), np.sqrt(2))[:2],
                               1e-4),
    "newton.quadratic_ratio": Call(lambda i: newton.quadratic_ratio(_newton_res(i),
                                                                    np.sqrt(2))[:2], 1e-4),
    "newton.quadratic_limit": Jit(lambda i: newton.quadratic_limit(
        _sq, jnp.asarray(np.sqrt(2), i.dtype))),
    "newton.error_bound": Call(lambda i: newton.error_bound(
        _sq, _newton_res(i), jnp.asarray(np.sqrt(2), i.dtype), num_points=9)[:2], 1e-4),
    "newton.last_valid": Call(lambda i: newton.last_valid(jnp.asarray([1.0, 2.0, np.nan],
                                                                      i.dtype))),
    # data
    "data.load": Free("returns the bundled data as NumPy float64 by design (Dataset)"),
    "data.load_breast_cancer": Free("returns NumPy float64 by design (Dataset)"),
    "data.load_csv": Free("parses text into NumPy float64 by design (Dataset)"),
    "data.load_digits": Free("returns NumPy float64 by design (Dataset)"),
    "data.make_logistic": Covered(_DET),
    "data.make_multiclass": Covered(_DET),
    "data.make_separable": Covered(_DET),
    "data.standardize": Call(lambda i: __import__("jaxdl").data.standardize(i.X)),
    "data.check_classes": Free("checks integer class ids, returns a Python int"),
    "data.train_test_split": Covered(_DET),
    "data.stratified_folds": Free("deals labels' rows to folds: int32 ids, no float computation"),
    # hessian
    "hessian.jacobian_of_gradient": Jit(lambda i: _jog_impl(jnp.asarray([0.3, -0.5, 0.7],
                                                                       i.dtype))),
    # net
    "net.init": Call(lambda i: __import__("jaxdl").net.init(jax.random.key(0), 64, 32, 10,
                                                            dtype=i.dtype), None,
                     ref=_ref_net_init),
    "net.loss": Jit(lambda i: _net_parts(i)[0].loss(_net_parts(i)[1], i.x_mlp, i.Y, i.mask)),
    "net.grads": Jit(lambda i: _net_parts(i)[0].grads(_net_parts(i)[1], *_net_batch(i)), None,
                     ref=_ref_net_grads),
    "net.logits_eval": Jit(lambda i: _net_parts(i)[0].logits_eval(*_net_parts(i)[1:], i.x_mlp)),
    "net.accuracy": Call(lambda i: _net_parts(i)[0].accuracy(*_net_parts(i)[1:], i.x_mlp,
                                                             jnp.asarray([0, 2]))),
    "net.train": Call(_net_train, None, ref=_ref_net_train),
    # verify
    "verify.check": Call(_verify_check, None, ref=_ref_verify_check),
    "verify.run": Call(_verify_run, None, ref=_ref_verify_run),
    "verify.format_table": Free("formats Outcome records as text"),
    "verify.psd_identity": Free("builds an Identity (data); its checks run through check"),
    "verify.register": Free("adds an Identity to the registry (no arrays)"),
}


def _public_functions() -> set[str]:
    import jaxdl

    mods = [getattr(jaxdl, n) for n in jaxdl.__all__ if inspect.ismodule(getattr(jaxdl, n))]
    mods.append(importlib.import_module("jaxdl.verify"))
    names = set()
    for mod in mods:
        short = mod.__name__.split(".")[-1]
        for n in mod.__all__:
            obj = getattr(mod, n)
            if callable(obj) and not inspect.isclass(obj):
                names.add(f"{short}.{n}")
    return names


def test_table_names_every_public_function():
    public = _public_functions()
    missing = sorted(public - set(TABLE))
    stale = sorted(set(TABLE) - public)
    assert not missing, f"public functions with no float32/float64 entry in TABLE: {missing}"
    assert not stale, f"TABLE entries that are not public functions: {stale}"
    # A Covered entry names an existing test, parametrized over (or looping over) both dtypes,
    # that calls the function.
    here = pathlib.Path(__file__).parent
    for name, entry in TABLE.items():
        if isinstance(entry, Covered):
            fname, test = entry.test.split("::")
            src = (here / fname).read_text()
            start = src.index(f"def {test}(")
            end = src.find("\ndef ", start + 1)
            body = src[src.rfind("\n\n", 0, start):end if end > 0 else None]
            func = name.split(".")[1]
            assert func in body, (name, entry.test)
            assert ("DTYPES" in body or "float32" in body) and "dtype" in body, (name, entry.test)


_CALLS = {k: v for k, v in TABLE.items() if isinstance(v, Call)}


def test_every_call_is_compared():
    # Finite outputs in the right dtype are not enough: each call's float32 result is compared
    # with its float64 one (rtol), or each dtype's with an independent reference (ref).
    assert not [n for n, c in _CALLS.items() if c.rtol is None and c.ref is None]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=c.xfail)) if c.xfail else n
    for n, c in sorted(_CALLS.items())])
def test_public_function_in_both_dtypes(name):
    entry = _CALLS[name]
    outs = {}
    for dtype in (F32, F64):
        def call(arrays, dtype=dtype):
            return entry.fn(_In(dtype, arrays))

        out = (jax.jit(call) if entry.jit else call)(_arrays(dtype))
        leaves = [np.asarray(a) for a in jax.tree.leaves(out)]
        for a in leaves:
            if np.issubdtype(a.dtype, np.floating):
                assert a.dtype == np.dtype(dtype), (name, dtype, a.dtype)
                assert np.all(np.isfinite(a) | np.isnan(np.asarray(a, np.float64))
                              if name == "newton.last_valid" else np.isfinite(a)), (name, a)
        outs[dtype] = leaves
        if entry.ref is not None:
            entry.ref(_In(dtype, _arrays(dtype)), out)
    if entry.rtol is None:
        return
    for a32, a64 in zip(outs[F32], outs[F64], strict=True):
        if np.issubdtype(a64.dtype, np.floating):
            scale = max(float(np.max(np.abs(a64))), np.finfo(np.float32).tiny) if a64.size else 1
            err = float(np.max(np.abs(a32.astype(np.float64) - a64))) if a64.size else 0.0
            assert err <= entry.rtol * scale, (name, err / scale)
        else:
            np.testing.assert_array_equal(a32, a64)
