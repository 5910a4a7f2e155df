"""One fit over several processes (hosts) with ``jax.distributed``: each process holds its rows.

Run the same command on every process, changing only ``--process-id``::

    python scripts/multihost_fit.py --coordinator 10.0.0.1:1234 --num-processes 2 \\
        --process-id 0 --data breast_cancer --solver newton --l2 1.0 --json fit.json

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


def _coordinator(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (port 1-65535), got {text!r}")
    return text


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coordinator", required=True, type=_coordinator,
                   help="HOST:PORT of process 0's coordinator service")
    p.add_argument("--num-processes", required=True, type=_nonneg_int)
    p.add_argument("--process-id", required=True, type=_nonneg_int)
    p.add_argument("--data", default="breast_cancer", help="a bundled name or a CSV path")
    p.add_argument("--solver", choices=SOLVERS, default="newton")
    p.add_argument("--l2", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--json", dest="json_path", default=None, help="write the result here")
    p.add_argument("--timeout", type=int, default=60,
                   help="seconds to wait for all processes to reach the coordinator")
    p.add_argument("--x64", action="store_true", help="fit in float64")
    args = p.parse_args(argv)
    if args.num_processes < 1:
        p.error(f"--num-processes: expected at least 1, got {args.num_processes}")
    if args.process_id >= args.num_processes:
        p.error(f"--process-id: expected 0..{args.num_processes - 1} (below --num-processes), "
                f"got {args.process_id}")
    if not args.l2 >= 0:
        p.error(f"--l2: expected a non-negative number, got {args.l2}")
    if args.timeout < 1:
        p.error(f"--timeout: expected at least 1 second, got {args.timeout}")
    from jaxdl import data

    try:
        args.dataset = data.load(args.data)
    except (ValueError, OSError) as e:
        p.error(f"--data: {e}")
    return args


def fit(args: argparse.Namespace, X, y, process_id: int, num_processes: int) -> dict:
    """The fit of this process's slice of ``X, y`` (host arrays, every row), as a dict."""
    import jax
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec

    from jaxdl import data, logistic, sharding, softmax

    X = np.asarray(data.standardize(X)[0])
    k = int(np.max(y)) + 1
    part = np.array_split(np.arange(X.shape[0]), num_processes)[process_id]
    mesh = sharding.row_mesh()
    rows = sharding.shard_rows(mesh, X[part], y[part], local=num_processes > 1)
    kw = dict(l2=args.l2, max_steps=args.max_steps)
    if args.solver == "gd":
        kw["lr"] = 0.5
    if k <= 2:
        run = getattr(logistic, f"fit_{args.solver}")
    else:
        run = getattr(softmax, f"fit_{args.solver}")
        kw["num_classes"] = k
    replicated = NamedSharding(mesh, PartitionSpec())
    res = jax.jit(lambda X, y, sw: run(X, y, sample_weight=sw, **kw),
                  out_shardings=replicated)(rows.X, rows.y, rows.sample_weight)
    params = [np.asarray(p).tolist() for p in res.params]
    return {"model": "logistic" if k <= 2 else "softmax", "solver": args.solver,
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

    if args.x64:
        jax.config.update("jax_enable_x64", True)
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
