"""K-class logistic regression (jaxdl.multinomial): fits, conventions, predictions."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl import data, multinomial, softmax
from jaxdl.results import Status, message


@pytest.fixture(scope="module")
def multiclass():
    X, y = data.make_multiclass(jax.random.key(0), 300, 4, 3, dtype=jnp.float64)
    return X, y


def _numpy_gradient(W, b, X, y, l2):
    """Independent NumPy gradient of sum CE + l2/2 ||W||^2 (all K rows)."""
    W, b, X = (np.asarray(a, np.float64) for a in (W, b, X))
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    R = P - np.eye(W.shape[0])[np.asarray(y)]
    return R.T @ X + l2 * W, R.sum(0)


def test_newton_optimum_is_stationary(multiclass):
    X, y = multiclass
    res = multinomial.fit_newton(X, y)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    W, b = res.params
    assert W.shape == (3, 4) and b.shape == (3,)
    np.testing.assert_array_equal(W[-1], 0.0)  # l2 = 0: the last class is the reference
    assert float(b[-1]) == 0.0
    gW, gb = _numpy_gradient(W, b, X, y, 0.0)
    assert np.max(np.abs(gW)) < 1e-9 and np.max(np.abs(gb)) < 1e-9
    assert res.steps < 15


def test_gd_reaches_newton_loss(multiclass):
    X, y = multiclass
    newton = multinomial.fit_newton(X, y, l2=0.5)
    gd = multinomial.fit_gd(X, y, lr=2e-3, l2=0.5, max_steps=5000, gtol=1e-8)
    assert int(gd.status) == Status.CONVERGED, message(gd.status)
    np.testing.assert_allclose(gd.loss, newton.loss, rtol=1e-8)
    np.testing.assert_allclose(gd.params[0], newton.params[0], rtol=1e-5, atol=1e-6)


def test_digits_l2_zero_is_singular_and_l2_fits():
    # Digits has all-zero pixel columns: without a penalty the Hessian is singular.
    ds = data.load_digits()
    Xs, _, _ = data.standardize(jnp.asarray(ds.X))
    y = jnp.asarray(ds.y)
    assert int(multinomial.fit_newton(Xs, y).status) == Status.SINGULAR
    res = multinomial.fit_newton(Xs, y, l2=1.0)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    assert float(jnp.mean(multinomial.predict(*res.params, Xs) == y)) > 0.99
    # The symmetric problem: every row of W penalised, every intercept's gradient zero.
    gW, gb = _numpy_gradient(*res.params, Xs, y, 1.0)
    assert np.max(np.abs(gW)) < 1e-8 and np.max(np.abs(gb)) < 1e-8


def test_separable_multiclass():
    X = jnp.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0], [2.5, 0.5], [0.5, 2.5], [-2.0, -3.0]])
    y = jnp.array([0, 1, 2, 0, 1, 2])
    res = multinomial.fit_newton(X, y)
    assert int(res.status) == Status.SEPARABLE
    assert bool(jnp.all(jnp.isfinite(res.params[0])))
    np.testing.assert_array_equal(multinomial.predict(*res.params, X), y)


def test_float32(multiclass):
    X, y = multiclass
    res = multinomial.fit_newton(X.astype(jnp.float32), y, l2=0.5)
    assert int(res.status) == Status.CONVERGED, message(res.status)
    ref = multinomial.fit_newton(X, y, l2=0.5)
    np.testing.assert_allclose(res.params[0], ref.params[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "y", "exc", "msg"),
    [
        ({}, jnp.array([0, 1, 3]), ValueError, r"y: expected integer class ids in 0..2"),
        ({}, jnp.array([0.5, 1.0, 0.0]), ValueError, "y: expected integer class ids"),
        ({"num_classes": 1}, jnp.array([0, 0, 0]), ValueError, "num_classes: expected an int >= 2"),
        ({"l2": -0.1}, jnp.array([0, 1, 2]), ValueError, "l2: expected a finite number >= 0"),
    ],
)
def test_bad_input(kwargs, y, exc, msg):
    X = jnp.ones((3, 2))
    with pytest.raises(exc, match=msg):
        multinomial.fit_newton(X, y, **({"num_classes": 3} | kwargs))


# ----------------------------------------------------------------------------------------------
# One shape for both models: the same verbs, keywords and semantics as jaxdl.logistic.

VERBS = ("fit_gd", "fit_newton", "fit_lbfgs", "fit_newton_many", "predict_proba", "predict",
         "accuracy")


@pytest.mark.parametrize("verb", VERBS)
def test_same_verbs_and_keywords_as_logistic(verb):
    import inspect

    from jaxdl import logistic

    def keywords(fn):
        return {p.name for p in inspect.signature(fn).parameters.values()
                if p.kind == p.KEYWORD_ONLY}

    extra = {"num_classes"} if verb.startswith("fit_") else set()
    assert keywords(getattr(multinomial, verb)) - extra == keywords(getattr(logistic, verb)) - \
        {"precision"}  # logistic's mixed-precision Newton has no softmax counterpart
    if verb.startswith("fit_"):
        assert {"l2", "max_steps", "gtol", "sample_weight", "w0", "b0"} <= keywords(
            getattr(multinomial, verb))


def test_integer_weights_equal_repeated_rows(multiclass):
    X, y = multiclass
    counts = (jnp.arange(X.shape[0]) % 3).astype(X.dtype)
    rep = np.repeat(np.arange(X.shape[0]), np.asarray(counts, int))
    weighted = multinomial.fit_newton(X, y, l2=0.5, sample_weight=counts)
    repeated = multinomial.fit_newton(X[rep], y[rep], l2=0.5)
    assert weighted.ok and repeated.ok
    np.testing.assert_allclose(weighted.params[0], repeated.params[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(float(weighted.loss), float(repeated.loss), rtol=1e-12)


def test_lbfgs_and_gd_reach_the_newton_optimum(multiclass):
    X, y = multiclass
    newton = multinomial.fit_newton(X, y, l2=0.5)
    lbfgs = multinomial.fit_lbfgs(X, y, l2=0.5, gtol=1e-10)
    gd = multinomial.fit_gd(X, y, lr_w=2e-3, lr_b=3e-3, l2=0.5, max_steps=5000, gtol=1e-8)
    for res in (newton, lbfgs, gd):
        assert res.ok, res.message
    np.testing.assert_allclose(float(lbfgs.loss), float(newton.loss), rtol=1e-12)
    np.testing.assert_allclose(lbfgs.params[0], newton.params[0], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(float(gd.loss), float(newton.loss), rtol=1e-8)


def test_warm_start_at_the_optimum_takes_no_step_and_is_shift_invariant(multiclass):
    X, y = multiclass
    ref = multinomial.fit_newton(X, y, l2=0.5)
    W, b = ref.params
    warm = multinomial.fit_newton(X, y, l2=0.5, w0=W, b0=b)
    assert warm.ok and int(warm.steps) == 0
    # A start in the full parameterisation: adding one row to every class is the same model.
    shifted = multinomial.fit_newton(X, y, l2=0.5, w0=W + 0.3, b0=b - 0.2, max_steps=3)
    np.testing.assert_allclose(shifted.params[0], W, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"w0: expected shape \(3, 4\)"):
        multinomial.fit_newton(X, y, w0=W[:2])


def test_newton_many_rows_equal_single_fits(multiclass):
    X, y = multiclass
    n = X.shape[0]
    sw = jax.random.poisson(jax.random.key(1), 1.0, (3, n)).astype(X.dtype)
    l2 = jnp.array([0.1, 0.5, 2.0])
    many = multinomial.fit_newton_many(X, y, sample_weight=sw, l2=l2)
    assert many.params[0].shape == (3, 3, 4) and bool(many.ok)
    assert many.status_name == ["converged"] * 3
    for i in range(3):
        one = multinomial.fit_newton(X, y, sample_weight=sw[i], l2=float(l2[i]))
        np.testing.assert_allclose(many.params[0][i], one.params[0], rtol=1e-10, atol=1e-12)


def test_predict_proba_predict_and_accuracy_agree(multiclass):
    X, y = multiclass
    W, b = multinomial.fit_newton(X, y, l2=0.5).params
    P = multinomial.predict_proba(W, b, X)
    np.testing.assert_allclose(jnp.sum(P, axis=1), 1.0, rtol=1e-14)
    pred = multinomial.predict(W, b, X)
    np.testing.assert_array_equal(pred, jnp.argmax(P, axis=1))
    assert float(multinomial.accuracy(W, b, X, y)) == pytest.approx(float(jnp.mean(pred == y)))
    with pytest.raises(ValueError, match=r"y: expected integer class ids in 0\.\.2"):
        multinomial.accuracy(W, b, X, y.at[0].set(3))


def test_logistic_predict_matches_probabilities():
    from jaxdl import logistic

    X, y, _, _ = data.make_logistic(jax.random.key(2), 200, 3, dtype=jnp.float64)
    w, b = logistic.fit_newton(X, y, l2=0.1).params
    pred = logistic.predict(w, b, X)
    assert pred.dtype == jnp.int32
    np.testing.assert_array_equal(pred, (logistic.predict_proba(w, b, X) > 0.5).astype(int))
    assert float(logistic.accuracy(w, b, X, y)) == pytest.approx(float(jnp.mean(pred == y)))


def test_gd_rates_are_given_one_way():
    X, y = data.make_multiclass(jax.random.key(0), 30, 2, 3, dtype=jnp.float64)
    with pytest.raises(TypeError, match=r"lr: expected a learning rate"):
        multinomial.fit_gd(X, y)
    with pytest.raises(TypeError, match=r"lr: expected either lr \(one rate\) or lr_w and lr_b"):
        multinomial.fit_gd(X, y, lr=0.1, lr_w=0.1)
    with pytest.raises(TypeError, match=r"optimizer: expected either optimizer or learning"):
        multinomial.fit_gd(X, y, lr=0.1, optimizer=optax.sgd(0.1))


def test_softmax_module_keeps_the_regression_verbs():
    # The K-class regression moved to jaxdl.multinomial; softmax.fit_newton etc. are the same
    # functions, not copies.
    for name in ("fit_gd", "fit_newton", "fit_lbfgs", "fit_newton_many", "predict_proba",
                 "predict", "accuracy", "gd_step_bound", "inference", "summary", "bootstrap",
                 "Inference", "Bootstrap"):
        assert getattr(softmax, name) is getattr(multinomial, name), name
    with pytest.raises(AttributeError, match="no attribute 'fit_ridge'"):
        softmax.fit_ridge  # noqa: B018


# ----------------------------------------------------------------------------------------------
# The penalised problem is symmetric in the classes (every row of W penalised): relabelling the
# classes permutes the fit and changes nothing else, and the fit is scikit-learn's multinomial
# LogisticRegression(C = 1 / l2). Unpenalised fits keep the last class as the reference.

PERM = np.array([2, 0, 3, 1])  # class c is renamed PERM[c]


def _four_classes(dtype):
    X, y = data.make_multiclass(jax.random.key(3), 240, 5, 4, dtype=dtype)
    return X, y


def _wine():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return jnp.asarray(X), jnp.asarray(y)


def _iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return jnp.asarray(X), jnp.asarray(y)


def _perm(k):
    return PERM if k == 4 else np.roll(np.arange(k), 1)


def _fits(dtype):
    """Every K-class fit, as ``(X, y, l2) -> (W, b)``, with a budget that reaches the optimum."""
    gtol = None if dtype == jnp.float64 else 1e-6

    def gd(X, y, l2):
        res = multinomial.fit_gd(X, y, lr=multinomial.gd_step_bound(X, l2=l2), l2=l2,
                                 max_steps=20000, gtol=1e-9 if dtype == jnp.float64 else 1e-5)
        assert res.ok, res.message
        return res.params

    def many(X, y, l2):
        sw = jnp.ones((2, X.shape[0]), X.dtype).at[1, ::3].set(2.0)
        res = multinomial.fit_newton_many(X, y, sample_weight=sw, l2=l2)
        assert res.ok, res.status_name
        return jax.tree.map(lambda a: a[0], res.params)

    def warm(X, y, l2):
        k, d = int(jnp.max(y)) + 1, X.shape[1]
        w0 = jnp.linspace(-1, 1, k * d, dtype=X.dtype).reshape(k, d) + 0.5
        res = multinomial.fit_newton(X, y, l2=l2, w0=w0, b0=jnp.arange(k, dtype=X.dtype))
        assert res.ok, res.message
        return res.params

    def single(fit, **kw):
        def run(X, y, l2):
            res = fit(X, y, l2=l2, gtol=gtol, **kw)
            assert res.ok, res.message
            return res.params
        return run

    return {"newton": single(multinomial.fit_newton),
            "lbfgs": single(multinomial.fit_lbfgs, max_steps=2000), "gd": gd,
            "newton_many": many, "warm_newton": warm}


SOLVERS = ("newton", "lbfgs", "gd", "newton_many", "warm_newton")


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_relabelling_the_classes_permutes_the_penalised_fit(solver, dtype):
    X, y = _four_classes(dtype)
    fit = _fits(dtype)[solver]
    W, b = fit(X, y, 2.0)
    W2, b2 = fit(X, jnp.asarray(PERM)[y], 2.0)
    P = multinomial.predict_proba(W, b, X)
    P2 = multinomial.predict_proba(W2, b2, X)
    # Newton and L-BFGS stop at machine precision; gradient descent at a mean gradient of 1e-9
    # (float64), a few 1e-9 in probability on these data.
    tol = (1e-6 if solver == "gd" else 1e-9) if dtype == jnp.float64 else 2e-4
    np.testing.assert_allclose(P2[:, PERM], P, rtol=0, atol=tol)
    np.testing.assert_allclose(W2[PERM], W, rtol=0, atol=tol * 10)
    np.testing.assert_allclose(b2[PERM], b, rtol=0, atol=tol * 10)
    # The symmetric optimum: the rows of W and the reported intercepts sum to zero.
    scale = float(jnp.max(jnp.abs(W)))
    assert float(jnp.max(jnp.abs(jnp.sum(W, axis=0)))) <= tol * scale
    assert abs(float(jnp.sum(b))) <= 10 * float(jnp.finfo(dtype).eps) * float(jnp.sum(jnp.abs(b)))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("sk_solver", ["newton-cholesky", "lbfgs"])
@pytest.mark.parametrize("dataset", ["wine", "iris", "four_classes"])
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_penalised_fit_equals_scikit_learn_multinomial(solver, dataset, sk_solver, dtype):
    from sklearn.linear_model import LogisticRegression

    X, y = {"wine": _wine, "iris": _iris,
            "four_classes": lambda: _four_classes(jnp.float64)}[dataset]()
    l2 = {"wine": 10.0, "iris": 1.0, "four_classes": 2.0}[dataset]
    sk = LogisticRegression(C=1 / l2, solver=sk_solver, tol=1e-12, max_iter=10_000).fit(
        np.asarray(X), np.asarray(y))
    W, b = _fits(dtype)[solver](X.astype(dtype), y, l2)
    P = multinomial.predict_proba(W, b, X.astype(dtype))
    # Both fits are within their tolerances of the one optimum: scikit-learn's lbfgs stops
    # at about 1e-8 here; the intercepts are compared centred (scikit-learn centres them too).
    tol = 1e-6 if dtype == jnp.float64 else 2e-4
    np.testing.assert_allclose(P, sk.predict_proba(np.asarray(X)), rtol=0, atol=tol)
    np.testing.assert_allclose(W, sk.coef_, rtol=0, atol=tol * max(1.0, np.abs(sk.coef_).max()))
    np.testing.assert_allclose(b, sk.intercept_ - sk.intercept_.mean(), rtol=0,
                               atol=tol * max(1.0, np.abs(sk.intercept_).max()))


def test_unpenalised_fit_keeps_the_last_class_as_reference():
    X, y = _four_classes(jnp.float64)
    for fit in (multinomial.fit_newton, multinomial.fit_lbfgs):
        W, b = fit(X, y, gtol=1e-10).params
        np.testing.assert_array_equal(W[-1], 0.0)
        assert float(b[-1]) == 0.0
    # A batch mixing both conventions: each fit follows its own penalty.
    many = multinomial.fit_newton_many(X, y, l2=jnp.array([0.0, 2.0]))
    W, b = many.params
    np.testing.assert_array_equal(W[0, -1], 0.0)
    np.testing.assert_allclose(W[0], multinomial.fit_newton(X, y).params[0], rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(W[1], multinomial.fit_newton(X, y, l2=2.0).params[0],
                               rtol=1e-10, atol=1e-12)
    assert float(jnp.max(jnp.abs(jnp.sum(W[1], axis=0)))) < 1e-12


def test_estimator_is_invariant_to_relabelling_and_equals_scikit_learn():
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    from jaxdl.estimators import LogisticRegression

    X, y = (np.asarray(a) for a in _wine())
    names = np.array(["barolo", "grignolino", "barbera"])
    renamed = np.array(["zeta", "alpha", "mu"])  # a different sort order of the same classes
    a = LogisticRegression(l2=10.0).fit(X, names[y])
    b = LogisticRegression(l2=10.0).fit(X, renamed[y])
    pa = a.predict_proba(X)
    pb = b.predict_proba(X)
    for i in range(3):
        ja = list(a.classes_).index(names[i])
        jb = list(b.classes_).index(renamed[i])
        np.testing.assert_allclose(pb[:, jb], pa[:, ja], rtol=0, atol=1e-9)
    sk = SkLogisticRegression(C=0.1, solver="newton-cholesky", tol=1e-12).fit(X, names[y])
    np.testing.assert_allclose(pa, sk.predict_proba(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.coef_, sk.coef_, rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------------------------
# Inference and the bootstrap of the penalised symmetric estimate.


def _free_and_centring(k, d):
    """Indices of the free entries of theta = [W_1, b_1, ..., W_K, b_K] (b_K held) and the map
    from them to all K rows with every column centred across the classes, built
    independently of the library."""
    p = k * (d + 1)
    free = np.arange(p - 1)
    T = np.zeros((p, p - 1))
    for c in range(k):
        for j in range(d + 1):
            for c2 in range(k):
                i = c2 * (d + 1) + j
                if i < p - 1:
                    T[c * (d + 1) + j, i] = (c == c2) - 1.0 / k
    return free, T


@pytest.mark.parametrize("robust", [False, True])
def test_penalised_inference_is_the_covariance_of_the_symmetric_estimate(robust):
    X, y = _four_classes(jnp.float64)
    k, d, l2 = 4, X.shape[1], 2.0
    res = multinomial.fit_newton(X, y, l2=l2)
    inf = multinomial.inference(res, X, y, l2=l2, robust=robust)
    assert inf.status_name == "converged" and bool(inf.penalized)
    assert inf.params.shape == (k, d + 1) and inf.cov.shape == (k * (d + 1), k * (d + 1))
    W, b = res.params
    # The reported rows are the fit's, re-centred column by column: equal to rounding on the
    # scale of the largest entry (the centring subtracts means of entries that size).
    rows = np.c_[W, b]
    np.testing.assert_allclose(inf.params, rows, rtol=0,
                               atol=16 * np.finfo(np.float64).eps * np.abs(rows).max())

    Y = jax.nn.one_hot(y, k, dtype=X.dtype)

    def objective(free_theta):
        rows = jnp.append(free_theta, 0.0).reshape(k, d + 1)
        Z = X @ rows[:, :-1].T + rows[None, :, -1]
        return (jnp.sum(jax.nn.logsumexp(Z, axis=1) - jnp.sum(Y * Z, axis=1))
                + 0.5 * l2 * jnp.sum(rows[:, :-1] ** 2))

    free, T = _free_and_centring(k, d)
    theta = np.c_[W, b - b[-1]].reshape(-1)[free]
    H = np.asarray(jax.hessian(objective)(jnp.asarray(theta)))
    bread = np.linalg.inv(H)
    if robust:
        def per_sample(free_theta):
            rows = jnp.append(free_theta, 0.0).reshape(k, d + 1)
            Z = X @ rows[:, :-1].T + rows[None, :, -1]
            return jax.nn.logsumexp(Z, axis=1) - jnp.sum(Y * Z, axis=1)

        S = np.asarray(jax.jacobian(per_sample)(jnp.asarray(theta)))
        bread = bread @ (S.T @ S) @ bread
    cov = T @ bread @ T.T
    np.testing.assert_allclose(inf.cov, cov, rtol=1e-9, atol=1e-12 * np.abs(cov).max())
    # Relabelling permutes the rows of every figure.
    inf2 = multinomial.inference(multinomial.fit_newton(X, jnp.asarray(PERM)[y], l2=l2), X,
                                 jnp.asarray(PERM)[y], l2=l2, robust=robust)
    np.testing.assert_allclose(inf2.std_err[PERM], inf.std_err, rtol=1e-8)
    text = multinomial.summary(inf, class_names=list("abcd"))
    assert "y=a " in text and " vs " not in text and "penalised MLE (l2=2)" in text


def test_inference_needs_a_concrete_penalty():
    X, y = _four_classes(jnp.float64)
    res = multinomial.fit_newton(X, y, l2=1.0)
    with pytest.raises(ValueError, match="l2: expected a concrete penalty"):
        jax.jit(lambda l2: multinomial.inference(res, X, y, l2=l2).std_err)(1.0)


def test_penalised_bootstrap_reports_every_class_and_permutes():
    X, y = _four_classes(jnp.float64)
    key = jax.random.key(7)
    bs = multinomial.bootstrap(X, y, key=key, num_resamples=64, l2=2.0)
    assert bs.std_err.shape == (4, 6) and int(bs.num_ok) == 64
    bs2 = multinomial.bootstrap(X, jnp.asarray(PERM)[y], key=key, num_resamples=64, l2=2.0)
    np.testing.assert_allclose(bs2.std_err[PERM], bs.std_err, rtol=1e-8)
    unpenalised = multinomial.bootstrap(X, y, key=key, num_resamples=64)
    assert unpenalised.std_err.shape == (3, 6)


def test_penalised_standard_errors_agree_with_the_bootstrap():
    # The penalised estimate's rows of W always sum to zero, so the reported covariance must
    # carry no 1 / l2 along that sum: the model-based standard errors then match the spread of
    # the refits on resampled rows (the relative sampling error of a standard deviation from
    # B draws is 1 / sqrt(2 B)).
    X, y = data.make_multiclass(jax.random.key(6), 1000, 2, 3, dtype=jnp.float64)
    analytic = multinomial.inference(multinomial.fit_newton(X, y, l2=1.0), X, y, l2=1.0)
    bs = multinomial.bootstrap(X, y, key=jax.random.key(5), num_resamples=256, l2=1.0)
    assert bs.std_err.shape == (3, 3) and int(bs.num_ok) == 256
    ratio = np.asarray(bs.std_err / analytic.std_err)
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * 256)), ratio
