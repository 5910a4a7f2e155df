"""Seeds Q3(a), Q3(b) and Q7: softmax, its Jacobian, and softmax cross-entropy.

For logits ``z`` (last axis, ``K >= 2`` classes) and ``p = softmax(z)``::

    dp_k/dz_i = p_k (delta_ik - p_i)            J = diag(p) - p p^T          (Q3a)
    L(z, y) = -sum_k y_k log p_k,  dL/dz = p - y  (y one-hot, or any distribution)  (Q3b, Q7)
    d2L/dz2 = diag(p) - p p^T                   (independent of y)           (Q7)

The Hessian is the variance form ``v^T H v = sum p v^2 - (sum p v)^2 >= 0`` (PSD, convex in z)
and ``H 1 = 0`` (softmax is unchanged by a common shift), so it is PSD and never PD. The seed's
intermediate steps in Q7 write ``p_i - 1`` where ``p_i - y_i`` is meant; the result is right.

Every function accepts ``z`` of shape ``(K,)`` or batched ``(..., K)``. Logits may be ``-inf``
(a masked class, probability 0) and one entry per row may be ``+inf`` (the limit: a one-hot
distribution); NaN logits, rows that are all ``-inf`` and rows with two ``+inf`` have no
softmax and are rejected eagerly.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import _fit, _inference, _linalg, _newton_step, _solver, checks
from jaxdl._inference import Bootstrap, Inference
from jaxdl.results import FitResult

__all__ = [
    "softmax",
    "log_softmax",
    "jacobian",
    "cross_entropy",
    "ce_grad",
    "ce_hessian",
    "fit_gd",
    "fit_newton",
    "fit_lbfgs",
    "fit_newton_many",
    "predict_proba",
    "predict",
    "accuracy",
    "gd_step_bound",
    "inference",
    "summary",
    "bootstrap",
    "Inference",
    "Bootstrap",
]


def _logits(z: Any) -> jax.Array:
    z = checks.float_array("z", z, ndim=tuple(range(1, 33)), allow_inf=True)
    k = z.shape[-1]
    if k < 2:
        raise ValueError(
            f"z: expected at least 2 classes on the last axis (shape (..., K) with K >= 2), got "
            f"K = {k}"
        )
    if checks.is_concrete(z):
        with jax.ensure_compile_time_eval():
            n_pos = jnp.sum(z == jnp.inf, axis=-1)
            two_pos = bool(jnp.any(n_pos > 1))
            all_neg = bool(jnp.any(jnp.all(z == -jnp.inf, axis=-1)))
        if two_pos:
            raise ValueError(
                "z: expected at most one +inf logit per row, got a row with two or more"
            )
        if all_neg:
            raise ValueError("z: expected at least one finite logit per row, got a row of all -inf")
    return z


def _targets(y: Any, z: jax.Array) -> jax.Array:
    y = checks.float_array("y", y, ndim=z.ndim)
    if y.shape != z.shape:
        raise ValueError(
            f"y: expected shape {tuple(z.shape)} (a one-hot or probability vector per row of z), "
            f"got shape {tuple(y.shape)}"
        )
    checks.common_dtype(z=z, y=y)
    if checks.is_concrete(y):
        with jax.ensure_compile_time_eval():
            negative = bool(jnp.any(y < 0))
            tol = 64 * jnp.finfo(y.dtype).eps * y.shape[-1]
            worst = float(jnp.max(jnp.abs(jnp.sum(y, axis=-1) - 1)))
        if negative:
            raise ValueError("y: expected non-negative target probabilities, got a negative entry")
        if worst > tol:
            raise ValueError(
                f"y: expected each row to sum to 1 (one-hot or a distribution), got a row off "
                f"by {worst:.3g}"
            )
    return y.astype(z.dtype)


def _shifted(z: jax.Array) -> jax.Array:
    """``z - max(z)`` along the last axis, extended to rows holding one ``+inf``."""
    m = jnp.max(z, axis=-1, keepdims=True)
    inf_row = m == jnp.inf
    safe_m = jnp.where(inf_row, 0.0, m)
    return jnp.where(inf_row, jnp.where(z == jnp.inf, 0.0, -jnp.inf), z - safe_m)


def log_softmax(z: Any) -> jax.Array:
    """``log softmax(z)`` along the last axis, stable (``z - max z - log sum exp``)."""
    s = _shifted(_logits(z))
    return s - jnp.log(jnp.sum(jnp.exp(s), axis=-1, keepdims=True))


def softmax(z: Any) -> jax.Array:
    """``p = exp(z) / sum exp(z)`` along the last axis, stable for any finite spread.

    Args:
      z: logits, shape ``(..., K)``.

    Returns:
      Probabilities of the shape of ``z``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import softmax
      >>> p = softmax.softmax(jnp.array([0.0, jnp.log(3.0)]))
      >>> bool(jnp.allclose(p, jnp.array([0.25, 0.75])))  # float32: 0.75 to rounding
      True

    Reference: seed Q3(a).
    """
    e = jnp.exp(_shifted(_logits(z)))
    return e / jnp.sum(e, axis=-1, keepdims=True)


def jacobian(z: Any) -> jax.Array:
    """Softmax Jacobian ``J = diag(p) - p p^T`` (``J_ki = dp_k/dz_i``), shape ``(..., K, K)``.

    The same matrix is the cross-entropy Hessian (:func:`ce_hessian`).

    The diagonal ``p_k (1 - p_k)`` is computed as ``p_k * sum_{j != k} p_j``: when one
    probability rounds to 1, ``1 - p_k`` would round to 0 while the off-diagonal terms do not,
    and the computed matrix would be indefinite with ``H 1 != 0``. Summing the other
    probabilities keeps every row summing to 0 to rounding, so the matrix stays PSD.

    Reference: seed Q3(a).
    """
    p = softmax(z)
    k = p.shape[-1]
    eye = jnp.eye(k, dtype=bool).reshape((1,) * (p.ndim - 1) + (k, k))
    top = jnp.argmax(p, axis=-1, keepdims=True)
    is_top = jnp.arange(k).reshape((1,) * (p.ndim - 1) + (k,)) == top
    rest = jnp.sum(jnp.where(is_top, 0.0, p), axis=-1, keepdims=True)  # 1 - p_top, no rounding
    others = jnp.where(is_top, rest, 1.0 - p)  # 1 - p_k is exact enough below the top
    outer = p[..., :, None] * p[..., None, :]
    return jnp.where(eye, (p * others)[..., :, None], -outer)


def cross_entropy(z: Any, y: Any) -> jax.Array:
    """``L = -sum_k y_k log softmax(z)_k`` along the last axis, shape ``z.shape[:-1]``.

    Classes with ``y_k = 0`` contribute exactly 0, also where ``z_k = -inf``.

    Reference: seed Q3(b), Q7.
    """
    z = _logits(z)
    y = _targets(y, z)
    logp = log_softmax(z)
    return -jnp.sum(jnp.where(y == 0, 0.0, y * logp), axis=-1)


def ce_grad(z: Any, y: Any) -> jax.Array:
    """Closed-form gradient of :func:`cross_entropy` in ``z``: ``p - y``.

    Reference: seed Q3(b), Q7.
    """
    z = _logits(z)
    return softmax(z) - _targets(y, z)


def ce_hessian(z: Any) -> jax.Array:
    """Closed-form Hessian of :func:`cross_entropy` in ``z``: ``diag(p) - p p^T``.

    Independent of ``y``; PSD with ``H 1 = 0`` (see the module docstring). Identical to the
    softmax Jacobian, so it is computed by :func:`jacobian`.

    Reference: seed Q7.
    """
    return jacobian(z)


# ----------------------------------------------------------------------------------------------
# Softmax (multinomial logistic) regression: the same verbs and keywords as jaxdl.logistic.
#
# Logits z_n = W x_n + b for K classes. Adding one vector to every row of (W, b) leaves every
# softmax unchanged, so the full parameterisation has a singular Hessian (the H 1 = 0 of Q7).
# The fits therefore use the reference-class parameterisation: the last class's row of (W, b) is
# fixed at 0 and the K - 1 free rows Theta (K-1, d+1) are fitted. The objective is
# sum_n sw_n CE(z_n, y_n) + l2/2 ||W_free||^2.


def _logits_of(theta: jax.Array, X: jax.Array, k: int) -> jax.Array:
    """Logits (n, K) from the flat free rows ``theta`` ((K-1)(d+1),); the last class's is 0."""
    rows = theta.reshape(k - 1, X.shape[1] + 1)
    zf = _linalg.matmul(X, rows[:, :-1].T) + rows[:, -1][None, :]
    return jnp.concatenate([zf, jnp.zeros((X.shape[0], 1), X.dtype)], axis=1)


