#!/usr/bin/env python
"""Regenerate the documentation's sweep plots: every built-in sweep at its default size through the
command line (``jaxdl sweep NAME --out docs/sweeps``), keeping the PNGs and a table of the
run times (docs/sweeps/times.md; with --only, the other sweeps' rows are kept). The CSV and
JSON rows are written beside them.

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
times = os.path.join(args.out, "times.md")
head = ["| sweep | configurations | wall time (s), compile included |", "|---|---|---|"]
kept = {}  # the rows of the sweeps not run now, by name
if args.only and os.path.exists(times):
    with open(times) as f:
        for line in f.read().splitlines()[len(head):]:
            kept[line.split("|")[1].strip()] = line
rows = {}
for name in args.only or sweep.names():
    t0 = time.perf_counter()
    code = cli.main(["sweep", name, "--out", args.out, "--no-progress"])
    if code != 0:
        raise SystemExit(f"jaxdl sweep {name} exited with {code}")
    with open(os.path.join(args.out, f"{name}.csv")) as f:
        n = sum(1 for _ in f) - 1
    rows[name] = f"| {name} | {n} | {time.perf_counter() - t0:.1f} |"
lines = head + [rows.get(name) or kept[name] for name in sweep.names()
                if name in rows or name in kept]
with open(times, "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
