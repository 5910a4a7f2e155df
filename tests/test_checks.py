"""jaxdl.checks: validation messages and the PSD / symmetry assertions."""

import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import checks


def _psd_with_eigs(eigs, dtype, key=0):
    d = len(eigs)
    q, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(key), (d, d), dtype))
    return (q * jnp.asarray(eigs, dtype)[None, :]) @ q.T


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("d", [3, 20, 100])
def test_true_psd_never_false_alarm(dtype, d):
    # Rank-deficient Gram matrices: the hardest true-PSD case (zero eigenvalues computed as
    # tiny negatives) in float32.
    for seed in range(3):
        A = jax.random.normal(jax.random.key(seed), (d, d // 2 + 1), dtype)
        H = A @ A.T
        checks.assert_psd(H)
        assert bool(checks.is_psd(H))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("d", [3, 20, 100])
def test_catches_relative_negative_eigenvalue(dtype, d):
    eigs = np.linspace(1.0, 2.0, d)
    eigs[0] = -1e-3 * eigs.max()
    H = _psd_with_eigs(eigs, dtype)
    assert not bool(checks.is_psd(H))
    with pytest.raises(AssertionError, match=r"smallest eigenvalue -\d\.\d+e-03"):
        checks.assert_psd(H, name="H")


def test_psd_batched_and_jit_vmap():
    good = _psd_with_eigs([0.0, 1.0, 2.0], jnp.float64)
    bad = _psd_with_eigs([-0.5, 1.0, 2.0], jnp.float64)
    batch = jnp.stack([good, bad, good])
    np.testing.assert_array_equal(jax.jit(checks.is_psd)(batch), [True, False, True])
    np.testing.assert_array_equal(jax.vmap(checks.is_psd)(batch), [True, False, True])
    with pytest.raises(AssertionError, match=r"batch element \(1,\)"):
        checks.assert_psd(batch)


def test_psd_nonfinite_is_not_psd():
    H = jnp.array([[1.0, jnp.nan], [jnp.nan, 1.0]])
    assert not bool(checks.is_psd(H))
    with pytest.raises(AssertionError, match="NaN or inf"):
        checks.assert_psd(H)


def test_symmetric():
    H = _psd_with_eigs([1.0, 2.0, 3.0], jnp.float64)
    checks.assert_symmetric(H)
    assert bool(jax.jit(checks.is_symmetric)(H))
    Hb = H.at[0, 2].add(1e-6)
    assert not bool(checks.is_symmetric(Hb))
    with pytest.raises(AssertionError, match="largest asymmetry max\\|H - H\\^T\\| = 1.000e-06"):
        checks.assert_symmetric(Hb)


def test_square_required():
    with pytest.raises(ValueError, match=r"H: expected a square matrix .* got shape \(2, 3\)"):
        checks.assert_psd(jnp.zeros((2, 3)))


def test_float_array_messages():
    with pytest.raises(TypeError, match="X: expected a floating-point array .* got dtype int32"):
        checks.float_array("X", np.zeros((2, 2), np.int32))
    with pytest.raises(TypeError, match="X: expected a floating-point array .* got dtype bool"):
        checks.float_array("X", jnp.zeros((2, 2), bool))
    with pytest.raises(ValueError, match=r"X: expected a 2-D array of shape \(n, d\), got 1-D"):
        checks.float_array("X", jnp.zeros(3), shape=("n", "d"))
    with pytest.raises(ValueError, match="X: expected finite values, got 1 non-finite"):
        checks.float_array("X", jnp.array([1.0, jnp.inf]))
    with pytest.raises(ValueError, match="z: expected finite values, got 1 NaN"):
        checks.float_array("z", jnp.array([1.0, jnp.nan, jnp.inf]), allow_inf=True)
    # Value checks are skipped for tracers: no error under jit.
    out = jax.jit(lambda x: checks.float_array("X", x))(jnp.array([jnp.nan]))
    assert np.isnan(out[0])


def test_scalar_and_int_checks():
    with pytest.raises(ValueError, match=r"lr_w: expected a finite number > 0, got -1.0"):
        checks.scalar("lr_w", -1.0, low=0, low_open=True)
    with pytest.raises(ValueError, match=r"keep: expected a finite number > 0 and <= 1"):
        checks.scalar("keep", 1.5, low=0, low_open=True, high=1)
    with pytest.raises(TypeError, match="l2: expected a real number, got bool"):
        checks.scalar("l2", True, low=0)
    with pytest.raises(ValueError, match="max_steps: expected an int >= 1, got 0"):
        checks.positive_int("max_steps", 0)
    with pytest.raises(TypeError, match="max_steps: expected an int >= 1, got float"):
        checks.positive_int("max_steps", 3.0)


def test_common_dtype_and_labels():
    a32, a64 = jnp.zeros(2, jnp.float32), jnp.zeros(2, jnp.float64)
    msg = "w: expected dtype float32 \\(the dtype of X\\), got float64"
    with pytest.raises(TypeError, match=msg):
        checks.common_dtype(X=a32, w=a64)
    with pytest.raises(ValueError, match=r"y: expected labels in \{0, 1\}, got 1 other value"):
        checks.binary_labels("y", np.array([0, 1, 2]), 3, jnp.float64)
    with pytest.raises(ValueError, match=r"y: expected shape \(4,\)"):
        checks.binary_labels("y", np.array([0, 1, 1]), 4, jnp.float64)
    with pytest.raises(ValueError, match=r"y: expected integer class ids in 0..2"):
        checks.class_labels("y", np.array([0.5, 1.0]), 2, 3)


# ----------------------------------------------------------------------------------------------
# Shape/rank/dtype checks are jaxdl's own (plain raises); PSD/symmetry are chex value assertions.


def test_structural_checks_raise_jaxdl_messages():
    cases = [
        (TypeError, r"^X: expected a floating-point array .* got dtype int32$",
         lambda: checks.float_array("X", np.zeros((2, 2), np.int32))),
        (ValueError, r"^X: expected a 2-D array of shape \(n, d\), got 1-D shape \(3,\)$",
         lambda: checks.float_array("X", jnp.zeros(3), shape=("n", "d"))),
        (ValueError, r"^X: expected shape \(n, 2\), got \(3, 4\)$",
         lambda: checks.float_array("X", jnp.zeros((3, 4)), shape=("n", 2))),
        (ValueError, r"^w: expected a 1-D array, got 2-D shape \(1, 2\)$",
         lambda: checks.float_array("w", jnp.zeros((1, 2)), ndim=1)),
        (ValueError, r"^X: expected every axis to have length >= 1, got shape \(0, 2\)$",
         lambda: checks.float_array("X", jnp.zeros((0, 2)), shape=("n", "d"), min_size=1)),
        (ValueError, r"^beta: expected shape \(2,\) \(one noise factor per weight\), got shape "
         r"\(3,\)$", lambda: checks.vector("beta", jnp.ones(3), 2, "one noise factor per weight")),
        (ValueError, r"^H: expected a square matrix .* got shape \(2, 3\)$",
         lambda: checks.assert_psd(jnp.zeros((2, 3)))),
        (TypeError, r"^w: expected dtype float32 \(the dtype of X\), got float64",
         lambda: checks.common_dtype(X=jnp.zeros(2, jnp.float32), w=jnp.zeros(2, jnp.float64))),
        (ValueError, r"^y: expected shape \(4,\) \(one class id per row of X\), got \(3,\)$",
         lambda: checks.class_labels("y", np.array([0, 1, 1]), 4, 2)),
    ]
    for exc, pattern, call in cases:
        with pytest.raises(exc, match=pattern):
            call()


def test_argument_checks_survive_chex_disable_asserts():
    # Validation is not an optional assertion: a user's chex.disable_asserts() keeps it.
    chex.disable_asserts()
    try:
        with pytest.raises(ValueError, match=r"^X: expected a 2-D array"):
            checks.float_array("X", jnp.zeros(3), shape=("n", "d"))
        with pytest.raises(TypeError, match=r"^X: expected a floating-point array"):
            checks.float_array("X", jnp.zeros((2, 2), jnp.int32))
        with pytest.raises(ValueError, match=r"^X: expected every axis to have length >= 1"):
            checks.float_array("X", jnp.zeros((2, 0)), shape=("n", "d"), min_size=1)
        with pytest.raises(ValueError, match=r"^gamma: expected shape \(3,\)"):
            checks.vector("gamma", jnp.ones(2), 3, "one entry per feature")
    finally:
        chex.enable_asserts()


@pytest.fixture(autouse=True, scope="module")
def _chexify_statuses_inspected():
    # Every chexified call's status is inspected before the module ends. (chex's exit hook still
    # logs its reminder once any chexified function exists, inspected or not.)
    yield
    chex.block_until_chexify_assertions_complete()


def _chexified(fn):
    # async_check=False: the failed check raises on this call, not on the next one.
    return chex.chexify(jax.jit(fn), async_check=False)


# One compiled program per assertion (and per shape/dtype), shared by the tests below.
_psd_step = _chexified(lambda H: (checks.assert_psd(H, name="hess"), jnp.sum(H))[1])
_sym_step = _chexified(lambda H: (checks.assert_symmetric(H), jnp.sum(H))[1])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_assert_psd_under_chexify(dtype):
    good = jnp.stack([_psd_with_eigs([0.0, 1.0, 2.0], dtype, key=1)] * 2)
    bad = good.at[1].set(_psd_with_eigs([-0.5, 1.0, 2.0], dtype, key=2))
    np.testing.assert_allclose(_psd_step(good), jnp.sum(good), rtol=1e-6)
    with pytest.raises(AssertionError) as info:
        _psd_step(bad)
    msg = str(info.value)
    assert "hess is not positive semidefinite (batch element (1,)): smallest eigenvalue" in msg
    # The value is the eager assertion's, to the printed digits.
    lam = float(re.search(r"smallest eigenvalue (\S+) <", msg).group(1))
    np.testing.assert_allclose(lam, -0.5, rtol=1e-3)
    with pytest.raises(AssertionError, match=r"smallest eigenvalue -5\.000e-01"):
        checks.assert_psd(bad, name="hess")
    with pytest.raises(AssertionError, match="hess is not positive semidefinite: it has NaN"):
        _psd_step(good.at[0, 0, 1].set(jnp.nan))


def test_assert_symmetric_under_chexify():
    H = _psd_with_eigs([1.0, 2.0, 3.0], jnp.float64)
    assert float(_sym_step(H)) == pytest.approx(float(jnp.sum(H)))
    with pytest.raises(AssertionError, match=r"largest asymmetry max\|H - H\^T\| = 1\.000e-06"):
        _sym_step(H.at[0, 2].add(1e-6))


def test_value_assertions_need_chexify_and_obey_disable_asserts():
    with pytest.raises(RuntimeError, match="chexify.*is_psd"):
        jax.jit(checks.assert_psd)(jnp.eye(2))
    bad = jnp.diag(jnp.array([1.0, -1.0]))
    chex.disable_asserts()
    try:
        checks.assert_psd(bad)  # switched off, eagerly and under chexify, like chex's own
        checks.assert_symmetric(bad.at[0, 1].set(1.0))
        _psd_step(bad)
    finally:
        chex.enable_asserts()
    with pytest.raises(AssertionError):
        checks.assert_psd(bad)
