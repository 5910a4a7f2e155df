"""The ``jaxdl`` command line: ``verify``, ``fit``, ``sweep`` and ``demo`` (the default).

An entry point: it parses arguments, sets JAX's process-wide options (float64 on, a persistent
compilation cache) and prints. It holds no maths: every number comes from the library.

Exit status: 0 when every check and fit succeeded; 1 when an identity failed or a fit ended
with a status that is not a success (``max_steps``, ``nonfinite``, ``separable`` ...); 2 on a bad
argument, reported before any work with the flag the user typed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence

import jax

from jaxdl import __version__
from jaxdl._compilation_cache import DEFAULT_DIR, enable_compilation_cache

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_GD_STEPS, _NEWTON_STEPS = 20000, 50


class UsageError(Exception):
    """A bad command-line value: printed as ``jaxdl CMD: error: ...``; exit status 2."""


def _configure_jax(cache: bool = True) -> None:
    """Process-wide settings for command-line runs (never done by library code)."""
    jax.config.update("jax_enable_x64", True)
    if cache:  # $JAXDL_CACHE_DIR or ~/.cache/jaxdl/xla; JAXDL_NO_CACHE=1 leaves it off
        try:
            enable_compilation_cache()
        except ValueError as err:  # a cache is a speed-up: never a reason to refuse a run
            print(f"jaxdl: warning: no persistent compilation cache (JAXDL_CACHE_DIR or "
                  f"{DEFAULT_DIR}): {err}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Argument types: each names what it expected; argparse prefixes the flag
# ---------------------------------------------------------------------------


def _integer(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return parse


def _number(low: float, high: float = math.inf, *, low_open: bool = False,
            high_open: bool = False) -> Callable[[str], float]:
    lo = f"{'>' if low_open else '>='} {low:g}"
    want = f"a finite number {lo}" + (
        "" if high == math.inf else f" and {'<' if high_open else '<='} {high:g}")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = (math.isfinite(value) and (value > low if low_open else value >= low)
                  and (value < high if high_open else value <= high))
        if not inside:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
        return value

    return parse


def _label_column(text: str) -> int | str:
    """An integer is a 0-based column index (negative counts from the end); else a name."""
    if re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a column name or index, got ''")
    return text


def _delimiter(text: str) -> str:
    named = {"\\t": "\t", "tab": "\t", "space": " "}
    value = named.get(text.lower(), text)
    if len(value) != 1 or value in "\r\n\"":
        raise argparse.ArgumentTypeError(
            f"expected one character (or 'tab', '\\t', 'space'), got {text!r}")
    return value


def _check_plot(path: str) -> None:
    """Before any work: the plot's folder exists and is writable, and matplotlib is there."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--plot: expected a file name, got the folder {path!r}")
    if not os.path.isdir(folder):
        raise UsageError(f"--plot: expected a file in an existing folder, got {path!r} "
                         f"(no folder {folder!r})")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--plot: expected a writable folder, got {path!r} ({folder!r} is not "
                         "writable)")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plot: needs matplotlib; install it with pip install 'jaxdl[plot]' "
                         "(or pip install matplotlib)") from None
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = Figure().canvas.get_supported_filetypes()
    if ext and ext not in formats:
        raise UsageError(f"--plot: expected a file ending in one of "
                         f"{', '.join('.' + f for f in sorted(formats))}, got {path!r}")


# ---------------------------------------------------------------------------
# Library errors, retold with the flags the user typed
# ---------------------------------------------------------------------------


def _retell(text: str, flags: Mapping[str, str]) -> str:
    """Rewrite a library message (``name: expected X, got Y``) to name command-line flags."""
    m = re.match(r"^([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*): ", text)
    if m:
        names = [flags.get(n, n) for n in m.group(1).split(", ")]
        text = ", ".join(dict.fromkeys(names)) + ": " + text[m.end():]
    text = text.replace("pass header=False", "pass --no-header")
    text = text.replace("pass header=True", "leave out --no-header")
    for name, flag in flags.items():
        if flag.startswith("--") and not flag.startswith("--no-"):
            text = re.sub(rf"\b{name}=([^\s,;)]+)", rf"{flag} \1", text)
    return text


