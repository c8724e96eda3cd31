"""Offline data sets, a leakage-safe preprocessor and a three-way split.

Only numpy, pandas and scikit-learn are imported here. Keras is imported
lazily, and only when ``download=True`` has to fetch a missing file.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import tarfile
from importlib.resources import files
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as _skdatasets
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.utils import Bunch

from ._validation import check_choice, check_number

__all__ = ["load_penguins", "load_digits", "load_mnist", "load_fashion_mnist", "load_cifar10",
           "make_preprocessor", "resolve_preprocessor", "train_val_test_split"]

_NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
_CATEGORICAL = ["island", "sex"]
_FEATURES = ["island", *_NUMERIC, "sex"]
_PENGUINS_DESCR = """Palmer penguins (Horst, Hill & Gorman 2020; R package palmerpenguins).
Data license: CC0. 344 penguins (Adelie, Chinstrap, Gentoo) from three islands
in the Palmer Archipelago, Antarctica, 2007-2009. Features: island, bill length
and depth, flipper length, body mass, sex. Missing values are kept as NaN: 2 rows
lack all measurements and sex has 11 missing values; impute them inside a Pipeline.
The column ``year`` (survey year) is dropped: it describes the study, not the bird."""

_KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_FASHION_FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                  "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
_FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_CIFAR_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_CIFAR_NAMES = "airplane automobile bird cat deer dog frog horse ship truck".split()
_CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
# Keras 3 extracts into 'cifar-10-batches-py-target/'; older tf.keras into the folder itself.
_CIFAR_DIRS = ["cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py"]
_CIFAR_ARCHIVES = ["cifar-10-batches-py.tar.gz", "cifar-10-python.tar.gz",
                   "cifar-10-batches-py-target_archive"]


def load_penguins(*, return_X_y: bool = False, as_frame: bool = True) -> Any:
    """Load the bundled Palmer penguins data (344 rows, 3 species).

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default True
        pandas objects; False gives numpy arrays (``data`` of object dtype).

    Returns
    -------
    sklearn.utils.Bunch or tuple
        ``data`` (6 raw features with NaN kept; ``island``/``sex`` of object
        dtype; ``year`` is not a feature), ``target`` (species), ``frame``
        (features + species, or None), ``feature_names``, ``target_names``,
        ``numeric_features``, ``categorical_features``, ``DESCR``. The workflow's
        split, ``train_test_split(X, y, test_size=0.2, stratify=y,
        random_state=42)``, gives 275 training and 69 test rows.

    Examples
    --------
    >>> X, y = load_penguins(return_X_y=True)
    >>> X.shape, sorted(y.unique())
    ((344, 6), ['Adelie', 'Chinstrap', 'Gentoo'])
    """
    with (files("kerastune_kit") / "data" / "penguins.csv").open("rb") as fh:
        df = pd.read_csv(fh, na_values=["NA"], keep_default_na=False)
    # pandas 3 reads text as the 'str' dtype; plain object columns with NaN
    # behave the same under every pandas/sklearn version we support.
    for col in [*_CATEGORICAL, "species"]:
        df[col] = df[col].astype(object)
    frame = df[[*_FEATURES, "species"]]
    X, y = frame[_FEATURES], frame["species"]
    if not as_frame:
        X, y = X.to_numpy(dtype=object), y.to_numpy(dtype=object)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, frame=frame if as_frame else None,
                 feature_names=list(_FEATURES), target_names=np.array(sorted(set(y))),
                 numeric_features=list(_NUMERIC), categorical_features=list(_CATEGORICAL),
                 DESCR=_PENGUINS_DESCR)


def _column_list(param: str, value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (Sequence, pd.Index, np.ndarray)):
        raise TypeError(f"{param}={value!r} must be a list of column names; "
                        f"wrap a single name in a list, e.g. {param}=[{value!r}].")
    return list(value)


def resolve_preprocessor(preprocessor, X):
    """``preprocessor`` itself, or for ``"auto"`` what the data needs: ``(preprocessor, note)``.

    ``"auto"`` gives :func:`make_preprocessor` (impute and scale numbers,
    impute and one-hot encode categories) when ``X`` is a DataFrame with a
    non-numeric column or a missing value, and None (no preprocessing) for
    data that is already all numbers. ``note`` says what was chosen and why,
    for the output (None when the caller chose).

    Examples
    --------
    >>> X, y = load_penguins(return_X_y=True)
    >>> chosen, note = resolve_preprocessor("auto", X)
    >>> type(chosen).__name__, note.split(":")[0]
    ('ColumnTransformer', 'preprocessing: make_preprocessor()')
    """
    if not (isinstance(preprocessor, str) and preprocessor == "auto"):
        return preprocessor, None
    if isinstance(X, pd.DataFrame):
        text = [str(c) for c, dt in X.dtypes.items() if not pd.api.types.is_numeric_dtype(dt)]
        missing = [str(c) for c in X.columns[X.isna().any().to_numpy()]]
        if text or missing:
            why = "; ".join(part for part in (
                f"non-numeric column(s) {text}" if text else "",
                f"missing values in {missing}" if missing else "") if part)
            return make_preprocessor(), (
                f"preprocessing: make_preprocessor() (impute + min-max scale numbers, impute + "
                f"one-hot categories; fitted on training folds only), chosen because X has "
                f"{why}")
    return None, "preprocessing: none (X is all numbers, no missing values)"


def make_preprocessor(numeric_features: Sequence[str] | None = None,
                      categorical_features: Sequence[str] | None = None, *,
                      scaler: str = "minmax", numeric_imputer: str = "median",
                      ) -> ColumnTransformer:
    """Build an unfitted preprocessor for mixed numeric/categorical tables.

    Numeric columns are imputed (``numeric_imputer``) then scaled; categorical
    columns are imputed with the most frequent value then one-hot encoded
    (unknown categories are ignored). Put it first in a ``Pipeline`` so that
    it is fitted on the training folds only and never sees validation or test rows.

    Parameters
    ----------
    numeric_features, categorical_features : list of str or None
        Columns of each kind. Both None: chosen by dtype (numbers vs the rest);
        only one given: the other kind has no columns.
    scaler : {"minmax", "standard"}, default "minmax"
        ``MinMaxScaler`` (range [0, 1]) or ``StandardScaler``.
    numeric_imputer : {"median", "mean", "most_frequent"}, default "median"
        ``SimpleImputer`` strategy for numeric columns.

    Returns
    -------
    sklearn.compose.ColumnTransformer

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_penguins(return_X_y=True)
    >>> model = make_pipeline(make_preprocessor(), LogisticRegression()).fit(X, y)
    >>> model[0].transform(X).shape
    (344, 9)
    """
    scaler = check_choice("scaler", scaler, ["minmax", "standard"], what="scaler")
    numeric_imputer = check_choice("numeric_imputer", numeric_imputer,
                                   ["mean", "median", "most_frequent"],
                                   what="imputation strategy")
    if numeric_features is None and categorical_features is None:
        num_cols: Any = make_column_selector(dtype_include="number")
        cat_cols: Any = make_column_selector(dtype_exclude="number")
    else:
        num_cols = _column_list("numeric_features", numeric_features)
        cat_cols = _column_list("categorical_features", categorical_features)
    numeric = Pipeline([("impute", SimpleImputer(strategy=numeric_imputer)),
                        ("scale", MinMaxScaler() if scaler == "minmax" else StandardScaler())])
    categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                            ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                     sparse_output=False))])
    return ColumnTransformer([("num", numeric, num_cols), ("cat", categorical, cat_cols)])


def load_digits(*, return_X_y: bool = False, as_frame: bool = False,
                images: bool = False) -> Any:
    """Load scikit-learn's bundled 8x8 handwritten digits (1797 images, offline).

    Pixel values (0-16 in the original) are divided by 16, so they lie in [0, 1].

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default False
        DataFrame with 64 pixel columns and a Series target.
    images : bool, default False
        ``data`` of shape ``(n, 8, 8)`` instead of ``(n, 64)``; not with ``as_frame``.

    Returns
    -------
    sklearn.utils.Bunch or tuple
        ``data``, ``target`` (0-9), ``target_names``, ``feature_names``, ``DESCR``.

    Examples
    --------
    >>> X, y = load_digits(return_X_y=True, images=True)
    >>> X.shape, float(X.max())
    ((1797, 8, 8), 1.0)
    """
    if images and as_frame:
        raise ValueError("images=True cannot be combined with as_frame=True (a table "
                         "is 2-D); set as_frame=False to get (n, 8, 8) arrays.")
    raw = _skdatasets.load_digits()
    X: Any = (raw.images if images else raw.data).astype(np.float64) / 16.0
    y: Any = raw.target
    if as_frame:
        X = pd.DataFrame(X, columns=raw.feature_names)
        y = pd.Series(y, name="target")
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, target_names=raw.target_names,
                 feature_names=list(raw.feature_names),
                 DESCR="Scikit-learn 8x8 digits, pixel values scaled to [0, 1].\n\n" + raw.DESCR)


def _cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(f"cache_dir={cache_dir!r} must be a folder path (str or "
                            "pathlib.Path) or None for the Keras cache.")
        return Path(cache_dir).expanduser().resolve()
    home = os.environ.get("KERAS_HOME")
    if home is None:  # same rule as keras/src/backend/config.py
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home).expanduser().resolve() / "datasets"


def _missing(name: str, expected: str, folder: Path, url: str, func: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{name} is not available offline: expected {expected} in directory '{folder}'. "
        f"Keras downloads it from {url}. Place the file(s) there (or pass cache_dir= "
        f"pointing at the folder that holds them), or call {func}(download=True) to "
        "fetch it with keras.utils.get_file when a network is available.")


def _get_file(fname: str, url: str, folder: Path, **kwargs: Any) -> str:
    from keras.utils import get_file  # lazy: importing Keras is slow

    # An absolute cache_subdir is used as-is by get_file.
    return get_file(fname=fname, origin=url, cache_subdir=str(folder), **kwargs)


def _image_bunch(name: str, arrays: Sequence[np.ndarray], names: Sequence[str],
                 source: Path, return_X_y: bool) -> Any:
    x_tr, x_te = (np.asarray(x, dtype=np.float32) / np.float32(255) for x in arrays[::2])
    y_tr, y_te = (np.asarray(y).reshape(-1).astype(np.int64) for y in arrays[1::2])
    if return_X_y:
        return x_tr, y_tr, x_te, y_te
    descr = (f"{name}: {len(x_tr)} training and {len(x_te)} test images of shape "
             f"{x_tr.shape[1:]}, float32 scaled to [0, 1]; labels 0-9. Read from {source}.")
    return Bunch(X_train=x_tr, y_train=y_tr, X_test=x_te, y_test=y_te,
                 target_names=np.array(names), DESCR=descr)


def load_mnist(*, cache_dir: str | os.PathLike | None = None, download: bool = False,
               return_X_y: bool = False) -> Any:
    """Load MNIST (70 000 28x28 digits) from the Keras cache file ``mnist.npz``.

    Parameters
    ----------
    cache_dir : path or None
        Folder holding ``mnist.npz``; default ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``.
    download : bool, default False
        Fetch a missing file with ``keras.utils.get_file``; otherwise raise
        ``FileNotFoundError`` saying where to put it.
    return_X_y : bool, default False
        Return ``(X_train, y_train, X_test, y_test)``.

    Returns
    -------
    sklearn.utils.Bunch or tuple
        ``X_train`` (n, 28, 28) float32 in [0, 1], ``y_train``, ``X_test``,
        ``y_test`` (1-D int64), ``target_names``, ``DESCR``.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_mnist(return_X_y=True)  # doctest: +SKIP
    """
    folder = _cache_dir(cache_dir)
    path = folder / "mnist.npz"
    if not path.is_file():
        if not download:
            raise _missing("MNIST", "the file 'mnist.npz'", folder,
                           _KERAS_URL + "mnist.npz", "load_mnist")
        path = Path(_get_file("mnist.npz", _KERAS_URL + "mnist.npz", folder,
                              file_hash=_MNIST_SHA256))
    keys = ["x_train", "y_train", "x_test", "y_test"]
    with np.load(path, allow_pickle=False) as f:
        if not set(keys) <= set(f.files):
            raise ValueError(f"'{path}' holds arrays {f.files}, not {keys}; delete it "
                             "and load again with download=True.")
        arrays = [f[k] for k in keys]
    return _image_bunch("MNIST", arrays, [str(i) for i in range(10)], path, return_X_y)


def load_fashion_mnist(*, cache_dir: str | os.PathLike | None = None,
                       download: bool = False, return_X_y: bool = False) -> Any:
    """Load Fashion-MNIST (70 000 28x28 clothing images) from the Keras cache.

    Reads the four IDX ``.gz`` files Keras keeps under ``<cache_dir>/fashion-mnist/``.
    Parameters and returns are as in :func:`load_mnist`; ``target_names`` are
    the ten clothing classes.

    Examples
    --------
    >>> data = load_fashion_mnist()  # doctest: +SKIP
    """
    folder = _cache_dir(cache_dir) / "fashion-mnist"
    missing = [f for f in _FASHION_FILES if not (folder / f).is_file()]
    if missing and not download:
        raise _missing("Fashion-MNIST", f"the files {missing}", folder,
                       f"{_KERAS_URL}<file name> (e.g. {_KERAS_URL}{missing[0]})",
                       "load_fashion_mnist")
    for fname in missing:
        _get_file(fname, _KERAS_URL + fname, folder)
    y_tr, x_tr, y_te, x_te = (  # IDX files: 8-byte label header, 16-byte image header
        np.frombuffer(gzip.decompress((folder / f).read_bytes()), np.uint8,
                      offset=16 if "images" in f else 8) for f in _FASHION_FILES)
    arrays = [x_tr.reshape(len(y_tr), 28, 28), y_tr, x_te.reshape(len(y_te), 28, 28), y_te]
    return _image_bunch("Fashion-MNIST", arrays, _FASHION_NAMES, folder, return_X_y)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle CIFAR batches, refusing every global except numpy array rebuilding."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                ("_codecs", "encode")}  # bytes in protocol-2 pickles written by Python 3

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR file")
        return super().find_class(module, name)


def _cifar_batch(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    d = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(d[b"labels"])


def load_cifar10(*, cache_dir: str | os.PathLike | None = None, download: bool = False,
                 return_X_y: bool = False) -> Any:
    """Load CIFAR-10 (60 000 32x32 colour images) from the Keras cache.

    Looks in ``cache_dir`` for the folder ``cifar-10-batches-py`` (also inside
    Keras 3's ``cifar-10-batches-py-target/``) or an archive
    ``cifar-10-batches-py.tar.gz`` / ``cifar-10-python.tar.gz`` /
    ``cifar-10-batches-py-target_archive``, read without extracting.
    Parameters and returns are as in :func:`load_mnist`; images are channels-last
    ``(n, 32, 32, 3)`` and ``target_names`` are the ten classes.

    Examples
    --------
    >>> data = load_cifar10()  # doctest: +SKIP
    """
    folder = _cache_dir(cache_dir)
    found = [folder / d for d in _CIFAR_DIRS if (folder / d / "test_batch").is_file()]
    found += [folder / a for a in _CIFAR_ARCHIVES if (folder / a).is_file()]
    if not found and not download:
        raise _missing("CIFAR-10", "the folder 'cifar-10-batches-py' or the archive "
                       "'cifar-10-batches-py.tar.gz'", folder, _CIFAR_URL, "load_cifar10")
    if not found:
        found = [Path(_get_file("cifar-10-batches-py-target", _CIFAR_URL, folder,
                                extract=True, file_hash=_CIFAR_SHA256)) / "cifar-10-batches-py"]
    source = found[0]
    if source.is_dir():
        batches = [_cifar_batch((source / b).read_bytes()) for b in _CIFAR_BATCHES]
    else:
        with tarfile.open(source, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            if not set(_CIFAR_BATCHES) <= set(members):
                raise ValueError(f"archive '{source}' lacks some of {_CIFAR_BATCHES}; "
                                 "delete it and load again with download=True.")
            batches = [_cifar_batch(tar.extractfile(members[b]).read())  # type: ignore[union-attr]
                       for b in _CIFAR_BATCHES]
    arrays = [np.concatenate([b[0] for b in batches[:-1]]),
              np.concatenate([b[1] for b in batches[:-1]]), *batches[-1]]
    return _image_bunch("CIFAR-10", arrays, _CIFAR_NAMES, source, return_X_y)


def _take(a: Any, idx: np.ndarray) -> Any:
    if hasattr(a, "iloc"):
        return a.iloc[idx]
    return a[idx] if hasattr(a, "shape") else np.asarray(a)[idx]


def train_val_test_split(X: Any, y: Any, *, val_size: float = 0.2, test_size: float = 0.2,
                         random_state: Any = None, stratify: bool = True) -> tuple:
    """Split into training, validation and test parts in one call.

    ``val_size`` and ``test_size`` are fractions of the whole data (rounded up,
    as in ``train_test_split``); the test part is the one
    ``train_test_split(X, y, test_size=test_size, stratify=y, random_state=...)``
    gives with an integer ``random_state``.

    Parameters
    ----------
    X, y : array-like, DataFrame or Series
    val_size, test_size : float in [0, 1), default 0.2
        Their sum must be below 1. ``val_size=0`` gives an empty validation part.
    random_state : int, RandomState or None
        Seed for reproducible splits.
    stratify : bool, default True
        Keep the class proportions of ``y`` in every part.

    Returns
    -------
    tuple
        ``X_train, X_val, X_test, y_train, y_val, y_test``, of the input types.

    Examples
    --------
    >>> X, y = load_penguins(return_X_y=True)
    >>> parts = train_val_test_split(X, y, random_state=0)
    >>> [len(p) for p in parts[:3]]
    [206, 69, 69]
    """
    check_number("val_size", val_size, low=0.0, high=1.0, high_inclusive=False)
    check_number("test_size", test_size, low=0.0, high=1.0, high_inclusive=False)
    n, labels = (X.shape[0] if hasattr(X, "shape") else len(X)), np.asarray(y)
    if labels.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {labels.shape[0]}; pass matching X and y.")
    n_test, n_val = math.ceil(test_size * n), math.ceil(val_size * n)
    if val_size + test_size >= 1 or n - n_test - n_val < 1:
        raise ValueError(f"val_size={val_size!r} + test_size={test_size!r} leaves no training "
                         f"rows (of {n}); make the sum well below 1, e.g. 0.2 + 0.2.")

    def split(idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k == 0:
            return idx, idx[:0]
        return train_test_split(idx, test_size=k, random_state=random_state,
                                stratify=labels[idx] if stratify else None)

    rest, test = split(np.arange(n), n_test)
    train, val = split(rest, n_val)
    return (*(_take(X, i) for i in (train, val, test)),
            *(_take(y, i) for i in (train, val, test)))
