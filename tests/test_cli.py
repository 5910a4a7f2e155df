"""The command line (jaxdl.cli), run in-process: exit codes, messages that name the flag the
user typed, the JSON report (statuses, coefficients with feature names), CSV options, streaming
verification rows.

Every breast-cancer gradient-descent run uses --gd-steps 50 so the jitted loop compiles once;
the CSV files share one shape (60 rows, 2 features) for the same reason.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry_trials import TRIALS

import jaxdl
from jaxdl import cli, data, logistic, verify

GD = ["--gd-steps", "50"]


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")  # tests never write the persistent cache


def _strict_json(text):
    def refuse(name):
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _binary_csv(path, *, header="a,b,label", sep=",", label_first=False, n=60):
    rows = [] if header is None else [header]
    for i in range(n):
        a, b = i % 7, (3 * i) % 5
        label = int(a + b + (i % 3 == 0) > 5)  # overlapping classes: a finite optimum
        cells = [str(label), str(a), str(b)] if label_first else [str(a), str(b), str(label)]
        rows.append(sep.join(cells))
    path.write_text("\n".join(rows) + "\n")
    return path


def _csv_with_labels(path, labels):
    rows = ["a,b,y"] + [f"{i % 7},{(3 * i) % 5},{c}" for i, c in enumerate(labels)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _forbid_fits(monkeypatch):
    """Any fit now fails the test: the error must come before the work."""
    def boom(*a, **k):
        raise AssertionError("a fit ran before the argument error")

    for name in ("fit_gd", "fit_newton"):
        monkeypatch.setattr(logistic, name, boom)


# ---------------------------------------------------------------------------
# --version, --help
# ---------------------------------------------------------------------------


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"jaxdl {jaxdl.__version__}"


def test_every_option_has_help():
    parser = cli.build_parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    parsers = [("jaxdl", parser)] + list(subparsers[0].choices.items())
    assert {name for name, _ in parsers} == {"jaxdl", "verify", "fit", "cv", "sweep", "demo"}
    for name, p in parsers:
        for action in p._actions:
            assert action.help and action.help.strip(), (name, action.option_strings)


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "jaxdl", "--help"], capture_output=True,
                         text=True, check=True)
    assert "verify" in out.stdout and "Exit status" in out.stdout


# ---------------------------------------------------------------------------
# Bad flag values: exit 2 before any work, naming the flag and what it expected
# ---------------------------------------------------------------------------

BAD = {
    "gd-steps-0": (["fit", "--gd-steps", "0"], "argument --gd-steps: expected an integer >= 1, "
                   "got '0'"),
    "gd-steps-text": (["fit", "--gd-steps", "many"], "argument --gd-steps: expected an integer"),
    "newton-steps-float": (["fit", "--newton-steps", "2.5"], "argument --newton-steps: expected "
                           "an integer >= 1, got '2.5'"),
    "l2-negative": (["fit", "--l2", "-1"], "argument --l2: expected a finite number >= 0, got "
                    "'-1'"),
    "l2-nan": (["fit", "--l2", "nan"], "argument --l2: expected a finite number >= 0"),
    "lr-w-zero": (["fit", "--lr-w", "0"], "argument --lr-w: expected a finite number > 0"),
    "lr-b-inf": (["fit", "--lr-b", "inf"], "argument --lr-b: expected a finite number > 0"),
    "gtol-zero": (["fit", "--gtol", "0"], "argument --gtol: expected a finite number > 0"),
    "test-fraction-1": (["fit", "--test-fraction", "1"], "argument --test-fraction: expected a "
                        "finite number > 0 and < 1, got '1'"),
    "classes-1": (["fit", "--classes", "1"], "argument --classes: expected an integer >= 2"),
    "every-0": (["fit", "--every", "0"], "argument --every: expected an integer >= 1"),
    "seed-negative": (["fit", "--seed", "-3"], "argument --seed: expected an integer >= 0"),
    "delimiter-two": (["fit", "--delimiter", ";;"], "argument --delimiter: expected one "
                      "character"),
    "label-column-empty": (["fit", "--label-column", ""], "argument --label-column: expected a "
                           "column name or index"),
    "dtype": (["fit", "--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    "solver": (["fit", "--solver", "sgd"], "argument --solver: invalid choice: 'sgd'"),
    "trials-0": (["verify", "--trials", "0"], "argument --trials: expected an integer >= 1"),
    "only-nothing": (["verify", "--only"], "argument --only: expected at least one argument"),
    "unknown-flag": (["fit", "--learning-rate", "1"], "unrecognized arguments: --learning-rate"),
}


@pytest.mark.parametrize(("argv", "message"), list(BAD.values()), ids=list(BAD))
def test_bad_flag_value_exits_2_naming_the_flag(capsys, monkeypatch, argv, message):
    _forbid_fits(monkeypatch)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err, captured.err
    assert captured.out == ""


LATE = {  # checks that need the data loaded, still before any fit
    "gd-flag-newton": (["fit", "--solver", "newton", "--lr-w", "0.1"],
                       "--lr-w: applies to gradient descent, but --solver newton runs no"),
    "gd-steps-newton": (["fit", "--solver", "newton", "--gd-steps", "5"], "--gd-steps: applies"),
    "newton-steps-gd": (["fit", "--solver", "gd", "--newton-steps", "5"],
                        "--newton-steps: applies to Newton's method"),
    "missing-file": (["fit", "--data", "/no/such.csv"], "--data: expected a bundled data set "
                     "name (breast_cancer, digits) or the path of an existing CSV file, got "
                     "'/no/such.csv'"),
    "csv-option-bundled": (["fit", "--label-column", "0"], "--label-column: expected no CSV "
                           "option for the bundled data set 'breast_cancer'"),
    "classes-bundled": (["fit", "--classes", "3"], "labels of --data breast_cancer: expected at "
                        "least 2 samples in each of the 3 classes 0..2, got class 2 with 0"),
}


@pytest.mark.parametrize(("argv", "message"), list(LATE.values()), ids=list(LATE))
def test_bad_combination_exits_2_before_fitting(capsys, monkeypatch, argv, message):
    _forbid_fits(monkeypatch)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxdl fit: error: ") and message in err, err


def test_unknown_identity_names_only(capsys):
    assert cli.main(["verify", "--only", "nope"]) == 2
    captured = capsys.readouterr()
    assert "--only: unknown identities ['nope']" in captured.err
    assert captured.out == ""  # not even the table's header


def test_plot_into_missing_folder_fails_before_fitting(capsys, monkeypatch, tmp_path):
    _forbid_fits(monkeypatch)
    target = tmp_path / "no" / "such" / "fit.png"
    assert cli.main(["fit", "--plot", str(target)]) == 2
    err = capsys.readouterr().err
    assert "--plot: expected a file in an existing folder" in err and str(target) in err


def _read_only_folders(tmp_path):
    """Folders no one here can create a file in: a chmod 0o500 folder (root writes into it
    anyway, so only for other users) and /proc, which refuses new files even to root."""
    folders = []
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        folders.append(folder)
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self"):
        folders.append("/proc")
    if not folders:
        pytest.skip("no read-only folder: root, and no /proc")
    return folders


def test_plot_into_read_only_folder_fails_before_fitting(capsys, monkeypatch, tmp_path):
    _forbid_fits(monkeypatch)
    for folder in _read_only_folders(tmp_path):
        try:
            assert cli.main(["fit", "--plot", os.path.join(folder, "fit.png")]) == 2
        finally:
            if folder != "/proc":
                os.chmod(folder, 0o700)
        err = capsys.readouterr().err
        assert f"--plot: expected a writable folder, got {os.path.join(folder, 'fit.png')!r}" \
            in err, err


def test_plot_checks_format_and_folder_kind(capsys, monkeypatch, tmp_path):
    _forbid_fits(monkeypatch)
    assert cli.main(["fit", "--plot", str(tmp_path / "fit.nosuchformat")]) == 2
    assert "--plot: expected a file ending in one of" in capsys.readouterr().err
    assert cli.main(["fit", "--plot", str(tmp_path)]) == 2
    assert "--plot: expected a file name, got the folder" in capsys.readouterr().err


def test_plot_without_matplotlib_fails_before_fitting(capsys, monkeypatch, tmp_path):
    _forbid_fits(monkeypatch)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import now fails
    assert cli.main(["fit", "--plot", str(tmp_path / "fit.png")]) == 2
    assert "--plot: needs matplotlib" in capsys.readouterr().err


def test_demo_checks_plot_before_verifying(capsys, monkeypatch, tmp_path):
    def boom(*a, **k):
        raise AssertionError("verification ran before the argument error")

    monkeypatch.setattr(verify, "run", boom)
    assert cli.main(["demo", "--plot", str(tmp_path / "missing" / "x.png")]) == 2
    assert "jaxdl demo: error: --plot: expected a file in an existing folder" in \
        capsys.readouterr().err


# ---------------------------------------------------------------------------
# fit: statuses, exit codes, the JSON report
# ---------------------------------------------------------------------------


def test_fit_json_coefficients_hints_and_plot(capsys, tmp_path):
    png = tmp_path / "fit.png"
    code = cli.main(["fit", "--json", *GD, "--plot", str(png)])
    captured = capsys.readouterr()
    report = _strict_json(captured.out)
    # GD stops at its 50-step budget: not a success, so exit 1 with the flag to change.
    assert code == 1 and report["ok"] is False
    gd, newton = report["solvers"]["gd"], report["solvers"]["newton"]
    assert gd["status"] == "max_steps" and gd["ok"] is False and gd["steps"] == 50
    assert "--gd-steps (now 50)" in gd["hint"]
    assert "gradient descent did not succeed: status max_steps; raise --gd-steps" in captured.err
    assert newton["status"] == "converged" and newton["ok"] and newton["hint"] is None
    assert newton["mean_grad_norm"] <= report["gtol"]  # the stop rule, in its own units
    assert newton["mean_grad_norm"] == newton["grad_norm"] / report["train"]
    assert gd["loss"] > newton["loss"] and newton["test_accuracy"] > 0.95
    assert png.stat().st_size > 10_000

    # The coefficients are the fitted ones, named and ordered like the data's columns.
    ds = data.load_breast_cancer()
    assert report["features"] == list(ds.feature_names)
    assert report["class_names"] == ["malignant", "benign"]
    assert list(newton["coefficients"]) == list(ds.feature_names)
    Xtr, ytr, _, _ = data.train_test_split(jax.random.key(0), ds.X, ds.y, test_fraction=0.25)
    Xs, _, _ = data.standardize(jnp.asarray(Xtr))
    w, b = logistic.fit_newton(Xs, jnp.asarray(ytr, Xs.dtype), l2=1.0, gtol=1e-9).params
    np.testing.assert_allclose(list(newton["coefficients"].values()), np.asarray(w), rtol=1e-12,
                               atol=1e-12)
    assert newton["intercept"] == pytest.approx(float(b), rel=1e-12)


def test_separable_newton_exits_1_with_the_l2_hint(capsys):
    code = cli.main(["fit", "--solver", "newton", "--l2", "0"])
    captured = capsys.readouterr()
    assert code == 1
    assert "status: separable: the classes are linearly separable" in captured.out
    assert "hint: pass --l2 > 0 (now 0)" in captured.out
    assert "Newton did not succeed: status separable; pass --l2 > 0" in captured.err


def test_diverged_gradient_descent_names_the_rate_flags(capsys):
    code = cli.main(["fit", "--json", "--solver", "gd", "--lr-w", "1e300", "--lr-b", "1e300",
                     *GD])
    captured = capsys.readouterr()
    report = _strict_json(captured.out)  # overflowed values come back as null, not NaN
    gd = report["solvers"]["gd"]
    assert code == 1 and gd["status"] == "nonfinite"
    assert "for gradient descent: lower the learning rate" in gd["message"]
    assert "lower the learning rate, --lr-w and --lr-b" in gd["hint"]
    assert "--lr-w and --lr-b" in captured.err


def test_fit_table_says_what_its_columns_are(capsys):
    assert cli.main(["fit", "--solver", "newton"]) == 0
    out = capsys.readouterr().out
    assert "mean grad = max |gradient| / 427, the max-norm of the per-sample mean" in out
    assert "a fit stops when mean grad <= gtol = 1e-09" in out
    assert "status: converged" in out
    last = [ln for ln in out.splitlines() if ln.startswith("steps ")][-1]
    assert "(gtol 1e-09)" in last and "mean grad" in last


# ---------------------------------------------------------------------------
# CSV options and class checks
# ---------------------------------------------------------------------------


def test_fit_table_on_csv(capsys, tmp_path):
    csv = _binary_csv(tmp_path / "toy.csv")
    code = cli.main(["fit", "--data", str(csv), "--solver", "newton", "--l2", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "step" in out and "mean grad" in out and "status: converged" in out


def test_csv_label_column_and_delimiter(capsys, tmp_path):
    csv = _binary_csv(tmp_path / "semi.csv", header="cls;a;b", sep=";", label_first=True)
    reports = []
    for label in ("cls", "0", "-3"):
        argv = ["fit", "--data", str(csv), "--delimiter", ";", "--label-column", label,
                "--solver", "newton", "--json"]
        assert cli.main(argv) == 0
        reports.append(_strict_json(capsys.readouterr().out))
    for r in reports:
        assert r["features"] == ["a", "b"] and r["n"] == 60
        assert list(r["solvers"]["newton"]["coefficients"]) == ["a", "b"]
    assert reports[0]["solvers"]["newton"]["coefficients"] == \
        reports[1]["solvers"]["newton"]["coefficients"]
    # A wrong delimiter or label column is named by its flag.
    assert cli.main(["fit", "--data", str(csv), "--label-column", "nope", "--delimiter", ";"]) == 2
    assert "--label-column: expected one of the header names" in capsys.readouterr().err


def test_csv_header_of_numbers_is_an_error_not_a_dropped_row(capsys, tmp_path):
    csv = _binary_csv(tmp_path / "bare.csv", header=None)
    assert cli.main(["fit", "--data", str(csv), "--solver", "newton"]) == 2
    err = capsys.readouterr().err
    assert "--no-header: expected line 1 of" in err and "got a row of numbers" in err
    assert "pass --no-header" in err and "header=" not in err
    assert cli.main(["fit", "--data", str(csv), "--solver", "newton", "--no-header",
                     "--json"]) == 0
    report = _strict_json(capsys.readouterr().out)
    assert report["n"] == 60 and report["features"] == ["x0", "x1"]  # no row lost


def test_csv_header_given_no_header_flag(capsys, tmp_path):
    csv = _binary_csv(tmp_path / "head.csv")
    assert cli.main(["fit", "--data", str(csv), "--no-header"]) == 2
    err = capsys.readouterr().err
    assert f"--no-header: line 1 of {csv} holds column names" in err
    assert "leave out --no-header" in err and "header=" not in err  # flags, not arguments


def test_csv_bad_cell_names_the_file_line_and_column(capsys, tmp_path):
    csv = tmp_path / "cell.csv"
    rows = ["a,b,y"] + [f"{i % 7},{(3 * i) % 5},{i % 2}" for i in range(10)]
    rows[4] = "1,oops,0"
    csv.write_text("\n".join(rows) + "\n")
    for extra in ([], ["--no-header"]):  # a bad cell, with or without the header question
        assert cli.main(["fit", "--data", str(csv), *extra]) == 2
        err = capsys.readouterr().err
        if extra:
            assert "--no-header: line 1 of" not in err  # the file fails both ways: the cell
        assert f"--data: {csv}: line " in err and "expected a number, got" in err, err


def test_csv_three_classes_need_the_classes_flag(capsys, tmp_path):
    csv = _csv_with_labels(tmp_path / "three.csv", [i % 3 for i in range(60)])
    assert cli.main(["fit", "--data", str(csv)]) == 2
    err = capsys.readouterr().err
    assert "--classes: expected binary labels {0, 1}" in err and "pass --classes 3" in err
    assert cli.main(["fit", "--data", str(csv), "--classes", "2"]) == 2
    assert "--classes: expected more classes than the largest label 2" in \
        capsys.readouterr().err
    code = cli.main(["fit", "--data", str(csv), "--classes", "3", "--json", *GD,
                     "--lr-w", "0.01", "--lr-b", "0.02"])
    report = _strict_json(capsys.readouterr().out)
    gd, newton = report["solvers"]["gd"], report["solvers"]["newton"]
    assert code == 1 and gd["status"] == "max_steps" and newton["status"] == "converged"
    assert "lr_w = 0.01, lr_b = 0.02" in gd["label"]
    assert report["model"] == "multinomial" and report["class_names"] == ["0", "1", "2"]
    assert list(newton["coefficients"]) == ["0", "1", "2"]  # one row per class
    assert all(list(row) == ["a", "b"] for row in newton["coefficients"].values())
    assert list(newton["intercept"]) == ["0", "1", "2"]


@pytest.mark.parametrize(("labels", "message"), [
    ([0, 2] * 30, "got class 1 with 0 samples"),  # K inferred as 3: a class with no sample
    ([0] * 59 + [1], "expected at least 2 samples in each of the 2 classes 0..1, got class 1 "
     "with 1 sample"),
    ([0] * 60, "expected at least 2 classes"),
])
def test_csv_classes_without_enough_samples(capsys, tmp_path, labels, message):
    csv = _csv_with_labels(tmp_path / "few.csv", labels)
    assert cli.main(["fit", "--data", str(csv)]) == 2
    err = capsys.readouterr().err
    assert f"labels of --data {csv}: " in err and message in err, err


def test_class_missing_from_the_training_rows(capsys, tmp_path):
    # Two samples of class 1, both drawn into the test rows by a large --test-fraction.
    labels = [0] * 58 + [1, 1]
    csv = _csv_with_labels(tmp_path / "rare.csv", labels)
    for seed in range(50):
        _, ytr, _, _ = data.train_test_split(jax.random.key(seed), np.zeros((60, 1)),
                                             np.asarray(labels), test_fraction=0.9)
        if not (ytr == 1).any():
            break
    else:
        pytest.skip("no seed puts both rare rows in the test part")
    assert cli.main(["fit", "--data", str(csv), "--test-fraction", "0.9",
                     "--seed", str(seed)]) == 2
    err = capsys.readouterr().err
    assert "labels of the training rows (--test-fraction 0.9" in err and "class 1 with 0" in err


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------


def test_verify_json(capsys):
    code = cli.main(["verify", "--json", "--dtype", "float32", "--trials", str(TRIALS),
                     "--only", "logistic.grad_w", "softmax.ce_hessian_psd"])
    out = _strict_json(capsys.readouterr().out)
    assert code == 0 and out["ok"]
    assert [r["name"] for r in out["identities"]] == ["logistic.grad_w", "softmax.ce_hessian_psd"]


FIRST, SECOND = "logistic.grad_w", "softmax.ce_hessian_psd"
VERIFY_TWO = ["verify", "--dtype", "float32", "--trials", str(TRIALS), "--only", FIRST, SECOND]


def test_verify_prints_each_row_as_it_finishes(capsys, monkeypatch):
    original = verify.run
    at_start, after_each = [], []

    def run(names=None, *, on_outcome=None, **kwargs):
        if on_outcome is None:  # the CLI's up-front check of the names
            return original(names, **kwargs)
        at_start.append(capsys.readouterr().out)

        def watch(outcome):  # what stdout holds once the CLI has handled this outcome
            on_outcome(outcome)
            after_each.append((outcome.name, capsys.readouterr().out))

        return original(names, on_outcome=watch, **kwargs)

    monkeypatch.setattr(verify, "run", run)
    assert cli.main(VERIFY_TWO) == 0
    rest = capsys.readouterr().out
    assert at_start and at_start[0].splitlines()[0].startswith("identity")  # header first
    assert [name for name, _ in after_each] == [FIRST, SECOND]
    for name, out in after_each:  # each row is out as soon as its outcome is
        (line,) = out.splitlines()
        assert line.startswith(name) and line.endswith("ok")
    assert "2 identities x 1 dtype(s): 2 ok, 0 failed" in rest


def test_verify_failure_exits_1(capsys, monkeypatch):
    name = "logistic.grad_w"
    original = verify.REGISTRY[name]
    broken = dataclasses.replace(original, closed_form=lambda *a: jax.tree.map(
        lambda v: v + 1.0, original.closed_form(*a)))
    monkeypatch.setitem(verify.REGISTRY, name, broken)
    assert cli.main(["verify", "--dtype", "float64", "--trials", str(TRIALS), "--only", name]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "1 failed" in captured.out
    assert f"jaxdl verify: 1 check(s) failed: {name} (float64)" in captured.err
