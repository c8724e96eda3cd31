"""SearchSpace -> Optuna: every dimension becomes the matching suggest_* call, exactly; no training."""

from __future__ import annotations

import math

import pytest

optuna = pytest.importorskip("optuna")

from kerastune_kit.errors import GridConversionError  # noqa: E402
from kerastune_kit.space import Categorical, Fixed, Float, Int, SearchSpace  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = SearchSpace(
    nodes=Int(16, 64, step=16),
    units=Int(1, 1000, log=True),
    dropout=Float(0.0, 0.5, step=0.1),
    learning_rate=Float(1e-4, 1e-1, scale="log"),
    alpha=Float(0.1, 0.9),
    beta_1=Float(0.9, 0.999, scale="reverse_log"),
    activation=Categorical(["relu", "tanh"]),
    hidden=Categorical([(64,), (64, 32), None]),
    flag=Categorical([True, 1]),
    optimizer=Fixed("adam"),
)


def _study(n=60, space=SPACE):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []

    def objective(trial):
        seen.append(space.to_optuna(trial))
        return 0.0

    study.optimize(objective, n_trials=n)
    return study, seen


def test_every_value_is_one_the_space_can_produce_and_reads_back_from_the_trial():
    study, seen = _study()
    for trial, values in zip(study.trials, seen):
        for name, value in values.items():
            assert SPACE[name].contains(value), (name, value)
        assert SPACE.from_optuna(trial.params) == values
        # reverse_log is recorded as the value used
        assert trial.user_attrs["beta_1"] == values["beta_1"]
        assert "optimizer" not in trial.params  # a fixed value is not asked for
    assert {v["nodes"] for v in seen} == {16, 32, 48, 64}
    assert {v["dropout"] for v in seen} == {0.0, 0.1, 0.2, 0.3, 0.4, 0.5}  # exact grid values
    assert {v["hidden"] for v in seen} == {(64,), (64, 32), None}
    assert {type(v["flag"]) for v in seen} == {bool, int}  # True and 1 stay apart


def test_scales_are_honoured():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    space = SearchSpace(lr=Float(1e-4, 1e-1, scale="log"),
                        beta=Float(0.9, 0.999, scale="reverse_log"))
    values = []
    study.optimize(lambda t: values.append(space.to_optuna(t)) or 0.0, n_trials=300)
    decades = [math.floor(-math.log10(v["lr"])) for v in values]
    for d in (1, 2, 3):  # each decade about a third of the draws
        assert 60 < decades.count(d) < 140
    near_one = sum(v["beta"] > 0.99 for v in values)  # [0.99, 0.999] holds half the mass
    assert 110 < near_one < 190
    dist = study.trials[0].distributions
    assert dist["lr"].log and dist["beta__one_minus"].log
    assert dist["beta__one_minus"].low == pytest.approx(0.001)


def test_distributions_match_the_suggestions_and_refuse_what_optuna_cannot_express():
    dists = SPACE.without("beta_1").to_optuna_distributions("model__")
    assert dists["model__nodes"] == optuna.distributions.IntDistribution(16, 64, step=16)
    assert dists["model__units"].log
    assert dists["model__dropout"].step == pytest.approx(0.1)
    assert dists["model__hidden"].choices == ("(64,)", "(64, 32)", "None")
    assert dists["model__optimizer"].choices == ("adam",)
    with pytest.raises(GridConversionError, match="reverse-log.*space.to_optuna"):
        SPACE.to_optuna_distributions()
    with pytest.raises(GridConversionError, match=r"step 1; use Int\(2, 32, log=True\)"):
        SearchSpace(n=Int(2, 32, step=2, log=True)).to_optuna_distributions()


def test_a_space_optuna_cannot_express_is_refused_before_any_value_is_asked():
    study = optuna.create_study()
    trial = study.ask()
    space = SearchSpace(a=Float(0.0, 1.0), n=Int(2, 32, step=2, log=True))
    with pytest.raises(GridConversionError, match="Categorical"):
        space.to_optuna(trial)
    assert trial.params == {}
    with pytest.raises(ValueError, match="lack"):
        SPACE.from_optuna({"nodes": 16})
