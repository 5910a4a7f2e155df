"""The CSV reader: a labelled data set from a text file, every error naming the file, line and
column."""

from __future__ import annotations

import csv
import gzip
import io
import math
import numbers
import os
from typing import NamedTuple

import numpy as np

__all__ = ["Dataset", "load_csv", "parse_csv"]


class Dataset(NamedTuple):
    """A labelled classification data set.

    Attributes:
      X: features, ``np.ndarray`` of float64, shape ``(n, d)``.
      y: class ids ``0..K-1``, ``np.ndarray`` of int32, shape ``(n,)``.
      feature_names: ``d`` column names.
      target_names: ``K`` class names; ``target_names[c]`` names class id ``c``.
      name: a short name for the data set (bundled name or file stem).

    Example:
      >>> from jaxdl.data import load_breast_cancer
      >>> ds = load_breast_cancer()
      >>> ds.X.shape, ds.y.dtype
      ((569, 30), dtype('int32'))
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    name: str

    def __repr__(self) -> str:
        n, d = self.X.shape
        return (
            f"Dataset(name={self.name!r}, n={n}, d={d}, "
            f"classes={len(self.target_names)}, target_names={self.target_names!r})"
        )


def _column_label(j: int, names: list[str] | None) -> str:
    """How an error message names column ``j`` (0-based): 1-based number plus header name."""
    if names is None:
        return f"column {j + 1}"
    return f"column {j + 1} ({names[j]!r})"


def parse_csv(
    text: str, *, source: str, label_column: int | str, header: bool, delimiter: str, name: str
) -> Dataset:
    """Parse CSV text into a Dataset; ``source`` is how error messages name the file."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    names: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []  # (1-based line number in the file, cells)
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank line
        if header and names is None:
            names = [c.strip() for c in cells]
            _check_header(names, source=source, line=reader.line_num)
            continue
        rows.append((reader.line_num, cells))

    if names is None and header:
        raise ValueError(f"{source}: the file is empty (expected a header row and data rows)")
    ncols = len(names) if names is not None else (len(rows[0][1]) if rows else 0)

    if len(rows) < 2:
        raise ValueError(f"{source}: need at least 2 data rows, found {len(rows)}")
    if ncols < 2:
        raise ValueError(
            f"{source}: need at least one feature column besides the label column, "
            f"found {ncols} column(s)"
        )

    # Resolve the label column.
    if isinstance(label_column, str):
        if names is None:
            raise ValueError(
                f"label_column: a column name ({label_column!r}) needs header=True; "
                "pass an integer index instead"
            )
        if label_column not in names:
            raise ValueError(
                f"label_column: expected one of the header names {names}, got {label_column!r}"
            )
        lab = names.index(label_column)
    elif isinstance(label_column, numbers.Integral) and not isinstance(label_column, bool):
        if not -ncols <= int(label_column) < ncols:
            raise ValueError(
                f"label_column: expected an index in [{-ncols}, {ncols}) for {source} "
                f"({ncols} columns), got {label_column}"
            )
        lab = int(label_column) % ncols
    else:
        raise TypeError(
            f"label_column: expected an int index or a header name, got {label_column!r}"
        )

    feat_cols = [j for j in range(ncols) if j != lab]
    X = np.empty((len(rows), ncols - 1), dtype=np.float64)
    y = np.empty(len(rows), dtype=np.int64)
    for i, (line, cells) in enumerate(rows):
        if len(cells) != ncols:
            raise ValueError(
                f"{source}: line {line} has {len(cells)} fields, expected {ncols}"
                + (" (as in the header)" if names is not None else " (as in the first row)")
            )
        try:
            for k, j in enumerate(feat_cols):
                X[i, k] = _parse_number(cells[j], source=source, line=line,
                                        col=_column_label(j, names))
            y[i] = _parse_label(cells[lab], source=source, line=line,
                                col=_column_label(lab, names))
        except ValueError as e:
            if i == 0 and names is None and not _all_numbers(cells):
                raise ValueError(f"{e}; if line {line} holds column names, pass header=True"
                                 ) from None
            raise

    if names is None:
        feature_names = tuple(f"x{k}" for k in range(ncols - 1))
    else:
        feature_names = tuple(names[j] for j in feat_cols)
    n_classes = int(y.max()) + 1
    target_names = tuple(str(c) for c in range(n_classes))
    return Dataset(X, y.astype(np.int32), feature_names, target_names, name)


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip())
    except ValueError:
        return False
    return True


def _all_numbers(cells: list[str]) -> bool:
    return all(_is_number(c) for c in cells)


