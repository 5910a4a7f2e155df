"""The documentation site: it builds strictly, documents every public name, keeps the derivation
pages in step with the package, and links only to files that exist.

The site is built once per module (``mkdocs build --strict`` in a subprocess, into a temporary
folder; about ten seconds). The browser check, which needs Chromium, is
``scripts/check_docs_browser.py`` (run by CI after the tests).
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import pathlib
import pkgutil
import re
import subprocess
import sys

import pytest

import jaxdl

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
docs_hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(docs_hooks)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.fail("mkdocs: expected the docs extra (pip install -e \".[test,docs]\"), got none")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                            "--site-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return out


@pytest.fixture(scope="module")
def ids(site) -> set[str]:
    """Every element id of every built page."""
    found = set()
    for page in site.rglob("*.html"):
        found.update(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
    return found


def _text(page: pathlib.Path) -> str:
    """A built page's text: tags dropped, entities decoded, whitespace collapsed."""
    raw = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))
    return " ".join(html.unescape(raw).split())


def _public_modules() -> list[str]:
    names = ["jaxdl"]
    for info in pkgutil.walk_packages(jaxdl.__path__, prefix="jaxdl."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        if hasattr(importlib.import_module(info.name), "__all__"):
            names.append(info.name)
    return names


def test_every_public_module_has_an_api_page():
    assert sorted(_public_modules()) == sorted(docs_hooks.API_MODULES)
    for module in docs_hooks.API_MODULES:
        page = "jaxdl" if module == "jaxdl" else module.removeprefix("jaxdl.").split(".")[0]
        assert (DOCS / "api" / f"{page}.md").is_file(), module


def test_every_public_name_is_in_the_api_reference(ids):
    missing = [f"{module}.{name} (id {docs_hooks.anchor(module, name)})"
               for module in docs_hooks.API_MODULES
               for name in importlib.import_module(module).__all__
               if docs_hooks.anchor(module, name) not in ids]
    assert not missing, missing


def test_a_missing_name_would_be_caught(ids):
    # The check above reads real ids: a name nobody documents has none.
    assert "jaxdl.logistic.fit_newton" in ids
    assert "jaxdl.logistic.no_such_function" not in ids


@pytest.mark.parametrize("q", range(1, 8))
def test_derivation_page_carries_the_packages_slips_and_identities(site, q):
    from jaxdl import _slips, notebook

    source = (DOCS / "derivations" / f"q{q}.md").read_text(encoding="utf-8")
    assert f"<!-- jaxdl:slips Q{q} -->" in source and f"<!-- jaxdl:identities Q{q} -->" in source
    assert "{#" + f"q{q}-derivation" + "}" in source  # the docstrings' link target
    text = _text(site / "derivations" / f"q{q}" / "index.html")
    for paragraph in _slips.SLIPS[f"Q{q}"]:
        assert paragraph.replace("`", "") in text, paragraph
    names = notebook.identities(f"Q{q}")
    assert names
    for name in names:
        assert name in text, name
    assert "class=\"katex" not in text  # math is rendered in the browser, from the source
    assert "arithmatex" in (site / "derivations" / f"q{q}" / "index.html").read_text(
        encoding="utf-8")


def test_docstrings_link_to_the_derivations_not_to_the_seed():
    pattern = re.compile(r"Reference: seeds? Q\d")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "jaxdl").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders
    from jaxdl import logistic

    assert "[Q1 derivation][q1-derivation]" in logistic.grad.__doc__


_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_REPO_PATH = re.compile(r"`((?:scripts|tests|notebooks|jaxdl|docs|\.ci)/[\w./-]*)`")


def _user_docs() -> list[pathlib.Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_links_to_the_repositorys_files_exist():
    dead = []
    for path in _user_docs():
        text = path.read_text(encoding="utf-8")
        for target in _MD_LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file = target.split("#")[0]
            if file and not (path.parent / file).exists():
                dead.append(f"{path.relative_to(ROOT)}: ({target})")
        for named in _REPO_PATH.findall(text):
            if not (ROOT / named).exists():
                dead.append(f"{path.relative_to(ROOT)}: `{named}`")
    assert not dead, dead


def test_no_link_leads_nowhere():
    for path in [*_user_docs(), *sorted((ROOT / "notebooks").glob("*.ipynb"))]:
        text = path.read_text(encoding="utf-8")
        assert "REPLACE-ME" not in text, path
        for url in re.findall(r"https?://[^\s)\"'>`]+", text):
            # the only addresses the documents may name: Colab's own (the badge image, and
            # notebook links that exist only once [project.urls] Repository is set), the
            # local preview server, and the OWNER/NAME template a reader fills in
            assert url.startswith(("https://colab.research.google.com/", "http://127.0.0.1:",
                                   "https://github.com/OWNER/NAME")), (path, url)


def test_user_docs_tell_the_software_as_it_is():
    history = re.compile(r"\b(session|sessions|issue|issues|was|were|previously|lever|now)\b",
                         re.IGNORECASE)
    outside = re.compile("|".join(map(re.escape, ["/wo" + "rk/", "../sha" + "red", "DIG" + "EST"])))
    for path in _user_docs():
        text = path.read_text(encoding="utf-8")
        assert not history.findall(text), (path, history.findall(text))
        assert not outside.search(text), path


def test_readme_is_short_and_its_test_command_builds_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    command = ('python3 -m venv .venv && .venv/bin/pip install -q -e ".[test,docs]" && '
               ".venv/bin/python -m pytest -q")
    assert command in readme
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_sphinx_roles_become_cross_references():
    text = docs_hooks.crossrefs("see :func:`fit_newton` and :func:`_private`", "jaxdl.logistic")
    assert text == "see [`fit_newton`][jaxdl.logistic.fit_newton] and `_private`"
    grouped = docs_hooks.google_sections("Args:\n  w, b: the parameters.\n  X: data.\n")
    assert grouped == "Args:\n  w: the parameters.\n  b: the parameters.\n  X: data.\n"
