"""The benchmark's two uses of jaxdl's model layer and sweep caches, kept here.

- :func:`gd_floor` runs the sweep's own arithmetic (the logistic model's oracle: one forward
  pass shared by the loss and the gradient, and the seed's update) with no stop test, so that
  the sweep case can compare the sweep with the fastest any sweep could run. It uses
  ``jaxdl.logistic.Model()`` and ``jaxdl.logistic.seed_update``.
- :func:`forget_sweep_programs` empties ``jaxdl.sweep``'s program caches
  (``sweep.clear_compiled``), so that the sweep case can time the compilation of one chunk's
  program.

A change of jaxdl's model layer changes this module only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import logistic


def gd_floor(X, y, lr_w, lr_b, l2: float, steps: int) -> Callable[[], Any]:
    """The sweep's arithmetic alone: ``steps`` batched GD steps (the library's own oracle, one
    shared forward pass for loss and gradient, and its seed update) recording the loss, in a
    ``fori_loop`` with no stop test, status or freezing. No sweep of these configurations can
    run faster here. The call returns the final iterates' losses (checked against the sweep)."""
    model, n, d = logistic.Model(), X.shape[0], X.shape[1]
    oracle = model.oracle(X, y, jnp.asarray(l2, X.dtype), jnp.ones(n, X.dtype), mixed=False,
                          outer=model.outer(X), row_shards=1)

    def step(theta, lw, lb):
        z = oracle.predictor(theta)
        params, opt = model.split(theta, d), logistic.seed_update(lr_w=lw, lr_b=lb)
        updates, _ = opt.update(model.split(oracle.grad(theta, z), d), opt.init(params), params)
        return model.join(optax.apply_updates(params, updates)), oracle.value(theta, z)

    @jax.jit
    def run(lw, lb):
        def body(i, c):
            theta, hist = c
            theta, f = jax.vmap(step)(theta, lw, lb)
            return theta, hist.at[:, i].set(f)

        b = lw.shape[0]
        theta, _ = jax.lax.fori_loop(0, steps, body, (jnp.zeros((b, d + 1), X.dtype),
                                                      jnp.zeros((b, steps), X.dtype)))
        return jax.vmap(lambda t: oracle.value(t, oracle.predictor(t)))(theta)

    lw, lb = jnp.asarray(lr_w, X.dtype), jnp.asarray(lr_b, X.dtype)
    return lambda: np.asarray(jax.block_until_ready(run(lw, lb)))


def forget_sweep_programs() -> None:
    """Drop every compiled sweep program (the next sweep call compiles again)."""
    from jaxdl import sweep

    sweep.clear_compiled()
