"""Sweeps (jaxdl.sweep, ``jaxdl sweep``): rows equal the single calls they stand for (float64,
1e-12), one compilation for any number of values, failed configurations keep their rows, the
files survive a kill and ``resume`` finishes them, the configuration axis shards over devices,
and bad input is refused before any work, naming the argument or flag.

Sizes are small (gd-rates with a 300-step budget) so the compiled chunks are few and shared.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _fit, batchnorm, cli, logistic, newton, noise, sweep
from jaxdl.results import Status
from jaxdl.sweep import _builtins as _sweeps
from jaxdl.sweep import _runner

# Rates inside gradient descent's stable range: beyond it (lr_w >= 0.03 here) the iterates
# oscillate chaotically and any two roundings part ways, so no two programs agree to 1e-12.
GD = {"lr_w": [0.003, 0.006, 0.01], "lr_b": [0.001, 0.03], "max_steps": [300]}


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b)))))


@pytest.fixture(scope="module")
def gd_table():
    return sweep.run("gd-rates", GD, chunk_size=4, progress=False)


def test_gd_rates_rows_equal_single_fits(gd_table):
    X, y = _sweeps._breast_cancer("float64")
    assert len(gd_table) == 6 and gd_table.columns[:5] == ["lr_w", "lr_b", "l2", "gtol",
                                                           "max_steps"]
    for r in gd_table.rows[::2]:
        res = logistic.fit_gd(X, y, lr_w=r["lr_w"], lr_b=r["lr_b"], l2=r["l2"],
                              gtol=r["gtol"], max_steps=r["max_steps"])
        assert r["status"] == res.status_name and r["steps"] == int(res.steps)
        _close(r["loss"], res.loss)
        _close(r["grad_norm"], res.grad_norm)
        assert r["diverged"] == _diverged(res) == 0


def _diverged(res) -> int:
    """1 if the loss is not finite or rose by more than rounding (1e-10 of its start) at some
    step of ``res.loss_history`` (NaN past the last step), computed in NumPy."""
    h = np.asarray(res.loss_history, float)
    h = h[~np.isnan(h)]
    return int(not np.isfinite(float(res.loss)) or np.max(np.diff(h)) > 1e-10 * abs(h[0]))


def test_gd_rates_diverged_column_flags_rates_past_stability():
    # lr_w = 0.3 is past gradient descent's stable range here (the loss rises); 0.003 is not
    t = sweep.run("gd-rates", {"lr_w": [0.003, 0.3], "lr_b": [0.001, 0.03], "max_steps": [300]},
                  chunk_size=4, progress=False)
    X, y = _sweeps._breast_cancer("float64")
    flags = []
    for r in t.rows:
        res = logistic.fit_gd(X, y, lr_w=r["lr_w"], lr_b=r["lr_b"], l2=r["l2"],
                              gtol=r["gtol"], max_steps=r["max_steps"])
        flags.append(r["diverged"])
        assert r["diverged"] == _diverged(res), r
    assert flags == [0, 0, 1, 1]


def test_lockstep_loop_equals_plain_vmap():
    """``lockstep`` (a sweep's GD loop: one psum per trip, one history entry written per
    element) returns what plain vmap of the same loop returns, every field and status: a
    converged fit, one out of steps, one past stability and an invalid rate in one batch."""
    X, y = _sweeps._breast_cancer("float64")
    p = X.shape[1] + 1
    lr_w = jnp.asarray([0.1, 0.003, 0.25, -0.01])
    lr_b = jnp.asarray([0.1, 0.001, 0.3, 0.01])
    gtol = jnp.asarray([1e-2, 1e-9, 1e-9, 1e-9])

    def one(lockstep):
        def f(lw, lb, gt):
            return _fit.fit(logistic.Model(), "gd", X, y, jnp.zeros(p), jnp.float64(1.0), gt,
                            jnp.ones(X.shape[0]), lw, lb, max_steps=60, cold=True,
                            batched=True, lockstep=lockstep)
        return jax.jit(jax.vmap(f, axis_name="c"))(lr_w, lr_b, gtol)

    plain, lock = one(None), one("c")
    assert [int(s) for s in lock.status] == [int(s) for s in plain.status]
    assert {Status(int(c)).name for c in lock.status} == {"CONVERGED", "MAX_STEPS",
                                                          "INVALID_INPUT"}
    assert int(lock.steps[0]) < 60 and int(lock.steps[3]) == 0
    for a, b in zip(jax.tree.leaves(lock), jax.tree.leaves(plain), strict=True):
        a, b = np.asarray(a, float), np.asarray(b, float)
        assert np.array_equal(np.isnan(a), np.isnan(b))
        _close(np.nan_to_num(a), np.nan_to_num(b))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_run_and_chunk_memory_in_both_dtypes(dtype):
    t = sweep.run("newton-starts", {"problem": ["sqrt2", "cubic"], "x0": [2.0]}, dtype=dtype,
                  progress=False)
    eps = float(jnp.finfo(dtype).eps)
    assert t.meta["dtype"] == jnp.dtype(dtype).name
    for r, xs in zip(t.rows, (2 ** 0.5, 2.0945514815423265), strict=True):
        assert r["status"] == "converged" and abs(r["root"] - xs) <= 8 * eps * (1 + xs)
    per = sweep.chunk_memory(sweep.get("newton-starts"), 2, dtype=dtype)
    assert per is None or per > 0


def test_failed_configurations_keep_their_rows():
    t = sweep.run("gd-rates", {"lr_w": [-0.01, float("nan"), 0.01], "lr_b": [0.01],
                               "max_steps": [300]}, chunk_size=4, progress=False)
    assert list(t["status"][:2]) == ["invalid_input", "invalid_input"]
    assert t["status"][2] in ("converged", "max_steps") and np.isfinite(t["loss"][2])


def test_newton_starts_rows_equal_root_and_its_diagnostics():
    t = sweep.run("newton-starts", {"x0": [0.5, 3.0]}, progress=False)
    for r in t.rows:
        _, f, xs = next(p for p in _sweeps.PROBLEMS if p[0] == r["problem"])
        res = newton.root(f, jnp.float64(r["x0"]))
        assert r["status"] == res.status_name and r["steps"] == int(res.steps)
        _close(r["root"], res.x)
        order = newton.last_valid(newton.convergence_order(res, xs))[0]
        ratio = newton.last_valid(newton.quadratic_ratio(res, xs))[0]
        _close(r["order"], order)
        _close(r["ratio"], ratio)
        if r["problem"] == "double":
            assert abs(r["order"] - 1) < 0.05 and abs(r["linear_rate"] - 0.5) < 0.05
        else:
            _close(r["limit"], newton.quadratic_limit(f, xs))
            assert abs(r["order"] - 2) < 0.1


def test_noise_and_batchnorm_rows_equal_the_topic_functions():
    t = sweep.run("noise-sigma", {"sigma": [0.0, 0.5], "num_samples": [1000]}, progress=False)
    w, x, yd = (jnp.asarray(v, jnp.float64) for v in (_sweeps.NOISE_W, _sweeps.NOISE_X,
                                                     _sweeps.NOISE_Y))
    for r in t.rows:
        m, se = noise.mc_grad(jax.random.key(r["seed"]), w, x, yd, sigma=r["sigma"],
                              num_samples=1000)
        _close([r[f"mc_grad_{j}"] for j in range(3)], m)
        _close([r[f"std_err_{j}"] for j in range(3)], se)
        exact = noise.expected_grad(w, x, yd, sigma=r["sigma"])
        _close([r[f"exact_{j}"] for j in range(3)], exact)
        # the largest |Monte-Carlo - exact| in standard errors (divided by 1 where se is 0)
        m, se, exact = (np.asarray(a, float) for a in (m, se, exact))
        _close(r["max_z"], np.max(np.abs(m - exact) / np.where(se > 0, se, 1)))
    b = sweep.run("batchnorm-n", {"n": [4, 64]}, progress=False)
    demo = batchnorm.seed_limit_demo([4, 64], jax.random.key(0), dtype=jnp.float64)
    _close(b["jacobian_gap"], demo.jacobian_gap)
    _close(b["jacobian_gap"], 1 / b["n"])
    _close(b["gradient_gap"], demo.gradient_gap)
    # |gamma mean(g)| with g ~ N(1, 1) over n draws, gamma = 1.5: within 5 standard errors of
    # 1.5, and equal to the gradient gap (what the seed's limit drops)
    for n, gmg in zip(b["n"], b["gamma_mean_g"], strict=True):
        assert abs(gmg - 1.5) <= 5 * 1.5 / np.sqrt(n), (n, gmg)
    _close(b["gamma_mean_g"], b["gradient_gap"], rtol=64 * np.finfo(float).eps)


def test_l2_path_rows_equal_fit_newton_and_bootstrap():
    t = sweep.run("l2-path", {"l2": [0.1, 10.0], "num_resamples": [8]}, progress=False)
    X, y = _sweeps._breast_cancer("float64")
    for r in t.rows:
        fit = logistic.fit_newton(X, y, l2=r["l2"])
        theta = np.append(fit.params[0], fit.params[1])
        _close([r[f"theta_{j}"] for j in range(31)], theta)
        bs = logistic.bootstrap(X, y, key=jax.random.key(0), num_resamples=8, l2=r["l2"])
        _close([r[f"std_err_{j}"] for j in range(31)], bs.std_err)
        assert r["num_ok"] == int(bs.num_ok) and r["status"] == "converged"
        # the 95% bands: 2.5% and 97.5% quantiles of the converged refits (NumPy, linear)
        kept = np.asarray(bs.params, float)[np.asarray(bs.status) == int(Status.CONVERGED)]
        lo, hi = np.quantile(kept, [0.025, 0.975], axis=0)
        _close([r[f"lo_{j}"] for j in range(31)], lo)
        _close([r[f"hi_{j}"] for j in range(31)], hi)
        assert np.all(lo < hi)


CV_L2 = [0.0, 0.1, 1.0, 10.0]  # l2 = 0: every fold separable, a failed row kept


@pytest.fixture(scope="module")
def cv_table():
    return sweep.run("cv-l2", {"l2": CV_L2}, progress=False)


@pytest.fixture(scope="module")
def cv_reference():
    X, y = _sweeps._breast_cancer("float64")
    return logistic.cross_validate(X, y, l2=CV_L2, folds=_sweeps.CV_FOLDS, seed=0)


def test_cv_l2_rows_equal_cross_validate(cv_table, cv_reference):
    """A row is one column of logistic.cross_validate's result: every fold's held-out score,
    their mean and standard error, and the folds' statuses."""
    cv = cv_reference
    assert [r["l2"] for r in cv_table.rows] == CV_L2
    assert {"l2", "seed", "scoring", "mean", "se", "status", "folds_converged"} <= set(
        cv_table.columns)
    scores = np.stack([cv_table[f"score_{f}"] for f in range(_sweeps.CV_FOLDS)])
    _close(scores, cv.scores)
    _close(cv_table["mean"], cv.mean)
    _close(cv_table["se"], cv.se)
    status = np.asarray(cv.status)
    assert list(cv_table["folds_converged"]) == list((status == 0).sum(axis=0))
    for j, r in enumerate(cv_table.rows):  # the first fold that did not converge, if any
        failed = [s for s in cv.status_name if s[j] != "converged"]
        assert r["status"] == (failed[0][j] if failed else "converged")
    assert cv_table.rows[0]["status"] == "separable"


