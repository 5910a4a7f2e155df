"""jaxdl.estimators.LogisticRegression: scikit-learn's own checks, pipelines, grid search."""

import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from jaxdl import data  # noqa: E402
from jaxdl.estimators import LogisticRegression  # noqa: E402


def _check_name(param) -> str:
    check = (param.values if hasattr(param, "values") else param)[1]
    return getattr(check, "func", check).__name__


# scikit-learn's array-API check needs SCIPY_ARRAY_API set before scipy is first imported (else it
# skips): it runs in a fresh process below; every other check runs here.
_CHECKS = parametrize_with_checks([LogisticRegression()])
assert any(_check_name(p) == "check_array_api_input" for p in _CHECKS.args[1])
_CHECKS = pytest.mark.parametrize(
    _CHECKS.args[0], [p for p in _CHECKS.args[1] if _check_name(p) != "check_array_api_input"],
    **_CHECKS.kwargs)

_ARRAY_API = """
from sklearn.utils.estimator_checks import check_array_api_input
from jaxdl.estimators import LogisticRegression
check_array_api_input("LogisticRegression", LogisticRegression(), "numpy", check_values=True,
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
    # Fit, attributes and every method's output under array_api_dispatch equal the NumPy run
    # (namespace, shape, dtype and values).
    code, out, err = background["array_api"].result(timeout=300)
    assert code == 0 and out.strip() == "checked", err


def test_import_jaxdl_does_not_import_sklearn():
    code = "import sys, jaxdl; sys.exit(1 if 'sklearn' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture(scope="module")
def cancer():
    ds = data.load_breast_cancer()
    return ds.X, ds.y


def test_binary_equals_sklearn_at_the_same_penalty(cancer):
    # l2 = 1 / C: scikit-learn minimises C sum CE + ||w||^2 / 2.
    X, y = cancer
    Xs = StandardScaler().fit_transform(X)
    ours = LogisticRegression(l2=0.5).fit(Xs, y)
    ref = SkLogisticRegression(C=2.0, solver="newton-cholesky", tol=1e-14,
                               max_iter=1000).fit(Xs, y)
    assert ours.status_ == "converged"
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(Xs), ref.predict_proba(Xs), rtol=1e-8,
                               atol=1e-14)


# GD at the safe rate 1 / L is slow on this conditioning: a looser tolerance, and the estimate
# is then within about tol * n / lambda_min(H) of the optimum.
@pytest.mark.parametrize("solver, tol, max_iter, rtol", [
    ("newton", 1e-10, 100, 1e-8), ("lbfgs", 1e-8, 2000, 1e-5), ("gd", 1e-5, 50000, 1e-2)])
def test_pipeline_and_solvers(cancer, solver, tol, max_iter, rtol):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), LogisticRegression(solver=solver, l2=1.0, tol=tol,
                                                              max_iter=max_iter))
    pipe.fit(X, y)
    clf = pipe[-1]
    assert clf.status_ == "converged" and clf.n_iter_.shape == (1,)
    assert clf.coef_.shape == (1, 30) and clf.intercept_.shape == (1,)
    assert pipe.score(X, y) > 0.97
    # l2 = 1 / C (see above): scikit-learn's own Newton solver at a tight tolerance
    ref = make_pipeline(StandardScaler(), SkLogisticRegression(
        C=1.0, solver="newton-cholesky", tol=1e-14, max_iter=1000)).fit(X, y)[-1]
    for ours, theirs in ((clf.coef_, ref.coef_), (clf.intercept_, ref.intercept_)):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.max(np.abs(theirs)))


def test_grid_search_over_l2(cancer):
    X, y = cancer
    grid = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                        {"logisticregression__l2": [0.1, 1.0, 10.0]}, cv=3)
    grid.fit(X, y)
    # The same search over scikit-learn's estimator at C = 1 / l2, on the same folds: the same
    # fold scores (l2 reaches the fit through set_params and clone), so the same choice.
    ref = GridSearchCV(make_pipeline(StandardScaler(), SkLogisticRegression(
        solver="newton-cholesky", tol=1e-14, max_iter=1000)),
        {"logisticregression__C": [10.0, 1.0, 0.1]}, cv=3).fit(X, y)
    for k in range(3):
        np.testing.assert_array_equal(grid.cv_results_[f"split{k}_test_score"],
                                      ref.cv_results_[f"split{k}_test_score"])
    assert len(set(grid.cv_results_["mean_test_score"])) > 1  # the penalty changes the scores
    assert grid.best_params_["logisticregression__l2"] == 1 / ref.best_params_[
        "logisticregression__C"]
    assert grid.best_score_ == ref.best_score_ > 0.95


def test_multiclass_goes_through_softmax():
    ds = data.load_digits()
    keep = ds.y < 4
    X, y = ds.X[keep] / 16, np.array(["abcd"[c] for c in ds.y[keep]])
    clf = LogisticRegression(l2=1.0).fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c", "d"]
    assert clf.coef_.shape == (4, 64) and clf.intercept_.shape == (4,)
    # l2 > 0: every class penalised, so the rows of coef_ and the intercepts sum to zero.
    np.testing.assert_allclose(clf.coef_.sum(axis=0), 0, atol=1e-10 * np.abs(clf.coef_).max())
    assert abs(clf.intercept_.sum()) < 1e-12 * np.abs(clf.intercept_).sum()
    assert clf.score(X, y) > 0.95
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(np.log(P), clf.predict_log_proba(X), rtol=1e-10, atol=1e-12)


def test_no_intercept_holds_it_at_zero(cancer):
    X, y = cancer
    Xs = StandardScaler().fit_transform(X)
    for solver in ("newton", "lbfgs"):
        ours = LogisticRegression(solver=solver, fit_intercept=False, tol=1e-9,
                                  max_iter=2000).fit(Xs, y)
        assert ours.status_ == "converged" and np.all(ours.intercept_ == 0)
        ref = SkLogisticRegression(fit_intercept=False, solver="newton-cholesky", tol=1e-14,
                                   max_iter=1000).fit(Xs, y)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    y3 = np.arange(Xs.shape[0]) % 3
    multi = LogisticRegression(fit_intercept=False).fit(Xs[:, :4], y3)
    assert multi.status_ == "converged" and np.all(multi.intercept_ == 0)


def test_failed_fits_warn_with_the_status(cancer):
    X, y = cancer
    Xs = StandardScaler().fit_transform(X)
    with pytest.warns(ConvergenceWarning, match="separable"):
        clf = LogisticRegression(l2=0.0).fit(Xs, y)
    assert clf.status_ == "separable"
    with pytest.warns(ConvergenceWarning, match="max_steps"):
        clf = LogisticRegression(max_iter=1).fit(Xs, y)
    assert clf.status_ == "max_steps"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression().fit(Xs, y)  # a converged fit is silent


def test_float32(cancer):
    X, y = cancer
    Xs = StandardScaler().fit_transform(X)
    c32 = LogisticRegression(dtype="float32").fit(Xs, y)
    c64 = LogisticRegression().fit(Xs, y)
    assert c32.coef_.dtype == np.float32 and c32.status_ == "converged"
    np.testing.assert_allclose(c32.coef_, c64.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("param, value, match", [
    ("solver", "sag", "solver: expected one of"),
    ("l2", -1.0, "l2: expected a finite number >= 0"),
    ("tol", 0.0, "tol: expected None or a finite number > 0"),
    ("max_iter", 0, "max_iter: expected an int >= 1"),
    ("fit_intercept", "yes", "fit_intercept: expected a bool"),
    ("dtype", "int32", "dtype: expected 'float32' or 'float64'"),
])
def test_bad_parameters_are_named(cancer, param, value, match):
    X, y = cancer
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**{param: value}).fit(X[:20], y[:20])


def test_one_weighted_class_is_an_error(cancer):
    X, y = cancer
    sw = (y == 1).astype(float)
    with pytest.raises(ValueError, match="sample_weight: expected positive weight on at least 2"):
        LogisticRegression().fit(X, y, sample_weight=sw)
