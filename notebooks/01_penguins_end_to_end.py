# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # Penguins, end to end: does a neural network earn its keep?
#
# This notebook takes one small tabular problem from the raw table to a single, final
# test score, and asks at every step whether a Keras network does better than plain
# logistic regression:
#
# 1. load the Palmer penguins (bundled with `kerastune_kit`, no download);
# 2. set aside a stratified test split and do not look at it until the very end;
# 3. score a logistic-regression baseline with cross-validation;
# 4. try networks with 0, 1 and 2 hidden layers, and different widths;
# 5. train with a step-decay learning rate, then with L2 penalties, dropout and early stopping;
# 6. search hyperparameters three ways: `RandomizedSearchCV`, `GridSearchCV` and Hyperband;
# 7. compare the chosen network with the baseline on the same folds;
# 8. score both, once, on the test split.
#
# All preprocessing (imputing missing values, scaling, one-hot encoding) sits *inside* a
# scikit-learn `Pipeline`, so in every cross-validation fold it is fitted on that fold's
# training rows only.
#
# The next cell reads `KERASTUNE_BUDGET`: `full` (the default) uses the real sizes; `small`
# is a quick run with few epochs and trials, used by the test suite. Small-budget numbers
# are not meant to be interpreted.

# %%
import os

from kerastune_kit.quiet import quiet_tensorflow

quiet_tensorflow()  # import TensorFlow now, without its start-up log lines

BUDGET = os.environ.get("KERASTUNE_BUDGET", "full")
if BUDGET not in ("small", "full"):
    raise ValueError(f"KERASTUNE_BUDGET={BUDGET!r}: use 'full' (the real sizes) or 'small' "
                     "(a quick run, as in the test suite).")
SMALL = BUDGET == "small"

SEEDS = (0,) if SMALL else (0, 1, 2)        # repeats of each sweep point
EPOCHS = 10 if SMALL else 40                # epochs for the sweeps and single runs
MAX_EPOCHS = 15 if SMALL else 100           # upper limit when early stopping decides
SEARCH_CV = 2 if SMALL else 3               # folds inside the hyperparameter searches
COMPARE_CV = 3 if SMALL else 5              # folds of the final model-vs-baseline comparison
N_ITER = 2 if SMALL else 20                 # RandomizedSearchCV candidates
WIDTHS = [4, 64] if SMALL else [4, 8, 16, 32, 64, 128, 256]
HYPERBAND_EPOCHS = 3 if SMALL else 30
print(f"budget: {BUDGET}")

# %%
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
from kerastune_kit.trials import format_params

# TensorFlow turns its Python log up to INFO in notebooks; keep warnings like
# "tf.function retracing" (expected when many small models are built) out of the output
logging.getLogger("tensorflow").setLevel(logging.ERROR)
print("kerastune_kit", ktk.__version__)

# %% [markdown]
# ## 1. The data
#
# 344 penguins of three species, measured on three islands of the Palmer Archipelago.
# Two of the six features are categories (`island`, `sex`); missing values are kept
# as `NaN`, so we can see them and deal with them inside the pipeline.

# %%
penguins = load_penguins()
X, y = penguins.data, penguins.target
print(penguins.DESCR.splitlines()[0])
display(X.head())
print("species:", y.value_counts().to_dict())
print("missing values per column:", X.isna().sum().to_dict())

# %% [markdown]
# ## 2. A test split we leave alone
#
# A stratified 80/20 split with a fixed seed gives 275 training and 69 test penguins, with
# the species in the same proportions in both. Everything before section 10 uses only
# `X_train, y_train`: any choice made by looking at test scores would make the final test
# score optimistic.

# %%
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=42)
print(f"{len(X_train)} training rows, {len(X_test)} test rows")
assert (len(X_train), len(X_test)) == (275, 69)
pd.DataFrame({"train": y_train.value_counts(normalize=True),
              "test": y_test.value_counts(normalize=True)}).round(3)

