"""Dask arrays and DataFrames read block by block (the ``dask`` extra).

:func:`blocks` turns a Dask array or DataFrame into :class:`Blocks`: its row
blocks (partitions), each computed only when a batch needs it, by whatever
scheduler Dask uses (the ``dask.distributed`` client if there is one, else
threads), never the whole collection. A DataFrame's partition sizes are
read from Parquet metadata, else computed first, in one pass that keeps one
partition at a time (as are a Dask array's unknown chunk sizes); its
columns must be numeric (checked on its metadata, without reading it).

Training (:func:`tf_batches`, :func:`batches`): each epoch reads the blocks
in a shuffled order (``np.random.default_rng([seed, epoch])``), one block
ahead in a background thread, and mixes the rows of consecutive blocks in a
shuffle buffer of one block (at least one batch) before cutting batches;
without shuffling the rows come in order, as from memory. An epoch has
``ceil(n_rows / batch_size)`` batches, the last one partial. y and the
sample weights are in memory (one column each: a Dask y is computed).

Validation rows (:func:`split`) are whole blocks: the fewest, in a seeded
order, that hold ``n_val`` rows (never all of them).
"""

import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from skdeep._compat import dask_partition_lengths

__all__ = ["Blocks", "batches", "blocks", "gather", "import_dask", "is_dask",
           "lazy_method", "read_failure", "split", "tf_batches"]

# Blocks read ahead of the one being trained on, in a background thread.
PREFETCH = 1
# Rows handed to tf.data per Python call: whole batches, about this many bytes.
GROUP_BYTES = 8 * 2**20


def import_dask():
    """``import dask.array``, or an ImportError that names the extra."""
    try:
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            "Dask input needs Dask, which is not installed: "
            "pip install 'skdeep[dask]'.") from exc
    return da


def is_dask(X):
    """Whether X is a Dask array, DataFrame or Series (or :class:`Blocks`)."""
    if isinstance(X, Blocks):
        return True
    module = type(X).__module__ or ""
    return module.split(".")[0] in ("dask", "dask_expr") and (
        hasattr(X, "chunks") or hasattr(X, "npartitions"))


def _is_frame(X):
    return hasattr(X, "columns") and not hasattr(X, "chunks")


def _is_series(X):
    return hasattr(X, "npartitions") and not hasattr(X, "chunks")


def gather(data):
    """A Dask y or sample_weight (one column) computed into memory; other
    data unchanged."""
    if data is None or isinstance(data, Blocks) or not is_dask(data):
        return data
    if _is_series(data):  # Series / DataFrame: pandas
        return data.compute()
    return np.asarray(data.compute())


