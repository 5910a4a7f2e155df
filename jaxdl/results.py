"""Status codes and result types shared by every jaxdl solver.

Solvers never raise inside ``jit``/``vmap``: they return a result pytree carrying an int32
``status``. :func:`message` turns a code into words and :func:`raise_if_failed` is the opt-in
eager check (the idea of optimistix's ``RESULTS`` and ``throw=True``).
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
    "succeeded",
    "raise_if_failed",
    "SolverError",
]


class Status(enum.IntEnum):
    """One status set for all solvers (stored as int32 in results)."""

    CONVERGED = 0
    MAX_STEPS = 1
    SINGULAR = 2
    NONFINITE = 3
    SEPARABLE = 4
    LINE_SEARCH_FAILED = 5
    ZERO_DERIVATIVE = 6
    INVALID_INPUT = 7
    COMPLETED = 8


_MESSAGES = {
    Status.CONVERGED: "converged: the gradient tolerance was met, or the optimum was reached "
    "to working precision (a full Newton step no longer reduced the gradient)",
    Status.MAX_STEPS: "max_steps: the step budget ran out before the tolerance was met; "
    "raise max_steps or loosen the tolerance",
    Status.SINGULAR: "singular: the Hessian/Jacobian is singular or not positive definite; "
    "in a regression fit this means duplicated, collinear or constant columns: add a ridge "
    "penalty (l2 > 0)",
    Status.NONFINITE: "nonfinite: a NaN or inf appeared in the inputs or iterates; "
    "check the data and the starting point",
    Status.SEPARABLE: "separable: the classes are linearly separable, so no finite "
    "minimiser exists (the loss tends to 0 as ||w|| grows); the returned w is finite "
    "and separates the data; add a ridge penalty (l2 > 0) for a finite optimum",
    Status.LINE_SEARCH_FAILED: "line_search_failed: backtracking found no step that "
    "decreases the objective (often the optimum is already reached to rounding)",
    Status.ZERO_DERIVATIVE: "zero_derivative: the derivative vanished at an iterate, "
    "so the Newton step is undefined; try another starting point",
    Status.INVALID_INPUT: "invalid_input: a value is outside its domain (labels not in {0, 1} "
    "or 0..K-1, a negative penalty or weight); under jit/vmap values are checked here, not "
    "eagerly",
    Status.COMPLETED: "completed: the planned number of epochs ran with finite losses",
}

_SUCCESS = (Status.CONVERGED, Status.COMPLETED)


class SolverError(RuntimeError):
    """Raised by :func:`raise_if_failed` when a solver did not succeed."""


class FitResult(NamedTuple):
    """Result of a jaxdl fit (a pytree: passes through jit and vmap).

    Attributes:
      params: the fitted parameters (e.g. ``(w, b)``).
      loss: final objective value.
      grad_norm: final gradient norm (infinity norm).
      steps: number of steps taken (int32).
      status: an int32 :class:`Status` code.
      loss_history: objective after each step, length ``max_steps + 1``; entries past
        ``steps`` are NaN padding (use ``steps`` to slice).
      grad_norm_history: gradient norm at each iterate, padded the same way.
      step_size_history: step length accepted at each step, padded the same way.
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


def message(status: Any) -> str:
    """Explain a status code (a Python int or a 0-d array) in words."""
    code = int(np.asarray(status))
    try:
        return _MESSAGES[Status(code)]
    except ValueError:
        return f"unknown status code {code}"


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
