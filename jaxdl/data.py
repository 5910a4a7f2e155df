"""Datasets: two bundled real data sets, a CSV loader, standardisation, synthetic generators.

Everything here is a plain function.  Real data come back as NumPy arrays in a
:class:`Dataset`; synthetic data come back as JAX arrays of the requested dtype.
Nothing is rescaled behind the caller's back: call :func:`standardize` yourself.

The bundled files live in ``jaxdl/datasets/`` (see ``SOURCES.md`` there for their
origin and licence) and are read with :mod:`importlib.resources`, so no network
access and no scikit-learn are needed.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
import numbers
import os
from importlib import resources
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import checks

__all__ = [
    "BUNDLED",
    "Dataset",
    "check_classes",
    "load",
    "load_breast_cancer",
    "load_csv",
    "load_digits",
    "make_logistic",
    "make_multiclass",
    "make_separable",
    "standardize",
    "train_test_split",
]


class Dataset(NamedTuple):
    """A labelled classification data set.

    Attributes:
      X: features, ``np.ndarray`` of float64, shape ``(n, d)``.
      y: class ids ``0..K-1``, ``np.ndarray`` of int32, shape ``(n,)``.
      feature_names: ``d`` column names.
      target_names: ``K`` class names; ``target_names[c]`` names class id ``c``.
      name: a short name for the data set (bundled name or file stem).

    Example:
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


# ---------------------------------------------------------------------------
# CSV parsing (shared by the bundled loaders and load_csv)
# ---------------------------------------------------------------------------


def _column_label(j: int, names: list[str] | None) -> str:
    """How an error message names column ``j`` (0-based): 1-based number plus header name."""
    if names is None:
        return f"column {j + 1}"
    return f"column {j + 1} ({names[j]!r})"


