"""Two processes on 127.0.0.1 (CPU collectives over gloo) run scripts/multihost_fit.py: each
holds half the rows, and process 0's result, with no dtype flag, equals the library's one-process
float64 fit (the defaults of ``jaxdl fit``) to 1e-12."""

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
from jaxdl.cli import fit as cli_fit

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
              "--l2", "1.0", "--timeout", "60", "--data", "breast_cancer"]  # no dtype flag
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
    assert Xs.dtype == np.float64
    ref = logistic.fit_newton(Xs, ds.y.astype(np.float64), l2=1.0,
                              max_steps=cli_fit.NEWTON_STEPS, gtol=cli_fit.default_gtol("float64"))
    assert got["dtype"] == "float64" and got["gtol"] == 1e-9
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
    (["--coordinator", "h:1", "--num-processes", "1", "--process-id", "0", "--x64"],
     "unrecognized arguments: --x64"),  # float64 is the default, as in jaxdl fit
    (["--coordinator", "h:1", "--num-processes", "1", "--process-id", "0", "--dtype", "float16"],
     "argument --dtype: invalid choice: 'float16'"),
    (["--coordinator", "h:1", "--num-processes", "1", "--process-id", "0", "--l2", "-1"],
     "argument --l2: expected a finite number >= 0"),
    (["--coordinator", "h:1", "--num-processes", "1", "--process-id", "0", "--newton-steps",
      "0"], "argument --newton-steps: expected an integer >= 1"),
])
def test_bad_arguments_name_the_flag(args, message):
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]


def test_dtype_float32_follows_jaxdl_fit(tmp_path):
    out = tmp_path / "fit32.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--coordinator", "127.0.0.1:1",
                           "--num-processes", "1", "--process-id", "0", "--dtype", "float32",
                           "--json", str(out)], capture_output=True, text=True, env=ENV,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got["dtype"] == "float32" and got["gtol"] == 1e-5  # jaxdl fit's float32 defaults
    ds = data.load("breast_cancer")
    Xs = data.standardize(np.asarray(ds.X, np.float32))[0]
    ref = logistic.fit_newton(Xs, ds.y.astype(np.float32), l2=1.0,
                              max_steps=cli_fit.NEWTON_STEPS, gtol=cli_fit.default_gtol("float32"))
    assert got["status"] == int(ref.status) == 0 and got["steps"] == int(ref.steps)
    w = np.asarray(got["params"][0])
    ref_w = np.asarray(ref.params[0])
    rel = np.max(np.abs(w - ref_w)) / np.max(np.abs(ref_w))
    assert rel < 1e-5, rel  # float32: both are float32 fits of the same rows
