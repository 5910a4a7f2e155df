"""What a sweep is, as data: its parameters, the sweep itself, and the registry of sweeps.

:mod:`jaxdl.sweep` re-exports these names; the built-in sweeps (``_builtins``) are declared
with them, and the runner reads the registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

__all__ = ["AXIS", "Param", "Sweep", "REGISTRY", "register", "names", "get"]

# The vmap axis name of a chunk's configurations: a config may use collectives over it (the
# gradient-descent fits run their loops in lockstep over it: ``_fit.fit(..., lockstep=AXIS)``).
AXIS = "configs"


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a sweep.

    Attributes:
      name: the keyword the configuration function receives and the CSV column.
      default: the default values (a tuple), or a callable ``dtype -> tuple``.
      help: one line for ``jaxdl sweep --list``.
      kind: ``"float"``, ``"int"`` or ``"choice"`` (a name from ``choices``; traced as its
        index).
      static: True for a parameter that fixes a shape or a loop bound: one compilation per
        distinct value. Traced otherwise.
      choices: the names a ``"choice"`` parameter accepts.
    """

    name: str
    default: Any
    help: str
    kind: str = "float"
    static: bool = False
    choices: tuple[str, ...] = ()

    def defaults(self, dtype: Any) -> tuple:
        return tuple(self.default(dtype) if callable(self.default) else self.default)

    def parse(self, value: Any, *, where: str) -> Any:
        """One value, checked: a float, an int or a choice name (``where`` names the source)."""
        if self.kind == "choice":
            if str(value) not in self.choices:
                raise ValueError(f"{where}: expected one of {', '.join(self.choices)} for "
                                 f"{self.name}, got {value!r}")
            return str(value)
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text) if self.kind == "int" else float(text)
            except ValueError:
                want = "an integer" if self.kind == "int" else "a number"
                raise ValueError(f"{where}: expected {want} for {self.name}, got "
                                 f"{value!r}") from None
        if self.kind == "int":
            if isinstance(value, (bool, np.bool_)) or int(value) != value:
                raise ValueError(f"{where}: expected an integer for {self.name}, got {value!r}")
            return int(value)
        if isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{where}: expected a number for {self.name}, got {value!r}")
        return float(value)


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep:
    """A sweep as data: name, parameters, shared inputs and the per-configuration function.

    Attributes:
      name: the sweep's name (``jaxdl sweep NAME``) and its files' stem.
      summary: one line for ``jaxdl sweep --list``.
      params: the parameters, :class:`Param` each.
      prepare: ``(dtype, static) -> ctx``: what every configuration shares (a pytree of
        arrays), from the static parameters' values (a dict).
      config: ``config(ctx, **values) -> dict`` of arrays for one configuration (static
        values as Python values, the others as 0-d arrays; a choice as its int32 index).
        A key ``status`` (int32 :class:`jaxdl.results.Status`) becomes the status name.
        Pure and traceable: it is vmapped (axis name :data:`AXIS`, for collectives such as
        a loop run in lockstep) and jitted.
    """

    name: str
    summary: str
    params: tuple[Param, ...]
    prepare: Callable[[Any, dict], Any]
    config: Callable[..., Mapping[str, jax.Array]]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


REGISTRY: dict[str, Sweep] = {}


def register(s: Sweep) -> Sweep:
    """Add a sweep to the registry that ``jaxdl sweep NAME`` reads; returns it."""
    if s.name in REGISTRY:
        raise ValueError(f"sweep: a sweep named {s.name!r} is already registered")
    REGISTRY[s.name] = s
    return s


def names() -> list[str]:
    """The registered sweeps' names."""
    return list(REGISTRY)


def get(name: str) -> Sweep:
    """The registered sweep ``name`` (a ValueError listing the names otherwise)."""
    known = names()
    if name not in REGISTRY:
        raise ValueError(f"name: expected one of {', '.join(known)}, got {name!r}")
    return REGISTRY[name]
