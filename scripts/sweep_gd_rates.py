#!/usr/bin/env python
"""The gd-rates sweep from a script: the seed's gradient descent (Q1) on breast cancer over a
grid of (lr_w, lr_b), one compiled program, rows in OUT/gd-rates.csv as chunks finish.

    python scripts/sweep_gd_rates.py --rates 8 --steps 2000 --l2 1 --out runs/
"""

import argparse

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from jaxdl import enable_compilation_cache, sweep  # noqa: E402

enable_compilation_cache()  # a rerun loads its programs from disk (JAXDL_NO_CACHE=1: off)

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--rates", type=int, default=8, help="rates per axis, log-spaced 1e-4..0.3")
p.add_argument("--steps", type=int, default=2000, help="step budget of each fit")
p.add_argument("--l2", type=float, default=1.0, help="ridge penalty on w")
p.add_argument("--out", default="sweep-out", help="folder for gd-rates.csv/.json/.png")
args = p.parse_args()

rates = np.geomspace(1e-4, 0.3, args.rates)
table = sweep.run("gd-rates", {"lr_w": rates, "lr_b": rates, "l2": [args.l2],
                               "max_steps": [args.steps]}, out=args.out)
ok = table["status"] == "converged"
if ok.any():
    best = np.flatnonzero(ok)[np.argmin(table["steps"][ok])]
    r = table.rows[best]
    print(f"fastest converged: lr_w={r['lr_w']:.3g} lr_b={r['lr_b']:.3g} in {r['steps']} steps")
print(f"{int(ok.sum())} of {len(table)} configurations converged")
sweep.plot(table, f"{args.out}/gd-rates.png")
