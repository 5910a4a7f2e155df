"""Seed Q1: logistic regression, its closed-form gradient and PSD Hessian, and its fits.

Model: ``p_n = sigma(z_n)``, ``z_n = w^T x_n + b (+ o_n)``, labels ``y_n in {0, 1}``, with an
optional offset ``o_n`` (a known term per row, e.g. the log of an exposure or a baseline
model's logit; every function takes ``offset=``). Loss, summed over samples (not averaged, as
in the seed)::

    E(w, b) = -sum_n [ y_n ln p_n + (1 - y_n) ln(1 - p_n) ]
            = sum_n [ (1 - y_n) softplus(z_n) + y_n softplus(-z_n) ]

computed from the logits, never as ``ln(sigma(.))``. Closed forms::

    dE/dw = sum_n (p_n - y_n) x_n        dE/db = sum_n (p_n - y_n)
    H = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T     (theta = [w; b], b last; PSD)

The seed drops the sum in dE/db once and writes d/db (y - p) for the second derivative (a sign
slip); jaxdl implements the statements above.

See the [Q1 derivation][q1-derivation].
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import (
    _fit,
    _gram,
    _inference,
    _linalg,
    _linear_model,
    _newton_step,
    _solver,
    checks,
    results,
)
from jaxdl._cross_validation import CVResult
from jaxdl._inference import Bootstrap, Inference
from jaxdl.results import FitResult

__all__ = [
    "loss",
    "grad",
    "hessian",
    "loss_from_logits",
    "predict_proba",
    "predict",
    "accuracy",
    "seed_update",
    "gd_step_bound",
    "fit_gd",
    "fit_newton",
    "fit_lbfgs",
    "fit_newton_many",
    "inference",
    "summary",
    "bootstrap",
    "cross_validate",
    "Model",
    "Inference",
    "Bootstrap",
    "CVResult",
]


def _inputs(w: Any, b: Any, X: Any, y: Any | None, offset: Any = None):
    """Validate (w, b, X, y, offset) for the Q1 closed forms; return jax arrays of one float
    dtype (the offset None or ``(n,)``)."""
    model, w, b, X = _linear_model.params(Model, w, b, X)  # X checked and scanned once
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(
            f"X: expected at least one row and one column (shape (n, d) with n, d >= 1), "
            f"got shape ({n}, {d})"
        )
    if y is not None:
        y = checks.binary_labels("y", y, n, X.dtype)
    return w, b, X, y, _linear_model.offsets(model, offset, X)


def _logits(w: jax.Array, b: jax.Array, X: jax.Array, offset: jax.Array | None) -> jax.Array:
    """``z = X w + b (+ offset)``."""
    z = _linalg.matvec(X, w) + b
    return z if offset is None else z + offset


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

    Cheaper on the CPU than ``jax.nn.softplus`` (whose ``logaddexp`` carries NaN and inf
    bookkeeping). The two kinks of this form cancel in value but not in autodiff's
    one-sided choices at ``z = 0``, so the derivative is given explicitly: ``sigmoid(z)``, the
    same rule JAX's own ``logaddexp`` uses.
    """
    return jnp.maximum(z, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(z)))


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    return _softplus(z), jax.nn.sigmoid(z) * dz


def loss(w: Any, b: Any, X: Any, y: Any, *, offset: Any = None) -> jax.Array:
    """Logistic loss ``E(w, b)`` summed over samples, computed stably from the logits.

    ``E(w, b) = sum_n (1 - y_n) softplus(z_n) + y_n softplus(-z_n)``, ``z = X w + b + offset``.

    Args:
      w: weights, shape ``(d,)``.
      b: bias, a scalar.
      X: features, shape ``(n, d)``.
      y: labels in {0, 1}, shape ``(n,)``.
      offset: a known term per row added to the logits, shape ``(n,)`` (default none),
        finite, in the dtype of ``X``.

    Returns:
      The scalar loss (dtype of ``X``).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import logistic
      >>> X = jnp.array([[1.0, 2.0], [-1.0, 0.5]]); y = jnp.array([1.0, 0.0])
      >>> float(logistic.loss(jnp.zeros(2), 0.0, X, y))  # 2 ln 2
      1.386...

    See the [Q1 derivation][q1-derivation].
    """
    w, b, X, y, offset = _inputs(w, b, X, y, offset)
    return jnp.sum(_bce(_logits(w, b, X, offset), y))


def grad(w: Any, b: Any, X: Any, y: Any, *, offset: Any = None) -> tuple[jax.Array, jax.Array]:
    """Closed-form gradient ``(dE/dw, dE/db) = (sum (p - y) x, sum (p - y))``.

    ``p = sigma(X w + b + offset)``: the offset moves the logits and enters nothing else.

    Args:
      w, b, X, y, offset: as in :func:`loss`.

    Returns:
      ``(gw, gb)`` with shapes ``(d,)`` and ``()``.

    See the [Q1 derivation][q1-derivation] (the seed drops the sum over n in dE/db once).
    """
    w, b, X, y, offset = _inputs(w, b, X, y, offset)
    r = jax.nn.sigmoid(_logits(w, b, X, offset)) - y
    return _linalg.rmatvec(X, r, _linalg.row_shards(X)), jnp.sum(r)


