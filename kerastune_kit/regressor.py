"""A scikit-learn regressor around :func:`kerastune_kit.build_mlp`.

:class:`KerasMLPRegressor` is the regression twin of
:class:`~kerastune_kit.KerasMLPClassifier`: the same network and
parameters (shared in :mod:`kerastune_kit._mlp_base`), a linear output
layer, the mean squared error by default, and the targets standardised
inside the estimator so that learning rates tuned on one target suit
another.
"""

from __future__ import annotations

from typing import Any, Sequence

from scikeras.wrappers import KerasRegressor
from sklearn.base import BaseEstimator
from sklearn.utils._tags import RegressorTags

from ._inputs import check_numeric_target
from ._mlp_base import MLPEstimatorBase
from ._targets import TargetScaler, regression_loss

__all__ = ["KerasMLPRegressor"]


class KerasMLPRegressor(MLPEstimatorBase, KerasRegressor):
    """Keras multi-layer perceptron with the scikit-learn regressor API.

    Each fit builds a fresh network with :func:`kerastune_kit.build_mlp`
    (``output="linear"``, one unit per target column) and trains it through
    the kit's training sequence. ``y`` is 1-d, or 2-d for several targets.
    ``score`` is R^2, as for every scikit-learn regressor.

    Parameters
    ----------
    n_layers, nodes, hidden_layer_sizes, activation, kernel_initializer, \
kernel_l1, kernel_l2, activity_l1, activity_l2, dropout, max_norm, batch_norm, \
optimizer, learning_rate, momentum, beta_1, beta_2, epsilon, weight_decay, \
metrics, run_eagerly
        The network; see :func:`kerastune_kit.build_mlp` for each one.
        Defaults: two hidden layers of 100 ReLU units, he_uniform, no
        penalties, no dropout, Adam with learning rate 1e-3, no metrics
        besides the loss.
    loss : {"mse", "mae", "huber", "log_cosh"} or keras.losses.Loss, default "mse"
        Mean squared error, mean absolute error, Huber (quadratic within 1,
        linear beyond) or log-cosh; on the standardised target when
        ``target_scaling`` is on. ``"mean_squared_error"`` and
        ``"mean_absolute_error"`` are taken too; a classification loss is
        refused before training.
    target_scaling : bool, default True
        Standardise each target column (mean 0, standard deviation 1, under
        the sample weights) for training, and undo it in ``predict``. The
        network then sees targets of the same size whatever their units, so
        a learning rate transfers from one target to another; ``False``
        trains on ``y`` as it is.
    epochs, batch_size, validation_split, validation_batch_size, shuffle, \
callbacks, warm_start, random_state, verbose
        As for :class:`~kerastune_kit.KerasMLPClassifier`; the validation
        hold-out is a shuffled split (not stratified).
    **routed
        scikeras routed parameters (``model__...``, ``optimizer__...``,
        ``fit__...``, ``predict__...``), as for the classifier.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch loss (on the standardised target) and metrics.
    n_outputs_ : int
        Number of target columns.
    target_scaler_ : TargetScaler
        The fitted standardisation of ``y`` (``mean_``, ``scale_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``sample_weight`` is never modified, may be integers, and is normalised
    by its sum: a weight of 2 counts as a repeated row and the scale of the
    weights changes nothing.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KerasMLPRegressor(nodes=16, epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _declares_parameters = True
    _stratify_holdout = False

    def __init__(
        self,
        *,
        n_layers: int = 2,
        nodes: int = 100,
        hidden_layer_sizes: Sequence[int] | None = None,
        activation: str = "relu",
        kernel_initializer: str = "he_uniform",
        kernel_l1: float = 0.0,
        kernel_l2: float = 0.0,
        activity_l1: float = 0.0,
        activity_l2: float = 0.0,
        dropout: float = 0.0,
        max_norm: float | None = None,
        batch_norm: bool = False,
        optimizer: Any = "adam",
        learning_rate: Any = 1e-3,
        momentum: float | None = None,
        beta_1: float | None = None,
        beta_2: float | None = None,
        epsilon: float | None = None,
        weight_decay: float | None = None,
        loss: Any = "mse",
        metrics: Sequence[Any] | None = None,
        run_eagerly: bool = False,
        epochs: int = 10,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_batch_size: int | None = None,
        shuffle: bool = True,
        callbacks: Any = None,
        target_scaling: bool = True,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: int = 0,
        **routed: Any,
    ):
        # Store the arguments unchanged (scikit-learn's convention, which
        # clone and set_params rely on); values are checked in ``fit``.
        self.n_layers = n_layers
        self.nodes = nodes
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.kernel_l1 = kernel_l1
        self.kernel_l2 = kernel_l2
        self.activity_l1 = activity_l1
        self.activity_l2 = activity_l2
        self.dropout = dropout
        self.max_norm = max_norm
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.loss = loss
        self.metrics = metrics
        self.run_eagerly = run_eagerly
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.validation_batch_size = validation_batch_size
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.target_scaling = target_scaling
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed)

    def __sklearn_tags__(self):
        tags = BaseEstimator.__sklearn_tags__(self)
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def fit(self, X, y, sample_weight=None, **kwargs) -> "KerasMLPRegressor":
        """Build a fresh network and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights (integers or floats); never modified.

        Returns
        -------
        self

        Raises
        ------
        TrainingDiverged
            The loss became NaN or blew up.
        """
        return self._fit_entry(X, y, sample_weight, partial=False, **kwargs)

    def partial_fit(self, X, y, sample_weight=None, **kwargs) -> "KerasMLPRegressor":
        """Train one more epoch on ``(X, y)`` (building the network on the first call).

        Makes every check ``fit`` makes. The target standardisation is fitted
        on the first call's ``y`` and kept.

        Returns
        -------
        self
        """
        return self._fit_entry(X, y, sample_weight, partial=True, **kwargs)

    def _check_target(self, y):
        return check_numeric_target(type(self).__name__, y)

    def _prepare_target(self, y, sample_weight, classes) -> None:
        self._loss = regression_loss(vars(self).get("model__loss", self.loss))
        self._target_weight = sample_weight

    def _output(self) -> dict:
        return {"output": "linear", "loss": self._loss, "n_outputs": self.n_outputs_}

    @property
    def target_encoder(self):
        """The standardisation of ``y`` (see :class:`kerastune_kit._targets.TargetScaler`)."""
        return TargetScaler(scale=self.target_scaling, sample_weight=self._target_weight)

    @property
    def target_scaler_(self) -> TargetScaler:
        return self.target_encoder_

    def predict(self, X, **kwargs):
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_targets)``, as float64."""
        return super().predict(X, **kwargs)
