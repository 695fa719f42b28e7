"""The compiled whole-fit loop on the JAX backend (see ``skdeep.engine.loop_tf``).

The same semantics as the TensorFlow loop, written functionally: weights,
optimizer state and early-stopping state are carried through
``lax.while_loop`` and the network runs through ``stateless_call``, so one
jitted function serves any number of fits, also concurrently.

XLA compiles for fixed shapes, so rows are padded to a power of two (at least
64) and masked: the CV folds of a search (409 and 410 rows, say) and its
refit share one compiled program. The padding rows are never drawn into a
batch's loss; a partial last batch is padded with masked rows. Networks with
batch normalisation, whose batch statistics would see those rows, are
compiled for their exact shapes instead.
"""

import math

import numpy as np

__all__ = ["JaxForward", "JaxTrainer"]


def _bucket(n, minimum=64):
    return max(minimum, 1 << max(0, math.ceil(math.log2(max(n, 1)))))


def _pad(array, rows):
    if array.shape[0] == rows:
        return array
    pad = np.zeros((rows - array.shape[0], *array.shape[1:]), array.dtype)
    return np.concatenate([array, pad])


def _has_batch_statistics(model):
    import keras

    for layer in getattr(model, "layers", ()):
        if isinstance(layer, keras.layers.BatchNormalization) or (
                _has_batch_statistics(layer)):
            return True
    return False


