"""Test-session numerics: float64 on, rank promotion an error, no persistent compilation cache
(set once, here only).

Each test module's compiled programs are dropped when the module ends: XLA's CPU executables
each hold memory mappings, and a whole suite's worth (thousands of programs) would exhaust the
kernel's per-process map limit (vm.max_map_count, 65530 by default) and crash the compiler.
"""

import gc
import os

import jax
import pytest

# Tests never write the persistent compilation cache, nor do the scripts, CLI runs and notebook
# kernels they start (they inherit this); tests/test_compilation_cache.py unsets it on purpose.
os.environ["JAXDL_NO_CACHE"] = "1"
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs():
    yield
    jax.clear_caches()
    gc.collect()
