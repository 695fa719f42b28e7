"""The generic wrappers on data read batch by batch: NumPy memmaps, Dask
arrays and DataFrames, and Keras datasets (``keras.utils.PyDataset``,
``tf.data.Dataset``), through the same ``skdeep.engine.inputs`` functions as
the ready-made estimators.

A Dask X is read block by block (``skdeep.engine.dask_inputs.Blocks``); its
``validation_split`` rows are the last whole blocks (:func:`split_last_blocks`)
and its predictions are lazy Dask arrays (``dask_inputs.lazy_method``).

A memmap is never read whole: its first rows are checked, the training and
validation rows are held by index (:func:`rows`) and predictions are made
chunk by chunk. A Keras dataset is read once before training
(``inputs.scan``: its width, a classifier's classes), then trained in its
own order, each batch's y encoded as it is read.
"""

import numpy as np

from skdeep.engine import dask_inputs, inputs
from skdeep.engine.keras_objects import take
from skdeep.exceptions import NotFittedError

__all__ = ["check_dask_fit", "check_dataset_fit", "is_lazy_dask", "is_streamed",
           "lazy", "rows", "split_last_blocks"]


def is_streamed(X):
    """Whether X is read batch by batch (a memmap, rows of one, or a Keras
    dataset read by ``inputs.scan``)."""
    return inputs.streams(X) or isinstance(X, inputs.KerasData)


def is_lazy_dask(X):
    """Whether X is a Dask collection, whose predictions are lazy."""
    return dask_inputs.is_dask(X) and not isinstance(X, dask_inputs.Blocks)


def lazy(est, method, X, kwargs):
    """``est.<method>(X, **kwargs)`` for a Dask X: a lazy Dask array,
    computed block by block (``dask_inputs.lazy_method``)."""
    if not est.initialized_:
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet. Call "
            "'fit' (or 'initialize') before using this estimator.")
    return dask_inputs.lazy_method(est, method, X, **kwargs)


def rows(X, index):
    """Rows ``index`` of X: held by index for a memmap (not read), else taken."""
    if isinstance(X, np.memmap):
        return inputs.Rows(X, index)
    if isinstance(X, inputs.Rows):
        return inputs.Rows(X.source, X.index[index])
    if isinstance(X, dask_inputs.Blocks):
        index = np.asarray(index)
        if len(index) == len(X) and np.array_equal(index, np.arange(len(X))):
            return X
        raise ValueError(
            f"sample_weight is zero for {len(X) - len(index)} of the {len(X)} "
            "rows of a Dask X, which is read block by block and cannot drop "
            "rows. Drop them from X and y first (X[mask] with a Dask mask, or "
            "a filtered DataFrame), or give them a small non-zero weight.")
    return take(X, index)


def check_dask_fit(est, custom_features):
    """Raise for a feature encoder (``custom_features``) on a Dask X, whose
    blocks reach the network as they are read."""
    if custom_features:
        name = type(est).__name__
        raise ValueError(
            f"{name} reads a Dask X block by block and feeds each block to the "
            "network as it is, so its feature_encoder / input_columns cannot "
            "apply. Fit on in-memory arrays (X.compute()) or a memmap, or build "
            "the network's inputs from one array.")


def split_last_blocks(X, arrays, n_val, split):
    """``(train, validation)`` of :class:`dask_inputs.Blocks` ``X`` and its
    in-memory companions ``arrays`` (y, sample_weight or None), each
    ``(X, *arrays)``: the validation rows are the fewest last whole blocks
    holding at least ``n_val`` rows (``keras.Model.fit`` holds out the last
    rows; whole blocks are never read in part), never every block."""
    sizes = X.sizes[X.ids]
    taken = int(np.searchsorted(np.cumsum(sizes[::-1]), n_val)) + 1
    if taken >= len(sizes):
        raise ValueError(
            f"validation_split={split!r} holds out the last whole blocks of a "
            f"Dask X, but X has {len(sizes)} block(s) of {list(map(int, sizes))} "
            "rows, so none would be left to train on"
            + (" (a single block)" if len(sizes) == 1 else "") + ". Rechunk X "
            "into more blocks (X.rechunk / X.repartition), use a smaller "
            "validation_split, or pass validation_data=(X_val, y_val).")
    at = len(sizes) - taken
    row = int(X.offsets[at])

    def part(blocks, index):
        return (X.subset(blocks),
                *(None if a is None else take(a, index) for a in arrays))

    return (part(np.arange(at), np.arange(row)),
            part(np.arange(at, len(sizes)), np.arange(row, len(X))))


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
