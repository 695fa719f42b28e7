"""The compiled training loop: a whole fit in one backend call.

``keras.Model.fit`` runs Python between epochs: a new validation iterator,
metric resets and callbacks cost ~20 ms per epoch on small data, several times
scikit-learn's whole epoch. For skdeep's own networks, and for a generic
wrapper's network that skdeep compiled from Keras's own layers (no user
callbacks or metrics, dense X), the fit runs instead as one traced function: the
epochs, the per-epoch reshuffle (stateless, keyed by the fit's seed and the
epoch), the mini-batch steps, the validation loss, early stopping with best
weights, the plateau and decay schedules all happen in the graph, with the
semantics of Keras's ``EarlyStopping`` and ``ReduceLROnPlateau`` callbacks.

Tracing such a function takes ~0.5 s, so traced loops are cached: a
*trainer* is a private copy (a *template*) of a network, its optimizer and the
traced loop. A fit of an identical network (same architecture, optimizer,
loss; seeds, learning rate, batch size and data size may differ; a user's
network is named by its Keras config, :func:`network_key`) checks a
trainer out, copies its fresh network's weights and optimizer state in, runs,
and copies the result back out. The estimator's own network is never held by
the cache, so it is freed as soon as the estimator is; the cache holds only
templates, bounded in count and bytes, and :func:`clear_cache` empties it.

Prediction uses the same cache: one stateless forward function per
architecture, fed with the estimator's own weights, instead of tracing a new
predict function for every fitted network.
"""

import json
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

__all__ = ["LoopSpec", "architecture_key", "cache_info", "clear_cache", "forward",
           "network_key", "train"]

# Trainers kept per process, and their total size: templates of the networks
# of a search are small; a large network is traced again rather than kept.
MAX_TRAINERS = 16
MAX_BYTES = 256 * 2**20
# Validation rows evaluated per step of the in-graph validation loop.
_VAL_CHUNK = 4096


def _reuse_enabled():
    value = os.environ.get("SKDEEP_REUSE_NETWORKS", "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(
        f"SKDEEP_REUSE_NETWORKS={value!r} is not understood: use 0 to turn "
        "the reuse of compiled training loops off, 1 (the default) to keep it on.")


def _inline_enabled():
    value = os.environ.get("SKDEEP_EXECUTOR", "inline").strip().lower()
    if value in ("inline", ""):
        return True
    if value == "default":
        return False
    raise ValueError(
        f"SKDEEP_EXECUTOR={value!r} is not understood: use 'inline' (the "
        "default) to run compiled loops in the calling thread, or 'default' for "
        "TensorFlow's default (inter-op thread pool) executor.")


# ----------------------------------------------------------------- keys
def _plain(value):
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def architecture_key(estimator, meta, input_shape):
    """A string naming the network an estimator builds, or None.

    skdeep's builders are deterministic functions of the estimator's class,
    its architecture parameters and the fitted metadata, so those name the
    network (its seeds aside). None when a parameter is not plain data (a
    callable activation, an initializer object): such networks are trained
    by ``keras.Model.fit``.
    """
    import keras

    params = estimator._architecture_params()
    if not all(_plain(v) for v in params.values()):
        return None
    meta = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in meta.items()
            if k in ("n_features_in_", "n_outputs_", "target_type_", "n_classes_")}
    return json.dumps({
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "params": {k: list(v) if isinstance(v, tuple) else v
                   for k, v in params.items()},
        "meta": meta, "input": list(input_shape),
        "backend": keras.backend.backend(), "floatx": keras.config.floatx(),
    }, sort_keys=True)


