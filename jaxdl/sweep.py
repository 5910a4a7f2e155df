"""Sweeps: one fit or diagnostic over many configurations, in one compiled program.

A sweep is data (:class:`Sweep`): its parameters with their defaults, a ``prepare`` step that
loads what every configuration shares (the data), and a pure per-configuration function. The
runner :func:`run` traces the varying parameters, so any number of values is one compilation;
vmaps the configurations in chunks whose size comes from a memory bound; shards the
configuration axis over the devices it is given; shows a progress bar; and appends each
finished chunk's rows to ``OUT/NAME.csv`` (and rewrites ``OUT/NAME.json``) so an interruption
loses only the running chunk, and ``resume=True`` skips the configurations already written.

A configuration that fails keeps its row, with its status (``invalid_input`` for a negative
rate, ``max_steps``, ``nonfinite`` ...): a failed fit is data, not an exception.

Parameters marked ``static`` change shapes or loop bounds (a batch size, a step budget): each
distinct value compiles once; every other parameter is traced.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxdl import sweep
  >>> def config(ctx, *, scale):
  ...     return {"value": jnp.sum(ctx * scale), "status": jnp.int32(8)}
  >>> s = sweep.Sweep("scaled-sum", "sum of a scaled vector",
  ...                 (sweep.Param("scale", (1.0, 2.0), "the factor"),),
  ...                 prepare=lambda dtype, static: jnp.arange(3, dtype=dtype), config=config)
  >>> table = sweep.run(s, {"scale": [1.0, 2.0, 3.0]}, progress=False)
  >>> [float(v) for v in table["value"]], table.rows[0]["status"]
  ([3.0, 6.0, 9.0], 'completed')

See the [sweeps guide][sweeps] for the built-in sweeps and their plots.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxdl import (
    _sweeps,  # noqa: F401  (registers the built-in sweeps)
    results,
)
from jaxdl._sweep_spec import AXIS as AXIS
from jaxdl._sweep_spec import REGISTRY
from jaxdl._sweep_spec import Param as Param
from jaxdl._sweep_spec import Sweep as Sweep
from jaxdl._sweep_spec import register as register

__all__ = ["AXIS", "DEFAULT_MAX_MEMORY", "Param", "Sweep", "Table", "chunk_memory", "get", "grid",
           "names", "plot", "register", "run"]

DEFAULT_MAX_MEMORY = 1 << 30  # bytes per chunk where the device reports no limit (CPU)
_PROBE_CONFIGS = 256  # configurations per device in the chunk probed for its memory


def names() -> list[str]:
    """The registered sweeps' names."""
    return list(REGISTRY)


def get(name: str) -> Sweep:
    """The registered sweep ``name`` (a ValueError listing the names otherwise)."""
    known = names()
    if name not in REGISTRY:
        raise ValueError(f"name: expected one of {', '.join(known)}, got {name!r}")
    return REGISTRY[name]


# ---------------------------------------------------------------------------
# The table of rows
# ---------------------------------------------------------------------------


