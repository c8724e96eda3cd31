"""Tests of kerastune_kit.space against real numpy/scipy/scikit-learn/Keras Tuner objects."""

from __future__ import annotations

import doctest
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from kerastune_kit import dimensions as dimensions_mod
from kerastune_kit import space as space_mod
from kerastune_kit.space import (
    Categorical,
    Dimension,
    Fixed,
    Float,
    GridConversionError,
    Int,
    SearchSpace,
)


def decade_shares(values, edges=(1e-4, 1e-3, 1e-2, 1e-1)):
    values = np.asarray(values, dtype=float)
    return [float(np.mean((values >= a) & (values < b))) for a, b in zip(edges[:-1], edges[1:])]


# ------------------------------------------------------------------ module
def test_module_does_not_import_keras_and_doctests_pass():
    code = (
        "import sys, kerastune_kit.space, kerastune_kit.dimensions; "
        "bad = [m for m in ('keras', 'keras_tuner', 'tensorflow') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    attempted = 0
    for module in (space_mod, dimensions_mod):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0
        attempted += tried
    assert attempted >= 10


# ------------------------------------------------------------------ Int
def test_int_bounds_are_inclusive():
    dim = Int(1, 3)
    assert dim.grid() == [1, 2, 3]
    values = dim.sample(np.random.default_rng(0), size=2000)
    assert set(values) == {1, 2, 3}
    assert all(type(v) is int for v in values)
    assert type(dim.sample(np.random.default_rng(0))) is int
    assert dim.contains(1) and dim.contains(3) and not dim.contains(0) and not dim.contains(4)
    assert not dim.contains(2.0) and not dim.contains(True)


def test_int_step_and_log():
    assert Int(16, 64, step=16).grid() == [16, 32, 48, 64]
    assert len(Int(0, 20_000).grid()) == 20_001
    assert not Int(16, 64, step=16).contains(20)

    # log sampling: values <10, 10..99, >=100 each take ~a third (rounding shifts a little)
    values = np.array(Int(1, 1000, log=True).sample(np.random.default_rng(1), size=20_000))
    assert values.min() >= 1 and values.max() <= 1000
    shares = [np.mean(values < 10), np.mean((values >= 10) & (values < 100)), np.mean(values >= 100)]
    assert all(abs(s - 1 / 3) < 0.03 for s in shares), shares

    dim = Int(10, 100, step=10, log=True)
    values = dim.sample(np.random.default_rng(2), size=5000)
    assert set(values) == set(dim.grid()) == {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
    assert values.count(10) > 2 * values.count(100)  # log sampling favours small values

    with pytest.raises(ValueError, match=r"high=10 cannot be reached.*use high=9 or high=12"):
        Int(0, 10, step=3)


# ------------------------------------------------------------------ Float
def test_log_float_puts_a_third_in_each_decade():
    dim = Float(1e-4, 1e-1, scale="log")
    values = dim.sample(np.random.default_rng(0), size=20_000)
    assert min(values) >= 1e-4 and max(values) <= 1e-1
    assert all(abs(s - 1 / 3) < 0.02 for s in decade_shares(values))
    assert dim.is_log and not Float(0, 1).is_log


def test_reverse_log_float_splits_mass_evenly_between_0_99_and_0_999():
    dim = Float(0.9, 0.999, scale="reverse_log")
    values = np.array(dim.sample(np.random.default_rng(0), size=20_000))
    assert values.min() >= 0.9 and values.max() <= 0.999
    assert abs(np.mean(values <= 0.99) - 0.5) < 0.02
    assert abs(np.mean(1 - values < 10**-2.5) - 0.25) < 0.02  # a quarter in the top half-decade
    assert dim.is_log


def test_float_step_grid_is_inclusive_and_tidy():
    dim = Float(0.0, 0.5, step=0.1)
    assert dim.grid() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert set(dim.sample(np.random.default_rng(0), size=500)) == set(dim.grid())
    assert dim.contains(0.30000000000000004) and not dim.contains(0.25)
    with pytest.raises(ValueError, match=r"high=1.0 cannot be reached.*use high=0.9 or high=1.2"):
        Float(0.0, 1.0, step=0.3)


def test_to_scipy_honours_scale_and_random_state():
    log = Float(1e-4, 1e-1, scale="log").to_scipy()
    values = log.rvs(size=20_000, random_state=0)
    assert all(abs(s - 1 / 3) < 0.02 for s in decade_shares(values))
    assert np.array_equal(values, log.rvs(size=20_000, random_state=0))

    rev = Float(0.9, 0.999, scale="reverse_log").to_scipy()
    values = rev.rvs(size=20_000, random_state=np.random.RandomState(3))
    assert values.shape == (20_000,) and values.min() >= 0.9 and values.max() <= 0.999
    assert abs(np.mean(values <= 0.99) - 0.5) < 0.02
    again = rev.rvs(size=20_000, random_state=np.random.RandomState(3))
    assert np.array_equal(values, again)
    assert isinstance(rev.rvs(random_state=1), float)

    ints = Int(10, 100, step=10, log=True).to_scipy().rvs(size=(50, 2), random_state=4)
    assert ints.shape == (50, 2) and set(ints.ravel()) <= set(range(10, 101, 10))
    assert set(Int(1, 3).to_scipy().rvs(size=500, random_state=0)) == {1, 2, 3}
    assert Categorical(["a", "b"]).to_scipy() == ["a", "b"] and Fixed(3).to_scipy() == [3]


def test_randomized_search_cv_accepts_param_distributions():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RandomizedSearchCV

    X, y = load_iris(return_X_y=True)
    space = SearchSpace(C=Float(1e-3, 1e2, scale="log"), fit_intercept=[True, False])
    search = RandomizedSearchCV(
        LogisticRegression(max_iter=300), space.to_param_distributions(), n_iter=6, cv=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    sampled = [p["C"] for p in search.cv_results_["params"]]
    assert len(sampled) == 6 and len(set(sampled)) == 6
    assert all(space["C"].contains(c) for c in sampled)
    assert {p["fit_intercept"] for p in search.cv_results_["params"]} <= {True, False}


def test_grid_search_cv_accepts_param_grid_with_prefix():
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    X, y = load_iris(return_X_y=True)
    space = SearchSpace(strategy=["most_frequent", "uniform"], random_state=Int(0, 4, step=2),
                        constant=None)
    grid = space.to_param_grid(prefix="clf__")
    assert grid == {"clf__strategy": ["most_frequent", "uniform"],
                    "clf__random_state": [0, 2, 4], "clf__constant": [None]}
    search = GridSearchCV(Pipeline([("clf", DummyClassifier())]), grid, cv=2).fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == 6
    assert {(p["clf__strategy"], p["clf__random_state"]) for p in params} == {
        (s, r) for s in ("most_frequent", "uniform") for r in (0, 2, 4)}


def test_grid_conversion_refuses_continuous_float_and_names_the_parameter():
    space = SearchSpace(units=Int(8, 32, step=8), learning_rate=Float(1e-4, 1e-1, scale="log"))
    with pytest.raises(GridConversionError) as info:
        space.to_param_grid()
    message = str(info.value)
    for fragment in ("'learning_rate'", "step", "Categorical", "continuous"):
        assert fragment in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(GridConversionError, match=r"give it a step \(Float\(0.0, 1.0, step="):
        Float(0, 1).grid()


# ------------------------------------------------------------------ Keras Tuner
def kt_space():
    return SearchSpace(
        units=Int(16, 256, step=16),
        layers=Int(1, 100, log=True),
        filters=Int(8, 128, step=8, log=True),
        lr=Float(1e-4, 1e-1, scale="log"),
        dropout=Float(0.0, 0.5, step=0.1),
        beta=Float(0.9, 0.999, scale="reverse_log"),
        activation=["relu", "tanh"],
        scale=[0, 0.5, 1],
        hidden=[(64,), (64, 32), None],
        optimizer="adam",
        clip=None,
    )


def test_keras_tuner_conversion_registers_and_maps_back():
    keras_tuner = pytest.importorskip("keras_tuner")
    space = kt_space()
    hp = keras_tuner.HyperParameters()
    first = space.to_keras_tuner(hp)
    assert set(first) == set(space.names)
    registered = {h.name for h in hp.space}
    assert registered == set(space.names) - {"beta", "clip"} | {"beta__one_minus"}
    assert all(space[name].contains(value) for name, value in first.items()), first
    assert type(first["hidden"]) is tuple and first["clip"] is None
    by_name = {h.name: h for h in hp.space}
    assert list(by_name["scale"].values) == [0.0, 0.5, 1.0] and by_name["scale"].ordered
    assert list(by_name["hidden"].values) == ["(64,)", "(64, 32)", "None"]
    assert list(by_name["dropout"].values) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert (by_name["layers"].sampling, by_name["layers"].step) == ("log", None)
    assert (by_name["beta__one_minus"].min_value, by_name["beta__one_minus"].max_value) == (
        pytest.approx(0.001), pytest.approx(0.1))

    rng = np.random.default_rng(0)
    betas, seen_hidden, seen_scale = [], set(), set()
    for _ in range(400):  # let Keras Tuner itself propose values, as its oracles do
        for h in hp.space:
            hp.values[h.name] = h.random_sample(int(rng.integers(2**31)))
        values = space.to_keras_tuner(hp)
        assert all(space[n].contains(v) for n, v in values.items()), values
        assert values["beta"] == pytest.approx(1 - hp.values["beta__one_minus"])
        assert space.from_keras_tuner_values({**hp.values, "tuner/epochs": 2}) == values
        betas.append(values["beta"])
        seen_hidden.add(values["hidden"])
        seen_scale.add((type(values["scale"]), values["scale"]))
    assert seen_hidden == {(64,), (64, 32), None}
    assert seen_scale == {(int, 0), (float, 0.5), (int, 1)}
    assert 0.4 < np.mean(np.array(betas) <= 0.99) < 0.6  # 1 - beta is log-uniform

    with pytest.raises(ValueError, match="beta__one_minus"):
        space.from_keras_tuner_values({"units": 16})


# ------------------------------------------------------------------ narrow
def test_narrow_log_learning_rate_around_good_values():
    space = SearchSpace(lr=Float(1e-6, 1.0, scale="log"), act=["relu", "tanh", "elu"],
                        units=Int(8, 512, step=8), opt="adam")
    good = [{"lr": 8e-4, "act": "relu", "units": 64, "opt": "adam"},
            {"lr": 1.2e-3, "act": "elu", "units": 96},
            {"lr": 1e-3, "act": "relu", "units": 64}]
    small = space.narrow(good)
    lr = small["lr"]
    assert lr.scale == "log" and lr.low < 8e-4 and lr.high > 1.2e-3
    assert math.log10(lr.high / lr.low) < 0.5  # was 6 decades
    centre = (math.log10(lr.low) + math.log10(lr.high)) / 2
    assert abs(centre - math.log10(1e-3)) < 0.1
    assert small["act"] == Categorical(["relu", "elu"])
    assert small["units"].low <= 64 and small["units"].high >= 96 and small["units"].step == 8
    assert (small["units"].low - 8) % 8 == 0 and small["units"].high - small["units"].low < 100
    assert small["opt"] == Fixed("adam")

    same = Float(0.0, 1.0).narrow([0.5, 0.5])  # spread 0: margin * 10% of the range each side
    assert (same.low, same.high) == pytest.approx((0.45, 0.55))
    rev = Float(0.9, 0.999, scale="reverse_log").narrow([0.99, 0.995])
    assert 0.98 < rev.low < 0.99 and 0.995 < rev.high <= 0.999 and rev.scale == "reverse_log"

    prefixed = SearchSpace(units=Int(8, 512, step=8)).narrow(
        [{"model__units": 16}], prefix="model__")
    assert prefixed["units"].contains(16)
    with pytest.raises(ValueError, match="pass prefix="):
        SearchSpace(units=Int(8, 512, step=8)).narrow([{"model__units": 16}])
    with pytest.raises(ValueError, match=r"parameter 'units'.*good value 12 is not inside"):
        SearchSpace(units=Int(8, 512, step=8)).narrow([{"units": 12}])


def random_dimension(rng):
    kind = rng.integers(6)
    if kind == 0:
        low = int(rng.integers(-50, 50))
        step = int(rng.integers(1, 6))
        return Int(low, low + step * int(rng.integers(0, 40)), step=step)
    if kind == 1:
        low = int(rng.integers(1, 20))
        step = int(rng.integers(1, 4))
        return Int(low, low + step * int(rng.integers(0, 300)), step=step, log=True)
    if kind == 2:
        low = float(rng.uniform(-5, 5))
        return Float(low, low + float(rng.uniform(0, 10)))
    if kind == 3:
        low = 10 ** float(rng.uniform(-8, 0))
        return Float(low, low * 10 ** float(rng.uniform(0, 6)), scale="log")
    if kind == 4:
        low = 1 - 10 ** float(rng.uniform(-1, 0))
        return Float(low, 1 - 10 ** float(rng.uniform(-6, -1)), scale="reverse_log")
    step = float(rng.choice([0.1, 0.25, 0.05, 1e-3]))
    low = round(float(rng.uniform(-1, 1)), 2)
    return Float(low, low + step * int(rng.integers(0, 50)), step=step)


def test_narrow_always_stays_inside_the_old_dimension():
    rng = np.random.default_rng(123)
    for _ in range(400):
        dim = random_dimension(rng)
        good = dim.sample(rng, size=int(rng.integers(1, 6)))
        new = dim.narrow(good, margin=float(rng.choice([0.0, 0.5, 2.0])))
        assert type(new) is type(dim) and new.is_log == dim.is_log
        assert dim.low <= new.low <= new.high <= dim.high, (dim, good, new)
        assert all(new.contains(g) for g in good), (dim, good, new)
        if isinstance(dim, Int) or dim.step is not None:
            assert new.step == dim.step
            assert set(new.grid()) <= set(dim.grid()), (dim, new)
        for value in new.sample(rng, size=20):
            assert dim.contains(value), (dim, new, value)

    cat = Categorical(["a", "b", "c", None])
    assert cat.narrow(["c", None, "c"]).choices == ("c", None)
    assert Fixed(1).narrow([1]) == Fixed(1)


# ------------------------------------------------------------------ the space container
def test_space_construction_conversion_and_editing():
    space = SearchSpace({"units": Int(8, 64)}, act=["relu", "tanh"], optimizer="adam",
                        hidden=((64,), (64, 32)), clip=None)
    assert space.names == ["units", "act", "optimizer", "hidden", "clip"]
    assert space["act"] == Categorical(["relu", "tanh"]) and space["optimizer"] == Fixed("adam")
    assert space["hidden"] == Categorical([(64,), (64, 32)]) and space["clip"] == Fixed(None)
    assert "units" in space and "nodes" not in space and len(space) == 5
    assert list(space) == space.names and dict(space.items())["units"] == Int(8, 64)
    with pytest.raises(KeyError, match="Did you mean 'units'"):
        space["unitz"]

    with pytest.raises(ValueError, match="'units' is given twice"):
        SearchSpace({"units": Int(8, 64)}, units=Int(1, 2))
    with pytest.raises(ValueError, match="identifier"):
        SearchSpace({"learning rate": 0.1})

    bigger = space.with_values(units=Int(8, 128, step=8), lr=Float(1e-4, 1e-1, scale="log"))
    assert bigger["units"] == Int(8, 128, step=8) and bigger.names[0] == "units"
    assert bigger.names[-1] == "lr" and space["units"] == Int(8, 64)  # original untouched
    assert bigger.without("lr", "clip").names == ["units", "act", "optimizer", "hidden"]
    with pytest.raises(ValueError, match="Did you mean 'clip'"):
        space.without("clap")

    empty = SearchSpace()
    assert len(empty) == 0 and repr(empty) == "SearchSpace()"
    for call in (empty.sample, empty.to_param_grid, empty.to_param_distributions):
        with pytest.raises(ValueError, match="SearchSpace is empty"):
            call()
    assert empty.with_values(units=[1, 2]).to_param_grid() == {"units": [1, 2]}


def test_space_sample_is_reproducible():
    space = SearchSpace(units=Int(1, 3), lr=Float(1e-4, 1e-1, scale="log"), act=["a", "b"],
                        opt="adam")
    rows = space.sample(7, n=50)
    assert rows == space.sample(np.random.default_rng(7), n=50)
    assert rows != space.sample(8, n=50)
    assert len(rows) == 50 and all(list(r) == space.names for r in rows)
    assert all(all(space[k].contains(v) for k, v in r.items()) for r in rows)
    assert {r["act"] for r in rows} == {"a", "b"} and {r["opt"] for r in rows} == {"adam"}


def test_validate_names_suggests_the_closest_name():
    space = SearchSpace(nodez=[8, 16], epochs=Int(1, 5))
    space.without("nodez").validate_names(["nodes", "epochs", "lr"])
    with pytest.raises(ValueError) as info:
        space.validate_names(["nodes", "epochs"])
    assert str(info.value) == (
        "unknown parameter 'nodez' in the search space. Did you mean 'nodes'? "
        "Known: ['epochs', 'nodes']")
    with pytest.raises(ValueError, match=r"unknown options 'nodez' \(did you mean 'nodes'\?\), "
                                         r"'epochs' in the search space"):
        space.validate_names(["nodes"], what="option")


def test_serialisation_round_trip(tmp_path):
    space = kt_space().with_values(flag=[True, False], step_f=Float(-1.0, 1.0, step=0.5))
    config = space.get_config()
    assert json.loads(json.dumps(config)) == config  # JSON-safe (tuples stored as lists)
    text = space.to_json()
    back = SearchSpace.from_json(text)
    assert back == space and back.names == space.names
    assert back["hidden"].choices == ((64,), (64, 32), None)
    assert SearchSpace.from_config(config) == space
    path = tmp_path / "space.json"
    space.to_json(path)
    assert SearchSpace.from_json(path) == SearchSpace.from_json(str(path)) == space
    for _, dim in space.items():
        assert Dimension.from_config(dim.get_config()) == dim
    assert space != space.without("flag") and Int(1, 3) != Int(1, 3, step=2)
    assert Categorical([1, 0]) != Categorical([True, False]) and Fixed(1) != Fixed(1.0)
    with pytest.raises(ValueError, match="Did you mean 'Float'"):
        Dimension.from_config({"type": "Flaot", "low": 0, "high": 1})
    with pytest.raises(ValueError, match=r"unknown keys \['lo'\]"):
        Dimension.from_config({"type": "Int", "lo": 0, "high": 1})
    with pytest.raises(FileNotFoundError):
        SearchSpace.from_json(str(tmp_path / "missing.json"))


def test_repr_shows_names_and_bounds():
    text = repr(kt_space())
    lines = text.splitlines()
    assert lines[0] == "SearchSpace(" and lines[-1] == ")" and len(lines) == 13
    assert "    units=Int(16, 256, step=16)," in lines
    assert "    lr=Float(0.0001, 0.1, scale='log')," in lines
    assert "    beta=Float(0.9, 0.999, scale='reverse_log')," in lines
    assert "    hidden=Categorical([(64,), (64, 32), None])," in lines
    assert "    optimizer=Fixed('adam')," in lines
    assert repr(Int(1, 1000, log=True)) == "Int(1, 1000, log=True)"
    assert eval(repr(Float(0.0, 0.5, step=0.1))) == Float(0.0, 0.5, step=0.1)


BAD_INPUTS = [
    (lambda: Int(5, 1), ValueError, ["Int", "low=5 is greater than high=1", "Int(1, 5)"]),
    (lambda: Float(0.5, 0.1), ValueError, ["low=0.5 is greater than high=0.1"]),
    (lambda: Float(0.0, 1.0, scale="log"), ValueError, ["scale='log' needs low > 0", "low=0.0"]),
    (lambda: Float(-1.0, 1.0, scale="log"), ValueError, ["low > 0", "low=-1.0"]),
    (lambda: Float(0.9, 1.0, scale="reverse_log"), ValueError, ["0 < low <= high < 1", "high=1.0"]),
    (lambda: Float(0.0, 0.9, scale="reverse_log"), ValueError, ["reverse_log", "low=0.0"]),
    (lambda: Int(0, 10, log=True), ValueError, ["log=True needs low >= 1", "low=0"]),
    (lambda: Categorical([]), ValueError, ["choices=[] is empty", "Fixed"]),
    (lambda: Categorical(["relu", "tanh", "relu"]), ValueError, ["'relu' twice", "positions 0 and 2"]),
    (lambda: Categorical("relu"), TypeError, ["choices='relu'", "type str", "Categorical(['relu'"]),
    (lambda: Categorical([1, {"a": 1}]), TypeError, ["choices[1]={'a': 1}", "type dict"]),
    (lambda: Categorical([float("nan")]), ValueError, ["choices[0]=nan", "finite"]),
    (lambda: Int(1, 10, step=0), ValueError, ["Int", "step=0", "positive"]),
    (lambda: Int(1, 10, step=2.5), TypeError, ["step=2.5", "type float"]),
    (lambda: Float(0.0, 1.0, step=-0.1), ValueError, ["step=-0.1", "out of range"]),
    (lambda: Float(1e-4, 1e-1, scale="log", step=0.01), ValueError, ["needs scale='linear'", "Categorical"]),
    (lambda: Float(0.0, 1.0, scale="lg"), ValueError, ["scale='lg'", "Did you mean 'log'?"]),
    (lambda: Float("0", 1.0), TypeError, ["low='0'", "type str", "number"]),
    (lambda: Float(0.0, None), TypeError, ["high=None", "type NoneType"]),
    (lambda: Int(1.5, 3), TypeError, ["low=1.5", "type float", "Float("]),
    (lambda: Int(True, 3), TypeError, ["low=True", "type bool", "integer"]),
    (lambda: Fixed(object), TypeError, ["value=<class 'object'>", "type type"]),
    (lambda: SearchSpace(units={"low": 1}), TypeError, ["'units'", "type dict", "positionally"]),
    (lambda: SearchSpace([("units", 1)]), TypeError, ["dimensions=", "type list", "mapping"]),
    (lambda: SearchSpace(x=[1, 1]), ValueError, ["parameter 'x'", "lists 1 twice"]),
    (lambda: SearchSpace(units=Int(1, 3)).sample(0, n=0), ValueError, ["n=0", "positive"]),
    (lambda: SearchSpace(units=Int(1, 3)).sample("seed"), TypeError, ["rng='seed'", "type str"]),
    (lambda: SearchSpace(units=[1]).to_param_grid(prefix=3), TypeError, ["prefix=3", "type int"]),
    (lambda: Int(1, 3).narrow([]), ValueError, ["values=[] is empty"]),
    (lambda: Int(1, 3).narrow([2], margin=-1), ValueError, ["margin=-1", "out of range"]),
]


@pytest.mark.parametrize("make, error, fragments", BAD_INPUTS,
                         ids=[f"bad{i}" for i in range(len(BAD_INPUTS))])
def test_bad_inputs_raise_clear_errors(make, error, fragments):
    with pytest.raises(error) as info:
        make()
    assert type(info.value) is error
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