def hessian(w: Any, b: Any, X: Any, y: Any | None = None, *, offset: Any = None) -> jax.Array:
    """Closed-form joint Hessian over ``theta = [w; b]`` (b last), shape ``(d + 1, d + 1)``.

    ``H = sum_n s_n [x_n; 1][x_n; 1]^T`` with ``s_n = p_n (1 - p_n) > 0``: a positive-weighted
    sum of PSD rank-one terms, hence PSD. ``s_n`` is computed as ``sigma(z) sigma(-z)``, which
    keeps full relative accuracy when ``p_n`` is near 0 or 1. The labels do not enter.

    Args:
      w, b, X, offset: as in :func:`loss` (``p_n = sigma(z_n)`` at the logits with the
        offset).
      y: unused (accepted so the four Q1 functions share one signature).

    Returns:
      The ``(d + 1, d + 1)`` Hessian.

    See the [Q1 derivation][q1-derivation] (the seed argues block by block and has a sign slip
    in d2E/db2).
    """
    w, b, X, _, offset = _inputs(w, b, X, None, offset)
    if y is not None:
        checks.binary_labels("y", y, X.shape[0], X.dtype)
    return _hessian(w, b, X, offset, _linalg.row_shards(X))


@functools.partial(jax.jit, static_argnames=("row_shards",))
def _hessian(w, b, X, offset=None, row_shards=1):
    # Compiled once per shape: called eagerly, the row-block loop would otherwise be traced and
    # compiled again on every call.
    return _gram.weighted_gram(X, _curvature(_logits(w, b, X, offset)), X.dtype, row_shards)


def _curvature(z: jax.Array) -> jax.Array:
    """``s = p (1 - p)`` as ``sigma(z) sigma(-z)``: full relative accuracy near p = 0 or 1."""
    return jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)


def predict_proba(w: Any, b: Any, X: Any, *, offset: Any = None) -> jax.Array:
    """``p = sigma(X w + b + offset)``, shape ``(n,)`` (``offset`` as in :func:`loss`).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import logistic
      >>> X = jnp.array([[1.0], [-1.0]])
      >>> p = logistic.predict_proba(jnp.array([0.0]), 0.0, X, offset=jnp.array([0.0, 2.0]))
      >>> [round(float(v), 4) for v in p]  # sigma(0), sigma(2)
      [0.5, 0.8808]
    """
    return _linear_model.predict_proba(Model, w, b, X, offset)


def accuracy(w: Any, b: Any, X: Any, y: Any, *, offset: Any = None) -> jax.Array:
    """Fraction of samples whose predicted class ``1[z > 0]`` equals ``y``
    (``z = X w + b + offset``)."""
    return _linear_model.accuracy(Model, w, b, X, y, offset)


def predict(w: Any, b: Any, X: Any, *, offset: Any = None) -> jax.Array:
    """Predicted labels ``1[w^T x + b + offset > 0]`` as int32 class ids in {0, 1}, shape
    ``(n,)``."""
    return _linear_model.predict(Model, w, b, X, offset)


# ----------------------------------------------------------------------------------------------
# Fits: the penalised weighted objective sum_n sw_n E_n + l2/2 ||w||^2 as seen by the shared
# loops (jaxdl._fit), with theta = [w; b] and the logits as the carried predictor.


def _objective(w, y, z, l2, sw):
    """Penalised weighted loss ``sum_n sw_n E_n + l2/2 ||w||^2`` from the logits ``z``."""
    return jnp.sum(sw * _bce(z, y)) + 0.5 * l2 * jnp.vdot(w, w)


def _gradient(w, X, y, z, l2, sw, *, dense=False, row_shards=1):
    """``(dE/dw + l2 w, dE/db)`` of :func:`_objective` from the logits (the Q1 closed form)."""
    r = sw * (jax.nn.sigmoid(z) - y)
    # dense: r @ X as a dot, which vmap turns into one GEMM for a batch of fits sharing X
    # (fit_newton_many); a single fit streams X once in row blocks (_linalg.rmatvec).
    xr = _linalg.matmul(r, X) if dense else _linalg.rmatvec(X, r, row_shards)
    return xr + l2 * w, jnp.sum(r)


def _oracle(X, y, l2, sw, *, mixed=False, outer=None, row_shards=1):
    """The Q1 objective as seen by the shared solvers: theta = [w; b], aux = logits."""
    sign = 2 * y - 1

    def grad(th, z):
        gw, gb = _gradient(th[:-1], X, y, z, l2, sw, dense=outer is not None,
                           row_shards=row_shards)
        return jnp.concatenate([gw, gb[None]])

    def direction(th, g, z, solve_error):
        return _newton_step.logistic_direction(X, z, g, l2, sw, mixed=mixed, outer=outer,
                                               solve_error=solve_error, row_shards=row_shards)

    def along(delta):
        return _linalg.matvec(X, delta[:-1]) + delta[-1]

    return _solver.NewtonOracle(
        predictor=along,
        value=lambda th, z: _objective(th[:-1], y, z, l2, sw),
        grad=grad,
        direction=direction,
        along=along,
        # Strictly separated (rows of weight 0 do not count) with no penalty: no minimiser.
        separated=lambda th, z: (l2 == 0) & jnp.all((sign * z > 0) | (sw == 0)),
        solve_error0=jnp.asarray(jnp.inf, X.dtype),
    )


