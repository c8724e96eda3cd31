"""Tests for kerastune_kit.baseline (no Keras needed; all fast)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_iris
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from kerastune_kit.baseline import (
    compare_with_baseline,
    corrected_resampled_ttest,
    make_baseline,
)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _tree():
    return DecisionTreeClassifier(max_depth=2, random_state=0)


# --------------------------------------------------------------------------
# corrected_resampled_ttest
# --------------------------------------------------------------------------
def test_ttest_hand_computed_example():
    # d = 0.01..0.05, k = 5: mean = 0.03, sum of squared deviations
    # = (4 + 1 + 0 + 1 + 4) * 1e-4 = 1e-3, so var(ddof=1) = 1e-3 / 4 = 2.5e-4.
    # 5-fold sizes n_train = 120, n_test = 30: correction 1/5 + 30/120 = 0.45.
    # t = 0.03 / sqrt(0.45 * 2.5e-4) = 0.03 / sqrt(1.125e-4) = 2 * sqrt(2).
    # Student t with 4 dof has a closed-form CDF; with u = t / sqrt(t**2 + 4)
    # the two-sided p-value is 1 - u * (3 - u**2) / 2. Here u = sqrt(8/12).
    u = math.sqrt(8 / 12)
    expected_p = 1 - u * (3 - u**2) / 2  # = 0.04742...
    t, p = corrected_resampled_ttest([0.01, 0.02, 0.03, 0.04, 0.05], n_train=120, n_test=30)
    assert t == pytest.approx(2 * math.sqrt(2), rel=1e-12)
    assert p == pytest.approx(expected_p, rel=1e-10)
    assert p == pytest.approx(0.04742, abs=1e-5)
    assert isinstance(t, float) and isinstance(p, float)


def test_ttest_sign_and_symmetry():
    t_pos, p_pos = corrected_resampled_ttest([0.01, 0.02, 0.03, 0.04, 0.05], 120, 30)
    t_neg, p_neg = corrected_resampled_ttest([-0.01, -0.02, -0.03, -0.04, -0.05], 120, 30)
    assert t_neg == pytest.approx(-t_pos)
    assert p_neg == pytest.approx(p_pos)


def test_ttest_reduces_to_paired_ttest_without_overlap():
    # With n_test / n_train -> 0 the correction vanishes and the statistic is
    # the ordinary one-sample t-test on the differences.
    d = np.array([0.03, -0.01, 0.05, 0.02, 0.04, 0.00, 0.01])
    t, p = corrected_resampled_ttest(d, n_train=1e15, n_test=1)
    ref = stats.ttest_1samp(d, 0.0)
    assert t == pytest.approx(ref.statistic, rel=1e-9)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_ttest_correction_is_more_conservative():
    d = [0.03, -0.01, 0.05, 0.02, 0.04]
    naive = stats.ttest_1samp(d, 0.0)
    t, p = corrected_resampled_ttest(d, n_train=80, n_test=20)
    assert abs(t) < abs(naive.statistic)
    assert p > naive.pvalue


@pytest.mark.parametrize(
    "diffs, expected",
    [
        ([0.0, 0.0, 0.0], (0.0, 1.0)),
        ([0.1, 0.1, 0.1], (math.inf, 0.0)),  # 0.1 is not exact in binary: still zero variance
        ([-0.2, -0.2], (-math.inf, 0.0)),
    ],
)
def test_ttest_zero_variance(diffs, expected):
    assert corrected_resampled_ttest(diffs, 100, 25) == expected


@pytest.mark.parametrize("diffs", [[], [0.05], np.array([0.1])])
def test_ttest_needs_two_folds(diffs):
    with pytest.raises(ValueError, match="differences.*at least 2"):
        corrected_resampled_ttest(diffs, 100, 25)


def test_ttest_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        corrected_resampled_ttest([0.1, float("nan")], 100, 25)
    with pytest.raises(ValueError, match="1-D"):
        corrected_resampled_ttest([[0.1, 0.2], [0.3, 0.4]], 100, 25)
    with pytest.raises(ValueError, match="n_train=0"):
        corrected_resampled_ttest([0.1, 0.2], 0, 25)
    with pytest.raises(ValueError, match="n_test=-1"):
        corrected_resampled_ttest([0.1, 0.2], 100, -1)


# --------------------------------------------------------------------------
# make_baseline
# --------------------------------------------------------------------------
def test_make_baseline_default():
    pipe = make_baseline(C=0.5, max_iter=300, random_state=3)
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["preprocess", "logreg"]
    assert isinstance(pipe.named_steps["preprocess"], StandardScaler)
    params = pipe.named_steps["logreg"].get_params()
    assert (params["C"], params["max_iter"], params["random_state"]) == (0.5, 300, 3)


def test_make_baseline_clones_preprocessor(iris):
    pre = MinMaxScaler(feature_range=(-1, 1))
    pipe = make_baseline(pre)
    step = pipe.named_steps["preprocess"]
    assert step is not pre
    assert step.get_params() == pre.get_params()
    X, y = iris
    pipe.fit(X, y)
    assert not hasattr(pre, "data_min_")  # the caller's object stays unfitted
    assert pipe.score(X, y) > 0.8


def test_make_baseline_errors():
    with pytest.raises(ValueError, match="C=0"):
        make_baseline(C=0)
    with pytest.raises(ValueError, match="max_iter=0"):
        make_baseline(max_iter=0)
    with pytest.raises(TypeError, match="preprocessor='scale'.*transformer"):
        make_baseline("scale")


def test_baseline_module_does_not_import_keras():
    code = (
        "import sys; import kerastune_kit.baseline; "
        "print(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------
# compare_with_baseline
# --------------------------------------------------------------------------
def test_compare_table_layout(iris):
    X, y = iris
    table = compare_with_baseline(_tree(), X, y, cv=3, names=("tree", "logreg"))
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["tree", "logreg", "difference"]
    folds = ["fold_0", "fold_1", "fold_2"]
    assert list(table.columns) == folds + ["mean", "std", "t_statistic", "p_value"]

    scores = table[folds].to_numpy()
    np.testing.assert_allclose(table["mean"], scores.mean(axis=1))
    np.testing.assert_allclose(table["std"], scores.std(axis=1, ddof=1))
    np.testing.assert_allclose(scores[2], scores[0] - scores[1])
    assert table.loc[["tree", "logreg"], ["t_statistic", "p_value"]].isna().all().all()
    t, p = corrected_resampled_ttest(scores[2], 100, 50)  # 150 rows, 3 folds
    assert table.loc["difference", "t_statistic"] == pytest.approx(t)
    assert table.loc["difference", "p_value"] == pytest.approx(p)
    assert 0.0 <= table.loc["difference", "p_value"] <= 1.0

    attrs = table.attrs
    assert attrs["scoring"] == "accuracy"
    assert attrs["n_splits"] == 3
    assert (attrs["n_train"], attrs["n_test"]) == (100.0, 50.0)
    assert attrs["estimator"] == "DecisionTreeClassifier"
    assert "LogisticRegression" in attrs["baseline"]
    assert tuple(attrs["names"]) == ("tree", "logreg")


def test_compare_uses_seeded_stratified_folds(iris):
    X, y = iris
    table = compare_with_baseline(_tree(), X, y, cv=4, random_state=7)
    splitter = StratifiedKFold(4, shuffle=True, random_state=7)
    expected_model = cross_val_score(_tree(), X, y, cv=splitter)
    expected_base = cross_val_score(make_baseline(random_state=7), X, y, cv=splitter)
    folds = [f"fold_{i}" for i in range(4)]
    np.testing.assert_allclose(table.loc["DecisionTreeClassifier", folds], expected_model)
    np.testing.assert_allclose(table.loc["LogisticRegression", folds], expected_base)


def test_compare_same_folds_for_both_models(iris):
    # An identical baseline must score identically on every fold -- only true
    # if both models see exactly the same splits. A shuffling splitter is
    # passed to make sure it is materialised once rather than re-split.
    X, y = iris
    cv = KFold(5, shuffle=True, random_state=None)
    table = compare_with_baseline(_tree(), X, y, baseline=_tree(), cv=cv)
    folds = [f"fold_{i}" for i in range(5)]
    np.testing.assert_array_equal(table.loc["difference", folds], 0.0)
    assert table.loc["difference", "t_statistic"] == 0.0
    assert table.loc["difference", "p_value"] == 1.0


def test_compare_accepts_iterable_and_pipeline(iris):
    X, y = iris
    splits = list(KFold(3, shuffle=True, random_state=1).split(X, y))
    est = Pipeline([("scale", StandardScaler()), ("tree", _tree())])
    table = compare_with_baseline(est, X, y, cv=iter(splits), scoring="balanced_accuracy")
    assert table.attrs["n_splits"] == 3
    assert table.attrs["scoring"] == "balanced_accuracy"
    assert table.attrs["estimator"] == "Pipeline(scale=StandardScaler, tree=DecisionTreeClassifier)"
    expected = cross_val_score(est, X, y, cv=splits, scoring="balanced_accuracy")
    np.testing.assert_allclose(table.loc["DecisionTreeClassifier", ["fold_0", "fold_1", "fold_2"]],
                               expected)
    assert not hasattr(est.named_steps["tree"], "tree_")  # the caller's estimator is untouched


def test_compare_with_penguins_preprocessor():
    datasets = pytest.importorskip("kerastune_kit.datasets")
    X, y = datasets.load_penguins(return_X_y=True)
    est = Pipeline([("preprocess", datasets.make_preprocessor()), ("tree", _tree())])
    table = compare_with_baseline(
        est, X, y, preprocessor=datasets.make_preprocessor(), cv=3, random_state=0
    )
    assert list(table.index) == ["DecisionTreeClassifier", "LogisticRegression", "difference"]
    assert table.loc["LogisticRegression", "mean"] > 0.9  # logistic regression on penguins is strong
    assert table.attrs["baseline"].startswith("Pipeline(preprocess=ColumnTransformer")


def test_compare_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"X has 150 rows but y has 149"):
        compare_with_baseline(_tree(), X, y[:-1])
    with pytest.raises(ValueError, match="cv=1"):
        compare_with_baseline(_tree(), X, y, cv=1)
    with pytest.raises(ValueError, match="produced 1 split"):
        compare_with_baseline(_tree(), X, y, cv=[(np.arange(100), np.arange(100, 150))])
    with pytest.raises(TypeError, match="cv='five'"):
        compare_with_baseline(_tree(), X, y, cv="five")
    with pytest.raises(ValueError, match="names=.*pair"):
        compare_with_baseline(_tree(), X, y, names=("a", "b", "c"))
    with pytest.raises(ValueError, match="names=.*pair"):
        compare_with_baseline(_tree(), X, y, names="ab")
    with pytest.raises(ValueError, match="different labels"):
        compare_with_baseline(_tree(), X, y, names=("same", "same"))
    with pytest.raises(ValueError, match="preprocessor is only used"):
        compare_with_baseline(
            _tree(), X, y, baseline=_tree(), preprocessor=StandardScaler()
        )
    with pytest.raises(TypeError, match="scoring=.*single scorer"):
        compare_with_baseline(_tree(), X, y, scoring=["accuracy", "f1_macro"])
    with pytest.raises(TypeError, match="estimator='tree'"):
        compare_with_baseline("tree", X, y)


def test_a_comparison_prints_every_column_and_its_summary(iris):
    import pandas as pd

    X, y = iris
    table = compare_with_baseline(_tree(), X, y, cv=5, random_state=0)
    with pd.option_context("display.width", 60, "display.max_columns", 4):
        text = repr(table)  # a narrow terminal: a plain DataFrame would be cut
    header = text.splitlines()[0].split()
    assert header == ["fold_0", "fold_1", "fold_2", "fold_3", "fold_4", "mean", "std",
                      "t_statistic", "p_value"]
    assert "..." not in text and "[3 rows x" not in text
    mean = table.loc["DecisionTreeClassifier", "mean"]
    assert f"{mean:.3f}" in text.splitlines()[1]
    assert text.splitlines()[-1].startswith("On average over 5 folds, DecisionTreeClassifier "
                                            "scored ")
    assert "LogisticRegression (accuracy; corrected resampled t-test p = " in text
    html = table._repr_html_()
    assert "<table" in html and "p_value" in html and f"{mean:.3f}" in html
    assert type(table[["mean"]]) is pd.DataFrame  # derived tables are plain DataFrames


def test_identical_models_get_distinct_labels_and_a_tiny_difference_is_not_0_000(iris):
    X, y = iris
    table = compare_with_baseline(make_baseline(), X, y, cv=3)
    assert list(table.index) == ["LogisticRegression", "LogisticRegression (baseline)",
                                 "difference"]
    table.loc["difference", "mean"] = 0.0002
    assert "about the same as (less than 0.001 higher)" in table.summary()
    assert "0.000 higher" not in table.summary()
