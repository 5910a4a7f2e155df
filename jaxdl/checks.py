"""Validation and matrix assertions: the one place where jaxdl checks its inputs.

Policy (used by every public entry point):

* Shapes, ranks and dtypes are static, so they are checked always, also under ``jit``/``vmap``,
  and a violation raises ``ValueError``/``TypeError`` naming the argument, what was expected and
  what came. They are plain ``if ...: raise`` checks: they validate arguments, so
  ``chex.disable_asserts()`` does not turn them off.
* Values (NaN/inf, labels outside their set, non-positive hyperparameters) are checked eagerly
  when the value is concrete. Under ``jit``/``vmap`` the value is a tracer: the check is skipped
  and solvers report the problem through their int32 ``status`` (see :mod:`jaxdl.results`).
* :func:`assert_psd` and :func:`assert_symmetric` are chex value assertions: called eagerly they
  raise ``AssertionError`` with the offending eigenvalue or asymmetry and the tolerance; inside a
  jitted function wrapped with ``chex.chexify`` they check the traced values through chex's
  public value assertions and the chexified call raises ``AssertionError`` with the same facts
  (call ``chex.block_until_chexify_assertions_complete()`` where a result is needed before the
  next call); ``chex.disable_asserts()`` turns them off, as it does chex's own.
  :func:`is_psd` and :func:`is_symmetric` are their jittable predicate forms (no chexify needed).

Example:
  >>> import chex, jax, jax.numpy as jnp
  >>> from jaxdl import checks
  >>> @chex.chexify
  ... @jax.jit
  ... def newton_direction(H, g):
  ...     checks.assert_psd(H)  # checked on the traced Hessian
  ...     return -jnp.linalg.solve(H, g)
  >>> newton_direction(jnp.eye(2), jnp.ones(2))
  Array([-1., -1.], dtype=float32)
  >>> chex.block_until_chexify_assertions_complete()  # a failed check raises here
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "is_concrete",
    "float_array",
    "common_dtype",
    "binary_labels",
    "class_labels",
    "scalar",
    "positive_int",
    "float_dtype",
    "shape_tuple",
    "vector",
    "default_rtol",
    "is_symmetric",
    "is_psd",
    "assert_symmetric",
    "assert_psd",
    "assert_shape",
    "assert_rank",
]

assert_shape = chex.assert_shape
assert_rank = chex.assert_rank

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds concrete values (not a tracer inside jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def _shape_text(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def float_array(
    name: str,
    x: Any,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[Any, ...] | None = None,
    allow_inf: bool = False,
    allow_nan: bool = False,
    min_size: int = 0,
) -> jax.Array:
    """Return ``x`` as a floating jax array after checking it; raise naming ``name``.

    Arrays must already have a floating dtype (float32/float64; float16/bfloat16 are accepted
    too): integer and bool arrays are rejected rather than silently cast. Python scalars and
    lists are converted to JAX's default float dtype.

    Args:
      name: the argument's name, used in error messages.
      x: the value.
      ndim: required rank (or a tuple of allowed ranks).
      shape: required shape; entries that are ``None`` are free, strings name a dimension in
        the message (e.g. ``("n", "d")``) and are free as well; ints must match.
      allow_inf: accept +-inf entries (NaN still rejected unless ``allow_nan``).
      allow_nan: accept NaN entries.
      min_size: every axis given by ``shape``/``ndim`` must have at least this length.

    Returns:
      A ``jax.Array`` with a floating dtype.
    """
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"{name}: expected a floating-point array (float32 or float64), got "
                            f"dtype {np.dtype(x.dtype)}")
        arr = jnp.asarray(x)
    elif isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a floating-point value, got bool {x!r}")
    elif isinstance(x, numbers.Real):
        # A Python scalar stays weakly typed, so it adopts the dtype of the arrays it meets.
        arr = jnp.asarray(float(x))
    elif isinstance(x, (list, tuple)):
        try:
            host = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: expected numbers, got {type(x).__name__}: {err}") from None
        if host.dtype.kind not in "iuf":
            # np.asarray(x, dtype=float) would parse "1.5" and turn True into 1.0: refuse both.
            raise TypeError(
                f"{name}: expected a {type(x).__name__} of real numbers, got entries of dtype "
                f"{host.dtype}"
            )
        arr = jnp.asarray(host.astype(float), dtype=jnp.result_type(float))
    else:
        raise TypeError(f"{name}: expected an array of floats, got {type(x).__name__}")

    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        extra = f" of shape {_shape_text(shape)}" if shape is not None else ""
        if arr.ndim not in allowed:
            raise ValueError(f"{name}: expected a {' or '.join(f'{a}-D' for a in allowed)} array"
                             f"{extra}, got {arr.ndim}-D shape {_shape_text(arr.shape)}")
    if shape is not None:
        # Named (str) and None entries are free; ints must match.
        if arr.ndim != len(shape):
            raise ValueError(f"{name}: expected a {len(shape)}-D array of shape "
                             f"{_shape_text(shape)}, got {arr.ndim}-D shape "
                             f"{_shape_text(arr.shape)}")
        if any(isinstance(want, int) and want != got for want, got in zip(shape, arr.shape,
                                                                      strict=True)):
            raise ValueError(f"{name}: expected shape {_shape_text(shape)}, got "
                             f"{_shape_text(arr.shape)}")
    if min_size and any(length < min_size for length in arr.shape):
        raise ValueError(f"{name}: expected every axis to have length >= {min_size}, got shape "
                         f"{_shape_text(arr.shape)}")
    if is_concrete(arr) and not (allow_inf and allow_nan):
        # Small host arrays are counted by NumPy (no per-shape compile, no copy on the CPU);
        # large ones, and arrays on an accelerator, by one jitted parallel reduction.
        on_host = isinstance(x, (np.ndarray, np.generic)) or all(
            dev.platform == "cpu" for dev in arr.devices()
        )
        what = "NaN" if allow_inf else "non-finite (NaN or inf)"
        if on_host and arr.size < _DEVICE_CHECK_SIZE:
            vals = np.asarray(arr)
            bad = int(np.sum(np.isnan(vals) if allow_inf else ~np.isfinite(vals)))
        else:
            # ensure_compile_time_eval: a concrete array closed over by a jitted function is
            # checked eagerly too, instead of turning the count into a tracer.
            with jax.ensure_compile_time_eval():
                bad = int(_count_bad(arr, allow_inf))
        if bad:
            raise ValueError(f"{name}: expected finite values, got {bad} {what} entries")
    return arr


# Arrays with at least this many entries are checked by a jitted reduction (multi-threaded,
# about 2x faster than NumPy's on the CPU; it compiles once per shape).
_DEVICE_CHECK_SIZE = 1 << 20


@functools.partial(jax.jit, static_argnums=1)
def _count_bad(x: jax.Array, allow_inf: bool) -> jax.Array:
    # Fast path: a float sum streams at memory speed (a count of booleans reduces ~15x slower
    # on the CPU). A NaN or inf entry makes the sum non-finite; so can overflow of finite
    # entries, so only then are the bad entries counted exactly.
    # The mask is built inside the slow branch: built outside, it is an operand of the cond
    # and is materialised on every call (measured 26 ms instead of 5 ms for 200000 x 200).
    total = jnp.sum(x.astype(jnp.float32) if x.dtype == jnp.float16 else x)
    clean = ~jnp.isnan(total) if allow_inf else jnp.isfinite(total)

    def count():
        bad = jnp.isnan(x) if allow_inf else ~jnp.isfinite(x)
        return jnp.sum(bad, dtype=jnp.int32)

    return jax.lax.cond(clean, lambda: jnp.zeros((), jnp.int32), count)


def common_dtype(**arrays: jax.Array) -> np.dtype:
    """Check that the named arrays share one float dtype and return it.

    Arrays that came from Python scalars (weakly typed) adopt the others' dtype and are not
    compared. Raises ``TypeError`` naming the argument whose dtype differs.
    """
    first_name, first = None, None
    for nm, a in arrays.items():
        if getattr(a, "weak_type", False):
            continue
        if first is None:
            first_name, first = nm, np.dtype(a.dtype)
        elif np.dtype(a.dtype) != first:
            raise TypeError(f"{nm}: expected dtype {first} (the dtype of {first_name}), got "
                            f"{np.dtype(a.dtype)}; cast the inputs to one float dtype")
    if first is None:
        first = np.dtype(jnp.result_type(float))
    return first


def binary_labels(name: str, y: Any, n: int, dtype: Any) -> jax.Array:
    """Labels in {0, 1} of shape ``(n,)``, returned in ``dtype``. Values checked eagerly."""
    if isinstance(y, (list, tuple)):
        y = np.asarray(y)
    if not hasattr(y, "shape"):
        raise TypeError(f"{name}: expected an array of 0/1 labels, got {type(y).__name__}")
    if tuple(y.shape) != (n,):
        raise ValueError(f"{name}: expected shape ({n},) (one 0/1 label per row of X), got "
                         f"{_shape_text(tuple(y.shape))}")
    if is_concrete(y):
        host = np.asarray(y)
        if host.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected numeric 0/1 labels, got dtype {host.dtype}")
        bad = ~((host == 0) | (host == 1))
        if bad.any():
            example = host[bad][0]
            raise ValueError(
                f"{name}: expected labels in {{0, 1}}, got {int(bad.sum())} other value(s), "
                f"e.g. {example!r}"
            )
    return jnp.asarray(y, dtype=dtype)


def class_labels(name: str, y: Any, n: int, k: int | None) -> jax.Array:
    """Integer class labels in ``0..k-1`` of shape ``(n,)``. Values checked eagerly.

    ``k=None`` (the number of classes is still to be inferred from ``y``) checks that the labels
    are non-negative integers that fit in int32.
    """
    if isinstance(y, (list, tuple)):
        y = np.asarray(y)
    if not hasattr(y, "shape"):
        raise ValueError(
            f"{name}: expected shape ({n},) (one class id per row of X), got {type(y).__name__}"
        )
    if tuple(y.shape) != (n,):
        raise ValueError(f"{name}: expected shape ({n},) (one class id per row of X), got "
                         f"{_shape_text(tuple(y.shape))}")
    if is_concrete(y):
        host = np.asarray(y)
        if host.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected integer class ids, got dtype {host.dtype}")
        top = np.iinfo(np.int32).max if k is None else k - 1
        with np.errstate(invalid="ignore"):
            bad = (host != np.round(host)) | (host < 0) | (host > top)
        if bad.any():
            want = "non-negative integer class ids" if k is None else (
                f"integer class ids in 0..{k - 1}")
            raise ValueError(
                f"{name}: expected {want}, got {int(bad.sum())} other value(s), e.g. "
                f"{host[bad][0]!r}"
            )
    return jnp.asarray(y).astype(jnp.int32)


def scalar(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Any:
    """Check a real hyperparameter against an interval (eagerly; tracers pass unchecked).

    Example: ``scalar("lr_w", lr_w, low=0, low_open=True)`` demands ``lr_w > 0``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a real number, got bool {value!r}")
    if not is_concrete(value):
        return value
    if isinstance(value, numbers.Real):  # int, float, Fraction, NumPy scalars
        v = float(value)
    else:
        try:
            host = np.asarray(value)
        except (TypeError, ValueError):
            host = np.asarray(None)
        # float(np.asarray("0.1")) parses text: demand a real number, not a string or an array.
        if host.ndim != 0 or host.dtype.kind not in "iuf":
            what = type(value).__name__
            if hasattr(value, "shape") and hasattr(value, "dtype"):
                what = f"{what} of shape {_shape_text(tuple(value.shape))} and dtype {value.dtype}"
            raise TypeError(f"{name}: expected a real number, got {what}")
        v = float(host)
    lo_txt = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
    hi_txt = "" if high is None else (f"< {high:g}" if high_open else f"<= {high:g}")
    want = " and ".join(t for t in (lo_txt, hi_txt) if t)
    ok = np.isfinite(v)
    if low is not None:
        ok = ok and (v > low if low_open else v >= low)
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        raise ValueError(f"{name}: expected a finite number{' ' + want if want else ''}, "
                         f"got {v!r}")
    return value


def positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """A static Python int ``>= minimum`` (step budgets, sizes)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {int(value)}")
    return int(value)


def float_dtype(name: str, dtype: Any) -> np.dtype:
    """A floating dtype argument (``None`` means JAX's default float dtype).

    Raises ``TypeError`` naming ``name`` for an integer, bool or unknown dtype (an integer dtype
    would silently truncate every result).
    """
    if dtype is None:
        return np.dtype(jnp.result_type(float))
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{name}: expected a floating dtype (float32 or float64), got {dtype!r}"
        ) from None
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"{name}: expected a floating dtype (float32 or float64), got {dt}")
    return dt


def shape_tuple(name: str, shape: Any) -> tuple[int, ...]:
    """A shape argument: a tuple or list of ints ``>= 0``, returned as a tuple of Python ints."""
    if not isinstance(shape, (tuple, list)):
        raise TypeError(
            f"{name}: expected a tuple of ints (e.g. (3,) or (2, 3)), got {type(shape).__name__}"
        )
    for s in shape:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{name}: expected a tuple of ints, got an entry {s!r}")
        if s < 0:
            raise ValueError(f"{name}: expected non-negative lengths, got {tuple(shape)!r}")
    return tuple(int(s) for s in shape)


def vector(name: str, v: Any, length: int, what: str) -> jax.Array:
    """A float vector of shape ``(length,)``, checked by :func:`float_array` and chex.

    Args:
      name: the argument's name, used in error messages.
      v: the value.
      length: the required length.
      what: why that length, for the message (e.g. ``"one noise factor per weight"``).

    Returns:
      ``v`` as a floating jax array of shape ``(length,)``.

    Example:
      >>> from jaxdl import checks
      >>> checks.vector("beta", [1.0, 2.0, 3.0], 2, "one noise factor per weight")
      Traceback (most recent call last):
      ...
      ValueError: beta: expected shape (2,) (one noise factor per weight), got shape (3,)
    """
    v = float_array(name, v, ndim=1)
    if v.shape != (length,):
        raise ValueError(f"{name}: expected shape ({length},) ({what}), got shape "
                         f"{_shape_text(v.shape)}")
    return v


# ----------------------------------------------------------------------------------------------
# Symmetric / PSD matrices.


def default_rtol(dtype: Any, size: int) -> float:
    """Default relative tolerance for symmetry/PSD checks of a ``size x size`` matrix.

    Rounding in forming a matrix and in its eigendecomposition moves eigenvalues by a few
    ``size * eps * ||H||``; the default is ``4 * max(size, 16) * eps``.
    """
    return 4.0 * max(int(size), 16) * float(jnp.finfo(dtype).eps)


def _square(name: str, H: Any) -> jax.Array:
    H = float_array(name, H, allow_inf=True, allow_nan=True)
    if H.ndim < 2 or H.shape[-1] != H.shape[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a batch of them) of shape "
                         f"(..., d, d), got shape {_shape_text(H.shape)}")
    return H


@jax.jit
def _asymmetry(H: jax.Array) -> tuple[jax.Array, jax.Array]:
    HT = jnp.swapaxes(H, -1, -2)
    asym = jnp.max(jnp.abs(H - HT), axis=(-2, -1))
    scale = jnp.max(jnp.abs(H), axis=(-2, -1))
    return asym, scale


@jax.jit  # one compilation per shape for the eager assertions, not one per operation
def _eig_extremes(H: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(lam_min, max|eig|, unit)`` of ``sym(H)``, the eigenvalues in units of ``unit``.

    ``unit = max|H|`` (1 for ``H = 0``): the eigenvalues are computed for ``H / unit``, since
    forming ``(H + H^T) / 2`` (as ``eigvalsh`` does) overflows for entries above half the
    largest float, which made a finite PD matrix look non-PSD (eigenvalue NaN).
    """
    unit = jnp.max(jnp.abs(H), axis=(-2, -1), keepdims=True)
    unit = jnp.where(unit > 0, unit, jnp.ones_like(unit))
    # Two divisions by sqrt(unit): XLA may divide by multiplying with the reciprocal, and
    # 1 / unit is subnormal (flushed to 0 on CPU) when unit is near the largest float.
    root = jnp.sqrt(unit)
    Hs = (H / root) / root
    ev = jnp.linalg.eigvalsh(0.5 * (Hs + jnp.swapaxes(Hs, -1, -2)))
    return ev[..., 0], jnp.max(jnp.abs(ev), axis=-1), unit[..., 0, 0]


def _batch_element(flat_index: int, shape: tuple[int, ...]) -> str:
    if not shape:
        return ""
    idx = tuple(int(j) for j in np.unravel_index(flat_index, shape))
    return f" (batch element {idx})"


def is_symmetric(H: Any, *, rtol: float | None = None, atol: float = 0.0) -> jax.Array:
    """Jittable: ``max|H - H^T| <= rtol * max|H| + atol`` (batched over leading axes)."""
    H = _square("H", H)
    rtol = default_rtol(H.dtype, H.shape[-1]) if rtol is None else rtol
    asym, scale = _asymmetry(H)
    return jnp.isfinite(scale) & (asym <= rtol * scale + atol)


def is_psd(H: Any, *, rtol: float | None = None, atol: float = 0.0) -> jax.Array:
    """Jittable: the smallest eigenvalue of sym(H) is ``>= -(rtol * max|eig| + atol)``.

    ``sym(H) = (H + H^T) / 2``: for a real matrix, ``v^T H v = v^T sym(H) v``. A matrix with a
    NaN or inf entry is never PSD. Batched over leading axes.
    """
    H = _square("H", H)
    rtol = default_rtol(H.dtype, H.shape[-1]) if rtol is None else rtol
    finite = jnp.all(jnp.isfinite(H), axis=(-2, -1))
    safe = jnp.where(finite[..., None, None], H, jnp.zeros_like(H))
    lam_min, scale, unit = _eig_extremes(safe)
    return finite & (lam_min >= -(rtol * scale + atol / unit))


def _assert_symmetric_eager(
    H: Any, *, rtol: float | None = None, atol: float = 0.0, name: str = "H"
) -> None:
    H = _square(name, H)
    rtol = default_rtol(H.dtype, H.shape[-1]) if rtol is None else rtol
    asym, scale = (np.asarray(a) for a in _asymmetry(H))
    tol = rtol * scale + atol
    bad = ~(asym <= tol)
    if bad.any():
        i = int(np.argmax(np.where(bad, asym - tol, -np.inf).ravel()))
        a, t = asym.ravel()[i], tol.ravel()[i]
        where = _batch_element(i, asym.shape)
        raise AssertionError(
            f"{name} is not symmetric{where}: largest asymmetry max|H - H^T| = {a:.3e} exceeds "
            f"the tolerance {t:.3e} (rtol {rtol:.1e} x max|H| {scale.ravel()[i]:.3e} + atol "
            f"{atol:.1e})"
        )


def _assert_psd_eager(
    H: Any, *, rtol: float | None = None, atol: float = 0.0, name: str = "H"
) -> None:
    H = _square(name, H)
    if not bool(np.all(np.isfinite(np.asarray(H)))):
        raise AssertionError(f"{name} is not positive semidefinite: it has NaN or inf entries")
    rtol = default_rtol(H.dtype, H.shape[-1]) if rtol is None else rtol
    lam_s, scale_s, unit = (np.asarray(a, np.float64) for a in _eig_extremes(H))
    bad = ~(lam_s >= -(rtol * scale_s + atol / unit))
    # For the message, in the units of H (float64 on the host: no overflow for float32 H).
    lam_min, scale = lam_s * unit, scale_s * unit
    tol = rtol * scale + atol
    if bad.any():
        i = int(np.argmin(np.where(bad, (lam_s + rtol * scale_s + atol / unit), np.inf).ravel()))
        where = _batch_element(i, lam_min.shape)
        raise AssertionError(
            f"{name} is not positive semidefinite{where}: smallest eigenvalue "
            f"{lam_min.ravel()[i]:.3e} < -{tol.ravel()[i]:.3e} (tolerance: rtol {rtol:.1e} x "
            f"largest |eigenvalue| {scale.ravel()[i]:.3e} + atol {atol:.1e})"
        )


def _traced_batch_element(flat_index: jax.Array, shape: tuple[int, ...],
                          first: int) -> tuple[str, tuple]:
    """The ``(batch element (i, j))`` text as positional format fields ``{first}, ...`` and
    their traced values."""
    if not shape:
        return "", ()
    idx = jnp.unravel_index(flat_index, shape)
    fields = ", ".join(f"{{{first + k}}}" for k in range(len(shape)))
    return f" (batch element ({fields}{',' if len(shape) == 1 else ''}))", tuple(idx)


def _traced_check(ok: jax.Array, message: str, values: tuple) -> None:
    """Fail the enclosing ``chex.chexify`` call with ``message`` (positional format fields
    filled from the traced ``values``) unless ``ok``: chex's public value assertion, so
    ``chex.disable_asserts()`` and chexify's error handling apply as to chex's own."""
    chex.assert_trees_all_equal(jnp.asarray(ok), jnp.asarray(True), custom_message=message,
                                custom_message_format_vars=values)


def _assert_symmetric_traced(
    H: Any, *, rtol: Any = None, atol: Any = 0.0, name: str = "H"
) -> None:
    """The chexify form of :func:`assert_symmetric` on traced values."""
    H = _square(name, H)
    rtol = default_rtol(H.dtype, H.shape[-1]) if rtol is None else rtol
    asym, scale = _asymmetry(H)
    tol = rtol * scale + atol
    ok = jnp.isfinite(scale) & (asym <= tol)
    i = jnp.argmax(jnp.where(ok, -jnp.inf, asym - tol).ravel())
    where, idx = _traced_batch_element(i, asym.shape, 5)
    _traced_check(
        jnp.all(ok),
        f"{name} is not symmetric{where}: largest asymmetry max|H - H^T| = {{0:.3e}} exceeds "
        "the tolerance {1:.3e} (rtol {2:.1e} x max|H| {3:.3e} + atol {4:.1e})",
        (asym.ravel()[i], tol.ravel()[i], jnp.asarray(rtol), scale.ravel()[i],
         jnp.asarray(atol), *idx),
    )


def _assert_psd_traced(
    H: Any, *, rtol: Any = None, atol: Any = 0.0, name: str = "H"
) -> None:
    """The chexify form of :func:`assert_psd` on traced values."""
    H = _square(name, H)
    rtol = default_rtol(H.dtype, H.shape[-1]) if rtol is None else rtol
    finite = jnp.all(jnp.isfinite(H), axis=(-2, -1))
    _traced_check(jnp.all(finite),
                  f"{name} is not positive semidefinite: it has NaN or inf entries", ())
    safe = jnp.where(finite[..., None, None], H, jnp.zeros_like(H))
    lam_s, scale_s, unit = _eig_extremes(safe)
    margin = lam_s + (rtol * scale_s + atol / unit)  # >= 0 passes, in the units `unit`
    ok = finite & (margin >= 0)
    i = jnp.argmin(jnp.where(finite, margin, jnp.inf).ravel())
    where, idx = _traced_batch_element(i, lam_s.shape, 5)
    scale = (scale_s * unit).ravel()[i]
    _traced_check(
        jnp.all(ok | ~finite),
        f"{name} is not positive semidefinite{where}: smallest eigenvalue {{0:.3e}} < "
        "-{1:.3e} (tolerance: rtol {2:.1e} x largest |eigenvalue| {3:.3e} + atol {4:.1e})",
        ((lam_s * unit).ravel()[i], rtol * scale + atol, jnp.asarray(rtol), scale,
         jnp.asarray(atol), *idx),
    )


def _asserts_enabled() -> bool:
    """Whether chex's assertions are on: ``chex.disable_asserts()`` switches jaxdl's value
    assertions off with chex's own. Read through chex's public API: an assertion that always
    fails raises only while assertions are enabled."""
    try:
        chex.assert_equal(0, 1)
    except AssertionError:
        return True
    return False


def _value_assertion(eager: Any, traced: Any) -> Any:
    """A value assertion: concrete arguments go to ``eager`` (jaxdl's own message, no chex
    prefix); traced ones to ``traced``, which needs ``chex.chexify`` as chex's own value
    assertions do."""

    @functools.wraps(eager)
    def assertion(H: Any, *, rtol: Any = None, atol: Any = 0.0, name: str = "H") -> None:
        if not _asserts_enabled():
            return
        if is_concrete(H) and is_concrete(rtol) and is_concrete(atol):
            eager(H, rtol=rtol, atol=atol, name=name)
            return
        try:
            traced(H, rtol=rtol, atol=atol, name=name)
        except RuntimeError as err:  # traced outside chex.chexify
            raise RuntimeError(
                f"{err} (jaxdl.checks.{eager.__name__[1:-6]} on traced values; for a "
                "jittable boolean without chexify use is_psd / is_symmetric)"
            ) from err

    return assertion


def assert_symmetric(
    H: Any, *, rtol: float | None = None, atol: float = 0.0, name: str = "H"
) -> None:
    """Assert that ``H`` (or each matrix of a batch) is symmetric to a tolerance.

    The test is ``max|H - H^T| <= rtol * max|H| + atol`` (:func:`is_symmetric`). Eager, or
    inside a jitted function wrapped with ``chex.chexify`` (a chex value assertion).

    Args:
      H: a matrix ``(d, d)`` or a batch ``(..., d, d)``.
      rtol: relative tolerance (default :func:`default_rtol`).
      atol: absolute tolerance.
      name: the name used in the message.

    Raises:
      AssertionError: naming the largest asymmetry ``max|H - H^T|`` and the tolerance (under
        ``chexify``, raised by the chexified call).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import checks
      >>> checks.assert_symmetric(jnp.array([[1.0, 2.0], [2.5, 1.0]]))
      Traceback (most recent call last):
      ...
      AssertionError: H is not symmetric: largest asymmetry max|H - H^T| = 5.000e-01 exceeds ...
    """
    _assert_symmetric(H, rtol=rtol, atol=atol, name=name)


def assert_psd(H: Any, *, rtol: float | None = None, atol: float = 0.0, name: str = "H") -> None:
    """Assert that ``H`` (or each matrix of a batch) is positive semidefinite.

    The test is on the symmetric part's smallest eigenvalue ``lam_min``:
    ``lam_min >= -(rtol * max|eigenvalue| + atol)``, with ``rtol`` from :func:`default_rtol`
    unless given, so rounding does not raise false alarms while a negative eigenvalue of
    relative size ``1e-3`` is caught (float32 up to ``d`` of a few hundred). Eager, or inside a
    jitted function wrapped with ``chex.chexify`` (a chex value assertion).

    Args:
      H: a matrix ``(d, d)`` or a batch ``(..., d, d)``.
      rtol: relative tolerance (default :func:`default_rtol`).
      atol: absolute tolerance.
      name: the name used in the message.

    Raises:
      AssertionError: giving the smallest eigenvalue and the tolerance (under ``chexify``,
        raised by the chexified call).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl import checks
      >>> checks.assert_psd(jnp.array([[2.0, 0.0], [0.0, 1.0]]))  # passes silently
      >>> checks.assert_psd(jnp.array([[1.0, 0.0], [0.0, -1.0]]), name="hess")
      Traceback (most recent call last):
      ...
      AssertionError: hess is not positive semidefinite: smallest eigenvalue -1.000e+00 < ...
    """
    _assert_psd(H, rtol=rtol, atol=atol, name=name)


_assert_symmetric = _value_assertion(_assert_symmetric_eager, _assert_symmetric_traced)
_assert_psd = _value_assertion(_assert_psd_eager, _assert_psd_traced)
