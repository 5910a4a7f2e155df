"""Data shared by the cases of one run."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.config import SEED
from jaxdl import data

# ----------------------------------------------------------------------------------------------
# Shared data.


class Context:
    def __init__(self, sizes: dict[str, int], repeats: int, quick: bool):
        self.sizes = sizes
        self.repeats = repeats
        self.quick = quick
        self._cache: dict[str, Any] = {}

    def data64(self):
        """(X, y) float64 jax arrays and owned NumPy copies (X, y, X with a constant column)."""
        if "d64" not in self._cache:
            n, d = self.sizes["n"], self.sizes["d"]
            X, y, _, _ = data.make_logistic(jax.random.key(SEED), n, d, dtype=jnp.float64)
            Xn, yn = np.array(X), np.array(y)  # owned, C-contiguous: no copy inside a peer
            Xc = np.concatenate([np.ones((n, 1)), Xn], axis=1)  # statsmodels' add_constant
            self._cache["d64"] = (X, y, Xn, yn, Xc)
        return self._cache["d64"]

