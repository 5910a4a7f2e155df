"""What an eager call compiles at a shape it has not met: a few programs, not one per operation.

An eager JAX operation compiles its own XLA program for every new shape; that compilation is
most of a first call's time. The public entry points below do their bookkeeping in NumPy and
their array work in a few jitted programs, so a call at a new number of rows compiles a small,
fixed number of programs (counted from ``jax.log_compiles``, which logs cache hits too, so the
count does not depend on the run's compilation cache). Each bound is the count measured in
float64 with jax 0.10.2, plus two. Dispatched operation by operation, the same calls compile 12
(``logistic.cross_validate``), 14 (``multinomial.cross_validate``), 15
(``logistic.bootstrap``) and 27 (``softmax.jacobian``, ``softmax.cross_entropy``) programs at
these shapes.
"""
import logging

import jax
import numpy as np
import pytest

from jaxdl import logistic, multinomial, softmax

D = 3


def _data(n):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, D))
    return X, (rng.random(n) < 0.5).astype(float), rng.integers(0, 3, n)


CALLS = {
    # name: (call on (X, y, class ids), the warm-up call's rows and the new rows (each entry
    # its own, so that no entry meets programs another compiled), most programs compiled at
    # the new rows)
    "logistic.cross_validate": (
        lambda X, y, k: logistic.cross_validate(X, y, l2=[0.1, 1.0], folds=3), (41, 43), 6),
    "multinomial.cross_validate": (
        lambda X, y, k: multinomial.cross_validate(X, k, num_classes=3, l2=[0.1, 1.0], folds=3),
        (45, 47), 8),
    "logistic.bootstrap": (
        lambda X, y, k: logistic.bootstrap(X, y, key=jax.random.key(0), num_resamples=8),
        (49, 51), 5),
    "softmax.jacobian": (lambda X, y, k: softmax.jacobian(X), (53, 55), 5),
    "softmax.cross_entropy": (
        lambda X, y, k: softmax.cross_entropy(X, np.eye(D)[k]), (57, 59), 6),
}


def _compiled(caplog, fn) -> list[str]:
    """The names of the programs ``fn()`` compiles (or loads from a compilation cache)."""
    caplog.clear()
    with caplog.at_level(logging.WARNING), jax.log_compiles():
        jax.block_until_ready(fn())
    return [r.getMessage().split(" with ")[0].removeprefix("Compiling ")
            for r in caplog.records if r.getMessage().startswith("Compiling ")]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_new_shape_compiles_a_few_programs(name, caplog):
    call, rows, most = CALLS[name]
    warm, new = (_data(n) for n in rows)
    assert _compiled(caplog, lambda: call(*warm))  # the count is read from these logs
    programs = _compiled(caplog, lambda: call(*new))
    assert len(programs) <= most, programs
