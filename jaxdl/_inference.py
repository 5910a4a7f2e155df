"""Statistical inference for the linear-predictor models, written once for all of them.

At the optimum ``theta_hat`` of a (weighted, possibly penalised) likelihood fit, the inverse of
the Hessian ``H`` of the objective is the covariance of the estimate (``"nonrobust"``); with
the per-sample scores ``g_n`` the sandwich covariance is ``H^{-1} M H^{-1}``, with
``M = sum_n sw_n g_n g_n^T`` (White's ``"HC0"``) or, for rows in groups (clusters),
``M = c sum_g s_g s_g^T``, ``s_g = sum_{n in g} sw_n g_n``, with statsmodels' small-sample
factor ``c = G / (G - 1) (N - 1) / (N - K)`` (``"cluster"``; ``G`` groups of positive weight,
``N = sum(sw)`` observations, ``K`` fitted parameters). Standard errors, Wald z statistics,
normal p-values ``2 Phi(-|z|)`` and confidence intervals
``theta_hat +- Phi^{-1}((1 + level) / 2) se`` follow, with ``Phi`` / ``Phi^{-1}`` from
``jax.scipy.special`` (``ndtr`` / ``ndtri``) and every product
with ``H^{-1}`` a Cholesky solve. A model module (:mod:`jaxdl.logistic`, :mod:`jaxdl.softmax`)
supplies its Hessian, its scores' outer products and its log-likelihoods; :func:`compute` does
the rest (jittable, vmappable) and :func:`render` prints a statsmodels-style table.

Weights are frequency weights: a row of weight 2 counts as two rows, so ``nobs = sum(sw)``
and bootstrap count weights reproduce a resample exactly.

See the [Q1 derivation][q1-derivation] (the Hessian is PSD; at the optimum its inverse is the
covariance).
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import results
from jaxdl.results import Status

__all__ = ["Inference", "Bootstrap", "COV_TYPES", "compute", "cluster_meat", "raise_if_failed",
           "raise_if_fit_failed", "render", "bootstrap_counts", "bootstrap_std_err"]

# The covariance types, in the order of their int32 codes (``Inference.cov_code``).
COV_TYPES = ("nonrobust", "HC0", "cluster")


class Inference(NamedTuple):
    """Wald inference for one fit (a pytree: passes through jit and vmap).

    ``theta = [w; b]`` (b last) for logistic regression; for the K-class model without a
    penalty the free rows ``(K-1, d+1)`` of ``[W, b]`` (the last class is the reference), with
    ``l2 > 0`` all K rows, each column centred. ``params``, ``std_err``,
    ``z``, ``p_value``, ``ci_low`` and ``ci_high`` have the parameters' shape; ``cov`` is
    ``(p, p)`` over the parameters flattened row-major (``p = params.size``).

    Attributes:
      params: the estimate.
      cov: its covariance: ``H^{-1}`` (``"nonrobust"``), or the sandwich ``H^{-1} M H^{-1}``
        with the HC0 or the cluster meat (see :attr:`cov_type`).
      std_err: ``sqrt(diag(cov))``.
      z: Wald statistics ``params / std_err``.
      p_value: two-sided normal p-values ``2 Phi(-|z|)``.
      ci_low, ci_high: the ``level`` confidence interval ``params -+ Phi^{-1}((1+level)/2) se``.
      log_likelihood: the (unpenalised) log-likelihood at ``params``.
      ll_null: the log-likelihood of the intercept-only model (closed form).
      pseudo_r2: McFadden's ``1 - log_likelihood / ll_null``.
      llr_pvalue: p-value of the likelihood-ratio test against the null model (chi-squared
        with ``df_model`` degrees of freedom).
      aic, bic: ``-2 ll + 2 p`` and ``-2 ll + log(nobs) p``.
      nobs: number of observations, ``sum(sample_weight)``.
      df_model: the model's degrees of freedom beyond the intercepts.
      l2: the ridge penalty of the fit; ``penalized`` is ``l2 > 0``: then ``cov`` is the
        covariance of the penalised estimate (the inverse Hessian of the penalised objective),
        and the likelihood-ratio figures compare a penalised fit.
      penalized: ``l2 > 0``.
      robust: whether ``cov`` is a sandwich (HC0 or cluster).
      cov_code: int32 code of the covariance type, its index in ``Inference.COV_TYPES``
        (``0`` nonrobust, ``1`` HC0, ``2`` cluster); :attr:`cov_type` names it.
      level: the confidence level of the interval.
      condition_number: ``lambda_max / lambda_min`` of the (penalised) Hessian.
      status: int32 :class:`jaxdl.results.Status`: CONVERGED when the numbers are valid; the
        fit's own status when it failed; SINGULAR when the Hessian is numerically singular;
        INVALID_INPUT when ``params`` is not a stationary point of the objective described by
        the arguments (e.g. a different ``l2`` than the fit's), or, for a cluster covariance
        under jit, when a group code is outside ``[0, num_groups)``, fewer than 2 groups have
        positive weight or there are no more observations than parameters. Where the status
        is not a success every float field is 0 (never NaN or inf).
    """

    COV_TYPES = COV_TYPES

    params: jax.Array
    cov: jax.Array
    std_err: jax.Array
    z: jax.Array
    p_value: jax.Array
    ci_low: jax.Array
    ci_high: jax.Array
    log_likelihood: jax.Array
    ll_null: jax.Array
    pseudo_r2: jax.Array
    llr_pvalue: jax.Array
    aic: jax.Array
    bic: jax.Array
    nobs: jax.Array
    df_model: jax.Array
    l2: jax.Array
    penalized: jax.Array
    robust: jax.Array
    cov_code: jax.Array
    level: jax.Array
    condition_number: jax.Array
    status: jax.Array

    @property
    def ok(self) -> jax.Array:
        """True when every status is a success (jittable)."""
        return jnp.all(results.succeeded(self.status))

    @property
    def status_name(self) -> str | list:
        """The status as a readable name (eager)."""
        return results.status_name(self.status)

    @property
    def cov_type(self) -> str | list:
        """The covariance type as a readable name (``"nonrobust"``, ``"HC0"`` or
        ``"cluster"``); a nested list for a batch. Eager."""
        return _cov_name(np.asarray(self.cov_code))


def _cov_name(codes: np.ndarray) -> str | list:
    return COV_TYPES[int(codes)] if codes.ndim == 0 else [_cov_name(c) for c in codes]


# A Hessian whose condition number exceeds this is reported as near-singular (the summary adds
# a warning; the numbers are still computed): about half the float64 digits are then lost.
def ill_conditioned_above(dtype: Any) -> float:
    """Condition number above which the summary warns (``1 / sqrt(eps)`` of ``dtype``)."""
    return 1.0 / math.sqrt(float(jnp.finfo(dtype).eps))


def cluster_meat(scores: jax.Array, sw: jax.Array, groups: jax.Array,
                 num_groups: int) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """The cluster meat ``sum_g s_g s_g^T``, ``s_g = sum_{n in g} sw_n g_n`` (before the
    small-sample factor, which :func:`compute` applies), and what :func:`compute` needs to
    judge it: ``(number of groups of positive weight, whether a code is out of range)``.

    Args:
      scores: per-row scores ``g_n``, ``(n, p)`` (unweighted).
      sw: frequency weights ``(n,)``: a row of weight 2 is the row twice, in its group.
      groups: int32 codes ``(n,)`` in ``[0, num_groups)``.
      num_groups: the number of segments (static).
    """
    S = jax.ops.segment_sum(sw[:, None] * scores, groups, num_segments=num_groups)
    weight = jax.ops.segment_sum(sw, groups, num_segments=num_groups)
    out_of_range = jnp.any((groups < 0) | (groups >= num_groups))
    return S.T @ S, (jnp.sum(weight > 0).astype(jnp.int32), out_of_range)


def compute(theta: jax.Array, hessian: jax.Array, meat: jax.Array | None, grad: jax.Array, *,
            grad_tol: jax.Array, log_likelihood: jax.Array, ll_null: jax.Array,
            nobs: jax.Array, df_model: int, l2: jax.Array, level: jax.Array,
            fit_status: jax.Array, transform: jax.Array | None = None,
            shape: tuple[int, ...] | None = None, cov_type: str | None = None,
            clusters: tuple[jax.Array, jax.Array] | None = None) -> Inference:
    """Wald inference from the objective's Hessian at the estimate (traceable).

    Args:
      theta: the estimate, any shape (flattened row-major to match ``hessian``).
      hessian: ``(p, p)`` Hessian of the fitted (penalised) objective at ``theta``.
      meat: ``sum_n sw_n g_n g_n^T`` of the per-sample log-likelihood scores (HC0), the
        cluster meat of :func:`cluster_meat`, or None for the model-based ``H^{-1}``.
      grad: the fitted objective's gradient at ``theta`` (checks stationarity).
      grad_tol: the largest ``max|grad|`` accepted as stationary.
      log_likelihood, ll_null, nobs: as in :class:`Inference`.
      df_model: degrees of freedom of the likelihood-ratio test (static).
      l2: the ridge penalty.
      level: confidence level in (0, 1).
      fit_status: the fit's int32 status.
      transform: a matrix ``T`` mapping the fitted coordinates to the reported parameters
        (``params = T theta``, ``cov = T cov_theta T^T``), or None to report ``theta`` itself.
        The information criteria count the fitted coordinates.
      shape: the reported parameters' shape (default ``theta.shape``).
      cov_type: one of :data:`COV_TYPES` (static; default ``"nonrobust"`` without a meat,
        ``"HC0"`` with one).
      clusters: for ``"cluster"``, the second output of :func:`cluster_meat`; the meat is
        then scaled by ``G / (G - 1) (N - 1) / (N - K)`` (``K = hessian.shape[0]``), and an
        out-of-range code, ``G < 2`` or ``N <= K`` is INVALID_INPUT.

    Returns:
      :class:`Inference`.
    """
    dtype = hessian.dtype
    p = hessian.shape[0]
    eye = jnp.eye(p, dtype=dtype)
    L = jnp.linalg.cholesky(hessian)
    eig = jnp.linalg.eigvalsh(hessian)
    cond = eig[-1] / eig[0]
    eps = jnp.finfo(dtype).eps
    # The rule the Newton solver uses for a usable factor (jaxdl._newton_step): the smallest
    # eigenvalue must stand above the rounding of the largest for this size.
    factored = jnp.all(jnp.isfinite(L)) & (eig[0] > 16 * p * eps * eig[-1])
    if cov_type is None:
        cov_type = "nonrobust" if meat is None else "HC0"
    invalid = jnp.asarray(False)
    if cov_type == "cluster":
        # statsmodels' default small-sample correction (sandwich_covariance.cov_cluster).
        num, out_of_range = clusters
        g = num.astype(dtype)
        meat = meat * (g / jnp.maximum(g - 1, 1)) * (
            (nobs - 1) / jnp.where(nobs > p, nobs - p, 1))
        invalid = out_of_range | (num < 2) | ~(nobs > p)
    cov = jax.scipy.linalg.cho_solve((L, True), eye)
    if meat is not None:  # H^{-1} M H^{-1}: two solves, symmetrised against rounding
        half = jax.scipy.linalg.cho_solve((L, True), meat)
        cov = jax.scipy.linalg.cho_solve((L, True), half.T)
        cov = 0.5 * (cov + cov.T)
    stationary = jnp.max(jnp.abs(grad)) <= grad_tol
    status = jnp.where(
        ~results.succeeded(fit_status), fit_status,
        jnp.where(invalid, Status.INVALID_INPUT,
                  jnp.where(~factored, Status.SINGULAR,
                            jnp.where(~stationary, Status.INVALID_INPUT, Status.CONVERGED))),
    ).astype(jnp.int32)
    ok = results.succeeded(status)

    def clean(x):  # the invalid case gives zeros, never NaN or inf
        return jnp.where(ok, x, jnp.zeros_like(x))

    k = theta.size
    if transform is not None:
        theta = transform @ theta.reshape(-1)
        cov = transform @ cov @ transform.T
        cov = 0.5 * (cov + cov.T)
    theta = theta.reshape(theta.shape if shape is None else shape)
    cov = clean(cov)
    se = jnp.sqrt(jnp.maximum(jnp.diagonal(cov), 0)).reshape(theta.shape)
    safe_se = jnp.where(se > 0, se, 1)
    z = clean(theta / safe_se)
    p_value = clean(2 * jax.scipy.special.ndtr(-jnp.abs(z)))
    q = jax.scipy.special.ndtri(0.5 + 0.5 * level).astype(dtype)
    llr = 2 * (log_likelihood - ll_null)
    # chi2 survival function: the regularised upper incomplete gamma Q(df/2, llr/2).
    llr_p = jax.scipy.special.gammaincc(0.5 * df_model, 0.5 * jnp.maximum(llr, 0))
    safe_null = jnp.where(ll_null < 0, ll_null, -1)
    return Inference(
        params=clean(theta),
        cov=cov,
        std_err=clean(se),
        z=z,
        p_value=p_value,
        ci_low=clean(theta - q * se),
        ci_high=clean(theta + q * se),
        log_likelihood=clean(log_likelihood),
        ll_null=clean(ll_null),
        pseudo_r2=clean(1 - log_likelihood / safe_null),
        llr_pvalue=clean(llr_p.astype(dtype)),
        aic=clean(-2 * log_likelihood + 2 * k),
        bic=clean(-2 * log_likelihood + jnp.log(jnp.maximum(nobs, 1)) * k),
        nobs=clean(nobs),
        df_model=jnp.asarray(df_model, jnp.int32),
        l2=jnp.asarray(l2, dtype),
        penalized=jnp.asarray(l2, dtype) > 0,
        robust=jnp.asarray(meat is not None),
        cov_code=jnp.asarray(COV_TYPES.index(cov_type), jnp.int32),
        level=jnp.asarray(level, dtype),
        condition_number=jnp.where(eig[0] > 0, cond, jnp.inf).astype(dtype),
        status=status,
    )


def raise_if_failed(inf: Inference, *, fit_status: Any, what: str) -> Inference:
    """Eagerly raise naming the status when ``inf`` is not valid; return it otherwise.

    A failed fit raises :class:`jaxdl.results.SolverError` with the fit's status; a singular
    Hessian the same with the condition number; a non-stationary estimate ``ValueError``.
    """
    codes = np.atleast_1d(np.asarray(inf.status)).ravel()
    fit_codes = np.atleast_1d(np.asarray(fit_status)).ravel()
    for i, (c, f) in enumerate(zip(codes, fit_codes, strict=True)):
        c, f = int(c), int(f)
        at = f" (fit {i} of the batch)" if codes.size > 1 else ""
        if c == Status.INVALID_INPUT and results.succeeded(f):
            raise ValueError(
                f"result: expected a stationary point of the objective given by X, y, "
                f"sample_weight and l2 (pass the l2 and sample_weight the fit used), got a "
                f"point where that objective's gradient is not zero{at}"
                + (" (or, for cov_type='cluster', group codes outside [0, num_groups), fewer "
                   "than 2 groups of positive weight, or no more observations than "
                   "parameters)" if int(np.ravel(np.asarray(inf.cov_code))[i]) == 2 else ""))
        if c == Status.SINGULAR and results.succeeded(f):
            cond = float(np.atleast_1d(np.asarray(inf.condition_number)).ravel()[i])
            raise results.SolverError(
                f"{what}: the Hessian at the estimate is singular{at} (condition number "
                f"{cond:.3g}; duplicated, collinear or constant columns): no covariance "
                f"exists; drop columns or fit with l2 > 0")
        if not results.succeeded(c):
            raise_if_fit_failed(c, what=what, at=at)
    return inf


def raise_if_fit_failed(status: Any, *, what: str, at: str = "") -> None:
    """Eagerly raise :class:`jaxdl.results.SolverError` naming a failed fit's status."""
    c = int(np.asarray(status))
    if not results.succeeded(c):
        raise results.SolverError(
            f"{what}: expected a successful fit, got status {results.status_name(c)}{at}: "
            f"{results.message(c)}")


def stationary_tol(grad_norm: jax.Array, X: jax.Array, nobs: jax.Array) -> jax.Array:
    """The largest gradient max-norm accepted as the fit's optimum: ten times what the fit
    reported plus ``sqrt(eps)`` of a sum of ``nobs`` terms of size ``max|X|``."""
    eps = jnp.finfo(X.dtype).eps
    scale = jnp.maximum(1.0, jnp.max(jnp.abs(X)))
    return 10 * jnp.where(jnp.isfinite(grad_norm), grad_norm, 0) + jnp.sqrt(eps) * nobs * scale


# ----------------------------------------------------------------------------------------------
# The summary table.



def _fmt(v: float, width: int = 10) -> str:
    """Four decimals, or scientific notation when very small or large (statsmodels' style)."""
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:>{width}.3e}"
    return f"{v:>{width}.4f}"


