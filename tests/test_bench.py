"""The benchmark harness (scripts/bench.py) runs end to end in quick mode and its solvers agree.

Quick mode shrinks every case to a smoke test: the timing targets are not asserted there, but
the loss agreement (1e-9 relative, one common float64 loss) is, and so is the JSON report.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("statsmodels")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"
CASES = ("a", "b", "c", "d", "e", "f", "g")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--repeats", "2", "--json-out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=out.parent,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def test_quick_run_covers_every_case_and_losses_agree(quick_report):
    report, _ = quick_report
    assert report["mode"] == "quick"
    assert set(report["cases"]) == set(CASES)
    for key, case in report["cases"].items():
        assert "error" not in case, (key, case.get("traceback"))
        assert case["agree"] is True, (key, case)
        assert case["valid"] is True, key
    assert report["summary"]["valid"] is True
    assert report["summary"]["targets_asserted"] is False


def test_quick_run_reports_losses_ratios_and_machine(quick_report):
    report, stdout = quick_report
    cases = report["cases"]
    for key in ("a", "b"):
        gaps = cases[key]["rel_loss_gap"]
        assert len(gaps) >= 3 and max(gaps.values()) <= report["agree_rtol"], (key, gaps)
        for rec in cases[key]["timings"].values():
            assert 0 < rec["warm_s"] <= max(rec["times_s"]) and len(rec["times_s"]) == 2
    assert cases["a"]["timings"]["fit_newton"]["compile_overhead_s"] > 0
    assert cases["d"]["max_rel_loss_gap"] <= report["agree_rtol"]
    assert cases["e"]["rel_diff"] <= 1e-10
    for case in cases.values():
        for target in case["targets"]:
            assert isinstance(target["value"], float), target  # every target got a measurement
    machine = report["machine"]
    for key in ("platform", "cpu_count", "jax", "jaxlib", "sklearn", "statsmodels",
                "device_kind"):
        assert machine[key], key
    assert "fit_newton" in stdout and "agree?" in stdout


def test_bad_case_letter_is_rejected():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cases", "a,z"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "--cases" in proc.stderr
