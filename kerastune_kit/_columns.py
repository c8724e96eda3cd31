"""The columns of a trials table, shared by the search and the plots (no Keras import)."""

#: Columns before the parameter columns.
TRIAL_COLUMNS = ("trial", "round", "strategy", "status", "score", "score_std")
#: Columns after the parameter columns.
TRIAL_TAIL = ("epochs_trained", "fit_time", "error", "train_curve", "val_curve")
