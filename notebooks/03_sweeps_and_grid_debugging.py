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
# # One factor at a time, then a grid: how to debug a search
#
# Before a big search it pays to move one setting at a time and watch what happens.
# This notebook sweeps the hidden-layer width, the L2 penalty and the learning rate,
# looks at loss curves and first-layer weights, shows what a diverging run does,
# then runs a small grid over learning rate x width x penalty x decay and checks it
# for the usual mistakes. One test score comes at the very end.
#
# The data is CIFAR-10 when a copy is already in the Keras cache, otherwise the 8x8
# digits that come with scikit-learn (nothing is downloaded). `KERASTUNE_BUDGET=small`
# makes everything tiny.

# %%
import os

from kerastune_kit.quiet import quiet_tensorflow

quiet_tensorflow()  # import TensorFlow now, without its start-up log lines

BUDGET = os.environ.get("KERASTUNE_BUDGET", "full")
if BUDGET not in ("small", "full"):
    raise ValueError(f"KERASTUNE_BUDGET={BUDGET!r}: use 'full' (the real sizes) or 'small' "
                     "(a quick run, as in the test suite).")
SMALL = BUDGET == "small"

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

# %%
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

# %% [markdown]
# ## 1. Data
#
# `load_cifar10()` only reads the Keras cache; offline and without a copy it raises
# `FileNotFoundError` (saying where the file would go), and we fall back to the digits.
# Either way a test split is put aside now and used once, in the last cell.
#
# The comments between the cells describe what the digits show. On CIFAR-10 a
# fully-connected network reaches far lower accuracy, and the good learning rates and
# widths may lie elsewhere: read the tables and plots, not the comments.

# %%
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

# %% [markdown]
# ## 2. Width of the hidden layer
#
# One hidden layer of 2, 8, 32 or 128 units, everything else fixed. `sweep` trains each
# value on a stratified part of the training data and scores it on the held-out rest;
# with several seeds the band shows the spread between repeats.

# %%
BASE = dict(n_layers=1, nodes=32, epochs=EPOCHS, batch_size=32)

widths = sweep(X_train, y_train, "nodes", [2, 8, 32, 128], seeds=SEEDS, **BASE)
ax = plot_sweep(widths)
ax.set_xscale("log", base=2)
widths.groupby("value")[["train_score", "val_score"]].mean().round(3).T

# %% [markdown]
# Two units are a bottleneck: training and validation accuracy are both low, which is
# underfitting. As the layer widens both rise; a gap opening between the training and
# validation curves would be the first sign of overfitting.
#
# ## 3. Strength of the L2 penalty
#
# A penalty of $\lambda \sum w^2$ on the hidden weights, for $\lambda$ = 0, 1e-5, 1e-3 and
# 0.1, on the widest layer. The x axis is linear near zero and logarithmic above 1e-5, so 0
# can be shown.

# %%
penalties = sweep(X_train, y_train, "kernel_l2", [0.0, 1e-5, 1e-3, 1e-1], seeds=SEEDS,
                  **{**BASE, "nodes": 128})
ax = plot_sweep(penalties)
ax.set_xscale("symlog", linthresh=1e-5)
penalties.groupby("value")[["train_score", "val_score"]].mean().round(3).T

# %% [markdown]
# A small penalty changes little. At 0.1 the penalty dominates the loss: the weights are
# pulled towards zero harder than the data pulls them apart, and training accuracy drops
# with validation accuracy.
#
# ## 4. Learning rate, with plain SGD
#
# 1e-4, 1e-2, 1 and 100. A rate that is too large makes every step overshoot, and the loss
# can grow without bound. The `DivergenceGuard` in the callbacks stops a run as soon as its
# loss is NaN or infinite; with `raise_error=False` it only stops training (the default
# raises `TrainingDiverged`, which is what searches want, see below), so the sweep
# finishes and the table shows what happened.

# %%
SGD = {**BASE, "optimizer": "sgd"}
guard = DivergenceGuard(raise_error=False)

