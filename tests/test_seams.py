"""The code's seams, enforced: no module uses another's private names, jaxdl has no import
cycle, no dependency's private internals are imported, and one public fit validates and scans
X once."""

from __future__ import annotations

import ast
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import checks, logistic, multinomial

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("jaxdl", "scripts", "benchmarks") for p in (ROOT / d).rglob("*.py"))
# NamedTuple and Enum API that starts with an underscore by design.
ALLOWED_ATTRS = {"_replace", "_fields", "_asdict", "_make", "_value_", "_name_", "_text"}


def _module_of(path: pathlib.Path, root: pathlib.Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _violations(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    """Uses of another module's private names in ``path``.

    Inside the package, jaxdl's private modules (``jaxdl._fit``) are its machinery and may be
    imported; a private *name of* a module (``logistic._Model``, ``from jaxdl.x import _y``) may
    not. Outside the package (scripts, benchmarks) nothing private of jaxdl may be used."""
    inside = _module_of(path, root).startswith("jaxdl")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()  # local names bound to modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                modules.add((a.asname or a.name).split(".")[0])
                if a.name.startswith("jaxdl") and not inside and any(
                        _private(p) for p in a.name.split(".")):
                    found.append(f"{path.name}:{node.lineno}: import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module
            for a in node.names:
                # jaxdl's own machinery: a private module of one of its packages, imported
                # inside the package (``from jaxdl import _fit``, ``from jaxdl.sweep import
                # _plots``).
                where = root / pathlib.Path(*mod.split(".")) / a.name
                own_module = inside and mod.startswith("jaxdl") and (
                    where.with_suffix(".py").exists() or where.is_dir())
                private = _private(a.name) or (mod.startswith("jaxdl") and any(
                    _private(p) for p in mod.split(".")) and not inside)
                if private and not own_module:
                    found.append(f"{path.name}:{node.lineno}: from {mod} import {a.name}")
                modules.add(a.asname or a.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr)
                and node.attr not in ALLOWED_ATTRS and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    found = [v for path in SOURCES for v in _violations(path)
             if (str(path.relative_to(ROOT)), "jax._src") not in SHIMS]
    assert not found, "\n".join(found)


def test_the_private_name_scan_can_fail(tmp_path):
    inside = tmp_path / "jaxdl" / "bad.py"
    inside.parent.mkdir()
    (tmp_path / "jaxdl" / "_fit.py").write_text("")  # a private module of the package
    inside.write_text("from jaxdl import _fit, logistic\nfrom jaxdl.multinomial import _free\n"
                      "m = logistic._inputs\nok = logistic.Model()._replace\n")
    assert _violations(inside, tmp_path) == [
        "bad.py:2: from jaxdl.multinomial import _free", "bad.py:3: logistic._inputs"]
    outside = tmp_path / "scripts" / "bad.py"
    outside.parent.mkdir()
    outside.write_text("from jaxdl import _fit\nfrom jaxdl._fit import fit\n")
    assert _violations(outside, tmp_path) == [
        "bad.py:1: from jaxdl import _fit", "bad.py:2: from jaxdl._fit import fit"]


def _imports(path: pathlib.Path) -> set[str]:
    """The jaxdl modules ``path`` imports, at module level or inside a function (a deferred
    import is still a dependency). A module-level ``__getattr__`` that forwards names kept for
    compatibility to the module now holding them (``softmax.fit_newton`` is
    ``multinomial.fit_newton``) is an alias, not a dependency of the module's own code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    skip = {id(n) for a in aliases for n in ast.walk(a)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("jaxdl")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jaxdl"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if (ROOT / pathlib.Path(*sub.split("."))).with_suffix(".py").exists()
                        or (ROOT / pathlib.Path(*sub.split("."))).is_dir() else node.module)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def _package_graph() -> dict[str, set[str]]:
    graph = {}
    for path in (ROOT / "jaxdl").rglob("*.py"):
        mod = _module_of(path)
        # A package's __init__ re-exporting its own submodules is not a cycle.
        graph[mod] = {m for m in _imports(path) if m != mod and not m.startswith(mod + ".")}
    return graph


def test_no_import_cycle_in_jaxdl():
    cycle = _cycle(_package_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_search_can_fail():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


# jaxdl/_compat.py holds the shims for the oldest supported jax (0.4.27): where a release lacks
# the public name, the shim takes the same primitive from where that release keeps it.
SHIMS = {("jaxdl/_compat.py", "jax._src")}


def test_no_private_internals_of_a_dependency():
    found = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for bad in [f"{package}._src" for package in ("chex", "jax", "optax")] + [
                "sklearn.utils._"]:
            if bad in text and (str(path.relative_to(ROOT)), bad) not in SHIMS:
                found.append(f"{path.relative_to(ROOT)}: {bad}")
    assert not found, found


# ----------------------------------------------------------------------------------------------
# Validation once: one public fit scans X for non-finite values once.


@pytest.fixture
def scans(monkeypatch):
    """Count the non-finite scans of arrays named X (checks.float_array is where they happen)."""
    seen = []
    original = checks.float_array

    def counting(name, x, **kw):
        if name == "X":
            seen.append(np.shape(x))
        return original(name, x, **kw)

    monkeypatch.setattr(checks, "float_array", counting)
    return seen


@pytest.mark.parametrize("call", [
    lambda X, y, k: logistic.fit_newton(X, (y == 0).astype(X.dtype), l2=1.0),
    lambda X, y, k: logistic.fit_lbfgs(X, (y == 0).astype(X.dtype), l2=1.0),
    lambda X, y, k: logistic.fit_gd(X, (y == 0).astype(X.dtype), lr=0.01, max_steps=5),
    lambda X, y, k: logistic.fit_newton_many(X, (y == 0).astype(X.dtype), l2=jnp.ones(2)),
    lambda X, y, k: multinomial.fit_newton(X, y, l2=1.0),
    lambda X, y, k: multinomial.fit_lbfgs(X, y, num_classes=k, l2=1.0),
    lambda X, y, k: multinomial.fit_gd(X, y, lr=0.01, max_steps=5),
    lambda X, y, k: multinomial.fit_newton_many(X, y, l2=jnp.ones(2)),
    lambda X, y, k: multinomial.bootstrap(X, y, key=__import__("jax").random.key(0),
                                          num_resamples=2, l2=1.0),
    lambda X, y, k: logistic.bootstrap(X, (y == 0).astype(X.dtype),
                                       key=__import__("jax").random.key(0), num_resamples=2),
    lambda X, y, k: logistic.grad(jnp.zeros(3), 0.0, X, (y == 0).astype(X.dtype)),
    lambda X, y, k: multinomial.hessian(jnp.zeros((k, 3)), jnp.zeros(k), X, l2=1.0),
], ids=["logistic.fit_newton", "logistic.fit_lbfgs", "logistic.fit_gd",
        "logistic.fit_newton_many", "multinomial.fit_newton", "multinomial.fit_lbfgs",
        "multinomial.fit_gd", "multinomial.fit_newton_many", "multinomial.bootstrap",
        "logistic.bootstrap", "logistic.grad", "multinomial.hessian"])
def test_one_public_fit_scans_X_once(scans, call):
    X = jnp.asarray(np.random.default_rng(0).normal(size=(60, 3)))
    y = jnp.asarray(np.arange(60) % 3)
    call(X, y, 3)
    assert scans == [(60, 3)], scans


def test_the_scan_count_can_fail(scans):
    # Two validations of X (as a fit followed by its inference) are two scans.
    X = jnp.asarray(np.random.default_rng(0).normal(size=(60, 3)))
    y = (jnp.arange(60) % 2).astype(X.dtype)
    logistic.inference(logistic.fit_newton(X, y), X, y)
    assert len(scans) == 2


# Validation once: the machinery below the public boundary (the compiled fits, the loops, the
# Newton steps, the Gram products, the dense products, the inference arithmetic) trusts its
# inputs and calls no check; jaxdl._linear_model is the boundary of the linear models.
BELOW_THE_BOUNDARY = ("_fit.py", "_solver.py", "_newton_step.py", "_gram.py", "_linalg.py",
                      "_inference.py")


def test_the_machinery_below_the_boundary_calls_no_check():
    found = []
    for name in BELOW_THE_BOUNDARY:
        tree = ast.parse((ROOT / "jaxdl" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id == "checks":
                found.append(f"{name}:{node.lineno}: checks.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "jaxdl" and any(
                    a.name == "checks" for a in node.names):
                found.append(f"{name}:{node.lineno}: imports checks")
    assert not found, found
