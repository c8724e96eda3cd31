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
# # Random search, then coarse to fine
#
# Two hyperparameters that matter a lot for a network, the learning rate and the
# weight decay (here an L2 penalty on the hidden weights, `kernel_l2`), are both
# sensible over several orders of magnitude. This notebook:
#
# 1. samples them on a **log scale**, and Adam's `beta_1` on a **reverse-log** scale;
# 2. runs a random search on the 8x8 digits, scoring each candidate by stratified
#    cross-validation on the training data, with each network's validation curve
#    carved from its training fold;
# 3. looks at the best trials' curves and at score versus each parameter;
# 4. runs a **coarse-to-fine** search: random rounds, each one narrowed around the best
#    trials of the round before;
# 5. scores the final choice once on a held-out test split.
#
# `KERASTUNE_BUDGET=small` makes every search tiny (a test run); the default `full` uses
# the real sizes.

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
CV = 2 if SMALL else 3
N_TRIALS = 3 if SMALL else 20         # random search: 20 fill the 4 x 5 grid of best trials
ROUNDS = 2 if SMALL else 3            # coarse-to-fine rounds ...
TRIALS_PER_ROUND = 2 if SMALL else 10  # ... with this many trials each
TOP_K = 2 if SMALL else 3             # best trials each narrowing is built around
print(f"budget: {BUDGET}")

# %%
import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

import kerastune_kit as ktk
from kerastune_kit import Float, SearchSpace, load_digits, tune
from kerastune_kit.plots import plot_best_trials, plot_scores
from kerastune_kit.trials import format_params

# TensorFlow turns its Python log up to INFO in notebooks; keep warnings like
# "tf.function retracing" (expected when many small models are built) out of the output
logging.getLogger("tensorflow").setLevel(logging.ERROR)
print("kerastune_kit", ktk.__version__)

# %% [markdown]
# ## 1. Data: digits, with a test split set aside
#
# 1797 handwritten digits, 8x8 pixels scaled to [0, 1]. A fifth goes to the test split,
# which only the last cell uses. Validation data always comes out of the training part.

# %%
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0)
print(X_train.shape, X_test.shape)

# %% [markdown]
# ## 2. Sampling on the right scale
#
# * `Float(1e-4, 1e-1, scale="log")` makes each decade equally likely: as many draws
#   between 1e-4 and 1e-3 as between 1e-2 and 1e-1. A uniform draw would put 90% of them
#   in the top decade.
# * `Float(0.9, 0.999, scale="reverse_log")` is log-uniform in $1 - \beta_1$. Adam averages
#   gradients over roughly $1 / (1 - \beta_1)$ steps, so 0.9 versus 0.99 (10 versus 100
#   steps) is as big a change as 0.99 versus 0.999.
#
# Sampling costs nothing, so we can check the scales before training anything.

# %%
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

# %% [markdown]
# ## 3. Random search
#
# `tune(strategy="random")` runs scikit-learn's `RandomizedSearchCV` over
# `KerasMLPClassifier` with these distributions. Each candidate is trained on the
# training folds, with a stratified 20% of each training fold held out for its
# validation curve (`validation_split`), and scored on the fold it never saw. The
# `score` column is that cross-validated accuracy.

# %%
NETWORK = dict(n_layers=1, nodes=64, epochs=EPOCHS, batch_size=32, optimizer="adam")

random_result = tune(
    X_train, y_train, space, strategy="random", n_trials=N_TRIALS, cv=CV,
    validation_split=0.2, estimator_params=NETWORK, directory="runs/random",
    random_state=0, compare_baseline=False)
print(random_result)

for rank, row in enumerate(random_result.top(10).itertuples(), start=1):
    print(f"Best-{rank} ({row.score:.3f}) | lr {row.learning_rate:.2e}, "
          f"weight decay {row.kernel_l2:.2e}")

# %% [markdown]
# The best trials' validation (solid) and training (dashed) accuracy per epoch, averaged
# over the folds. With the full budget this is a 4 x 5 grid of the 20 best trials.

# %%
plot_best_trials(random_result, k=20, ncols=5);

# %% [markdown]
# Score against each parameter, on log axes for the log-scale dimensions. What to look
# for: a band of learning rates where the scores are high (too small and the network
# has not learned enough in the epochs it got, too large and training is unstable), and
# the weight decay above which the penalty starts to hold the weights back. `beta_1` is
# drawn on its own scale, $1 - \beta_1$ on a log axis.

# %% readme_figure="digits_random_search_scores"
plot_scores(random_result, params=["learning_rate", "kernel_l2"])

finished = random_result.trials[random_result.trials["status"] == "ok"]
fig, ax = plt.subplots(figsize=(3.6, 3.2), layout="constrained")
ax.scatter(1 - finished["beta_1"], finished["score"], alpha=0.75, edgecolor="k", lw=0.3)
ax.set(xscale="log", xlabel="1 - beta_1", ylabel="score", title="beta_1");

# %% [markdown]
# ## 4. Coarse to fine
#
# `tune(strategy="coarse-to-fine")` repeats the random search in rounds. After each
# round the space is narrowed around its best `TOP_K` trials (`SearchSpace.narrow`):
# log dimensions are narrowed on the log scale, and the new range never leaves the old
# one. The printed spaces show the narrowing.

# %%
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

# %% [markdown]
# The number to watch is the *mean* score of each round: it should rise as the space
# closes in on the good region. The best score moves much less, since a good trial was
# already found in the first round; and with more trials there is also more chance of
# a lucky score, which is why the winner still gets one independent test below.

# %%
plot_scores(c2f, params=["learning_rate", "kernel_l2"]);

# %% [markdown]
# ## 5. One test score
#
# The coarse-to-fine winner, refitted on the whole training split by `tune`, is scored
# once on the test split. Its cross-validated score was measured on the training data
# only, so the two numbers are independent estimates.

# %%
print("best parameters:", format_params(c2f.best_params_))
print(f"cross-validated accuracy (training data): {c2f.best_score_:.3f}")
print(f"test accuracy:                            {c2f.best_estimator_.score(X_test, y_test):.3f}")