def render(inf: Inference, *, model: str, feature_names: Any = None, blocks: Any = None,
           dep_variable: str = "y") -> str:
    """A text table in the style of statsmodels' ``Logit(...).fit().summary()``.

    Args:
      inf: an eager, unbatched, valid :class:`Inference`.
      model: the model's name for the header (``"Logit"``, ``"MNLogit"``).
      feature_names: ``d`` names for the weight columns (default ``x0 .. x{d-1}``); the
        intercept (last) is ``const``.
      blocks: names of the rows of a 2-d ``params`` (softmax: one per free class).
      dep_variable: the name of the response.

    Returns:
      The table as a string (no trailing newline).
    """
    params = np.asarray(inf.params)
    rows2 = params.reshape(-1, params.shape[-1])
    d = rows2.shape[1] - 1
    if feature_names is None:
        names = [f"x{j}" for j in range(d)]
    else:
        names = [str(s) for s in feature_names]
        if len(names) != d:
            raise ValueError(f"feature_names: expected {d} names (one per column of X), got "
                             f"{len(names)}")
    names = names + ["const"]
    width = 78
    nobs = float(inf.nobs)
    k = params.size
    l2 = float(inf.l2)
    cond = float(inf.condition_number)
    method = "MLE" if l2 == 0 else f"penalised MLE (l2={l2:g})"
    cov_type = inf.cov_type
    left = [("Dep. Variable:", dep_variable), ("Model:", model), ("Method:", method),
            ("Covariance Type:", cov_type), ("converged:", "True"),
            ("AIC:", f"{float(inf.aic):.4g}"), ("BIC:", f"{float(inf.bic):.4g}"),
            ("Condition No.:", f"{cond:.3g}")]
    right = [("No. Observations:", f"{nobs:g}"), ("Df Residuals:", f"{nobs - k:g}"),
             ("Df Model:", f"{int(inf.df_model)}"),
             ("Pseudo R-squ.:", f"{float(inf.pseudo_r2):.4f}"),
             ("Log-Likelihood:", f"{float(inf.log_likelihood):.5g}"),
             ("LL-Null:", f"{float(inf.ll_null):.5g}"),
             ("LLR p-value:", f"{float(inf.llr_pvalue):.4g}"), ("Penalty l2:", f"{l2:g}")]
    title = f"{model} Regression Results"
    out = [f"{title:^{width}}", "=" * width]
    half = width // 2
    for (lk, lv), (rk, rv) in zip(left, right, strict=True):
        out.append(f"{lk}{lv:>{half - len(lk) - 2}}  {rk}{rv:>{width - half - len(rk)}}")
    out.append("=" * width)
    lvl = float(inf.level)
    lo, hi = f"[{(1 - lvl) / 2:.3f}", f"{(1 + lvl) / 2:.3f}]"
    header = (f"{'':<18}{'coef':>10}{'std err':>10}{'z':>10}{'P>|z|':>10}{lo:>10}{hi:>10}")
    cols = [np.asarray(a).reshape(rows2.shape) for a in
            (inf.params, inf.std_err, inf.z, inf.p_value, inf.ci_low, inf.ci_high)]
    for r in range(rows2.shape[0]):
        if blocks is not None:
            out.append(f"{str(blocks[r]):<18}" + "".join(
                f"{h:>10}" for h in ("coef", "std err", "z", "P>|z|", lo, hi)))
        else:
            out.append(header)
        out.append("-" * width)
        for j, name in enumerate(names):
            label = name if len(name) <= 17 else name[:14] + "..."
            p = float(cols[3][r, j])
            out.append(f"{label:<18}" + _fmt(float(cols[0][r, j])) + _fmt(float(cols[1][r, j]))
                       + _fmt(float(cols[2][r, j])) + f"{p:>10.3f}"
                       + _fmt(float(cols[4][r, j])) + _fmt(float(cols[5][r, j])))
        if r + 1 < rows2.shape[0]:
            out.append("-" * width)
    out.append("=" * width)
    notes = []
    if l2 > 0:
        notes.append(f"Covariance of the penalised estimate (l2 = {l2:g}): the inverse Hessian "
                     "of the penalised objective; the Wald tests and intervals are biased "
                     "towards 0 and the likelihood-ratio figures compare a penalised fit.")
    if cond > ill_conditioned_above(params.dtype):
        notes.append(f"The Hessian is near-singular (condition number {cond:.3g}): strong "
                     "multicollinearity; standard errors may be unreliable.")
    for i, note in enumerate(notes, 1):
        out.append(_wrap(f"[{i}] {note}", width))
    return "\n".join(out)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width, subsequent_indent="    "))


