"""Plots of the built-in sweeps' tables and of a cross-validation curve (for the CLI, the
scripts, the notebooks and the docs; needs matplotlib). An entry-point helper: the library
never imports it."""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxdl import _cross_validation
from jaxdl.results import Status

_SCORE_LABELS = {"log_loss": "held-out log-loss (mean NLL per row)",
                 "accuracy": "held-out accuracy"}


def _figure(ncols: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * ncols, 4.2), layout="constrained")
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def _gd_rates(table, fig, axes):
    lw, lb = np.unique(table["lr_w"]), np.unique(table["lr_b"])
    idx = {(a, b): i for i, (a, b) in enumerate(zip(table["lr_w"], table["lr_b"], strict=True))}
    status = table["status"]

    def grid(col):
        v = table[col].astype(float)
        return np.array([[v[idx[(a, b)]] if (a, b) in idx else np.nan for a in lw] for b in lb])

    def mask(pred):
        return np.array([[pred(idx[(a, b)]) if (a, b) in idx else False for a in lw]
                         for b in lb])

    rose = table["diverged"] == 1  # the loss rose at some step (or overflowed)
    diverged = mask(lambda i: status[i] != "converged" and bool(rose[i]))
    slow = mask(lambda i: status[i] != "converged" and not rose[i])
    failed = diverged | slow
    loss = grid("loss")
    steps = np.where(failed, np.nan, grid("steps"))
    l2 = sorted(set(table["l2"].tolist()))
    from matplotlib.colors import LogNorm

    for ax, z, title, label, norm in (
            (axes[0], loss, "final loss", "final objective E(w, b) + l2/2 ||w||^2 (log)",
             LogNorm(vmin=np.nanmin(loss), vmax=np.nanmax(loss))),
            (axes[1], steps, "steps to tolerance (converged only)", "steps", None)):
        mesh = ax.pcolormesh(lw, lb, z, shading="nearest", cmap="viridis", norm=norm)
        fig.colorbar(mesh, ax=ax, label=label)
        for m, marker, colour, text in (
                (diverged, "x", "red", "diverged (not converged; the loss rose)"),
                (slow, ".", "white", "max_steps, still descending (rate too small)")):
            ys, xs = np.nonzero(m)
            ax.scatter(lw[xs], lb[ys], marker=marker, c=colour, s=14, label=text,
                       edgecolors="black" if marker == "." else None, linewidths=0.3)
        ax.set(xscale="log", yscale="log", xlabel="lr_w (learning rate of w)",
               ylabel="lr_b (learning rate of b)", title=f"{title}, l2 = {l2[0]:g}")
        ax.legend(loc="lower left", fontsize=7)
    fig.suptitle("gd-rates: the seed's gradient descent on breast cancer (Q1)")


def _newton_starts(table, fig, axes):
    problems = list(dict.fromkeys(table["problem"].tolist()))
    for p in problems:  # converged runs only: a run out of steps has no limit to show
        m = (table["problem"] == p) & (table["status"] == "converged")
        x0 = table["x0"][m]
        axes[0].plot(x0, table["order"][m], "o-", label=p)
        if p == "double":
            axes[1].plot(x0, table["linear_rate"][m], "s--", label=f"{p}: |e_k+1|/|e_k| (-> 1/2)")
        else:
            axes[1].plot(x0, table["ratio"][m] / table["limit"][m], "o-", label=p)
    axes[0].axhline(2, color="grey", lw=0.8, ls=":")
    axes[0].axhline(1, color="grey", lw=0.8, ls=":")
    axes[0].set(xscale="log", xlabel="starting point x0", ylabel="observed order q (last step)",
                title="order: 2 at a simple root, 1 at the double root")
    axes[1].axhline(1, color="grey", lw=0.8, ls=":")
    axes[1].set(xscale="log", xlabel="starting point x0",
                ylabel="(|e_k+1| / e_k^2) / (|f''| / 2|f'|)  (last informative step)",
                title="ratio over its limit (1 at a simple root)")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle("newton-starts: Newton's method for roots (Q6)")


def _noise_sigma(table, fig, axes):
    sigma = table["sigma"]
    comps = sorted(int(c.split("_")[-1]) for c in table.columns if c.startswith("exact_"))
    for j in comps:
        mc, se, ex = (table[f"{k}_{j}"] for k in ("mc_grad", "std_err", "exact"))
        line = axes[0].plot(sigma, ex, "-", label=f"closed form, w_{j}")[0]
        axes[0].errorbar(sigma, mc, yerr=2 * se, fmt="o", ms=3, color=line.get_color(),
                         label=f"Monte Carlo +- 2 SE, w_{j}")
    axes[0].set(xlabel="noise standard deviation sigma", ylabel="E[dJ/dw_j]",
                title="expected gradient under weight noise")
    axes[0].legend(fontsize=6)
    axes[1].plot(sigma, table["max_z"], "o-", label="max_j |MC - closed| / SE")
    axes[1].axhline(3, color="grey", ls=":", label="3 standard errors")
    axes[1].set(xlabel="noise standard deviation sigma", ylabel="|z| (standard errors)",
                title="agreement in standard errors")
    axes[1].legend(fontsize=7)
    fig.suptitle("noise-sigma: Gaussian weight noise as an L2 penalty (Q5)")


