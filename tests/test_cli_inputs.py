"""``jaxdl fit`` on CSV files of every shape: a result or a message (exit 0, 1 or 2), never a
traceback and never the bug status; an exception inside jaxdl exits 70 and says it is a bug;
``data.standardize`` on values whose direct standardisation overflows or underflows.

The well-formed files share one shape (60 rows, 2 features) so that each solver compiles once.
"""

import gzip
import json

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import cli, data, logistic

N = 60


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("JAXDL_NO_CACHE", "1")  # tests never write the persistent cache


def _rows(a=lambda i: i % 7, b=lambda i: (3 * i) % 5, y=lambda i: int(i % 7 + (i % 3 == 0) > 3)):
    return [f"{a(i)},{b(i)},{y(i)}" for i in range(N)]


def _text(rows, header="a,b,y"):
    return "\n".join(([header] if header is not None else []) + rows) + "\n"


def _replace(rows, i, line):
    rows = list(rows)
    rows[i] = line
    return rows


HUGE = _rows(a=lambda i: (-1) ** i * (1 + i % 7) * 1.0e307, b=lambda i: (i % 5) * 1e-300)

# name: (file text or bytes, extra flags, allowed exit statuses, words the message must hold)
FILES = {
    "empty": ("", [], {2}, "--data: "),
    "blank-lines": ("\n\n\n", [], {2}, "--data: "),
    "header-only": ("a,b,y\n", [], {2}, "need at least 2 data rows"),
    "one-column": (_text([str(i % 2) for i in range(N)], header="y"), [], {2},
                   "need at least one feature column"),
    "one-column-no-header": (_text([str(i % 2) for i in range(N)], header=None), ["--no-header"],
                             {2}, "need at least one feature column"),
    "text-cells": (_text(_replace(_rows(), 5, "x,y,1")), [], {2}, "expected a number, got 'x'"),
    "text-label": (_text(_replace(_rows(), 7, "1,2,yes")), [], {2}, "'yes'"),
    "fractional-label": (_text(_replace(_rows(), 7, "1,2,0.5")), [], {2}, "'0.5'"),
    "negative-label": (_text(_replace(_rows(), 7, "1,2,-1")), [], {2}, "'-1'"),
    "label-too-big-for-int32": (_text(_replace(_rows(), 7, "1,2,3000000000")), [], {2},
                                "int32"),
    "nan": (_text(_replace(_rows(), 3, "nan,1,0")), [], {2}, "expected a finite number"),
    "inf": (_text(_replace(_rows(), 3, "1,-inf,0")), [], {2}, "expected a finite number"),
    "overflowing-literal": (_text(_replace(_rows(), 3, "1e999,1,0")), [], {2},
                            "expected a finite number"),
    "ragged": (_text(_replace(_rows(), 9, "1,2")), [], {2}, "has 2 fields, expected 3"),
    "duplicate-header": (_text(_rows(), header="a,a,y"), [], {2}, "--data: header: expected "
                         "distinct column names"),
    "numbers-as-header": (_text(_rows(), header="1,2,0"), [], {2}, "pass --no-header"),
    "not-utf8": (b"a,b,y\n\xff\xfe,1,0\n" * 3, [], {2}, "not UTF-8"),
    "not-gzip": (b"a,b,y\n1,2,0\n", ["--gz"], {2}, "--data: "),
    "gzip": (gzip.compress(_text(_rows()).encode()), ["--gz", "--solver", "newton"], {0}, ""),
    "one-class": (_text(_rows(y=lambda i: 0)), [], {2}, "expected at least 2 classes"),
    "one-sample-class": (_text(_rows(y=lambda i: int(i == 0))), [], {2},
                         "got class 1 with 1 sample"),
    "two-rows": (_text(_rows()[:2]), [], {2}, "labels of --data"),
    "many-classes-undeclared": (_text(_rows(y=lambda i: i % 10)), [], {2},
                                "pass --classes 10"),
    "many-classes": (_text(_rows(y=lambda i: i % 10)), ["--classes", "10", "--solver", "newton"],
                     {0, 1}, ""),
    "constant-column": (_text(_rows(a=lambda i: 4.25)), ["--solver", "newton"], {0, 1}, ""),
    "duplicated-column": (_text(_rows(b=lambda i: i % 7)), ["--solver", "newton", "--l2", "0"],
                          {0, 1}, ""),
    "huge-values": (_text(HUGE), ["--solver", "newton"], {0, 1}, ""),
    "huge-values-float32": (_text(HUGE), ["--dtype", "float32"], {2},
                            "--dtype float32: expected values that float32 can hold"),
    "huge-values-raw-newton": (_text(HUGE), ["--no-standardize", "--solver", "newton"], {0, 1},
                               ""),
    "huge-values-raw-gd": (_text(HUGE), ["--no-standardize", "--solver", "gd", "--gd-steps",
                                         "50"], {1, 2}, ""),
    "largest-floats": (_text(_rows(a=lambda i: (-1) ** i * 1.7976931348623157e308)),
                       ["--solver", "newton"], {0, 1}, ""),
    "tiny-values": (_text(_rows(a=lambda i: (i % 7) * 1e-300, b=lambda i: (i % 5) * 1e-310)),
                    ["--solver", "newton"], {0, 1}, ""),
    "separable": (_text(_rows(y=lambda i: int(i % 7 > 3))), ["--solver", "newton", "--l2", "0"],
                  {1}, "separable"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_any_csv_gives_a_result_or_a_message(name, tmp_path, capsys):
    content, extra, allowed, words = FILES[name]
    path = tmp_path / ("data.csv.gz" if "--gz" in extra else "data.csv")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    argv = ["fit", "--data", str(path), "--json", *[a for a in extra if a != "--gz"]]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code in allowed, (code, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    if code == 2:
        assert err.startswith("jaxdl fit: error: ") and out == "", err
    if code == 1:
        assert "jaxdl fit: " in err and "did not succeed: status" in err, err
    if code in (0, 1):  # a JSON report with finite coefficients or an honest status
        assert out.lstrip().startswith("{")
    assert words in err + out, (words, err[-2000:])


def test_huge_values_are_standardised_not_overflowed(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text(_text(HUGE))
    assert cli.main(["fit", "--data", str(path), "--solver", "newton", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    newton = report["solvers"]["newton"]
    assert newton["status"] == "converged" and report["standardised"]
    assert all(np.isfinite(v) for v in newton["coefficients"].values())


# ---------------------------------------------------------------------------
# A bug is a bug: exit 70, said so, never "bad argument"
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [ValueError("X: expected a 2-D array (n, d), got shape (3,)"),
                                 TypeError("unsupported operand"), KeyError("lr"),
                                 FloatingPointError("overflow")])
def test_an_exception_inside_a_fit_exits_70_as_a_bug(exc, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(logistic, "fit_newton", broken)
    monkeypatch.delenv("JAXDL_TRACEBACK", raising=False)
    assert cli.main(["fit", "--solver", "newton"]) == cli.EXIT_BUG == 70
    err = capsys.readouterr().err
    assert f"jaxdl fit: internal error: {type(exc).__name__}: " in err
    assert "This is a bug in jaxdl" in err and "not a problem with your command line" in err
    assert "error: --" not in err and "Traceback" not in err  # no flag blamed, no traceback
    assert "in broken" in err  # where it was raised


def test_a_bug_prints_its_traceback_on_request(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(logistic, "fit_newton", broken)
    monkeypatch.setenv("JAXDL_TRACEBACK", "1")
    assert cli.main(["fit", "--solver", "newton"]) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "RuntimeError: boom" in err


def test_a_refused_write_exits_74(monkeypatch, capsys, tmp_path):
    from matplotlib.figure import Figure

    def refuse(*args, **kwargs):  # the folder was checked, then the disk refused the write
        raise PermissionError(13, "Permission denied", str(tmp_path / "fit.png"))

    monkeypatch.setattr(Figure, "savefig", refuse)
    assert cli.main(["fit", "--solver", "newton", "--plot", str(tmp_path / "fit.png")]) == 74
    err = capsys.readouterr().err
    assert "jaxdl fit: error: PermissionError: " in err and "bug" not in err


# ---------------------------------------------------------------------------
# standardize: scaled first, so the sums cannot overflow nor the squares underflow
# ---------------------------------------------------------------------------


def _reference(X, scale):
    """Mean and population standard deviation by exact rational arithmetic, as floats (the
    variance is divided by ``scale**2`` before it becomes a float, so it cannot underflow)."""
    from fractions import Fraction

    means, sds = [], []
    for col in np.asarray(X, np.float64).T:
        vals = [Fraction(float(v)) for v in col]
        mean = sum(vals) / len(vals)
        var = sum((v - mean) ** 2 for v in vals) / len(vals)
        means.append(float(mean))
        sds.append(float(var / Fraction(scale) ** 2) ** 0.5 * scale)
    return np.array(means), np.array(sds)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1.0, 1e200, 1e307, 8e307])
def test_standardize_is_right_at_any_magnitude(scale):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(50, 3)) * scale
    X[:, 2] += scale  # an off-centre column (up to 2 * 8e307, near the largest float)
    Xs, mean, sd = data.standardize(jnp.asarray(X, jnp.float64))
    ref_mean, ref_sd = _reference(X, scale)
    np.testing.assert_allclose(np.asarray(mean), ref_mean, rtol=1e-12, atol=1e-14 * scale)
    np.testing.assert_allclose(np.asarray(sd), ref_sd, rtol=1e-12)
    assert np.all(np.isfinite(np.asarray(Xs)))
    np.testing.assert_allclose(np.asarray(jnp.mean(Xs, axis=0)), 0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(jnp.std(Xs, axis=0)), 1, rtol=1e-12)


def test_standardize_at_the_largest_floats():
    big = np.finfo(np.float64).max
    X = jnp.asarray([[big, 1.0], [-big, 2.0], [big, 3.0], [-big, 5.0]])
    Xs, mean, sd = data.standardize(X)
    np.testing.assert_array_equal(np.asarray(mean), [0.0, 2.75])
    np.testing.assert_allclose(np.asarray(sd), [big, np.std([1.0, 2.0, 3.0, 5.0])], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(Xs[:, 0]), [1, -1, 1, -1], rtol=1e-15)
    # the fitted transform applied to new rows: X - mean would overflow without the scaling
    new, _, _ = data.standardize(jnp.asarray([[big, 2.75], [-big, 0.0]]), mean=mean, scale=sd)
    np.testing.assert_allclose(np.asarray(new), [[1.0, 0.0], [-1.0, -2.75 / float(sd[1])]],
                               rtol=1e-15)
    const, cmean, csd = data.standardize(jnp.full((4, 1), big))  # a constant huge column
    np.testing.assert_array_equal(np.asarray(const), 0.0)
    assert float(cmean[0]) == big and float(csd[0]) == 1.0


def test_standardize_equals_the_direct_formula_where_it_does_not_overflow():
    rng = np.random.default_rng(1)
    for dtype in (jnp.float64, jnp.float32):
        for scale in (1e-3, 1.0, 7.3, 1e4, 1e10):
            X = jnp.asarray(rng.normal(size=(200, 4)) * scale + 3 * scale, dtype)
            mean = jnp.mean(X, axis=0)
            sd = jnp.sqrt(jnp.mean(jnp.square(X - mean[None, :]), axis=0))
            Xs, m, s = data.standardize(X)
            # the scaling by powers of two is exact: the same numbers, to the summation order
            eps = float(jnp.finfo(dtype).eps)
            np.testing.assert_allclose(np.asarray(m), np.asarray(mean), rtol=2 * eps)
            np.testing.assert_allclose(np.asarray(s), np.asarray(sd), rtol=2 * eps)
            direct = (X - mean[None, :]) / sd[None, :]
            np.testing.assert_allclose(np.asarray(Xs), np.asarray(direct), rtol=8 * eps,
                                       atol=8 * eps)
