"""build_mlp: the network each hyperparameter asks for, and clear errors for bad ones."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerastune_kit import build_mlp
from kerastune_kit.builders import make_optimizer, resolve_hidden_layers


def _dense_units(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _layers_of(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


def test_count_and_width_or_explicit_widths():
    assert _dense_units(build_mlp(input_shape=4, n_classes=3, n_layers=3, nodes=7)) == [7, 7, 7, 3]
    explicit = build_mlp(input_shape=4, n_classes=3, hidden_layer_sizes=[64, 8], n_layers=5)
    assert _dense_units(explicit) == [64, 8, 3]
    assert _dense_units(build_mlp(input_shape=4, n_classes=2, n_layers=0)) == [2]
    assert resolve_hidden_layers(hidden_layer_sizes=()) == ()


def test_regularisers_dropout_constraint_batchnorm():
    model = build_mlp(
        input_shape=5, n_classes=3, n_layers=2, nodes=4, kernel_l1=1e-3, kernel_l2=2e-3,
        activity_l2=3e-4, dropout=0.5, max_norm=2.0, batch_norm=True,
    )
    hidden = [layer for layer in _layers_of(model, keras.layers.Dense) if layer.name != "output"]
    for layer in hidden:
        assert layer.kernel_regularizer.l1 == pytest.approx(1e-3)
        assert layer.kernel_regularizer.l2 == pytest.approx(2e-3)
        assert layer.activity_regularizer.l1 == 0
        assert layer.activity_regularizer.l2 == pytest.approx(3e-4)
        assert layer.kernel_constraint.max_value == 2.0
        assert not layer.use_bias  # batch norm supplies the shift
    assert [d.rate for d in _layers_of(model, keras.layers.Dropout)] == [0.5, 0.5]
    assert len(_layers_of(model, keras.layers.BatchNormalization)) == 2


def test_zero_strengths_switch_penalties_off():
    model = build_mlp(input_shape=5, n_classes=3, n_layers=1, nodes=4)
    hidden = model.get_layer("hidden_0")
    assert hidden.kernel_regularizer is None and hidden.activity_regularizer is None
    assert not _layers_of(model, keras.layers.Dropout)


@pytest.mark.parametrize(
    "name, settings, expected",
    [
        ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-8}, {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-8}),
        ("sgd", {"momentum": 0.9, "beta_1": 0.5}, {"momentum": 0.9}),
        ("rmsprop", {"momentum": 0.5, "epsilon": 1e-6}, {"momentum": 0.5, "epsilon": 1e-6}),
        ("adamw", {"weight_decay": 0.01}, {"weight_decay": 0.01}),
    ],
)
def test_optimizer_settings(name, settings, expected):
    opt = make_optimizer(name, 0.02, **settings)
    assert isinstance(opt, {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
                            "rmsprop": keras.optimizers.RMSprop,
                            "adamw": keras.optimizers.AdamW}[name])
    assert float(opt.learning_rate) == pytest.approx(0.02)
    for key, value in expected.items():
        assert getattr(opt, key) == pytest.approx(value)


def test_learning_rate_schedule_and_extra_optimizer_options():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = build_mlp(
        input_shape=3, n_classes=2, optimizer="sgd", learning_rate=schedule,
        optimizer_kwargs={"nesterov": True},
    )
    assert isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert model.optimizer.nesterov is True


def test_optimizer_instance_is_copied_not_shared():
    opt = keras.optimizers.SGD(learning_rate=0.3)
    a = build_mlp(input_shape=3, n_classes=2, optimizer=opt)
    b = build_mlp(input_shape=3, n_classes=2, optimizer=opt)
    assert a.optimizer is not b.optimizer and a.optimizer is not opt
    assert float(a.optimizer.learning_rate) == pytest.approx(0.3)


@pytest.mark.parametrize("shape", [(28, 28), (32, 32, 3), (8, 8)])
def test_images_are_flattened(shape):
    model = build_mlp(input_shape=shape, n_classes=10, nodes=5, n_layers=1)
    assert model.get_layer("flatten") is not None
    assert model.get_layer("hidden_0").kernel.shape[0] == int(np.prod(shape))
    assert model.predict(np.zeros((2, *shape), "float32"), verbose=0).shape == (2, 10)


def test_reads_shapes_from_scikeras_meta():
    model = build_mlp(meta={"X_shape_": (50, 6), "n_classes_": 4}, nodes=3, n_layers=1)
    assert model.input_shape == (None, 6)
    assert model.output_shape == (None, 4)


def test_seed_fixes_initial_weights():
    same = [build_mlp(input_shape=4, n_classes=3, seed=3).get_weights()[0] for _ in range(2)]
    other = build_mlp(input_shape=4, n_classes=3, seed=4).get_weights()[0]
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.allclose(same[0], other)


def test_output_is_a_probability_distribution():
    model = build_mlp(input_shape=4, n_classes=3, seed=0)
    proba = model.predict(np.random.default_rng(0).normal(size=(5, 4)), verbose=0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"activation": "relux"}, ValueError, ["activation='relux'", "Did you mean 'relu'"]),
        ({"kernel_initializer": "he_unifrom"}, ValueError, ["kernel_initializer", "he_uniform"]),
        ({"optimizer": "adamm"}, ValueError, ["optimizer='adamm'", "Did you mean 'adam'"]),
        ({"kernel_l1": -0.1}, ValueError, ["kernel_l1=-0.1", "[0"]),
        ({"activity_l2": -1e-3}, ValueError, ["activity_l2=-0.001"]),
        ({"dropout": 1.0}, ValueError, ["dropout=1.0", "[0, 1)"]),
        ({"dropout": -0.2}, ValueError, ["dropout=-0.2"]),
        ({"nodes": 0}, ValueError, ["nodes=0", "positive integer"]),
        ({"nodes": -5}, ValueError, ["nodes=-5"]),
        ({"nodes": 2.5}, TypeError, ["nodes=2.5", "float"]),
        ({"n_layers": -1}, ValueError, ["n_layers=-1"]),
        ({"hidden_layer_sizes": [8, 0]}, ValueError, ["hidden_layer_sizes[1]=0"]),
        ({"hidden_layer_sizes": 8}, TypeError, ["hidden_layer_sizes=8", "list or tuple"]),
        ({"learning_rate": 0.0}, ValueError, ["learning_rate=0.0"]),
        ({"learning_rate": "fast"}, TypeError, ["learning_rate='fast'", "str"]),
        ({"momentum": 1.5, "optimizer": "sgd"}, ValueError, ["momentum=1.5"]),
        ({"max_norm": -1.0}, ValueError, ["max_norm=-1.0"]),
        ({"loss": "mse"}, ValueError, ["loss='mse'"]),
        ({"n_classes": 1}, ValueError, ["n_classes=1", "at least 2"]),
        ({"input_shape": None}, ValueError, ["input_shape=None"]),
        ({"optimizer": "sgd", "optimizer_kwargs": {"bogus": 1}}, ValueError, ["bogus", "optimizer__"]),
    ],
)
def test_bad_hyperparameters_are_named_in_the_error(kwargs, error, fragments):
    params = {"input_shape": 4, "n_classes": 3, **kwargs}
    with pytest.raises(error) as info:
        build_mlp(**params)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_every_network_makes_the_same_variable_names():
    """TensorFlow keeps a kernel for each variable name it sees, for the life of the process:
    networks of one architecture repeat their names (optimiser, dropout seed generators), and
    the names Keras gives objects made elsewhere are numbered as before."""
    def names(model):
        return [v.path for v in model.variables + model.optimizer.variables]

    def build():
        return build_mlp(hidden_layer_sizes=(8, 8), dropout=0.2, input_shape=4, n_classes=3,
                         seed=0)

    before = keras.optimizers.Adam().name
    first, second = build(), build()
    assert names(first) == names(second)
    assert "adam/iteration" in names(first)
    assert [n for n in names(first) if "seed_generator" in n] == [
        "seed_generator/seed_generator_state", "seed_generator_1/seed_generator_state"]
    after = keras.optimizers.Adam().name
    number = lambda name: int(name.rsplit("_", 1)[1]) if "_" in name else 0  # noqa: E731
    assert number(after) == number(before) + 1
