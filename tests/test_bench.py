"""The benchmark package (benchmarks/, run by scripts/bench.py): its scoring gate, the peers that
cannot run, and a quick end-to-end run.

Quick mode shrinks every case to a smoke test: the timing targets are not asserted there, but
every timed solver must be scored (it reported convergence by its own test and met the gradient
rule on the common objective) and the losses must pass the gate computed from the gradients.
The scoring function is also fed solvers that stopped early, to show that the gate can fail.
"""

import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import cli, config, gate, peers, timing
from benchmarks import report as bench_report
from benchmarks.cases import CASES as BENCH_CASES
from benchmarks.cases import cv as cv_case
from benchmarks.cases import notebooks as notebooks_case
from benchmarks.context import Context
from jaxdl import data, logistic, multinomial

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
CASES = ("newton", "first_order", "gd_step", "bootstrap_fits", "hessian", "memory",
         "first_call", "inference", "sweep", "cv", "notebooks")
# cv and notebooks run alone, below (test_cv_case_*, test_notebooks_case_*)
QUICK_CASES = tuple(c for c in CASES if c not in ("cv", "notebooks"))
SCORED_CASES = ("newton", "first_order", "bootstrap_fits", "first_call")
OLD_GATE = 1e-9  # the fixed relative gate the computed one replaces


# ----------------------------------------------------------------------------------------------
# The scoring function, in process, on a small problem.


@pytest.fixture(scope="module")
def problem():
    X, y, _, _ = data.make_logistic(jax.random.key(3), 400, 5, dtype=jnp.float64)
    return X, y


@pytest.fixture(scope="module")
def fits(problem):
    """A converged fit, one that reports convergence at a loose tolerance, one that gives up."""
    pytest.importorskip("sklearn")
    X, y = problem
    Xn, yn = np.array(X), np.array(y)
    ref = logistic.fit_newton(X, y, gtol=config.TOL_MEAN_GRAD)
    loose = peers.sklearn("sklearn lbfgs, tol=1e-2", Xn, yn, solver="lbfgs", C=np.inf,
                           tol=1e-2, max_iter=100)
    gave_up = peers.sklearn("sklearn lbfgs, max_iter=2", Xn, yn, solver="lbfgs", C=np.inf,
                             tol=config.TOL_MEAN_GRAD, max_iter=2)
    recs = {"fit_newton": {"converged": np.asarray(ref.ok), "report": ref.status_name,
                           "cert": gate.certify(*ref.params, X, y)}}
    params = {}
    for s in (loose, gave_up):
        est = s.run()
        params[s.name] = s.params(est)
        recs[s.name] = {"converged": s.converged(est), "report": s.report(est),
                        "cert": gate.certify(*params[s.name], X, y)}
    return recs, (loose.name, gave_up.name), params


def test_certificate_matches_numpy(problem, fits):
    X, y = problem
    recs, (loose, _), params = fits
    cert = recs[loose]["cert"]  # a point where the gradient is not tiny
    w, b = params[loose]
    # Independent NumPy references: g = A^T (p - y), H = A^T diag(p (1 - p)) A, A = [X, 1].
    A = np.hstack([np.asarray(X), np.ones((X.shape[0], 1))])
    z = A @ np.append(w, b)
    p = 1 / (1 + np.exp(-z))
    g = A.T @ (p - np.asarray(y))
    lam = np.linalg.eigvalsh(A.T @ ((p * (1 - p))[:, None] * A))
    loss = np.sum(np.logaddexp(0, z) - np.asarray(y) * z)
    np.testing.assert_allclose(cert["loss"], loss, rtol=1e-13)
    np.testing.assert_allclose(cert["grad_inf"], np.max(np.abs(g)), rtol=1e-10)
    np.testing.assert_allclose(cert["grad_2"], np.linalg.norm(g), rtol=1e-10)
    np.testing.assert_allclose(cert["lambda_min"], lam[0], rtol=1e-10)
    assert cert["lambda_min"] <= lam[0]  # a lower bound: the rounding allowance is subtracted
    np.testing.assert_allclose(cert["R"], np.max(np.linalg.norm(A, axis=1)), rtol=1e-14)


