"""One training engine: a training spec, run on the compiled loop or on Keras.

Both estimator families (``skdeep.estimators`` and ``skdeep.wrappers``) hand a
built network, its data and a :class:`TrainingSpec` to :func:`fit`; the
engine alone decides how the epochs run:

- on the compiled whole-fit loop (``skdeep.engine.cache.train``, TensorFlow
  or JAX) when :func:`uses_compiled_loop` says the fit may (one rule);
- else through ``keras.Model.fit`` (``skdeep.engine.keras_fit``), with Keras's
  ``EarlyStopping`` / ``ReduceLROnPlateau`` callbacks.

The two paths have the same semantics, checked case by case in
``tests/test_engine.py``:

- an epoch improves on the best so far when the monitored loss (validation
  loss with validation rows, else training loss) is lower by more than
  ``tol`` (Keras's ``EarlyStopping(min_delta=tol)``, scikit-learn's ``tol``);
  training stops after ``patience`` epochs without an improvement; with a
  ``score`` in the spec, the score (on the same rows) must be higher by more
  than ``tol`` instead (the plateau rule still watches the loss);
- the ``"plateau"`` schedule multiplies the rate by ``lr_decay`` after
  ``max(1, patience // 2)`` epochs without an improvement of ``tol``
  (``ReduceLROnPlateau(min_delta=tol, cooldown=0)``);
- ``"exponential"``, ``"step"`` and ``"cosine"`` schedules scale the
  optimizer's own rate (the ``learning_rate`` parameter, or the rate of an
  optimizer instance) by a factor of its step count, so the rate goes on
  from where it was across ``partial_fit`` calls;
- every epoch's shuffle is keyed by the fit's seed and the epoch number;
  missing sample weights are ones;
- with ``record_learning_rate`` the history has ``learning_rate``: the
  optimizer's rate after each epoch (after a plateau reduction), the rate
  the next step uses.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from skdeep.engine import inputs, keras_fit, loop_chunks, training
from skdeep.engine.cache import train as train_compiled
from skdeep.engine.keras_objects import from_logits
from skdeep.engine.keys import _loss_key, _optimizer_key
from skdeep.engine.loop_tf import LoopSpec

__all__ = ["OptimizerSpec", "TrainingSpec", "compile_network", "continue_network",
           "fit", "fit_seed", "record_history", "uses_compiled_loop"]

# Schedules that set the rate before every step (a Keras schedule object on
# the keras.Model.fit path, computed in the graph by the compiled loop).
STEP_SCHEDULES = ("exponential", "step", "cosine")
# fit arguments the compiled loop honours (it evaluates validation rows in
# chunks of its own, so their batch size does not matter)
_LOOP_FIT_KWARGS = frozenset({"validation_batch_size"})


@dataclass
class OptimizerSpec:
    """The optimizer skdeep builds for a network (ready-made estimators).

    ``optimizer`` is a name (``"adam"``), a Keras optimizer class or an
    instance (copied, never trained in place). ``learning_rate`` is the rate
    of a name or class; an instance keeps its own unless ``kwargs`` (routed
    ``optimizer__`` arguments) set one. ``no_weight_decay`` names variables
    (by substring, Keras's ``exclude_from_weight_decay(var_names=...)``) that
    a weight-decaying optimizer leaves alone.
    """

    optimizer: object
    learning_rate: float | None = None
    momentum: float = 0.0
    kwargs: dict = field(default_factory=dict)
    no_weight_decay: tuple = ()


@dataclass
class TrainingSpec:
    """Everything one training call needs besides the network and the data.

    ``patience=None`` means no stopping rule (train every epoch); else
    training stops after ``patience`` epochs without an improvement of
    ``tol`` and, with ``restore_best`` and validation rows, restores the
    weights of the best epoch. ``network_key`` names the network for the
    compiled loop's cache (None: it cannot use the loop); ``make_template()``
    builds another network like it. ``compile_kwargs`` are the
    ``keras.Model.compile`` arguments skdeep compiled the network with, or
    None when the user compiled it (then the engine leaves the compile
    alone). ``optimizer`` is how skdeep builds the optimizer (None: it is in
    ``compile_kwargs``, or the user's). ``score`` (``model -> float``,
    greater is better) replaces the loss as the quantity early stopping
    watches, computed on the validation rows (else the training rows) and
    recorded as ``val_score`` (else ``score``); the plateau rule still
    watches the loss. ``score_in_graph`` names the same score among
    ``skdeep.engine.scores.GRAPH_SCORES`` when the compiled loop can compute
    it from the network's outputs and the loss's target (else None: a fit
    with a ``score`` runs on ``keras.Model.fit``).
    """

    epochs: int
    batch_size: int
    seed: int
    epoch_offset: int = 0
    restore_best: bool = False
    patience: int | None = None
    tol: float = 0.0
    schedule: str = "constant"
    lr_decay: float = 1.0
    schedule_epochs: int | None = None
    callbacks: list = field(default_factory=list)
    verbose: int = 0
    shuffle: bool = True
    fit_kwargs: dict = field(default_factory=dict)
    record_learning_rate: bool = False
    network_key: str | None = None
    make_template: Callable | None = None
    compile_kwargs: dict | None = None
    optimizer: OptimizerSpec | None = None
    score: Callable | None = None
    score_in_graph: str | None = None


# ----------------------------------------------------------------- policies
def fit_seed(random_state):
    """The seed of a fit, from ``random_state``.

    An int gives the same seed every time and touches no generator; a
    ``RandomState`` is read from a copy, never advanced; None draws from
    NumPy's global generator, as scikit-learn's estimators do.
    """
    if isinstance(random_state, np.random.RandomState):
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        return int(copy.randint(0, 2**31 - 1))
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def record_history(previous, parts, *, rename=None):
    """``previous`` history (or None) extended by each history of ``parts``,
    as lists of floats; ``rename(key)`` maps Keras's names."""
    history = {k: list(v) for k, v in (previous or {}).items()}
    for part in parts:
        for key, values in part.items():
            name = rename(key) if rename is not None else key
            history.setdefault(name, []).extend(float(v) for v in values)
    return history


def _rows(X):
    import keras

    return keras.tree.flatten(X)[0].shape[0]


def _steps(spec, n):
    return max(1, math.ceil(n / spec.batch_size))


# ------------------------------------------------------------- eligibility
def uses_compiled_loop(spec, data, validation=None):
    """The one rule for running a fit as one compiled call.

    The backend is TensorFlow or JAX; skdeep compiled the network (from
    Keras's own layers, named by ``spec.network_key``) with nothing but an
    optimizer and a loss (no metrics, no eager mode, no compile options); no
    callbacks; early stopping on the loss or on a score the loop computes in
    its graph (``spec.score_in_graph``: accuracy, R²); no weight-decay
    exclusions; shuffled batches and no ``keras.Model.fit`` options; X and y
    (and the validation rows) are dense NumPy arrays, or, on TensorFlow, X
    streams (a memmap, a Dask collection) or is a CSR matrix, trained chunk
    by chunk (``skdeep.engine.loop_chunks``). The optimizer and loss must also
    be ones the loop can run (Keras's own, a float rate): see :func:`fit`.
    """
    import keras

    if keras.backend.backend() not in ("tensorflow", "jax"):
        return False
    if spec.network_key is None or spec.compile_kwargs is None:
        return False
    if spec.score is not None and spec.score_in_graph is None:
        return False  # a scorer of NumPy predictions: keras.Model.fit
    if spec.callbacks or not spec.shuffle or set(spec.fit_kwargs) - _LOOP_FIT_KWARGS:
        return False
    if spec.optimizer is not None and spec.optimizer.no_weight_decay:
        return False  # the loop copies optimizers by config, which drops them
    if any(value not in (None, False) for key, value in spec.compile_kwargs.items()
           if key not in ("optimizer", "loss")):
        return False
    if _chunked(data[0]):  # chunk by chunk: skdeep.engine.loop_chunks
        return (keras.backend.backend() == "tensorflow"
                and loop_chunks.eligible(data, validation))
    arrays = list(data[:2]) + (list(validation[:2]) if validation is not None else [])
    return all(type(a) is np.ndarray for a in arrays)


def _chunked(X):
    """Whether X trains on the compiled loop a chunk at a time: it streams
    (a memmap, a Dask collection) or is sparse (densified chunk by chunk)."""
    return inputs.streams(X) or sp.issparse(X)


def _loop_runs(spec, data, validation, optimizer, loss):
    return (uses_compiled_loop(spec, data, validation)
            and _optimizer_key(optimizer) is not None and _loss_key(loss) is not None)


# --------------------------------------------------------------- optimizer
def base_learning_rate(opt):
    """The rate a schedule scales: routed ``optimizer__learning_rate``, else
    the ``learning_rate`` of a name or class, else an instance's own (a
    float, or its own schedule)."""
    if "learning_rate" in opt.kwargs:
        return opt.kwargs["learning_rate"]
    if isinstance(opt.optimizer, (str, type)):
        return opt.learning_rate
    return opt.optimizer.get_config().get("learning_rate")


def _build_optimizer(spec, steps, *, scheduled):
    """A new optimizer from ``spec.optimizer``; with ``scheduled``, its rate
    is a Keras schedule object of ``spec.schedule`` (keras.Model.fit path)."""
    opt = spec.optimizer
    base = base_learning_rate(opt)
    kwargs = dict(opt.kwargs)
    if isinstance(base, Real) and not isinstance(base, bool):
        rate = float(base)
        if scheduled:
            rate = training.make_learning_rate(
                rate, spec.schedule, spec.lr_decay, steps_per_epoch=steps,
                epochs=spec.schedule_epochs or spec.epochs)
        kwargs["learning_rate"] = rate
    elif spec.schedule != "constant":
        raise ValueError(
            f"lr_schedule={spec.schedule!r} scales the optimizer's learning rate, "
            f"but the optimizer {type(opt.optimizer).__name__} has a learning-rate "
            "schedule of its own. Use lr_schedule='constant' to train with the "
            "optimizer's schedule, or give the optimizer a float learning_rate "
            "for lr_schedule to scale.")
    optimizer = training.make_optimizer(opt.optimizer, opt.learning_rate,
                                        momentum=opt.momentum, kwargs=kwargs)
    if opt.no_weight_decay:
        optimizer.exclude_from_weight_decay(var_names=list(opt.no_weight_decay))
    return optimizer


def _new_optimizer(spec, data, validation, loss, *, force_keras=False):
    steps = _steps(spec, _rows(data[0]))
    plain = _build_optimizer(spec, steps, scheduled=False)
    if spec.schedule not in STEP_SCHEDULES or (
            not force_keras and _loop_runs(spec, data, validation, plain, loss)):
        return plain
    return _build_optimizer(spec, steps, scheduled=True)


def compile_network(model, spec, data, validation=None, *, force_keras=False):
    """Compile ``model`` with a new optimizer from ``spec.optimizer`` and
    ``spec.compile_kwargs`` (the loss, metrics, compile options), ready for
    the path :func:`fit` will take."""
    kwargs = dict(spec.compile_kwargs)
    kwargs["optimizer"] = _new_optimizer(spec, data, validation, kwargs.get("loss"),
                                         force_keras=force_keras)
    model.compile(**kwargs)
    model.optimizer.build(model.trainable_variables)


def _same_settings(new, old):
    """Whether two optimizers differ at most in a float learning rate."""
    if type(new) is not type(old):
        return False
    a, b = new.get_config(), old.get_config()
    rate_a, rate_b = a.pop("learning_rate", None), b.pop("learning_rate", None)
    a.pop("name", None)
    b.pop("name", None)
    if a != b:
        return False
    floats = isinstance(rate_a, float) and isinstance(rate_b, float)
    return floats or rate_a == rate_b


def continue_network(model, spec, data, validation=None, *, partial):
    """Apply the current training settings to a fitted network.

    A warm-start ``fit`` always gets a new optimizer (as scikit-learn's MLP
    does); ``partial_fit`` keeps the optimizer and its state (step count,
    moments, the step a schedule has reached) unless its settings changed,
    on either path; a new float rate is assigned.
    """
    if spec.compile_kwargs is None:
        return  # compiled by the user's build function: theirs
    if partial:
        new = _new_optimizer(spec, data, validation, model.loss)
        old = model.optimizer
        if _same_settings(new, old):
            rate = new.get_config()["learning_rate"]
            if isinstance(rate, float):
                old.learning_rate = rate
            return
    compile_network(model, spec, data, validation)


# ---------------------------------------------------------------- training
def fit(model, data, validation, spec):
    """Train compiled ``model`` on ``data`` = ``(X, y, sample_weight or None)``.

    ``validation`` is the same or None. Returns ``(history, compiled)``: the
    history of this call (dict of lists) and whether it ran as one compiled
    call.
    """
    if _loop_runs(spec, data, validation, model.optimizer, model.loss):
        history = (_fit_streamed(model, data, validation, spec)
                   if _chunked(data[0]) else
                   _fit_compiled(model, data, validation, spec))
        if history is not None:
            if not spec.record_learning_rate:
                history.pop("learning_rate", None)
            return history, True
        if spec.optimizer is not None and spec.schedule in STEP_SCHEDULES:
            compile_network(model, spec, data, validation, force_keras=True)
    return _fit_keras(model, data, validation, spec), False


def _ones(n, weights):
    return np.ones(n, np.float32) if weights is None else np.asarray(
        weights, np.float32)


def _fit_compiled(model, data, validation, spec):
    X, y, sw = data
    data = (X.astype(np.float32, copy=False), y, _ones(len(X), sw))
    if validation is not None:
        Xv, yv, swv = validation
        validation = (Xv.astype(np.float32, copy=False), yv, _ones(len(Xv), swv))
    return train_compiled(model, spec.network_key, spec.make_template, data,
                          validation, *_loop_settings(model, validation, spec))


def _fit_streamed(model, data, validation, spec):
    """:func:`_fit_compiled` for streamed or sparse X: the same loop
    settings, run chunk by chunk (``skdeep.engine.loop_chunks``); X is never
    loaded (nor densified) whole."""
    return loop_chunks.train(model, spec.network_key, spec.make_template, data,
                             validation, *_loop_settings(model, validation, spec))


def _loop_settings(model, validation, spec):
    """The compiled loops' ``(LoopSpec, arguments)`` for one fit (the
    optimizer built first: the loops read its variables)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    base = (base_learning_rate(spec.optimizer) if spec.optimizer is not None
            else None)
    if not isinstance(base, Real):
        base = float(np.asarray(model.optimizer.learning_rate))
    loop_spec = LoopSpec(validation=validation is not None,
                         restore_best=bool(spec.restore_best
                                           and validation is not None),
                         schedule=spec.schedule, verbose=bool(spec.verbose),
                         score=spec.score_in_graph if spec.score else None,
                         from_logits=from_logits(model.loss))
    patience = spec.epochs + 1 if spec.patience is None else spec.patience
    return loop_spec, {
        "seed": spec.seed, "epoch_offset": spec.epoch_offset, "epochs": spec.epochs,
        "batch_size": spec.batch_size, "patience": patience, "tol": spec.tol,
        "learning_rate": float(base), "lr_decay": spec.lr_decay,
        "schedule_epochs": spec.schedule_epochs or spec.epochs}


def _record_rate():
    import keras

    class RecordLearningRate(keras.callbacks.Callback):
        """Logs the optimizer's rate after each epoch as ``learning_rate``."""

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                    self.model.optimizer.learning_rate))

    return RecordLearningRate()


