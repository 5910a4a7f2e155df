"""Every docstring example in the ``jaxdl`` package runs, as its own test.

The examples are written for a user's default session, so each runs inside
``jaxdl._compat.enable_x64(False)``: float32 arrays and float32 reprs, whatever the test session
(tests/conftest.py turns float64 on for the rest of the suite). An example that needs float64
opens its own ``enable_x64(True)`` block, as a user would. Options: ``ELLIPSIS`` and
``NORMALIZE_WHITESPACE``. Each runs in a copy of its module's namespace, as ``doctest`` and
``pytest --doctest-modules`` run them (so an example in ``data.py`` may call ``load`` unqualified).
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil

import pytest

import jaxdl
from jaxdl._compat import enable_x64

_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["jaxdl"]
    for info in pkgutil.walk_packages(jaxdl.__path__, prefix="jaxdl."):
        if info.name != "jaxdl.__main__":  # running it would parse sys.argv
            names.append(info.name)
    return sorted(names)


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = {}
    for name in _modules():
        module = importlib.import_module(name)
        for test in finder.find(module):
            # Objects re-exported from another module are found there: keep each once, under the
            # module that defines it (DocTestFinder already skips imported functions/classes;
            # this also drops aliases such as assert_shape = chex.assert_shape).
            if test.examples and test.name.startswith(name):
                tests.setdefault(test.name, test)
    return [tests[k] for k in sorted(tests)]


EXAMPLES = _examples()


def test_collector_finds_the_examples():
    # Guards against a collector that silently finds nothing (a renamed package, a finder flag).
    assert len(EXAMPLES) > 10, [t.name for t in EXAMPLES]
    names = {t.name for t in EXAMPLES}
    for known in ("jaxdl.noise.expected_loss", "jaxdl.checks.assert_psd",
                  "jaxdl.results", "jaxdl._compat.enable_x64"):
        assert known in names, sorted(names)


def test_every_example_compares_an_output():
    # An example that is all ``+SKIP``, or that prints nothing, runs without checking anything.
    silent = [t.name for t in EXAMPLES
              if not any(e.want.strip() for e in t.examples if not e.options.get(doctest.SKIP))]
    assert not silent, f"examples with no output to compare: {silent}"


@pytest.mark.parametrize("test", EXAMPLES, ids=lambda t: t.name)
def test_docstring_example(test):
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    failures = []
    test.globs = dict(test.globs)  # its module's namespace (as doctest has it), copied per example
    environ = dict(os.environ)  # an example may set or unset variables (JAXDL_NO_CACHE does)
    try:
        with enable_x64(False):
            runner.run(test, out=failures.append, clear_globs=True)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(failures)
