"""The notebooks case: each notebook top to bottom as a user's first run, timed.

Every notebook runs in a kernel of its own, in each dtype, one after another (nothing else of
the benchmark runs meanwhile). The kernel starts without any compilation cache
(``JAXDL_NO_CACHE=1``, no ``JAX_COMPILATION_CACHE_*``), so it traces and compiles everything,
as on a fresh runtime. A notebook's time is the sum of its code cells' execution times as the
kernel reports them (starting the kernel is not counted: a user's runtime is already up).

A notebook that raises, prints ``FAIL`` or ``nan``, draws no plot or ignores the dtype it was
given makes the case invalid (:func:`problems`; the test suite applies the same checks).
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import children, report
from benchmarks.config import TARGETS
from benchmarks.context import Context

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"
DTYPES = ("float64", "float32")
CELL_TIMEOUT_S = 600


def paths(ctx: Context) -> list[Path]:
    """The notebooks to run: ``ctx.sizes["notebooks"]`` if given, else every stored one."""
    chosen = ctx.sizes.get("notebooks")
    return [Path(p) for p in chosen] if chosen is not None else sorted(FOLDER.glob("*.ipynb"))


def problems(cells: list, dtype: str) -> list[str]:
    """What is wrong with an executed notebook's code cells (empty when nothing is)."""
    out = [f"cell {j}: {o.get('ename')}: {o.get('evalue')}" for j, c in enumerate(cells)
           for o in c.get("outputs", []) if o.get("output_type") == "error"]
    text = printed(cells)
    if f"| dtype: {dtype}" not in text:
        out.append(f"the device cell does not report dtype {dtype}")
    if "FAIL" in text:
        out.append("a check printed FAIL")
    if re.search(r"\bnan\b", text, re.IGNORECASE):
        out.append("a printed value is nan")
    if not any("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", [])):
        out.append("no plot drawn")
    return out


def printed(cells: list) -> str:
    """Everything the cells printed (their stdout and stderr streams)."""
    return "".join(o.get("text", "") for c in cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def cell_seconds(cell) -> float:
    """A code cell's execution time from the kernel's timestamps (0 for a cell not run)."""
    t = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in t or "shell.execute_reply" not in t:
        return 0.0

    def parse(s: str) -> datetime:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))

    return (parse(t["shell.execute_reply"]) - parse(t["iopub.execute_input"])).total_seconds()


def kernel_env(dtype: str) -> dict[str, str]:
    """This process's environment, with the notebook's dtype and no compilation cache."""
    return {**children.env_without_cache(), "JAXDL_NO_CACHE": "1",
            "JAXDL_NOTEBOOK_DTYPE": dtype}


def run_notebook(path: Path, dtype: str) -> dict[str, Any]:
    """Execute one notebook in a fresh kernel; its time, per-cell times and problems."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="jaxdl-bench-nb-") as cwd:
        client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                         allow_errors=True,
                                         resources={"metadata": {"path": cwd}})
        client.execute(env=kernel_env(dtype))
    cells = [c for c in nb.cells if c.cell_type == "code"]
    per_cell = [cell_seconds(c) for c in cells]
    return {"seconds": sum(per_cell), "cell_seconds": per_cell,
            "problems": problems(cells, dtype), "printed": printed(cells)}


def case_notebooks(ctx: Context) -> dict[str, Any]:
    dtypes = tuple(ctx.sizes.get("notebook_dtypes", DTYPES))
    notebooks = paths(ctx)
    runs: dict[str, dict[str, Any]] = {}
    rows, targets, notes = [], [], []
    for path in notebooks:
        for dtype in dtypes:
            label = f"{path.stem} {dtype}"
            r = runs[label] = run_notebook(path, dtype)
            ok = not r["problems"]
            t = report.target(f"notebook {label}, fresh kernel, no cache (s)",
                              r["seconds"] if ok else None, "<", TARGETS["notebook"], unit=" s")
            rows.append(report.row("notebooks", label, r["seconds"], unit="", target=t))
            targets.append(t)
            if not ok:
                notes.append(f"{label}: " + "; ".join(r["problems"]))
    valid = bool(runs) and not notes
    slowest = max(runs, key=lambda k: runs[k]["seconds"]) if runs else None
    if slowest is not None:
        notes.insert(0, f"slowest: {slowest}, {report.fmt_s(runs[slowest]['seconds'])}; "
                        f"each notebook in its own kernel, one after another")
    return {"sizes": {"notebooks": [p.stem for p in notebooks], "dtypes": list(dtypes)},
            "runs": runs, "agree": valid, "valid": valid,
            "agree_what": "every notebook ran without an error, FAIL, nan or a missing plot, "
                          "in the dtype it was given",
            "rows": rows, "targets": targets, "notes": notes}
