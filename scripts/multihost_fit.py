"""One fit over several processes (hosts) with ``jax.distributed``: each process holds its rows.

Run the same command on every process, changing only ``--process-id``::

    python scripts/multihost_fit.py --coordinator 10.0.0.1:1234 --num-processes 2 \\
        --process-id 0 --data breast_cancer --solver newton --l2 1.0 --json fit.json

The fit's flags and defaults are those of ``jaxdl fit`` (``--data``, ``--label-column``,
``--no-header``, ``--delimiter``, ``--l2``, ``--gtol``, ``--dtype``, ``--newton-steps``,
``--gd-steps``, ``--lr-w``, ``--lr-b``, ``--no-standardize``): float64 unless ``--dtype
float32``, so one fit gives the same digits from either entry point. ``--lbfgs-steps`` is the
L-BFGS budget (``jaxdl fit`` runs no L-BFGS). No rows are held out: the fit uses every row.

Every process loads the same data (a bundled name or a CSV path), standardises it, and keeps its
own contiguous slice of the rows (``numpy.array_split`` order, padded with zero-weight rows to an
equal count); ``jaxdl.sharding.shard_rows(..., local=True)`` builds the global row-sharded arrays
with ``jax.make_array_from_process_local_data``. The fit runs inside one ``jit`` over the global
mesh (X is never gathered); the parameters come back replicated and process 0 writes the result
(coefficients, loss, steps, status) as JSON. Two classes: logistic regression, else softmax.
On CPU the collectives go over gloo.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

SOLVERS = ("newton", "lbfgs", "gd")
LBFGS_STEPS = 500


def _coordinator(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (port 1-65535), got {text!r}")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of ``jaxdl fit`` that apply here, with its defaults (float64 unless
    ``--dtype float32``; its step budgets and tolerances), plus the process flags."""
    from jaxdl.cli import fit as cli_fit
    from jaxdl.cli.options import delimiter, integer, label_column, number

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coordinator", required=True, type=_coordinator,
                   help="HOST:PORT of process 0's coordinator service")
    p.add_argument("--num-processes", required=True, type=integer(0))
    p.add_argument("--process-id", required=True, type=integer(0))
    p.add_argument("--data", default="breast_cancer", metavar="NAME|PATH.csv",
                   help="a bundled name or a CSV path (as jaxdl fit --data)")
    p.add_argument("--label-column", type=label_column, default=None, metavar="NAME|INDEX",
                   help="CSV only: the label column (as jaxdl fit)")
    p.add_argument("--no-header", action="store_true",
                   help="CSV only: the file has no header row (as jaxdl fit)")
    p.add_argument("--delimiter", type=delimiter, default=None, metavar="CHAR",
                   help="CSV only: the field separator (as jaxdl fit)")
    p.add_argument("--solver", choices=SOLVERS, default="newton",
                   help="newton (default), lbfgs or gd")
    p.add_argument("--l2", type=number(0), default=1.0, help="ridge penalty, >= 0 (default 1.0)")
    p.add_argument("--gtol", type=number(0, low_open=True), default=None,
                   help="stopping tolerance on the mean gradient's max-norm, > 0 (default 1e-9 "
                   "in float64, 1e-5 in float32, as jaxdl fit)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point precision of the fit (default float64, as jaxdl fit)")
    p.add_argument("--newton-steps", type=integer(1), default=cli_fit.NEWTON_STEPS,
                   metavar="N", help=f"Newton step budget (default {cli_fit.NEWTON_STEPS})")
    p.add_argument("--gd-steps", type=integer(1), default=cli_fit.GD_STEPS, metavar="N",
                   help=f"gradient-descent step budget (default {cli_fit.GD_STEPS})")
    p.add_argument("--lbfgs-steps", type=integer(1), default=LBFGS_STEPS, metavar="N",
                   help=f"L-BFGS step budget (default {LBFGS_STEPS})")
    p.add_argument("--lr-w", type=number(0, low_open=True), default=None, metavar="RATE",
                   help="gradient-descent rate for w (default 1/L, as jaxdl fit)")
    p.add_argument("--lr-b", type=number(0, low_open=True), default=None, metavar="RATE",
                   help="gradient-descent rate for b (default: the rate for w)")
    p.add_argument("--no-standardize", action="store_true",
                   help="fit the raw features (default: zero mean, unit variance per column)")
    p.add_argument("--json", dest="json_path", default=None, help="write the result here")
    p.add_argument("--timeout", type=integer(1), default=60,
                   help="seconds to wait for all processes to reach the coordinator")
    args = p.parse_args(argv)
    if args.num_processes < 1:
        p.error(f"--num-processes: expected at least 1, got {args.num_processes}")
    if args.process_id >= args.num_processes:
        p.error(f"--process-id: expected 0..{args.num_processes - 1} (below --num-processes), "
                f"got {args.process_id}")
    if args.gtol is None:
        args.gtol = cli_fit.default_gtol(args.dtype)
    from jaxdl import data

    options = {"label_column": args.label_column, "delimiter": args.delimiter,
               "header": False if args.no_header else None}
    try:
        args.dataset = data.load(args.data, **options)
    except (ValueError, OSError) as e:
        p.error(f"--data: {e}")
    return args


