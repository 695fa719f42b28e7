"""Image classifiers: ``CNNClassifier`` and ``TransferClassifier``."""

import math
from numbers import Integral, Real

import numpy as np

from skdeep._compat import Interval, validate_data
from skdeep.architectures import (
    AUGMENTATIONS,
    build_cnn,
    build_transfer,
    check_cnn_fits,
    fresh_base,
    set_trainable_top,
)
from skdeep.engine.training import seeded_build
from skdeep.estimators._docs import ATTR_DOC as _ATTR_DOC
from skdeep.estimators._docs import CLASS_WEIGHT_DOC as _CLASS_WEIGHT_DOC
from skdeep.estimators._docs import LAYER_DOC as _LAYER_DOC
from skdeep.estimators._docs import TRAINING_DOC as _TRAINING_DOC
from skdeep.estimators._params import (
    _MLP_CONSTRAINTS,
    _as_sizes,
    _check_architecture,
    _layer_sizes,
)
from skdeep.estimators.classifier import BaseKerasClassifier

__all__ = ["CNNClassifier", "TransferClassifier"]


class _ImageInputMixin:
    """Accept images ``(n, h, w)`` / ``(n, h, w, c)`` or flat rows + a shape."""

    def _target_image_shape(self, X):
        """The per-sample shape the network takes (overridden by subclasses)."""
        return None

    def _validate_X(self, X, y="no_validation", *, reset):
        name = type(self).__name__
        if not reset and hasattr(self, "image_shape_"):
            shape = np.shape(X)
            if len(shape) > 1 and math.prod(shape[1:]) != math.prod(self.image_shape_):
                raise ValueError(
                    f"{name} was fitted on samples of shape {self.image_shape_} "
                    f"({math.prod(self.image_shape_)} values each); got samples of "
                    f"shape {tuple(shape[1:])}."
                )
            if len(shape) > 2:  # compare flat sizes with n_features_in_
                X = np.asarray(X).reshape(shape[0], -1)
        kwargs = dict(reset=reset, allow_nd=True, dtype=(np.float64, np.float32))
        if isinstance(y, str) and y == "no_validation":
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, multi_output=True, **kwargs)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim > 4:
            raise ValueError(
                f"{name} takes images of shape (n, h, w) or (n, h, w, c), or flat "
                f"rows with input_shape=...; got an array of shape {X.shape}."
            )
        if reset:
            self.image_shape_ = self._target_image_shape(X)
            self.n_features_in_ = math.prod(X.shape[1:])  # values per sample
        target = self.image_shape_
        if X.shape[1:] != target:
            if math.prod(X.shape[1:]) != math.prod(target):
                fitted = "was fitted on" if not reset else "needs"
                raise ValueError(
                    f"{name} {fitted} samples of shape {target} "
                    f"({math.prod(target)} values each); got samples of shape "
                    f"{X.shape[1:]}. Pass images of that shape, or flat rows with "
                    "input_shape=(height, width[, channels])."
                )
            X = X.reshape((X.shape[0], *target))
        return X if isinstance(y, str) and y == "no_validation" else (X, y)