class Blocks:
    """The row blocks ``ids`` of a Dask array or DataFrame, computed one at
    a time as float32 arrays (:meth:`read`, :meth:`iter_blocks`).

    ``parts`` holds one ``dask.delayed`` object per block of the source,
    ``sizes`` their numbers of rows, ``shape_1`` the shape of a row and
    ``columns`` a DataFrame's column names (None for arrays).
    """

    def __init__(self, parts, sizes, shape_1, dtype, columns=None, ids=None,
                 failures=None):
        self.parts, self.sizes = parts, np.asarray(sizes, np.int64)
        self.shape_1, self.dtype, self.columns = tuple(shape_1), dtype, columns
        self.ids = np.arange(len(parts)) if ids is None else np.asarray(ids)
        # errors of block reads, which tf.data wraps: see read_failure
        self.failures = [] if failures is None else failures

    @property
    def shape(self):
        return (int(self.sizes[self.ids].sum()), *self.shape_1)

    @property
    def ndim(self):
        return 1 + len(self.shape_1)

    def __len__(self):
        return self.shape[0]

    @property
    def offsets(self):
        """Start row of each block of this view, and the end."""
        return np.concatenate([[0], np.cumsum(self.sizes[self.ids])])

    @property
    def head(self):
        """Two rows of zeros shaped and named as X (a DataFrame's columns),
        for scikit-learn's checks of the number and names of features."""
        zeros = np.zeros((2, *self.shape_1), np.float32)
        if self.columns is None:
            return zeros
        import pandas as pd

        return pd.DataFrame(zeros, columns=self.columns)

    def subset(self, positions):
        """The blocks at ``positions`` of this view, in that order."""
        return Blocks(self.parts, self.sizes, self.shape_1, self.dtype,
                      self.columns, self.ids[np.asarray(positions, np.int64)],
                      self.failures)

    def read(self, k):
        """Block ``k`` of this view, computed, as a float32 array."""
        try:
            return self._read(int(self.ids[k]))
        except Exception as exc:
            self.failures.append(exc)
            raise

    def _read(self, i):
        block = self.parts[i].compute()
        columns = getattr(block, "columns", None)
        if self.columns is not None and columns is not None and (
                list(columns) != list(self.columns)):
            raise ValueError(
                f"Partition {i} of X has columns {list(columns)}, but the Dask "
                f"DataFrame declares {list(self.columns)}: every partition must "
                "have the same columns. Check how the DataFrame was built (e.g. "
                "Parquet files with different schemas).")
        block = np.asarray(block, dtype=np.float32)
        expected = (int(self.sizes[i]), *self.shape_1)
        if block.shape != expected:
            raise ValueError(
                f"Block {i} of X has shape {block.shape}, but the Dask "
                f"collection declares {expected}: every block must have the "
                f"declared rows and the same {self.shape_1} columns. Fix the "
                "chunks given to da.from_delayed / map_blocks (or call "
                "X.compute_chunk_sizes()).")
        return block

    def iter_blocks(self, order=None, prefetch=PREFETCH):
        """The blocks in ``order`` (default: this view's order), each read
        ``prefetch`` blocks ahead in a background thread."""
        order = list(range(len(self.ids)) if order is None else order)
        pool = ThreadPoolExecutor(1, thread_name_prefix="skdeep-dask")
        try:
            ahead = deque(pool.submit(self.read, k) for k in order[:prefetch + 1])
            for k in range(len(order)):
                block = ahead.popleft().result()
                if k + prefetch + 1 < len(order):
                    ahead.append(pool.submit(self.read, order[k + prefetch + 1]))
                yield block
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def read_failure(X):
    """The error a block read of :class:`Blocks` ``X`` raised while training
    (TensorFlow's ``tf.data`` re-raises it as its own error), or None."""
    failures = getattr(X, "failures", None) if isinstance(X, Blocks) else None
    return failures[-1] if failures else None


def blocks(X, name="X"):
    """Dask array or DataFrame ``X`` as :class:`Blocks` (nothing read but
    the sizes of a DataFrame's partitions, or of unknown chunks)."""
    if isinstance(X, Blocks):
        return X
    import_dask()
    if _is_frame(X):
        return _frame_blocks(X, name)
    if _is_series(X):  # a Series as X
        raise ValueError(
            f"{name} is a Dask Series, but a 2-D X (n_samples, n_features) was "
            f"expected. Use {name}.to_frame() for a single feature.")
    if X.ndim < 2:
        raise ValueError(
            f"{name} is a Dask array of shape {X.shape}, but a 2-D array of "
            "shape (n_samples, n_features) was expected. Reshape it, e.g. "
            f"{name}.reshape(-1, 1) for a single feature.")
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} is a Dask array of dtype {X.dtype}, but skdeep needs numeric "
            "input (bool, integer or float). Encode it as numbers first.")
    if any(math.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()  # one pass, one block at a time
    if any(math.isnan(c) for axis in X.chunks[1:] for c in axis):
        raise ValueError(
            f"{name} is a Dask array of unknown width {X.shape}. Call "
            f"{name}.compute_chunk_sizes() or give its blocks' shapes.")
    X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})  # whole rows
    parts = list(X.to_delayed().ravel())
    return Blocks(parts, X.chunks[0], X.shape[1:], X.dtype)


def _frame_blocks(X, name):
    _frame_dtypes_check(X, name)
    parts = list(X.to_delayed())
    # Parquet: from the files' metadata; else one pass, one partition at a
    # time (all columns: a projection to fewer columns may let Dask merge
    # Parquet files into other partitions). A block read checks its rows.
    sizes = dask_partition_lengths(X)
    if sizes is None or len(sizes) != len(parts):
        sizes = X.map_partitions(len).compute()
    dtype = np.result_type(*(getattr(dt, "numpy_dtype", dt) for dt in X.dtypes))
    if len(parts) != len(sizes):  # pragma: no cover - Dask keeps them equal
        raise RuntimeError(f"{name} has {len(parts)} partitions but Dask counted "
                           f"the rows of {len(sizes)}.")
    return Blocks(parts, np.asarray(sizes), (len(X.columns),),
                  dtype, columns=list(X.columns))


