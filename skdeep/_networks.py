"""Reuse of compiled networks between fits of the same architecture.

Every ``keras.Model.fit`` on a new model traces a new train step: ~0.3-0.7 s
per fit on the TensorFlow backend, and TensorFlow keeps the traced functions
registered after the model is gone (~4.5 MB per fit that no ``gc`` or
``clear_session`` gives back). A search fits the same architecture once per
fold and candidate, so most of that work is repeated.

When an estimator that owns a compiled network is garbage-collected (or
refit), the network goes back to a small per-process pool. The next fit whose
network would be *identical* (same architecture, optimizer, loss, metrics and
``steps_per_execution``; only seeds and a constant learning rate may differ)
takes it from the pool instead of compiling a new one: it builds its fresh
network as usual (cheap: no tracing), copies the fresh weights,
seed-generator states and batch-norm statistics into the pooled one, and
resets the optimizer to its freshly built state. The traced train step is
then reused, and the fit is bitwise the one a new network would give.

Only networks made entirely of Keras's own classes are pooled (a user's
function or layer could carry state the key does not see), and only up to
``MAX_PARAMS`` parameters; at most ``MAX_FREE`` wait in the pool. A network
the user has taken out of its estimator (``est.model_``) is never pooled
again. ``SKDEEP_REUSE_NETWORKS=0`` switches reuse off.
"""

import json
import os
import threading
import weakref
from collections import OrderedDict, deque

import numpy as np

__all__ = ["clear", "compile_network", "pool_size"]

# Free networks kept per process (the least recently returned go first), and
# the largest network kept (parameters): pooling is for the many small
# networks of a search, not for holding big ones in memory.
MAX_FREE = 8
MAX_PARAMS = 5_000_000


class _Entry:
    """A compiled network and what is needed to make it fresh again."""

    __slots__ = ("key", "model", "model_vars", "opt_init", "opt_vars")

    def __init__(self, key, model, model_vars):
        self.key = key
        self.model = model
        self.model_vars = model_vars
        opt = model.optimizer
        # built now exactly as ``fit`` would build it, to record its start state
        opt.build(model.trainable_variables)
        self.opt_vars = list(opt.variables)
        self.opt_init = [np.array(v.numpy()) for v in self.opt_vars]

    def refresh(self, fresh, learning_rate):
        """Load ``fresh``'s initial state; False if the variables do not line up."""
        new_vars = list(fresh.variables)
        if len(new_vars) != len(self.model_vars) or any(
            tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype
            for a, b in zip(self.model_vars, new_vars, strict=True)
        ):
            return False
        for target, source in zip(self.model_vars, new_vars, strict=True):
            target.assign(source.value)
        for target, value in zip(self.opt_vars, self.opt_init, strict=True):
            target.assign(value)
        if learning_rate is not None:  # a variable, read by the traced step
            self.model.optimizer.learning_rate = learning_rate
        self.model.stop_training = False
        return True


class Lease:
    """An estimator's hold on a pooled network; returned when the owner dies."""

    __slots__ = ("_finalizer", "entry", "escaped")

    def __init__(self, entry):
        self.entry = entry
        self.escaped = False
        self._finalizer = None

    def bind(self, owner):
        self._finalizer = weakref.finalize(owner, _POOL.checkin, self)
        self._finalizer.atexit = False

    def release(self):
        """Return the network now (the owner refits or drops it)."""
        if self._finalizer is not None:
            self._finalizer()


