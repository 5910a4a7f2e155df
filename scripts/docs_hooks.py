"""Build-time pieces of the documentation site (``mkdocs.yml`` loads this file twice).

* As a MkDocs hook: a derivation page's markers are replaced by generated text, so the pages
  cannot drift from the package:

  - ``<!-- jaxdl:identities Q1 -->`` becomes the table of the registered identities of that
    question (name, kind, what it compares), read from :data:`jaxdl.verify.REGISTRY`;
  - ``<!-- jaxdl:slips Q1 -->`` becomes the question's "where the homework slips" text, the
    same text :func:`jaxdl.notebook.seed_notes` gives the notebooks;
  - ``<!-- jaxdl:cli fit --help -->`` becomes what ``jaxdl fit --help`` prints;
  - ``<!-- jaxdl:statuses all -->`` becomes the table of :class:`jaxdl.results.Status`;
  - ``<!-- jaxdl:notebooks all -->`` becomes the list of notebooks.

* As a griffe extension (``SphinxRoles``): the docstrings use Sphinx roles
  (``:func:`fit_newton```), which read well in ``help()``. Each role becomes a cross-reference
  to the API page of its target when the target is a public, documented name (resolved against
  the docstring's own module first), and inline code otherwise (a private helper).

``API_MODULES`` lists the modules with an API page; :func:`anchor` says under which id a
public name is documented. ``tests/test_docsite.py`` checks both against the built site.
"""

from __future__ import annotations

import contextlib
import functools
import html
import importlib
import importlib.util
import io
import os
import pathlib
import re
from typing import Any

try:  # the griffe extension needs griffe; the hook and the tests do not
    import griffe
except ImportError:  # pragma: no cover - only without the docs extra
    griffe = None

API_MODULES = (
    "jaxdl", "jaxdl.logistic", "jaxdl.batchnorm", "jaxdl.softmax", "jaxdl.multinomial",
    "jaxdl.mlp", "jaxdl.net", "jaxdl.hessian", "jaxdl.noise", "jaxdl.newton", "jaxdl.results",
    "jaxdl.checks", "jaxdl.data", "jaxdl.sharding", "jaxdl.sweep", "jaxdl.estimators",
    "jaxdl.notebook", "jaxdl.verify", "jaxdl.verify.core",
)
"""Every module that has an API page, in the order of the API reference."""

_MARKER = re.compile(r"<!-- jaxdl:(identities|slips|cli|statuses|notebooks) ([^>]+?) -->")
_ROLE = re.compile(r":(?:func|mod|class|attr|data|meth|obj|exc):`~?([^`]+)`")


def anchor(module: str, name: str) -> str:
    """The id under which ``module.name`` (a name of ``module.__all__``) is documented.

    A submodule is documented on its own page (id: its dotted path). A function or class is
    documented where it is defined when that module has an API page and exports it (data,
    which has no ``__module__``, where a submodule with a page exports the same object);
    otherwise under the exporting module (``jaxdl.logistic.Inference``).
    """
    obj = getattr(importlib.import_module(module), name)
    if isinstance(obj, type(re)):
        return obj.__name__
    home = getattr(obj, "__module__", None)
    if not isinstance(obj, type) and not callable(obj):
        # data (a tuple, a dict) has no __module__: a package documents it in its submodule
        home = next((m for m in API_MODULES if m.startswith(module + ".")
                     and getattr(importlib.import_module(m), name, None) is obj), module)
    if home in API_MODULES and home != module and name in getattr(
            importlib.import_module(home), "__all__", ()):
        return f"{home}.{name}"
    return f"{module}.{name}"


@functools.cache
def public_anchors() -> frozenset[str]:
    """Every id the API reference documents: the modules and the names of their ``__all__``."""
    ids = set(API_MODULES)
    for module in API_MODULES:
        for name in importlib.import_module(module).__all__:
            ids.add(anchor(module, name))
    return frozenset(ids)


def _resolve(target: str, module: str) -> str | None:
    ids = public_anchors()
    parts = module.split(".")
    scopes = [".".join(parts[:k]) for k in range(len(parts), 0, -1)]
    for candidate in (target, *(f"{s}.{target}" for s in scopes)):
        if candidate in ids:
            return candidate
        # a name re-exported by a module documents under its defining module
        head, _, last = candidate.rpartition(".")
        if head in API_MODULES and last in importlib.import_module(head).__all__:
            return anchor(head, last)
    return None


_GROUPED = re.compile(r"^(\s+)(\*{0,2}\w+(?:, \*{0,2}\w+)+):(.*)$")
_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Attributes):\s*$")


