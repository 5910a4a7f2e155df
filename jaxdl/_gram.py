"""Weighted Gram matrices ``[X, 1]^T diag(s) [X, 1]``: the Hessians of linear-predictor models.

Two layouts, each measured fastest for its use:

* :func:`weighted_gram` walks ``X`` in row blocks of at most :data:`GRAM_BLOCK` rows, forming
  ``A = sqrt(s) X`` once per block (in the accumulation dtype: float32 for the mixed-precision
  Newton step) and taking ``A^T A`` and ``A^T sqrt(s)`` from the cached block. Blocks bound the
  temporaries to ``O(block * d)`` instead of an ``n x d`` copy. With row-sharded ``X`` the
  blocks interleave rows so that each spans every shard and XLA never gathers ``X``.
* :func:`packed_outer` forms the upper triangles of the per-row outer products once, so that a
  batch of Hessians on one ``X`` (bootstrap weights, penalty paths) is one matrix product
  ``S @ packed`` followed by one gather that fills both triangles.

Timings and the alternatives measured are in docs/guide/performance.md.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import _compat, _linalg

__all__ = ["GRAM_BLOCK", "OUTER_MAX", "weighted_gram", "assemble", "packed_outer",
           "from_packed"]

# Rows per block when forming X^T diag(s) X: bounds the temporaries and keeps a block in cache.
GRAM_BLOCK = 4096
# Below this many entries of the per-row outer products, batched fits precompute them.
OUTER_MAX = 1 << 22


def weighted_gram(X: jax.Array, s: jax.Array, dtype: Any, row_shards: int = 1) -> jax.Array:
    """``sum_n s_n [x_n; 1][x_n; 1]^T`` (``s >= 0``), shape ``(d + 1, d + 1)``, summed in ``dtype``.

    ``row_shards`` (static): the number of row shards of ``X`` (:func:`jaxdl._linalg.row_shards`).
    Contiguous blocks would make XLA gather ``X`` onto every device, so with several shards
    block ``j`` takes the rows ``j, j + nb, j + 2 nb, ...``: a free reshape to
    ``(n / nb, nb, d)`` whose first axis stays sharded, every device summing its share of every
    block. When ``n / row_shards`` has no divisor giving blocks of a sensible size
    (:func:`jaxdl._linalg.interleaved_blocks`), the contiguous blocks are used: correct, but XLA
    may then gather ``X``.
    """
    n, d = X.shape

    def block(Xb, sb):
        r = jnp.sqrt(sb)
        A = (r[:, None] * Xb).astype(dtype)
        r = r.astype(dtype)
        return _linalg.matmul(A.T, A), _linalg.matmul(r, A), jnp.sum(sb.astype(dtype))

    acc = (jnp.zeros((d, d), dtype), jnp.zeros((d,), dtype), jnp.zeros((), dtype))
    nb = _linalg.interleaved_blocks(n, row_shards, GRAM_BLOCK) if row_shards > 1 else None
    if nb is not None:
        X3, s2 = X.reshape(n // nb, nb, d), s.reshape(n // nb, nb)

        def strided(j, acc):
            Xb = jax.lax.dynamic_index_in_dim(X3, j, axis=1, keepdims=False)
            sb = jax.lax.dynamic_index_in_dim(s2, j, axis=1, keepdims=False)
            return jax.tree.map(jnp.add, acc, block(Xb, sb))

        return assemble(*jax.lax.fori_loop(0, nb, strided, acc))

    # Balanced blocks (at most GRAM_BLOCK rows, as equal as can be): the shifted last block then
    # recounts fewer than nblocks rows, not up to a whole block.
    nblocks = -(-n // GRAM_BLOCK)
    rows = -(-n // nblocks)

    def contiguous(i, acc):
        # The last block is shifted back to end at row n; its rows already counted by the block
        # before get weight 0 (one block shape: no separately compiled tail).
        start = jnp.minimum(i * rows, n - rows)
        Xb = jax.lax.dynamic_slice_in_dim(X, start, rows)
        sb = jax.lax.dynamic_slice_in_dim(s, start, rows)
        sb = jnp.where(start + jnp.arange(rows) >= i * rows, sb, 0)
        return jax.tree.map(jnp.add, acc, block(Xb, sb))

    return assemble(*jax.lax.fori_loop(0, nblocks, contiguous, acc))


def assemble(hww: jax.Array, hwb: jax.Array, hbb: jax.Array) -> jax.Array:
    """The joint ``(d + 1, d + 1)`` matrix over ``[w; b]`` from its blocks."""
    top = jnp.concatenate([hww, hwb[:, None]], axis=1)
    bottom = jnp.concatenate([hwb, hbb[None]])[None, :]
    return jnp.concatenate([top, bottom], axis=0)


def packed_outer(X: jax.Array) -> tuple[np.ndarray, jax.Array]:
    """``(index, packed)``: the upper triangles of ``[x_n; 1][x_n; 1]^T``, shape ``(n, m)``,
    ``m = (d + 1)(d + 2) / 2``, and the ``(d + 1, d + 1)`` int32 map from ``H[i, j]`` to its
    packed column (see :func:`from_packed`)."""
    n, d = X.shape
    A = jnp.concatenate([X, jnp.ones((n, 1), X.dtype)], axis=1)
    rows, cols = np.triu_indices(d + 1)
    packed = A[:, rows] * A[:, cols]
    # index[i, j]: the packed column of H[i, j] = H[j, i] (a gather beats a scatter of the
    # triangle plus a symmetrising copy).
    index = np.zeros((d + 1, d + 1), np.int32)
    index[rows, cols] = index[cols, rows] = np.arange(rows.size)
    # Materialised once: fused into the loop's matrix product, XLA would rebuild it every step
    # and lose the fast GEMM kernel.
    return index, _compat.optimization_barrier(packed)


def from_packed(outer: tuple[np.ndarray, jax.Array], s: jax.Array) -> jax.Array:
    """``sum_n s_n [x_n; 1][x_n; 1]^T`` from :func:`packed_outer`: one product, one gather."""
    index, packed = outer
    return _linalg.matmul(s, packed)[index]
