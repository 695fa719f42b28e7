"""The cache of compiled training loops and forward passes.

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


import threading
from collections import OrderedDict

from skdeep.engine.keys import _loss_key, _optimizer_key
from skdeep.engine.loop_tf import (
    MAX_BYTES,
    MAX_TRAINERS,
    _Forward,
    _reuse_enabled,
    _TFTrainer,
)

__all__ = ["cache_info", "clear_cache", "forward", "train"]


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
        from skdeep.engine.loop_jax import JaxTrainer

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
        from skdeep.engine.loop_jax import JaxForward

        return _CACHE.forward(key, lambda: JaxForward(make_template()))
    return _CACHE.forward(key, lambda: _Forward(make_template()))