# %% [markdown]
# ## 3. The baseline: logistic regression
#
# `make_preprocessor()` builds a `ColumnTransformer`: numeric columns get median
# imputation and min-max scaling; `island` and `sex` get most-frequent imputation and a
# **one-hot** encoding. An ordinal code (Biscoe = 0, Dream = 1, Torgersen = 2) would invent
# an order and distances between islands that do not exist, so we do not use one.
#
# `make_baseline` puts that preprocessor and a `LogisticRegression` in one `Pipeline`.
# Cross-validating the pipeline refits the preprocessor in every fold, on that fold's
# training rows only, so the scores are not flattered by leakage.

# %%
compare_folds = StratifiedKFold(n_splits=COMPARE_CV, shuffle=True, random_state=0)
baseline = make_baseline(make_preprocessor(), random_state=0)
baseline_scores = cross_val_score(baseline, X_train, y_train, cv=compare_folds)
print(f"logistic regression, {COMPARE_CV}-fold CV accuracy: "
      f"{baseline_scores.mean():.3f} +/- {baseline_scores.std(ddof=1):.3f}")

# What a model sees after preprocessing (fitted here on the training split, for display only)
features = make_preprocessor().fit(X_train).get_feature_names_out()
print(len(features), "features:", list(features))

# %% [markdown]
# ## 4. How many hidden layers?
#
# `sweep` varies one parameter and keeps everything else fixed. For each seed it carves
# a stratified validation part out of the *training* data (fitting the preprocessor on
# the rest), trains one network per value and records training and validation accuracy.
# `n_layers=0` is a softmax regression: the network counterpart of the baseline.

# %%
NETWORK = dict(nodes=16, learning_rate=0.01, batch_size=16, epochs=EPOCHS)

layers = sweep(X_train, y_train, "n_layers", [0, 1, 2], seeds=SEEDS,
               preprocessor=make_preprocessor(), **NETWORK)
display(layers.groupby("value")[["train_score", "val_score", "fit_time"]].mean().round(3))
plot_sweep(layers);

# %% [markdown]
# All three usually land close to the baseline: the species are nearly linearly
# separable from bill and flipper measurements, so hidden layers have little to add.
# (With one seed, as in the small budget, differences of a point or two are noise.)
#
# ## 5. How wide?
#
# The same experiment for the width of a single hidden layer.

# %%
widths = sweep(X_train, y_train, "nodes", WIDTHS, seeds=SEEDS,
               preprocessor=make_preprocessor(), **{**NETWORK, "n_layers": 1})
ax = plot_sweep(widths)
ax.set_xscale("log", base=2)
widths.groupby("value")[["train_score", "val_score"]].mean().round(3).T

# %% [markdown]
# ## 6. A step-decay learning rate
#
# `StepDecay(0.2, drop=0.5, epochs_per_drop=3)` starts plain SGD at 0.2 and halves the rate
# every 3 epochs: 0.2 for epochs 1-3, 0.1 for 4-6, 0.05 for 7-9, ... Large steps early make
# fast progress; smaller ones later let the weights settle.
#
# The schedule is a Keras callback; `make_callbacks` bundles it with a guard that stops a
# run whose loss becomes NaN or infinite. `validation_split=0.2` holds out a stratified
# fifth of the training data, so the history has validation curves. The schedule writes
# the rate it used into the history, so we can plot the planned rates next to the ones
# actually used.

# %%
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

# %% [markdown]
# ## 7. Penalties, dropout and early stopping
#
# Three ways to keep a network from memorising 220 penguins:
#
# * an **L2 penalty** on the hidden weights (`kernel_l2`) adds
#   $\lambda \sum w^2$ to the loss and keeps the weights small;
# * **dropout** switches off a random 30% of the hidden units at every training step,
#   so no unit can rely on a particular other one;
# * **early stopping** watches the validation accuracy and stops after 3 epochs without
#   improvement, then puts back the weights of the best epoch.
#
# The validation rows are again carved out of the training data (`validation_split`);
# the test split plays no part.

# %%
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

# %% [markdown]
# ## 8. Searching hyperparameters
#
# ### 8a. Random search over the pipeline (`RandomizedSearchCV`)
#
# One `SearchSpace` describes the hyperparameters once; bounds are inclusive:
#
# * the learning rate uniform on $[0.001, 0.011]$: `Float(0.001, 0.011)`;
# * the batch size an integer from 2 to 15: `Int(2, 15)` (the small budget uses larger
#   batches, 16 to 32, because tiny batches mean many steps per epoch);
# * the number of epochs.
#
# `space.to_param_distributions("model__")` turns it into the distributions scikit-learn
# expects, with the pipeline's step name in front. The folds are stratified and shuffled
# (`cv=3` alone would also stratify, because `KerasMLPClassifier` is recognised as a
# classifier).

