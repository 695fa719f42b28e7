"""Default data transformers of the generic wrappers (scikeras's interface).

``KerasClassifier.target_encoder`` / ``KerasRegressor.target_encoder`` /
``feature_encoder`` return these; a subclass overrides the properties to
return its own transformers. Each is a scikit-learn transformer; whatever
``get_metadata()`` returns becomes a fitted attribute of the estimator and a
key of ``meta``.

- :class:`ClassifierLabelEncoder`: labels to ordinal (or one-hot, for a
  categorical cross-entropy) targets and back. A 2-D y of several label
  columns (``multiclass-multioutput``) is encoded column by column, one
  network output per column.
- :class:`RegressorTargetEncoder`: checks the number of outputs and restores
  y's shape.
- :class:`ColumnGroups`: splits a DataFrame's columns into the named inputs
  of a multi-input network.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from skdeep.engine.keras_objects import float_dtype, is_one_hot_loss

__all__ = ["ClassifierLabelEncoder", "ColumnGroups", "RegressorTargetEncoder"]


class ClassifierLabelEncoder(TransformerMixin, BaseEstimator):
    """Default target transformer of ``KerasClassifier``.

    Parameters
    ----------
    loss : str, keras loss or None, default=None
        With a categorical cross-entropy, multiclass targets are one-hot
        encoded; otherwise they are ordinal (class indices).
    categories : "auto" or list of arrays, default="auto"
        Every class of the whole dataset (``partial_fit(classes=...)``).

    Attributes
    ----------
    classes_ : ndarray, list of ndarray or None
    n_classes_ : int, list of int or None
    n_outputs_ : int
        Columns of y.
    n_outputs_expected_ : int
        Outputs the network must have: one per label column of a
        ``multiclass-multioutput`` target, else one.
    """

    def __init__(self, loss=None, categories="auto"):
        self.loss = loss
        self.categories = categories

    def _type_of_target(self, y):
        target_type = type_of_target(y)
        if target_type == "binary" and not isinstance(self.categories, str):
            target_type = type_of_target(np.asarray(self.categories[0]))
        if target_type == "multilabel-indicator" and y.min() == 0 and (
                y.sum(axis=1) == 1).all():
            target_type = "multiclass-onehot"
        return target_type

    def fit(self, y):
        y = np.asarray(y)
        target_type = self._type_of_target(y)
        dtype = float_dtype()
        self._y_shape = y.shape
        self._target_type = target_type
        if target_type in ("binary", "multiclass"):
            categories = self.categories
            if target_type == "multiclass" and is_one_hot_loss(self.loss):
                self._encoder = OneHotEncoder(sparse_output=False, dtype=dtype,
                                              categories=categories)
            else:
                self._encoder = OrdinalEncoder(dtype=dtype, categories=categories)
            self._encoder.fit(y.reshape(-1, 1))
            self.classes_ = self._encoder.categories_[0]
            self.n_classes_ = self.classes_.size
            self.n_outputs_ = self.n_outputs_expected_ = 1
        elif target_type in ("multiclass-onehot", "multilabel-indicator"):
            self.classes_ = np.arange(y.shape[1])
            self.n_classes_ = y.shape[1]
            self.n_outputs_ = self.n_outputs_expected_ = 1
        elif target_type == "multiclass-multioutput":
            self._encoders = [OrdinalEncoder(dtype=dtype).fit(y[:, [j]])
                              for j in range(y.shape[1])]
            self.classes_ = [e.categories_[0] for e in self._encoders]
            self.n_classes_ = [c.size for c in self.classes_]
            self.n_outputs_ = self.n_outputs_expected_ = y.shape[1]
        else:
            raise ValueError(
                f"Unknown label type: {target_type!r}. KerasClassifier encodes "
                "binary, multiclass, multilabel-indicator, one-hot and "
                "multiclass-multioutput targets. For another kind, subclass "
                "KerasClassifier and override the target_encoder property with "
                "a transformer that encodes it."
            )
        return self

    def transform(self, y):
        check_is_fitted(self, "n_outputs_expected_")
        y = np.asarray(y)
        if self._target_type in ("binary", "multiclass"):
            return self._encoder.transform(y.reshape(-1, 1))
        if self._target_type == "multiclass-multioutput":
            return [e.transform(y[:, [j]]) for j, e in enumerate(self._encoders)]
        return y

    def inverse_transform(self, y, return_proba=False):
        """Labels (or, with ``return_proba``, probabilities) from network outputs."""
        check_is_fitted(self, "n_outputs_expected_")
        if self._target_type == "multiclass-multioutput":
            probas = [_two_columns(np.asarray(p).reshape(len(p), -1)) for p in y]
            if return_proba:
                return probas
            return np.column_stack([
                e.categories_[0][np.argmax(p, axis=1)]
                for e, p in zip(self._encoders, probas, strict=True)])
        y = np.asarray(y)
        y = y.reshape(len(y), -1)
        if self._target_type == "binary":
            if y.shape[1] == 1 and self.n_classes_ == 2:
                y = _two_columns(y)
            labels = self.classes_[np.argmax(y, axis=1)]
        elif self._target_type == "multiclass":
            labels = self.classes_[np.argmax(y, axis=1)]
        elif self._target_type == "multiclass-onehot":
            labels = np.zeros(y.shape, dtype=int)
            labels[np.arange(len(y)), np.argmax(y, axis=1)] = 1
        else:  # multilabel-indicator
            labels = (y >= 0.5).astype(int)
        if return_proba:
            return y
        return labels.reshape(-1, *self._y_shape[1:])

    def get_metadata(self):
        return {"classes_": self.classes_, "n_classes_": self.n_classes_,
                "n_outputs_": self.n_outputs_,
                "n_outputs_expected_": self.n_outputs_expected_}


def _two_columns(p):
    """A binary output's single column as ``[P(class 0), P(class 1)]``."""
    return np.column_stack([1 - p[:, 0], p[:, 0]]) if p.shape[1] == 1 else p


