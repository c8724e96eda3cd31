"""Tests for kerastune_kit.datasets (real bundled data, tiny fake Keras cache files)."""

from __future__ import annotations

import gzip
import pickle
import struct
import subprocess
import sys
import tarfile

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from kerastune_kit.datasets import (
    load_cifar10,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_penguins,
    make_preprocessor,
    train_val_test_split,
)

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


# --------------------------------------------------------------------- penguins
def test_penguins_frame_shape_columns_and_missing_values():
    bunch = load_penguins()
    X = bunch.data
    assert isinstance(X, pd.DataFrame) and X.shape == (344, 6)
    assert list(X.columns) == bunch.feature_names
    assert set(X.columns) == {"island", "sex", *NUMERIC}
    assert "year" not in X.columns and "species" not in X.columns
    missing = X.isna().sum()
    assert missing["sex"] == 11 and missing["island"] == 0
    assert all(missing[c] == 2 for c in NUMERIC)
    assert X["island"].dtype == object and X["sex"].dtype == object
    assert all(pd.api.types.is_float_dtype(X[c]) for c in NUMERIC)
    assert set(X["sex"].dropna()) == {"female", "male"}


def test_penguins_bunch_fields():
    bunch = load_penguins()
    assert list(bunch.target_names) == ["Adelie", "Chinstrap", "Gentoo"]
    assert bunch.target.value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124,
                                                     "Chinstrap": 68}
    assert bunch.numeric_features == NUMERIC
    assert bunch.categorical_features == ["island", "sex"]
    assert bunch.frame.shape == (344, 7)
    assert bunch.frame["species"].equals(bunch.target)
    assert bunch.frame[bunch.feature_names].equals(bunch.data)
    for word in ("Horst", "palmerpenguins", "CC0", "344", "year"):
        assert word in bunch.DESCR


def test_penguins_as_numpy_and_return_X_y():
    bunch = load_penguins(as_frame=False)
    assert isinstance(bunch.data, np.ndarray) and bunch.data.dtype == object
    assert bunch.data.shape == (344, 6) and bunch.frame is None
    assert isinstance(bunch.target, np.ndarray) and bunch.target.shape == (344,)
    assert int(pd.isna(bunch.data).sum()) == 2 * 4 + 11
    X, y = load_penguins(return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert X.equals(load_penguins().data)
    Xa, ya = load_penguins(return_X_y=True, as_frame=False)
    assert isinstance(Xa, np.ndarray) and list(ya[:3]) == list(y[:3])


# ----------------------------------------------------------------- preprocessor
def test_preprocessor_in_pipeline_is_accurate_and_fitted_on_training_rows_only():
    X, y = load_penguins(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    assert (len(X_tr), len(X_te)) == (275, 69)
    model = make_pipeline(make_preprocessor(NUMERIC, ["island", "sex"]),
                          LogisticRegression(max_iter=1000))
    model.fit(X_tr, y_tr)
    assert accuracy_score(y_te, model.predict(X_te)) >= 0.95

    ct = model[0]
    onehot = ct.named_transformers_["cat"].named_steps["onehot"]
    assert [list(c) for c in onehot.categories_] == [["Biscoe", "Dream", "Torgersen"],
                                                     ["female", "male"]]
    names = list(ct.get_feature_names_out())
    assert len(names) == 4 + 3 + 2 and "cat__island_Dream" in names and "cat__sex_male" in names
    assert ct.transform(X_te).shape == (69, 9)
    assert not np.isnan(ct.transform(X).astype(float)).any()

    scaler = ct.named_transformers_["num"].named_steps["scale"]
    imputer = ct.named_transformers_["num"].named_steps["impute"]
    train_min, full_min = X_tr[NUMERIC].min().to_numpy(), X[NUMERIC].min().to_numpy()
    np.testing.assert_allclose(scaler.data_min_, train_min)
    np.testing.assert_allclose(imputer.statistics_, X_tr[NUMERIC].median().to_numpy())
    assert (train_min != full_min).any(), "choose a split where fold and full minima differ"


def test_preprocessor_selects_columns_by_dtype_on_any_dataframe():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "c": ["x", None, "y", "x"],
                       "n": [10, 20, 30, 40]})
    ct = make_preprocessor()
    out = ct.fit_transform(df)
    assert list(ct.get_feature_names_out()) == ["num__a", "num__n", "cat__c_x", "cat__c_y"]
    assert out.shape == (4, 4)
    assert out[:, :2].min() == 0.0 and out[:, :2].max() == 1.0
    np.testing.assert_array_equal(out[:, 2:], [[1, 0], [1, 0], [0, 1], [1, 0]])
    assert out[1, 0] == pytest.approx(0.5)  # median of 1, 3, 5 scaled


