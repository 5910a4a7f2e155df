"""``jaxdl demo`` (the default command): verify every identity, then fit the bundled
breast-cancer data by gradient descent and Newton."""

from __future__ import annotations

import argparse

from jaxdl.cli import fit, verify
from jaxdl.cli.options import check_plot


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="verify, then fit the bundled breast-cancer data",
                       description="Verify every identity, then fit the bundled breast-cancer "
                       "data by gradient descent and Newton.")
    d.add_argument("--plot", metavar="FILE.png", default=None,
                   help="also write the fit's convergence plot (needs matplotlib)")
    d.set_defaults(func=run)


def _fit_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jaxdl fit")
    fit.add_arguments(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    if args.plot:
        check_plot(args.plot)
    print("== jaxdl verify: every closed form against JAX autodiff ==", flush=True)
    code = verify.run(argparse.Namespace(dtype="both", only=None, seed=0, trials=2, json=False))
    print("\n== jaxdl fit: bundled breast-cancer data, gradient descent and Newton ==",
          flush=True)
    fit_args = _fit_args([])
    fit_args.plot = args.plot
    code = max(code, fit.run(fit_args))
    print("\n== without a penalty (l2 = 0), the seed's unregularised problem ==", flush=True)
    r = fit.run_fits(_fit_args(["--solver", "newton", "--l2", "0"]))["solvers"]["newton"]
    print(f"Newton after {r['steps']} steps: {r['message']}")
    print("(expected here, not counted as a failure: the standardised breast-cancer data are "
          "separable)")
    return code
