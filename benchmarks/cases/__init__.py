"""One module per case; ``CASES`` maps each name to its function, in run order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases.bootstrap_fits import case_bootstrap_fits
from benchmarks.cases.cv import case_cv
from benchmarks.cases.first_call import case_first_call
from benchmarks.cases.first_order import case_first_order
from benchmarks.cases.gd_step import case_gd_step
from benchmarks.cases.hessian import case_hessian
from benchmarks.cases.inference import case_inference
from benchmarks.cases.memory import case_memory
from benchmarks.cases.newton import case_newton
from benchmarks.cases.notebooks import case_notebooks
from benchmarks.cases.sweep import case_sweep
from benchmarks.context import Context

CASES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "newton": case_newton,
    "first_order": case_first_order,
    "gd_step": case_gd_step,
    "bootstrap_fits": case_bootstrap_fits,
    "hessian": case_hessian,
    "memory": case_memory,
    "first_call": case_first_call,
    "inference": case_inference,
    "sweep": case_sweep,
    "cv": case_cv,
    "notebooks": case_notebooks,
}

# Cases a ``--quick`` run leaves out unless named in ``--cases``: cv compiles two
# cross_validate programs (seconds each, whatever the size) and runs scikit-learn's and glum's
# CV loops, and notebooks runs every notebook (minutes), more than the quick run's smoke test
# should add; tests/test_bench.py runs each alone on something small.
NOT_QUICK = ("cv", "notebooks")

