"""``jaxdl cv``: choose the ridge penalty of logistic (2 classes) or multinomial (K classes)
regression by K-fold cross-validation, on bundled data or a CSV file, and refit at the choice.

It reads its data as ``jaxdl fit`` does (:mod:`jaxdl.cli.inputs`), standardised on all rows,
and runs :func:`jaxdl.multinomial.cross_validate_classifier`. Every check of the user's input
happens before the first fit and names the flag the user typed: the flags' own values in the
parser, the data here, and the library's errors about an argument told with the flag that fed
it. A cross-validation in which no penalty has every fold converged, or whose refit does not
converge, exits 1 with the statuses and a hint.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from jaxdl.cli import inputs
from jaxdl.cli.inputs import finite_or_none
from jaxdl.cli.options import (
    EXIT_FAILED,
    EXIT_OK,
    check_plot,
    integer,
    library_error,
    number,
)

DEFAULT_GRID = "1e-3:1e3:13"
SCORINGS = ("log_loss", "accuracy")  # jaxdl.logistic.cross_validate's scoring=
SOLVERS = ("auto", "newton", "lbfgs")  # and its solver=
SCORE_MEANING = {"log_loss": "the held-out rows' mean negative log-likelihood, lower is better",
                 "accuracy": "the fraction of held-out rows classified correctly, higher is "
                             "better"}
TOP = 10  # coefficients listed after the table (--json has all of them)
# The library's arguments that come from a flag, by name (its errors start with the name).
FLAGS = {"l2": "--l2-grid", "folds": "--folds", "seed": "--seed", "scoring": "--scoring",
         "solver": "--solver", "gtol": "--gtol", "max_steps": "--max-steps"}


def l2_grid(text: str) -> tuple[float, ...]:
    """``LO:HI:N``, N penalties from LO to HI evenly spaced on a log scale (0 < LO < HI,
    N >= 2), or a comma list ``V1,V2,...`` of penalties >= 0."""
    import numpy as np

    if ":" in text:
        parts = text.split(":")
        try:
            lo, hi = float(parts[0]), float(parts[1])
            n = int(parts[2]) if len(parts) == 3 else 0
        except (ValueError, IndexError):
            lo = hi = math.nan
            n = 0
        if not (len(parts) == 3 and math.isfinite(hi) and 0 < lo < hi and n >= 2):
            raise argparse.ArgumentTypeError(
                f"expected LO:HI:N (N >= 2 penalties from LO to HI on a log scale, "
                f"0 < LO < HI) or a comma list of penalties >= 0, got {text!r}")
        return tuple(float(v) for v in np.geomspace(lo, hi, n))
    values = []
    for cell in text.split(","):
        try:
            v = float(cell)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and v >= 0):
            raise argparse.ArgumentTypeError(
                f"expected a comma list of finite penalties >= 0 (or LO:HI:N), got {cell!r} "
                f"in {text!r}")
        values.append(v)
    return tuple(values)


def add_parser(sub) -> None:
    c = sub.add_parser("cv", help="choose the ridge penalty by K-fold cross-validation and "
                       "print the curve",
                       description="Cross-validate the ridge penalty of logistic (2 classes) "
                       "or multinomial (--classes K) regression over a grid, print the curve "
                       "(mean held-out score and its standard error per penalty, the best and "
                       "the one-standard-error choice) and refit on all rows at the best. "
                       "Exit status 1 if no penalty has every fold converged, or the refit "
                       "does not converge.")
    add_arguments(c)
    c.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    inputs.add_data_arguments(p, standardize_rows="all rows, held-out folds included")
    p.add_argument("--folds", type=integer(2), default=5, metavar="K",
                   help="the number of folds, stratified by class, 2 to the number of rows "
                   "(default 5)")
    p.add_argument("--l2-grid", type=l2_grid, default=l2_grid(DEFAULT_GRID),
                   metavar="LO:HI:N|V1,V2,...",
                   help="the penalties: LO:HI:N is N values from LO to HI evenly spaced on a "
                   "log scale (0 < LO < HI, N >= 2); V1,V2,... lists them (each >= 0) "
                   f"(default {DEFAULT_GRID})")
    p.add_argument("--scoring", choices=SCORINGS, default="log_loss",
                   help="the held-out score: log_loss (mean negative log-likelihood, lower is "
                   "better) or accuracy (default log_loss)")
    p.add_argument("--solver", choices=SOLVERS, default="auto",
                   help="every fold's fit: newton, lbfgs, or auto (Newton unless the problem "
                   "is large; default auto)")
    p.add_argument("--seed", type=integer(0), default=0,
                   help="seed of the folds' stratified shuffle, >= 0 (default 0)")
    p.add_argument("--gtol", type=number(0, low_open=True), default=None,
                   help="every fit's tolerance on the per-sample mean gradient's max-norm, > 0 "
                   "(default 1e-12 in float64, 1e-5 in float32)")
    p.add_argument("--max-steps", type=integer(1), default=None, metavar="N",
                   help="every fit's step budget, >= 1 (default 50 for Newton, 500 for L-BFGS)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON report (the grid, every fold's score and status, the "
                   "mean, standard error, choices, and the refit's coefficients with feature "
                   "names) instead of tables")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="write the curve: mean held-out score with one-standard-error bars "
                   "against l2, each fold's scores, the best and the one-standard-error choice "
                   "(needs matplotlib; the folder must exist)")


def prepare(args: argparse.Namespace):
    """Check the flags, load and standardise: everything before the first fit."""
    import jax.numpy as jnp

    from jaxdl import data

    if args.plot:
        check_plot(args.plot)
    ds = inputs.load(args)
    k = inputs.num_classes(args, ds)
    X = inputs.as_dtype(ds.X, args, "rows")
    if not args.no_standardize:
        X, _, _ = data.standardize(X)
    report = {
        "data": ds.name, "n": int(X.shape[0]), "d": int(X.shape[1]), "classes": k,
        "class_names": [str(c) for c in ds.target_names], "features": list(ds.feature_names),
        "model": "logistic" if k == 2 else "multinomial", "dtype": args.dtype,
        "standardised": not args.no_standardize,
        "coefficient_scale": ("per standard deviation of each feature (standardised inputs)"
                              if not args.no_standardize else "per unit of each feature"),
        "folds": args.folds, "seed": args.seed, "scoring": args.scoring,
        "scoring_meaning": SCORE_MEANING[args.scoring], "solver": args.solver,
    }
    return report, X, jnp.asarray(ds.y)


def cross_validate(args: argparse.Namespace):
    """The report's header, the data and the library's CVResult; a SolverError when no
    penalty has every fold converged."""
    import numpy as np

    from jaxdl import multinomial

    report, X, y = prepare(args)
    try:
        cv = multinomial.cross_validate_classifier(
            X, y, num_classes=report["classes"], l2=np.asarray(args.l2_grid), folds=args.folds,
            seed=args.seed, scoring=args.scoring, solver=args.solver, gtol=args.gtol,
            max_steps=args.max_steps)
    except (ValueError, TypeError) as err:  # about a flag's value; anything else is a bug
        raise library_error(err, FLAGS) from None
    return report, X, y, cv


def curve(cv) -> dict:
    """The CVResult as JSON-able lists, in the grid's order."""
    import numpy as np

    from jaxdl import results

    status = np.asarray(cv.status)
    return {
        "l2": [float(v) for v in np.asarray(cv.l2)],
        "mean": [finite_or_none(float(v)) for v in np.asarray(cv.mean)],
        "se": [finite_or_none(float(v)) for v in np.asarray(cv.se)],
        "scores": [[finite_or_none(float(v)) for v in row] for row in np.asarray(cv.scores)],
        "status": [[results.status_name(int(c)) for c in row] for row in status],
        "folds_converged": [int(v) for v in (status == results.Status.CONVERGED).sum(axis=0)],
        "best_index": int(cv.best_index), "best_l2": float(cv.best_l2),
        "one_se_index": int(np.flatnonzero(np.asarray(cv.l2) == np.asarray(cv.l2_1se))[0]),
        "l2_1se": float(cv.l2_1se),
    }


