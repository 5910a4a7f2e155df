"""K-class (multinomial) logistic regression over the Q3(b) and Q7 closed forms.

Logits ``z_n = W x_n + b (+ o_n)`` for ``K`` classes (``W (K, d)``, ``b (K,)``), with an
optional offset ``o_n``: a known term per row *and class*, ``offset (n, K)`` (every function
takes ``offset=``; a term shared by all classes of a row would cancel in the softmax, so a
per-row ``(n,)`` offset is refused), and the penalised, weighted objective::

    F(W, b) = sum_n sw_n CE(z_n, y_n) + l2/2 ||W||_F^2         (all K rows of W; b unpenalised)

with the gradient and Hessian of the Q7 result: per sample ``dCE/dz = p - y`` and
``d2CE/dz2 = diag(p) - p p^T``, so over ``theta = [W_1, b_1, ..., W_K, b_K]`` (class-major,
intercept last in each row, ``a_n = [x_n; 1]``)::

    dF/d[W_k, b_k] = sum_n sw_n (p_nk - y_nk) a_n + l2 [W_k; 0]
    d2F/dtheta2    = sum_n sw_n (diag(p_n) - p_n p_n^T) (x) a_n a_n^T + l2 diag([1_d; 0] per class)

**Which solution a fit reports.** Softmax is unchanged when one vector is added to every
class's logits (``H 1 = 0`` in Q7), so adding ``(v, c)`` to every row of ``[W, b]`` leaves the
cross-entropy unchanged:

- ``l2 > 0`` (the symmetric problem, as scikit-learn's multinomial ``LogisticRegression`` and
  glmnet): the penalty on all K rows of ``W`` picks the unique ``W``; the stationarity condition
  summed over classes gives ``l2 sum_k W_k = 0``, so the rows of ``W`` sum to zero. The
  intercepts are unpenalised and stay determined only up to their common shift ``b + c 1``:
  the solvers hold ``b_K`` at 0 (identity row and column in the Newton system) and the result
  reports the centred intercepts ``b - mean(b)``. Renaming the classes permutes the rows of
  ``(W, b)`` and the predicted probabilities and changes nothing else.
- ``l2 = 0`` (the reference-class convention of statsmodels' ``MNLogit``): the unpenalised
  problem has the whole family of minimisers above; the fits hold the last class's row of
  ``[W, b]`` at 0 and fit the other ``K - 1`` rows.

``l2`` is traced (a new penalty is no recompile, and a batch of fits may mix zero and positive
penalties): the two conventions are one program whose mask of free entries depends on ``l2``.

See the [Q7 derivation][q7-derivation] (softmax cross-entropy is convex with ``H 1 = 0``).
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
    _inference,
    _linalg,
    _linear_model,
    _newton_step,
    _solver,
    checks,
    logistic,
    results,
)
from jaxdl._cross_validation import CVResult
from jaxdl._inference import Bootstrap, Inference
from jaxdl.results import FitResult
from jaxdl.softmax import ce_grad, ce_hessian, cross_entropy, softmax

__all__ = [
    "loss",
    "grad",
    "hessian",
    "fit_gd",
    "fit_newton",
    "fit_lbfgs",
    "fit_newton_many",
    "predict_proba",
    "predict",
    "accuracy",
    "gd_step_bound",
    "fit_classifier",
    "cross_validate_classifier",
    "classifier_step_bound",
    "predict_classifier",
    "inference",
    "summary",
    "bootstrap",
    "cross_validate",
    "Model",
    "Inference",
    "Bootstrap",
    "CVResult",
]


# ----------------------------------------------------------------------------------------------
# The maths over the full parameter vector theta = [W_1, b_1, ..., W_K, b_K].


def _rows(theta: jax.Array, d: int) -> jax.Array:
    return theta.reshape(theta.shape[:-1] + (-1, d + 1))


def _logits_of(theta: jax.Array, X: jax.Array) -> jax.Array:
    """Logits ``(n, K)`` from the flat parameters ``theta`` (``K (d + 1)``,)."""
    rows = _rows(theta, X.shape[1])
    return _linalg.matmul(X, rows[:, :-1].T) + rows[:, -1][None, :]


def _design(X: jax.Array) -> jax.Array:
    """``A = [X, 1]`` (``a_n = [x_n; 1]``)."""
    return jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)


def _ridge(d: int, k: int, dtype: Any) -> jax.Array:
    """1 on the entries of ``W``, 0 on the intercepts, for the flat ``theta``."""
    return jnp.tile(jnp.concatenate([jnp.ones((d,), dtype), jnp.zeros((1,), dtype)]), k)


def _kron_gram(C: jax.Array, A: jax.Array) -> jax.Array:
    """``sum_n C_n (x) a_n a_n^T`` for ``C (n, K, K)``, ``A (n, q)``: ``(K q, K q)``, ordered
    as the flat ``theta`` (class-major)."""
    m, q = C.shape[1], A.shape[1]
    H = jnp.einsum("nkl,ni,nj->kilj", C, A, A, precision=_linalg.precision())
    return H.reshape(m * q, m * q)


def _data_hessian(Z: jax.Array, A: jax.Array, sw: jax.Array) -> jax.Array:
    """Hessian of ``sum_n sw_n CE(z_n, y_n)`` over ``theta`` (no penalty): the per-sample Q7
    Hessians ``C_n = sw_n (diag(p_n) - p_n p_n^T)`` spread over ``a_n a_n^T``. One formula for
    the fits, :func:`hessian` and :func:`inference`."""
    return _kron_gram(sw[:, None, None] * ce_hessian(Z), A)


def _data_grad(Z: jax.Array, Y: jax.Array, A: jax.Array, sw: jax.Array) -> jax.Array:
    """Gradient of ``sum_n sw_n CE(z_n, y_n)`` over ``theta``:
    ``sum_n sw_n (p_n - y_n) (x) a_n``."""
    return _linalg.matmul((sw[:, None] * ce_grad(Z, Y)).T, A).reshape(-1)


def _free(d: int, k: int, l2: jax.Array, intercept: bool, dtype: Any) -> jax.Array:
    """1 on the entries of ``theta`` a fit moves, 0 on those it holds at 0.

    ``b_K`` is always held: the intercepts' common shift is unpenalised, and holding one of
    them fixes it (the reported intercepts are centred afterwards when ``l2 > 0``). With
    ``l2 == 0`` the whole last row ``[W_K, b_K]`` is held (the reference class). Without an
    intercept every ``b_k`` is held."""
    rows = jnp.ones((k, d + 1), dtype)
    rows = rows.at[-1, :d].set(jnp.where(l2 > 0, 1, 0).astype(dtype))
    rows = rows.at[-1, d].set(0)
    if not intercept:
        rows = rows.at[:, d].set(0)
    return rows.reshape(-1)


def _gauge(theta: jax.Array, d: int, l2: jax.Array, intercept: bool) -> jax.Array:
    """``theta`` moved, with the same softmax everywhere, to the entries :func:`_free` holds:
    the last row subtracted from every row (``l2 == 0``) or from the intercepts only
    (``l2 > 0``: ``W`` is identified by the penalty and must not move). Without an intercept
    the intercepts are set to 0."""
    rows = _rows(theta, d)
    last = rows[..., -1:, :]
    shift = jnp.where(l2 > 0, last.at[..., :d].set(0), last)
    rows = rows - shift
    if not intercept:
        rows = rows.at[..., d].set(0)
    return rows.reshape(theta.shape)


def _report(theta: jax.Array, d: int, l2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(W, b)`` as the user gets them: the intercepts centred when ``l2 > 0``."""
    rows = _rows(theta, d)
    W, b = rows[..., :-1], rows[..., -1]
    centred = b - jnp.mean(b, axis=-1, keepdims=True)
    return W, jnp.where(l2 > 0, centred, b)