rates = sweep(X_train, y_train, "learning_rate", [1e-4, 1e-2, 1.0, 100.0], seeds=SEEDS,
              callbacks=[guard], **SGD)
display(rates.groupby("value")[["train_score", "val_score", "epochs_trained"]].mean().round(3))
plot_sweep(rates);

# %% [markdown]
# The loss curves tell the story better than the final scores. At 1e-2 the loss creeps
# down (more epochs would help); at 1 it drops fast; at 100 the first steps throw the
# weights so far that the loss jumps by orders of magnitude, every ReLU unit ends up
# switched off, and the network is left guessing at chance level. Note the log scale
# of the loss axis.

# %%
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

# %% [markdown]
# Here the loss at 100 stays finite: the network is broken, but nothing is NaN, so the
# guard has nothing to catch. With an absurd rate the numbers overflow, and then the guard
# acts. Without `raise_error=False` (the default, which `make_callbacks(guard=True)` uses)
# it raises `TrainingDiverged`; scikit-learn searches record such a candidate as failed
# (`error_score`) and go on, Keras Tuner marks the trial FAILED.

# %%
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

# %% [markdown]
# ## 5. What the first layer learned
#
# Each hidden unit of the first layer has one weight per pixel, so its weights can be
# drawn as an image of the input's shape. Weights that have learned something tend to
# show structure, patches of positive and negative weight where the classes differ;
# weights that have barely moved still look like the random noise they started from.
# Compare the network trained at a learning rate of 1 with the one trained at 1e-2,
# whose loss had hardly moved.

# %%
plot_first_layer_weights(curves[1.0], image_shape=IMAGE_SHAPE, n=16)
plt.gcf().suptitle("learning rate 1")
plot_first_layer_weights(curves[1e-2], image_shape=IMAGE_SHAPE, n=16)
plt.gcf().suptitle("learning rate 0.01");

# %% [markdown]
# ## 6. A small grid: learning rate x width x penalty x decay
#
# The learning rate follows `ExponentialDecay(initial, decay_rate)`: epoch $t$ uses
# $\text{initial} \cdot \text{decay\_rate}^t$ (a decay rate of 1 means no decay). The
# schedule sets the optimiser's rate at the start of every epoch, so it owns the learning
# rate: the grid varies the schedule's `initial` rather than the estimator's
# `learning_rate`, through the nested names `callbacks__schedule__initial` and
# `callbacks__schedule__decay_rate`.
#
# `tune(strategy="grid")` runs `GridSearchCV` with stratified folds of the training data.

# %%
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

# %% [markdown]
# Mean score for each pair of settings, averaged over the other two. The grid's values
# are a handful of separate settings, so each gets its own cell: the trials table is
# passed with those columns as text labels.

# %%
labelled = grid.trials.astype({name: str for name in grid_space.names})
fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
plot_param_heatmap(labelled, x="callbacks__schedule__initial", y="nodes", ax=axes[0])
plot_param_heatmap(labelled, x="kernel_l2", y="callbacks__schedule__decay_rate", ax=axes[1]);

# %% [markdown]
# ### Checking the grid before trusting it
#
# Three questions catch most broken searches:
#
# * **Did anything fail?** Failed fits have `status == "failed"` (e.g. a diverged run).
# * **Is the best value at the edge of the grid?** Then the optimum may lie outside it:
#   extend the grid in that direction before narrowing anything.
# * **Is the spread between candidates larger than the spread between folds?** If not,
#   the grid cannot tell its candidates apart.

# %%
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

# %% [markdown]
# ## 7. One test score
#
# `tune` refitted the best grid point on the whole training split. It is scored once on
# the test images.

# %%
print("best parameters:", grid.best_params_)
print(f"cross-validated accuracy: {grid.best_score_:.3f}")
print(f"test accuracy:            {grid.best_estimator_.score(X_test, y_test):.3f}")
