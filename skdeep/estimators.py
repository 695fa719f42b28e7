"""Ready-made estimators with flat, grid-searchable hyperparameters."""

from numbers import Integral, Real

from ._compat import Interval, StrOptions
from .architectures import build_mlp
from .classifier import BaseKerasClassifier
from .regressor import BaseKerasRegressor
from .training import preserved_random_state

__all__ = ["MLPClassifier", "MLPRegressor"]

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [str, callable],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
    "l1": [Interval(Real, 0, None, closed="left")],
    "l2": [Interval(Real, 0, None, closed="left")],
    "kernel_initializer": [str, callable],
}


def _check_architecture(est):
    """Checks that parameter constraints cannot express."""
    import keras

    name = type(est).__name__
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0
               for s in sizes):
        raise ValueError(
            f"The 'hidden_layer_sizes' parameter of {name} must be a sequence "
            f"of positive integers, e.g. (64, 32). Got {est.hidden_layer_sizes!r} "
            "instead."
        )
    for param in ("activation", "kernel_initializer"):
        value = getattr(est, param)
        getter = (keras.activations.get if param == "activation"
                  else keras.initializers.get)
        try:
            with preserved_random_state():  # initializers draw a seed
                getter(value)
        except (ValueError, TypeError) as exc:
            example = "'relu'" if param == "activation" else "'he_normal'"
            raise ValueError(
                f"The {param!r} parameter of {name} must be a Keras "
                f"{param.replace('_', ' ')} name such as {example}, or a "
                f"callable. Got {value!r} instead."
            ) from exc
    return sizes


_TRAINING_DOC = """
    optimizer : {"adam", "sgd", "rmsprop", "adagrad", "adamw", "nadam"} or \
keras optimizer, default="adam"
        An optimizer instance is copied at each fit, never trained in place.
    learning_rate : float, default=1e-3
        Initial learning rate.
    momentum : float, default=0.0
        Momentum of ``"sgd"`` and ``"rmsprop"``.
    lr_schedule : {"constant", "exponential", "step", "cosine", "plateau"}, \
default="constant"
        ``"exponential"`` multiplies the rate by ``lr_decay`` every epoch,
        ``"step"`` every ``epochs // 4`` epochs; ``"cosine"`` decays it to 0
        over ``epochs``; ``"plateau"`` multiplies it by ``lr_decay`` when the
        monitored loss stalls for ``patience // 2`` epochs.
    lr_decay : float, default=0.5
    batch_size : int, default=32
    epochs : int, default=200
        Maximum number of passes over the training data.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows given to ``fit``
        (stratified for classifiers, seeded by ``random_state``) and stop when
        the validation loss has not improved by ``tol`` for ``patience``
        epochs, restoring the best weights. With ``False``, stop when the
        training loss stalls, as scikit-learn's MLP does.
    validation_fraction : float, default=0.1
    patience : int, default=10
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, shuffling, dropout and validation split. The same
        integer gives identical predictions, in any process.
    verbose : int, default=0
        Keras's per-epoch progress output.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``.
    callbacks : list of keras callbacks, default=None
        Extra callbacks, copied for each fit."""

_ARCH_DOC = """
    hidden_layer_sizes : sequence of int, default=(100,)
        Units of each hidden layer.
    activation : str, default="relu"
        Any Keras activation: ``"relu"``, ``"tanh"``, ``"gelu"``, ...
    dropout : float, default=0.0
        Dropout rate after each hidden layer (training only).
    batch_norm : bool, default=False
        Batch normalisation before each hidden activation.
    l1 : float, default=0.0
        L1 penalty on every kernel.
    l2 : float, default=0.0
        L2 penalty on every kernel.
    kernel_initializer : str, default="glorot_uniform"
        Any Keras initializer name."""

_ATTR_DOC = """
    model_ : keras.Model
        The trained network.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``, metrics).
    n_iter_ : int
        Epochs run by the last fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    n_outputs_ : int"""


class MLPClassifier(BaseKerasClassifier):
    __doc__ = f"""Multi-layer perceptron classifier trained with Keras.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` with Keras's
    optimizers, schedules, dropout and batch normalisation. Binary,
    multiclass (any label type) and multilabel-indicator targets.

    Parameters
    ----------{_ARCH_DOC}{_TRAINING_DOC}
    class_weight : dict or "balanced", default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (label indices for multilabel targets).{_ATTR_DOC}

    See Also
    --------
    skdeep.KerasClassifier : bring your own network.
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdeep import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).sum().round(6)
    np.float64(1.0)
    """

    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        **_MLP_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        l1=0.0,
        l2=0.0,
        kernel_initializer="glorot_uniform",
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        lr_schedule="constant",
        lr_decay=0.5,
        batch_size=32,
        epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        class_weight=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l1 = l1
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _check_params(self):
        _check_architecture(self)

    def _build_keras_model(self, meta, seed=None):
        units, output_activation = self._output_spec()
        return build_mlp(
            meta["n_features_in_"],
            units,
            output_activation=output_activation,
            hidden_layer_sizes=_check_architecture(self),
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            l1=self.l1,
            l2=self.l2,
            kernel_initializer=self.kernel_initializer,
            seed=seed,
        )


class MLPRegressor(BaseKerasRegressor):
    __doc__ = f"""Multi-layer perceptron regressor trained with Keras.

    Single and multi-output targets. ``y`` is standardised internally (and
    the scaling undone in ``predict``), so targets of any scale train well.

    Parameters
    ----------{_ARCH_DOC}
    loss : {{"mse", "mae", "huber"}}, default="mse"
        Training loss, on the standardised target.{_TRAINING_DOC}

    Attributes
    ----------{_ATTR_DOC}

    See Also
    --------
    skdeep.KerasRegressor : bring your own network.
    sklearn.neural_network.MLPRegressor : scikit-learn's own MLP.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skdeep import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor((16,), epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _scale_target = True
    _parameter_constraints: dict = {
        **BaseKerasRegressor._parameter_constraints,
        **_MLP_CONSTRAINTS,
        "loss": [StrOptions({"mse", "mae", "huber"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        l1=0.0,
        l2=0.0,
        kernel_initializer="glorot_uniform",
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        lr_schedule="constant",
        lr_decay=0.5,
        batch_size=32,
        epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l1 = l1
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _check_params(self):
        _check_architecture(self)

    def _build_keras_model(self, meta, seed=None):
        return build_mlp(
            meta["n_features_in_"],
            meta["n_outputs_"],
            hidden_layer_sizes=_check_architecture(self),
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            l1=self.l1,
            l2=self.l2,
            kernel_initializer=self.kernel_initializer,
            seed=seed,
        )


