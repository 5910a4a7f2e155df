"""scikit-learn estimators over jaxdl's fits (needs the optional ``scikit-learn``).

:class:`LogisticRegression` fits binary problems through :mod:`jaxdl.logistic` and ``K > 2``
classes through :mod:`jaxdl.multinomial` (with ``l2 > 0`` all K rows penalised and the
intercepts centred, as scikit-learn's multinomial fit; with ``l2 = 0`` the last class's row of
``coef_`` and ``intercept_`` is 0), with jaxdl's exact Newton (or L-BFGS, or gradient descent)
and its honest statuses: a failed fit warns with its status. ``import jaxdl`` does not import
this module or scikit-learn; ``import jaxdl.estimators`` does.

Example:
  >>> from sklearn.pipeline import make_pipeline
  >>> from sklearn.preprocessing import StandardScaler
  >>> from jaxdl import data
  >>> from jaxdl.estimators import LogisticRegression
  >>> ds = data.load_breast_cancer()
  >>> clf = make_pipeline(StandardScaler(), LogisticRegression(l2=1.0)).fit(ds.X, ds.y)
  >>> round(clf.score(ds.X, ds.y), 3)
  0.988
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("jaxdl.estimators needs scikit-learn >= 1.5: pip install "
                      "'jaxdl[sklearn]' (or scikit-learn)") from exc

__all__ = ["LogisticRegression"]

_SOLVERS = ("newton", "lbfgs", "gd")
# Rows are padded with zero-weight rows to the next power of two (at least this many), so that
# the fits, compiled per shape, are shared across data sets of similar size.
_MIN_ROWS = 16


def _row_weights(sample_weight: Any, n: int) -> np.ndarray:
    """``sample_weight`` as ``(n,)`` float64 weights: ones when None, a scalar for every row;
    finite and non-negative."""
    if sample_weight is None:
        return np.ones(n)
    try:
        sw = np.array(sample_weight, dtype=np.float64)  # a copy: the caller's is not changed
    except (TypeError, ValueError) as err:
        raise ValueError(f"sample_weight: expected numbers, got {type(sample_weight).__name__}: "
                         f"{err}") from None
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.shape != (n,):
        raise ValueError(f"sample_weight: expected shape ({n},) (one weight per row of X), got "
                         f"shape {sw.shape}")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError("sample_weight: expected finite non-negative weights, got a negative "
                         "or non-finite weight")
    return sw


def _padded_rows(n: int) -> int:
    return max(_MIN_ROWS, 1 << (n - 1).bit_length())


def _is_real(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and bool(np.isfinite(value)))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_tol(tol: Any) -> None:
    if tol is not None and not (_is_real(tol) and tol > 0):
        raise ValueError(f"tol: expected None or a finite number > 0, got {tol!r}")


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
    return checked


class _LinearClassifier(ClassifierMixin, BaseEstimator):
    """What jaxdl's classifiers share: the checked data, the classes, the padded problem and
    the predictions from ``coef_`` and ``intercept_``."""

    @staticmethod
    def _x64(dtype: np.dtype):
        from jaxdl import _compat

        return _compat.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()

    def _fit_data(self, X: Any, y: Any, sample_weight: Any):
        """``(X, y, class ids, weights)`` checked as scikit-learn does; sets ``classes_`` (and
        ``n_features_in_``, ``feature_names_in_``)."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes, yi = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class ({classes[0]!r})")
        sw = _row_weights(sample_weight, X.shape[0])
        if not np.any(sw > 0):
            raise ValueError("sample_weight: expected weights not all zero, got all zero")
        weighted = np.unique(yi[sw > 0])
        if weighted.size < 2:
            raise ValueError(f"sample_weight: expected positive weight on at least 2 classes, "
                             f"got weight only on class {classes[weighted[0]]!r}")
        self.classes_ = classes
        return X, y, yi, sw

    def _padded(self, X: np.ndarray, yi: np.ndarray, sw: np.ndarray, dtype: np.dtype):
        """``(X, y, sample_weight)`` with zero-weight rows appended up to :func:`_padded_rows`:
        binary labels in ``dtype`` for :mod:`jaxdl.logistic`, else int32 class ids for
        :mod:`jaxdl.multinomial` (the models' choice in
        :func:`jaxdl.multinomial.fit_classifier`)."""
        n, d = X.shape
        m = _padded_rows(n)
        Xp = np.zeros((m, d), dtype)
        Xp[:n] = X
        yp = np.zeros((m,), dtype if self.classes_.size == 2 else np.int32)
        yp[:n] = yi
        swp = np.zeros((m,), dtype)
        swp[:n] = sw
        return Xp, yp, swp

    def _set_coef(self, W: Any, b: Any) -> None:
        """``coef_`` ``(1, d)`` or ``(K, d)`` and ``intercept_`` from a model's ``(w, b)``."""
        W, b = np.asarray(W), np.asarray(b)
        if self.classes_.size == 2:
            W, b = W[None, :], np.reshape(b, (1,))
        self.coef_, self.intercept_ = W, b

    # ------------------------------------------------------------------------------------------
    # Predictions in NumPy: no compilation per batch shape, and exact for any logit.

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: ``(n,)`` for binary problems (the positive class's), else ``(n, K)``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Z = X.astype(self.coef_.dtype) @ self.coef_.T + self.intercept_
        return Z[:, 0] if self.classes_.size == 2 else Z

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities ``(n, K)``, computed stably from the logits."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            return np.stack([-np.logaddexp(0, Z), -np.logaddexp(0, -Z)], axis=1)
        Zs = Z - Z.max(axis=1, keepdims=True)
        return Zs - np.log(np.sum(np.exp(Zs), axis=1, keepdims=True))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, K)`` (rows sum to 1)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label per row."""
        Z = self.decision_function(X)
        idx = (Z > 0).astype(int) if Z.ndim == 1 else np.argmax(Z, axis=1)
        return self.classes_[idx]


class LogisticRegression(_LinearClassifier):
    """Penalised (multinomial) logistic regression fitted by jaxdl, as a scikit-learn classifier.

    Minimises ``sum_n sw_n CE_n + l2/2 ||W||^2`` (intercepts unpenalised): binary labels by
    :func:`jaxdl.logistic.fit_newton` (or ``fit_lbfgs``, ``fit_gd``), more classes by the
    :mod:`jaxdl.multinomial` fits. ``l2 = 1`` equals scikit-learn's ``LogisticRegression(C=1)``
    for binary and multinomial problems (its objective is ``C sum CE + ||W||^2 / 2``;
    ``l2 = 1 / C``; relabelling the classes permutes the rows and changes nothing else).

    Args:
      solver: ``"newton"`` (exact Hessian, default), ``"lbfgs"`` or ``"gd"`` (gradient
        descent at the safe rate ``1 / L``).
      l2: ridge penalty ``>= 0`` on the weights (not the intercepts).
      tol: tolerance on the per-sample mean gradient's max-norm; None for jaxdl's default
        (``1e-12`` in float64, ``1e-5`` in float32).
      max_iter: step budget.
      fit_intercept: fit the intercepts (else they are held at 0).
      dtype: ``"float64"`` (computed with 64-bit JAX types enabled for the call, whatever the
        global setting) or ``"float32"``.

    Attributes (after ``fit``): ``coef_`` ``(1, d)`` (binary) or ``(K, d)``, ``intercept_``,
    ``classes_``, ``n_features_in_``, ``feature_names_in_`` (for named columns), ``n_iter_``
    ``(1,)``, ``status_`` (the fit's status name, ``"converged"`` on success) and ``result_``
    (the :class:`jaxdl.results.FitResult`).

    A fit that does not succeed warns: a ``ConvergenceWarning`` naming the status (max_steps:
    raise ``max_iter``; separable: with ``l2 = 0`` the classes are linearly separable and no
    finite optimum exists; singular; ...), keeping the last iterate.

    See the [Q1 derivation][q1-derivation] and the [Q7 derivation][q7-derivation].
    """

    def __init__(self, *, solver: str = "newton", l2: float = 1.0, tol: float | None = None,
                 max_iter: int = 100, fit_intercept: bool = True, dtype: str = "float64"):
        self.solver = solver
        self.l2 = l2
        self.tol = tol
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.dtype = dtype

    # ------------------------------------------------------------------------------------------
    def _check_params(self) -> np.dtype:
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver: expected one of {_SOLVERS}, got {self.solver!r}")
        if not (_is_real(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2: expected a finite number >= 0, got {self.l2!r}")
        _check_tol(self.tol)
        if not (_is_int(self.max_iter) and self.max_iter >= 1):
            raise ValueError(f"max_iter: expected an int >= 1, got {self.max_iter!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept: expected a bool, got {self.fit_intercept!r}")
        return _check_dtype(self.dtype)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit on ``X (n, d)``, labels ``y (n,)`` (any hashable class labels), optional
        non-negative ``sample_weight (n,)``. Returns ``self``."""
        from jaxdl import multinomial

        dtype = self._check_params()
        X, _, yi, sw = self._fit_data(X, y, sample_weight)
        Xp, yp, swp = self._padded(X, yi, sw, dtype)
        with self._x64(dtype):
            # solver "gd" runs at the safe rate 1 / L of the weighted problem (fit_classifier).
            res = multinomial.fit_classifier(
                Xp, yp, num_classes=self.classes_.size, solver=self.solver, l2=float(self.l2),
                gtol=self.tol, max_steps=int(self.max_iter), sample_weight=swp,
                fit_intercept=bool(self.fit_intercept))
            self._set_coef(*res.params)
            status, steps = res.status_name, int(res.steps)
            message = res.message
        self.n_iter_ = np.array([steps], np.int32)
        self.status_ = status
        self.result_ = res
        if status != "converged":
            warnings.warn(f"jaxdl LogisticRegression did not converge: {message}",
                          ConvergenceWarning, stacklevel=2)
        return self
