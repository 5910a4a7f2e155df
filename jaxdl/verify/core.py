"""The identity registry and its runner (see :mod:`jaxdl.verify`)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import checks
from jaxdl._compat import enable_x64

__all__ = [
    "Identity",
    "Outcome",
    "REGISTRY",
    "register",
    "psd_identity",
    "check",
    "run",
    "DTYPES",
]

DTYPES = ("float64", "float32")


@dataclasses.dataclass(frozen=True, eq=False)
class Identity:
    """One verified identity: a closed form against its autodiff reference.

    Attributes:
      name: unique registry key, e.g. ``"logistic.grad_w"``.
      seed: the seed question, e.g. ``"Q1"``.
      statement: the identity in one line of maths.
      closed_form: ``args -> pytree``: the formula under test.
      reference: ``args -> pytree`` of the same structure: autodiff (``jax.grad``,
        ``jax.hessian``, ``jax.vjp`` ...) or the exact value a property demands.
      sample: ``(key, dtype) -> args``: draws one random input.
      rtol: tolerance on the normwise relative error, per dtype name.
      scale: ``args -> scalar``; the error is divided by it. Default: ``max|reference|``.
        A property ``P(args) == 0`` sets it to the natural size of the quantity; a statistical
        identity sets it to the standard error (so the error reads in standard errors).
      kind: ``"exact"`` (a closed form: the error is a relative error and float64 tolerances
        are at most 1e-10), ``"statistical"`` (a Monte-Carlo estimate: the error is in standard
        errors) or ``"asymptotic"`` (a limit: the error is in units of the predicted
        first-order gap).
    """

    name: str
    seed: str
    statement: str
    closed_form: Callable[..., Any]
    reference: Callable[..., Any]
    sample: Callable[[jax.Array, Any], tuple]
    rtol: Mapping[str, float]
    scale: Callable[..., Any] | None = None
    kind: str = "exact"


KINDS = ("exact", "statistical", "asymptotic")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The worst error of one identity over its trials in one dtype."""

    name: str
    seed: str
    kind: str
    dtype: str
    max_abs: float
    max_rel: float
    tol: float
    ok: bool
    trials: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


REGISTRY: dict[str, Identity] = {}


def register(identity: Identity) -> Identity:
    """Add ``identity`` to :data:`REGISTRY` (names are unique)."""
    if identity.name in REGISTRY:
        raise ValueError(f"identity {identity.name!r} is registered twice")
    if identity.kind not in KINDS:
        raise ValueError(f"identity {identity.name!r}: kind must be one of {KINDS}, got "
                         f"{identity.kind!r}")
    if identity.kind == "exact" and identity.rtol.get("float64", 0.0) > 1e-10:
        raise ValueError(f"identity {identity.name!r}: an exact identity's float64 tolerance "
                         f"must be <= 1e-10, got {identity.rtol['float64']}")
    missing = [d for d in DTYPES if d not in identity.rtol]
    if missing:
        raise ValueError(f"identity {identity.name!r}: rtol has no entry for {missing}")
    REGISTRY[identity.name] = identity
    return identity


def _neg_part_min_eig(H: jax.Array) -> jax.Array:
    ev = jnp.linalg.eigvalsh(0.5 * (H + jnp.swapaxes(H, -1, -2)))
    return jnp.maximum(-ev[..., 0], 0.0)


def _max_abs_eig(H: jax.Array) -> jax.Array:
    return jnp.max(jnp.abs(jnp.linalg.eigvalsh(0.5 * (H + jnp.swapaxes(H, -1, -2)))))


