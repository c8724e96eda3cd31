"""Property-based bad input: hypothesis draws values of every kind for every parameter.

``tests/test_bad_inputs.py`` lists the cases a person found; here hypothesis
draws values of every kind (None, bools, integers of any size and sign,
floats with NaN and infinities, text, bytes, containers, NumPy scalars) for
every declared parameter of the estimator and for the search-space
dimensions, and checks the properties the validation layer promises:

- a value is either accepted or refused with an ``InvalidParameterError``
  that names the parameter and shows the value; never another exception
  from deeper inside;
- an accepted value is one the declared constraint allows: bool is never an
  integer, text is never a number, NaN never a rate;
- a dimension either refuses its bounds with a message naming them, or every
  value it can produce lies within them.

Nothing here trains a network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kerastune_kit import Categorical, Float, Int, KerasMLPClassifier  # noqa: E402
from kerastune_kit._constraints import ESTIMATOR_CONSTRAINTS  # noqa: E402
from kerastune_kit.errors import InvalidParameterError  # noqa: E402

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

#: values of every kind a hostile user might pass
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=4),
    st.lists(st.integers(-3, 300), max_size=3),
    st.tuples(st.integers(-3, 300)),
    st.dictionaries(st.integers(0, 3), st.floats(allow_nan=True), max_size=2),
    st.integers(-5, 500).map(np.int64),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(np.float32),
    st.sampled_from(["32", "0.01", "relu", "adam", "he_uniform", "auto", "balanced", "1e-3"]),
)

INTEGER_PARAMS = ["n_layers", "nodes", "epochs", "batch_size"]
RATE_PARAMS = ["learning_rate", "dropout", "kernel_l1", "kernel_l2", "activity_l1",
               "activity_l2", "validation_split"]
# parameters whose value is an object the estimator holds as given (callbacks, losses...)
OPEN_ENDED = {"callbacks", "optimizer", "learning_rate", "loss", "metrics"}


def _refused(name: str, value) -> InvalidParameterError | None:
    """The error validating ``{name: value}`` raises, or None when it is accepted."""
    try:
        KerasMLPClassifier(**{name: value}).validate_params()
    except InvalidParameterError as err:
        return err
    return None


@FUZZ
@given(name=st.sampled_from(sorted(ESTIMATOR_CONSTRAINTS)), value=ANY_VALUE)
def test_every_value_is_accepted_or_refused_with_a_message_naming_it(name, value):
    error = _refused(name, value)  # any other exception fails the test
    if error is None:
        test_any = [test for test, _, _ in ESTIMATOR_CONSTRAINTS[name][0]]
        plain = value.item() if isinstance(value, np.generic) else value
        assert any(test(plain) for test in test_any), (name, value)
        return
    message = str(error)
    assert f"{name}=" in message, message
    assert "it must be" in message, message
    assert "KerasMLPClassifier" in message, message


@FUZZ
@given(name=st.sampled_from(INTEGER_PARAMS),
       value=st.one_of(st.booleans(), st.text(max_size=4), st.floats(allow_nan=True),
                       st.integers(max_value=0), st.binary(max_size=2)))
def test_integer_parameters_take_integers_only(name, value):
    # n_layers=0 is a softmax regression: the one integer <= 0 accepted
    if name == "n_layers" and type(value) is int and value == 0:
        assert _refused(name, value) is None
        return
    error = _refused(name, value)
    assert error is not None, f"{name}={value!r} was accepted"
    assert f"{name}={value!r}" in str(error)


@FUZZ
@given(name=st.sampled_from(RATE_PARAMS),
       value=st.one_of(st.sampled_from([math.nan, math.inf, -math.inf]), st.booleans(),
                       st.sampled_from(["0.01", "1e-3", ""])))
def test_rates_and_strengths_refuse_nan_infinity_bools_and_text(name, value):
    error = _refused(name, value)
    assert error is not None, f"{name}={value!r} was accepted"
    assert f"{name}=" in str(error)


@FUZZ
@given(low=st.integers(-50, 300), high=st.integers(-50, 300), step=st.integers(-3, 40))
def test_int_dimensions_refuse_bad_bounds_or_stay_within_them(low, high, step):
    try:
        dim = Int(low, high, step=step)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert any(str(v) in message for v in (low, high, step)), message
        return
    rng = np.random.default_rng(0)
    drawn = [dim.sample(rng) for _ in range(20)]
    for v in drawn + list(dim.grid()):
        assert low <= v <= high and (v - low) % step == 0, (dim, v)


@FUZZ
@given(low=st.floats(allow_nan=True, allow_infinity=True),
       high=st.floats(allow_nan=True, allow_infinity=True),
       scale=st.sampled_from(["linear", "log", "reverse_log"]))
def test_float_dimensions_refuse_bad_bounds_or_stay_within_them(low, high, scale):
    try:
        dim = Float(low, high, scale=scale)
    except (ValueError, TypeError) as err:
        assert "Float" in str(err) or "low" in str(err) or "high" in str(err), str(err)
        return
    assert math.isfinite(low) and math.isfinite(high) and low <= high
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = dim.sample(rng)
        assert low <= v <= high or math.isclose(v, low) or math.isclose(v, high), (dim, v)


@FUZZ
@given(choices=st.lists(ANY_VALUE, max_size=4))
def test_categorical_dimensions_hold_what_they_were_given_or_refuse(choices):
    try:
        dim = Categorical(choices)
    except (ValueError, TypeError) as err:
        assert "choices" in str(err), str(err)
        return
    assert len(dim.choices) == len(choices) > 0