def test_preprocessor_standard_scaler_and_one_sided_lists():
    X, _ = load_penguins(return_X_y=True)
    out = make_preprocessor(NUMERIC, scaler="standard", numeric_imputer="mean").fit_transform(X)
    assert out.shape == (344, 4)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=0.02)
    assert make_preprocessor(categorical_features=["island"]).fit_transform(X).shape == (344, 3)


def test_preprocessor_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"scaler='robust'.*minmax"):
        make_preprocessor(scaler="robust")
    with pytest.raises(ValueError, match="Did you mean 'standard'"):
        make_preprocessor(scaler="standrd")
    with pytest.raises(ValueError, match="numeric_imputer='constant'"):
        make_preprocessor(numeric_imputer="constant")
    with pytest.raises(TypeError, match=r"numeric_features='body_mass_g'.*\['body_mass_g'\]"):
        make_preprocessor("body_mass_g")


# ----------------------------------------------------------------------- digits
def test_digits_scaled_to_unit_range_and_shapes():
    bunch = load_digits()
    assert bunch.data.shape == (1797, 64) and bunch.target.shape == (1797,)
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert list(bunch.target_names) == list(range(10)) and "[0, 1]" in bunch.DESCR
    from sklearn.datasets import load_digits as sk_digits

    np.testing.assert_allclose(bunch.data * 16, sk_digits().data)
    X, y = load_digits(return_X_y=True, images=True)
    assert X.shape == (1797, 8, 8) and X.max() == 1.0
    np.testing.assert_allclose(X.reshape(1797, 64), bunch.data)
    Xf, yf = load_digits(return_X_y=True, as_frame=True)
    assert isinstance(Xf, pd.DataFrame) and Xf.shape == (1797, 64) and isinstance(yf, pd.Series)
    with pytest.raises(ValueError, match="images=True"):
        load_digits(images=True, as_frame=True)


# ------------------------------------------------------------ keras-cache loaders
@pytest.mark.parametrize("loader, expected, subdir", [
    (load_mnist, "mnist.npz", ""),
    (load_fashion_mnist, "train-images-idx3-ubyte.gz", "fashion-mnist"),
    (load_cifar10, "cifar-10-batches-py.tar.gz", ""),
])
def test_keras_loaders_offline_error_says_what_and_where(tmp_path, loader, expected, subdir):
    with pytest.raises(FileNotFoundError) as info:
        loader(cache_dir=tmp_path)
    message = str(info.value)
    assert expected in message
    assert f"'{tmp_path.resolve() / subdir if subdir else tmp_path.resolve()}'" in message
    assert "https://" in message and "download=True" in message
    assert not any(tmp_path.iterdir())  # nothing was created or downloaded


def test_default_cache_dir_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist()
    assert str(tmp_path.resolve() / "datasets") in str(info.value)


def test_import_does_not_pull_in_keras():
    code = ("import sys, kerastune_kit.datasets as d; d.load_penguins(); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mnist_from_fake_cache_file(tmp_path):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    x_train[0, 0, 0], x_train[0, 0, 1] = 0, 255
    x_test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=np.arange(5, dtype=np.uint8),
             x_test=x_test, y_test=np.array([7, 8, 9], dtype=np.uint8))
    bunch = load_mnist(cache_dir=tmp_path)
    assert bunch.X_train.shape == (5, 28, 28) and bunch.X_test.shape == (3, 28, 28)
    assert bunch.X_train.dtype == np.float32
    assert bunch.X_train.min() == 0.0 and bunch.X_train.max() == 1.0
    np.testing.assert_allclose(bunch.X_test, x_test / 255.0, rtol=1e-6)
    assert list(bunch.y_train) == [0, 1, 2, 3, 4] and list(bunch.y_test) == [7, 8, 9]
    assert len(bunch.target_names) == 10 and "MNIST" in bunch.DESCR
    X_tr, y_tr, X_te, y_te = load_mnist(cache_dir=str(tmp_path), return_X_y=True)
    np.testing.assert_array_equal(X_tr, bunch.X_train)
    np.savez(tmp_path / "mnist.npz", x_train=x_train)
    with pytest.raises(ValueError, match="y_train"):
        load_mnist(cache_dir=tmp_path)


