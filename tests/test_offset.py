"""Offsets: a known term added to the logits of both linear models, in every loss, fit,
prediction, inference and bootstrap; against statsmodels' Logit(offset=), autodiff and
scipy.optimize on the explicit K-class objective (statsmodels' MNLogit has no offset)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _fit, logistic, multinomial
from jaxdl.results import Status

sm = pytest.importorskip("statsmodels.api")
scipy_optimize = pytest.importorskip("scipy.optimize")

N, D, K = 300, 3, 3
RTOL = 1e-10  # float64 agreement with the references


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    o = rng.normal(size=N)
    y = (rng.random(N) < 1 / (1 + np.exp(-(X @ [0.5, -0.3, 0.2] + 0.1 + o)))).astype(float)
    return jnp.asarray(X), jnp.asarray(y), jnp.asarray(o)


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, D))
    Off = rng.normal(size=(N, K))
    Z = X @ rng.normal(size=(D, K)) * 0.6 + Off
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    y = np.array([rng.choice(K, p=p) for p in P])
    return jnp.asarray(X), jnp.asarray(y), jnp.asarray(Off)


def _design(X):
    return np.hstack([np.asarray(X), np.ones((X.shape[0], 1))])


def _theta(params):
    w, b = params
    return np.r_[np.asarray(w), float(b)]


@pytest.fixture(scope="module")
def statsmodels_logit(binary):
    X, y, o = binary
    return sm.Logit(np.asarray(y), _design(X), offset=np.asarray(o)).fit(
        method="newton", tol=1e-14, maxiter=100, disp=0)


# ----------------------------------------------------------------------------------------------
# Logistic regression.


@pytest.mark.parametrize("fit", [
    lambda X, y, o: logistic.fit_newton(X, y, offset=o),
    lambda X, y, o: logistic.fit_newton(X, y, offset=o, precision="mixed"),
    lambda X, y, o: logistic.fit_lbfgs(X, y, offset=o, gtol=1e-13),
    lambda X, y, o: logistic.fit_gd(X, y, offset=o, lr=logistic.gd_step_bound(X), gtol=1e-13,
                                    max_steps=5000),
    lambda X, y, o: jax.tree.map(lambda a: a[0], logistic.fit_newton_many(
        X, y, offset=o, l2=jnp.array([0.0, 1.0]))),
], ids=["newton", "newton-mixed", "lbfgs", "gd", "newton_many"])
def test_logistic_fits_equal_statsmodels(binary, statsmodels_logit, fit):
    X, y, o = binary
    res = fit(X, y, o)
    assert int(res.status) == Status.CONVERGED
    assert _rel(_theta(res.params), statsmodels_logit.params) < RTOL


def test_logistic_without_intercept_equals_statsmodels(binary):
    X, y, o = binary
    m = sm.Logit(np.asarray(y), np.asarray(X), offset=np.asarray(o)).fit(
        method="newton", tol=1e-14, disp=0)
    res = logistic.fit_newton(X, y, offset=o, fit_intercept=False)
    assert float(res.params[1]) == 0.0
    assert _rel(res.params[0], m.params) < RTOL


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "cluster"])
def test_logistic_inference_equals_statsmodels(binary, cov_type):
    X, y, o = binary
    groups = np.arange(N) % 15
    kw = {"groups": groups} if cov_type == "cluster" else {}
    m = sm.Logit(np.asarray(y), _design(X), offset=np.asarray(o)).fit(
        method="newton", tol=1e-14, maxiter=100, disp=0, cov_type=cov_type,
        **({"cov_kwds": kw} if kw else {}))
    inf = logistic.inference(logistic.fit_newton(X, y, offset=o), X, y, offset=o,
                             cov_type=cov_type, **kw)
    for ours, theirs in [(inf.params, m.params), (inf.std_err, m.bse), (inf.cov, m.cov_params()),
                         (inf.z, m.tvalues), (inf.log_likelihood, m.llf)]:
        assert _rel(ours, theirs) < RTOL, _rel(ours, theirs)
    # statsmodels fits its null model (with the offset) by BFGS; the exact null below.
    assert _rel(inf.ll_null, m.llnull) < 1e-8


def _logistic_null(y, o):
    """max over c of the log-likelihood of p = sigma(c + o), by scipy (the explicit form)."""
    y, o = np.asarray(y), np.asarray(o)

    def nll(c):
        z = c[0] + o
        return np.sum(np.logaddexp(0, z) - y * z)

    def g(c):
        return np.array([np.sum(1 / (1 + np.exp(-(c[0] + o))) - y)])

    res = scipy_optimize.minimize(nll, np.zeros(1), jac=g, method="BFGS", tol=1e-14)
    return -res.fun


def test_logistic_null_model_keeps_the_offset(binary):
    X, y, o = binary
    inf = logistic.inference(logistic.fit_newton(X, y, offset=o), X, y, offset=o)
    ref = _logistic_null(y, o)
    assert _rel(inf.ll_null, ref) < 1e-12
    # The closed form (no offset) would be a different number: the check can fail.
    ybar = float(np.mean(y))
    assert _rel(N * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar)), ref) > 1e-3
    llr = 2 * (float(inf.log_likelihood) - ref)
    assert float(inf.llr_pvalue) == pytest.approx(
        pytest.importorskip("scipy.stats").chi2.sf(llr, D), rel=1e-8)


def _plain_logistic(theta, X, y, o):
    z = X @ theta[:-1] + theta[-1] + o
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_logistic_closed_forms_equal_autodiff(binary, dtype):
    X, y, o = (a.astype(dtype) for a in binary)
    w, b = jnp.array([0.3, -0.2, 0.5], dtype), jnp.asarray(0.1, dtype)
    theta = jnp.append(w, b)
    tol = 1e-12 if dtype == jnp.float64 else 1e-5
    # Errors relative to the size of the summed terms (sums that can cancel).
    terms = float(jnp.sum(jnp.abs(_design(X))))
    assert abs(float(logistic.loss(w, b, X, y, offset=o)) - float(_plain_logistic(
        theta, X, y, o))) <= tol * float(_plain_logistic(theta, X, y, o))
    gw, gb = logistic.grad(w, b, X, y, offset=o)
    ref = jax.jit(jax.grad(_plain_logistic))(theta, X, y, o)
    assert float(jnp.max(jnp.abs(jnp.append(gw, gb) - ref))) <= tol * terms
    H = logistic.hessian(w, b, X, offset=o)
    Href = jax.jit(jax.hessian(_plain_logistic))(theta, X, y, o)
    assert _rel(H, Href) <= tol
    # The offset matters: without it the gradient differs by far more than the tolerance.
    gw0, _ = logistic.grad(w, b, X, y)
    assert float(jnp.max(jnp.abs(gw0 - gw))) > 100 * tol * terms


def test_logistic_predictions_with_an_offset(binary):
    X, y, o = binary
    w, b = logistic.fit_newton(X, y, offset=o).params
    z = np.asarray(X) @ np.asarray(w) + float(b) + np.asarray(o)
    np.testing.assert_allclose(logistic.predict_proba(w, b, X, offset=o), 1 / (1 + np.exp(-z)),
                               rtol=1e-14)
    pred = logistic.predict(w, b, X, offset=o)
    np.testing.assert_array_equal(pred, (z > 0).astype(int))
    assert float(logistic.accuracy(w, b, X, y, offset=o)) == pytest.approx(
        float(np.mean((z > 0) == np.asarray(y))))
    assert not np.array_equal(pred, logistic.predict(w, b, X))  # the offset moved some rows


def test_logistic_zero_offset_is_no_offset(binary):
    X, y, _ = binary
    zero = jnp.zeros(N)
    for fit in (logistic.fit_newton, logistic.fit_lbfgs):
        a, b = fit(X, y), fit(X, y, offset=zero)
        np.testing.assert_allclose(_theta(b.params), _theta(a.params), rtol=1e-14, atol=0)
    res = logistic.fit_newton(X, y)
    a = logistic.inference(res, X, y)
    b = logistic.inference(res, X, y, offset=zero)
    for x, z in [(a.std_err, b.std_err), (a.ll_null, b.ll_null), (a.llr_pvalue, b.llr_pvalue)]:
        np.testing.assert_allclose(z, x, rtol=1e-13)


def test_logistic_offset_along_a_column_shifts_its_weight(binary):
    # z = X w + b + c x_j: the fit absorbs the offset into w_j, which moves by exactly -c.
    X, y, _ = binary
    c, j = 0.7, 1
    ref = logistic.fit_newton(X, y)
    for fit in (logistic.fit_newton, logistic.fit_lbfgs):
        res = fit(X, y, offset=c * X[:, j], **({} if fit is logistic.fit_newton
                                                else {"gtol": 1e-13}))
        want = _theta(ref.params)
        want[j] -= c
        np.testing.assert_allclose(_theta(res.params), want, rtol=1e-10, atol=1e-12)


def test_logistic_float32(binary, statsmodels_logit):
    X, y, o = (a.astype(jnp.float32) for a in binary)
    res = logistic.fit_newton(X, y, offset=o)
    assert res.ok and res.params[0].dtype == jnp.float32
    eps32 = float(jnp.finfo(jnp.float32).eps)
    # The float32 fit stops at a mean gradient of 1e-5 (its default gtol): sqrt(eps32) here.
    assert _rel(_theta(res.params), statsmodels_logit.params) < 30 * np.sqrt(eps32)
    inf = logistic.inference(res, X, y, offset=o)
    ref = logistic.inference(logistic.fit_newton(*binary[:2], offset=binary[2]), *binary[:2],
                             offset=binary[2])
    assert _rel(inf.std_err, ref.std_err) < 100 * float(ref.condition_number) * eps32


def test_logistic_offset_is_traced(binary):
    X, y, o = binary
    eager = logistic.fit_newton(X, y, offset=o)
    before = _fit.fit._cache_size()
    for scale in (0.5, 2.0):  # new offsets, one program
        logistic.fit_newton(X, y, offset=scale * o)
    assert _fit.fit._cache_size() == before
    jitted = jax.jit(lambda o: logistic.fit_newton(X, y, offset=o))(o)
    np.testing.assert_allclose(_theta(jitted.params), _theta(eager.params), rtol=1e-13)
    # A non-finite offset under jit is a status, not NaN parameters.
    bad = jax.jit(lambda o: logistic.fit_newton(X, y, offset=o))(o.at[0].set(jnp.nan))
    assert int(bad.status) == Status.NONFINITE


def test_logistic_newton_many_rows_equal_single_fits(binary):
    X, y, o = binary
    l2 = jnp.array([0.0, 0.5, 2.0])
    sw = jnp.asarray(np.random.default_rng(2).integers(1, 3, (3, N)), jnp.float64)
    many = logistic.fit_newton_many(X, y, offset=o, l2=l2, sample_weight=sw)
    assert bool(many.ok)
    for i in range(3):
        one = logistic.fit_newton(X, y, offset=o, l2=float(l2[i]), sample_weight=sw[i])
        np.testing.assert_allclose(many.params[0][i], one.params[0], rtol=1e-10, atol=1e-12)


def test_logistic_bootstrap_with_an_offset(binary):
    # An offset along x_0 moves w_0 by -2: the resamples' mean must follow it.
    X, y, _ = binary
    o = 2.0 * X[:, 0]
    inf = logistic.inference(logistic.fit_newton(X, y, offset=o), X, y, offset=o)
    bs = logistic.bootstrap(X, y, offset=o, key=jax.random.key(0), num_resamples=64)
    assert int(bs.num_ok) == 64 and bs.std_err.shape == (D + 1,)
    mean = np.mean(np.asarray(bs.params), axis=0)
    assert np.all(np.abs(mean - np.asarray(inf.params)) < 0.5 * np.asarray(inf.std_err))
    ratio = np.asarray(bs.std_err / inf.std_err)
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * 64)), ratio


# ----------------------------------------------------------------------------------------------
# The K-class model: no statsmodels reference; autodiff and scipy on the explicit objective.


def _plain_multinomial(theta, X, y, Off, l2=0.0):
    """sum_n logsumexp(z_n) - z_{n, y_n} + l2/2 ||W||^2, z_n = W x_n + b + o_n (theta the K
    rows [W_k, b_k] flattened), written without jaxdl."""
    rows = theta.reshape(K, D + 1)
    Z = X @ rows[:, :-1].T + rows[:, -1][None, :] + Off
    picked = jnp.take_along_axis(Z, y[:, None], axis=1)[:, 0]
    return jnp.sum(jax.nn.logsumexp(Z, axis=1) - picked) + 0.5 * l2 * jnp.sum(rows[:, :-1]**2)


def _scipy_multinomial(X, y, Off, l2):
    """The reference fit: scipy's trust-exact Newton on the explicit objective, its gradient
    and Hessian by autodiff, then two plain Newton steps (trust-exact may stop at a gradient
    of 1e-8). l2 = 0: the last row held at 0 (the reference class); l2 > 0: all rows free but
    b_K (held), the intercepts centred after."""
    p = K * (D + 1)
    free = np.arange(p) < (K - 1) * (D + 1) if l2 == 0 else np.arange(p) != p - 1

    def full(t):
        return jnp.zeros(p).at[np.flatnonzero(free)].set(t)

    f = jax.jit(lambda t: _plain_multinomial(full(t), X, y, Off, l2))
    g, h = jax.jit(jax.grad(f)), jax.jit(jax.hessian(f))
    res = scipy_optimize.minimize(lambda t: float(f(t)), np.zeros(free.sum()),
                                  jac=lambda t: np.asarray(g(t)), hess=lambda t: np.asarray(h(t)),
                                  method="trust-exact", options={"gtol": 1e-12})
    t = res.x
    for _ in range(2):
        t = t - np.linalg.solve(np.asarray(h(t)), np.asarray(g(t)))
    assert float(np.max(np.abs(g(t)))) < 1e-12
    rows = np.array(full(jnp.asarray(t))).reshape(K, D + 1)
    if l2 > 0:
        rows[:, -1] -= rows[:, -1].mean()
    return rows, np.asarray(h(t))


@pytest.fixture(scope="module")
def scipy_multinomial(multiclass):
    X, y, Off = multiclass
    return {l2: _scipy_multinomial(X, y, Off, l2) for l2 in (0.0, 1.0)}


def _rows(params):
    W, b = params
    return np.concatenate([np.asarray(W), np.asarray(b)[:, None]], axis=1)


@pytest.mark.parametrize("l2", [0.0, 1.0])
@pytest.mark.parametrize("fit", [
    lambda X, y, Off, l2: multinomial.fit_newton(X, y, offset=Off, l2=l2),
    lambda X, y, Off, l2: multinomial.fit_lbfgs(X, y, offset=Off, l2=l2, gtol=1e-13),
    lambda X, y, Off, l2: multinomial.fit_gd(X, y, offset=Off, l2=l2, gtol=1e-13, max_steps=20000,
                                           lr=multinomial.gd_step_bound(X, l2=l2)),
    lambda X, y, Off, l2: jax.tree.map(lambda a: a[1], multinomial.fit_newton_many(
        X, y, offset=Off, l2=jnp.array([3.0, l2]))),
], ids=["newton", "lbfgs", "gd", "newton_many"])
def test_multinomial_fits_equal_scipy(multiclass, scipy_multinomial, fit, l2):
    X, y, Off = multiclass
    res = fit(X, y, Off, l2)
    assert int(res.status) == Status.CONVERGED, res.message
    assert _rel(_rows(res.params), scipy_multinomial[l2][0]) < RTOL


def test_multinomial_inference_equals_the_explicit_hessian(multiclass, scipy_multinomial):
    X, y, Off = multiclass
    rows, H = scipy_multinomial[0.0]
    inf = multinomial.inference(multinomial.fit_newton(X, y, offset=Off), X, y, offset=Off)
    assert inf.status_name == "converged"
    assert _rel(inf.params, rows[:-1]) < RTOL
    cov = np.linalg.inv(H)
    assert _rel(inf.cov, cov) < RTOL
    assert _rel(inf.std_err, np.sqrt(np.diag(cov)).reshape(K - 1, D + 1)) < RTOL
    assert _rel(inf.log_likelihood, -_plain_multinomial(
        jnp.asarray(rows.reshape(-1)), X, y, Off)) < 1e-13
    # The null model keeps the offset: the intercepts alone, refitted by scipy.
    Y = np.eye(K)[np.asarray(y)]

    def null(c):
        Z = np.r_[c, 0.0] + np.asarray(Off)
        m = Z.max(1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(Z - m).sum(1))
        P = np.exp(Z - lse[:, None])
        return np.sum(lse - np.sum(Y * Z, 1)), np.sum(P - Y, 0)[:-1]

    ref = scipy_optimize.minimize(null, np.zeros(K - 1), jac=True, method="BFGS", tol=1e-14)
    assert _rel(inf.ll_null, -ref.fun) < 1e-12


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_multinomial_closed_forms_equal_autodiff(multiclass, dtype):
    X, y, Off = multiclass
    X, Off = X.astype(dtype), Off.astype(dtype)
    rng = np.random.default_rng(3)
    W, b = jnp.asarray(rng.normal(size=(K, D)), dtype), jnp.asarray(rng.normal(size=K), dtype)
    theta = jnp.concatenate([W, b[:, None]], axis=1).reshape(-1)
    tol = 1e-12 if dtype == jnp.float64 else 1e-5
    terms = float(jnp.sum(jnp.abs(_design(X))))
    ref = _plain_multinomial(theta, X, y, Off, 0.5)
    assert abs(float(multinomial.loss(W, b, X, y, l2=0.5, offset=Off)) - float(ref)) <= \
        tol * float(ref)
    gW, gb = multinomial.grad(W, b, X, y, l2=0.5, offset=Off)
    g = jax.jit(jax.grad(_plain_multinomial))(theta, X, y, Off, 0.5)
    assert float(jnp.max(jnp.abs(jnp.concatenate([gW, gb[:, None]], 1).reshape(-1) - g))) <= \
        tol * terms
    H = multinomial.hessian(W, b, X, l2=0.5, offset=Off)
    assert _rel(H, jax.jit(jax.hessian(_plain_multinomial))(theta, X, y, Off, 0.5)) <= tol
    gW0, _ = multinomial.grad(W, b, X, y, l2=0.5)
    assert float(jnp.max(jnp.abs(gW0 - gW))) > 100 * tol * terms


def test_multinomial_offset_along_a_column_shifts_its_weights(multiclass):
    # o_nk = c_k x_nj: W[:, j] absorbs it, moving by -(c - c_K) (the last class the reference).
    X, y, _ = multiclass
    c, j = np.array([0.4, -0.9, 0.3]), 2
    ref = multinomial.fit_newton(X, y)
    res = multinomial.fit_newton(X, y, offset=X[:, j:j + 1] * jnp.asarray(c)[None, :])
    want = _rows(ref.params)
    want[:, j] -= c - c[-1]
    np.testing.assert_allclose(_rows(res.params), want, rtol=1e-10, atol=1e-12)


def test_multinomial_predictions_and_zero_offset(multiclass):
    X, y, Off = multiclass
    W, b = multinomial.fit_newton(X, y, offset=Off).params
    Z = np.asarray(X) @ np.asarray(W).T + np.asarray(b) + np.asarray(Off)
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(multinomial.predict_proba(W, b, X, offset=Off), P, rtol=1e-13)
    np.testing.assert_array_equal(multinomial.predict(W, b, X, offset=Off), Z.argmax(1))
    assert float(multinomial.accuracy(W, b, X, y, offset=Off)) == pytest.approx(
        float(np.mean(Z.argmax(1) == np.asarray(y))))
    np.testing.assert_array_equal(multinomial.predict_classifier((W, b), X, offset=Off),
                                  Z.argmax(1))
    zero = jnp.zeros((N, K))
    a, z = multinomial.fit_newton(X, y, l2=0.5), multinomial.fit_newton(X, y, l2=0.5,
                                                                        offset=zero)
    np.testing.assert_allclose(_rows(z.params), _rows(a.params), rtol=1e-14, atol=0)
    clf = multinomial.fit_classifier(X, y, num_classes=K, offset=Off)
    np.testing.assert_allclose(_rows(clf.params), _rows(multinomial.fit_newton(
        X, y, offset=Off).params), rtol=1e-14)


def test_multinomial_float32_and_bootstrap(multiclass, scipy_multinomial):
    X, y, Off = multiclass
    res = multinomial.fit_newton(X.astype(jnp.float32), y, offset=Off.astype(jnp.float32),
                                 l2=1.0)
    assert res.ok and res.params[0].dtype == jnp.float32
    eps32 = float(jnp.finfo(jnp.float32).eps)
    assert _rel(_rows(res.params), scipy_multinomial[1.0][0]) < 30 * np.sqrt(eps32)
    bs = multinomial.bootstrap(X, y, offset=Off, key=jax.random.key(1), num_resamples=32)
    assert int(bs.num_ok) == 32 and bs.std_err.shape == (K - 1, D + 1)
    assert bool(jnp.all(bs.std_err > 0))


# ----------------------------------------------------------------------------------------------
# Bad offsets are named.


def test_bad_offsets_are_named(binary, multiclass):
    X, y, o = binary
    Xk, yk, Off = multiclass
    res = logistic.fit_newton(X, y)
    cases = [
        (lambda: logistic.fit_newton(X, y, offset=o[:-1]), ValueError,
         rf"offset: expected shape \({N},\) \(the logits' shape: one term per row of X\), got "
         rf"shape \({N - 1},\)"),
        (lambda: logistic.loss(*res.params, X, y, offset=jnp.ones((N, 2))), ValueError,
         r"offset: expected shape"),
        (lambda: logistic.fit_lbfgs(X, y, offset=o.at[3].set(jnp.inf)), ValueError,
         "offset: expected finite values, got 1 non-finite"),
        (lambda: logistic.predict_proba(*res.params, X, offset=jnp.ones(N, jnp.int32)),
         TypeError, "offset: expected a floating-point array"),
        (lambda: logistic.inference(res, X, y, offset=o.astype(jnp.float32)), TypeError,
         "offset: expected dtype float64"),
        (lambda: logistic.bootstrap(X, y, key=jax.random.key(0), offset="o"), TypeError,
         "offset: expected an array of floats"),
        (lambda: multinomial.fit_newton(Xk, yk, offset=Off[:, 0]), ValueError,
         rf"offset: expected shape \({N}, {K}\) \(the logits' shape: one term per row of X "
         rf"and class\), got shape \({N},\)"),
        (lambda: multinomial.hessian(jnp.zeros((K, D)), jnp.zeros(K), Xk, offset=Off[:, :2]),
         ValueError, "offset: expected shape"),
        (lambda: multinomial.fit_newton_many(Xk, yk, offset=Off.at[0, 0].set(jnp.nan)),
         ValueError, "offset: expected finite values"),
    ]
    for call, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            call()
