"""The registry: every identity passes in float64 and float32; the runner reports failures."""

import re

import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS

from jaxdl import verify
from jaxdl.verify.core import Identity, Outcome, check

NAMES = sorted(verify.REGISTRY)
# The trial count of every registry caller of this suite's own modules (tests/test_mutation,
# test_extremes) and of ``jaxdl demo``: a program is compiled per sampler, dtype and trial count,
# so one count shares them.


@pytest.mark.parametrize("dtype", verify.DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_identity(name, dtype):
    outcome = check(verify.REGISTRY[name], dtype=dtype, trials=TRIALS)
    assert outcome.ok, outcome


def test_every_seed_question_covered():
    seeds = {q for i in verify.REGISTRY.values() for q in i.seed.replace("/", " ").split()}
    for q in ("Q1", "Q2", "Q3a", "Q3b", "Q3c", "Q4", "Q5", "Q6", "Q7"):
        assert q in seeds


def test_a_wrong_closed_form_fails():
    # The runner must be able to fail: a closed form off by a relative 1e-6 is caught in
    # float64 and reported with its error.
    base = verify.REGISTRY["logistic.grad_b"]
    wrong = Identity(
        name="wrong", seed="Q1", statement="off by 1e-6",
        closed_form=lambda *a: base.closed_form(*a) * (1 + 1e-6),
        reference=base.reference, sample=base.sample, rtol=base.rtol,
    )
    out = check(wrong, dtype="float64")
    assert not out.ok
    assert 5e-7 < out.max_rel < 2e-6


def test_nan_fails():
    base = verify.REGISTRY["softmax.ce_grad"]
    nan = Identity(
        name="nan", seed="Q7", statement="NaN",
        closed_form=lambda z, y: jnp.full_like(z, jnp.nan),
        reference=base.reference, sample=base.sample, rtol=base.rtol,
    )
    out = check(nan, dtype="float32")
    assert not out.ok


def test_duplicate_registration_rejected():
    with pytest.raises(ValueError, match="registered twice"):
        verify.register(verify.REGISTRY["logistic.grad_w"])


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown identities"):
        verify.run(["nope"])


def test_exact_identity_tolerance_capped():
    base = verify.REGISTRY["logistic.grad_b"]
    loose = Identity(name="loose", seed="Q1", statement="too loose", closed_form=base.closed_form,
                     reference=base.reference, sample=base.sample,
                     rtol={"float64": 1e-6, "float32": 1e-5})
    with pytest.raises(ValueError, match="float64 tolerance must be <= 1e-10"):
        verify.register(loose)


def test_run_reports_progress_in_table_rows():
    seen = []
    outcomes = verify.run(["logistic.grad_b", "logistic.grad_w"], dtypes=("float64",),
                          trials=TRIALS, on_outcome=seen.append)
    assert seen == outcomes and [o.name for o in seen] == ["logistic.grad_b", "logistic.grad_w"]
    table = verify.format_table(outcomes).splitlines()
    assert len(table) == 2 + len(outcomes)
    assert table[0].split() == ["identity", "seed", "kind", "dtype", "max", "abs", "err", "max",
                                "rel", "err", "tolerance", "ok"]
    assert set(table[1]) == {"-", " "}
    # fixed widths: each row's cells start where the rule's dashes do, header names too
    columns = [m.start() for m in re.finditer(r"-+", table[1])]
    assert len(columns) == 8
    assert [table[0].index(h) for h in ("identity", "seed", "kind", "dtype", "max abs err",
                                         "max rel err", "tolerance", "ok")] == columns
    for row, o in zip(table[2:], outcomes, strict=True):
        assert [m.start() for m in re.finditer(r"\S+", row)] == columns, row
        cells = row.split()
        assert cells[:4] == [o.name, o.seed, o.kind, o.dtype] and cells[7] == "ok"
        # the numbers, as printed (3 significant digits for errors, 2 for the tolerance)
        np.testing.assert_allclose([float(c) for c in cells[4:7]], [o.max_abs, o.max_rel, o.tol],
                                   rtol=5e-3, atol=0)
        assert o.max_rel <= o.tol == verify.REGISTRY[o.name].rtol["float64"]
    failed = verify.format_row(Outcome("x", "Q1", "exact", "float32", 1.0, 2.0, 1e-5, False, 1))
    assert failed.split() == ["x", "Q1", "exact", "float32", "1.00e+00", "2.00e+00", "1.0e-05",
                              "FAIL"]


def test_run_rejects_bad_dtype():
    with pytest.raises(ValueError, match="dtypes:"):
        verify.run(["logistic.grad_b"], dtypes=("float16",))
