"""jaxdl.enable_compilation_cache: opt-in, writes compiled programs, a fresh process reuses them
(JAX's cache-hit events say so).

The suite runs with JAXDL_NO_CACHE=1 (tests/conftest.py); the processes started here unset it,
with their own cache folder under tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import jaxdl
from jaxdl import cli

# JAX's own signal: jax.monitoring events, counted for every program the process compiles.
PROGRAM = """
import json, sys
import jax, jax.numpy as jnp
import jaxdl
counts = {"hits": 0, "misses": 0}
def listen(event, **kwargs):
    if event == "/jax/compilation_cache/cache_hits":
        counts["hits"] += 1
    elif event == "/jax/compilation_cache/cache_misses":
        counts["misses"] += 1
jax.monitoring.register_event_listener(listen)
folder = jaxdl.enable_compilation_cache(sys.argv[1])
assert folder == sys.argv[1], (folder, sys.argv[1])
scale = float(sys.argv[2])
value = float(jax.jit(lambda x: jnp.sum(jnp.sin(x) * scale))(jnp.arange(8.0)))
print(json.dumps({"value": value, **counts}))
"""


def _run(folder, scale: str) -> dict:
    # Neither jaxdl's off switch nor the test run's own cache (tests/conftest.py).
    env = {k: v for k, v in os.environ.items()
           if k not in ("JAXDL_NO_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", PROGRAM, str(folder), scale], env=env,
                         check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.splitlines()[-1])


def _entries(folder) -> set[str]:
    return set(os.listdir(folder))


def test_a_fresh_process_reuses_the_programs_it_wrote(tmp_path):
    folder = tmp_path / "xla"
    first = _run(folder, "2.0")
    written = _entries(folder)
    assert first["misses"] >= 1 and first["hits"] == 0, first
    assert written, "the first process wrote no compiled program"
    again = _run(folder, "2.0")  # the same programs: every one loaded, none compiled
    assert again["hits"] == first["misses"] and again["misses"] == 0, (first, again)
    assert again["value"] == first["value"] == pytest.approx(2 * np.sin(np.arange(8.0)).sum())
    other = _run(folder, "3.0")  # another program (the constant differs): a miss, a new entry
    assert other["misses"] >= 1, other
    assert len(_entries(folder) - written) >= 1
    assert other["value"] == pytest.approx(3 * np.sin(np.arange(8.0)).sum())


def test_no_cache_env_changes_nothing(monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")
    before = jax.config.jax_compilation_cache_dir
    assert jaxdl.enable_compilation_cache("/nonexistent/never/created") is None
    assert jax.config.jax_compilation_cache_dir == before
    assert not os.path.exists("/nonexistent/never/created")


def test_bad_paths_name_the_argument(monkeypatch, tmp_path):
    monkeypatch.delenv("JAXDL_NO_CACHE", raising=False)
    before = jax.config.jax_compilation_cache_dir
    with pytest.raises(TypeError, match=r"^path: expected a folder path .* got int"):
        jaxdl.enable_compilation_cache(3)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match=r"^path: expected a folder .* got the file"):
        jaxdl.enable_compilation_cache(a_file)
    with pytest.raises(ValueError, match=r"^path: cannot create"):
        jaxdl.enable_compilation_cache(a_file / "below")
    assert jax.config.jax_compilation_cache_dir == before


def test_cli_warns_and_runs_when_the_cache_folder_is_unusable(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("JAXDL_NO_CACHE", raising=False)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    monkeypatch.setenv("JAXDL_CACHE_DIR", str(a_file))
    before = jax.config.jax_compilation_cache_dir
    cli._configure_jax()
    err = capsys.readouterr().err
    assert "warning: no persistent compilation cache" in err and "got the file" in err
    assert jax.config.jax_compilation_cache_dir == before