class RegressorTargetEncoder(TransformerMixin, BaseEstimator):
    """Default target transformer of ``KerasRegressor``: y passes unchanged.

    Attributes
    ----------
    n_outputs_ : int
        Columns of y.
    n_outputs_expected_ : int
        Outputs the network must have (one; the columns of a 2-D y are the
        units of that output, or are split over several outputs when the
        network has one output per column).
    """

    def fit(self, y):
        y = np.asarray(y)
        self._y_shape = y.shape
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.n_outputs_expected_ = 1
        return self

    def transform(self, y):
        check_is_fitted(self, "n_outputs_")
        y = np.asarray(y)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} output(s) (shape {y.shape}), but this "
                f"regressor was fitted on {self.n_outputs_}."
            )
        return y

    def inverse_transform(self, y):
        check_is_fitted(self, "n_outputs_")
        if isinstance(y, (list, tuple)):  # one network output per column
            y = np.column_stack([np.asarray(p).reshape(len(p), -1) for p in y])
        # float64, as scikit-learn's regressors predict
        return np.asarray(y, dtype=np.float64).reshape(-1, *self._y_shape[1:])

    def get_metadata(self):
        return {"n_outputs_": self.n_outputs_,
                "n_outputs_expected_": self.n_outputs_expected_}


class ColumnGroups(TransformerMixin, BaseEstimator):
    """Split X's columns into the named inputs of a multi-input network.

    Parameters
    ----------
    groups : dict of str to list
        Input name to its columns: names for a DataFrame, positions for an
        array. ``transform`` returns a dict of float arrays, one per input,
        in the order of ``groups``.
    """

    def __init__(self, groups):
        self.groups = groups

    def fit(self, X, y=None):
        if not isinstance(self.groups, dict) or not self.groups:
            raise ValueError(
                "input_columns must be a non-empty dict from input name to the "
                f"columns that feed it, e.g. {{'wide': ['a', 'b'], 'deep': ['c']}}; "
                f"got {self.groups!r}."
            )
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        for name, cols in self.groups.items():
            missing = [c for c in cols if (c not in names if names is not None
                                           else not isinstance(c, (int, np.integer))
                                           or not 0 <= c < np.shape(X)[1])]
            if missing:
                where = (f"X's columns are {names}" if names is not None
                         else f"X has {np.shape(X)[1]} columns (use positions)")
                raise ValueError(
                    f"input_columns[{name!r}] names columns {missing} that X "
                    f"does not have; {where}."
                )
        self.n_inputs_ = len(self.groups)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_inputs_")
        dtype = float_dtype()
        if isinstance(X, pd.DataFrame):
            return {name: X[list(cols)].to_numpy(dtype=dtype)
                    for name, cols in self.groups.items()}
        X = np.asarray(X)
        return {name: X[:, list(cols)].astype(dtype)
                for name, cols in self.groups.items()}

    def get_metadata(self):
        return {"n_inputs_": self.n_inputs_}
