"""``jaxdl cv``, run in-process: the table and the JSON report are the library's CVResult, the
plot is written, bad flags exit 2 naming the flag before any fit, a cross-validation that
cannot choose or a refit that fails exits 1 with its status, and an exception inside is a bug
(70), never blamed on a flag.

The breast-cancer runs share one grid and fold count, so the compiled fits are shared.
"""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import _cross_validation, _fit, _linear_model, cli, data, logistic, multinomial
from jaxdl.cli import cv as cli_cv

GRID = "0.01:100:9"
ARGS = ["cv", "--folds", "4", "--l2-grid", GRID, "--seed", "3"]


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")  # tests never write the persistent cache


@pytest.fixture(scope="module")
def reference():
    """The library's cross-validation of what ``ARGS`` asks for."""
    ds = data.load_breast_cancer()
    X, _, _ = data.standardize(jnp.asarray(ds.X, jnp.float64))
    cv = logistic.cross_validate(X, jnp.asarray(ds.y), l2=np.geomspace(0.01, 100, 9), folds=4,
                                 seed=3)
    return ds, cv


def _forbid_fits(monkeypatch):
    """Any fit now fails the test: the error must come before the work."""
    def boom(*a, **k):
        raise AssertionError("a fit ran before the argument error")

    monkeypatch.setattr(_fit, "cv_path", boom)
    monkeypatch.setattr(_fit, "fit", boom)


def _table(out):
    """The rows of the printed curve: (l2, mean, se, converged, marks)."""
    rows = []
    for line in out.splitlines():
        cells = line.split()
        if len(cells) >= 4 and "/" in cells[3]:
            try:
                numbers = [float(c) for c in cells[:3]]
            except ValueError:
                continue
            rows.append((*numbers, cells[3], line.partition("<-")[2].strip()))
    return rows


def test_table_is_the_library_result(capsys, reference):
    ds, ref = reference
    assert cli.main(ARGS) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    assert [r[0] for r in rows] == pytest.approx(np.asarray(ref.l2), rel=1e-5)
    assert [r[1] for r in rows] == pytest.approx(np.asarray(ref.mean), rel=1e-5)
    assert [r[2] for r in rows] == pytest.approx(np.asarray(ref.se), rel=1e-5)
    assert all(r[3] == "4/4" for r in rows)
    best = int(ref.best_index)
    one_se = int(np.flatnonzero(np.asarray(ref.l2) == np.asarray(ref.l2_1se))[0])
    assert best != one_se  # the grid separates the two choices here
    assert rows[best][4] == "best" and rows[one_se][4] == "1-SE"
    assert sum(bool(r[4]) for r in rows) == 2
    assert f"best: l2 = {float(ref.best_l2):.6g}" in out
    assert f"1-SE: l2 = {float(ref.l2_1se):.6g}" in out
    # the refit's summary: its status, intercept and largest coefficients by feature name
    assert f"refit on all 569 rows at the best l2 = {float(ref.best_l2):.6g}: converged" in out
    w, b = (np.asarray(p) for p in ref.fit.params)
    assert f"intercept {float(b):.6g}" in out
    top = np.argsort(-np.abs(w))[:cli_cv.TOP]
    listed = [ln.split() for ln in out.split("--json lists all):\n")[1].splitlines()[:10]]
    assert [" ".join(c[:-1]) for c in listed] == [ds.feature_names[j] for j in top]
    np.testing.assert_allclose([float(c[-1]) for c in listed], w[top], rtol=1e-5)