def _without_intercept(oracle, mask, hessian):
    """``oracle`` with the entries of theta where ``mask`` is 0 (the intercepts) held at their
    start value 0: their gradient entries are 0 and the Newton system has identity rows and
    columns there, so gradient descent, L-BFGS and Newton never move them.

    ``hessian``: ``aux -> H`` of the penalised objective (the model's closed form)."""

    def grad(th, aux):
        return mask * oracle.grad(th, aux)

    def direction(th, g, aux, solve_error):
        H = mask[:, None] * hessian(aux) * mask[None, :] + jnp.diag(1 - mask)
        delta, ok = _newton_step.cholesky_direction(H, g)
        return delta, ok, None, solve_error

    return oracle._replace(grad=grad, direction=direction)


@dataclasses.dataclass(frozen=True)
class Model:
    """The logistic-regression model as the shared fits see it: ``theta = [w; b]`` (``b``
    last, as in :func:`hessian`), the Q1 objective, gradient and Newton step, the labels, the
    link and the inference program. The public functions of this module use it;
    :mod:`jaxdl.sweep` compiles batched fits from it. ``intercept=False`` holds ``b`` at 0
    (``fit_intercept=False``).

    Args:
      intercept: fit the intercept.
    """

    intercept: bool = True

    name = "logistic"
    summary_name = "Logit"
    param_names = ("w", "b")
    curvature = 0.25  # p (1 - p) <= 1/4
    mixed_precision = True

    @classmethod
    def bind(cls, y, n, num_classes, intercept):
        return cls(intercept)

    @classmethod
    def of_params(cls, w, b, d):
        w = checks.float_array("w", w, ndim=1)
        if w.shape != (d,):
            raise ValueError(f"w: expected shape ({d},) (one weight per column of X), got shape "
                             f"{tuple(w.shape)}")
        b = checks.float_array("b", b)
        if b.ndim != 0:
            raise ValueError(f"b: expected a scalar (shape ()), got shape {tuple(b.shape)}")
        return cls(), w, b

    def labels(self, y, n, dtype):
        return checks.binary_labels("y", y, n, dtype)

    def shapes(self, d):
        return (d,), ()

    def logits(self, w, b, X):
        return _linalg.matvec(X, w) + b

    def proba(self, z):
        return jax.nn.sigmoid(z)

    def classify(self, z):
        return (z > 0).astype(jnp.int32)

    def convention(self, l2):
        return None

    def wald(self, theta, X, y, sw, l2, level, fit_status, grad_norm, *, cov_type, groups,
             num_groups, offset, row_shards, convention):
        return _wald(theta[:-1], theta[-1], X, y, sw, l2, level, fit_status, grad_norm, groups,
                     offset, cov_type=cov_type, num_groups=num_groups, row_shards=row_shards)

    def rows(self, params, convention):
        w, b = params
        return jnp.concatenate([w, b[:, None]], axis=1)

    @staticmethod
    def blocks(inf, class_names, dep_variable):
        return 1, None

    def oracle(self, X, y, l2, sw, *, mixed, outer, row_shards):
        oracle = _oracle(X, y, l2, sw, mixed=mixed, outer=outer, row_shards=row_shards)
        if self.intercept:
            return oracle
        d = X.shape[1]
        mask = jnp.concatenate([jnp.ones((d,), X.dtype), jnp.zeros((1,), X.dtype)])

        def hessian(z):
            return (_gram.weighted_gram(X, sw * _curvature(z), X.dtype, row_shards)
                    + jnp.diag(l2 * mask))

        return _without_intercept(oracle, mask, hessian)

    def split(self, theta, d):
        return theta[..., :-1], theta[..., -1]

    def join(self, params):
        w, b = params
        return jnp.concatenate([w, jnp.asarray(b)[..., None]], axis=-1)

    def start(self, theta0, d, l2):
        return theta0 if self.intercept else theta0.at[..., -1].set(0)

    def finish(self, theta, d, l2):
        return self.split(theta, d)

    def cold_logits(self, X, theta0):
        return jnp.full((X.shape[0],), theta0[-1], X.dtype)

    def invalid(self, y, l2, sw):
        """Labels outside {0, 1}, a negative penalty or weight, all weights zero (NaN is left
        to the NONFINITE status)."""
        return (jnp.any(jnp.isfinite(y) & (y != 0) & (y != 1)) | (l2 < 0)
                | jnp.any(sw < 0) | jnp.all(sw == 0))

    def outer(self, X):
        n, d = X.shape
        return _gram.packed_outer(X) if n * (d + 1) ** 2 <= _gram.OUTER_MAX else None

    def nll(self, z, y):
        return _bce(z, y)

    def ridge(self, d, dtype):
        return jnp.concatenate([jnp.ones((d,), dtype), jnp.zeros((1,), dtype)])