class CNNClassifier(_ImageInputMixin, BaseKerasClassifier):
    __doc__ = f"""Convolutional network classifier for small images.

    Takes images ``(n, h, w)`` or ``(n, h, w, c)``, or flat rows with
    ``input_shape=(h, w[, c])`` (so it can sit after a scaler in a
    pipeline).

    Parameters
    ----------
    conv_filters : sequence of int, default=(32, 64)
        Filters of each conv block (Conv2D + activation + max pooling).
    kernel_size : int, default=3
        Height and width of the convolution kernels ("same" padding).
    pool_size : int, default=2
        Height and width of the max pooling after each conv block.
    dense_layer_sizes : sequence of int, default=(128,)
        Dense layers after the conv blocks.
    input_shape : tuple of int, default=None
        Image shape for flat rows.
    augmentation : sequence of str, default=()
        Any of ``"flip"``, ``"rotation"``, ``"zoom"``, ``"translation"``:
        random transformations applied while training only.{_LAYER_DOC}\
{_TRAINING_DOC}{_CLASS_WEIGHT_DOC}

    Attributes
    ----------
    image_shape_ : tuple
        The (h, w, c) shape the network takes.
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_ATTR_DOC}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(conv_filters=(8,), input_shape=(8, 8), epochs=2,
    ...                     random_state=0).fit(X / 16, y)
    >>> clf.image_shape_, clf.predict(X[:2] / 16).shape
    ((8, 8, 1), (2,))
    """

    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        **_MLP_CONSTRAINTS,
        "conv_filters": ["array-like", Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "dense_layer_sizes": ["array-like"],
        "input_shape": [tuple, list, None],
        "augmentation": [list, tuple, str],
    }

    def __init__(
        self,
        conv_filters=(32, 64),
        *,
        kernel_size=3,
        pool_size=2,
        dense_layer_sizes=(128,),
        input_shape=None,
        augmentation=(),
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
        self.conv_filters = conv_filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.dense_layer_sizes = dense_layer_sizes
        self.input_shape = input_shape
        self.augmentation = augmentation
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

    def _augmentations(self):
        augmentation = ([self.augmentation] if isinstance(self.augmentation, str)
                        else list(self.augmentation))
        unknown = [a for a in augmentation if a not in AUGMENTATIONS]
        if unknown:
            raise ValueError(
                f"The 'augmentation' parameter of CNNClassifier must name "
                f"augmentations from {list(AUGMENTATIONS)}. Got {unknown} instead."
            )
        return augmentation

    def _check_params(self):
        self._augmentations()
        _check_architecture(self, "dense_layer_sizes")
        _check_architecture(self, "conv_filters")

    def _target_image_shape(self, X):
        if self.input_shape is not None:
            shape = tuple(int(d) for d in self.input_shape)
            if len(shape) not in (2, 3):
                raise ValueError(
                    "The 'input_shape' parameter of CNNClassifier must be (height, "
                    f"width) or (height, width, channels). Got {self.input_shape!r}."
                )
            return shape if len(shape) == 3 else (*shape, 1)
        if X.ndim == 2:
            raise ValueError(
                f"CNNClassifier got flat rows of {X.shape[1]} values; pass "
                "input_shape=(height, width[, channels]) so it can reshape them, "
                "or pass images of shape (n, h, w[, c])."
            )
        return tuple(X.shape[1:]) if X.ndim == 4 else (*X.shape[1:], 1)

    def _build_keras_model(self, meta, seed=None):
        check_cnn_fits(self.image_shape_, _as_sizes(self.conv_filters),
                       self.pool_size)
        units, output_activation = self._output_spec()
        return build_cnn(
            self.image_shape_, units, output_activation=output_activation,
            conv_filters=_as_sizes(self.conv_filters), kernel_size=self.kernel_size,
            pool_size=self.pool_size,
            dense_layer_sizes=_as_sizes(self.dense_layer_sizes),
            activation=self.activation, dropout=self.dropout,
            batch_norm=self.batch_norm, l1=self.l1, l2=self.l2,
            kernel_initializer=self.kernel_initializer,
            augmentation=self._augmentations(), seed=seed,
        )


class TransferClassifier(_ImageInputMixin, BaseKerasClassifier):
    __doc__ = f"""Fine-tune a pretrained Keras network with a new classification head.

    Phase 1 trains a new head on the frozen base for ``epochs``; phase 2, if
    ``fine_tune_epochs > 0``, unfreezes the top ``trainable_layers`` layers
    (with weights) of the base and trains ``fine_tune_epochs`` more at
    ``fine_tune_learning_rate``. Every fit starts from a fresh copy of the
    pretrained weights, and the model you pass is never changed.

    Parameters
    ----------
    base_model : keras.Model, str or callable
        The pretrained network, ending at the features to build on (e.g.
        ``keras.Model(net.input, net.layers[-2].output)``): a model, a path to
        a ``.keras`` file, or a function returning a model.
    trainable_layers : int, default=0
        Top layers of the base unfrozen in the fine-tuning phase.
    head_layer_sizes : sequence of int, default=(128,)
        Units of the dense layers of the new head.
    dropout : float, default=0.5
        Dropout after each head layer.
    fine_tune_epochs : int, default=0
        Epochs of the fine-tuning phase (0: no fine-tuning).
    fine_tune_learning_rate : float, default=1e-5
        Learning rate of the fine-tuning phase (small, so the pretrained
        features are adjusted rather than destroyed).
    input_shape : tuple of int, default=None
        Shape to reshape flat rows to; by default the base's input shape.
    activation : str, default="relu"
        Activation of the head layers.
    l2 : float, default=0.0
        L2 penalty on the head.{_TRAINING_DOC}{_CLASS_WEIGHT_DOC}

    Attributes
    ----------
    image_shape_ : tuple
        The (h, w, c) shape the network takes.
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_ATTR_DOC}

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import TransferClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> base = keras.Sequential([keras.Input((8, 8, 1)),
    ...                          keras.layers.Conv2D(4, 3, activation="relu"),
    ...                          keras.layers.Flatten()])  # a pretrained net
    >>> clf = TransferClassifier(base, head_layer_sizes=(16,), input_shape=(8, 8),
    ...                          epochs=2, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        # base_model (a model, a path or a callable) is checked, with a clear
        # error, when the fresh copy is made in fit
        "trainable_layers": [Interval(Integral, 0, None, closed="left")],
        "head_layer_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "input_shape": [tuple, list, None],
        "activation": [str, callable],
        "l2": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        base_model=None,
        *,
        trainable_layers=0,
        head_layer_sizes=(128,),
        dropout=0.5,
        fine_tune_epochs=0,
        fine_tune_learning_rate=1e-5,
        input_shape=None,
        activation="relu",
        l2=0.0,
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
        self.base_model = base_model
        self.trainable_layers = trainable_layers
        self.head_layer_sizes = head_layer_sizes
        self.dropout = dropout
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.input_shape = input_shape
        self.activation = activation
        self.l2 = l2
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
        if self.base_model is None:
            raise ValueError(
                "TransferClassifier needs base_model=<a pretrained keras.Model, a "
                "path to a .keras file, or a function returning a model>."
            )
        _layer_sizes(self, "head_layer_sizes")

    def _fresh_base(self):
        """A fresh copy of the pretrained network, loaded once per fit."""
        base = self.__dict__.pop("_base", None)
        if base is None:
            with seeded_build(None):  # cloning draws seeds it then overwrites
                base = fresh_base(self.base_model)
        n_weighted = sum(1 for layer in base.layers if layer.weights)
        if self.trainable_layers > n_weighted:
            raise ValueError(
                f"trainable_layers={self.trainable_layers}, but the base model has "
                f"only {n_weighted} layers with weights."
            )
        return base

    def _target_image_shape(self, X):
        if self.input_shape is not None:
            return tuple(int(d) for d in self.input_shape)
        # the copy read here to learn the input shape is the one this fit uses
        self._base = self._fresh_base()
        return tuple(int(d) for d in self._base.input_shape[1:])

    def _build_keras_model(self, meta, seed=None):
        units, output_activation = self._output_spec()
        base = self._fresh_base()  # used once: never shared by two fits
        return build_transfer(
            base, units, output_activation=output_activation,
            head_layer_sizes=_as_sizes(self.head_layer_sizes),
            activation=self.activation, dropout=self.dropout, l2=self.l2,
            seed=seed,
        )

    def _extra_phases(self):
        if self.fine_tune_epochs == 0 or self.trainable_layers == 0:
            return ()
        n_layers = self.trainable_layers

        def unfreeze(model):
            base = next(layer for layer in model.layers
                        if hasattr(layer, "layers") and layer.weights)
            set_trainable_top(base, n_layers)

        return ((unfreeze, self.fine_tune_epochs, self.fine_tune_learning_rate),)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_base", None)
        return state
