"""The public API imports, and the command line works end to end."""

import json
import subprocess
import sys

import jaxdl
from jaxdl import cli


def test_public_names():
    for name in jaxdl.__all__:
        assert hasattr(jaxdl, name), name
    for mod, names in {
        "logistic": ["loss", "grad", "hessian"],
        "softmax": ["softmax", "jacobian", "cross_entropy", "ce_grad", "ce_hessian"],
        "checks": ["assert_psd", "assert_symmetric", "is_psd", "is_symmetric"],
        "results": ["Status", "FitResult", "NewtonResult", "message", "raise_if_failed"],
    }.items():
        m = getattr(jaxdl, mod)
        for n in names:
            assert callable(getattr(m, n)), f"jaxdl.{mod}.{n}"


def test_cli_verify_json(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")
    code = cli.main(["verify", "--json", "--dtype", "float32", "--trials", "1",
                     "--only", "logistic.grad_w", "softmax.ce_hessian_psd"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"]
    assert [r["name"] for r in out["identities"]] == ["logistic.grad_w", "softmax.ce_hessian_psd"]


def test_cli_unknown_identity_is_an_error(capsys):
    assert cli.main(["verify", "--only", "nope"]) == 2
    assert "unknown identities ['nope']" in capsys.readouterr().err


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "jaxdl", "--help"], capture_output=True, text=True,
                         check=True)
    assert "verify" in out.stdout


def test_cli_fit_json_and_plot(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")
    png = tmp_path / "fit.png"
    code = cli.main(["fit", "--json", "--gd-steps", "200", "--plot", str(png)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    newton, gd = report["solvers"]["newton"], report["solvers"]["gd"]
    assert newton["status"] == "converged" and newton["grad_norm"] < 1e-6
    assert gd["steps"] == 200 and gd["status"] == "max_steps"
    assert gd["loss"] > newton["loss"]
    assert newton["test_accuracy"] > 0.95
    assert png.stat().st_size > 10_000


def test_cli_fit_table_on_csv(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")
    csv = tmp_path / "toy.csv"
    rows = ["a,b,label"] + [f"{i % 7},{(3 * i) % 5},{int(i % 7 + (3 * i) % 5 > 5)}"
                            for i in range(60)]
    csv.write_text("\n".join(rows) + "\n")
    code = cli.main(["fit", "--data", str(csv), "--solver", "newton", "--l2", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "step" in out and "grad norm" in out and "status: converged" in out


def test_cli_fit_missing_file(capsys, monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")
    assert cli.main(["fit", "--data", "/no/such.csv"]) == 2
    assert "/no/such.csv" in capsys.readouterr().err