def _plan_execution(model, spec, steps):
    """Several batches per Keras call when skdeep compiled the network and no
    user callback needs to see every batch (Keras's per-call overhead
    dominates small networks); a user's compile is left alone."""
    if spec.compile_kwargs is None or "steps_per_execution" in spec.compile_kwargs:
        return
    planned = 1 if spec.callbacks else keras_fit.plan_execution(steps)
    if model.steps_per_execution != planned:
        model.steps_per_execution = planned
        model.train_function = model.test_function = None
        model.predict_function = None


def _fit_keras(model, data, validation, spec):
    callbacks = []
    if spec.patience is not None:
        callbacks = training.make_callbacks(
            early_stopping=spec.restore_best, patience=spec.patience, tol=spec.tol,
            lr_schedule=spec.schedule, lr_decay=spec.lr_decay,
            has_validation=validation is not None, score=spec.score)
    elif spec.score is not None:  # recorded, as the compiled loop does
        callbacks = [training.score_callback(
            spec.score, "val_score" if validation is not None else "score")]
    if spec.record_learning_rate:
        callbacks.append(_record_rate())
    callbacks.extend(spec.callbacks)
    _plan_execution(model, spec, _steps(spec, _rows(data[0])))
    extra = {"initial_epoch": spec.epoch_offset, **spec.fit_kwargs}
    return keras_fit.fit(
        model, data, validation, epochs=spec.epoch_offset + spec.epochs,
        batch_size=spec.batch_size, seed=spec.seed, epoch_offset=spec.epoch_offset,
        callbacks=callbacks, verbose=spec.verbose, shuffle=bool(spec.shuffle),
        extra=extra)
