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
# # Babysitting one model: range test, one cycle, and changing the rate as it trains
#
# The course notes name two ways to spend compute: train many models and keep the best
# (what `tune` does), or *babysit one model* and adjust it as it trains. This notebook
# does the second, on the penguins and the 8x8 digits:
#
# 1. the learning-rate range test (Smith 2017) with `lr_find`: one short run with the rate
#    growing exponentially every step, stopped when the loss blows up;
# 2. a one-cycle fit (`OneCycle`) whose peak is the range test's suggestion;
# 3. continuing the same network with a lower rate (`warm_start=True`), the whole life of
#    the model in one plot;
# 4. a search whose learning-rate range is centred on the suggestion (`Float.around`).
#
# The range test trains a copy of the estimator, on the training part only.
# `KERASTUNE_BUDGET=small` shortens every run.

# %%
import os

from kerastune_kit.quiet import quiet_tensorflow

quiet_tensorflow()  # import TensorFlow now, without its start-up log lines

BUDGET = os.environ.get("KERASTUNE_BUDGET", "full")
if BUDGET not in ("small", "full"):
    raise ValueError(f"KERASTUNE_BUDGET={BUDGET!r}: use 'full' (the real sizes) or 'small' "
                     "(a quick run, as in the test suite).")
SMALL = BUDGET == "small"

STEPS = 60 if SMALL else 200
EPOCHS = 3 if SMALL else 20
TRIALS = 2 if SMALL else 10
print(f"budget: {BUDGET}")

# %%
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

# %% [markdown]
# ## The range test on the penguins
#
# The network sits in a Pipeline after `make_preprocessor()`; `lr_find` fits the
# preprocessing on the rows it is given (the training part). Two rules suggest a rate:
# a tenth of the rate at the loss minimum (`min/10`, the default) and the steepest
# descent of the smoothed loss.

# %%
X, y = load_penguins(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                    random_state=42)
pipe = Pipeline([("preprocess", make_preprocessor()),
                 ("model", KerasMLPClassifier(batch_size=16, random_state=0))])
penguins_lr = lr_find(pipe, X_train, y_train, num_steps=STEPS)
print(penguins_lr)
penguins_lr.plot();

# %% [markdown]
# ## The range test on the digits, with Adam and with SGD
#
# SGD needs rates one to two decades higher than Adam; the test finds both.

# %%
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

# %% [markdown]
# ## One cycle at the suggested peak, then a few more epochs at a lower rate
#
# `OneCycle(result)` takes its peak from the range test: it warms up from `peak / 25`
# to the peak over the first 30% of the epochs, then anneals far below the start.
# With `warm_start=True` the next `fit` continues the same weights and optimiser state;
# `set_params(learning_rate=...)` changes the rate, and `history_` grows, so one plot
# shows the whole run, the change marked.

# %%
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

# %% [markdown]
# ## A search centred on the suggestion
#
# `Float.around(result, decades=1)` is a log-scale range from a tenth to ten times the
# suggestion: the coarse-to-fine idea, with the range test as the coarse step.

# %%
space = SearchSpace(learning_rate=Float.around(found["adam"], decades=1),
                    nodes=Int(32, 128, step=32))
print(space)
result = tune(X_train, y_train, space, strategy="random", n_trials=TRIALS, cv=2,
              estimator_params={"epochs": EPOCHS}, compare_baseline=False, random_state=0)
display(result.top(5).drop(columns=["train_curve", "val_curve"], errors="ignore"))
print(f"validation accuracy of the refitted best: "
      f"{result.best_estimator_.score(X_val, y_val):.3f}")