def test_json_report_and_plot(capsys, tmp_path, reference):
    ds, ref = reference
    png = tmp_path / "cv.png"
    assert cli.main([*ARGS, "--json", "--plot", str(png)]) == 0
    report = json.loads(capsys.readouterr().out)
    c = report["cv"]
    np.testing.assert_allclose(c["l2"], np.asarray(ref.l2), rtol=1e-15)
    np.testing.assert_allclose(c["scores"], np.asarray(ref.scores), rtol=1e-12)
    np.testing.assert_allclose(c["mean"], np.asarray(ref.mean), rtol=1e-12)
    np.testing.assert_allclose(c["se"], np.asarray(ref.se), rtol=1e-12)
    assert c["best_index"] == int(ref.best_index) and c["best_l2"] == float(ref.best_l2)
    assert c["l2_1se"] == float(ref.l2_1se) and c["l2"][c["one_se_index"]] == c["l2_1se"]
    assert c["status"] == ref.status_name and c["folds_converged"] == [4] * 9
    r = report["refit"]
    assert report["ok"] and report["every_fold_converged"] and r["status"] == "converged"
    assert report["model"] == "logistic" and report["features"] == list(ds.feature_names)
    assert list(r["coefficients"]) == list(ds.feature_names)
    np.testing.assert_allclose(list(r["coefficients"].values()), np.asarray(ref.fit.params[0]),
                               rtol=1e-12)
    assert r["intercept"] == pytest.approx(float(ref.fit.params[1]), rel=1e-12)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


BAD = {  # argv after "cv", the message
    "grid-zero-low": (["--l2-grid", "0:1:5"], "argument --l2-grid: expected LO:HI:N"),
    "grid-reversed": (["--l2-grid", "10:1:5"], "argument --l2-grid: expected LO:HI:N"),
    "grid-one-point": (["--l2-grid", "1:10:1"], "argument --l2-grid: expected LO:HI:N"),
    "grid-two-parts": (["--l2-grid", "1:10"], "argument --l2-grid: expected LO:HI:N"),
    "grid-text": (["--l2-grid", "1,x"], "argument --l2-grid: expected a comma list of finite "
                  "penalties >= 0 (or LO:HI:N), got 'x'"),
    "grid-negative": (["--l2-grid", "1,-2"], "argument --l2-grid: expected a comma list"),
    "grid-nan": (["--l2-grid", "nan"], "argument --l2-grid: expected a comma list"),
    "folds-1": (["--folds", "1"], "argument --folds: expected an integer >= 2, got '1'"),
    "folds-more-than-rows": (["--folds", "1000"], "--folds: expected a fold count from 2 to the "
                             "number of rows (569), got 1000"),
    "scoring": (["--scoring", "auc"], "argument --scoring: invalid choice: 'auc'"),
    "solver": (["--solver", "gd"], "argument --solver: invalid choice: 'gd'"),
    "max-steps-0": (["--max-steps", "0"], "argument --max-steps: expected an integer >= 1"),
    "gtol-0": (["--gtol", "0"], "argument --gtol: expected a finite number > 0"),
    "seed-negative": (["--seed", "-1"], "argument --seed: expected an integer >= 0"),
    "missing-file": (["--data", "/no/such.csv"], "--data: expected a bundled data set name"),
    "csv-option-bundled": (["--delimiter", ";"], "--delimiter: expected no CSV option for the "
                           "bundled data set 'breast_cancer'"),
    "classes-bundled": (["--classes", "3"], "labels of --data breast_cancer: expected at least "
                        "2 samples in each of the 3 classes"),
    "plot-folder": (["--plot", "/no/such/folder/cv.png"], "--plot: expected a file in an "
                    "existing folder"),
}


