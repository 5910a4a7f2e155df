"""The bundled data sets (breast cancer, digits), read with :mod:`importlib.resources`, and
:func:`load`, which takes a bundled name or a CSV path."""

from __future__ import annotations

import gzip
import os
from importlib import resources

from jaxdl.data._csv import Dataset, load_csv, parse_csv

__all__ = ["BUNDLED", "load", "load_breast_cancer", "load_digits"]


def _load_bundled(file_name: str, *, name: str, target_names: tuple[str, ...]) -> Dataset:
    raw = resources.files("jaxdl").joinpath("datasets").joinpath(file_name).read_bytes()
    ds = parse_csv(
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
