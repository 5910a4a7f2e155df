#!/usr/bin/env python
"""The batchnorm-n sweep from a script: in mean-only batch norm (Q2c) max|J - I| = 1/n tends
to 0, but the gradient gap stays |gamma mean(g)|.

    python scripts/sweep_batchnorm_n.py --max-n 4096 --g-mean 0.5
"""

import argparse

import jax

jax.config.update("jax_enable_x64", True)

from jaxdl import enable_compilation_cache, sweep  # noqa: E402

enable_compilation_cache()  # a rerun loads its programs from disk (JAXDL_NO_CACHE=1: off)

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--max-n", type=int, default=1024, help="largest batch size (powers of 2)")
p.add_argument("--g-mean", type=float, default=1.0, help="mean of the upstream gradients")
args = p.parse_args()

ns = [2 ** k for k in range(1, args.max_n.bit_length())]
table = sweep.run("batchnorm-n", {"n": ns, "g_mean": [args.g_mean]}, progress=False)
for r in table.rows:
    print(f"n={r['n']:5d}  max|J-I|={r['jacobian_gap']:.2e} (1/n={r['one_over_n']:.2e})  "
          f"gradient gap={r['gradient_gap']:.4f}  |gamma mean(g)|={r['gamma_mean_g']:.4f}")