def _kron_gram(C: jax.Array, A: jax.Array) -> jax.Array:
    """``sum_n C_n (x) a_n a_n^T`` for ``C (n, m, m)``, ``A (n, q)``: ``(m q, m q)``, ordered as
    the flat free rows ``theta`` (class-major)."""
    m, q = C.shape[1], A.shape[1]
    H = jnp.einsum("nkl,ni,nj->kilj", C, A, A, precision=_linalg.precision())
    return H.reshape(m * q, m * q)


def _hessian(Z: jax.Array, A: jax.Array, sw: jax.Array, k: int) -> jax.Array:
    """Hessian of ``sum_n sw_n CE(z_n, y_n)`` over the free rows (no penalty), from the Q7
    per-sample Hessians: ``sum_n C_n (x) a_n a_n^T``, ``C_n = sw_n (diag(p_n) - p_n p_n^T)``
    restricted to the free classes, ``a_n = [x_n; 1]``. Used by the Newton fits and by
    :func:`inference` (one formula, one place)."""
    C = sw[:, None, None] * ce_hessian(Z)[:, : k - 1, : k - 1]
    return _kron_gram(C, A)


def _oracle(X, y, l2, sw, k):
    """Objective, closed-form gradient (Q3b) and Hessian (Q7) of softmax regression."""
    n, d = X.shape
    Y = jax.nn.one_hot(y, k, dtype=X.dtype)
    A = jnp.concatenate([X, jnp.ones((n, 1), X.dtype)], axis=1)
    ridge = jnp.tile(jnp.concatenate([jnp.full((d,), 1.0, X.dtype), jnp.zeros((1,), X.dtype)]),
                     k - 1)

    def along(delta):
        return _logits_of(delta, X, k)

    def value(theta, Z):
        return jnp.sum(sw * cross_entropy(Z, Y)) + 0.5 * l2 * jnp.sum(ridge * theta**2)

    def grad(theta, Z):
        G = sw[:, None] * ce_grad(Z, Y)[:, : k - 1]  # dL/dz for the free classes, (n, K-1)
        return _linalg.matmul(G.T, A).reshape(-1) + l2 * ridge * theta

    def direction(theta, g, Z, solve_error):
        H = _hessian(Z, A, sw, k) + jnp.diag(l2 * ridge)
        delta, ok = _newton_step.cholesky_direction(H, g)
        return delta, ok, None, solve_error

    def separated(theta, Z):
        # Every sample of nonzero weight has its true class's logit strictly largest, with no
        # penalty: scaling theta up lowers the loss without end.
        true = jnp.take_along_axis(Z, y[:, None], axis=1)[:, 0]
        others = jnp.max(jnp.where(Y > 0, -jnp.inf, Z), axis=1)
        return (l2 == 0) & jnp.all((true > others) | (sw == 0))

    return _solver.NewtonOracle(predictor=along, value=value, grad=grad, direction=direction,
                                along=along, separated=separated)


