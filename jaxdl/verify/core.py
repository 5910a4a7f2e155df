"""The identity registry and its runner (see :mod:`jaxdl.verify`)."""

from __future__ import annotations

import dataclasses
import functools
import types
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
    "EXACT_RTOL",
    "STATISTICAL_TOL",
    "ASYMPTOTIC_TOL",
    "table_header",
    "format_row",
    "format_table",
]

DTYPES = ("float64", "float32")

# Shared tolerance tables (read-only), per dtype name. The error they bound is the identity's
# own unit (see Identity.kind).
EXACT_RTOL: Mapping[str, float] = types.MappingProxyType({"float64": 1e-12, "float32": 1e-5})
"""A closed form against autodiff: normwise relative error on the identity's scale."""
STATISTICAL_TOL: Mapping[str, float] = types.MappingProxyType({"float64": 5.0, "float32": 5.0})
"""A Monte-Carlo estimate: at most 5 standard errors from the exact value."""
ASYMPTOTIC_TOL: Mapping[str, float] = types.MappingProxyType({"float64": 1.0, "float32": 1.0})
"""A limit: within one predicted first-order deviation of it."""


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


def _trial_errors(identity: Identity, args: tuple, rel, add) -> tuple[jax.Array, jax.Array]:
    """(max |closed - reference|, scale) of one input; the closed form is first perturbed to
    ``closed (1 + rel) + add * scale`` (both 0 outside the mutation tests)."""
    got = identity.closed_form(*args)
    want = identity.reference(*args)
    if jax.tree.structure(got) != jax.tree.structure(want):
        raise TypeError(
            f"identity {identity.name!r}: closed form and reference return different "
            f"structures: {jax.tree.structure(got)} vs {jax.tree.structure(want)}"
        )
    if identity.scale is None:
        scale = jnp.max(jnp.stack([jnp.max(jnp.abs(r)) for r in jax.tree.leaves(want)]))
    else:
        scale = jnp.asarray(identity.scale(*args))

    def perturb(g):
        g = jnp.where(rel == 0, g, g * jnp.asarray(1 + rel, g.dtype))
        return jnp.where(add == 0, g, g + jnp.asarray(add * scale, g.dtype))

    diffs = [jnp.max(jnp.abs(perturb(g) - r))
             for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True)]
    return jnp.max(jnp.stack(diffs)), scale


def _group(identity: Identity) -> tuple[Identity, ...]:
    """The registered identities drawing their inputs from ``identity``'s sampler (or just
    ``identity``, if it is not registered): they share one compiled program."""
    if REGISTRY.get(identity.name) is not identity:
        return (identity,)
    return tuple(i for i in REGISTRY.values() if i.sample is identity.sample)


@functools.cache
def _program(group: tuple[Identity, ...]) -> Callable:
    def errs(keys, rel, add, *, dtype):
        def one(key):
            args = group[0].sample(key, jnp.dtype(dtype))
            out = [_trial_errors(i, args, rel[j], add[j]) for j, i in enumerate(group)]
            return jnp.stack([o[0] for o in out]), jnp.stack([o[1] for o in out])

        abs_errs, scales = jax.lax.map(one, keys)
        return abs_errs.T, scales.T

    return jax.jit(errs, static_argnames="dtype")


def _errors(identity: Identity) -> Callable:
    """The jitted ``(keys, rel, add, *, dtype) -> (abs errors, scales)`` serving ``identity``.

    One program per sampler (:func:`_group`), dtype and trial count: it draws each trial's
    input once and compares every identity of the group on it (``rel``, ``add``: one entry per
    identity, traced, so the mutation tests share the program); rows of the result follow
    the group, columns the trials. Sharing the sampler and the compilation is what keeps the
    cold start of ``jaxdl verify`` short.
    """
    return _program(_group(identity))


