"""jaxdl: the classic derivations of deep learning as pure, verified, jit-compiled JAX functions.

Topic modules (one per seed result): :mod:`jaxdl.logistic` (Q1), :mod:`jaxdl.batchnorm` (Q2),
:mod:`jaxdl.softmax` (Q3a-b, Q7) and the K-class regression
:mod:`jaxdl.multinomial` built on it, :mod:`jaxdl.mlp` (Q3c), :mod:`jaxdl.hessian` (Q4),
:mod:`jaxdl.noise` (Q5), :mod:`jaxdl.newton` (Q6). Support: :mod:`jaxdl.checks` (validation and
PSD/symmetry assertions), :mod:`jaxdl.results` (status codes and result types),
:mod:`jaxdl.data` (bundled datasets), :mod:`jaxdl.sharding` (rows on a device mesh) and
:mod:`jaxdl.verify` (the identity registry). :func:`enable_compilation_cache` opts a process into
JAX's persistent compilation cache (the library never changes JAX's options at import).
"""

from jaxdl import batchnorm as batchnorm
from jaxdl import checks as checks
from jaxdl import data as data
from jaxdl import hessian as hessian
from jaxdl import logistic as logistic
from jaxdl import mlp as mlp
from jaxdl import multinomial as multinomial
from jaxdl import net as net
from jaxdl import newton as newton
from jaxdl import noise as noise
from jaxdl import results as results
from jaxdl import sharding as sharding
from jaxdl import softmax as softmax
from jaxdl import sweep as sweep
from jaxdl._compilation_cache import enable_compilation_cache as enable_compilation_cache
from jaxdl.results import FitResult as FitResult
from jaxdl.results import NewtonResult as NewtonResult
from jaxdl.results import Status as Status

__version__ = "0.1.0"

__all__ = [
    "FitResult",
    "NewtonResult",
    "Status",
    "batchnorm",
    "checks",
    "data",
    "enable_compilation_cache",
    "hessian",
    "logistic",
    "mlp",
    "multinomial",
    "net",
    "newton",
    "noise",
    "results",
    "sharding",
    "softmax",
    "sweep",
]
