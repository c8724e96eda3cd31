"""Write the example notebooks of kerastune_kit from the Python source in this file.

The notebooks are generated, never edited by hand: change the cells below and run

    python notebooks/build_notebooks.py          # (re)write notebooks/*.ipynb, without outputs
    python notebooks/build_notebooks.py --check  # exit 1 if a notebook differs from this file

Cell ids are fixed (``cell-01``, ``cell-02``, ...), so rebuilding an unchanged
notebook gives the same bytes and a diff shows only real changes.

Every notebook starts by reading ``KERASTUNE_BUDGET``: ``full`` (the default)
runs the experiments at their real sizes, ``small`` shrinks epochs, trials,
seeds and folds so that the test suite can execute all five in a few minutes
(``tests/test_notebooks.py``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip("\n"))


# Shared by every notebook: quiet TensorFlow's C++ log, then the budget switch.
QUIET = '''
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence TensorFlow's C++ log messages

BUDGET = os.environ.get("KERASTUNE_BUDGET", "full")
if BUDGET not in ("small", "full"):
    raise ValueError(f"KERASTUNE_BUDGET={BUDGET!r}: use 'full' (the real sizes) or 'small' "
                     "(a quick run, as in the test suite).")
SMALL = BUDGET == "small"
'''


def setup_cell(sizes: str):
    return code(textwrap.dedent(QUIET).strip("\n") + "\n\n" + textwrap.dedent(sizes).strip("\n"))


# ---------------------------------------------------------------------------------------------
# 01: penguins, end to end
# ---------------------------------------------------------------------------------------------
PENGUINS = [
    md(r"""
    # Penguins, end to end: does a neural network earn its keep?

    This notebook takes one small tabular problem from the raw table to a single, final
    test score, and asks at every step whether a Keras network does better than plain
    logistic regression:

    1. load the Palmer penguins (bundled with `kerastune_kit`, no download);
    2. set aside a stratified test split and do not look at it until the very end;
    3. score a logistic-regression baseline with cross-validation;
    4. try networks with 0, 1 and 2 hidden layers, and different widths;
    5. train with a step-decay learning rate, then with L2 penalties, dropout and early stopping;
    6. search hyperparameters three ways: `RandomizedSearchCV`, `GridSearchCV` and Hyperband;
    7. compare the chosen network with the baseline on the same folds;
    8. score both, once, on the test split.

    All preprocessing (imputing missing values, scaling, one-hot encoding) sits *inside* a
    scikit-learn `Pipeline`, so in every cross-validation fold it is fitted on that fold's
    training rows only.

    The next cell reads `KERASTUNE_BUDGET`: `full` (the default) uses the real sizes; `small`
    is a quick run with few epochs and trials, used by the test suite. Small-budget numbers
    are not meant to be interpreted.
    """),
    setup_cell('''
    SEEDS = (0,) if SMALL else (0, 1, 2)        # repeats of each sweep point
    EPOCHS = 10 if SMALL else 40                # epochs for the sweeps and single runs
    MAX_EPOCHS = 15 if SMALL else 100           # upper limit when early stopping decides
    SEARCH_CV = 2 if SMALL else 3               # folds inside the hyperparameter searches
    COMPARE_CV = 3 if SMALL else 5              # folds of the final model-vs-baseline comparison
    N_ITER = 2 if SMALL else 20                 # RandomizedSearchCV candidates
    WIDTHS = [4, 64] if SMALL else [4, 8, 16, 32, 64, 128, 256]
    HYPERBAND_EPOCHS = 3 if SMALL else 30
    print(f"budget: {BUDGET}")
    '''),
    code('''
    import logging
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import (
        GridSearchCV, RandomizedSearchCV, StratifiedKFold, cross_val_score, train_test_split)
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    import kerastune_kit as ktk
    from kerastune_kit import (
        Categorical, Float, Int, KerasMLPClassifier, SearchSpace, StepDecay,
        compare_with_baseline, load_penguins, make_baseline, make_callbacks, make_preprocessor,
        sweep, tune)
    from kerastune_kit.plots import (
        plot_baseline_comparison, plot_confusion_matrix, plot_history, plot_lr_schedule,
        plot_sweep)

    # TensorFlow turns its Python log up to INFO in notebooks; keep warnings like
    # "tf.function retracing" (expected when many small models are built) out of the output
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("kerastune_kit", ktk.__version__)
    '''),
    md(r"""
    ## 1. The data

    344 penguins of three species, measured on three islands of the Palmer Archipelago.
    Two of the six features are categories (`island`, `sex`); missing values are kept
    as `NaN`, so we can see them and deal with them inside the pipeline.
    """),
    code('''
    penguins = load_penguins()
    X, y = penguins.data, penguins.target
    print(penguins.DESCR.splitlines()[0])
    display(X.head())
    print("species:", y.value_counts().to_dict())
    print("missing values per column:", X.isna().sum().to_dict())
    '''),
    md(r"""
    ## 2. A test split we leave alone

    A stratified 80/20 split with a fixed seed gives 275 training and 69 test penguins, with
    the species in the same proportions in both. Everything before section 10 uses only
    `X_train, y_train`: any choice made by looking at test scores would make the final test
    score optimistic.
    """),
    code('''
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42)
    print(f"{len(X_train)} training rows, {len(X_test)} test rows")
    assert (len(X_train), len(X_test)) == (275, 69)
    pd.DataFrame({"train": y_train.value_counts(normalize=True),
                  "test": y_test.value_counts(normalize=True)}).round(3)
    '''),
    md(r"""
    ## 3. The baseline: logistic regression

    `make_preprocessor()` builds a `ColumnTransformer`: numeric columns get median
    imputation and min-max scaling; `island` and `sex` get most-frequent imputation and a
    **one-hot** encoding. An ordinal code (Biscoe = 0, Dream = 1, Torgersen = 2) would invent
    an order and distances between islands that do not exist, so we do not use one.

    `make_baseline` puts that preprocessor and a `LogisticRegression` in one `Pipeline`.
    Cross-validating the pipeline refits the preprocessor in every fold, on that fold's
    training rows only, so the scores are not flattered by leakage.
    """),
    code('''
    compare_folds = StratifiedKFold(n_splits=COMPARE_CV, shuffle=True, random_state=0)
    baseline = make_baseline(make_preprocessor(), random_state=0)
    baseline_scores = cross_val_score(baseline, X_train, y_train, cv=compare_folds)
    print(f"logistic regression, {COMPARE_CV}-fold CV accuracy: "
          f"{baseline_scores.mean():.3f} +/- {baseline_scores.std(ddof=1):.3f}")

    # What a model sees after preprocessing (fitted here on the training split, for display only)
    features = make_preprocessor().fit(X_train).get_feature_names_out()
    print(len(features), "features:", list(features))
    '''),
    md(r"""
    ## 4. How many hidden layers?

    `sweep` varies one parameter and keeps everything else fixed. For each seed it carves
    a stratified validation part out of the *training* data (fitting the preprocessor on
    the rest), trains one network per value and records training and validation accuracy.
    `n_layers=0` is a softmax regression: the network counterpart of the baseline.
    """),
    code('''
    NETWORK = dict(nodes=16, learning_rate=0.01, batch_size=16, epochs=EPOCHS)

    layers = sweep(X_train, y_train, "n_layers", [0, 1, 2], seeds=SEEDS,
                   preprocessor=make_preprocessor(), **NETWORK)
    display(layers.groupby("value")[["train_score", "val_score", "fit_time"]].mean().round(3))
    plot_sweep(layers);
    '''),
    md(r"""
    All three usually land close to the baseline: the species are nearly linearly
    separable from bill and flipper measurements, so hidden layers have little to add.
    (With one seed, as in the small budget, differences of a point or two are noise.)

    ## 5. How wide?

    The same experiment for the width of a single hidden layer.
    """),
    code('''
    widths = sweep(X_train, y_train, "nodes", WIDTHS, seeds=SEEDS,
                   preprocessor=make_preprocessor(), **{**NETWORK, "n_layers": 1})
    ax = plot_sweep(widths)
    ax.set_xscale("log", base=2)
    widths.groupby("value")[["train_score", "val_score"]].mean().round(3).T
    '''),
    md(r"""
    ## 6. A step-decay learning rate

    `StepDecay(0.2, drop=0.5, epochs_per_drop=3)` starts plain SGD at 0.2 and halves the rate
    every 3 epochs: 0.2 for epochs 1-3, 0.1 for 4-6, 0.05 for 7-9, ... Large steps early make
    fast progress; smaller ones later let the weights settle.

    The schedule is a Keras callback; `make_callbacks` bundles it with a guard that stops a
    run whose loss becomes NaN or infinite. `validation_split=0.2` holds out a stratified
    fifth of the training data, so the history has validation curves. The schedule writes
    the rate it used into the history, so we can plot the planned rates next to the ones
    actually used.
    """),
    code('''
    schedule = StepDecay(0.2, drop=0.5, epochs_per_drop=3)
    print("planned rates:", [round(schedule(epoch), 4) for epoch in range(9)])

    stepped = Pipeline([
        ("preprocess", make_preprocessor()),
        ("model", KerasMLPClassifier(
            optimizer="sgd", n_layers=1, nodes=16, epochs=EPOCHS, batch_size=16,
            validation_split=0.2, callbacks=make_callbacks(schedule=schedule, patience=None),
            random_state=0)),
    ]).fit(X_train, y_train)

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.2), layout="constrained")
    plot_lr_schedule(schedule, epochs=EPOCHS, ax=axes[0])
    axes[0].set_title("StepDecay: planned")
    plot_lr_schedule(stepped[-1], ax=axes[1])        # the network is the last pipeline step
    plot_history(stepped[-1], axes=axes[2:]);
    '''),
    md(r"""
    ## 7. Penalties, dropout and early stopping

    Three ways to keep a network from memorising 220 penguins:

    * an **L2 penalty** on the hidden weights (`kernel_l2`) adds
      $\lambda \sum w^2$ to the loss and keeps the weights small;
    * **dropout** switches off a random 30% of the hidden units at every training step,
      so no unit can rely on a particular other one;
    * **early stopping** watches the validation accuracy and stops after 3 epochs without
      improvement, then puts back the weights of the best epoch.

    The validation rows are again carved out of the training data (`validation_split`);
    the test split plays no part.
    """),
    code('''
    callbacks = make_callbacks(patience=3, monitor="val_accuracy")
    regularised = Pipeline([
        ("preprocess", make_preprocessor()),
        ("model", KerasMLPClassifier(
            n_layers=2, nodes=64, kernel_l2=1e-3, dropout=0.3, learning_rate=0.01,
            batch_size=16, epochs=MAX_EPOCHS, validation_split=0.2, callbacks=callbacks,
            random_state=0)),
    ]).fit(X_train, y_train)

    history = regularised[-1].history_
    best = int(np.argmax(history["val_accuracy"]))
    print(f"trained {len(history['loss'])} of at most {MAX_EPOCHS} epochs; best epoch {best + 1} "
          f"(validation accuracy {history['val_accuracy'][best]:.3f}), whose weights were kept")
    plot_history(regularised[-1]);
    '''),
    md(r"""
    ## 8. Searching hyperparameters

    ### 8a. Random search over the pipeline (`RandomizedSearchCV`)

    One `SearchSpace` describes the hyperparameters once; bounds are inclusive:

    * the learning rate uniform on $[0.001, 0.011]$: `Float(0.001, 0.011)`;
    * the batch size an integer from 2 to 15: `Int(2, 15)` (the small budget uses larger
      batches, 16 to 32, because tiny batches mean many steps per epoch);
    * the number of epochs.

    `space.to_param_distributions("model__")` turns it into the distributions scikit-learn
    expects, with the pipeline's step name in front. The folds are stratified and shuffled
    (`cv=3` alone would also stratify, because `KerasMLPClassifier` is recognised as a
    classifier).
    """),
    code('''
    search_folds = StratifiedKFold(n_splits=SEARCH_CV, shuffle=True, random_state=0)
    pipeline = Pipeline([
        ("preprocess", make_preprocessor()),
        ("model", KerasMLPClassifier(n_layers=1, nodes=16, random_state=0)),
    ])
    random_space = SearchSpace(
        learning_rate=Float(0.001, 0.011),
        batch_size=Int(16, 32) if SMALL else Int(2, 15),
        epochs=Int(5, 10) if SMALL else Int(10, 50),
    )
    print(random_space)

    random_search = RandomizedSearchCV(
        pipeline, random_space.to_param_distributions("model__"), n_iter=N_ITER,
        cv=search_folds, random_state=0).fit(X_train, y_train)

    columns = ["param_model__learning_rate", "param_model__batch_size", "param_model__epochs",
               "mean_test_score", "std_test_score", "mean_fit_time"]
    random_table = pd.DataFrame(random_search.cv_results_)[columns]
    random_table.sort_values("mean_test_score", ascending=False).head(10).round(4)
    '''),
    md(r"""
    ### 8b. A 2 x 2 x 2 grid (`GridSearchCV`)

    Every combination of two widths, two dropout rates and two learning rates, scored on
    the same folds as the random search. `to_param_grid` refuses continuous dimensions
    (there is no finite grid for them), which is why the values are listed here. The small
    budget keeps one dropout rate: a 2 x 1 x 2 grid.
    """),
    code('''
    grid_space = SearchSpace(
        nodes=[8, 32],
        dropout=[0.0] if SMALL else [0.0, 0.3],
        learning_rate=[0.003, 0.01],
    )
    grid_search = GridSearchCV(
        clone(pipeline).set_params(model__epochs=EPOCHS, model__batch_size=16),
        grid_space.to_param_grid("model__"), cv=search_folds).fit(X_train, y_train)

    grid_table = pd.DataFrame(grid_search.cv_results_)
    grid_table = grid_table[[c for c in grid_table if c.startswith("param_")]
                            + ["mean_test_score", "std_test_score"]]
    grid_table.sort_values("mean_test_score", ascending=False).round(4)
    '''),
    md(r"""
    ### 8c. Hyperband (Keras Tuner) through `tune`

    Hyperband starts many configurations with a few epochs and gives more epochs only to
    the best of them. Here it searches the width (16 to 256 in steps of 16) and the dropout
    rate (0.2, 0.4 or 0.6). `tune(strategy="hyperband")` runs Keras Tuner on a stratified
    validation part of the training data (the preprocessor is fitted on the rest), keeps the
    tuner's files under `kt_penguins/`, and refits the best configuration on all training rows.
    """),
    code('''
    # Hyperband continues a trial from its parent's saved weights; Keras warns that it
    # skips the parent's optimizer state, which is expected here
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")

    hyperband = tune(
        X_train, y_train,
        SearchSpace(nodes=Int(16, 256, step=16), dropout=Categorical([0.2, 0.4, 0.6])),
        strategy="hyperband", max_epochs=HYPERBAND_EPOCHS, factor=3,
        preprocessor=make_preprocessor(),
        estimator_params=dict(n_layers=1, learning_rate=0.01, batch_size=16),
        directory="kt_penguins", project_name="penguins", compare_baseline=False)
    print(hyperband)
    hyperband.top(5)
    '''),
    md(r"""
    ## 9. Choosing a network, and comparing it with the baseline

    The two scikit-learn searches scored their candidates on the same folds of the training
    data, so their best scores can be compared; Hyperband's score comes from one
    validation split of 55 penguins and is noisier. We take the better of the two
    cross-validated winners.

    Is it better than logistic regression? `compare_with_baseline` cross-validates both
    pipelines on *the same* folds and tests the fold-by-fold differences with the
    Nadeau-Bengio corrected resampled t-test. A plain paired t-test would be too confident:
    the training sets of different folds overlap, so fold scores are not independent.
    """),
    code('''
    searches = pd.DataFrame({
        "search": ["RandomizedSearchCV", "GridSearchCV", "Hyperband"],
        "best score": [random_search.best_score_, grid_search.best_score_, hyperband.best_score_],
        "scored on": [f"{SEARCH_CV}-fold CV", f"{SEARCH_CV}-fold CV", "one validation split"],
        "best parameters": [random_search.best_params_, grid_search.best_params_,
                            hyperband.best_params_],
    })
    display(searches)

    winner = max([random_search, grid_search], key=lambda s: s.best_score_)
    chosen = winner.best_estimator_          # refitted on all 275 training rows
    print("chosen:", type(winner).__name__, winner.best_params_)

    comparison = compare_with_baseline(
        chosen, X_train, y_train, baseline=make_baseline(make_preprocessor(), random_state=0),
        cv=compare_folds, names=("network", "logistic regression"))
    display(comparison.round(4))
    plot_baseline_comparison(comparison);
    '''),
    code('''
    difference = comparison.loc["difference"]
    print(f"mean CV accuracy: network {comparison.loc['network', 'mean']:.3f}, "
          f"logistic regression {comparison.loc['logistic regression', 'mean']:.3f}")
    print(f"difference {difference['mean']:+.3f}, corrected t-test p = {difference['p_value']:.3g}")
    if difference["p_value"] >= 0.05:
        print("-> no evidence that the network beats logistic regression on these folds")
    '''),
    md(r"""
    ## 10. The test split, once

    Both models are fitted on all 275 training rows and scored once on the 69 test
    penguins. One misclassified penguin is 1.4 percentage points, so differences of one or
    two birds are not evidence of anything.
    """),
    code('''
    final_baseline = make_baseline(make_preprocessor(), random_state=0).fit(X_train, y_train)
    test_scores = pd.Series({
        "network": chosen.score(X_test, y_test),
        "logistic regression": final_baseline.score(X_test, y_test),
    }, name="test accuracy")
    display(test_scores.round(4).to_frame())

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    plot_confusion_matrix(chosen, X_test, y_test, ax=axes[0])
    plot_confusion_matrix(final_baseline, X_test, y_test, ax=axes[1])
    axes[0].set_title("network: " + axes[0].get_title())
    axes[1].set_title("logistic regression: " + axes[1].get_title());
    '''),
    md(r"""
    ## Conclusion

    On this small, clean table logistic regression is enough. It is already close to
    perfect in cross-validation, trains in milliseconds, has one hyperparameter, and the
    network's tuned hyperparameters buy no difference that survives a fair test on the same
    folds. The workflow is what carries over to harder problems: preprocessing inside the
    pipeline, validation carved from the training data, searches compared on the same folds,
    a baseline on those same folds, and the test split used once, at the end.
    """),
]

# ---------------------------------------------------------------------------------------------
# 02: random search, coarse to fine
# ---------------------------------------------------------------------------------------------
RANDOM = [
    md(r"""
    # Random search, then coarse to fine

    Two hyperparameters that matter a lot for a network, the learning rate and the
    weight decay (here an L2 penalty on the hidden weights, `kernel_l2`), are both
    sensible over several orders of magnitude. This notebook:

    1. samples them on a **log scale**, and Adam's `beta_1` on a **reverse-log** scale;
    2. runs a random search on the 8x8 digits, scoring each candidate by stratified
       cross-validation on the training data, with each network's validation curve
       carved from its training fold;
    3. looks at the best trials' curves and at score versus each parameter;
    4. runs a **coarse-to-fine** search: random rounds, each one narrowed around the best
       trials of the round before;
    5. scores the final choice once on a held-out test split.

    `KERASTUNE_BUDGET=small` makes every search tiny (a test run); the default `full` uses
    the real sizes.
    """),
    setup_cell('''
    EPOCHS = 3 if SMALL else 20
    CV = 2 if SMALL else 3
    N_TRIALS = 3 if SMALL else 20         # random search: 20 fill the 4 x 5 grid of best trials
    ROUNDS = 2 if SMALL else 3            # coarse-to-fine rounds ...
    TRIALS_PER_ROUND = 2 if SMALL else 10  # ... with this many trials each
    TOP_K = 2 if SMALL else 3             # best trials each narrowing is built around
    print(f"budget: {BUDGET}")
    '''),
    code('''
    import logging

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    import kerastune_kit as ktk
    from kerastune_kit import Float, SearchSpace, load_digits, tune
    from kerastune_kit.plots import plot_best_trials, plot_scores

    # TensorFlow turns its Python log up to INFO in notebooks; keep warnings like
    # "tf.function retracing" (expected when many small models are built) out of the output
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("kerastune_kit", ktk.__version__)
    '''),
    md(r"""
    ## 1. Data: digits, with a test split set aside

    1797 handwritten digits, 8x8 pixels scaled to [0, 1]. A fifth goes to the test split,
    which only the last cell uses. Validation data always comes out of the training part.
    """),
    code('''
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0)
    print(X_train.shape, X_test.shape)
    '''),
    md(r"""
    ## 2. Sampling on the right scale

    * `Float(1e-4, 1e-1, scale="log")` makes each decade equally likely: as many draws
      between 1e-4 and 1e-3 as between 1e-2 and 1e-1. A uniform draw would put 90% of them
      in the top decade.
    * `Float(0.9, 0.999, scale="reverse_log")` is log-uniform in $1 - \beta_1$. Adam averages
      gradients over roughly $1 / (1 - \beta_1)$ steps, so 0.9 versus 0.99 (10 versus 100
      steps) is as big a change as 0.99 versus 0.999.

    Sampling costs nothing, so we can check the scales before training anything.
    """),
    code('''
    space = SearchSpace(
        learning_rate=Float(1e-4, 1e-1, scale="log"),
        kernel_l2=Float(1e-6, 1e-1, scale="log"),
        beta_1=Float(0.9, 0.999, scale="reverse_log"),
    )
    print(space)

    draws = pd.DataFrame(space.sample(0, n=2000))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3), layout="constrained")
    axes[0].hist(np.log10(draws["learning_rate"]), bins=30)
    axes[0].set(xlabel="log10(learning rate)", title="log scale")
    axes[1].hist(np.log10(draws["kernel_l2"]), bins=30)
    axes[1].set(xlabel="log10(weight decay)", title="log scale")
    axes[2].hist(np.log10(1 - draws["beta_1"]), bins=30)
    axes[2].set(xlabel="log10(1 - beta_1)", title="reverse-log scale");
    '''),
    md(r"""
    ## 3. Random search

    `tune(strategy="random")` runs scikit-learn's `RandomizedSearchCV` over
    `KerasMLPClassifier` with these distributions. Each candidate is trained on the
    training folds, with a stratified 20% of each training fold held out for its
    validation curve (`validation_split`), and scored on the fold it never saw. The
    `score` column is that cross-validated accuracy.
    """),
    code('''
    NETWORK = dict(n_layers=1, nodes=64, epochs=EPOCHS, batch_size=32, optimizer="adam")

    random_result = tune(
        X_train, y_train, space, strategy="random", n_trials=N_TRIALS, cv=CV,
        validation_split=0.2, estimator_params=NETWORK, directory="runs/random",
        random_state=0, compare_baseline=False)
    print(random_result)

    for rank, row in enumerate(random_result.top(10).itertuples(), start=1):
        print(f"Best-{rank} ({row.score:.3f}) | lr {row.learning_rate:.2e}, "
              f"weight decay {row.kernel_l2:.2e}")
    '''),
    md(r"""
    The best trials' validation (solid) and training (dashed) accuracy per epoch, averaged
    over the folds. With the full budget this is a 4 x 5 grid of the 20 best trials.
    """),
    code('''
    plot_best_trials(random_result, k=20, ncols=5);
    '''),
    md(r"""
    Score against each parameter, on log axes for the log-scale dimensions. What to look
    for: a band of learning rates where the scores are high (too small and the network
    has not learned enough in the epochs it got, too large and training is unstable), and
    the weight decay above which the penalty starts to hold the weights back. `beta_1` is
    drawn on its own scale, $1 - \beta_1$ on a log axis.
    """),
    code('''
    plot_scores(random_result, params=["learning_rate", "kernel_l2"])

    finished = random_result.trials[random_result.trials["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(3.6, 3.2), layout="constrained")
    ax.scatter(1 - finished["beta_1"], finished["score"], alpha=0.75, edgecolor="k", lw=0.3)
    ax.set(xscale="log", xlabel="1 - beta_1", ylabel="score", title="beta_1");
    '''),
    md(r"""
    ## 4. Coarse to fine

    `tune(strategy="coarse-to-fine")` repeats the random search in rounds. After each
    round the space is narrowed around its best `TOP_K` trials (`SearchSpace.narrow`):
    log dimensions are narrowed on the log scale, and the new range never leaves the old
    one. The printed spaces show the narrowing.
    """),
    code('''
    c2f = tune(
        X_train, y_train, space, strategy="coarse-to-fine", rounds=ROUNDS,
        n_trials=TRIALS_PER_ROUND, top_k=TOP_K, cv=CV, validation_split=0.2,
        estimator_params=NETWORK, directory="runs/coarse_to_fine", random_state=0,
        compare_baseline=False)
    for round_, round_space in enumerate(c2f.spaces_):
        print(f"round {round_}:", round_space)

    summary = c2f.trials.groupby("round")["score"].agg(["count", "mean", "max"]).round(4)
    display(summary)
    for rank, row in enumerate(c2f.top(5).itertuples(), start=1):
        print(f"Best-{rank} ({row.score:.3f}) | lr {row.learning_rate:.2e}, "
              f"weight decay {row.kernel_l2:.2e}  [round {row.round}]")
    '''),
    md(r"""
    The number to watch is the *mean* score of each round: it should rise as the space
    closes in on the good region. The best score moves much less, since a good trial was
    already found in the first round; and with more trials there is also more chance of
    a lucky score, which is why the winner still gets one independent test below.
    """),
    code('''
    plot_scores(c2f, params=["learning_rate", "kernel_l2"]);
    '''),
    md(r"""
    ## 5. One test score

    The coarse-to-fine winner, refitted on the whole training split by `tune`, is scored
    once on the test split. Its cross-validated score was measured on the training data
    only, so the two numbers are independent estimates.
    """),
    code('''
    print("best parameters:", c2f.best_params_)
    print(f"cross-validated accuracy (training data): {c2f.best_score_:.3f}")
    print(f"test accuracy:                            {c2f.best_estimator_.score(X_test, y_test):.3f}")
    '''),
]

# ---------------------------------------------------------------------------------------------
# 03: sweeps and grid debugging
# ---------------------------------------------------------------------------------------------
SWEEPS = [
    md(r"""
    # One factor at a time, then a grid: how to debug a search

    Before a big search it pays to move one setting at a time and watch what happens.
    This notebook sweeps the hidden-layer width, the L2 penalty and the learning rate,
    looks at loss curves and first-layer weights, shows what a diverging run does,
    then runs a small grid over learning rate x width x penalty x decay and checks it
    for the usual mistakes. One test score comes at the very end.

    The data is CIFAR-10 when a copy is already in the Keras cache, otherwise the 8x8
    digits that come with scikit-learn (nothing is downloaded). `KERASTUNE_BUDGET=small`
    makes everything tiny.
    """),
    setup_cell('''
    EPOCHS = 3 if SMALL else 20
    SEEDS = (0,) if SMALL else (0, 1, 2)
    CV = 2 if SMALL else 3
    CIFAR_ROWS = 2000 if SMALL else 20000   # CIFAR-10 training images used, if it is cached
    GRID = dict(                            # the grid of section 6
        initial=[0.01, 0.1] if SMALL else [0.003, 0.03, 0.3],
        nodes=[32, 128] if SMALL else [32, 128, 512],
        kernel_l2=[1e-4] if SMALL else [1e-5, 1e-3],
        decay_rate=[0.8] if SMALL else [1.0, 0.8],
    )
    print(f"budget: {BUDGET}")
    '''),
    code('''
    import logging

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    import kerastune_kit as ktk
    from kerastune_kit import (
        DivergenceGuard, ExponentialDecay, KerasMLPClassifier, SearchSpace, TrainingDiverged,
        load_cifar10, load_digits, make_callbacks, sweep, tune)
    from kerastune_kit.plots import (
        plot_first_layer_weights, plot_history, plot_param_heatmap, plot_sweep)

    # TensorFlow turns its Python log up to INFO in notebooks; keep warnings like
    # "tf.function retracing" (expected when many small models are built) out of the output
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("kerastune_kit", ktk.__version__)
    '''),
    md(r"""
    ## 1. Data

    `load_cifar10()` only reads the Keras cache; offline and without a copy it raises
    `FileNotFoundError` (saying where the file would go), and we fall back to the digits.
    Either way a test split is put aside now and used once, in the last cell.

    The comments between the cells describe what the digits show. On CIFAR-10 a
    fully-connected network reaches far lower accuracy, and the good learning rates and
    widths may lie elsewhere: read the tables and plots, not the comments.
    """),
    code('''
    try:
        cifar = load_cifar10()
    except FileNotFoundError as missing:
        print("CIFAR-10 is not in the Keras cache, so this notebook uses the 8x8 digits.")
        print("(" + str(missing).split(". ")[0] + ".)")
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, stratify=y, random_state=0)
        DATASET, IMAGE_SHAPE = "digits", (8, 8)
    else:
        rows = np.random.default_rng(0).permutation(len(cifar.y_train))[:CIFAR_ROWS]
        X_train, y_train = cifar.X_train[rows], cifar.y_train[rows]
        X_test, y_test = cifar.X_test, cifar.y_test
        DATASET, IMAGE_SHAPE = "cifar10", (32, 32, 3)
    print(f"{DATASET}: {len(X_train)} training and {len(X_test)} test images of shape {IMAGE_SHAPE}")
    '''),
    md(r"""
    ## 2. Width of the hidden layer

    One hidden layer of 2, 8, 32 or 128 units, everything else fixed. `sweep` trains each
    value on a stratified part of the training data and scores it on the held-out rest;
    with several seeds the band shows the spread between repeats.
    """),
    code('''
    BASE = dict(n_layers=1, nodes=32, epochs=EPOCHS, batch_size=32)

    widths = sweep(X_train, y_train, "nodes", [2, 8, 32, 128], seeds=SEEDS, **BASE)
    ax = plot_sweep(widths)
    ax.set_xscale("log", base=2)
    widths.groupby("value")[["train_score", "val_score"]].mean().round(3).T
    '''),
    md(r"""
    Two units are a bottleneck: training and validation accuracy are both low, which is
    underfitting. As the layer widens both rise; a gap opening between the training and
    validation curves would be the first sign of overfitting.

    ## 3. Strength of the L2 penalty

    A penalty of $\lambda \sum w^2$ on the hidden weights, for $\lambda$ = 0, 1e-5, 1e-3 and
    0.1, on the widest layer. The x axis is linear near zero and logarithmic above 1e-5, so 0
    can be shown.
    """),
    code('''
    penalties = sweep(X_train, y_train, "kernel_l2", [0.0, 1e-5, 1e-3, 1e-1], seeds=SEEDS,
                      **{**BASE, "nodes": 128})
    ax = plot_sweep(penalties)
    ax.set_xscale("symlog", linthresh=1e-5)
    penalties.groupby("value")[["train_score", "val_score"]].mean().round(3).T
    '''),
    md(r"""
    A small penalty changes little. At 0.1 the penalty dominates the loss: the weights are
    pulled towards zero harder than the data pulls them apart, and training accuracy drops
    with validation accuracy.

    ## 4. Learning rate, with plain SGD

    1e-4, 1e-2, 1 and 100. A rate that is too large makes every step overshoot, and the loss
    can grow without bound. The `DivergenceGuard` in the callbacks stops a run as soon as its
    loss is NaN or infinite; with `raise_error=False` it only stops training (the default
    raises `TrainingDiverged`, which is what searches want, see below), so the sweep
    finishes and the table shows what happened.
    """),
    code('''
    SGD = {**BASE, "optimizer": "sgd"}
    guard = DivergenceGuard(raise_error=False)

    rates = sweep(X_train, y_train, "learning_rate", [1e-4, 1e-2, 1.0, 100.0], seeds=SEEDS,
                  callbacks=[guard], **SGD)
    display(rates.groupby("value")[["train_score", "val_score", "epochs_trained"]].mean().round(3))
    plot_sweep(rates);
    '''),
    md(r"""
    The loss curves tell the story better than the final scores. At 1e-2 the loss creeps
    down (more epochs would help); at 1 it drops fast; at 100 the first steps throw the
    weights so far that the loss jumps by orders of magnitude, every ReLU unit ends up
    switched off, and the network is left guessing at chance level. Note the log scale
    of the loss axis.
    """),
    code('''
    curves = {}
    for lr in [1e-2, 1.0, 100.0]:
        curves[lr] = KerasMLPClassifier(
            **SGD, learning_rate=lr, validation_split=0.2, random_state=0,
            callbacks=[DivergenceGuard(raise_error=False)]).fit(X_train, y_train)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), layout="constrained")
    for ax, (lr, clf) in zip(axes, curves.items()):
        plot_history(clf, metrics="loss", axes=[ax])
        ax.set_yscale("log")
        ax.set_title(f"SGD, learning rate {lr:g}")

    # A ReLU unit is "dead" when it outputs 0 for every training image.
    pixels = X_train.reshape(len(X_train), -1)
    for lr, clf in curves.items():
        layer = clf.model_.get_layer("hidden_0")
        hidden = np.maximum(pixels @ np.asarray(layer.kernel) + np.asarray(layer.bias), 0.0)
        dead = int((hidden.max(axis=0) == 0).sum())
        print(f"learning rate {lr:g}: {dead} of {hidden.shape[1]} hidden units never fire")
    '''),
    md(r"""
    Here the loss at 100 stays finite: the network is broken, but nothing is NaN, so the
    guard has nothing to catch. With an absurd rate the numbers overflow, and then the guard
    acts. Without `raise_error=False` (the default, which `make_callbacks(guard=True)` uses)
    it raises `TrainingDiverged`; scikit-learn searches record such a candidate as failed
    (`error_score`) and go on, Keras Tuner marks the trial FAILED.
    """),
    code('''
    absurd = DivergenceGuard(raise_error=False)
    clf = KerasMLPClassifier(**SGD, learning_rate=1e20, validation_split=0.2, random_state=0,
                             callbacks=[absurd]).fit(X_train, y_train)
    print(f"raise_error=False: diverged at {absurd.diverged_}; "
          f"loss history {clf.history_['loss']}")

    try:
        KerasMLPClassifier(**SGD, learning_rate=1e20, random_state=0,
                           callbacks=make_callbacks(patience=None, guard=True)).fit(X_train, y_train)
    except TrainingDiverged as err:
        print("make_callbacks(guard=True):", type(err).__name__, "-", err)
    '''),
    md(r"""
    ## 5. What the first layer learned

    Each hidden unit of the first layer has one weight per pixel, so its weights can be
    drawn as an image of the input's shape. Weights that have learned something tend to
    show structure, patches of positive and negative weight where the classes differ;
    weights that have barely moved still look like the random noise they started from.
    Compare the network trained at a learning rate of 1 with the one trained at 1e-2,
    whose loss had hardly moved.
    """),
    code('''
    plot_first_layer_weights(curves[1.0], image_shape=IMAGE_SHAPE, n=16)
    plt.gcf().suptitle("learning rate 1")
    plot_first_layer_weights(curves[1e-2], image_shape=IMAGE_SHAPE, n=16)
    plt.gcf().suptitle("learning rate 0.01");
    '''),
    md(r"""
    ## 6. A small grid: learning rate x width x penalty x decay

    The learning rate follows `ExponentialDecay(initial, decay_rate)`: epoch $t$ uses
    $\text{initial} \cdot \text{decay\_rate}^t$ (a decay rate of 1 means no decay). The
    schedule sets the optimiser's rate at the start of every epoch, so it owns the learning
    rate: the grid varies the schedule's `initial` rather than the estimator's
    `learning_rate`, through the nested names `callbacks__schedule__initial` and
    `callbacks__schedule__decay_rate`.

    `tune(strategy="grid")` runs `GridSearchCV` with stratified folds of the training data.
    """),
    code('''
    grid_space = SearchSpace(
        callbacks__schedule__initial=GRID["initial"],
        nodes=GRID["nodes"],
        kernel_l2=GRID["kernel_l2"],
        callbacks__schedule__decay_rate=GRID["decay_rate"],
    )
    n_candidates = int(np.prod([len(values) for values in GRID.values()]))
    print(f"{n_candidates} candidates x {CV} folds = {n_candidates * CV} fits")

    grid = tune(
        X_train, y_train, grid_space, strategy="grid", cv=CV,
        estimator_params=dict(n_layers=1, epochs=EPOCHS, batch_size=32, optimizer="sgd",
                              momentum=0.9),
        callbacks=make_callbacks(schedule=ExponentialDecay(0.01, decay_rate=0.9), patience=None),
        directory="runs/grid", random_state=0, compare_baseline=False)
    grid.top(10).drop(columns=["round", "strategy"]).round({"score": 4, "score_std": 4,
                                                            "fit_time": 2})
    '''),
    md(r"""
    Mean score for each pair of settings, averaged over the other two. The grid's values
    are a handful of separate settings, so each gets its own cell: the trials table is
    passed with those columns as text labels.
    """),
    code('''
    labelled = grid.trials.astype({name: str for name in grid_space.names})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    plot_param_heatmap(labelled, x="callbacks__schedule__initial", y="nodes", ax=axes[0])
    plot_param_heatmap(labelled, x="kernel_l2", y="callbacks__schedule__decay_rate", ax=axes[1]);
    '''),
    md(r"""
    ### Checking the grid before trusting it

    Three questions catch most broken searches:

    * **Did anything fail?** Failed fits have `status == "failed"` (e.g. a diverged run).
    * **Is the best value at the edge of the grid?** Then the optimum may lie outside it:
      extend the grid in that direction before narrowing anything.
    * **Is the spread between candidates larger than the spread between folds?** If not,
      the grid cannot tell its candidates apart.
    """),
    code('''
    trials = grid.trials
    print(f"failed fits: {(trials['status'] == 'failed').sum()} of {len(trials)}")
    for name, values in grid_space.to_param_grid().items():
        best = grid.best_params_[name]
        if len(values) == 1:
            print(f"{name}: fixed at {best} (one value in this budget)")
        elif len(values) == 2:
            print(f"{name}: best {best} of only two values {values}: "
                  "a grid this coarse cannot show where the optimum lies")
        elif best in (min(values), max(values)):
            print(f"{name}: best value {best} is at the edge of {values} -> extend the grid")
        else:
            print(f"{name}: best value {best} is inside {values}")
    ok = trials[trials["status"] == "ok"]
    print(f"spread of mean scores across candidates: {ok['score'].std():.4f}; "
          f"typical spread across folds: {ok['score_std'].mean():.4f}")
    '''),
    md(r"""
    ## 7. One test score

    `tune` refitted the best grid point on the whole training split. It is scored once on
    the test images.
    """),
    code('''
    print("best parameters:", grid.best_params_)
    print(f"cross-validated accuracy: {grid.best_score_:.3f}")
    print(f"test accuracy:            {grid.best_estimator_.score(X_test, y_test):.3f}")
    '''),
]

# ---------------------------------------------------------------------------------------------
# 04: regularisation, initialisation, schedules
# ---------------------------------------------------------------------------------------------
TRAINING = [
    md(r"""
    # Initialisation, regularisation and learning-rate schedules

    A tour of the settings that decide whether and how well a network trains, one
    experiment each, on the 8x8 digits:

    1. initial weights: He, Glorot, and all zeros;
    2. L1 + L2 penalties, dropout and a max-norm constraint;
    3. exponential, cosine and cosine-with-restarts learning-rate schedules;
    4. Adam with a custom `beta_1`;
    5. keeping the best epoch with `BestCheckpoint` and loading it back safely;
    6. `tanh` and leaky ReLU activations.

    The data is split once into training, validation and test parts. Runs are compared on
    the validation part; the test part is used once, at the end. `KERASTUNE_BUDGET=small`
    trains only a few epochs.
    """),
    setup_cell('''
    EPOCHS = 4 if SMALL else 40
    print(f"budget: {BUDGET}")
    '''),
    code('''
    import logging

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import kerastune_kit as ktk
    from kerastune_kit import (
        BestCheckpoint, CosineDecay, CosineDecayRestarts, ExponentialDecay, KerasMLPClassifier,
        load_checkpoint, load_digits, train_val_test_split)
    from kerastune_kit.plots import plot_history, plot_lr_schedule

    # TensorFlow turns its Python log up to INFO in notebooks; keep warnings like
    # "tf.function retracing" (expected when many small models are built) out of the output
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("kerastune_kit", ktk.__version__)
    '''),
    md(r"""
    ## Data and a helper

    `train_val_test_split` makes three stratified parts in one call (60/20/20). Every run
    trains on `X_train`, reports validation curves on `X_val`, and lands in the `runs`
    dictionary so the experiments can be compared in one table.
    """),
    code('''
    X, y = load_digits(return_X_y=True)
    X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
        X, y, val_size=0.2, test_size=0.2, random_state=0)
    print(f"train {len(X_train)}, validation {len(X_val)}, test {len(X_test)}")

    COMMON = dict(n_layers=2, nodes=64, epochs=EPOCHS, batch_size=32, random_state=0)
    runs = {}

    def train(name, **params):
        """Fit one network with COMMON settings changed by params; keep it in runs."""
        clf = KerasMLPClassifier(**{**COMMON, **params})
        clf.fit(X_train, y_train, validation_data=(X_val, y_val))
        runs[name] = clf
        return clf

    def compare(*names):
        rows = {name: {"train acc": runs[name].score(X_train, y_train),
                       "val acc": runs[name].score(X_val, y_val),
                       "epochs": len(runs[name].history_["loss"])} for name in names}
        table = pd.DataFrame(rows).T.astype({"epochs": int})
        table["gap"] = table["train acc"] - table["val acc"]
        return table.round(3)
    '''),
    md(r"""
    ## 1. Initial weights

    * **He** (`he_uniform`, the default here) scales the random weights by the layer's fan-in
      so that ReLU activations keep a steady variance from layer to layer.
    * **Glorot** (`glorot_uniform`) scales by fan-in and fan-out; it was designed for
      tanh-like units and usually works for ReLU too in a network this shallow.
    * **All zeros.** When all weights are equal, every unit of a layer computes the same
      thing and gets the same update, so a layer of 64 units behaves like one unit. With zeros
      and ReLU it is worse: every hidden output is exactly 0 and so is the gradient of every
      hidden weight, so the hidden layers never change and the network can only learn the
      output layer's biases, i.e. the class frequencies.
    """),
    code('''
    for init in ["he_uniform", "glorot_uniform", "zeros"]:
        train(init, kernel_initializer=init)
    display(compare("he_uniform", "glorot_uniform", "zeros"))

    first = runs["zeros"].model_.get_layer("hidden_0").kernel
    print("largest |weight| in the first hidden layer after training from zeros:",
          float(np.abs(np.asarray(first)).max()))

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    plot_history(runs["he_uniform"], metrics="accuracy", axes=[axes[0]])
    plot_history(runs["zeros"], metrics="accuracy", axes=[axes[1]])
    axes[0].set_title("he_uniform")
    axes[1].set_title("zeros");
    '''),
    md(r"""
    ## 2. Penalties, dropout and max-norm

    Compared with the unregularised He run:

    * `kernel_l1=1e-5, kernel_l2=1e-4` add $10^{-5}\sum|w| + 10^{-4}\sum w^2$ to the loss:
      L1 drives unhelpful weights towards zero, L2 keeps all of them small;
    * `dropout=0.3` drops 30% of the hidden units at each training step (never at prediction);
    * `max_norm=1.0` rescales each unit's incoming weight vector whenever its length
      exceeds 1 after an update.

    The `gap` column (training minus validation accuracy) is what regularisation is meant
    to shrink; the last column checks the max-norm constraint.
    """),
    code('''
    train("L1 + L2", kernel_l1=1e-5, kernel_l2=1e-4)
    train("dropout 0.3", dropout=0.3)
    train("max_norm 1", max_norm=1.0)

    table = compare("he_uniform", "L1 + L2", "dropout 0.3", "max_norm 1")
    table["largest unit norm"] = [
        float(np.linalg.norm(np.asarray(runs[name].model_.get_layer("hidden_0").kernel),
                             axis=0).max()) for name in table.index]
    table.round(3)
    '''),
    md(r"""
    Expect small effects here: a difference of a few tenths of a percentage point on 360
    validation digits is about what another seed would change. Regularisation earns its
    keep when the network is large for the amount of data, or trains for much longer.
    """),
    md(r"""
    ## 3. Learning-rate schedules

    Each schedule is one formula in the number of epochs done, $t$:

    * `ExponentialDecay(0.01, decay_rate=0.8)`: $0.01 \cdot 0.8^t$;
    * `CosineDecay(0.01, decay_epochs=E)`: half a cosine from 0.01 down to 0 over $E$ epochs;
    * `CosineDecayRestarts(0.01, first_decay_epochs=2, t_mul=2)`: the same curve, restarted
      at the top after 2, then 4, then 8 epochs, so epochs 3, 7 and 15 (counting from 1)
      start at 0.01 again.

    Calling a schedule gives the rate of an epoch, which is all `plot_lr_schedule` needs.
    """),
    code('''
    SHOW = 30    # epochs to draw (drawing trains nothing)
    schedules = [ExponentialDecay(0.01, decay_rate=0.8),
                 CosineDecay(0.01, decay_epochs=SHOW),
                 CosineDecayRestarts(0.01, first_decay_epochs=2, t_mul=2)]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), layout="constrained")
    for ax, schedule in zip(axes, schedules):
        plot_lr_schedule(schedule, epochs=SHOW, ax=ax)
        ax.set_yscale("linear")  # the three shapes compare best on a linear axis
    '''),
    md(r"""
    As a callback the schedule sets the optimiser's rate at the start of every epoch and
    records it in the history as `learning_rate`, so the rates that were actually used can
    be plotted from the fitted model. (Alternatively,
    `learning_rate=schedule.as_keras_schedule(steps_per_epoch)` gives Keras a per-step
    schedule with the same formula.)
    """),
    code('''
    restarts = CosineDecayRestarts(0.01, first_decay_epochs=2, t_mul=2)
    train("cosine restarts", callbacks=[restarts])
    print("rates used:", np.round(runs["cosine restarts"].history_["learning_rate"], 5))

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    plot_lr_schedule(runs["cosine restarts"], ax=axes[0])
    plot_history(runs["cosine restarts"], metrics="loss", axes=[axes[1]]);
    '''),
    md(r"""
    ## 4. Adam with a custom `beta_1`

    Adam keeps a running average of the gradients with weight `beta_1` (0.9 by default):
    roughly the last $1/(1-\beta_1)$ steps count. `beta_1=0.5` averages over about two steps
    (little momentum); `beta_1=0.99` over about a hundred (a lot of momentum, slow to turn).
    The estimator passes it to the optimiser unchanged.
    """),
    code('''
    for beta_1 in [0.5, 0.99]:
        clf = train(f"adam beta_1={beta_1}", optimizer="adam", beta_1=beta_1, learning_rate=3e-3)
        print(f"beta_1={beta_1}: optimizer uses beta_1 =", float(clf.model_.optimizer.beta_1))
    compare("he_uniform", "adam beta_1=0.5", "adam beta_1=0.99")
    '''),
    md(r"""
    ## 5. Keep the best epoch: `BestCheckpoint`

    `BestCheckpoint` watches `val_loss` and saves the whole model (Keras format) every time
    it improves; each training run writes its own file under `checkpoints/`, through a
    temporary file renamed into place, so a crash never leaves a half-written checkpoint.
    `load_checkpoint` loads it with Keras' safe mode on, which refuses to deserialise code
    stored in the file (such as a `Lambda` layer's function).

    Evaluating the loaded model on the validation data gives back the best `val_loss` seen
    during training, not the last one.
    """),
    code('''
    checkpoint = BestCheckpoint(directory="checkpoints", monitor="val_loss")
    clf = train("checkpointed", callbacks=[checkpoint], learning_rate=3e-3)

    val_losses = clf.history_["val_loss"]
    print("checkpoint file:", checkpoint.path_)
    print(f"best epoch {checkpoint.best_epoch_ + 1}: val_loss {checkpoint.best_:.4f} "
          f"(last epoch: {val_losses[-1]:.4f})")

    restored = load_checkpoint(checkpoint.path_)
    loss, accuracy = restored.evaluate(X_val, y_val, verbose=0)
    print(f"loaded checkpoint on the validation data: loss {loss:.4f}, accuracy {accuracy:.3f}")
    assert np.isclose(loss, checkpoint.best_, rtol=1e-3), (loss, checkpoint.best_)
    '''),
    md(r"""
    ## 6. Activations: `tanh` and leaky ReLU

    `tanh` squashes to $(-1, 1)$ and is zero-centred; it saturates for large inputs, and it
    pairs with Glorot initialisation. Leaky ReLU passes a small slope for negative inputs
    instead of zero, so a unit that has been pushed negative can still recover.
    """),
    code('''
    train("tanh", activation="tanh", kernel_initializer="glorot_uniform")
    train("leaky_relu", activation="leaky_relu")
    compare("he_uniform", "tanh", "leaky_relu")
    '''),
    md(r"""
    ## 7. The test split, once

    All runs so far were judged on the validation split. The one with the best validation
    accuracy is scored once on the test split.
    """),
    code('''
    everything = compare(*runs)
    display(everything.sort_values("val acc", ascending=False))
    chosen = everything["val acc"].idxmax()
    print(f"chosen on validation accuracy: {chosen!r}; "
          f"test accuracy {runs[chosen].score(X_test, y_test):.3f}")
    '''),
]

# ---------------------------------------------------------------------------------------------
# 05: babysitting one model
# ---------------------------------------------------------------------------------------------
BABYSITTING = [
    md(r"""
    # Babysitting one model: range test, one cycle, and changing the rate as it trains

    The course notes name two ways to spend compute: train many models and keep the best
    (what `tune` does), or *babysit one model* and adjust it as it trains. This notebook
    does the second, on the penguins and the 8x8 digits:

    1. the learning-rate range test (Smith 2017) with `lr_find`: one short run with the rate
       growing exponentially every step, stopped when the loss blows up;
    2. a one-cycle fit (`OneCycle`) whose peak is the range test's suggestion;
    3. continuing the same network with a lower rate (`warm_start=True`), the whole life of
       the model in one plot;
    4. a search whose learning-rate range is centred on the suggestion (`Float.around`).

    The range test trains a copy of the estimator, on the training part only.
    `KERASTUNE_BUDGET=small` shortens every run.
    """),
    setup_cell('''
    STEPS = 60 if SMALL else 200
    EPOCHS = 3 if SMALL else 20
    TRIALS = 2 if SMALL else 10
    print(f"budget: {BUDGET}")
    '''),
    code('''
    import logging

    import matplotlib.pyplot as plt
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    import kerastune_kit as ktk
    from kerastune_kit import (Float, Int, KerasMLPClassifier, OneCycle, SearchSpace,
                               load_digits, load_penguins, lr_find, make_preprocessor, tune)
    from kerastune_kit.plots import plot_history

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("kerastune_kit", ktk.__version__)
    '''),
    md(r"""
    ## The range test on the penguins

    The network sits in a Pipeline after `make_preprocessor()`; `lr_find` fits the
    preprocessing on the rows it is given (the training part). Two rules suggest a rate:
    a tenth of the rate at the loss minimum (`min/10`, the default) and the steepest
    descent of the smoothed loss.
    """),
    code('''
    X, y = load_penguins(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                        random_state=42)
    pipe = Pipeline([("preprocess", make_preprocessor()),
                     ("model", KerasMLPClassifier(batch_size=16, random_state=0))])
    penguins_lr = lr_find(pipe, X_train, y_train, num_steps=STEPS)
    print(penguins_lr)
    penguins_lr.plot();
    '''),
    md(r"""
    ## The range test on the digits, with Adam and with SGD

    SGD needs rates one to two decades higher than Adam; the test finds both.
    """),
    code('''
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y,
                                                      random_state=0)
    found = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
    for ax, optimizer in zip(axes, ["adam", "sgd"]):
        found[optimizer] = lr_find(KerasMLPClassifier(optimizer=optimizer, nodes=64,
                                                      random_state=0),
                                   X_train, y_train, num_steps=STEPS)
        found[optimizer].plot(ax=ax)
        ax.set_title(f"{optimizer}: suggestion {found[optimizer].suggestion:.2g}")
    '''),
    md(r"""
    ## One cycle at the suggested peak, then a few more epochs at a lower rate

    `OneCycle(result)` takes its peak from the range test: it warms up from `peak / 25`
    to the peak over the first 30% of the epochs, then anneals far below the start.
    With `warm_start=True` the next `fit` continues the same weights and optimiser state;
    `set_params(learning_rate=...)` changes the rate, and `history_` grows, so one plot
    shows the whole run, the change marked.
    """),
    code('''
    clf = KerasMLPClassifier(optimizer="adam", nodes=64, epochs=EPOCHS, warm_start=True,
                             callbacks=[OneCycle(found["adam"], total_epochs=EPOCHS,
                                                 per_step=True)],
                             validation_split=0.2, random_state=0)
    clf.fit(X_train, y_train)
    print(f"after one cycle: validation accuracy {clf.score(X_val, y_val):.3f}")
    clf.set_params(callbacks=None, learning_rate=found["adam"].suggestion / 10,
                   epochs=max(EPOCHS // 4, 1))
    clf.fit(X_train, y_train)
    print(f"after the lower rate: validation accuracy {clf.score(X_val, y_val):.3f}")
    print(clf.segments_)
    plot_history(clf, metrics=["loss", "accuracy", "learning_rate"]);
    '''),
    md(r"""
    ## A search centred on the suggestion

    `Float.around(result, decades=1)` is a log-scale range from a tenth to ten times the
    suggestion: the coarse-to-fine idea, with the range test as the coarse step.
    """),
    code('''
    space = SearchSpace(learning_rate=Float.around(found["adam"], decades=1),
                        nodes=Int(32, 128, step=32))
    print(space)
    result = tune(X_train, y_train, space, strategy="random", n_trials=TRIALS, cv=2,
                  estimator_params={"epochs": EPOCHS}, compare_baseline=False, random_state=0)
    display(result.top(5).drop(columns=["train_curve", "val_curve"], errors="ignore"))
    print(f"validation accuracy of the refitted best: "
          f"{result.best_estimator_.score(X_val, y_val):.3f}")
    '''),
]

NOTEBOOKS = {
    "01_penguins_end_to_end.ipynb": PENGUINS,
    "02_random_search_coarse_to_fine.ipynb": RANDOM,
    "03_sweeps_and_grid_debugging.ipynb": SWEEPS,
    "04_regularisation_initialisation_schedules.ipynb": TRAINING,
    "05_babysitting_one_model.ipynb": BABYSITTING,
}


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[nbformat.from_dict(dict(cell)) for cell in cells])
    for i, cell in enumerate(nb.cells, start=1):
        cell["id"] = f"cell-{i:02d}"
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def render(cells) -> str:
    return nbformat.writes(build(cells)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook is missing or out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        text = render(cells)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print("wrote", path.relative_to(HERE.parent))
    if stale:
        print("out of date (run python notebooks/build_notebooks.py):", ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
