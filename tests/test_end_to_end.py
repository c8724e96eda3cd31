"""The quick start, for real: penguins, a Pipeline, a RandomizedSearchCV, the baseline, one test score."""

from __future__ import annotations

import pytest
from scipy.stats import loguniform, randint
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from kerastune_kit import (
    KerasMLPClassifier,
    compare_with_baseline,
    load_penguins,
    make_baseline,
    make_preprocessor,
)


@pytest.mark.slow
def test_randomized_search_on_penguins_beats_095_on_the_untouched_test_split():
    X, y = load_penguins(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42
    )
    assert (len(X_train), len(X_test)) == (275, 69)
    pipe = Pipeline([
        ("preprocess", make_preprocessor()),  # fitted on each training fold only
        ("model", KerasMLPClassifier(random_state=0, dropout=0.2)),
    ])
    search = RandomizedSearchCV(
        pipe,
        {
            "model__learning_rate": loguniform(1e-3, 3e-2),
            "model__batch_size": [8, 16, 32],
            "model__epochs": randint(10, 31),
        },
        n_iter=5,
        cv=3,
        random_state=0,
    )
    search.fit(X_train, y_train)
    assert isinstance(search.cv, int) and search.n_splits_ == 3
    assert search.best_score_ >= 0.9
    test_accuracy = search.score(X_test, y_test)  # the test split, used once
    assert test_accuracy >= 0.95

    table = compare_with_baseline(
        search.best_estimator_, X_train, y_train,
        baseline=make_baseline(make_preprocessor()), cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    assert table.loc["LogisticRegression", "mean"] >= 0.95  # logistic regression is strong here
    assert 0.0 <= table.loc["difference", "p_value"] <= 1.0
