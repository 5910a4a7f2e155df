"""Covariance types of the linear models' inference: nonrobust, HC0 and cluster, against
statsmodels' Logit and MNLogit, with frequency weights, under jit, and their errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _inference, logistic, multinomial, softmax
from jaxdl.results import SolverError, Status

sm = pytest.importorskip("statsmodels.api")

RTOL = 1e-8  # agreement with statsmodels in float64
N, D, G, K = 300, 3, 20, 3
COV_TYPES = ("nonrobust", "HC0", "cluster")


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def data():
    """Rows in G groups sharing a random effect (so the groups are correlated inside), binary
    and 3-class labels."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    groups = rng.integers(0, G, N)
    effect = rng.normal(size=G)[groups]
    y = (rng.random(N) < 1 / (1 + np.exp(-(X @ [0.5, -0.3, 0.2] + 0.1 + effect)))).astype(float)
    Z = X @ rng.normal(size=(D, K)) * 0.7 + effect[:, None] * np.array([1.0, -1.0, 0.0])
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    yk = np.array([rng.choice(K, p=p) for p in P])
    return jnp.asarray(X), jnp.asarray(y), jnp.asarray(yk), groups


def _kw(cov_type, groups):
    return {"cov_type": cov_type} | ({"groups": groups} if cov_type == "cluster" else {})


def _sm_kw(cov_type, groups):
    return {"cov_type": cov_type} | ({"cov_kwds": {"groups": groups}}
                                     if cov_type == "cluster" else {})


def _design(X):
    return np.hstack([np.asarray(X), np.ones((X.shape[0], 1))])


@pytest.fixture(scope="module")
def logit_fit(data):
    X, y, _, _ = data
    res = logistic.fit_newton(X, y)
    assert res.ok, res.message
    return res


@pytest.fixture(scope="module")
def mnlogit_fit(data):
    X, _, yk, _ = data
    res = multinomial.fit_newton(X, yk)
    assert res.ok, res.message
    return res


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_logistic_equals_statsmodels_logit(data, logit_fit, cov_type):
    X, y, _, groups = data
    inf = logistic.inference(logit_fit, X, y, **_kw(cov_type, groups))
    m = sm.Logit(np.asarray(y), _design(X)).fit(method="newton", tol=1e-12, maxiter=100, disp=0,
                                                **_sm_kw(cov_type, groups))
    assert inf.status_name == "converged" and inf.cov_type == cov_type
    assert int(inf.cov_code) == COV_TYPES.index(cov_type)
    assert bool(inf.robust) is (cov_type != "nonrobust")
    for ours, theirs in [(inf.params, m.params), (inf.std_err, m.bse), (inf.cov, m.cov_params()),
                         (inf.z, m.tvalues), (inf.p_value, m.pvalues)]:
        assert _rel(ours, theirs) < RTOL, (cov_type, _rel(ours, theirs))


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_multinomial_equals_statsmodels_mnlogit(data, mnlogit_fit, cov_type):
    X, _, yk, groups = data
    # statsmodels' reference is its first category; jaxdl's the last: relabel y -> y + 1 mod K.
    m = sm.MNLogit((np.asarray(yk) + 1) % K, _design(X)).fit(
        method="newton", tol=1e-12, maxiter=100, disp=0, **_sm_kw(cov_type, groups))
    for module in (multinomial, softmax):  # softmax.inference is the same function
        inf = module.inference(mnlogit_fit, X, yk, **_kw(cov_type, groups))
        assert inf.status_name == "converged" and inf.cov_type == cov_type
        assert inf.cov.shape == ((K - 1) * (D + 1),) * 2
        for ours, theirs in [(inf.params, np.asarray(m.params).T),
                             (inf.std_err, np.asarray(m.bse).T),
                             (inf.cov, np.asarray(m.cov_params())),
                             (inf.z, np.asarray(m.tvalues).T)]:
            assert _rel(ours, theirs) < RTOL, (cov_type, _rel(ours, theirs))


def test_the_three_covariances_differ(data, logit_fit):
    # The agreement above is informative: on correlated groups the three differ by far more
    # than the tolerance.
    X, y, _, groups = data
    se = {c: logistic.inference(logit_fit, X, y, **_kw(c, groups)).std_err for c in COV_TYPES}
    assert _rel(se["HC0"], se["nonrobust"]) > 1e-3
    assert _rel(se["cluster"], se["HC0"]) > 1e-2


