#!/usr/bin/env python
"""The newton-starts sweep from a script: Newton's method (Q6) on four root problems from many
starting points; prints the observed order (2 at a simple root, 1 at the double root).

    python scripts/sweep_newton_starts.py --x0 0.5 2 8
"""

import argparse

import jax

jax.config.update("jax_enable_x64", True)

from jaxdl import enable_compilation_cache, sweep  # noqa: E402

enable_compilation_cache()  # a rerun loads its programs from disk (JAXDL_NO_CACHE=1: off)

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--x0", type=float, nargs="+", default=[0.5, 2.0, 8.0], help="starting points")
p.add_argument("--problem", nargs="+", default=None,
               help="problems among sqrt2, cos, cubic, double (default all)")
args = p.parse_args()

grid = {"x0": args.x0} | ({"problem": args.problem} if args.problem else {})
table = sweep.run("newton-starts", grid, progress=False)
print(f"{'problem':>8} {'x0':>6} {'steps':>5} {'order':>6} {'ratio/limit':>11} status")
for r in table.rows:
    print(f"{r['problem']:>8} {r['x0']:6.2f} {r['steps']:5d} {r['order']:6.3f} "
          f"{r['ratio'] / r['limit']:11.4f} {r['status']}")