def psd_identity(
    name: str,
    seed: str,
    statement: str,
    matrix: Callable[..., jax.Array],
    sample: Callable[[jax.Array, Any], tuple],
    size: int,
) -> Identity:
    """An identity stating that ``matrix(*args)`` is PSD.

    The error is the negative part of the smallest eigenvalue relative to the largest
    ``|eigenvalue|``; the tolerance is :func:`jaxdl.checks.default_rtol` for the matrix size, the
    same one :func:`jaxdl.checks.assert_psd` uses.
    """
    return Identity(
        name=name,
        seed=seed,
        statement=statement,
        closed_form=lambda *a: _neg_part_min_eig(matrix(*a)),
        reference=lambda *a: jnp.zeros((), matrix(*a).dtype),
        sample=sample,
        rtol={d: checks.default_rtol(d, size) for d in DTYPES},
        scale=lambda *a: _max_abs_eig(matrix(*a)),
    )


@functools.cache
def _errors(identity: Identity) -> Callable:
    def errs(*args):
        got = identity.closed_form(*args)
        want = identity.reference(*args)
        if jax.tree.structure(got) != jax.tree.structure(want):
            raise TypeError(
                f"identity {identity.name!r}: closed form and reference return different "
                f"structures: {jax.tree.structure(got)} vs {jax.tree.structure(want)}"
            )
        diffs = [jnp.max(jnp.abs(g - r)) for g, r in zip(jax.tree.leaves(got),
                                                          jax.tree.leaves(want), strict=True)]
        abs_err = jnp.max(jnp.stack(diffs))
        if identity.scale is None:
            scale = jnp.max(jnp.stack([jnp.max(jnp.abs(r)) for r in jax.tree.leaves(want)]))
        else:
            scale = jnp.asarray(identity.scale(*args))
        return abs_err, scale

    return jax.jit(errs)


def check(identity: Identity, *, dtype: str = "float64", seed: int = 0,
          trials: int = 3) -> Outcome:
    """Run ``identity`` on ``trials`` random inputs in ``dtype``; return the worst error.

    Float64 runs inside :func:`jaxdl._compat.enable_x64`, so the caller's global setting is untouched.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {DTYPES}, got {dtype!r}")
    checks.positive_int("trials", trials)
    with enable_x64(dtype == "float64"):
        errs = _errors(identity)
        keys = jax.random.split(jax.random.key(seed), trials)
        worst_abs, worst_rel = 0.0, 0.0
        for k in keys:
            args = identity.sample(k, jnp.dtype(dtype))
            a, s = (float(v) for v in errs(*args))
            if a == 0.0:
                rel = 0.0
            elif s > 0 and np.isfinite(s):
                rel = a / s
            else:
                rel = float("inf") if np.isfinite(a) else float("nan")
            if not np.isfinite(a):
                a, rel = float("nan"), float("nan")
            worst_abs = a if np.isnan(a) or a > worst_abs else worst_abs
            worst_rel = rel if np.isnan(rel) or rel > worst_rel else worst_rel
    tol = float(identity.rtol[dtype])
    return Outcome(identity.name, identity.seed, identity.kind, dtype, worst_abs, worst_rel, tol,
                   bool(worst_rel <= tol), trials)


def run(names: Iterable[str] | None = None, *, dtypes: Iterable[str] = DTYPES, seed: int = 0,
        trials: int = 3) -> list[Outcome]:
    """Check every registered identity (or those in ``names``) in each dtype."""
    if names is None:
        selected = list(REGISTRY.values())
    else:
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ValueError(f"names: unknown identities {unknown}; known: {sorted(REGISTRY)}")
        selected = [REGISTRY[n] for n in names]
    return [check(i, dtype=d, seed=seed, trials=trials) for i in selected for d in dtypes]


def format_table(outcomes: list[Outcome]) -> str:
    """One row per outcome: identity, seed question, kind, dtype, errors, tolerance, ok.

    For ``kind`` other than ``exact`` the "rel err" column is in the identity's own units
    (standard errors, or units of the predicted gap); see :class:`Identity`.
    """
    head = ("identity", "seed", "kind", "dtype", "max abs err", "max rel err", "tolerance", "ok")
    rows = [head] + [
        (o.name, o.seed, o.kind, o.dtype, f"{o.max_abs:.2e}", f"{o.max_rel:.2e}", f"{o.tol:.1e}",
         "ok" if o.ok else "FAIL")
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
