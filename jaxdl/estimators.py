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


class LogisticRegression(ClassifierMixin, BaseEstimator):
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
        if (isinstance(self.l2, (bool, np.bool_)) or not isinstance(self.l2, numbers.Real)
                or not np.isfinite(self.l2) or self.l2 < 0):
            raise ValueError(f"l2: expected a finite number >= 0, got {self.l2!r}")
        if self.tol is not None and (isinstance(self.tol, (bool, np.bool_))
                                     or not isinstance(self.tol, numbers.Real)
                                     or not np.isfinite(self.tol) or self.tol <= 0):
            raise ValueError(f"tol: expected None or a finite number > 0, got {self.tol!r}")
        if (isinstance(self.max_iter, (bool, np.bool_))
                or not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1):
            raise ValueError(f"max_iter: expected an int >= 1, got {self.max_iter!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept: expected a bool, got {self.fit_intercept!r}")
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype: expected 'float32' or 'float64', got {self.dtype!r}")
        return dtype

    @staticmethod
    def _x64(dtype: np.dtype):
        from jaxdl import _compat

        return _compat.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit on ``X (n, d)``, labels ``y (n,)`` (any hashable class labels), optional
        non-negative ``sample_weight (n,)``. Returns ``self``."""
        dtype = self._check_params()
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
        n, d = X.shape
        m = _padded_rows(n)
        Xp = np.zeros((m, d), dtype)
        Xp[:n] = X
        yp = np.zeros((m,), np.float64)
        yp[:n] = yi
        swp = np.zeros((m,), dtype)
        swp[:n] = sw
        with self._x64(dtype):
            res = self._fit(Xp, yp, swp, classes.size, dtype)
            W, b = (np.asarray(a) for a in res.params)
            status, steps = res.status_name, int(res.steps)
            message = res.message
        if classes.size == 2:
            W, b = W[None, :], np.reshape(b, (1,))
        self.coef_, self.intercept_ = W, b
        self.n_iter_ = np.array([steps], np.int32)
        self.status_ = status
        self.result_ = res
        if status != "converged":
            warnings.warn(f"jaxdl LogisticRegression did not converge: {message}",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _fit(self, X, y, sw, k, dtype):
        import jax.numpy as jnp

        from jaxdl import multinomial

        X, y, sw = jnp.asarray(X, dtype), jnp.asarray(y), jnp.asarray(sw, dtype)
        # Binary labels go to the logistic model in X's dtype, class ids to the K-class model.
        y = y.astype(dtype) if k == 2 else y.astype(jnp.int32)
        # solver "gd" runs at the safe rate 1 / L of the weighted problem (fit_classifier).
        return multinomial.fit_classifier(
            X, y, num_classes=k, solver=self.solver, l2=float(self.l2), gtol=self.tol,
            max_steps=int(self.max_iter), sample_weight=sw,
            fit_intercept=bool(self.fit_intercept))

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