def test_singleton_groups_are_hc0_times_the_correction(data, logit_fit, mnlogit_fit):
    # One row per group: every group sum is one row's score, so the cluster meat is HC0's and
    # only the factor G / (G - 1) (N - 1) / (N - K) = N / (N - K) remains.
    X, y, yk, _ = data
    rows = np.arange(N)
    for module, res, labels, k in ((logistic, logit_fit, y, D + 1),
                                   (multinomial, mnlogit_fit, yk, (K - 1) * (D + 1))):
        hc0 = module.inference(res, X, labels, cov_type="HC0")
        clu = module.inference(res, X, labels, cov_type="cluster", groups=rows)
        np.testing.assert_allclose(clu.cov, hc0.cov * N / (N - k), rtol=1e-12, atol=0)


def test_robust_true_is_hc0(data, logit_fit, mnlogit_fit):
    X, y, yk, _ = data
    for module, res, labels in ((logistic, logit_fit, y), (multinomial, mnlogit_fit, yk)):
        a = module.inference(res, X, labels, robust=True)
        b = module.inference(res, X, labels, cov_type="HC0")
        assert a.cov_type == "HC0"
        np.testing.assert_array_equal(a.cov, b.cov)
        assert module.inference(res, X, labels, robust=True, cov_type="HC0").cov_type == "HC0"


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_float32_agrees_with_float64(data, logit_fit, mnlogit_fit, cov_type):
    X, y, yk, groups = data
    X32 = X.astype(jnp.float32)
    eps32 = float(jnp.finfo(jnp.float32).eps)
    for module, res, labels, labels32 in ((logistic, logit_fit, y, y.astype(jnp.float32)),
                                          (multinomial, mnlogit_fit, yk, yk)):
        ref = module.inference(res, X, labels, **_kw(cov_type, groups))
        fit32 = module.fit_newton(X32, labels32)
        assert fit32.ok, fit32.message
        inf = module.inference(fit32, X32, labels32, **_kw(cov_type, groups))
        assert inf.std_err.dtype == jnp.float32 and inf.cov_type == cov_type
        # float32 keeps about cond(H) eps32 of the digits; the fit's own tolerance (1e-5 on the
        # mean gradient) moves the estimate by less than that here.
        tol = 100 * float(ref.condition_number) * eps32
        assert _rel(inf.std_err, ref.std_err) < tol, (module.__name__, _rel(inf.std_err,
                                                                            ref.std_err), tol)


def test_weight_two_is_the_row_twice_in_its_group(data):
    X, y, yk, groups = data
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 3, N).astype(float)
    counts[groups == 0] = 0  # a group of weight 0 is no group: G counts groups with weight
    rows = np.repeat(np.arange(N), counts.astype(int))
    sw = jnp.asarray(counts)
    for module, labels in ((logistic, y), (multinomial, yk)):
        for cov_type in ("HC0", "cluster"):
            fit_w = module.fit_newton(X, labels, sample_weight=sw)
            fit_r = module.fit_newton(X[rows], labels[rows])
            a = module.inference(fit_w, X, labels, sample_weight=sw, **_kw(cov_type, groups))
            b = module.inference(fit_r, X[rows], labels[rows],
                                 **_kw(cov_type, groups[rows]))
            np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-9)
            np.testing.assert_allclose(a.cov, b.cov, rtol=1e-9, atol=1e-14)
            assert float(a.nobs) == rows.size


def test_jit_with_num_groups_equals_eager(data, logit_fit, mnlogit_fit):
    X, y, yk, groups = data
    names = np.array([f"site-{g:02d}" for g in groups])  # eagerly, any labels
    codes = jnp.asarray(groups, jnp.int32)
    for module, res, labels in ((logistic, logit_fit, y), (multinomial, mnlogit_fit, yk)):
        eager = module.inference(res, X, labels, cov_type="cluster", groups=names)
        jitted = jax.jit(lambda r, g, module=module, labels=labels: module.inference(
            r, X, labels, cov_type="cluster", groups=g, num_groups=G))(res, codes)
        assert int(jitted.status) == Status.CONVERGED and jitted.cov_type == "cluster"
        np.testing.assert_allclose(jitted.cov, eager.cov, rtol=1e-12, atol=0)
        np.testing.assert_allclose(jitted.std_err, eager.std_err, rtol=1e-12)
        # Unused codes below num_groups are no groups (G counts groups with weight).
        wide = jax.jit(lambda r, g, module=module, labels=labels: module.inference(
            r, X, labels, cov_type="cluster", groups=g, num_groups=G + 5))(res, codes)
        np.testing.assert_allclose(wide.cov, eager.cov, rtol=1e-12, atol=0)


