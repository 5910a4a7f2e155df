"""Test-session numerics: float64 on, rank promotion an error, one compilation cache for the
run (set once, here only).

Compiled programs are shared across test modules (a fit compiled by one module serves the next
on the same shapes; tests/test_mutation.py, test_verify.py and test_properties.py compile the
same registry programs), but not without bound: XLA's CPU executables each hold memory
mappings, and a whole suite's worth (thousands of programs) would exhaust the kernel's
per-process map limit (vm.max_map_count, 65530 by default) and crash the compiler. When a module
ends with the process holding more than half the limit (or resident memory over a quarter of
the machine's), every compiled program is dropped; the largest module adds about 10,000 maps.
Where the map count cannot be read (no ``/proc``), programs are dropped after every module.

Two processes by default: with pytest-xdist installed, ``pytest`` runs two workers
(``-n 2 --dist loadgroup``; ``-n 0`` or ``-p no:xdist`` runs in one process). Each module is
one group, run whole by one worker (its module fixtures and background processes exist once);
modules that compile the same programs share a group (``GROUPS``), and the slow groups are
handed out first (``FIRST``) so that the two workers finish together.
"""

import gc
import os
import pathlib
import shutil
import subprocess
import tempfile

import jax
import pytest

# Modules compiling the same programs run in one worker: their group's name.
GROUPS = {"test_mutation": "registry", "test_verify": "registry", "test_properties": "registry"}
# Groups handed to the workers first, the slow ones (a slow group handed out last would leave
# the other worker idle at the end); the rest follow in collection order.
FIRST = ("test_extremes", "registry", "test_bench", "test_notebooks",
         "test_cli", "test_sharding", "test_sweep", "test_newton", "test_estimators",
         "test_estimators_cv", "test_determinism")
WORKERS = 2


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``-n 2 --dist loadgroup`` unless the command line chose otherwise (``-n``, ``--dist``,
    ``--pdb``, ``--collect-only``) or xdist is absent or disabled; ``-n N`` alone also gets
    ``--dist loadgroup``."""
    opt = config.option
    if (not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput")
            or opt.usepdb or opt.collectonly or getattr(opt, "dist", "no") != "no"):
        return
    if opt.numprocesses is None:
        opt.numprocesses = WORKERS
        opt.tx = ["popen"] * WORKERS
    if opt.numprocesses in ("auto", "logical") or opt.numprocesses > 0:
        opt.dist = "loadgroup"
        opt.loadscopereorder = False  # our order (FIRST), not by test count


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Tell each xdist worker to group and order its collection (a worker parses the command
    line again, without the defaults above)."""
    node.workerinput["jaxdl_loadgroup"] = node.config.option.dist == "loadgroup"


