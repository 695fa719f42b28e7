"""``BaseKerasEstimator``: the fit / predict lifecycle shared by every estimator.

``fit`` is a sequence of named steps that subclasses can override:

1. validate parameters and data, encode the target (classifier / regressor
   subclasses: ``_fit_target``, ``_transform_target``);
2. ``_split``: hold out the early-stopping validation rows;
3. ``_initialize_network``: build the network (``_build_keras_model``) under a
   seeded build and compile it, or, for a warm start, check that the
   architecture is unchanged and apply changed training settings;
4. ``_train``: a whole fit in one compiled call (``skdeep.engine.loop``) for
   skdeep's own networks, else ``keras.Model.fit`` (``skdeep.engine.keras_fit``);
5. ``_extra_phases``: further phases (fine-tuning; in fit, never in
   ``partial_fit``), then ``history_``.

A fit seeds nothing globally: every random draw comes from the fit's seed
(layers seeded at build, stateless shuffles keyed by seed and epoch).
"""

import math
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight

from skdeep import engine
from skdeep._compat import HasMethods, Interval, StrOptions, validate_data
from skdeep.engine import keras_fit, training
from skdeep.engine.process import quiet_retracing
from skdeep.engine.routing import route_params
from skdeep.exceptions import NotFittedError, SkdeepWarning

__all__ = ["TRAINING_PARAMS", "BaseKerasEstimator", "is_network_estimator"]

# Rows per prediction call, and the multiple every call is padded to: the
# same kind of shape for every call, so a row's prediction does not depend on
# how many rows came with it (float32 matmul kernels change their
# accumulation order with the batch size), and few shapes get traced.
_PREDICT_CHUNK = 8192
_PREDICT_ROWS = 64
# Prediction calls of a fitted network that use the shared forward pass, and
# the calls counted so far per network (predict leaves the estimator as it was).
_SHARED_FORWARD_CALLS = 4
_PREDICT_CALLS = weakref.WeakKeyDictionary()
# Dense values per chunk when X is sparse (rows densified chunk by chunk).
_SPARSE_CHUNK_VALUES = 2**24

# Parameters that configure training, not the network: a warm start may
# change them; any other parameter defines the network.
TRAINING_PARAMS = frozenset({
    "optimizer", "learning_rate", "momentum", "lr_schedule", "lr_decay",
    "batch_size", "epochs", "early_stopping", "validation_fraction", "patience",
    "tol", "random_state", "verbose", "warm_start", "callbacks", "class_weight",
    "loss", "metrics", "fine_tune_epochs", "fine_tune_learning_rate",
})


def is_network_estimator(obj):
    """Whether ``obj`` is a skdeep estimator that trains a Keras network
    (a ready-made one or a generic wrapper)."""
    return bool(getattr(obj, "_skdeep_estimator", False)) and not isinstance(obj, type)


def _check_no_missing_target(y):
    """A clear error for NaN / None in y, before any conversion hides it."""
    if y is None or isinstance(y, str):
        return
    values = np.asarray(y, dtype=object)
    if values.size == 0 or values.ndim == 0:
        return
    missing = pd.isna(values)
    if missing.ndim > 1:
        missing = missing.reshape(missing.shape[0], -1).any(axis=1)
    n_missing = int(missing.sum())
    if n_missing:
        raise ValueError(
            f"y has missing values in {n_missing} of {len(missing)} rows. Drop "
            "those rows before fitting (e.g. keep = y.notna(); X, y = X[keep], "
            "y[keep]); a pipeline cannot drop rows for you."
        )


def _same_value(a, b):
    """Whether a parameter kept its value (``(16,)`` and ``[16]`` are equal)."""
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    try:
        return bool(np.all(a == b))
    except Exception:  # objects that do not compare
        return False


