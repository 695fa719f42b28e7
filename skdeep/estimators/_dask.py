"""Predictions and scores of the ready-made estimators for Dask input.

``predict``-like methods return a lazy Dask array for a Dask X (the method
run block by block, ``skdeep.engine.dask_inputs.lazy_method``); ``score``
computes the predictions once, block by block, and scores them in memory
(one column, as y is).
"""

import copy
import functools

import numpy as np

from skdeep.engine import dask_inputs

__all__ = ["lazy_on_dask", "score"]


def lazy_on_dask(method):
    """``method(self, X)``, or for a Dask X a lazy Dask array of its
    results, computed block by block."""

    @functools.wraps(method)
    def wrapper(self, X):
        if dask_inputs.is_dask(X) and not isinstance(X, dask_inputs.Blocks):
            self._check_fitted()
            return dask_inputs.lazy_method(self, method.__name__, X)
        return method(self, X)

    return wrapper


def score(estimator, mixin_score, X, y, sample_weight):
    """``mixin_score(estimator, X, y, sample_weight)`` (scikit-learn's
    ``score``) where the predictions of a Dask X are computed once, block by
    block, and a Dask y or sample_weight is computed into memory."""
    y, sample_weight = dask_inputs.gather(y), dask_inputs.gather(sample_weight)
    if dask_inputs.is_dask(X):
        predicted = np.asarray(estimator.predict(X).compute())
        view = copy.copy(estimator)
        view.predict = lambda _: predicted
        estimator = view
    return mixin_score(estimator, X, y, sample_weight=sample_weight)
