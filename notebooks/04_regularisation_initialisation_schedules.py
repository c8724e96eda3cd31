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
# # Initialisation, regularisation and learning-rate schedules
#
# A tour of the settings that decide whether and how well a network trains, one
# experiment each, on the 8x8 digits:
#
# 1. initial weights: He, Glorot, and all zeros;
# 2. L1 + L2 penalties, dropout and a max-norm constraint;
# 3. exponential, cosine and cosine-with-restarts learning-rate schedules;
# 4. Adam with a custom `beta_1`;
# 5. keeping the best epoch with `BestCheckpoint` and loading it back safely;
# 6. `tanh` and leaky ReLU activations.
#
# The data is split once into training, validation and test parts. Runs are compared on
# the validation part; the test part is used once, at the end. `KERASTUNE_BUDGET=small`
# trains only a few epochs.

# %%
import os

from kerastune_kit.quiet import quiet_tensorflow

quiet_tensorflow()  # import TensorFlow now, without its start-up log lines

BUDGET = os.environ.get("KERASTUNE_BUDGET", "full")
if BUDGET not in ("small", "full"):
    raise ValueError(f"KERASTUNE_BUDGET={BUDGET!r}: use 'full' (the real sizes) or 'small' "
                     "(a quick run, as in the test suite).")
SMALL = BUDGET == "small"

EPOCHS = 4 if SMALL else 40
print(f"budget: {BUDGET}")

# %%
import logging
import warnings

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

# %% [markdown]
# ## Data and a helper
#
# `train_val_test_split` makes three stratified parts in one call (60/20/20). Every run
# trains on `X_train`, reports validation curves on `X_val`, and lands in the `runs`
# dictionary so the experiments can be compared in one table.

# %%
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


# %% [markdown]
# ## 1. Initial weights
#
# * **He** (`he_uniform`, the default here) scales the random weights by the layer's fan-in
#   so that ReLU activations keep a steady variance from layer to layer.
# * **Glorot** (`glorot_uniform`) scales by fan-in and fan-out; it was designed for
#   tanh-like units and usually works for ReLU too in a network this shallow.
# * **All zeros.** When all weights are equal, every unit of a layer computes the same
#   thing and gets the same update, so a layer of 64 units behaves like one unit. With zeros
#   and ReLU it is worse: every hidden output is exactly 0 and so is the gradient of every
#   hidden weight, so the hidden layers never change and the network can only learn the
#   output layer's biases, i.e. the class frequencies.

# %%
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

# %% [markdown]
# ## 2. Penalties, dropout and max-norm
#
# Compared with the unregularised He run:
#
# * `kernel_l1=1e-5, kernel_l2=1e-4` add $10^{-5}\sum|w| + 10^{-4}\sum w^2$ to the loss:
#   L1 drives unhelpful weights towards zero, L2 keeps all of them small;
# * `dropout=0.3` drops 30% of the hidden units at each training step (never at prediction);
# * `max_norm=1.0` rescales each unit's incoming weight vector whenever its length
#   exceeds 1 after an update.
#
# The `gap` column (training minus validation accuracy) is what regularisation is meant
# to shrink; the last column checks the max-norm constraint.

# %%
train("L1 + L2", kernel_l1=1e-5, kernel_l2=1e-4)
train("dropout 0.3", dropout=0.3)
train("max_norm 1", max_norm=1.0)

table = compare("he_uniform", "L1 + L2", "dropout 0.3", "max_norm 1")
table["largest unit norm"] = [
    float(np.linalg.norm(np.asarray(runs[name].model_.get_layer("hidden_0").kernel),
                         axis=0).max()) for name in table.index]
table.round(3)

# %% [markdown]
# Expect small effects here: a difference of a few tenths of a percentage point on 360
# validation digits is about what another seed would change. Regularisation earns its
# keep when the network is large for the amount of data, or trains for much longer.

# %% [markdown]
# ## 3. Learning-rate schedules
#
# Each schedule is one formula in the number of epochs done, $t$:
#
# * `ExponentialDecay(0.01, decay_rate=0.8)`: $0.01 \cdot 0.8^t$;
# * `CosineDecay(0.01, decay_epochs=E)`: half a cosine from 0.01 down to 0 over $E$ epochs;
# * `CosineDecayRestarts(0.01, first_decay_epochs=2, t_mul=2)`: the same curve, restarted
#   at the top after 2, then 4, then 8 epochs, so epochs 3, 7 and 15 (counting from 1)
#   start at 0.01 again.
#
# Calling a schedule gives the rate of an epoch, which is all `plot_lr_schedule` needs.