@dataclasses.dataclass(frozen=True)
class _Model:
    """Softmax regression with ``k`` classes for :mod:`jaxdl._fit` (reference-class form)."""

    k: int
    intercept: bool = True  # False: the intercepts are held at 0 (fit_intercept=False)

    def oracle(self, X, y, l2, sw, *, mixed, outer, row_shards):
        oracle = _oracle(X, y, l2, sw, self.k)
        if self.intercept:
            return oracle
        from jaxdl import logistic

        n, d = X.shape
        A = jnp.concatenate([X, jnp.ones((n, 1), X.dtype)], axis=1)
        mask = jnp.tile(jnp.concatenate([jnp.ones((d,), X.dtype), jnp.zeros((1,), X.dtype)]),
                        self.k - 1)
        return logistic._without_intercept(
            oracle, mask, lambda Z: _hessian(Z, A, sw, self.k) + jnp.diag(l2 * mask))

    def split(self, theta, d):
        rows = theta.reshape(theta.shape[:-1] + (self.k - 1, d + 1))
        return rows[..., :-1], rows[..., -1]

    def join(self, params):
        W, b = params
        rows = jnp.concatenate([W, b[..., None]], axis=-1)
        return rows.reshape(rows.shape[:-2] + (-1,))

    def finish(self, theta, d):
        Wf, bf = self.split(theta, d)
        W = jnp.concatenate([Wf, jnp.zeros((1, d), Wf.dtype)])
        return W, jnp.concatenate([bf, jnp.zeros((1,), bf.dtype)])

    def cold_logits(self, X, theta0):
        return _logits_of(theta0, X, self.k)  # theta0 = 0 here: a cheap product, no shortcut

    def invalid(self, y, l2, sw):
        """Class ids outside 0..K-1, a negative penalty or weight, all weights zero."""
        return (jnp.any((y < 0) | (y >= self.k)) | (l2 < 0) | jnp.any(sw < 0)
                | jnp.all(sw == 0))

    def outer(self, X):
        return None


