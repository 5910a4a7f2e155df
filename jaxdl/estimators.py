"""scikit-learn estimators over jaxdl's fits (needs the optional ``scikit-learn``).

:class:`LogisticRegression` fits binary problems through :mod:`jaxdl.logistic` and ``K > 2``
classes through :mod:`jaxdl.multinomial` (with ``l2 > 0`` all K rows penalised and the
intercepts centred, as scikit-learn's multinomial fit; with ``l2 = 0`` the last class's row of
``coef_`` and ``intercept_`` is 0), with jaxdl's exact Newton (or L-BFGS, or gradient descent)
and its honest statuses: a failed fit warns with its status. :class:`LogisticRegressionCV`
chooses the penalty from a grid by cross-validation (:func:`jaxdl.logistic.cross_validate`,
:func:`jaxdl.multinomial.cross_validate`: every fold along the grid in one compiled program)
and refits at the choice. ``import jaxdl`` does not import this module or scikit-learn;
``import jaxdl.estimators`` does.

Example:
  >>> from sklearn.pipeline import make_pipeline
  >>> from sklearn.preprocessing import StandardScaler
  >>> from jaxdl import data
  >>> from jaxdl.estimators import LogisticRegression, LogisticRegressionCV
  >>> ds = data.load_breast_cancer()
  >>> clf = make_pipeline(StandardScaler(), LogisticRegression(l2=1.0)).fit(ds.X, ds.y)
  >>> round(clf.score(ds.X, ds.y), 3)
  0.988
  >>> cv = make_pipeline(StandardScaler(), LogisticRegressionCV(l2s=[0.1, 1.0, 10.0, 100.0]))
  >>> cv = cv.fit(ds.X, ds.y)[-1]
  >>> cv.l2_, cv.C_, cv.scores_.shape
  (1.0, array([1.]), (5, 4))
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
    from sklearn.model_selection import check_cv
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("jaxdl.estimators needs scikit-learn >= 1.6: pip install "
                      "'jaxdl[sklearn]' (or scikit-learn)") from exc

__all__ = ["LogisticRegression", "LogisticRegressionCV"]

_SOLVERS = ("newton", "lbfgs", "gd")
_CV_SOLVERS = ("auto", "newton", "lbfgs")
# scoring name -> jaxdl's scoring (log-loss under scikit-learn's name too).
_SCORINGS = {"log_loss": "log_loss", "neg_log_loss": "log_loss", "accuracy": "accuracy"}
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
    """What the two estimators share: the checked data, the classes, the padded problem and
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