class _Pool:
    """Free networks by key, least recently returned first.

    ``checkin`` runs from ``weakref.finalize``, i.e. whenever the garbage
    collector frees an estimator, possibly while this thread is inside
    ``checkout``. So it takes no lock: it appends to a deque (atomic), and
    the returned networks are filed under the lock on the next access.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._free = OrderedDict()  # key -> list of _Entry
        self._returned = deque()

    def _file_returned(self):
        while self._returned:
            entry = self._returned.popleft()
            self._free.setdefault(entry.key, []).append(entry)
            self._free.move_to_end(entry.key)
        while sum(len(v) for v in self._free.values()) > MAX_FREE:
            oldest = next(iter(self._free))
            self._free[oldest].pop(0)
            if not self._free[oldest]:
                del self._free[oldest]

    def checkout(self, key):
        with self._lock:
            self._file_returned()
            entries = self._free.get(key)
            if not entries:
                return None
            entry = entries.pop()
            if not entries:
                del self._free[key]
            return entry

    def checkin(self, lease):
        if not lease.escaped:
            self._returned.append(lease.entry)

    def clear(self):
        with self._lock:
            self._returned.clear()
            self._free.clear()

    def size(self):
        with self._lock:
            self._file_returned()
            return sum(len(v) for v in self._free.values())


_POOL = _Pool()


def clear():
    """Drop every pooled network (frees their memory)."""
    _POOL.clear()


def pool_size():
    """Number of compiled networks waiting for reuse in this process."""
    return _POOL.size()


def _enabled():
    value = os.environ.get("SKDEEP_REUSE_NETWORKS", "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(
        f"SKDEEP_REUSE_NETWORKS={value!r} is not understood: use 0 to turn "
        "the reuse of compiled networks off, 1 (the default) to keep it on.")


def _strip_seeds(obj):
    if isinstance(obj, dict):
        return {k: _strip_seeds(v) for k, v in obj.items() if k != "seed"}
    if isinstance(obj, (list, tuple)):
        return [_strip_seeds(v) for v in obj]
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


def network_key(model, compile_kwargs):
    """``(key, learning_rate)`` for networks that trace the same train step.

    ``key`` is None for a network that must not be pooled. A constant
    learning rate is left out of the key (the optimizer keeps it in a
    variable, so one traced step serves every rate) and returned apart; a
    schedule is part of the traced step, so it stays in the key.
    """
    import keras

    serialize = keras.saving.serialize_keras_object
    try:
        parts = {
            "backend": keras.backend.backend(),
            "floatx": keras.config.floatx(),
            "model": serialize(model),
            "compile": {k: serialize(v) for k, v in sorted(compile_kwargs.items())},
        }
    except Exception:  # anything Keras cannot serialize is not pooled
        return None, None
    optimizer = parts["compile"].get("optimizer")
    if not isinstance(optimizer, dict) or not _only_keras_objects(parts):
        return None, None
    config = optimizer.get("config", {})
    if config.get("use_ema"):
        return None, None  # EMA slots start from the first network's weights
    config.pop("name", None)  # auto-numbered, not traced
    learning_rate = config.get("learning_rate")
    if isinstance(learning_rate, float):
        config["learning_rate"] = "variable"
    else:
        learning_rate = None
    return json.dumps(_strip_seeds(parts), sort_keys=True), learning_rate


def compile_network(fresh, compile_kwargs, *, reusable):
    """Return ``(model, lease)``: a compiled network starting from ``fresh``'s state.

    ``fresh`` is a newly built, uncompiled network. With ``reusable`` and
    reuse enabled, an identical pooled network is refreshed from it and
    returned (its traced functions are kept); otherwise ``fresh`` is compiled.
    ``lease`` is None when the network can never go back to the pool; the
    caller binds it to the estimator that owns the network.
    """
    reusable = reusable and _enabled() and fresh.count_params() <= MAX_PARAMS
    key, learning_rate = (network_key(fresh, compile_kwargs) if reusable
                          else (None, None))
    if key is not None:
        while (entry := _POOL.checkout(key)) is not None:
            if entry.refresh(fresh, learning_rate):
                return entry.model, Lease(entry)
    model_vars = list(fresh.variables)
    fresh.compile(**compile_kwargs)
    if key is None:
        return fresh, None
    return fresh, Lease(_Entry(key, fresh, model_vars))