def gd_step_bound(X: Any, *, l2: float = 0.0, sample_weight: Any = None) -> float:
    """A learning rate ``1 / L`` that makes gradient descent on :func:`loss` monotone.

    ``L = ||[X, 1]||_2^2 / 4 + l2`` bounds the largest Hessian eigenvalue, since
    ``p (1 - p) <= 1/4``; any rate ``<= 1/L`` decreases the objective every step. With
    ``sample_weight`` the rows of ``[X, 1]`` are scaled by ``sqrt(sw)``.
    """
    return _linear_model.gd_step_bound(Model, X, l2, sample_weight)


def seed_update(*, lr_w: float, lr_b: float) -> optax.GradientTransformation:
    """The seed's gradient-descent update with separate rates, as an optax transformation.

    ``w <- w - lr_w dE/dw``, ``b <- b - lr_b dE/db`` for parameters ``(w, b)``.

    See the [Q1 derivation][q1-derivation].
    """
    checks.scalar("lr_w", lr_w, low=0, low_open=True)
    checks.scalar("lr_b", lr_b, low=0, low_open=True)
    return _fit.seed_optimizer(lr_w, lr_b)


def fit_gd(
    X: Any,
    y: Any,
    *,
    lr: float | None = None,
    lr_w: float | None = None,
    lr_b: float | None = None,
    optimizer: optax.GradientTransformation | None = None,
    l2: float = 0.0,
    max_steps: int = 1000,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
    sample_weight: Any = None,
    offset: Any = None,
    fit_intercept: bool = True,
) -> FitResult:
    """Fit logistic regression by gradient descent in one jit-compiled ``lax.while_loop``.

    Minimises ``E(w, b) + l2/2 ||w||^2`` (E summed over samples) with the seed's update
    (:func:`seed_update`: rates ``lr_w`` for w and ``lr_b`` for b; ``lr`` sets both), or with
    any optax ``optimizer`` over ``(w, b)`` given instead. Each step costs two passes over
    ``X`` (``X w`` and ``X^T r``), shared by the loss and the closed-form gradient. The rates
    are traced: a new rate is no recompile.

    Args:
      X: features ``(n, d)``.
      y: labels in {0, 1}, ``(n,)``.
      lr: one learning rate for ``w`` and ``b``.
      lr_w, lr_b: the seed's separate learning rates (instead of ``lr``).
      optimizer: an optax ``GradientTransformation`` over params ``(w, b)``; a static argument
        (reuse one object to avoid recompiles).
      l2: ridge penalty on ``w`` (not ``b``), ``>= 0``.
      max_steps: step budget (static).
      gtol: stop when ``||grad||_inf <= gtol * sum(sample_weight)`` (a tolerance on the
        per-sample mean gradient); default ``1e-12`` (float64) or ``1e-5`` (float32).
      w0, b0: starting point (default zeros).
      sample_weight: non-negative per-row weights ``(n,)`` (default ones): the loss becomes
        ``sum_n sw_n E_n``. Integer counts give a bootstrap resample without copying ``X``.
      fit_intercept: fit ``b`` (default); ``False`` holds it at 0 (scikit-learn's
        ``fit_intercept=False``).
      offset: a known term per row added to the logits, ``(n,)`` (default none): the fit
        minimises the loss at ``z = X w + b + offset`` (e.g. the log of an exposure, or a
        baseline model's logits to fit a correction to). Finite, in the dtype of ``X``;
        traced (a new offset is no recompile).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (w, b)``; status CONVERGED, SEPARABLE
      (``l2 == 0`` and an iterate separates the classes: no finite minimiser), MAX_STEPS,
      NONFINITE (e.g. a learning rate so large that the iterates overflow: lower it) or
      INVALID_INPUT (labels, penalty or weights out of domain under jit).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import logistic
      >>> X = jnp.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
      >>> y = jnp.array([0.0, 1.0, 1.0, 0.0])
      >>> res = logistic.fit_gd(X, y, lr_w=0.5, lr_b=0.5, l2=1.0, max_steps=500)
      >>> res.status_name, bool(res.ok)
      ('converged', True)

    See the [Q1 derivation][q1-derivation].
    """
    return _linear_model.fit(Model, "gd", X, y, l2=l2, gtol=gtol, max_steps=max_steps, w0=w0,
                             b0=b0, sample_weight=sample_weight,
                             fit_intercept=fit_intercept, lr=lr, lr_w=lr_w, lr_b=lr_b,
                             optimizer=optimizer,
                             offset=offset)


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
    offset: Any = None,
    fit_intercept: bool = True,
) -> FitResult:
    """Fit logistic regression by Newton's method (IRLS) with Armijo backtracking.

    Minimises ``E(w, b) + l2/2 ||w||^2`` using the closed-form gradient and joint Hessian of
    :func:`grad` / :func:`hessian`, a Cholesky solve and a backtracking line search whose
    trials cost ``O(n)`` (the logits move along ``X delta``, computed once per step).

    Statuses (:class:`jaxdl.results.Status`): CONVERGED (``||grad||_inf <= gtol * sum(sw)``, or
    the Newton decrement is below the objective's rounding); SEPARABLE (``l2 == 0`` and the
    current ``(w, b)`` strictly separates the classes: that proves no finite minimiser exists;
    the returned ``w`` is finite and separating); SINGULAR (e.g. duplicated columns with
    ``l2 == 0``: use ``l2 > 0``); LINE_SEARCH_FAILED; NONFINITE; MAX_STEPS; INVALID_INPUT
    (labels, penalty or weights out of domain, seen under jit). Under ``vmap`` each problem
    gets its own status.

    Args:
      X: features ``(n, d)``; y: labels in {0, 1}.
      l2: ridge penalty on ``w`` (not ``b``), ``>= 0``.
      max_steps: Newton step budget (static).
      gtol: tolerance on the per-sample mean gradient (see :func:`fit_gd`).
      precision: ``"mixed"`` (float64 inputs: float32 Hessian plus float64 iterative
        refinement, falling back to a float64 Hessian when ill-conditioned; see
        :func:`jaxdl._newton_step.mixed_direction`), ``"full"`` (Hessian in the input dtype),
        or ``"auto"`` (mixed when ``n d^2 >= 1e7`` and the inputs are float64, else full).
        float32 inputs always run in float32.
      w0, b0: starting point (default zeros).
      sample_weight: per-row weights, as in :func:`fit_gd`.
      fit_intercept: fit ``b`` (default); ``False`` holds it at 0 (scikit-learn's
        ``fit_intercept=False``).
      offset: a known term per row added to the logits, as in :func:`fit_gd`.

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (w, b)``.

    Example:
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> res = logistic.fit_newton(Xs, ds.y, l2=1.0)
      >>> res.status_name, res.message
      ('converged', 'converged: ...')

    See the [Q1 derivation][q1-derivation] and the [Q6 derivation][q6-derivation].
    """
    return _linear_model.fit(Model, "newton", X, y, l2=l2, gtol=gtol, max_steps=max_steps,
                             w0=w0, b0=b0, sample_weight=sample_weight,
                             fit_intercept=fit_intercept, precision=precision,
                             offset=offset)


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
    offset: Any = None,
    fit_intercept: bool = True,
) -> FitResult:
    """Fit logistic regression by L-BFGS with the closed-form gradient.

    The fastest jaxdl solver on well-conditioned data (where a few quasi-Newton steps suffice
    and forming ``X^T S X`` does not pay): each step costs two passes over ``X`` (the logits'
    direction ``X p`` and the gradient); the line search moves the logits along ``X p`` in
    ``O(n)`` per trial. Same objective, statuses and result type as :func:`fit_newton`
    (SINGULAR does not arise: no matrix is factored).

    Args:
      X, y, l2, gtol, w0, b0, sample_weight, fit_intercept, offset: as in
        :func:`fit_newton`.
      max_steps: iteration budget (static).
      memory: number of curvature pairs kept (static).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (w, b)``.

    Example:
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> res = logistic.fit_lbfgs(Xs, ds.y, l2=1.0, gtol=1e-6)
      >>> res.status_name
      'converged'

    See the [Q1 derivation][q1-derivation].
    """
    return _linear_model.fit(Model, "lbfgs", X, y, l2=l2, gtol=gtol, max_steps=max_steps,
                             w0=w0, b0=b0, sample_weight=sample_weight,
                             fit_intercept=fit_intercept, memory=memory,
                             offset=offset)


