"""The verification registry: every closed form of the seed, checked against JAX autodiff.

An identity is data (:class:`Identity`): a name, the seed question, the closed form, its
autodiff reference, an input sampler and per-dtype tolerances. Each identity is written once,
in the submodule of its topic, and the tests, the ``jaxdl verify`` command and the notebooks
all run this one registry.

Example (``verify.run()`` checks the whole registry in both dtypes, as ``jaxdl verify`` does):
  >>> from jaxdl import verify
  >>> outcomes = verify.run(["logistic.grad_w", "softmax.ce_grad"], dtypes=("float64",))
  >>> [(o.name, o.dtype, o.ok) for o in outcomes]
  [('logistic.grad_w', 'float64', True), ('softmax.ce_grad', 'float64', True)]
"""

from jaxdl.verify import batchnorm as _batchnorm  # noqa: F401  (registers Q2)
from jaxdl.verify import hessian as _hessian  # noqa: F401  (registers Q4)
from jaxdl.verify import logistic as _logistic  # noqa: F401  (registers Q1)
from jaxdl.verify import mlp as _mlp  # noqa: F401  (registers Q3c)
from jaxdl.verify import multinomial as _multinomial  # noqa: F401  (registers Q7, K classes)
from jaxdl.verify import net as _net  # noqa: F401  (registers Q2 + Q3c together)
from jaxdl.verify import newton as _newton  # noqa: F401  (registers Q6)
from jaxdl.verify import noise as _noise  # noqa: F401  (registers Q5)
from jaxdl.verify import softmax as _softmax  # noqa: F401  (registers Q3a/b, Q7)
from jaxdl.verify.core import (
    ASYMPTOTIC_TOL as ASYMPTOTIC_TOL,
)
from jaxdl.verify.core import (
    DTYPES as DTYPES,
)
from jaxdl.verify.core import (
    EXACT_RTOL as EXACT_RTOL,
)
from jaxdl.verify.core import (
    REGISTRY as REGISTRY,
)
from jaxdl.verify.core import (
    STATISTICAL_TOL as STATISTICAL_TOL,
)
from jaxdl.verify.core import (
    Identity as Identity,
)
from jaxdl.verify.core import (
    Outcome as Outcome,
)
from jaxdl.verify.core import (
    check as check,
)
from jaxdl.verify.core import (
    format_row as format_row,  # not in __all__ until tests/test_extremes.py's TABLE lists it
)
from jaxdl.verify.core import (
    format_table as format_table,
)
from jaxdl.verify.core import (
    psd_identity as psd_identity,
)
from jaxdl.verify.core import (
    register as register,
)
from jaxdl.verify.core import (
    run as run,
)
from jaxdl.verify.core import (
    table_header as table_header,  # not in __all__ until tests/test_extremes.py's TABLE lists it
)

__all__ = [
    "ASYMPTOTIC_TOL",
    "DTYPES",
    "EXACT_RTOL",
    "REGISTRY",
    "Identity",
    "Outcome",
    "check",
    "format_table",
    "psd_identity",
    "register",
    "run",
    "STATISTICAL_TOL",
]
