"""Inputs read batch by batch: NumPy memmaps, never loaded whole.

One place decides how an input kind is read (after Keras's
``trainers/data_adapters``): :func:`streams` says whether X must be streamed,
:func:`check_memmap` validates one without reading it, :class:`Rows` is a
subset of a memmap's rows held by index (the training / validation split),
:func:`tf_batches` the ``tf.data`` pipeline that trains from it on
TensorFlow (:func:`batches`, a ``keras.utils.PyDataset``, on other backends)
and :func:`read` rows of it as float32. Dask arrays and DataFrames stream
too: :func:`streams` is true for them and :func:`tf_batches` / :func:`batches`
hand them to ``skdeep.engine.dask_inputs`` (blocks in a shuffled order and a
shuffle buffer rather than a permutation of rows). Keras datasets (``PyDataset``,
``tf.data.Dataset``) are read once by :func:`scan` (:class:`KerasData`).

Every epoch's order is the permutation the in-memory paths use (TensorFlow's
stateless shuffle keyed by ``(seed, epoch)``; NumPy's generator on other
backends), so a fit from a memmap and a fit from the same rows in memory see
the same batches. Each batch's rows are read in ascending file order (for
locality) and put back in the batch's order.
"""

import math

import numpy as np
import scipy.sparse as sp

from skdeep.engine import dask_inputs

__all__ = ["KerasData", "Rows", "batches", "check_memmap", "chunks",
           "is_keras_dataset", "ordered_chunks", "read", "scan", "streams",
           "tf_batches", "x_batches"]


class Rows:
    """The rows ``index`` of memmap ``source``, not read until a batch needs
    them (the training or validation part of a memmap)."""

    def __init__(self, source, index):
        self.source = source
        self.index = np.asarray(index)

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
    """Whether X is read batch by batch (a memmap, or rows of one; a Dask
    array or DataFrame, see ``skdeep.engine.dask_inputs``)."""
    return isinstance(X, (np.memmap, Rows)) or dask_inputs.is_dask(X)


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
    # np.take gathers rows several times faster than fancy indexing
    part = np.asarray(np.take(X, rows[order], axis=0), np.float32)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return np.take(part, inverse, axis=0)


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
    if sp.issparse(a):  # densified chunk by chunk
        return np.asarray(a[rows].toarray(), np.float32)
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

    if dask_inputs.is_dask(arrays[0]):  # blocks in a shuffled order
        return dask_inputs.batches(arrays, batch_size, seed, epoch_offset, shuffle)
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


