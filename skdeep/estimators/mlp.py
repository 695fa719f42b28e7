"""``MLPClassifier`` and ``MLPRegressor``: dense networks with flat hyperparameters."""



from skdeep._compat import StrOptions
from skdeep.architectures import (
    build_mlp,
)
from skdeep.estimators._docs import ARCH_DOC as _ARCH_DOC
from skdeep.estimators._docs import ATTR_DOC as _ATTR_DOC
from skdeep.estimators._docs import CLASS_WEIGHT_DOC as _CLASS_WEIGHT_DOC
from skdeep.estimators._docs import TRAINING_DOC as _TRAINING_DOC
from skdeep.estimators._params import _MLP_CONSTRAINTS, _check_architecture
from skdeep.estimators.classifier import BaseKerasClassifier
from skdeep.estimators.regressor import BaseKerasRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]


class MLPClassifier(BaseKerasClassifier):
    __doc__ = f"""Multi-layer perceptron classifier trained with Keras.

    Follows the conventions of :class:`sklearn.neural_network.MLPClassifier`
    (``hidden_layer_sizes``, ``activation``, ``batch_size``, ``early_stopping``,
    ``validation_fraction``, ``random_state``, ``warm_start``, ``partial_fit``)
    and adds Keras's optimizers, learning-rate schedules, dropout, batch
    normalisation and L1/L2 penalties. It is not a drop-in replacement: some
    names and meanings differ (see the table below). Binary, multiclass (any
    label type) and multilabel-indicator targets.

    ===============================  ========================================
    scikit-learn ``MLPClassifier``   skdeep ``MLPClassifier``
    ===============================  ========================================
    ``solver="adam"``                ``optimizer="adam"`` (also ``"sgd"``,
                                     ``"rmsprop"``, ``"adagrad"``, ...)
    ``learning_rate_init=0.001``     ``learning_rate=1e-3``
    ``learning_rate="adaptive"``     ``lr_schedule="plateau"`` (and
                                     ``"exponential"``, ``"step"``,
                                     ``"cosine"``)
    ``max_iter=200``                 ``epochs=200``
    ``alpha=1e-4`` (L2 on weights)   ``l2=0.0`` (a Keras penalty added to the
                                     loss), plus ``l1``
    ``n_iter_no_change=10``          ``patience=10``
    ``early_stopping=False``         ``early_stopping=True``, on the
                                     validation *loss* (scikit-learn uses the
                                     validation accuracy)
    ``momentum=0.9`` (sgd)           ``momentum=0.0``
    ``loss_curve_``                  ``history_["loss"]`` (and
                                     ``history_["val_loss"]``)
    ``n_iter_``                      ``n_iter_`` (epochs run, over all
                                     warm-start and ``partial_fit`` calls)
    ``coefs_``, ``intercepts_``      ``model_`` (the ``keras.Model``;
                                     ``model_.get_weights()``)
    ===============================  ========================================

    Parameters
    ----------{_ARCH_DOC}{_TRAINING_DOC}{_CLASS_WEIGHT_DOC}

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

    _pool_networks = True
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
        early_stopping_metric="loss",
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
        self.early_stopping_metric = early_stopping_metric
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
    _pool_networks = True
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
        early_stopping_metric="loss",
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
        self.early_stopping_metric = early_stopping_metric
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
