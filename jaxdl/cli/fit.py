"""``jaxdl fit``: logistic (2 classes) or multinomial (K classes) regression by gradient descent
and Newton's method, on bundled data or a CSV file, with the convergence printed as it runs.

Every check of the user's input happens in :func:`prepare`, before the first fit, and names the
flag the user typed: the flags' own values in the parser, the data file and the class labels
here (the library's error about an argument is told with the flag that fed it). A fit that
runs and ends with a status other than converged exits 1 with the status and a hint; an
exception inside a fit is not the user's doing (jaxdl's entry point reports it as a bug).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable

import jax

from jaxdl.cli import inputs
from jaxdl.cli.inputs import finite_or_none
from jaxdl.cli.options import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    check_plot,
    integer,
    library_error,
    number,
)

GD_STEPS, NEWTON_STEPS = 20000, 50


def default_gtol(dtype: str) -> float:
    """The stopping tolerance when --gtol is left out: 1e-9 in float64, 1e-5 in float32."""
    return 1e-9 if dtype == "float64" else 1e-5


def add_parser(sub) -> None:
    f = sub.add_parser("fit", help="fit logistic (binary) or multinomial regression by gradient "
                       "descent and Newton and print the convergence",
                       description="Fit logistic (2 classes) or multinomial (--classes K) "
                       "regression. Exit status 1 if a fit ends with a status other than "
                       "converged.")
    add_arguments(f)
    f.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    inputs.add_data_arguments(p, standardize_rows="the training rows")
    p.add_argument("--solver", choices=("both", "gd", "newton"), default="both",
                   help="gradient descent, Newton's method, or both (default both)")
    p.add_argument("--l2", type=number(0), default=1.0,
                   help="ridge penalty on the weights, >= 0 (default 1.0; the standardised "
                   "breast-cancer data are separable, so l2 = 0 has no finite minimiser)")
    p.add_argument("--lr-w", type=number(0, low_open=True), default=None, metavar="RATE",
                   help="gradient-descent rate for w (multinomial: for W), > 0; default 1/L, L the "
                   "Hessian bound, which makes every step decrease the loss")
    p.add_argument("--lr-b", type=number(0, low_open=True), default=None, metavar="RATE",
                   help="gradient-descent rate for b, > 0 (default: the rate for w)")
    p.add_argument("--gd-steps", type=integer(1), default=None, metavar="N",
                   help=f"gradient-descent step budget, >= 1 (default {GD_STEPS})")
    p.add_argument("--newton-steps", type=integer(1), default=None, metavar="N",
                   help=f"Newton step budget, >= 1 (default {NEWTON_STEPS})")
    p.add_argument("--gtol", type=number(0, low_open=True), default=None,
                   help="stop when the per-sample mean gradient's max-norm (max |gradient| / "
                   "n_train) is <= this, > 0 (default 1e-9 in float64, 1e-5 in float32)")
    p.add_argument("--test-fraction", type=number(0, 1, low_open=True, high_open=True),
                   default=0.25, metavar="F",
                   help="share of rows held out for the test accuracy, in (0, 1) (default 0.25)")
    p.add_argument("--seed", type=integer(0), default=0,
                   help="seed of the random train/test split, >= 0 (default 0)")
    p.add_argument("--every", type=integer(1), default=None, metavar="N",
                   help="print every N-th step of the table (default: about 20 rows)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON report (statuses, histories, coefficients with feature "
                   "names) instead of tables")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="write loss and mean gradient norm against step, one panel per solver "
                   "(needs matplotlib; the folder must exist)")


def _history_rows(res, every: int, n_train: int) -> list[dict]:
    import numpy as np

    steps = int(res.steps)
    loss = np.asarray(res.loss_history)
    gn = np.asarray(res.grad_norm_history)
    ss = np.asarray(res.step_size_history)
    idx = sorted(set(range(0, steps + 1, max(1, every))) | {steps})
    return [{"step": i, "loss": finite_or_none(float(loss[i])),
             "mean_grad_norm": finite_or_none(float(gn[i]) / n_train),
             "step_size": finite_or_none(float(ss[i]))} for i in idx]


def _auto_every(steps: int, rows: int = 20) -> int:
    return max(1, -(-steps // rows))


def _hint(solver: str, status, args: argparse.Namespace) -> str | None:
    """What to change on the command line after a failed fit (None after a success)."""
    from jaxdl.results import Status

    if Status(status).ok:
        return None
    steps_flag = "--gd-steps" if solver == "gd" else "--newton-steps"
    steps = args.gd_steps if solver == "gd" else args.newton_steps
    hints = {
        Status.MAX_STEPS: f"raise {steps_flag} (now {steps}) or loosen --gtol (now {args.gtol:g})",
        Status.NONFINITE: ("gradient descent diverged: lower the learning rate, --lr-w and "
                           "--lr-b (leave them out for the safe default 1/L)")
        if solver == "gd" else "check the data for extreme values; try --l2 > 0",
        Status.SEPARABLE: f"pass --l2 > 0 (now {args.l2:g}) for a finite optimum",
        Status.SINGULAR: f"pass --l2 > 0 (now {args.l2:g}), or drop duplicated or collinear "
                         "columns",
        Status.LINE_SEARCH_FAILED: f"the optimum may already be reached to rounding: loosen "
                                   f"--gtol (now {args.gtol:g})",
    }
    return hints.get(Status(status), "see the status message")


def _default_rate(rate: float, args: argparse.Namespace) -> float:
    """The default gradient-descent rate 1/L, when the data let it be a positive number."""
    if not 0 < rate < math.inf:
        raise UsageError(f"--lr-w: the default rate 1/L is {rate:g} for --data {args.data} (L, "
                         "the Hessian bound, is not a finite positive number: the features are "
                         "too large, or all zero with --l2 0); pass --lr-w and --lr-b"
                         + (", or leave out --no-standardize" if args.no_standardize else ""))
    return rate


def prepare(args: argparse.Namespace):
    """Check the flags, load, split and standardise: everything before the first fit."""
    import jax.numpy as jnp

    from jaxdl import data

    if args.solver == "newton":
        for flag, value in (("--lr-w", args.lr_w), ("--lr-b", args.lr_b),
                            ("--gd-steps", args.gd_steps)):
            if value is not None:
                raise UsageError(f"{flag}: applies to gradient descent, but --solver newton "
                                 "runs no gradient descent")
    if args.solver == "gd" and args.newton_steps is not None:
        raise UsageError("--newton-steps: applies to Newton's method, but --solver gd runs no "
                         "Newton fit")
    args.gd_steps = GD_STEPS if args.gd_steps is None else args.gd_steps
    args.newton_steps = NEWTON_STEPS if args.newton_steps is None else args.newton_steps
    dtype = jnp.dtype(args.dtype)
    if args.gtol is None:
        args.gtol = default_gtol(args.dtype)
    if args.plot:
        check_plot(args.plot)

    ds = inputs.load(args)
    k = inputs.num_classes(args, ds)
    try:
        Xtr, ytr, Xte, yte = data.train_test_split(jax.random.key(args.seed), ds.X, ds.y,
                                                   test_fraction=args.test_fraction)
    except ValueError as err:
        raise library_error(err, {"test_fraction": "--test-fraction"},
                            default=f"--data {args.data}") from None
    try:
        data.check_classes(ytr, num_classes=k, min_per_class=1)
    except ValueError as err:
        raise library_error(err, {"y": f"labels of the training rows (--test-fraction "
                                       f"{args.test_fraction:g}, --seed {args.seed})"}) from None
    Xtr = inputs.as_dtype(Xtr, args, "training rows")
    Xte = inputs.as_dtype(Xte, args, "test rows")
    if not args.no_standardize:
        Xtr, mean, scale = data.standardize(Xtr)
        Xte, _, _ = data.standardize(Xte, mean=mean, scale=scale)
        if not bool(jnp.all(jnp.isfinite(Xte))):
            raise UsageError(f"--data {args.data}: the standardised test rows overflow "
                             f"{args.dtype} (a test value lies far outside the training rows' "
                             "spread); pass --no-standardize, or another --seed")
    classes = [str(c) for c in ds.target_names]  # k of them: check_classes saw 0..k-1
    report = {
        "data": ds.name, "n": int(ds.X.shape[0]), "d": int(ds.X.shape[1]), "classes": k,
        "class_names": classes, "features": list(ds.feature_names),
        "train": int(Xtr.shape[0]), "test": int(Xte.shape[0]), "l2": args.l2,
        "gtol": args.gtol, "dtype": str(dtype), "standardised": not args.no_standardize,
        "coefficient_scale": ("per training standard deviation of each feature (standardised "
                              "inputs)") if not args.no_standardize else "per unit of each feature",
        "model": "logistic" if k == 2 else "multinomial", "solvers": {},
    }
    return report, (Xtr, ytr, Xte, yte)


def fit_one(solver: str, args: argparse.Namespace, report: dict, arrays, on_start) -> dict:
    import jax.numpy as jnp

    from jaxdl import multinomial, results

    Xtr, ytr, Xte, yte = arrays
    k, n_train = report["classes"], report["train"]
    ytr_, yte_ = jnp.asarray(ytr), jnp.asarray(yte)
    if solver == "gd":
        lr_w = _default_rate(multinomial.classifier_step_bound(Xtr, num_classes=k, l2=args.l2),
                             args) if args.lr_w is None else args.lr_w
        lr_b = lr_w if args.lr_b is None else args.lr_b
        on_start(f"gradient descent, the seed's update (lr_w = {lr_w:.3g}, lr_b = "
                 f"{lr_b:.3g}), up to {args.gd_steps} steps")
        options = dict(lr_w=lr_w, lr_b=lr_b, max_steps=args.gd_steps)
    else:
        on_start(f"Newton (exact Hessian, Cholesky solve, Armijo backtracking), up to "
                 f"{args.newton_steps} steps")
        options = dict(max_steps=args.newton_steps)
    res = multinomial.fit_classifier(Xtr, ytr_, num_classes=k, solver=solver, l2=args.l2,
                                     gtol=args.gtol, **options)
    acc_tr = float(jnp.mean(multinomial.predict_classifier(res.params, Xtr) == ytr_))
    acc_te = float(jnp.mean(multinomial.predict_classifier(res.params, Xte) == yte_))
    import numpy as np

    steps = int(res.steps)
    status = results.Status(int(res.status))
    return {
        "status": status.name_lower, "ok": status.ok, "message": status.message,
        "hint": _hint(solver, status, args),
        "steps": steps, "loss": finite_or_none(float(res.loss)),
        "grad_norm": finite_or_none(float(res.grad_norm)),
        "mean_grad_norm": finite_or_none(float(res.grad_norm) / n_train),
        "train_accuracy": acc_tr, "test_accuracy": acc_te,
        **inputs.coefficients(res.params, k == 2, report["features"], report["class_names"]),
        "loss_history": [finite_or_none(float(v))
                         for v in np.asarray(res.loss_history[: steps + 1])],
        "grad_norm_history": [finite_or_none(float(v))
                              for v in np.asarray(res.grad_norm_history[: steps + 1])],
        "rows": _history_rows(res, args.every or _auto_every(steps), n_train),
    }


def run_fits(args: argparse.Namespace, *, on_ready: Callable[[dict], None] | None = None,
              on_start: Callable[[str, str], None] | None = None,
              on_done: Callable[[str, dict], None] | None = None) -> dict:
    """Load, split, standardise and fit; return a JSON-able report.

    ``on_ready(report)`` is called once the data are ready, ``on_start(solver, label)`` before
    each fit and ``on_done(solver, row)`` after it, so the tables print as the fits finish.
    """
    report, arrays = prepare(args)
    if on_ready is not None:
        on_ready(report)
    solvers = ("gd", "newton") if args.solver == "both" else (args.solver,)
    for solver in solvers:
        label = []

        def start(text, solver=solver, label=label):
            label.append(text)
            if on_start is not None:
                on_start(solver, text)

        r = fit_one(solver, args, report, arrays, start)
        report["solvers"][solver] = {"label": label[0], **r}
        if on_done is not None:
            on_done(solver, report["solvers"][solver])
    report["ok"] = all(r["ok"] for r in report["solvers"].values())
    return report


def _print_header(report: dict) -> None:
    print(f"data: {report['data']} ({report['n']} x {report['d']}, {report['classes']} classes"
          f"{', standardised' if report['standardised'] else ''}); train {report['train']} / "
          f"test {report['test']}; {report['model']} model; l2 = {report['l2']:g}; "
          f"{report['dtype']}")
    n = report["train"]
    print(f"columns: loss = the training objective, the loss summed over the {n} training rows "
          "+ l2/2 ||w||^2\n"
          f"         mean grad = max |gradient| / {n}, the max-norm of the per-sample mean "
          f"gradient;\n         a fit stops when mean grad <= gtol = {report['gtol']:g}\n"
          "         step = max |parameter update| (gradient descent), or the accepted Newton "
          "step length (1 = a full step)", flush=True)


def _print_start(solver: str, label: str) -> None:
    print(f"\n{label}")
    print(f"{'step':>7}  {'loss':>22}  {'mean grad':>10}  {'step':>10}", flush=True)


def _num(v: float | None, fmt: str, missing: str = "non-finite") -> str:
    return missing if v is None else format(v, fmt)  # None: NaN or inf (JSON has neither)


def _print_done(solver: str, r: dict, gtol: float) -> None:
    for row in r["rows"]:
        print(f"{row['step']:>7d}  {_num(row['loss'], '>22.15g'):>22}  "
              f"{_num(row['mean_grad_norm'], '.3e'):>10}  "
              f"{_num(row['step_size'], '.3e', '' if row['step'] == 0 else 'non-finite'):>10}")
    print(f"status: {r['message']}")
    if r["hint"]:
        print(f"hint: {r['hint']}")
    print(f"steps {r['steps']}, loss {_num(r['loss'], '.15g')}, mean grad "
          f"{_num(r['mean_grad_norm'], '.3e')} (gtol {gtol:g}), train accuracy "
          f"{r['train_accuracy']:.4f}, test accuracy {r['test_accuracy']:.4f}", flush=True)


def _plot(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    solvers = report["solvers"]
    n = report["train"]
    fig, axes = plt.subplots(1, len(solvers), figsize=(5.5 * len(solvers), 4), squeeze=False)
    finite = [v for r in solvers.values() for v in r["loss_history"] if v is not None]
    best = min(finite) if finite else 0.0
    for ax, (name, r) in zip(axes[0], solvers.items(), strict=True):
        loss = np.asarray([np.nan if v is None else v for v in r["loss_history"]])
        gn = np.asarray([np.nan if v is None else v / n for v in r["grad_norm_history"]])
        steps = np.arange(len(loss))
        gap = loss - best
        keep = gap > 0  # the best iterate itself has gap 0: nothing to draw on a log axis
        ax.semilogy(steps[keep], gap[keep], label="loss - best loss")
        ax.semilogy(steps, gn, "--", label="mean gradient max-norm")
        ax.axhline(report["gtol"], color="grey", lw=0.8, ls=":", label="gtol")
        ax.set_title(f"{'gradient descent' if name == 'gd' else 'Newton'}: {r['status']}, "
                     f"{r['steps']} steps")
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"{report['data']}: {report['model']} regression, l2 = {report['l2']:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _report_failures(report: dict) -> int:
    bad = {s: r for s, r in report["solvers"].items() if not r["ok"]}
    for solver, r in bad.items():
        name = "gradient descent" if solver == "gd" else "Newton"
        print(f"jaxdl fit: {name} did not succeed: status {r['status']}; {r['hint']}",
              file=sys.stderr)
    return EXIT_FAILED if bad else EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.json:
        report = run_fits(args)
    else:
        report = run_fits(
            args, on_ready=_print_header, on_start=_print_start,
            on_done=lambda s, r: _print_done(s, r, args.gtol))
    if args.plot:
        _plot(report, args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.plot:
        print(f"\nplot written to {args.plot}")
    return _report_failures(report)