def _idx_gz(path, array):
    header = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def test_fashion_mnist_from_fake_idx_files(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    x_train = np.arange(4 * 28 * 28, dtype=np.uint64).reshape(4, 28, 28).astype(np.uint8)
    _idx_gz(folder / "train-images-idx3-ubyte.gz", x_train)
    _idx_gz(folder / "train-labels-idx1-ubyte.gz", np.array([9, 0, 1, 2], dtype=np.uint8))
    _idx_gz(folder / "t10k-images-idx3-ubyte.gz", np.full((2, 28, 28), 51, dtype=np.uint8))
    _idx_gz(folder / "t10k-labels-idx1-ubyte.gz", np.array([3, 4], dtype=np.uint8))
    X_tr, y_tr, X_te, y_te = load_fashion_mnist(cache_dir=tmp_path, return_X_y=True)
    np.testing.assert_allclose(X_tr, x_train / 255.0, rtol=1e-6)
    assert list(y_tr) == [9, 0, 1, 2] and list(y_te) == [3, 4]
    assert X_te.shape == (2, 28, 28) and np.allclose(X_te, 0.2)
    assert load_fashion_mnist(cache_dir=tmp_path).target_names[9] == "Ankle boot"


def _cifar_batch_bytes(n, label, protocol):
    data = np.concatenate([np.full((n, 1024), v, np.uint8) for v in (0, 102, 255)], axis=1)
    return pickle.dumps({b"data": data, b"labels": [label] * n, b"batch_label": b"fake"},
                        protocol=protocol)


@pytest.mark.parametrize("layout, protocol", [("folder", 2), ("archive", 5)])
def test_cifar10_from_fake_batches(tmp_path, layout, protocol):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    src = tmp_path / "src" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    for i, name in enumerate(names):
        (src / name).write_bytes(_cifar_batch_bytes(2, i, protocol))
    cache = tmp_path / "cache"
    cache.mkdir()
    if layout == "folder":
        src.rename(cache / "cifar-10-batches-py")
    else:
        with tarfile.open(cache / "cifar-10-batches-py.tar.gz", "w:gz") as tar:
            tar.add(src, arcname="cifar-10-batches-py")
    bunch = load_cifar10(cache_dir=cache)
    assert bunch.X_train.shape == (10, 32, 32, 3) and bunch.X_test.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(bunch.X_train[3, 5, 7], [0.0, 0.4, 1.0])  # channels last
    assert list(bunch.y_train) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and list(bunch.y_test) == [5, 5]
    assert bunch.target_names[0] == "airplane" and bunch.target_names[9] == "truck"


def test_cifar10_refuses_pickles_with_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": sys.exit}))
    with pytest.raises(pickle.UnpicklingError, match="sys.exit"):
        load_cifar10(cache_dir=tmp_path)


# -------------------------------------------------------------------- splitting
def test_split_sizes_types_and_disjoint_parts():
    X, y = load_penguins(return_X_y=True)
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, random_state=0)
    assert (len(X_tr), len(X_va), len(X_te)) == (206, 69, 69)
    assert isinstance(X_va, pd.DataFrame) and isinstance(y_te, pd.Series)
    idx = [set(p.index) for p in (X_tr, X_va, X_te)]
    assert not (idx[0] & idx[1] or idx[0] & idx[2] or idx[1] & idx[2])
    assert set.union(*idx) == set(X.index)
    assert all(list(a.index) == list(b.index) for a, b in ((X_tr, y_tr), (X_va, y_va), (X_te, y_te)))


def test_split_is_stratified_and_test_part_matches_train_test_split():
    X, y = load_penguins(return_X_y=True)
    parts = train_val_test_split(X, y, random_state=42)
    overall = y.value_counts(normalize=True)
    for part in parts[3:]:
        share = part.value_counts(normalize=True).reindex(overall.index)
        assert (share - overall).abs().max() < 0.02
    _, X_te, _, _ = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    assert list(parts[2].index) == list(X_te.index)


def test_split_reproducible_with_random_state_and_works_on_arrays():
    X, y = load_digits(return_X_y=True)
    a = train_val_test_split(X, y, val_size=0.1, test_size=0.3, random_state=7)
    b = train_val_test_split(X, y, val_size=0.1, test_size=0.3, random_state=7)
    c = train_val_test_split(X, y, val_size=0.1, test_size=0.3, random_state=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert [len(p) for p in a[:3]] == [1797 - 180 - 540, 180, 540]
    assert isinstance(a[0], np.ndarray) and a[0].shape[1] == 64
    # unstratified split also works on a continuous target given as a list
    parts = train_val_test_split(list(range(10)), [0.5 * i for i in range(10)],
                                 stratify=False, random_state=0)
    assert [len(p) for p in parts] == [6, 2, 2, 6, 2, 2]


def test_split_with_no_validation_part():
    X, y = load_penguins(return_X_y=True)
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, val_size=0, random_state=1)
    assert X_va.shape == (0, 6) and list(X_va.columns) == list(X.columns) and len(y_va) == 0
    assert (len(X_tr), len(X_te)) == (275, 69)


@pytest.mark.parametrize("kwargs, param", [
    ({"val_size": 0.6, "test_size": 0.5}, "val_size=0.6"),
    ({"val_size": 1.0}, "val_size=1.0"),
    ({"test_size": -0.1}, "test_size=-0.1"),
])
def test_split_rejects_bad_sizes(kwargs, param):
    X, y = load_penguins(return_X_y=True)
    with pytest.raises(ValueError, match=param):
        train_val_test_split(X, y, **kwargs)
