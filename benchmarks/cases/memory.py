"""The memory case."""

from __future__ import annotations

import math
from typing import Any

from benchmarks import children, report
from benchmarks.config import RULE, TARGETS, TOL_MEAN_GRAD
from benchmarks.context import Context


def case_memory(ctx: Context) -> dict[str, Any]:
    n, d = ctx.sizes["n_mem"], ctx.sizes["d_mem"]
    r = children.run_child(["memory", "--n", str(n), "--d", str(d)], timeout=1200)
    rule = r["grad_inf"] <= TOL_MEAN_GRAD * n
    ok = bool(r["ok"] and r["first_ok"] and rule and math.isfinite(r["loss"]))
    t = report.target("(peak RSS - RSS before X) / bytes(X), eager call", r["ratio"] if ok
                      else None, "<=", TARGETS["memory"])
    rows = [report.row("memory", "eager fit_newton peak / bytes(X)", None, ratio=t["value"],
                       unit="", target=t),
            report.row("memory", "first eager call (compiles) peak / bytes(X)", None,
                       ratio=r["first_call_ratio"] if ok else None, unit="")]
    notes = [f"X is {r['x_bytes'] / 2**20:.0f} MiB; RSS growth during the fit alone "
             f"{r['fit_extra_ratio']:.2f} x bytes(X); the first call (tracing and compilation "
             f"included) grew RSS by {r['first_call_extra_ratio']:.2f} x bytes(X) and left "
             f"{r['resident_after_first_call_bytes'] / 2**20:.0f} MiB resident (the compiled "
             f"program, counted in the base of the eager call's ratio); creating X peaked at "
             f"{r['data_creation_peak_bytes'] / r['x_bytes']:.2f} x bytes(X) (reset before the "
             f"fit); the fit: {r['status_name']} in {r['steps']} steps, ||grad||_inf / n = "
             f"{r['grad_inf'] / n:.1e}"]
    if not ok:
        notes.append(f"NOT SCORED: the fit must report success and meet {RULE}")
    if not r["peak_reset_supported"]:
        notes.append("/proc/self/clear_refs not writable: the peak includes creating X")
    return {"sizes": {"n": n, "d": d}, "child": r, "agree": ok, "notes": notes,
            "agree_what": f"fit reported success and met {RULE}", "valid": ok, "rows": rows,
            "targets": [t]}

