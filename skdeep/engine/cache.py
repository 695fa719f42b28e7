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
network is named by its Keras config, :func:`network_key`) runs the traced
loop on its own network's and optimizer's variables: on TensorFlow the loop
takes every variable it reads or writes as an argument, so fits running at
the same time in threads share the one trace, and nothing is copied in or
out. What a fit needs besides its own variables, the best weights' copy of a
fit that restores them, is a *state* of the trainer (the template's is the
first; one is made when every state is in use, then kept for the next
parallel fits). A thread that needs a trainer another thread is building or
tracing waits for it. On JAX the loop carries all state itself. Two networks
whose variables differ in any shape or dtype never share
(:func:`skdeep.engine.keys.weights_key` is part of every key). The
estimator's own network is never held by the cache, so it is freed as soon as
the estimator is.

Prediction uses the same cache: one stateless forward function per
architecture (a *forward pass*, with a template of its own), fed with the
estimator's own weights, instead of tracing a new predict function for every
fitted network (see ``skdeep.engine.forward_pass``).

The cache holds only templates and states: trainers and forward passes
together, at most :data:`MAX_NETWORKS` networks (a template or a kept
state each) and :data:`MAX_BYTES` bytes of variables; over the bound the kept
states go first, then the least recently used entries. :func:`clear_cache`
empties it, and with ``SKDEEP_REUSE_NETWORKS=0`` it keeps nothing.
"""


import threading
from collections import OrderedDict

from skdeep.engine.keys import _loss_key, _optimizer_key, weights_key
from skdeep.engine.loop_tf import TRACES, _Forward, _reuse_enabled, _TFTrainer

__all__ = ["MAX_BYTES", "MAX_NETWORKS", "cache_info", "clear_cache", "forward",
           "train"]

# Networks (templates of trainers and of forward passes together) kept per
# process, and their total size: templates of the networks of a search are
# small; a large network is traced again rather than kept.
MAX_NETWORKS = 16
MAX_BYTES = 256 * 2**20


class _Cache:
    """Trainers and forward passes by key, least recently used first.

    One bound for both: an entry is ``(kind, key) -> item``, a trainer or a
    forward pass, shared by every fit or prediction of its key, also
    concurrent ones. Each is built once: a second thread that needs a key
    being built waits for it (then for its trace) rather than building its
    own. An item counts its copies of the network (``networks``: a trainer's
    template and the free states of concurrent fits kept with it) and their
    ``nbytes``; over the bound, the kept states go first, least recently used
    trainer first, then whole items.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = OrderedDict()  # (kind, key) -> item
        self._building = {}  # (kind, key) -> lock held while it is built

    def get(self, kind, key, make):
        """The item of ``(kind, key)``, made by ``make()`` if there is none
        (None if ``make`` returns None: then nothing is kept)."""
        entry = (kind, key)
        with self._lock:
            item = self._found(entry)
            if item is not None:
                return item
            building = self._building.setdefault(entry, threading.Lock())
        with building:
            with self._lock:
                item = self._found(entry)
            if item is None:
                item = make()
                if item is not None:
                    with self._lock:
                        self._entries[entry] = item
                        self._evict()
        with self._lock:
            if self._building.get(entry) is building:
                del self._building[entry]
        return item

    def _found(self, entry):
        item = self._entries.get(entry)
        if item is not None:
            self._entries.move_to_end(entry)
        return item

    def discard(self, kind, key, item):
        with self._lock:
            if self._entries.get((kind, key)) is item:
                del self._entries[(kind, key)]

    def resized(self):
        """Apply the bound again (an item kept more state)."""
        with self._lock:
            self._evict()

    def _items(self, kind=None):
        return [item for (k, _), item in self._entries.items()
                if kind is None or k == kind]

    def _over(self):
        items = self._items()
        return (sum(getattr(item, "networks", 1) for item in items) > MAX_NETWORKS
                or sum(item.nbytes for item in items) > MAX_BYTES)

    def _evict(self):
        for item in self._items():  # least recently used first
            if not self._over():
                return
            if hasattr(item, "trim"):
                item.trim()
        while self._entries and self._over():
            self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()
            TRACES.reset()

    def info(self):
        with self._lock:
            trainers, forwards = self._items("trainer"), self._items("forward")
            trainer_networks = sum(getattr(t, "networks", 1) for t in trainers)
            trainer_bytes = sum(t.nbytes for t in trainers)
            forward_bytes = sum(f.nbytes for f in forwards)
            traces = TRACES.counts()
            return {"networks": trainer_networks + len(forwards),
                    "bytes": trainer_bytes + forward_bytes,
                    "trainers": len(trainers), "trainer_bytes": trainer_bytes,
                    "forward_functions": len(forwards),
                    "forward_bytes": forward_bytes,
                    "trainer_traces": traces["trainer"],
                    "forward_traces": traces["forward"]}


