"""Test-session numerics: float64 on, rank promotion an error (set once, here only)."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
