"""Cross-validation of the penalty (logistic and K-class) against scikit-learn, and its rules."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _cross_validation, _fit, _linear_model, data, logistic, multinomial
from jaxdl.results import SolverError, Status

GRID = np.array([30.0, 0.03, 3.0, 0.3, 300.0, 1.0])  # deliberately unsorted


# Most tests share one binary shape (180 x 5, 3 folds) and one K-class shape (240 x 4, K = 3,
# 3 folds), so that they share compiled programs; the comparisons with scikit-learn use larger
# problems of their own.
def _binary(n=180, d=5, dtype=jnp.float64, seed=0):
    X, y, _, _ = data.make_logistic(jax.random.key(seed), n, d, dtype=dtype, scale=2.0)
    return X, y


def _multi(n=240, d=4, k=3, dtype=jnp.float64, seed=1):
    return data.make_multiclass(jax.random.key(seed), n, d, k, dtype=dtype, scale=2.0)


def _splits(ids):
    return [(np.flatnonzero(ids != f), np.flatnonzero(ids == f)) for f in range(ids.max() + 1)]


def _sklearn_cv(X, y, ids, grid, scoring, solver="newton-cholesky"):
    from sklearn.linear_model import LogisticRegressionCV

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegressionCV(Cs=1.0 / grid, cv=_splits(ids), scoring=scoring,
                                    solver=solver, tol=1e-12, max_iter=1000).fit(
            np.asarray(X), np.asarray(y))


@pytest.fixture(params=["parallel", "path"])
def layout(request, monkeypatch):
    """Both ways of running the fits: every (fold, penalty) pair at once, or each fold along
    the path with warm starts (chosen by problem size; forced here)."""
    if request.param == "path":
        monkeypatch.setattr(_linear_model, "CV_PARALLEL_MAX_WORK", 0)
    else:
        monkeypatch.setattr(_linear_model, "CV_PARALLEL_MAX_WORK", 1 << 40)
    return request.param


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_logistic_equals_scikit_learn(layout, solver):
    X, y = _binary(n=400)
    ids, k = _cross_validation.fold_ids(np.asarray(y), 5, 0, np.ones(X.shape[0]))
    cv = logistic.cross_validate(X, y, l2=GRID, folds=ids, solver=solver, gtol=1e-13)
    est = _sklearn_cv(X, y, ids, GRID, "neg_log_loss")
    np.testing.assert_allclose(np.asarray(cv.scores), -est.scores_[1.0], rtol=1e-9)
    assert float(cv.best_l2) == pytest.approx(1.0 / est.C_[0], rel=1e-12)
    theta = np.r_[np.asarray(cv.fit.params[0]), float(cv.fit.params[1])]
    ref = np.r_[est.coef_[0], est.intercept_[0]]
    np.testing.assert_allclose(theta, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    assert cv.ok and cv.status.shape == (5, GRID.size)
    assert np.all(np.asarray(cv.l2) == GRID)  # reported in the order given


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_multinomial_equals_scikit_learn(layout, solver):
    X, y = _multi(n=360, k=4)
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 4, 3, np.ones(X.shape[0]))
    grid = GRID[GRID > 0.1]
    cv = multinomial.cross_validate(X, y, l2=grid, folds=ids, solver=solver, gtol=1e-13)
    est = _sklearn_cv(X, y, ids, grid, "neg_log_loss")
    np.testing.assert_allclose(np.asarray(cv.scores), -est.scores_[0], rtol=1e-9)
    assert float(cv.best_l2) == pytest.approx(1.0 / est.C_[0], rel=1e-12)
    W, b = (np.asarray(a) for a in cv.fit.params)
    np.testing.assert_allclose(W, est.coef_, rtol=1e-8, atol=1e-10 * np.abs(W).max())
    np.testing.assert_allclose(b, est.intercept_ - est.intercept_.mean(), atol=1e-9)


def test_accuracy_scoring_equals_scikit_learn():
    X, y = _binary(n=400, seed=3)
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 3, 1, np.ones(X.shape[0]))
    cv = logistic.cross_validate(X, y, l2=GRID, folds=ids, scoring="accuracy")
    est = _sklearn_cv(X, y, ids, GRID, "accuracy")
    np.testing.assert_array_equal(np.asarray(cv.scores), est.scores_[1.0])
    best = int(cv.best_index)
    assert float(cv.mean[best]) == np.max(np.asarray(cv.mean))


def test_float32_agrees_with_float64(layout):
    X, y = _binary(n=400)
    cv64 = logistic.cross_validate(X, y, l2=GRID, folds=5)
    cv32 = logistic.cross_validate(X.astype(jnp.float32), y.astype(jnp.float32), l2=GRID,
                                   folds=5)
    assert cv32.scores.dtype == jnp.float32 and cv32.fit.params[0].dtype == jnp.float32
    eps = float(jnp.finfo(jnp.float32).eps)
    np.testing.assert_allclose(np.asarray(cv32.scores), np.asarray(cv64.scores),
                               rtol=2000 * eps)
    assert float(cv32.best_l2) == float(cv64.best_l2)
    np.testing.assert_allclose(np.asarray(cv32.fit.params[0]), np.asarray(cv64.fit.params[0]),
                               rtol=2000 * eps, atol=2000 * eps)


def test_mean_se_and_the_one_standard_error_rule():
    X, y = _binary(seed=5)
    grid = np.logspace(-3, 3, 13)
    cv = logistic.cross_validate(X, y, l2=grid, folds=3)
    scores = np.asarray(cv.scores)
    np.testing.assert_allclose(np.asarray(cv.mean), scores.mean(0), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(cv.se), scores.std(0, ddof=1) / np.sqrt(3),
                               rtol=1e-12)
    best = int(np.argmin(scores.mean(0)))
    assert int(cv.best_index) == best and float(cv.best_l2) == grid[best]
    within = scores.mean(0) <= scores.mean(0)[best] + np.asarray(cv.se)[best]
    assert float(cv.l2_1se) == grid[within].max()
    assert float(cv.l2_1se) >= float(cv.best_l2)


def test_stratified_seeded_folds():
    y = np.r_[np.zeros(37), np.ones(23)]
    ids, k = _cross_validation.fold_ids(y, 5, 7, np.ones(60))
    assert k == 5 and ids.dtype == np.int32
    assert np.all(np.bincount(ids, minlength=5) == 12)
    for c in (0, 1):
        counts = np.bincount(ids[y == c], minlength=5)
        assert counts.max() - counts.min() <= 1
    again, _ = _cross_validation.fold_ids(y, 5, 7, np.ones(60))
    other, _ = _cross_validation.fold_ids(y, 5, 8, np.ones(60))
    np.testing.assert_array_equal(ids, again)
    assert np.any(ids != other)


def test_fold_count_equals_the_same_folds_given():
    X, y = _binary(seed=2)
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 3, 11, np.ones(180))
    a = logistic.cross_validate(X, y, l2=GRID, folds=3, seed=11)
    b = logistic.cross_validate(X, y, l2=GRID, folds=ids)
    np.testing.assert_array_equal(np.asarray(a.scores), np.asarray(b.scores))


def test_weights_count_as_repeated_rows(layout):
    X, y = _binary(seed=4)
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 3, 0, np.ones(180))
    reps = np.asarray(jax.random.randint(jax.random.key(9), (180,), 1, 4))
    Xr, yr, idr = (np.repeat(np.asarray(a), reps, axis=0) for a in (X, y, ids))
    w = logistic.cross_validate(X, y, l2=GRID, folds=ids, sample_weight=reps.astype(float),
                                gtol=1e-13)
    r = logistic.cross_validate(Xr, yr, l2=GRID, folds=idr, gtol=1e-13)
    np.testing.assert_allclose(np.asarray(w.scores), np.asarray(r.scores), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(w.fit.params[0]), np.asarray(r.fit.params[0]),
                               rtol=1e-9)


def test_one_program_for_any_grid_length(layout):
    X, y = _binary(seed=6)
    logistic.cross_validate(X, y, l2=[1.0, 2.0], folds=3)
    before = _fit.cv_path._cache_size()
    for grid in ([0.5], [1.0, 2.0, 3.0], np.logspace(-2, 2, 11)):
        cv = logistic.cross_validate(X, y, l2=grid, folds=3)
        assert cv.scores.shape == (3, len(grid))
    assert _fit.cv_path._cache_size() == before


def test_a_failed_fold_keeps_its_status_and_is_not_chosen():
    # Separable data: without a penalty there is no finite fit in any fold.
    X = jnp.asarray(np.r_[np.linspace(-2, -0.5, 30), np.linspace(0.5, 2, 30)][:, None])
    y = jnp.asarray(np.r_[np.zeros(30), np.ones(30)])
    cv = logistic.cross_validate(X, y, l2=[0.0, 0.1, 1.0], folds=3)
    status = np.asarray(cv.status)
    assert np.all(status[:, 0] == Status.SEPARABLE) and np.all(status[:, 1:] == 0)
    assert float(cv.best_l2) > 0 and bool(cv.fit.ok) and not bool(cv.ok)
    with pytest.raises(SolverError, match="no penalty of the grid has every fold"):
        logistic.cross_validate(X, y, l2=[0.0], folds=3)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(folds=1), ValueError, "folds: expected a fold count from 2"),
    (dict(folds=1000), ValueError, "folds: expected a fold count from 2"),
    (dict(folds=True), TypeError, "folds: expected a fold count"),
    (dict(folds=np.zeros(7, int)), ValueError, r"folds: expected .*shape \(40,\)"),
    (dict(folds=np.r_[np.zeros(20, int), 2 * np.ones(20, int)]), ValueError, "fold 1 empty"),
    (dict(folds=np.full(40, 0.5)), TypeError, "folds: expected integer fold ids"),
    (dict(l2=[]), ValueError, "l2: expected a non-empty grid"),
    (dict(l2=[1.0, -1.0]), ValueError, "l2: expected a non-empty grid of finite penalties"),
    (dict(l2=[np.nan]), ValueError, "l2: expected finite values"),
    (dict(scoring="auc"), ValueError, "scoring: expected one of"),
    (dict(solver="gd"), ValueError, "solver: expected one of"),
    (dict(seed=1.5), TypeError, "seed: expected an int"),
    (dict(max_steps=0), ValueError, "max_steps"),
    (dict(sample_weight=np.r_[np.zeros(20), np.ones(20)], folds=np.r_[np.zeros(20, int),
                                                                    np.ones(20, int)]),
     ValueError, "fold 0, which holds out none"),
])
def test_bad_arguments_are_named(kwargs, err, match):
    X, y = _binary(n=40, d=2)
    kwargs = {"l2": [1.0], **kwargs}
    with pytest.raises(err, match=match):
        logistic.cross_validate(X, y, **kwargs)


def test_fold_params_are_the_folds_fits():
    X, y = _multi()
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 3, 0, np.ones(240))
    grid = np.array([0.0, 2.0])
    cv = multinomial.cross_validate(X, y, l2=grid, folds=ids, gtol=1e-13)
    W, b = cv.fold_params
    assert W.shape == (3, 2, 3, 4) and b.shape == (3, 2, 3)
    for f in (0, 2):
        for j, l2 in enumerate(grid):
            ref = multinomial.fit_newton(X, y, l2=l2, sample_weight=(ids != f).astype(float),
                                         gtol=1e-13)
            np.testing.assert_allclose(np.asarray(W[f, j]), np.asarray(ref.params[0]),
                                       rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(np.asarray(b[f, j]), np.asarray(ref.params[1]),
                                       rtol=1e-9, atol=1e-11)


def test_a_memory_bound_runs_the_fits_in_turn_with_the_same_answers(layout):
    X, y = _binary(seed=8)
    whole = logistic.cross_validate(X, y, l2=GRID, folds=3, gtol=1e-13)
    parts = logistic.cross_validate(X, y, l2=GRID, folds=3, gtol=1e-13, max_memory=1)
    np.testing.assert_allclose(np.asarray(parts.scores), np.asarray(whole.scores), rtol=1e-10)
    np.testing.assert_array_equal(np.asarray(parts.status), np.asarray(whole.status))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_cross_validate_classifier_chooses_the_model_by_class_count(dtype):
    """Two classes: logistic.cross_validate; more: multinomial.cross_validate (the choice of
    fit_classifier), in the data's dtype."""
    Xb, yb = _binary(seed=6, dtype=dtype)
    a = multinomial.cross_validate_classifier(Xb, yb, num_classes=2, l2=[1.0, 2.0], folds=3)
    b = logistic.cross_validate(Xb, yb, l2=[1.0, 2.0], folds=3)
    np.testing.assert_array_equal(np.asarray(a.scores), np.asarray(b.scores))
    assert a.fit.params[0].shape == (5,) and a.scores.dtype == a.fit.params[0].dtype == dtype
    Xm, ym = _multi(dtype=dtype)
    c = multinomial.cross_validate_classifier(Xm, ym, num_classes=3, l2=[1.0], folds=3)
    d = multinomial.cross_validate(Xm, ym, l2=[1.0], folds=3)
    np.testing.assert_array_equal(np.asarray(c.scores), np.asarray(d.scores))
    assert c.fit.params[0].shape == (3, 4) and c.scores.dtype == c.fit.params[0].dtype == dtype
    assert c.fit.status_name == "converged"
    with pytest.raises(ValueError, match="num_classes: expected"):
        multinomial.cross_validate_classifier(Xb, yb, num_classes=1, l2=[1.0])


