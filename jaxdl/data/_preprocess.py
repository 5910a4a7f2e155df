"""Preprocessing: class checks, standardisation and the train/test split."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import checks

__all__ = ["check_classes", "standardize", "train_test_split"]


def check_classes(y, *, num_classes: int | None = None, min_per_class: int = 1) -> int:
    """Check class ids ``y`` against a class count; return that count ``K``.

    The labels must be integer class ids ``0..K-1`` with at least ``min_per_class`` samples
    in every class: a class with no sample (labels ``{0, 2}``: class 1 is empty) or with
    too few has no well-defined fit (its intercept runs off to minus infinity), so it is an
    error here rather than a surprise in the fit.  ``K`` is ``num_classes`` when given,
    else ``max(y) + 1``.  A binary problem (``K == 2``) is logistic regression; ``K > 2``
    is the K-class model (:func:`jaxdl.multinomial.fit_classifier`).

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
      >>> from jaxdl.data import load_breast_cancer
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
      >>> from jaxdl.data import load_breast_cancer
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
      >>> from jaxdl.data import load_breast_cancer
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


def stratified_folds(y, folds, *, seed=0):
    """Each row's fold for ``folds``-fold cross-validation, stratified by class and seeded.

    Every class's rows, in an order shuffled by ``np.random.default_rng(seed)``, are dealt to
    the folds in turn, each class continuing where the previous one stopped: fold sizes differ
    by at most one and every class is spread evenly. These are the folds of
    ``cross_validate(folds=<int>, seed=seed)`` in :mod:`jaxdl.logistic` and
    :mod:`jaxdl.multinomial`; pass them to another library as ``(train, test)`` splits to
    compare on the same folds.

    Args:
      y: labels ``(n,)`` (any values; each distinct value is a class).
      folds: the number of folds, from 2 to ``n``.
      seed: the seed of the shuffle.

    Returns:
      int32 fold ids ``0..folds-1``, shape ``(n,)`` (NumPy).

    Example:
      >>> ids = stratified_folds(np.r_[np.zeros(6), np.ones(4)], 2, seed=0)
      >>> np.bincount(ids), np.bincount(ids[:6]), np.bincount(ids[6:])
      (array([5, 5]), array([3, 3]), array([2, 2]))
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y: expected labels of shape (n,), got shape {y.shape}")
    n = y.shape[0]
    if isinstance(folds, (bool, np.bool_)) or not isinstance(folds, (int, np.integer)):
        raise TypeError(f"folds: expected a fold count (an int), got {type(folds).__name__}")
    if not 2 <= int(folds) <= n:
        raise ValueError(f"folds: expected a fold count from 2 to the number of rows ({n}), "
                         f"got {int(folds)}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    k = int(folds)
    rng = np.random.default_rng(int(seed))
    ids = np.empty(n, np.int32)
    start = 0
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        rows = rows[rng.permutation(rows.size)]
        ids[rows] = (start + np.arange(rows.size)) % k
        start = (start + rows.size) % k
    return ids
