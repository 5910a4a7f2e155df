"""Tests for jaxdl.data: bundled datasets, CSV loading, standardize, synthetic generators."""

import gzip
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import data

FLOAT_DTYPES = [
    jnp.float32,
    pytest.param(
        jnp.float64,
        marks=pytest.mark.skipif(not jax.config.jax_enable_x64, reason="needs jax x64"),
    ),
]


N, D, K = 2000, 5, 3  # one shape for all generator tests: each jit compiles once per dtype


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Bundled datasets
# ---------------------------------------------------------------------------


def test_breast_cancer_shape_dtype_labels():
    ds = data.load_breast_cancer()
    assert isinstance(ds, data.Dataset)
    assert ds.X.shape == (569, 30) and ds.X.dtype == np.float64
    assert ds.y.shape == (569,) and ds.y.dtype == np.int32
    assert int((ds.y == 0).sum()) == 212 and int((ds.y == 1).sum()) == 357
    assert ds.target_names == ("malignant", "benign")
    assert len(ds.feature_names) == 30 and ds.feature_names[0] == "mean radius"
    assert ds.name == "breast_cancer"
    assert np.all(np.isfinite(ds.X))


def test_digits_shape_dtype_labels():
    ds = data.load_digits()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float64
    assert ds.y.shape == (1797,) and ds.y.dtype == np.int32
    assert set(np.unique(ds.y).tolist()) == set(range(10))
    assert ds.target_names == tuple(str(c) for c in range(10))
    assert ds.feature_names[0] == "pixel_0_0" and ds.feature_names[-1] == "pixel_7_7"
    assert ds.X.min() == 0.0 and ds.X.max() == 16.0
    assert np.array_equal(ds.X, np.round(ds.X))


def test_bundled_match_sklearn_exactly():
    datasets = pytest.importorskip("sklearn.datasets")
    for ours, theirs in [
        (data.load_breast_cancer(), datasets.load_breast_cancer()),
        (data.load_digits(), datasets.load_digits()),
    ]:
        assert np.array_equal(ours.X, theirs.data)  # bitwise: same float64 values
        assert np.array_equal(ours.y, theirs.target)
        assert ours.feature_names == tuple(str(s) for s in theirs.feature_names)
    assert data.load_breast_cancer().target_names == tuple(
        str(s) for s in datasets.load_breast_cancer().target_names
    )


def test_loaders_return_fresh_arrays():
    a = data.load_breast_cancer()
    a.X[0, 0] = -1.0
    assert data.load_breast_cancer().X[0, 0] == 17.99


def test_library_does_not_import_sklearn():
    code = "import sys, jaxdl.data; sys.exit(1 if 'sklearn' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_load_by_name_and_path(tmp_path):
    assert data.load("breast_cancer").X.shape == (569, 30)
    assert data.load("digits").y.shape == (1797,)
    p = _write(tmp_path / "tiny.csv", "a,b,label\n1,2,0\n3,4,1\n")
    assert data.load(p).X.shape == (2, 2)
    assert data.load(str(p)).name == "tiny"


def test_load_unknown_name_lists_bundled():
    with pytest.raises(ValueError, match="breast_cancer, digits") as info:
        data.load("iris")
    assert "'iris'" in str(info.value)


def test_repr_is_short():
    r = repr(data.load_digits())
    assert "n=1797" in r and "d=64" in r and len(r) < 200


# ---------------------------------------------------------------------------
# load_csv
# ---------------------------------------------------------------------------


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    y = np.array([0, 2, 1, 1, 0, 2, 2])
    lines = ["f0,f1,f2,cls"] + [
        ",".join([*(repr(float(v)) for v in row), str(int(c))]) for row, c in zip(X, y, strict=True)
    ]
    p = _write(tmp_path / "mine.csv", "\n".join(lines) + "\n")
    ds = data.load_csv(p)
    assert np.array_equal(ds.X, X)  # repr() round-trips float64 exactly
    assert np.array_equal(ds.y, y) and ds.y.dtype == np.int32
    assert ds.feature_names == ("f0", "f1", "f2")
    assert ds.target_names == ("0", "1", "2")
    assert ds.name == "mine"

    # Same data, gzip-compressed.
    gz = tmp_path / "mine.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    ds_gz = data.load_csv(gz)
    assert np.array_equal(ds_gz.X, X) and np.array_equal(ds_gz.y, y) and ds_gz.name == "mine"