def refit(cv, X, y, report: dict, args: argparse.Namespace) -> dict:
    import jax.numpy as jnp

    from jaxdl import multinomial, results

    res = cv.fit
    status = results.Status(int(res.status))
    acc = float(jnp.mean(multinomial.predict_classifier(res.params, X) == y))
    return {
        "l2": float(cv.best_l2), "status": status.name_lower, "ok": status.ok,
        "message": status.message, "hint": _hint(status, args), "steps": int(res.steps),
        "loss": finite_or_none(float(res.loss)),
        "mean_grad_norm": finite_or_none(float(res.grad_norm) / report["n"]),
        "train_accuracy": acc,
        **inputs.coefficients(res.params, report["classes"] == 2, report["features"],
                              report["class_names"]),
    }


def _hint(status, args: argparse.Namespace) -> str | None:
    """What to change on the command line after a failed refit (None after a success)."""
    from jaxdl.results import Status

    if status.ok:
        return None
    if status == Status.MAX_STEPS:
        return (f"raise --max-steps (now {args.max_steps or 'the default'}) or loosen --gtol "
                f"(now {args.gtol if args.gtol is not None else 'the default'})")
    return "see the status message"


def _no_choice_hint(args: argparse.Namespace) -> str:
    return (f"use larger penalties in --l2-grid, or raise --max-steps (now "
            f"{args.max_steps or 'the default'})")


