"""The data a fitting command reads (``jaxdl fit``, ``jaxdl cv``): the flags of ``--data``, its
CSV options, ``--classes``, ``--dtype`` and ``--no-standardize``; loading the data with every
error named by the flag that caused it; the class check; the cast to the working dtype; and the
coefficients in the JSON reports.
"""

from __future__ import annotations

import argparse
import math
import os
import zlib

from jaxdl.cli.options import UsageError, delimiter, integer, label_column, library_error

_FILE_ERRORS = (ValueError, OSError, EOFError, zlib.error)  # a file that is not a data set


def add_data_arguments(p: argparse.ArgumentParser, *, standardize_rows: str) -> None:
    """The data flags; ``standardize_rows`` says which rows the standardisation is fitted on."""
    p.add_argument("--data", default="breast_cancer", metavar="NAME|PATH.csv",
                   help="breast_cancer | digits | the path of a CSV file (label in the last "
                   "column unless --label-column; default breast_cancer)")
    p.add_argument("--label-column", type=label_column, default=None, metavar="NAME|INDEX",
                   help="CSV only: the label column, by header name or 0-based index "
                   "(negative counts from the end; default -1, the last)")
    p.add_argument("--no-header", action="store_true",
                   help="CSV only: the file has no header row (features are named x0, x1, "
                   "...); without this flag a first row of numbers is an error")
    p.add_argument("--delimiter", type=delimiter, default=None, metavar="CHAR",
                   help="CSV only: the field separator, one character, or 'tab' (default ',')")
    p.add_argument("--classes", type=integer(2), default=None, metavar="K",
                   help="the number of classes: 2 fits logistic regression, K > 2 multinomial "
                   "regression; labels must be 0..K-1 with at least 2 samples each (default: 2 "
                   "for a CSV file, the data set's own count for bundled data)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point precision of the fits (default float64)")
    p.add_argument("--no-standardize", action="store_true",
                   help="fit the raw features (default: scale each to zero mean, unit variance "
                   f"on {standardize_rows})")


def finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None  # JSON has no NaN or inf


def coefficients(params, binary: bool, features, classes) -> dict:
    """The fitted intercept(s) and coefficients, keyed by class and feature name."""
    import numpy as np

    W, b = (np.asarray(p, dtype=np.float64) for p in params)
    if binary:
        return {"intercept": float(b),
                "coefficients": dict(zip(features, map(float, W), strict=True))}
    return {"intercept": dict(zip(classes, map(float, b), strict=True)),
            "coefficients": {c: dict(zip(features, map(float, row), strict=True))
                             for c, row in zip(classes, W, strict=True)}}


def load(args: argparse.Namespace):
    """The data set of --data, or a UsageError that names the flag to change."""
    from jaxdl import data

    csv_flags = {"--label-column": args.label_column, "--delimiter": args.delimiter,
                 "--no-header": True if args.no_header else None}
    given = [flag for flag, value in csv_flags.items() if value is not None]
    if args.data in data.BUNDLED:
        if given:
            raise UsageError(f"{', '.join(given)}: expected no CSV option for the bundled data "
                             f"set {args.data!r} (they apply to a CSV file)")
        return data.load(args.data)
    if not os.path.isfile(args.data):
        why = "a folder" if os.path.isdir(args.data) else "no such file"
        raise UsageError(f"--data: expected a bundled data set name "
                         f"({', '.join(sorted(data.BUNDLED))}) or the path of an existing CSV "
                         f"file, got {args.data!r} ({why})")
    if args.no_header and isinstance(args.label_column, str):
        raise UsageError(f"--label-column: a column name ({args.label_column!r}) needs a header "
                         "row, and --no-header says there is none; pass a 0-based index")
    # the flags the user typed, by the argument they feed (an error about the header row of a
    # file read without --no-header is about the file: --data)
    flags = {"label_column": "--label-column", "delimiter": "--delimiter"}
    if args.no_header:
        flags["header"] = "--no-header"

    def read(header: bool):
        return data.load(args.data, label_column=args.label_column, header=header,
                         delimiter=args.delimiter)

    try:
        return read(not args.no_header)
    except _FILE_ERRORS as err:
        error = library_error(err, flags, default="--data")
    try:  # is it the header row? then the file loads the other way
        read(args.no_header)
    except _FILE_ERRORS:
        raise error from None
    if args.no_header:
        raise UsageError(f"--no-header: line 1 of {args.data} holds column names (the file "
                         "loads with it as the header row); leave out --no-header") from None
    raise UsageError(f"--no-header: expected line 1 of {args.data} to hold column names, got a "
                     "row of numbers (the file loads as data only); pass --no-header if the "
                     "file has no header row") from None


def num_classes(args: argparse.Namespace, ds) -> int:
    """K from --classes and the labels of --data: checked, at least 2 samples per class; a CSV
    file is binary unless --classes says otherwise."""
    import numpy as np

    from jaxdl import data

    top = int(np.max(ds.y))
    if args.classes is not None and top >= args.classes:
        raise UsageError(f"--classes: expected more classes than the largest label {top} in "
                         f"{args.data} (labels are class ids 0..K-1), got --classes "
                         f"{args.classes}; pass --classes {top + 1}")
    bundled = args.data in data.BUNDLED
    declared = args.classes if args.classes is not None or not bundled else len(ds.target_names)
    try:
        k = data.check_classes(ds.y, num_classes=declared, min_per_class=2)
    except ValueError as err:
        raise library_error(err, {"y": f"labels of --data {args.data}",
                                  "num_classes": "--classes"}) from None
    if declared is None and k != 2:
        raise UsageError(
            f"--classes: expected binary labels {{0, 1}} (a CSV file is a logistic problem "
            f"unless --classes says otherwise), got labels 0..{k - 1} in {args.data}; pass "
            f"--classes {k} to fit a {k}-class multinomial model")
    return k


def as_dtype(X, args: argparse.Namespace, what: str):
    """``X`` in the --dtype, or a UsageError when its values overflow that dtype."""
    import jax.numpy as jnp
    import numpy as np

    dtype = jnp.dtype(args.dtype)
    big = float(np.max(np.abs(np.asarray(X, np.float64)), initial=0.0))
    if big > float(jnp.finfo(dtype).max):  # checked before the cast, which would give inf
        raise UsageError(f"--dtype {args.dtype}: expected values that {args.dtype} can hold, "
                         f"got {what} of --data {args.data} as large as {big:.3g}; leave out "
                         "--dtype float32 (float64 is the default)")
    return jnp.asarray(X, dtype)