def test_csv_label_column_options(tmp_path):
    p = _write(tmp_path / "mid.csv", "a,label,b\n1.5,1,2\n3,0,4\n5,1.0,6\n")
    by_index = data.load_csv(p, label_column=1)
    by_name = data.load_csv(p, label_column="label")
    for ds in (by_index, by_name):
        assert ds.feature_names == ("a", "b")
        assert np.array_equal(ds.X, [[1.5, 2], [3, 4], [5, 6]])
        assert np.array_equal(ds.y, [1, 0, 1])

    q = _write(tmp_path / "nohead.txt", "1;2;0\n\n3;4;1\n")  # blank line skipped
    ds = data.load_csv(q, header=False, delimiter=";")
    assert ds.feature_names == ("x0", "x1")
    assert np.array_equal(ds.X, [[1, 2], [3, 4]]) and np.array_equal(ds.y, [0, 1])


def test_csv_labels_not_remapped(tmp_path):
    p = _write(tmp_path / "gap.csv", "a,y\n1,1\n2,2\n3,2\n")
    ds = data.load_csv(p)
    assert np.array_equal(ds.y, [1, 2, 2])  # kept as given
    assert ds.target_names == ("0", "1", "2")


def test_csv_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        data.load_csv(missing)


def test_csv_text_cell_names_row_column_and_text(tmp_path):
    p = _write(tmp_path / "bad.csv", "a,b,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError) as info:
        data.load_csv(p)
    msg = str(info.value)
    assert "bad.csv" in msg and "line 3" in msg and "'b'" in msg and "'oops'" in msg


def test_csv_line_numbers_count_blank_lines(tmp_path):
    p = _write(tmp_path / "blank.csv", "a,b,y\n\n1,2,0\n3,x,1\n")
    with pytest.raises(ValueError, match="line 4"):
        data.load_csv(p)


def test_csv_empty_cell(tmp_path):
    p = _write(tmp_path / "hole.csv", "a,b,y\n1,2,0\n3,4,1\n5,,1\n")
    with pytest.raises(ValueError, match=r"line 4, column 2 \('b'\): empty cell"):
        data.load_csv(p)


def test_csv_non_finite_cell(tmp_path):
    p = _write(tmp_path / "nan.csv", "a,y\n1,0\nnan,1\n")
    with pytest.raises(ValueError, match="finite"):
        data.load_csv(p)


@pytest.mark.parametrize("label", ["0.5", "cat", "", "-1"])
def test_csv_non_integer_label(tmp_path, label):
    p = _write(tmp_path / "lab.csv", f"a,y\n1,0\n2,{label}\n")
    with pytest.raises(ValueError, match=r"labels must be integers \(class ids") as info:
        data.load_csv(p)
    assert "line 3" in str(info.value)
    if label:
        assert repr(label) in str(info.value)


def test_csv_too_few_rows_or_columns(tmp_path):
    one_row = _write(tmp_path / "one.csv", "a,y\n1,0\n")
    with pytest.raises(ValueError, match="at least 2 data rows"):
        data.load_csv(one_row)
    only_label = _write(tmp_path / "lab.csv", "y\n0\n1\n")
    with pytest.raises(ValueError, match="feature column"):
        data.load_csv(only_label)
    empty = _write(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match="empty"):
        data.load_csv(empty)


def test_csv_ragged_row(tmp_path):
    p = _write(tmp_path / "ragged.csv", "a,b,y\n1,2,0\n3,1\n")
    with pytest.raises(ValueError, match="line 3 has 2 fields, expected 3"):
        data.load_csv(p)


def test_csv_bad_label_column(tmp_path):
    p = _write(tmp_path / "t.csv", "a,y\n1,0\n2,1\n")
    with pytest.raises(ValueError, match="label_column"):
        data.load_csv(p, label_column=5)
    with pytest.raises(ValueError, match="label_column"):
        data.load_csv(p, label_column="nope")


def test_csv_header_of_numbers_is_an_error(tmp_path):
    # Without header=False, a first row of numbers would be read as column names and lost.
    p = _write(tmp_path / "bare.csv", "1,2,0\n3,4,1\n5,6,1\n")
    with pytest.raises(ValueError, match=r"^header: expected line 1 of .*bare\.csv to hold "
                       r"column names, got a row of numbers \('1', '2', '0'\); if the file "
                       r"has no header row, pass header=False$"):
        data.load_csv(p)
    ds = data.load_csv(p, header=False)
    assert ds.X.shape == (3, 2) and np.array_equal(ds.y, [0, 1, 1])
    # A header with some numeric names is still a header.
    q = _write(tmp_path / "years.csv", "2019,2020,label\n1,2,0\n3,4,1\n")
    assert data.load_csv(q).feature_names == ("2019", "2020")


def test_csv_header_with_a_repeated_name(tmp_path):
    p = _write(tmp_path / "dup.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(ValueError, match=r"^header: expected distinct column names in .*dup"
                       r"\.csv, got 'a' in columns 1 and 3$"):
        data.load_csv(p)


def test_csv_no_header_on_a_file_with_one_hints_header_true(tmp_path):
    p = _write(tmp_path / "head.csv", "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match=r"line 1, column 1: expected a number, got 'a'; if "
                       r"line 1 holds column names, pass header=True$"):
        data.load_csv(p, header=False)
    # A bad cell further down gets no such hint.
    q = _write(tmp_path / "late.csv", "1,2,0\n3,x,1\n")
    with pytest.raises(ValueError, match=r"line 2, column 2: expected a number, got 'x'$"):
        data.load_csv(q, header=False)


@pytest.mark.parametrize("delimiter", [";;", "", "\n", '"'])
def test_csv_delimiter_must_be_one_character(tmp_path, delimiter):
    p = _write(tmp_path / "t.csv", "a,y\n1,0\n2,1\n")
    with pytest.raises(ValueError, match=r"^delimiter: expected one character other than a "
                       r"quote or newline, got "):
        data.load_csv(p, delimiter=delimiter)


def test_csv_header_must_be_a_bool(tmp_path):
    p = _write(tmp_path / "t.csv", "a,y\n1,0\n2,1\n")
    with pytest.raises(TypeError, match=r"^header: expected True or False, got 'no'$"):
        data.load_csv(p, header="no")


def test_load_passes_csv_options_and_refuses_them_for_bundled(tmp_path):
    p = _write(tmp_path / "semi.csv", "y;a;b\n0;1;2\n1;3;4\n")
    ds = data.load(p, label_column="y", delimiter=";")
    assert ds.feature_names == ("a", "b") and np.array_equal(ds.y, [0, 1])
    q = _write(tmp_path / "bare.csv", "1,2,0\n3,4,1\n")
    assert data.load(q, header=False).X.shape == (2, 2)
    with pytest.raises(ValueError, match=r"^label_column, delimiter: expected no CSV option for "
                       r"the bundled data set 'digits'"):
        data.load("digits", label_column=0, delimiter=";")


# ---------------------------------------------------------------------------
# check_classes
# ---------------------------------------------------------------------------


def test_check_classes_counts():
    assert data.check_classes(data.load_breast_cancer().y, min_per_class=2) == 2
    assert data.check_classes(data.load_digits().y, num_classes=10, min_per_class=2) == 10
    assert data.check_classes(np.array([1, 0, 2, 2])) == 3
    assert data.check_classes(jnp.asarray([0, 1, 1]), num_classes=2) == 2


@pytest.mark.parametrize(("y", "kwargs", "pattern"), [
    ([0, 2, 2, 0], {}, r"^y: expected at least 1 sample in each of the 3 classes 0\.\.2, got "
     r"class 1 with 0 samples \(counts per class: 0: 2, 1: 0, 2: 2\); labels are class ids "
     r"0\.\.K-1, so remap them to leave no gap$"),
    ([0, 1, 1, 1], {"min_per_class": 2}, r"^y: expected at least 2 samples in each of the 2 "
     r"classes 0\.\.1, got class 0 with 1 sample \(counts per class: 0: 1, 1: 3\)$"),
    ([0, 1, 0, 1], {"num_classes": 4}, r"^y: expected at least 1 sample in each of the 4 "
     r"classes 0\.\.3, got class 2 with 0 samples \(and 1 more such classes\)"),
    ([0, 1, 2, 1], {"num_classes": 2}, r"^num_classes: expected more classes than the largest "
     r"label 2 \(labels are class ids 0\.\.K-1\), got num_classes=2; pass num_classes=3$"),
    ([0, 0, 0], {}, r"^y: expected at least 2 classes, got only class 0 \(all 3 labels are "
     r"0\)$"),
    ([0, -1, 1], {}, r"^y: expected non-negative integer class ids, got 1 other value"),
    ([0, 0.5, 1], {}, r"^y: expected non-negative integer class ids"),
    ([[0, 1]], {}, r"^y: expected a non-empty 1-D array of class ids, got shape \(1, 2\)$"),
    ([], {}, r"^y: expected a non-empty 1-D array of class ids, got shape \(0,\)$"),
    ([0, 1], {"num_classes": 1}, r"^num_classes: expected"),
    ([0, 1], {"min_per_class": 0}, r"^min_per_class: expected"),
])
def test_check_classes_errors(y, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.check_classes(np.asarray(y), **kwargs)


# ---------------------------------------------------------------------------
# standardize
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("as_jax", [False, True])
def test_standardize_zero_mean_unit_variance(as_jax):
    X = data.load_breast_cancer().X
    Xs, mean, scale = data.standardize(jnp.asarray(X) if as_jax else X)
    assert isinstance(Xs, jax.Array) and Xs.shape == X.shape
    np.testing.assert_allclose(np.mean(Xs, axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.std(Xs, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scale, X.std(axis=0), rtol=1e-5)


def test_standardize_zero_variance_column_is_finite():
    X = np.array([[1.0, 3.0, 0.0], [2.0, 3.0, 0.0], [4.0, 3.0, 0.0]])
    Xs, _, scale = data.standardize(X)
    assert bool(jnp.all(jnp.isfinite(Xs)))
    assert float(scale[1]) == 1.0 and float(scale[2]) == 1.0
    np.testing.assert_allclose(Xs[:, 1:], 0.0, atol=1e-6)
    # digits has all-zero pixel columns
    Xd, _, sd = data.standardize(data.load_digits().X)
    assert bool(jnp.all(jnp.isfinite(Xd))) and int(jnp.sum(sd == 1.0)) >= 1


def test_standardize_reuses_fitted_transform():
    X = data.load_breast_cancer().X
    train, test = X[:400], X[400:]
    _, mean, scale = data.standardize(train)
    Xt, mean2, scale2 = data.standardize(test, mean=mean, scale=scale)
    np.testing.assert_allclose(Xt, (test - np.asarray(mean)) / np.asarray(scale), rtol=1e-6)
    assert np.array_equal(mean2, mean) and np.array_equal(scale2, scale)
    with pytest.raises(ValueError, match="both"):
        data.standardize(test, mean=mean)
    with pytest.raises(ValueError, match="shape"):
        data.standardize(test, mean=mean[:3], scale=scale[:3])


# ---------------------------------------------------------------------------
# Synthetic generators
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_separable_is_strictly_separable(dtype):
    X, y, w, b = data.make_separable(jax.random.key(1), N, D, margin=0.5, dtype=dtype)
    assert X.shape == (N, D) and y.shape == (N,) and w.shape == (D,) and b.shape == ()
    assert X.dtype == y.dtype == w.dtype == b.dtype == jnp.dtype(dtype)
    assert set(np.unique(np.asarray(y)).tolist()) == {0.0, 1.0}
    margin = np.asarray(X @ w + b, dtype=np.float64)
    assert np.array_equal(np.asarray(y) == 1.0, margin > 0)
    assert np.min(np.abs(margin)) > 0
    assert np.min(np.abs(margin)) >= 0.5 - 1e-4  # the requested margin (||w_true|| = 1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logistic_labels_are_noisy(dtype):
    X, y, w, b = data.make_logistic(jax.random.key(2), N, D, dtype=dtype)
    assert X.shape == (N, D) and y.shape == (N,) and w.shape == (D,) and b.shape == ()
    assert X.dtype == y.dtype == w.dtype == b.dtype == jnp.dtype(dtype)
    assert set(np.unique(np.asarray(y)).tolist()) == {0.0, 1.0}
    agree = np.mean((np.asarray(X @ w + b) > 0) == (np.asarray(y) == 1.0))
    assert 0.55 < agree < 1.0  # informative, but not perfectly predicted by w_true


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_multiclass_shapes_and_labels(dtype):
    X, y = data.make_multiclass(jax.random.key(3), N, D, K, dtype=dtype)
    assert X.shape == (N, D) and X.dtype == jnp.dtype(dtype)
    assert y.shape == (N,) and y.dtype == jnp.int32
    assert set(np.unique(np.asarray(y)).tolist()) == {0, 1, 2}


def test_generators_are_deterministic():
    key = jax.random.key(7)
    for make in (
        lambda k: data.make_logistic(k, N, D),
        lambda k: data.make_separable(k, N, D),
        lambda k: data.make_multiclass(k, N, D, K),
    ):
        first, second = make(key), make(key)
        for a, b in zip(first, second, strict=True):
            assert np.array_equal(np.asarray(a), np.asarray(b))  # bitwise identical
        other = make(jax.random.key(8))
        assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0]))


def test_generator_argument_validation():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"^n: expected an int >= 1, got 0$"):
        data.make_logistic(key, 0, 3)
    with pytest.raises(ValueError, match=r"^d: expected an int >= 1, got 0$"):
        data.make_separable(key, 10, 0)
    with pytest.raises(ValueError, match=r"^k: expected an int >= 2, got 1$"):
        data.make_multiclass(key, 10, 3, 1)
    with pytest.raises(TypeError, match=r"^n: expected an int >= 1, got float$"):
        data.make_multiclass(key, 2.5, 3, 2)
    with pytest.raises(ValueError, match="^margin: expected a finite number > 0, got 0"):
        data.make_separable(key, 10, 2, margin=0.0)
    with pytest.raises(TypeError, match="^dtype: expected a floating dtype"):
        data.make_logistic(key, 10, 2, dtype=jnp.int32)


def test_train_test_split():
    ds = data.load_breast_cancer()
    Xtr, ytr, Xte, yte = data.train_test_split(jax.random.key(0), ds.X, ds.y, test_fraction=0.25)
    assert Xte.shape == (142, 30) and Xtr.shape == (427, 30)
    assert sorted(np.concatenate([ytr, yte]).tolist()) == sorted(ds.y.tolist())
    again = data.train_test_split(jax.random.key(0), ds.X, ds.y, test_fraction=0.25)
    np.testing.assert_array_equal(again[2], Xte)
    with pytest.raises(ValueError, match="test_fraction: expected a finite number > 0 and < 1"):
        data.train_test_split(jax.random.key(0), ds.X, ds.y, test_fraction=1.0)
