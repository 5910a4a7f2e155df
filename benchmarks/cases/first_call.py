"""The first_call case."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np

from benchmarks import children, gate, report
from benchmarks.config import TARGETS
from benchmarks.context import Context


def case_first_call(ctx: Context) -> dict[str, Any]:
    X, y, _, _, _ = ctx.data64()  # the children draw the same data (same key and sizes)
    n, d = X.shape
    base = ["firstcall", "--n", str(n), "--d", str(d), "--repeats", str(ctx.repeats)]
    runs = {"no cache": children.run_child(base, timeout=1200)}
    with tempfile.TemporaryDirectory(prefix="jaxdl-bench-cache-") as cache:
        runs["cache, cold"] = children.run_child(base + ["--cache-dir", cache], timeout=1200)
        runs["cache, warm"] = children.run_child(base + ["--cache-dir", cache], timeout=1200)
    rec = gate.case_record(gate.score({k: {"converged": v["ok"], "report": v["status_name"],
                                           "cert": gate.certify(np.asarray(v["w"]), v["b"], X, y)}
                                       for k, v in runs.items()}), list(runs))
    for v in runs.values():
        v.pop("w")
    ok = rec["valid"]
    over = runs["no cache"]["compile_overhead_s"]
    t = report.target("fit_newton first-call overhead, fresh process (s)", over if ok else None,
                      "<", TARGETS["first_call"], unit=" s")
    cold = runs["cache, cold"]["compile_overhead_s"]
    warm = runs["cache, warm"]["compile_overhead_s"]
    rows = [
        report.row("first_call", "fit_newton first - warm (no cache)", over, unit="", target=t),
        report.row("first_call", "first - warm, cache cold", cold, "first - warm, cache warm",
                   warm, cold / warm if warm > 0 else None, unit="x"),
    ]
    notes = [f"fresh processes: first call {report.fmt_s(runs['no cache']['first_s'])}, warm "
             f"{report.fmt_s(runs['no cache']['warm_s'])} without a cache; with the persistent "
             f"compilation cache the first call took "
             f"{report.fmt_s(runs['cache, cold']['first_s'])} (cold cache, written) then "
             f"{report.fmt_s(runs['cache, warm']['first_s'])} (read back)"]
    return {"sizes": {"n": n, "d": d}, "runs": runs, **rec, "rows": rows, "targets": [t],
            "cache_speedup": cold / warm if warm > 0 else None,
            "notes": notes + rec["score_notes"]}

