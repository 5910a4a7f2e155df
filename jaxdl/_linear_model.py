"""Every verb of the linear-predictor models, written once over a model definition.

:mod:`jaxdl.logistic` (Q1) and :mod:`jaxdl.multinomial` (Q7) each define their maths as a
:class:`Model`: the objective as the solver loops see it (:class:`jaxdl._fit.LinearModel`),
how labels and parameters look, the link from logits to predictions, and the inference
program of their Hessian. Their public functions are documented calls into this module, which
does the rest once:

* **the boundary**: the arguments become one validated problem (X checked and scanned for
  non-finite values once, the labels in the model's form, the starts, weights and
  hyperparameters); nothing below this module checks its inputs again;
* the fits (gradient descent, Newton, L-BFGS, batches of Newton fits) through the compiled
  programs of :mod:`jaxdl._fit`; the step bound of gradient descent; predictions; inference,
  its summary table and the bootstrap.

Every verb takes an ``offset``: a known term of the logits' shape added to the linear
predictor (``(n,)`` for logistic regression, ``(n, K)`` for the K-class model), checked here
by :func:`offsets` and added once to the logits by the programs below.

A third model needs only its maths: a class with the methods of :class:`Model`.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxdl import _cross_validation, _fit, _inference, _linalg, _solver, checks, results
from jaxdl._inference import Bootstrap, Inference
from jaxdl.results import FitResult

__all__ = ["Model", "Problem", "problem", "fit", "fit_many", "gd_step_bound", "predict_proba",
           "predict", "accuracy", "inference", "summary", "bootstrap", "cross_validate", "penalty",
           "row_weights", "params", "offsets"]

SOLVERS = _fit.SOLVERS
PRECISIONS = ("auto", "mixed", "full")
# precision="auto" uses the mixed-precision Newton step when n * d^2 is at least this.
MIXED_MIN_WORK = 10_000_000


class Model(_fit.LinearModel, Protocol):
    """The maths of one linear-predictor model (a frozen, hashable dataclass).

    Class attributes: ``name`` (the public module, for messages), ``summary_name`` (the
    statsmodels model it mirrors), ``param_names`` (the parameters' names in messages),
    ``curvature`` (a bound on the per-sample Hessian in the
    logits: ``1/4`` for the sigmoid, ``1/2`` for softmax), ``mixed_precision`` (whether its
    Newton step has the mixed-precision form).
    """

    name: str
    summary_name: str
    param_names: tuple[str, str]
    curvature: float
    mixed_precision: bool

    @classmethod
    def bind(cls, y: Any, n: int, num_classes: int | None, intercept: bool) -> Model:
        """The model for labels ``y`` (a K-class model learns K here)."""

    @classmethod
    def of_params(cls, w: Any, b: Any, d: int) -> tuple[Model, jax.Array, jax.Array]:
        """The model whose parameters ``(w, b)`` are, and the two as float arrays (shapes
        checked, naming them by ``param_names``)."""

    def labels(self, y: Any, n: int, dtype: Any) -> jax.Array:
        """``y`` checked and in the form the objective uses."""

    def shapes(self, d: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The shapes of one start ``(w0, b0)``."""

    def proba(self, z: jax.Array) -> jax.Array:
        """Probabilities from logits."""

    def convention(self, l2: Any) -> Any:
        """A static description of how inference reports the estimate for the penalty ``l2``
        (hashable; ``None`` when there is one way)."""

    def wald(self, theta, X, y, sw, l2, level, fit_status, grad_norm, *, cov_type: str,
             groups: jax.Array | None, num_groups: int | None, offset: jax.Array | None,
             row_shards: int, convention: Any) -> Inference:
        """Inference at the fitted ``theta`` (compiled; trusts its inputs): ``cov_type`` one
        of ``"nonrobust"``, ``"HC0"``, ``"cluster"`` (then ``groups`` are int32 codes and
        ``num_groups`` the static number of segments; see
        :func:`jaxdl._inference.cluster_meat`); ``offset`` added to the logits (and kept by
        the null model of ``ll_null``), or None."""

    def rows(self, params: tuple[jax.Array, jax.Array], convention: Any) -> jax.Array:
        """A batch of fits' parameters as the rows :meth:`wald` reports, ``(b, ...)``."""

    def blocks(self, inf: Inference, class_names: Any, dep_variable: str) -> tuple[int, Any]:
        """The rank of ``inf.params`` and the names of its blocks for the summary table."""


# ----------------------------------------------------------------------------------------------
# The boundary: every argument checked once.


def penalty(l2: Any) -> Any:
    """The ridge penalty: a real ``>= 0`` (checked eagerly; a tracer passes to the status)."""
    return checks.scalar("l2", l2, low=0)


def row_weights(sw: Any, n: int, dtype: Any) -> jax.Array:
    """Per-row weights ``(n,)``: non-negative, not all zero (default ones), in ``dtype``."""
    if sw is None:
        return jnp.ones((n,), dtype)
    sw = checks.float_array("sample_weight", sw, shape=(n,))
    checks.common_dtype(X=jnp.zeros((), dtype), sample_weight=sw)
    sw = sw.astype(dtype)
    if checks.is_concrete(sw):
        host = np.asarray(sw)
        if (host < 0).any() or not host.any():
            raise ValueError("sample_weight: expected non-negative weights, not all zero, "
                             f"got min {host.min():g} and sum {host.sum():g}")
    return sw


def _batch_weights(sw: Any, l2: Any, n: int, dtype: Any) -> tuple[jax.Array, jax.Array]:
    """``(b, n)`` weights and ``(b,)`` penalties for a batch of fits, broadcast to one ``b``."""
    l2 = checks.float_array("l2", l2, ndim=(0, 1))
    if sw is None:
        sw = jnp.ones((1, n), dtype)
    else:
        sw = checks.float_array("sample_weight", sw, ndim=(1, 2))
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
    checks.common_dtype(X=jnp.zeros((), dtype), sample_weight=sw, l2=l2)
    return (jnp.broadcast_to(sw, (b, n)).astype(dtype),
            jnp.broadcast_to(l2, (b,)).astype(dtype))


def _gd_rates(lr: Any, lr_w: Any, lr_b: Any, optimizer: Any) -> tuple[Any, Any]:
    """The GD rates ``(lr_w, lr_b)``: ``lr`` for both, or the seed's two rates, or an optax
    ``optimizer`` instead (then the rates are unused zeros). Exactly one way must be given."""
    given = [nm for nm, v in (("lr", lr), ("lr_w", lr_w), ("lr_b", lr_b)) if v is not None]
    if optimizer is not None:
        if given:
            raise TypeError(f"optimizer: expected either optimizer or learning rates, got both "
                            f"(optimizer and {', '.join(given)})")
        if not isinstance(optimizer, optax.GradientTransformation):
            raise TypeError("optimizer: expected an optax GradientTransformation, got "
                            f"{type(optimizer).__name__}")
        return 0.0, 0.0
    if lr is not None:
        if lr_w is not None or lr_b is not None:
            raise TypeError("lr: expected either lr (one rate) or lr_w and lr_b (the seed's "
                            f"separate rates), got lr={lr!r}, lr_w={lr_w!r}, lr_b={lr_b!r}")
        checks.scalar("lr", lr, low=0, low_open=True)
        return lr, lr
    if lr_w is None and lr_b is None:
        raise TypeError("lr: expected a learning rate (lr, or the seed's lr_w and lr_b, or an "
                        "optax optimizer), got none")
    if lr_w is None or lr_b is None:
        raise TypeError("lr_w, lr_b: expected both learning rates (or lr, or an optax "
                        f"optimizer), got lr_w={lr_w!r}, lr_b={lr_b!r}")
    checks.scalar("lr_w", lr_w, low=0, low_open=True)
    checks.scalar("lr_b", lr_b, low=0, low_open=True)
    return lr_w, lr_b


def offsets(model: Model, offset: Any, X: jax.Array) -> jax.Array | None:
    """``offset`` checked against ``model``'s logits on ``X``: their shape (``(n,)`` or
    ``(n, K)``), floating, finite, ``X``'s dtype. None stays None."""
    if offset is None:
        return None
    w_shape, b_shape = model.shapes(X.shape[1])
    shape = jax.eval_shape(model.logits, *(jax.ShapeDtypeStruct(s, X.dtype)
                                           for s in (w_shape, b_shape, X.shape))).shape
    offset = checks.float_array("offset", offset, allow_inf=True, allow_nan=True)  # no scan
    if offset.shape != shape:
        per = "row of X" if len(shape) == 1 else "row of X and class"
        raise ValueError(f"offset: expected shape {shape} (the logits' shape: one term per "
                         f"{per}), got shape {tuple(offset.shape)}")
    offset = checks.float_array("offset", offset)  # finite (the shape checked above)
    checks.common_dtype(X=X, offset=offset)
    return offset.astype(X.dtype)


def _tolerance(gtol: Any) -> Any:
    """``gtol``: None (the dtype's default) or a real > 0."""
    return None if gtol is None else checks.scalar("gtol", gtol, low=0, low_open=True)


def _features(X: Any) -> jax.Array:
    """``X (n, d)``, floating, finite, at least one row and one column: the one scan of X."""
    X = checks.float_array("X", X, shape=("n", "d"))
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(f"X: expected at least one row and one column (shape (n, d) with n, "
                         f"d >= 1), got shape ({n}, {d})")
    return X


def _starts(model: Model, X: jax.Array, w0: Any, b0: Any, batched: bool):
    """The flat start ``theta0``: ``(p,)``, or ``(b, p)`` when ``batched`` and a start per fit
    is given; zeros (the cold start) when neither ``w0`` nor ``b0`` is."""
    d = X.shape[1]
    w_shape, b_shape = model.shapes(d)
    if w0 is None and b0 is None:  # the cold start: zeros in every model's flat coordinates
        return jnp.asarray(np.zeros(math.prod(w_shape) + math.prod(b_shape), X.dtype))
    lead: tuple[int, ...] = ()
    if w0 is not None:
        w0 = checks.float_array("w0", w0)
        extra = w0.ndim - len(w_shape)
        if w0.shape[extra:] != w_shape or extra not in ((0, 1) if batched else (0,)):
            want = f"{w_shape}" + (f" or (b, {', '.join(map(str, w_shape))})" if batched else "")
            raise ValueError(f"w0: expected shape {want} (the weights' shape), got shape "
                             f"{tuple(w0.shape)}")
        checks.common_dtype(X=X, w0=w0)
        lead = w0.shape[:extra]
    if b0 is not None:
        b0 = checks.float_array("b0", b0)
        extra = b0.ndim - len(b_shape)
        if (b0.shape[max(extra, 0):] != b_shape or extra not in ((0, 1) if batched else (0,))
                or (w0 is not None and extra == 1 and lead and b0.shape[:1] != lead)):
            want = lead + b_shape
            raise ValueError(f"b0: expected shape {want} (the intercepts' shape, one start per "
                             f"start in w0), got shape {tuple(b0.shape)}")
        checks.common_dtype(X=X, b0=b0)
        lead = lead or b0.shape[:extra]
    w0 = jnp.zeros(w_shape, X.dtype) if w0 is None else w0.astype(X.dtype)
    b0 = jnp.zeros(b_shape, X.dtype) if b0 is None else b0.astype(X.dtype)
    w0 = jnp.broadcast_to(w0, lead + w_shape)
    b0 = jnp.broadcast_to(b0, lead + b_shape)
    return model.join((w0, b0))


class Problem(NamedTuple):
    """One validated fitting problem: what the compiled programs trust."""

    model: Any
    X: jax.Array
    y: jax.Array
    theta0: jax.Array
    cold: bool
    offset: jax.Array | None = None


def problem(family: type, X: Any, y: Any, *, num_classes: int | None = None, w0: Any = None,
            b0: Any = None, intercept: bool = True, batched: bool = False,
            offset: Any = None) -> Problem:
    """Check ``X``, the labels, the starts and the offset once; return the :class:`Problem`."""
    X = _features(X)
    n = X.shape[0]
    model = family.bind(y, n, num_classes, intercept)
    y = model.labels(y, n, X.dtype)
    theta0 = _starts(model, X, w0, b0, batched)
    return Problem(model, X, y, theta0, w0 is None and b0 is None, offsets(model, offset, X))


# ----------------------------------------------------------------------------------------------
# Fits.


def fit(family: type, solver: str, X: Any, y: Any, *, l2: Any = 0.0, max_steps: Any,
        gtol: Any = None, w0: Any = None, b0: Any = None, sample_weight: Any = None,
        num_classes: int | None = None, fit_intercept: Any = True, lr: Any = None,
        lr_w: Any = None, lr_b: Any = None, optimizer: Any = None, memory: Any = 10,
        precision: str = "full", offset: Any = None) -> FitResult:
    """One fit of ``family``'s model by ``solver`` (``"gd"``, ``"newton"``, ``"lbfgs"``)."""
    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {SOLVERS}, got {solver!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected 'auto', 'mixed' or 'full', got {precision!r}")
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept: expected a bool, got {type(fit_intercept).__name__}")
    if solver == "gd":
        lr_w, lr_b = _gd_rates(lr, lr_w, lr_b, optimizer)
    else:
        lr_w = lr_b = 0.0
    prob = problem(family, X, y, num_classes=num_classes, w0=w0, b0=b0,
                   intercept=bool(fit_intercept), offset=offset)
    X = prob.X
    sw = row_weights(sample_weight, X.shape[0], X.dtype)
    penalty(l2)
    max_steps = checks.positive_int("max_steps", max_steps)
    memory = checks.positive_int("memory", memory)
    gtol = _solver.default_gtol(_tolerance(gtol), X.dtype)
    # Mixed precision pays where forming X^T S X dominates (large n d^2); small problems take
    # the simpler path in the input dtype (and compile faster).
    big = X.shape[0] * X.shape[1] ** 2 >= MIXED_MIN_WORK
    mixed = (family.mixed_precision and solver == "newton" and X.dtype == jnp.float64
             and (precision == "mixed" or (precision == "auto" and big)))
    dtype = X.dtype
    return _fit.fit(prob.model, solver, X, prob.y, prob.theta0, jnp.asarray(l2, dtype),
                    jnp.asarray(gtol, dtype), sw, jnp.asarray(lr_w, dtype),
                    jnp.asarray(lr_b, dtype), optimizer=optimizer, max_steps=max_steps,
                    memory=memory, mixed=mixed, cold=prob.cold,
                    row_shards=_linalg.row_shards(X), offset=prob.offset)


def fit_many(family: type, X: Any, y: Any, *, sample_weight: Any = None, l2: Any = 0.0,
             max_steps: Any = 50, gtol: Any = None, w0: Any = None, b0: Any = None,
             num_classes: int | None = None, offset: Any = None) -> FitResult:
    """A batch of Newton fits on one ``X`` (weights ``(b, n)``, penalties ``(b,)``, one
    offset)."""
    prob = problem(family, X, y, num_classes=num_classes, w0=w0, b0=b0, batched=True,
                   offset=offset)
    return _fit_many(prob, sample_weight, l2, max_steps, gtol)


def _fit_many(prob: Problem, sample_weight: Any, l2: Any, max_steps: Any,
              gtol: Any) -> FitResult:
    X = prob.X
    n = X.shape[0]
    sw, l2 = _batch_weights(sample_weight, l2, n, X.dtype)
    b = sw.shape[0]
    theta0 = prob.theta0
    if theta0.ndim == 2 and theta0.shape[0] not in (1, b):
        raise ValueError(f"w0: expected one start or a batch of {b} (the number of fits), got "
                         f"{theta0.shape[0]}")
    theta0 = jnp.broadcast_to(theta0, (b, theta0.shape[-1]))
    max_steps = checks.positive_int("max_steps", max_steps)
    gtol = _solver.default_gtol(_tolerance(gtol), X.dtype)
    return _fit.fit_many(prob.model, X, prob.y, theta0, l2, jnp.asarray(gtol, X.dtype), sw,
                         max_steps=max_steps, cold=prob.cold, offset=prob.offset)


def gd_step_bound(family: type, X: Any, l2: Any, sample_weight: Any = None) -> float:
    """``1 / L``, ``L = ||sqrt(sw) [X, 1]||_2^2 c + l2`` with ``c`` the model's curvature
    bound (the Hessian of the weighted objective is at most ``c A^T diag(sw) A + l2``)."""
    X = checks.float_array("X", X, shape=("n", "d"), min_size=1)
    checks.scalar("l2", l2, low=0)
    sw = (jnp.ones((X.shape[0],), X.dtype) if sample_weight is None
          else row_weights(sample_weight, X.shape[0], X.dtype))
    return float(1.0 / (_largest_gram_eigenvalue(X, sw) * family.curvature + l2))


@jax.jit
def _largest_gram_eigenvalue(X: jax.Array, sw: jax.Array) -> jax.Array:
    """``||sqrt(sw) [X, 1]||_2^2`` as the largest eigenvalue of the ``(d+1, d+1)`` Gram matrix:
    an SVD of the ``n x (d+1)`` matrix itself would allocate ``n x n`` on some backends."""
    A = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)
    G = _linalg.matmul((A * sw[:, None]).T, A)
    return jnp.linalg.eigvalsh(0.5 * (G + G.T))[-1]


# ----------------------------------------------------------------------------------------------
# Predictions.


def params(family: type, w: Any, b: Any, X: Any) -> tuple[Any, jax.Array, jax.Array,
                                                          jax.Array]:
    """The model of the parameters ``(w, b)`` and the three arrays in one dtype."""
    X = checks.float_array("X", X, shape=("n", "d"))
    model, w, b = family.of_params(w, b, X.shape[1])
    dtype = checks.common_dtype(X=X, **{family.param_names[0]: w, family.param_names[1]: b})
    return model, w.astype(dtype), b.astype(dtype), X.astype(dtype)


def _logits(family: type, w: Any, b: Any, X: Any, offset: Any):
    """The model of ``(w, b)``, ``X`` checked, and the logits with the offset added."""
    model, w, b, X = params(family, w, b, X)
    offset = offsets(model, offset, X)
    z = model.logits(w, b, X)
    return model, X, (z if offset is None else z + offset)


def predict_proba(family: type, w: Any, b: Any, X: Any, offset: Any = None) -> jax.Array:
    """The model's probabilities at ``(w, b)`` for the rows of ``X``."""
    model, _, z = _logits(family, w, b, X, offset)
    return model.proba(z)


def predict(family: type, w: Any, b: Any, X: Any, offset: Any = None) -> jax.Array:
    """The predicted class ids (int32)."""
    model, _, z = _logits(family, w, b, X, offset)
    return model.classify(z)


def accuracy(family: type, w: Any, b: Any, X: Any, y: Any, offset: Any = None) -> jax.Array:
    """The fraction of rows whose predicted class is ``y``."""
    model, X, z = _logits(family, w, b, X, offset)
    y = model.labels(y, X.shape[0], X.dtype)
    pred = model.classify(z)
    return jnp.mean((pred == y.astype(pred.dtype)).astype(X.dtype))


# ----------------------------------------------------------------------------------------------
# Inference, its summary and the bootstrap.


def _level(level: Any) -> Any:
    return checks.scalar("level", level, low=0, high=1, low_open=True, high_open=True)


def _cov_type(robust: Any, cov_type: Any) -> str:
    """The covariance type: ``cov_type`` (default ``"nonrobust"``); ``robust=True`` is
    ``"HC0"``."""
    if not isinstance(robust, (bool, np.bool_)):
        raise TypeError(f"robust: expected a bool, got {type(robust).__name__}")
    if cov_type is not None and cov_type not in _inference.COV_TYPES:
        raise ValueError(f"cov_type: expected one of {_inference.COV_TYPES}, got {cov_type!r}")
    if robust:
        if cov_type not in (None, "HC0"):
            raise TypeError(f"robust, cov_type: expected one of them (robust=True is "
                            f"cov_type='HC0'), got robust=True and cov_type={cov_type!r}")
        return "HC0"
    return "nonrobust" if cov_type is None else cov_type


def _clusters(cov_type: str, groups: Any, num_groups: Any,
              sw: jax.Array) -> tuple[jax.Array | None, int | None]:
    """``groups`` as int32 codes and the static number of segments for a cluster covariance.

    Eagerly, any labels (one per row) are mapped to the codes ``0..G-1`` (with ``num_groups``
    given they must already be int codes in ``[0, num_groups)``), and at least 2 groups must
    have positive weight. Traced, the codes need ``num_groups`` (the segment count is static);
    their values are checked in the compiled program (INVALID_INPUT)."""
    if cov_type != "cluster":
        for name, v in (("groups", groups), ("num_groups", num_groups)):
            if v is not None:
                raise TypeError(f"{name}: expected None unless cov_type='cluster', got a value "
                                f"with cov_type={cov_type!r}")
        return None, None
    n = sw.shape[0]
    if groups is None:
        raise TypeError("groups: expected one group label per row of X for "
                        "cov_type='cluster', got None")
    if num_groups is not None:
        num_groups = checks.positive_int("num_groups", num_groups, minimum=2)
    if not hasattr(groups, "shape"):
        groups = np.asarray(groups)
    if tuple(groups.shape) != (n,):
        raise ValueError(f"groups: expected shape ({n},) (one group label per row of X), got "
                         f"shape {tuple(groups.shape)}")
    if not checks.is_concrete(groups):
        if num_groups is None:
            raise TypeError("num_groups: expected an int (the number of groups, static) when "
                            "groups is traced (under jit or vmap), got None")
        if not jnp.issubdtype(groups.dtype, jnp.integer):
            raise TypeError(f"groups: expected integer codes in [0, num_groups) when traced, "
                            f"got dtype {np.dtype(groups.dtype)}")
        return groups.astype(jnp.int32), num_groups
    host = np.asarray(groups)
    if num_groups is None:
        _, codes = np.unique(host, return_inverse=True)
        num_groups = int(codes.max()) + 1
    else:
        with np.errstate(invalid="ignore"):
            bad = (host.dtype.kind not in "iuf"
                   or bool(np.any((host != np.round(host)) | (host < 0) | (host >= num_groups))))
        if bad:
            raise ValueError(f"groups: expected integer codes in [0, {num_groups}) (with "
                             f"num_groups={num_groups}), got other values")
        codes = host.astype(np.int64)
    codes = codes.reshape(n)
    if checks.is_concrete(sw):
        weight = np.bincount(codes, weights=np.asarray(sw, np.float64), minlength=num_groups)
        count = int(np.sum(weight > 0))
        if count < 2:
            raise ValueError(f"groups: expected at least 2 groups of positive weight for "
                             f"cov_type='cluster', got {count}")
    return jnp.asarray(codes, jnp.int32), num_groups


def _fit_status(result: Any, what: str) -> jax.Array:
    """The status of one fit (a batch is refused: vmap inference over it); eagerly, a failed
    fit raises before any work."""
    status = jnp.asarray(result.status)
    if status.shape != ():
        raise ValueError(f"result: expected one fit (a scalar status), got a batch of shape "
                         f"{tuple(status.shape)}; vmap inference over the batch")
    if checks.is_concrete(status):
        _inference.raise_if_fit_failed(status, what=what)
    return status


def inference(family: type, result: FitResult, X: Any, y: Any, *, l2: Any = 0.0,
              sample_weight: Any = None, robust: Any = False, cov_type: Any = None,
              groups: Any = None, num_groups: Any = None, offset: Any = None,
              level: Any = 0.95) -> Inference:
    """Wald inference for one fit of ``family``'s model (see the models' ``inference``)."""
    what = f"{family.name}.inference"
    w, b = result.params
    model, w, b, X = params(family, w, b, X)
    n = X.shape[0]
    y = model.labels(y, n, X.dtype)
    sw = row_weights(sample_weight, n, X.dtype)
    offset = offsets(model, offset, X)
    convention = model.convention(penalty(l2))
    cov_type = _cov_type(robust, cov_type)
    groups, num_groups = _clusters(cov_type, groups, num_groups, sw)
    status = _fit_status(result, what)
    level = jnp.asarray(_level(level), X.dtype)
    inf = model.wald(model.join((w, b)), X, y, sw, jnp.asarray(l2, X.dtype), level, status,
                     jnp.asarray(result.grad_norm, X.dtype), cov_type=cov_type, groups=groups,
                     num_groups=num_groups, offset=offset, row_shards=_linalg.row_shards(X),
                     convention=convention)
    if checks.is_concrete(inf.status):
        _inference.raise_if_failed(inf, fit_status=status, what=what)
    return inf


def summary(family: type, inf: Inference, *, feature_names: Any = None, class_names: Any = None,
            dep_variable: str = "y") -> str:
    """The statsmodels-style table of one :class:`Inference` of ``family``'s model: eager,
    unbatched and valid (a failed inference raises naming its status)."""
    what = f"{family.name}.summary"
    if not isinstance(inf, Inference):
        raise TypeError(f"inference: expected an Inference (from inference()), got "
                        f"{type(inf).__name__}")
    if not checks.is_concrete(inf.status):
        raise ValueError("inference: expected concrete values (summary is eager), got tracers")
    ndim, blocks = family.blocks(inf, class_names, dep_variable)
    if np.ndim(inf.status) != 0 or np.ndim(inf.params) != ndim:
        raise ValueError(f"inference: expected one fit's inference (params of rank {ndim}), got "
                         f"params of shape {tuple(np.shape(inf.params))}")
    _inference.raise_if_failed(inf, fit_status=inf.status, what=what)
    return _inference.render(inf, model=family.summary_name, feature_names=feature_names,
                             blocks=blocks, dep_variable=str(dep_variable))


def bootstrap(family: type, X: Any, y: Any, *, key: Any, num_resamples: Any = 200,
              num_classes: int | None = None, l2: Any = 0.0, sample_weight: Any = None,
              max_steps: Any = 50, gtol: Any = None, offset: Any = None) -> Bootstrap:
    """Bootstrap standard errors: one :func:`fit_many` batch of resample count weights (a
    resampled row keeps its offset)."""
    prob = problem(family, X, y, num_classes=num_classes, batched=True, offset=offset)
    X = prob.X
    num_resamples = checks.positive_int("num_resamples", num_resamples, minimum=2)
    convention = prob.model.convention(penalty(l2))
    sw = None if sample_weight is None else row_weights(sample_weight, X.shape[0], X.dtype)
    counts = _inference.bootstrap_counts(key, X.shape[0], num_resamples, X.dtype, sw)
    res = _fit_many(prob, counts, l2, max_steps, gtol)
    return _inference.bootstrap_std_err(prob.model.rows(res.params, convention), res.status)


# ----------------------------------------------------------------------------------------------
# Cross-validation of the penalty.

CV_SOLVERS = ("auto", "newton", "lbfgs")
# Penalties per compiled chunk of the path: any grid length runs the same program (a short last
# chunk is padded with steps that do no work).
CV_CHUNK = 8
# solver="auto" takes L-BFGS when the Newton step's Hessian costs more than this many
# multiply-adds per fit step (n p^2: the Gram of K-class rows grows with K^2).
CV_NEWTON_MAX_WORK = 50_000_000
# ... except K classes with few features, which keep Newton while d + 1 and p stay within
# these and one fold's Newton step fits max_memory: there L-BFGS takes hundreds of steps, each
# with O(n K) exponentials in its line search, so Newton's few steps cost less whatever n (5
# folds x 10 penalties, float64, 2 cores: 2000 x 20 x 10 classes 0.83 s against 3.1 s, 20000 x
# 20 x 10 9.0 s against 27.8 s, 1000 x 30 x 20 3.95 s against 7.2 s; at 2000 x 50, 3 or 10
# classes, L-BFGS is 1.15x and 1.27x faster).
CV_KCLASS_NEWTON_MAX_D1 = 32
CV_KCLASS_NEWTON_MAX_P = 1024
DEFAULT_MAX_MEMORY = 1 << 30  # bytes for the lanes of one compiled path chunk
# Problems with n p^2 up to this fit every (fold, penalty) pair at once, CV_LANES per call.
CV_PARALLEL_MAX_WORK = 1 << 22
CV_LANES = 64


def _grid(l2: Any) -> np.ndarray:
    grid = checks.float_array("l2", l2, ndim=(0, 1))
    if not checks.is_concrete(grid):
        raise ValueError("l2: expected a concrete grid of penalties (cross_validate is eager; "
                         "its fits are compiled), got a traced value")
    grid = np.atleast_1d(np.asarray(grid))
    if grid.size == 0 or not np.all(np.isfinite(grid)) or (grid < 0).any():
        raise ValueError(f"l2: expected a non-empty grid of finite penalties >= 0, got "
                         f"{grid.size} values with min {grid.min() if grid.size else 'none'}")
    return grid


def _cv_solver(solver: str, model: Any, n: int, d: int, itemsize: int, max_memory: int) -> str:
    if solver not in CV_SOLVERS:
        raise ValueError(f"solver: expected one of {CV_SOLVERS}, got {solver!r}")
    if solver != "auto":
        return solver
    w_shape, b_shape = model.shapes(d)
    p = int(np.prod(w_shape)) + int(np.prod(b_shape))
    logits = p // (d + 1)  # per row: 1 for two classes, K for K classes
    few_features = (logits > 1 and d + 1 <= CV_KCLASS_NEWTON_MAX_D1
                    and p <= CV_KCLASS_NEWTON_MAX_P
                    and _lane_bytes(model, "newton", n, d, itemsize) <= max_memory)
    return "newton" if n * p * p <= CV_NEWTON_MAX_WORK or few_features else "lbfgs"


def _lane_bytes(model: Any, solver: str, n: int, d: int, itemsize: int) -> int:
    """About the working memory of one fold's fit: the Newton step's per-row products over
    the ``K (d + 1)`` parameters for each of the ``K`` logits, or L-BFGS's few ``(n, K)``
    vectors."""
    w_shape, b_shape = model.shapes(d)
    p = int(np.prod(w_shape)) + int(np.prod(b_shape))
    k = p // (d + 1)
    return itemsize * n * (p * k if solver == "newton" else 16 * k)


def _cv_parallel(run, place, train, test, path, p, dtype, lanes):
    """Every (fold, penalty) fit at once, each from zero: ``lanes`` fits per compiled call
    (padded with copies of the first). Small problems, where one batch beats a sequence."""
    k, g = train.shape[0], path.size
    fold, pos = np.divmod(np.arange(k * g), g)
    total = -(-fold.size // lanes) * lanes
    fold = np.resize(fold, total)
    pos = np.resize(pos, total)
    scores, status = np.empty((k, g)), np.empty((k, g), np.int32)
    steps = np.empty((k, g), np.int32)
    thetas = np.empty((k, g, p))
    for lo in range(0, total, lanes):
        f, j = fold[lo:lo + lanes], pos[lo:lo + lanes]
        _, sc, st, ns, th = run(place(np.zeros((lanes, p), dtype), 0),
                               place(path[j][None].astype(dtype), 1),
                               place(np.ones((1,), bool)),
                               train=place(train[f], 0),
                               test=place(test[f], 0))
        real = slice(0, min(lanes, k * g - lo))
        scores[f[real], j[real]] = np.asarray(sc)[0, real]
        status[f[real], j[real]] = np.asarray(st)[0, real]
        steps[f[real], j[real]] = np.asarray(ns)[0, real]
        thetas[f[real], j[real]] = np.asarray(th)[0, real]
    return scores, status, steps, thetas


def _cv_path(run, place, train, test, path, p, dtype, lanes):
    """Each fold along the path, every fit started at the previous penalty's solution:
    ``lanes`` folds and :data:`CV_CHUNK` penalties per compiled call (a short last chunk is
    padded with steps that do no work)."""
    k, g = train.shape[0], path.size
    padded = -(-g // CV_CHUNK) * CV_CHUNK
    live = np.arange(padded) < g
    path = np.concatenate([path, np.repeat(path[-1], padded - g)])
    scores, status = np.empty((k, padded)), np.empty((k, padded), np.int32)
    steps = np.empty((k, padded), np.int32)
    thetas = np.empty((k, padded, p))
    for lo in range(0, k, lanes):
        f = np.arange(lo, lo + lanes) % k  # a short last group repeats earlier folds
        real = slice(0, min(lanes, k - lo))
        theta = place(np.zeros((lanes, p), dtype), 0)
        train_f, test_f = place(train[f], 0), place(test[f], 0)
        for c in range(0, padded, CV_CHUNK):
            l2s = np.broadcast_to(path[c:c + CV_CHUNK, None].astype(dtype), (CV_CHUNK, lanes))
            on = place(live[c:c + CV_CHUNK])
            theta, sc, st, ns, th = run(theta, place(l2s, 1), on, train=train_f,
                                       test=test_f)
            scores[lo:lo + lanes, c:c + CV_CHUNK] = np.asarray(sc).T[real]
            status[lo:lo + lanes, c:c + CV_CHUNK] = np.asarray(st).T[real]
            steps[lo:lo + lanes, c:c + CV_CHUNK] = np.asarray(ns).T[real]
            thetas[lo:lo + lanes, c:c + CV_CHUNK] = np.swapaxes(np.asarray(th), 0, 1)[real]
    return scores[:, :g], status[:, :g], steps[:, :g], thetas[:, :g]


def _placement(devices: Any, X: jax.Array) -> tuple[Any, int]:
    """How the fits' axis is placed: a function ``(array, axis) -> array`` sharding ``axis``
    over ``devices`` (``axis=None``: replicated), and the device count the lanes must be a
    multiple of. One device, or ``X`` already sharded on its rows: device arrays are left where
    they are, host arrays go to the default device."""
    # This process's devices by default: under jax.distributed, jax.devices() also lists other
    # processes' devices, which this eager driver cannot place arrays on.
    devices = list(jax.local_devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices: expected at least one device, got none")
    if len(devices) == 1 or _linalg.row_shards(X) > 1:
        # Host arrays become device arrays (a copy, no compiled conversion; device arrays stay
        # where they are): the compiled chunks always receive device arrays, so each keeps one
        # entry in jit's dispatch cache.
        return (lambda a, axis=None: jax.device_put(a)), 1
    mesh = Mesh(np.array(devices), ("fits",))

    def place(a, axis=None):
        spec = PartitionSpec() if axis is None else PartitionSpec(*[None] * axis, "fits")
        return jax.device_put(a, NamedSharding(mesh, spec))

    return place, len(devices)


def cross_validate(family: type, X: Any, y: Any, *, l2: Any, folds: Any = 5, seed: Any = 0,
                   scoring: str = "log_loss", sample_weight: Any = None, solver: str = "auto",
                   gtol: Any = None, max_steps: Any = None, num_classes: int | None = None,
                   max_memory: Any = None, devices: Any = None, offset: Any = None) -> Any:
    """K-fold cross-validation of ``family``'s penalty (see the models' ``cross_validate``)."""
    prob = problem(family, X, y, num_classes=num_classes, offset=offset)
    X, model = prob.X, prob.model
    n, d = X.shape
    dtype = X.dtype
    grid = _grid(l2)
    sw = row_weights(sample_weight, n, dtype)
    if scoring not in _cross_validation.SCORINGS:
        raise ValueError(f"scoring: expected one of {tuple(_cross_validation.SCORINGS)}, got "
                         f"{scoring!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if not checks.is_concrete(prob.y) or not checks.is_concrete(sw):
        raise ValueError("y: expected concrete labels and weights (cross_validate is eager; "
                         "its fits are compiled), got traced values")
    sw_host = np.asarray(sw, np.float64)
    ids, k = _cross_validation.fold_ids(np.asarray(prob.y), folds, int(seed), sw_host)
    max_memory = checks.positive_int("max_memory", DEFAULT_MAX_MEMORY if max_memory is None
                                     else max_memory)
    solver = _cv_solver(solver, model, n, d, dtype.itemsize, max_memory)
    max_steps = checks.positive_int("max_steps", (50 if solver == "newton" else 500)
                                    if max_steps is None else max_steps)
    gtol = jnp.asarray(_solver.default_gtol(_tolerance(gtol), dtype), dtype)
    big = n * d * d >= MIXED_MIN_WORK
    mixed = model.mixed_precision and solver == "newton" and dtype == jnp.float64 and big

    order = np.argsort(-grid, kind="stable")  # the path: the largest penalty first
    g = grid.size
    p = prob.theta0.shape[-1]
    lane_bytes = _lane_bytes(model, solver, n, d, dtype.itemsize)
    train, test = _cross_validation.fold_weights(ids, k, sw)
    place, ndev = _placement(devices, X)
    run = functools.partial(_fit.cv_path, model, solver, place(X), place(prob.y),
                            gtol=place(gtol), offset=None if prob.offset is None
                            else place(prob.offset), max_steps=max_steps, memory=10,
                            mixed=mixed, scoring=scoring)
    if n * p * p <= CV_PARALLEL_MAX_WORK:
        lanes = max(1, min(CV_LANES, max_memory // lane_bytes))
        scores, status, steps, thetas = _cv_parallel(
            run, place, train, test, grid[order], p, dtype, -(-lanes // ndev) * ndev)
    else:
        lanes = max(1, min(k, max_memory // lane_bytes))
        scores, status, steps, thetas = _cv_path(
            run, place, train, test, grid[order], p, dtype, -(-lanes // ndev) * ndev)
    back = np.empty(g, np.int64)
    back[order] = np.arange(g)  # grid position -> path position
    scores, status, steps, thetas = (a[:, back] for a in (scores, status, steps, thetas))
    higher = _cross_validation.SCORINGS[scoring]
    mean, se, best, one_se = _cross_validation.choose(scores, status, grid, higher)
    if best < 0:
        codes = np.unique(status[status != 0])
        raise results.SolverError(
            f"{family.name}.cross_validate: no penalty of the grid has every fold's fit "
            f"converged (statuses {[results.status_name(int(c)) for c in codes]}); raise "
            f"max_steps or use larger penalties")
    theta0 = jnp.asarray(thetas[:, best].mean(axis=0), dtype)
    refit = _fit.fit(model, solver, X, prob.y, theta0, jnp.asarray(grid[best], dtype), gtol, sw,
                     jnp.zeros((), dtype), jnp.zeros((), dtype), max_steps=max_steps, memory=10,
                     mixed=mixed, cold=False, row_shards=_linalg.row_shards(X),
                     offset=prob.offset)
    return _cross_validation.CVResult(
        l2=jnp.asarray(grid, dtype), scores=jnp.asarray(scores, dtype),
        mean=jnp.asarray(mean, dtype), se=jnp.asarray(se, dtype),
        best_index=jnp.asarray(best, jnp.int32), best_l2=jnp.asarray(grid[best], dtype),
        l2_1se=jnp.asarray(grid[one_se], dtype), status=jnp.asarray(status),
        steps=jnp.asarray(steps),
        fold_params=_finish_folds(model, jnp.asarray(thetas, dtype), jnp.asarray(grid, dtype),
                                  d=d),
        fit=refit)


@functools.partial(jax.jit, static_argnames=("model", "d"))
def _finish_folds(model: Any, thetas: jax.Array, grid: jax.Array, *, d: int) -> Any:
    """Every fold's fitted ``theta`` ``(F, G, p)`` as the model's parameters at its penalty."""
    return jax.vmap(jax.vmap(lambda th, l2: model.finish(th, d, l2)), (0, None))(thetas, grid)