def fit_newton_many(
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    offset: Any = None,
    l2: Any = 0.0,
    max_steps: int = 50,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
) -> FitResult:
    """Many Newton fits on one data set in one call: bootstraps, penalty paths, CV folds.

    Fit ``b`` of :func:`fit_newton`'s problem on the same ``X, y``, each with its own row
    weights and penalty. Bootstrap resamples are integer count weights and a held-out fold is
    weight 0, so nothing copies ``X``. For small problems (``n (d+1)^2 <= 2^22``) the per-row
    outer products ``[x; 1][x; 1]^T`` are formed once and every Hessian of the batch is one
    row of a single matrix product (see :mod:`jaxdl._gram`).

    Args:
      X, y: the data, as in :func:`fit_newton`.
      sample_weight: ``(b, n)`` non-negative weights (or ``(n,)`` for all fits; default ones).
      l2: ``(b,)`` penalties, or one penalty for all fits.
      max_steps, gtol: as in :func:`fit_newton`.
      w0, b0: one start ``(d,)``, ``()`` for all fits, or one per fit ``(b, d)``, ``(b,)``.
      offset: one offset ``(n,)`` for all fits, as in :func:`fit_newton`.

    Returns:
      A batched :class:`jaxdl.results.FitResult` (leading axis ``b``), one status per fit.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> n = Xs.shape[0]
      >>> keys = jax.random.split(jax.random.key(0), 8)
      >>> counts = jax.vmap(lambda k: jnp.bincount(
      ...     jax.random.randint(k, (n,), 0, n), length=n))(keys).astype(Xs.dtype)
      >>> res = logistic.fit_newton_many(Xs, ds.y, sample_weight=counts, l2=1.0)
      >>> res.params[0].shape, bool(res.ok)
      ((8, 30), True)

    See the [Q1 derivation][q1-derivation].
    """
    return _linear_model.fit_many(Model, X, y, sample_weight=sample_weight, l2=l2,
                                  max_steps=max_steps, gtol=gtol, w0=w0, b0=b0,
                                  offset=offset)


# ----------------------------------------------------------------------------------------------
# Inference: the covariance of the estimate from the Q1 Hessian (jaxdl._inference does the rest).


