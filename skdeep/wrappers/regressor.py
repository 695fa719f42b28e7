"""``KerasRegressor``: scikeras's regressor API over skdeep's engine."""



from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from skdeep.estimators._docs import WRAPPER_DOC
from skdeep.wrappers.base import BaseWrapper
from skdeep.wrappers.encoders import (
    RegressorTargetEncoder,
)

__all__ = ["KerasRegressor"]


class KerasRegressor(RegressorMixin, BaseWrapper):
    __doc__ = """Scikit-learn regressor around your Keras network (scikeras's API).

    y reaches the network unchanged; a 2-D y feeds one output with a unit per
    column, or one output per column when the network has as many outputs.
    """ + WRAPPER_DOC.format(
        cls_meta="",
        loss_doc="None with an uncompiled network raises, as in scikeras.",
        extra="") + """
    Attributes
    ----------
    model_ : keras.Model
    history_ : dict of str to list of float
    n_outputs_, n_outputs_expected_, target_type_, X_shape_, X_dtype_,
    y_dtype_, y_ndim_, n_features_in_, feature_encoder_, target_encoder_,
    current_epoch, initialized_

    Examples
    --------
    >>> import keras
    >>> import numpy as np
    >>> from skdeep import KerasRegressor
    >>> def build(meta):
    ...     return keras.Sequential([keras.Input((meta["n_features_in_"],)),
    ...                              keras.layers.Dense(meta["n_outputs_"])])
    >>> X = np.random.RandomState(0).normal(size=(64, 3))
    >>> reg = KerasRegressor(build, loss="mse", epochs=3, verbose=0, random_state=0)
    >>> reg.fit(X, X.sum(axis=1)).predict(X[:4]).shape
    (4,)
    """

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """R² (override to change ``score``)."""
        return r2_score(y_true, y_pred, **kwargs)

    score = BaseWrapper.score  # through ``scorer``, not RegressorMixin's

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        return super()._validate_data(X=X, y=y, reset=reset, y_numeric=True)

    @property
    def target_encoder(self):
        """Checks y's outputs and restores its shape (override for other targets)."""
        return RegressorTargetEncoder()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags
