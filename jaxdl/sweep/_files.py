"""A sweep's files: the CSV its rows are appended to, the JSON rewritten after each chunk, and
the finished rows read back to resume."""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any

__all__ = ["check_out", "read_done", "Writer"]


def check_out(out: str | os.PathLike[str]) -> str:
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out: expected a folder, got the file {out!r}")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise ValueError(f"out: expected a folder that can be created, got {out!r} "
                         f"({err.strerror})") from None
    if not os.access(out, os.W_OK):
        raise ValueError(f"out: expected a writable folder, got {out!r}")
    return out


def parse_cell(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def read_done(path: str, columns: list[str]) -> list[dict]:
    """The finished rows of a CSV written by an earlier run; a torn last line is cut off."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    cut = data.rfind(b"\n") + 1
    if cut != len(data):  # a kill during a write: keep whole lines only
        with open(path, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    lines = data.decode().splitlines()
    if not lines:
        return []
    header = next(csv.reader([lines[0]]))
    if header != columns:
        raise ValueError(f"resume: expected {path!r} to have the columns {', '.join(columns)}, "
                         f"got {', '.join(header)}; choose another out folder or leave out "
                         "resume")
    return [dict(zip(columns, map(parse_cell, row), strict=True))
            for row in csv.reader(lines[1:])]


class Writer:
    def __init__(self, folder: str, name: str, columns: list[str], meta: dict, *,
                 append: bool):
        self.csv_path = os.path.join(folder, f"{name}.csv")
        self.json_path = os.path.join(folder, f"{name}.json")
        self.columns, self.meta = columns, meta
        fresh = not (append and os.path.exists(self.csv_path)
                     and os.path.getsize(self.csv_path) > 0)
        self.file = open(self.csv_path, "w" if fresh else "a", newline="")  # noqa: SIM115
        self.csv = csv.writer(self.file)
        if fresh:
            self.csv.writerow(columns)
            self._flush()

    def _flush(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def write(self, new_rows: list[dict], all_rows: list[dict]) -> None:
        for r in new_rows:
            self.csv.writerow([text_cell(r[c]) for c in self.columns])
        self._flush()
        doc = {**self.meta, "columns": self.columns,
               "rows": [{c: json_value(r[c]) for c in self.columns} for r in all_rows]}
        tmp = self.json_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, self.json_path)

    def close(self) -> None:
        self.file.close()


def text_cell(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def json_value(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None
