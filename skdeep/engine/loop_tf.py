"""The compiled whole-fit loop and the stateless forward pass on TensorFlow.

See ``skdeep.engine.cache`` for how traced loops are shared between fits.
"""


import math
import os
import threading
from dataclasses import dataclass

import numpy as np

# Validation rows evaluated per step of the in-graph validation loop.
_VAL_CHUNK = 4096


class _TraceCounter:
    """How many times training loops and forward passes were traced.

    Counted where the traced Python body runs, which TensorFlow and JAX do
    once per trace: what :func:`skdeep.engine.cache.cache_info` reports.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {"trainer": 0, "forward": 0}

    def add(self, kind):
        with self._lock:
            self._counts[kind] += 1

    def counts(self):
        with self._lock:
            return dict(self._counts)

    def reset(self):
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)


TRACES = _TraceCounter()


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


@dataclass(frozen=True)
class LoopSpec:
    """What the traced loop's graph depends on (the rest are its inputs)."""

    validation: bool  # monitor the validation loss (else the training loss)
    restore_best: bool  # restore the weights of the best epoch at the end
    schedule: str  # "constant", "exponential", "step", "cosine", "plateau"
    verbose: bool  # print one line per epoch
    # early stopping on a score of skdeep.engine.scores (None: on the loss),
    # of the validation rows (else the training rows), greater is better
    score: str | None = None
    from_logits: bool = False  # the network outputs logits (for the score)


def _per_sample_loss(loss):
    """The unreduced loss function of a Keras loss name or object."""
    import keras

    if isinstance(loss, str):
        return keras.losses.get(loss)  # Keras's functions are per-sample
    if isinstance(loss, keras.losses.Loss):
        return loss.call
    return loss


def _nbytes(variables):
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


# Op types the single-threaded executor is known to run: those of the traced
# loops and forward passes of every estimator family (every optimizer,
# schedule, activation, loss; TensorFlow 2.21), and ordinary math and shape
# ops like them. No conditional (If, Case, Switch, Merge): the executor waits
# forever on the branch not taken. ``While``/``StatelessWhile`` (functional
# while loops) it runs. An op missing here only costs speed: see _runs_inline.
INLINE_OPS = frozenset({
    "Abs", "AddN", "AddV2", "AssignAddVariableOp", "AssignSubVariableOp",
    "AssignVariableOp", "BiasAdd", "BiasAddGrad", "Bitcast", "BitwiseAnd",
    "BroadcastGradientArgs",
    "BroadcastTo", "Cast", "ConcatOffset", "ConcatV2", "Const", "Conv2D",
    "Conv2DBackpropFilter", "Conv2DBackpropInput", "Cos", "DynamicStitch", "Elu",
    "EluGrad", "EmptyTensorList", "EnsureShape", "Equal", "Erfc", "Exp",
    "ExpandDims", "Fill", "Floor", "FloorDiv", "FloorMod", "GatherV2",
    "GreaterEqual", "Identity", "IdentityN", "ImageProjectiveTransformV3",
    "InvertPermutation", "LeakyRelu", "LeakyReluGrad", "Less", "LessEqual", "Log1p",
    "LogicalAnd", "LogicalNot", "LogicalOr", "MatMul", "Max", "MaxPool",
    "MaxPoolGrad", "Maximum", "Mean", "Minimum", "Mul", "Neg", "NoOp", "NotEqual",
    "OnesLike", "Pack", "Placeholder", "Pow", "PrintV2", "Prod", "Range",
    "ReadVariableOp", "RealDiv", "Reciprocal", "Relu", "ReluGrad", "Reshape",
    "ReverseV2", "Rsqrt", "RsqrtGrad", "Select", "SelectV2", "Selu", "SeluGrad",
    "Shape", "ShapeN", "Sigmoid", "SigmoidGrad", "Sign", "Sin", "Size", "Slice",
    "Softmax", "Softplus", "SparseSoftmaxCrossEntropyWithLogits", "Split", "Sqrt",
    "Square", "SquaredDifference", "Squeeze", "StatelessRandomGetKeyCounter",
    "StatelessRandomNormalV2", "StatelessRandomUniformV2", "StatelessShuffle",
    "StatelessWhile", "StopGradient", "StridedSlice", "StridedSliceGrad",
    "StringFormat", "Sub", "Sum", "Tan", "Tanh", "TanhGrad",
    "TensorListElementShape", "TensorListFromTensor", "TensorListGetItem",
    "TensorListLength", "TensorListPopBack", "TensorListPushBack",
    "TensorListReserve", "TensorListSetItem", "TensorListStack", "Tile",
    "Transpose", "UnsortedSegmentSum", "VariableShape", "While", "ZerosLike",
    # not in skdeep's graphs today, ordinary kernels like the above
    "All", "Any", "ArgMax", "ArgMin", "Atan", "Atan2", "AvgPool", "AvgPool3D",
    "AvgPoolGrad", "BatchMatMulV2", "Ceil", "ClipByValue", "Conv3D", "Cosh",
    "Cumprod", "Cumsum", "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput",
    "Div", "DivNoNan", "Einsum", "Erf", "Expm1", "FusedBatchNormGradV3",
    "FusedBatchNormV3", "GatherNd", "Greater", "IsFinite", "IsNan", "L2Loss", "Log",
    "LogSoftmax", "MaxPool3D", "MaxPoolGradV2", "Min", "MirrorPad", "Mod", "OneHot",
    "Pad", "PadV2", "Rank", "ReciprocalGrad", "Relu6", "Relu6Grad",
    "ResizeBilinear", "ResizeBilinearGrad", "ResizeNearestNeighbor",
    "ResizeNearestNeighborGrad", "Rint", "Round", "Sinh",
    "SoftmaxCrossEntropyWithLogits", "SoftplusGrad", "Softsign", "SoftsignGrad",
    "SplitV", "SqrtGrad", "StatelessRandomUniformIntV2",
    "StatelessTruncatedNormalV2", "Unpack", "Where",
})