@pytest.mark.parametrize(("argv", "message"), list(BAD.values()), ids=list(BAD))
def test_bad_flag_exits_2_naming_it_before_any_fit(capsys, monkeypatch, argv, message):
    _forbid_fits(monkeypatch)
    assert cli.main(["cv", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err, captured.err
    assert "jaxdl cv: error: " in captured.err and captured.out == ""
    assert "Traceback" not in captured.err


def test_no_usable_penalty_exits_1_with_the_statuses(capsys):
    # the standardised breast-cancer data are separable: without a penalty no fold has a fit
    assert cli.main([*ARGS[:3], "--l2-grid", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "jaxdl cv: logistic.cross_validate: no penalty of the grid has every fold's fit " \
        "converged (statuses ['separable'])" in captured.err
    assert "hint: use larger penalties in --l2-grid" in captured.err
    assert cli.main([*ARGS[:3], "--l2-grid", "0", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and "separable" in report["error"]


def test_a_failed_penalty_is_marked_and_never_chosen(capsys):
    assert cli.main([*ARGS[:3], "--l2-grid", "0,1,10"]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    assert rows[0][0] == 0 and rows[0][3] == "0/4" and "(separable)" in out
    assert rows[1][4].startswith("best")
    assert "note: at 1 penalty not every fold converged; they are never chosen" in out


def test_a_failed_refit_exits_1_with_its_status_and_hint(capsys, monkeypatch, reference):
    original = multinomial.cross_validate_classifier

    def stalled(*args, **kwargs):  # the folds converge; the refit runs out of steps
        cv = original(*args, **kwargs)
        return cv._replace(fit=cv.fit._replace(status=jnp.int32(1)))

    monkeypatch.setattr(multinomial, "cross_validate_classifier", stalled)
    assert cli.main(ARGS) == 1
    captured = capsys.readouterr()
    best = float(reference[1].best_l2)
    assert f"refit on all 569 rows at the best l2 = {best:.6g}: max_steps" in captured.out
    assert "hint: raise --max-steps (now the default) or loosen --gtol" in captured.out
    assert f"jaxdl cv: the refit at l2 = {best:g} did not succeed: status max_steps; raise " \
        "--max-steps" in captured.err


@pytest.mark.parametrize("exc", [ValueError("X: expected a 2-D array (n, d), got shape (3,)"),
                                 TypeError("unsupported operand"), KeyError("l2")])
def test_an_exception_inside_is_a_bug_not_a_flag(exc, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(multinomial, "cross_validate_classifier", broken)
    monkeypatch.delenv("JAXDL_TRACEBACK", raising=False)
    assert cli.main(ARGS) == 70
    err = capsys.readouterr().err
    assert f"jaxdl cv: internal error: {type(exc).__name__}: " in err
    assert "error: --" not in err and "Traceback" not in err


def _csv(path, labels):
    rows = ["a,b,y"] + [f"{i % 7},{(3 * i) % 5 + (c == 1)},{c}" for i, c in enumerate(labels)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_binary_and_k_classes(capsys, tmp_path):
    labels = [int(i % 7 + (i % 3 == 0) > 3) for i in range(60)]
    csv = _csv(tmp_path / "two.csv", labels)
    assert cli.main(["cv", "--data", str(csv), "--folds", "3", "--l2-grid", "0.1,1,10",
                     "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "logistic" and report["features"] == ["a", "b"]
    assert report["n"] == 60 and len(report["cv"]["scores"]) == 3
    three = _csv(tmp_path / "three.csv", [i % 3 for i in range(60)])
    assert cli.main(["cv", "--data", str(three), "--folds", "3", "--l2-grid", "0.1,1,10"]) == 2
    assert "--classes: expected binary labels {0, 1}" in capsys.readouterr().err
    assert cli.main(["cv", "--data", str(three), "--classes", "3", "--folds", "3",
                     "--l2-grid", "0.1,1,10", "--scoring", "accuracy", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "multinomial" and list(report["refit"]["coefficients"]) == [
        "0", "1", "2"]
    X, _, _ = data.standardize(jnp.asarray(data.load(str(three)).X))
    ref = multinomial.cross_validate(X, jnp.asarray([i % 3 for i in range(60)]),
                                     l2=[0.1, 1.0, 10.0], folds=3, scoring="accuracy")
    np.testing.assert_allclose(report["cv"]["scores"], np.asarray(ref.scores), rtol=1e-12)


def test_grid_syntax_and_the_library_names():
    assert cli_cv.l2_grid("1e-3:1e3:13") == pytest.approx(tuple(np.geomspace(1e-3, 1e3, 13)))
    assert cli_cv.l2_grid("0, 0.5,2") == (0.0, 0.5, 2.0)
    assert cli_cv.SCORINGS == tuple(_cross_validation.SCORINGS)
    assert cli_cv.SOLVERS == _linear_model.CV_SOLVERS
    assert set(cli_cv.FLAGS) <= set(__import__("inspect").signature(
        logistic.cross_validate).parameters)