def google_sections(text: str) -> str:
    """``text`` with the docstrings' conventions made explicit for griffe's Google parser.

    ``Example:`` becomes ``Examples:`` (a section of doctests), an entry that documents several
    parameters at once (``w, b: ...``) becomes one entry per parameter, and a paragraph that
    ends in ``::`` (introducing an indented block) ends in ``:``.
    """
    lines = text.split("\n")
    out: list[str] = []
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _SECTION.match(line)
        if m and i + 1 < len(lines) and lines[i + 1].strip() == "None.":
            i += 2  # "Args: None." documents no parameter
            continue
        if m:
            section_indent = len(m.group(1))
        elif line.strip() and section_indent is not None and (
                len(line) - len(line.lstrip()) <= section_indent):
            section_indent = None
        g = _GROUPED.match(line) if section_indent is not None else None
        if g and len(g.group(1)) > section_indent:
            j = i + 1
            while j < len(lines) and lines[j].strip() and (
                    len(lines[j]) - len(lines[j].lstrip()) > len(g.group(1))):
                j += 1
            for name in g.group(2).split(", "):
                out.append(f"{g.group(1)}{name}:{g.group(3)}")
                out.extend(lines[i + 1:j])
            i = j
            continue
        if line.strip() == "Example:":
            line = line.replace("Example:", "Examples:")
        elif line.endswith("::") and (i + 1 == len(lines) or not lines[i + 1].strip()):
            line = line[:-1].rstrip(" :") + ":" if not line.strip() == "::" else ""
        out.append(line)
        i += 1
    return "\n".join(out)


def crossrefs(text: str, module: str) -> str:
    """``text`` with each Sphinx role a Markdown cross-reference (or inline code)."""

    def one(m: re.Match) -> str:
        target = m.group(1)
        found = _resolve(target, module)
        return f"[`{target}`][{found}]" if found else f"`{target}`"

    return _ROLE.sub(one, text)


if griffe is not None:

    class SphinxRoles(griffe.Extension):
        """Turn the docstrings' Sphinx roles into cross-references (see the module docstring)."""

        def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
            if obj.docstring is not None:
                text = google_sections(obj.docstring.value)
                obj.docstring.value = crossrefs(text, obj.module.path)


def identities_table(question: str) -> str:
    """An HTML table of the registered identities of ``question``."""
    from jaxdl import notebook, verify

    rows = []
    for name in notebook.identities(question):
        i = verify.REGISTRY[name]
        rows.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{i.kind}</td>"
                    f"<td>{html.escape(i.statement)}</td></tr>")
    return ('<table class="jaxdl-identities">\n<thead><tr><th>identity</th><th>kind</th>'
            "<th>what it compares</th></tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table>")


def slips_text(question: str) -> str:
    """The question's slips, one paragraph each, as the notebooks print them."""
    from jaxdl import notebook

    return notebook.seed_notes(question)


def cli_output(args: str) -> str:
    """What ``jaxdl ARGS`` prints (``--help``, ``sweep --list``), as a text code block."""
    from jaxdl import cli

    os.environ.setdefault("JAXDL_NO_CACHE", "1")
    os.environ["COLUMNS"] = "100"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            cli.main(args.split())
        except SystemExit:
            pass
    return f"```text\n$ jaxdl {args}\n{buf.getvalue().rstrip()}\n```"


def statuses_table(_: str) -> str:
    """An HTML table of :class:`jaxdl.results.Status`: code, name and message."""
    from jaxdl.results import Status

    rows = [f"<tr><td>{int(s)}</td><td><code>{s.name.lower()}</code></td>"
            f"<td>{html.escape(s.message.split(': ', 1)[1])}</td></tr>" for s in Status]
    return ('<table class="jaxdl-statuses">\n<thead><tr><th>code</th><th>status</th>'
            "<th>what happened, what to do</th></tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table>")


def notebooks_list(_: str) -> str:
    """The notebooks, one line each, from ``scripts/make_notebooks.py`` (badges once the
    repository URL is set in pyproject.toml)."""
    path = pathlib.Path(__file__).with_name("make_notebooks.py")
    spec = importlib.util.spec_from_file_location("make_notebooks", path)
    make_notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_notebooks)
    return make_notebooks.notebook_list(make_notebooks.repo_url())


def expand(markdown: str) -> str:
    """``markdown`` with every ``<!-- jaxdl:... -->`` marker replaced by its generated text."""
    make = {"identities": identities_table, "slips": slips_text, "cli": cli_output,
            "statuses": statuses_table, "notebooks": notebooks_list}

    def one(m: re.Match) -> str:
        return make[m.group(1)](m.group(2))

    return _MARKER.sub(one, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """MkDocs hook: expand the markers of a page."""
    return expand(markdown)
