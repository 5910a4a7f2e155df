"""What the notebooks in ``notebooks/`` share: the dtype pick, a seed question's identities,
where the homework slips in it, and labelled figures.

The notebooks are entry points (they print, plot and set JAX's config); this module only
returns values, so each notebook cell stays one readable line and nothing is copied between
notebooks. matplotlib is imported only by :func:`panels`.

Example:
  >>> from jaxdl import notebook
  >>> notebook.pick_dtype("cpu", env={})
  'float64'
  >>> notebook.pick_dtype("tpu", env={})
  'float32'
  >>> notebook.identities("Q2")
  ['batchnorm.backward_center', 'batchnorm.backward', 'batchnorm.jacobian_xhat', 'net.grads']

See the [derivations][derivations]: one notebook per question, Q1 to Q7.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import jax

from jaxdl import _slips
from jaxdl.verify import core as _verify

__all__ = ["DTYPE_ENV", "pick_dtype", "describe_devices", "identities", "seed_notes", "panels"]

DTYPE_ENV = "JAXDL_NOTEBOOK_DTYPE"
"""Environment variable forcing a notebook's dtype (``float32`` or ``float64``)."""

_DTYPES = ("float32", "float64")
_QUESTION = re.compile(r"Q[1-7]")
_SEED_PART = re.compile(r"Q(\d+)")


def pick_dtype(backend: str | None = None, *, env: Mapping[str, str] | None = None) -> str:
    """The dtype a notebook computes in: float64 where the backend has it, float32 on TPU.

    ``env[DTYPE_ENV]`` (``"float32"`` or ``"float64"``), when set and non-empty, overrides the
    pick; the test suite runs every notebook both ways with it.

    Args:
      backend: a JAX platform name (default: ``jax.default_backend()``).
      env: where to read :data:`DTYPE_ENV` (default: ``os.environ``).

    Returns:
      ``"float64"`` or ``"float32"``.

    Example:
      >>> pick_dtype("gpu", env={"JAXDL_NOTEBOOK_DTYPE": "float32"})
      'float32'

    TPUs have no float64, so float32 is the only pick there.
    """
    backend = jax.default_backend() if backend is None else backend
    env = os.environ if env is None else env
    forced = env.get(DTYPE_ENV, "")
    if forced:
        if forced not in _DTYPES:
            raise ValueError(f"{DTYPE_ENV}: expected 'float32' or 'float64', got {forced!r}")
        if forced == "float64" and backend == "tpu":
            raise ValueError(f"{DTYPE_ENV}: expected 'float32' on TPU (no float64 there), "
                             f"got {forced!r}")
        return forced
    return "float32" if backend == "tpu" else "float64"


def describe_devices() -> str:
    """One line: the JAX version, the default backend and its devices.

    Example:
      >>> describe_devices().startswith("jax ")
      True
    """
    devices = ", ".join(str(d) for d in jax.devices())
    return f"jax {jax.__version__} | backend {jax.default_backend()} | devices: {devices}"


def identities(question: str) -> list[str]:
    """The names of the registered identities of one seed question, in registry order.

    An identity belongs to ``question`` when its ``seed`` names it: ``"Q3"`` selects the seeds
    ``"Q3a"``, ``"Q3b/Q7"`` and ``"Q2/Q3c"``.

    Args:
      question: ``"Q1"`` to ``"Q7"``.

    Returns:
      Names for :func:`jaxdl.verify.run`.

    Example:
      >>> identities("Q1")[:2]
      ['logistic.grad_w', 'logistic.grad_b']

    Reference: :attr:`jaxdl.verify.Identity.seed`.
    """
    m = _QUESTION.fullmatch(question) if isinstance(question, str) else None
    if m is None:
        raise ValueError(f"question: expected 'Q1' to 'Q7', got {question!r}")
    return [name for name, i in _verify.REGISTRY.items() if question in _questions(i.seed)]


def _questions(seed: str) -> set[str]:
    """The questions an identity's seed names: ``"Q2/Q3c"`` -> ``{"Q2", "Q3"}``."""
    return {"Q" + q.group(1) for q in map(_SEED_PART.match, seed.split("/")) if q}


def seed_notes(question: str) -> str:
    """Where the homework slips in one question, and what jaxdl implements instead.

    The text is the package's one copy (the documentation's derivation pages include the same
    paragraphs), so a notebook never restates a slip in its own words.

    Args:
      question: ``"Q1"`` to ``"Q7"``.

    Returns:
      The question's paragraphs, separated by blank lines.

    Example:
      >>> "sign" in seed_notes("Q1")
      True

    See the [derivations][derivations] for each slip in context.
    """
    if not (isinstance(question, str) and _QUESTION.fullmatch(question)):
        raise ValueError(f"question: expected 'Q1' to 'Q7', got {question!r}")
    return "\n\n".join(_slips.SLIPS[question])


def panels(*labels: tuple[str, str, str], width: float = 5.0, height: float = 3.6):
    """A row of matplotlib axes, each with its title and axis labels set.

    Args:
      *labels: one ``(title, xlabel, ylabel)`` per panel, every string non-empty.
      width, height: inches per panel.

    Returns:
      ``(figure, [axes, ...])``.

    Example:
      >>> fig, (ax,) = panels(("loss", "step", "loss"))
      >>> ax.get_xlabel()
      'step'

    Reference: every notebook draws at least one labelled plot.
    """
    if not labels:
        raise ValueError("labels: expected at least one (title, xlabel, ylabel), got none")
    for j, spec in enumerate(labels):
        if (not isinstance(spec, tuple) or len(spec) != 3
                or not all(isinstance(s, str) and s for s in spec)):
            raise ValueError(f"labels[{j}]: expected (title, xlabel, ylabel) of non-empty "
                             f"strings, got {spec!r}")
    import matplotlib.pyplot as plt  # lazily: jaxdl does not depend on matplotlib

    fig, axes = plt.subplots(1, len(labels), figsize=(width * len(labels), height), squeeze=False)
    axes = list(axes[0])
    for ax, (title, xlabel, ylabel) in zip(axes, labels, strict=True):
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    fig.set_layout_engine("tight")
    return fig, axes
