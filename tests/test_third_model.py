"""A third linear model needs only its maths: Poisson regression, defined here in a few lines,
gets every verb of jaxdl._linear_model (fits, predictions, inference, bootstrap) and agrees
with statsmodels' Poisson GLM."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _inference, _linear_model, _newton_step, _solver, checks


def _design(X):
    return jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)


@functools.partial(jax.jit, static_argnames=("cov_type", "num_groups"))
def _wald(theta, X, y, sw, l2, level, fit_status, grad_norm, groups, offset, *, cov_type,
          num_groups):
    A = _design(X)
    d = X.shape[1]
    ridge = jnp.concatenate([jnp.ones((d,), X.dtype), jnp.zeros((1,), X.dtype)])
    z = A @ theta if offset is None else A @ theta + offset
    mu = jnp.exp(z)
    H = (A * (sw * mu)[:, None]).T @ A + jnp.diag(l2 * ridge)
    r = mu - y
    meat = clusters = None
    if cov_type == "HC0":
        meat = (A * (sw * r**2)[:, None]).T @ A
    elif cov_type == "cluster":
        meat, clusters = _inference.cluster_meat(r[:, None] * A, sw, groups, num_groups)
    grad = A.T @ (sw * r) + l2 * ridge * theta
    ll = jnp.sum(sw * (y * z - mu - jax.scipy.special.gammaln(y + 1)))
    # The null model keeps the offset: mu = exp(c + o), c = log(sum sw y / sum sw e^o).
    o = jnp.zeros_like(y) if offset is None else offset
    mu0 = jnp.exp(o) * jnp.sum(sw * y) / jnp.sum(sw * jnp.exp(o))
    ll_null = jnp.sum(sw * (jax.scipy.special.xlogy(y, mu0) - mu0
                            - jax.scipy.special.gammaln(y + 1)))
    return _inference.compute(theta, H, meat, grad,
                              grad_tol=10 * grad_norm + 1e-6 * jnp.sum(sw),
                              log_likelihood=ll, ll_null=ll_null, nobs=jnp.sum(sw), df_model=d,
                              l2=l2, level=level, fit_status=fit_status, cov_type=cov_type,
                              clusters=clusters)


@dataclasses.dataclass(frozen=True)
class Poisson:
    """Counts y with log link: loss sum exp(z) - y z (+ l2/2 ||w||^2), z = X w + b."""

    intercept: bool = True
    name = "poisson"
    summary_name = "Poisson"
    param_names = ("w", "b")
    curvature = 1.0  # unbounded in general; the GD test passes its own rate
    mixed_precision = False

    # The maths: objective, gradient and Hessian from the linear predictor.
    def oracle(self, X, y, l2, sw, *, mixed, outer, row_shards):
        A = _design(X)
        ridge = jnp.concatenate([jnp.ones((X.shape[1],), X.dtype), jnp.zeros((1,), X.dtype)])

        def along(t):
            return A @ t

        def direction(theta, g, z, solve_error):
            H = (A * (sw * jnp.exp(z))[:, None]).T @ A + jnp.diag(l2 * ridge)
            delta, ok = _newton_step.cholesky_direction(H, g)
            return delta, ok, None, solve_error

        return _solver.NewtonOracle(
            predictor=along, along=along, direction=direction,
            value=lambda t, z: jnp.sum(sw * (jnp.exp(z) - y * z)) + 0.5 * l2 * jnp.sum(
                ridge * t**2),
            grad=lambda t, z: A.T @ (sw * (jnp.exp(z) - y)) + l2 * ridge * t,
            separated=lambda t, z: jnp.asarray(False))

    # How its labels and parameters look.
    @classmethod
    def bind(cls, y, n, num_classes, intercept):
        return cls(intercept)

    @classmethod
    def of_params(cls, w, b, d):
        return cls(), checks.float_array("w", w, shape=(d,)), checks.float_array("b", b, ndim=0)

    def labels(self, y, n, dtype):
        y = checks.float_array("y", y, shape=(n,))
        if checks.is_concrete(y) and bool(jnp.any(y < 0)):
            raise ValueError("y: expected counts >= 0, got a negative value")
        return y.astype(dtype)

    def shapes(self, d):
        return (d,), ()

    def split(self, theta, d):
        return theta[..., :-1], theta[..., -1]

    def join(self, params):
        w, b = params
        return jnp.concatenate([w, jnp.asarray(b)[..., None]], axis=-1)

    def start(self, theta0, d, l2):
        return theta0

    def finish(self, theta, d, l2):
        return self.split(theta, d)

    def cold_logits(self, X, theta0):
        return jnp.full((X.shape[0],), theta0[-1], X.dtype)

    def invalid(self, y, l2, sw):
        return jnp.any(y < 0) | (l2 < 0) | jnp.any(sw < 0)

    def outer(self, X):
        return None

    # Predictions and inference.
    def logits(self, w, b, X):
        return X @ w + b

    def proba(self, z):
        return jnp.exp(z)  # the mean count

    def classify(self, z):
        return jnp.floor(jnp.exp(z)).astype(jnp.int32)  # the mode of the Poisson

    def convention(self, l2):
        return None

    def wald(self, theta, X, y, sw, l2, level, fit_status, grad_norm, *, cov_type, groups,
             num_groups, offset, row_shards, convention):
        return _wald(theta, X, y, sw, l2, level, fit_status, grad_norm, groups, offset,
                     cov_type=cov_type, num_groups=num_groups)

    def rows(self, params, convention):
        w, b = params
        return jnp.concatenate([w, b[:, None]], axis=1)

    @staticmethod
    def blocks(inf, class_names, dep_variable):
        return 1, None


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.1]) + 0.5)).astype(float)
    return jnp.asarray(X), jnp.asarray(y)


def test_every_verb_of_the_shared_layer_serves_a_third_model(counts):
    import statsmodels.api as sm

    X, y = counts
    sm_fit = sm.GLM(np.asarray(y), np.c_[np.asarray(X), np.ones(len(y))],
                    family=sm.families.Poisson()).fit(tol=1e-12)
    newton = _linear_model.fit(Poisson, "newton", X, y, max_steps=50)
    assert newton.status_name == "converged"
    theta = np.r_[np.asarray(newton.params[0]), float(newton.params[1])]
    np.testing.assert_allclose(theta, sm_fit.params, rtol=1e-9, atol=1e-11)
    lbfgs = _linear_model.fit(Poisson, "lbfgs", X, y, max_steps=500, gtol=1e-10)
    np.testing.assert_allclose(lbfgs.params[0], newton.params[0], rtol=1e-7, atol=1e-9)
    gd = _linear_model.fit(Poisson, "gd", X, y, lr=2e-4, max_steps=20_000, gtol=1e-8)
    assert gd.status_name == "converged"
    np.testing.assert_allclose(gd.params[0], newton.params[0], rtol=1e-5, atol=1e-7)
    many = _linear_model.fit_many(Poisson, X, y, l2=jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(many.params[0][0], newton.params[0], rtol=1e-10, atol=1e-12)
    inf = _linear_model.inference(Poisson, newton, X, y)
    np.testing.assert_allclose(inf.std_err, sm_fit.bse, rtol=1e-8)
    np.testing.assert_allclose(float(inf.log_likelihood), sm_fit.llf, rtol=1e-10)
    mean = _linear_model.predict_proba(Poisson, *newton.params, X)
    np.testing.assert_allclose(mean, sm_fit.fittedvalues, rtol=1e-9)
    bs = _linear_model.bootstrap(Poisson, X, y, key=jax.random.key(0), num_resamples=128)
    ratio = np.asarray(bs.std_err / inf.std_err)
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * 128)), ratio
    with pytest.raises(ValueError, match="y: expected counts >= 0"):
        _linear_model.fit(Poisson, "newton", X, y.at[0].set(-1.0), max_steps=5)


def test_an_offset_reaches_a_third_model_unasked(counts):
    # The shared layer adds the offset to the carried predictor and the predictions: a Poisson
    # rate per unit of exposure t (offset log t) agrees with statsmodels' GLM(offset=log t),
    # for the fit, its inference (the cluster covariance too) and the mean counts.
    import statsmodels.api as sm

    X, y = counts
    rng = np.random.default_rng(4)
    exposure = rng.uniform(0.5, 3.0, y.shape[0])
    y = jnp.asarray(rng.poisson(exposure * np.exp(np.asarray(X) @ [0.3, -0.2, 0.1] + 0.5)),
                    X.dtype)
    o = jnp.log(jnp.asarray(exposure))
    groups = np.arange(y.shape[0]) % 25
    A = np.c_[np.asarray(X), np.ones(len(y))]
    family = sm.families.Poisson()
    ref = sm.GLM(np.asarray(y), A, family=family, offset=np.asarray(o)).fit(tol=1e-13)
    clu = sm.GLM(np.asarray(y), A, family=family, offset=np.asarray(o)).fit(
        tol=1e-13, cov_type="cluster", cov_kwds={"groups": groups})
    res = _linear_model.fit(Poisson, "newton", X, y, max_steps=50, offset=o)
    theta = np.r_[np.asarray(res.params[0]), float(res.params[1])]
    np.testing.assert_allclose(theta, ref.params, rtol=1e-9, atol=1e-11)
    inf = _linear_model.inference(Poisson, res, X, y, offset=o)
    np.testing.assert_allclose(inf.std_err, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(float(inf.ll_null), ref.llnull, rtol=1e-10)
    inf = _linear_model.inference(Poisson, res, X, y, offset=o, cov_type="cluster",
                                  groups=groups)
    np.testing.assert_allclose(inf.std_err, clu.bse, rtol=1e-8)
    mean = _linear_model.predict_proba(Poisson, *res.params, X, offset=o)
    np.testing.assert_allclose(mean, ref.fittedvalues, rtol=1e-9)
