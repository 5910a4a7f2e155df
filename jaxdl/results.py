"""Status codes and the result types shared by every jaxdl solver.

Solvers never raise inside ``jit``/``vmap``: they return a result pytree carrying an int32
``status``. Each :class:`Status` member carries its own message (the idea of optimistix's
``RESULTS``); :func:`message` turns a code into words and :func:`raise_if_failed` is the opt-in
eager check (optimistix's ``throw=True``).

Example:
  >>> from jaxdl.results import Status, message
  >>> Status.SEPARABLE.name_lower
  'separable'
  >>> message(Status.MAX_STEPS).startswith("max_steps: the step budget ran out")
  True
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Status",
    "FitResult",
    "NewtonResult",
    "message",
    "status_name",
    "succeeded",
    "raise_if_failed",
    "SolverError",
]


class Status(enum.IntEnum):
    """One status set for all solvers (stored as int32 in results); each carries its message.

    ``RUNNING`` (-1) is the loops' internal "not finished" marker: no returned result has it.
    """

    def __new__(cls, code: int, text: str):
        member = int.__new__(cls, code)
        member._value_ = code
        member._text = text
        return member

    RUNNING = (-1, "running: the solver has not finished (an internal marker; a returned "
               "result never carries it)")
    CONVERGED = (0, "converged: the gradient tolerance was met, or the optimum was reached to "
                 "working precision (a full Newton step no longer reduced the gradient)")
    MAX_STEPS = (1, "max_steps: the step budget ran out before the tolerance was met; raise "
                 "max_steps or loosen the tolerance")
    SINGULAR = (2, "singular: the Hessian/Jacobian is singular or not positive definite; in a "
                "regression fit this means duplicated, collinear or constant columns: add a "
                "ridge penalty (l2 > 0)")
    NONFINITE = (3, "nonfinite: a NaN or inf appeared in the inputs or iterates; check the data "
                 "and the starting point (for gradient descent: lower the learning rate)")
    SEPARABLE = (4, "separable: the classes are linearly separable, so no finite minimiser "
                 "exists (the loss tends to 0 as ||w|| grows); the returned w is finite and "
                 "separates the data; add a ridge penalty (l2 > 0) for a finite optimum")
    LINE_SEARCH_FAILED = (5, "line_search_failed: backtracking found no step that decreases the "
                          "objective (often the optimum is already reached to rounding)")
    ZERO_DERIVATIVE = (6, "zero_derivative: the derivative vanished at an iterate, so the "
                       "Newton step is undefined; try another starting point")
    INVALID_INPUT = (7, "invalid_input: a value is outside its domain (labels not in {0, 1} or "
                     "0..K-1, a negative penalty, rate or weight, group codes outside "
                     "[0, num_groups) or fewer than 2 groups); under jit/vmap values are "
                     "checked here, not eagerly")
    COMPLETED = (8, "completed: the planned number of epochs ran with finite losses")

    @property
    def message(self) -> str:
        """What this status means and what to do about it."""
        return self._text

    @property
    def name_lower(self) -> str:
        """The readable name used in tables and JSON, e.g. ``"max_steps"``."""
        return self.name.lower()

    @property
    def ok(self) -> bool:
        """True for the success codes (CONVERGED, COMPLETED)."""
        return self in _SUCCESS


_SUCCESS = (Status.CONVERGED, Status.COMPLETED)


class SolverError(RuntimeError):
    """Raised by :func:`raise_if_failed` when a solver did not succeed."""


class FitResult(NamedTuple):
    """Result of every jaxdl fit (a pytree: passes through jit and vmap).

    Attributes:
      params: the fitted parameters (``(w, b)``; for softmax ``(W, b)``).
      loss: final objective value.
      grad_norm: final gradient norm (infinity norm).
      steps: number of steps taken (int32).
      status: an int32 :class:`Status` code.
      loss_history: objective after each step, length ``max_steps + 1``; entries past
        ``steps`` are NaN padding (use ``steps`` to slice).
      grad_norm_history: gradient norm at each iterate, padded the same way.
      step_size_history: step length accepted at each step, padded the same way.

    Properties: ``ok`` (all statuses succeeded; jittable), ``status_name`` and ``message``
    (eager).
    """

    params: Any
    loss: jax.Array
    grad_norm: jax.Array
    steps: jax.Array
    status: jax.Array
    loss_history: jax.Array
    grad_norm_history: jax.Array
    step_size_history: jax.Array


class NewtonResult(NamedTuple):
    """Result of :mod:`jaxdl.newton` (a pytree).

    Attributes:
      x: the final iterate.
      steps: number of Newton steps taken (int32).
      status: an int32 :class:`Status` code.
      history: iterates ``x_0 .. x_max_steps`` (shape ``(max_steps + 1, *x.shape)``);
        rows past ``steps`` repeat NaN padding.
      residual_history: ``||f(x_k)||`` (root) or ``||grad f(x_k)||`` (minimize), padded.
    """

    x: jax.Array
    steps: jax.Array
    status: jax.Array
    history: jax.Array
    residual_history: jax.Array


def _code(code: int) -> Status | None:
    try:
        return Status(code)
    except ValueError:
        return None


def message(status: Any) -> str:
    """Explain a status code (a :class:`Status`, a Python int or a 0-d array) in words."""
    code = int(np.asarray(status))
    member = _code(code)
    return member.message if member is not None else f"unknown status code {code}"


def status_name(status: Any) -> str | list:
    """The readable name of a status code (``"max_steps"``); nested lists for a batch. Eager."""
    codes = np.asarray(status)
    if codes.ndim == 0:
        member = _code(int(codes))
        return member.name_lower if member is not None else f"unknown({int(codes)})"
    return [status_name(c) for c in codes]


@jax.jit  # an eager call is one program per shape, not one per comparison
def succeeded(status: jax.typing.ArrayLike) -> jax.Array:
    """Jittable: True where ``status`` is a success code (works on batched statuses)."""
    status = jnp.asarray(status)
    return (status == Status.CONVERGED) | (status == Status.COMPLETED)


def raise_if_failed(result: Any, *, allow: tuple[Status, ...] = ()) -> Any:
    """Eagerly raise :class:`SolverError` unless every status in ``result`` is a success.

    Args:
      result: any result with a ``status`` field (batched statuses allowed).
      allow: extra statuses to accept (e.g. ``(Status.MAX_STEPS,)``).

    Returns:
      ``result`` unchanged, so calls can be chained.
    """
    codes = np.atleast_1d(np.asarray(result.status))
    ok = set(int(s) for s in _SUCCESS + tuple(allow))
    bad = [int(c) for c in codes.ravel() if int(c) not in ok]
    if bad:
        first = bad[0]
        raise SolverError(
            f"{len(bad)} of {codes.size} solve(s) failed; first status {first}: {message(first)}"
        )
    return result


# ``ok``, ``status_name`` and ``message`` for both result types (NamedTuple classes take no
# mixin base, so the properties are attached here, once).
def _ok(self) -> jax.Array:
    """True when every status in the result (batched or not) is a success. Jittable."""
    return jnp.all(succeeded(self.status))


def _status_name(self) -> str | list:
    """The status as a readable name (``"converged"``); a nested list for a batch. Eager."""
    return status_name(self.status)


def _message(self) -> str:
    """The status's message (the first failure's, for a batch). Eager."""
    codes = [int(c) for c in np.atleast_1d(np.asarray(self.status)).ravel()]
    bad = [c for c in codes if c not in _SUCCESS]
    return message(bad[0] if bad else codes[0])


for _cls in (FitResult, NewtonResult):
    _cls.ok = property(_ok)
    _cls.status_name = property(_status_name)
    _cls.message = property(_message)
del _cls