def network_key(model, input_shape):
    """A string naming a user's network by its Keras config, or None.

    For the generic wrappers, whose build functions skdeep cannot read: the
    network's own config, with seeds left out and layer names replaced by
    their order of appearance (Keras numbers names per process), names it.
    None unless it is a ``Sequential`` or functional network of Keras's own
    layers with one input and one output.
    """
    import re

    import keras

    if type(model).__name__ not in ("Sequential", "Functional") or not (
            type(model).__module__.startswith("keras")):
        return None
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
        config = _without_seeds(model.get_config())
        if not _only_keras_objects(config):
            return None
        text = json.dumps(config, sort_keys=True)
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        return None
    names = [model.name, *_names(config)]
    canonical = {name: f"name{i}" for i, name in enumerate(dict.fromkeys(names))}
    text = re.sub(r'"([^"\\]*)"', lambda m: json.dumps(canonical.get(m[1], m[1])),
                  text)
    return json.dumps({"network": text, "input": list(input_shape),
                       "backend": keras.backend.backend(),
                       "floatx": keras.config.floatx()}, sort_keys=True)


def _names(obj):
    """The ``"name"`` values of a config, in order of appearance."""
    if isinstance(obj, dict):
        if isinstance(obj.get("name"), str):
            yield obj["name"]
        for value in obj.values():
            yield from _names(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _names(value)


def _without_seeds(obj):
    if isinstance(obj, dict):
        return {k: _without_seeds(v) for k, v in obj.items() if k != "seed"}
    if isinstance(obj, (list, tuple)):
        return [_without_seeds(v) for v in obj]
    return obj


def _only_keras_objects(obj):
    """True if a serialized config names nothing but Keras's own classes.

    Judged by module: a user's class or function has its own (a plain
    function serializes with module ``builtins``). The registered name is not
    checked, as other libraries re-register Keras's classes (scikeras
    registers ``Functional`` when it pickles one).
    """
    if isinstance(obj, dict):
        module = obj.get("module")
        if module is not None and not (module == "keras"
                                       or str(module).startswith("keras.")):
            return False
        return all(_only_keras_objects(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_only_keras_objects(v) for v in obj)
    return isinstance(obj, (str, int, float, bool, type(None)))


def _optimizer_key(optimizer):
    """The optimizer's class and settings (its learning rate aside), or None.

    Built from ``get_config``: ``keras.saving.serialize_keras_object`` would
    import TensorFlow even on the JAX backend.
    """
    cls = type(optimizer)
    if not cls.__module__.startswith("keras"):
        return None
    config = optimizer.get_config()
    if not isinstance(config.get("learning_rate"), float) or config.get("use_ema"):
        return None  # schedules are computed in the loop; EMA is not supported
    config = {k: v for k, v in config.items() if k not in ("name", "learning_rate")}
    if not _only_keras_objects(config):
        return None
    return json.dumps({"class": cls.__qualname__, "config": config}, sort_keys=True)


def _loss_key(loss):
    """A Keras loss by name, or one of Keras's own loss functions or objects
    (with their config); None for anything else."""
    if isinstance(loss, str):
        return json.dumps(loss)
    owner = type(loss) if hasattr(loss, "get_config") else loss
    if not (getattr(owner, "__module__", None) or "").startswith("keras"):
        return None
    if hasattr(loss, "get_config"):
        config = loss.get_config()
        if not _only_keras_objects(config):
            return None
        return json.dumps({"class": type(loss).__qualname__, "config": config},
                          sort_keys=True)
    return json.dumps({"function": loss.__name__})


# ------------------------------------------------------------- the loop
@dataclass(frozen=True)
class LoopSpec:
    """What the traced loop's graph depends on (the rest are its inputs)."""

    validation: bool  # monitor the validation loss (else the training loss)
    restore_best: bool  # restore the weights of the best epoch at the end
    schedule: str  # "constant", "exponential", "step", "cosine", "plateau"
    verbose: bool  # print one line per epoch


def _per_sample_loss(loss):
    """The unreduced loss function of a Keras loss name or object."""
    import keras

    if isinstance(loss, str):
        return keras.losses.get(loss)  # Keras's functions are per-sample
    if isinstance(loss, keras.losses.Loss):
        return loss.call
    return loss


def _assign(targets, sources):
    for target, source in zip(targets, sources, strict=True):
        target.assign(source.value)


def _nbytes(variables):
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


_BRANCHES = frozenset({"If", "StatelessIf", "Case", "StatelessCase", "Switch", "Merge"})


def _runs_inline(function):
    """Trace ``function`` and say whether it runs on the single-threaded
    executor (see :func:`_single_threaded`).

    Not when turned off (``SKDEEP_EXECUTOR=default``), not when the process
    sees an accelerator (that executor runs no graph split across devices),
    and not when the traced function, or any function it calls, has a
    conditional op: that executor waits forever on the branch not taken.
    The function is traced under the option it will run with, so that its
    ``while`` loops stay functional ops, which the executor runs. The
    environment variable is read here, when a loop or forward pass is first
    traced: after changing it, :func:`clear_cache` applies it to cached ones.
    """
    import tensorflow as tf

    if not _inline_enabled() or any(
            device.device_type != "CPU" for device in tf.config.list_logical_devices()):
        return False
    with _single_threaded(True):
        graph = function.get_concrete_function().graph
    ops = {op.type for op in graph.get_operations()}
    try:  # the functions the graph calls (while bodies, branches), nested too
        for inner in graph._functions.values():
            ops.update(node.op for node in inner.cached_definition.node_def)
    except AttributeError:  # TensorFlow moved them: cannot tell, so do not risk it
        return False
    return not ops & _BRANCHES


def _single_threaded(enabled):
    """Run a traced function's ops inline, one after another, if ``enabled``.

    TensorFlow's default executor hands each op of a graph to its inter-op
    thread pool; on small networks the hand-offs cost more than the ops
    (a whole epoch ran ~1.8x slower). The single-threaded executor runs them
    in the calling thread; each op still uses the intra-op pool for its own
    work. The setting is TensorFlow's thread-local call option, for this call
    only: the process's thread pools and other functions are untouched.
    """
    import contextlib

    import tensorflow as tf

    if not enabled:
        return contextlib.nullcontext()
    return tf.experimental.function_executor_type("SINGLE_THREADED_EXECUTOR")


class _TFTrainer:
    """A template network, its optimizer and the traced whole-fit loop."""

    def __init__(self, template, optimizer, loss, spec, x_shape, y_shape, y_dtype):
        import tensorflow as tf

        self.model = template
        self.optimizer = optimizer.__class__.from_config(optimizer.get_config())
        self.optimizer.build(template.trainable_variables)
        self._lr = next(v for v in self.optimizer.variables
                        if v.name == "learning_rate")
        self._loss = _per_sample_loss(loss)
        self.spec = spec
        self._best = ([tf.Variable(w.value, trainable=False) for w in template.weights]
                      if spec.restore_best else [])
        self.nbytes = (_nbytes(template.variables) + _nbytes(self.optimizer.variables)
                       + _nbytes(template.weights) * spec.restore_best)
        x = tf.TensorSpec((None, *x_shape), tf.float32)
        y = tf.TensorSpec((None, *y_shape), y_dtype)
        w = tf.TensorSpec((None,), tf.float32)
        i32, i64, f32 = (tf.TensorSpec((), d) for d in (tf.int32, tf.int64, tf.float32))
        # autograph converts only the loop itself: Keras's layers and
        # optimizers need no conversion (it would double the tracing time)
        plain = tf.autograph.experimental.do_not_convert
        self._batch_loss = plain(self._batch_loss)
        self._regularization = plain(self._regularization)
        self._apply = plain(self.optimizer.apply)
        self._fn = tf.function(self._run, input_signature=[
            x, y, w, x, y, w, i64, i64, i32, i32, i32, f32, f32, f32, i32])
        self._inline = None  # known once traced: see _runs_inline

    # -- graph pieces
    def _batch_loss(self, xb, yb, wb, training):
        import tensorflow as tf

        pred = self.model(xb, training=training)
        per_sample = tf.cast(self._loss(yb, pred), tf.float32)
        loss = tf.reduce_sum(per_sample * wb) / tf.cast(tf.shape(wb)[0], tf.float32)
        return loss, tf.reduce_sum(per_sample * wb)

    def _regularization(self):
        import tensorflow as tf

        losses = self.model.losses
        return tf.add_n([tf.cast(v, tf.float32) for v in losses]) if losses else 0.0

    def _validation_loss(self, Xv, yv, swv):
        import tensorflow as tf

        nv = tf.shape(Xv)[0]
        total = tf.constant(0.0)
        for j in tf.range((nv + _VAL_CHUNK - 1) // _VAL_CHUNK):
            part = slice(j * _VAL_CHUNK, tf.minimum((j + 1) * _VAL_CHUNK, nv))
            total += self._batch_loss(Xv[part], yv[part], swv[part], False)[1]
        return total / tf.cast(tf.maximum(nv, 1), tf.float32) + self._regularization()

    def _scheduled_lr(self, lr0, decay, steps_per_epoch, schedule_epochs):
        """Keras's ExponentialDecay / staircase decay / CosineDecay, in-graph."""
        import tensorflow as tf

        step = tf.cast(self.optimizer.iterations, tf.float32)
        spe = tf.cast(steps_per_epoch, tf.float32)
        kind = self.spec.schedule
        if kind == "exponential":
            return lr0 * tf.pow(decay, step / spe)
        if kind == "step":
            every = spe * tf.cast(tf.maximum(1, schedule_epochs // 4), tf.float32)
            return lr0 * tf.pow(decay, tf.floor(step / every))
        total = spe * tf.cast(tf.maximum(1, schedule_epochs), tf.float32)  # cosine
        return lr0 * 0.5 * (1.0 + tf.cos(math.pi * tf.minimum(step, total) / total))

    def _run(self, X, y, sw, Xv, yv, swv, seed, epoch_offset, epochs, batch_size,
             patience, tol, lr0, decay, schedule_epochs):
        import tensorflow as tf

        spec, model = self.spec, self.model
        variables = model.trainable_variables
        n = tf.shape(X)[0]
        steps = (n + batch_size - 1) // batch_size
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                element_shape=())
        val_losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                element_shape=())
        inf = tf.constant(np.inf, tf.float32)
        best, wait, stop = inf, tf.constant(0), tf.constant(False)
        plateau_best, plateau_wait = inf, tf.constant(0)
        plateau_patience = tf.maximum(1, patience // 2)
        epoch = tf.constant(0)
        while tf.logical_and(epoch < epochs, tf.logical_not(stop)):
            perm = tf.random.experimental.stateless_shuffle(
                tf.range(n), seed=tf.stack([seed, epoch_offset + tf.cast(epoch,
                                                                         tf.int64)]))
            total = tf.constant(0.0)
            for i in tf.range(steps):
                index = perm[i * batch_size:tf.minimum((i + 1) * batch_size, n)]
                if spec.schedule in ("exponential", "step", "cosine"):
                    self._lr.assign(self._scheduled_lr(lr0, decay, steps,
                                                       schedule_epochs))
                with tf.GradientTape() as tape:
                    loss = self._batch_loss(tf.gather(X, index), tf.gather(y, index),
                                            tf.gather(sw, index), True)[0]
                    loss += self._regularization()
                self._apply(tape.gradient(loss, variables), variables)
                total += loss * tf.cast(tf.shape(index)[0], tf.float32)
            train_loss = total / tf.cast(n, tf.float32)
            losses = losses.write(epoch, train_loss)
            current = train_loss
            if spec.validation:
                current = self._validation_loss(Xv, yv, swv)
                val_losses = val_losses.write(epoch, current)
            if spec.verbose:
                tf.print("Epoch", epoch + 1, "- loss:", train_loss,
                         *(("- val_loss:", current) if spec.validation else ()))
            # EarlyStopping: wait counts epochs without an improvement of tol.
            # Written without tf.cond, which the single-threaded executor
            # cannot run (see _runs_inline).
            improved = tf.logical_or(epoch == 0, current - tol < best)
            best = tf.where(improved, current, best)
            wait = tf.where(improved, 0, wait + 1)
            stop = tf.logical_and(tf.logical_not(improved), wait >= patience)
            if spec.restore_best:
                for saved, weight in zip(self._best, model.weights, strict=True):
                    saved.assign(tf.where(improved, weight, saved))
            # ReduceLROnPlateau (cooldown 0, min_lr 0), after early stopping
            if spec.schedule == "plateau":
                better = current < plateau_best - tol
                plateau_best = tf.where(better, current, plateau_best)
                plateau_wait = tf.where(better, 0, plateau_wait + 1)
                reduce = plateau_wait >= plateau_patience
                self._lr.assign(tf.where(reduce, self._lr * decay, self._lr))
                plateau_wait = tf.where(reduce, 0, plateau_wait)
            epoch += 1
        if spec.restore_best:
            for weight, saved in zip(model.weights, self._best, strict=True):
                weight.assign(saved)
        return losses.stack(), val_losses.stack()

    # -- Python side
    def run(self, model, data, validation, args):
        """Train ``model`` (weights and optimizer state in, results out)."""
        _assign(self.model.variables, model.variables)
        _assign(self.optimizer.variables, model.optimizer.variables)
        X, y, sw = data
        Xv, yv, swv = validation if validation is not None else (
            X[:0], y[:0], sw[:0])
        if self._inline is None:
            self._inline = _runs_inline(self._fn)
        with _single_threaded(self._inline):
            losses, val_losses = self._fn(
                X, y, sw, Xv, yv, swv, np.int64(args["seed"]),
                np.int64(args["epoch_offset"]), np.int32(args["epochs"]),
                np.int32(args["batch_size"]), np.int32(args["patience"]),
                np.float32(args["tol"]), np.float32(args["learning_rate"]),
                np.float32(args["lr_decay"]), np.int32(args["schedule_epochs"]))
        _assign(model.variables, self.model.variables)
        _assign(model.optimizer.variables, self.optimizer.variables)
        history = {"loss": [float(v) for v in losses.numpy()]}
        if self.spec.validation:
            history["val_loss"] = [float(v) for v in val_losses.numpy()]
        return history


class _Forward:
    """A stateless forward pass traced once per architecture."""

    def __init__(self, template):
        import tensorflow as tf

        self.model = template
        kinds = [v.trainable for v in template.variables]
        self._trainable = [i for i, t in enumerate(kinds) if t]
        self._other = [i for i, t in enumerate(kinds) if not t]
        specs = [tf.TensorSpec(v.shape, v.dtype) for v in template.variables]
        x = tf.TensorSpec((None, *template.inputs[0].shape[1:]), tf.float32)

        def call(trainable, other, X):
            return template.stateless_call(trainable, other, X, training=False)[0]

        self._fn = tf.function(call, input_signature=[
            [specs[i] for i in self._trainable], [specs[i] for i in self._other], x])
        self._inline = None

    def __call__(self, model, X):
        if self._inline is None:
            self._inline = _runs_inline(self._fn)
        values = [v.value for v in model.variables]
        with _single_threaded(self._inline):
            return self._fn([values[i] for i in self._trainable],
                            [values[i] for i in self._other], X)


class _Cache:
    """Free trainers by key (least recently used first) and forward passes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._trainers = OrderedDict()  # key -> list of free _TFTrainer
        self._forwards = OrderedDict()  # model key -> _Forward

    def checkout(self, key):
        with self._lock:
            free = self._trainers.get(key)
            if not free:
                return None
            trainer = free.pop()
            if not free:
                del self._trainers[key]
            return trainer

    def checkin(self, key, trainer):
        with self._lock:
            self._trainers.setdefault(key, []).append(trainer)
            self._trainers.move_to_end(key)
            self._evict()

    def _evict(self):
        def total():
            return sum(t.nbytes for free in self._trainers.values() for t in free)

        while self._trainers and (
            sum(len(v) for v in self._trainers.values()) > MAX_TRAINERS
            or total() > MAX_BYTES
        ):
            oldest = next(iter(self._trainers))
            self._trainers[oldest].pop(0)
            if not self._trainers[oldest]:
                del self._trainers[oldest]

    def forward(self, key, make):
        with self._lock:
            fwd = self._forwards.get(key)
            if fwd is not None:
                self._forwards.move_to_end(key)
                return fwd
        fwd = make()
        with self._lock:
            self._forwards[key] = fwd
            while len(self._forwards) > 4 * MAX_TRAINERS:
                self._forwards.popitem(last=False)
        return fwd

    def clear(self):
        with self._lock:
            self._trainers.clear()
            self._forwards.clear()

    def info(self):
        with self._lock:
            free = [t for v in self._trainers.values() for t in v]
            return {"trainers": len(free), "bytes": sum(t.nbytes for t in free),
                    "forward_functions": len(self._forwards)}


_CACHE = _Cache()


def clear_cache():
    """Drop skdeep's cached training loops and prediction functions.

    skdeep keeps the traced training loop of each network architecture it has
    trained (and a private copy of that network) so that later fits of the
    same architecture, as in a search, skip ~0.5 s of tracing. The cache is
    bounded (16 networks, 256 MB); fitted estimators never depend on it. Call
    this to give its memory back at once.
    """
    _CACHE.clear()


def cache_info():
    """What skdeep's cache of compiled loops holds, as a dict.

    ``trainers``: cached training loops (one per architecture and training
    setup, each with a private copy of its network); ``bytes``: the memory of
    their variables; ``forward_functions``: cached prediction functions.
    """
    return _CACHE.info()


def train(model, arch, make_template, data, validation, spec, args):
    """Run a whole fit of compiled ``model`` in one call.

    ``arch`` is its :func:`architecture_key`; ``make_template()`` builds
    another network like it (for the cache). ``data`` is ``(X, y,
    sample_weight)`` (float32, target, float32 weights), ``validation`` the
    same or None. Returns the history dict, or None if the network cannot use
    the compiled loop (then use ``keras.Model.fit``).
    """
    import keras

    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        return None
    opt_key = _optimizer_key(model.optimizer)
    loss_key = _loss_key(model.loss)
    if arch is None or opt_key is None or loss_key is None:
        return None
    X, y, _ = data
    key = (arch, opt_key, loss_key, spec, X.shape[1:], y.shape[1:], str(y.dtype))
    if backend == "jax":  # XLA compiles for one batch shape
        key += (int(args["batch_size"]),)
    reuse = _reuse_enabled()
    trainer = _CACHE.checkout(key) if reuse else None
    if trainer is None and backend == "jax":
        from ._loop_jax import JaxTrainer

        trainer = JaxTrainer(make_template(), model.optimizer, model.loss, spec,
                             args["batch_size"])
    elif trainer is None:
        trainer = _TFTrainer(make_template(), model.optimizer, model.loss, spec,
                             X.shape[1:], y.shape[1:], y.dtype)
    history = trainer.run(model, data, validation, args)
    if reuse:  # a trainer whose run raised is not trusted again
        _CACHE.checkin(key, trainer)
    return history


def forward(key, make_template):
    """The cached forward pass for networks of :func:`architecture_key` ``key``."""
    import keras

    if keras.backend.backend() == "jax":
        from ._loop_jax import JaxForward

        return _CACHE.forward(key, lambda: JaxForward(make_template()))
    return _CACHE.forward(key, lambda: _Forward(make_template()))