def _evaluate(group: tuple[Identity, ...], dtype: str, seed: int, trials: int,
              rel=None, add=None) -> list[Outcome]:
    """The outcome of every identity of ``group`` (perturbed by ``rel``, ``add``; default 0)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {DTYPES}, got {dtype!r}")
    checks.positive_int("trials", trials)
    n = len(group)
    with enable_x64(dtype == "float64"):
        keys = jax.random.split(jax.random.key(seed), trials)
        rel = np.zeros(n) if rel is None else np.broadcast_to(np.asarray(rel, float), (n,))
        add = np.zeros(n) if add is None else np.broadcast_to(np.asarray(add, float), (n,))
        ftype = jnp.dtype(dtype)
        abs_errs, scales = _program(group)(keys, jnp.asarray(rel, ftype), jnp.asarray(add, ftype),
                                           dtype=dtype)
        abs_errs = np.asarray(abs_errs, np.float64)
        scales = np.asarray(scales, np.float64)
    outcomes = []
    for j, identity in enumerate(group):
        worst_abs, worst_rel = _worst(abs_errs[j], scales[j])
        tol = float(identity.rtol[dtype])
        outcomes.append(Outcome(identity.name, identity.seed, identity.kind, dtype, worst_abs,
                                worst_rel, tol, bool(worst_rel <= tol), trials))
    return outcomes


def _worst(abs_errs: np.ndarray, scales: np.ndarray) -> tuple[float, float]:
    """The worst (absolute, relative) error over trials; NaN if any trial is not finite."""
    worst_abs, worst_rel = 0.0, 0.0
    for a, s in zip(abs_errs.tolist(), scales.tolist(), strict=True):
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
    return worst_abs, worst_rel


def check(identity: Identity, *, dtype: str = "float64", seed: int = 0,
          trials: int = 3) -> Outcome:
    """Run ``identity`` on ``trials`` random inputs in ``dtype``; return the worst error.

    The inputs come from ``identity.sample`` at ``trials`` keys split from ``seed``. Float64
    runs inside :func:`jaxdl._compat.enable_x64`, so the caller's global setting is untouched.
    """
    group = _group(identity)
    return _evaluate(group, dtype, seed, trials)[group.index(identity)]


def run(names: Iterable[str] | None = None, *, dtypes: Iterable[str] = DTYPES, seed: int = 0,
        trials: int = 3, on_outcome: Callable[[Outcome], Any] | None = None) -> list[Outcome]:
    """Check every registered identity (or those in ``names``) in each dtype.

    Args:
      names: identity names (default: the whole registry, in registration order).
      dtypes: dtype names, each in :data:`DTYPES`.
      seed: PRNG seed of the inputs.
      trials: random inputs per identity and dtype.
      on_outcome: called with each :class:`Outcome` as soon as it is known (progress output).

    Returns:
      The outcomes, identity-major.
    """
    if names is None:
        selected = list(REGISTRY.values())
    else:
        names = list(names)
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ValueError(f"names: unknown identities {unknown}; known: {sorted(REGISTRY)}")
        selected = [REGISTRY[n] for n in names]
    dtypes = tuple(dtypes)
    bad = [d for d in dtypes if d not in DTYPES]
    if bad:
        raise ValueError(f"dtypes: expected names in {DTYPES}, got {bad}")
    checks.positive_int("trials", trials)
    done: dict[tuple[str, str], Outcome] = {}
    outcomes = []
    for identity in selected:
        for d in dtypes:
            if (identity.name, d) not in done:  # the whole group is evaluated at once
                group = _group(identity)
                done.update(((i.name, d), o)
                            for i, o in zip(group, _evaluate(group, d, seed, trials), strict=True))
            outcome = done[identity.name, d]
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return outcomes


_HEAD = ("identity", "seed", "kind", "dtype", "max abs err", "max rel err", "tolerance", "ok")


def _widths(name_width: int | None) -> tuple[int, ...]:
    if name_width is None:
        name_width = max([len(_HEAD[0]), *(len(n) for n in REGISTRY)])
    seed_width = max([len(_HEAD[1]), *(len(i.seed) for i in REGISTRY.values())])
    return (name_width, seed_width, max(map(len, KINDS)), max(map(len, DTYPES)),
            len(_HEAD[4]), len(_HEAD[5]), len(_HEAD[6]), len("FAIL"))


def _line(cells: Iterable[str], widths: tuple[int, ...]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def table_header(*, name_width: int | None = None) -> str:
    """The two header lines (column names, then a rule) of :func:`format_table`.

    Columns have fixed widths (the identity column fits every registered name, or
    ``name_width``), so a caller can print the header, then each :func:`format_row` as its
    outcome arrives (``run(..., on_outcome=...)``).
    """
    widths = _widths(name_width)
    return _line(_HEAD, widths) + "\n" + "  ".join("-" * w for w in widths)


def format_row(outcome: Outcome, *, name_width: int | None = None) -> str:
    """One fixed-width line of :func:`format_table` for ``outcome`` (see :func:`table_header`)."""
    o = outcome
    cells = (o.name, o.seed, o.kind, o.dtype, f"{o.max_abs:.2e}", f"{o.max_rel:.2e}",
             f"{o.tol:.1e}", "ok" if o.ok else "FAIL")
    return _line(cells, _widths(name_width))


def format_table(outcomes: Iterable[Outcome]) -> str:
    """One row per outcome: identity, seed question, kind, dtype, errors, tolerance, ok.

    For ``kind`` other than ``exact`` the "rel err" column is in the identity's own units
    (standard errors, or units of the predicted gap); see :class:`Identity`. The lines are
    :func:`table_header` and one :func:`format_row` per outcome.
    """
    outcomes = list(outcomes)
    width = max([len(_HEAD[0]), *(len(n) for n in REGISTRY), *(len(o.name) for o in outcomes)])
    return "\n".join([table_header(name_width=width),
                      *(format_row(o, name_width=width) for o in outcomes)])