def _parse_csv(
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


_INT32_MAX = int(np.iinfo(np.int32).max)


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


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------


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
    return _parse_csv(
        text,
        source=fspath,
        label_column=label_column,
        header=header,
        delimiter=delimiter,
        name=_file_stem(fspath),
    )


def _load_bundled(file_name: str, *, name: str, target_names: tuple[str, ...]) -> Dataset:
    raw = resources.files("jaxdl").joinpath("datasets").joinpath(file_name).read_bytes()
    ds = _parse_csv(
        gzip.decompress(raw).decode("utf-8"),
        source=f"jaxdl/datasets/{file_name}",
        label_column=-1,
        header=True,
        delimiter=",",
        name=name,
    )
    return ds._replace(target_names=target_names)


def load_breast_cancer() -> Dataset:
    """Load the Wisconsin diagnostic breast cancer data (WDBC), bundled with jaxdl.

    569 fine-needle-aspirate samples, 30 real-valued nuclear features (mean,
    standard error and worst value of ten measurements), binary diagnosis.
    Label convention (scikit-learn's): ``0 = malignant`` (212 samples),
    ``1 = benign`` (357 samples).  Features are unscaled (areas reach ~4000,
    fractal dimensions ~0.05): call :func:`standardize` before gradient methods.
    Source: UCI Machine Learning Repository (Wolberg, Street, Mangasarian 1995),
    CC BY 4.0; see ``jaxdl/datasets/SOURCES.md``.

    Args:
      None.

    Returns:
      A :class:`Dataset` with ``X`` (569, 30) float64, ``y`` (569,) int32 in {0, 1},
      ``target_names == ("malignant", "benign")``.

    Example:
      >>> ds = load_breast_cancer()
      >>> ds.X.shape, int((ds.y == 0).sum()), ds.target_names
      ((569, 30), 212, ('malignant', 'benign'))
    """
    return _load_bundled(
        "breast_cancer.csv.gz", name="breast_cancer", target_names=("malignant", "benign")
    )


def load_digits() -> Dataset:
    """Load the 8x8 optical handwritten digits (1797 images, 10 classes), bundled with jaxdl.

    Each row is an 8x8 image flattened row-major (feature ``pixel_r_c``), each
    pixel an integer count in 0..16 stored as float64; label = the digit 0..9.
    This is the UCI optical digits test set as distributed with scikit-learn.
    Source: UCI Machine Learning Repository (Alpaydin & Kaynak), CC BY 4.0; see
    ``jaxdl/datasets/SOURCES.md``.

    Args:
      None.

    Returns:
      A :class:`Dataset` with ``X`` (1797, 64) float64, ``y`` (1797,) int32 in 0..9,
      ``target_names == ("0", ..., "9")``.

    Example:
      >>> ds = load_digits()
      >>> ds.X.shape, ds.X.reshape(-1, 8, 8).shape, len(ds.target_names)
      ((1797, 64), (1797, 8, 8), 10)
    """
    return _load_bundled(
        "digits.csv.gz", name="digits", target_names=tuple(str(c) for c in range(10))
    )


BUNDLED = {"breast_cancer": load_breast_cancer, "digits": load_digits}
"""Names accepted by :func:`load`, mapped to their loaders."""


def load(
    name_or_path: str | os.PathLike[str],
    *,
    label_column: int | str | None = None,
    header: bool | None = None,
    delimiter: str | None = None,
) -> Dataset:
    """Load a bundled data set by name, or a CSV file by path.

    A bundled name wins over a file of the same name in the working directory.
    A path is read with :func:`load_csv`; its options default to ``load_csv``'s (header
    row, label in the last column, comma-separated).

    Args:
      name_or_path: ``"breast_cancer"``, ``"digits"``, or a path to a ``.csv``
        (or ``.csv.gz``) file.
      label_column, header, delimiter: passed to :func:`load_csv` when given; a CSV
        file's options, so an error with a bundled name (never silently ignored).

    Returns:
      A :class:`Dataset`.

    Raises:
      ValueError: ``name_or_path`` is neither a bundled name nor an existing file; a CSV
        option with a bundled name; anything :func:`load_csv` raises.

    Example:
      >>> load("digits").X.shape
      (1797, 64)
    """
    options = {k: v for k, v in (("label_column", label_column), ("header", header),
                                 ("delimiter", delimiter)) if v is not None}
    if isinstance(name_or_path, str) and name_or_path in BUNDLED:
        if options:
            raise ValueError(
                f"{', '.join(options)}: expected no CSV option for the bundled data set "
                f"{name_or_path!r} (they apply to a CSV file), got {options}"
            )
        return BUNDLED[name_or_path]()
    if os.path.isfile(os.fspath(name_or_path)):
        return load_csv(name_or_path, **options)
    raise ValueError(
        f"name_or_path: expected a bundled data set name ({', '.join(sorted(BUNDLED))}) "
        f"or the path of an existing CSV file, got {os.fspath(name_or_path)!r} "
        "(no such bundled name, and no such file)"
    )


def check_classes(y, *, num_classes: int | None = None, min_per_class: int = 1) -> int:
    """Check class ids ``y`` against a class count; return that count ``K``.

    The labels must be integer class ids ``0..K-1`` with at least ``min_per_class`` samples
    in every class: a class with no sample (labels ``{0, 2}``: class 1 is empty) or with
    too few has no well-defined fit (its intercept runs off to minus infinity), so it is an
    error here rather than a surprise in the fit.  ``K`` is ``num_classes`` when given,
    else ``max(y) + 1``.  A binary problem (``K == 2``) is logistic regression; ``K > 2``
    is softmax regression.

    Args:
      y: class ids, shape ``(n,)`` (NumPy or JAX).
      num_classes: the class count the caller expects (an int >= 2), or None to infer it.
      min_per_class: the fewest samples a class may have, an int >= 1.

    Returns:
      ``K`` as a Python int.

    Raises:
      ValueError: ``y`` is not a 1-D array of non-negative integers, or has fewer than 2
        classes; a label ``>= num_classes``; a class with fewer than ``min_per_class``
        samples (the message lists the class counts).

    Example:
      >>> check_classes(load_breast_cancer().y, min_per_class=2)
      2
      >>> check_classes(np.array([0, 2, 2, 0]))  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: y: expected at least 1 sample in each of the 3 classes 0..2, got class 1 ...
    """
    min_per_class = checks.positive_int("min_per_class", min_per_class, minimum=1)
    if num_classes is not None:
        num_classes = checks.positive_int("num_classes", num_classes, minimum=2)
    host = np.asarray(y)
    if host.ndim != 1 or host.size == 0:
        raise ValueError(f"y: expected a non-empty 1-D array of class ids, got shape {host.shape}")
    checks.class_labels("y", host, host.shape[0], None)  # non-negative integers
    labels = host.astype(np.int64)
    top = int(labels.max())
    if num_classes is not None and top >= num_classes:
        raise ValueError(
            f"num_classes: expected more classes than the largest label {top} (labels are "
            f"class ids 0..K-1), got num_classes={num_classes}; pass num_classes={top + 1}"
        )
    k = top + 1 if num_classes is None else num_classes
    if k < 2:
        raise ValueError(
            f"y: expected at least 2 classes, got only class 0 (all {labels.size} labels are 0)"
        )
    counts = np.bincount(labels, minlength=k)
    few = np.flatnonzero(counts < min_per_class)
    if few.size:
        shown = ", ".join(f"{c}: {counts[c]}" for c in range(min(k, 12))) + (
            ", ..." if k > 12 else "")
        c = int(few[0])
        more = f" (and {few.size - 1} more such classes)" if few.size > 1 else ""
        gap = ("; labels are class ids 0..K-1, so remap them to leave no gap"
               if counts[c] == 0 and c < top else "")
        raise ValueError(
            f"y: expected at least {min_per_class} sample{'s' if min_per_class > 1 else ''} in "
            f"each of the {k} classes 0..{k - 1}, got class {c} with {counts[c]} "
            f"sample{'' if counts[c] == 1 else 's'}{more} (counts per class: {shown}){gap}"
        )
    return k


# ---------------------------------------------------------------------------
# Standardisation
# ---------------------------------------------------------------------------


def standardize(X, *, mean=None, scale=None):
    """Shift and scale each column of ``X`` to zero mean and unit variance.

    ``mean`` is the column mean and ``scale`` the column standard deviation
    (population, ``ddof=0``).  A column whose standard deviation is zero (or
    within float rounding of zero relative to its mean: ``std <= n * eps * |mean|``)
    gets ``scale = 1``, so it maps to (about) zero instead of dividing by zero;
    the output never contains NaN or inf from a constant column.  To apply a
    transform fitted on training data to new data, pass that ``mean`` and
    ``scale`` back in (both, or neither).  Works on NumPy or JAX input and
    returns JAX arrays; integer input is promoted to the default float dtype.

    Args:
      X: array of shape ``(n, d)``.
      mean: optional fitted column means, shape ``(d,)``.
      scale: optional fitted column scales, shape ``(d,)``.

    Returns:
      ``(Xs, mean, scale)`` with ``Xs = (X - mean) / scale``.

    Example:
      >>> ds = load_breast_cancer()
      >>> Xs, mu, sd = standardize(ds.X[:400])
      >>> bool(np.allclose(mu, ds.X[:400].mean(0))), bool(np.allclose(sd, ds.X[:400].std(0)))
      (True, True)
      >>> [round(float(v), 4) for v in (abs(Xs.mean(0)).max(), Xs.std(0).min(), Xs.std(0).max())]
      [0.0, 1.0, 1.0]
      >>> Xs_test, _, _ = standardize(ds.X[400:], mean=mu, scale=sd)
      >>> Xs_test.shape, bool(np.allclose(Xs_test * sd[None] + mu[None], ds.X[400:], rtol=1e-5))
      ((169, 30), True)
    """
    X = jnp.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X: expected a 2-D array (n, d), got shape {X.shape}")
    if X.dtype == jnp.bool_:
        raise TypeError("X: expected numeric features, got dtype bool")
    if not jnp.issubdtype(X.dtype, jnp.inexact):
        X = X.astype(jnp.result_type(float))
    X = checks.float_array("X", X)  # NaN/inf would spread into every mean and scale
    if (mean is None) != (scale is None):
        raise ValueError(
            "mean, scale: expected both (to apply a fitted transform) or neither (to fit), "
            f"got mean={'None' if mean is None else 'an array'}, "
            f"scale={'None' if scale is None else 'an array'}"
        )
    n, d = X.shape
    if mean is None:
        if n < 1:
            raise ValueError(f"X: expected at least 1 row to fit on, got shape {X.shape}")
        return _fit_standardize(X)
    mean = jnp.asarray(mean, dtype=X.dtype)
    scale = jnp.asarray(scale, dtype=X.dtype)
    for label, a in (("mean", mean), ("scale", scale)):
        if a.shape != (d,):
            raise ValueError(f"{label}: expected shape ({d},) to match X, got {a.shape}")
        checks.float_array(label, a)
    if checks.is_concrete(scale) and bool(jnp.any(scale <= 0)):
        raise ValueError(
            f"scale: expected positive column scales (as standardize returns), got "
            f"{int(jnp.sum(scale <= 0))} entries <= 0"
        )
    return _apply_standardize(X, mean, scale), mean, scale


def _power_of_two_below(a):
    """The largest power of two ``<= a`` per entry, kept within ``2**+-(maxexp - 4)`` (1 where
    ``a`` is 0): dividing by it is exact.

    Read off the exponent (``frexp``), never rounded through ``log2`` (near the largest float a
    rounded logarithm gives ``2**1024 = inf``). The clip keeps ``1 / m`` a normal number: XLA on
    CPU divides by multiplying with the reciprocal and flushes subnormals to zero, so
    ``1e308 / 2**1023`` would be 0; within the clip ``|a| / m <= 16``, whose square is finite."""
    _, e = jnp.frexp(a)
    top = jnp.finfo(a.dtype).maxexp - 4
    one = jnp.ones_like(a)
    return jnp.where(a > 0, jnp.ldexp(one, jnp.clip(e - 1, -top, top)), one)


@jax.jit
def _apply_standardize(X, mean, scale):
    # (X - mean) / scale, with each column first divided by a power of two m >= 1 near its
    # scale. Dividing by m is exact, so the result is the same number (bar subnormals far below
    # the column's scale); but X - mean no longer overflows when |X| and |mean| near the
    # largest float (1e308 and -1e308 in one column).
    m = jnp.maximum(_power_of_two_below(scale), 1.0)
    return (X / m[None, :] - (mean / m)[None, :]) / (scale / m)[None, :]


@jax.jit
def _fit_standardize(X):
    # Scale first: each column divided (exactly) by the power of two at or below its largest
    # |value|, so that the sums of the mean and of the squares cannot overflow (1e308 + 1e308)
    # nor the squares underflow (1e-200 ** 2); the mean and the standard deviation are the same
    # numbers as the direct formulas give when those do not overflow, multiplied back by m.
    n = X.shape[0]
    m = _power_of_two_below(jnp.max(jnp.abs(X), axis=0))
    Xm = X / m[None, :]
    mean_m = jnp.mean(Xm, axis=0)
    std_m = jnp.sqrt(jnp.mean(jnp.square(Xm - mean_m[None, :]), axis=0))
    eps = jnp.finfo(X.dtype).eps
    constant = std_m <= n * eps * jnp.abs(mean_m)  # also true for std == 0 exactly
    mean = mean_m * m  # |mean|, std <= max |X|: no overflow multiplying back
    scale = jnp.where(constant, jnp.ones_like(std_m), std_m * m)
    return _apply_standardize(X, mean, scale), mean, scale


# ---------------------------------------------------------------------------
# Synthetic generators
# ---------------------------------------------------------------------------


def _check_float_dtype(dtype):
    return checks.float_dtype("dtype", dtype)


def make_logistic(key, n, d, *, dtype=jnp.float32, scale=1.0):
    """Draw a non-separable binary problem from a logistic model.

    ``X ~ N(0, I)``; ``(w_true, b_true) ~ N(0, scale**2 / (d + 1))`` jointly, so the
    logit ``X @ w_true + b_true`` has standard deviation about ``scale``; labels
    ``y ~ Bernoulli(sigmoid(X @ w_true + b_true))``.  Because the labels are
    random given ``X``, for ``n >> d`` the data are (with overwhelming
    probability) not linearly separable and the maximum-likelihood fit is finite.
    Larger ``scale`` means cleaner labels.  Same key -> identical arrays.

    Args:
      key: a JAX PRNG key.
      n: number of samples, an integer >= 1.
      d: number of features, an integer >= 1.
      dtype: floating dtype of every returned array (float64 needs jax x64 enabled).
      scale: size of the true logit, a finite number >= 0 (0 gives coin-flip labels).

    Returns:
      ``(X, y, w_true, b_true)``: ``X`` (n, d), ``y`` (n,) with values {0., 1.},
      ``w_true`` (d,), ``b_true`` () -- all of ``dtype``.

    Example:
      >>> X, y, w, b = make_logistic(jax.random.key(0), 500, 5)
      >>> X.shape, y.dtype
      ((500, 5), dtype('float32'))
    """
    n = checks.positive_int("n", n, minimum=1)
    d = checks.positive_int("d", d, minimum=1)
    dt = _check_float_dtype(dtype)
    scale = float(checks.scalar("scale", scale, low=0))
    return _logistic(key, jnp.asarray(scale / math.sqrt(d + 1), dt), n=n, d=d, dtype=dt)


@functools.partial(jax.jit, static_argnames=("n", "d", "dtype"))
def _logistic(key, w_scale, *, n, d, dtype):
    k_x, k_w, k_y = jax.random.split(key, 3)
    X = jax.random.normal(k_x, (n, d), dtype=dtype)
    v = jax.random.normal(k_w, (d + 1,), dtype=dtype) * w_scale
    w_true, b_true = v[:d], v[d]
    p = jax.nn.sigmoid(X @ w_true + b_true)
    y = jax.random.bernoulli(k_y, p).astype(dtype)
    return X, y, w_true, b_true


def make_separable(key, n, d, *, margin=0.5, dtype=jnp.float32):
    """Draw a strictly linearly separable binary problem with a guaranteed margin.

    ``w_true`` is a random unit vector and ``b_true ~ N(0, 0.25)``.  Points start
    as ``N(0, I)``; each is then pushed ``margin`` further from the hyperplane
    ``{x : x @ w_true + b_true = 0}`` along ``w_true`` (away from it, on its own
    side), so every point lies at geometric distance ``>= margin`` from the
    hyperplane, and ``y = 1[X @ w_true + b_true > 0]``.  (With small ``n`` one class
    can be absent or rare.)  Same key -> identical arrays.

    Args:
      key: a JAX PRNG key.
      n: number of samples, an integer >= 1.
      d: number of features, an integer >= 1.
      margin: the guaranteed distance to the separating hyperplane, a finite number > 0.
      dtype: floating dtype of every returned array (float64 needs jax x64 enabled).

    Returns:
      ``(X, y, w_true, b_true)``: ``X`` (n, d), ``y`` (n,) with values {0., 1.},
      ``w_true`` (d,) with unit norm, ``b_true`` () -- all of ``dtype``.

    Example:
      >>> X, y, w, b = make_separable(jax.random.key(0), 200, 2, margin=0.5)
      >>> bool(jnp.all(jnp.abs(X @ w + b) >= 0.5 - 1e-5))
      True
    """
    n = checks.positive_int("n", n, minimum=1)
    d = checks.positive_int("d", d, minimum=1)
    dt = _check_float_dtype(dtype)
    margin = float(checks.scalar("margin", margin, low=0, low_open=True))
    return _separable(key, jnp.asarray(margin, dt), n=n, d=d, dtype=dt)


@functools.partial(jax.jit, static_argnames=("n", "d", "dtype"))
def _separable(key, margin, *, n, d, dtype):
    k_x, k_w, k_b = jax.random.split(key, 3)
    w = jax.random.normal(k_w, (d,), dtype=dtype)
    w_true = w / jnp.linalg.norm(w)
    b_true = jax.random.normal(k_b, (), dtype=dtype) * jnp.asarray(0.5, dtype)
    X0 = jax.random.normal(k_x, (n, d), dtype=dtype)
    side = jnp.where(X0 @ w_true + b_true >= 0, 1.0, -1.0).astype(dtype)
    X = X0 + (margin * side)[:, None] * w_true[None, :]
    y = (side > 0).astype(dtype)
    return X, y, w_true, b_true


def make_multiclass(key, n, d, k, *, dtype=jnp.float32, scale=1.0):
    """Draw a non-separable ``k``-class problem from a softmax (multinomial logistic) model.

    ``X ~ N(0, I)``; weights ``W ~ N(0, scale**2 / (d + 1))`` of shape (d, k) and
    biases ``b`` likewise of shape (k,); each label is drawn from
    ``Categorical(softmax(x @ W + b))``, so for ``n >> d`` the classes overlap.
    Same key -> identical arrays.

    Args:
      key: a JAX PRNG key.
      n: number of samples, an integer >= 1.
      d: number of features, an integer >= 1.
      k: number of classes, an integer >= 2.
      dtype: floating dtype of ``X`` (float64 needs jax x64 enabled).
      scale: size of the true logits, a finite number >= 0.

    Returns:
      ``(X, y)``: ``X`` (n, d) of ``dtype``; ``y`` (n,) int32 class ids in ``0..k-1``.

    Example:
      >>> X, y = make_multiclass(jax.random.key(0), 300, 4, 3)
      >>> X.shape, y.dtype
      ((300, 4), dtype('int32'))
    """
    n = checks.positive_int("n", n, minimum=1)
    d = checks.positive_int("d", d, minimum=1)
    k = checks.positive_int("k", k, minimum=2)
    dt = _check_float_dtype(dtype)
    scale = float(checks.scalar("scale", scale, low=0))
    return _multiclass(key, jnp.asarray(scale / math.sqrt(d + 1), dt), n=n, d=d, k=k, dtype=dt)


@functools.partial(jax.jit, static_argnames=("n", "d", "k", "dtype"))
def _multiclass(key, w_scale, *, n, d, k, dtype):
    k_x, k_w, k_y = jax.random.split(key, 3)
    X = jax.random.normal(k_x, (n, d), dtype=dtype)
    Wb = jax.random.normal(k_w, (d + 1, k), dtype=dtype) * w_scale
    logits = X @ Wb[:d] + Wb[d][None, :]
    y = jax.random.categorical(k_y, logits, axis=-1).astype(jnp.int32)
    return X, y


def train_test_split(key, X, y, *, test_fraction=0.25):
    """Split rows into a training and a held-out part by a random permutation.

    Args:
      key: a JAX PRNG key (the split is a pure function of it).
      X: features ``(n, d)`` (NumPy or JAX).
      y: labels ``(n,)``.
      test_fraction: share of rows held out, in ``(0, 1)``; at least one row lands on each
        side.

    Returns:
      ``(X_train, y_train, X_test, y_test)`` as NumPy arrays.

    Example:
      >>> ds = load_breast_cancer()
      >>> Xtr, ytr, Xte, yte = train_test_split(jax.random.key(0), ds.X, ds.y)
      >>> Xtr.shape, Xte.shape  # 569 rows: round(0.25 * 569) = 142 held out
      ((427, 30), (142, 30))
      >>> rows = sorted(map(tuple, np.column_stack([ds.X, ds.y])))  # every row once, on one side
      >>> rows == sorted(map(tuple, np.column_stack([np.vstack([Xtr, Xte]), np.r_[ytr, yte]])))
      True
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X, y: expected shapes (n, d) and (n,), got {X.shape} and {y.shape}")
    checks.scalar("test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X: expected at least 2 rows to split, got {n}")
    n_test = min(max(1, round(test_fraction * n)), n - 1)
    perm = np.asarray(jax.random.permutation(key, n))
    test, train = perm[:n_test], perm[n_test:]
    return X[train], y[train], X[test], y[test]
