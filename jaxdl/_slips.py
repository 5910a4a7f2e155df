"""Where the homework behind jaxdl slips, question by question: the one copy of that text.

:func:`jaxdl.notebook.seed_notes` prints it in the notebooks and the documentation's derivation
pages include it at build time (``scripts/docs_hooks.py``), so the two cannot disagree. Each
entry is a tuple of paragraphs, plain text with code in backticks (it reads as Markdown too).
"""

from __future__ import annotations

import types
from collections.abc import Mapping

SLIPS: Mapping[str, tuple[str, ...]] = types.MappingProxyType({
    "Q1": (
        "The homework drops the sum over samples once when it writes `dE/db`. The derivative "
        "is `dE/db = sum_n (p_n - y_n)`, and jaxdl implements the sum.",
        "For the second derivative in `b` the homework differentiates `y - p` instead of "
        "`p - y`, which flips the sign. The correct value, `d2E/db2 = sum_n p_n (1 - p_n)`, is "
        "positive, as convexity needs.",
        "The homework proves convexity one block at a time (in `w`, then in `b`). jaxdl states "
        "and checks the joint Hessian over `theta = [w; b]`, "
        "`H = sum_n p_n (1 - p_n) [x_n; 1][x_n; 1]^T`, which is positive semi-definite.",
        "The homework says the loss has a global minimum. Convexity makes every stationary point "
        "global, but on linearly separable data there is none at finite `w`: the loss falls "
        "towards 0 as `||w||` grows. jaxdl's fits stop with the status `separable` and a "
        "separating `w` instead of running on or returning a non-finite answer.",
    ),
    "Q2": (
        "Part (a) says that the distribution of a layer's inputs does not change while the "
        "earlier layers train. It does change; that drift (internal covariate shift) is what "
        "batch normalisation counters.",
        "Part (c) concludes that `dL/dx_i -> gamma g_i` as the batch size `n` grows. Each "
        "Jacobian entry `d xhat_i / d x_j = delta_ij - 1/n` does tend to `delta_ij`, but the "
        "gradient `gamma (g_i - mean(g))` subtracts `gamma mean(g)` for every `n`: the limit "
        "holds only when `mean(g) -> 0`. `jaxdl.batchnorm.seed_limit_demo` shows both facts "
        "numerically.",
    ),
    "Q3": (
        "Part (c) keeps each hidden unit with probability 0.8 and does not rescale the kept "
        "ones. jaxdl implements exactly that by default (the network's output is then scaled "
        "by the keep probability at test time) and offers the inverted dropout of most "
        "libraries, which divides by the keep probability during training, as "
        "`inverted=True`.",
        "Part (c) writes `dL/dW1` as a product of five scalar factors. jaxdl writes the same "
        "chain rule in matrix form, `delta1 = (W2^T delta2) * m * LeakyReLU'(z1)` and "
        "`dL/dW1 = delta1 x^T`, and takes `LeakyReLU'(0)` to be the slope, as the homework's "
        "\"slope for z1 <= 0\" says.",
    ),
    "Q4": (
        "The homework lists the gradient in the order `[dz, dv, du]` but builds the Hessian in "
        "the order `u, v, z`. jaxdl uses the order `(u, v, z)` for both.",
    ),
    "Q5": (
        "The homework's closing remark names the extra term while it is still inside the "
        "bracket (`-sigma^2 w_i x_i`); multiplied by the bracket's factor `-x_i` it is the "
        "added gradient `+sigma^2 w_i x_i^2`, which is how jaxdl states it.",
        "The homework derives the expected gradient only. jaxdl also states and checks the "
        "expected loss, `E[J1] = F1 + 1/2 sigma^2 sum_i w_i^2 x_i^2`, an exact identity.",
    ),
    "Q6": (
        "The homework writes `x_{k-1}` where it means `x_{k+1}`, and `c_k` for the error "
        "`e_k = x_k - x*`.",
        "Its line `f'(x) = f'(x)` stands for the minimisation update "
        "`x_{k+1} = x_k - f'(x_k) / f''(x_k)` (the root update applied to `f'`), and it mixes "
        "that update with the root-finding one, `x_{k+1} = x_k - f(x_k) / f'(x_k)`. jaxdl keeps "
        "them apart: `jaxdl.newton.root` and `jaxdl.newton.minimize`.",
        "In the Taylor step the homework writes a `+` for the `-` in "
        "`f(x_k) / f'(x_k) = e_k - e_k^2 f''(xi_k) / (2 f'(x_k))`, `x_k < xi_k < x*` for "
        "\"`xi_k` between `x_k` and `x*`\", and an approximate equality where the remainder form "
        "is exact.",
    ),
    "Q7": (
        "The homework's intermediate steps write `p_i - 1` where the gradient entry is "
        "`p_i - y_i`; its final result, `p - y`, is right.",
        "The homework shows that the Hessian is positive semi-definite. It is also singular "
        "(`H 1 = 0`, because adding a constant to every logit leaves softmax unchanged), so the "
        "loss is convex but never strictly convex in the logits; jaxdl checks both facts.",
    ),
})
"""Per question ``"Q1"`` to ``"Q7"``: the homework's slips, one paragraph each."""