def _fit_inputs(X: Any, y: Any, num_classes: int | None, w0: Any, b0: Any, *,
                batched: bool = False):
    """Validated ``(X, y, k, theta0, cold)``.

    A warm start ``(w0 (K, d), b0 (K,))`` in the full parameterisation is moved to the
    reference-class one by subtracting the last row from every row (the same softmax)."""
    X = checks.float_array("X", X, shape=("n", "d"))
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(f"X: expected at least one row and one column, got shape ({n}, {d})")
    if num_classes is None:
        if not checks.is_concrete(y):
            raise ValueError("num_classes: expected an int >= 2 when y is traced (under jit or "
                             "vmap), got None")
        # Validate before inferring K: int(max(y)) of a NaN, inf or text label is no message.
        labels = checks.class_labels("y", y, n, None)
        num_classes = int(jnp.max(labels)) + 1
        if num_classes < 2:
            raise ValueError(
                "y: expected at least 2 classes to infer num_classes from (labels 0..K-1, "
                f"K >= 2), got only class {num_classes - 1}; pass num_classes"
            )
    k = checks.positive_int("num_classes", num_classes, minimum=2)
    y = checks.class_labels("y", y, n, k)
    cold = w0 is None and b0 is None
    lead = ()
    if w0 is not None:
        w0 = checks.float_array("w0", w0, ndim=(2, 3) if batched else 2)
        if w0.shape[-2:] != (k, d):
            raise ValueError(f"w0: expected shape ({k}, {d}) (one weight row per class), got "
                             f"shape {tuple(w0.shape)}")
        checks.common_dtype(X=X, w0=w0)
        lead = w0.shape[:-2]
    if b0 is not None:
        b0 = checks.float_array("b0", b0, ndim=(1, 2) if batched else 1)
        if b0.shape[-1] != k or (w0 is not None and b0.shape[:-1] != lead):
            raise ValueError(f"b0: expected shape {lead + (k,)} (one intercept per class), got "
                             f"shape {tuple(b0.shape)}")
        checks.common_dtype(X=X, b0=b0)
        lead = b0.shape[:-1]
    w0 = jnp.zeros(lead + (k, d), X.dtype) if w0 is None else w0.astype(X.dtype)
    b0 = jnp.zeros(lead + (k,), X.dtype) if b0 is None else b0.astype(X.dtype)
    Wf = w0[..., :-1, :] - w0[..., -1:, :]
    bf = b0[..., :-1] - b0[..., -1:]
    return X, y, k, _Model(k).join((Wf, bf)), cold