def test_steps_are_the_folds_step_counts(layout):
    X, y = _binary(seed=7)
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 3, 0, np.ones(180))
    grid = np.array([0.1, 10.0])
    cv = logistic.cross_validate(X, y, l2=grid, folds=ids, solver="newton")
    assert cv.steps.shape == (3, 2) and cv.steps.dtype == jnp.int32
    w, b = cv.fold_params
    for f in range(3):
        sw = (ids != f).astype(float)
        # The largest penalty's fit starts from zero; the next one from zero too (every pair at
        # once) or from the previous penalty's solution (the path's warm start).
        first = logistic.fit_newton(X, y, l2=10.0, sample_weight=sw)
        start = dict(w0=w[f, 1], b0=b[f, 1]) if layout == "path" else {}
        then = logistic.fit_newton(X, y, l2=0.1, sample_weight=sw, **start)
        # The same fits by another program (a batch against one fit): the last step near the
        # tolerance may fall either side of it on another CPU's rounding, so one step apart.
        for got, ref in ((cv.steps[f, 1], first.steps), (cv.steps[f, 0], then.steps)):
            assert int(got) >= 1 and abs(int(got) - int(ref)) <= 1, (f, int(got), int(ref))


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_an_offset_enters_every_fit_score_and_the_refit(layout, solver):
    X, y = _binary(seed=12)
    offset = jnp.asarray(np.sin(np.arange(180.0)))
    ids, _ = _cross_validation.fold_ids(np.asarray(y), 3, 0, np.ones(180))
    grid = np.array([0.3, 3.0])
    cv = logistic.cross_validate(X, y, l2=grid, folds=ids, offset=offset, solver=solver,
                                 gtol=1e-13)
    plain = logistic.cross_validate(X, y, l2=grid, folds=ids, solver=solver, gtol=1e-13)
    assert np.max(np.abs(np.asarray(cv.scores) - np.asarray(plain.scores))) > 1e-3
    w, b = cv.fold_params
    for f in range(3):
        for j, l2 in enumerate(grid):
            ref = logistic.fit_newton(X, y, l2=l2, sample_weight=(ids != f).astype(float),
                                      offset=offset, gtol=1e-13)
            np.testing.assert_allclose(np.asarray(w[f, j]), np.asarray(ref.params[0]),
                                       rtol=1e-9)
            p = np.asarray(logistic.predict_proba(*ref.params, X, offset=offset))
            held = ids == f
            yy = np.asarray(y)[held]
            nll = -np.mean(yy * np.log(p[held]) + (1 - yy) * np.log1p(-p[held]))
            assert float(cv.scores[f, j]) == pytest.approx(nll, rel=1e-9)
    ref = logistic.fit_newton(X, y, l2=float(cv.best_l2), offset=offset, gtol=1e-13)
    np.testing.assert_allclose(np.asarray(cv.fit.params[0]), np.asarray(ref.params[0]),
                               rtol=1e-9)


