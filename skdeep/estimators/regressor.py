"""Regressors: single and multi-output targets, optional target scaling.

``BaseKerasRegressor`` is what every skdeep regressor shares;
the generic ``KerasRegressor`` is in ``skdeep.wrappers``.
"""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from skdeep.estimators._dask import lazy_on_dask
from skdeep.estimators._inputs import _score
from skdeep.estimators.base import BaseKerasEstimator

__all__ = ["BaseKerasRegressor"]


class BaseKerasRegressor(RegressorMixin, BaseKerasEstimator):
    """Shared regressor behaviour. Use a concrete subclass."""

    _y_numeric = True
    _score_metric = "r2"
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

    def _graph_score(self):
        return "r2"

    def _decode_target(self, y_enc):
        y = np.asarray(y_enc, dtype=np.float64) * self._y_scale + self._y_mean
        return y.ravel() if self._y_ndim == 1 else y

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

    @lazy_on_dask
    def predict(self, X):
        """Predicted targets: shape (n_samples,) if y was 1-D, else 2-D."""
        out = self._predict_raw(X) * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out

    def score(self, X, y=None, sample_weight=None):
        """R² of the predictions for X against y.

        X may also be a Keras dataset (``keras.utils.PyDataset``,
        ``tf.data.Dataset``) with ``y=None``: its batches' targets (and
        weights, from batches ``(x, y, sample_weight)``) are scored against
        the predictions of their x, in one pass. For Dask X the predictions
        are computed block by block, and a Dask y is computed into memory.
        """
        return _score(self, RegressorMixin.score, r2_score, X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
