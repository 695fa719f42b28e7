"""Flat hyperparameters -> Keras training objects.

Optimizers, learning-rate schedules, early stopping, seeding and thread
limits. Keras is imported inside the functions so that ``import skdeep``
stays free of TensorFlow.
"""

import contextlib
import copy
import inspect
import logging
import math
import os
import random
import sys
import threading
import warnings

import numpy as np

from .exceptions import SkdeepWarning

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "configure_threads",
    "make_callbacks",
    "make_learning_rate",
    "make_loss",
    "make_optimizer",
    "make_training_data",
    "numpy_shuffle_seed",
    "plan_execution",
    "preserved_random_state",
    "prewarm_backend",
    "seeded",
]

OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "Nadam",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
}
SCHEDULES = ("constant", "exponential", "step", "cosine", "plateau")
# Optimizers whose constructor takes ``momentum``.
_MOMENTUM = {"sgd", "rmsprop"}


def make_learning_rate(learning_rate, schedule, decay, *, steps_per_epoch, epochs):
    """Return a float or a ``keras.optimizers.schedules`` object.

    - ``"constant"`` and ``"plateau"``: the float (plateau is a callback).
    - ``"exponential"``: multiplied by ``decay`` once per epoch, smoothly.
    - ``"step"``: multiplied by ``decay`` every ``max(1, epochs // 4)`` epochs.
    - ``"cosine"``: cosine decay to 0 over ``epochs``.
    """
    import keras

    steps_per_epoch = max(1, int(steps_per_epoch))
    if schedule in ("constant", "plateau"):
        return float(learning_rate)
    if schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            float(learning_rate), decay_steps=steps_per_epoch, decay_rate=decay
        )
    if schedule == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            float(learning_rate),
            decay_steps=steps_per_epoch * max(1, epochs // 4),
            decay_rate=decay,
            staircase=True,
        )
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            float(learning_rate), decay_steps=steps_per_epoch * max(1, epochs)
        )
    raise ValueError(
        f"lr_schedule must be one of {SCHEDULES}; got {schedule!r}."
    )


_LOSS_ALIASES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError",
                 "mape": "MeanAbsolutePercentageError",
                 "msle": "MeanSquaredLogarithmicError"}


def make_loss(loss, kwargs):
    """A Keras loss object built with ``kwargs`` (the routed ``loss__`` params).

    ``loss`` is a name (``"sparse_categorical_crossentropy"``, ``"mse"``), a
    loss class, or a loss instance (copied with the new arguments).
    """
    import keras

    if isinstance(loss, str):
        name = _LOSS_ALIASES.get(loss.lower()) or "".join(
            part.capitalize() for part in loss.split("_"))
        cls = getattr(keras.losses, name, None)
        if cls is None or not inspect.isclass(cls):
            raise ValueError(
                f"loss__ parameters {sorted(kwargs)} need a Keras loss class, "
                f"but no class matches loss={loss!r}. Pass the class instead, "
                "e.g. loss=keras.losses.Huber."
            )
        return cls(**kwargs)
    if inspect.isclass(loss):
        return loss(**kwargs)
    if hasattr(loss, "get_config"):
        return loss.__class__.from_config({**loss.get_config(), **kwargs})
    raise ValueError(
        f"loss__ parameters {sorted(kwargs)} cannot be applied to the loss "
        f"function {loss!r}; pass a Keras loss class or name instead."
    )


def make_optimizer(optimizer, learning_rate, *, momentum=0.0, kwargs=None):
    """Build a fresh Keras optimizer.

    ``optimizer`` is a name from :data:`OPTIMIZERS`, an optimizer class, or an
    optimizer instance. An instance is copied from its config so that the
    user's object (and its state) is never shared between fits; its own
    learning rate is kept unless ``kwargs`` overrides it.
    """
    import keras

    kwargs = dict(kwargs or {})
    if isinstance(optimizer, str):
        name = optimizer.lower()
        cls = getattr(keras.optimizers, OPTIMIZERS[name])
        if name in _MOMENTUM and "momentum" not in kwargs:
            kwargs["momentum"] = float(momentum)
        kwargs.setdefault("learning_rate", learning_rate)
        return cls(**kwargs)
    if inspect.isclass(optimizer):
        params = inspect.signature(optimizer).parameters
        if "momentum" in params and "momentum" not in kwargs:
            kwargs["momentum"] = float(momentum)
        kwargs.setdefault("learning_rate", learning_rate)
        return optimizer(**kwargs)
    config = optimizer.get_config()
    config.update(kwargs)
    return optimizer.__class__.from_config(config)