def test_a_k_class_offset_has_the_logits_shape():
    X, y = _multi()
    offset = 0.3 * jnp.asarray(np.cos(np.arange(720.0)).reshape(240, 3))
    cv = multinomial.cross_validate(X, y, l2=[1.0], folds=3, offset=offset, gtol=1e-13)
    ref = multinomial.fit_newton(X, y, l2=1.0, offset=offset, gtol=1e-13)
    np.testing.assert_allclose(np.asarray(cv.fit.params[0]), np.asarray(ref.params[0]),
                               rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match=r"offset: expected shape \(240, 3\)"):
        multinomial.cross_validate(X, y, l2=[1.0], folds=3, offset=offset[:, 0])


def test_a_fold_count_uses_the_public_stratified_folds():
    X, y = _multi()
    ids = data.stratified_folds(np.asarray(y), 3, seed=5)
    assert ids.dtype == np.int32 and set(np.unique(ids)) == {0, 1, 2}
    a = multinomial.cross_validate(X, y, l2=[1.0], folds=3, seed=5)
    b = multinomial.cross_validate(X, y, l2=[1.0], folds=ids)
    np.testing.assert_array_equal(np.asarray(a.scores), np.asarray(b.scores))
    with pytest.raises(TypeError, match="folds: expected a fold count"):
        data.stratified_folds(np.asarray(y), 2.5)
    with pytest.raises(TypeError, match="seed: expected an int"):
        data.stratified_folds(np.asarray(y), 2, seed="x")
    with pytest.raises(ValueError, match=r"y: expected labels of shape \(n,\)"):
        data.stratified_folds(np.zeros((3, 2)), 2)