def _oracle(X, y, l2, sw, k, intercept):
    """The penalised objective as seen by the shared loops: theta full, aux = logits (n, K)."""
    n, d = X.shape
    Y = jax.nn.one_hot(y, k, dtype=X.dtype)
    A = _design(X)
    ridge = _ridge(d, k, X.dtype)
    free = _free(d, k, l2, intercept, X.dtype)

    def along(delta):
        return _logits_of(delta, X)

    def value(theta, Z):
        return jnp.sum(sw * cross_entropy(Z, Y)) + 0.5 * l2 * jnp.sum(ridge * theta**2)

    def grad(theta, Z):
        return free * (_data_grad(Z, Y, A, sw) + l2 * ridge * theta)

    def direction(theta, g, Z, solve_error):
        # The held entries get identity rows and columns (and a zero gradient), so the step
        # never moves them; the rest is the exact Hessian, positive definite when l2 > 0.
        H = _data_hessian(Z, A, sw) + jnp.diag(l2 * ridge)
        H = free[:, None] * H * free[None, :] + jnp.diag(1 - free)
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
class Model:
    """The K-class model as the shared fits see it: ``theta = [W_1, b_1, ..., W_K, b_K]``,
    the penalised objective with the entries the convention holds (see the module docstring),
    the labels, the link and the inference program.

    Args:
      k: the number of classes.
      intercept: fit the intercepts (else every one is held at 0).
    """

    k: int
    intercept: bool = True  # False: the intercepts are held at 0 (fit_intercept=False)

    name = "multinomial"
    summary_name = "MNLogit"
    param_names = ("W", "b")
    curvature = 0.5  # the eigenvalues of diag(p) - p p^T are <= 1/2 (see gd_step_bound)
    mixed_precision = False

    @classmethod
    def bind(cls, y, n, num_classes, intercept):
        return cls(_num_classes(y, n, num_classes), intercept)

    @classmethod
    def of_params(cls, W, b, d):
        W = checks.float_array("W", W, shape=(None, d))
        if W.shape[0] < 2:
            raise ValueError(f"W: expected at least 2 class rows (shape (K, {d}), K >= 2), got "
                             f"shape {tuple(W.shape)}")
        b = checks.float_array("b", b, shape=(W.shape[0],))
        return cls(W.shape[0]), W, b

    def labels(self, y, n, dtype):
        return checks.class_labels("y", y, n, self.k)

    def shapes(self, d):
        return (self.k, d), (self.k,)

    def logits(self, W, b, X):
        return _linalg.matmul(X, W.T) + b[None, :]

    def proba(self, z):
        return softmax(z)

    def classify(self, z):
        return jnp.argmax(z, axis=1).astype(jnp.int32)

    def convention(self, l2):
        """Symmetric (l2 > 0) or reference-class (l2 = 0): it decides the shape of what
        inference reports, so the penalty must be concrete."""
        if not checks.is_concrete(l2):
            raise ValueError("l2: expected a concrete penalty (l2 > 0 reports all K classes, "
                             "l2 = 0 the K - 1 against the last), got a traced value")
        return bool(np.asarray(l2) > 0)

    def wald(self, theta, X, y, sw, l2, level, fit_status, grad_norm, *, cov_type, groups,
             num_groups, offset, row_shards, convention):
        d = X.shape[1]
        return _wald(_gauge(theta, d, l2, True), X, y, sw, l2, level, fit_status, grad_norm,
                     groups, offset, k=self.k, cov_type=cov_type, num_groups=num_groups,
                     symmetric=convention)

    def rows(self, params, convention):
        W, b = params
        rows = jnp.concatenate([W, b[..., None]], axis=2)
        return rows if convention else rows[:, :-1]

    @staticmethod
    def blocks(inf, class_names, dep_variable):
        rows = np.shape(inf.params)[0] if np.ndim(inf.params) == 2 else 0
        symmetric = bool(np.asarray(getattr(inf, "penalized", False)))
        k = rows if symmetric else rows + 1
        names = ([str(c) for c in range(k)] if class_names is None
                 else [str(c) for c in class_names])
        if len(names) != k:
            raise ValueError(f"class_names: expected {k} names (one per class), got "
                             f"{len(names)}")
        return 2, ([f"{dep_variable}={c}" for c in names] if symmetric
                   else [f"{dep_variable}={c} vs {names[-1]}" for c in names[:-1]])

    def oracle(self, X, y, l2, sw, *, mixed, outer, row_shards):
        return _oracle(X, y, l2, sw, self.k, self.intercept)

    def start(self, theta0, d, l2):
        return _gauge(theta0, d, l2, self.intercept)

    def split(self, theta, d):
        rows = _rows(theta, d)
        return rows[..., :-1], rows[..., -1]

    def join(self, params):
        W, b = params
        rows = jnp.concatenate([W, b[..., None]], axis=-1)
        return rows.reshape(rows.shape[:-2] + (-1,))

    def finish(self, theta, d, l2):
        return _report(theta, d, l2)

    def cold_logits(self, X, theta0):
        return _logits_of(theta0, X)  # theta0 = 0 here: a cheap product, no shortcut

    def invalid(self, y, l2, sw):
        """Class ids outside 0..K-1, a negative penalty or weight, all weights zero."""
        return (jnp.any((y < 0) | (y >= self.k)) | (l2 < 0) | jnp.any(sw < 0)
                | jnp.all(sw == 0))

    def outer(self, X):
        return None

    def nll(self, z, y):
        return cross_entropy(z, jax.nn.one_hot(y, self.k, dtype=z.dtype))

    def ridge(self, d, dtype):
        return _ridge(d, self.k, dtype)