class Table:
    """The rows of a sweep, one per configuration, in the order of the configurations.

    ``table[column]`` is a NumPy array of that column; ``len(table)`` the number of rows;
    ``table.rows`` a list of dicts. ``interrupted`` is True when Ctrl-C stopped the run (the
    finished rows are kept); ``meta`` holds the sweep name, devices, chunk size, timings.
    """

    def __init__(self, columns: Sequence[str], rows: list[dict], meta: dict | None = None,
                 *, interrupted: bool = False):
        self.columns = list(columns)
        self.rows = rows
        self.meta = dict(meta or {})
        self.interrupted = interrupted

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self.columns:
            raise KeyError(f"column: expected one of {', '.join(self.columns)}, got {column!r}")
        return np.asarray([r[column] for r in self.rows])

    def to_pandas(self):
        """A pandas DataFrame of the rows (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)

    def __repr__(self) -> str:
        head = self.columns[:8]
        lines = [" ".join(f"{c:>12.12}" for c in head)]
        for r in self.rows[:10]:
            lines.append(" ".join(f"{_cell(r[c]):>12.12}" for c in head))
        more = f"\n... {len(self.rows) - 10} more rows" if len(self.rows) > 10 else ""
        return (f"Table({self.meta.get('sweep', '')!r}, {len(self.rows)} rows, "
                f"{len(self.columns)} columns)\n" + "\n".join(lines) + more)


def _cell(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------


def grid(s: Sweep, values: Mapping[str, Iterable[Any]] | None = None, *,
         dtype: Any = None) -> list[dict]:
    """The Cartesian product of the values (a parameter not given takes its defaults).

    Raises a ValueError naming ``grid`` for an unknown key, an empty list or a bad value.
    """
    dtype = _dtype(dtype)
    values = dict(values or {})
    known = [p.name for p in s.params]
    for key in values:
        if key not in known:
            raise ValueError(f"grid: expected keys among {', '.join(known)} for sweep "
                             f"{s.name!r}, got {key!r}")
    axes = []
    for p in s.params:
        vals = values.get(p.name)
        vals = p.defaults(dtype) if vals is None else (
            [vals] if isinstance(vals, (str, int, float)) else list(vals))
        if not vals:
            raise ValueError(f"grid: expected at least one value for {p.name}, got none")
        axes.append([p.parse(v, where=f"grid {p.name}") for v in vals])
    return [dict(zip(known, combo, strict=True)) for combo in itertools.product(*axes)]


def _dtype(dtype: Any) -> Any:
    if dtype is None:
        return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))
    dtype = jnp.dtype(dtype)
    if dtype not in (jnp.float32, jnp.float64):
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    return dtype


def _key(s: Sweep, cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """A configuration's identity as text: floats by ``repr`` (exact round trip)."""
    return tuple(repr(float(cfg[p.name])) if p.kind == "float" else str(cfg[p.name])
                 for p in s.params)


# ---------------------------------------------------------------------------
# The compiled chunk
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _chunk_fn(s: Sweep, static: tuple) -> Callable:
    """``jit(vmap(config))`` for one set of static values (shared across runs)."""
    static_kw = dict(static)

    def one(ctx, traced):
        return dict(s.config(ctx, **static_kw, **traced))

    return jax.jit(jax.vmap(one, in_axes=(None, 0), axis_name=AXIS))


# Compiled chunks by (sweep, static values, input shapes, devices); keyed by the Sweep object
# itself (identity), which the key keeps alive, so a new sweep never meets an old program.
_COMPILED: dict[tuple, Any] = {}


def plot(table: Table, path: str) -> None:
    """Write the figure of a built-in sweep's table to ``path`` (a PNG; needs matplotlib,
    ``pip install "jaxdl[plot]"``): the plots of the sweeps page of the documentation.

    Args:
      table: a :class:`Table` returned by :func:`run` for a built-in sweep.
      path: the file to write.
    """
    name = table.meta.get("sweep") if isinstance(table, Table) else None
    if name not in names():
        raise ValueError(f"table: expected the Table of a built-in sweep {names()}, got "
                         f"{type(table).__name__} of sweep {name!r}")
    from jaxdl import _sweep_plots

    _sweep_plots.plot(table, path)


def clear_compiled() -> None:
    """Forget every compiled sweep program: the next sweep call compiles again (the
    benchmark times one chunk's compilation this way)."""
    _COMPILED.clear()
    _chunk_fn.cache_clear()


def _compiled(s: Sweep, static: tuple, ctx: Any, traced: dict, mesh: Mesh | None):
    fn = _chunk_fn(s, static)
    shapes = jax.tree.map(lambda a: (a.shape, str(a.dtype)), (ctx, traced))
    key = (s, static, str(jax.tree.structure((ctx, traced))), str(shapes),
           None if mesh is None else tuple(d.id for d in mesh.devices.flat))
    hit = _COMPILED.get(key)
    if hit is None:
        hit = _COMPILED[key] = fn.lower(ctx, traced).compile()
    return hit


