"""Determinism: the same key and inputs give bitwise-identical results, in-process and across
fresh interpreters (a new process compiles everything anew).

In-process, :func:`digests` hashes the raw bytes of ``logistic.fit_newton``, ``logistic.fit_gd``
(whole FitResults, both dtypes), ``noise.mc_grad``, ``mlp.sample_mask`` and the data generators
(``make_logistic``, ``make_separable``, ``make_multiclass``, ``train_test_split``), twice.
Across processes, :data:`FIT_SCRIPT` (a Newton fit in float64) runs twice with
``sys.executable`` and prints the hex of every field of the FitResult; both printouts must be
equal to each other and to the same computation in this process.

All of this is determinism on ONE machine: the subprocesses run on this CPU with this
process's environment (``XLA_FLAGS`` included), so they compile for the same instruction set.
Bitwise equality across machines is not asserted and does not hold in general: XLA compiles for
the host's ISA (SSE4.2, AVX2, AVX-512, NEON), and a different vector width or FMA use changes
the last bits of float results (e.g. whether a float32 Newton step lands on an exact zero
gradient).
"""

from __future__ import annotations

import hashlib
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import data, logistic, mlp, noise

# The same problem (shape, data, static arguments) as the fits in test_bad_input.py and
# test_properties.py, so one compiled fit serves all three in a full run.
FIT_SCRIPT = r'''
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from jaxdl import data, logistic


def fit_hex():
    X, y, _, _ = data.make_logistic(jax.random.key(11), 60, 3, dtype=jnp.float64)
    res = logistic.fit_newton(X, y, l2=1.0)
    return "\n".join(f"{name} {np.asarray(a).tobytes().hex()}"
                     for name, a in zip(res._fields, res, strict=True) for a in jax.tree.leaves(a))


if __name__ == "__main__":
    print(fit_hex())
'''


def _digest(tree, dtype=None) -> str:
    """SHA-256 of the leaves' raw bytes; with ``dtype``, also check the floating leaves' dtype."""
    h = hashlib.sha256()
    for leaf in jax.tree.leaves(tree):
        a = np.ascontiguousarray(np.asarray(leaf))
        assert dtype is None or not np.issubdtype(a.dtype, np.floating) or \
            a.dtype == np.dtype(dtype), (a.dtype, dtype)
        h.update(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def digests() -> dict[str, str]:
    out = {}
    for dtype in (jnp.float32, jnp.float64):
        name = jnp.dtype(dtype).name
        X, y, w, b = data.make_logistic(jax.random.key(11), 60, 3, dtype=dtype)
        out[f"make_logistic/{name}"] = _digest((X, y, w, b), dtype)
        out[f"make_separable/{name}"] = _digest(data.make_separable(jax.random.key(3), 40, 2,
                                                                     dtype=dtype), dtype)
        out[f"make_multiclass/{name}"] = _digest(data.make_multiclass(jax.random.key(4), 50, 3,
                                                                       3, dtype=dtype), dtype)
        split = data.train_test_split(jax.random.key(5), X, y)
        out[f"train_test_split/{name}"] = _digest(split, dtype)
        out[f"fit_newton/{name}"] = _digest(logistic.fit_newton(X, y, l2=1.0), dtype)
        out[f"fit_gd/{name}"] = _digest(logistic.fit_gd(X, y, lr_w=0.01, lr_b=0.01,
                                                        max_steps=100), dtype)
        wn = jnp.asarray([0.5, -1.0, 2.0], dtype)
        xn = jnp.asarray([1.0, 0.5, -0.25], dtype)
        out[f"mc_grad/{name}"] = _digest(noise.mc_grad(jax.random.key(6), wn, xn, 0.7,
                                                       sigma=0.3, num_samples=64), dtype)
        out[f"sample_mask/{name}"] = _digest(mlp.sample_mask(jax.random.key(7), (16, 8),
                                                             keep=0.8, dtype=dtype), dtype)
    return out


def test_in_process_repeat_is_bitwise_identical():
    # Also the float32/float64 coverage of these functions for test_properties.TABLE: every
    # floating output keeps the requested dtype.
    first, second = digests(), digests()
    assert first == second
    assert len(first) == 16 and len(set(first.values())) == 16  # 16 distinct results


# Without the test run's compilation cache (tests/conftest.py): each process compiles its own.
_COMPILE_ANEW = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}


def BACKGROUND(start):
    """The two fresh processes start when the suite does (tests/conftest.py), together."""
    # Same machine, same environment (XLA_FLAGS, hence the same ISA): see the module docstring.
    for k in range(2):
        start(k, [sys.executable, "-c", FIT_SCRIPT], env=_COMPILE_ANEW)


def test_fit_in_fresh_processes_is_bitwise_identical(background):
    runs = [background[k].result(timeout=300) for k in range(2)]
    for code, _, err in runs:
        assert code == 0, err
    assert runs[0][1] == runs[1][1]
    # ... and equal to the same fits in this process (compiled here, in another order).
    ns: dict = {"__name__": "fit_script"}
    exec(compile(FIT_SCRIPT, "fit_script", "exec"), ns)
    assert runs[0][1].strip() == ns["fit_hex"]()
    assert len(runs[0][1].splitlines()) == 9  # params (w, b) and the 7 other fields


def test_different_keys_give_different_draws():
    # The digests are not trivially constant: another key changes every random result.
    one, two = np.ones(2, np.float32), np.ones(2, np.float32)
    for make in (lambda k: data.make_logistic(k, 20, 2)[0],
                 lambda k: mlp.sample_mask(k, (32,)),
                 lambda k: noise.mc_grad(k, one, two, 1.0, sigma=0.5, num_samples=8)[0]):
        assert _digest(make(jax.random.key(0))) != _digest(make(jax.random.key(1)))