def _check_header(names: list[str], *, source: str, line: int) -> None:
    """A header row must name its columns: a row of numbers is data, never silently dropped."""
    if _all_numbers(names):
        shown = ", ".join(repr(c) for c in names[:4]) + (", ..." if len(names) > 4 else "")
        raise ValueError(
            f"header: expected line {line} of {source} to hold column names, got a row of "
            f"numbers ({shown}); if the file has no header row, pass header=False"
        )
    seen: dict[str, int] = {}
    for j, c in enumerate(names):
        if c in seen:
            raise ValueError(
                f"header: expected distinct column names in {source}, got {c!r} in columns "
                f"{seen[c] + 1} and {j + 1}"
            )
        seen[c] = j


_INT32_MAX = int(np.iinfo(np.int32).max)


def _parse_number(cell: str, *, source: str, line: int, col: str) -> float:
    text = cell.strip()
    if not text:
        raise ValueError(f"{source}: line {line}, {col}: empty cell (expected a number)")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{source}: line {line}, {col}: expected a number, got {cell!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{source}: line {line}, {col}: expected a finite number, got {cell!r}")
    return value


def _parse_label(cell: str, *, source: str, line: int, col: str) -> int:
    text = cell.strip()
    what = f"{source}: line {line}, label {col}: labels must be integers (class ids 0..K-1)"
    if not text:
        raise ValueError(f"{what}, got an empty cell")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}, got {cell!r}") from None
    if not (math.isfinite(value) and value == int(value)):
        raise ValueError(f"{what}, got {cell!r}")
    if value < 0:
        raise ValueError(
            f"{what}, got the negative id {cell!r}; remap the labels yourself "
            "(e.g. {-1, 1} -> {0, 1})"
        )
    if value > _INT32_MAX:
        raise ValueError(f"{what}, got {cell!r}, which does not fit in int32")
    return int(value)


def _file_stem(path: str | os.PathLike[str]) -> str:
    base = os.path.basename(os.fspath(path))
    for suffix in (".csv.gz", ".gz", ".csv"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def load_csv(
    path: str | os.PathLike[str],
    *,
    label_column: int | str = -1,
    header: bool = True,
    delimiter: str = ",",
) -> Dataset:
    """Load a numeric classification data set from a CSV file (plain or ``.gz``).

    Every cell must be a finite number.  The label column must hold integer class
    ids ``0..K-1`` (``"1"`` and ``"1.0"`` are both read as 1); they are kept as
    given, never remapped.  ``K`` is ``max(label) + 1`` and ``target_names`` is
    ``("0", ..., str(K - 1))``; :func:`check_classes` then checks that every class has
    samples.  Blank lines are skipped.  With ``header=True`` a first row made only of
    numbers is an error (it is data, not column names), never a silently dropped row.

    Args:
      path: the file; a name ending in ``.gz`` is read through gzip.
      label_column: index (negative counts from the end) or, with ``header=True``,
        the header name of the label column.
      header: whether the first non-blank line holds column names (distinct ones).
        Without one the features are named ``x0, x1, ...``.
      delimiter: the field separator, one character.

    Returns:
      A :class:`Dataset` named after the file stem.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ValueError: an empty or non-numeric cell (the message names the file, the
        line number as counted in the file starting at 1, the column and the text);
        a label that is not a non-negative integer; a ragged row; fewer than 2
        data rows; no feature column; a header row of numbers or with a repeated name;
        a delimiter that is not one character.

    Example:
      >>> import os, tempfile
      >>> with tempfile.TemporaryDirectory() as folder:
      ...     path = os.path.join(folder, "points.csv")
      ...     with open(path, "w") as f:
      ...         for line in ("height,class,width", "1.5,0,2", "", "-3,1.0,4.25", "0,2,1e3"):
      ...             print(line, file=f)
      ...     ds = load_csv(path, label_column="class")
      >>> ds
      Dataset(name='points', n=3, d=2, classes=3, target_names=('0', '1', '2'))
      >>> ds.X, ds.y, ds.feature_names
      (array([[   1.5 ,    2.  ],
             [  -3.  ,    4.25],
             [   0.  , 1000.  ]]), array([0, 1, 2], dtype=int32), ('height', 'width'))
    """
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise ValueError(
            f"delimiter: expected one character other than a quote or newline, got {delimiter!r}"
        )
    if not isinstance(header, bool):
        raise TypeError(f"header: expected True or False, got {header!r}")
    fspath = os.fspath(path)
    if not os.path.isfile(fspath):
        if os.path.exists(fspath):
            raise ValueError(f"load_csv: {fspath!r} is not a regular file")
        raise FileNotFoundError(f"load_csv: no such file: {fspath!r}")
    with open(fspath, "rb") as f:
        raw = f.read()
    if fspath.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{fspath}: not UTF-8 text ({e})") from None
    return parse_csv(
        text,
        source=fspath,
        label_column=label_column,
        header=header,
        delimiter=delimiter,
        name=_file_stem(fspath),
    )
