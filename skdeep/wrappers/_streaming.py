"""The generic wrappers on data read batch by batch: NumPy memmaps and Keras
datasets (``keras.utils.PyDataset``, ``tf.data.Dataset``), through the same
``skdeep.engine.inputs`` functions as the ready-made estimators.

A memmap is never read whole: its first rows are checked, the training and
validation rows are held by index (:func:`rows`) and predictions are made
chunk by chunk. A Keras dataset is read once before training
(``inputs.scan``: its width, a classifier's classes), then trained in its
own order, each batch's y encoded as it is read.
"""

import numpy as np

from skdeep.engine import inputs
from skdeep.engine.keras_objects import take

__all__ = ["check_dataset_fit", "is_streamed", "rows"]


def is_streamed(X):
    """Whether X is read batch by batch (a memmap, rows of one, or a Keras
    dataset read by ``inputs.scan``)."""
    return inputs.streams(X) or isinstance(X, inputs.KerasData)


def rows(X, index):
    """Rows ``index`` of X: held by index for a memmap (not read), else taken."""
    if isinstance(X, np.memmap):
        return inputs.Rows(X, index)
    if isinstance(X, inputs.Rows):
        return inputs.Rows(X.source, X.index[index])
    return take(X, index)


def check_dataset_fit(est, y, sample_weight, fit_kwargs, *, custom_features):
    """Raise for what a fit on a Keras dataset cannot take: y, sample
    weights or class weights given apart from the batches, a validation
    split (the dataset has no rows to hold out), or a feature encoder
    (``custom_features``: the batches reach the network as they are)."""
    name = type(est).__name__
    if y is not None or sample_weight is not None or (
            getattr(est, "class_weight", None) is not None
            or fit_kwargs.get("class_weight") is not None):
        raise ValueError(
            f"{name}.fit got a Keras dataset, which yields its own targets and "
            "weights as batches (x, y) or (x, y, sample_weight), and also y, "
            "sample_weight or class_weight. Call fit(dataset) with y=None and "
            "put the weights in the batches.")
    split = fit_kwargs.get("validation_split") or 0.0
    if split:
        raise ValueError(
            f"{name} got validation_split={split!r} with a Keras dataset, whose "
            "rows cannot be held out without reading it. Pass validation rows "
            "instead: fit(dataset, validation_data=(X_val, y_val)) (or "
            f"{name}(..., fit__validation_data=...)), or validation_split=0.0.")
    if custom_features:
        raise ValueError(
            f"{name} feeds the batches of a Keras dataset to the network as "
            "they are, so its feature_encoder / input_columns cannot apply. "
            "Build the network's inputs in the dataset, or fit on arrays.")