_CACHE = _Cache()


def clear_cache():
    """Drop skdeep's cached training loops and prediction functions.

    skdeep keeps the traced training loop of each network architecture it has
    trained, and the traced forward pass of each it has predicted with, each
    with a private copy of its network, so that later fits and predictions of
    the same architecture, as in a search, skip ~0.5 s of tracing. The cache
    is bounded: 16 networks (training loops and forward passes together) and
    256 MB of their variables; fitted estimators never depend on it. Call
    this to give its memory back at once. ``SKDEEP_REUSE_NETWORKS=0`` turns
    the cache off.
    """
    _CACHE.clear()


def cache_info():
    """What skdeep's cache of compiled loops holds, as a dict.

    ``networks`` and ``bytes``: the private copies of networks it holds, and
    the memory of their variables (and optimizer state), all told: what the
    bound of :func:`clear_cache` applies to. Of these, ``trainers`` and
    ``trainer_bytes`` are cached training loops (one per architecture and
    training setup), ``forward_functions`` and ``forward_bytes`` cached
    prediction functions (one per architecture). ``trainer_traces`` and
    ``forward_traces``: how many times a training loop and a forward pass
    were traced (~0.5 s each) since the process started or
    :func:`clear_cache` was last called, as :func:`functools.lru_cache`'s
    ``cache_info`` counts misses.
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
    weights = weights_key(model)
    key = (arch, weights, opt_key, loss_key, spec, X.shape[1:], y.shape[1:],
           str(y.dtype))
    if backend == "jax":  # XLA compiles for one batch shape
        key += (int(args["batch_size"]),)

    def make():
        template = make_template()
        if weights_key(template) != weights:
            return None  # the builder did not rebuild this network: not shared
        if backend == "jax":
            from skdeep.engine.loop_jax import JaxTrainer

            return JaxTrainer(template, model.optimizer, model.loss, spec,
                              args["batch_size"])
        return _TFTrainer(template, model.optimizer, model.loss, spec,
                          X.shape[1:], y.shape[1:], y.dtype)

    cached = _reuse_enabled()
    trainer = _CACHE.get("trainer", key, make) if cached else make()
    if trainer is None:
        return None
    try:
        state = trainer.acquire()  # the first fit of a trainer traces its loop
        if state is None:  # a loop that serves one fit at a time, in use
            trainer, cached = make(), False
            state = trainer.acquire()
        history = trainer.run(model, data, validation, args, state=state)
    except BaseException:
        if cached:  # a trainer whose trace or run raised is not trusted again
            _CACHE.discard("trainer", key, trainer)
        raise
    trainer.release(state)
    if cached:
        _CACHE.resized()
    return history


def forward(model, key, make_template):
    """The cached forward pass for ``model``, of :func:`architecture_key` or
    :func:`network_key` ``key``, or None when there is none to share (no key,
    reuse turned off, or a template unlike ``model``): then the network runs
    on its own predict function."""
    import keras

    backend = keras.backend.backend()
    if key is None or backend not in ("tensorflow", "jax") or not _reuse_enabled():
        return None
    weights = weights_key(model)

    def make():
        template = make_template()
        if weights_key(template) != weights:
            return None
        if backend == "jax":
            from skdeep.engine.loop_jax import JaxForward

            return JaxForward(template)
        return _Forward(template)

    return _CACHE.get("forward", (key, weights), make)