# %%
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

# %% [markdown]
# ### 8b. A 2 x 2 x 2 grid (`GridSearchCV`)
#
# Every combination of two widths, two dropout rates and two learning rates, scored on
# the same folds as the random search. `to_param_grid` refuses continuous dimensions
# (there is no finite grid for them), which is why the values are listed here. The small
# budget keeps one dropout rate: a 2 x 1 x 2 grid.

# %%
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

# %% [markdown]
# ### 8c. Hyperband (Keras Tuner) through `tune`
#
# Hyperband starts many configurations with a few epochs and gives more epochs only to
# the best of them. Here it searches the width (16 to 256 in steps of 16) and the dropout
# rate (0.2, 0.4 or 0.6). `tune(strategy="hyperband")` runs Keras Tuner on a stratified
# validation part of the training data (the preprocessor is fitted on the rest), keeps the
# tuner's files under `kt_penguins/`, and refits the best configuration on all training rows.

# %%
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

# %% [markdown]
# ## 9. Choosing a network, and comparing it with the baseline
#
# The two scikit-learn searches scored their candidates on the same folds of the training
# data, so their best scores can be compared; Hyperband's score comes from one
# validation split of 55 penguins and is noisier. We take the better of the two
# cross-validated winners.
#
# Is it better than logistic regression? `compare_with_baseline` cross-validates both
# pipelines on *the same* folds and tests the fold-by-fold differences with the
# Nadeau-Bengio corrected resampled t-test. A plain paired t-test would be too confident:
# the training sets of different folds overlap, so fold scores are not independent.

# %% readme_figure="penguins_vs_baseline"
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
print("chosen:", type(winner).__name__, format_params(winner.best_params_))

comparison = compare_with_baseline(
    chosen, X_train, y_train, baseline=make_baseline(make_preprocessor(), random_state=0),
    cv=compare_folds)
display(comparison)  # rows named as in the CLI and the report: KerasMLPClassifier, LogisticRegression
plot_baseline_comparison(comparison);

# %%
difference = comparison.loc["difference"]
print(f"mean CV accuracy: KerasMLPClassifier {comparison.loc['KerasMLPClassifier', 'mean']:.3f}, "
      f"LogisticRegression {comparison.loc['LogisticRegression', 'mean']:.3f}")
print(f"difference {difference['mean']:+.3f}, corrected t-test p = {difference['p_value']:.3g}")
if difference["p_value"] >= 0.05:
    print("-> no evidence that the network beats logistic regression on these folds")

# %% [markdown]
# ## 10. The test split, once
#
# Both models are fitted on all 275 training rows and scored once on the 69 test
# penguins. One misclassified penguin is 1.4 percentage points, so differences of one or
# two birds are not evidence of anything.

# %%
final_baseline = make_baseline(make_preprocessor(), random_state=0).fit(X_train, y_train)
test_scores = pd.Series({
    "KerasMLPClassifier": chosen.score(X_test, y_test),
    "LogisticRegression": final_baseline.score(X_test, y_test),
}, name="test accuracy")
display(test_scores.round(4).to_frame())

fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_confusion_matrix(chosen, X_test, y_test, ax=axes[0])
plot_confusion_matrix(final_baseline, X_test, y_test, ax=axes[1])
axes[0].set_title("KerasMLPClassifier: " + axes[0].get_title())
axes[1].set_title("LogisticRegression: " + axes[1].get_title());

# %% [markdown]
# ## Conclusion
#
# On this small, clean table logistic regression is enough. It is already close to
# perfect in cross-validation, trains in milliseconds, has one hyperparameter, and the
# network's tuned hyperparameters buy no difference that survives a fair test on the same
# folds. The workflow is what carries over to harder problems: preprocessing inside the
# pipeline, validation carved from the training data, searches compared on the same folds,
# a baseline on those same folds, and the test split used once, at the end.