# ----------------------------------------------------------------------------------------------
# Inputs.


def _num_classes(y: Any, n: int, num_classes: int | None) -> int:
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
    return checks.positive_int("num_classes", num_classes, minimum=2)


def _params(W: Any, b: Any, X: Any, offset: Any = None):
    """``(W, b, X, offset)`` for the closed forms, checked and in one dtype (the offset None
    or ``(n, K)``)."""
    model, W, b, X = _linear_model.params(Model, W, b, X)
    return W, b, X, _linear_model.offsets(model, offset, X)


def _shift(Z: jax.Array, offset: jax.Array | None) -> jax.Array:
    return Z if offset is None else Z + offset


# ----------------------------------------------------------------------------------------------
# The closed forms, public.


def loss(W: Any, b: Any, X: Any, y: Any, *, l2: Any = 0.0, offset: Any = None) -> jax.Array:
    """The objective ``sum_n CE(W x_n + b + o_n, y_n) + l2/2 ||W||_F^2`` (all K rows
    penalised).

    Args:
      W: weights ``(K, d)``.
      b: intercepts ``(K,)``.
      X: features ``(n, d)``.
      y: class ids ``0..K-1``, ``(n,)``.
      l2: ridge penalty on ``W``, ``>= 0``.
      offset: a known term per row and class added to the logits, ``(n, K)`` (default
        none), finite, in the dtype of ``X``.

    Returns:
      The scalar objective.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import multinomial
      >>> X = jnp.array([[1.0, 0.0], [0.0, 1.0]]); y = jnp.array([0, 2])
      >>> float(multinomial.loss(jnp.zeros((3, 2)), jnp.zeros(3), X, y))  # 2 ln 3
      2.197...

    See the [Q7 derivation][q7-derivation].
    """
    W, b, X, offset = _params(W, b, X, offset)
    y = checks.class_labels("y", y, X.shape[0], W.shape[0])
    l2 = _linear_model.penalty(l2)
    Y = jax.nn.one_hot(y, W.shape[0], dtype=X.dtype)
    Z = _shift(_linalg.matmul(X, W.T) + b[None, :], offset)
    return jnp.sum(cross_entropy(Z, Y)) + 0.5 * l2 * jnp.sum(W**2)


def grad(W: Any, b: Any, X: Any, y: Any, *, l2: Any = 0.0,
         offset: Any = None) -> tuple[jax.Array, jax.Array]:
    """Closed-form gradient of :func:`loss`: ``dF/dW = (P - Y)^T X + l2 W``, ``dF/db =
    (P - Y)^T 1`` (``P`` the softmax of the logits with the offset, ``Y`` one-hot; Q3b per
    sample).

    Args:
      W, b, X, y, l2, offset: as in :func:`loss`.

    Returns:
      ``(gW, gb)`` of shapes ``(K, d)`` and ``(K,)``.

    See the [Q7 derivation][q7-derivation].
    """
    W, b, X, offset = _params(W, b, X, offset)
    k, d = W.shape
    y = checks.class_labels("y", y, X.shape[0], k)
    l2 = _linear_model.penalty(l2)
    Y = jax.nn.one_hot(y, k, dtype=X.dtype)
    theta = Model(k).join((W, b))
    g = _data_grad(_shift(_logits_of(theta, X), offset), Y, _design(X),
                   jnp.ones((X.shape[0],), X.dtype))
    gW, gb = Model(k).split(g + l2 * _ridge(d, k, X.dtype) * theta, d)
    return gW, gb


