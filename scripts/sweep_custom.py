#!/usr/bin/env python
"""Write your own sweep: a Sweep is its parameters, a prepare step (the shared data) and a pure
per-configuration function; jaxdl.sweep.run traces, vmaps, chunks and writes the rows.

This one fits L-BFGS on breast cancer over l2 and the memory size (static: it fixes a shape,
so each value compiles once; l2 is traced: any number of values is one program).

    python scripts/sweep_custom.py --l2 0.1 1 10 --memory 3 10 --out runs/
"""

import argparse

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

from jaxdl import data, enable_compilation_cache, logistic, sweep  # noqa: E402

enable_compilation_cache()  # a rerun loads its programs from disk (JAXDL_NO_CACHE=1: off)


def prepare(dtype, static):
    ds = data.load_breast_cancer()
    X, _, _ = data.standardize(jnp.asarray(ds.X, dtype))
    return X, jnp.asarray(ds.y, dtype)


def config(ctx, *, l2, memory):
    X, y = ctx
    res = logistic.fit_lbfgs(X, y, l2=l2, memory=memory)  # a public fit: traced l2 is fine
    return {"loss": res.loss, "grad_norm": res.grad_norm, "steps": res.steps,
            "status": res.status}


LBFGS_MEMORY = sweep.Sweep(
    "lbfgs-memory", "L-BFGS steps against l2 and the number of stored pairs",
    (sweep.Param("l2", (0.1, 1.0, 10.0), "ridge penalty on w"),
     sweep.Param("memory", (3, 10), "stored (s, y) pairs", kind="int", static=True)),
    prepare=prepare, config=config)

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--l2", type=float, nargs="+", default=[0.1, 1.0, 10.0], help="penalties")
    p.add_argument("--memory", type=int, nargs="+", default=[3, 10], help="L-BFGS memories")
    p.add_argument("--out", default=None, help="folder for lbfgs-memory.csv/.json")
    args = p.parse_args()
    table = sweep.run(LBFGS_MEMORY, {"l2": args.l2, "memory": args.memory}, out=args.out,
                      progress=False)
    print(table)