def _memory(compiled: Any) -> int | None:
    try:
        m = compiled.memory_analysis()
    except Exception:  # noqa: BLE001  (a backend without the analysis)
        return None
    if m is None:
        return None
    return int(m.temp_size_in_bytes + m.output_size_in_bytes + m.argument_size_in_bytes)


def _default_max_memory(devices: Sequence[Any]) -> int:
    try:
        stats = devices[0].memory_stats() or {}
    except Exception:  # noqa: BLE001
        stats = {}
    limit = stats.get("bytes_limit")
    return int(limit // 4) if limit else DEFAULT_MAX_MEMORY


def chunk_memory(s: Sweep, chunk_size: int, *, static: Mapping[str, Any] | None = None,
                 dtype: Any = None) -> int | None:
    """Bytes XLA reports for one compiled chunk of ``chunk_size`` configurations (arguments,
    outputs and temporaries; None where the backend gives no analysis)."""
    dtype = _dtype(dtype)
    cfg = grid(s, {k: [v] for k, v in (static or {}).items()}, dtype=dtype)[0]
    st = tuple((p.name, cfg[p.name]) for p in s.params if p.static)
    ctx = s.prepare(dtype, dict(st))
    traced = _traced_arrays(s, [cfg] * chunk_size, dtype)
    return _memory(_compiled(s, st, ctx, traced, None))


def _traced_arrays(s: Sweep, cfgs: Sequence[dict], dtype: Any) -> dict:
    out = {}
    for p in s.params:
        if p.static:
            continue
        if p.kind == "choice":
            out[p.name] = jnp.asarray([p.choices.index(c[p.name]) for c in cfgs], jnp.int32)
        elif p.kind == "int":
            out[p.name] = jnp.asarray([c[p.name] for c in cfgs], jnp.int32)
        else:
            out[p.name] = jnp.asarray([c[p.name] for c in cfgs], dtype)
    return out


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def _check_out(out: str | os.PathLike[str]) -> str:
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out: expected a folder, got the file {out!r}")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise ValueError(f"out: expected a folder that can be created, got {out!r} "
                         f"({err.strerror})") from None
    if not os.access(out, os.W_OK):
        raise ValueError(f"out: expected a writable folder, got {out!r}")
    return out


