"""Training through ``keras.Model.fit``.

Used where the compiled loop does not apply (the rule is
``skdeep.engine.run.uses_compiled_loop``): user callbacks, networks from a
user's build function, sparse X on JAX, backends other than TensorFlow and
JAX.
Every epoch's shuffle comes from the fit's own seed and the epoch number
(stateless), never from a global generator, so fits in threads are
independent and reproducible.
"""

import math

import numpy as np
import scipy.sparse as sp

from skdeep.engine import inputs
from skdeep.engine.process import quiet_retracing

__all__ = ["fit", "plan_execution"]


def plan_execution(steps_per_epoch, limit=32):
    """``steps_per_execution`` for an epoch of ``steps_per_epoch`` batches.

    Keras runs ``steps_per_execution`` batches per call; from an endless
    dataset it cannot stop mid-call, so an epoch must be a multiple of it:
    the largest divisor of the epoch up to ``limit``.
    """
    steps = max(1, int(steps_per_epoch))
    return max(d for d in range(1, min(steps, limit) + 1) if steps % d == 0)


def _tf_batches(arrays, n, batch_size, seed, epoch_offset, shuffle):
    """Endless batches as ``tf.data``: epoch ``e`` is permuted by a stateless op
    seeded with ``(seed, epoch_offset + e)`` and each batch gathered from it."""
    import tensorflow as tf

    tensors = tf.nest.map_structure(tf.convert_to_tensor, arrays)
    steps = max(1, math.ceil(n / batch_size))

    def epoch_batches(epoch):
        index = tf.range(n, dtype=tf.int64)
        if shuffle:
            index = tf.random.experimental.stateless_shuffle(
                index, seed=tf.stack([tf.constant(seed, tf.int64),
                                      epoch + epoch_offset]))
        return tf.data.Dataset.range(steps).map(
            lambda i: index[i * batch_size:tf.minimum((i + 1) * batch_size, n)])

    def gather(index):
        return tf.nest.map_structure(lambda t: tf.gather(t, index), tensors)

    return tf.data.Dataset.range(2**62).flat_map(epoch_batches).map(
        gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)


def _py_batches(arrays, batch_size, seed, epoch_offset, shuffle):
    """Batches as a ``keras.utils.PyDataset`` (other backends, sparse X).

    Sparse matrices are densified one batch at a time, so memory follows the
    batch, not the matrix. Epoch ``e`` is shuffled by
    ``inputs.permutation(n, seed, epoch_offset + e)``, the order of the
    ``tf.data`` batches of dense X; epochs are counted by ``on_epoch_begin``
    (on TensorFlow, Keras calls ``on_epoch_end`` once after peeking at the
    first batches for their shapes, before training starts).
    """
    import keras

    n = keras.tree.flatten(arrays)[0].shape[0]

    def take(a, rows):
        a = a[rows]
        return np.asarray(a.toarray(), dtype=np.float32) if sp.issparse(a) else a

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = -1
            self.index = self._order(0)

        def _order(self, epoch):
            return (inputs.permutation(n, seed, epoch_offset + epoch) if shuffle
                    else np.arange(n))

        def __len__(self):
            return max(1, math.ceil(n / batch_size))

        def __getitem__(self, i):
            rows = self.index[i * batch_size:(i + 1) * batch_size]
            return keras.tree.map_structure(lambda a: take(a, rows), arrays)

        def on_epoch_begin(self):
            self.epoch += 1
            if self.epoch:
                self.index = self._order(self.epoch)

    return Batches()


def _tuples(data):
    """Lists of arrays (several inputs or outputs) as tuples, which tf.data
    reads as structures rather than as one stacked tensor."""
    if isinstance(data, (list, tuple)):
        return tuple(_tuples(d) for d in data)
    if isinstance(data, dict):
        return {k: _tuples(v) for k, v in data.items()}
    return data


def fit(model, data, validation, *, epochs, batch_size, seed, epoch_offset,
        callbacks, verbose, shuffle=True, extra=None):
    """``model.fit`` on ``data`` = ``(X, y, sample_weight or None)``.

    Returns the history dict. On TensorFlow the rows come from an endless
    ``tf.data`` pipeline read for a whole number of batches per epoch (Keras
    then keeps one iterator for the whole fit), which needs the model's
    ``steps_per_execution`` to divide the epoch; otherwise, and for sparse X
    and other backends, from a ``PyDataset`` that reshuffles every epoch.
    """
    import keras

    extra = dict(extra or {})
    X, y, sw = (_tuples(part) for part in data)
    if validation is not None:
        validation = tuple(_tuples(part) for part in validation)
    arrays = (X, y) if sw is None else (X, y, sw)
    n = keras.tree.flatten(X)[0].shape[0]
    kwargs = {"epochs": epochs, "verbose": verbose, "callbacks": callbacks,
              "shuffle": False}
    tensorflow = keras.backend.backend() == "tensorflow" and not sp.issparse(X)
    steps = max(1, math.ceil(n / batch_size))
    if isinstance(X, inputs.KerasData):  # the user's batches, in their order
        planned = plan_execution(X.n_batches)
        if X.n_batches % (model.steps_per_execution or 1):
            model.steps_per_execution = planned
            model.train_function = model.test_function = None
        kwargs["x"] = X.batches()
    elif inputs.streams(X):  # a memmap: read batch by batch
        if keras.backend.backend() == "tensorflow" and (
                steps % (model.steps_per_execution or 1) == 0):
            kwargs["x"] = inputs.tf_batches(arrays, batch_size, seed, epoch_offset,
                                            shuffle)
            kwargs["steps_per_epoch"] = steps
        else:
            kwargs["x"] = inputs.batches(arrays, batch_size, seed, epoch_offset,
                                         shuffle)
    elif tensorflow and steps % (model.steps_per_execution or 1) == 0:
        kwargs["x"] = _tf_batches(arrays, n, batch_size, seed, epoch_offset, shuffle)
        kwargs["steps_per_epoch"] = steps
    else:
        kwargs["x"] = _py_batches(arrays, batch_size, seed, epoch_offset, shuffle)
    if validation is not None:
        Xv, yv, swv = validation
        val_arrays = (Xv, yv) if swv is None else (Xv, yv, swv)
        val_batch = extra.pop("validation_batch_size", None) or batch_size
        if inputs.streams(Xv) and keras.backend.backend() == "tensorflow":
            kwargs["validation_data"] = inputs.tf_batches(
                val_arrays, val_batch, seed, 0, False, endless=False)
        elif inputs.streams(Xv):
            kwargs["validation_data"] = inputs.batches(val_arrays, val_batch, seed,
                                                       0, False)
        elif tensorflow and not sp.issparse(Xv):  # in order, known number of batches
            import tensorflow as tf

            kwargs["validation_data"] = tf.data.Dataset.from_tensor_slices(
                val_arrays).batch(val_batch).prefetch(2)
        else:
            kwargs["validation_data"] = _py_batches(val_arrays, val_batch, seed, 0,
                                                    False)
    kwargs.update(extra)
    with quiet_retracing():  # Keras traces a train function per network
        return model.fit(**kwargs).history