# %%
SHOW = 30    # epochs to draw (drawing trains nothing)
schedules = [ExponentialDecay(0.01, decay_rate=0.8),
             CosineDecay(0.01, decay_epochs=SHOW),
             CosineDecayRestarts(0.01, first_decay_epochs=2, t_mul=2)]
fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), layout="constrained")
for ax, schedule in zip(axes, schedules):
    plot_lr_schedule(schedule, epochs=SHOW, ax=ax)
    ax.set_yscale("linear")  # the three shapes compare best on a linear axis

# %% [markdown]
# As a callback the schedule sets the optimiser's rate at the start of every epoch and
# records it in the history as `learning_rate`, so the rates that were actually used can
# be plotted from the fitted model. (Alternatively,
# `learning_rate=schedule.as_keras_schedule(steps_per_epoch)` gives Keras a per-step
# schedule with the same formula.)

# %%
restarts = CosineDecayRestarts(0.01, first_decay_epochs=2, t_mul=2)
train("cosine restarts", callbacks=[restarts])
print("rates used:", np.round(runs["cosine restarts"].history_["learning_rate"], 5))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
plot_lr_schedule(runs["cosine restarts"], ax=axes[0])
plot_history(runs["cosine restarts"], metrics="loss", axes=[axes[1]]);

# %% [markdown]
# ## 4. Adam with a custom `beta_1`
#
# Adam keeps a running average of the gradients with weight `beta_1` (0.9 by default):
# roughly the last $1/(1-\beta_1)$ steps count. `beta_1=0.5` averages over about two steps
# (little momentum); `beta_1=0.99` over about a hundred (a lot of momentum, slow to turn).
# The estimator passes it to the optimiser unchanged.

# %%
for beta_1 in [0.5, 0.99]:
    clf = train(f"adam beta_1={beta_1}", optimizer="adam", beta_1=beta_1, learning_rate=3e-3)
    print(f"beta_1={beta_1}: optimizer uses beta_1 =", float(clf.model_.optimizer.beta_1))
compare("he_uniform", "adam beta_1=0.5", "adam beta_1=0.99")

# %% [markdown]
# ## 5. Keep the best epoch: `BestCheckpoint`
#
# `BestCheckpoint` watches `val_loss` and saves the whole model (Keras format) every time
# it improves; each training run writes its own file under `checkpoints/`, through a
# temporary file renamed into place, so a crash never leaves a half-written checkpoint.
# `load_checkpoint` loads it with Keras' safe mode on, which refuses to deserialise code
# stored in the file (such as a `Lambda` layer's function).
#
# Evaluating the loaded model on the validation data gives back the best `val_loss` seen
# during training, not the last one.

# %%
checkpoint = BestCheckpoint(directory="checkpoints", monitor="val_loss")
clf = train("checkpointed", callbacks=[checkpoint], learning_rate=3e-3)

val_losses = clf.history_["val_loss"]
print("checkpoint file:", checkpoint.path_)
print(f"best epoch {checkpoint.best_epoch_ + 1}: val_loss {checkpoint.best_:.4f} "
      f"(last epoch: {val_losses[-1]:.4f})")

with warnings.catch_warnings():
    # Keras skips the optimizer's saved state here, with a warning; evaluating needs the weights only
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
    restored = load_checkpoint(checkpoint.path_)
loss, accuracy = restored.evaluate(X_val, y_val, verbose=0)
print(f"loaded checkpoint on the validation data: loss {loss:.4f}, accuracy {accuracy:.3f}")
assert np.isclose(loss, checkpoint.best_, rtol=1e-3), (loss, checkpoint.best_)

# %% [markdown]
# ## 6. Activations: `tanh` and leaky ReLU
#
# `tanh` squashes to $(-1, 1)$ and is zero-centred; it saturates for large inputs, and it
# pairs with Glorot initialisation. Leaky ReLU passes a small slope for negative inputs
# instead of zero, so a unit that has been pushed negative can still recover.

# %%
train("tanh", activation="tanh", kernel_initializer="glorot_uniform")
train("leaky_relu", activation="leaky_relu")
compare("he_uniform", "tanh", "leaky_relu")

# %% [markdown]
# ## 7. The test split, once
#
# All runs so far were judged on the validation split. The one with the best validation
# accuracy is scored once on the test split.

# %%
everything = compare(*runs)
display(everything.sort_values("val acc", ascending=False))
chosen = everything["val acc"].idxmax()
print(f"chosen on validation accuracy: {chosen!r}; "
      f"test accuracy {runs[chosen].score(X_test, y_test):.3f}")