def hessian(W: Any, b: Any, X: Any, *, l2: Any = 0.0, offset: Any = None) -> jax.Array:
    """Closed-form Hessian of :func:`loss` over ``theta = [W_1, b_1, ..., W_K, b_K]``.

    ``H = sum_n (diag(p_n) - p_n p_n^T) (x) [x_n; 1][x_n; 1]^T + l2 diag([1_d; 0] per class)``,
    shape ``(K (d + 1), K (d + 1))``: the Q7 Hessian in the logits spread over the design. PSD;
    ``H v = 0`` for the common intercept shift ``v = (0_d, 1)`` in every class, which no
    penalty touches (and, when ``l2 = 0``, for every common shift of the rows of ``W`` too).

    Args:
      W, b, X, l2, offset: as in :func:`loss` (``p_n`` the softmax at the logits with the
        offset).

    Returns:
      The Hessian.

    See the [Q7 derivation][q7-derivation].
    """
    W, b, X, offset = _params(W, b, X, offset)
    k, d = W.shape
    l2 = _linear_model.penalty(l2)
    theta = Model(k).join((W, b))
    H = _data_hessian(_shift(_logits_of(theta, X), offset), _design(X),
                      jnp.ones((X.shape[0],), X.dtype))
    return H + jnp.diag(l2 * _ridge(d, k, X.dtype))


# ----------------------------------------------------------------------------------------------
# Fits.


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
    offset: Any = None,
    fit_intercept: bool = True,
) -> FitResult:
    """Fit K-class logistic regression by damped Newton with the exact (Q7) Hessian.

    Minimises ``sum_n sw_n CE(W x_n + b, y_n) + l2/2 ||W||_F^2``. With ``l2 > 0`` all K rows
    of ``W`` are penalised (the symmetric problem of scikit-learn's multinomial
    ``LogisticRegression(C=1/l2)``): the solution is unique, its rows of ``W`` sum to zero and
    the intercepts are reported centred. With ``l2 = 0`` the last class is the reference
    (``W[-1] = 0``, ``b[-1] = 0``, statsmodels' ``MNLogit``). See the module docstring.
    Statuses as in :func:`jaxdl.logistic.fit_newton` (SEPARABLE: with ``l2 == 0`` every
    sample's true class already has the strictly largest logit, so no finite minimiser exists).

    Args:
      X: features ``(n, d)``.
      y: integer class ids in ``0..K-1``, ``(n,)``.
      num_classes: K (static); inferred from ``y`` when eager.
      l2: ridge penalty on ``W``, ``>= 0`` (traced).
      max_steps: Newton step budget (static).
      gtol: tolerance on the per-sample mean gradient (default 1e-12 float64, 1e-5 float32).
      w0, b0: starting point ``(K, d)``, ``(K,)`` (default zeros); any representative of a
        softmax is accepted (it is moved to the fit's convention first).
      sample_weight: non-negative per-row weights ``(n,)`` (default ones).
      fit_intercept: fit ``b`` (default); ``False`` holds every intercept at 0
        (scikit-learn's ``fit_intercept=False``).
      offset: a known term per row and class added to the logits, ``(n, K)`` (default
        none): the fit minimises the objective at ``z_n = W x_n + b + o_n`` (e.g. a baseline
        model's logits to fit a correction to). Finite, in the dtype of ``X``; traced. A
        term common to all classes of a row cancels in the softmax, which is why an ``(n,)``
        offset is refused; with ``l2 = 0`` adding one to a row of the offset changes nothing.

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (W, b)``, shapes ``(K, d)``, ``(K,)``.

    Example:
      >>> from jaxdl import data, multinomial
      >>> ds = data.load_digits(); Xs, _, _ = data.standardize(ds.X)
      >>> res = multinomial.fit_newton(Xs, ds.y, l2=1.0)
      >>> res.status_name, res.params[0].shape
      ('converged', (10, 64))
      >>> bool(abs(res.params[0].sum(axis=0)).max() < 1e-4)  # the rows of W sum to zero
      True

    See the [Q7 derivation][q7-derivation].
    """
    return _linear_model.fit(Model, "newton", X, y, num_classes=num_classes, l2=l2, gtol=gtol,
                             max_steps=max_steps, w0=w0, b0=b0, sample_weight=sample_weight,
                             fit_intercept=fit_intercept,
                             offset=offset)


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
    offset: Any = None,
    fit_intercept: bool = True,
) -> FitResult:
    """Fit K-class logistic regression by L-BFGS with the closed-form gradient ``p - y``.

    Same objective, conventions, statuses and result type as :func:`fit_newton`; each step
    costs two products with ``X`` and its line search moves the logits in ``O(n K)``.

    Args:
      X, y, num_classes, l2, gtol, w0, b0, sample_weight, fit_intercept, offset: as in
        :func:`fit_newton`.
      max_steps: iteration budget (static).
      memory: number of curvature pairs kept (static).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (W, b)``.

    See the [Q3 derivation][q3-derivation].
    """
    return _linear_model.fit(Model, "lbfgs", X, y, num_classes=num_classes, l2=l2, gtol=gtol,
                             max_steps=max_steps, memory=memory, w0=w0, b0=b0,
                             sample_weight=sample_weight,
                             fit_intercept=fit_intercept,
                             offset=offset)


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
    offset: Any = None,
    fit_intercept: bool = True,
) -> FitResult:
    """Fit K-class logistic regression by gradient descent in one compiled ``lax.while_loop``.

    Same objective, conventions and result type as :func:`fit_newton`. The update is plain GD
    with rate ``lr`` for ``(W, b)``, or separate rates ``lr_w`` and ``lr_b`` (the seed's
    update, as in :func:`jaxdl.logistic.fit_gd`), or any optax ``optimizer`` over ``(W, b)``
    (the entries the convention holds get a zero gradient). Rates are traced: a new rate is no
    recompile. Statuses CONVERGED, SEPARABLE, MAX_STEPS, NONFINITE (lower the rate),
    INVALID_INPUT.

    Args:
      X, y, num_classes, l2, gtol, w0, b0, sample_weight, fit_intercept, offset: as in
        :func:`fit_newton`.
      lr, lr_w, lr_b, optimizer: the update (exactly one way); see
        :func:`jaxdl.logistic.fit_gd`.
      max_steps: step budget (static).

    Returns:
      :class:`jaxdl.results.FitResult` with ``params = (W, b)``.

    See the [Q3 derivation][q3-derivation].
    """
    return _linear_model.fit(Model, "gd", X, y, num_classes=num_classes, l2=l2, gtol=gtol,
                             max_steps=max_steps, w0=w0, b0=b0, sample_weight=sample_weight,
                             fit_intercept=fit_intercept,
                             lr=lr, lr_w=lr_w, lr_b=lr_b, optimizer=optimizer,
                             offset=offset)