def test_batched_certificate_matches_one_by_one(problem):
    X, y = problem
    l2 = jnp.asarray([0.5, 3.0])
    res = [logistic.fit_newton(X, y, l2=float(v), gtol=config.TOL_MEAN_GRAD) for v in l2]
    W = jnp.stack([r.params[0] for r in res])
    B = jnp.stack([r.params[1] for r in res])
    many = gate.certify(W, B, jnp.stack([X, X]), jnp.stack([y, y]), l2, batched=True)
    for i, v in enumerate(l2):
        one = gate.certify(W[i], B[i], X, y, float(v))
        for key in ("loss", "grad_inf", "lambda_min", "loss_err"):
            np.testing.assert_allclose(many[key][i], one[key], rtol=1e-12, err_msg=key)
    # the ridge enters the curvature: lambda_min grows with l2
    assert many["lambda_min"][1] > many["lambda_min"][0]


def test_early_stopped_solvers_are_reported_not_scored(fits):
    recs, (loose, gave_up), _ = fits
    sc = gate.score(recs)
    assert sc["scored"] == ["fit_newton"]
    per = sc["solvers"]
    # Reported convergence by its own (loose) test, but fails the common rule.
    assert per[loose]["converged"] and not per[loose]["meets_rule"]
    assert not per[loose]["scored"] and "gradient rule not met" in sc["not_scored"][loose]
    assert per[loose]["max_mean_grad_inf"] > config.TOL_MEAN_GRAD
    # Gave up: its own report says so, and the reason names it.
    assert not per[gave_up]["converged"] and not per[gave_up]["scored"]
    assert "did not report convergence" in sc["not_scored"][gave_up]
    assert "ConvergenceWarning" in sc["not_scored"][gave_up]
    # The suboptimality bound is a theorem, and a tight one here: the early stops' true gaps
    # lie below it, within a factor 10.
    for name in (loose, gave_up):
        gap = float(recs[name]["cert"]["loss"] - recs["fit_newton"]["cert"]["loss"])
        assert 0 < gap <= per[name]["suboptimality_bound"] < 10 * gap, name
        assert per[name]["gate_holds"]
    assert sc["gate_holds"]
    # The converged fit's gate is far tighter than the old fixed 1e-9.
    assert per["fit_newton"]["rel_gate"] < 1e-12
    assert per["fit_newton"]["rel_gate_at_rule"] < 1e-11


def test_gate_fails_on_a_loss_its_gradient_cannot_explain(fits):
    recs, _, _ = fits
    ref = recs["fit_newton"]
    allowed = gate.suboptimality_bound(ref["cert"]) + 2 * ref["cert"]["loss_err"]
    # Same gradient and curvature as the converged fit, loss raised by 10x what they allow.
    fake = {**ref, "cert": {**ref["cert"], "loss": ref["cert"]["loss"] + 10 * allowed}}
    sc = gate.score({"fit_newton": ref, "inconsistent": fake})
    assert sc["scored"] == ["fit_newton", "inconsistent"]  # converged and meets the rule ...
    assert not sc["solvers"]["inconsistent"]["gate_holds"]  # ... but its loss breaks the gate
    assert not sc["gate_holds"]
    assert sc["solvers"]["inconsistent"]["max_gap_over_gate"] > 5
    assert not gate.case_record(sc, ["fit_newton"])["valid"]
    # And at the edge of what is allowed, it passes.
    edge = {**ref, "cert": {**ref["cert"], "loss": ref["cert"]["loss"] + 0.5 * allowed}}
    assert gate.score({"fit_newton": ref, "edge": edge})["gate_holds"]


def test_case_invalid_when_a_jaxdl_solver_is_not_scored(fits):
    recs, (loose, _), _ = fits
    sc = gate.score(recs)
    assert gate.case_record(sc, ["fit_newton"])["valid"]
    assert not gate.case_record(sc, ["fit_newton", loose])["valid"]


def test_case_names_and_bad_flags_are_rejected_naming_the_flag(capsys):
    assert list(BENCH_CASES) == list(CASES)
    assert cli.parse_args([]).cases == list(CASES)
    assert cli.parse_args(["--quick"]).cases == list(QUICK_CASES)
    assert cli.parse_args(["--quick", "--cases", "cv"]).cases == ["cv"]
    assert cli.parse_args(["--quick", "--cases", "notebooks"]).cases == ["notebooks"]
    assert cli.parse_args(["--cases", "memory,newton"]).cases == ["newton", "memory"]
    for argv in (["--cases", "newton,z"], ["--cases", "a"], ["--cases", ""], ["--repeats", "0"]):
        with pytest.raises(SystemExit) as exc:
            cli.parse_args(argv)
        assert exc.value.code == 2, argv
        assert f"{argv[0]}: expected" in capsys.readouterr().err, argv