def _parse_cell(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _read_done(path: str, columns: list[str]) -> list[dict]:
    """The finished rows of a CSV written by an earlier run; a torn last line is cut off."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    cut = data.rfind(b"\n") + 1
    if cut != len(data):  # a kill during a write: keep whole lines only
        with open(path, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    lines = data.decode().splitlines()
    if not lines:
        return []
    header = next(csv.reader([lines[0]]))
    if header != columns:
        raise ValueError(f"resume: expected {path!r} to have the columns {', '.join(columns)}, "
                         f"got {', '.join(header)}; choose another out folder or leave out "
                         "resume")
    return [dict(zip(columns, map(_parse_cell, row), strict=True))
            for row in csv.reader(lines[1:])]


class _Writer:
    def __init__(self, folder: str, name: str, columns: list[str], meta: dict, *,
                 append: bool):
        self.csv_path = os.path.join(folder, f"{name}.csv")
        self.json_path = os.path.join(folder, f"{name}.json")
        self.columns, self.meta = columns, meta
        fresh = not (append and os.path.exists(self.csv_path)
                     and os.path.getsize(self.csv_path) > 0)
        self.file = open(self.csv_path, "w" if fresh else "a", newline="")  # noqa: SIM115
        self.csv = csv.writer(self.file)
        if fresh:
            self.csv.writerow(columns)
            self._flush()

    def _flush(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def write(self, new_rows: list[dict], all_rows: list[dict]) -> None:
        for r in new_rows:
            self.csv.writerow([_text(r[c]) for c in self.columns])
        self._flush()
        doc = {**self.meta, "columns": self.columns,
               "rows": [{c: _json(r[c]) for c in self.columns} for r in all_rows]}
        tmp = self.json_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, self.json_path)

    def close(self) -> None:
        self.file.close()


def _text(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def _json(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None


# ---------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------


def run(s: Sweep | str, grid_values: Mapping[str, Iterable[Any]] | None = None, *,
        configs: Sequence[Mapping[str, Any]] | None = None, chunk_size: int | None = None,
        max_memory: int | None = None, out: str | os.PathLike[str] | None = None,
        resume: bool = False, progress: bool = True, devices: Sequence[Any] | None = None,
        dtype: Any = None) -> Table:
    """Run sweep ``s`` over a grid (or a list of configurations); one row per configuration.

    Args:
      s: a :class:`Sweep` or a registered name (:func:`names`).
      grid_values: values per parameter; their Cartesian product is run (parameters left out
        take their defaults).
      configs: instead of a grid, explicit configurations (dicts of every parameter).
      chunk_size: configurations per compiled chunk (rounded up to a multiple of the device
        count); default: as many as ``max_memory`` allows, at most 256 per device.
      max_memory: the bytes one chunk may use (default a quarter of the device memory, or
        1 GiB where the device reports none, as on CPU).
      out: a folder: rows are appended to ``out/NAME.csv`` and ``out/NAME.json`` is rewritten
        as each chunk finishes (without ``resume`` a run starts both files afresh).
      resume: skip the configurations already in ``out/NAME.csv`` (needs ``out``).
      progress: a tqdm progress bar over the configurations.
      devices: the devices the configuration axis is sharded over (default all of
        ``jax.devices()``); the shared inputs are replicated.
      dtype: float32 or float64 (default: float64 when x64 is on, else float32).

    Returns:
      A :class:`Table`. Ctrl-C stops after the finished chunks, with ``interrupted=True``.
    """
    if isinstance(s, str):
        s = get(s)
    dtype = _dtype(dtype)
    if configs is not None:
        if grid_values is not None:
            raise ValueError("configs: expected either grid values or configs, got both")
        cfgs = [_check_config(s, c, i) for i, c in enumerate(configs)]
        if not cfgs:
            raise ValueError("configs: expected at least one configuration, got none")
    else:
        cfgs = grid(s, grid_values, dtype=dtype)
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) != chunk_size
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size!r}")
    if max_memory is not None and not (isinstance(max_memory, int) and max_memory > 0):
        raise ValueError(f"max_memory: expected a positive integer (bytes), got {max_memory!r}")
    if resume and out is None:
        raise ValueError("resume: needs out (the folder holding the earlier rows)")
    folder = _check_out(out) if out is not None else None
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices: expected at least one device, got none")
    mesh = Mesh(np.array(devices), ("configs",)) if len(devices) > 1 else None
    max_memory = _default_max_memory(devices) if max_memory is None else max_memory

    columns = _columns(s, cfgs[0], dtype)
    done: dict[tuple, dict] = {}
    if resume:
        for r in _read_done(os.path.join(folder, f"{s.name}.csv"), columns):
            done[_key(s, r)] = r
    todo = [c for c in cfgs if _key(s, c) not in done]
    rows = {k: r for k, r in done.items()}
    meta = {"sweep": s.name, "summary": s.summary, "dtype": str(dtype),
            "devices": len(devices), "configs": len(cfgs), "computed": len(todo)}
    writer = (_Writer(folder, s.name, columns, meta, append=resume)
              if folder is not None else None)
    bar = _progress(len(cfgs), len(cfgs) - len(todo), progress, s.name)
    interrupted, t0, chunks = False, time.perf_counter(), []
    try:
        for static, group in _groups(s, todo):
            ctx = s.prepare(dtype, dict(static))
            if mesh is not None:
                ctx = jax.device_put(ctx, NamedSharding(mesh, PartitionSpec()))
            size = _chunk_size(s, static, ctx, group, chunk_size, max_memory, len(devices),
                               dtype, mesh)
            chunks.append(size)
            for lo in range(0, len(group), size):
                part = group[lo:lo + size]
                padded = part + [part[-1]] * (size - len(part))
                traced = _traced_arrays(s, padded, dtype)
                if mesh is not None:
                    traced = jax.device_put(traced, NamedSharding(mesh, PartitionSpec("configs")))
                outs = _compiled(s, static, ctx, traced, mesh)(ctx, traced)
                outs = jax.tree.map(np.asarray, outs)
                new = [_row(s, c, outs, i) for i, c in enumerate(part)]
                for c, r in zip(part, new, strict=True):
                    rows[_key(s, c)] = r
                if writer is not None:
                    writer.write(new, [rows[_key(s, c)] for c in cfgs if _key(s, c) in rows])
                bar.update(len(part))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    meta.update(seconds=time.perf_counter() - t0, chunk_size=chunks[0] if chunks else None)
    ordered = [rows[_key(s, c)] for c in cfgs if _key(s, c) in rows]
    return Table(columns, ordered, meta, interrupted=interrupted)


def _check_config(s: Sweep, cfg: Mapping[str, Any], i: int) -> dict:
    names_ = [p.name for p in s.params]
    if set(cfg) != set(names_):
        raise ValueError(f"configs: expected configuration {i} to have the keys "
                         f"{', '.join(names_)}, got {', '.join(map(str, cfg))}")
    return {p.name: p.parse(cfg[p.name], where=f"configs[{i}]") for p in s.params}


def _groups(s: Sweep, cfgs: list[dict]) -> list[tuple[tuple, list[dict]]]:
    groups: dict[tuple, list[dict]] = {}
    for c in cfgs:
        groups.setdefault(tuple((p.name, c[p.name]) for p in s.params if p.static), []).append(c)
    return list(groups.items())


def _chunk_size(s, static, ctx, group, chunk_size, max_memory, ndev, dtype, mesh) -> int:
    """Configurations per chunk: as given, or the largest multiple of the device count (at
    most the probe) whose compiled chunk XLA reports within ``max_memory``."""
    want = len(group) if chunk_size is None else int(chunk_size)
    if chunk_size is None:
        want = min(want, _PROBE_CONFIGS * ndev)
    size = -(-want // ndev) * ndev
    if chunk_size is not None:
        return size
    shared = sum(int(a.nbytes) for a in jax.tree.leaves(ctx))
    for _ in range(8):
        traced = _traced_arrays(s, [group[0]] * size, dtype)
        if mesh is not None:
            traced = jax.device_put(traced, NamedSharding(mesh, PartitionSpec("configs")))
        used = _memory(_compiled(s, static, ctx, traced, mesh))
        if used is None or used <= max_memory:
            return size
        if size == ndev:
            raise ValueError(f"max_memory: expected at least {used} bytes (one chunk of {ndev} "
                             f"configuration(s) of sweep {s.name!r}), got {max_memory}")
        per = max((used - shared) / size, 1.0)  # memory grows linearly in the chunk size
        fit = int((max_memory - shared) / per) // ndev * ndev
        size = max(ndev, min(fit, size - ndev))
    return size


def _columns(s: Sweep, cfg: dict, dtype: Any) -> list[str]:
    """The parameter columns, then the outputs' (from the function's shapes, no compile)."""
    static = tuple((p.name, cfg[p.name]) for p in s.params if p.static)
    ctx = s.prepare(dtype, dict(static))
    shapes = jax.eval_shape(_chunk_fn(s, static), ctx, _traced_arrays(s, [cfg], dtype))
    cols = [p.name for p in s.params]
    first = [k for k in ("loss", "grad_norm", "steps", "status") if k in shapes]
    for k in first + sorted(k for k in shapes if k not in first):
        v = shapes[k]
        size = int(np.prod(v.shape[1:]))
        cols += [k] if v.ndim == 1 else [f"{k}_{i}" for i in range(size)]
    return cols


def _row(s: Sweep, cfg: dict, outs: dict, i: int) -> dict:
    row = dict(cfg)
    for k, v in outs.items():
        x = v[i]
        if k == "status":
            row[k] = results.Status(int(x)).name.lower()
        elif x.ndim == 0:
            row[k] = int(x) if np.issubdtype(x.dtype, np.integer) else float(x)
        else:
            for j, xj in enumerate(np.ravel(x)):
                row[f"{k}_{j}"] = float(xj)
    return row


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, initial: int, enabled: bool, name: str):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="config", desc=name, leave=False)
