"""Shims over JAX API differences between the supported versions (jax >= 0.4.27).

Each shim picks the current spelling where it exists and falls back to the older one, so the
rest of the package is written once against one name. ``scripts/check_min_versions.sh`` runs the
package at the declared minimum versions (pyproject.toml).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax

__all__ = ["enable_x64", "optimization_barrier", "traced_mesh_size"]


@contextlib.contextmanager
def enable_x64(flag: bool = True) -> Iterator[None]:
    """Turn 64-bit types on (``flag=True``) or off for the block, then restore the setting.

    ``jax.enable_x64`` is a context manager from jax 0.8 on; older releases spell it
    ``jax.experimental.enable_x64()`` / ``jax.experimental.disable_x64()``. Either way the
    caller's global ``jax_enable_x64`` is untouched outside the block.

    Args:
      flag: whether float64 / int64 are enabled inside the block.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxdl._compat import enable_x64
      >>> with enable_x64(True):
      ...     print(jnp.ones(1).dtype)
      float64
    """
    flag = bool(flag)
    if hasattr(jax, "enable_x64"):
        ctx = jax.enable_x64(flag)
    else:  # jax < 0.8
        from jax import experimental

        ctx = experimental.enable_x64() if flag else experimental.disable_x64()
    with ctx:
        yield


if hasattr(jax.lax, "optimization_barrier"):
    optimization_barrier = jax.lax.optimization_barrier
else:  # jax < 0.4.33: the same primitive, not yet exported (absent in 0.4.31, public in 0.4.33)
    from jax._src.ad_checkpoint import _optimization_barrier as optimization_barrier


def traced_mesh_size(x) -> int:
    """The number of devices of the mesh a traced ``x`` is laid out on, or 1 where unknown.

    Inside ``jit`` a tracer's aval carries the (abstract) mesh of its input sharding from the
    jax releases that have ``jax.typeof``; the partition spec itself is only visible
    for explicit mesh axes, so the mesh size is an upper bound on the row shards. Older
    releases show no mesh: 1, the single-device layout.
    """
    typeof = getattr(jax, "typeof", None)
    if typeof is None:  # older jax
        return 1
    try:
        mesh = typeof(x).sharding.mesh
    except AttributeError:  # an aval without a sharding (a literal, an older tracer)
        return 1
    return 1 if getattr(mesh, "empty", True) else int(mesh.size)