def _batchnorm_n(table, fig, axes):
    n = table["n"]
    axes[0].loglog(n, table["jacobian_gap"], "o", label="max |J - I| (measured)")
    axes[0].loglog(n, table["one_over_n"], "-", label="1/n")
    axes[0].set(xlabel="batch size n", ylabel="max_ij |J - I|",
                title="the Jacobian tends to the identity")
    axes[1].semilogx(n, table["gradient_gap"], "o", label="max_i |dL/dx_i - gamma g_i|")
    axes[1].semilogx(n, table["gamma_mean_g"], "-", label="|gamma mean(g)|")
    axes[1].set(xlabel="batch size n", ylabel="gradient gap",
                title="the gradient gap does not vanish")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle("batchnorm-n: the seed's n -> infinity limit in mean-only BN (Q2c)")


def _l2_path(table, fig, axes):
    l2 = table["l2"]
    d = sum(c.startswith("theta_") for c in table.columns) - 1
    first = np.argmin(l2)
    top = np.argsort([-abs(table[f"theta_{j}"][first]) for j in range(d)])[:6]
    ax = axes[0]
    for j in top:
        line = ax.plot(l2, table[f"theta_{j}"], "-", label=f"w_{j}")[0]
        ax.fill_between(l2, table[f"lo_{j}"], table[f"hi_{j}"], color=line.get_color(),
                        alpha=0.2)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xscale="log", xlabel="l2 (ridge penalty)",
           ylabel="coefficient (per standard deviation of the feature)",
           title="6 largest coefficients with bootstrap 95% bands")
    ax.legend(fontsize=7, title="feature index")
    fig.suptitle("l2-path: logistic regression on breast cancer (Q1)")