def _broken_peer(name):
    def run():  # what glum's lbfgs does under scipy >= 1.18
        raise TypeError("fmin_l_bfgs_b() got an unexpected keyword argument 'iprint'")

    return peers.Solver(name, run, params=lambda r: r, converged=lambda r: True,
                        report=lambda r: "")


def test_a_peer_that_cannot_run_is_unavailable_not_a_failure(problem):
    X, y = problem
    ours = peers.jaxdl_fit("fit_newton", lambda: logistic.fit_newton(
        X, y, gtol=config.TOL_MEAN_GRAD))
    broken = _broken_peer("glum lbfgs")
    race = timing.race([ours, broken], repeats=1)
    assert race["glum lbfgs"] == {
        "unavailable": "TypeError: fmin_l_bfgs_b() got an unexpected keyword argument 'iprint'"}
    assert len(race["fit_newton"]["times_s"]) == 1 and race["fit_newton"]["converged"]
    sc = gate.score_race([ours, broken], race, X, y)
    assert sc["scored"] == ["fit_newton"] and list(sc["solvers"]) == ["fit_newton"]
    assert sc["unavailable"] == timing.unavailable(race) == {
        "glum lbfgs": race["glum lbfgs"]["unavailable"]}
    rec = gate.case_record(sc, ["fit_newton"])
    assert rec["valid"] and sc["not_scored"] == {}
    assert rec["score_notes"][0].startswith("UNAVAILABLE glum lbfgs: TypeError: ")
    assert bench_report.peer_label("glum lbfgs", sc) == "glum lbfgs (unavailable)"
    assert bench_report.seconds(race, "glum lbfgs") is None
    assert timing.timing_record(race)["glum lbfgs"] == race["glum lbfgs"]


def test_a_jaxdl_solver_that_raises_fails_the_race():
    def boom():
        raise ValueError("X: expected a 2-D array")

    ours = peers.Solver("fit_newton", boom, params=lambda r: r, converged=lambda r: True,
                        report=lambda r: "", is_jax=True, peer=False)
    with pytest.raises(ValueError, match="X: expected"):
        timing.race([ours, _broken_peer("glum lbfgs")], repeats=1)


def test_a_slow_solver_is_timed_once():
    calls = {"slow peer": 0, "fast peer": 0, "slow jax": 0}

    def solver(name, seconds, is_jax=False):
        def run():
            calls[name] += 1
            time.sleep(seconds)
            return jnp.zeros(())

        return peers.Solver(name, run, params=lambda r: r, converged=lambda r: True,
                            report=lambda r: "", is_jax=is_jax, peer=not is_jax)

    race = timing.race([solver("slow peer", 0.05), solver("fast peer", 0.0),
                        solver("slow jax", 0.05, is_jax=True)], repeats=2, once_s=0.04)
    # a peer (nothing to compile): its first call is its one timing, no repeats
    assert calls["slow peer"] == 1 and race["slow peer"]["timed_once"]
    assert race["slow peer"]["times_s"] == [race["slow peer"]["first_s"]]
    assert race["slow peer"]["warm_s"] == race["slow peer"]["first_s"]
    # a JAX solver's first call compiles, so one more call is its timing
    assert calls["slow jax"] == 2 and race["slow jax"]["timed_once"]
    assert len(race["slow jax"]["times_s"]) == 1
    assert race["slow jax"]["compile_overhead_s"] == (race["slow jax"]["first_s"]
                                                      - race["slow jax"]["warm_s"])
    # the rest run as always: first call, then two calls per repeat, the second timed
    assert calls["fast peer"] == 5 and not race["fast peer"]["timed_once"]
    assert len(race["fast peer"]["times_s"]) == 2


# ----------------------------------------------------------------------------------------------
# The cv case: its folds, the K-class certificate, and a run at a tiny size.


