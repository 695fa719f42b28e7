"""Generic wrappers that speak scikeras's public API: bring your own network.

``KerasClassifier`` / ``KerasRegressor`` follow scikeras 0.13 (its defaults,
``meta``, routed parameters, ``initialize``, ``partial_fit``,
``feature_encoder`` / ``target_encoder`` and ``_keras_build_fn`` extension
points), so a scikeras user changes only the import. Where skdeep differs it
is on purpose, listed in the README's "Coming from scikeras" table:

- scikit-learn 1.9 recognises them (``is_classifier`` is True);
- a fit changes no global random state (shuffles are stateless, keyed by the
  fit's seed and epoch), and ``random_state`` makes fits reproducible;
- a ``keras.Model`` passed as ``model`` is copied (weights included), never
  trained in place;
- networks of any class pickle, by reference to their class;
- ``loss=None`` on a classifier picks the cross-entropy for the target.

Training goes through the same engine as the ready-made estimators
(``skdeep.engine.run``): a network that skdeep compiles (the build function
returns it uncompiled) from Keras's own layers, with no metrics or callbacks,
trains as one compiled call with the history ``keras.Model.fit`` would give,
and the fits of a search share one traced loop per network config.

The ready-made estimators (``MLPClassifier``, ...) use ``skdeep.estimators.base``
instead: skdeep's defaults and flat hyperparameters.
"""

import inspect
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array

from skdeep import engine
from skdeep._compat import check_sample_weight
from skdeep.engine import dask_inputs, inputs, run, training
from skdeep.engine.forward_pass import PREDICT_CHUNK
from skdeep.engine.keras_objects import (
    PickledModel,
    check_X,
    class_weights,
    copy_model,
    float_dtype,
    has_outputs,
    is_text,
    loss_name,
    metric_name,
    n_rows,
    rebuilds_from_config,
    take,
)
from skdeep.engine.process import quiet_retracing
from skdeep.engine.routing import (
    ROUTED_DESTINATIONS,
    build_callbacks,
    build_compile_kwargs,
    build_fn_arguments,
    check_routed_names,
    route_params,
)
from skdeep.estimators import _dask
from skdeep.estimators._inputs import (
    _check_no_missing_target,
    _check_same_inputs,
    _dataset_scoring,
    _input_signature,
)
from skdeep.exceptions import NotFittedError, SkdeepWarning
from skdeep.wrappers._streaming import (
    check_dask_fit,
    check_dataset_fit,
    is_lazy_dask,
    is_streamed,
    lazy,
    rows,
)
from skdeep.wrappers._validation import hold_out
from skdeep.wrappers.encoders import (
    ColumnGroups,
)

__all__ = ["BaseWrapper"]

_DEFAULT_BATCH_SIZE = 32  # keras.Model.fit's default for batch_size=None


def _loop_input(X):
    """Whether X is data the compiled loops take: a NumPy array in memory,
    or, chunk by chunk, a memmap (or rows of one), Dask blocks or a sparse
    matrix (``skdeep.engine.run.uses_compiled_loop`` decides the rest)."""
    return (isinstance(X, (np.ndarray, inputs.Rows, dask_inputs.Blocks))
            or sp.issparse(X))


