"""Inputs read batch by batch: NumPy memmaps, never loaded whole.

One place decides how an input kind is read (after Keras's
``trainers/data_adapters``): :func:`streams` says whether X must be streamed,
:func:`check_memmap` validates one without reading it, :class:`Rows` is a
subset of a memmap's rows held by index (the training / validation split),
:func:`batches` the ``keras.utils.PyDataset`` that trains from it and
:func:`read` one chunk of it as float32.

Every epoch's order is the permutation the in-memory paths use (TensorFlow's
stateless shuffle keyed by ``(seed, epoch)``; NumPy's generator on other
backends), so a fit from a memmap and a fit from the same rows in memory see
the same batches. Each batch's rows are read in ascending file order (for
locality) and put back in the batch's order.
"""

import math

import numpy as np

__all__ = ["Rows", "batches", "check_memmap", "read", "streams"]


class Rows:
    """The rows ``index`` of memmap ``source``, not read until a batch needs
    them (the training or validation part of a memmap)."""

    def __init__(self, source, index):
        self.source = source
        self.index = np.asarray(index, dtype=np.int64)

    @property
    def shape(self):
        return (len(self.index), *self.source.shape[1:])

    @property
    def dtype(self):
        return self.source.dtype

    def __len__(self):
        return len(self.index)

    def __getitem__(self, rows):
        return read(self.source, self.index[rows])


def streams(X):
    """Whether X is read batch by batch (a memmap, or rows of one)."""
    return isinstance(X, (np.memmap, Rows))


def check_memmap(X, name="X"):
    """Raise a clear error for a memmap that cannot be numeric model input."""
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} is a memmap of dtype {X.dtype}, but skdeep streams numeric "
            "memmaps only (bool, integer or float). Write the data as numbers, "
            "e.g. np.lib.format.open_memmap(path, mode='w+', dtype='float32', "
            "shape=...).")
    if X.ndim < 2:
        raise ValueError(
            f"{name} is a memmap of shape {X.shape}, but a 2-D array of shape "
            "(n_samples, n_features) was expected. Reshape it, e.g. "
            "X.reshape(-1, 1) for a single feature.")


def read(X, rows):
    """Rows ``rows`` of memmap (or :class:`Rows`) ``X`` as a float32 array,
    read in ascending order and returned in the order asked."""
    if isinstance(X, Rows):
        return X[rows]
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    out = np.empty((len(rows), *X.shape[1:]), np.float32)
    out[order] = X[rows[order]]
    return out


def permutation(n, seed, epoch):
    """The shuffle of epoch ``epoch``: the one the in-memory paths use."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.constant([seed, epoch], tf.int64)
        ).numpy()
    return np.random.default_rng([seed, epoch]).permutation(n)


def _take(a, rows):
    if streams(a):
        return read(a, rows)
    return a[rows]


def batches(arrays, batch_size, seed, epoch_offset, shuffle):
    """A ``keras.utils.PyDataset`` of ``arrays`` = ``(X, y[, sample_weight])``
    where X streams (y and the weights are in memory): a new permutation at
    the start of every epoch (with ``shuffle``); Keras's ``tf.data`` wrapper
    reads the next batches ahead in a thread while the network trains.

    Epochs are counted by ``on_epoch_begin`` (Keras also calls
    ``on_epoch_end`` once after peeking at the first batches for their
    shapes, before training starts).
    """
    import keras

    n = len(arrays[0])

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()  # one worker: no enqueuer, tf.data prefetches
            self.epoch = -1
            self.order = self._order(0)

        def _order(self, epoch):
            return permutation(n, seed, epoch_offset + epoch) if shuffle else None

        def __len__(self):
            return max(1, math.ceil(n / batch_size))

        def __getitem__(self, i):
            start, stop = i * batch_size, min((i + 1) * batch_size, n)
            rows = (np.arange(start, stop) if self.order is None
                    else self.order[start:stop])
            return tuple(_take(a, rows) for a in arrays)

        def on_epoch_begin(self):
            self.epoch += 1
            if self.epoch:
                self.order = self._order(self.epoch)

    return Batches()
