"""Cross-validation of the ridge penalty for the linear-predictor models: folds, scores, choice.

A fold is a set of rows held out of one fit and scored by it. Folds are row weights, never
copies of ``X``: the fit of fold ``f`` weighs its rows ``sw * (fold != f)`` and is scored on
``sw * (fold == f)``. The compiled path that fits every fold along the penalty grid is
:func:`jaxdl._fit.cv_path`; this module assigns the folds, and turns the held-out scores into
the curve, its standard errors and the chosen penalty (:class:`CVResult`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import data, results
from jaxdl.results import FitResult, Status

__all__ = ["CVResult", "SCORINGS", "fold_ids", "fold_weights", "mean_se", "choose"]

# Scoring name -> whether a higher score is better.
SCORINGS = {"log_loss": False, "accuracy": True}


class CVResult(NamedTuple):
    """The cross-validation curve of a penalty grid and the refit at the chosen penalty.

    A pytree (its arrays pass through ``jax.tree`` utilities and ``jax.device_get``).

    Attributes:
      l2: the grid ``(G,)``, in the order given.
      scores: ``(F, G)``: the held-out score of each fold's fit at each penalty (the mean
        negative log-likelihood of the held-out rows, weighted by ``sample_weight``, for
        ``scoring="log_loss"``; the weighted fraction classified correctly for
        ``"accuracy"``).
      mean: ``(G,)`` the mean score over the folds.
      se: ``(G,)`` its standard error, ``std(scores, ddof=1) / sqrt(F)``.
      best_index: int32, the grid position of the best mean score among the penalties at which
        every fold's fit converged (the lowest log-loss, the highest accuracy; the first on a
        tie).
      best_l2: ``l2[best_index]``.
      l2_1se: the largest penalty of the grid whose mean score is within one standard error
        (the best's) of the best, every fold converged: the "one standard error rule", a
        simpler model as good as the best within the noise of the folds.
      status: ``(F, G)`` int32 :class:`jaxdl.results.Status` of every fold's fit.
      steps: ``(F, G)`` int32: the solver steps each fold's fit took.
      fold_params: every fold's fitted parameters, the model's ``(w, b)`` with leading axes
        ``(F, G)`` (the coefficient paths; a failed fit's entry is where it stopped).
      fit: the refit on all rows at ``best_l2`` (a :class:`jaxdl.results.FitResult`).
    """

    l2: jax.Array
    scores: jax.Array
    mean: jax.Array
    se: jax.Array
    best_index: jax.Array
    best_l2: jax.Array
    l2_1se: jax.Array
    status: jax.Array
    steps: jax.Array
    fold_params: Any
    fit: FitResult

    @property
    def ok(self) -> jax.Array:
        """True when every fold's fit and the refit converged."""
        return jnp.all(results.succeeded(self.status)) & jnp.all(self.fit.ok)

    @property
    def status_name(self) -> list:
        """The folds' statuses as readable names, ``(F, G)`` nested lists (eager)."""
        return results.status_name(self.status)


def fold_ids(y: np.ndarray, folds: Any, seed: int, sw: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's fold ``(n,)`` int32 and the fold count.

    ``folds`` an int ``F``: :func:`jaxdl.data.stratified_folds` (stratified by the labels ``y``,
    shuffled with ``seed``). ``folds`` an integer array: each row's fold, ``0..F-1``.

    Every fold must hold out rows of positive weight and leave some for its fit.
    """
    n = y.shape[0]
    if isinstance(folds, (bool, np.bool_)):
        raise TypeError("folds: expected a fold count (an int >= 2) or an integer array of "
                        "each row's fold, got a bool")
    if isinstance(folds, (int, np.integer)):
        k = int(folds)
        ids = data.stratified_folds(y, k, seed=seed)
    else:
        arr = np.asarray(folds)
        if arr.shape != (n,):
            raise ValueError(f"folds: expected a fold count or one fold id per row (shape "
                             f"({n},)), got shape {arr.shape}")
        whole = arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
        if arr.dtype.kind not in "iu" and not whole:
            raise TypeError(f"folds: expected integer fold ids, got dtype {arr.dtype}")
        ids = arr.astype(np.int64)
        if ids.min() < 0:
            raise ValueError(f"folds: expected fold ids 0..F-1, got {ids.min()}")
        k = int(ids.max()) + 1
        missing = np.setdiff1d(np.arange(k), ids)
        if k < 2 or missing.size:
            raise ValueError(f"folds: expected fold ids 0..F-1 with every fold present and F >= "
                             f"2, got F = {k}" + (f" with fold {missing[0]} empty"
                                                  if missing.size else ""))
        ids = ids.astype(np.int32)
    held = np.bincount(ids, weights=sw, minlength=k)
    total = float(sw.sum())
    for f in range(k):
        if not held[f] > 0 or not total - held[f] > 0:
            side = "holds out" if not held[f] > 0 else "leaves for its fit"
            raise ValueError(f"folds: expected every fold to hold out rows of positive weight "
                             f"and leave some for its fit, got fold {f}, which {side} none")
    return ids, k


def fold_weights(ids: np.ndarray, k: int, sw: Any) -> tuple[np.ndarray, np.ndarray]:
    """The folds as row weights, each ``(k, n)`` in ``sw``'s dtype: fold ``f``'s fit weighs
    the rows ``sw * (ids != f)`` and its held-out score ``sw * (ids == f)``. Host arrays: the
    drivers slice them into lanes before each compiled call."""
    sw = np.asarray(sw)
    held = np.asarray(ids)[None, :] == np.arange(k)[:, None]
    train = np.where(held, 0, sw[None, :]).astype(sw.dtype)
    test = np.where(held, sw[None, :], 0).astype(sw.dtype)
    return train, test


def mean_se(scores: Any) -> tuple[Any, Any]:
    """The mean of the ``(F, G)`` fold scores over the folds and its standard error,
    ``std(scores, ddof=1) / sqrt(F)``, each ``(G,)`` (NumPy or JAX arrays alike)."""
    f = scores.shape[0]
    return scores.mean(axis=0), scores.std(axis=0, ddof=1) / math.sqrt(f)  # a weak float


def choose(scores: np.ndarray, status: np.ndarray, l2: np.ndarray,
           higher_is_better: bool) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``(mean, se, best_index, index_1se)`` of the ``(F, G)`` scores (host arrays).

    Only penalties at which every fold converged are eligible; ``best_index`` is -1 when none
    is.
    """
    mean, se = mean_se(scores)
    eligible = np.all(status == Status.CONVERGED, axis=0)
    if not eligible.any():
        return mean, se, -1, -1
    sign = -1.0 if higher_is_better else 1.0
    loss = np.where(eligible, sign * mean, np.inf)
    best = int(np.argmin(loss))
    near = eligible & (loss <= loss[best] + se[best])
    one_se = int(np.flatnonzero(near)[np.argmax(l2[near])])
    return mean, se, best, one_se