class JaxTrainer:
    """A template network and its jitted whole-fit loop."""

    def __init__(self, template, optimizer, loss, spec, batch_size):
        import jax

        from skdeep.engine.loop_tf import _nbytes, _per_sample_loss

        self.model = template
        self.optimizer = optimizer.__class__.from_config(optimizer.get_config())
        self.optimizer.build(template.trainable_variables)
        names = [v.name for v in self.optimizer.variables]
        self._lr_index = names.index("learning_rate")
        self._iteration_index = names.index("iteration")
        self._loss = _per_sample_loss(loss)
        self.spec = spec
        self.batch_size = int(batch_size)
        self._exact = _has_batch_statistics(template)
        # weights restored at the end: all but the seed generators' states
        self._restore = [not v.name.endswith("seed_generator_state")
                         for v in template.non_trainable_variables]
        self.nbytes = _nbytes(template.variables) + _nbytes(self.optimizer.variables)
        self._fn = jax.jit(self._run, static_argnames=("history_size",))

    def _rows(self, n):
        return n if self._exact else _bucket(n)

    # -- traced
    def _loss_and_state(self, trainable, other, xb, yb, wb, n_real, training):
        import jax.numpy as jnp

        pred, other, losses = self.model.stateless_call(
            trainable, other, xb, training=training, return_losses=True)
        per_sample = jnp.asarray(self._loss(yb, pred), jnp.float32)
        loss = jnp.sum(per_sample * wb) / n_real
        regularization = jnp.float32(0.0) + sum(
            jnp.asarray(v, jnp.float32) for v in losses)
        return loss + regularization, (other, jnp.sum(per_sample * wb),
                                       regularization, pred)

    def _scheduled_lr(self, lr0, decay, iteration, steps_per_epoch, schedule_epochs):
        import jax.numpy as jnp

        step = jnp.asarray(iteration, jnp.float32)
        spe = jnp.asarray(steps_per_epoch, jnp.float32)
        if self.spec.schedule == "exponential":
            return lr0 * decay ** (step / spe)
        if self.spec.schedule == "step":
            every = spe * jnp.maximum(1, schedule_epochs // 4)
            return lr0 * decay ** jnp.floor(step / every)
        total = spe * jnp.maximum(1, schedule_epochs)
        return lr0 * 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(step, total) / total))

    def _run(self, trainable, other, opt_vars, X, y, sw, n, Xv, yv, swv, nv, seed,
             epoch_offset, epochs, patience, tol, lr0, decay, schedule_epochs, *,
             history_size):
        import jax
        import jax.numpy as jnp
        from jax import lax

        from skdeep.engine.loop_tf import TRACES

        TRACES.add("trainer")
        spec, bs = self.spec, self.batch_size
        rows = X.shape[0]
        padded_rows = math.ceil(rows / bs) * bs
        steps = (n + bs - 1) // bs
        positions = jnp.arange(padded_rows)
        grad = jax.value_and_grad(self._loss_and_state, has_aux=True)
        max_epochs = history_size

        def run_epoch(epoch, trainable, other, opt_vars):
            key = jax.random.fold_in(jax.random.PRNGKey(seed), epoch_offset + epoch)
            keys = jnp.where(jnp.arange(rows) < n,
                             jax.random.uniform(key, (rows,)), 2.0 + jnp.arange(rows))
            perm = jnp.concatenate([jnp.argsort(keys),
                                    jnp.zeros(padded_rows - rows, jnp.int32)])

            def step(i, carry):
                trainable, other, opt_vars, total = carry
                index = lax.dynamic_slice(perm, (i * bs,), (bs,))
                mask = (lax.dynamic_slice(positions, (i * bs,), (bs,)) < n)
                wb = sw[index] * mask
                n_real = jnp.sum(mask).astype(jnp.float32)
                (loss, (other, _, _, _)), grads = grad(
                    trainable, other, X[index], y[index], wb, n_real, True)
                if spec.schedule in ("exponential", "step", "cosine"):
                    opt_vars = list(opt_vars)
                    opt_vars[self._lr_index] = self._scheduled_lr(
                        lr0, decay, opt_vars[self._iteration_index], steps,
                        schedule_epochs).astype(opt_vars[self._lr_index].dtype)
                trainable, opt_vars = self.optimizer.stateless_apply(
                    opt_vars, grads, trainable)
                return trainable, other, opt_vars, total + loss * n_real

            trainable, other, opt_vars, total = lax.fori_loop(
                0, steps, step, (trainable, other, opt_vars, jnp.float32(0.0)))
            return trainable, other, opt_vars, total / n

        def evaluate(trainable, other, Xv, yv, swv, nv):
            """The loss of rows and, with a score in the spec, their score."""
            from skdeep.engine.scores import score_sums, score_value

            mask = (jnp.arange(Xv.shape[0]) < nv).astype(jnp.float32)
            _, (_, total, regularization, pred) = self._loss_and_state(
                trainable, other, Xv, yv, swv * mask, jnp.float32(1.0), False)
            score = jnp.float32(0.0)
            if spec.score:
                score = score_value(spec.score, score_sums(
                    spec.score, yv, pred, swv * mask, spec.from_logits))
            return total / jnp.maximum(nv, 1) + regularization, score

        def cond(state):
            return (state["epoch"] < epochs) & ~state["stop"]

        def body(state):
            epoch = state["epoch"]
            trainable, other, opt_vars, train_loss = run_epoch(
                epoch, state["trainable"], state["other"], state["opt_vars"])
            current, score = train_loss, jnp.float32(0.0)
            if spec.validation:
                current, score = evaluate(trainable, other, Xv, yv, swv, nv)
            elif spec.score:  # the score of the training rows, after the epoch
                score = evaluate(trainable, other, X, y, sw, n)[1]
            # the quantity early stopping watches, lower is better
            monitored = -score if spec.score else current
            if spec.verbose and spec.validation:
                jax.debug.print("Epoch {e} - loss: {l} - val_loss: {v}", e=epoch + 1,
                                l=train_loss, v=current)
            elif spec.verbose:
                jax.debug.print("Epoch {e} - loss: {l}", e=epoch + 1, l=train_loss)
            wait = state["wait"] + 1
            # EarlyStopping(min_delta=tol): lower (a score higher) than the
            # best by more than tol
            improved = (epoch == 0) | (monitored + tol < state["best"])
            best = jnp.where(improved, monitored, state["best"])
            wait = jnp.where(improved, 0, wait)
            stop = ~improved & (wait >= patience)
            saved = state["saved"]
            if spec.restore_best:
                saved = jax.tree_util.tree_map(
                    lambda new, old: jnp.where(improved, new, old),
                    (trainable, other), saved)
            p_best, p_wait = state["p_best"], state["p_wait"]
            if spec.schedule == "plateau":
                p_improved = current < p_best - tol
                p_best = jnp.where(p_improved, current, p_best)
                p_wait = jnp.where(p_improved, 0, p_wait + 1)
                reduce = p_wait >= jnp.maximum(1, patience // 2)
                opt_vars = list(opt_vars)
                lr = opt_vars[self._lr_index]
                opt_vars[self._lr_index] = jnp.where(reduce, lr * decay, lr).astype(
                    lr.dtype)
                p_wait = jnp.where(reduce, 0, p_wait)
            # the rate after the epoch: the one the next step uses (as the
            # optimizer of keras.Model.fit reports it)
            if spec.schedule in ("exponential", "step", "cosine"):
                opt_vars = list(opt_vars)
                opt_vars[self._lr_index] = self._scheduled_lr(
                    lr0, decay, opt_vars[self._iteration_index], (n + bs - 1) // bs,
                    schedule_epochs).astype(opt_vars[self._lr_index].dtype)
            rate = opt_vars[self._lr_index]
            return {"epoch": epoch + 1, "trainable": trainable, "other": other,
                    "opt_vars": opt_vars, "best": best, "wait": wait, "stop": stop,
                    "saved": saved, "p_best": p_best, "p_wait": p_wait,
                    "losses": state["losses"].at[epoch].set(train_loss),
                    "val_losses": state["val_losses"].at[epoch].set(current),
                    "scores": state["scores"].at[epoch].set(score),
                    "rates": state["rates"].at[epoch].set(
                        jnp.asarray(rate, jnp.float32))}

        inf = jnp.float32(jnp.inf)
        state = {"epoch": jnp.int32(0), "trainable": trainable, "other": other,
                 "opt_vars": opt_vars, "best": inf, "wait": jnp.int32(0),
                 "stop": jnp.bool_(False),
                 "saved": (trainable, other) if spec.restore_best else (),
                 "p_best": inf, "p_wait": jnp.int32(0),
                 "losses": jnp.zeros(max_epochs, jnp.float32),
                 "val_losses": jnp.zeros(max_epochs, jnp.float32),
                 "scores": jnp.zeros(max_epochs, jnp.float32),
                 "rates": jnp.zeros(max_epochs, jnp.float32)}
        state = lax.while_loop(cond, body, state)
        trainable, other = state["trainable"], state["other"]
        if spec.restore_best:
            trainable = state["saved"][0]
            other = [saved if keep else now for saved, now, keep in zip(
                state["saved"][1], other, self._restore, strict=True)]
        return (trainable, other, state["opt_vars"], state["epoch"],
                state["losses"], state["val_losses"], state["rates"],
                state["scores"])

    # -- Python side
    def acquire(self):
        """Fits share this trainer freely: its loop carries all their state."""
        return ()

    def release(self, state):
        pass

    def run(self, model, data, validation, args, state=()):
        X, y, sw = data
        n = X.shape[0]
        rows = self._rows(n)
        if validation is None:
            Xv, yv, swv = X[:1], y[:1], np.zeros(1, np.float32)
            nv = 0
        else:
            Xv, yv, swv = validation
            nv = Xv.shape[0]
        val_rows = self._rows(max(nv, 1))
        out = self._fn(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables],
            _pad(X, rows), _pad(y, rows), _pad(sw, rows), np.int32(n),
            _pad(Xv, val_rows), _pad(yv, val_rows), _pad(swv, val_rows),
            np.int32(nv), np.uint32(args["seed"]), np.int32(args["epoch_offset"]),
            np.int32(args["epochs"]), np.int32(args["patience"]),
            np.float32(args["tol"]), np.float32(args["learning_rate"]),
            np.float32(args["lr_decay"]), np.int32(args["schedule_epochs"]),
            history_size=_bucket(int(args["epochs"]), minimum=8))
        trainable, other, opt_vars, epochs, losses, val_losses, rates, scores = out
        for variable, value in zip(model.trainable_variables, trainable, strict=True):
            variable.assign(value)
        for variable, value in zip(model.non_trainable_variables, other, strict=True):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, opt_vars, strict=True):
            variable.assign(value)
        epochs = int(epochs)
        history = {"loss": [float(v) for v in np.asarray(losses)[:epochs]]}
        if self.spec.validation:
            history["val_loss"] = [float(v) for v in np.asarray(val_losses)[:epochs]]
        history["learning_rate"] = [float(v) for v in np.asarray(rates)[:epochs]]
        if self.spec.score:
            name = "val_score" if self.spec.validation else "score"
            history[name] = [float(v) for v in np.asarray(scores)[:epochs]]
        return history


class JaxForward:
    """A jitted stateless forward pass, one per architecture."""

    def __init__(self, template):
        import jax

        from skdeep.engine.loop_tf import _nbytes

        self.model = template
        self.nbytes = _nbytes(template.variables)
        kinds = [v.trainable for v in template.variables]
        self._trainable = [i for i, t in enumerate(kinds) if t]
        self._other = [i for i, t in enumerate(kinds) if not t]
        from skdeep.engine.loop_tf import TRACES

        def call(trainable, other, X):
            TRACES.add("forward")
            return template.stateless_call(trainable, other, X, training=False)[0]

        self._fn = jax.jit(call)

    def __call__(self, model, X):
        values = [v.value for v in model.variables]
        return self._fn([values[i] for i in self._trainable],
                        [values[i] for i in self._other], X)
