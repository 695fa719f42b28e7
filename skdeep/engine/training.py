"""Flat hyperparameters -> Keras training objects.

Optimizers, learning-rate schedules, early-stopping callbacks, losses and
seeded network builds. Keras is imported inside the functions so that
``import skdeep`` stays free of TensorFlow. Nothing here changes a
process-wide setting or a global random generator.
"""

import contextlib
import copy
import inspect
import random
import threading

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "make_callbacks",
    "make_learning_rate",
    "make_loss",
    "make_optimizer",
    "seeded_build",
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


def score_callback(score, name):
    """A Keras callback that puts ``score(model)`` into the logs as ``name``
    after every epoch (before the callbacks after it read them)."""
    import keras

    class LogScore(keras.callbacks.Callback):
        """Logs the monitored score of the network after each epoch."""

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs[name] = float(score(self.model))

    return LogScore()


def make_callbacks(
    *, early_stopping, patience, tol, lr_schedule, lr_decay, has_validation,
    user_callbacks=None, score=None,
):
    """Callbacks for one fit: early stopping, plateau schedule, user's own.

    With validation data, early stopping watches ``val_loss`` and restores the
    best weights; without it (``early_stopping=False``) training stops when
    the training loss has not improved by ``tol`` for ``patience`` epochs, as
    scikit-learn's MLP does. With ``score`` (a function ``model -> float``,
    greater is better, computed on the validation rows, else on the training
    rows), early stopping watches it instead, logged as ``val_score`` (else
    ``score``): an improvement is an increase by more than ``tol``. The
    plateau schedule always watches the loss.
    """
    import keras

    loss_monitor = "val_loss" if has_validation else "loss"
    callbacks = []
    monitor, mode = loss_monitor, "min"
    if score is not None:
        monitor, mode = ("val_score" if has_validation else "score"), "max"
        callbacks.append(score_callback(score, monitor))
    callbacks.append(
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            mode=mode,
            patience=patience,
            min_delta=tol,
            restore_best_weights=bool(early_stopping and has_validation),
        )
    )
    if lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=loss_monitor,
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


_BUILD_LOCK = threading.RLock()
_LOCAL = threading.local()  # .generator: the random.Random of this thread's build
_HOOK_LOCK = threading.Lock()


class _ThreadSeededRandom:
    """Stands in for the ``random`` module where Keras draws layer seeds.

    In a thread inside :func:`seeded_build`, Keras's draws come from that
    build's own generator; everywhere else from the ``random`` module itself,
    exactly as without skdeep.
    """

    def __getattr__(self, name):
        generator = getattr(_LOCAL, "generator", None)
        return getattr(random if generator is None else generator, name)


def _hook_keras_seeds():
    """Point Keras's layer-seed draws at :class:`_ThreadSeededRandom`, once."""
    from skdeep._compat import keras_seed_generator_module

    module = keras_seed_generator_module()
    if module is None:
        return
    with _HOOK_LOCK:
        if module.python_random is random:
            module.python_random = _ThreadSeededRandom()


@contextlib.contextmanager
def seeded_build(seed):
    """Build a network reproducibly, touching no global generator.

    Keras layers and initializers created without a seed (in a user's build
    function, say) draw one from Python's ``random``. Inside this block, in
    this thread only, Keras draws them from a generator of its own seeded
    with the fit's ``seed`` (a fresh unseeded one for ``seed=None``), so the
    build is reproducible while Python's and NumPy's global generators, and
    other threads' draws from them, are left alone. skdeep's own
    architectures seed every layer and draw nothing. A build function's own
    draws from ``np.random`` or ``random`` are its own business: they use
    the global generators, unseeded.
    """
    _hook_keras_seeds()
    generator = random.Random(None if seed is None else int(seed))
    with _BUILD_LOCK:
        previous = getattr(_LOCAL, "generator", None)
        _LOCAL.generator = generator
        try:
            yield
        finally:
            _LOCAL.generator = previous
