"""Sweeps: one fit or diagnostic over many configurations, in one compiled program.

A sweep is data (:class:`Sweep`): its parameters with their defaults, a ``prepare`` step that
loads what every configuration shares (the data), and a pure per-configuration function. The
runner :func:`run` traces the varying parameters, so any number of values is one compilation;
vmaps the configurations in chunks whose size comes from a memory bound; shards the
configuration axis over the devices it is given; shows a progress bar; and appends each
finished chunk's rows to ``OUT/NAME.csv`` (and rewrites ``OUT/NAME.json``) so an interruption
loses only the running chunk, and ``resume=True`` skips the configurations already written.

A configuration that fails keeps its row, with its status (``invalid_input`` for a negative
rate, ``max_steps``, ``nonfinite`` ...): a failed fit is data, not an exception.

Parameters marked ``static`` change shapes or loop bounds (a batch size, a step budget): each
distinct value compiles once; every other parameter is traced.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxdl import sweep
  >>> def config(ctx, *, scale):
  ...     return {"value": jnp.sum(ctx * scale), "status": jnp.int32(8)}
  >>> s = sweep.Sweep("scaled-sum", "sum of a scaled vector",
  ...                 (sweep.Param("scale", (1.0, 2.0), "the factor"),),
  ...                 prepare=lambda dtype, static: jnp.arange(3, dtype=dtype), config=config)
  >>> table = sweep.run(s, {"scale": [1.0, 2.0, 3.0]}, progress=False)
  >>> [float(v) for v in table["value"]], table.rows[0]["status"]
  ([3.0, 6.0, 9.0], 'completed')

See the [sweeps guide][sweeps] for the built-in sweeps and their plots.
"""


from __future__ import annotations

from jaxdl.sweep import _builtins  # noqa: F401  (registers the built-in sweeps)
from jaxdl.sweep._plots import plot_cv as plot_cv
from jaxdl.sweep._runner import DEFAULT_MAX_MEMORY as DEFAULT_MAX_MEMORY
from jaxdl.sweep._runner import chunk_memory as chunk_memory
from jaxdl.sweep._runner import clear_compiled as clear_compiled
from jaxdl.sweep._runner import grid as grid
from jaxdl.sweep._runner import plot as plot
from jaxdl.sweep._runner import run as run
from jaxdl.sweep._spec import AXIS as AXIS
from jaxdl.sweep._spec import Param as Param
from jaxdl.sweep._spec import Sweep as Sweep
from jaxdl.sweep._spec import get as get
from jaxdl.sweep._spec import names as names
from jaxdl.sweep._spec import register as register
from jaxdl.sweep._table import Table as Table

__all__ = ["AXIS", "DEFAULT_MAX_MEMORY", "Param", "Sweep", "Table", "chunk_memory", "get", "grid",
           "names", "plot", "plot_cv", "register", "run"]