def test_bad_codes_under_jit_are_a_status(data, logit_fit, mnlogit_fit):
    X, y, yk, groups = data
    for module, res, labels in ((logistic, logit_fit, y), (multinomial, mnlogit_fit, yk)):
        def run(g, module=module, labels=labels, res=res):
            return jax.jit(lambda r, g: module.inference(
                r, X, labels, cov_type="cluster", groups=g, num_groups=G))(res, g)

        out_of_range = run(jnp.asarray(groups, jnp.int32).at[3].set(G))
        negative = run(jnp.asarray(groups, jnp.int32).at[5].set(-1))
        one_group = run(jnp.zeros(N, jnp.int32))
        for inf in (out_of_range, negative, one_group):
            assert int(inf.status) == Status.INVALID_INPUT
            for leaf in jax.tree.leaves(inf):
                assert bool(jnp.all(jnp.isfinite(leaf)))
            assert float(jnp.max(jnp.abs(inf.std_err))) == 0.0
        with pytest.raises(SolverError, match="invalid_input: .* group codes outside"):
            module.summary(one_group)
        with pytest.raises(ValueError, match="or, for cov_type='cluster', group codes"):
            _inference.raise_if_failed(one_group, fit_status=Status.CONVERGED, what="test")


def test_errors_are_named(data, logit_fit, mnlogit_fit):
    X, y, yk, groups = data
    for module, res, labels in ((logistic, logit_fit, y), (multinomial, mnlogit_fit, yk)):
        def call(module=module, res=res, labels=labels, **kw):
            return module.inference(res, X, labels, **kw)

        with pytest.raises(TypeError, match="groups: expected one group label per row"):
            call(cov_type="cluster")
        with pytest.raises(ValueError, match=rf"groups: expected shape \({N},\)"):
            call(cov_type="cluster", groups=groups[:-1])
        with pytest.raises(ValueError, match="groups: expected at least 2 groups of positive "
                                             "weight for cov_type='cluster', got 1"):
            call(cov_type="cluster", groups=np.zeros(N, int))
        with pytest.raises(ValueError, match="groups: expected at least 2 groups .* got 1"):
            call(cov_type="cluster", groups=groups,
                 sample_weight=jnp.asarray((groups == 4).astype(float)))
        with pytest.raises(ValueError, match=r"groups: expected integer codes in \[0, 5\)"):
            call(cov_type="cluster", groups=groups, num_groups=5)
        with pytest.raises(TypeError, match="num_groups: expected an int .* when groups is "
                                            "traced"):
            jax.jit(lambda g: call(cov_type="cluster", groups=g))(jnp.asarray(groups))
        with pytest.raises(TypeError, match="groups: expected integer codes"):
            jax.jit(lambda g: call(cov_type="cluster", groups=g, num_groups=G))(
                jnp.asarray(groups, jnp.float64))
        with pytest.raises(TypeError, match="robust, cov_type: expected one of them"):
            call(robust=True, cov_type="cluster", groups=groups)
        with pytest.raises(TypeError, match="robust, cov_type"):
            call(robust=True, cov_type="nonrobust")
        with pytest.raises(ValueError, match="cov_type: expected one of"):
            call(cov_type="HC1")
        with pytest.raises(TypeError, match="groups: expected None unless cov_type='cluster'"):
            call(cov_type="HC0", groups=groups)
        with pytest.raises(TypeError, match="num_groups: expected None unless"):
            call(num_groups=G)
        with pytest.raises(ValueError, match="num_groups: expected an int >= 2"):
            call(cov_type="cluster", groups=groups, num_groups=1)


def test_summary_names_the_covariance(data, logit_fit, mnlogit_fit):
    X, y, yk, groups = data
    for module, res, labels in ((logistic, logit_fit, y), (multinomial, mnlogit_fit, yk)):
        for cov_type in COV_TYPES:
            text = module.summary(module.inference(res, X, labels, **_kw(cov_type, groups)))
            line = next(s for s in text.splitlines() if s.startswith("Covariance Type:"))
            assert line.split()[2] == cov_type, line


def test_penalised_cluster_keeps_its_note(data):
    # l2 > 0: the sandwich of the penalised Hessian, checked against NumPy, and the summary's
    # penalised note stays.
    X, y, _, groups = data
    res = logistic.fit_newton(X, y, l2=3.0)
    inf = logistic.inference(res, X, y, l2=3.0, cov_type="cluster", groups=groups)
    w, b = res.params
    A = _design(X)
    p = 1 / (1 + np.exp(-(A @ np.r_[np.asarray(w), float(b)])))
    H = (A * (p * (1 - p))[:, None]).T @ A + np.diag([3.0] * D + [0.0])
    S = np.zeros((G, D + 1))
    np.add.at(S, groups, (p - np.asarray(y))[:, None] * A)
    c = G / (G - 1) * (N - 1) / (N - D - 1)
    Hi = np.linalg.inv(H)
    np.testing.assert_allclose(inf.cov, Hi @ (c * S.T @ S) @ Hi, rtol=1e-10)
    text = logistic.summary(inf)
    assert "Covariance of the penalised estimate (l2 = 3)" in text and "cluster" in text
