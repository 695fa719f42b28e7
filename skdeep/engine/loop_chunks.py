"""The compiled loop for streamed X: one traced call per chunk of batches.

A memmap (or rows of one, :class:`skdeep.engine.inputs.Rows`), a Dask
array / DataFrame (:class:`skdeep.engine.dask_inputs.Blocks`) or a sparse
(CSR) matrix, densified a chunk at a time, cannot go into
the whole-fit loop of ``skdeep.engine.loop_tf``, which takes all of X as one
tensor. Here the optimizer steps over one *chunk* (whole batches, about
:data:`CHUNK_BYTES` of X, read into memory) run as one traced call, which
returns the chunk's summed loss; everything between chunks runs in Python
with the whole-fit loop's semantics (``skdeep.engine.run``): epochs, the
validation loss (and score) chunk by chunk, early stopping (an improvement is
a decrease by more than ``tol``; ``patience``; the best epoch's weights
restored), the plateau rule, the step schedules (in the graph, before every
step), verbose lines and the history.

The batches are exactly those of the ``keras.Model.fit`` path on the same
data and seed, so the two paths give the same fit: a memmap's epoch ``e``
is ``inputs.permutation(n, seed, e)`` cut in batches, a chunk's rows read in
ascending file order then put back in order (:func:`inputs.chunks`); a Dask
collection's blocks come in the seeded order of
``dask_inputs.epoch_groups``, mixed by its shuffle buffer.

A background thread reads the chunks (:data:`PREFETCH` ahead, across epoch
boundaries and through the validation rows) while the current one trains:
TensorFlow releases the GIL while a graph runs. Memory follows the chunk.

The traced functions are built from the whole-fit loop's graph pieces (a
``_TFTrainer`` of the same template: its batch loss, regularization and
in-graph schedules) and cached with the whole-fit loops
(``skdeep.engine.cache``), one per architecture and training setup; they run
on the template's own variables, one fit at a time (a second concurrent fit
of the same key builds a trainer of its own). TensorFlow only.
"""

import contextlib
import dataclasses
import math
import queue
import sys
import threading

import numpy as np
import scipy.sparse as sp

from skdeep.engine import dask_inputs, inputs
from skdeep.engine.cache import _CACHE
from skdeep.engine.keys import _loss_key, _optimizer_key, weights_key
from skdeep.engine.loop_tf import (
    TRACES,
    _nbytes,
    _reuse_enabled,
    _runs_inline,
    _single_threaded,
    _TFTrainer,
)

__all__ = ["CHUNK_BYTES", "PREFETCH", "eligible", "train"]

# Bytes of X per chunk (whole batches, at least one): one traced call each
# (at 2 MB the call's overhead is still small beside its steps' time).
CHUNK_BYTES = 2 * 2**20
# Chunks read ahead of the one training, in a background thread (which holds
# one more while it waits to hand it over).
PREFETCH = 1
STEP_SCHEDULES = ("exponential", "step", "cosine")


def eligible(data, validation=None):
    """Whether streamed ``data`` = ``(X, y, sample_weight or None)`` (and
    ``validation``, the same) can train on the chunked loop: X a memmap, rows
    of one, Dask blocks or a CSR matrix (validation rows of the same kind), y
    and the weights in memory (a memmap's y may stream too: an autoencoder's
    X)."""
    parts = [data] + ([validation] if validation is not None else [])
    for X, y, sw in (p[:3] for p in parts):
        memmap = isinstance(X, (np.memmap, inputs.Rows))
        sparse = sp.issparse(X) and X.format == "csr"
        if not (memmap or sparse or isinstance(X, dask_inputs.Blocks)):
            return False
        y_ok = type(y) is np.ndarray or (
            memmap and isinstance(y, (np.memmap, inputs.Rows)))
        if not y_ok or not (sw is None or type(sw) is np.ndarray):
            return False
    kinds = {isinstance(p[0], dask_inputs.Blocks) for p in parts}
    return len(kinds) == 1


