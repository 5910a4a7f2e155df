"""The few dense products the fits are made of, each written once with its measured layout.

Measured on the 2-core CPU (N = 200000, d = 200): ``X @ v`` streams at memory bandwidth, but XLA
lowers ``r @ X`` (and ``X.T @ r``, 5x worse) to a slow strided kernel; ``sum(X * r[:, None], 0)``
fuses into one pass that is as fast as ``X @ v`` and, in float32, 20x more accurate (a tree
reduction instead of a long sequential one). ``precision=HIGHEST`` keeps float32 products exact
on GPUs (no TF32) and TPUs (no bfloat16 passes); on the CPU it only selects a slower kernel, so
it is requested off the CPU only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def precision() -> jax.lax.Precision | None:
    """Full float32 precision where the backend would otherwise round (GPU TF32, TPU bf16)."""
    return None if jax.default_backend() == "cpu" else jax.lax.Precision.HIGHEST


def matvec(X: jax.Array, v: jax.Array) -> jax.Array:
    """``X @ v`` for ``X (n, d)``, ``v (d,)`` or ``(d, k)``."""
    return jnp.matmul(X, v, precision=precision())


def rmatvec(X: jax.Array, r: jax.Array) -> jax.Array:
    """``X^T r`` for ``X (n, d)``, ``r (n,)``, as one fused multiply-reduce pass."""
    return jnp.sum(X * r[:, None], axis=0)


def matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a @ b`` at full precision of the inputs' dtype."""
    return jnp.matmul(a, b, precision=precision())
