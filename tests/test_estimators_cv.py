"""jaxdl.estimators.LogisticRegressionCV: scikit-learn's own checks, and equality with
scikit-learn's LogisticRegressionCV given the same folds and grid (l2 = 1 / C)."""

import os
import pathlib
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    GroupKFold,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    TimeSeriesSplit,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from jaxdl import data  # noqa: E402
from jaxdl.estimators import LogisticRegression, LogisticRegressionCV  # noqa: E402

GRID = np.array([30.0, 0.03, 3.0, 0.3, 300.0, 1.0])  # deliberately unsorted


def _check_name(param) -> str:
    check = (param.values if hasattr(param, "values") else param)[1]
    return getattr(check, "func", check).__name__


# A small grid and 3 folds keep the checks quick (the fits compile once per data shape, for
# any grid length). scikit-learn's array-API check needs SCIPY_ARRAY_API set before scipy is
# first imported (else it skips): it runs in a fresh process below; every other check here.
_ESTIMATOR = "LogisticRegressionCV(l2s=[0.1, 1.0, 10.0], cv=3)"
_CHECKS = parametrize_with_checks([eval(_ESTIMATOR)])
assert any(_check_name(p) == "check_array_api_input" for p in _CHECKS.args[1])
_CHECKS = pytest.mark.parametrize(
    _CHECKS.args[0], [p for p in _CHECKS.args[1] if _check_name(p) != "check_array_api_input"],
    **_CHECKS.kwargs)

_ARRAY_API = f"""
from sklearn.utils.estimator_checks import check_array_api_input
from jaxdl.estimators import LogisticRegressionCV
check_array_api_input("LogisticRegressionCV", {_ESTIMATOR}, "numpy", check_values=True,
                      check_sample_weight=True, expect_only_array_outputs=True)
print("checked")
"""


# The checkout's jaxdl, also where another copy is installed.
ROOT = pathlib.Path(__file__).resolve().parents[1]


