"""Checks of the data a fit is given: missing targets, and whether a continued
fit (``partial_fit``, warm start) gets the same kind of data as the first."""

import numpy as np
import pandas as pd

from skdeep.engine import inputs
from skdeep.estimators._dask import score as _dask_score


def _check_no_missing_target(y):
    """A clear error for NaN / None in y, before any conversion hides it."""
    if y is None or isinstance(y, str):
        return
    if isinstance(y, np.ndarray) and y.dtype.kind in "biu":
        return  # integers and booleans cannot be missing (no object copy)
    values = np.asarray(y, dtype=object)
    if values.size == 0 or values.ndim == 0:
        return
    missing = pd.isna(values)
    if missing.ndim > 1:
        missing = missing.reshape(missing.shape[0], -1).any(axis=1)
    n_missing = int(missing.sum())
    if n_missing:
        raise ValueError(
            f"y has missing values in {n_missing} of {len(missing)} rows. Drop "
            "those rows before fitting (e.g. keep = y.notna(); X, y = X[keep], "
            "y[keep]); a pipeline cannot drop rows for you."
        )


_KINDS = {"b": "boolean", "i": "integer", "u": "integer", "f": "floating-point",
          "c": "complex", "O": "text/object", "U": "text/object", "S": "text/object"}


def _input_dtype(data):
    """The dtype of X or y as the caller passed it, before any conversion
    (a DataFrame's columns combined; text, categories and pandas strings are
    object), or None when it has none (a dict of inputs)."""
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        dtypes = [_numpy_dtype(dt) for dt in data.dtypes]
        if not dtypes:
            return None
        if any(dt.kind not in "biuf" for dt in dtypes):
            return np.dtype(object)
        return np.result_type(*dtypes)
    dtype = getattr(data, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(data).dtype
        except (TypeError, ValueError):  # ragged lists, several inputs
            return None
    return _numpy_dtype(dtype)


def _numpy_dtype(dtype):
    if isinstance(dtype, np.dtype):
        return dtype
    numpy = getattr(dtype, "numpy_dtype", None)  # pandas Int64, Float64, boolean
    return numpy if isinstance(numpy, np.dtype) else np.dtype(object)


def _input_signature(X, y):
    """What a continued fit (``partial_fit``, warm start) needs unchanged:
    the dtypes of X and y as passed, and y's shape per sample."""
    return {"X": _input_dtype(X), "y": _input_dtype(y), "y_shape": _row_shape(y)}


def _row_shape(data):
    if data is None:
        return None
    shape = getattr(data, "shape", None)  # sparse matrices too
    if shape is None:
        try:
            shape = np.asarray(data).shape
        except (TypeError, ValueError):  # ragged: the validation says what is wrong
            return None
    return tuple(shape[1:])


def _same_kind_of_data(fitted, received):
    """Whether data of dtype ``received`` may continue a fit on ``fitted``.

    Numbers and text never mix (int labels after string labels, object X
    after numeric X). Among numbers, the same kind at another width passes
    (float64 after float32: the network computes in its own float type), and
    so does any dtype NumPy casts safely to the fitted one (int32 after
    float64), as scikeras allows; others (int64 after float32, floats after
    integer labels) do not.
    """
    kind_fitted = _KINDS.get(fitted.kind, fitted.kind)
    kind_received = _KINDS.get(received.kind, received.kind)
    if kind_fitted == kind_received:
        return True
    if "text/object" in (kind_fitted, kind_received):
        return False
    return bool(np.can_cast(received, fitted))


def _check_same_inputs(est, fitted, X, y, *, strict_y_ndim):
    """Raise when a continued fit gets X or y of another kind than the fit
    that built the network (see ``_same_kind_of_data``), or a y of another
    shape per sample. ``fitted`` is the first fit's ``_input_signature``
    (None for estimators saved before it was recorded: nothing to check).
    With ``strict_y_ndim`` False, a column vector y and a 1-D y are the same.
    """
    if not fitted:
        return
    name = type(est).__name__
    received = _input_signature(X, y)
    fix = ("partial_fit and warm-start fits continue the network built (and the "
           "encoders fitted) for the first fit's data. Pass every call data of "
           "the first call's kind, or fit a new estimator on the new data "
           "(fit with warm_start=False, or clone(estimator).fit(X, y)).")
    for what in ("X", "y"):
        was, now = fitted.get(what), received[what]
        if was is None or now is None or _same_kind_of_data(was, now):
            continue
        raise ValueError(
            f"{what} has dtype {now} ({_KINDS.get(now.kind, now.kind)}), but "
            f"this {name} was fitted on {what} of dtype {was} "
            f"({_KINDS.get(was.kind, was.kind)}): {fix}")
    was, now = fitted.get("y_shape"), received["y_shape"]
    if was is None or now is None:
        return
    if not strict_y_ndim:
        was, now = (() if s == (1,) else s for s in (was, now))
    if was != now:
        raise ValueError(
            f"y is {_describe_y(now)}, but this {name} was fitted on "
            f"{_describe_y(was)}: {fix}")


def _describe_y(shape):
    if not shape:
        return "1-D (one value per sample)"
    if len(shape) == 1:
        return f"2-D with {shape[0]} column(s) per sample"
    return f"of shape {shape} per sample"


def _dataset_scoring(est, X, y, sample_weight, predict):
    """``(y_true, y_pred, sample_weight or None)`` for ``score`` on Keras
    dataset X: the targets (and weights) of its batches and ``predict`` of
    their x, in one pass with one batch of X in memory at a time."""
    if y is not None or sample_weight is not None:
        raise ValueError(
            f"{type(est).__name__}.score got a Keras dataset, which yields its own "
            "targets and weights as batches (x, y) or (x, y, sample_weight), and "
            "also y or sample_weight. Call score(dataset) with y=None.")
    targets, predicted, weights = [], [], []
    for x, y_batch, *sw in inputs.xy_batches(X):
        predicted.append(np.asarray(predict(x)))
        targets.append(y_batch)
        weights.append(np.asarray(sw[0], np.float64).ravel() if sw else None)
    if not targets:
        raise ValueError("The dataset yields no batches: nothing to score.")
    if all(w is None for w in weights):
        sample_weight = None
    else:  # batches without weights count each row once
        sample_weight = np.concatenate([
            np.ones(len(t)) if w is None else w
            for t, w in zip(targets, weights, strict=True)])
    return np.concatenate(targets), np.concatenate(predicted), sample_weight


def _score(est, mixin_score, metric, X, y, sample_weight):
    """``score`` for every kind of X: ``metric`` of a Keras dataset's batches
    (y None, see :func:`_dataset_scoring`), else scikit-learn's
    ``mixin_score`` (for Dask X on predictions computed block by block)."""
    if inputs.is_keras_dataset(X):
        y, y_pred, sample_weight = _dataset_scoring(est, X, y, sample_weight,
                                                    est.predict)
        return float(metric(y, y_pred, sample_weight=sample_weight))
    return _dask_score(est, mixin_score, X, y, sample_weight)