# ----------------------------------------------------------------------------------------------
# Bootstrap.


class Bootstrap(NamedTuple):
    """Bootstrap standard errors from refits on resampled data (a pytree).

    Attributes:
      std_err: standard deviation of the estimates over the successful resamples, the
        parameters' shape (0 where fewer than two succeeded).
      params: every resample's estimate, leading axis ``num_resamples``.
      status: every resample's int32 fit status.
      num_ok: how many resamples converged (only those enter ``std_err``).
    """

    std_err: jax.Array
    params: jax.Array
    status: jax.Array
    num_ok: jax.Array


def bootstrap_counts(key: jax.Array, n: int, num_resamples: int, dtype: Any,
                     sample_weight: jax.Array | None = None) -> jax.Array:
    """``(num_resamples, n)`` resample counts: ``n`` draws with replacement per resample.

    With ``sample_weight`` (frequency weights) row ``i`` is drawn with probability
    ``sw_i / sum(sw)`` and ``round(sum(sw))`` rows are drawn per resample.
    """
    dtype = jnp.dtype(dtype)
    if sample_weight is None:
        return _uniform_counts(key, n=n, num_resamples=num_resamples, dtype=dtype)
    m = int(round(float(jnp.sum(sample_weight))))
    return _weighted_counts(key, sample_weight, m=m, num_resamples=num_resamples, dtype=dtype)