def _run(solver, X, y, num_classes, w0, b0, sample_weight, *, intercept=True, **kw):
    X, y, k, theta0, cold = _fit_inputs(X, y, num_classes, w0, b0)
    sw = _fit.sample_weight(sample_weight, X.shape[0], X.dtype)
    return _fit.run(_Model(k, intercept), solver, X, y, theta0, cold=cold, sw=sw, **kw)


def fit_newton(
    X: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    l2: float = 0.0,
    max_steps: int = 50,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
) -> FitResult:
    """Fit softmax (multinomial logistic) regression by damped Newton.

    Minimises ``sum_n sw_n CE(W x_n + b, y_n) + l2/2 ||W||^2`` in the reference-class
    parameterisation (the last class's row of ``(W, b)`` is 0; see the comment above), with the
    Hessian assembled from the per-sample Q7 Hessians as ``sum_n C_n (x) [x_n; 1][x_n; 1]^T``,
    ``C_n = sw_n ce_hessian(z_n)`` restricted to the free classes. Statuses as in
    :func:`jaxdl.logistic.fit_newton` (SEPARABLE: with ``l2 == 0`` every sample's true class
    already has the strictly largest logit, so no finite minimiser exists).

    Args:
      X: features ``(n, d)``.
      y: integer class ids in ``0..K-1``, ``(n,)``.
      num_classes: K (static); inferred from ``y`` when eager.
      l2: ridge penalty on the free rows of ``W``, ``>= 0``.
      max_steps: Newton step budget (static).
      gtol: tolerance on the per-sample mean gradient (default 1e-12 float64, 1e-5 float32).
      w0, b0: starting point ``(K, d)``, ``(K,)`` (default zeros).
      sample_weight: non-negative per-row weights ``(n,)`` (default ones).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (W, b)``, shapes ``(K, d)``, ``(K,)``.

    Example:
      >>> from jaxdl import data, softmax
      >>> ds = data.load_digits(); Xs, _, _ = data.standardize(ds.X)
      >>> res = softmax.fit_newton(Xs, ds.y, l2=1.0)
      >>> res.status_name, res.params[0].shape
      ('converged', (10, 64))

    Reference: seeds Q3(b) and Q7 (the gradient p - y and Hessian diag(p) - p p^T).
    """
    return _run("newton", X, y, num_classes, w0, b0, sample_weight, l2=l2, gtol=gtol,
                max_steps=max_steps)


def fit_lbfgs(
    X: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    l2: float = 0.0,
    max_steps: int = 500,
    gtol: float | None = None,
    memory: int = 10,
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
) -> FitResult:
    """Fit softmax regression by L-BFGS with the closed-form gradient ``p - y`` (Q3b).

    Same objective, parameterisation, statuses and result type as :func:`fit_newton`; each
    step costs two products with ``X`` and its line search moves the logits in ``O(n K)``.

    Args:
      X, y, num_classes, l2, gtol, w0, b0, sample_weight: as in :func:`fit_newton`.
      max_steps: iteration budget (static).
      memory: number of curvature pairs kept (static).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (W, b)``.

    Reference: seed Q3(b).
    """
    return _run("lbfgs", X, y, num_classes, w0, b0, sample_weight, l2=l2, gtol=gtol,
                max_steps=max_steps, memory=memory)


def fit_gd(
    X: Any,
    y: Any,
    *,
    lr: float | None = None,
    lr_w: float | None = None,
    lr_b: float | None = None,
    optimizer: optax.GradientTransformation | None = None,
    num_classes: int | None = None,
    l2: float = 0.0,
    max_steps: int = 1000,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
) -> FitResult:
    """Fit softmax regression by gradient descent in one jit-compiled ``lax.while_loop``.

    Same objective, parameterisation and result type as :func:`fit_newton`. The update is
    plain GD with rate ``lr`` for ``(W, b)``, or separate rates ``lr_w`` and ``lr_b`` (the
    seed's update, as in :func:`jaxdl.logistic.fit_gd`), or any optax ``optimizer`` over the
    free parameters ``(W[:-1], b[:-1])``. Rates are traced: a new rate is no recompile.
    Statuses CONVERGED, SEPARABLE, MAX_STEPS, NONFINITE (lower the rate), INVALID_INPUT.

    Args:
      X, y, num_classes, l2, gtol, w0, b0, sample_weight: as in :func:`fit_newton`.
      lr, lr_w, lr_b, optimizer: the update (exactly one way); see
        :func:`jaxdl.logistic.fit_gd`.
      max_steps: step budget (static).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (W, b)``.

    Reference: seed Q3(b).
    """
    lr_w, lr_b = _fit.gd_rates(lr, lr_w, lr_b, optimizer)
    return _run("gd", X, y, num_classes, w0, b0, sample_weight, l2=l2, gtol=gtol,
                max_steps=max_steps, lr_w=lr_w, lr_b=lr_b, optimizer=optimizer)