def BACKGROUND(start):
    start("array_api", [sys.executable, "-c", _ARRAY_API],
          env={**os.environ, "SCIPY_ARRAY_API": "1", "PYTHONPATH": os.pathsep.join(
              filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})


@_CHECKS
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_sklearn_array_api_check(background):
    # Fit, attributes and every method's output under array_api_dispatch equal the NumPy run.
    code, out, err = background["array_api"].result(timeout=300)
    assert code == 0 and out.strip() == "checked", err


# ----------------------------------------------------------------------------------------------
# Against scikit-learn's LogisticRegressionCV.


def _sklearn(X, y, l2s, cv, scoring="neg_log_loss", sample_weight=None, **kwargs):
    """scikit-learn's estimator at Cs = 1 / l2s, its Newton solver at a tight tolerance, and its
    fold scores ``(F, G)`` and chosen C (either attribute layout of scikit-learn)."""
    Cs = 10 if isinstance(l2s, int) else 1.0 / np.asarray(l2s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # its changing defaults
        est = SkLogisticRegressionCV(Cs=Cs, cv=cv, scoring=scoring, solver="newton-cholesky",
                                     tol=1e-12, max_iter=1000, **kwargs).fit(
            X, y, sample_weight=sample_weight)
    scores = (est.scores_[:, 0, :] if isinstance(est.scores_, np.ndarray)
              else next(iter(est.scores_.values())))
    return est, scores, float(np.ravel(est.C_)[0])


def _close(ours, theirs, rtol):
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


@pytest.fixture(scope="module")
def cancer():
    ds = data.load_breast_cancer()
    return StandardScaler().fit_transform(ds.X), ds.y


@pytest.fixture(scope="module")
def digits():
    ds = data.load_digits()
    X = ds.X / 16
    # 16 pixels, none near-constant: the fits of every (fold, penalty) pair run at once for
    # K = 3, and each fold along the penalty path for K = 4 (jaxdl picks by problem size).
    return X[:, X.std(axis=0) > 0.2][:, :16], ds.y


def test_binary_equals_scikit_learn(cancer):
    X, y = cancer
    ours = LogisticRegressionCV(l2s=GRID, cv=5).fit(X, y)
    ref, scores, C = _sklearn(X, y, GRID, 5)  # cv=5: the same StratifiedKFold(5)
    assert ours.l2_ == 1 / C and ours.C_.shape == (1,) and ours.C_[0] == C
    assert len(set(np.round(ours.scores_.mean(axis=0), 6))) == GRID.size  # the grid matters
    np.testing.assert_allclose(ours.scores_, scores, rtol=1e-9)
    _close(ours.coef_, ref.coef_, 1e-8)
    _close(ours.intercept_, ref.intercept_, 1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-8,
                               atol=1e-14)
    np.testing.assert_array_equal(ours.l2s_, GRID)
    np.testing.assert_array_equal(ours.Cs_, 1 / GRID)
    assert ours.scores_.shape == ours.n_iter_.shape == (5, GRID.size)
    np.testing.assert_array_equal(ours.n_iter_, np.asarray(ours.cv_result_.steps))
    assert np.all(ours.n_iter_ >= 1)
    # cv_result_ keeps jaxdl's sign: the held-out log-loss, lower is better.
    np.testing.assert_array_equal(np.asarray(ours.cv_result_.scores), -ours.scores_)


def test_default_grid_equals_scikit_learn_default(cancer):
    # l2s=10 is scikit-learn's Cs=10: ten values log-spaced over 1e-4 .. 1e4.
    X, y = cancer
    ours = LogisticRegressionCV().fit(X, y)
    ref, scores, C = _sklearn(X, y, 10, 5)
    np.testing.assert_allclose(np.sort(ours.Cs_), ref.Cs_, rtol=1e-14)
    assert ours.l2_ == pytest.approx(1 / C, rel=1e-14)
    _close(ours.coef_, ref.coef_, 1e-8)
    # The grid runs the other way (l2s_ up is Cs_ down). At the smallest penalties a few
    # held-out rows get probabilities near 0, which scikit-learn's scores round (1 - p) and
    # clip (at eps); jaxdl's come from the logits. Compare where they are far from both.
    scores = scores[:, ::-1]
    keep = ours.l2s_ >= 0.3
    np.testing.assert_allclose(ours.scores_[:, keep], scores[:, keep], rtol=1e-9)


@pytest.mark.parametrize("k", [3, 4])
def test_multiclass_equals_scikit_learn(digits, k):
    X, y = digits
    keep = y < k
    X, y = X[keep], y[keep]
    ours = LogisticRegressionCV(l2s=GRID, cv=4).fit(X, y)
    ref, scores, C = _sklearn(X, y, GRID, 4)
    assert ours.l2_ == 1 / C and ours.C_.shape == (k,) and np.all(ours.C_ == C)
    np.testing.assert_allclose(ours.scores_, scores, rtol=1e-9)
    _close(ours.coef_, ref.coef_, 1e-8)
    # Intercepts are unpenalised, so unique up to a common shift: jaxdl's sum to zero.
    _close(ours.intercept_, ref.intercept_ - ref.intercept_.mean(), 1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-8,
                               atol=1e-14)
    assert ours.coef_.shape == (k, X.shape[1]) and ours.score(X, y) > 0.85


def test_accuracy_scoring_equals_scikit_learn(cancer):
    X, y = cancer
    ours = LogisticRegressionCV(l2s=GRID, cv=3, scoring="accuracy").fit(X, y)
    ref, scores, C = _sklearn(X, y, GRID, 3, scoring="accuracy")
    np.testing.assert_array_equal(ours.scores_, scores)
    assert ours.l2_ == 1 / C
    np.testing.assert_array_equal(np.asarray(ours.cv_result_.scores), ours.scores_)


def test_neg_log_loss_is_log_loss(cancer):
    X, y = cancer
    a = LogisticRegressionCV(l2s=GRID, cv=3).fit(X, y)
    b = LogisticRegressionCV(l2s=GRID, cv=3, scoring="neg_log_loss").fit(X, y)
    np.testing.assert_array_equal(a.scores_, b.scores_)
    assert np.all(a.scores_ < 0)


def test_sample_weight_equals_scikit_learn(cancer):
    # The weights reach the fits and the held-out scores (weighted means), as scikit-learn's.
    X, y = cancer
    sw = np.random.default_rng(0).integers(0, 4, size=y.size).astype(float)
    grid = GRID[GRID >= 0.3]  # held-out probabilities well away from 0 (see above)
    ours = LogisticRegressionCV(l2s=grid, cv=5).fit(X, y, sample_weight=sw)
    ref, scores, C = _sklearn(X, y, grid, 5, sample_weight=sw)
    np.testing.assert_allclose(ours.scores_, scores, rtol=1e-9)
    assert ours.l2_ == 1 / C
    _close(ours.coef_, ref.coef_, 1e-8)
    unweighted = LogisticRegressionCV(l2s=grid, cv=5).fit(X, y)
    assert np.abs(unweighted.scores_ - ours.scores_).max() > 1e-3


# ----------------------------------------------------------------------------------------------
# refit=False, folds, labels.


def test_refit_false_is_the_folds_mean(cancer):
    X, y = cancer
    ours = LogisticRegressionCV(l2s=GRID, cv=5, refit=False).fit(X, y)
    refit = LogisticRegressionCV(l2s=GRID, cv=5).fit(X, y)
    assert ours.l2_ == refit.l2_
    fits = [LogisticRegression(l2=ours.l2_).fit(X[train], y[train])
            for train, _ in StratifiedKFold(5).split(X, y)]
    _close(ours.coef_, np.mean([f.coef_ for f in fits], axis=0), 1e-8)
    _close(ours.intercept_, np.mean([f.intercept_ for f in fits], axis=0), 1e-8)
    assert np.abs(ours.coef_ - refit.coef_).max() > 1e-3 * np.abs(refit.coef_).max()
    # Where every fold's own best penalty is the chosen one, scikit-learn's refit=False (the
    # mean of each fold's fit at its own best C) is the same mean.
    grid = np.array([0.1, 1.0, 10.0])
    ours = LogisticRegressionCV(l2s=grid, cv=3, refit=False).fit(X, y)
    assert np.all(np.argmax(ours.scores_, axis=1) == 1)
    ref, _, C = _sklearn(X, y, grid, 3, refit=False)
    assert ours.l2_ == 1 / C
    _close(ours.coef_, ref.coef_, 1e-8)
    _close(ours.intercept_, ref.intercept_, 1e-8)


def _relabelled(y, labels):
    return np.asarray(labels)[y]


@pytest.mark.parametrize("labels", [["no", "yes"], ["yes", "no"], [7, -3]])
def test_relabelled_binary_classes(cancer, labels):
    X, y = cancer
    splits = list(StratifiedKFold(3).split(X, y))
    base = LogisticRegressionCV(l2s=GRID, cv=splits).fit(X, y)
    ours = LogisticRegressionCV(l2s=GRID, cv=splits).fit(X, _relabelled(y, labels))
    order = np.argsort(labels)  # classes_ sorted: column j is original class order[j]
    np.testing.assert_array_equal(ours.classes_, np.asarray(labels)[order])
    _close(ours.predict_proba(X), base.predict_proba(X)[:, order], 1e-9)
    np.testing.assert_array_equal(ours.predict(X), _relabelled(base.predict(X), labels))
    np.testing.assert_allclose(ours.scores_, base.scores_, rtol=1e-12)
    assert ours.l2_ == base.l2_


@pytest.mark.parametrize("labels", [["c", "a", "b"], [10, -3, 7]])
def test_relabelled_multiclass_classes(digits, labels):
    X, y = digits
    keep = y < 3
    X, y = X[keep], y[keep]
    splits = list(StratifiedKFold(3).split(X, y))
    base = LogisticRegressionCV(l2s=GRID, cv=splits).fit(X, y)
    ours = LogisticRegressionCV(l2s=GRID, cv=splits).fit(X, _relabelled(y, labels))
    order = np.argsort(labels)
    np.testing.assert_array_equal(ours.classes_, np.asarray(labels)[order])
    _close(ours.predict_proba(X), base.predict_proba(X)[:, order], 1e-9)
    _close(ours.coef_, base.coef_[order], 1e-9)
    np.testing.assert_allclose(ours.scores_, base.scores_, rtol=1e-10)


@pytest.mark.parametrize("splitter", [StratifiedKFold(4, shuffle=True, random_state=0),
                                      KFold(4, shuffle=True, random_state=1)])
def test_splitter_objects_equal_scikit_learn(cancer, splitter):
    X, y = cancer
    ours = LogisticRegressionCV(l2s=GRID, cv=splitter).fit(X, y)
    ref, scores, C = _sklearn(X, y, GRID, splitter)
    np.testing.assert_allclose(ours.scores_, scores, rtol=1e-9)
    assert ours.l2_ == 1 / C
    _close(ours.coef_, ref.coef_, 1e-8)
    unshuffled = LogisticRegressionCV(l2s=GRID, cv=4).fit(X, y)
    assert np.abs(unshuffled.scores_ - ours.scores_).max() > 1e-3  # the splitter is used


def test_group_splitter_takes_the_groups(cancer):
    X, y = cancer
    groups = np.arange(y.size) % 7
    ours = LogisticRegressionCV(l2s=GRID, cv=GroupKFold(3)).fit(X, y, groups=groups)
    splits = list(GroupKFold(3).split(X, y, groups))
    ref, scores, C = _sklearn(X, y, GRID, splits)
    np.testing.assert_allclose(ours.scores_, scores, rtol=1e-9)
    _close(ours.coef_, ref.coef_, 1e-8)
    with pytest.raises(ValueError, match="cv: expected a splitter that can split these rows"):
        LogisticRegressionCV(l2s=GRID, cv=GroupKFold(3)).fit(X, y)  # no groups


def test_is_the_grid_search_over_l2(cancer):
    # The estimator replaces GridSearchCV over LogisticRegression(l2) with the same scoring and
    # folds: the same fold scores and the same choice, with one compiled program for all fits.
    X, y = cancer
    ours = LogisticRegressionCV(l2s=GRID, cv=3).fit(X, y)
    grid = GridSearchCV(LogisticRegression(), {"l2": list(GRID)}, cv=3,
                        scoring="neg_log_loss").fit(X, y)
    for k in range(3):
        np.testing.assert_allclose(ours.scores_[k], grid.cv_results_[f"split{k}_test_score"],
                                   rtol=1e-9)
    assert ours.l2_ == grid.best_params_["l2"]
    _close(ours.coef_, grid.best_estimator_.coef_, 1e-8)


def test_pipeline_with_a_scaler(cancer):
    ds = data.load_breast_cancer()
    pipe = make_pipeline(StandardScaler(), LogisticRegressionCV(l2s=GRID, cv=3)).fit(ds.X, ds.y)
    assert pipe.score(ds.X, ds.y) > 0.97
    # The scaler is fitted on all rows, then the estimator cross-validates the scaled rows.
    X, y = cancer
    alone = LogisticRegressionCV(l2s=GRID, cv=3).fit(X, y)
    np.testing.assert_allclose(pipe[-1].coef_, alone.coef_, rtol=1e-12)
    np.testing.assert_allclose(pipe.predict_proba(ds.X), alone.predict_proba(X), rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# Failures and bad parameters.


def _separable():
    X = np.r_[np.linspace(-2, -0.5, 30), np.linspace(0.5, 2, 30)][:, None]
    return X, np.r_[np.zeros(30), np.ones(30)]


def test_failed_folds_warn_and_are_not_chosen(cancer):
    X, y = _separable()
    with pytest.warns(ConvergenceWarning, match=r"3 of 9 fold fits did not converge "
                                                r"\(separable\) at l2 in \[0.0\]"):
        clf = LogisticRegressionCV(l2s=[0.0, 0.1, 1.0], cv=3).fit(X, y)
    assert clf.l2_ > 0 and np.all(clf.cv_result_.status_name[0][1:] == ["converged"] * 2)
    with pytest.raises(ValueError, match="l2s: expected a penalty at which every fold's fit "
                                         "converges, got none"):
        LogisticRegressionCV(l2s=[0.0], cv=3).fit(X, y)
    Xc, yc = cancer
    with pytest.raises(ValueError, match="max_iter here"):
        LogisticRegressionCV(l2s=GRID, cv=3, max_iter=1).fit(Xc, yc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegressionCV(l2s=GRID, cv=3).fit(Xc, yc)  # converged fits are silent


def test_float32(cancer):
    X, y = cancer
    c32 = LogisticRegressionCV(l2s=GRID, cv=3, dtype="float32").fit(X, y)
    c64 = LogisticRegressionCV(l2s=GRID, cv=3).fit(X, y)
    assert c32.coef_.dtype == c32.scores_.dtype == np.float32 and c32.l2_ == c64.l2_
    np.testing.assert_allclose(c32.coef_, c64.coef_, rtol=1e-3, atol=1e-4)


_X4 = np.arange(40.0).reshape(20, 2)
_Y4 = np.arange(20) % 2
_HALVES = (np.arange(10), np.arange(10, 20))


@pytest.mark.parametrize("param, value, match", [
    ("l2s", -1.0, "l2s: expected an int >= 1 or a non-empty 1-D grid"),
    ("l2s", 0, "l2s: expected a grid size >= 1"),
    ("l2s", [], "l2s: expected an int >= 1 or a non-empty 1-D grid"),
    ("l2s", [1.0, np.nan], "l2s: expected an int >= 1 or a non-empty 1-D grid"),
    ("l2s", [[1.0]], "l2s: expected an int >= 1 or a non-empty 1-D grid"),
    ("l2s", "1.0", "l2s: expected an int >= 1 or a non-empty 1-D grid"),
    ("scoring", "roc_auc", "scoring: expected one of"),
    ("scoring", None, "scoring: expected one of"),
    ("solver", "gd", "solver: expected one of"),
    ("refit", "yes", "refit: expected a bool"),
    ("tol", 0.0, "tol: expected None or a finite number > 0"),
    ("max_iter", 0, "max_iter: expected None or an int >= 1"),
    ("dtype", "int32", "dtype: expected 'float32' or 'float64'"),
    ("cv", 1, "cv: expected a fold count >= 2"),
    ("cv", 1.5, "cv: expected None, an int >= 2, a scikit-learn splitter or an iterable"),
    ("cv", "five", "cv: expected None, an int >= 2, a scikit-learn splitter or an iterable"),
    ("cv", True, "cv: expected None, an int >= 2, a scikit-learn splitter or an iterable"),
    ("cv", 50, "cv: expected a splitter that can split these rows"),
    ("cv", ShuffleSplit(3, test_size=0.3, random_state=0), "cv: expected test sets that"),
    ("cv", TimeSeriesSplit(3), "cv: expected each split to train on every row it does not"),
    ("cv", [_HALVES], "cv: expected at least 2 splits, got 1"),
    ("cv", [_HALVES, _HALVES[::-1], _HALVES], "cv: expected test sets that do not overlap"),
    ("cv", [(np.arange(5, 20), np.arange(5)), (np.arange(5), np.arange(5, 10))],
     "cv: expected each split to train on every row"),
    ("cv", [(np.arange(10, 20), np.arange(10)), (np.arange(10), np.arange(10, 19))],
     "cv: expected each split to train on every row"),
    ("cv", [(np.arange(10, 20), np.arange(10)), (np.arange(10), np.arange(10, 21))],
     r"cv: expected 1-D arrays of row indices 0..19"),
    ("cv", [(1, 2), (3, 4)], r"cv: expected 1-D arrays of row indices"),
    ("cv", [(np.arange(10, 20), np.arange(10)), 5], r"cv: expected \(train, test\) index pairs"),
])
def test_bad_parameters_are_named(param, value, match):
    with pytest.raises(ValueError, match=match):
        LogisticRegressionCV(**{"l2s": [1.0], param: value}).fit(_X4, _Y4)


def test_incomplete_splits_are_refused():
    # Test sets that miss a row (each split's training rows are its complement).
    rows = np.arange(20)
    splits = [(np.setdiff1d(rows, t), t) for t in (np.arange(9), np.arange(10, 20))]
    with pytest.raises(ValueError, match="cv: expected test sets that together cover every "
                                         "row .* got row 9 in none"):
        LogisticRegressionCV(l2s=[1.0], cv=splits).fit(_X4, _Y4)


def test_a_fold_without_weight_is_named_cv():
    sw = np.r_[np.zeros(10), np.ones(10)]
    with pytest.raises(ValueError, match="cv: expected every split to hold out rows of "
                                         "positive weight and train on some, got split 0"):
        LogisticRegressionCV(l2s=[1.0], cv=[_HALVES[::-1], _HALVES]).fit(
            _X4, _Y4, sample_weight=sw)