def _fold_ids(cv: Any, X: np.ndarray, y: np.ndarray, groups: Any, sw: np.ndarray) -> np.ndarray:
    """Each row's fold ``(n,)`` from ``cv``, as scikit-learn's ``check_cv(cv, y,
    classifier=True)`` splits the rows; the test sets must partition the rows (each row held
    out by exactly one split, each split's training rows every other row), since jaxdl's folds
    are row weights."""
    n = X.shape[0]
    splitter = cv is None or _is_int(cv) or hasattr(cv, "split")
    if isinstance(cv, (bool, np.bool_, str, bytes)) or not (splitter or hasattr(cv, "__iter__")):
        raise ValueError(f"cv: expected None, an int >= 2, a scikit-learn splitter or an "
                         f"iterable of (train, test) index pairs, got {cv!r}")
    if _is_int(cv) and cv < 2:
        raise ValueError(f"cv: expected a fold count >= 2, got {cv!r}")
    if splitter:
        try:
            splits = list(check_cv(cv, y, classifier=True).split(X, y, groups))
        except ValueError as err:
            raise ValueError(f"cv: expected a splitter that can split these rows, got: {err}") \
                from None
    else:
        splits = list(cv)
    if len(splits) < 2:
        raise ValueError(f"cv: expected at least 2 splits, got {len(splits)}")
    ids = np.full(n, -1, np.int64)
    rows = np.arange(n)
    for f, split in enumerate(splits):
        try:
            train, test = (np.asarray(a) for a in split)
        except (TypeError, ValueError):
            raise ValueError(f"cv: expected (train, test) index pairs, got {split!r} for split "
                             f"{f}") from None
        for part in (train, test):
            if part.ndim != 1 or (part.size and (part.dtype.kind not in "iu" or part.min() < 0
                                                 or part.max() >= n)):
                raise ValueError(f"cv: expected 1-D arrays of row indices 0..{n - 1}, got "
                                 f"{part.dtype} of shape {part.shape} in split {f}")
        if test.size == 0 or np.unique(test).size != test.size:
            raise ValueError(f"cv: expected every split to hold out distinct rows, got split "
                             f"{f} with {'none' if test.size == 0 else 'a repeated row'}")
        overlap = test[ids[test] >= 0]
        if overlap.size:
            raise ValueError(f"cv: expected test sets that do not overlap (jaxdl's folds "
                             f"partition the rows), got row {overlap[0]} in split "
                             f"{ids[overlap[0]]} and split {f}")
        ids[test] = f
        if not np.array_equal(np.unique(train), np.setdiff1d(rows, test)):
            raise ValueError(f"cv: expected each split to train on every row it does not hold "
                             f"out (jaxdl's folds partition the rows), got split {f} with "
                             f"{np.unique(train).size} training rows for {n - test.size} "
                             f"others")
    if np.any(ids < 0):
        raise ValueError(f"cv: expected test sets that together cover every row (jaxdl's folds "
                         f"partition the rows), got row {np.flatnonzero(ids < 0)[0]} in none")
    held = np.bincount(ids, weights=sw, minlength=len(splits))
    for f, h in enumerate(held):
        if not (h > 0 and sw.sum() - h > 0):
            raise ValueError(f"cv: expected every split to hold out rows of positive weight "
                             f"and train on some, got split {f}, which "
                             f"{'holds out' if not h > 0 else 'trains on'} none")
    return ids.astype(np.int32)


