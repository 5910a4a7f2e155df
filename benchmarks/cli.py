"""The command line of ``scripts/bench.py``: flags, the run of the chosen cases, the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import jax

from benchmarks import children, report
from benchmarks.cases import CASES, NOT_QUICK
from benchmarks.config import GATE_FORMULA, RULE, SIZES, TARGETS, TOL_MEAN_GRAD
from benchmarks.context import Context
from jaxdl import enable_compilation_cache

DESCRIPTION = ("Benchmark jaxdl's logistic solvers against scikit-learn, statsmodels, glum and "
               "optax.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.py", description=DESCRIPTION)
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test, seconds)")
    p.add_argument("--cases", default=None,
                   help="comma-separated subset of " + ",".join(CASES) + " (default: all; "
                   "--quick leaves out " + ",".join(NOT_QUICK) + " unless named)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats after the warm-up")
    p.add_argument("--json-out", default="bench-results.json", help="where to write the JSON")
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    p.add_argument("--child", choices=("memory", "firstcall"), help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--d", type=int, help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats: expected an integer >= 1, got {args.repeats}")
    if args.cases is None:
        args.cases = ",".join(c for c in CASES if not (args.quick and c in NOT_QUICK))
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad or not cases:
        p.error(f"--cases: expected comma-separated names from {','.join(CASES)}, got "
                f"{args.cases!r}" + (f" (unknown: {','.join(bad)})" if bad else ""))
    args.cases = [c for c in CASES if c in cases]
    return args


def _child_main(args: argparse.Namespace) -> int:
    if args.cache_dir:
        enable_compilation_cache(args.cache_dir)  # what jaxdl's entry points use
    else:
        jax.config.update("jax_enable_compilation_cache", False)
    if args.child == "memory":
        out = children.child_memory(args.n, args.d)
    else:
        out = children.child_firstcall(args.n, args.d, args.repeats, args.cache_dir)
    print(json.dumps(report.jsonable(out)))
    return 0


def main(argv: list[str] | None = None) -> int:
    jax.config.update("jax_enable_x64", True)
    args = parse_args(argv)
    if args.child:
        return _child_main(args)
    jax.config.update("jax_enable_compilation_cache", False)  # compile times stay honest
    mode = "quick" if args.quick else "full"
    ctx = Context(SIZES[mode], args.repeats, args.quick)
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    results: dict[str, Any] = {}
    for name in args.cases:
        print(f"[{name}] ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            res = CASES[name](ctx)
        except Exception as e:  # report and go on: one broken peer should not hide the rest
            import traceback

            res = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                   "agree": False, "valid": False, "rows": [], "targets": []}
            print(res["traceback"], file=sys.stderr)
        res["case_wall_s"] = time.perf_counter() - t0
        results[name] = res
        print(f"[{name}] done in {res['case_wall_s']:.1f} s", file=sys.stderr, flush=True)

    invalid = [k for k, r in results.items() if not r["valid"]]
    missed = [t["name"] for r in results.values() for t in r["targets"] if t["met"] is False]
    not_scored = {k: r["score"]["not_scored"] for k, r in results.items()
                  if "score" in r and r["score"]["not_scored"]}
    unavailable = {k: r.get("unavailable") or r.get("score", {}).get("unavailable")
                   for k, r in results.items()}
    unavailable = {k: v for k, v in unavailable.items() if v}
    print()
    print(f"jaxdl benchmark ({mode} sizes, best of {args.repeats} warm repeats; ratios = peer "
          "time / jaxdl time unless marked; same run, same machine)")
    report.print_table(results, args.quick)
    if args.quick:
        print("\nquick mode: sizes too small for the targets to mean anything; not asserted.")
    if unavailable:
        print("\nUNAVAILABLE (a peer that cannot run in this environment; no ratio, not a "
              "failure): " + "; ".join(f"{case}: " + ", ".join(f"{k} ({why})" for k, why in
                                                              v.items())
                                       for case, v in unavailable.items()))
    if not_scored:
        print("\nNOT SCORED (no ratio): " + "; ".join(
            f"{case}: {', '.join(v)}" for case, v in not_scored.items()))
    if invalid:
        print(f"\nINVALID (gate broken, a jaxdl solver not scored, or the case failed): "
              f"{', '.join(invalid)}")
    if missed:
        print("\ntargets missed" + (" (not asserted in quick mode)" if args.quick else "")
              + ":\n  " + "\n  ".join(missed))
    record = {
        "mode": mode, "sizes": ctx.sizes, "repeats": args.repeats,
        "tol_mean_grad": TOL_MEAN_GRAD, "rule": RULE, "gate_formula": GATE_FORMULA,
        "targets": TARGETS, "machine": report.machine_info(),
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
        "wall_s": time.perf_counter() - t_start, "cases": results,
        "summary": {"valid": not invalid, "invalid_cases": invalid, "targets_missed": missed,
                    "not_scored": not_scored, "unavailable": unavailable,
                    "targets_asserted": not args.quick},
    }
    with open(args.json_out, "w") as f:
        json.dump(report.jsonable(record), f, indent=1)
    print(f"\nwrote {args.json_out} ({record['wall_s']:.1f} s)")
    if invalid:
        return 1
    if args.strict and missed and not args.quick:
        return 2
    return 0