def fit(args: argparse.Namespace, X, y, process_id: int, num_processes: int) -> dict:
    """The fit of this process's slice of ``X, y`` (host arrays, every row), as a dict."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec

    from jaxdl import data, logistic, sharding, softmax

    dtype = jnp.dtype(args.dtype)
    X = jnp.asarray(X, dtype)
    if not args.no_standardize:
        X = data.standardize(X)[0]
    X = np.asarray(X)
    k = int(np.max(y)) + 1
    model = logistic if k <= 2 else softmax
    kw = dict(l2=args.l2, gtol=args.gtol,
              max_steps={"newton": args.newton_steps, "gd": args.gd_steps,
                         "lbfgs": args.lbfgs_steps}[args.solver])
    if args.solver == "gd":  # every process holds every row: the bound of jaxdl fit, on all
        lr_w = model.gd_step_bound(jnp.asarray(X), l2=args.l2) if args.lr_w is None \
            else args.lr_w
        kw.update(lr_w=lr_w, lr_b=lr_w if args.lr_b is None else args.lr_b)
    if k > 2:
        kw["num_classes"] = k
    y = np.asarray(y, dtype) if k <= 2 else np.asarray(y)
    part = np.array_split(np.arange(X.shape[0]), num_processes)[process_id]
    mesh = sharding.row_mesh()
    rows = sharding.shard_rows(mesh, X[part], y[part], local=num_processes > 1)
    run = getattr(model, f"fit_{args.solver}")
    replicated = NamedSharding(mesh, PartitionSpec())
    res = jax.jit(lambda X, y, sw: run(X, y, sample_weight=sw, **kw),
                  out_shardings=replicated)(rows.X, rows.y, rows.sample_weight)
    params = [np.asarray(p).tolist() for p in res.params]
    return {"model": "logistic" if k <= 2 else "softmax", "solver": args.solver,
            "dtype": str(dtype), "l2": args.l2, "gtol": args.gtol,
            "n": rows.n, "n_padded": int(rows.X.shape[0]), "devices": len(jax.devices()),
            "processes": num_processes, "params": params, "loss": float(res.loss),
            "steps": int(res.steps), "status": int(res.status)}


def wait_for_coordinator(address: str, timeout: float) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds.

    XLA's coordination client aborts the whole process (SIGABRT, no Python exception) when its
    connect deadline passes, so the processes other than 0 check the coordinator first and
    fail with a message instead.
    """
    import socket
    import time

    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def _join_error(args: argparse.Namespace, why: str) -> int:
    print(f"multihost_fit.py: error: --coordinator: could not join {args.coordinator} with "
          f"{args.num_processes} processes within --timeout {args.timeout} s ({why})",
          file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)  # as jaxdl fit: --dtype picks the arrays' dtype
    if args.num_processes > 1:
        if not os.environ.get("JAX_PLATFORMS") or "cpu" in os.environ["JAX_PLATFORMS"]:
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
        if args.process_id and not wait_for_coordinator(args.coordinator, args.timeout):
            return _join_error(args, "nothing answers there")
        try:
            jax.distributed.initialize(args.coordinator, num_processes=args.num_processes,
                                       process_id=args.process_id,
                                       initialization_timeout=args.timeout)
        except Exception as e:  # noqa: BLE001 - XLA raises a bare runtime error
            return _join_error(args, f"{type(e).__name__}: {str(e).splitlines()[0]}")
    out = fit(args, args.dataset.X, args.dataset.y, args.process_id, args.num_processes)
    if args.process_id == 0:
        text = json.dumps(out)
        if args.json_path:
            with open(args.json_path, "w") as f:
                f.write(text + "\n")
        else:
            print(text)
    if args.num_processes > 1:
        jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