def make_callbacks(
    *, early_stopping, patience, tol, lr_schedule, lr_decay, has_validation,
    user_callbacks=None,
):
    """Callbacks for one fit: early stopping, plateau schedule, user's own.

    With validation data, early stopping watches ``val_loss`` and restores the
    best weights; without it (``early_stopping=False``) training stops when
    the training loss has not improved by ``tol`` for ``patience`` epochs, as
    scikit-learn's MLP does.
    """
    import keras

    monitor = "val_loss" if has_validation else "loss"
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            patience=patience,
            min_delta=tol,
            restore_best_weights=bool(early_stopping and has_validation),
        )
    ]
    if lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                factor=lr_decay,
                patience=max(1, patience // 2),
                min_delta=tol,
                verbose=0,
            )
        )
    # Deep copies: a callback holds state, and the estimator's parameter must
    # stay untouched so that clones and refits start alike.
    callbacks.extend(copy.deepcopy(list(user_callbacks or ())))
    return callbacks


def numpy_shuffle_seed(seed):
    """A callback that seeds NumPy's global generator when training starts.

    On backends other than TensorFlow, Keras shuffles the rows with
    ``np.random``. Before training it may draw from it once more to build a
    new network's metrics (a recycled network, see ``skdeep._networks``, is
    already built and does not). Seeding at ``on_train_begin``, after that
    build, makes the shuffle depend on ``random_state`` alone. The caller's
    generator is restored by :func:`seeded` when the fit ends.
    """
    import keras

    class NumpyShuffleSeed(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            np.random.seed(seed)

    return NumpyShuffleSeed()


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy and the Keras backend for the duration of a fit.

    The global Python and NumPy generators are restored on exit, so a fit does
    not change the random numbers the caller's code sees. TensorFlow op
    determinism is never switched on (it breaks later unseeded dropout).
    """
    import keras

    with preserved_random_state():
        keras.utils.set_random_seed(int(seed))
        yield


@contextlib.contextmanager
def preserved_random_state():
    """Restore Python's and NumPy's global generators on exit.

    Keras draws from Python's ``random`` whenever it creates an initializer or
    a dropout layer without a seed; this keeps those draws invisible to the
    caller.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


_THREADS_CONFIGURED = False
_PREWARM_LOCK = threading.Lock()
_PREWARM_STARTED = False


def prewarm_backend():
    """Import Keras and its backend in a background thread, once per process.

    Called when a search clones an estimator in the parent process: with
    ``n_jobs > 1`` the parent otherwise sits idle while the workers fit, and
    only then pays the ~3 s backend import for the final refit. A no-op when
    Keras is already imported.
    """
    global _PREWARM_STARTED
    if "keras" in sys.modules:
        return
    with _PREWARM_LOCK:
        if _PREWARM_STARTED:
            return
        _PREWARM_STARTED = True

    def _import():
        with contextlib.suppress(Exception):  # a real fit will report problems
            import keras  # noqa: F401

    threading.Thread(target=_import, name="skdeep-prewarm", daemon=True).start()


class _RetracingNoiseFilter(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning.

    Every fit builds a new network with new compiled functions; in a search
    that is by design, and TensorFlow's warning about it is noise.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def configure_threads():
    """Limit the backend's thread pools to the process's share of the CPUs.

    joblib (loky) and Dask workers export ``OMP_NUM_THREADS`` to say how many
    threads each worker may use; TensorFlow and JAX (XLA) ignore it and start
    one thread per core in every worker, so parallel searches fight for the
    CPUs. Here we pass the limit on (TensorFlow's thread pools, JAX's
    ``XLA_FLAGS``). ``SKDEEP_NUM_THREADS`` overrides it. Runs once per
    process, before TensorFlow starts its runtime; afterwards it is a no-op.
    """
    global _THREADS_CONFIGURED
    if _THREADS_CONFIGURED:
        return
    _THREADS_CONFIGURED = True
    logging.getLogger("tensorflow").addFilter(_RetracingNoiseFilter())
    name = "SKDEEP_NUM_THREADS" if os.environ.get("SKDEEP_NUM_THREADS") else (
        "OMP_NUM_THREADS")
    value = os.environ.get(name)
    if not value:
        return
    try:
        n_threads = max(1, int(value))
    except ValueError:
        if name == "SKDEEP_NUM_THREADS":  # OpenMP's own variable may be a list
            warnings.warn(
                f"SKDEEP_NUM_THREADS={value!r} is not a whole number of threads;"
                " the backend keeps its default thread pools. Set e.g. "
                "SKDEEP_NUM_THREADS=2.", SkdeepWarning, stacklevel=4)
        return
    import keras

    if keras.backend.backend() == "jax":
        # JAX's CPU client reads XLA_FLAGS when it starts, at its first op
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            extra = f"intra_op_parallelism_threads={n_threads}"
            if n_threads == 1:
                extra = "--xla_cpu_multi_thread_eigen=false " + extra
            os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()
        return
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except RuntimeError:  # the runtime is already running: too late to change
        pass


# From this many rows on, batches are gathered from a shuffled index rather
# than passed through a shuffle buffer: the buffer copies every row each epoch
# (0.3 s of a 2 s fit at 50,000 rows), while the index pipeline costs ~0.1 s
# more tracing per fit, which only pays off on large data.
_GATHER_ROWS = 10_000


def plan_execution(steps_per_epoch, limit=32):
    """``(steps_per_execution, repeat)`` for an epoch of ``steps_per_epoch`` batches.

    Keras runs ``steps_per_execution`` batches per call; from a repeating
    (endless) dataset it cannot stop mid-call, so an epoch must be a multiple
    of it. We take the largest divisor of the epoch up to ``limit``; if that
    is small (a prime number of batches, say) the data is fed as a finite
    dataset instead, which Keras stops at its end.
    """
    steps = max(1, int(steps_per_epoch))
    if steps <= limit:
        return steps, True
    divisor = max(d for d in range(1, limit + 1) if steps % d == 0)
    if divisor >= 8:
        return divisor, True
    return limit, False


def make_training_data(X, y, sample_weight, *, batch_size, seed, validation=False,
                       shuffle=True, repeat=True):
    """Arguments for ``keras.Model.fit`` that feed ``(X, y, sample_weight)``.

    On the TensorFlow backend the arrays become a seeded ``tf.data`` pipeline.
    With ``repeat`` it is endless and read for ``steps_per_epoch`` batches per
    epoch: Keras then keeps a single iterator for the whole fit instead of
    building a new one every epoch (about 12 ms each, which dominated small
    fits). ``repeat`` needs ``steps_per_execution`` to divide the epoch (see
    :func:`plan_execution`). Validation data is always finite, so every
    validation row counts exactly once. Other backends get the arrays.

    Returns a dict of keyword arguments for ``fit`` (``x``, ``y``,
    ``sample_weight``, ``steps_per_epoch``, ``shuffle``), or, with
    ``validation=True``, for the validation data (``validation_data``).
    """
    import keras

    steps = max(1, math.ceil(X.shape[0] / batch_size))
    if keras.backend.backend() != "tensorflow":
        if not validation:
            return {"x": X, "y": y, "sample_weight": sample_weight,
                    "batch_size": batch_size, "shuffle": shuffle}
        data = (X, y) if sample_weight is None else (X, y, sample_weight)
        return {"validation_data": data, "validation_batch_size": batch_size}
    import tensorflow as tf

    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    if validation:
        ds = tf.data.Dataset.from_tensor_slices(arrays).batch(batch_size)
        return {"validation_data": ds.prefetch(2)}
    if shuffle and repeat and X.shape[0] >= _GATHER_ROWS:
        ds = _shuffled_batches(tf, arrays, X.shape[0], batch_size, steps, seed)
    else:
        ds = tf.data.Dataset.from_tensor_slices(arrays)
        if shuffle:
            ds = ds.shuffle(X.shape[0], seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        if repeat:
            ds = ds.repeat()
    kwargs = {"x": ds.prefetch(2), "shuffle": False}
    if repeat:
        kwargs["steps_per_epoch"] = steps
    return kwargs


def _shuffled_batches(tf, arrays, n, batch_size, steps, seed):
    """Endless batches, reshuffled every epoch, from one permutation per epoch.

    Shuffling row indices with one vectorised op and gathering each batch is
    much cheaper than ``Dataset.shuffle`` over the rows themselves (which
    copies every row through a buffer). The permutation of epoch ``e`` comes
    from a stateless op seeded with ``(seed, e)``: reproducible, and
    independent of TensorFlow's global seed.
    """
    tensors = tuple(tf.convert_to_tensor(a) for a in arrays)

    def epoch_batches(epoch):
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64),
                                                        epoch]))
        return tf.data.Dataset.range(steps).map(
            lambda i: perm[i * batch_size:tf.minimum((i + 1) * batch_size, n)])

    def gather(index):
        return tuple(tf.gather(t, index) for t in tensors)

    return tf.data.Dataset.range(2**62).flat_map(epoch_batches).map(
        gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
