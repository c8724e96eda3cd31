"""A scikit-learn classifier around :func:`kerastune_kit.build_mlp`.

:class:`KerasMLPClassifier` is scikeras' ``KerasClassifier`` with these
things mended (the shared parts live in :mod:`kerastune_kit._mlp_base`):

* scikit-learn >= 1.6 reads an estimator's kind from ``__sklearn_tags__``.
  scikeras 0.13 lists ``ClassifierMixin`` after ``BaseEstimator``, so its
  classifier tags are never reached: ``is_classifier`` is False and ``cv=3``
  silently becomes an unstratified ``KFold``. Here the tags are stated
  explicitly, so searches stratify.
* Every hyperparameter of the network is a top-level parameter, so
  ``GridSearchCV(KerasMLPClassifier(), {"nodes": [50, 100]})``, ``clone`` and
  ``set_params(**search.best_params_)`` work without routed names. The
  scikeras routed names tutorials use (``optimizer__learning_rate``,
  ``model__nodes``, ``fit__epochs``) keep working.
* Every kind of class target: binary (a 2-unit softmax, or one sigmoid unit
  with ``loss="binary_crossentropy"``), multiclass, one-hot and multilabel
  ``y`` (see :mod:`kerastune_kit._targets`); a loss that does not fit the
  target is refused before training.
* ``sample_weight`` and ``class_weight`` mean what they mean in
  scikit-learn, and never change the caller's arrays.
* Bad input fails before training with a message that says what to do, and
  an integer ``random_state`` seeds initial weights, dropout and shuffling.
"""

from __future__ import annotations

from typing import Any, Sequence

from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.utils._tags import ClassifierTags
from sklearn.utils.multiclass import type_of_target

from ._inputs import check_class_target
from ._mlp_base import BUILDER_PARAMS, ROUTING_PREFIXES, MLPEstimatorBase
from ._targets import ClassTargetEncoder, classifier_plan

__all__ = ["KerasMLPClassifier", "BUILDER_PARAMS", "ROUTING_PREFIXES"]