def _cv_curve(ax, l2, scores, mean, se, eligible, best: int, one_se: int,
              scoring: str) -> None:
    """The curve of a cross-validation on ``ax``: the folds' mean score with one standard
    error against ``l2`` (log axis; symlog when the grid holds 0), each fold's scores faint,
    the best penalty, the one-standard-error choice and its threshold marked.

    ``scores``: ``(F, G)``; ``mean``, ``se``, ``eligible``: ``(G,)``, eligible True where
    every fold converged; ``best``, ``one_se``: grid positions (-1: none).
    """
    l2, scores, mean, se = (np.asarray(a, np.float64) for a in (l2, scores, mean, se))
    eligible = np.asarray(eligible, bool)
    order = np.argsort(l2, kind="stable")
    x = l2[order]
    for f, row in enumerate(scores):
        ax.plot(x, row[order], "-", color="grey", lw=0.7, alpha=0.5,
                label=f"each of the {len(scores)} folds" if f == 0 else None)
    ax.errorbar(x, mean[order], yerr=se[order], fmt="o-", ms=4, capsize=3, color="C0",
                label="mean over the folds +- 1 standard error")
    failed = ~eligible[order]
    if failed.any():
        ax.scatter(x[failed], mean[order][failed], marker="x", s=60, c="red", zorder=3,
                   label="a fold did not converge (never chosen)")
    if best >= 0:
        higher = _cross_validation.SCORINGS[scoring]
        bar = mean[best] - se[best] if higher else mean[best] + se[best]
        ax.axhline(bar, color="grey", lw=0.8, ls=":",
                   label=f"best {'-' if higher else '+'} 1 standard error")
        ax.axvline(l2[best], color="C1", ls="--", label=f"best: l2 = {l2[best]:.3g}")
        ax.axvline(l2[one_se], color="C2", ls="-.",
                   label=f"one-standard-error choice: l2 = {l2[one_se]:.3g}")
    positive = x[x > 0]
    if positive.size == x.size:
        ax.set_xscale("log")
    else:  # a penalty of 0 has no place on a log axis: linear up to the smallest positive one
        linthresh = float(positive.min()) if positive.size else 1.0
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_xlim(-0.5 * linthresh, 2 * float(x.max()) if x.max() > 0 else 1.0)
    ax.set(xlabel="l2 (ridge penalty)", ylabel=_SCORE_LABELS[scoring])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plot_cv(result: Any, path: str | None = None, *, scoring: str = "log_loss",
            ax: Any = None, title: str | None = None) -> Any:
    """Draw the curve of a cross-validation: the mean held-out score against ``l2`` with
    one-standard-error bars, each fold's scores, the best penalty and the one-standard-error
    choice (needs matplotlib, ``pip install "jaxdl[plot]"``).

    Args:
      result: a :class:`jaxdl.logistic.CVResult` (from ``logistic.cross_validate``,
        ``multinomial.cross_validate`` or ``multinomial.cross_validate_classifier``).
      path: a file to write the figure to (a PNG, or any format matplotlib writes).
      scoring: the ``scoring`` the cross-validation ran with (``"log_loss"`` or
        ``"accuracy"``): the axis label and which side of the best the threshold lies.
      ax: a matplotlib ``Axes`` to draw on (a notebook's figure); default a new figure.
      title: the plot's title.

    Returns:
      The ``Axes`` drawn on.

    Example:
      >>> import jax
      >>> from matplotlib.figure import Figure
      >>> from jaxdl import data, logistic, sweep
      >>> X, y, _, _ = data.make_logistic(jax.random.key(0), 200, 3)
      >>> cv = logistic.cross_validate(X, y, l2=[0.1, 1.0, 10.0], folds=3)
      >>> ax = sweep.plot_cv(cv, ax=Figure().add_subplot())
      >>> ax.get_xscale(), len(ax.lines) > 3
      ('log', True)
    """
    if scoring not in _SCORE_LABELS:
        raise ValueError(f"scoring: expected one of {tuple(_SCORE_LABELS)}, got {scoring!r}")
    if not hasattr(result, "scores") or not hasattr(result, "l2_1se"):
        raise ValueError(f"result: expected a CVResult, got {type(result).__name__}")
    fig = None
    if ax is None:
        fig, (ax,) = _figure(1)
    status = np.asarray(result.status)
    eligible = np.all(status == Status.CONVERGED, axis=0)
    l2 = np.asarray(result.l2)
    one_se = int(np.flatnonzero(l2 == np.asarray(result.l2_1se))[0])
    _cv_curve(ax, l2, result.scores, result.mean, result.se, eligible,
              int(result.best_index), one_se, scoring)
    if title is not None:
        ax.set_title(title)
    if path is not None:
        (fig or ax.figure).savefig(path, dpi=110)
    return ax


def _cv_groups(table) -> list[tuple[int, str]]:
    """The (seed, scoring) pairs of a cv-l2 table: one curve each."""
    return list(dict.fromkeys(zip(table["seed"].tolist(), table["scoring"].tolist(),
                                  strict=True)))


def _cv_l2(table, fig, axes):
    folds = sorted(int(c.split("_")[1]) for c in table.columns if c.startswith("score_"))
    for ax, (seed, scoring) in zip(axes, _cv_groups(table), strict=True):
        m = (table["seed"] == seed) & (table["scoring"] == scoring)
        l2 = table["l2"][m].astype(float)
        scores = np.stack([table[f"score_{f}"][m] for f in folds]).astype(float)
        # each row's status (its first fold that did not converge): a penalty is eligible
        # when every fold converged, as in cross_validate's choice
        status = np.asarray([Status[name.upper()] for name in table["status"][m]])[None]
        _, _, best, one_se = _cross_validation.choose(
            scores, status, l2, _cross_validation.SCORINGS[scoring])
        _cv_curve(ax, l2, scores, table["mean"][m], table["se"][m],
                  status[0] == Status.CONVERGED, best, one_se, scoring)
        chosen = (f": best l2 = {l2[best]:.3g}, 1-SE l2 = {l2[one_se]:.3g}" if best >= 0
                  else ": no penalty with every fold converged")
        ax.set_title(f"seed {seed}, {scoring}{chosen}", fontsize=9)
    fig.suptitle(f"cv-l2: logistic regression, breast cancer, {len(folds)} folds (Q1)")


_PLOTS = {"gd-rates": (_gd_rates, 2), "newton-starts": (_newton_starts, 2),
          "noise-sigma": (_noise_sigma, 2), "batchnorm-n": (_batchnorm_n, 2),
          "l2-path": (_l2_path, 1), "cv-l2": (_cv_l2, lambda table: len(_cv_groups(table)))}


def plot(table, path: str) -> None:
    """Write the plot of a built-in sweep's table to ``path``."""
    draw, ncols = _PLOTS[table.meta["sweep"]]
    fig, axes = _figure(ncols(table) if callable(ncols) else ncols)
    draw(table, fig, axes)
    fig.savefig(path, dpi=110)
