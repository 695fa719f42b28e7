"""``BaseKerasEstimator``: the fit / predict skeleton shared by every estimator.

The lifecycle is split into small steps that subclasses override:

``fit`` = validate params -> validate data -> encode target -> seed ->
validation split -> ``_build_keras_model`` -> compile -> ``keras.Model.fit``.

Target handling (labels, probabilities, target scaling) lives in the
classifier / regressor subclasses; network architecture in their
``_build_keras_model``.
"""

import math
import os
import tempfile
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight

from . import _networks, training
from ._compat import HasMethods, Interval, StrOptions, validate_data
from ._routing import ROUTED_DESTINATIONS, check_routed_names, route_params
from .exceptions import NotFittedError, SkdeepWarning

__all__ = ["BaseKerasEstimator"]

# Rows per ``predict_on_batch`` call: large enough to amortise dispatch, small
# enough to bound memory on big inputs.
_PREDICT_CHUNK = 8192
_PREDICT_ROWS = 64


class _SerializedKerasModel:
    """A Keras model in its native ``.keras`` format, as bytes, for pickling."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __getstate__(self):
        return self.data

    def __setstate__(self, state):
        self.data = state


def model_to_bytes(model):
    """Serialize a ``keras.Model`` (architecture, weights, optimizer state)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def model_from_bytes(data):
    """Inverse of :func:`model_to_bytes`."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            # The bytes come from a pickle, which can run code anyway: allowing
            # Lambda layers here adds no risk that pickle did not already have.
            return keras.saving.load_model(path, safe_mode=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "Could not rebuild the pickled Keras model. If it uses custom "
                "layers, losses or metrics, decorate them with "
                "@keras.saving.register_keras_serializable() and import their "
                f"module before loading. Keras said: {exc}"
            ) from exc


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


def _is_keras_model(obj):
    """True for a ``keras.Model`` instance, without importing Keras.

    Looks at the class hierarchy rather than ``sys.modules["keras"]``, which
    may be half-imported while the backend warms up in another thread.
    """
    return any(cls.__name__ == "Model" and cls.__module__.startswith("keras")
               for cls in type(obj).__mro__)


class BaseKerasEstimator(BaseEstimator):
    """Common machinery of skdeep's estimators; not used directly.

    Subclasses define ``__init__`` (storing their parameters), the target
    hooks (``_fit_target``, ``_transform_target``, ``_default_loss``) and
    ``_build_keras_model(meta)``.
    """

    # skdeep's own architectures set this: their networks can be recycled
    # between fits (see ``skdeep._networks``)
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

    # Generic wrappers set this: extra keyword arguments are routed params.
    _accepts_routed_params = False

    # ------------------------------------------------------------------ params
    def _routed_params(self):
        """Extra keyword arguments (``model__x`` etc.) given to ``__init__``.

        They live in one private dict rather than as attributes, so they can
        never collide with a parameter or a fitted attribute.
        """
        return dict(getattr(self, "_routed", {}))

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
        if self._accepts_routed_params:
            own = set(self._get_param_names())
            routed = {}
            for key in list(params):
                head = key.split("__", 1)[0]
                if ("__" in key and head in ROUTED_DESTINATIONS) or key not in own:
                    routed[key] = params.pop(key)
            self._routed = {**self._routed_params(), **routed}
        return super().set_params(**params) if params else self

    def _validate_all_params(self):
        """Parameter constraints, then the subclass's own checks."""
        constraints = {
            k: v for k, v in self._parameter_constraints.items()
            if k in self._get_param_names()
        }
        from ._compat import validate_parameter_constraints

        validate_parameter_constraints(
            constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )
        check_routed_names(
            self._routed_params(), owner=type(self).__name__,
            known_params=self._get_param_names(),
        )
        self._check_params()

    def _check_params(self):
        """Extra parameter checks of a subclass (run at fit time)."""

    # ------------------------------------------------------------------- data
    def _validate_X(self, X, y="no_validation", *, reset):
        """Validate X (and y) with scikit-learn and return float32 arrays."""
        kwargs = dict(reset=reset, accept_sparse=("csr", "csc", "coo"),
                      dtype=(np.float64, np.float32))
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
        if sp.issparse(X):
            X = X.toarray()
        X = np.asarray(X, dtype=np.float32)
        return X if isinstance(y, str) and y == "no_validation" else (X, y)

    _y_numeric = False

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
    def _random_seed(self):
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _validation_split(self, X, y, sample_weight, stratify, seed):
        """Hold out ``validation_fraction`` of the rows given to fit.

        Stratified when ``stratify`` is given and every class can be split.
        Returns ``(X, y, sw, validation_data or None)``.
        """
        n = X.shape[0]
        n_val = math.ceil(self.validation_fraction * n)
        if n_val < 1 or n - n_val < 1 or n < 4:
            warnings.warn(
                f"early_stopping needs a validation split, but {n} sample(s) "
                f"with validation_fraction={self.validation_fraction} leave "
                "none; training on all samples and stopping on the training "
                "loss instead.",
                SkdeepWarning,
                stacklevel=3,
            )
            return X, y, sample_weight, None
        if stratify is not None:
            _, counts = np.unique(stratify, axis=0, return_counts=True)
            if counts.min() < 2 or n_val < len(counts) or n - n_val < len(counts):
                stratify = None
        arrays = [X, y] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(
            *arrays, test_size=n_val, random_state=seed, stratify=stratify
        )
        X_tr, X_val, y_tr, y_val = parts[:4]
        if sample_weight is not None:
            sw_tr, sw_val = parts[4:]
            return X_tr, y_tr, sw_tr, (X_val, y_val, sw_val)
        return X_tr, y_tr, None, (X_val, y_val)

    def _compile_kwargs(self, meta, model, steps_per_execution=1):
        routed = self._routed_params()
        kwargs = {
            "optimizer": None,  # filled in by _compile
            "loss": self._resolve_loss(meta, model),
            "metrics": getattr(self, "metrics", None),
            "steps_per_execution": steps_per_execution,
        }
        kwargs.update(route_params(routed, "compile"))
        return kwargs

    def _resolve_loss(self, meta, model):
        loss = getattr(self, "loss", None)
        if loss is None:
            loss = self._default_loss(meta, model)
        loss_kwargs = route_params(self._routed_params(), "loss")
        if loss_kwargs:
            loss = training.make_loss(loss, loss_kwargs)
        return loss

    def _compile(self, model, meta, *, steps_per_epoch, learning_rate=None,
                 epochs=None, steps_per_execution=1, reusable=False):
        """Compile ``model``, or take an identical compiled one from the pool.

        See ``skdeep._networks``: with ``reusable``, a pooled network with the
        same architecture and training setup is refreshed with ``model``'s
        initial weights and returned, skipping a new trace of the train step.
        """
        kwargs = self._compile_kwargs(meta, model, steps_per_execution)
        learning_rate = training.make_learning_rate(
            self.learning_rate if learning_rate is None else learning_rate,
            self.lr_schedule, self.lr_decay,
            steps_per_epoch=steps_per_epoch, epochs=epochs or self.epochs,
        )
        kwargs["optimizer"] = training.make_optimizer(
            self.optimizer, learning_rate, momentum=self.momentum,
            kwargs=route_params(self._routed_params(), "optimizer"),
        )
        model, lease = _networks.compile_network(model, kwargs, reusable=reusable)
        if lease is not None:
            lease.bind(self)
            self._network_lease = lease
        return model

    def _reusable_network(self):
        """Whether this fit's network may come from / go back to the pool.

        Only skdeep's own architectures qualify (``_pool_networks``), and not
        with user callbacks, which keep a reference to the network.
        """
        return self._pool_networks and not self.callbacks

    def _release_network(self):
        """Forget the fitted network; a pooled one goes back to the pool."""
        lease = self.__dict__.pop("_network_lease", None)
        self.__dict__.pop("_keras_model", None)
        if lease is not None:
            lease.release()

    @property
    def model_(self):
        """The fitted ``keras.Model``.

        A network handed out here belongs to the caller from then on: it is
        never recycled for another estimator's fit.
        """
        try:
            model = self.__dict__["_keras_model"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute 'model_' "
                "(not fitted yet)") from None
        lease = self.__dict__.get("_network_lease")
        if lease is not None:
            lease.escaped = True
        return model

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

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; only their ratios matter.

        Returns
        -------
        self
        """
        self._validate_all_params()
        continuing = self.warm_start and self.__sklearn_is_fitted__()
        return self._fit(X, y, sample_weight, epochs=self.epochs,
                         reset=not continuing, use_validation=True)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train for one epoch on ``(X, y)``, starting from the current weights.

        No validation split or early stopping. Classifiers need ``classes``
        on the first call, as in scikit-learn.
        """
        first = not self.__sklearn_is_fitted__()
        if first:
            self._validate_all_params()
        return self._fit(X, y, sample_weight, epochs=1, reset=first,
                         use_validation=False, **kwargs)

    def _fit(self, X, y, sample_weight, *, epochs, reset, use_validation, **kwargs):
        training.configure_threads()
        import keras

        _check_no_missing_target(y)
        X, y = self._validate_X(X, y, reset=reset)
        y_enc = self._fit_target(y, **kwargs) if reset else self._transform_target(y)
        sw = self._prepare_sample_weight(sample_weight, X, y)
        seed = self._random_seed()
        has_val = use_validation and self.early_stopping
        with training.seeded(seed):
            validation_data = None
            if has_val:
                X, y_enc, sw, validation_data = self._validation_split(
                    X, y_enc, sw, self._stratify(y_enc), seed
                )
            batch_size = min(self.batch_size, X.shape[0])
            steps_per_epoch = math.ceil(X.shape[0] / batch_size)
            spe, repeat = training.plan_execution(steps_per_epoch)
            if reset:
                self._release_network()
                meta = self._meta()
                model = self._build_keras_model(meta, seed=seed)
                if not isinstance(model, keras.Model):
                    raise TypeError(
                        f"The network of {type(self).__name__} must be a "
                        f"keras.Model; the build function returned "
                        f"{type(model).__name__}."
                    )
                self._check_output_shape(model)
                if model.compiled:  # a build function may compile itself
                    repeat = False
                else:
                    model = self._compile(model, meta, steps_per_epoch=steps_per_epoch,
                                          steps_per_execution=spe,
                                          reusable=self._reusable_network())
            else:
                model = self._keras_model
                repeat = False  # compiled for other data: feed a finite dataset
            if "steps_per_execution" in route_params(self._routed_params(), "compile"):
                repeat = False
            routed_fit = route_params(self._routed_params(), "fit")
            fit_kwargs = training.make_training_data(
                X, self._loss_target(y_enc, model), sw, batch_size=batch_size,
                seed=seed, shuffle=routed_fit.pop("shuffle", True), repeat=repeat)
            if validation_data is not None:
                X_val, y_val, *sw_val = validation_data
                fit_kwargs.update(training.make_training_data(
                    X_val, self._loss_target(y_val, model),
                    sw_val[0] if sw_val else None,
                    batch_size=batch_size, seed=seed, validation=True))
            fit_kwargs.update({
                "epochs": epochs,
                "verbose": self.verbose,
                "callbacks": self._callbacks(validation_data is not None, epochs,
                                             seed),
            })
            fit_kwargs.update(routed_fit)
            histories = [model.fit(**fit_kwargs).history]
            for prepare, phase_epochs, phase_lr in (self._extra_phases() if reset
                                                    else ()):
                prepare(model)  # e.g. unfreeze layers for fine-tuning
                model = self._compile(model, meta, steps_per_epoch=steps_per_epoch,
                                      learning_rate=phase_lr, epochs=phase_epochs,
                                      steps_per_execution=model.steps_per_execution)
                fit_kwargs["epochs"] = phase_epochs
                fit_kwargs["callbacks"] = self._callbacks(
                    validation_data is not None, phase_epochs, seed)
                histories.append(model.fit(**fit_kwargs).history)
        self._keras_model = model
        self.history_ = {}
        for history in histories:
            for key, values in history.items():
                self.history_.setdefault(key, []).extend(float(v) for v in values)
        self.n_iter_ = len(self.history_.get("loss", ()))
        return self

    def _callbacks(self, has_validation, epochs, seed):
        import keras

        callbacks = []
        if keras.backend.backend() != "tensorflow":  # TF shuffles in tf.data
            callbacks.append(training.numpy_shuffle_seed(seed))
        if epochs <= 1:
            return callbacks + list(self.callbacks or ())
        return callbacks + training.make_callbacks(
            early_stopping=self.early_stopping,
            patience=self.patience,
            tol=self.tol,
            lr_schedule=self.lr_schedule,
            lr_decay=self.lr_decay,
            has_validation=has_validation,
            user_callbacks=self.callbacks,
        )

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

    def _build_user_model(self, meta):
        """Build the network from the ``model`` parameter (generic wrappers).

        A ``keras.Model`` is cloned (fresh weights, the user's object is never
        trained); a callable is called with the arguments its signature asks
        for: ``meta``, ``compile_kwargs`` and its own ``model__`` parameters.
        """
        import keras

        from ._routing import build_fn_arguments

        name = type(self).__name__
        if self.model is None:
            raise ValueError(
                f"{name} needs a network: pass model=<a keras.Model or a "
                f"function returning one>, e.g. {name}(model=build_fn). For "
                "a ready-made network use skdeep.MLPClassifier / MLPRegressor."
            )
        if isinstance(self.model, keras.Model):
            return keras.models.clone_model(self.model)
        if not callable(self.model):
            raise TypeError(
                f"{name}(model=...) must be a keras.Model or a callable "
                f"returning one; got {type(self.model).__name__}."
            )
        routed = self._routed_params()
        kwargs = {k: v for k, v in routed.items() if "__" not in k}
        kwargs.update(route_params(routed, "model"))
        compile_kwargs = {
            "optimizer": training.make_optimizer(
                self.optimizer, self.learning_rate, momentum=self.momentum,
                kwargs=route_params(routed, "optimizer")),
            "loss": getattr(self, "loss", None),
            "metrics": getattr(self, "metrics", None),
        }
        args = build_fn_arguments(self.model, owner=name, kwargs=kwargs,
                                  meta=meta, compile_kwargs=compile_kwargs)
        return self.model(**args)

    # ------------------------------------------------------------- predicting
    def __sklearn_is_fitted__(self):
        return "_keras_model" in self.__dict__

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )

    def _predict_raw(self, X):
        """Network outputs for X as a float64 array of shape (n, n_units)."""
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        batch = route_params(self._routed_params(), "predict").get(
            "batch_size", _PREDICT_CHUNK)
        batch = max(_PREDICT_ROWS, batch // _PREDICT_ROWS * _PREDICT_ROWS)
        n = X.shape[0]
        # Pad to a multiple of _PREDICT_ROWS: every backend call then sees the
        # same kind of shape, so a row's prediction does not depend on how
        # many rows came with it (float32 matmul kernels change their
        # accumulation order with the batch size) and few shapes get traced.
        padded = -n % _PREDICT_ROWS
        if padded:
            X = np.concatenate([X, np.zeros((padded, *X.shape[1:]), X.dtype)])
        # ``predict_on_batch`` reuses one compiled function and skips the
        # data-adapter and callback machinery of ``predict``: ~100x faster on
        # a single row.
        parts = [np.asarray(self._keras_model.predict_on_batch(X[i:i + batch]))
                 for i in range(0, X.shape[0], batch)]
        out = (np.concatenate(parts) if len(parts) > 1 else parts[0])[:n]
        out = out.astype(np.float64, copy=False)
        return out.reshape(out.shape[0], -1)

    # --------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        return {  # a copy owns its network: the lease is not carried over
            k: _SerializedKerasModel(model_to_bytes(v)) if _is_keras_model(v) else v
            for k, v in state.items() if k != "_network_lease"
        }

    def __setstate__(self, state):
        state = {
            k: model_from_bytes(v.data) if isinstance(v, _SerializedKerasModel) else v
            for k, v in state.items()
        }
        super().__setstate__(state)

    def __sklearn_clone__(self):
        # searches clone in the parent process: start importing the backend
        # there while the workers fit (see training.prewarm_backend)
        training.prewarm_backend()
        return super().__sklearn_clone__()

    # ------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags
