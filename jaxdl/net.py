"""A two-layer classifier with batch norm and dropout, trained with optax in a jitted loop.

Seeds Q2 and Q3(c) together: the network of :mod:`jaxdl.mlp` with a batch-norm layer
(:mod:`jaxdl.batchnorm`) between the first linear layer and the leaky ReLU::

    z1 = x W1^T + b1,  u = BN(z1; gamma, beta),  a = m * leaky_relu(u) [/ keep],
    z2 = a W2^T + b2,  L = sum_n CE(z2_n, y_n)

Its gradients are the seed's closed forms composed, with no new formula: ``p - y``
(:func:`jaxdl.softmax.ce_grad`), the dropout mask and ``leaky_relu_grad`` of Q3(c), and the
batch-norm backward pass of Q2 (:func:`jaxdl.batchnorm.backward`). They are registered against
``jax.grad`` in the verification registry (``net.grads``). Training mode normalises with batch
statistics and samples dropout masks; evaluation mode uses the running statistics and no dropout.

See the [Q2 derivation][q2-derivation] and the [Q3 derivation][q3-derivation].
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxdl import _linalg, batchnorm, checks, mlp, softmax
from jaxdl.results import Status

__all__ = [
    "NetParams",
    "TrainResult",
    "init",
    "loss",
    "grads",
    "logits_eval",
    "accuracy",
    "train",
]


class NetParams(NamedTuple):
    """Trainable parameters: ``W1 (h, d)``, ``b1 (h,)``, ``gamma, beta (h,)``, ``W2 (K, h)``,
    ``b2 (K,)``."""

    W1: jax.Array
    b1: jax.Array
    gamma: jax.Array
    beta: jax.Array
    W2: jax.Array
    b2: jax.Array


class TrainResult(NamedTuple):
    """Result of :func:`train` (a pytree).

    Attributes:
      params: trained :class:`NetParams`.
      state: running batch-norm statistics (:class:`jaxdl.batchnorm.BatchNormState`).
      loss_history: mean training cross-entropy per epoch, ``(epochs,)``.
      train_accuracy_history: evaluation-mode accuracy on the training data after each epoch.
      val_accuracy_history: the same on the validation data (NaN when none was given).
      status: COMPLETED, or NONFINITE if a loss became NaN/inf (training then stops updating).
    """

    params: NetParams
    state: batchnorm.BatchNormState
    loss_history: jax.Array
    train_accuracy_history: jax.Array
    val_accuracy_history: jax.Array
    status: jax.Array


def init(key: jax.Array, d: int, h: int, k: int, *, dtype: Any = jnp.float32):
    """Initial parameters (as :func:`jaxdl.mlp.init_params`, ``gamma = 1``, ``beta = 0``) and
    running statistics (mean 0, variance 1). Returns ``(params, state)``."""
    p = mlp.init_params(key, d, h, k, dtype=dtype)
    params = NetParams(p.W1, p.b1, jnp.ones((h,), dtype), jnp.zeros((h,), dtype), p.W2, p.b2)
    return params, batchnorm.init_state(h, dtype)


def _inputs(params: Any, x: Any, y: Any, mask: Any, keep: Any):
    """Validate a training-mode batch; every array in one float dtype."""
    if not isinstance(params, NetParams):
        raise TypeError(f"params: expected a jaxdl.net.NetParams, got {type(params).__name__}")
    x = checks.float_array("x", x, shape=("B", "d"), min_size=1)
    B, d = x.shape
    W1 = checks.float_array("params.W1", params.W1, shape=("h", d))
    h = W1.shape[0]
    W2 = checks.float_array("params.W2", params.W2, shape=("K", h))
    K = W2.shape[0]
    named = {  # the parameters set the dtype; the data must match it
        "params.W1": W1, "params.W2": W2,
        "params.b1": checks.float_array("params.b1", params.b1, shape=(h,)),
        "params.gamma": checks.float_array("params.gamma", params.gamma, shape=(h,)),
        "params.beta": checks.float_array("params.beta", params.beta, shape=(h,)),
        "params.b2": checks.float_array("params.b2", params.b2, shape=(K,)),
        "x": x,
        "mask": checks.float_array("mask", mask, shape=(B, h)),
    }
    if y is not None:
        named["y"] = checks.float_array("y", y, shape=(B, K))
    checks.common_dtype(**named)
    checks.scalar("keep", keep, low=0, high=1, low_open=True)
    p = NetParams(*(named[f"params.{f}"] for f in NetParams._fields))
    return p, x, named.get("y"), named["mask"]


def _multiplier(mask: jax.Array, keep: Any, inverted: bool) -> jax.Array:
    return mask / keep if inverted else mask


def _forward(params: NetParams, x, mask, *, eps, slope, keep, inverted):
    z1 = _linalg.matmul(x, params.W1.T) + params.b1[None, :]
    u = batchnorm.forward(z1, params.gamma, params.beta, eps=eps)
    a = _multiplier(mask, keep, inverted) * mlp.leaky_relu(u, slope=slope)
    z2 = _linalg.matmul(a, params.W2.T) + params.b2[None, :]
    return z1, u, a, z2


def loss(params: NetParams, x: Any, y: Any, mask: Any, *, eps: float = 1e-5,
         slope: float = 0.01, keep: float = 0.8, inverted: bool = True) -> jax.Array:
    """Training-mode loss ``sum_n CE(z2_n, y_n)`` for a batch ``x (B, d)``, one-hot ``y``,
    dropout ``mask (B, h)`` of 0/1.

    See the [Q2 derivation][q2-derivation] and the [Q3 derivation][q3-derivation].
    """
    params, x, y, mask = _inputs(params, x, y, mask, keep)
    *_, z2 = _forward(params, x, mask, eps=eps, slope=slope, keep=keep, inverted=inverted)
    return jnp.sum(softmax.cross_entropy(z2, y))


def grads(params: NetParams, x: Any, y: Any, mask: Any, *, eps: float = 1e-5,
          slope: float = 0.01, keep: float = 0.8, inverted: bool = True) -> NetParams:
    """Closed-form gradient of :func:`loss`: the seed's formulas composed layer by layer.

    ``delta2 = p - y``; ``dW2 = delta2^T a``; ``du = (delta2 W2) * m' * leaky_relu'(u)``;
    ``(dz1, dgamma, dbeta) = batchnorm.backward(du, z1, gamma)``; ``dW1 = dz1^T x``;
    ``db1 = sum dz1`` (exactly 0 up to rounding: batch norm removes the mean of z1).

    See the [Q2 derivation][q2-derivation] and the [Q3 derivation][q3-derivation].
    """
    params, x, y, mask = _inputs(params, x, y, mask, keep)
    return _loss_grads(params, x, y, mask, eps=eps, slope=slope, keep=keep,
                       inverted=inverted)[1]


def _loss_grads(params, x, y, mask, *, eps, slope, keep, inverted):
    """``(loss, grads, z1)`` from one forward pass (validated inputs); the training loop uses
    all three, so the batch is not pushed through the network again for each."""
    z1, u, a, z2 = _forward(params, x, mask, eps=eps, slope=slope, keep=keep, inverted=inverted)
    delta2 = softmax.ce_grad(z2, y)
    du = (_linalg.matmul(delta2, params.W2) * _multiplier(mask, keep, inverted)
          * mlp.leaky_relu_grad(u, slope=slope))
    dz1, dgamma, dbeta = batchnorm.backward(du, z1, params.gamma, eps=eps)
    g = NetParams(W1=_linalg.matmul(dz1.T, x), b1=jnp.sum(dz1, axis=0), gamma=dgamma, beta=dbeta,
                  W2=_linalg.matmul(delta2.T, a), b2=jnp.sum(delta2, axis=0))
    return jnp.sum(softmax.cross_entropy(z2, y)), g, z1


def logits_eval(params: NetParams, state: batchnorm.BatchNormState, x: Any, *,
                eps: float = 1e-5, slope: float = 0.01) -> jax.Array:
    """Evaluation-mode logits: running batch-norm statistics, no dropout (inverted dropout's
    expectation is the identity)."""
    z1 = _linalg.matmul(x, params.W1.T) + params.b1[None, :]
    u = batchnorm.forward_eval(z1, params.gamma, params.beta, state, eps=eps)
    return _linalg.matmul(mlp.leaky_relu(u, slope=slope), params.W2.T) + params.b2[None, :]


def accuracy(params: NetParams, state: batchnorm.BatchNormState, X: Any, y: Any, *,
             eps: float = 1e-5, slope: float = 0.01) -> jax.Array:
    """Evaluation-mode accuracy on integer labels ``y``."""
    logits = logits_eval(params, state, X, eps=eps, slope=slope)
    pred = jnp.argmax(logits, axis=1)
    return jnp.mean((pred == jnp.asarray(y)).astype(logits.dtype))


@functools.partial(jax.jit, static_argnames=("optimizer", "epochs", "batch_size", "keep",
                                             "inverted", "slope", "eps", "momentum", "k"))
def _train(key, X, y, Xv, yv, params, state, *, optimizer, epochs, batch_size, keep, inverted,
           slope, eps, momentum, k):
    n = X.shape[0]
    nb = n // batch_size
    Y = jax.nn.one_hot(y, k, dtype=X.dtype)
    h = params.W1.shape[0]

    def batch_step(carry, inputs):
        params, state, opt_state, ok = carry
        idx, mkey = inputs
        xb, yb = X[idx], Y[idx]
        mask = mlp.sample_mask(mkey, (batch_size, h), keep=keep, dtype=X.dtype)
        total, g, z1 = _loss_grads(params, xb, yb, mask, eps=eps, slope=slope, keep=keep,
                                   inverted=inverted)
        g = jax.tree.map(lambda t: t / batch_size, g)  # the mean cross-entropy's gradient
        batch_loss = total / batch_size
        _, new_state = batchnorm.forward_train(z1, params.gamma, params.beta, state, eps=eps,
                                               momentum=momentum)
        updates, new_opt = optimizer.update(g, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        # Accept an update only if the loss it was taken at and everything it produced are
        # finite: a blown-up step must not leave inf/NaN weights behind a status.
        leaves = jax.tree.leaves((new_params, new_state, g))
        finite = ok & jnp.isfinite(batch_loss) & jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))
        keep_new = lambda new, old: jax.tree.map(  # noqa: E731
            lambda a, b: jnp.where(finite, a, b), new, old)
        carry = (keep_new(new_params, params), keep_new(new_state, state),
                 keep_new(new_opt, opt_state), finite)
        return carry, batch_loss

    def epoch(carry, ekey):
        pkey, mkey = jax.random.split(ekey)
        perm = jax.random.permutation(pkey, n)[: nb * batch_size].reshape(nb, batch_size)
        carry, losses = jax.lax.scan(batch_step, carry, (perm, jax.random.split(mkey, nb)))
        params, state, _, _ = carry
        tr = accuracy(params, state, X, y, eps=eps, slope=slope)
        va = (accuracy(params, state, Xv, yv, eps=eps, slope=slope) if Xv is not None
              else jnp.asarray(jnp.nan, X.dtype))
        return carry, (jnp.mean(losses), tr.astype(X.dtype), jnp.asarray(va, X.dtype))

    carry = (params, state, optimizer.init(params), jnp.bool_(True))
    carry, (lh, trh, vah) = jax.lax.scan(epoch, carry, jax.random.split(key, epochs))
    params, state, _, ok = carry
    status = jnp.where(ok, Status.COMPLETED, Status.NONFINITE).astype(jnp.int32)
    return TrainResult(params, state, lh, trh, vah, status)


def train(
    key: jax.Array,
    X: Any,
    y: Any,
    *,
    X_val: Any = None,
    y_val: Any = None,
    hidden: int = 64,
    epochs: int = 30,
    batch_size: int = 64,
    optimizer: optax.GradientTransformation | None = None,
    keep: float = 0.8,
    inverted: bool = True,
    slope: float = 0.01,
    eps: float = 1e-5,
    momentum: float = 0.9,
    num_classes: int | None = None,
) -> TrainResult:
    """Train the batch-norm + dropout network with an optax optimiser, in one jitted call.

    Each epoch shuffles the rows (dropping the last partial batch), and each batch samples a
    dropout mask, computes the closed-form gradient of the mean cross-entropy (:func:`grads`),
    updates the running batch-norm statistics and applies the optimiser. All epochs run in one
    ``lax.scan``; the evaluation-mode accuracy is recorded after each epoch.

    Args:
      key: PRNG key (initialisation, shuffling and dropout all derive from it).
      X: features ``(n, d)``; y: integer class ids ``(n,)``.
      X_val, y_val: optional validation data, scored after each epoch.
      hidden: width ``h`` of the hidden layer.
      epochs, batch_size: the schedule (``batch_size >= 2``: batch norm needs a variance).
      optimizer: an optax transformation (default ``optax.adam(1e-2)``); hashable and static.
      keep, inverted: dropout keep probability and inverted scaling (the seed: 0.8 and no
        scaling; inverted is the library convention and the default here).
      slope: leaky ReLU slope; eps, momentum: batch-norm constants.
      num_classes: K (inferred from ``y`` when eager).

    Returns:
      :class:`TrainResult`.

    See the [Q2 derivation][q2-derivation] and the [Q3 derivation][q3-derivation].
    """
    X = checks.float_array("X", X, shape=("n", "d"))
    n, d = X.shape
    if num_classes is None:
        if not checks.is_concrete(y):
            raise ValueError("num_classes: expected an int >= 2 when y is traced (under jit or "
                             "vmap), got None")
        num_classes = int(jnp.max(checks.class_labels("y", y, n, None))) + 1
    k = checks.positive_int("num_classes", num_classes, minimum=2)
    y = checks.class_labels("y", y, n, k)
    if (X_val is None) != (y_val is None):
        raise TypeError("X_val, y_val: expected both or neither, got only one")
    if X_val is not None:
        X_val = checks.float_array("X_val", X_val, shape=("m", d))
        checks.common_dtype(X=X, X_val=X_val)
        y_val = checks.class_labels("y_val", y_val, X_val.shape[0], k)
    hidden = checks.positive_int("hidden", hidden)
    epochs = checks.positive_int("epochs", epochs)
    batch_size = checks.positive_int("batch_size", batch_size, minimum=2)
    if batch_size > n:
        raise ValueError(f"batch_size: expected at most n = {n} rows, got {batch_size}")
    checks.scalar("keep", keep, low=0, high=1, low_open=True)
    checks.scalar("slope", slope)
    checks.scalar("eps", eps, low=0, low_open=True)
    checks.scalar("momentum", momentum, low=0, high=1, high_open=True)
    if optimizer is None:
        optimizer = _default_optimizer()
    ikey, tkey = jax.random.split(key)
    params, state = init(ikey, d, hidden, k, dtype=X.dtype)
    return _train(tkey, X, y, X_val, y_val, params, state, optimizer=optimizer, epochs=epochs,
                  batch_size=batch_size, keep=float(keep), inverted=bool(inverted),
                  slope=float(slope), eps=float(eps), momentum=float(momentum), k=k)


@functools.lru_cache(maxsize=1)
def _default_optimizer() -> optax.GradientTransformation:
    return optax.adam(1e-2)