def _op_types(graph):
    """The op types of a traced graph and of every function it calls (while
    bodies, branches, nested functions), from its public ``GraphDef``."""
    graph_def = graph.as_graph_def()
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


def _runs_inline(function, *args):
    """Trace ``function`` (for ``args``: values or specs) and say whether it
    runs on the single-threaded executor (see :func:`_single_threaded`).

    Only when every op of the traced function, and of every function it
    calls, is one that executor is known to run (:data:`INLINE_OPS`). It
    waits forever on the branch not taken of a conditional op, and a future
    TensorFlow may add ops it cannot run: anything unknown runs on the default
    executor instead, a little slower, never stuck. Not when turned off
    (``SKDEEP_EXECUTOR=default``), and not when the process sees an
    accelerator (that executor runs no graph split across devices). The
    function is traced under the option it will run with, so that its
    ``while`` loops stay functional ops, which the executor runs. The
    environment variable is read here, when a loop or forward pass is first
    traced: after changing it, :func:`clear_cache` applies it to cached ones.
    """
    import tensorflow as tf

    if not _inline_enabled() or any(
            device.device_type != "CPU" for device in tf.config.list_logical_devices()):
        return False
    with _single_threaded(True):
        graph = function.get_concrete_function(*args).graph
    return _op_types(graph) <= INLINE_OPS


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
    """A template network, its optimizer and the traced whole-fit loop.

    The loop is traced once, with every variable it reads or writes (the
    network's, the optimizer's, the best weights' copy) as arguments: the
    template's variables are rebound to them while it is traced (see
    :func:`skdeep._compat.keras_variables_bound`). So one traced function
    serves any number of fits at once, each on its own network's and
    optimizer's TensorFlow variables, handed to it as they are (nothing is
    copied in or out). The only per-fit variables the trainer keeps are the
    best weights' copies of fits that restore them (a *state*): the template's
    is the first; a fit that finds every state in use gets a new one, kept for
    later fits (:meth:`acquire`, :meth:`release`; the cache may :meth:`trim`
    them). Should the traced graph still hold a variable of its own (a Keras
    that cannot rebind them), the loop serves one fit at a time on the
    template's variables, the fit's copied in and out (``shared`` is False).
    """

    def __init__(self, template, optimizer, loss, spec, x_shape, y_shape, y_dtype):
        import tensorflow as tf

        from skdeep._compat import keras_variables_bound

        self.model = template
        self.optimizer = optimizer.__class__.from_config(optimizer.get_config())
        self.optimizer.build(template.trainable_variables)
        self._lr = next(v for v in self.optimizer.variables
                        if v.name == "learning_rate")
        self._loss = _per_sample_loss(loss)
        self.spec = spec
        self._keras_variables = [*template.variables, *self.optimizer.variables]
        best = ([tf.Variable(w.value, trainable=False) for w in template.weights]
                if spec.restore_best else [])
        own = [v.value for v in self._keras_variables]
        self._rebindable = all(isinstance(v, tf.Variable) for v in own) and (
            keras_variables_bound(self._keras_variables, own) is not None)
        self._state = [*own, *best]  # the template's variables: traced with
        self._home = self._state  # the template's entry of the pool
        self._free = [self._home]
        self._pool_lock = threading.Lock()
        self._trace_lock = threading.Lock()
        self._nbytes_template = (_nbytes(self._keras_variables)
                                 + _nbytes(template.weights) * spec.restore_best)
        # an extra state: a best weights' copy
        self.nbytes_per_state = _nbytes(template.weights) * spec.restore_best
        self.shared = False  # known once traced
        x = tf.TensorSpec((None, *x_shape), tf.float32)
        y = tf.TensorSpec((None, *y_shape), y_dtype)
        w = tf.TensorSpec((None,), tf.float32)
        i32, i64, f32 = (tf.TensorSpec((), d) for d in (tf.int32, tf.int64, tf.float32))
        self._signature = (x, y, w, x, y, w, i64, i64, i32, i32, i32, f32, f32, f32,
                           i32)
        # autograph converts only the loop itself: Keras's layers and
        # optimizers need no conversion (it would double the tracing time)
        plain = tf.autograph.experimental.do_not_convert
        self._batch_loss = plain(self._batch_loss)
        self._regularization = plain(self._regularization)
        self._apply = plain(self.optimizer.apply)
        self._binding = plain(self._binding)
        self._fn = tf.function(self._traced_body)
        self._inline = None  # known once traced: see _runs_inline
        self._concrete = None

    # -- the states of concurrent fits
    def _traced(self):
        """The traced loop's concrete function, traced by the first caller
        (the others wait for it)."""
        import tensorflow as tf

        if self._concrete is None:
            with self._trace_lock:
                if self._concrete is None:
                    args = (self._state, *self._signature)
                    inline = _runs_inline(self._fn, *args)
                    with _single_threaded(inline):
                        concrete = self._fn.get_concrete_function(*args)
                    shared = self._rebindable and not any(
                        t.dtype == tf.resource for t in concrete.captured_inputs)
                    if shared:  # fits train their own variables: the pool
                        with self._pool_lock:  # keeps best weights' copies only
                            self._home = self._state[len(self._keras_variables):]
                            self._free = [self._home]
                    self.shared = shared
                    self._inline = inline
                    self._concrete = concrete
        return self._concrete

    def acquire(self):
        """A state for one fit: a free one, else a new one; None when every
        state is in use and the loop cannot be shared. A shared loop's
        state is the best weights' copy (empty without ``restore_best``)."""
        import tensorflow as tf

        self._traced()
        if self.shared and not self.spec.restore_best:
            return []
        with self._pool_lock:
            if self._free:
                return self._free.pop()
            if not self.shared:
                return None
        return [tf.Variable(w.value, trainable=False) for w in self.model.weights]

    def release(self, state):
        if self.shared and not self.spec.restore_best:
            return
        with self._pool_lock:
            self._free.append(state)

    def _extra(self):
        return [s for s in self._free if s is not self._home]

    @property
    def networks(self):
        """Copies of the network held: the template and the free extra
        states (best weights' copies)."""
        with self._pool_lock:
            return 1 + len(self._extra())

    @property
    def nbytes(self):
        with self._pool_lock:
            extra = len(self._extra())
        return self._nbytes_template + extra * self.nbytes_per_state

    def trim(self):
        """Drop the free states other than the template's."""
        with self._pool_lock:
            self._free = [s for s in self._free if s is self._home]

    def _binding(self, state):
        import contextlib

        from skdeep._compat import keras_variables_bound

        if not self._rebindable:
            return contextlib.nullcontext()
        return keras_variables_bound(self._keras_variables,
                                     state[:len(self._keras_variables)])

    def _traced_body(self, state, *args):
        TRACES.add("trainer")
        with self._binding(state):
            return self._run(state[len(self._keras_variables):], *args)

    # -- graph pieces
    def _batch_loss(self, xb, yb, wb, training):
        import tensorflow as tf

        pred = self.model(xb, training=training)
        per_sample = tf.cast(self._loss(yb, pred), tf.float32)
        loss = tf.reduce_sum(per_sample * wb) / tf.cast(tf.shape(wb)[0], tf.float32)
        return loss, tf.reduce_sum(per_sample * wb), pred

    def _regularization(self):
        import tensorflow as tf

        losses = self.model.losses
        return tf.add_n([tf.cast(v, tf.float32) for v in losses]) if losses else 0.0

    def _evaluate(self, Xv, yv, swv):
        """The loss of rows (chunk by chunk, as in inference) and, with a
        score in the spec, their score."""
        import tensorflow as tf

        from skdeep.engine.scores import score_value

        total, sums = self._evaluate_sums(Xv, yv, swv)
        nv = tf.shape(Xv)[0]
        loss = total / tf.cast(tf.maximum(nv, 1), tf.float32) + self._regularization()
        kind = self.spec.score
        return loss, (score_value(kind, sums) if kind else tf.constant(0.0))

    def _evaluate_sums(self, Xv, yv, swv):
        """The summed loss of rows, chunk by chunk, and with a score in the
        spec the sums it is computed from (else zeros): sums add up across
        chunks of rows (``skdeep.engine.loop_chunks``)."""
        import tensorflow as tf

        from skdeep.engine.scores import score_sums

        kind = self.spec.score
        nv = tf.shape(Xv)[0]
        total = tf.constant(0.0)
        sums = (tf.zeros_like(score_sums(kind, yv[:0], self.model(Xv[:0]), swv[:0],
                                         self.spec.from_logits))
                if kind else tf.zeros((1,)))
        for j in tf.range((nv + _VAL_CHUNK - 1) // _VAL_CHUNK):
            part = slice(j * _VAL_CHUNK, tf.minimum((j + 1) * _VAL_CHUNK, nv))
            _, loss, pred = self._batch_loss(Xv[part], yv[part], swv[part], False)
            total += loss
            if kind:
                sums += score_sums(kind, yv[part], pred, swv[part],
                                   self.spec.from_logits)
        return total, sums

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

    def _run(self, best_weights, X, y, sw, Xv, yv, swv, seed, epoch_offset, epochs,
             batch_size, patience, tol, lr0, decay, schedule_epochs):
        import tensorflow as tf

        spec, model = self.spec, self.model
        variables = model.trainable_variables
        n = tf.shape(X)[0]
        steps = (n + batch_size - 1) // batch_size
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                element_shape=())
        val_losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                element_shape=())
        scores = tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                element_shape=())
        rates = tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                               element_shape=())
        inf = tf.constant(np.inf, tf.float32)
        best, wait, stop = inf, tf.constant(0), tf.constant(False)
        plateau_best, plateau_wait = inf, tf.constant(0)
        plateau_patience = tf.maximum(1, patience // 2)
        epoch, score = tf.constant(0), tf.constant(0.0)
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
                current, score = self._evaluate(Xv, yv, swv)
                val_losses = val_losses.write(epoch, current)
            elif spec.score:  # the score of the training rows, after the epoch
                score = self._evaluate(X, y, sw)[1]
            # the quantity early stopping watches, lower is better
            monitored = current
            if spec.score:
                scores = scores.write(epoch, score)
                monitored = -score
            if spec.verbose:
                tf.print("Epoch", epoch + 1, "- loss:", train_loss,
                         *(("- val_loss:", current) if spec.validation else ()),
                         *(("- score:", score) if spec.score else ()))
            # EarlyStopping(min_delta=tol): an improvement is a loss lower
            # (a score higher) than the best by more than tol; wait counts
            # epochs without one. Written without tf.cond, which the
            # single-threaded executor cannot run (see _runs_inline).
            improved = tf.logical_or(epoch == 0, monitored + tol < best)
            best = tf.where(improved, monitored, best)
            wait = tf.where(improved, 0, wait + 1)
            stop = tf.logical_and(tf.logical_not(improved), wait >= patience)
            if spec.restore_best:
                for saved, weight in zip(best_weights, model.weights, strict=True):
                    saved.assign(tf.where(improved, weight, saved))
            # ReduceLROnPlateau (cooldown 0, min_lr 0), after early stopping
            if spec.schedule == "plateau":
                better = current < plateau_best - tol
                plateau_best = tf.where(better, current, plateau_best)
                plateau_wait = tf.where(better, 0, plateau_wait + 1)
                reduce = plateau_wait >= plateau_patience
                self._lr.assign(tf.where(reduce, self._lr * decay, self._lr))
                plateau_wait = tf.where(reduce, 0, plateau_wait)
            # the rate after the epoch: the one the next step uses (as the
            # optimizer of keras.Model.fit reports it)
            if spec.schedule in ("exponential", "step", "cosine"):
                self._lr.assign(self._scheduled_lr(lr0, decay, steps,
                                                   schedule_epochs))
            rates = rates.write(epoch, tf.cast(self._lr, tf.float32))
            epoch += 1
        if spec.restore_best:
            for weight, saved in zip(model.weights, best_weights, strict=True):
                weight.assign(saved)
        return losses.stack(), val_losses.stack(), rates.stack(), scores.stack()

    # -- Python side
    def run(self, model, data, validation, args, state):
        """Train ``model`` with ``state`` (of :meth:`acquire`): on its own
        variables when the loop is shared, else on the template's (its
        weights and optimizer state copied in, the results out)."""
        variables = [*model.variables, *model.optimizer.variables]
        if self.shared:
            own = [v.value for v in variables]
            state = [*own, *state]
        else:
            own = state[:len(variables)]  # the rest: the best weights' copy
            for target, source in zip(own, variables, strict=True):
                target.assign(source.value)
        X, y, sw = data
        Xv, yv, swv = validation if validation is not None else (
            X[:0], y[:0], sw[:0])
        concrete = self._traced()
        with _single_threaded(self._inline):
            losses, val_losses, rates, scores = concrete(
                state, X, y, sw, Xv, yv, swv, np.int64(args["seed"]),
                np.int64(args["epoch_offset"]), np.int32(args["epochs"]),
                np.int32(args["batch_size"]), np.int32(args["patience"]),
                np.float32(args["tol"]), np.float32(args["learning_rate"]),
                np.float32(args["lr_decay"]), np.int32(args["schedule_epochs"]))
        if not self.shared:
            for target, source in zip(variables, own, strict=True):
                target.assign(source.read_value())
        history = {"loss": [float(v) for v in losses.numpy()]}
        if self.spec.validation:
            history["val_loss"] = [float(v) for v in val_losses.numpy()]
        history["learning_rate"] = [float(v) for v in rates.numpy()]
        if self.spec.score:
            name = "val_score" if self.spec.validation else "score"
            history[name] = [float(v) for v in scores.numpy()]
        return history


class _Forward:
    """A stateless forward pass traced once per architecture.

    Every call runs the same traced graph (one concrete function, the
    weights fed in), so a row's output never depends on which call it came
    in. The concrete function is called directly: the polymorphic function's
    argument binding cost more than the network on small inputs.
    """

    def __init__(self, template):
        import tensorflow as tf

        self.model = template
        self.nbytes = _nbytes(template.variables)
        kinds = [v.trainable for v in template.variables]
        self._trainable = [i for i, t in enumerate(kinds) if t]
        self._other = [i for i, t in enumerate(kinds) if not t]
        specs = [tf.TensorSpec(v.shape, v.dtype) for v in template.variables]
        x = tf.TensorSpec((None, *template.inputs[0].shape[1:]), tf.float32)

        def call(trainable, other, X):
            TRACES.add("forward")
            return template.stateless_call(trainable, other, X, training=False)[0]

        self._fn = tf.function(call, input_signature=[
            [specs[i] for i in self._trainable], [specs[i] for i in self._other], x])
        self._lock = threading.Lock()
        self._inline = None  # known once traced: see _runs_inline
        self._concrete = None

    def _traced(self):
        if self._concrete is None:
            with self._lock:
                if self._concrete is None:
                    inline = _runs_inline(self._fn)
                    with _single_threaded(inline):
                        concrete = self._fn.get_concrete_function()
                    self._inline = inline
                    self._concrete = concrete
        return self._concrete

    def __call__(self, model, X):
        concrete = self._traced()
        values = [v.value for v in model.variables]
        with _single_threaded(self._inline):
            return concrete([values[i] for i in self._trainable],
                            [values[i] for i in self._other], X)
