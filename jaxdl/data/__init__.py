"""Datasets: two bundled real data sets, a CSV loader, standardisation, synthetic generators.

Everything here is a plain function.  Real data come back as NumPy arrays in a
:class:`Dataset`; synthetic data come back as JAX arrays of the requested dtype.
Nothing is rescaled behind the caller's back: call :func:`standardize` yourself.

The bundled files live in ``jaxdl/datasets/`` (see ``SOURCES.md`` there for their
origin and licence) and are read with :mod:`importlib.resources`, so no network
access and no scikit-learn are needed.
"""


from __future__ import annotations

from jaxdl.data._bundled import BUNDLED as BUNDLED
from jaxdl.data._bundled import load as load
from jaxdl.data._bundled import load_breast_cancer as load_breast_cancer
from jaxdl.data._bundled import load_digits as load_digits
from jaxdl.data._csv import Dataset as Dataset
from jaxdl.data._csv import load_csv as load_csv
from jaxdl.data._preprocess import check_classes as check_classes
from jaxdl.data._preprocess import standardize as standardize
from jaxdl.data._preprocess import stratified_folds as stratified_folds
from jaxdl.data._preprocess import train_test_split as train_test_split
from jaxdl.data._synthetic import make_logistic as make_logistic
from jaxdl.data._synthetic import make_multiclass as make_multiclass
from jaxdl.data._synthetic import make_separable as make_separable

__all__ = [
    "BUNDLED",
    "Dataset",
    "check_classes",
    "load",
    "load_breast_cancer",
    "load_csv",
    "load_digits",
    "make_logistic",
    "make_multiclass",
    "make_separable",
    "standardize",
    "stratified_folds",
    "train_test_split",
]
