#!/usr/bin/env python
"""Regenerate the documentation's sweep plots: every built-in sweep at its default size through the
command line (``jaxdl sweep NAME --out docs/sweeps``), keeping the PNGs and a table of the
run times (docs/sweeps/times.md). The CSV and JSON rows are written beside them.

    python scripts/make_sweep_plots.py [--out docs/sweeps] [--only gd-rates ...]
"""

import argparse
import os
import time

from jaxdl import cli, sweep

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", default=os.path.join("docs", "sweeps"), help="output folder")
p.add_argument("--only", nargs="+", default=None, help="sweeps to run (default all)")
args = p.parse_args()

os.environ.setdefault("JAXDL_NO_CACHE", "1")  # time what a first run costs
lines = ["| sweep | configurations | wall time (s), compile included |", "|---|---|---|"]
for name in args.only or sweep.names():
    t0 = time.perf_counter()
    code = cli.main(["sweep", name, "--out", args.out, "--no-progress"])
    if code != 0:
        raise SystemExit(f"jaxdl sweep {name} exited with {code}")
    with open(os.path.join(args.out, f"{name}.csv")) as f:
        rows = sum(1 for _ in f) - 1
    lines.append(f"| {name} | {rows} | {time.perf_counter() - t0:.1f} |")
with open(os.path.join(args.out, "times.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
