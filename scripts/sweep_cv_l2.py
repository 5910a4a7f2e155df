#!/usr/bin/env python
"""The cv-l2 sweep from a script: 5-fold cross-validation of logistic regression (Q1) on
breast cancer over a grid of l2, each row every fold's held-out score with their mean and
standard error; the plot marks the best penalty and the one-standard-error choice.

    python scripts/sweep_cv_l2.py --points 13 --scoring log_loss --seed 0 --out runs/
"""

import argparse

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from jaxdl import enable_compilation_cache, sweep  # noqa: E402

enable_compilation_cache()  # a rerun loads its programs from disk (JAXDL_NO_CACHE=1: off)

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--points", type=int, default=13, help="penalties, log-spaced 1e-3..1e3")
p.add_argument("--scoring", choices=("log_loss", "accuracy"), default="log_loss",
               help="the held-out score")
p.add_argument("--seed", type=int, default=0, help="seed of the folds' stratified shuffle")
p.add_argument("--out", default="sweep-out", help="folder for cv-l2.csv/.json/.png")
args = p.parse_args()

table = sweep.run("cv-l2", {"l2": np.geomspace(1e-3, 1e3, args.points),
                            "scoring": [args.scoring], "seed": [args.seed]}, out=args.out,
                  progress=False)
for r in table.rows:
    print(f"l2={r['l2']:9.3g}  {args.scoring} {r['mean']:.4f} +- {r['se']:.4f}  "
          f"({r['folds_converged']} folds converged, {r['status']})")
sweep.plot(table, f"{args.out}/cv-l2.png")
print(f"wrote {args.out}/cv-l2.png (the best penalty and the one-standard-error choice marked)")
