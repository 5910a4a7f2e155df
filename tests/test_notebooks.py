"""The notebooks: stored clean, generated cells up to date, executed top to bottom in both
dtypes (as optax builds its docs: notebooks forced to run, errors fatal), and the guarded
install cell installs jaxdl from a local path into a runtime that lacks it.

Execution shares one kernel per dtype: each kernel runs every notebook in turn, with
``%reset -f`` between notebooks (no variable leaks from one notebook into the next; imported
modules and compiled programs are shared, which is what keeps the suite's budget), and the two
kernels run concurrently, with the test run's compilation cache. How long each notebook takes
on a fresh runtime is measured by the benchmark's notebooks case (``scripts/bench.py --cases
notebooks``), which applies the same checks (:func:`benchmarks.cases.notebooks.problems`).
"""

import asyncio
import importlib.util
import json
import pathlib
import re
import subprocess
import sys
import sysconfig

import pytest

from benchmarks.cases import notebooks as bench_notebooks

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")
pytest.importorskip("ipykernel")

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
DTYPES = bench_notebooks.DTYPES
SEED_TOPICS = ("q1_logistic_regression", "q2_batch_norm", "q3_softmax_backprop",
               "q4_hessian_jacobian", "q5_weight_noise", "q6_newton_quadratic",
               "q7_softmax_convexity")

_spec = importlib.util.spec_from_file_location("make_notebooks",
                                               ROOT / "scripts" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_notebooks)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _stored(path):
    return nbformat.read(path, as_version=4)


def test_one_notebook_per_seed_question_in_seed_order_plus_the_tour():
    assert NAMES == ["jaxdl_tour.ipynb", *(f"{t}.ipynb" for t in SEED_TOPICS)]


def test_generated_cells_agree_with_the_repository_url(capsys):
    assert make_notebooks.main(["--check"]) == 0, capsys.readouterr().err
    url = make_notebooks.repo_url()
    for path in NOTEBOOKS:
        nb = _stored(path)
        assert make_notebooks.badge(url, path.name) in nb.cells[0].source
        # while the URL is unset no badge points anywhere (never at a placeholder)
        linked = "colab.research.google.com" in nb.cells[0].source
        assert linked == (url != make_notebooks.UNSET)
        assert "REPLACE-ME" not in path.read_text(encoding="utf-8")
        install = nb.cells[make_notebooks._tagged(nb, make_notebooks.INSTALL_TAG)].source
        assert f'REPO_URL = "{url}"  # @param {{type:"string"}}' in install


def test_check_mode_fails_on_a_stale_notebook(tmp_path, monkeypatch, capsys):
    nb = _stored(NOTEBOOKS[1])
    install = make_notebooks._tagged(nb, make_notebooks.INSTALL_TAG)
    nb.cells[install].source = nb.cells[install].source.replace("REPO_URL = ", "REPO_URL  = ")
    (tmp_path / NOTEBOOKS[1].name).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    monkeypatch.setattr(make_notebooks, "NOTEBOOKS", tmp_path)
    assert make_notebooks.main(["--check"]) == 1
    assert NOTEBOOKS[1].name in capsys.readouterr().err


def test_repository_url_must_be_on_github(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\n'
                         'Repository = "https://example.org/jaxdl"\n')
    with pytest.raises(ValueError, match=r"\[project.urls\] Repository: expected"):
        make_notebooks.repo_url(pyproject)
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\n'
                         'Repository = "https://github.com/someone/jaxdl"\n')
    assert make_notebooks.repo_url(pyproject) == "https://github.com/someone/jaxdl"
    assert make_notebooks.colab_url("https://github.com/someone/jaxdl.git", "a.ipynb") == (
        "https://colab.research.google.com/github/someone/jaxdl/blob/main/notebooks/a.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_stored_without_outputs_and_downloads_nothing(path):
    nb = _stored(path)
    install = make_notebooks._tagged(nb, make_notebooks.INSTALL_TAG)
    for j, cell in enumerate(_code_cells(nb)):
        assert cell.outputs == [] and cell.execution_count is None, f"code cell {j}"
    for j, cell in enumerate(nb.cells):
        if j != install and cell.cell_type == "code":
            assert not re.search(r"https?://|urllib|requests|wget|curl|pip install",
                                 cell.source), f"cell {j} downloads"
    assert "pip install jaxdl" not in nb.cells[install].source.replace(
        "`pip install jaxdl`", "")  # only the comment that forbids it names it
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "try it yourself" in nb.cells[-2].source.lower() and nb.cells[-1].cell_type == "code"


def _combined(dtype):
    """One notebook running every notebook in turn; returns it and each notebook's cells."""
    setup = nbformat.v4.new_code_cell(
        f'import os\nos.environ["JAXDL_NOTEBOOK_DTYPE"] = "{dtype}"')
    cells, spans = [setup], {}
    for path in NOTEBOOKS:
        cells.append(nbformat.v4.new_code_cell("%reset -f"))
        start = len(cells)
        cells.extend(_code_cells(_stored(path)))
        spans[path.name] = (start, len(cells))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb, spans


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """``{(dtype, name): code cells}`` after one kernel per dtype ran every notebook."""
    runs = {d: _combined(d) for d in DTYPES}
    clients = [nbclient.NotebookClient(
        runs[d][0], timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path_factory.mktemp(d))}}) for d in DTYPES]

    async def both():
        await asyncio.gather(*(c.async_execute() for c in clients))

    asyncio.run(both())
    return {(d, name): runs[d][0].cells[a:b] for d in DTYPES
            for name, (a, b) in runs[d][1].items()}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(executed, name, dtype):
    cells = executed[dtype, name]
    assert cells and all(c.execution_count is not None for c in cells)
    assert bench_notebooks.problems(cells, dtype) == []


