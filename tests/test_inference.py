"""Inference from the exact Hessian: statsmodels agreement, honest edge cases, bootstrap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _inference, data, logistic, softmax
from jaxdl.results import SolverError, Status

sm = pytest.importorskip("statsmodels.api")
scipy_stats = pytest.importorskip("scipy.stats")

RTOL = 1e-8  # the agreement target (float64)


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.fixture(scope="module")
def cancer5():
    # Standardised breast cancer is separable with all 30 columns; the first five are not.
    ds = data.load_breast_cancer()
    X, _, _ = data.standardize(jnp.asarray(ds.X[:, :5]))
    return X, jnp.asarray(ds.y, jnp.float64), ds.feature_names[:5]


@pytest.fixture(scope="module")
def logit_fit(cancer5):
    X, y, _ = cancer5
    res = logistic.fit_newton(X, y)
    assert res.status_name == "converged"  # not separable: a finite optimum
    return res


@pytest.fixture(scope="module")
def digits3():
    ds = data.load_digits()
    keep = ds.y < 3
    return jnp.asarray(ds.X[keep][:, [20, 28, 36]] / 16), jnp.asarray(ds.y[keep])


def _statsmodels_logit(X, y, robust):
    A = np.hstack([np.asarray(X), np.ones((X.shape[0], 1))])
    kw = {"cov_type": "HC0"} if robust else {}
    return sm.Logit(np.asarray(y), A).fit(method="newton", tol=1e-12, maxiter=100, disp=0, **kw)


@pytest.mark.parametrize("robust", [False, True])
def test_logistic_matches_statsmodels_logit(cancer5, logit_fit, robust):
    X, y, _ = cancer5
    inf = logistic.inference(logit_fit, X, y, robust=robust)
    m = _statsmodels_logit(X, y, robust)
    ci = m.conf_int()
    for ours, theirs in [(inf.params, m.params), (inf.std_err, m.bse), (inf.z, m.tvalues),
                         (inf.p_value, m.pvalues), (inf.ci_low, ci[:, 0]), (inf.ci_high, ci[:, 1]),
                         (inf.cov, m.cov_params()), (inf.log_likelihood, m.llf),
                         (inf.aic, m.aic), (inf.bic, m.bic), (inf.pseudo_r2, m.prsquared),
                         (inf.ll_null, m.llnull), (inf.nobs, m.nobs)]:
        assert _rel(ours, theirs) < RTOL
    assert int(inf.df_model) == m.df_model
    assert bool(inf.robust) is robust and not bool(inf.penalized)
    # statsmodels fits the null model numerically (its llnull agrees to ~1e-10 relative, and
    # an LLR p-value of 1e-123 amplifies that 580-fold); against the closed-form null the
    # LLR p-value is checked with scipy.
    llr = 2 * (float(inf.log_likelihood) - float(inf.ll_null))
    assert _rel(inf.llr_pvalue, scipy_stats.chi2.sf(llr, 5)) < RTOL
    ybar = float(np.mean(y))
    ll0 = len(y) * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar))
    assert _rel(inf.ll_null, ll0) < 1e-12


def test_level_sets_the_interval(cancer5, logit_fit):
    X, y, _ = cancer5
    inf = logistic.inference(logit_fit, X, y, level=0.9)
    ci = _statsmodels_logit(X, y, False).conf_int(alpha=0.1)
    assert _rel(inf.ci_low, ci[:, 0]) < RTOL and _rel(inf.ci_high, ci[:, 1]) < RTOL


def _statsmodels_mnlogit(X, y, robust):
    # statsmodels' reference is its first category; jaxdl's the last: relabel y -> y + 1 mod K.
    A = np.hstack([np.asarray(X), np.ones((X.shape[0], 1))])
    kw = {"cov_type": "HC0"} if robust else {}
    return sm.MNLogit((np.asarray(y) + 1) % 3, A).fit(method="newton", tol=1e-10, maxiter=100,
                                                      disp=0, **kw)


@pytest.mark.parametrize("robust", [False, True])
def test_softmax_matches_statsmodels_mnlogit(digits3, robust):
    X, y = digits3
    res = softmax.fit_newton(X, y)
    assert res.status_name == "converged"
    inf = softmax.inference(res, X, y, robust=robust)
    m = _statsmodels_mnlogit(X, y, robust)
    assert inf.params.shape == (2, 4) and inf.cov.shape == (8, 8)
    for ours, theirs in [(inf.params, np.asarray(m.params).T), (inf.std_err, np.asarray(m.bse).T),
                         (inf.z, np.asarray(m.tvalues).T), (inf.p_value, np.asarray(m.pvalues).T),
                         (inf.log_likelihood, m.llf), (inf.aic, m.aic), (inf.bic, m.bic),
                         (inf.pseudo_r2, m.prsquared), (inf.ll_null, m.llnull)]:
        assert _rel(ours, theirs) < RTOL
    # Both order the covariance class-major (statsmodels: its params' columns in turn).
    assert _rel(inf.cov, np.asarray(m.cov_params())) < RTOL
    assert int(inf.df_model) == m.df_model


def test_penalised_fit_is_flagged_and_uses_the_penalised_hessian(cancer5):
    X, y, names = cancer5
    res = logistic.fit_newton(X, y, l2=2.0)
    inf = logistic.inference(res, X, y, l2=2.0)
    assert bool(inf.penalized) and float(inf.l2) == 2.0
    w, b = res.params
    H = np.asarray(logistic.hessian(w, b, X)) + np.diag([2.0] * 5 + [0.0])
    np.testing.assert_allclose(inf.cov, np.linalg.inv(H), rtol=1e-10)
    text = logistic.summary(inf, feature_names=names)
    assert "Covariance of the penalised estimate (l2 = 2)" in text
    assert "penalised MLE (l2=2)" in text


def test_wrong_penalty_is_caught(cancer5):
    X, y, _ = cancer5
    res = logistic.fit_newton(X, y, l2=1.0)
    with pytest.raises(ValueError, match="result: expected a stationary point"):
        logistic.inference(res, X, y)  # l2 = 0 is not the objective this fit minimised
    inf = jax.jit(lambda r: logistic.inference(r, X, y))(res)
    assert int(inf.status) == Status.INVALID_INPUT
    assert float(jnp.max(jnp.abs(inf.std_err))) == 0.0


def test_separable_fit_raises_eagerly_and_reports_under_jit():
    ds = data.load_breast_cancer()
    X, _, _ = data.standardize(jnp.asarray(ds.X))
    y = jnp.asarray(ds.y, jnp.float64)
    res = logistic.fit_newton(X, y)
    assert res.status_name == "separable"
    with pytest.raises(SolverError, match="got status separable"):
        logistic.inference(res, X, y)
    inf = jax.jit(lambda r: logistic.inference(r, X, y))(res)
    assert int(inf.status) == Status.SEPARABLE and not bool(inf.ok)
    for leaf in jax.tree.leaves(inf):
        assert bool(jnp.all(jnp.isfinite(leaf)))
    with pytest.raises(SolverError, match="separable"):
        logistic.summary(inf)


def test_max_steps_and_singular_fits_raise_naming_the_status(cancer5):
    X, y, _ = cancer5
    with pytest.raises(SolverError, match="got status max_steps"):
        logistic.inference(logistic.fit_newton(X, y, max_steps=1), X, y)
    Xd = jnp.concatenate([X, X[:, :1]], axis=1)  # a duplicated column: singular at l2 = 0
    res = logistic.fit_newton(Xd, y)
    assert res.status_name == "singular"
    with pytest.raises(SolverError, match="got status singular"):
        logistic.inference(res, Xd, y)


def test_singular_hessian_reports_status_and_condition_number():
    H = jnp.array([[1.0, 1.0], [1.0, 1.0]])
    inf = jax.jit(lambda H: _inference.compute(
        jnp.ones(2), H, None, jnp.zeros(2), grad_tol=1.0, log_likelihood=-1.0, ll_null=-2.0,
        nobs=10.0, df_model=1, l2=0.0, level=0.95, fit_status=jnp.int32(Status.CONVERGED)))(H)
    assert int(inf.status) == Status.SINGULAR
    assert float(inf.condition_number) > 1e15
    for leaf in jax.tree.leaves(inf._replace(condition_number=0.0)):
        assert bool(jnp.all(jnp.isfinite(leaf)))
    with pytest.raises(SolverError, match="singular.*condition number"):
        _inference.raise_if_failed(inf, fit_status=Status.CONVERGED, what="test")


def test_near_singular_hessian_is_reported(cancer5):
    X, y, _ = cancer5
    noise = 1e-5 * jax.random.normal(jax.random.key(1), (X.shape[0],))
    Xc = jnp.concatenate([X, X[:, :1] + noise[:, None]], axis=1)
    res = logistic.fit_newton(Xc, y)
    assert res.status_name == "converged"
    inf = logistic.inference(res, Xc, y)
    assert float(inf.condition_number) > _inference.ill_conditioned_above(jnp.float64)
    assert "near-singular (condition number" in logistic.summary(inf)


def test_weights_count_as_repeated_rows(cancer5):
    X, y, _ = cancer5
    counts = jnp.asarray(np.random.default_rng(0).integers(0, 3, X.shape[0]), jnp.float64)
    rows = np.repeat(np.arange(X.shape[0]), np.asarray(counts, int))
    for robust in (False, True):
        a = logistic.inference(logistic.fit_newton(X, y, sample_weight=counts), X, y,
                               sample_weight=counts, robust=robust)
        b = logistic.inference(logistic.fit_newton(X[rows], y[rows]), X[rows], y[rows],
                               robust=robust)
        np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-9)
        np.testing.assert_allclose(a.nobs, b.nobs)
        np.testing.assert_allclose(a.log_likelihood, b.log_likelihood, rtol=1e-10)


def test_vmap_over_a_batch_of_fits_equals_a_loop(cancer5):
    X, y, _ = cancer5
    l2 = jnp.array([0.0, 0.5, 3.0])
    res = logistic.fit_newton_many(X, y, l2=l2)
    batched = jax.vmap(lambda r, lam: logistic.inference(r, X, y, l2=lam))(res, l2)
    assert batched.std_err.shape == (3, 6)
    for i in range(3):
        one = logistic.inference(logistic.fit_newton(X, y, l2=float(l2[i])), X, y,
                                 l2=float(l2[i]))
        np.testing.assert_allclose(batched.std_err[i], one.std_err, rtol=1e-9)
    assert list(np.asarray(batched.penalized)) == [False, True, True]


def test_float32_agrees_with_float64(cancer5, logit_fit):
    X, y, _ = cancer5
    ref = logistic.inference(logit_fit, X, y)
    X32, y32 = X.astype(jnp.float32), y.astype(jnp.float32)
    inf = logistic.inference(logistic.fit_newton(X32, y32), X32, y32)
    assert inf.std_err.dtype == jnp.float32
    # float32 loses about cond(H) * eps32 ~ 3e-4 of the standard errors' digits.
    tol = 10 * float(ref.condition_number) * float(jnp.finfo(jnp.float32).eps)
    np.testing.assert_allclose(inf.std_err, ref.std_err, rtol=tol)


def test_bootstrap_agrees_with_analytic_standard_errors():
    X, y, _, _ = data.make_logistic(jax.random.key(3), 1000, 3, dtype=jnp.float64)
    analytic = logistic.inference(logistic.fit_newton(X, y), X, y)
    bs = logistic.bootstrap(X, y, key=jax.random.key(4), num_resamples=256)
    assert int(bs.num_ok) == 256 and bs.params.shape == (256, 4)
    # The relative sampling error of a standard deviation from B draws is 1 / sqrt(2 B).
    ratio = np.asarray(bs.std_err / analytic.std_err)
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * 256)), ratio


def test_softmax_bootstrap_agrees_with_analytic():
    # Well-conditioned data (the digits subset has near-separated classes whose bootstrap
    # estimates are heavy-tailed: no check of the analytic figures there).
    X, y = data.make_multiclass(jax.random.key(6), 1000, 2, 3, dtype=jnp.float64)
    analytic = softmax.inference(softmax.fit_newton(X, y), X, y)
    bs = softmax.bootstrap(X, y, key=jax.random.key(5), num_resamples=256)
    assert bs.std_err.shape == (2, 3) and int(bs.num_ok) == 256
    ratio = np.asarray(bs.std_err / analytic.std_err)
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * 256)), ratio


def test_summary_table(cancer5, logit_fit):
    X, y, names = cancer5
    inf = logistic.inference(logit_fit, X, y)
    text = logistic.summary(inf, feature_names=names)
    assert text.splitlines()[0].strip() == "Logit Regression Results"
    assert "P>|z|" in text and "[0.025" in text and "0.975]" in text and "nonrobust" in text
    row = next(line for line in text.splitlines() if line.startswith("mean texture"))
    assert f"{float(inf.params[1]):.4f}" in row and f"{float(inf.std_err[1]):.4f}" in row
    assert "const" in text and "nan" not in text.lower() and "inf" not in text.lower()
    assert "HC0" in logistic.summary(logistic.inference(logit_fit, X, y, robust=True))
    stext = softmax.summary(softmax.inference(softmax.fit_newton(*_digits_small()),
                                              *_digits_small()), class_names=["a", "b", "c"])
    assert "MNLogit Regression Results" in stext and "y=a vs c" in stext


def _digits_small():
    ds = data.load_digits()
    keep = ds.y < 3
    return jnp.asarray(ds.X[keep][:, [20, 28, 36]] / 16), jnp.asarray(ds.y[keep])


def test_bad_arguments_are_named(cancer5, logit_fit):
    X, y, _ = cancer5
    with pytest.raises(ValueError, match="level: expected"):
        logistic.inference(logit_fit, X, y, level=1.5)
    with pytest.raises(TypeError, match="robust: expected a bool"):
        logistic.inference(logit_fit, X, y, robust="yes")
    with pytest.raises(ValueError, match="l2: expected"):
        logistic.inference(logit_fit, X, y, l2=-1.0)
    with pytest.raises(ValueError, match="w: expected shape"):
        logistic.inference(logit_fit, X[:, :3], y)
    inf = logistic.inference(logit_fit, X, y)
    with pytest.raises(ValueError, match="feature_names: expected 5 names"):
        logistic.summary(inf, feature_names=["a"])
    with pytest.raises(TypeError, match="inference: expected an Inference"):
        logistic.summary(logit_fit)
    with pytest.raises(ValueError, match="inference: expected one fit's inference"):
        softmax.summary(inf)