def fit_newton_many(
    X: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    sample_weight: Any = None,
    l2: Any = 0.0,
    max_steps: int = 50,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
) -> FitResult:
    """Many softmax Newton fits on one data set: bootstraps, penalty paths, CV folds.

    As :func:`jaxdl.logistic.fit_newton_many`: ``sample_weight (b, n)`` and ``l2 (b,)`` (either
    may be shared), one start ``(K, d)``, ``(K,)`` or one per fit ``(b, K, d)``, ``(b, K)``.

    Returns:
      A batched :class:`jaxdl.results.FitResult` (leading axis ``b``), one status per fit.

    Reference: seeds Q3(b) and Q7.
    """
    X, y, k, theta0, cold = _fit_inputs(X, y, num_classes, w0, b0, batched=True)
    return _fit.run_many(_Model(k), X, y, theta0, cold=cold, l2=l2, gtol=gtol,
                         sample_weight=sample_weight, max_steps=max_steps)


def gd_step_bound(X: Any, *, l2: float = 0.0) -> float:
    """A learning rate ``1 / L`` that makes :func:`fit_gd` monotone.

    The cross-entropy Hessian in z, ``diag(p) - p p^T``, has eigenvalues ``<= 1/2``: row i of
    it has diagonal ``p_i (1 - p_i)`` and off-diagonal absolute sum ``p_i (1 - p_i)``, so by
    Gershgorin every eigenvalue is ``<= 2 p_i (1 - p_i) <= 1/2``. Hence
    ``L = ||[X, 1]||_2^2 / 2 + l2`` bounds the Hessian of the fitted objective.
    """
    X = checks.float_array("X", X, shape=("n", "d"), min_size=1)
    checks.scalar("l2", l2, low=0)
    A = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)
    return float(1.0 / (jnp.linalg.norm(A, 2) ** 2 / 2 + l2))


