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
