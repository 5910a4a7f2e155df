"""``jaxdl sweep``: a built-in sweep over a grid of configurations, in one compiled program."""

from __future__ import annotations

import argparse
import os
import sys

from jaxdl.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    integer,
    library_error,
)


def grid_item(text: str) -> tuple[str, list[str]]:
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=V1,V2,..., got {text!r}")
    vals = [v.strip() for v in values.split(",") if v.strip()]
    if not vals:
        raise argparse.ArgumentTypeError(f"expected at least one value after {key}=, got "
                                         f"{text!r}")
    return key.strip(), vals


def add_parser(sub) -> None:
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
    w.add_argument("--grid", action="append", type=grid_item, metavar="KEY=V1,V2,...",
                   help="values of one parameter (repeat for several); the rest take their "
                   "defaults")
    w.add_argument("--chunk-size", type=integer(1), default=None, metavar="N",
                   help="configurations per compiled chunk (default: from a memory bound)")
    w.add_argument("--resume", action="store_true",
                   help="skip the configurations already in DIR/NAME.csv")
    w.add_argument("--no-progress", action="store_true", help="no progress bar")
    w.set_defaults(func=run)


def _list() -> int:
    import jax.numpy as jnp

    from jaxdl import sweep

    for name in sweep.names():
        s = sweep.get(name)
        print(f"{name}: {s.summary}")
        for p in s.params:
            d = [f"{v:g}" if isinstance(v, float) else str(v) for v in p.defaults(jnp.float64)]
            vals = ",".join(d) if len(d) <= 6 else f"{len(d)} values {d[0]} .. {d[-1]}"
            kind = p.kind + (", static: one compile per value" if p.static else "")
            print(f"    {p.name:<14} {p.help} ({kind}); default {vals}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from jaxdl import sweep

    if args.list:
        return _list()
    if args.name is None:
        raise UsageError("NAME: expected a sweep name (see jaxdl sweep --list)")
    if args.out is None:
        raise UsageError("--out: expected the folder to write NAME.csv, NAME.json, NAME.png")
    if args.name not in sweep.names():
        raise UsageError(f"NAME: expected one of {', '.join(sweep.names())}, got {args.name!r}")
    s = sweep.get(args.name)
    values: dict[str, list[str]] = {}
    for key, vals in args.grid or []:
        if key in values:
            raise UsageError(f"--grid: expected each key once, got {key} twice")
        values[key] = vals
    try:
        cfgs = sweep.grid(s, values)
    except ValueError as err:  # the grid holds only what --grid gave
        raise library_error(err, {"grid": "--grid"}, default="--grid") from None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("sweep: needs matplotlib for NAME.png; install it with pip install "
                         "'jaxdl[plot]' (or pip install matplotlib)") from None
    try:
        table = sweep.run(s, configs=cfgs, chunk_size=args.chunk_size, out=args.out,
                          resume=args.resume, progress=not args.no_progress)
    except ValueError as err:  # about --out or --resume; anything else is not the user's
        raise library_error(err, {"out": "--out", "resume": "--resume",
                                  "chunk_size": "--chunk-size"}) from None
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
        return EXIT_INTERRUPTED
    png = os.path.join(args.out, f"{s.name}.png")
    sweep.plot(table, png)
    print(f"wrote {png}")
    return EXIT_OK
