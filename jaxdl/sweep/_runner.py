"""The sweep runner: configurations, the compiled chunk, its memory bound, devices, progress."""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxdl import results
from jaxdl.sweep._files import Writer, check_out, read_done
from jaxdl.sweep._spec import AXIS, Sweep, get, names
from jaxdl.sweep._table import Table

__all__ = ["DEFAULT_MAX_MEMORY", "chunk_memory", "clear_compiled", "grid", "plot", "run"]

DEFAULT_MAX_MEMORY = 1 << 30  # bytes per chunk where the device reports no limit (CPU)
_PROBE_CONFIGS = 256  # configurations per device in the chunk probed for its memory


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
    from jaxdl.sweep import _plots

    _plots.plot(table, path)


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
    folder = check_out(out) if out is not None else None
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices: expected at least one device, got none")
    mesh = Mesh(np.array(devices), ("configs",)) if len(devices) > 1 else None
    max_memory = _default_max_memory(devices) if max_memory is None else max_memory

    columns = _columns(s, cfgs[0], dtype)
    done: dict[tuple, dict] = {}
    if resume:
        for r in read_done(os.path.join(folder, f"{s.name}.csv"), columns):
            done[_key(s, r)] = r
    todo = [c for c in cfgs if _key(s, c) not in done]
    rows = {k: r for k, r in done.items()}
    meta = {"sweep": s.name, "summary": s.summary, "dtype": str(dtype),
            "devices": len(devices), "configs": len(cfgs), "computed": len(todo)}
    writer = (Writer(folder, s.name, columns, meta, append=resume)
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