def _marks(j: int, c: dict) -> str:
    marks = [m for m, at in (("best", c["best_index"]), ("1-SE", c["one_se_index"])) if at == j]
    return f"  <- {', '.join(marks)}" if marks else ""


def _print_curve(report: dict, c: dict) -> None:
    print(f"data: {report['data']} ({report['n']} x {report['d']}, {report['classes']} classes"
          f"{', standardised' if report['standardised'] else ''}); {report['model']} model; "
          f"{report['dtype']}")
    print(f"{report['folds']}-fold cross-validation, stratified by class, shuffled with seed "
          f"{report['seed']}; solver {report['solver']}\nscore: {report['scoring']}, "
          f"{report['scoring_meaning']};\n       mean and standard error over the folds")
    print(f"{'l2':>12}  {'mean':>12}  {'std error':>12}  {'converged':>11}")
    for j, l2 in enumerate(c["l2"]):
        folds = f"{c['folds_converged'][j]}/{report['folds']}"
        bad = sorted({s for row in c["status"] for s in [row[j]] if s != "converged"})
        print(f"{l2:>12.6g}  {_num(c['mean'][j]):>12}  {_num(c['se'][j]):>12}  {folds:>11}"
              + (f" ({', '.join(bad)})" if bad else "") + _marks(j, c))
    b, s = c["best_index"], c["one_se_index"]
    print(f"best: l2 = {c['best_l2']:.6g}, mean {_num(c['mean'][b])}\n"
          f"1-SE: l2 = {c['l2_1se']:.6g}, mean {_num(c['mean'][s])}: the largest penalty "
          f"whose mean is within one standard error ({_num(c['se'][b])}) of the best")
    failed = [j for j, n in enumerate(c["folds_converged"]) if n < report["folds"]]
    if failed:
        print(f"note: at {len(failed)} penalt{'y' if len(failed) == 1 else 'ies'} not every "
              "fold converged; they are never chosen")


def _num(v: float | None) -> str:
    return "non-finite" if v is None else format(v, ".6g")


def _print_refit(report: dict, r: dict) -> None:
    print(f"\nrefit on all {report['n']} rows at the best l2 = {r['l2']:.6g}: {r['message']}")
    if r["hint"]:
        print(f"hint: {r['hint']}")
    print(f"steps {r['steps']}, loss {_num(r['loss'])}, mean grad {_num(r['mean_grad_norm'])}, "
          f"training accuracy {r['train_accuracy']:.4f}")
    coef = r["coefficients"]
    if report["classes"] == 2:
        print(f"intercept {r['intercept']:.6g}")
        named = list(coef.items())
    else:
        print("intercepts " + ", ".join(f"{c} {v:.4g}" for c, v in r["intercept"].items()))
        named = [(f"{c}: {name}", v) for c, row in coef.items() for name, v in row.items()]
    top = sorted(named, key=lambda kv: -abs(kv[1]))[:TOP]
    print(f"largest coefficients, {report['coefficient_scale']} ({len(top)} of {len(named)}; "
          "--json lists all):")
    width = max(len(name) for name, _ in top)
    for name, v in top:
        print(f"  {name:<{width}}  {v:+.6g}")


def _plot(cv, report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from jaxdl import sweep

    sweep.plot_cv(cv, path, scoring=report["scoring"],
                  title=f"{report['data']}: {report['model']} regression, {report['folds']}-fold "
                  "cross-validation")


def run(args: argparse.Namespace) -> int:
    from jaxdl import results

    try:
        report, X, y, cv = cross_validate(args)
    except results.SolverError as err:  # the fits ran; none of the penalties is usable
        hint = _no_choice_hint(args)
        if args.json:
            print(json.dumps({"ok": False, "error": str(err), "hint": hint}, indent=2))
        print(f"jaxdl cv: {err}\nhint: {hint}", file=sys.stderr)
        return EXIT_FAILED
    c = curve(cv)
    r = refit(cv, X, y, report, args)
    report.update(cv=c, refit=r, ok=r["ok"], every_fold_converged=bool(cv.ok))
    if args.plot:
        _plot(cv, report, args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_curve(report, c)
        _print_refit(report, r)
        if args.plot:
            print(f"\nplot written to {args.plot}")
    if not r["ok"]:
        print(f"jaxdl cv: the refit at l2 = {r['l2']:g} did not succeed: status {r['status']}; "
              f"{r['hint']}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