class LogisticRegressionCV(_LinearClassifier):
    """:class:`LogisticRegression` with its penalty chosen by cross-validation, as a
    scikit-learn classifier (its ``LogisticRegressionCV``, with ``l2 = 1 / C``).

    Every fold is fitted at every penalty of ``l2s`` by :func:`jaxdl.logistic.cross_validate`
    (two classes) or :func:`jaxdl.multinomial.cross_validate` (``K > 2``), in one compiled
    program; the penalty with the best mean held-out score, among those at which every fold's
    fit converged, is chosen (the first of ``l2s`` on a tie), and the model is refitted on all
    rows there. Given the same folds and grid (``Cs = 1 / l2s``), the scores, the choice and
    the coefficients equal scikit-learn's ``LogisticRegressionCV(scoring="neg_log_loss")``
    with a tight tolerance (its multiclass ``intercept_`` up to a common shift; jaxdl's sum to
    zero).

    Args:
      l2s: the grid of ridge penalties ``>= 0`` (any order; scikit-learn's ``Cs`` is
        ``1 / l2s``), or an int ``G``: ``G`` penalties log-spaced from ``1e-4`` to ``1e4``
        (scikit-learn's grid for ``Cs=G``).
      cv: folds as scikit-learn's ``check_cv(cv, y, classifier=True)`` makes them: None or
        an int ``F`` for ``StratifiedKFold(F)`` (unshuffled: the same folds as scikit-learn's
        estimator and ``GridSearchCV``; pass ``StratifiedKFold(F, shuffle=True,
        random_state=...)`` to shuffle), a splitter (``KFold``, ``GroupKFold`` with
        ``fit(..., groups=)``, ...) or an iterable of ``(train, test)`` index pairs. The test
        sets must partition the rows (splitters such as ``ShuffleSplit`` are refused).
      scoring: ``"log_loss"`` (default) or its scikit-learn name ``"neg_log_loss"`` (the same
        criterion: the weighted mean held-out log-likelihood), or ``"accuracy"``.
      solver: ``"auto"`` (Newton unless the problem is large, then L-BFGS; the rule of
        :func:`jaxdl.logistic.cross_validate` and :func:`jaxdl.multinomial.cross_validate`),
        ``"newton"`` or ``"lbfgs"``.
      refit: True: ``coef_`` from the refit on all rows at the chosen penalty. False: the mean
        of the folds' fits at the chosen penalty (no refit is used; scikit-learn's
        ``refit=False`` instead averages each fold's fit at that fold's own best ``C``).
      tol: tolerance on every fit's per-sample mean gradient; None for jaxdl's default.
      max_iter: every fit's step budget; None for jaxdl's default (50 Newton steps, 500
        L-BFGS steps).
      dtype: ``"float64"`` (computed with 64-bit JAX types enabled for the call) or
        ``"float32"``.

    Attributes (after ``fit``): ``l2_`` (the chosen penalty), ``C_`` ``(1,)`` (binary) or
    ``(K,)``: ``1 / l2_`` repeated, as scikit-learn's; ``l2s_`` ``(G,)`` the grid and ``Cs_``
    ``= 1 / l2s_``; ``scores_`` ``(F, G)``: each fold's held-out score at each penalty, in
    scikit-learn's sign (higher is better: the negative mean log-loss, or the accuracy; equal
    to scikit-learn's ``scores_[cls]``); ``n_iter_`` ``(F, G)``: each fold's solver steps;
    ``coef_``, ``intercept_``, ``classes_``,
    ``n_features_in_``, ``feature_names_in_`` (for named columns); ``cv_result_``, the
    :class:`jaxdl.logistic.CVResult` (its ``scores`` in jaxdl's sign: log-loss lower is
    better; ``l2_1se``, ``status``, ``fold_params``, the refit ``fit``).

    Fold fits that do not converge warn (``ConvergenceWarning`` naming their statuses and
    penalties) and their penalties are not chosen; if no penalty converged in every fold, fit
    raises ``ValueError``. A refit that does not converge warns as
    :class:`LogisticRegression` does.

    Example:
      >>> from jaxdl import data
      >>> from jaxdl.estimators import LogisticRegressionCV
      >>> ds = data.load_breast_cancer(); Xs, _, _ = data.standardize(ds.X)
      >>> clf = LogisticRegressionCV(l2s=[0.1, 1.0, 10.0, 100.0], cv=5).fit(Xs, ds.y)
      >>> clf.l2_, clf.coef_.shape, round(clf.score(Xs, ds.y), 3)
      (1.0, (1, 30), 0.988)

    See the [Q1 derivation][q1-derivation] and the [Q7 derivation][q7-derivation].
    """

    def __init__(self, *, l2s: Any = 10, cv: Any = 5, scoring: str = "log_loss",
                 solver: str = "auto", refit: bool = True, tol: float | None = None,
                 max_iter: int | None = None, dtype: str = "float64"):
        self.l2s = l2s
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.refit = refit
        self.tol = tol
        self.max_iter = max_iter
        self.dtype = dtype

    def _grid(self) -> np.ndarray:
        if _is_int(self.l2s):
            if self.l2s < 1:
                raise ValueError(f"l2s: expected a grid size >= 1, got {self.l2s!r}")
            return np.logspace(-4, 4, int(self.l2s))
        try:
            grid = np.array(self.l2s, dtype=np.float64)  # a copy: the parameter is not changed
        except (TypeError, ValueError):
            grid = None
        if (grid is None or grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid))
                or np.any(grid < 0) or isinstance(self.l2s, (str, bytes, bool, np.bool_))):
            raise ValueError(f"l2s: expected an int >= 1 or a non-empty 1-D grid of finite "
                             f"penalties >= 0, got {self.l2s!r}")
        return grid

    def _check_params(self) -> tuple[np.dtype, np.ndarray, str]:
        grid = self._grid()
        if not isinstance(self.scoring, str) or self.scoring not in _SCORINGS:
            raise ValueError(f"scoring: expected one of {tuple(_SCORINGS)}, got "
                             f"{self.scoring!r}")
        if not isinstance(self.solver, str) or self.solver not in _CV_SOLVERS:
            raise ValueError(f"solver: expected one of {_CV_SOLVERS}, got {self.solver!r}")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit: expected a bool, got {self.refit!r}")
        _check_tol(self.tol)
        if self.max_iter is not None and not (_is_int(self.max_iter) and self.max_iter >= 1):
            raise ValueError(f"max_iter: expected None or an int >= 1, got {self.max_iter!r}")
        return _check_dtype(self.dtype), grid, _SCORINGS[self.scoring]

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *,
            groups: Any = None) -> LogisticRegressionCV:
        """Cross-validate the penalty on ``X (n, d)``, labels ``y (n,)`` (any hashable class
        labels), optional non-negative ``sample_weight (n,)`` (the fits weigh the rows and the
        held-out scores are weighted means) and ``groups`` (for a group splitter), and refit.
        Returns ``self``."""
        from jaxdl import logistic, multinomial, results

        dtype, grid, scoring = self._check_params()
        X, y, yi, sw = self._fit_data(X, y, sample_weight)
        folds = _fold_ids(self.cv, X, y, groups, sw)
        Xp, yp, swp = self._padded(X, yi, sw, dtype)
        fp = np.zeros(Xp.shape[0], np.int32)  # padding rows: in fold 0, with weight 0
        fp[:X.shape[0]] = folds
        k = self.classes_.size
        # Two classes: the logistic model, more: the K-class one (as fit_classifier chooses).
        model, extra = (logistic, {}) if k == 2 else (multinomial, {"num_classes": k})
        with self._x64(dtype):
            try:
                cv = model.cross_validate(
                    Xp, yp, l2=grid, folds=fp, scoring=scoring, sample_weight=swp,
                    solver=self.solver, gtol=self.tol, max_steps=self.max_iter, **extra)
            except results.SolverError as err:
                raise ValueError(f"l2s: expected a penalty at which every fold's fit "
                                 f"converges, got none: {err} (max_steps is max_iter here)") \
                    from None
            best = int(cv.best_index)
            if self.refit:
                params = cv.fit.params
            else:
                params = [np.asarray(a)[:, best].mean(axis=0) for a in cv.fold_params]
            self._set_coef(*params)
            scores = np.asarray(cv.scores)
            status = np.asarray(cv.status)
            self.n_iter_ = np.asarray(cv.steps)
            refit_status, refit_message = cv.fit.status_name, cv.fit.message
        self.l2s_ = grid
        with np.errstate(divide="ignore"):
            self.Cs_ = 1.0 / grid
            self.C_ = np.full(1 if k == 2 else k, 1.0 / grid[best])
        self.l2_ = float(grid[best])
        self.scores_ = -scores if scoring == "log_loss" else scores
        self.cv_result_ = cv
        failed = status != results.Status.CONVERGED
        if failed.any():
            names = [results.status_name(int(c)) for c in np.unique(status[failed])]
            warnings.warn(
                f"jaxdl LogisticRegressionCV: {int(failed.sum())} of {failed.size} fold fits "
                f"did not converge ({', '.join(names)}) at l2 in "
                f"{[float(v) for v in grid[failed.any(axis=0)]]}; those penalties were not "
                f"chosen. {results.message(int(status[failed][0]))} (max_steps is max_iter "
                f"here)", ConvergenceWarning, stacklevel=2)
        if self.refit and refit_status != "converged":
            warnings.warn(f"jaxdl LogisticRegressionCV's refit at l2 = {self.l2_} did not "
                          f"converge: {refit_message}", ConvergenceWarning, stacklevel=2)
        return self