class BaseKerasEstimator(BaseEstimator):
    """Common machinery of skdeep's estimators; not used directly.

    Subclasses define ``__init__`` (storing their parameters), the target
    hooks (``_fit_target``, ``_transform_target``, ``_default_loss``) and
    ``_build_keras_model(meta, seed)``.
    """

    _skdeep_estimator = True  # searches, save and export recognise it
    # skdeep's own architectures set this: networks made by skdeep from
    # Keras's own layers, trained by the compiled loop (``skdeep.engine.loop``)
    _pool_networks = False

    _parameter_constraints: dict = {
        "optimizer": [
            StrOptions(set(training.OPTIMIZERS)),
            HasMethods(["apply_gradients"]),
        ],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "lr_schedule": [StrOptions(set(training.SCHEDULES))],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, tuple, None],
    }

    _y_numeric = False

    # ------------------------------------------------------------------ params
    def _routed_params(self):
        """Routed ``model__x``-style parameters (generic wrappers only)."""
        return {}

    def _validate_all_params(self):
        """Parameter constraints, then the subclass's own checks."""
        from skdeep._compat import validate_parameter_constraints

        constraints = {
            k: v for k, v in self._parameter_constraints.items()
            if k in self._get_param_names()
        }
        validate_parameter_constraints(
            constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )
        self._check_params()

    def _check_params(self):
        """Extra parameter checks of a subclass (run at fit time)."""

    def _architecture_params(self):
        """The parameters that define the network (not its training)."""
        return {k: v for k, v in self.get_params(deep=False).items()
                if k not in TRAINING_PARAMS}

    # ------------------------------------------------------------------- data
    def _validate_X(self, X, y="no_validation", *, reset):
        """Validate X (and y) with scikit-learn; float32 arrays or CSR matrices.

        Sparse X stays sparse: it is densified one batch at a time.
        """
        kwargs = dict(reset=reset, accept_sparse=("csr", "csc", "coo"),
                      dtype=(np.float32, np.float64))
        try:
            if isinstance(y, str) and y == "no_validation":
                X = validate_data(self, X, **kwargs)
            else:
                X, y = validate_data(self, X, y, multi_output=True,
                                     y_numeric=self._y_numeric, **kwargs)
        except ValueError as exc:
            if "could not convert string to float" in str(exc):
                raise ValueError(
                    f"{type(self).__name__} needs numeric X, but X contains "
                    f"text ({exc}). Encode categorical columns first, e.g. "
                    "with skdeep.make_tabular_pipeline(estimator) or a "
                    "OneHotEncoder."
                ) from exc
            raise
        X = (sp.csr_matrix(X, dtype=np.float32) if sp.issparse(X)
             else np.asarray(X, dtype=np.float32))
        return X if isinstance(y, str) and y == "no_validation" else (X, y)

    def _prepare_sample_weight(self, sample_weight, X, y_raw):
        """Merge ``sample_weight`` and ``class_weight``; normalise to mean 1.

        Only relative weights matter; normalising keeps the effective learning
        rate independent of the scale of the weights.
        """
        if sample_weight is None and getattr(self, "class_weight", None) is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        sw = sw * self._class_sample_weight(y_raw)
        total = sw.sum()
        if not np.isfinite(total) or total <= 0:
            raise ValueError(
                "sample_weight must contain at least one positive weight; the "
                f"weights given sum to {total}."
            )
        return (sw * (len(sw) / total)).astype(np.float32)

    def _class_sample_weight(self, y_raw):
        return 1.0

    # ---------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        With ``early_stopping=True``, ``validation_fraction`` of the rows are
        held out (stratified for classifiers) and training stops when their
        loss has not improved by ``tol`` for ``patience`` epochs, keeping the
        best weights. With ``warm_start=True`` and a fitted network, training
        continues from its weights: changed training parameters (optimizer,
        learning rate, schedule, batch size, epochs, ...) take effect with a
        new optimizer, a changed architecture raises, and ``history_`` and
        ``n_iter_`` go on from where they were.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse matrices are densified one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; only their ratios matter.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_all_params()
        continuing = self.warm_start and self.__sklearn_is_fitted__()
        return self._fit(X, y, sample_weight, epochs=self.epochs,
                         continuing=continuing, validate=self.early_stopping)

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        Has no validation split, so ``early_stopping`` must be False (as in
        scikit-learn). The optimizer's state carries over between calls
        unless its settings changed; ``history_`` and ``n_iter_`` grow by one
        epoch per call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight)

    def _partial_fit(self, X, y, sample_weight, **target_kwargs):
        first = not self.__sklearn_is_fitted__()
        if first:
            self._validate_all_params()
        if self.early_stopping:
            raise ValueError(
                f"partial_fit does not support early_stopping=True: it trains "
                f"one epoch with no validation split. Create the estimator with "
                f"{type(self).__name__}(early_stopping=False) to use partial_fit."
            )
        return self._fit(X, y, sample_weight, epochs=1, continuing=not first,
                         validate=False, partial=True, **target_kwargs)

    def _fit(self, X, y, sample_weight, *, epochs, continuing, validate,
             partial=False, **target_kwargs):
        _check_no_missing_target(y)
        X, y = self._validate_X(X, y, reset=not continuing)
        y_enc = (self._transform_target(y) if continuing
                 else self._fit_target(y, **target_kwargs))
        sw = self._prepare_sample_weight(sample_weight, X, y)
        seed = self._random_seed()
        train, validation = self._split(X, y_enc, sw, seed, validate)
        batch_size = min(self.batch_size, train[0].shape[0])
        steps = math.ceil(train[0].shape[0] / batch_size)
        if continuing:
            model = self._continue_network(steps, partial=partial)
        else:
            model = self._initialize_network(seed, train[0], steps)
        offset = len(self.history_["loss"]) if continuing else 0
        histories = [self._train(model, train, validation, epochs=epochs,
                                 batch_size=batch_size, seed=seed,
                                 epoch_offset=offset)]
        for prepare, phase_epochs, phase_lr in (
                () if continuing or partial else self._extra_phases()):
            prepare(model)  # e.g. unfreeze layers for fine-tuning
            self._compile(model, steps, engine="keras", learning_rate=phase_lr,
                          epochs=phase_epochs)
            offset += len(histories[-1]["loss"])
            histories.append(self._train(model, train, validation,
                                         epochs=phase_epochs, batch_size=batch_size,
                                         seed=seed, epoch_offset=offset))
        self.model_ = model
        _PREDICT_CALLS.pop(model, None)
        self._record_history(histories, continuing)
        return self

    def _random_seed(self):
        """The fit's seed: from ``random_state`` (an int touches no global
        generator; None draws from NumPy's, as scikit-learn does)."""
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _split(self, X, y, sample_weight, seed, validate):
        """``(train, validation)``, each ``(X, y, sample_weight or None)``.

        With ``validate``, ``validation_fraction`` of the rows given to fit
        are held out (stratified when every class can be split).
        """
        if not validate:
            return (X, y, sample_weight), None
        n = X.shape[0]
        n_val = math.ceil(self.validation_fraction * n)
        if n_val < 1 or n - n_val < 1 or n < 4:
            warnings.warn(
                f"early_stopping needs a validation split, but {n} sample(s) "
                f"with validation_fraction={self.validation_fraction} leave "
                "none; training on all samples and stopping on the training "
                "loss instead.",
                SkdeepWarning,
                stacklevel=4,
            )
            return (X, y, sample_weight), None
        stratify = self._stratify(y)
        if stratify is not None:
            _, counts = np.unique(stratify, axis=0, return_counts=True)
            if counts.min() < 2 or n_val < len(counts) or n - n_val < len(counts):
                stratify = None
        arrays = [X, y] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(*arrays, test_size=n_val, random_state=seed,
                                 stratify=stratify)
        sw_train, sw_val = parts[4:6] if sample_weight is not None else (None, None)
        return (parts[0], parts[2], sw_train), (parts[1], parts[3], sw_val)

    def _uses_compiled_loop(self, X):
        """Whether this fit may run as one compiled call (``skdeep.engine.loop``)."""
        return (self._pool_networks and not self.callbacks and not sp.issparse(X)
                and not self._routed_params())

    def _initialize_network(self, seed, X, steps):
        """Build and compile a new network for this fit."""
        import keras

        meta = self._meta()
        with training.seeded_build(seed):
            model = self._build_keras_model(meta, seed=seed)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"The network of {type(self).__name__} must be a keras.Model; "
                f"the build function returned {type(model).__name__}."
            )
        self._check_output_shape(model)
        self._built_architecture = self._architecture_params()
        self._network_key = None
        self._owns_compile = False
        if model.compiled:  # a build function may compile the network itself
            self._engine = "keras"
            return model
        self._engine = "keras"
        if self._uses_compiled_loop(X):
            self._network_key = engine.architecture_key(self, meta, X.shape[1:])
            if self._network_key is not None:
                self._engine = "loop"
        self._compile(model, steps, engine=self._engine)
        return model

    def _continue_network(self, steps, *, partial):
        """The fitted network, with the current training settings applied.

        A changed architecture parameter raises. ``fit`` with warm start
        always gets a new optimizer from the current parameters (as
        scikit-learn's MLP does); ``partial_fit`` keeps the optimizer's state
        unless its settings changed.
        """
        now = self._architecture_params()
        changed = [k for k, v in now.items()
                   if not _same_value(v, self._built_architecture.get(k))]
        if changed:
            name = changed[0]
            raise ValueError(
                f"warm_start continues training the fitted network, but its "
                f"architecture parameter {name!r} changed from "
                f"{self._built_architecture.get(name)!r} to {now[name]!r} since "
                f"it was built. Set warm_start=False (or fit a clone) to build "
                f"a new network with the new {name}."
            )
        model = self.model_
        if model.compiled and self._engine == "keras" and not self._owns_compile:
            return model  # compiled by the user's build function: theirs
        new = self._make_optimizer(steps, self._engine)
        old = model.optimizer
        new_config, old_config = new.get_config(), old.get_config()
        if (partial and type(new) is type(old)
                and isinstance(old_config.get("learning_rate"), float)
                and {**new_config, "name": None, "learning_rate": None}
                == {**old_config, "name": None, "learning_rate": None}):
            old.learning_rate = new_config["learning_rate"]
            return model
        self._compile(model, steps, engine=self._engine)
        return model

    def _make_optimizer(self, steps, engine, learning_rate=None, epochs=None):
        """A new optimizer from the parameters (with a Keras schedule object
        on the ``keras`` engine; the compiled loop computes schedules itself)."""
        learning_rate = self.learning_rate if learning_rate is None else learning_rate
        if engine == "keras":
            learning_rate = training.make_learning_rate(
                learning_rate, self.lr_schedule, self.lr_decay,
                steps_per_epoch=steps, epochs=epochs or self.epochs)
        return training.make_optimizer(
            self.optimizer, learning_rate, momentum=self.momentum,
            kwargs=route_params(self._routed_params(), "optimizer"))

    def _compile(self, model, steps, *, engine, learning_rate=None, epochs=None):
        routed = self._routed_params()
        kwargs = {
            "optimizer": self._make_optimizer(steps, engine, learning_rate, epochs),
            "loss": self._resolve_loss(model),
            "metrics": getattr(self, "metrics", None),
        }
        if engine == "keras":
            # user callbacks see every batch: one step per execution for them
            kwargs["steps_per_execution"] = (
                1 if self.callbacks else keras_fit.plan_execution(steps))
        kwargs.update(route_params(routed, "compile"))
        model.compile(**kwargs)
        model.optimizer.build(model.trainable_variables)
        self._owns_compile = True

    def _resolve_loss(self, model):
        loss = getattr(self, "loss", None)
        if loss is None:
            loss = self._default_loss(model)
        loss_kwargs = route_params(self._routed_params(), "loss")
        if loss_kwargs:
            loss = training.make_loss(loss, loss_kwargs)
        return loss

    def _train(self, model, train, validation, *, epochs, batch_size, seed,
               epoch_offset):
        """Train ``model``; returns the history of this call (dict of lists)."""
        X, y, sw = train
        y = self._loss_target(y, model)
        val = None
        if validation is not None:
            Xv, yv, swv = validation
            val = (Xv, self._loss_target(yv, model), swv)
        if self._engine == "loop" and self._owns_compile:
            ones = np.ones(X.shape[0], np.float32)
            spec = engine.LoopSpec(
                validation=val is not None,
                restore_best=bool(self.early_stopping and val is not None),
                schedule=self.lr_schedule, verbose=bool(self.verbose))
            history = engine.train(
                model, self._network_key, self._make_template,
                (X, y, ones if sw is None else sw),
                None if val is None else (val[0], val[1], np.ones(
                    val[0].shape[0], np.float32) if val[2] is None else val[2]),
                spec, {"seed": seed, "epoch_offset": epoch_offset, "epochs": epochs,
                       "batch_size": batch_size, "patience": self.patience,
                       "tol": self.tol, "learning_rate": self.learning_rate,
                       "lr_decay": self.lr_decay, "schedule_epochs": self.epochs})
            if history is not None:
                return history
            # optimizer or loss the loop does not take: train with Keras
            self._engine = "keras"
            self._compile(model, math.ceil(X.shape[0] / batch_size), engine="keras")
        routed_fit = route_params(self._routed_params(), "fit")
        shuffle = routed_fit.pop("shuffle", True)
        callbacks = training.make_callbacks(
            early_stopping=self.early_stopping, patience=self.patience,
            tol=self.tol, lr_schedule=self.lr_schedule, lr_decay=self.lr_decay,
            has_validation=val is not None, user_callbacks=self.callbacks)
        return keras_fit.fit(
            model, (X, y, sw), val, epochs=epochs, batch_size=batch_size, seed=seed,
            epoch_offset=epoch_offset, callbacks=callbacks, verbose=self.verbose,
            shuffle=shuffle, extra=routed_fit)

    def _record_history(self, histories, continuing):
        history = {k: list(v) for k, v in self.history_.items()} if continuing else {}
        for part in histories:
            for key, values in part.items():
                history.setdefault(key, []).extend(float(v) for v in values)
        self.history_ = history
        self.n_iter_ = len(history.get("loss", ()))

    def _extra_phases(self):
        """Further training phases after the first: ``(prepare, epochs, lr)``.

        ``prepare(model)`` changes the network in place (e.g. unfreezes
        layers); the network is then recompiled with learning rate ``lr`` and
        trained for ``epochs`` more epochs on the same data.
        """
        return ()

    def _stratify(self, y_enc):
        return None

    def _loss_target(self, y_enc, model):
        """The target array handed to Keras (e.g. one-hot for categorical CE)."""
        return y_enc

    def _check_output_shape(self, model):
        """Raise if the network's output does not fit the target."""

    def _output_units(self, model):
        """Units of the network's output layer, or None if unknown."""
        try:
            return int(model.outputs[0].shape[-1])
        except (AttributeError, IndexError, TypeError, ValueError):
            return None

    def _meta(self):
        """Fitted metadata handed to build functions."""
        meta = {
            "n_features_in_": self.n_features_in_,
            "n_outputs_": self.n_outputs_,
            "target_type_": self.target_type_,
        }
        if hasattr(self, "classes_"):
            meta["classes_"] = self.classes_
            meta["n_classes_"] = len(self.classes_)
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in_"] = self.feature_names_in_
        return meta

    # ------------------------------------------------------------- predicting
    def __sklearn_is_fitted__(self):
        return "model_" in self.__dict__

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )

    def _make_template(self):
        """Another network like the fitted one (for ``skdeep.engine.loop``'s cache)."""
        with training.seeded_build(0):
            return self._build_keras_model(self._meta(), seed=0)

    def _forward(self):
        """A function ``X -> network outputs`` for the fitted network.

        skdeep's own networks share one traced forward pass per architecture
        (``skdeep.engine.loop``): a newly fitted network predicts without tracing a
        predict function of its own.
        """
        import keras

        model = self.model_
        key = self.__dict__.get("_network_key")
        backend = keras.backend.backend()
        # on TensorFlow, passing the weights costs ~0.5 ms a call: a network
        # that keeps predicting (a deployed model) gets its own traced
        # function, with its weights captured, after a few calls
        calls = _PREDICT_CALLS.get(model, 0) + 1
        _PREDICT_CALLS[model] = calls
        if key is not None and (backend == "jax" or (
                backend == "tensorflow" and calls <= _SHARED_FORWARD_CALLS)):
            fwd = engine.forward(key, self._make_template)
            return lambda X: fwd(model, X)
        return model.predict_on_batch

    @quiet_retracing()
    def _predict_raw(self, X):
        """Network outputs for X as a float64 array of shape (n, n_units)."""
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        chunk = route_params(self._routed_params(), "predict").get(
            "batch_size", _PREDICT_CHUNK)
        if sp.issparse(X):
            chunk = min(chunk, max(1, _SPARSE_CHUNK_VALUES // max(1, X.shape[1])))
        multiple = min(_PREDICT_ROWS, chunk)
        run = self._forward()
        parts = []
        for start in range(0, X.shape[0], chunk):
            part = X[start:start + chunk]
            if sp.issparse(part):
                part = np.asarray(part.toarray(), dtype=np.float32)
            padded = -part.shape[0] % multiple
            if padded:
                part = np.concatenate(
                    [part, np.zeros((padded, *part.shape[1:]), part.dtype)])
            out = np.asarray(run(part))
            parts.append(out[:out.shape[0] - padded])
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
        out = out.astype(np.float64, copy=False)
        return out.reshape(out.shape[0], -1)

    # --------------------------------------------------------------- pickling
    # Keras pickles its own models (``KerasSaveable.__reduce__``): the
    # estimator needs no pickling code of its own.

    # ------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags
