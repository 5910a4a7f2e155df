#!/usr/bin/env python
"""The l2-path sweep from a script: logistic coefficients on breast cancer against l2, with
bootstrap 95% bands (one fit_newton_many batch of resamples per l2).

    python scripts/sweep_l2_path.py --resamples 64 --feature 7
"""

import argparse

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from jaxdl import enable_compilation_cache, sweep  # noqa: E402

enable_compilation_cache()  # a rerun loads its programs from disk (JAXDL_NO_CACHE=1: off)

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--resamples", type=int, default=64, help="bootstrap resamples per l2")
p.add_argument("--feature", type=int, default=0, help="coefficient to print (0..29)")
args = p.parse_args()

table = sweep.run("l2-path", {"l2": np.geomspace(1e-2, 1e3, 6),
                              "num_resamples": [args.resamples]}, progress=False)
j = args.feature
for r in table.rows:
    print(f"l2={r['l2']:9.3g}  w_{j}={r[f'theta_{j}']:+.4f}  95% band "
          f"[{r[f'lo_{j}']:+.4f}, {r[f'hi_{j}']:+.4f}]  ({r['num_ok']} resamples converged)")