def _null_log_likelihood(y, sw, offset):
    """The log-likelihood of the intercept-only model: in closed form without an offset; with
    one (which the null model keeps, as statsmodels' ``llnull``), maximised over the
    intercept by damped Newton from the closed form's logit. A null model without a finite
    optimum (every label equal) has the closed form's supremum, 0."""
    nobs = jnp.sum(sw)
    ones = jnp.sum(sw * y)
    pbar = ones / nobs
    closed = (jax.scipy.special.xlogy(ones, pbar)
              + jax.scipy.special.xlogy(nobs - ones, 1 - pbar))
    if offset is None:
        return closed
    dtype = offset.dtype
    tiny = jnp.finfo(dtype).eps
    q = jnp.clip(pbar, tiny, 1 - tiny)
    c0 = jnp.log(q) - jnp.log1p(-q) - jnp.sum(sw * offset) / nobs
    sign = 2 * y - 1

    def along(delta):
        return jnp.broadcast_to(delta[0], offset.shape)

    def direction(c, g, z, solve_error):
        delta, ok = _newton_step.cholesky_direction(jnp.sum(sw * _curvature(z))[None, None], g)
        return delta, ok, None, solve_error

    oracle = _solver.NewtonOracle(
        predictor=lambda c: along(c) + offset,
        value=lambda c, z: jnp.sum(sw * _bce(z, y)),
        grad=lambda c, z: jnp.sum(sw * (jax.nn.sigmoid(z) - y))[None],
        direction=direction, along=along,
        separated=lambda c, z: jnp.all((sign * z > 0) | (sw == 0)))
    res = _solver.damped_newton(oracle, c0[None].astype(dtype), max_steps=50,
                                gtol=_solver.default_gtol(None, dtype) * nobs)
    return jnp.where(results.succeeded(res.status), -res.loss, closed)


@functools.partial(jax.jit, static_argnames=("cov_type", "num_groups", "row_shards"))
def _wald(w, b, X, y, sw, l2, level, fit_status, grad_norm, groups, offset, *, cov_type,
          num_groups, row_shards):
    dtype = X.dtype
    d = X.shape[1]
    z = _logits(w, b, X, offset)
    ridge = jnp.concatenate([jnp.full((d,), 1.0, dtype), jnp.zeros((1,), dtype)])
    H = _gram.weighted_gram(X, sw * _curvature(z), dtype, row_shards) + jnp.diag(l2 * ridge)
    r = jax.nn.sigmoid(z) - y
    meat = clusters = None
    if cov_type == "HC0":
        # sum_n sw_n (p_n - y_n)^2 [x_n; 1][x_n; 1]^T (a weight-2 row counts as two rows).
        meat = _gram.weighted_gram(X, sw * r**2, dtype, row_shards)
    elif cov_type == "cluster":  # the scores (p_n - y_n) [x_n; 1] summed per group
        A = jnp.concatenate([X, jnp.ones((X.shape[0], 1), dtype)], axis=1)
        meat, clusters = _inference.cluster_meat(r[:, None] * A, sw, groups, num_groups)
    gw, gb = _gradient(w, X, y, z, l2, sw, row_shards=row_shards)
    nobs = jnp.sum(sw)
    ll_null = _null_log_likelihood(y, sw, offset)
    return _inference.compute(
        jnp.concatenate([w, b[None]]), H, meat, jnp.concatenate([gw, gb[None]]),
        grad_tol=_inference.stationary_tol(grad_norm, X, nobs),
        log_likelihood=-jnp.sum(sw * _bce(z, y)), ll_null=ll_null, nobs=nobs, df_model=d,
        l2=l2, level=level, fit_status=fit_status, cov_type=cov_type, clusters=clusters)


