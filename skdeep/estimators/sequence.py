"""Sequence models: ``SequenceClassifier`` and ``SequenceRegressor``.

GRU, LSTM or 1-D convolutional networks on ``(n, timesteps, features)``
arrays, or on flat rows with ``input_shape`` so they can follow a scaler.
"""

import math
from numbers import Integral, Real

import numpy as np

from skdeep._compat import Interval, StrOptions, validate_data
from skdeep.architectures import (
    CELLS,
    build_sequence,
)
from skdeep.estimators._docs import ATTR_DOC as _ATTR_DOC
from skdeep.estimators._docs import TRAINING_DOC as _TRAINING_DOC
from skdeep.estimators._params import (
    _REGULARISATION_CONSTRAINTS,
    _check_sizes,
)
from skdeep.estimators.classifier import BaseKerasClassifier
from skdeep.estimators.regressor import BaseKerasRegressor

__all__ = ["SequenceClassifier", "SequenceRegressor"]


class _SequenceInputMixin:
    """Accept sequences ``(n, timesteps, features)`` or flat rows + a shape."""

    def _target_sequence_shape(self, X):
        name = type(self).__name__
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if len(shape) == 1:
                shape = (*shape, 1)
            if len(shape) != 2 or not all(
                    isinstance(d, Integral) and d > 0 for d in shape):
                raise ValueError(
                    f"The 'input_shape' parameter of {name} must be (timesteps, "
                    f"features) or (timesteps,), positive integers. Got "
                    f"{self.input_shape!r} instead."
                )
            return tuple(int(d) for d in shape)
        if X.ndim == 2:
            raise ValueError(
                f"{name} got flat rows of {X.shape[1]} values; pass "
                "input_shape=(timesteps, features) so it can reshape them, or "
                "pass sequences of shape (n_samples, timesteps, features)."
            )
        return tuple(int(d) for d in X.shape[1:])

    def _validate_X(self, X, y="no_validation", *, reset):
        name = type(self).__name__
        no_y = isinstance(y, str) and y == "no_validation"
        if not reset and hasattr(self, "sequence_shape_"):
            shape = np.shape(X)
            if len(shape) > 2:  # compare flat sizes with n_features_in_
                if math.prod(shape[1:]) != math.prod(self.sequence_shape_):
                    raise ValueError(
                        f"{name} was fitted on sequences of shape "
                        f"{self.sequence_shape_} (timesteps, features); got "
                        f"samples of shape {tuple(shape[1:])}."
                    )
                X = np.asarray(X).reshape(shape[0], -1)
        kwargs = dict(reset=reset, allow_nd=True, dtype=(np.float64, np.float32))
        if no_y:
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, multi_output=True,
                                 y_numeric=self._y_numeric, **kwargs)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim > 3:
            raise ValueError(
                f"{name} takes sequences of shape (n_samples, timesteps, features),"
                " or flat rows with input_shape=(timesteps, features); got an "
                f"array of shape {X.shape}."
            )
        if reset:
            self.sequence_shape_ = self._target_sequence_shape(X)
            self.n_features_in_ = math.prod(X.shape[1:])  # values per sample
        target = self.sequence_shape_
        if X.shape[1:] != target:
            if math.prod(X.shape[1:]) != math.prod(target):
                fitted = "needs" if reset else "was fitted on"
                raise ValueError(
                    f"{name} {fitted} sequences of shape {target} (timesteps, "
                    f"features), {math.prod(target)} values each; got samples of "
                    f"shape {X.shape[1:]}. Pass sequences of that shape, or flat "
                    "rows with input_shape=(timesteps, features)."
                )
            X = X.reshape((X.shape[0], *target))
        return X if no_y else (X, y)

    def _check_params(self):
        _check_sizes(self, "recurrent_layer_sizes", allow_empty=False)
        _check_sizes(self, "dense_layer_sizes", allow_empty=True)
        if self.mask_value is not None and self.cell == "conv1d":
            raise ValueError(
                f"mask_value={self.mask_value!r} needs a recurrent cell: "
                f"{type(self).__name__}(cell='conv1d') cannot skip padded "
                "timesteps. Use cell='gru' or 'lstm', or mask_value=None."
            )
        if self.bidirectional and self.cell == "conv1d":
            raise ValueError(
                "bidirectional=True needs a recurrent cell (cell='gru' or "
                "'lstm'); a conv1d network already sees both directions."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # sequences are dense arrays
        return tags

    def _build_sequence(self, units, output_activation, seed):
        return build_sequence(
            self.sequence_shape_, units, output_activation=output_activation,
            cell=self.cell,
            recurrent_layer_sizes=_check_sizes(self, "recurrent_layer_sizes",
                                               allow_empty=False),
            bidirectional=self.bidirectional, dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout, kernel_size=self.kernel_size,
            dense_layer_sizes=_check_sizes(self, "dense_layer_sizes",
                                           allow_empty=True),
            activation=self.activation, l1=self.l1, l2=self.l2,
            kernel_initializer=self.kernel_initializer,
            mask_value=self.mask_value, seed=seed,
        )


_SEQUENCE_CONSTRAINTS = {
    **_REGULARISATION_CONSTRAINTS,
    "recurrent_layer_sizes": ["array-like", Interval(Integral, 1, None,
                                                     closed="left")],
    "cell": [StrOptions(set(CELLS))],
    "bidirectional": ["boolean"],
    "recurrent_dropout": [Interval(Real, 0, 1, closed="left")],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
    "dense_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "input_shape": [tuple, list, None],
    "mask_value": [Real, None],
}

_SEQUENCE_DOC = """
    recurrent_layer_sizes : sequence of int, default=(64,)
        Units of each recurrent layer (the last returns its final state), or
        filters of each ``Conv1D`` layer with ``cell="conv1d"``.
    cell : {"gru", "lstm", "conv1d"}, default="gru"
        ``"conv1d"``: ``Conv1D`` layers ("same" padding) followed by global
        max pooling over time; fast, and good at spotting local patterns.
    bidirectional : bool, default=False
        Read each sequence both ways (``keras.layers.Bidirectional``);
        recurrent cells only.
    kernel_size : int, default=3
        Width (timesteps) of the ``Conv1D`` kernels.
    dense_layer_sizes : sequence of int, default=()
        Dense layers between the sequence encoder and the output.
    input_shape : tuple of int, default=None
        ``(timesteps, features)`` (or ``(timesteps,)`` for one feature) to
        reshape flat rows to, so the estimator can follow a scaler in a
        pipeline. Not needed for 3-D input.
    mask_value : float, default=None
        For variable-length sequences: pad each sequence to the common length
        with this value (every feature of a padded timestep equal to it, e.g.
        ``-1.0`` when the data never takes that value); the recurrent layers
        then skip those timesteps (``keras.layers.Masking``). Recurrent cells
        only. Note that a scaler before the estimator changes padded values
        too: pad after scaling, or scale per feature with the padding left
        out.
    activation : str, default="relu"
        Activation of the conv and dense layers (recurrent layers keep their
        ``tanh`` / ``sigmoid`` gates).
    dropout : float, default=0.0
        Input dropout of the recurrent layers; dropout after each conv and
        dense layer (training only).
    recurrent_dropout : float, default=0.0
        Dropout on the recurrent state (training only).
    l1 : float, default=0.0
        L1 penalty on every kernel.
    l2 : float, default=0.0
        L2 penalty on every kernel.
    kernel_initializer : str, default="glorot_uniform"
        Initializer of the input kernels (recurrent kernels are orthogonal)."""

_SEQUENCE_ATTR_DOC = """
    sequence_shape_ : tuple of int
        The (timesteps, features) shape the network takes."""


class SequenceClassifier(_SequenceInputMixin, BaseKerasClassifier):
    __doc__ = f"""Recurrent or 1-D convolutional classifier for sequences.

    Takes sequences ``(n_samples, timesteps, features)``, or flat rows with
    ``input_shape=(timesteps, features)`` (so it can follow a scaler in a
    pipeline). Binary, multiclass and multilabel targets.

    Parameters
    ----------{_SEQUENCE_DOC}{_TRAINING_DOC}
    class_weight : dict or "balanced", default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------{_SEQUENCE_ATTR_DOC}
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_ATTR_DOC}

    See Also
    --------
    SequenceRegressor : the same networks for continuous targets.
    MLPClassifier : for rows whose columns have no order.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import SequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 10, 2))
    >>> y = (X[:, :5, 0].sum(axis=1) > 0).astype(int)
    >>> clf = SequenceClassifier((8,), epochs=2, random_state=0).fit(X, y)
    >>> clf.sequence_shape_, clf.predict(X[:3]).shape
    ((10, 2), (3,))
    """

    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        **_SEQUENCE_CONSTRAINTS,
    }

    def __init__(
        self,
        recurrent_layer_sizes=(64,),
        *,
        cell="gru",
        bidirectional=False,
        kernel_size=3,
        dense_layer_sizes=(),
        input_shape=None,
        mask_value=None,
        activation="relu",
        dropout=0.0,
        recurrent_dropout=0.0,
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
        self.recurrent_layer_sizes = recurrent_layer_sizes
        self.cell = cell
        self.bidirectional = bidirectional
        self.kernel_size = kernel_size
        self.dense_layer_sizes = dense_layer_sizes
        self.input_shape = input_shape
        self.mask_value = mask_value
        self.activation = activation
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
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

    def _build_keras_model(self, meta, seed=None):
        units, output_activation = self._output_spec()
        return self._build_sequence(units, output_activation, seed)


class SequenceRegressor(_SequenceInputMixin, BaseKerasRegressor):
    __doc__ = f"""Recurrent or 1-D convolutional regressor for sequences.

    Takes sequences ``(n_samples, timesteps, features)``, or flat rows with
    ``input_shape=(timesteps, features)``. Single and multi-output targets;
    ``y`` is standardised internally and the scaling undone in ``predict``.

    Parameters
    ----------{_SEQUENCE_DOC}
    loss : {{"mse", "mae", "huber"}}, default="mse"
        Training loss, on the standardised target.{_TRAINING_DOC}

    Attributes
    ----------{_SEQUENCE_ATTR_DOC}{_ATTR_DOC}

    See Also
    --------
    SequenceClassifier : the same networks for class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import SequenceRegressor
    >>> X = np.random.RandomState(0).normal(size=(60, 8))
    >>> reg = SequenceRegressor((8,), input_shape=(8, 1), epochs=2,
    ...                         random_state=0).fit(X, X[:, 2] + X[:, 5])
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _scale_target = True
    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasRegressor._parameter_constraints,
        **_SEQUENCE_CONSTRAINTS,
        "loss": [StrOptions({"mse", "mae", "huber"})],
    }

    def __init__(
        self,
        recurrent_layer_sizes=(64,),
        *,
        cell="gru",
        bidirectional=False,
        kernel_size=3,
        dense_layer_sizes=(),
        input_shape=None,
        mask_value=None,
        activation="relu",
        dropout=0.0,
        recurrent_dropout=0.0,
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
        self.recurrent_layer_sizes = recurrent_layer_sizes
        self.cell = cell
        self.bidirectional = bidirectional
        self.kernel_size = kernel_size
        self.dense_layer_sizes = dense_layer_sizes
        self.input_shape = input_shape
        self.mask_value = mask_value
        self.activation = activation
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
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

    def _build_keras_model(self, meta, seed=None):
        return self._build_sequence(meta["n_outputs_"], None, seed)


# --------------------------------------------------------------------- text
