"""Measurements in a fresh interpreter (the memory and first_call cases): the parent runs
``scripts/bench.py --child KIND`` and reads one JSON line back."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import gate, timing
from benchmarks.config import SEED
from jaxdl import data, logistic

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
# ----------------------------------------------------------------------------------------------
# Subprocess cases (memory, first_call): a fresh interpreter runs this script with --child.


def env_without_cache() -> dict[str, str]:
    """This process's environment without its compilation cache settings (JAX's
    ``JAX_COMPILATION_CACHE_*`` and jaxdl's ``JAXDL_NO_CACHE``, which the test session sets): a
    fresh process started with it decides its cache itself."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("JAX_COMPILATION_CACHE") and k != "JAXDL_NO_CACHE"}


def run_child(args: list[str], timeout: float, env_extra: dict[str, str] | None = None):
    # The child decides the cache itself (--cache-dir or none): no inherited cache setting may
    # change what the cache runs measure.
    env = env_without_cache()
    env.update(env_extra or {})
    cmd = [sys.executable, str(SCRIPT), "--child", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _proc_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024
    return out


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _settle() -> None:
    """Let freed buffers leave the resident set before a reading: XLA's CPU client frees an
    executable's temporaries asynchronously (right after a call RSS still holds them; measured
    2.5 x bytes(X) after creating X, 1.0 x a second later), and glibc keeps freed heap pages
    until ``malloc_trim``. Waits until RSS stops changing (at most 5 s), then trims."""
    last, stable, deadline = -1, 0, time.monotonic() + 5.0
    while stable < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        rss = _proc_status()["VmRSS"]
        stable = stable + 1 if rss == last else 0
        last = rss
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _fit_summary(res, X, y) -> dict[str, Any]:
    """What the parent scores: the fit's own report, its coefficients and its gradient."""
    w, b = res.params
    gw, gb = logistic.grad(w, b, X, y)
    return {"ok": bool(res.ok), "status_name": res.status_name, "steps": int(res.steps),
            "loss": float(gate.objective(w, b, X, y, jnp.float64(0.0))),
            "grad_inf": float(jnp.maximum(jnp.max(jnp.abs(gw)), jnp.abs(gb))),
            "w": np.asarray(w).tolist(), "b": float(b)}


def child_memory(n: int, d: int) -> dict[str, Any]:
    """Peak RSS of the eager ``logistic.fit_newton(X, y)`` a user writes. The first call traces
    and compiles; X is then dropped, and a repeat call on a fresh X (compiled program resident,
    as for any later call) gives the fit's own memory. Each reading starts from a settled RSS."""
    f64 = jnp.float64
    key = jax.random.key(SEED)

    def generate(key):  # the make_logistic model, compiled ahead of time below
        kx, kw, ky = jax.random.split(key, 3)
        X = jax.random.normal(kx, (n, d), f64)
        v = jax.random.normal(kw, (d + 1,), f64) / math.sqrt(d + 1)
        y = jax.random.bernoulli(ky, jax.nn.sigmoid(X @ v[:d] + v[d])).astype(f64)
        return X, y

    gen = jax.jit(generate).lower(key).compile()

    def fresh_data():
        _settle()
        _reset_peak()
        before = _proc_status()["VmRSS"]
        X, y = jax.block_until_ready(gen(key))
        peak = _proc_status()["VmHWM"] - before
        _settle()  # the generator's temporaries, freed asynchronously, are not the fit's
        _reset_peak()
        return X, y, before, peak, _proc_status()["VmRSS"]

    resettable = _reset_peak()
    X, y, base0, gen_peak, after_x0 = fresh_data()
    first = jax.block_until_ready(logistic.fit_newton(X, y))  # traces, compiles, runs
    st_first = _proc_status()
    first_ok = bool(first.ok)
    del X, y, first
    X, y, base, _, after_x = fresh_data()
    res = jax.block_until_ready(logistic.fit_newton(X, y))
    st = _proc_status()
    xbytes = X.size * X.dtype.itemsize
    summary = _fit_summary(res, X, y)
    summary.pop("w")  # the parent checks the rule only (there is no second solver to compare)
    return {
        "n": n, "d": d, "x_bytes": xbytes, "peak_reset_supported": resettable,
        "rss_before_x": base, "rss_after_x": after_x, "data_creation_peak_bytes": gen_peak,
        "fit_peak_rss": st["VmHWM"], "rss_after_fit": st["VmRSS"],
        "ratio": (st["VmHWM"] - base) / xbytes,
        "fit_extra_ratio": (st["VmHWM"] - after_x) / xbytes,
        "first_call_rss_before_x": base0, "first_call_rss_after_x": after_x0,
        "first_call_peak_rss": st_first["VmHWM"],
        "first_call_ratio": (st_first["VmHWM"] - base0) / xbytes,
        "first_call_extra_ratio": (st_first["VmHWM"] - after_x0) / xbytes,
        "resident_after_first_call_bytes": base - base0,
        "first_ok": first_ok, **summary,
    }


def child_firstcall(n: int, d: int, repeats: int, cache_dir: str | None) -> dict[str, Any]:
    X, y, _, _ = data.make_logistic(jax.random.key(SEED), n, d, dtype=jnp.float64)
    jax.block_until_ready((X, y))
    first, res = timing.timed(lambda: logistic.fit_newton(X, y))
    warm = min(timing.timed(lambda: logistic.fit_newton(X, y))[0] for _ in range(repeats))
    return {"n": n, "d": d, "cache_dir": cache_dir, "first_s": first, "warm_s": warm,
            "compile_overhead_s": first - warm, **_fit_summary(res, X, y)}