class KerasMLPClassifier(MLPEstimatorBase, KerasClassifier):
    """Keras multi-layer perceptron with the scikit-learn classifier API.

    Each fit builds a fresh network with :func:`kerastune_kit.build_mlp` and
    trains it with ``keras.Model.fit``. Labels may be strings or integers;
    ``X`` may be an array or a numeric DataFrame (put
    :func:`kerastune_kit.make_preprocessor` before it in a Pipeline for raw
    data with categories or missing values). Arrays of images such as
    ``(n, 28, 28)`` are flattened by the network.

    Parameters
    ----------
    n_layers, nodes, hidden_layer_sizes, activation, kernel_initializer, \
kernel_l1, kernel_l2, activity_l1, activity_l2, dropout, max_norm, batch_norm, \
optimizer, learning_rate, momentum, beta_1, beta_2, epsilon, weight_decay, \
loss, metrics, run_eagerly
        The network; see :func:`kerastune_kit.build_mlp` for each one.
        Defaults: two hidden layers of 100 ReLU units, he_uniform, no
        penalties, no dropout, Adam with learning rate 1e-3.
    loss : str or keras.losses.Loss, default "auto"
        ``"auto"`` picks the loss that fits ``y``: sparse categorical
        cross-entropy over a softmax for 1-d labels (two classes included),
        categorical cross-entropy for one-hot ``y``, binary cross-entropy
        over sigmoid units for multilabel ``y``. ``"binary_crossentropy"`` on
        two classes gives one sigmoid unit instead of a 2-unit softmax;
        ``"categorical_crossentropy"`` on 1-d labels one-hot encodes them.
        A loss that does not fit ``y`` (a regression loss, binary
        cross-entropy on three classes, a softmax loss on multilabel rows)
        is refused before training, with the losses that fit.
    epochs : int, default 10
        Passes over the training data in each ``fit``.
    batch_size : int, default 32
        Mini-batch size for training and prediction.
    validation_split : float, default 0
        Fraction of the training data held out, stratified by class and
        shuffled with ``random_state``, to report ``val_*`` scores in
        ``history_`` and drive early stopping. (Keras' own split takes the last
        rows, which on class-sorted data is a single class.) Inside a search
        this is carved from each training fold, never from test data.
    validation_batch_size : int, optional
    shuffle : bool, default True
        Shuffle the training data before each epoch.
    callbacks : list of keras.callbacks.Callback or CallbackSet, optional
        Callbacks for ``fit`` (see :mod:`kerastune_kit.callbacks`); cloned with
        the estimator, reset at the start of every fit.
    class_weight : dict or "balanced", optional
        Multiplies ``sample_weight`` as in scikit-learn: row ``i`` counts
        ``sample_weight[i] * class_weight[y[i]]``. ``"balanced"`` weighs
        classes by ``n_samples / (n_classes * count)``.
    warm_start : bool, default False
        The next ``fit`` continues the trained network: same weights and
        optimiser state (Adam's moments, the step count), the current
        ``learning_rate`` (change it with ``set_params`` between fits) and
        callbacks (a new schedule starts at its epoch 0), and ``history_``
        grows by the new epochs. Each change is recorded in ``segments_`` and
        marked by :func:`~kerastune_kit.plots.plot_history`. ``partial_fit``
        continues the same way, one epoch a call.
    random_state : int, RandomState or None, default None
        An integer makes ``fit`` reproducible: it seeds the initial weights,
        dropout masks and shuffling (TensorFlow's deterministic ops are on
        during the fit).
    verbose : int, default 0
        Keras' progress output (0 silent, 1 progress bar, 2 one line a epoch).
    **routed
        scikeras routed parameters: ``model__<builder parameter>``,
        ``optimizer__<optimizer option>`` (``optimizer__learning_rate``,
        ``optimizer__nesterov``, ...), ``fit__<Model.fit argument>``,
        ``predict__<Model.predict argument>``. A routed value overrides the
        top-level parameter of the same name. ``callbacks__...`` names are
        ordinary nested parameters of a :class:`~kerastune_kit.callbacks.CallbackSet`
        (``callbacks__early_stopping__patience``).

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch values of the loss and metrics (``val_`` ones when there is
        validation data).
    segments_ : list of dict
        The stretches of the network's life, one per change of rate or
        schedule in a continued fit: ``{"start": first epoch (0-based),
        "epochs": n, "learning_rate": label, "rate": number or None}``.
    classes_ : ndarray
        Class labels seen in ``fit``; for a 2-d ``y`` the column indices
        ``0..k-1``.
    target_kind_ : {"binary", "multiclass", "one-hot", "multilabel"}
        What ``y`` was read as. A 2-d 0/1 ``y`` with exactly one 1 in every
        row is *one-hot*: a multiclass target whose classes are its columns,
        learnt with a softmax; ``predict`` returns one-hot rows and
        ``predict_proba`` one probability per column, summing to 1. Any
        other 2-d 0/1 ``y`` is *multilabel*: one sigmoid unit per column;
        ``predict`` returns 0/1 rows and ``predict_proba`` the probability
        of a 1 in each column.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X`` seen in ``fit``.

    Notes
    -----
    The weighted loss is normalised by the sum of the weights (the weights
    are rescaled to average 1 in each fit): a weight of 2 counts as a
    repeated row, and multiplying every weight by a constant changes
    nothing.

    Subclasses may take ``**kwargs`` and pass them to ``super().__init__``,
    as scikit-learn estimators do; ``get_params`` then lists the subclass'
    own parameters and all of these.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasMLPClassifier(nodes=16, epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

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
        loss: Any = "auto",
        metrics: Sequence[Any] | None = ("accuracy",),
        run_eagerly: bool = False,
        epochs: int = 10,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_batch_size: int | None = None,
        shuffle: bool = True,
        callbacks: Any = None,
        class_weight: Any = None,
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
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed)

    _declares_parameters = True

    def __sklearn_tags__(self):
        # Built from BaseEstimator's tags directly: scikeras puts
        # ClassifierMixin after BaseEstimator in its bases, so the mixin's
        # tags are never reached through super().
        tags = BaseEstimator.__sklearn_tags__(self)
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=True)
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def fit(self, X, y, sample_weight=None, **kwargs) -> "KerasMLPClassifier":
        """Build a fresh network and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or a 0/1 one-hot or multilabel matrix.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights (integers or floats); never modified.

        Returns
        -------
        self

        Raises
        ------
        TrainingDiverged
            The loss became NaN or blew up (as ``MLPClassifier`` does for NaN).
        """
        return self._fit_entry(X, y, sample_weight, partial=False, **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None,
                    **kwargs) -> "KerasMLPClassifier":
        """Train one more epoch on ``(X, y)`` (building the network on the first call).

        Makes every check ``fit`` makes: parameter names and values, the data,
        the loss against the target, and divergence (``TrainingDiverged``).

        Parameters
        ----------
        classes : array-like, optional
            Every class, on the first call, when a batch may lack some.

        Returns
        -------
        self
        """
        return self._fit_entry(X, y, sample_weight, partial=True, classes=classes, **kwargs)

    def _check_target(self, y):
        return check_class_target(type(self).__name__, y)

    def _type_of_target(self, y):
        return type_of_target(y)

    def _prepare_target(self, y, sample_weight, classes) -> None:
        self.classes_ = None
        self._categories = classes
        if y.ndim == 2:
            n_classes = y.shape[1]
        else:
            n_classes = len(set(y.tolist()) | set([] if classes is None else list(classes)))
        loss = vars(self).get("model__loss", self.loss)
        self._plan = classifier_plan(y, loss, n_classes)
        self.target_kind_ = self._plan.kind

    def _output(self) -> dict:
        units = 1 if self._plan.encoding == "binary" else self.n_classes_
        return {"output": self._plan.output, "loss": self._plan.loss, "n_outputs": units}

    @property
    def target_encoder(self):
        """The encoder of ``y`` for the network (see :class:`kerastune_kit._targets.ClassTargetEncoder`)."""
        return ClassTargetEncoder(self._plan.encoding, categories=self._categories)