def fit_newton_many(
    X: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    sample_weight: Any = None,
    offset: Any = None,
    l2: Any = 0.0,
    max_steps: int = 50,
    gtol: float | None = None,
    w0: Any = None,
    b0: Any = None,
) -> FitResult:
    """Many K-class Newton fits on one data set: bootstraps, penalty paths, CV folds.

    As :func:`jaxdl.logistic.fit_newton_many`: ``sample_weight (b, n)`` and ``l2 (b,)`` (either
    may be shared), one start ``(K, d)``, ``(K,)`` or one per fit ``(b, K, d)``, ``(b, K)``,
    and one ``offset (n, K)`` for all fits (:func:`fit_newton`). Each fit follows the
    convention of its own penalty.

    Returns:
      A batched :class:`jaxdl.results.FitResult` (leading axis ``b``), one status per fit.

    See the [Q7 derivation][q7-derivation].
    """
    return _linear_model.fit_many(Model, X, y, num_classes=num_classes,
                                  sample_weight=sample_weight, l2=l2, max_steps=max_steps,
                                  gtol=gtol, w0=w0, b0=b0,
                                  offset=offset)


def gd_step_bound(X: Any, *, l2: float = 0.0, sample_weight: Any = None) -> float:
    """A learning rate ``1 / L`` that makes :func:`fit_gd` monotone.

    The cross-entropy Hessian in z, ``diag(p) - p p^T``, has eigenvalues ``<= 1/2``: row i of
    it has diagonal ``p_i (1 - p_i)`` and off-diagonal absolute sum ``p_i (1 - p_i)``, so by
    Gershgorin every eigenvalue is ``<= 2 p_i (1 - p_i) <= 1/2``. Hence
    ``L = ||[X, 1]||_2^2 / 2 + l2`` bounds the Hessian of the fitted objective (with
    ``sample_weight``, the rows of ``[X, 1]`` scaled by ``sqrt(sw)``).
    """
    return _linear_model.gd_step_bound(Model, X, l2, sample_weight)


# ----------------------------------------------------------------------------------------------
# Two classes or K: the one place jaxdl chooses its model.


def fit_classifier(X: Any, y: Any, *, num_classes: int, solver: str = "newton",
                   **options: Any) -> FitResult:
    """Fit a classifier of ``num_classes`` classes with the model jaxdl uses for that many.

    Two classes: :mod:`jaxdl.logistic` (``params = (w (d,), b ())``, the positive class 1);
    more: this module's K-class model (``params = (W (K, d), b (K,))``). ``jaxdl fit`` and
    :class:`jaxdl.estimators.LogisticRegression` choose through this function.

    Args:
      X: features ``(n, d)``.
      y: class ids ``0..num_classes-1``, ``(n,)``.
      num_classes: K, at least 2.
      solver: ``"newton"``, ``"lbfgs"`` or ``"gd"``.
      **options: the chosen fit's keywords (``l2``, ``gtol``, ``max_steps``,
        ``sample_weight``, ``fit_intercept``, ``offset`` of shape ``(n,)`` for two classes
        and ``(n, K)`` for more, ...). For ``"gd"`` without a rate, the safe
        rate ``1 / L`` of :func:`gd_step_bound` (with the weights) is used.

    Returns:
      :class:`jaxdl.results.FitResult`.

    Example:
      >>> from jaxdl import data, multinomial
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> res = multinomial.fit_classifier(Xs, ds.y, num_classes=2, l2=1.0)
      >>> res.params[0].shape, res.status_name
      ((30,), 'converged')
    """
    k = checks.positive_int("num_classes", num_classes, minimum=2)
    if solver not in _linear_model.SOLVERS:
        raise ValueError(f"solver: expected one of {_linear_model.SOLVERS}, got {solver!r}")
    if solver == "gd" and not {"lr", "lr_w", "lr_b", "optimizer"} & options.keys():
        options = {**options, "lr": classifier_step_bound(
            X, num_classes=k, l2=options.get("l2", 0.0),
            sample_weight=options.get("sample_weight"))}
    if k == 2:
        return getattr(logistic, f"fit_{solver}")(X, y, **options)
    return {"gd": fit_gd, "newton": fit_newton, "lbfgs": fit_lbfgs}[solver](
        X, y, num_classes=k, **options)


