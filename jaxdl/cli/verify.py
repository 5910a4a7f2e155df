"""``jaxdl verify``: every closed form against JAX autodiff, one row as each identity finishes."""

from __future__ import annotations

import argparse
import json
import sys

from jaxdl.cli.options import EXIT_FAILED, EXIT_OK, UsageError, integer


def add_parser(sub) -> None:
    v = sub.add_parser("verify", help="check every closed form against JAX autodiff",
                       description="Check every closed form against JAX autodiff; rows print "
                       "as identities finish. Exit status 1 if any check fails.")
    v.add_argument("--json", action="store_true", help="print JSON instead of a table")
    v.add_argument("--dtype", choices=("both", "float64", "float32"), default="both",
                   help="precision(s) to check in (default both)")
    v.add_argument("--trials", type=integer(1), default=3,
                   help="random inputs per identity, >= 1 (default 3)")
    v.add_argument("--seed", type=integer(0), default=0,
                   help="seed of the random inputs, >= 0 (default 0)")
    v.add_argument("--only", nargs="+", metavar="NAME",
                   help="run only these identities (names as in the table's first column)")
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdl import verify

    dtypes = verify.DTYPES if args.dtype == "both" else (args.dtype,)
    names = args.only or None
    if names is not None:
        unknown = [n for n in names if n not in verify.REGISTRY]
        if unknown:
            raise UsageError(f"--only: unknown identities {unknown}; expected names from: "
                             + ", ".join(sorted(verify.REGISTRY)))
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