def split(X, arrays, seed, n_val):
    """``(train, validation)`` of :class:`Blocks` ``X`` and its in-memory
    companions ``arrays`` (y, sample_weight or None), each ``(X, *arrays)``.

    The validation rows are whole blocks: the fewest, in the order of
    ``np.random.default_rng(seed).permutation``, holding ``n_val`` rows,
    never every block. None when X has a single block.
    """
    if len(X.ids) < 2:
        return None
    sizes = X.sizes[X.ids]
    order = np.random.default_rng(seed).permutation(len(X.ids))
    taken = np.searchsorted(np.cumsum(sizes[order]), n_val) + 1
    val = np.sort(order[:min(taken, len(order) - 1)])
    train = np.setdiff1d(np.arange(len(X.ids)), val)
    offsets = X.offsets

    def rows(positions):
        return np.concatenate([np.arange(offsets[k], offsets[k + 1])
                               for k in positions])

    def part(positions):
        index = rows(positions)
        return (X.subset(positions),
                *(None if a is None else _take(a, index) for a in arrays))

    return part(train), part(val)


def _take(a, index):
    return a.iloc[index] if hasattr(a, "iloc") else np.asarray(a)[index]


# ------------------------------------------------------------------ batches
def epoch_groups(X, others, batch_size, seed, epoch, shuffle,
                 group_bytes=GROUP_BYTES):
    """The rows of one epoch in groups ``(x, *others[rows])`` of whole
    batches (``k * batch_size`` rows, about ``group_bytes`` of x at most;
    the last group holds the rest).

    With ``shuffle``, the blocks come in a seeded order and a shuffle buffer
    of one block (at least one batch) mixes rows of consecutive blocks.
    """
    rng = np.random.default_rng([seed, epoch]) if shuffle else None
    order = rng.permutation(len(X.ids)) if shuffle else np.arange(len(X.ids))
    sizes, offsets = X.sizes[X.ids], X.offsets
    keep = int(max(batch_size, sizes.max())) if shuffle else 0
    row_bytes = 4 * int(np.prod(X.shape_1))
    group_rows = batch_size * max(1, group_bytes // (row_bytes * batch_size))
    pool_x = np.empty((0, *X.shape_1), np.float32)
    pool_i = np.empty(0, np.int64)
    for n_read, (k, block) in enumerate(zip(order, X.iter_blocks(order),
                                            strict=True), start=1):
        pool_x = np.concatenate([pool_x, block])
        pool_i = np.concatenate([pool_i, np.arange(offsets[k], offsets[k + 1])])
        del block
        mix = rng.permutation(len(pool_i)) if shuffle else None
        last = n_read == len(order)
        whole = max(0, len(pool_i) - (0 if last else keep)) // batch_size
        cuts = [whole * batch_size] + ([len(pool_i)] if last else [])
        start = 0
        for stop in cuts:  # rows gathered per group as they leave the pool
            for begin in range(start, stop, group_rows) if stop > start else ():
                end = min(stop, begin + group_rows)
                take = slice(begin, end) if mix is None else mix[begin:end]
                rows = pool_i[take]
                yield (_rows(pool_x, take), *(o[rows] for o in others))
            start = stop
        rest = slice(start, None) if mix is None else mix[start:]
        pool_x, pool_i = _rows(pool_x, rest), pool_i[rest]


def _rows(a, take):
    """``a[take]``: a slice's view, or the rows of an index array gathered
    by ``np.take`` (several times faster than fancy indexing)."""
    return a[take] if isinstance(take, slice) else np.take(a, take, axis=0)


def epoch_batches(X, others, batch_size, seed, epoch, shuffle):
    """The batches of one epoch (:func:`epoch_groups` cut in batches)."""
    for group in epoch_groups(X, others, batch_size, seed, epoch, shuffle):
        for start in range(0, len(group[0]), batch_size):
            yield tuple(part[start:start + batch_size] for part in group)


def _split_arrays(arrays):
    X = blocks(arrays[0])
    others = tuple(np.asarray(gather(a)) for a in arrays[1:])
    for name, other in zip(("y", "sample_weight"), others, strict=False):
        if len(other) != len(X):
            raise ValueError(
                f"X has {len(X)} rows but {name} has {len(other)}: give one "
                f"{name} per row of X.")
    return X, others


def tf_batches(arrays, batch_size, seed, epoch_offset, shuffle, *, endless=True):
    """``arrays`` = ``(X, y[, sample_weight])`` with Dask X as a
    ``tf.data.Dataset`` of the batches of :func:`epoch_batches`: epoch ``e``
    shuffled with ``(seed, epoch_offset + e)``; ``endless`` repeats epochs
    (one iterator for the whole fit), else one epoch with a known number of
    batches (validation)."""
    import tensorflow as tf

    X, others = _split_arrays(arrays)
    steps = max(1, math.ceil(len(X) / batch_size))

    def generate():  # whole batches stacked: one Python call per group
        epoch = 0
        while True:
            for group in epoch_groups(X, others, batch_size, seed,
                                      epoch_offset + epoch, shuffle):
                size = min(batch_size, len(group[0]))
                yield tuple(part.reshape(-1, size, *part.shape[1:])
                            for part in group)
            epoch += 1
            if not endless:
                return

    signature = (tf.TensorSpec((None, None, *X.shape_1), tf.float32),
                 *(tf.TensorSpec((None, None, *o.shape[1:]), tf.as_dtype(o.dtype))
                   for o in others))
    data = tf.data.Dataset.from_generator(generate, output_signature=signature)
    data = data.unbatch()  # back to batches
    if not endless:
        data = data.apply(tf.data.experimental.assert_cardinality(steps))
    return data.prefetch(2)


def batches(arrays, batch_size, seed, epoch_offset, shuffle):
    """The batches of :func:`tf_batches` as a ``keras.utils.PyDataset``
    (read in order; a new shuffle at each epoch's start)."""
    import keras

    X, others = _split_arrays(arrays)
    steps = max(1, math.ceil(len(X) / batch_size))

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch, self._current, self._next = 0, None, 0
            self._seen_begin = False

        def __len__(self):
            return steps

        def __getitem__(self, i):
            if self._current is None or i != self._next:
                self._current = epoch_batches(X, others, batch_size, seed,
                                              epoch_offset + self.epoch, shuffle)
                for _ in range(i):
                    next(self._current)
            self._next = i + 1
            return next(self._current)

        def on_epoch_begin(self):
            if self._seen_begin:
                self.epoch += 1
            self._seen_begin = True
            self._current = None

    return Batches()


# -------------------------------------------------------------- predictions
class _BlockMethod:
    """``estimator.<method>`` on one block (a NumPy array, named as the
    fitted columns when there are some): the function ``map_blocks`` runs.
    Pickles with the estimator, so it runs on ``dask.distributed`` workers
    too (they need skdeep and Keras installed)."""

    def __init__(self, estimator, method, columns, kwargs=None):
        import uuid

        self.estimator, self.method, self.columns = estimator, method, columns
        self.kwargs = dict(kwargs or {})
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self):  # not a hash of the pickled network
        return ("skdeep", self.method, self.token)

    def __call__(self, block):
        if self.columns is not None:
            import pandas as pd

            block = pd.DataFrame(block, columns=self.columns)
        return np.asarray(getattr(self.estimator, self.method)(block, **self.kwargs))