def cross_validate_classifier(X: Any, y: Any, *, num_classes: int, **options: Any) -> CVResult:
    """Cross-validate the penalty of the model :func:`fit_classifier` fits for
    ``num_classes`` classes.

    Two classes: :func:`jaxdl.logistic.cross_validate` (the refit's ``params = (w (d,), b
    ())``); more: this module's :func:`cross_validate` (``params = (W (K, d), b (K,))``).
    ``jaxdl cv`` chooses through this function.

    Args:
      X: features ``(n, d)``.
      y: class ids ``0..num_classes-1``, ``(n,)``.
      num_classes: K, at least 2.
      **options: the keywords of :func:`jaxdl.logistic.cross_validate` (``l2`` the grid,
        ``folds``, ``seed``, ``scoring``, ``solver``, ``gtol``, ``max_steps``,
        ``sample_weight``, ``max_memory``).

    Returns:
      :class:`CVResult`.

    Example:
      >>> from jaxdl import data, multinomial
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> cv = multinomial.cross_validate_classifier(Xs, ds.y, num_classes=2,
      ...                                            l2=[0.1, 1.0, 10.0], folds=3)
      >>> cv.fit.params[0].shape, cv.fit.status_name
      ((30,), 'converged')
    """
    k = checks.positive_int("num_classes", num_classes, minimum=2)
    if k == 2:
        return logistic.cross_validate(X, y, **options)
    return cross_validate(X, y, num_classes=k, **options)


def classifier_step_bound(X: Any, *, num_classes: int, l2: float = 0.0,
                          sample_weight: Any = None) -> float:
    """The safe gradient-descent rate ``1 / L`` of the model :func:`fit_classifier` fits for
    ``num_classes`` classes (:func:`jaxdl.logistic.gd_step_bound` or :func:`gd_step_bound`)."""
    k = checks.positive_int("num_classes", num_classes, minimum=2)
    bound = logistic.gd_step_bound if k == 2 else gd_step_bound
    return bound(X, l2=l2, sample_weight=sample_weight)


def predict_classifier(params: tuple[Any, Any], X: Any, *, offset: Any = None) -> jax.Array:
    """Class ids ``(n,)`` from the parameters of :func:`fit_classifier`: a weight vector is the
    binary model's (:func:`jaxdl.logistic.predict`), a weight matrix the K-class model's.
    ``offset``: the fit's offset (``(n,)`` for two classes, ``(n, K)`` for more)."""
    w, b = params
    return (logistic.predict(w, b, X, offset=offset) if np.ndim(w) == 1
            else predict(w, b, X, offset=offset))


# ----------------------------------------------------------------------------------------------
# Predictions.


def predict_proba(W: Any, b: Any, X: Any, *, offset: Any = None) -> jax.Array:
    """Class probabilities ``softmax(W x + b + o)``, shape ``(n, K)`` (``offset (n, K)`` as in
    :func:`loss`).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import multinomial
      >>> X = jnp.array([[1.0], [2.0]]); W = jnp.zeros((3, 1)); b = jnp.zeros(3)
      >>> offset = jnp.array([[0.0, 0.0, 0.0], [0.0, jnp.log(2.0), 0.0]])
      >>> P = multinomial.predict_proba(W, b, X, offset=offset)
      >>> [[round(float(v), 4) for v in row] for row in P]  # row 2: class 1 twice as likely
      [[0.3333, 0.3333, 0.3333], [0.25, 0.5, 0.25]]
    """
    return _linear_model.predict_proba(Model, W, b, X, offset)


def predict(W: Any, b: Any, X: Any, *, offset: Any = None) -> jax.Array:
    """Predicted class ids ``argmax_k (W x + b + o)_k``, shape ``(n,)``."""
    return _linear_model.predict(Model, W, b, X, offset)


def accuracy(W: Any, b: Any, X: Any, y: Any, *, offset: Any = None) -> jax.Array:
    """Fraction of samples whose predicted class equals ``y`` (class ids ``0..K-1``)."""
    return _linear_model.accuracy(Model, W, b, X, y, offset)


# ----------------------------------------------------------------------------------------------
# Inference (jaxdl._inference does the rest).


def _coordinates(k: int, d: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The free entries of ``theta`` (static indices) and, for the symmetric convention, the
    map ``T`` from them to the reported rows: every column of ``[W, b]`` centred across the
    classes (``b_K`` is held at 0 in the free entries)."""
    p = k * (d + 1)
    held = [p - 1] if symmetric else list(range((k - 1) * (d + 1), p))
    free = np.array([i for i in range(p) if i not in held])
    if not symmetric:
        return free, None
    embed = np.eye(p)[:, free]
    centre = np.kron(np.eye(k) - np.full((k, k), 1.0 / k), np.eye(d + 1))
    return free, centre @ embed


def _null_log_likelihood(Y, sw, offset):
    """The log-likelihood of the intercepts-only model: in closed form without an offset;
    with one (which the null model keeps), maximised over the intercepts (the last held at
    0) by damped Newton from the closed form's. Without a finite optimum (a class no row of
    positive weight has) the closed form's supremum."""
    counts = jnp.sum(sw[:, None] * Y, axis=0)
    nobs = jnp.sum(sw)
    closed = jnp.sum(jax.scipy.special.xlogy(counts, counts / nobs))
    if offset is None:
        return closed
    k = Y.shape[1]
    dtype = offset.dtype
    free = jnp.ones((k,), dtype).at[-1].set(0)
    logc = jnp.log(jnp.maximum(counts, jnp.finfo(dtype).eps * nobs))
    c0 = logc - logc[-1]

    def along(delta):
        return jnp.broadcast_to(delta[None, :], offset.shape)

    def direction(c, g, Z, solve_error):
        H = jnp.sum(sw[:, None, None] * ce_hessian(Z), axis=0)
        H = free[:, None] * H * free[None, :] + jnp.diag(1 - free)
        delta, ok = _newton_step.cholesky_direction(H, g)
        return delta, ok, None, solve_error

    def separated(c, Z):
        true = jnp.sum(Y * Z, axis=1)
        others = jnp.max(jnp.where(Y > 0, -jnp.inf, Z), axis=1)
        return jnp.all((true > others) | (sw == 0))

    oracle = _solver.NewtonOracle(
        predictor=lambda c: along(c) + offset,
        value=lambda c, Z: jnp.sum(sw * cross_entropy(Z, Y)),
        grad=lambda c, Z: free * jnp.sum(sw[:, None] * ce_grad(Z, Y), axis=0),
        direction=direction, along=along, separated=separated)
    res = _solver.damped_newton(oracle, c0.astype(dtype), max_steps=50,
                                gtol=_solver.default_gtol(None, dtype) * nobs)
    return jnp.where(results.succeeded(res.status), -res.loss, closed)


