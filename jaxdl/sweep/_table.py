"""The table of a sweep's rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Table"]


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