def inference(
    result: FitResult,
    X: Any,
    y: Any,
    *,
    l2: Any = 0.0,
    sample_weight: Any = None,
    offset: Any = None,
    robust: bool = False,
    cov_type: str | None = None,
    groups: Any = None,
    num_groups: int | None = None,
    level: Any = 0.95,
) -> Inference:
    """Standard errors, Wald tests and confidence intervals for a logistic-regression fit.

    At the optimum ``theta_hat = [w; b]`` (b last, as in :func:`hessian`) of
    ``sum_n sw_n E_n + l2/2 ||w||^2`` the covariance is ``H^{-1}`` with the closed-form
    ``H = sum_n sw_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T + l2 diag(1, .., 1, 0)`` (PSD by Q1)
    (``cov_type="nonrobust"``), or a sandwich ``H^{-1} M H^{-1}`` with the per-row scores
    ``g_n = (p_n - y_n) [x_n; 1]``:

    - ``cov_type="HC0"`` (or ``robust=True``): ``M = sum_n sw_n g_n g_n^T``, valid when the
      rows are independent but the model's variance may be wrong;
    - ``cov_type="cluster"``: ``M = c sum_g s_g s_g^T`` with ``s_g = sum_{n in g} sw_n g_n``
      over the groups given by ``groups`` and statsmodels' small-sample factor
      ``c = G / (G - 1) (N - 1) / (N - K)`` (``G`` groups of positive weight,
      ``N = sum(sw)``, ``K = d + 1``): valid when rows within a group may be correlated
      (repeated measures of one subject, one school's pupils) and groups are independent.

    Products with ``H^{-1}`` are Cholesky solves. For ``l2 = 0`` the figures equal
    statsmodels' ``Logit(y, [X, 1]).fit(cov_type=...)`` (``bse``, ``tvalues``, ``pvalues``,
    ``conf_int()``, ``llf``, ``llnull``, ``prsquared``, ``llr_pvalue``, ``aic``, ``bic``;
    ``cov_kwds={"groups": groups}`` for ``"cluster"``). With ``l2 > 0`` the result is flagged
    ``penalized`` and ``cov`` is the covariance of the penalised estimate.

    Eagerly, a fit whose status is not a success (separable, singular, max_steps, ...) raises
    :class:`jaxdl.results.SolverError` naming the status, as does a singular Hessian (with its
    condition number); ``result.params`` that are not a stationary point of the objective
    given by ``X``, ``y``, ``sample_weight`` and ``l2`` (pass the fit's ``l2``) raise
    ``ValueError``. Under ``jit``/``vmap`` nothing raises: the ``status`` field says which, and
    the numbers are then zeros (never NaN).

    Args:
      result: a :class:`jaxdl.results.FitResult` of one fit (``params = (w, b)``), e.g. from
        :func:`fit_newton`; vmap over a batch from :func:`fit_newton_many`.
      X, y: the data the fit used.
      l2: the fit's ridge penalty.
      sample_weight: the fit's row weights (frequency weights: ``nobs = sum``; a row of
        weight 2 counts as the row twice, in its group).
      robust: ``True`` is ``cov_type="HC0"`` (with another ``cov_type``: ``TypeError``).
      cov_type: ``"nonrobust"`` (the default), ``"HC0"`` or ``"cluster"`` (static).
      groups: for ``"cluster"``, one group label per row ``(n,)``: eagerly any labels
        (strings, ints, ...); traced (under ``jit``), int codes in ``[0, num_groups)``. At
        least 2 groups must have positive weight.
      num_groups: the number of groups, a static int; required when ``groups`` is traced
        (codes outside ``[0, num_groups)`` then give status INVALID_INPUT).
      offset: the fit's offset ``(n,)`` (see :func:`fit_gd`); the null model of ``ll_null``
        keeps it (its intercept refitted), as statsmodels' ``Logit(..., offset=...)``.
      level: confidence level of ``ci_low``, ``ci_high``, in (0, 1).

    Returns:
      :class:`jaxdl._inference.Inference` (also ``jaxdl.logistic.Inference``), its
      ``cov_type`` naming the covariance; render it with :func:`summary`.

    Example:
      >>> import numpy as np
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X[:, :5])
      >>> res = logistic.fit_newton(Xs, ds.y)
      >>> inf = logistic.inference(res, Xs, ds.y)
      >>> inf.std_err.shape, inf.status_name, inf.cov_type
      ((6,), 'converged', 'nonrobust')
      >>> site = np.arange(Xs.shape[0]) % 10  # e.g. the clinic each row came from
      >>> clu = logistic.inference(res, Xs, ds.y, cov_type="cluster", groups=site)
      >>> clu.cov_type, clu.std_err.shape
      ('cluster', (6,))

    See the [Q1 derivation][q1-derivation] (the Hessian is PSD; its inverse at the optimum is
    the covariance).
    """
    return _linear_model.inference(Model, result, X, y, l2=l2, sample_weight=sample_weight,
                                   robust=robust, cov_type=cov_type, groups=groups,
                                   num_groups=num_groups, level=level,
                                   offset=offset)


def summary(inference: Inference, *, feature_names: Any = None, dep_variable: str = "y") -> str:
    """A statsmodels-style text table of :func:`inference` (coef, std err, z, P>|z|, CI).

    The model lines above the table give the observations, degrees of freedom, pseudo R^2,
    log-likelihoods, the LLR p-value, AIC, BIC, the covariance type and the Hessian's condition
    number; notes below flag a penalised fit ("covariance of the penalised estimate") and a
    near-singular Hessian. Eager only.

    Args:
      inference: one :class:`Inference` from :func:`inference` (not a batch).
      feature_names: ``d`` names for the columns of ``X`` (default ``x0 ..``); the intercept
        is ``const``.
      dep_variable: the response's name.

    Returns:
      The table as a string.

    Example:
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X[:, :5])
      >>> inf = logistic.inference(logistic.fit_newton(Xs, ds.y), Xs, ds.y)
      >>> text = logistic.summary(inf, feature_names=ds.feature_names[:5])
      >>> print(text.splitlines()[0].strip())
      Logit Regression Results

    See the [Q1 derivation][q1-derivation].
    """
    return _linear_model.summary(Model, inference, feature_names=feature_names,
                                 dep_variable=dep_variable)


