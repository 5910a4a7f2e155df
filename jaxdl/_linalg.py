"""The few dense products the fits are made of, each written once in its measured-fastest layout.

On the CPU ``X @ v`` streams at memory bandwidth, but XLA lowers ``r @ X`` to a strided kernel
(and ``X.T @ r`` to a far slower transpose), and the fused multiply-reduce
``sum(X * r[:, None], 0)`` to a column reduction slower still. Viewing ``X`` as ``(n / B, B, d)``
row blocks (a free reshape of the row-major buffer) makes ``X^T r`` a batch of small
``(1, B) @ (B, d)`` products that runs on every core; the block partial sums are then added, a
two-level summation that in float32 is also far more accurate than the sequential one of
``r @ X``. The reshape needs ``B`` to divide ``n``: a block size is picked among the divisors of
``n`` (slicing off a remainder would copy ``X``); when ``n`` has no divisor in range (e.g. a
prime), the fused multiply-reduce is used. The timings behind these choices are in
docs/guide/performance.md (``scripts/bench.py``).

``precision=HIGHEST`` keeps float32 products exact on GPUs (no TF32) and TPUs (no bfloat16
passes); on the CPU it only selects a slower kernel, so it is requested off the CPU only.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxdl import _compat


def precision() -> jax.lax.Precision | None:
    """Full float32 precision where the backend would otherwise round (GPU TF32, TPU bf16)."""
    return None if jax.default_backend() == "cpu" else jax.lax.Precision.HIGHEST


def matvec(X: jax.Array, v: jax.Array) -> jax.Array:
    """``X @ v`` for ``X (n, d)``, ``v (d,)`` or ``(d, k)``."""
    return jnp.matmul(X, v, precision=precision())


# Row-block sizes for rmatvec: the batched kernel needs a few hundred blocks or more to spread
# over the cores, and blocks of at least ~100 rows to stream.
_BLOCK_MIN, _BLOCK_TARGET, _BLOCK_MAX = 100, 1000, 4000


def row_shards(X) -> int:
    """How many equal shards the rows of a concrete, row-sharded ``X`` are split into.

    1 for a NumPy array or an array on one device. For a tracer (inside a user's ``jit``) the
    partition spec is not visible, but its mesh is (:func:`jaxdl._compat.traced_mesh_size`): the
    mesh size when it divides the rows, else 1. A block layout for ``k`` shards also keeps every
    block spread over any divisor of ``k`` shards, so assuming all mesh devices is safe. The fits
    read this at trace time and pick block layouts that keep every block's rows spread over all
    shards, so that XLA's partitioner never gathers ``X``.
    """
    if isinstance(X, jax.core.Tracer):
        k = _compat.traced_mesh_size(X) if X.ndim else 1
        return k if k > 1 and X.shape[0] % k == 0 else 1
    if not isinstance(X, jax.Array) or X.ndim == 0:
        return 1
    rows = X.sharding.shard_shape(X.shape)[0]
    n = X.shape[0]
    return n // rows if rows and n % rows == 0 else 1


def _nearest_divisor(m: int, target: float, low: int, high: int) -> int | None:
    best = None
    for b in range(low, min(high, m) + 1):
        if m % b == 0 and (best is None or abs(b - target) < abs(best - target)):
            best = b
    return best


@functools.lru_cache(maxsize=256)
def row_block(n: int, row_shards: int = 1) -> int | None:
    """Rows per block for :func:`rmatvec`: the divisor of ``n / row_shards`` in ``[100, 4000]``
    nearest 1000 (ties: the smaller; at most ``n / 2``), or None. Dividing the rows of one
    shard, it keeps the blocks' axis sharded like the rows."""
    m = n // row_shards if row_shards > 1 and n % row_shards == 0 else n
    return _nearest_divisor(m, _BLOCK_TARGET, _BLOCK_MIN, min(_BLOCK_MAX, n // 2))


@functools.partial(jax.jit, static_argnames=("row_shards",))
def rmatvec(X: jax.Array, r: jax.Array, row_shards: int = 1) -> jax.Array:
    """``X^T r`` for ``X (n, d)``, ``r (n,)``, in one pass over ``X`` (see the module notes).

    ``row_shards``: the number of row shards of ``X`` (:func:`row_shards`), static. Jitted: the
    block view of ``X`` is free inside a compiled program, but an eager reshape copies ``X``."""
    n, d = X.shape
    b = row_block(n, row_shards)
    if b is None:
        return jnp.sum(X * r[:, None], axis=0)
    k = n // b
    partial = jnp.einsum("kb,kbd->kd", r.reshape(k, b), X.reshape(k, b, d),
                         precision=precision())
    return jnp.sum(partial, axis=0)


@functools.lru_cache(maxsize=256)
def interleaved_blocks(n: int, row_shards: int, rows: int) -> int | None:
    """How many interleaved blocks (block j = rows j, j + nb, j + 2 nb, ...) split ``n`` rows
    sharded in ``row_shards`` so that every block has about ``rows`` rows spread evenly over the
    shards: the divisor of ``n / row_shards`` nearest ``n / rows`` among those giving blocks of
    ``rows / 8`` to ``8 rows`` rows, or None (no such divisor, e.g. ``n / row_shards`` prime: tiny
    blocks would crawl and one huge block would copy the whole shard)."""
    if row_shards < 1 or n % row_shards:
        return None
    m = n // row_shards
    low, high = max(1, -(-n // (8 * rows))), max(1, (8 * n) // rows)
    return _nearest_divisor(m, n / rows, low, high)


def matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a @ b`` at full precision of the inputs' dtype."""
    return jnp.matmul(a, b, precision=precision())
