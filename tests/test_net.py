"""The batch-norm + dropout network: composed closed forms, train/eval modes, training."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl import batchnorm, data, net
from jaxdl.results import Status
from jaxdl.verify.net import sample

_grads = jax.jit(net.grads)
_autodiff = jax.jit(jax.grad(net.loss))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_grads_match_autodiff_per_parameter(dtype):
    params, x, y, mask = sample(jax.random.key(3), dtype)
    got = _grads(params, x, y, mask)
    want = _autodiff(params, x, y, mask)
    rtol = 1e-12 if dtype == jnp.float64 else 2e-5
    for name in net.NetParams._fields:
        g, w = getattr(got, name), getattr(want, name)
        scale = float(jnp.max(jnp.abs(w)))
        assert float(jnp.max(jnp.abs(g - w))) <= rtol * max(scale, 1.0), name
    # Batch norm removes z1's mean, so b1 gets no gradient.
    assert float(jnp.max(jnp.abs(got.b1))) < 100 * jnp.finfo(dtype).eps


@pytest.fixture(scope="module")
def digits():
    ds = data.load_digits()
    Xtr, ytr, Xte, yte = data.train_test_split(jax.random.key(0), ds.X, ds.y)
    Xtr, m, s = data.standardize(jnp.asarray(Xtr, jnp.float32))
    Xte, _, _ = data.standardize(jnp.asarray(Xte, jnp.float32), mean=m, scale=s)
    return Xtr, jnp.asarray(ytr), Xte, jnp.asarray(yte)


def test_training_reaches_sensible_accuracy_on_digits(digits):
    Xtr, ytr, Xte, yte = digits
    res = net.train(jax.random.key(1), Xtr, ytr, X_val=Xte, y_val=yte, epochs=30)
    assert int(res.status) == Status.COMPLETED
    assert float(res.val_accuracy_history[-1]) > 0.95
    assert float(res.loss_history[-1]) < 0.2 * float(res.loss_history[0])
    # Eval mode uses the running statistics, not the batch's: the logits of 5 rows are those
    # of a float64 forward pass through res.state, alone or inside a larger batch (with batch
    # statistics the two batches would normalise differently), to float32 rounding of the
    # size of the terms summed along the way (measured: the error is 1e-3 of that bound, which
    # is at most 3.2e-3 here, while batch statistics move these logits by 8.3).
    assert not np.allclose(res.state.mean, 0.0)
    P = {k: np.asarray(v, np.float64) for k, v in res.params._asdict().items()}
    mean, var = (np.asarray(a, np.float64) for a in res.state)
    x = np.asarray(Xte[:5], np.float64)
    inv = 1 / np.sqrt(var + 1e-5)  # logits_eval's default eps
    u = P["gamma"] * (x @ P["W1"].T + P["b1"] - mean) * inv + P["beta"]
    want = np.where(u > 0, u, 0.01 * u) @ P["W2"].T + P["b2"]
    z_mag = np.abs(x) @ np.abs(P["W1"]).T + np.abs(P["b1"]) + np.abs(mean)
    u_mag = np.abs(P["gamma"]) * z_mag * inv + np.abs(P["beta"])
    mag = u_mag @ np.abs(P["W2"]).T + np.abs(P["b2"])
    d, h = P["W1"].shape[1], P["W1"].shape[0]
    tol = (d + h + 8) * float(jnp.finfo(jnp.float32).eps) * mag
    alone = np.asarray(net.logits_eval(res.params, res.state, Xte[:5]), np.float64)
    inside = np.asarray(net.logits_eval(res.params, res.state, Xte[:40]), np.float64)[:5]
    for got in (alone, inside):
        assert np.all(np.abs(got - want) <= tol), float(np.max(np.abs(got - want) / tol))


def test_nonfinite_training_is_a_status(digits):
    Xtr, ytr, _, _ = digits
    # An optimiser whose updates are NaN: the step must be refused and reported.
    res = net.train(jax.random.key(1), Xtr[:128], ytr[:128], epochs=2, batch_size=64,
                    optimizer=optax.scale(jnp.nan))
    assert int(res.status) == Status.NONFINITE
    for leaf in jax.tree.leaves((res.params, res.state)):
        assert bool(jnp.all(jnp.isfinite(leaf)))


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"batch_size": 1}, ValueError, "batch_size: expected an int >= 2"),
        ({"batch_size": 1000}, ValueError, "batch_size: expected at most n = 10"),
        ({"keep": 0.0, "batch_size": 4}, ValueError, "keep: expected a finite number > 0 and <= 1"),
        ({"X_val": jnp.ones((3, 2)), "batch_size": 4}, TypeError,
         "X_val, y_val: expected both or neither"),
    ],
)
def test_bad_arguments(kwargs, exc, msg):
    X = jnp.ones((10, 2))
    y = jnp.array([0, 1] * 5)
    with pytest.raises(exc, match=msg):
        net.train(jax.random.key(0), X, y, **kwargs)


def test_state_is_batchnorm_state(digits):
    Xtr, ytr, _, _ = digits
    params, state = net.init(jax.random.key(0), Xtr.shape[1], 8, 10)
    assert isinstance(state, batchnorm.BatchNormState)
    assert params.gamma.shape == (8,)