def test_k_class_certificate_matches_numpy():
    X, y = data.make_multiclass(jax.random.key(1), 300, 4, 3, dtype=jnp.float64, scale=2.0)
    l2 = 0.5
    ref = multinomial.fit_newton(X, y, l2=l2, gtol=1e-13)
    early = multinomial.fit_lbfgs(X, y, l2=l2, gtol=1e-5)  # stops where the gradient is not tiny
    best = gate.certify(*ref.params, X, y, l2, classes=True)
    A = np.hstack([np.asarray(X), np.ones((300, 1))])
    Y = np.eye(3)[np.asarray(y)]
    for res in (ref, early):
        cert = gate.certify(*res.params, X, y, l2, classes=True)
        W, b = (np.asarray(a) for a in res.params)
        Z = A @ np.hstack([W, b[:, None]]).T
        lse = np.log(np.sum(np.exp(Z - Z.max(1, keepdims=True)), axis=1)) + Z.max(1)
        G = (np.exp(Z - lse[:, None]) - Y).T @ A
        G[:, :-1] += l2 * W
        H = np.asarray(multinomial.hessian(W, b, X, l2=l2))
        # The common intercept shift e is H's null direction; lambda_min lives beside it.
        e = np.tile(np.r_[np.zeros(4), 1.0], 3) / np.sqrt(3)
        Q = np.linalg.svd(np.eye(15) - np.outer(e, e))[0][:, :14]
        np.testing.assert_allclose(cert["loss"], np.sum(lse - np.sum(Z * Y, axis=1))
                                   + 0.5 * l2 * np.sum(W**2), rtol=1e-13)
        np.testing.assert_allclose(cert["grad_inf"], np.abs(G).max(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(cert["lambda_min"], np.linalg.eigvalsh(Q.T @ H @ Q)[0],
                                   rtol=1e-9)
        gap = float(cert["loss"] - best["loss"])
        bound = float(gate.suboptimality_bound(cert))
        assert gap <= bound + float(cert["loss_err"] + best["loss_err"])
        dist = np.linalg.norm(np.c_[W, b - b.mean()] - np.c_[np.asarray(ref.params[0]),
                              np.asarray(ref.params[1]) - np.mean(ref.params[1])])
        assert dist <= float(gate.distance_bound(cert)) + 1e-12
    # the early stop is far enough out that its gap is real, and near enough for finite bounds
    cert = gate.certify(*early.params, X, y, l2, classes=True)
    assert float(cert["loss"] - best["loss"]) > 100 * float(cert["loss_err"])
    assert np.isfinite(gate.suboptimality_bound(cert)) and np.isfinite(gate.distance_bound(cert))


@pytest.fixture(scope="module")
def cv_record():
    """The cv case at a tiny size, in process: both models (3 classes), every peer, one
    repeat. (Most of its time is compiling jaxdl's two cross_validate programs.)"""
    pytest.importorskip("sklearn")
    from threadpoolctl import threadpool_limits

    ctx = Context({"cv_binary": ((300, 5),), "cv_classes": ((300, 5),)}, 1, True)
    with pytest.MonkeyPatch.context() as mp, threadpool_limits(1):  # the peers' BLAS and
        mp.setattr(config, "CV_CLASSES", 3)  # OpenMP threads spin on a busy machine
        return cv_case.case_cv(ctx)


def test_cv_case_is_valid_and_checked(cv_record):
    rec = cv_record
    assert rec["valid"] and rec["agree"], rec["notes"]
    assert list(rec["races"]) == ["cv 300x5", "cv K=3 300x5"]
    assert rec["score"]["gate_holds"] and rec["score"]["not_scored"] == {}
    for label, race in rec["races"].items():
        sc = race["score"]
        assert cv_case.JAXDL in sc["scored"], label
        peers_ran = [k for k in race["timings"] if k != cv_case.JAXDL
                     and "unavailable" not in race["timings"][k]]
        assert set(race["checks"]) == set(peers_ran), label
        for name, c in race["checks"].items():  # every peer that ran chose jaxdl's penalty
            assert c["agree"] and c["same_l2"], (label, name, c)
            assert c["rel_coef_diff"] <= config.CV_RTOL, (label, name, c)
            if name.startswith("sklearn"):
                assert c["rel_score_diff"] <= config.CV_RTOL, (label, name)
        assert race["sizes"]["folds"] == config.CV_FOLDS
        assert race["sizes"]["l2"] == list(config.CV_L2)


def test_cv_case_rows_carry_ratios_and_targets(cv_record, capsys):
    rec = cv_record
    for row in rec["rows"]:
        assert row["case"].startswith("cv "), row
        if row["peer"] and "unavailable" not in row["peer"]:
            assert isinstance(row["ratio"], float) and row["ratio"] > 0, row
    compile_rows = [r for r in rec["rows"] if "compile" in r["jaxdl"]]
    assert len(compile_rows) == 2 and all(r["jaxdl_s"] > 0 for r in compile_rows)
    assert len(rec["targets"]) == 2  # one per race, on the fastest scikit-learn solver
    for t in rec["targets"]:
        assert t["threshold"] == config.TARGETS["cv_small"]
        assert isinstance(t["value"], float) or rec["score"]["unavailable"], t
    bench_report.print_table({"cv": rec}, quick=True)
    out = capsys.readouterr().out
    assert "\ncv 300x5 " in out and "sklearn LogisticRegressionCV" in out
    json.dumps(bench_report.jsonable(rec))


# ----------------------------------------------------------------------------------------------
# The notebooks case, on two small notebooks of the test's own.

GOOD_NOTEBOOK = [
    "import os, time\n"
    "print(f\"| dtype: {os.environ['JAXDL_NOTEBOOK_DTYPE']}\")\n"
    "print('no cache:', os.environ.get('JAXDL_NO_CACHE'),\n"
    "      sorted(k for k in os.environ if k.startswith('JAX_COMPILATION_CACHE')))",
    "time.sleep(0.5)",
    "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]);\nplt.show()",
]
BAD_NOTEBOOK = [
    "print('| dtype: float64')\nprint(float('nan'))",  # the wrong dtype, and a nan
    "1 / 0",
    "print('still runs')",
]


def _notebook(path, sources):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def notebooks_record(tmp_path_factory):
    pytest.importorskip("nbclient")
    folder = tmp_path_factory.mktemp("notebooks")
    paths = [_notebook(folder / "good.ipynb", GOOD_NOTEBOOK),
             _notebook(folder / "bad.ipynb", BAD_NOTEBOOK)]
    ctx = Context({"notebooks": paths, "notebook_dtypes": ("float32",)}, 1, True)
    return notebooks_case.case_notebooks(ctx)


def test_notebooks_case_times_each_notebook_in_a_fresh_kernel_without_a_cache(notebooks_record):
    good = notebooks_record["runs"]["good float32"]
    assert good["problems"] == []
    assert len(good["cell_seconds"]) == 3 and good["cell_seconds"][1] >= 0.5
    assert good["seconds"] == pytest.approx(sum(good["cell_seconds"]))
    row, target = notebooks_record["rows"][0], notebooks_record["targets"][0]
    assert row["jaxdl"] == "good float32" and row["jaxdl_s"] == good["seconds"]
    assert target["value"] == good["seconds"] and target["met"] is True
    assert target["threshold"] == config.TARGETS["notebook"] and target["op"] == "<"


def test_notebooks_case_is_invalid_when_a_notebook_breaks(notebooks_record, capsys):
    rec = notebooks_record
    assert rec["valid"] is False and rec["agree"] is False
    bad = rec["runs"]["bad float32"]
    assert bad["problems"] == ["cell 1: ZeroDivisionError: division by zero",
                               "the device cell does not report dtype float32",
                               "a printed value is nan", "no plot drawn"]
    assert rec["targets"][1]["value"] is None and rec["targets"][1]["met"] is None
    assert any(n.startswith("bad float32: cell 1: ZeroDivisionError") for n in rec["notes"])
    bench_report.print_table({"notebooks": rec}, quick=True)
    assert "\nnotebooks  good float32 " in capsys.readouterr().out
    json.dumps(bench_report.jsonable(rec))


def test_notebook_kernels_start_without_a_compilation_cache(notebooks_record):
    assert "no cache: 1 []\n" in notebooks_record["runs"]["good float32"]["printed"]


# ----------------------------------------------------------------------------------------------
# The whole harness, quick sizes.


def BACKGROUND(start):
    """The quick run starts when the suite does (tests/conftest.py), in its own folder."""
    start("quick", [sys.executable, str(SCRIPT), "--quick", "--repeats", "2",
                    "--json-out", "bench.json"])


@pytest.fixture(scope="module")
def quick_report(background):
    job = background["quick"]
    code, out, err = job.result(timeout=400)
    assert code == 0, out[-3000:] + err[-3000:]
    return json.loads((job.folder / "bench.json").read_text()), out


def test_quick_run_covers_every_case_and_is_valid(quick_report):
    report, stdout = quick_report
    assert report["mode"] == "quick"
    assert list(report["cases"]) == list(QUICK_CASES)
    for key, case in report["cases"].items():
        assert "error" not in case, (key, case.get("traceback"))
        assert case["valid"] is True, (key, case.get("notes"))
        # agree: checked against its peers; None only for a case whose one peer cannot run here
        assert case["agree"] is True or (case["agree"] is None and case["unavailable"]), key
    assert report["summary"]["valid"] is True
    assert report["summary"]["not_scored"] == {}
    for case, peers_out in report["summary"]["unavailable"].items():  # named, with the error
        for name, why in peers_out.items():
            assert f"{name} ({why})" in stdout and case in stdout, (case, name)
    assert report["summary"]["targets_asserted"] is False
    assert report["gate_formula"] == config.GATE_FORMULA


def test_quick_run_scores_every_timed_solver(quick_report):
    report, _ = quick_report
    tol = report["tol_mean_grad"]
    for key in SCORED_CASES:
        sc = report["cases"][key]["score"]
        assert sc["gate_holds"] is True, key
        assert sorted(sc["scored"]) == sorted(sc["solvers"]), (key, sc["not_scored"])
        for name, s in sc["solvers"].items():
            # converged by its own report, and met the rule on the common objective
            assert s["converged"] and s["meets_rule"], (key, name, s["own_report"])
            assert s["max_mean_grad_inf"] <= tol, (key, name)
            assert s["max_gap_over_gate"] <= 1, (key, name)
            assert 0 < s["rel_gate"] < OLD_GATE, (key, name)  # computed, and tighter
            assert s["min_lambda_min"] > 0, (key, name)

    def raced(key):  # every solver of the case either ran and was scored, or was unavailable
        sc = report["cases"][key]["score"]
        assert not set(sc["solvers"]) & set(sc["unavailable"]), key
        assert not set(sc["unavailable"]) & {*peers.JAXDL_SOLVERS, "fit_newton"}, key
        return sorted([*sc["solvers"], *sc["unavailable"]])

    assert raced("newton") == [
        "fit_newton", "glum irls-cd", "glum irls-ls", "sklearn newton-cholesky",
        "statsmodels Logit newton"]
    assert raced("first_order") == sorted([
        *peers.JAXDL_SOLVERS, "glum lbfgs", "optax.lbfgs (while_loop)", "sklearn lbfgs"])
    assert report["cases"]["bootstrap_fits"]["score"]["problems"] == (
        report["cases"]["bootstrap_fits"]["sizes"]["fits"])


def test_quick_run_reports_timings_and_measurements(quick_report):
    report, stdout = quick_report
    cases = report["cases"]
    for key in ("newton", "first_order", "bootstrap_fits"):
        for name, rec in cases[key]["timings"].items():
            if "unavailable" in rec:
                continue
            assert len(rec["times_s"]) == report["repeats"] and min(rec["times_s"]) > 0, name
            assert rec["iterations"] is not None and rec["iterations"] >= 1, name
    # A JAX solver's first call traces and compiles (caches are cleared per case).
    assert cases["newton"]["timings"]["fit_newton"]["compile_overhead_s"] > 0
    assert cases["gd_step"]["checks"] == {"ran_all_steps": True, "loss_finite": True,
                                          "loss_decreased": True}
    assert cases["hessian"]["rel_diff"] <= 1e-10
    mem = cases["memory"]["child"]
    assert mem["ok"] and mem["first_ok"] and mem["grad_inf"] <= report["tol_mean_grad"] * mem["n"]
    assert mem["x_bytes"] == mem["n"] * mem["d"] * 8
    # X itself is resident during the fit, so the eager call's peak covers at least bytes(X).
    assert mem["ratio"] >= 1 and mem["first_call_ratio"] >= 1
    runs = cases["first_call"]["runs"]
    assert set(runs) == {"no cache", "cache, cold", "cache, warm"}
    assert all(r["ok"] and r["compile_overhead_s"] > 0 for r in runs.values())
    for case in cases.values():
        for target in case["targets"]:  # every target got a measurement, bar unavailable peers
            assert isinstance(target["value"], float) or (
                target["value"] is None and case["score"]["unavailable"]), target
    machine = report["machine"]
    for key in ("platform", "cpu_count", "jax", "jaxlib", "device_kind"):
        assert machine[key], key
    for key in ("sklearn", "statsmodels", "glum", "scipy"):  # a version, or None: not installed
        assert key in machine, key
    for name in QUICK_CASES:
        assert f"\n{name} " in stdout, name
    assert "gate?" in stdout and config.GATE_FORMULA in stdout