@functools.partial(jax.jit, static_argnames=("n", "num_resamples", "dtype"))
def _uniform_counts(key, *, n, num_resamples, dtype):
    def one(k):
        return jnp.bincount(jax.random.randint(k, (n,), 0, n), length=n)

    return jax.vmap(one)(jax.random.split(key, num_resamples)).astype(dtype)


@functools.partial(jax.jit, static_argnames=("m", "num_resamples", "dtype"))
def _weighted_counts(key, sample_weight, *, m, num_resamples, dtype):
    n = sample_weight.shape[0]
    logits = jnp.log(sample_weight)

    def one(k):
        return jnp.bincount(jax.random.categorical(k, logits, shape=(m,)), length=n)

    return jax.vmap(one)(jax.random.split(key, num_resamples)).astype(dtype)


@jax.jit
def bootstrap_std_err(thetas: jax.Array, status: jax.Array) -> Bootstrap:
    """The standard deviation (``ddof=1``) of the converged resamples' estimates."""
    ok = results.succeeded(status)
    m = jnp.sum(ok)
    w = ok.reshape(ok.shape + (1,) * (thetas.ndim - 1)).astype(thetas.dtype)
    safe = jnp.maximum(m, 2).astype(thetas.dtype)
    mean = jnp.sum(w * thetas, axis=0) / jnp.maximum(m, 1)
    var = jnp.sum(w * (thetas - mean[None]) ** 2, axis=0) / (safe - 1)
    se = jnp.where(m >= 2, jnp.sqrt(var), 0)
    return Bootstrap(std_err=se, params=thetas, status=status, num_ok=m.astype(jnp.int32))
