"""Two processes on 127.0.0.1 (CPU collectives over gloo) run scripts/multihost_fit.py: each
holds half the rows, and process 0's result equals the one-process fit to 1e-12 in float64."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jaxdl import data, logistic

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "multihost_fit.py"
ENV = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args):
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)


@pytest.mark.parametrize("solver", ["newton"])
def test_two_processes_equal_one_process_fit(tmp_path, solver):
    port, out = _free_port(), tmp_path / "fit.json"
    common = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--solver", solver,
              "--l2", "1.0", "--x64", "--timeout", "60", "--data", "breast_cancer"]
    t0 = time.perf_counter()
    procs = [_start([*common, "--process-id", str(i), "--json", str(out)]) for i in (0, 1)]
    try:
        logs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    wall = time.perf_counter() - t0
    for p, (_, err) in zip(procs, logs, strict=True):
        assert p.returncode == 0, err[-3000:]
    got = json.loads(out.read_text())
    ds = data.load("breast_cancer")
    Xs = np.asarray(data.standardize(ds.X)[0])
    ref = logistic.fit_newton(Xs, ds.y.astype(np.float64), l2=1.0, max_steps=100)
    w, b = (np.asarray(p) for p in got["params"])
    scale = np.max(np.abs(np.asarray(ref.params[0])))
    rel = max(np.max(np.abs(w - np.asarray(ref.params[0]))),
              abs(float(b) - float(ref.params[1]))) / scale
    print(json.dumps({"two_process_wall_s": round(wall, 1), "max_rel": rel,
                      "n_padded": got["n_padded"]}))
    assert got["processes"] == 2 and got["devices"] == 2 and got["n"] == 569
    assert got["n_padded"] == 570 and got["status"] == int(ref.status) == 0
    assert got["steps"] == int(ref.steps)
    assert rel < 1e-12, rel
    assert abs(got["loss"] - float(ref.loss)) <= 1e-12 * abs(float(ref.loss))


def test_coordinator_that_never_answers_times_out_with_a_message():
    port = _free_port()  # nothing listens there: process 1 waits for a coordinator
    p = _start(["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id",
                "1", "--timeout", "3"])
    try:
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 2, err[-3000:]
    assert "--coordinator: could not join" in err and "--timeout 3 s" in err, err[-3000:]


@pytest.mark.parametrize(("args", "message"), [
    (["--coordinator", "nohost", "--num-processes", "2", "--process-id", "0"],
     "--coordinator: expected HOST:PORT"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"],
     "--process-id: expected 0..1"),
    (["--coordinator", "h:1", "--num-processes", "0", "--process-id", "0"],
     "--num-processes: expected at least 1"),
    (["--coordinator", "h:1", "--num-processes", "1", "--process-id", "0", "--data", "nope"],
     "--data:"),
])
def test_bad_arguments_name_the_flag(args, message):
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
