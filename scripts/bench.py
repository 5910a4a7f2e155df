#!/usr/bin/env python
"""Benchmark jaxdl's logistic solvers against scikit-learn, statsmodels, glum and optax.

The entry point of the ``benchmarks`` package (next to ``jaxdl`` in this repository; see its
docstring for the scoring, the gate, the timing and the cases)::

  python scripts/bench.py                      # all cases, full size (minutes)
  python scripts/bench.py --quick              # seconds; every solver scored, targets printed
  python scripts/bench.py --cases newton,first_order --repeats 5 --json-out out.json --strict

Exit status: 0, or 1 if a case is invalid, or 2 with ``--strict`` when a target is missed at
full size.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package

from benchmarks.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
