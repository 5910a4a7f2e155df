"""jaxdl.enable_compilation_cache: opt-in, writes compiled programs, a fresh process reuses them.

The suite runs with JAXDL_NO_CACHE=1 (tests/conftest.py); the processes started here unset it,
with their own cache folder under tmp_path.
"""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import pytest

import jaxdl
from jaxdl import cli

PROGRAM = """
import sys
import jax, jax.numpy as jnp
import jaxdl
folder = jaxdl.enable_compilation_cache(sys.argv[1])
assert folder == sys.argv[1], (folder, sys.argv[1])
scale = float(sys.argv[2])
print(float(jax.jit(lambda x: jnp.sum(jnp.sin(x) * scale))(jnp.arange(8.0))))
"""


def _run(folder, scale: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAXDL_NO_CACHE"}
    env["JAX_PLATFORMS"] = "cpu"
    subprocess.run([sys.executable, "-c", PROGRAM, str(folder), scale], env=env, check=True,
                   capture_output=True, timeout=120)


def _entries(folder) -> set[str]:
    return set(os.listdir(folder))


def test_a_fresh_process_reuses_the_programs_it_wrote(tmp_path):
    folder = tmp_path / "xla"
    _run(folder, "2.0")
    first = _entries(folder)
    assert first, "the first process wrote no compiled program"
    _run(folder, "2.0")  # the same program: loaded, nothing new written
    assert _entries(folder) == first
    _run(folder, "3.0")  # another program (the constant differs): one more entry
    assert len(_entries(folder) - first) >= 1


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