@functools.partial(jax.jit, static_argnames=("k", "cov_type", "num_groups", "symmetric"))
def _wald(theta, X, y, sw, l2, level, fit_status, grad_norm, groups, offset, *, k, cov_type,
          num_groups, symmetric):
    dtype = X.dtype
    n, d = X.shape
    Y = jax.nn.one_hot(y, k, dtype=dtype)
    A = _design(X)
    ridge = _ridge(d, k, dtype)
    free, T = _coordinates(k, d, symmetric)
    Z = _shift(_logits_of(theta, X), offset)
    H = (_data_hessian(Z, A, sw) + jnp.diag(l2 * ridge))[free][:, free]
    R = softmax(Z) - Y  # per-sample score in z
    meat = clusters = None
    if cov_type == "HC0":
        # sum_n sw_n r_n r_n^T (x) a_n a_n^T (a weight-2 row counts as two rows).
        meat = _kron_gram(sw[:, None, None] * R[:, :, None] * R[:, None, :], A)[free][:, free]
    elif cov_type == "cluster":  # the scores r_n (x) a_n over the free entries, per group
        scores = (R[:, :, None] * A[:, None, :]).reshape(n, -1)[:, free]
        meat, clusters = _inference.cluster_meat(scores, sw, groups, num_groups)
    grad = (_data_grad(Z, Y, A, sw) + l2 * ridge * theta)[free]
    nobs = jnp.sum(sw)
    ll_null = _null_log_likelihood(Y, sw, offset)
    return _inference.compute(
        theta[free], H, meat, grad,
        grad_tol=_inference.stationary_tol(grad_norm, X, nobs),
        log_likelihood=-jnp.sum(sw * cross_entropy(Z, Y)), ll_null=ll_null, nobs=nobs,
        df_model=(k - 1) * d, l2=l2, level=level, fit_status=fit_status,
        transform=None if T is None else jnp.asarray(T, dtype),
        shape=(k, d + 1) if symmetric else (k - 1, d + 1), cov_type=cov_type,
        clusters=clusters)


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
    """Standard errors, Wald tests and confidence intervals for a K-class fit.

    The covariance is ``H^{-1}`` with the Hessian of the fitted objective (:func:`hessian`
    with the weights) over the entries the fit moves (``cov_type="nonrobust"``), or a sandwich
    ``H^{-1} M H^{-1}`` with the per-row scores ``g_n = r_n (x) a_n``, ``r_n = p_n - y_n``,
    over those entries: ``M = sum_n sw_n g_n g_n^T`` (``"HC0"``, or ``robust=True``) or the
    cluster meat with statsmodels' small-sample factor (``"cluster"``, ``K`` the number of
    entries the fit moves); see :func:`jaxdl.logistic.inference`.

    - ``l2 = 0``: the reference-class convention. ``params`` etc. are the free rows
      ``(K-1, d+1)`` of ``[W, b]`` against the last class (intercept last in each row); the
      figures equal statsmodels' ``MNLogit`` whose reference (its first category) is jaxdl's
      last class.
    - ``l2 > 0``: the covariance of the penalised symmetric estimate (``inf.penalized`` is
      True). ``params`` etc. are all K rows ``(K, d+1)`` of ``[W, b]``, each column centred
      across the classes (the rows of ``W`` already sum to zero at the optimum; the
      intercepts are reported centred). ``cov`` is ``T H^{-1} T^T`` (or the sandwich), ``H``
      the penalised Hessian over the free entries (``b_K`` held) and ``T`` the linear map from
      them to the centred rows. The estimate never leaves the subspace where every column
      sums to zero, so ``cov`` is zero along those sums: without the centring, ``H^{-1}``
      would report the penalty's ``1 / l2`` along the common shift of the rows of ``W``, a
      direction in which no data moves the estimate.

    ``l2`` decides the shape of the result, so it must be concrete (a traced ``l2`` raises).
    Statuses, flags and eager errors as in :func:`jaxdl.logistic.inference`.

    Args:
      result: a :class:`jaxdl.results.FitResult` of one fit (``params = (W (K, d), b (K,))``;
        any representative of the softmax is moved to the convention of ``l2`` first).
      X, y: the data the fit used (``y`` class ids ``0..K-1``, ``K = W.shape[0]``).
      l2, sample_weight, robust, cov_type, groups, num_groups, level: as in
        :func:`jaxdl.logistic.inference`.
      offset: the fit's offset ``(n, K)`` (:func:`fit_newton`); the null model of
        ``ll_null`` keeps it (its intercepts refitted).

    Returns:
      :class:`jaxdl._inference.Inference` with ``params`` etc. of shape ``(K-1, d+1)``
      (``l2 = 0``) or ``(K, d+1)`` (``l2 > 0``), and ``cov`` over them flattened row-major.

    Example:
      >>> from jaxdl import data, multinomial
      >>> ds = data.load_digits(); keep = ds.y < 3
      >>> X = ds.X[keep][:, [20, 28, 36]] / 16; y = ds.y[keep]
      >>> inf = multinomial.inference(multinomial.fit_newton(X, y), X, y)
      >>> inf.std_err.shape, inf.status_name
      ((2, 4), 'converged')
      >>> pen = multinomial.inference(multinomial.fit_newton(X, y, l2=1.0), X, y, l2=1.0)
      >>> pen.std_err.shape, bool(pen.penalized)
      ((3, 4), True)
      >>> import numpy as np
      >>> writer = np.arange(X.shape[0]) % 12  # e.g. who wrote each digit
      >>> clu = multinomial.inference(multinomial.fit_newton(X, y), X, y, cov_type="cluster",
      ...                             groups=writer)
      >>> clu.cov_type, clu.std_err.shape
      ('cluster', (2, 4))

    See the [Q7 derivation][q7-derivation].
    """
    return _linear_model.inference(Model, result, X, y, l2=l2, sample_weight=sample_weight,
                                   robust=robust, cov_type=cov_type, groups=groups,
                                   num_groups=num_groups, level=level,
                                   offset=offset)


