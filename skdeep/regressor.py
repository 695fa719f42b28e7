"""Regressors: single and multi-output targets, optional target scaling.

``BaseKerasRegressor`` is what every skdeep regressor shares;
``KerasRegressor`` wraps a network the user brings.
"""

import numpy as np
from sklearn.base import RegressorMixin

from ._docs import ATTR_DOC as _ATTR_DOC
from ._docs import TRAINING_DOC as _TRAINING_DOC
from ._wrapper import RoutedParamsMixin
from .base import BaseKerasEstimator

__all__ = ["BaseKerasRegressor", "KerasRegressor"]


class BaseKerasRegressor(RegressorMixin, BaseKerasEstimator):
    """Shared regressor behaviour. Use a concrete subclass."""

    _y_numeric = True
    # Ready-made networks standardise y (a linear output layer trains much
    # better on unit-scale targets) and undo it in predict.
    _scale_target = False

    def _fit_target(self, y):
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim = y.ndim
        y2 = y.reshape(y.shape[0], -1)
        self.n_outputs_ = y2.shape[1]
        self.target_type_ = (
            "continuous" if self.n_outputs_ == 1 else "continuous-multioutput"
        )
        if self._scale_target:
            self._y_mean = y2.mean(axis=0)
            scale = y2.std(axis=0)
            self._y_scale = np.where(scale > 0, scale, 1.0)
        else:
            self._y_mean, self._y_scale = 0.0, 1.0
        return self._transform_target(y)

    def _transform_target(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(np.shape(y)[0], -1)
        if y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} output(s), but this regressor was fitted "
                f"on {self.n_outputs_}."
            )
        return ((y - self._y_mean) / self._y_scale).astype(np.float32)

    def _default_loss(self, model):
        return "mse"

    def _check_output_shape(self, model):
        units = self._output_units(model)
        if units is not None and units != self.n_outputs_:
            raise ValueError(
                f"The network's output layer has {units} unit(s), but y has "
                f"{self.n_outputs_} output(s). Build the output layer from "
                "meta['n_outputs_']."
            )

    def predict(self, X):
        """Predicted targets: shape (n_samples,) if y was 1-D, else 2-D."""
        out = self._predict_raw(X) * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class KerasRegressor(RoutedParamsMixin, BaseKerasRegressor):
    __doc__ = f"""Scikit-learn regressor around a Keras network you bring.

    Single and multi-output targets; the output layer must have
    ``meta["n_outputs_"]`` units. ``y`` is passed to the network as it is
    (no scaling).

    Parameters
    ----------
    model : keras.Model or callable, default=None
        The network, or a function returning it. A function may take any of
        ``meta`` (dict with ``n_features_in_``, ``target_type_``,
        ``n_outputs_``), ``compile_kwargs`` and its own arguments, given to
        the estimator as ``model__<name>=value`` (or as plain keyword
        arguments, as in scikeras). A ``keras.Model`` is cloned at each fit,
        so every fit starts from fresh weights and the object you passed is
        never trained. A network the function compiles itself is trained as
        compiled.
    loss : str or keras.losses.Loss, default=None
        ``None`` means mean squared error. ``loss__<name>`` routes arguments
        to it.
    metrics : list, default=None
        Keras metrics reported in ``history_`` (``"val_"`` prefixed on the
        validation rows).{_TRAINING_DOC}
    **kwargs
        Routed parameters: ``model__``, ``optimizer__``, ``loss__``,
        ``fit__``, ``compile__``, ``predict__``; plain names go to the build
        function.

    Attributes
    ----------{_ATTR_DOC}

    See Also
    --------
    skdeep.MLPRegressor : a ready-made network with flat hyperparameters.

    Examples
    --------
    >>> import keras
    >>> import numpy as np
    >>> from skdeep import KerasRegressor
    >>> def build(meta):
    ...     return keras.Sequential([keras.Input((meta["n_features_in_"],)),
    ...                              keras.layers.Dense(meta["n_outputs_"])])
    >>> X = np.random.RandomState(0).normal(size=(64, 3))
    >>> reg = KerasRegressor(build, epochs=3, random_state=0).fit(X, X.sum(axis=1))
    >>> reg.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints: dict = {
        **BaseKerasRegressor._parameter_constraints,
        "model": [callable, None],
        "loss": [str, callable, None],
        "metrics": [list, tuple, dict, None],
    }

    def __init__(
        self,
        model=None,
        *,
        loss=None,
        metrics=None,
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
        **kwargs,
    ):
        self.model = model
        self.loss = loss
        self.metrics = metrics
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
        # Routed parameters (scikeras convention), validated in fit.
        self._routed = kwargs