def _model_inputs(W: Any, b: Any, X: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    X = checks.float_array("X", X, shape=("n", "d"))
    W = checks.float_array("W", W, shape=(None, X.shape[1]))
    b = checks.float_array("b", b, shape=(W.shape[0],))
    dtype = checks.common_dtype(X=X, W=W, b=b)
    return W.astype(dtype), b.astype(dtype), X.astype(dtype)


def _scores(W: jax.Array, b: jax.Array, X: jax.Array) -> jax.Array:
    return _linalg.matmul(X, W.T) + b[None, :]


def predict_proba(W: Any, b: Any, X: Any) -> jax.Array:
    """Class probabilities ``softmax(W x + b)``, shape ``(n, K)``."""
    W, b, X = _model_inputs(W, b, X)
    return softmax(_scores(W, b, X))


def predict(W: Any, b: Any, X: Any) -> jax.Array:
    """Predicted class ids ``argmax_k (W x + b)_k``, shape ``(n,)``."""
    W, b, X = _model_inputs(W, b, X)
    return jnp.argmax(_scores(W, b, X), axis=1).astype(jnp.int32)


def accuracy(W: Any, b: Any, X: Any, y: Any) -> jax.Array:
    """Fraction of samples whose predicted class equals ``y`` (class ids ``0..K-1``)."""
    W, b, X = _model_inputs(W, b, X)
    y = checks.class_labels("y", y, X.shape[0], W.shape[0])
    return jnp.mean((jnp.argmax(_scores(W, b, X), axis=1) == y).astype(X.dtype))


# ----------------------------------------------------------------------------------------------
# Inference in the reference-class parameterisation (jaxdl._inference does the rest).


@functools.partial(jax.jit, static_argnames=("k", "robust"))
def _wald(theta, X, y, sw, l2, level, fit_status, grad_norm, *, k, robust):
    dtype = X.dtype
    n, d = X.shape
    Y = jax.nn.one_hot(y, k, dtype=dtype)
    A = jnp.concatenate([X, jnp.ones((n, 1), dtype)], axis=1)
    ridge = jnp.tile(jnp.concatenate([jnp.ones((d,), dtype), jnp.zeros((1,), dtype)]), k - 1)
    Z = _logits_of(theta, X, k)
    H = _hessian(Z, A, sw, k) + jnp.diag(l2 * ridge)
    R = (softmax(Z) - Y)[:, : k - 1]  # per-sample score in z of the free classes
    # HC0 meat: sum_n sw_n r_n r_n^T (x) a_n a_n^T (a weight-2 row counts as two rows).
    meat = _kron_gram(sw[:, None, None] * R[:, :, None] * R[:, None, :], A) if robust else None
    grad = _linalg.matmul((sw[:, None] * R).T, A).reshape(-1) + l2 * ridge * theta
    counts = jnp.sum(sw[:, None] * Y, axis=0)
    nobs = jnp.sum(sw)
    ll_null = jnp.sum(jax.scipy.special.xlogy(counts, counts / nobs))
    return _inference.compute(
        theta.reshape(k - 1, d + 1), H, meat, grad,
        grad_tol=_inference.stationary_tol(grad_norm, X, nobs),
        log_likelihood=-jnp.sum(sw * cross_entropy(Z, Y)), ll_null=ll_null, nobs=nobs,
        df_model=(k - 1) * d, l2=l2, level=level, fit_status=fit_status)


def inference(
    result: FitResult,
    X: Any,
    y: Any,
    *,
    l2: Any = 0.0,
    sample_weight: Any = None,
    robust: bool = False,
    level: Any = 0.95,
) -> Inference:
    """Standard errors, Wald tests and confidence intervals for a softmax-regression fit.

    In the reference-class parameterisation of :func:`fit_newton` (the last class's row of
    ``[W, b]`` is 0; the free rows ``theta (K-1, d+1)``, intercept last in each row) the
    covariance is ``H^{-1}`` with the Hessian of the fits, ``H = sum_n C_n (x) a_n a_n^T``
    (``C_n = sw_n (diag(p_n) - p_n p_n^T)`` over the free classes, seed Q7) plus the ridge, or
    with ``robust=True`` the HC0 sandwich ``H^{-1} M H^{-1}``,
    ``M = sum_n sw_n r_n r_n^T (x) a_n a_n^T``, ``r_n = (p_n - y_n)`` over the free classes.
    For ``l2 = 0`` the figures equal statsmodels' ``MNLogit`` whose reference (its first
    category) is jaxdl's last class. Statuses, flags and eager errors as in
    :func:`jaxdl.logistic.inference`.

    Args:
      result: a :class:`jaxdl.results.FitResult` of one fit (``params = (W (K, d), b (K,))``;
        a full-parameterisation ``(W, b)`` is moved to the reference class first).
      X, y: the data the fit used (``y`` class ids ``0..K-1``, ``K = W.shape[0]``).
      l2, sample_weight, robust, level: as in :func:`jaxdl.logistic.inference`.

    Returns:
      :class:`jaxdl._inference.Inference` with ``params`` etc. of shape ``(K-1, d+1)`` and
      ``cov`` ``((K-1)(d+1), (K-1)(d+1))``.

    Example:
      >>> from jaxdl import data, softmax
      >>> ds = data.load_digits(); keep = ds.y < 3
      >>> X = ds.X[keep][:, [20, 28, 36]] / 16; y = ds.y[keep]
      >>> inf = softmax.inference(softmax.fit_newton(X, y), X, y)
      >>> inf.std_err.shape, inf.status_name
      ((2, 4), 'converged')

    Reference: seeds Q3(b) and Q7.
    """
    W, b = result.params
    X = checks.float_array("X", X, shape=("n", "d"))
    W, b, X = _model_inputs(W, b, X)
    n, d = X.shape
    k = W.shape[0]
    if k < 2:
        raise ValueError(f"result: expected params for at least 2 classes, got W of shape "
                         f"{tuple(W.shape)}")
    y = checks.class_labels("y", y, n, k)
    sw = _fit.sample_weight(sample_weight, n, X.dtype)
    _fit.penalty(l2)
    status = _inference.fit_status(result, what="softmax.inference")
    theta = _Model(k).join((W[:-1] - W[-1:], b[:-1] - b[-1:]))
    inf = _wald(theta, X, y, sw, jnp.asarray(l2, X.dtype),
                jnp.asarray(_inference.check_level(level), X.dtype), status,
                jnp.asarray(result.grad_norm, X.dtype), k=k, robust=_inference.check_robust(robust))
    if checks.is_concrete(inf.status):
        _inference.raise_if_failed(inf, fit_status=status, what="softmax.inference")
    return inf


def summary(inference: Inference, *, feature_names: Any = None, class_names: Any = None,
            dep_variable: str = "y") -> str:
    """A statsmodels-style text table of :func:`inference`: one block per free class.

    As :func:`jaxdl.logistic.summary`; each block holds one class's coefficients against the
    reference (the last) class.

    Args:
      inference: one :class:`Inference` from :func:`inference`.
      feature_names: ``d`` column names (default ``x0 ..``); the intercept is ``const``.
      class_names: ``K`` class names (default ``0 .. K-1``).
      dep_variable: the response's name.

    Returns:
      The table as a string.

    Example:
      >>> from jaxdl import data, softmax
      >>> ds = data.load_digits(); keep = ds.y < 3
      >>> X = ds.X[keep][:, [20, 28, 36]] / 16; y = ds.y[keep]
      >>> inf = softmax.inference(softmax.fit_newton(X, y), X, y)
      >>> print(softmax.summary(inf).splitlines()[0].strip())
      MNLogit Regression Results

    Reference: seeds Q3(b) and Q7.
    """
    rows = np.shape(inference.params)[0] if np.ndim(inference.params) == 2 else 0
    names = [str(c) for c in range(rows + 1)] if class_names is None else [
        str(c) for c in class_names]
    if len(names) != rows + 1:
        raise ValueError(f"class_names: expected {rows + 1} names (one per class), got "
                         f"{len(names)}")
    blocks = [f"{dep_variable}={c} vs {names[-1]}" for c in names[:-1]]
    return _inference.summary(inference, model="MNLogit", ndim=2, feature_names=feature_names,
                             dep_variable=dep_variable, blocks=blocks, what="softmax.summary")


def bootstrap(
    X: Any,
    y: Any,
    *,
    key: Any,
    num_resamples: int = 200,
    num_classes: int | None = None,
    l2: Any = 0.0,
    sample_weight: Any = None,
    max_steps: int = 50,
    gtol: float | None = None,
) -> Bootstrap:
    """Bootstrap standard errors of the free rows ``(K-1, d+1)``, as
    :func:`jaxdl.logistic.bootstrap` (one :func:`fit_newton_many` batch of count weights).

    Returns:
      :class:`jaxdl._inference.Bootstrap` with ``std_err`` of shape ``(K-1, d+1)``.

    Reference: seeds Q3(b) and Q7.
    """
    X = checks.float_array("X", X, shape=("n", "d"))
    num_resamples = checks.positive_int("num_resamples", num_resamples, minimum=2)
    sw = None if sample_weight is None else _fit.sample_weight(sample_weight, X.shape[0], X.dtype)
    counts = _inference.bootstrap_counts(key, X.shape[0], num_resamples, X.dtype, sw)
    res = fit_newton_many(X, y, num_classes=num_classes, sample_weight=counts, l2=l2,
                          max_steps=max_steps, gtol=gtol)
    W, b = res.params
    rows = jnp.concatenate([W[:, :-1], b[:, :-1, None]], axis=2)
    return _inference.bootstrap_std_err(rows, res.status)