def _chunk_rows(X, batch_size, chunk_bytes):
    """Rows per chunk: whole batches, about ``chunk_bytes`` of float32 X."""
    row_bytes = 4 * int(np.prod(X.shape[1:]))
    return batch_size * max(1, chunk_bytes // max(1, row_bytes * batch_size))


def chunks(arrays, batch_size, seed, epoch, chunk_bytes, shuffle=True):
    """The rows of epoch ``epoch`` of ``arrays`` = ``(X, y, sample_weight)``
    (X streamed) in chunks of whole batches (about ``chunk_bytes`` of X; the
    last chunk holds the rest), each a tuple of in-memory arrays, X float32:
    the batches of :func:`tf_batches` / :func:`batches` for the same seed and
    epoch, gathered a chunk at a time (the compiled chunk loop,
    ``skdeep.engine.loop_chunks``). A memmap's chunk is read in ascending
    file order, then put in the epoch's order."""
    X = arrays[0]
    if dask_inputs.is_dask(X):  # blocks in a shuffled order, shuffle buffer
        yield from dask_inputs.epoch_groups(
            dask_inputs.blocks(X), tuple(arrays[1:]), batch_size, seed, epoch,
            shuffle, group_bytes=chunk_bytes)
        return
    n = X.shape[0]
    order = permutation(n, seed, epoch) if shuffle else np.arange(n)
    step = _chunk_rows(X, batch_size, chunk_bytes)
    for start in range(0, n, step):
        yield _take_all(arrays, order[start:start + step])


def _take_all(arrays, rows):
    """The rows of each of ``arrays``; a y that is X (an autoencoder's) is
    read once."""
    x = _take(arrays[0], rows)
    return (x, *(x if a is arrays[0] else _take(a, rows) for a in arrays[1:]))


def ordered_chunks(arrays, chunk_bytes):
    """The rows of ``arrays`` = ``(X, y, sample_weight)`` in order, in
    chunks (a Dask X: one block each), as in-memory arrays, X float32
    (evaluated chunk by chunk: validation rows)."""
    X = arrays[0]
    if dask_inputs.is_dask(X):
        X = dask_inputs.blocks(X)
        offsets = X.offsets
        for k, block in enumerate(X.iter_blocks()):
            part = slice(offsets[k], offsets[k + 1])
            yield (block, *(np.asarray(a)[part] for a in arrays[1:]))
        return
    step = _chunk_rows(X, 1, chunk_bytes)
    n = X.shape[0]
    for start in range(0, n, step):
        yield _take_all(arrays, np.arange(start, min(start + step, n)))


# ------------------------------------------------------------ Keras datasets
def is_keras_dataset(X):
    """Whether X is a ``keras.utils.PyDataset`` or a ``tf.data.Dataset``."""
    import sys

    import keras

    if isinstance(X, keras.utils.PyDataset):
        return True
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(X, tf.data.Dataset)


def _numpy_batches(source):
    """The batches of a Keras dataset, in its order, as tuples of arrays."""
    import keras

    if isinstance(source, keras.utils.PyDataset):
        for i in range(len(source)):
            yield source[i]
    else:
        yield from source.as_numpy_iterator()


def _parts(batch, i):
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError(
            f"Batch {i} of the dataset is a {type(batch).__name__}, but skdeep "
            "trains from batches (x, y) or (x, y, sample_weight), as "
            "keras.Model.fit takes them. Make the dataset yield such tuples.")
    x = np.asarray(batch[0])
    if x.dtype.kind not in "biuf" or x.ndim != 2:
        raise ValueError(
            f"Batch {i} of the dataset has x of shape {x.shape} and dtype "
            f"{x.dtype}, but numeric 2-D batches (batch_size, n_features) were "
            "expected.")
    y, *sw = (np.asarray(b) for b in batch[1:])
    if y.dtype.kind in "SO" and y.size and isinstance(y.flat[0], bytes):
        y = np.array([v.decode() for v in y.ravel()]).reshape(y.shape)  # tf.data
    return x, y, *sw


class KerasData:
    """A Keras dataset read once (:func:`scan`): its number of rows, the
    width of its batches, its first batch and its labels. ``encode`` maps
    a batch's y to the target the loss takes (set by the estimator)."""

    def __init__(self, source, n_rows, n_batches, head, labels):
        self.source, self.n_batches, self.head = source, n_batches, head
        self.shape = (n_rows, *head[0].shape[1:])
        self.dtype = head[0].dtype
        self.labels = labels
        self.encode = None

    def __len__(self):
        return self.shape[0]

    def batches(self):
        """A ``keras.utils.PyDataset`` of the source's batches, in its order,
        x as float32 and y encoded."""
        import keras

        data = self

        class Batches(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self._iter, self._next = None, 0

            def __len__(self):
                return data.n_batches

            def _read(self, i):
                if keras.utils.PyDataset in type(data.source).__mro__:
                    return data.source[i]
                if self._iter is None or i != self._next:  # tf.data: in order
                    self._iter = data.source.as_numpy_iterator()
                    for _ in range(i):
                        next(self._iter)
                self._next = i + 1
                return next(self._iter)

            def __getitem__(self, i):
                x, y, *sw = _parts(self._read(i), i)
                if x.shape[1:] != data.shape[1:]:
                    raise ValueError(_width_error(i, x, data.shape))
                return (x.astype(np.float32, copy=False), data.encode(y), *sw)

            def on_epoch_end(self):
                if isinstance(data.source, keras.utils.PyDataset):
                    data.source.on_epoch_end()

        return Batches()


def x_batches(source):
    """The x of each batch of Keras dataset ``source``, in order (predict)."""
    for i, batch in enumerate(_numpy_batches(source)):
        yield _parts(batch, i)[0]


def _width_error(i, x, shape):
    return (f"Batch {i} of the dataset has x of shape {x.shape}, but the first "
            f"batch has {shape[1]} columns: every batch must have the same "
            "columns (features). Check how the dataset builds its batches.")


def scan(source, *, labels):
    """Read a Keras dataset once: check every batch has the same columns,
    count its rows and (with ``labels``) collect the distinct values of y,
    the classes of a classifier. Only one batch is in memory at a time."""
    n_rows, n_batches, head, seen = 0, 0, None, []
    for i, batch in enumerate(_numpy_batches(source)):
        x, y, *_ = _parts(batch, i)
        if head is None:
            head = (x, y)
        elif x.shape[1:] != head[0].shape[1:]:
            raise ValueError(_width_error(i, x, (n_rows, *head[0].shape[1:])))
        if len(y) != len(x):
            raise ValueError(
                f"Batch {i} of the dataset has {len(x)} rows of x but {len(y)} "
                "of y; each batch must hold as many targets as rows.")
        if labels:
            seen.append(np.unique(y, axis=0) if y.ndim > 1 else np.unique(y))
        n_rows += len(x)
        n_batches += 1
    if head is None:
        raise ValueError("The dataset yields no batches: nothing to fit.")
    found = None
    if labels:
        found = np.unique(np.concatenate(seen), axis=0 if head[1].ndim > 1 else None)
    return KerasData(source, n_rows, n_batches, head, found)


def tf_batches(arrays, batch_size, seed, epoch_offset, shuffle, *, endless=True):
    """The batches of :func:`batches` as ``tf.data`` (TensorFlow backend):
    epoch ``e``'s order is the stateless shuffle keyed by ``(seed,
    epoch_offset + e)``, computed in the graph as ``keras_fit._tf_batches``
    does; each batch's rows are read from disk by a ``tf.numpy_function``,
    two batches at a time, and prefetched. ``endless`` repeats the epochs
    (Keras then keeps one iterator, reading ``steps_per_epoch`` batches)."""
    import tensorflow as tf

    if dask_inputs.is_dask(arrays[0]):  # blocks in a shuffled order
        return dask_inputs.tf_batches(arrays, batch_size, seed, epoch_offset,
                                      shuffle, endless=endless)
    n = len(arrays[0])
    steps = max(1, math.ceil(n / batch_size))
    outs = [tf.float32 if streams(a) else tf.as_dtype(a.dtype) for a in arrays]

    def epoch_batches(epoch):
        index = tf.range(n, dtype=tf.int64)
        if shuffle:
            index = tf.random.experimental.stateless_shuffle(
                index, seed=tf.stack([tf.constant(seed, tf.int64),
                                      epoch + epoch_offset]))
        return tf.data.Dataset.range(steps).map(
            lambda i: index[i * batch_size:tf.minimum((i + 1) * batch_size, n)])

    def load(rows):
        return tuple(_take(a, rows) for a in arrays)

    def read_batch(rows):
        parts = tf.numpy_function(load, [rows], outs, stateful=False)
        for part, a in zip(parts, arrays, strict=True):
            part.set_shape((None, *a.shape[1:]))
        return tuple(parts)

    epochs = tf.data.Dataset.range(2**62 if endless else 1)
    data = epochs.flat_map(epoch_batches).map(
        read_batch, num_parallel_calls=2, deterministic=True)
    if not endless:  # a known number of batches, as Keras's evaluate wants
        data = data.apply(tf.data.experimental.assert_cardinality(steps))
    return data.prefetch(4)


# ------------------------------------------- batches with their targets (score)
__all__ += ["xy_batches"]  # here, not above: this block merges on its own


def xy_batches(source):
    """The ``(x, y[, sample_weight])`` of each batch of Keras dataset
    ``source``, in order, as arrays (``score``: targets and predictions)."""
    for i, batch in enumerate(_numpy_batches(source)):
        yield _parts(batch, i)