def bootstrap(
    X: Any,
    y: Any,
    *,
    key: Any,
    num_resamples: int = 200,
    l2: Any = 0.0,
    sample_weight: Any = None,
    offset: Any = None,
    max_steps: int = 50,
    gtol: float | None = None,
) -> Bootstrap:
    """Bootstrap standard errors of ``theta = [w; b]``: refits on resampled rows, in one call.

    Each resample draws ``n`` rows with replacement; it is a count vector used as
    ``sample_weight``, so all the refits run as one :func:`fit_newton_many` batch without
    copying ``X``. The standard error is the standard deviation (``ddof=1``) of the converged
    refits' estimates; refits that fail (a resample can be separable) are counted out and
    reported in ``num_ok``. On well-conditioned data they agree with :func:`inference`'s
    analytic ``std_err`` within sampling error (relative ``~ 1 / sqrt(2 num_resamples)``).

    Args:
      X, y: the data, as in :func:`fit_newton`.
      key: a ``jax.random`` key.
      num_resamples: number of resamples (static).
      l2, max_steps, gtol: as in :func:`fit_newton`.
      sample_weight: frequency weights of the rows (resampling draws row ``i`` with
        probability ``sw_i / sum(sw)``, ``round(sum(sw))`` draws per resample).
      offset: the rows' offsets ``(n,)`` (a drawn row keeps its offset).

    Returns:
      :class:`jaxdl._inference.Bootstrap` with ``std_err`` of shape ``(d + 1,)``.

    Example:
      >>> import jax
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X[:, :5])
      >>> bs = logistic.bootstrap(Xs, ds.y, key=jax.random.key(0), num_resamples=16)
      >>> bs.std_err.shape, int(bs.num_ok)
      ((6,), 16)

    See the [Q1 derivation][q1-derivation].
    """
    return _linear_model.bootstrap(Model, X, y, key=key, num_resamples=num_resamples, l2=l2,
                                   sample_weight=sample_weight, max_steps=max_steps, gtol=gtol,
                                   offset=offset)


def cross_validate(
    X: Any,
    y: Any,
    *,
    l2: Any,
    folds: Any = 5,
    seed: int = 0,
    scoring: str = "log_loss",
    sample_weight: Any = None,
    solver: str = "auto",
    gtol: float | None = None,
    max_steps: int | None = None,
    max_memory: int | None = None,
    devices: Any = None,
    offset: Any = None,
) -> CVResult:
    """Choose the ridge penalty by K-fold cross-validation, and refit at the choice.

    Every fold's fit runs along the grid from the largest penalty down, each fit started at
    the previous penalty's solution (a warm start), in one compiled program for all folds
    (:func:`fit_newton_many`'s batching); folds are row weights, never copies of ``X``. The
    held-out score of each fit, the mean over the folds and its standard error give the best
    penalty and the one-standard-error choice; the refit on all rows at the best penalty
    starts at the folds' mean solution. The penalties and objective are :func:`fit_newton`'s
    (scikit-learn's ``C`` is ``1 / l2``).

    Eager (the folds and the choice are host work); the fits inside are compiled once per
    data shape, solver and number of folds, for any grid length. A fit that fails keeps its
    status in ``status`` and its penalty is not chosen; if no penalty has every fold
    converged, :class:`jaxdl.results.SolverError` is raised.

    Args:
      X, y: the data, as in :func:`fit_newton`.
      l2: the grid of penalties ``>= 0`` (any order; reported in this order).
      folds: the number of folds (stratified by class, shuffled with ``seed``), or an integer
        array ``(n,)`` giving each row's fold ``0..F-1`` (e.g. scikit-learn's folds).
      seed: the seed of the stratified shuffle.
      scoring: ``"log_loss"`` (held-out mean negative log-likelihood, lower is better) or
        ``"accuracy"``.
      sample_weight: frequency weights of the rows: the fits weigh them and the held-out
        scores are weighted means.
      solver: ``"newton"``, ``"lbfgs"`` or ``"auto"`` (Newton unless ``n (d+1)^2`` is large).
      gtol: tolerance on the per-sample mean gradient of every fit (as in :func:`fit_newton`).
      max_steps: the step budget of every fit (default 50 for Newton, 500 for L-BFGS).
      max_memory: bytes the fits of one compiled chunk may use (default 1 GiB); more fits
        than fit run in turn.
      devices: the devices the fits' axis is sharded over (default this process's,
        ``jax.local_devices()``; ``X`` is replicated). When ``X`` is already sharded on its rows
        (:func:`jaxdl.sharding.shard_rows`), its sharding is kept instead.
      offset: a known term ``(n,)`` added to every row's logit, as in :func:`fit_newton`: in
        every fold's fit, its held-out scores and the refit.

    Returns:
      :class:`CVResult` (``l2``, ``scores``, ``mean``, ``se``, ``best_index``, ``best_l2``,
      ``l2_1se``, ``status``, ``steps``, ``fold_params``, ``fit``).

    Example:
      >>> from jaxdl import data, logistic
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> cv = logistic.cross_validate(Xs, ds.y, l2=[0.1, 1.0, 10.0, 100.0], folds=5)
      >>> cv.scores.shape, float(cv.best_l2), cv.fit.status_name
      ((5, 4), 1.0, 'converged')

    See the [Q1 derivation][q1-derivation].
    """
    return _linear_model.cross_validate(Model, X, y, l2=l2, folds=folds, seed=seed,
                                        scoring=scoring, sample_weight=sample_weight,
                                        solver=solver, gtol=gtol, max_steps=max_steps,
                                        max_memory=max_memory, devices=devices, offset=offset)