def test_auto_takes_newton_for_k_classes_with_few_features():
    mem = _linear_model.DEFAULT_MAX_MEMORY

    def auto(model, n, d, max_memory=mem):
        return _linear_model._cv_solver("auto", model, n, d, 8, max_memory)

    ten, twenty = multinomial.Model(10), multinomial.Model(20)
    # n p^2 over the Newton budget: L-BFGS for two classes and for many features ...
    assert auto(logistic.Model(), 100_000, 31) == "lbfgs"
    assert auto(ten, 2_000, 50) == "lbfgs" and auto(ten, 2_000, 32) == "lbfgs"
    assert auto(multinomial.Model(50), 2_000, 20) == "lbfgs"  # p = 1050
    # ... Newton for K classes with d + 1 <= 32 and p <= 1024, at any n its memory allows
    assert auto(ten, 2_000, 20) == auto(ten, 20_000, 31) == auto(twenty, 1_000, 30) == "newton"
    assert auto(ten, 20_000, 20, max_memory=20_000 * 210 * 10 * 8 - 1) == "lbfgs"
    assert auto(ten, 10**6, 20) == "lbfgs"  # 16.8 GB for one fold's Newton step
    # named solvers are taken as named; within the n p^2 budget Newton as before
    assert _linear_model._cv_solver("lbfgs", ten, 200, 4, 8, mem) == "lbfgs"
    assert auto(logistic.Model(), 2_000, 20) == auto(ten, 200, 4) == "newton"
