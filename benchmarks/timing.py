"""The timing harness: first calls, then round-robin warm repeats (see :func:`race`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from benchmarks.peers import Solver


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def race(solvers: list[Solver], repeats: int, *,
         once_s: float | None = None) -> dict[str, dict[str, Any]]:
    """First call of each solver, then `repeats` round-robin rounds in which every solver runs
    twice in a row and the second call is timed.

    ``once_s``: a solver whose first call took longer than this is timed once
    (``"timed_once": True``) and runs no repeats (the warming they give is noise at that
    length): a solver with nothing to compile (not ``is_jax``) by that first call, a JAX
    solver by one more call right after it.

    The untimed call before each timed one warms what the previous solver let go cold: thread
    pools that went to sleep, caches, the vCPU's scheduling (measured on the 2-core VM: a 40 ms
    fit_newton_many call right after 0.4 s of scikit-learn fits took 58 ms, and 38 ms right
    after another call of itself). Every solver, peer or jaxdl, gets the same treatment.

    A peer whose first call raises cannot run here (its library is missing, or broken by the
    versions installed): its entry is ``{"unavailable": "ExceptionType: message"}`` and the
    race goes on without it. A jaxdl solver that raises fails the case."""
    jax.clear_caches()  # the case's JAX solvers compile on their first call
    out: dict[str, dict[str, Any]] = {}
    ready = []
    for s in solvers:
        try:
            first, res = timed(s.run)
        except Exception as e:  # noqa: BLE001 - any failure of a peer library is reported
            if not s.peer:
                raise
            out[s.name] = {"unavailable": unavailable_reason(e)}
            continue
        once = once_s is not None and first > once_s
        out[s.name] = {"first_s": first, "times_s": [], "output": res, "timed_once": once}
        if once:
            t, res = timed(s.run) if s.is_jax else (first, res)
            out[s.name].update(times_s=[t], output=res)
        else:
            ready.append(s)
    timed_solvers = [s for s in solvers if "unavailable" not in out[s.name]]
    solvers = ready
    for _ in range(repeats):
        for s in solvers:
            jax.block_until_ready(s.run())  # untimed: warms what the previous solver cooled
            t, res = timed(s.run)
            out[s.name]["times_s"].append(t)
            out[s.name]["output"] = res
    for s in timed_solvers:
        rec = out[s.name]
        rec["warm_s"] = min(rec["times_s"])
        rec["compile_overhead_s"] = rec["first_s"] - rec["warm_s"] if s.is_jax else None
        rec["converged"] = bool(np.all(s.converged(rec["output"])))
        rec["own_report"] = s.report(rec["output"])
        rec["iterations"] = s.iterations(rec["output"])
    return out


def race_notes(race: dict[str, dict[str, Any]]) -> list[str]:
    its = [f"{k} {v['iterations']}" for k, v in race.items() if v.get("iterations") is not None]
    return ["iterations: " + ", ".join(its)] if its else []


def timing_record(race: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: {kk: vv for kk, vv in v.items() if kk != "output"} for k, v in race.items()}


def unavailable_reason(err: BaseException) -> str:
    """The first line of a peer's exception, with its type."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def unavailable(race: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The peers of a race that could not run, with the reason."""
    return {k: v["unavailable"] for k, v in race.items() if "unavailable" in v}


def min_time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    first, _ = timed(fn)
    return first, min(timed(fn)[0] for _ in range(repeats))

