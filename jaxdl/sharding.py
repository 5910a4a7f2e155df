"""Scaling out: place host data on a device mesh's sample axis, with JAX's own sharding.

The fits and :func:`jaxdl.logistic.inference` / :func:`jaxdl.softmax.inference` take row-sharded
arrays as they are: every product over ``X`` is laid out so that each device reduces its own
rows and XLA's partitioner never gathers ``X`` (eagerly, and inside a user's ``jit``). The rows
must divide evenly over the shards, so :func:`shard_rows` pads ``N`` up to a multiple of the
shard count with rows of weight zero. Weights are frequency weights everywhere in jaxdl (the
loss and the stopping rule are normalised by ``sum(sw)``, inference counts ``nobs = sum(sw)``),
so a zero-weight row is absent and the padded answers equal the unpadded ones.

Many hosts: :func:`shard_rows` with ``local=True`` takes each process's own rows and builds the
global arrays with ``jax.make_array_from_process_local_data`` (``scripts/multihost_fit.py``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["ShardedRows", "padded_rows", "row_mesh", "shard_rows"]


class ShardedRows(NamedTuple):
    """Row-sharded ``X (N_pad, d)``, ``y (N_pad, ...)``, ``sample_weight (N_pad,)`` and the
    number of real rows ``n`` (the padded rows, after them, have weight 0)."""

    X: jax.Array
    y: jax.Array
    sample_weight: jax.Array
    n: int


def row_mesh(devices: Any = None, *, axis: str = "rows") -> Mesh:
    """A one-axis mesh named ``axis`` over ``devices`` (default: every device, all processes).

    Example:
      >>> from jaxdl import sharding
      >>> sharding.row_mesh().axis_names
      ('rows',)
    """
    devs = jax.devices() if devices is None else list(devices)
    if not devs:
        raise ValueError("devices: expected at least one device, got none")
    return Mesh(np.array(devs), (axis,))


def _as_mesh(mesh: Any, axis: str) -> Mesh:
    if mesh is None or not isinstance(mesh, Mesh):
        return row_mesh(mesh, axis=axis)
    if axis not in mesh.axis_names:
        raise ValueError(f"axis: expected one of the mesh's axes {tuple(mesh.axis_names)}, got "
                         f"{axis!r}")
    return mesh


def _host(name: str, a: Any, rows: int | None) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"{name}: expected an array with one row per sample, got a scalar")
    if rows is not None and a.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows (the rows of X), got {a.shape[0]}")
    return a


def _pad(a: np.ndarray, rows: int) -> np.ndarray:
    extra = rows - a.shape[0]
    return a if extra == 0 else np.concatenate([a, np.zeros((extra,) + a.shape[1:], a.dtype)])


def shard_rows(mesh: Any, X: Any, y: Any, sample_weight: Any = None, *, axis: str = "rows",
               local: bool = False) -> ShardedRows:
    """Place host ``X``, ``y`` and weights on ``mesh``'s ``axis``, rows padded with weight 0.

    ``N`` is padded up to a multiple of the mesh's size along ``axis`` (:func:`padded_rows`)
    with zero rows of weight 0 (``y`` padded with label 0), so every shard holds the same
    number of rows. ``X`` is sharded ``P(axis, None)``, ``y`` and the weights ``P(axis)``;
    the other mesh axes replicate them. Pass the returned ``sample_weight`` to the fit: the
    answers then equal the unpadded fit's.

    Args:
      mesh: a :class:`jax.sharding.Mesh` with an axis named ``axis``, a sequence of devices
        (a one-axis mesh over them) or None (every device).
      X: host features ``(N, d)`` (NumPy or anything ``np.asarray`` takes).
      y: host labels ``(N,)`` (or ``(N, k)``), one per row of ``X``.
      sample_weight: host weights ``(N,)`` (default ones).
      axis: the mesh axis that holds the samples.
      local: the arrays are this process's own rows (several processes, each calling with
        its slice, in process order); the global arrays are built with
        ``jax.make_array_from_process_local_data``. Every process must pad to the same
        number of local rows: all processes' slices must have equal length up to the padding
        (``N_local`` padded to a multiple of its local shard count, the largest over
        processes). Single process: the same as ``local=False``.

    Returns:
      :class:`ShardedRows` ``(X, y, sample_weight, n)``, ``n`` the real (global) rows.

    Example:
      >>> import numpy as np
      >>> from jaxdl import logistic, sharding
      >>> X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
      >>> y = (X[:, 0] > 0).astype(np.float32)
      >>> rows = sharding.shard_rows(None, X, y)
      >>> rows.n, rows.X.shape[0] % len(rows.X.sharding.device_set)
      (10, 0)
      >>> res = logistic.fit_newton(rows.X, rows.y, l2=1.0, sample_weight=rows.sample_weight)
      >>> int(res.status)
      0
    """
    mesh = _as_mesh(mesh, axis)
    Xh = _host("X", X, None)
    if Xh.ndim != 2:
        raise ValueError(f"X: expected a 2-d array (N, d), got shape {Xh.shape}")
    n = Xh.shape[0]
    yh = _host("y", y, n)
    sw = (np.ones((n,), Xh.dtype if np.issubdtype(Xh.dtype, np.floating) else np.float64)
          if sample_weight is None else _host("sample_weight", sample_weight, n))
    if sw.ndim != 1:
        raise ValueError(f"sample_weight: expected shape ({n},), got {sw.shape}")
    shards = mesh.shape[axis]
    row = NamedSharding(mesh, PartitionSpec(axis, None))
    vec = NamedSharding(mesh, PartitionSpec(axis) if yh.ndim == 1 else PartitionSpec(axis, None))
    wvec = NamedSharding(mesh, PartitionSpec(axis))
    if local and jax.process_count() > 1:
        procs = jax.process_count()
        if shards % procs:
            raise ValueError(f"mesh: expected the {axis!r} axis to split evenly over the {procs} "
                             f"processes, got {shards} shards")
        local_shards = shards // procs
        counts = _all_local_counts(n)
        rows = padded_rows(max(counts), local_shards)
        total = int(sum(counts))
        parts = [_pad(a, rows) for a in (Xh, yh, sw)]
        glob = rows * jax.process_count()
        made = [jax.make_array_from_process_local_data(s, p, (glob,) + p.shape[1:])
                for s, p in zip((row, vec, wvec), parts, strict=True)]
        return ShardedRows(*made, total)
    rows = padded_rows(n, shards)
    Xp, yp, swp = (_pad(a, rows) for a in (Xh, yh, sw))
    return ShardedRows(jax.device_put(Xp, row), jax.device_put(yp, vec),
                       jax.device_put(swp, wvec), n)


def padded_rows(n: int, shards: int) -> int:
    """The rows ``n`` is padded to for ``shards`` shards: a multiple of ``shards * nb``, ``nb``
    the power of two at or above ``n / GRAM_BLOCK``, so that the row blocks of the Hessian
    (:func:`jaxdl._gram.weighted_gram`) interleave over the shards with no gather of ``X``
    (``n / shards`` prime would leave no such blocks). The padding is under ``shards * nb``
    rows, about ``2 shards / GRAM_BLOCK`` of ``n``.

    Example:
      >>> from jaxdl import sharding
      >>> sharding.padded_rows(1001, 3), sharding.padded_rows(9001, 3)
      (1002, 9012)
    """
    from jaxdl import _gram

    nb = 1 << max(0, math.ceil(math.log2(max(1.0, n / _gram.GRAM_BLOCK))))
    step = shards * nb
    return -(-n // step) * step


def _all_local_counts(n: int) -> list[int]:
    """Every process's number of local rows (a tiny all-gather of one integer each)."""
    from jax.experimental import multihost_utils

    got = multihost_utils.process_allgather(np.array([n], np.int64))
    return [int(c) for c in np.asarray(got).reshape(-1)]