class BaseWrapper(BaseEstimator):
    """scikit-learn estimator around a Keras network (scikeras's ``BaseWrapper``).

    Subclass it (or ``KerasClassifier`` / ``KerasRegressor``) the scikeras
    way: define ``__init__(self, model=None, my_param=1, **kwargs)`` calling
    ``super().__init__(model=model, **kwargs)``, a ``_keras_build_fn(self,
    ...)`` method used when ``model`` is None (it, or a ``model=`` build
    function, gets by name the subclass's own ``__init__`` parameters that its
    signature names), and ``feature_encoder`` /
    ``target_encoder`` properties returning scikit-learn transformers. The
    parameters of every ``__init__`` in the class hierarchy, and the extra
    keyword arguments, are the estimator's parameters (``get_params``).
    """

    _skdeep_estimator = True  # searches, save and export recognise it
    _accepts_routed_params = True  # searches accept any ``model__x`` name
    _fit_kwargs = {"batch_size", "epochs", "verbose", "validation_split", "shuffle",
                   "class_weight", "sample_weight", "initial_epoch",
                   "validation_steps", "validation_batch_size", "validation_freq"}
    _predict_kwargs = {"batch_size", "verbose", "steps"}
    _compile_kwargs = {"optimizer", "loss", "metrics", "loss_weights",
                       "weighted_metrics", "run_eagerly"}

    def __init__(
        self,
        model=None,
        *,
        build_fn=None,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        input_columns=None,
        **kwargs,
    ):
        self.model = model
        self.build_fn = build_fn
        self.warm_start = warm_start
        self.random_state = random_state
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.run_eagerly = run_eagerly
        self.epochs = epochs
        self.input_columns = input_columns
        # routed (``model__units``) and build-function parameters
        self._routed = dict(kwargs)

    # ------------------------------------------------------------- params
    @classmethod
    def _get_param_names(cls):
        """Parameters of every ``__init__`` from this class up to BaseWrapper,
        so a subclass taking ``**kwargs`` keeps its parents' parameters."""
        names = set()
        for klass in cls.__mro__:
            if not (isinstance(klass, type) and issubclass(klass, BaseWrapper)):
                continue
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            for p in inspect.signature(init).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL,
                                                       p.VAR_KEYWORD):
                    names.add(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self.__dict__.get("_routed", {}))
        return params

    def set_params(self, **params):
        own = set(self._get_param_names())
        routed = {}
        for key in list(params):
            if "__" in key and key.split("__", 1)[0] in ROUTED_DESTINATIONS:
                if key in own:  # a subclass's ``optimizer__learning_rate=...``
                    setattr(self, key, params.pop(key))
                else:
                    routed[key] = params.pop(key)
            elif key not in own and "__" not in key:
                if key not in self.__dict__.get("_routed", {}):
                    name = type(self).__name__
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {name}: it is "
                        "neither a parameter nor a build-function argument given "
                        f"to the constructor. Pass it there first ({name}(..., "
                        f"{key}=...)) or route it (model__{key}=...). Valid "
                        f"parameters: {sorted(self.get_params(deep=False))}.")
                routed[key] = params.pop(key)
        self._routed = {**self.__dict__.get("_routed", {}), **routed}
        return super().set_params(**params) if params else self

    def __getattr__(self, name):
        # routed parameters read as attributes, as in scikeras (``est.fit__epochs``)
        if not name.startswith("__"):
            routed = self.__dict__.get("_routed", {})
            if name in routed:
                return routed[name]
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def __name__(self):
        return type(self).__name__

    @property
    def current_epoch(self):
        """Epochs trained so far (``len(history_["loss"])``)."""
        history = self.__dict__.get("history_")
        return len(history["loss"]) if history else 0

    @property
    def initialized_(self):
        """Whether the network exists (``initialize`` or ``fit`` was called)."""
        return "model_" in self.__dict__

    def __sklearn_is_fitted__(self):
        return self.initialized_

    # ----------------------------------------------------------- encoders
    @property
    def feature_encoder(self):
        """Transformer for X; override to feed several inputs.

        Returns a :class:`~skdeep.wrappers.encoders.ColumnGroups` when
        ``input_columns`` is set, else an identity transformer.
        """
        if self.input_columns is not None:
            return ColumnGroups(self.input_columns)
        return FunctionTransformer()

    @property
    def target_encoder(self):
        """Transformer for y; override to encode other targets."""
        return FunctionTransformer()

    def _get_metadata(self):
        """``meta``: the fitted attributes (public, ending in one ``_``)."""
        return {k: v for k, v in self.__dict__.items()
                if len(k) > 1 and k[-1] == "_" and k[-2] != "_" and k[0] != "_"}

    # -------------------------------------------------------------- data
    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        """Check X and y; record (``reset``) or check their shapes and dtypes."""
        name = type(self).__name__
        if y is not None:
            _check_no_missing_target(y)
            y = check_array(y, ensure_2d=False, allow_nd=False, dtype=(
                float_dtype() if y_numeric and is_text(y) else None),
                input_name="y")
            if y_numeric and y.dtype.kind not in "fiub":
                y = y.astype(float_dtype())
            if reset:
                self.target_type_ = self._type_of_target(y)
                self.y_dtype_ = y.dtype
                self.y_ndim_ = y.ndim
            elif self.y_ndim_ != y.ndim:
                raise ValueError(
                    f"y has {y.ndim} dimension(s), but this {name} was fitted "
                    f"on y with {self.y_ndim_}.")
        if is_streamed(X):  # its first rows checked, X itself not read
            if isinstance(X, np.memmap):
                inputs.check_memmap(X)
            if isinstance(X, dask_inputs.Blocks):  # zero rows, named as X's
                self._check_X(X.head, reset=reset)
            else:
                head = X.head[0] if isinstance(X, inputs.KerasData) else X
                self._check_X(np.asarray(head[:2]), reset=reset)
            if reset:
                self.X_shape_ = X.shape
        elif X is not None:
            if isinstance(X, pd.DataFrame) and self.input_columns is not None:
                raw = X
            else:
                raw = None
            X = self._check_X(X, reset=reset)
            if raw is not None:
                X = raw  # column groups select by name
        if (X is not None and y is not None and n_rows(X) != y.shape[0]
                and not isinstance(X, inputs.KerasData)):  # y: its classes
            raise ValueError(
                f"X and y have different numbers of rows: {n_rows(X)} and "
                f"{y.shape[0]}.")
        return X, y

    def _check_X(self, X, *, reset):
        return check_X(self, X, reset=reset)

    def _type_of_target(self, y):
        return type_of_target(y)

    # ------------------------------------------------------------ network
    def _random_seed(self):
        """The seed of a fit (``skdeep.engine.run.fit_seed``: a RandomState is
        read from a copy, never advanced; None draws from NumPy's generator,
        as scikit-learn does)."""
        return run.fit_seed(self.random_state)

    def _check_model_param(self):
        """The function that builds the network."""
        name = type(self).__name__
        model, build_fn = self.model, self.build_fn
        if model is None and build_fn is not None:
            warnings.warn(
                "``build_fn`` will be renamed to ``model`` in a future release, at "
                f"which point use of ``build_fn`` will raise an Error instead. "
                f"Use {name}(model=...).", UserWarning, stacklevel=5)
            model = build_fn
        if model is None:
            if not hasattr(self, "_keras_build_fn"):
                raise ValueError(
                    f"{name} needs a network: pass model=<a keras.Model or a "
                    f"function returning one>, e.g. {name}(model=build_fn), or "
                    "define a _keras_build_fn method in a subclass. For a "
                    "ready-made network use skdeep.MLPClassifier / MLPRegressor.")
            return self._keras_build_fn
        import keras

        if isinstance(model, keras.Model):
            if rebuilds_from_config(model):
                return lambda: copy_model(model)
            warnings.warn(
                f"{type(model).__name__} takes constructor arguments but defines no "
                "get_config, so Keras cannot copy it: the network you passed is "
                "trained in place (as scikeras does). Define get_config() to keep "
                "your object untouched and to pickle the fitted estimator.",
                SkdeepWarning, stacklevel=5)
            return lambda: model
        if not callable(model):
            raise TypeError(
                f"{name}(model=...) must be a keras.Model, a callable returning "
                f"one, or None (with a _keras_build_fn method); got "
                f"{type(model).__name__}.")
        if hasattr(self, "_keras_build_fn"):
            raise ValueError(
                f"{name} defines _keras_build_fn, so it cannot also take "
                "model=...; pass one or the other.")
        return model

    def _get_compile_kwargs(self):
        """``keras.Model.compile`` arguments with optimizer, loss, metrics built."""
        return build_compile_kwargs(self.get_params(), self._compile_kwargs)

    def _build_keras_model(self):
        """Call the build function with what its signature asks for."""
        fn = self._check_model_param()
        routed = self.__dict__.get("_routed", {})
        check_routed_names(routed, owner=type(self).__name__)
        passed_on = self._compile_kwargs | self._fit_kwargs | self._predict_kwargs
        kwargs = {k: v for k, v in routed.items()
                  if "__" not in k and k not in passed_on}
        kwargs.update(route_params(routed, "model", strict=True))
        available = {"meta": self._get_metadata,
                     "compile_kwargs": self._get_compile_kwargs,
                     "params": self.get_params}
        kwargs = {**self._subclass_params_named_by(fn, set(kwargs) | set(available)),
                  **kwargs}
        args = build_fn_arguments(fn, owner=type(self).__name__, kwargs=kwargs,
                                  available=available)
        with training.seeded_build(self._seed):
            model = fn(**args)
        import keras

        if not isinstance(model, keras.Model):
            raise TypeError(
                f"The network of {type(self).__name__} must be a keras.Model; the "
                f"build function returned {type(model).__name__}.")
        return model

    def _subclass_params_named_by(self, fn, taken):
        """The parameters a subclass declares in its ``__init__`` that the build
        function names in its signature (not through ``**kwargs``, so a
        scikeras-style ``_keras_build_fn(self, **kwargs)`` gets what it gets
        there), except names given another way (``taken``)."""
        try:
            parameters = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return {}
        named = {n for n, p in parameters.items()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        declared = set()
        for klass in type(self).__mro__:
            if (not isinstance(klass, type) or not issubclass(klass, BaseWrapper)
                    or klass.__module__.startswith("skdeep.")):
                continue  # skdeep's own classes: their parameters are routed
            init = klass.__dict__.get("__init__")
            if init is not None:
                declared.update(inspect.signature(init).parameters)
        return {name: getattr(self, name) for name in sorted(declared & named - taken)
                if "__" not in name and name != "self" and hasattr(self, name)}

    def _default_loss(self):
        """The loss when ``loss=None`` and the network is not compiled."""
        raise ValueError(
            "You must provide a loss or a compiled model: pass loss=... (e.g. "
            f"{type(self).__name__}(loss='mse')) or compile the network in the "
            "build function.")

    def _ensure_compiled_model(self):
        model = self.model_
        if not model.compiled:
            kwargs = self._get_compile_kwargs()
            if kwargs.get("loss") is None:
                kwargs["loss"] = self._default_loss()
            model.compile(**kwargs)
            self._owns_compile = True
        if not _has_loss(getattr(model, "loss", None)):
            name = type(self).__name__
            if self.loss is None:
                example = ("sparse_categorical_crossentropy" if is_classifier(self)
                           else "mse")
                fix = (f"Pass loss=... (e.g. {name}(loss={example!r})) and compile "
                       "with model.compile(**compile_kwargs) in the build "
                       "function, or compile with model.compile(loss=..., "
                       "optimizer=...).")
            else:
                fix = (f"loss={self.loss!r} only compiles a network that is not "
                       "compiled yet: compile with model.compile(**compile_kwargs) "
                       "in the build function (compile_kwargs holds the loss), or "
                       "return the network uncompiled.")
            raise ValueError(
                "You must provide a loss or a compiled model: the network came "
                f"compiled without a loss. {fix}")
        if not getattr(model, "optimizer", None):
            raise ValueError("You must provide an optimizer or a compiled model.")

    def _check_model_compatibility(self, y):
        """Catch a network that cannot fit y before Keras does, cryptically."""
        import keras

        expected = getattr(self, "n_outputs_expected_", None)
        outputs = len(self.model_.outputs) if has_outputs(self.model_) else None
        split = isinstance(y, (list, tuple)) and len(y) == outputs
        if expected and outputs is not None and expected != outputs and not split:
            raise ValueError(
                f"The target needs a network with {expected} output(s), but the "
                f"network has {outputs}.")
        loss, compiled = self.loss, self.model_.loss
        if loss is not None and all(isinstance(x, (str, keras.losses.Loss, type))
                                    for x in (loss, compiled)):
            if loss_name(loss) != loss_name(compiled):
                raise ValueError(
                    f"loss={loss!r}, but the network was compiled with "
                    f"{compiled!r}: the data may not match the loss. Drop the "
                    "loss parameter or compile with compile_kwargs['loss'].")

    def _initialize_callbacks(self):
        params = self.get_params()
        shared = build_callbacks(params, "callbacks")
        self._fit_callbacks = shared + build_callbacks(params, "fit__callbacks")
        self._predict_callbacks = shared + build_callbacks(params, "predict__callbacks")

    def _initialize(self, X, y=None):
        self._seed = self._random_seed()
        for attr in ("history_", "model_", "_owns_compile", "_network_key"):
            self.__dict__.pop(attr, None)
        self._input_signature = _input_signature(X, y)
        X, y = self._validate_data(X, y, reset=True)
        self.target_encoder_ = self.target_encoder.fit(y)
        self.__dict__.update(getattr(self.target_encoder_, "get_metadata", dict)())
        self.feature_encoder_ = self.feature_encoder.fit(X)
        self.__dict__.update(getattr(self.feature_encoder_, "get_metadata", dict)())
        self.model_ = self._build_keras_model()
        self._initialize_callbacks()
        return X, y

    def initialize(self, X, y=None):
        """Build the network without training it (e.g. a pretrained model)."""
        self._initialize(X, y)
        return self

    # ------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None, **kwargs):
        """Build the network and train it on ``(X, y)``.

        ``**kwargs`` go to ``keras.Model.fit`` (``epochs``, ``batch_size``,
        ...), over the estimator's ``fit__`` and plain parameters. With
        ``warm_start=True`` a fitted network keeps its weights.

        X may also be a NumPy memmap, read batch by batch (never whole; the
        ``validation_split`` rows held out by index), or a Keras dataset
        (``keras.utils.PyDataset``, ``tf.data.Dataset``) yielding batches
        ``(x, y)`` or ``(x, y, sample_weight)`` with ``y=None``: it is read
        once first (its width; a classifier's classes from its labels), then
        trained in its own order; validation rows come as
        ``validation_data=(X_val, y_val)``.
        """
        if y is None and not inputs.is_keras_dataset(X):
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None. Pass the targets: fit(X, y).")
        kwargs["epochs"] = kwargs.get(
            "epochs", self.__dict__.get("_routed", {}).get("fit__epochs", self.epochs))
        kwargs["initial_epoch"] = kwargs.get("initial_epoch", 0)
        self._fit(X, y, sample_weight=sample_weight, warm_start=self.warm_start,
                  **kwargs)
        return self

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train one epoch from the current weights; ``history_`` grows.

        X and y keep the kind of data of the first call (as in a warm-start
        ``fit``): another width passes (float64 after float32), text after
        numbers or numbers after text raise, as does a dtype that NumPy
        does not cast safely to the first one (int64 X after float32 X) and
        another shape of y per sample.
        """
        for arg in ("epochs", "initial_epoch"):
            if arg in kwargs:
                raise TypeError(
                    f"partial_fit got {arg}={kwargs[arg]!r}, but it always "
                    "trains one epoch from the current one; call fit for more.")
        self._fit(X, y, sample_weight=sample_weight, warm_start=True, epochs=1,
                  initial_epoch=self.current_epoch, **kwargs)
        return self

    def _fit(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        dataset = inputs.is_keras_dataset(X)
        custom_features = self.input_columns is not None or (
            type(self).feature_encoder is not BaseWrapper.feature_encoder)
        if dataset:  # read once: its width and (classifiers) its classes
            params = self.get_params()
            settings = {k: params.get(k) for k in ("validation_split", "class_weight")}
            check_dataset_fit(self, y, sample_weight, {
                **settings, **route_params(params, "fit"), **kwargs},
                custom_features=custom_features)
            X = inputs.scan(X, labels=is_classifier(self))
            y = X.labels if X.labels is not None else X.head[1]
        elif any(map(dask_inputs.is_dask, (X, y, sample_weight))):
            # X read block by block; y and the weights (a column) in memory
            if dask_inputs.is_dask(X):
                check_dask_fit(self, custom_features)
                X = dask_inputs.blocks(X)
            y, sample_weight = dask_inputs.gather(y), dask_inputs.gather(sample_weight)
        if (self.warm_start or warm_start) and self.initialized_:
            _check_same_inputs(self, self.__dict__.get("_input_signature"), X, y,
                               strict_y_ndim=True)
            X, y = self._validate_data(X, y)
        else:
            X, y = self._initialize(X, y)
        self._ensure_compiled_model()
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X if not isinstance(
                X, (dict, list, tuple)) else np.empty(n_rows(X)),
                dtype=float_dtype())
            if not np.any(sample_weight):
                raise ValueError(
                    "sample_weight is zero for every sample: there is nothing to "
                    "train on. Give at least one non-zero weight.")
            keep = np.flatnonzero(sample_weight)
            X, y, sample_weight = rows(X, keep), y[keep], sample_weight[keep]
        y_enc = self._match_outputs(self.target_encoder_.transform(y))
        if dataset:  # each batch's y encoded as it is read
            X_enc = X
            X.encode = lambda batch: self._match_outputs(
                self.target_encoder_.transform(batch))
        else:
            X_enc = self.feature_encoder_.transform(X)
        self._check_model_compatibility(y_enc)
        self._fit_keras_model(X_enc, y_enc, sample_weight=sample_weight,
                              warm_start=warm_start, epochs=epochs,
                              initial_epoch=initial_epoch, **kwargs)

    def _match_outputs(self, y):
        """Split a 2-D y over a network with one output per column."""
        if isinstance(y, (list, tuple, dict)) or not has_outputs(self.model_):
            return y
        outputs = self.model_.outputs
        y = np.asarray(y)
        if len(outputs) > 1 and y.ndim == 2 and y.shape[1] == len(outputs):
            return [y[:, [j]] for j in range(y.shape[1])]
        return y

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs,
                         initial_epoch, **kwargs):
        params = self.get_params()
        args = {k: params[k] for k in self._fit_kwargs if k in params}
        args.update(route_params(params, "fit"))
        args = {k: v for k, v in args.items() if not k.startswith("callbacks")}
        args.update(kwargs)
        for given in ("epochs", "initial_epoch"):  # resolved by fit / partial_fit
            args.pop(given, None)
        n = n_rows(X)
        for key in ("batch_size", "validation_batch_size"):
            if args.get(key) == -1:
                args[key] = n
        batch_size = args.pop("batch_size", None) or _DEFAULT_BATCH_SIZE
        class_weight = args.pop("class_weight", None)
        if class_weight is not None:
            sample_weight = class_weights(class_weight, y, sample_weight)
        X, y, sample_weight, validation = hold_out(
            self, X, y, sample_weight, args.pop("validation_data", None),
            args.pop("validation_split", 0.0) or 0.0)
        args.pop("sample_weight", None)
        verbose = args.pop("verbose", self.verbose)
        shuffle = args.pop("shuffle", True)
        model = self.model_
        compile_kwargs = None
        if self.__dict__.get("_owns_compile"):  # what skdeep compiled it with
            compile_kwargs = {k: params[k] for k in self._compile_kwargs
                              if k in params}
            compile_kwargs.update(route_params(params, "compile"))
        spec = run.TrainingSpec(
            epochs=epochs, batch_size=min(batch_size, n_rows(X)), seed=self._seed,
            epoch_offset=initial_epoch, callbacks=self._fit_callbacks,
            verbose=verbose, shuffle=shuffle, fit_kwargs=args,
            network_key=(engine.network_key(model, X.shape[1:])
                         if _loop_input(X) else None),
            make_template=self._make_template, compile_kwargs=compile_kwargs)
        history, compiled = run.fit(model, (X, y, sample_weight), validation, spec)
        if compiled:  # predictions may share the loop's forward pass
            self._network_key = spec.network_key
        fresh = (not warm_start or "history_" not in self.__dict__
                 or initial_epoch == 0)
        self.history_ = defaultdict(list, run.record_history(
            None if fresh else self.history_, [history], rename=metric_name))

    def _make_template(self):
        """Another network like the fitted one (for the compiled loop's cache,
        ``skdeep.engine.cache``)."""
        import keras

        with training.seeded_build(0):
            return keras.models.clone_model(self.model_)

    # --------------------------------------------------------- predicting
    @quiet_retracing()
    def _predict_raw(self, X, **kwargs):
        if not self.initialized_:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' (or 'initialize') before using this estimator.")
        if inputs.is_keras_dataset(X):  # x of each batch, in order
            import keras

            parts = [self._network_outputs(x, **kwargs)
                     for x in inputs.x_batches(X)]
            if not parts:
                raise ValueError("The dataset yields no batches: nothing to "
                                 "predict.")
            return keras.tree.map_structure(lambda *p: np.concatenate(p), *parts)
        return self._network_outputs(X, **kwargs)

    def _network_outputs(self, X, **kwargs):
        X, _ = self._validate_data(X=X)
        X = self.feature_encoder_.transform(X)
        params = self.get_params()
        args = {k: params[k] for k in self._predict_kwargs if k in params}
        args.update(route_params(params, "predict", strict=True))
        args = {k: v for k, v in args.items() if not k.startswith("callbacks")}
        args.update(kwargs)
        if args.get("batch_size") == -1:
            args["batch_size"] = n_rows(X)
        if args.get("batch_size") is None:
            args.pop("batch_size", None)
        args.setdefault("callbacks", self._predict_callbacks)
        key = self.__dict__.get("_network_key")
        if inputs.streams(X):  # a memmap: read chunk by chunk
            if args["callbacks"]:
                batch = args.pop("batch_size", None) or _DEFAULT_BATCH_SIZE
                return self.model_.predict(
                    inputs.batches((X,), batch, 0, 0, False), **args)
            return engine.predict(self.model_, X, key=key,
                                  make_template=self._make_template,
                                  chunk=args.get("batch_size") or PREDICT_CHUNK)
        if key is not None and not args["callbacks"] and (
                set(args) <= {"batch_size", "verbose", "callbacks"}):
            # a network trained by the compiled loop: the engine's padded
            # forward pass, on the shared traced function of its config
            return engine.predict(self.model_, X if sp.issparse(X) else _dense(X),
                                  key=key, make_template=self._make_template,
                                  chunk=args.get("batch_size") or PREDICT_CHUNK)
        if sp.issparse(X):
            X = np.asarray(X.toarray())
        n = n_rows(X)
        if (isinstance(X, np.ndarray) and X.dtype.kind in "biuf" and n
                and not args["callbacks"]):
            # Keras's predict, every batch full (padded with zero rows): a
            # row's output does not depend on the rows that came with it
            import keras

            padded = -n % (args.get("batch_size") or 32)
            X = np.concatenate([X, np.zeros((padded, *X.shape[1:]), X.dtype)])
            return keras.tree.map_structure(lambda out: out[:n],
                                            self.model_.predict(X, **args))
        return self.model_.predict(X, **args)

    def predict(self, X, **kwargs):
        """Predictions for X (``**kwargs`` go to ``keras.Model.predict``);
        for a Dask X, a lazy Dask array computed block by block."""
        if is_lazy_dask(X):
            return lazy(self, "predict", X, kwargs)
        raw = self._predict_raw(X, **kwargs)
        return self.target_encoder_.inverse_transform(raw)

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        raise NotImplementedError(
            "BaseWrapper has no scorer; subclass KerasClassifier or KerasRegressor, "
            "or define a scorer staticmethod.")

    def score(self, X, y=None, sample_weight=None):
        """The estimator's ``scorer`` on ``(X, y)`` (``score__`` params go to it).

        For a Keras dataset X (``y=None``), the targets and weights of its
        batches against the predictions of their x, read in one pass; for a
        Dask X, its predictions computed once, block by block (a Dask y or
        sample_weight is computed into memory).
        """
        if dask_inputs.is_dask(X):
            return _dask.score(self, BaseWrapper._score, X, y, sample_weight)
        return self._score(X, y, sample_weight)

    def _score(self, X, y=None, sample_weight=None):
        if inputs.is_keras_dataset(X):
            y, y_pred, sample_weight = _dataset_scoring(self, X, y, sample_weight,
                                                        self.predict)
            return self.scorer(y, y_pred, sample_weight=sample_weight,
                               **route_params(self.get_params(), "score"))
        _, y = self._validate_data(X=None, y=y)
        keep = None
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, y,
                                                 dtype=float_dtype())
            keep = sample_weight != 0
            y, sample_weight = y[keep], sample_weight[keep]
            if not inputs.streams(X):  # a memmap: every row predicted, not copied
                X, keep = take(X, keep), None
        y_pred = self.predict(X)
        if keep is not None:
            y_pred = take(y_pred, keep)
        return self.scorer(y, y_pred, sample_weight=sample_weight,
                           **route_params(self.get_params(), "score"))

    # ------------------------------------------------------------ pickling
    def __copy__(self):
        # shares the network (not the PickledModel of ``__getstate__``)
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __getstate__(self):
        import keras

        state = dict(self.__dict__)
        for key in ("model_", "model"):  # networks of any class, registered or not
            if isinstance(state.get(key), keras.Model):
                state[key] = PickledModel(state[key])
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = self.random_state is None
        return tags


def _has_loss(loss):
    """Whether a compiled loss (or a list / dict of them) names any loss."""
    if isinstance(loss, (list, tuple)):
        return any(_has_loss(part) for part in loss)
    if isinstance(loss, dict):
        return any(_has_loss(part) for part in loss.values())
    return loss is not None


def _dense(part):
    part = part.toarray() if sp.issparse(part) else part
    return np.asarray(part, dtype=np.float32)
