"""Seed Q1: logistic regression, its closed-form gradient and PSD Hessian, and its fits.

Model: ``p_n = sigma(z_n)``, ``z_n = w^T x_n + b``, labels ``y_n in {0, 1}``. Loss, summed over
samples (not averaged, as in the seed)::

    E(w, b) = -sum_n [ y_n ln p_n + (1 - y_n) ln(1 - p_n) ]
            = sum_n [ (1 - y_n) softplus(z_n) + y_n softplus(-z_n) ]

computed from the logits, never as ``ln(sigma(.))``. Closed forms::

    dE/dw = sum_n (p_n - y_n) x_n        dE/db = sum_n (p_n - y_n)
    H = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T     (theta = [w; b], b last; PSD)

The seed drops the sum in dE/db once and writes d/db (y - p) for the second derivative (a sign
slip); jaxdl implements the statements above.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import _linalg, _solver, checks
from jaxdl.results import FitResult

__all__ = [
    "loss",
    "grad",
    "hessian",
    "loss_from_logits",
    "predict_proba",
    "accuracy",
    "seed_update",
    "gd_step_bound",
    "fit_gd",
    "fit_newton",
    "fit_lbfgs",
    "fit_newton_many",
]

# Rows per block when forming X^T diag(s) X: bounds the temporaries to O(block * d) and keeps
# each block's product in cache.
_GRAM_BLOCK = 4096
# precision="auto" uses the mixed-precision Newton step when n * d^2 is at least this.
_MIXED_MIN_WORK = 10_000_000
# The mixed-precision step skips its float64 check when the forcing term exceeds the last
# measured error of the uncorrected solve by this factor (room for the Hessian to change between
# steps; a step that is less accurate than assumed still descends, and the stop test uses the
# exact gradient).
_CHECK_MARGIN = 100.0


def _inputs(w: Any, b: Any, X: Any, y: Any | None, *, x_checked: bool = False):
    """Validate (w, b, X, y) for the Q1 functions; return jax arrays of one float dtype.

    ``x_checked``: X already went through :func:`jaxdl.checks.float_array` (a pass over X is
    not free at N x d = 4e7)."""
    if not x_checked:
        X = checks.float_array("X", X, shape=("n", "d"))
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(
            f"X: expected at least one row and one column (shape (n, d) with n, d >= 1), "
            f"got shape ({n}, {d})"
        )
    if w is None:  # the fits' default starting point
        w = jnp.zeros((d,), X.dtype)
    if b is None:
        b = jnp.zeros((), X.dtype)
    w = checks.float_array("w", w, ndim=1)
    if w.shape != (d,):
        raise ValueError(
            f"w: expected shape ({d},) (one weight per column of X), got shape {tuple(w.shape)}"
        )
    b = checks.float_array("b", b)
    if b.ndim != 0:
        raise ValueError(f"b: expected a scalar (shape ()), got shape {tuple(b.shape)}")
    dtype = checks.common_dtype(X=X, w=w, b=b)
    X, w, b = X.astype(dtype), w.astype(dtype), b.astype(dtype)
    if y is not None:
        y = checks.binary_labels("y", y, n, dtype)
    return w, b, X, y


def loss_from_logits(z: Any, y: Any) -> jax.Array:
    """Per-sample binary cross-entropy ``(1 - y) softplus(z) + y softplus(-z)``.

    Exact (no cancellation) for every finite ``z``, and correct at ``z = +-inf`` for labels in
    {0, 1} (``0`` for a correct infinite logit, ``inf`` for a wrong one). Elementwise.

    Args:
      z: logits ``w^T x + b``.
      y: labels in [0, 1] (0/1 for the seed's problem), same shape as ``z``.

    Returns:
      The per-sample losses, shape of ``z``.
    """
    z = checks.float_array("z", z, allow_inf=True)
    y = checks.float_array("y", y)
    if y.shape != z.shape:
        raise ValueError(f"y: expected shape {tuple(z.shape)} (one label per logit), got shape "
                         f"{tuple(y.shape)}")
    checks.common_dtype(z=z, y=y)
    if checks.is_concrete(y) and bool(np.any((np.asarray(y) < 0) | (np.asarray(y) > 1))):
        raise ValueError("y: expected labels in [0, 1], got a value outside")
    return _bce(z, y.astype(z.dtype))


def _bce(z: jax.Array, y: jax.Array) -> jax.Array:
    """Unchecked :func:`loss_from_logits` (the fits call it on validated data)."""
    # (1 - y) sp(z) + y sp(-z) = sp(u) + c with u = -z, c = (1 - y) z for y >= 1/2 and u = z,
    # c = -y z otherwise (sp(-z) = sp(z) - z): one softplus, and c = 0 exactly for 0/1 labels
    # (so z = +-inf gives 0 or inf, never 0 * inf). For soft labels sp(u) and c never cancel
    # by more than a factor 2.
    hi = y >= 0.5
    u = jnp.where(hi, -z, z)
    c = jnp.where((y == 0) | (y == 1), 0.0, jnp.where(hi, (1 - y) * z, -y * z))
    return _softplus(u) + c


@jax.custom_jvp
def _softplus(z: jax.Array) -> jax.Array:
    """``log(1 + e^z)`` as ``max(z, 0) + log1p(e^-|z|)``: exact for all z, +-inf included.

    Five times faster on the CPU than ``jax.nn.softplus`` (whose ``logaddexp`` carries NaN and
    inf bookkeeping). The two kinks of this form cancel in value but not in autodiff's
    one-sided choices at ``z = 0``, so the derivative is given explicitly: ``sigmoid(z)``, the
    same rule JAX's own ``logaddexp`` uses.
    """
    return jnp.maximum(z, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(z)))


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    return _softplus(z), jax.nn.sigmoid(z) * dz


def loss(w: Any, b: Any, X: Any, y: Any) -> jax.Array:
    """Logistic loss ``E(w, b)`` summed over samples, computed stably from the logits.

    ``E(w, b) = sum_n (1 - y_n) softplus(z_n) + y_n softplus(-z_n)``, ``z = X w + b``.

    Args:
      w: weights, shape ``(d,)``.
      b: bias, a scalar.
      X: features, shape ``(n, d)``.
      y: labels in {0, 1}, shape ``(n,)``.

    Returns:
      The scalar loss (dtype of ``X``).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import logistic
      >>> X = jnp.array([[1.0, 2.0], [-1.0, 0.5]]); y = jnp.array([1.0, 0.0])
      >>> float(logistic.loss(jnp.zeros(2), 0.0, X, y))  # 2 ln 2
      1.386...

    Reference: seed Q1.
    """
    w, b, X, y = _inputs(w, b, X, y)
    return jnp.sum(_bce(_linalg.matvec(X, w) + b, y))


def grad(w: Any, b: Any, X: Any, y: Any) -> tuple[jax.Array, jax.Array]:
    """Closed-form gradient ``(dE/dw, dE/db) = (sum (p - y) x, sum (p - y))``.

    Args:
      w, b, X, y: as in :func:`loss`.

    Returns:
      ``(gw, gb)`` with shapes ``(d,)`` and ``()``.

    Reference: seed Q1 (the seed drops the sum over n in dE/db once).
    """
    w, b, X, y = _inputs(w, b, X, y)
    r = jax.nn.sigmoid(_linalg.matvec(X, w) + b) - y
    return _linalg.rmatvec(X, r, _linalg.row_parts(X)), jnp.sum(r)


def hessian(w: Any, b: Any, X: Any, y: Any | None = None) -> jax.Array:
    """Closed-form joint Hessian over ``theta = [w; b]`` (b last), shape ``(d + 1, d + 1)``.

    ``H = sum_n s_n [x_n; 1][x_n; 1]^T`` with ``s_n = p_n (1 - p_n) > 0``: a positive-weighted
    sum of PSD rank-one terms, hence PSD. ``s_n`` is computed as ``sigma(z) sigma(-z)``, which
    keeps full relative accuracy when ``p_n`` is near 0 or 1. The labels do not enter.

    Args:
      w, b, X: as in :func:`loss`.
      y: unused (accepted so the four Q1 functions share one signature).

    Returns:
      The ``(d + 1, d + 1)`` Hessian.

    Reference: seed Q1 (the seed argues block by block and has a sign slip in d2E/db2).
    """
    w, b, X, _ = _inputs(w, b, X, None)
    if y is not None:
        checks.binary_labels("y", y, X.shape[0], X.dtype)
    return _hessian(w, b, X, _linalg.row_parts(X))


@functools.partial(jax.jit, static_argnames=("parts",))
def _hessian(w, b, X, parts):
    # Compiled once per shape: called eagerly, the row-block loop would otherwise be traced
    # and compiled again on every call (measured 106 ms instead of 10 ms at 10000 x 200).
    return _weighted_gram(X, _curvature(_linalg.matvec(X, w) + b), X.dtype, parts)


def _curvature(z: jax.Array) -> jax.Array:
    """``s = p (1 - p)`` as ``sigma(z) sigma(-z)``: full relative accuracy near p = 0 or 1."""
    return jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)


def _weighted_gram(X: jax.Array, s: jax.Array, dtype: Any, parts: int = 1) -> jax.Array:
    """The joint Hessian ``sum_n s_n [x_n; 1][x_n; 1]^T`` (``s >= 0``), accumulated in ``dtype``.

    Per block of rows, ``A = sqrt(s) X`` is formed once (converted to ``dtype``: float32 for
    the mixed-precision Newton step, see :func:`fit_newton`) and gives ``X^T diag(s) X = A^T A``
    and ``X^T s = A^T sqrt(s)`` from the cached block (the square root costs one rounding of
    ``s``). Blocks bound the temporaries instead of materialising an ``n x d`` copy. Measured
    (N = 200000, d = 200, float32): 50 ms, against 60 ms for ``(s X)^T X`` in 8192-row blocks
    and 64 ms for one product with ``[A, sqrt(s)]`` (the concatenation costs a pass).

    ``parts`` (static): the number of row shards of ``X`` (:func:`jaxdl._linalg.row_parts`).
    Contiguous blocks would make XLA gather ``X`` onto every device, so with ``parts > 1``
    block ``j`` takes the rows ``j, j + nb, j + 2 nb, ...``: a free reshape to ``(n / nb, nb,
    d)`` whose first axis stays sharded, every device summing its share of every block (10%
    slower on one device, where the contiguous blocks are kept). When ``n / parts`` has no
    divisor giving blocks of a sensible size (:func:`jaxdl._linalg.interleaved_blocks`), the
    contiguous blocks are used: correct, but XLA may then gather ``X``.
    """
    n, d = X.shape

    def block(Xb, sb):
        r = jnp.sqrt(sb)
        A = (r[:, None] * Xb).astype(dtype)
        r = r.astype(dtype)
        return _linalg.matmul(A.T, A), _linalg.matmul(r, A), jnp.sum(sb.astype(dtype))

    acc = (jnp.zeros((d, d), dtype), jnp.zeros((d,), dtype), jnp.zeros((), dtype))
    nb = _linalg.interleaved_blocks(n, parts, _GRAM_BLOCK) if parts > 1 else None
    if nb is not None:
        X3, s2 = X.reshape(n // nb, nb, d), s.reshape(n // nb, nb)

        def strided(j, acc):
            Xb = jax.lax.dynamic_index_in_dim(X3, j, axis=1, keepdims=False)
            sb = jax.lax.dynamic_index_in_dim(s2, j, axis=1, keepdims=False)
            return jax.tree.map(jnp.add, acc, block(Xb, sb))

        return _assemble(*jax.lax.fori_loop(0, nb, strided, acc))

    # Balanced blocks (at most _GRAM_BLOCK rows, as equal as can be): the shifted last block
    # then recounts fewer than nblocks rows, not up to a whole block.
    nblocks = -(-n // _GRAM_BLOCK)
    rows = -(-n // nblocks)

    def contiguous(i, acc):
        # The last block is shifted back to end at row n; its rows already counted by the
        # block before get weight 0 (one block shape: no separately compiled tail).
        start = jnp.minimum(i * rows, n - rows)
        Xb = jax.lax.dynamic_slice_in_dim(X, start, rows)
        sb = jax.lax.dynamic_slice_in_dim(s, start, rows)
        sb = jnp.where(start + jnp.arange(rows) >= i * rows, sb, 0)
        return jax.tree.map(jnp.add, acc, block(Xb, sb))

    return _assemble(*jax.lax.fori_loop(0, nblocks, contiguous, acc))


def _assemble(hww: jax.Array, hwb: jax.Array, hbb: jax.Array) -> jax.Array:
    """The joint ``(d + 1, d + 1)`` Hessian over ``[w; b]`` from its blocks."""
    top = jnp.concatenate([hww, hwb[:, None]], axis=1)
    bottom = jnp.concatenate([hwb, hbb[None]])[None, :]
    return jnp.concatenate([top, bottom], axis=0)


def predict_proba(w: Any, b: Any, X: Any) -> jax.Array:
    """``p = sigma(X w + b)``, shape ``(n,)``."""
    w, b, X, _ = _inputs(w, b, X, None)
    return jax.nn.sigmoid(_linalg.matvec(X, w) + b)


def accuracy(w: Any, b: Any, X: Any, y: Any) -> jax.Array:
    """Fraction of samples whose predicted class ``1[z > 0]`` equals ``y``."""
    w, b, X, y = _inputs(w, b, X, y)
    return jnp.mean((((_linalg.matvec(X, w) + b) > 0).astype(X.dtype) == y).astype(X.dtype))


# ----------------------------------------------------------------------------------------------
# Fits.


def _fit_inputs(X: Any, y: Any, w0: Any, b0: Any, sample_weight: Any = None):
    X = checks.float_array("X", X, shape=("n", "d"))
    if w0 is not None:
        w0 = checks.float_array("w0", w0, shape=(X.shape[1],))
        checks.common_dtype(X=X, w0=w0)
    if b0 is not None:
        b0 = checks.float_array("b0", b0, shape=())
        checks.common_dtype(X=X, b0=b0)
    w0, b0, X, y = _inputs(w0, b0, X, y, x_checked=True)
    if sample_weight is None:
        sw = jnp.ones_like(y)
    else:
        sw = checks.float_array("sample_weight", sample_weight, shape=(X.shape[0],))
        checks.common_dtype(X=X, sample_weight=sw)
        sw = sw.astype(X.dtype)
        if checks.is_concrete(sw):
            host = np.asarray(sw)
            if (host < 0).any() or not host.any():
                raise ValueError("sample_weight: expected non-negative weights, not all zero, "
                                 f"got min {host.min():g} and sum {host.sum():g}")
    return w0, b0, X, y, sw


def _objective(w, y, z, l2, sw):
    """Penalised weighted loss ``sum_n sw_n E_n + l2/2 ||w||^2`` from the logits ``z``."""
    return jnp.sum(sw * _bce(z, y)) + 0.5 * l2 * jnp.vdot(w, w)


def _gradient(w, X, y, z, l2, sw, dense=False, parts=1):
    r = sw * (jax.nn.sigmoid(z) - y)
    # dense: r @ X as a dot, which vmap turns into one GEMM for a batch of fits sharing X
    # (fit_newton_many); a single fit streams X once in row blocks (_linalg.rmatvec).
    xr = _linalg.matmul(r, X) if dense else _linalg.rmatvec(X, r, parts)
    return xr + l2 * w, jnp.sum(r)


def gd_step_bound(X: Any, *, l2: float = 0.0) -> float:
    """A learning rate ``1 / L`` that makes gradient descent on :func:`loss` monotone.

    ``L = ||[X, 1]||_2^2 / 4 + l2`` bounds the largest Hessian eigenvalue, since
    ``p (1 - p) <= 1/4``; any rate ``<= 1/L`` decreases the objective every step.
    """
    X = checks.float_array("X", X, shape=("n", "d"), min_size=1)
    checks.scalar("l2", l2, low=0)
    A = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)
    return float(1.0 / (jnp.linalg.norm(A, 2) ** 2 / 4 + l2))


def seed_update(*, lr_w: float, lr_b: float) -> optax.GradientTransformation:
    """The seed's gradient-descent update with separate rates, as an optax transformation.

    ``w <- w - lr_w dE/dw``, ``b <- b - lr_b dE/db`` for parameters ``(w, b)``.

    Reference: seed Q1.
    """
    checks.scalar("lr_w", lr_w, low=0, low_open=True)
    checks.scalar("lr_b", lr_b, low=0, low_open=True)
    return optax.multi_transform(
        {"w": optax.sgd(lr_w), "b": optax.sgd(lr_b)}, param_labels=("w", "b")
    )


def _invalid(y, l2, sw):
    """In-jit domain check: labels outside {0, 1}, a negative penalty or weight, all weights
    zero (NaN is left to the NONFINITE status)."""
    return (jnp.any(jnp.isfinite(y) & (y != 0) & (y != 1)) | (l2 < 0)
            | jnp.any(sw < 0) | jnp.all(sw == 0))


@functools.partial(jax.jit, static_argnames=("optimizer", "max_steps", "parts"))
def _fit_gd(X, y, w0, b0, l2, gtol, sw, lr_w, lr_b, optimizer, max_steps, parts=1):
    gtol_abs = gtol * jnp.sum(sw)
    if optimizer is None:  # the seed's update, its rates traced: a new rate is no recompile
        optimizer = optax.multi_transform(
            {"w": optax.sgd(lr_w), "b": optax.sgd(lr_b)}, param_labels=("w", "b"))
    sign = 2 * y - 1

    def value_and_grad(params):
        w, b = params
        z = _linalg.matvec(X, w) + b
        separated = (l2 == 0) & jnp.all((sign * z > 0) | (sw == 0))
        return _objective(w, y, z, l2, sw), _gradient(w, X, y, z, l2, sw, parts=parts), separated

    return _solver.gradient_descent(value_and_grad, (w0, b0), optimizer, max_steps=max_steps,
                                    gtol=gtol_abs, invalid=_invalid(y, l2, sw))


def fit_gd(
    X: Any,
    y: Any,
    *,
    lr_w: float | None = None,
    lr_b: float | None = None,
    optimizer: optax.GradientTransformation | None = None,
    l2: float = 0.0,
    max_steps: int = 1000,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
) -> FitResult:
    """Fit logistic regression by gradient descent in one jit-compiled ``lax.while_loop``.

    Minimises ``E(w, b) + l2/2 ||w||^2`` (E summed over samples) with the seed's update
    (:func:`seed_update`: rates ``lr_w`` for w and ``lr_b`` for b), or with any optax
    ``optimizer`` given instead. Each step costs two passes over ``X`` (``X w`` and ``r X``),
    shared by the loss and the closed-form gradient.

    Args:
      X: features ``(n, d)``.
      y: labels in {0, 1}, ``(n,)``.
      lr_w, lr_b: the seed's learning rates (both required unless ``optimizer`` is given).
      optimizer: an optax ``GradientTransformation`` over params ``(w, b)``; hashable (it is a
        static argument, so reuse one object to avoid recompiles).
      l2: ridge penalty on ``w`` (not ``b``), ``>= 0``.
      max_steps: step budget (static).
      gtol: stop when ``||grad||_inf <= gtol * n`` (a tolerance on the per-sample mean
        gradient); default ``1e-12`` (float64) or ``1e-5`` (float32).
      w0, b0: starting point (default zeros).
      sample_weight: non-negative per-row weights ``(n,)`` (default ones): the loss becomes
        ``sum_n sw_n E_n`` and ``gtol`` is relative to ``sum sw``. Integer counts give a
        bootstrap resample without copying ``X``.

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (w, b)``; status CONVERGED, SEPARABLE
      (``l2 == 0`` and an iterate separates the classes: no finite minimiser), MAX_STEPS,
      NONFINITE (e.g. a learning rate so large that the iterates overflow) or INVALID_INPUT
      (labels, penalty or weights out of domain under jit).

    Reference: seed Q1.
    """
    w0, b0, X, y, sw = _fit_inputs(X, y, w0, b0, sample_weight)
    if optimizer is None:
        if lr_w is None or lr_b is None:
            raise TypeError("lr_w, lr_b: expected both learning rates (or an optax optimizer), "
                            f"got lr_w={lr_w!r}, lr_b={lr_b!r}")
        checks.scalar("lr_w", lr_w, low=0, low_open=True)
        checks.scalar("lr_b", lr_b, low=0, low_open=True)
    elif lr_w is not None or lr_b is not None:
        raise TypeError("optimizer: expected either optimizer or lr_w/lr_b, got both")
    else:
        lr_w = lr_b = 0.0  # unused
    checks.scalar("l2", l2, low=0)
    max_steps = checks.positive_int("max_steps", max_steps)
    gtol = _solver.default_gtol(gtol, X.dtype)
    return _fit_gd(X, y, w0, b0, jnp.asarray(l2, X.dtype), jnp.asarray(gtol, X.dtype), sw,
                   jnp.asarray(lr_w, X.dtype), jnp.asarray(lr_b, X.dtype), optimizer, max_steps,
                   _linalg.row_parts(X))


def _direction(X, z, g, l2, sw, mixed, outer=None, memo=None, parts=1):
    """Solve ``H delta = g`` for the penalised logistic Hessian: ``(delta, ok, X delta, memo)``.

    ``mixed`` (float64 only): form ``X^T S X`` with float32 products and sums (half the bytes,
    twice the arithmetic rate, and the dominant cost of a step), factor it (in float64), and
    check the solution with exact float64 products ``H v = X^T (s * (X v))`` (two passes),
    applying corrections until the relative correction a check implies falls below a forcing
    term proportional to the gradient norm (clipped to ``[4 eps, 1e-2]``): an inexact Newton
    step accurate enough to keep convergence quadratic. ``memo`` carries the relative error of
    the uncorrected solve as last measured (inf before any check, never below float32
    resolution); a step whose forcing term exceeds it by the factor ``_CHECK_MARGIN`` skips the
    check (one pass saved). If the float32-summed Hessian's factor is too ill-conditioned for
    corrections to pay (pivot ratio below 1e-4), the Hessian is formed in float64 instead.

    ``outer`` (small problems, see :func:`fit_newton_many`): ``(index, packed)``, the
    upper triangles of the per-row outer products ``[x_n; 1][x_n; 1]^T`` packed to
    ``(n, (d+1)(d+2)/2)``, so that the upper triangle of ``H`` is ``s @ packed``; shared by a
    batch of fits, the batch's Hessians are one matrix product of half the full size.
    """
    dtype = X.dtype
    d = X.shape[1]
    eps = jnp.finfo(dtype).eps
    s = sw * _curvature(z)
    ridge = jnp.concatenate([jnp.full((d,), l2, dtype), jnp.zeros((1,), dtype)])

    def factor(hdt):
        if outer is not None:
            index, outer_packed = outer
            packed = _linalg.matmul(s, outer_packed)  # the upper triangle of H, row-major
            H = packed[index] + jnp.diag(ridge)  # one gather fills both triangles
        else:
            H = _weighted_gram(X, s, hdt, parts).astype(dtype) + jnp.diag(ridge)
        L = jnp.linalg.cholesky(H)
        piv = jnp.diagonal(L)
        ratio = (jnp.min(piv) / jnp.max(piv)) ** 2
        ratio = jnp.where(jnp.all(jnp.isfinite(L)), ratio, 0.0)
        return L, ratio

    def along(v):
        return _linalg.matvec(X, v[:-1]) + v[-1]

    def solve(L, r):
        return jax.scipy.linalg.cho_solve((L, True), r)

    if not mixed:
        L, ratio = factor(dtype)
        delta = solve(L, g)
        ok = (ratio > 16 * (d + 1) * eps) & jnp.all(jnp.isfinite(delta))
        return delta, ok, None, memo  # the solver computes X delta

    L32, r32 = factor(jnp.float32)
    use32 = r32 >= 1e-4
    L, ratio = _solver.lazy_select(use32, (L32, r32), lambda: factor(dtype))
    delta = solve(L, g)

    # Inexact-Newton forcing term: relative step accuracy eta_k = O(||g_k||) keeps the outer
    # convergence quadratic, so early steps need no correction and late ones a few.
    eta = jnp.clip(jnp.max(jnp.abs(g)) / jnp.sum(sw), 4 * eps, 1e-2)
    known = _CHECK_MARGIN * memo <= eta  # False while memo is inf (nothing measured yet)

    # Each round checks the current delta with one exact product H delta = X^T (s * (X delta))
    # + ridge delta (two passes) and stops when the correction it implies is below eta: the
    # direction returned is the one checked, and its X delta (the first pass) is reused by the
    # line search. Otherwise the correction is applied and the new delta checked in turn.
    def refine_cond(c):
        i, _, _, done, _ = c
        return use32 & ~known & (i < 8) & ~done

    def refine_body(c):
        i, delta, _, _, err = c
        u = along(delta)
        su = s * u
        hv = jnp.concatenate([_linalg.rmatvec(X, su, parts), jnp.sum(su)[None]]) + ridge * delta
        step = solve(L, g - hv)
        rel = jnp.max(jnp.abs(step)) / jnp.max(jnp.abs(delta))
        done = rel <= eta
        err = jnp.where(i == 0, rel, err)  # the uncorrected solve's error
        return i + 1, jnp.where(done, delta, delta + step), u, done, err

    n = X.shape[0]
    _, delta, u, done, err = jax.lax.while_loop(
        refine_cond, refine_body,
        (0, delta, jnp.zeros((n,), dtype), jnp.bool_(False), memo))
    # The X delta of the last check belongs to delta unless no check ran (a known-accurate
    # solve, or the float64 factor) or the rounds ran out: then it is computed afresh.
    daux = _solver.lazy_select(done, u, lambda: along(delta))
    ok = (ratio > 16 * (d + 1) * eps) & jnp.all(jnp.isfinite(delta))
    # The Hessian was summed in float32: a measured error below float32 resolution (an exact
    # Gram, e.g. integer X at a cold start where s = 1/4) says nothing about later steps, whose
    # Grams round; floored there, a check is skipped only while eta >= 1.2e-5.
    memo = jnp.where(use32, jnp.maximum(err, jnp.finfo(jnp.float32).eps), memo)
    return delta, ok, daux, memo


def _oracle(X, y, l2, sw, mixed, outer=None, parts=1):
    """The Q1 objective as seen by the shared solvers: theta = [w; b], aux = logits."""
    sign = 2 * y - 1

    return _solver.NewtonOracle(
        predictor=lambda th: _linalg.matvec(X, th[:-1]) + th[-1],
        value=lambda th, z: _objective(th[:-1], y, z, l2, sw),
        grad=lambda th, z: jnp.concatenate(
            [a.reshape(-1) for a in _gradient(th[:-1], X, y, z, l2, sw, outer is not None, parts)]),
        direction=lambda th, g, z, memo: _direction(X, z, g, l2, sw, mixed, outer, memo, parts),
        along=lambda delta: _linalg.matvec(X, delta[:-1]) + delta[-1],
        # Strictly separated (rows of weight 0 do not count) with no penalty: no minimiser.
        separated=lambda th, z: (l2 == 0) & jnp.all((sign * z > 0) | (sw == 0)),
        memo0=jnp.asarray(jnp.inf, X.dtype),
    )


def _cold_logits(X, b0, cold):
    """The starting logits without a pass over X when w0 = 0 (``cold``, static), else None."""
    return jnp.full((X.shape[0],), b0, X.dtype) if cold else None


@functools.partial(jax.jit, static_argnames=("max_steps", "mixed", "cold", "parts"))
def _fit_newton(X, y, w0, b0, l2, gtol, sw, max_steps, mixed, cold=False, parts=1):
    theta0 = jnp.concatenate([w0, b0[None]])
    theta, _, _, res = _solver.damped_newton(_oracle(X, y, l2, sw, mixed, parts=parts), theta0,
                                             max_steps=max_steps, gtol=gtol * jnp.sum(sw),
                                             invalid=_invalid(y, l2, sw),
                                             aux0=_cold_logits(X, b0, cold))
    return res._replace(params=(theta[:-1], theta[-1]))


@functools.partial(jax.jit, static_argnames=("max_steps", "memory", "cold", "parts"))
def _fit_lbfgs(X, y, w0, b0, l2, gtol, sw, max_steps, memory, cold=False, parts=1):
    theta0 = jnp.concatenate([w0, b0[None]])
    theta, res = _solver.lbfgs(_oracle(X, y, l2, sw, False, parts=parts), theta0,
                               max_steps=max_steps, gtol=gtol * jnp.sum(sw), memory=memory,
                               invalid=_invalid(y, l2, sw), aux0=_cold_logits(X, b0, cold))
    return res._replace(params=(theta[:-1], theta[-1]))


def fit_lbfgs(
    X: Any,
    y: Any,
    *,
    l2: float = 0.0,
    max_steps: int = 500,
    gtol: float | None = None,
    memory: int = 10,
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
) -> FitResult:
    """Fit logistic regression by L-BFGS with the closed-form gradient.

    The fastest jaxdl solver on well-conditioned data (where a few quasi-Newton steps suffice
    and forming ``X^T S X`` does not pay): each step costs two passes over ``X`` (the logits'
    direction ``X p`` and the gradient); the Armijo line search moves the logits along ``X p``
    in ``O(n)`` per trial. Same objective, statuses and result type as :func:`fit_newton`
    (SINGULAR does not arise: no matrix is factored).

    Args:
      X, y, l2, gtol, w0, b0, sample_weight: as in :func:`fit_newton`.
      max_steps: iteration budget (static).
      memory: number of curvature pairs kept (static).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (w, b)``.

    Reference: seed Q1.
    """
    cold = w0 is None
    w0, b0, X, y, sw = _fit_inputs(X, y, w0, b0, sample_weight)
    checks.scalar("l2", l2, low=0)
    max_steps = checks.positive_int("max_steps", max_steps)
    memory = checks.positive_int("memory", memory)
    gtol = _solver.default_gtol(gtol, X.dtype)
    return _fit_lbfgs(X, y, w0, b0, jnp.asarray(l2, X.dtype), jnp.asarray(gtol, X.dtype), sw,
                      max_steps, memory, cold, _linalg.row_parts(X))


def fit_newton(
    X: Any,
    y: Any,
    *,
    l2: float = 0.0,
    max_steps: int = 50,
    gtol: float | None = None,
    precision: str = "auto",
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
) -> FitResult:
    """Fit logistic regression by Newton's method (IRLS) with Armijo backtracking.

    Minimises ``E(w, b) + l2/2 ||w||^2`` using the closed-form gradient and joint Hessian of
    :func:`grad` / :func:`hessian`, a Cholesky solve and a backtracking line search whose
    trials cost ``O(n)`` (the logits move along ``X delta``, computed once per step).

    Statuses (:class:`jaxdl.results.Status`): CONVERGED (``||grad||_inf <= gtol * n``, or the
    Newton decrement is below the objective's rounding); SEPARABLE (``l2 == 0`` and the current
    ``(w, b)`` strictly separates the classes: that proves no finite minimiser exists; the
    returned ``w`` is finite and separating); SINGULAR (e.g. duplicated columns with
    ``l2 == 0``: use ``l2 > 0``); LINE_SEARCH_FAILED; NONFINITE; MAX_STEPS; INVALID_INPUT
    (labels, penalty or weights out of domain, seen under jit). Under ``vmap`` each problem
    gets its own status.

    Args:
      X: features ``(n, d)``; y: labels in {0, 1}.
      l2: ridge penalty on ``w`` (not ``b``), ``>= 0``.
      max_steps: Newton step budget (static).
      gtol: tolerance on the per-sample mean gradient (see :func:`fit_gd`).
      precision: ``"mixed"`` (float64 inputs: float32 Hessian plus float64 iterative
        refinement, falling back to a float64 Hessian when ill-conditioned), ``"full"``
        (Hessian in the input dtype), or ``"auto"`` (mixed when ``n d^2 >= 1e7`` and the
        inputs are float64, else full). float32 inputs always run in float32.
      w0, b0: starting point (default zeros).
      sample_weight: per-row weights, as in :func:`fit_gd`; a batch of weight vectors under
        ``vmap`` with ``X`` shared runs many bootstrap fits with one matrix product per step.

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (w, b)``.

    Example:
      >>> from jaxdl import data, logistic, results
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> res = logistic.fit_newton(Xs, ds.y, l2=1.0)
      >>> results.message(res.status)
      'converged: ...'

    Reference: seed Q1 (Q6 for Newton's method).
    """
    cold = w0 is None
    w0, b0, X, y, sw = _fit_inputs(X, y, w0, b0, sample_weight)
    checks.scalar("l2", l2, low=0)
    max_steps = checks.positive_int("max_steps", max_steps)
    gtol = _solver.default_gtol(gtol, X.dtype)
    if precision not in ("auto", "mixed", "full"):
        raise ValueError(f"precision: expected 'auto', 'mixed' or 'full', got {precision!r}")
    # Mixed precision pays where forming X^T S X dominates (large n d^2); small problems take
    # the simpler float64 path (and compile faster).
    big = X.shape[0] * X.shape[1] ** 2 >= _MIXED_MIN_WORK
    mixed = X.dtype == jnp.float64 and (precision == "mixed" or (precision == "auto" and big))
    return _fit_newton(X, y, w0, b0, jnp.asarray(l2, X.dtype), jnp.asarray(gtol, X.dtype), sw,
                       max_steps, mixed, cold, _linalg.row_parts(X))


# Below this many entries of the per-row outer products, fit_newton_many precomputes them.
_OUTER_MAX = 1 << 22


@functools.partial(jax.jit, static_argnames=("max_steps",))
def _fit_newton_many(X, y, l2, gtol, sw, max_steps):
    n, d = X.shape
    outer = None
    if n * (d + 1) ** 2 <= _OUTER_MAX:
        A = jnp.concatenate([X, jnp.ones((n, 1), X.dtype)], axis=1)
        rows, cols = np.triu_indices(d + 1)
        packed = A[:, rows] * A[:, cols]
        # index[i, j]: the packed column of H[i, j] = H[j, i] (a gather beats a scatter of
        # the triangle plus a symmetrising copy: 0.1 ms instead of 0.35 ms a step for 256 fits).
        index = np.zeros((d + 1, d + 1), np.int32)
        index[rows, cols] = index[cols, rows] = np.arange(rows.size)
        # Materialise it once: fused into the loop's matrix product, XLA would rebuild it
        # every step and lose the fast GEMM kernel.
        outer = (index, jax.lax.optimization_barrier(packed))
    theta0 = jnp.zeros((d + 1,), X.dtype)

    def one(sw, l2):
        theta, _, _, res = _solver.damped_newton(_oracle(X, y, l2, sw, False, outer), theta0,
                                                 max_steps=max_steps, gtol=gtol * jnp.sum(sw),
                                                 invalid=_invalid(y, l2, sw),
                                                 aux0=_cold_logits(X, theta0[-1], True))
        return res._replace(params=(theta[:-1], theta[-1]))

    return jax.vmap(one)(sw, l2)


def fit_newton_many(
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    l2: Any = 0.0,
    max_steps: int = 50,
    gtol: float | None = None,
) -> FitResult:
    """Many Newton fits on one data set in one call: bootstraps, penalty paths, CV folds.

    Fit ``b`` of :func:`fit_newton`'s problem on the same ``X, y``, each with its own row
    weights and penalty. Bootstrap resamples are integer count weights and a held-out fold is
    weight 0, so nothing copies ``X``. For small problems (``n (d+1)^2 <= 2^22``) the per-row
    outer products ``[x; 1][x; 1]^T`` are formed once and every Hessian of the batch is one
    row of a single matrix product ``S @ outer``.

    Args:
      X, y: the data, as in :func:`fit_newton`.
      sample_weight: ``(b, n)`` non-negative weights (or ``(n,)`` for all fits; default ones).
      l2: ``(b,)`` penalties, or one penalty for all fits.
      max_steps, gtol: as in :func:`fit_newton`.

    Returns:
      A batched :class:`jaxdl.results.FitResult` (leading axis ``b``), one status per fit.

    Example:
      >>> counts = jax.vmap(lambda k: jnp.bincount(
      ...     jax.random.randint(k, (n,), 0, n), length=n))(jax.random.split(key, 64))
      >>> res = fit_newton_many(X, y, sample_weight=counts, l2=1.0)
    """
    X = checks.float_array("X", X, shape=("n", "d"))
    n = X.shape[0]
    _, _, X, y = _inputs(None, None, X, y, x_checked=True)
    l2 = checks.float_array("l2", l2, ndim=(0, 1))
    if sample_weight is None:
        sw = jnp.ones((1, n), X.dtype)
    else:
        sw = checks.float_array("sample_weight", sample_weight, ndim=(1, 2))
        if sw.shape[-1] != n:
            raise ValueError(f"sample_weight: expected shape (b, {n}) or ({n},), got shape "
                             f"{tuple(sw.shape)}")
        sw = sw.reshape(-1, n)
        if checks.is_concrete(sw):
            host = np.asarray(sw)
            if (host < 0).any() or not host.any(axis=1).all():
                raise ValueError("sample_weight: expected non-negative weights with a nonzero "
                                 "row for every fit, got a negative weight or an all-zero row")
    l2 = jnp.atleast_1d(l2)
    if checks.is_concrete(l2) and bool(jnp.any(l2 < 0)):
        raise ValueError(f"l2: expected penalties >= 0, got min {float(jnp.min(l2))!r}")
    b = max(sw.shape[0], l2.shape[0])
    for name, v in (("sample_weight", sw), ("l2", l2)):
        if v.shape[0] not in (1, b):
            raise ValueError(f"{name}: expected a batch of 1 or {b} (the other argument's), got "
                             f"{v.shape[0]}")
    checks.common_dtype(X=X, sample_weight=sw, l2=l2)
    sw = jnp.broadcast_to(sw, (b, n)).astype(X.dtype)
    l2 = jnp.broadcast_to(l2, (b,)).astype(X.dtype)
    max_steps = checks.positive_int("max_steps", max_steps)
    gtol = _solver.default_gtol(gtol, X.dtype)
    return _fit_newton_many(X, y, l2, jnp.asarray(gtol, X.dtype), sw, max_steps)