def test_cv_l2_plot_marks_the_choices_of_cross_validate(cv_table, cv_reference):
    from matplotlib.figure import Figure

    from jaxdl.sweep import _plots

    fig = Figure()
    ax = fig.add_subplot()
    _plots._cv_l2(cv_table, fig, [ax])
    labels = ax.get_legend_handles_labels()[1]
    assert f"best: l2 = {float(cv_reference.best_l2):.3g}" in labels
    assert f"one-standard-error choice: l2 = {float(cv_reference.l2_1se):.3g}" in labels
    assert "a fold did not converge (never chosen)" in labels  # the l2 = 0 row
    assert ax.get_xscale() == "symlog"  # the grid holds 0


def test_plot_cv_draws_a_cross_validation(tmp_path, cv_reference):
    png = tmp_path / "cv.png"
    ax = sweep.plot_cv(cv_reference, png, title="breast cancer")
    assert png.read_bytes()[:4] == b"\x89PNG" and ax.get_title() == "breast cancer"
    assert f"best: l2 = {float(cv_reference.best_l2):.3g}" in ax.get_legend_handles_labels()[1]
    with pytest.raises(ValueError, match="scoring: expected one of"):
        sweep.plot_cv(cv_reference, scoring="auc")
    with pytest.raises(ValueError, match="result: expected a CVResult, got Table"):
        sweep.plot_cv(sweep.Table(["l2"], []))