def lazy_method(estimator, method, X, **kwargs):
    """``estimator.<method>(X, **kwargs)`` for Dask X as a lazy Dask array, block by
    block (``map_blocks`` over X's row blocks; a DataFrame's partitions of
    unknown size give chunks of unknown size). The columns are checked now,
    on the metadata; the network runs when the result is computed."""
    import copy

    import_dask()
    frame = _is_frame(X)
    if frame:
        _frame_dtypes_check(X)
        array = X.to_dask_array()
        columns = list(X.columns)
    else:
        if X.ndim < 2:
            blocks(X)  # the clear error of a 1-D X
        array = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        columns = None
    fitted = copy.copy(estimator)  # a later fit does not change this result
    run = _BlockMethod(fitted, method, columns, kwargs)
    head = np.zeros((2, *array.shape[1:]), np.float32)
    sample = run(head)  # checks the number (and names) of features now
    chunks = (array.chunks[0], *((size,) for size in sample.shape[1:]))
    drop = tuple(range(sample.ndim, array.ndim))
    new = tuple(range(array.ndim, sample.ndim))
    return array.map_blocks(run, dtype=sample.dtype, chunks=chunks,
                            token=f"skdeep-{method.replace('_', '-')}",
                            drop_axis=drop or None, new_axis=new or None,
                            meta=np.empty((0,) * sample.ndim, sample.dtype))


def _frame_dtypes_check(X, name="X"):
    import pandas as pd

    bad = [str(c) for c, dt in X.dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
    if bad:
        raise ValueError(
            f"{name} is a Dask DataFrame with non-numeric column(s) {bad} "
            f"(dtypes {[str(X.dtypes[c]) for c in bad]}), but skdeep needs "
            "numeric input. Encode them first (e.g. dd.get_dummies on "
            "categorized columns, or a numeric code per category) or drop them.")