def _group(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return GROUPS.get(module, module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadgroup``: each module a group, merged as ``GROUPS`` says, every group run
    whole by one worker. (xdist's own loadgroup reads ``xdist_group`` marks into node ids, which
    pytest 9 no longer lets it rewrite.)"""
    if config.option.dist != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return ModuleGroups(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """In an xdist worker (whose collection order is the order groups are handed out): the
    groups of ``FIRST`` first."""
    if not getattr(config, "workerinput", {}).get("jaxdl_loadgroup"):
        return
    rank = {g: k for k, g in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(_group(item.nodeid), len(FIRST)))  # stable


# jaxdl's own cache (enable_compilation_cache, ~/.cache/jaxdl/xla) stays off in every test and in
# the scripts, CLI runs and notebook kernels they start (they inherit this);
# tests/test_compilation_cache.py unsets it on purpose.
os.environ["JAXDL_NO_CACHE"] = "1"

# One run, one compilation cache: a temporary folder made by the first process of the run (the
# xdist controller, or the only process), removed when it ends. The workers and every process
# they start inherit it through JAX's own variables, so a program compiled once in the run (by
# the other worker, by a CLI run, or before a module's end dropped it from memory) is loaded,
# not compiled again. A cached program is the program compiled (its key is the computation,
# the compile options, the XLA flags and the versions); processes that must compile anew (the
# determinism and benchmark children, the notebook kernels whose times are checked,
# tests/test_compilation_cache.py) leave JAX_COMPILATION_CACHE_DIR out of their environment.
# A read racing another process's write of the same entry can fail: JAX then warns and
# compiles (pyproject.toml ignores that warning).
_RUN_CACHE_OWNER = "JAXDL_TEST_RUN_CACHE" not in os.environ
if _RUN_CACHE_OWNER:
    os.environ["JAXDL_TEST_RUN_CACHE"] = tempfile.mkdtemp(prefix="jaxdl-xla-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = os.environ["JAXDL_TEST_RUN_CACHE"]
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
jax.config.update("jax_compilation_cache_dir", os.environ["JAXDL_TEST_RUN_CACHE"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's compilation cache goes with the process that made it."""
    if _RUN_CACHE_OWNER:
        shutil.rmtree(os.environ["JAXDL_TEST_RUN_CACHE"], ignore_errors=True)


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


def _map_count() -> int | None:
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def _map_budget() -> int:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read()) // 2
    except (OSError, ValueError):
        return 65530 // 2


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_MAP_BUDGET = _map_budget()
# The programs kept also hold memory (a peak RSS of 3.5 GB at ~40,000 maps, measured): on a
# machine with little memory they are dropped sooner, at a quarter of it.
try:
    _RESIDENT_BUDGET = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
except (AttributeError, OSError, ValueError):  # no sysconf: the map count alone decides
    _RESIDENT_BUDGET = float("inf")


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs():
    yield
    maps = _map_count()
    if maps is None or maps > _MAP_BUDGET or _resident_bytes() > _RESIDENT_BUDGET:
        jax.clear_caches()
        gc.collect()


# ----------------------------------------------------------------------------------------------
# Fresh processes started early. A test module may define ``BACKGROUND(start)``, calling
# ``start(key, argv, env=None)`` for each fresh interpreter its tests read. When a selected test
# uses the ``background`` fixture, the module's processes start as soon as collection ends and
# run beside the rest of the suite (they compile everything anew, mostly on one core, so they
# would otherwise queue behind it); the tests read them with ``background[key].result(timeout)``.
# Under xdist every worker collects every module but runs only its own groups: a worker starts
# a module's processes when it begins that module (once, in the one worker that runs it).


class _Job:
    """A fresh process; its output goes to files (a pipe nobody reads yet could fill and block
    it)."""

    def __init__(self, folder: pathlib.Path, argv: list[str], env: dict | None):
        self.folder = folder
        with open(folder / "stdout", "w") as out, open(folder / "stderr", "w") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=folder)

    def result(self, timeout: float) -> tuple[int, str, str]:
        """``(returncode, stdout, stderr)`` once the process ends; killed after ``timeout`` s
        of waiting (the test then fails with ``TimeoutExpired``)."""
        try:
            self.proc.wait(timeout)
        finally:
            self.proc.kill()
        self.proc.wait()
        return (self.proc.returncode, (self.folder / "stdout").read_text(),
                (self.folder / "stderr").read_text())


_JOBS = pytest.StashKey[dict]()


def _start_jobs(config: pytest.Config, module) -> dict:
    state = config.stash.setdefault(_JOBS, {"root": None, "modules": {}})
    if module.__name__ not in state["modules"]:
        if state["root"] is None:
            state["root"] = pathlib.Path(tempfile.mkdtemp(prefix="jaxdl-tests-"))
        jobs = state["modules"][module.__name__] = {}

        def start(key, argv, env=None):
            folder = state["root"] / module.__name__ / str(len(jobs))
            folder.mkdir(parents=True)
            jobs[key] = _Job(folder, argv, env)

        module.BACKGROUND(start)
    return state["modules"][module.__name__]


_NEEDS_JOBS = pytest.StashKey[set]()


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    needs = session.config.stash.setdefault(_NEEDS_JOBS, set())
    worker = hasattr(session.config, "workerinput")
    for item in session.items:
        module = getattr(item, "module", None)
        if hasattr(module, "BACKGROUND") and "background" in getattr(item, "fixturenames", ()):
            needs.add(module.__name__)
            if not worker:
                _start_jobs(session.config, module)


@pytest.fixture(autouse=True, scope="module")
def _start_background_with_the_module(request):
    """Under xdist: start this module's processes with its first test (see above)."""
    if request.module.__name__ in request.config.stash.get(_NEEDS_JOBS, ()):
        _start_jobs(request.config, request.module)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_JOBS, None)
    if state is None:
        return
    for jobs in state["modules"].values():
        for job in jobs.values():
            job.proc.kill()
            job.proc.wait()
    if state["root"] is not None:
        shutil.rmtree(state["root"], ignore_errors=True)


@pytest.fixture(scope="module")
def background(request) -> dict:
    """This module's early-started processes (see ``BACKGROUND`` above)."""
    return _start_jobs(request.config, request.module)