def summary(inference: Inference, *, feature_names: Any = None, class_names: Any = None,
            dep_variable: str = "y") -> str:
    """A statsmodels-style text table of :func:`inference`, one block per reported class.

    As :func:`jaxdl.logistic.summary`. Unpenalised: one block per free class, its
    coefficients against the reference (the last) class. Penalised: one block per class
    (the symmetric convention, intercepts centred).

    Args:
      inference: one :class:`Inference` from :func:`inference`.
      feature_names: ``d`` column names (default ``x0 ..``); the intercept is ``const``.
      class_names: ``K`` class names (default ``0 .. K-1``).
      dep_variable: the response's name.

    Returns:
      The table as a string.

    Example:
      >>> from jaxdl import data, multinomial
      >>> ds = data.load_digits(); keep = ds.y < 3
      >>> X = ds.X[keep][:, [20, 28, 36]] / 16; y = ds.y[keep]
      >>> inf = multinomial.inference(multinomial.fit_newton(X, y), X, y)
      >>> print(multinomial.summary(inf).splitlines()[0].strip())
      MNLogit Regression Results

    See the [Q7 derivation][q7-derivation].
    """
    return _linear_model.summary(Model, inference, feature_names=feature_names,
                                 class_names=class_names, dep_variable=dep_variable)


def bootstrap(
    X: Any,
    y: Any,
    *,
    key: Any,
    num_resamples: int = 200,
    num_classes: int | None = None,
    l2: Any = 0.0,
    sample_weight: Any = None,
    offset: Any = None,
    max_steps: int = 50,
    gtol: float | None = None,
) -> Bootstrap:
    """Bootstrap standard errors of the rows :func:`inference` reports, as
    :func:`jaxdl.logistic.bootstrap` (one :func:`fit_newton_many` batch of count weights; a
    drawn row keeps its ``offset (n, K)``).

    Returns:
      :class:`jaxdl._inference.Bootstrap` with ``std_err`` of shape ``(K-1, d+1)`` (``l2 = 0``,
      against the last class) or ``(K, d+1)`` (``l2 > 0``, every class, intercepts centred).

    See the [Q7 derivation][q7-derivation].
    """
    return _linear_model.bootstrap(Model, X, y, key=key, num_resamples=num_resamples,
                                   num_classes=num_classes, l2=l2, sample_weight=sample_weight,
                                   max_steps=max_steps, gtol=gtol,
                                   offset=offset)


def cross_validate(
    X: Any,
    y: Any,
    *,
    l2: Any,
    folds: Any = 5,
    seed: int = 0,
    num_classes: int | None = None,
    scoring: str = "log_loss",
    sample_weight: Any = None,
    solver: str = "auto",
    gtol: float | None = None,
    max_steps: int | None = None,
    max_memory: int | None = None,
    devices: Any = None,
    offset: Any = None,
) -> CVResult:
    """Choose the K-class model's ridge penalty by K-fold cross-validation, and refit.

    As :func:`jaxdl.logistic.cross_validate`, for this module's model: the folds are
    stratified by class, each fold's fit runs along the grid from the largest penalty down
    (warm starts), and the refit at the best penalty is a :func:`fit_newton` (or
    :func:`fit_lbfgs`) result, ``params = (W (K, d), b (K,))``. With ``l2 > 0`` the fits are
    the symmetric ones of :func:`fit_newton`, equal to scikit-learn's multinomial
    ``LogisticRegressionCV(Cs=1 / l2)`` given the same folds.

    Args:
      X, y: the data, class ids ``0..K-1``.
      l2, folds, seed, scoring, sample_weight, gtol, max_steps, max_memory, devices: as in
        :func:`jaxdl.logistic.cross_validate`.
      solver: ``"newton"``, ``"lbfgs"`` or ``"auto"``: Newton while ``n p^2`` is small
        (``p = K (d + 1)``), and also while ``d + 1 <= 32``, ``p <= 1024`` and one fold's
        Newton step fits ``max_memory``; L-BFGS otherwise.
      num_classes: K (default: the largest label plus one).
      offset: a known term ``(n, K)`` added to the logits, as in :func:`fit_newton`.

    Returns:
      :class:`CVResult`.

    Example:
      >>> import jax
      >>> from jaxdl import data, multinomial
      >>> X, y = data.make_multiclass(jax.random.key(0), 300, 4, 3, scale=2.0)
      >>> cv = multinomial.cross_validate(X, y, l2=[0.1, 1.0, 10.0], folds=3)
      >>> cv.scores.shape, cv.fit.params[0].shape, cv.fit.status_name
      ((3, 3), (3, 4), 'converged')

    See the [Q7 derivation][q7-derivation].
    """
    return _linear_model.cross_validate(Model, X, y, l2=l2, folds=folds, seed=seed,
                                        num_classes=num_classes, scoring=scoring,
                                        sample_weight=sample_weight, solver=solver, gtol=gtol,
                                        max_steps=max_steps, max_memory=max_memory,
                                        devices=devices, offset=offset)