FAKE_PIP = '''
import json, os, pathlib, shutil, sys, urllib.parse
args = sys.argv[1:]
pathlib.Path(os.environ["FAKE_PIP_LOG"]).write_text(json.dumps(args))
req = args[-1]
assert args[0] == "install" and req.startswith("jaxdl[plot] @ file:"), args
src = pathlib.Path(urllib.parse.urlparse(req.split(" @ ", 1)[1]).path)
shutil.copytree(src / "jaxdl", pathlib.Path(__file__).parent.parent / "jaxdl",
                ignore=shutil.ignore_patterns("__pycache__"))
'''


def _runtime_without_jaxdl(tmp_path):
    """A PYTHONPATH for ``python -S``: this environment's packages except jaxdl, then a fake
    ``pip`` (installing means copying the source's ``jaxdl/`` next to it)."""
    links = tmp_path / "site"
    links.mkdir()
    for entry in pathlib.Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not re.match(r"(jaxdl|__editable__|_?_?editable|pip\b|pip-)", entry.name):
            (links / entry.name).symlink_to(entry)
    fake = tmp_path / "fake"
    (fake / "pip").mkdir(parents=True)
    (fake / "pip" / "__init__.py").write_text("")
    (fake / "pip" / "__main__.py").write_text(FAKE_PIP)
    return f"{fake}{__import__('os').pathsep}{links}"


def _install_cell():
    nb = _stored(NOTEBOOKS[0])
    return nb.cells[make_notebooks._tagged(nb, make_notebooks.INSTALL_TAG)].source


def test_install_cell_installs_jaxdl_from_a_local_path(tmp_path):
    env = {"PYTHONPATH": _runtime_without_jaxdl(tmp_path), "FAKE_PIP_LOG": str(tmp_path / "log"),
           "JAXDL_INSTALL_SOURCE": str(ROOT), "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"}
    probe = subprocess.run([sys.executable, "-S", "-c", "import jaxdl"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert probe.returncode != 0  # the runtime really lacks jaxdl
    code = _install_cell() + "\nprint('FROM', jaxdl.__file__)"
    run = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "log").read_text()) == [
        "install", "-q", f"jaxdl[plot] @ {ROOT.as_uri()}"]
    assert f"installed jaxdl from {ROOT.as_uri()}" in run.stdout
    assert "unchanged" in run.stdout  # the runtime's jax (version, backend) survived
    assert f"FROM {tmp_path / 'fake' / 'jaxdl'}" in run.stdout


def test_install_cell_refuses_the_placeholder_url(tmp_path):
    if make_notebooks.repo_url() != make_notebooks.UNSET:
        pytest.skip("the project has a repository URL")
    env = {"PYTHONPATH": _runtime_without_jaxdl(tmp_path), "FAKE_PIP_LOG": str(tmp_path / "log"),
           "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-S", "-c", _install_cell()], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "REPO_URL: expected the project's repository URL" in run.stderr
    assert not (tmp_path / "log").exists()  # pip never ran


# jaxdl.notebook: the helpers every notebook uses.


def test_pick_dtype():
    from jaxdl import notebook

    assert notebook.pick_dtype("cpu", env={}) == "float64"
    assert notebook.pick_dtype("gpu", env={notebook.DTYPE_ENV: ""}) == "float64"
    assert notebook.pick_dtype("tpu", env={}) == "float32"
    assert notebook.pick_dtype("cpu", env={notebook.DTYPE_ENV: "float32"}) == "float32"
    with pytest.raises(ValueError, match="JAXDL_NOTEBOOK_DTYPE: expected 'float32' or"):
        notebook.pick_dtype("cpu", env={notebook.DTYPE_ENV: "bf16"})
    with pytest.raises(ValueError, match="JAXDL_NOTEBOOK_DTYPE: expected 'float32' on TPU"):
        notebook.pick_dtype("tpu", env={notebook.DTYPE_ENV: "float64"})


def test_identities_select_by_seed_question():
    from jaxdl import notebook, verify

    q3 = notebook.identities("Q3")
    assert {verify.REGISTRY[n].seed for n in q3} >= {"Q3a", "Q3b/Q7", "Q3c", "Q2/Q3c"}
    assert "net.grads" in notebook.identities("Q2") and "softmax.ce_grad" in notebook.identities(
        "Q7")
    every = set().union(*(notebook.identities(f"Q{k}") for k in range(1, 8)))
    assert every == set(verify.REGISTRY)
    for bad in ("Q8", "q1", "Q", 1):
        with pytest.raises(ValueError, match="question: expected 'Q1' to 'Q7'"):
            notebook.identities(bad)


def test_seed_notes_are_the_packages_one_copy_of_the_slips():
    from jaxdl import _slips, notebook

    assert sorted(_slips.SLIPS) == [f"Q{k}" for k in range(1, 8)]
    notes = notebook.seed_notes("Q2")
    assert notes.split("\n\n") == list(_slips.SLIPS["Q2"])
    assert "mean(g)" in notes
    for bad in ("Q8", "q1", 2, None):
        with pytest.raises(ValueError, match="question: expected 'Q1' to 'Q7'"):
            notebook.seed_notes(bad)


def test_panels_are_labelled():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxdl import notebook

    fig, axes = notebook.panels(("a", "x", "y"), ("b", "u", "v"))
    try:
        assert [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in axes] == [
            ("a", "x", "y"), ("b", "u", "v")]
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="labels: expected at least one"):
        notebook.panels()
    with pytest.raises(ValueError, match=r"labels\[1\]: expected \(title, xlabel, ylabel\)"):
        notebook.panels(("a", "x", "y"), ("b", "", "v"))
