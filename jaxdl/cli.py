"""The ``jaxdl`` command line: ``verify``, ``fit`` and ``demo`` (the default).

An entry point: it parses arguments, sets JAX's process-wide options (float64 on, a persistent
compilation cache) and prints. It holds no maths: every number comes from the library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import jax


def _configure_jax(cache: bool = True) -> None:
    """Process-wide settings for command-line runs (never done by library code)."""
    jax.config.update("jax_enable_x64", True)
    if cache and os.environ.get("JAXDL_NO_CACHE") != "1":
        cache_dir = os.environ.get(
            "JAXDL_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxdl", "xla")
        )
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _cmd_verify(args: argparse.Namespace) -> int:
    from jaxdl import verify

    dtypes = verify.DTYPES if args.dtype == "both" else (args.dtype,)
    outcomes = verify.run(args.only or None, dtypes=dtypes, seed=args.seed, trials=args.trials)
    failed = [o for o in outcomes if not o.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "identities": [o.as_dict() for o in outcomes]},
                         indent=2))
    else:
        print(verify.format_table(outcomes))
        n_id = len({o.name for o in outcomes})
        print(f"\n{n_id} identities x {len(dtypes)} dtype(s): "
              f"{len(outcomes) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0


def _history_rows(res, every: int) -> list[tuple[int, float, float, float]]:
    import numpy as np

    steps = int(res.steps)
    loss = np.asarray(res.loss_history)
    gn = np.asarray(res.grad_norm_history)
    ss = np.asarray(res.step_size_history)
    idx = sorted(set(range(0, steps + 1, max(1, every))) | {steps})
    return [(i, float(loss[i]), float(gn[i]), float(ss[i])) for i in idx]


def _auto_every(steps: int, rows: int = 20) -> int:
    return max(1, -(-steps // rows))


def _run_fits(args: argparse.Namespace) -> dict:
    """Load, split, standardise and fit; return a JSON-able report."""
    import jax.numpy as jnp
    import numpy as np

    from jaxdl import data, logistic, results, softmax

    dtype = jnp.dtype(args.dtype)
    if args.gtol is None:
        args.gtol = 1e-9 if dtype == jnp.float64 else 1e-5
    ds = data.load(args.data)
    k = int(ds.y.max()) + 1
    Xtr, ytr, Xte, yte = data.train_test_split(jax.random.key(args.seed), ds.X, ds.y,
                                               test_fraction=args.test_fraction)
    Xtr = jnp.asarray(Xtr, dtype)
    Xte = jnp.asarray(Xte, dtype)
    if not args.no_standardize:
        Xtr, mean, scale = data.standardize(Xtr)
        Xte, _, _ = data.standardize(Xte, mean=mean, scale=scale)
    binary = k == 2
    report = {
        "data": ds.name, "n": int(ds.X.shape[0]), "d": int(ds.X.shape[1]), "classes": k,
        "train": int(Xtr.shape[0]), "test": int(Xte.shape[0]), "l2": args.l2,
        "dtype": str(dtype), "standardised": not args.no_standardize,
        "model": "logistic" if binary else "softmax", "solvers": {},
    }
    solvers = ("gd", "newton") if args.solver == "both" else (args.solver,)
    for solver in solvers:
        if binary:
            yf = jnp.asarray(ytr, dtype)
            if solver == "gd":
                lr_w = logistic.gd_step_bound(Xtr, l2=args.l2) if args.lr_w is None \
                    else args.lr_w
                lr_b = lr_w if args.lr_b is None else args.lr_b
                res = logistic.fit_gd(Xtr, yf, lr_w=lr_w, lr_b=lr_b, l2=args.l2,
                                      max_steps=args.gd_steps, gtol=args.gtol)
                label = f"gradient descent, seed update (lr_w = {lr_w:.3g}, lr_b = {lr_b:.3g})"
            else:
                res = logistic.fit_newton(Xtr, yf, l2=args.l2, max_steps=args.newton_steps,
                                          gtol=args.gtol)
                label = "Newton / IRLS (Cholesky solve, Armijo backtracking)"
            w, b = res.params
            acc_tr = float(logistic.accuracy(w, b, Xtr, yf))
            acc_te = float(logistic.accuracy(w, b, Xte, jnp.asarray(yte, dtype)))
        else:
            if solver == "gd":
                lr = softmax.gd_step_bound(Xtr, l2=args.l2) if args.lr_w is None else args.lr_w
                res = softmax.fit_gd(Xtr, ytr, lr=lr, num_classes=k, l2=args.l2,
                                     max_steps=args.gd_steps, gtol=args.gtol)
                label = f"gradient descent (lr = {lr:.3g})"
            else:
                res = softmax.fit_newton(Xtr, ytr, num_classes=k, l2=args.l2,
                                         max_steps=args.newton_steps, gtol=args.gtol)
                label = "Newton (block Hessian from ce_hessian, Armijo backtracking)"
            W, b = res.params
            acc_tr = float(jnp.mean(softmax.predict(W, b, Xtr) == jnp.asarray(ytr)))
            acc_te = float(jnp.mean(softmax.predict(W, b, Xte) == jnp.asarray(yte)))
        steps = int(res.steps)
        report["solvers"][solver] = {
            "label": label,
            "status": results.Status(int(res.status)).name.lower(),
            "message": results.message(res.status),
            "steps": steps, "loss": float(res.loss), "grad_norm": float(res.grad_norm),
            "train_accuracy": acc_tr, "test_accuracy": acc_te,
            "loss_history": [float(v) for v in np.asarray(res.loss_history[: steps + 1])],
            "grad_norm_history": [float(v) for v in
                                  np.asarray(res.grad_norm_history[: steps + 1])],
            "rows": _history_rows(res, args.every or _auto_every(steps)),
        }
    return report


def _print_fit(report: dict) -> None:
    print(f"data: {report['data']} ({report['n']} x {report['d']}, {report['classes']} classes"
          f"{', standardised' if report['standardised'] else ''}); train {report['train']} / "
          f"test {report['test']}; {report['model']} model; l2 = {report['l2']:g}; "
          f"{report['dtype']}")
    for r in report["solvers"].values():
        print(f"\n{r['label']}")
        print(f"{'step':>7}  {'loss':>22}  {'grad norm':>10}  {'step size':>10}")
        for i, loss, gn, ss in r["rows"]:
            ss_txt = "" if ss != ss else f"{ss:.3e}"  # NaN before the first step
            print(f"{i:>7d}  {loss:>22.15g}  {gn:>10.3e}  {ss_txt:>10}")
        print(f"status: {r['message']}")
        print(f"steps {r['steps']}, loss {r['loss']:.15g}, grad norm {r['grad_norm']:.3e}, "
              f"train accuracy {r['train_accuracy']:.4f}, test accuracy "
              f"{r['test_accuracy']:.4f}")


def _plot(report: dict, path: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot: needs matplotlib; install it with "
                         "pip install -e '.[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    solvers = report["solvers"]
    best = min(min(r["loss_history"]) for r in solvers.values())
    fig, axes = plt.subplots(1, len(solvers), figsize=(5.5 * len(solvers), 4), squeeze=False)
    for ax, (name, r) in zip(axes[0], solvers.items(), strict=True):
        import numpy as np

        steps = np.arange(len(r["loss_history"]))
        gap = np.asarray(r["loss_history"]) - best
        keep = gap > 0  # the best iterate itself has gap 0: nothing to draw on a log axis
        ax.semilogy(steps[keep], gap[keep], label="loss - best loss")
        ax.semilogy(steps, r["grad_norm_history"], "--", label="gradient norm")
        ax.set_title(f"{'gradient descent' if name == 'gd' else 'Newton'}: {r['status']}, "
                     f"{r['steps']} steps")
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"{report['data']}: {report['model']} regression, l2 = {report['l2']:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cmd_fit(args: argparse.Namespace) -> int:
    report = _run_fits(args)
    if args.plot:
        _plot(report, args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_fit(report)
        if args.plot:
            print(f"\nplot written to {args.plot}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    print("== jaxdl verify: every closed form against JAX autodiff ==")
    code = _cmd_verify(argparse.Namespace(dtype="both", only=None, seed=0, trials=2,
                                          json=False))
    print("\n== jaxdl fit: bundled breast-cancer data, gradient descent and Newton ==")
    fit_args = build_parser().parse_args(["fit"])
    fit_args.plot = args.plot
    _cmd_fit(fit_args)
    print("\n== without a penalty (l2 = 0), the seed's unregularised problem ==")
    fit_args = build_parser().parse_args(["fit", "--solver", "newton", "--l2", "0"])
    report = _run_fits(fit_args)
    r = report["solvers"]["newton"]
    print(f"Newton after {r['steps']} steps: {r['message']}")
    return code


def _add_fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="breast_cancer",
                   help="breast_cancer | digits | PATH.csv (label in the last column)")
    p.add_argument("--solver", choices=("both", "gd", "newton"), default="both")
    p.add_argument("--l2", type=float, default=1.0,
                   help="ridge penalty on the weights (default 1.0; the standardised breast-"
                   "cancer data are separable, so l2 = 0 has no finite minimiser)")
    p.add_argument("--lr-w", type=float, default=None,
                   help="GD rate for w (softmax: the single rate); default 1/L, L the "
                   "Hessian bound")
    p.add_argument("--lr-b", type=float, default=None, help="GD rate for b (default lr-w)")
    p.add_argument("--gd-steps", type=int, default=20000)
    p.add_argument("--gtol", type=float, default=None,
                   help="stop when the per-sample mean gradient's max-norm is below this "
                   "(default 1e-9 in float64, 1e-5 in float32)")
    p.add_argument("--newton-steps", type=int, default=50)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--test-fraction", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    p.add_argument("--no-standardize", action="store_true")
    p.add_argument("--every", type=int, default=0, help="print every N-th step (default: ~20 "
                   "rows)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="loss and gradient norm against step, GD and Newton side by side")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxdl",
        description="Verified closed forms and jit-compiled training loops for the classic "
        "derivations of deep learning.",
    )
    sub = parser.add_subparsers(dest="command")

    v = sub.add_parser("verify", help="check every closed form against JAX autodiff")
    v.add_argument("--json", action="store_true", help="print JSON instead of a table")
    v.add_argument("--dtype", choices=("both", "float64", "float32"), default="both")
    v.add_argument("--trials", type=int, default=3, help="random inputs per identity")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--only", nargs="*", metavar="NAME", help="run only these identities")
    v.set_defaults(func=_cmd_verify)

    f = sub.add_parser("fit", help="fit logistic (binary) or softmax regression by GD and "
                       "Newton and print the convergence")
    _add_fit_arguments(f)
    f.set_defaults(func=_cmd_fit)

    d = sub.add_parser("demo", help="verify, then fit the bundled breast-cancer data")
    d.add_argument("--plot", metavar="FILE.png", default=None)
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    _configure_jax()
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"jaxdl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