def test_cv_l2_from_the_command_line(tmp_path, capsys, cv_table):
    assert cli.main(["sweep", "cv-l2", "--out", str(tmp_path), "--grid",
                     "l2=" + ",".join(map(str, CV_L2)), "--no-progress"]) == 0
    assert "statuses: converged 3, separable 1" in capsys.readouterr().out
    with open(tmp_path / "cv-l2.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["l2"]) for r in rows] == CV_L2
    for r, ref in zip(rows, cv_table.rows, strict=True):
        assert r["status"] == ref["status"]
        _close([float(r[c]) for c in ("mean", "se", "score_0", "score_4")],
               [ref[c] for c in ("mean", "se", "score_0", "score_4")])
    doc = json.loads((tmp_path / "cv-l2.json").read_text())
    assert doc["sweep"] == "cv-l2" and [r["status"] for r in doc["rows"]] == [
        r["status"] for r in rows]
    assert (tmp_path / "cv-l2.png").stat().st_size > 10_000


def _counting_sweep():
    traces = []

    def config(ctx, *, a, b):
        traces.append(1)
        return {"value": jnp.sum(ctx) * a + b, "status": jnp.int32(8)}

    s = sweep.Sweep("count", "counts its traces", (sweep.Param("a", (1.0,), "a"),
                                                  sweep.Param("b", (0.0,), "b")),
                    prepare=lambda dtype, static: jnp.ones(3, dtype), config=config)
    return s, traces


def test_one_compilation_whatever_the_number_of_values():
    s, traces = _counting_sweep()
    small = sweep.run(s, {"a": [1.0, 2.0], "b": [0.5]}, chunk_size=4, progress=False)
    big = sweep.run(s, {"a": list(np.linspace(0, 1, 10)), "b": [0.0, 1.0, 2.0]},
                    chunk_size=4, progress=False)
    assert len(small) == 2 and len(big) == 30
    # one trace for the output columns, one for the compiled chunk; none per value or chunk
    assert len(traces) == 2
    _close(big["value"], [3 * a + b for a in np.linspace(0, 1, 10) for b in (0.0, 1.0, 2.0)])


def test_chunk_size_from_the_memory_bound():
    s = sweep.get("gd-rates")
    m2, m6 = (sweep.chunk_memory(s, c, static={"max_steps": 300}) for c in (2, 6))
    assert m2 < m6
    bound = (m2 + m6) // 2
    t = sweep.run(s, GD, max_memory=bound, progress=False)
    assert 2 <= t.meta["chunk_size"] < 6
    assert sweep.chunk_memory(s, t.meta["chunk_size"], static={"max_steps": 300}) <= bound
    with pytest.raises(ValueError, match="max_memory: expected at least"):
        sweep.run(s, GD, max_memory=m2 // 4, progress=False)


def test_files_interrupt_and_resume(tmp_path, monkeypatch, gd_table):
    s, _ = _counting_sweep()
    out = tmp_path / "o"
    calls = []

    class Bar:
        def update(self, n):
            calls.append(n)
            if len(calls) == 1:
                raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(_runner, "_progress", lambda *a: Bar())
    grid = {"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [0.0]}
    t = sweep.run(s, grid, chunk_size=2, out=out, progress=False)
    assert t.interrupted and len(t) == 2
    with open(out / "count.csv") as f:
        assert len(list(csv.reader(f))) == 3
    r = sweep.run(s, grid, chunk_size=2, out=out, resume=True, progress=False)
    assert not r.interrupted and r.meta["computed"] == 3 and len(r) == 5
    _close(r["value"], [3.0 * a for a in grid["a"]])
    doc = json.loads((out / "count.json").read_text())
    assert [row["a"] for row in doc["rows"]] == grid["a"]
    with open(out / "count.csv") as f:
        assert len(list(csv.reader(f))) == 6


def _lines(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for _ in f)


def test_kill_and_resume_from_the_command_line(tmp_path):
    out = str(tmp_path)
    # 5000 steps a chunk (~0.2 s each): the kill lands while later chunks are still to run
    args = ["sweep", "gd-rates", "--out", out, "--grid", "lr_w=0.003,0.006,0.01",
            "--grid", "lr_b=0.001,0.03", "--grid", "max_steps=5000", "--chunk-size", "1",
            "--no-progress"]
    env = dict(os.environ, JAXDL_NO_CACHE="1", JAX_PLATFORMS="cpu")
    proc = subprocess.Popen([sys.executable, "-m", "jaxdl", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(out, "gd-rates.csv")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if _lines(path) >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    with open(path) as f:
        before = len(list(csv.reader(f))) - 1
    assert 1 <= before < 6
    assert cli.main([*args, "--resume"]) == 0
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6  # each configuration once: none lost, none repeated
    got = {(float(r["lr_w"]), float(r["lr_b"])): float(r["loss"]) for r in rows}
    fresh = sweep.run("gd-rates", {**GD, "max_steps": [5000]}, chunk_size=1, progress=False)
    for r in fresh.rows:
        _close(got[(r["lr_w"], r["lr_b"])], r["loss"])
    assert os.path.exists(os.path.join(out, "gd-rates.png"))


@pytest.mark.parametrize("grid, match", [
    ({"lr": [0.1]}, "grid: expected keys among lr_w"),
    ({"lr_w": []}, "grid: expected at least one value for lr_w"),
    ({"lr_w": ["abc"]}, "grid lr_w: expected a number for lr_w, got 'abc'"),
    ({"max_steps": [1.5]}, "expected an integer for max_steps"),
])
def test_bad_grid_is_refused_before_work(grid, match):
    with pytest.raises(ValueError, match=match):
        sweep.run("gd-rates", grid, progress=False)


def test_bad_arguments_name_themselves(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="name: expected one of gd-rates"):
        sweep.get("gd-rate")
    with pytest.raises(ValueError, match="out: expected a folder, got the file"):
        sweep.run("newton-starts", out=f, progress=False)
    with pytest.raises(ValueError, match="resume: needs out"):
        sweep.run("newton-starts", resume=True, progress=False)
    with pytest.raises(ValueError, match="chunk_size: expected an integer >= 1"):
        sweep.run("newton-starts", chunk_size=0, progress=False)


@pytest.mark.parametrize("argv, needle", [
    (["sweep", "nope", "--out", "{tmp}"], "NAME: expected one of gd-rates"),
    (["sweep", "gd-rates", "--out", "{tmp}", "--grid", "lr=1"], "--grid: expected keys among"),
    (["sweep", "gd-rates", "--out", "{tmp}", "--grid", "lr_w=abc"],
     "expected a number for lr_w, got 'abc'"),
    (["sweep", "gd-rates", "--out", "{tmp}", "--grid", "lr_w="], "expected at least one value"),
    (["sweep", "gd-rates", "--out", "{tmp}/f"], "--out: expected a folder, got the file"),
    (["sweep", "gd-rates"], "--out: expected the folder"),
])
def test_cli_bad_input_exit_2(argv, needle, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main(argv) == 2
    assert needle in capsys.readouterr().err


def test_cli_list_and_a_run(tmp_path, capsys):
    assert cli.main(["sweep", "--list"]) == 0
    text = capsys.readouterr().out
    for name in ("gd-rates", "newton-starts", "noise-sigma", "batchnorm-n", "l2-path",
                 "cv-l2"):
        assert f"{name}:" in text
    assert "max_steps" in text and "static" in text
    assert cli.main(["sweep", "batchnorm-n", "--out", str(tmp_path), "--grid", "n=4,8",
                     "--no-progress"]) == 0
    for ext in ("csv", "json", "png"):
        assert (tmp_path / f"batchnorm-n.{ext}").stat().st_size > 0


_SHARDED = textwrap.dedent("""
    import json, jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from jaxdl import sweep
    g = {"lr_w": [0.003, 0.006, 0.01], "lr_b": [0.001, 0.03], "max_steps": [300]}
    many = sweep.run("gd-rates", g, progress=False)
    one = sweep.run("gd-rates", g, progress=False, devices=jax.devices()[:1])
    print(json.dumps({"devices": many.meta["devices"], "chunk": many.meta["chunk_size"],
                      "loss": [list(many["loss"]), list(one["loss"])],
                      "status": [list(many["status"]), list(one["status"])]}))
""")


def test_configuration_axis_sharded_over_four_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _SHARDED], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 4 and out["chunk"] % 4 == 0
    assert out["status"][0] == out["status"][1]
    _close(out["loss"][0], out["loss"][1])


def _script(name, argv, capsys):
    import runpy

    old = sys.argv
    sys.argv = [name, *argv]
    try:
        runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "scripts", name),
                       run_name="__main__")
    except SystemExit as done:
        assert done.code in (0, None)
    finally:
        sys.argv = old
    return capsys.readouterr().out


@pytest.mark.parametrize("name", ["sweep_gd_rates.py", "sweep_newton_starts.py",
                                  "sweep_noise_sigma.py", "sweep_batchnorm_n.py",
                                  "sweep_l2_path.py", "sweep_cv_l2.py", "sweep_custom.py",
                                  "make_sweep_plots.py"])
def test_scripts_have_help(name, capsys):
    assert "usage:" in _script(name, ["--help"], capsys)


def test_example_scripts_run(capsys):
    out = _script("sweep_newton_starts.py", ["--x0", "0.5", "3"], capsys)
    assert "double" in out and "converged" in out
    out = _script("sweep_custom.py", ["--l2", "1", "--memory", "10"], capsys)
    assert "lbfgs-memory" in out and "converged" in out