class ChunkTrainer:
    """A template network, its optimizer and the traced chunk functions.

    ``train_chunk(X, y, sw, batch_size, lr0, decay, steps_per_epoch,
    schedule_epochs)`` runs the steps of a chunk's batches and returns their
    summed loss; ``evaluate_chunk(X, y, sw)`` returns the summed
    per-sample loss of rows, their score sums and the regularization loss.
    """

    def __init__(self, template, optimizer, loss, spec, x_shape, y_shape, y_dtype):
        import tensorflow as tf

        # the graph pieces; best weights are kept here, between chunks
        self._graph = _TFTrainer(template, optimizer, loss,
                                 dataclasses.replace(spec, restore_best=False),
                                 x_shape, y_shape, y_dtype)
        self.spec = spec
        self.model = template
        self._variables = [*template.variables, *self._graph.optimizer.variables]
        self.nbytes = _nbytes(self._variables)
        self.lock = threading.Lock()  # one fit at a time on the template
        x = tf.TensorSpec((None, *x_shape), tf.float32)
        y = tf.TensorSpec((None, *y_shape), y_dtype)
        w = tf.TensorSpec((None,), tf.float32)
        i32, f32 = tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.float32)
        self._train_args = (x, y, w, i32, f32, f32, i32, i32)
        self._eval_args = (x, y, w)
        self._train_fn = tf.function(self._train_body)
        self._eval_fn = tf.function(self._eval_body)
        self._concrete = None
        self._inline = False

    def traced(self):
        """The concrete train and evaluate functions (traced once)."""
        if self._concrete is None:
            inline = (_runs_inline(self._train_fn, *self._train_args)
                      and _runs_inline(self._eval_fn, *self._eval_args))
            with _single_threaded(inline):
                self._concrete = (
                    self._train_fn.get_concrete_function(*self._train_args),
                    self._eval_fn.get_concrete_function(*self._eval_args))
            self._inline = inline
        return self._concrete

    # -- graphs
    def _train_body(self, X, y, sw, batch_size, lr0, decay, steps_per_epoch,
                    schedule_epochs):
        import tensorflow as tf

        TRACES.add("trainer")
        graph = self._graph
        variables = self.model.trainable_variables
        n = tf.shape(X)[0]
        total = tf.constant(0.0)
        for i in tf.range((n + batch_size - 1) // batch_size):
            start = i * batch_size
            stop = tf.minimum(start + batch_size, n)
            if self.spec.schedule in STEP_SCHEDULES:
                graph._lr.assign(graph._scheduled_lr(lr0, decay, steps_per_epoch,
                                                     schedule_epochs))
            with tf.GradientTape() as tape:
                loss = graph._batch_loss(X[start:stop], y[start:stop],
                                         sw[start:stop], True)[0]
                loss += graph._regularization()
            graph._apply(tape.gradient(loss, variables), variables)
            total += loss * tf.cast(stop - start, tf.float32)
        return total

    def _eval_body(self, X, y, sw):
        """As ``_TFTrainer._evaluate``, but sums (chunks add up in Python)."""
        import tensorflow as tf

        graph = self._graph
        total, sums = graph._evaluate_sums(X, y, sw)
        return total, sums, tf.cast(graph._regularization(), tf.float32)

    # -- Python side
    def run(self, model, data, validation, args):
        """Train ``model`` (weights and optimizer state copied in and out)
        on streamed ``data``; returns the history, as ``_TFTrainer.run``."""
        train_chunk, evaluate_chunk = self.traced()
        mine, theirs = self._variables, [*model.variables,
                                         *model.optimizer.variables]
        for target, source in zip(mine, theirs, strict=True):
            target.assign(source.value)
        with _single_threaded(self._inline):
            history = _Epochs(self, train_chunk, evaluate_chunk, data, validation,
                              args).run()
        for target, source in zip(theirs, mine, strict=True):
            target.assign(source.value)
        return history


class _Epochs:
    """The epochs of one fit on a :class:`ChunkTrainer`, driven in Python."""

    def __init__(self, trainer, train_chunk, evaluate_chunk, data, validation,
                 args):
        self.trainer, self.spec, self.args = trainer, trainer.spec, args
        self.train_chunk, self.evaluate_chunk = train_chunk, evaluate_chunk
        X, y, sw = data
        # missing weights are ones, made chunk by chunk (see _weighted)
        self.data = _arrays(X, y, sw)
        self.validation = None if validation is None else _arrays(*validation)
        self.n = X.shape[0]
        self.batch_size = int(args["batch_size"])
        self.steps = max(1, math.ceil(self.n / self.batch_size))
        self.lr = trainer._graph._lr

    def _stream(self):
        """Every chunk of the fit, tagged: each epoch's training chunks, then
        the rows early stopping evaluates (validation, or the training rows
        for a score), then ``("end", None)``."""
        args, spec = self.args, self.spec
        watched = self.validation if spec.validation else (
            self.data if spec.score else None)
        for epoch in range(int(args["epochs"])):
            for chunk in inputs.chunks(self.data, self.batch_size, int(args["seed"]),
                                       int(args["epoch_offset"]) + epoch,
                                       CHUNK_BYTES):
                yield "train", _weighted(chunk)
            if watched is not None:
                for chunk in inputs.ordered_chunks(watched, CHUNK_BYTES):
                    yield "watch", _weighted(chunk)
            yield "end", None

    def _schedule_rate(self):
        args = self.args
        graph = self.trainer._graph
        self.lr.assign(graph._scheduled_lr(
            np.float32(args["learning_rate"]), np.float32(args["lr_decay"]),
            np.int32(self.steps), np.int32(args["schedule_epochs"])))

    def run(self):
        spec, args = self.spec, self.args
        model = self.trainer.model
        tol, patience = float(args["tol"]), int(args["patience"])
        step_args = (np.int32(self.batch_size), np.float32(args["learning_rate"]),
                     np.float32(args["lr_decay"]), np.int32(self.steps),
                     np.int32(args["schedule_epochs"]))
        history = {"loss": [], "val_loss": [], "learning_rate": [], "score": []}
        best, wait, best_weights = math.inf, 0, None
        plateau_best, plateau_wait = math.inf, 0
        plateau_patience = max(1, patience // 2)
        stream = _prefetched(self._stream)
        try:
            for epoch in range(int(args["epochs"])):
                total, watched = 0.0, _Sums()
                for tag, chunk in stream:
                    if tag == "train":
                        total += float(self.train_chunk(*chunk, *step_args))
                    elif tag == "watch":
                        watched.add(len(chunk[0]), *self.evaluate_chunk(*chunk))
                    else:
                        break
                train_loss = float(np.float32(total / self.n))
                history["loss"].append(train_loss)
                current, score = train_loss, 0.0
                if spec.validation or spec.score:
                    value, score = watched.result(spec.score)
                    if spec.validation:
                        current = value
                        history["val_loss"].append(current)
                monitored = current
                if spec.score:
                    history["score"].append(score)
                    monitored = -score
                if spec.verbose:
                    print("Epoch", epoch + 1, "- loss:", _fmt(train_loss),
                          *(("- val_loss:", _fmt(current)) if spec.validation else ()),
                          *(("- score:", _fmt(score)) if spec.score else ()),
                          file=sys.stderr)
                # EarlyStopping(min_delta=tol), as the whole-fit loop
                improved = epoch == 0 or monitored + tol < best
                if improved:
                    best, wait = monitored, 0
                    if spec.restore_best:
                        best_weights = [w.numpy() for w in model.weights]
                else:
                    wait += 1
                stop = not improved and wait >= patience
                if spec.schedule == "plateau":  # ReduceLROnPlateau(cooldown=0)
                    if current < plateau_best - tol:
                        plateau_best, plateau_wait = current, 0
                    else:
                        plateau_wait += 1
                    if plateau_wait >= plateau_patience:
                        self.lr.assign(np.float32(self.lr.numpy())
                                       * np.float32(args["lr_decay"]))
                        plateau_wait = 0
                if spec.schedule in STEP_SCHEDULES:  # the rate the next step uses
                    self._schedule_rate()
                history["learning_rate"].append(float(self.lr.numpy()))
                if stop:
                    break
        finally:
            stream.close()
        if spec.restore_best and best_weights is not None:
            for weight, saved in zip(model.weights, best_weights, strict=True):
                weight.assign(saved)
        out = {"loss": history["loss"]}
        if spec.validation:
            out["val_loss"] = history["val_loss"]
        out["learning_rate"] = history["learning_rate"]
        if spec.score:
            out["val_score" if spec.validation else "score"] = history["score"]
        return out


class _Sums:
    """The loss and score sums of evaluated chunks, added up."""

    def __init__(self):
        self.total, self.sums, self.reg, self.rows = 0.0, None, 0.0, 0

    def add(self, rows, loss, sums, reg):
        self.total += float(loss)
        sums = sums.numpy()
        self.sums = sums if self.sums is None else self.sums + sums
        self.reg, self.rows = float(reg), self.rows + rows

    def result(self, score_kind):
        """``(loss, score)``: the mean loss plus the regularization, and the
        score (0.0 without a score)."""
        loss = float(np.float32(self.total / max(self.rows, 1))
                     + np.float32(self.reg))
        if not score_kind:
            return loss, 0.0
        from keras import ops

        from skdeep.engine.scores import score_value

        return loss, float(ops.convert_to_numpy(score_value(
            score_kind, ops.convert_to_tensor(self.sums))))


def _fmt(value):
    return f"{value:.9g}"


def _arrays(X, y, sw):
    return (X, y) if sw is None else (X, y, np.asarray(sw, np.float32))


def _weighted(chunk):
    """A chunk ``(x, y[, sample_weight])`` with its weights (ones if none)."""
    if len(chunk) == 3:
        return chunk
    return (*chunk, np.ones(len(chunk[0]), np.float32))


class _Failure:
    def __init__(self, error):
        self.error = error


_END = object()


def _prefetched(make, ahead=None):
    """The items of generator ``make()``, produced in a background thread up
    to ``ahead`` items ahead of the consumer. ``close()`` stops the thread
    (and closes the generator) early."""
    items = queue.Queue(maxsize=PREFETCH if ahead is None else ahead)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            with contextlib.closing(make()) as source:
                for item in source:
                    if not put(item):
                        return
            put(_END)
        except BaseException as error:
            put(_Failure(error))

    worker = threading.Thread(target=produce, name="skdeep-chunks", daemon=True)
    worker.start()

    def consume():
        try:
            while True:
                item = items.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            worker.join()

    return consume()


def train(model, arch, make_template, data, validation, spec, args):
    """Run a fit of compiled ``model`` on streamed ``data`` = ``(X, y,
    sample_weight or None)`` (``validation``: the same, or None), chunk by
    chunk, with the whole-fit loop's ``spec`` (a ``LoopSpec``) and ``args``.
    Returns the history dict, or None if the network cannot use the loop
    (then use ``keras.Model.fit``)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    opt_key, loss_key = _optimizer_key(model.optimizer), _loss_key(model.loss)
    if arch is None or opt_key is None or loss_key is None:
        return None
    X, y, _ = data
    y_dtype = np.dtype(np.float32) if inputs.streams(y) else y.dtype
    weights = weights_key(model)
    key = ("chunks", arch, weights, opt_key, loss_key, spec, tuple(X.shape[1:]),
           tuple(y.shape[1:]), str(y_dtype))

    def make():
        template = make_template()
        if weights_key(template) != weights:
            return None  # the builder did not rebuild this network: not shared
        return ChunkTrainer(template, model.optimizer, model.loss, spec,
                            tuple(X.shape[1:]), tuple(y.shape[1:]), y_dtype)

    cached = _reuse_enabled()
    trainer = _CACHE.get("trainer", key, make) if cached else make()
    if trainer is None:
        return None
    if not trainer.lock.acquire(blocking=False):  # another fit is on it
        trainer, cached = make(), False
        trainer.lock.acquire()
    try:
        try:
            trainer.traced()
        except BaseException:
            if cached:  # a trainer whose trace raised is not trusted again
                _CACHE.discard("trainer", key, trainer)
            raise
        return trainer.run(model, data, validation, args)
    finally:
        trainer.lock.release()