@contextlib.contextmanager
def _flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Turn a library ValueError/TypeError on the user's input into a UsageError."""
    try:
        yield
    except (ValueError, TypeError, FileNotFoundError) as err:
        raise UsageError(_retell(str(err), flags)) from None


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------


def _cmd_verify(args: argparse.Namespace) -> int:
    from jaxdl import verify

    dtypes = verify.DTYPES if args.dtype == "both" else (args.dtype,)
    names = args.only or None
    with _flags({"names": "--only"}):
        verify.run(names, dtypes=(), seed=args.seed, trials=args.trials)  # checks names only
    if args.json:
        def on_outcome(o):
            return None
    else:
        print(verify.table_header(), flush=True)

        def on_outcome(o):  # one fixed-width row as each identity finishes
            print(verify.format_row(o), flush=True)

    outcomes = verify.run(names, dtypes=dtypes, seed=args.seed, trials=args.trials,
                          on_outcome=on_outcome)
    failed = [o for o in outcomes if not o.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "identities": [o.as_dict() for o in outcomes]},
                         indent=2))
    else:
        n_id = len({o.name for o in outcomes})
        print(f"\n{n_id} identities x {len(dtypes)} dtype(s): "
              f"{len(outcomes) - len(failed)} ok, {len(failed)} failed")
    if failed:
        print(f"jaxdl verify: {len(failed)} check(s) failed: "
              + ", ".join(f"{o.name} ({o.dtype})" for o in failed), file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None  # JSON has no NaN or inf


def _history_rows(res, every: int, n_train: int) -> list[dict]:
    import numpy as np

    steps = int(res.steps)
    loss = np.asarray(res.loss_history)
    gn = np.asarray(res.grad_norm_history)
    ss = np.asarray(res.step_size_history)
    idx = sorted(set(range(0, steps + 1, max(1, every))) | {steps})
    return [{"step": i, "loss": _finite_or_none(float(loss[i])),
             "mean_grad_norm": _finite_or_none(float(gn[i]) / n_train),
             "step_size": _finite_or_none(float(ss[i]))} for i in idx]


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


def _coefficients(params, binary: bool, features, classes) -> dict:
    import numpy as np

    W, b = (np.asarray(p, dtype=np.float64) for p in params)
    if binary:
        return {"intercept": float(b),
                "coefficients": dict(zip(features, map(float, W), strict=True))}
    return {"intercept": dict(zip(classes, map(float, b), strict=True)),
            "coefficients": {c: dict(zip(features, map(float, row), strict=True))
                             for c, row in zip(classes, W, strict=True)}}


def _prepare(args: argparse.Namespace):
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
    args.gd_steps = _GD_STEPS if args.gd_steps is None else args.gd_steps
    args.newton_steps = _NEWTON_STEPS if args.newton_steps is None else args.newton_steps
    dtype = jnp.dtype(args.dtype)
    if args.gtol is None:
        args.gtol = 1e-9 if dtype == jnp.float64 else 1e-5
    if args.plot:
        _check_plot(args.plot)

    bundled = args.data in data.BUNDLED
    with _flags({"name_or_path": "--data", "label_column": "--label-column",
                 "header": "--no-header", "delimiter": "--delimiter"}):
        ds = data.load(args.data, label_column=args.label_column,
                       header=False if args.no_header else None, delimiter=args.delimiter)
    declared = args.classes if args.classes is not None or not bundled else len(ds.target_names)
    with _flags({"num_classes": "--classes", "y": f"labels of --data {args.data}"}):
        k = data.check_classes(ds.y, num_classes=declared, min_per_class=2)
    if declared is None and k != 2:
        raise UsageError(
            f"--classes: expected binary labels {{0, 1}} (a CSV file is a logistic problem "
            f"unless --classes says otherwise), got labels 0..{k - 1} in {args.data}; pass "
            f"--classes {k} to fit a {k}-class softmax model")
    with _flags({"test_fraction": "--test-fraction"}):
        Xtr, ytr, Xte, yte = data.train_test_split(jax.random.key(args.seed), ds.X, ds.y,
                                                   test_fraction=args.test_fraction)
    with _flags({"num_classes": "--classes",
                 "y": f"labels of the training rows (--test-fraction {args.test_fraction:g}, "
                      f"--seed {args.seed})"}):
        data.check_classes(ytr, num_classes=k, min_per_class=1)
    Xtr = jnp.asarray(Xtr, dtype)
    Xte = jnp.asarray(Xte, dtype)
    if not args.no_standardize:
        Xtr, mean, scale = data.standardize(Xtr)
        Xte, _, _ = data.standardize(Xte, mean=mean, scale=scale)
    classes = [str(c) for c in ds.target_names]  # k of them: check_classes saw 0..k-1
    report = {
        "data": ds.name, "n": int(ds.X.shape[0]), "d": int(ds.X.shape[1]), "classes": k,
        "class_names": classes, "features": list(ds.feature_names),
        "train": int(Xtr.shape[0]), "test": int(Xte.shape[0]), "l2": args.l2,
        "gtol": args.gtol, "dtype": str(dtype), "standardised": not args.no_standardize,
        "coefficient_scale": ("per training standard deviation of each feature (standardised "
                              "inputs)") if not args.no_standardize else "per unit of each feature",
        "model": "logistic" if k == 2 else "softmax", "solvers": {},
    }
    return report, (Xtr, ytr, Xte, yte)


def _fit_one(solver: str, args: argparse.Namespace, report: dict, arrays, on_start) -> dict:
    import jax.numpy as jnp

    from jaxdl import logistic, results, softmax

    Xtr, ytr, Xte, yte = arrays
    dtype, k, n_train = Xtr.dtype, report["classes"], report["train"]
    steps_flag = "--gd-steps" if solver == "gd" else "--newton-steps"
    flags = {"l2": "--l2", "gtol": "--gtol", "lr_w": "--lr-w", "lr_b": "--lr-b", "lr": "--lr-w",
             "max_steps": steps_flag, "num_classes": "--classes"}
    with _flags(flags):
        if k == 2:
            yf, yte_ = jnp.asarray(ytr, dtype), jnp.asarray(yte, dtype)
            if solver == "gd":
                lr_w = logistic.gd_step_bound(Xtr, l2=args.l2) if args.lr_w is None \
                    else args.lr_w
                lr_b = lr_w if args.lr_b is None else args.lr_b
                on_start(f"gradient descent, the seed's update (lr_w = {lr_w:.3g}, lr_b = "
                         f"{lr_b:.3g}), up to {args.gd_steps} steps")
                res = logistic.fit_gd(Xtr, yf, lr_w=lr_w, lr_b=lr_b, l2=args.l2,
                                      max_steps=args.gd_steps, gtol=args.gtol)
            else:
                on_start(f"Newton / IRLS (Cholesky solve, Armijo backtracking), up to "
                         f"{args.newton_steps} steps")
                res = logistic.fit_newton(Xtr, yf, l2=args.l2, max_steps=args.newton_steps,
                                          gtol=args.gtol)
            acc_tr = float(logistic.accuracy(*res.params, Xtr, yf))
            acc_te = float(logistic.accuracy(*res.params, Xte, yte_))
        else:
            ytr_, yte_ = jnp.asarray(ytr), jnp.asarray(yte)
            if solver == "gd":
                lr_w = softmax.gd_step_bound(Xtr, l2=args.l2) if args.lr_w is None \
                    else args.lr_w
                lr_b = lr_w if args.lr_b is None else args.lr_b
                text = f"lr_w = {lr_w:.3g}, lr_b = {lr_b:.3g}"
                on_start(f"gradient descent ({text}), up to {args.gd_steps} steps")
                res = softmax.fit_gd(Xtr, ytr_, lr_w=lr_w, lr_b=lr_b, num_classes=k, l2=args.l2,
                                     max_steps=args.gd_steps, gtol=args.gtol)
            else:
                on_start(f"Newton (block Hessian from ce_hessian, Armijo backtracking), up to "
                         f"{args.newton_steps} steps")
                res = softmax.fit_newton(Xtr, ytr_, num_classes=k, l2=args.l2,
                                         max_steps=args.newton_steps, gtol=args.gtol)
            acc_tr = float(softmax.accuracy(*res.params, Xtr, ytr_))
            acc_te = float(softmax.accuracy(*res.params, Xte, yte_))
    import numpy as np

    steps = int(res.steps)
    status = results.Status(int(res.status))
    return {
        "status": status.name_lower, "ok": status.ok, "message": status.message,
        "hint": _hint(solver, status, args),
        "steps": steps, "loss": _finite_or_none(float(res.loss)),
        "grad_norm": _finite_or_none(float(res.grad_norm)),
        "mean_grad_norm": _finite_or_none(float(res.grad_norm) / n_train),
        "train_accuracy": acc_tr, "test_accuracy": acc_te,
        **_coefficients(res.params, k == 2, report["features"], report["class_names"]),
        "loss_history": [_finite_or_none(float(v))
                         for v in np.asarray(res.loss_history[: steps + 1])],
        "grad_norm_history": [_finite_or_none(float(v))
                              for v in np.asarray(res.grad_norm_history[: steps + 1])],
        "rows": _history_rows(res, args.every or _auto_every(steps), n_train),
    }


def _run_fits(args: argparse.Namespace, *, on_ready: Callable[[dict], None] | None = None,
              on_start: Callable[[str, str], None] | None = None,
              on_done: Callable[[str, dict], None] | None = None) -> dict:
    """Load, split, standardise and fit; return a JSON-able report.

    ``on_ready(report)`` is called once the data are ready, ``on_start(solver, label)`` before
    each fit and ``on_done(solver, row)`` after it, so the tables print as the fits finish.
    """
    report, arrays = _prepare(args)
    if on_ready is not None:
        on_ready(report)
    solvers = ("gd", "newton") if args.solver == "both" else (args.solver,)
    for solver in solvers:
        label = []

        def start(text, solver=solver, label=label):
            label.append(text)
            if on_start is not None:
                on_start(solver, text)

        r = _fit_one(solver, args, report, arrays, start)
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


def _cmd_fit(args: argparse.Namespace) -> int:
    if args.json:
        report = _run_fits(args)
    else:
        report = _run_fits(
            args, on_ready=_print_header, on_start=_print_start,
            on_done=lambda s, r: _print_done(s, r, args.gtol))
    if args.plot:
        _plot(report, args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.plot:
        print(f"\nplot written to {args.plot}")
    return _report_failures(report)


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.plot:
        _check_plot(args.plot)
    print("== jaxdl verify: every closed form against JAX autodiff ==", flush=True)
    code = _cmd_verify(argparse.Namespace(dtype="both", only=None, seed=0, trials=2,
                                          json=False))
    print("\n== jaxdl fit: bundled breast-cancer data, gradient descent and Newton ==",
          flush=True)
    fit_args = build_parser().parse_args(["fit"])
    fit_args.plot = args.plot
    code = max(code, _cmd_fit(fit_args))
    print("\n== without a penalty (l2 = 0), the seed's unregularised problem ==", flush=True)
    fit_args = build_parser().parse_args(["fit", "--solver", "newton", "--l2", "0"])
    r = _run_fits(fit_args)["solvers"]["newton"]
    print(f"Newton after {r['steps']} steps: {r['message']}")
    print("(expected here, not counted as a failure: the standardised breast-cancer data are "
          "separable)")
    return code


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# sweep
# ---------------------------------------------------------------------------


def _grid_item(text: str) -> tuple[str, list[str]]:
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=V1,V2,..., got {text!r}")
    vals = [v.strip() for v in values.split(",") if v.strip()]
    if not vals:
        raise argparse.ArgumentTypeError(f"expected at least one value after {key}=, got "
                                         f"{text!r}")
    return key.strip(), vals


def _sweep_list() -> int:
    from jaxdl import sweep

    for name in sweep.names():
        s = sweep.get(name)
        print(f"{name}: {s.summary}")
        for p in s.params:
            d = [f"{v:g}" if isinstance(v, float) else str(v)
                 for v in p.defaults(jax.numpy.float64)]
            vals = ",".join(d) if len(d) <= 6 else f"{len(d)} values {d[0]} .. {d[-1]}"
            kind = p.kind + (", static: one compile per value" if p.static else "")
            print(f"    {p.name:<14} {p.help} ({kind}); default {vals}")
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from jaxdl import sweep

    if args.list:
        return _sweep_list()
    if args.name is None:
        raise UsageError("NAME: expected a sweep name (see jaxdl sweep --list)")
    if args.out is None:
        raise UsageError("--out: expected the folder to write NAME.csv, NAME.json, NAME.png")
    with _flags({"name": "NAME"}):
        s = sweep.get(args.name)
    values: dict[str, list[str]] = {}
    for key, vals in args.grid or []:
        if key in values:
            raise UsageError(f"--grid: expected each key once, got {key} twice")
        values[key] = vals
    with _flags({"grid": "--grid"}):
        cfgs = sweep.grid(s, values)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("sweep: needs matplotlib for NAME.png; install it with pip install "
                         "'jaxdl[plot]' (or pip install matplotlib)") from None
    with _flags({"out": "--out", "resume": "--resume"}):
        table = sweep.run(s, configs=cfgs, chunk_size=args.chunk_size, out=args.out,
                          resume=args.resume, progress=not args.no_progress)
    counts: dict[str, int] = {}
    for st in table["status"] if len(table) else []:
        counts[str(st)] = counts.get(str(st), 0) + 1
    print(f"{s.name}: {len(table)} of {len(cfgs)} configurations in "
          f"{table.meta['seconds']:.1f} s on {table.meta['devices']} device(s); statuses: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"wrote {os.path.join(args.out, s.name)}.csv and .json")
    if table.interrupted:
        print("interrupted: the finished rows are written; rerun with --resume to finish",
              file=sys.stderr)
        return 130
    from jaxdl import _sweep_plots

    png = os.path.join(args.out, f"{s.name}.png")
    _sweep_plots.plot(table, png)
    print(f"wrote {png}")
    return EXIT_OK


def _add_fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="breast_cancer", metavar="NAME|PATH.csv",
                   help="breast_cancer | digits | the path of a CSV file (label in the last "
                   "column unless --label-column; default breast_cancer)")
    p.add_argument("--label-column", type=_label_column, default=None, metavar="NAME|INDEX",
                   help="CSV only: the label column, by header name or 0-based index "
                   "(negative counts from the end; default -1, the last)")
    p.add_argument("--no-header", action="store_true",
                   help="CSV only: the file has no header row (features are named x0, x1, "
                   "...); without this flag a first row of numbers is an error")
    p.add_argument("--delimiter", type=_delimiter, default=None, metavar="CHAR",
                   help="CSV only: the field separator, one character, or 'tab' (default ',')")
    p.add_argument("--classes", type=_integer(2), default=None, metavar="K",
                   help="the number of classes: 2 fits logistic regression, K > 2 softmax "
                   "regression; labels must be 0..K-1 with at least 2 samples each (default: 2 "
                   "for a CSV file, the data set's own count for bundled data)")
    p.add_argument("--solver", choices=("both", "gd", "newton"), default="both",
                   help="gradient descent, Newton's method, or both (default both)")
    p.add_argument("--l2", type=_number(0), default=1.0,
                   help="ridge penalty on the weights, >= 0 (default 1.0; the standardised "
                   "breast-cancer data are separable, so l2 = 0 has no finite minimiser)")
    p.add_argument("--lr-w", type=_number(0, low_open=True), default=None, metavar="RATE",
                   help="gradient-descent rate for w (softmax: for W), > 0; default 1/L, L the "
                   "Hessian bound, which makes every step decrease the loss")
    p.add_argument("--lr-b", type=_number(0, low_open=True), default=None, metavar="RATE",
                   help="gradient-descent rate for b, > 0 (default: the rate for w)")
    p.add_argument("--gd-steps", type=_integer(1), default=None, metavar="N",
                   help=f"gradient-descent step budget, >= 1 (default {_GD_STEPS})")
    p.add_argument("--newton-steps", type=_integer(1), default=None, metavar="N",
                   help=f"Newton step budget, >= 1 (default {_NEWTON_STEPS})")
    p.add_argument("--gtol", type=_number(0, low_open=True), default=None,
                   help="stop when the per-sample mean gradient's max-norm (max |gradient| / "
                   "n_train) is <= this, > 0 (default 1e-9 in float64, 1e-5 in float32)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point precision of the fit (default float64)")
    p.add_argument("--test-fraction", type=_number(0, 1, low_open=True, high_open=True),
                   default=0.25, metavar="F",
                   help="share of rows held out for the test accuracy, in (0, 1) (default 0.25)")
    p.add_argument("--seed", type=_integer(0), default=0,
                   help="seed of the random train/test split, >= 0 (default 0)")
    p.add_argument("--no-standardize", action="store_true",
                   help="fit the raw features (default: scale each to zero mean, unit variance "
                   "on the training rows)")
    p.add_argument("--every", type=_integer(1), default=None, metavar="N",
                   help="print every N-th step of the table (default: about 20 rows)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON report (statuses, histories, coefficients with feature "
                   "names) instead of tables")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="write loss and mean gradient norm against step, one panel per solver "
                   "(needs matplotlib; the folder must exist)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxdl",
        description="Verified closed forms and jit-compiled training loops for the classic "
        "derivations of deep learning. Exit status: 0 success; 1 a failed check or a fit that "
        "did not converge; 2 a bad argument.",
    )
    parser.add_argument("--version", action="version", version=f"jaxdl {__version__}",
                        help="print the jaxdl version and exit")
    sub = parser.add_subparsers(dest="command", metavar="{verify,fit,sweep,demo}",
                                help="what to run (default demo)")

    v = sub.add_parser("verify", help="check every closed form against JAX autodiff",
                       description="Check every closed form against JAX autodiff; rows print "
                       "as identities finish. Exit status 1 if any check fails.")
    v.add_argument("--json", action="store_true", help="print JSON instead of a table")
    v.add_argument("--dtype", choices=("both", "float64", "float32"), default="both",
                   help="precision(s) to check in (default both)")
    v.add_argument("--trials", type=_integer(1), default=3,
                   help="random inputs per identity, >= 1 (default 3)")
    v.add_argument("--seed", type=_integer(0), default=0,
                   help="seed of the random inputs, >= 0 (default 0)")
    v.add_argument("--only", nargs="+", metavar="NAME",
                   help="run only these identities (names as in the table's first column)")
    v.set_defaults(func=_cmd_verify)

    f = sub.add_parser("fit", help="fit logistic (binary) or softmax regression by gradient "
                       "descent and Newton and print the convergence",
                       description="Fit logistic (2 classes) or softmax (--classes K) "
                       "regression. Exit status 1 if a fit ends with a status other than "
                       "converged.")
    _add_fit_arguments(f)
    f.set_defaults(func=_cmd_fit)

    w = sub.add_parser("sweep", help="run a fit or diagnostic over a grid of configurations",
                       description="Run a built-in sweep (jaxdl sweep --list) in one compiled, "
                       "vmapped program; writes OUT/NAME.csv and OUT/NAME.json as chunks "
                       "finish, then OUT/NAME.png. Failed configurations keep their rows with "
                       "their status. Exit status 0 when the sweep ran to the end; 130 when "
                       "interrupted (finish with --resume).")
    w.add_argument("name", nargs="?", metavar="NAME", help="the sweep to run")
    w.add_argument("--list", action="store_true", help="list the sweeps, their parameters "
                   "and defaults, and exit")
    w.add_argument("--out", metavar="DIR", help="folder for NAME.csv, NAME.json, NAME.png "
                   "(created if missing)")
    w.add_argument("--grid", action="append", type=_grid_item, metavar="KEY=V1,V2,...",
                   help="values of one parameter (repeat for several); the rest take their "
                   "defaults")
    w.add_argument("--chunk-size", type=_integer(1), default=None, metavar="N",
                   help="configurations per compiled chunk (default: from a memory bound)")
    w.add_argument("--resume", action="store_true",
                   help="skip the configurations already in DIR/NAME.csv")
    w.add_argument("--no-progress", action="store_true", help="no progress bar")
    w.set_defaults(func=_cmd_sweep)

    d = sub.add_parser("demo", help="verify, then fit the bundled breast-cancer data",
                       description="Verify every identity, then fit the bundled breast-cancer "
                       "data by gradient descent and Newton.")
    d.add_argument("--plot", metavar="FILE.png", default=None,
                   help="also write the fit's convergence plot (needs matplotlib)")
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a failed check or fit, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["demo"])
    except SystemExit as done:  # --help, --version, or an argparse error (status 2)
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    _configure_jax()
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"jaxdl {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
