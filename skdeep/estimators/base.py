"""``BaseKerasEstimator``: the fit / predict lifecycle shared by every estimator.

``fit`` is a sequence of named steps that subclasses can override:

1. validate parameters and data, encode the target (classifier / regressor
   subclasses: ``_fit_target``, ``_transform_target``);
2. ``_split``: hold out the early-stopping validation rows;
3. ``_build_network``: build the network (``_build_keras_model``) under a
   seeded build, or, for a warm start, ``_check_architecture``;
4. ``_training_spec``: the parameters as a ``skdeep.engine.run.TrainingSpec``;
   the engine compiles the network and trains it (``skdeep.engine.run.fit``
   decides between the compiled loop and ``keras.Model.fit``);
5. ``_extra_phases``: further phases (fine-tuning; in fit, never in
   ``partial_fit``), then ``history_``.

A fit seeds nothing globally: every random draw comes from the fit's seed
(layers seeded at build, stateless shuffles keyed by seed and epoch).
"""

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skdeep import engine
from skdeep._compat import (
    HasMethods,
    Interval,
    StrOptions,
    check_sample_weight,
    validate_data,
)
from skdeep.engine import dask_inputs, inputs, run, training
from skdeep.engine.forward_pass import PREDICT_CHUNK
from skdeep.engine.process import quiet_retracing
from skdeep.engine.routing import route_params
from skdeep.estimators._inputs import (
    _check_no_missing_target,
    _check_same_inputs,
    _input_signature,
)
from skdeep.exceptions import NotFittedError, SkdeepWarning

__all__ = ["TRAINING_PARAMS", "BaseKerasEstimator", "find_network",
           "is_network_estimator"]

# Dense values per chunk when X is sparse (rows densified chunk by chunk).
_SPARSE_CHUNK_VALUES = 2**24

# Parameters that configure training, not the network: a warm start may
# change them; any other parameter defines the network.
TRAINING_PARAMS = frozenset({
    "optimizer", "learning_rate", "momentum", "lr_schedule", "lr_decay",
    "batch_size", "epochs", "early_stopping", "early_stopping_metric",
    "validation_fraction", "patience",
    "tol", "random_state", "verbose", "warm_start", "callbacks", "class_weight",
    "loss", "metrics", "fine_tune_epochs", "fine_tune_learning_rate",
})


def is_network_estimator(obj):
    """Whether ``obj`` is a skdeep estimator that trains a Keras network
    (a ready-made one or a generic wrapper)."""
    return bool(getattr(obj, "_skdeep_estimator", False)) and not isinstance(obj, type)


def find_network(estimator):
    """Return ``(network_estimator, prefix)`` for an estimator or a pipeline.

    The prefix is what a parameter name needs in front to reach the network
    (``"model__"`` in a :func:`make_tabular_pipeline`, ``""`` for a bare
    estimator). In a pipeline that ends in a scikit-learn estimator, the
    first skdeep step (an ``AutoencoderTransformer``, say) is the network.
    """
    if isinstance(estimator, Pipeline):
        name, step = estimator.steps[-1]
        inner, prefix = find_network(step)
        if not is_network_estimator(inner):
            # e.g. an AutoencoderTransformer step before a scikit-learn model
            for earlier, step in estimator.steps[:-1]:
                if is_network_estimator(step):
                    return step, f"{earlier}__"
        return inner, f"{name}__{prefix}"
    inner = getattr(estimator, "estimator", None)  # e.g. a search or wrapper
    if inner is not None and not is_network_estimator(estimator):
        found, prefix = find_network(inner)
        return found, f"estimator__{prefix}"
    return estimator, ""


def _already_valid(X, y="no_validation", *, reset):
    return X


def _check_early_stopping_metric(est):
    """Raise if ``early_stopping_metric`` is not one the estimator can watch."""
    from sklearn.metrics import get_scorer_names

    metric = est.early_stopping_metric
    name = type(est).__name__
    if est._score_metric is None and metric != "loss":
        raise ValueError(
            f"The 'early_stopping_metric' parameter of {name} must be 'loss': "
            f"a {name} has no predictions to score. Got {metric!r} instead."
        )
    if metric in ("loss", "score") or metric in get_scorer_names():
        return
    options = ", ".join(repr(n) for n in get_scorer_names())
    raise ValueError(
        f"The 'early_stopping_metric' parameter of {name} must be 'loss' (the "
        f"network's loss, lower is better), 'score' (the estimator's score: "
        f"{est._score_metric}) or a scikit-learn scorer name (greater is "
        f"better), one of: {options}. Got {metric!r} instead."
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
    # Keras's own layers, that may train on the compiled loop (``skdeep.engine.run``)
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
        "early_stopping_metric": [str],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, tuple, None],
    }

    _y_numeric = False
    # the scorer of early_stopping_metric="score" (None: only "loss" allowed)
    _score_metric = None

    # ------------------------------------------------------------------ params
    def _routed_params(self):
        """Routed ``model__x``-style parameters (generic wrappers only)."""
        return {}

    def _validate_all_params(self):
        """Parameter constraints, then the subclass's own checks."""
        from skdeep._compat import validate_parameter_constraints

        names = set(self._get_param_names())  # inspects the signature: once
        constraints = {
            k: v for k, v in self._parameter_constraints.items() if k in names
        }
        validate_parameter_constraints(
            constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )
        if "early_stopping_metric" in constraints:
            _check_early_stopping_metric(self)
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

        Sparse X stays sparse: it is densified one batch at a time. A memmap
        stays on disk: its dtype and shape are checked on its first rows, and
        it is read batch by batch (``skdeep.engine.inputs``), and so is a
        Dask array or DataFrame, block by block (its metadata checked).
        """
        if dask_inputs.is_dask(X):
            X = dask_inputs.blocks(X)
        if isinstance(X, (np.memmap, dask_inputs.Blocks)):
            return self._validate_memmap(X, y, reset=reset)
        if isinstance(X, inputs.KerasData):  # batches checked as they are read
            validate_data(self, X.head[0][:2].astype(np.float32), reset=reset)
            return X if isinstance(y, str) and y == "no_validation" else (X, y)
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

    def _validate_memmap(self, X, y, *, reset):
        """Check memmap X without reading it whole: scikit-learn validates
        its first rows (dtype, number of features) and y in full (in memory);
        X itself is returned unread (values are not checked for NaN). Dask X
        (``dask_inputs.Blocks``): the same checks on zero rows shaped and
        named as its blocks."""
        from sklearn.utils import check_array, check_consistent_length

        if isinstance(X, dask_inputs.Blocks):
            head = X.head
        else:
            inputs.check_memmap(X)
            head = np.asarray(X[:2], dtype=np.float32)
        validate_data(self, head, reset=reset, dtype=np.float32)
        if isinstance(y, str) and y == "no_validation":
            return X
        y = check_array(y, ensure_2d=False, dtype="numeric" if self._y_numeric
                        else None, input_name="y")
        check_consistent_length(X, y)
        return X, y

    def _prepare_sample_weight(self, sample_weight, X, y_raw):
        """Merge ``sample_weight`` and ``class_weight``; normalise to mean 1.

        Only relative weights matter; normalising keeps the effective learning
        rate independent of the scale of the weights.
        """
        if sample_weight is None and getattr(self, "class_weight", None) is None:
            return None
        sw = check_sample_weight(sample_weight, X, dtype=np.float64)
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
    def fit(self, X, y=None, sample_weight=None):
        """Train the network on ``(X, y)``.

        With ``early_stopping=True``, ``validation_fraction`` of the rows are
        held out (stratified for classifiers) and training stops when their
        loss (or score: ``early_stopping_metric``) has not improved by
        ``tol`` for ``patience`` epochs, keeping the best weights. With
        ``warm_start=True`` and a fitted network, training continues from
        its weights: changed training parameters (optimizer,
        learning rate, schedule, batch size, epochs, ...) take effect with a
        new optimizer, a changed architecture raises, and ``history_`` and
        ``n_iter_`` go on from where they were.

        Parameters
        ----------
        X : {array-like, sparse matrix, memmap, Dask collection, Keras dataset}
            Training data of shape (n_samples, n_features). Sparse matrices
            are densified one batch at a time; a NumPy memmap is read batch
            by batch, never whole; a Dask array or DataFrame block by block
            (blocks in a seeded shuffled order and a shuffle buffer; whole
            blocks held out for early stopping). A ``keras.utils.PyDataset`` or a
            ``tf.data.Dataset`` yields batches ``(x, y)`` or ``(x, y,
            sample_weight)`` and is trained in its own order: it is read
            once first (its width, a classifier's classes), and early
            stopping watches the training loss (no rows are held out).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels for classifiers); None for a Keras
            dataset. A Dask y is computed into memory.
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
        epoch per call. X and y keep the kind of data of the first call (as
        do warm-start fits): another width passes (float64 after float32),
        numbers after text or text after numbers raise, and so does a dtype
        that does not cast safely to the first one (int64 X after float32
        X), as does another shape of y per sample.

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
        dataset = inputs.is_keras_dataset(X)
        if dataset:  # read once: its width and (classifiers) its classes
            X, y, validate = self._scan_dataset(X, y, sample_weight, validate)
        elif any(map(dask_inputs.is_dask, (X, y, sample_weight))):
            # X read block by block; y and the weights (a column) in memory
            X = dask_inputs.blocks(X) if dask_inputs.is_dask(X) else X
            y, sample_weight = dask_inputs.gather(y), dask_inputs.gather(sample_weight)
        _check_no_missing_target(y)
        if continuing:
            _check_same_inputs(self, self.__dict__.get("_input_signature"), X, y,
                               strict_y_ndim=False)
        signature = _input_signature(X, y)
        X, y = self._validate_X(X, y, reset=not continuing)
        if not continuing:
            self._input_signature = signature
        y_enc = (self._transform_target(y) if continuing
                 else self._fit_target(y, **target_kwargs))
        sw = self._prepare_sample_weight(sample_weight, X, y)
        seed = self._random_seed()
        train, validation = self._split(X, y_enc, sw, seed, validate)
        offset = len(self.history_["loss"]) if continuing else 0
        if continuing:
            model = self.model_
            self._check_architecture()
        else:
            model = self._build_network(seed)
        spec = self._training_spec(model, train, seed=seed, epochs=epochs,
                                   epoch_offset=offset)
        spec.score, spec.score_in_graph = self._monitored_score(validation or train)
        if continuing:
            run.continue_network(model, spec, train, validation, partial=partial)
        elif spec.compile_kwargs is not None:
            run.compile_network(model, spec, train, validation)
        data, val = self._loss_data(model, train, validation)  # as compiled
        histories = [self._engine_fit(model, data, val, spec)]
        for prepare, phase_epochs, phase_lr in (
                () if continuing or partial else self._extra_phases()):
            prepare(model)  # e.g. unfreeze layers for fine-tuning
            offset += len(histories[-1]["loss"])
            spec = self._training_spec(model, data, seed=seed, epochs=phase_epochs,
                                       epoch_offset=offset, learning_rate=phase_lr)
            spec.score, spec.score_in_graph = self._monitored_score(
                validation or train)
            spec.network_key = None  # trainable layers changed: keras.Model.fit
            run.compile_network(model, spec, data, val, force_keras=True)
            histories.append(self._engine_fit(model, data, val, spec))
        self.model_ = model
        self.history_ = run.record_history(
            self.history_ if continuing else None, histories)
        self.n_iter_ = len(self.history_.get("loss", ()))
        return self

    def _monitored_score(self, rows):
        """``(score, in_graph)``: the function ``model -> float`` early
        stopping watches instead of the loss, and its name among the scores
        the compiled loop computes (``skdeep.engine.scores``) or None; both
        None for ``early_stopping_metric="loss"``. ``score`` is the metric's
        scorer on ``rows`` = ``(X, encoded y, sample_weight or None)``, of the
        network's predictions made as ``predict`` makes them."""
        metric = self.__dict__.get("early_stopping_metric", "loss")
        if metric == "loss":
            return None, None
        from sklearn.metrics import get_scorer

        X, y_enc, sw = rows
        y_true = self._decode_target(y_enc)
        scorer = get_scorer(self._score_metric if metric == "score" else metric)
        kwargs = {} if sw is None else {"sample_weight": sw}
        view = copy.copy(self)  # this estimator, predicting with the network
        view._network_key = None
        view._validate_X = _already_valid  # rows of fit: validated, encoded

        def score(model):
            view.model_ = model
            return scorer(view, X, y_true, **kwargs)

        return score, (self._graph_score() if metric == "score" else None)

    def _graph_score(self):
        """The name of ``"score"`` in ``skdeep.engine.scores``, or None."""
        return None

    def _decode_target(self, y_enc):
        """The target as the user gave it, from its encoded form."""
        raise NotImplementedError

    def _scan_dataset(self, X, y, sample_weight, validate):
        """A Keras dataset read once (``skdeep.engine.inputs.scan``):
        ``(data, y, validate)`` where y stands for the dataset's targets (a
        classifier's classes, else the first batch's) and there is no
        validation split (the dataset has no rows to hold out: early
        stopping watches the training loss)."""
        from sklearn.base import is_classifier

        if y is not None or sample_weight is not None or getattr(
                self, "class_weight", None) is not None:
            raise ValueError(
                f"{type(self).__name__}.fit got a Keras dataset, which yields "
                "its own targets and weights as batches (x, y) or (x, y, "
                "sample_weight), and also y, sample_weight or class_weight. "
                "Call fit(dataset) with y=None and put the weights in the "
                "batches.")
        data = inputs.scan(X, labels=is_classifier(self))
        return data, (data.labels if data.labels is not None else data.head[1]), False

    def _engine_fit(self, model, data, validation, spec):
        try:
            history, compiled = run.fit(model, data, validation, spec)
        except Exception as exc:  # a Dask block's error, as tf.data wrapped it
            failure = dask_inputs.read_failure(data[0])
            if failure is None:
                raise
            raise failure from exc
        if compiled:  # predictions may share the loop's forward pass
            self._network_key = spec.network_key
        return history

    def _random_seed(self):
        """The fit's seed: from ``random_state`` (an int touches no global
        generator, a RandomState is not advanced; None draws from NumPy's, as
        scikit-learn does)."""
        return run.fit_seed(self.random_state)

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
        if isinstance(X, dask_inputs.Blocks):  # whole blocks held out, unread
            parts = dask_inputs.split(X, (y, sample_weight), seed, n_val)
            if parts is None:
                warnings.warn(
                    "early_stopping holds out whole blocks of a Dask X, but X "
                    "has a single block; training on all samples and stopping "
                    "on the training loss instead. Rechunk X into several "
                    "blocks (X.rechunk / X.repartition).", SkdeepWarning,
                    stacklevel=4)
                return (X, y, sample_weight), None
            return parts
        if inputs.streams(X):  # rows held out by index, X unread
            return self._split_rows(X, y, sample_weight, seed, n_val, stratify)
        arrays = [X, y] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(*arrays, test_size=n_val, random_state=seed,
                                 stratify=stratify)
        sw_train, sw_val = parts[4:6] if sample_weight is not None else (None, None)
        return (parts[0], parts[2], sw_train), (parts[1], parts[3], sw_val)

    @staticmethod
    def _split_rows(X, y, sample_weight, seed, n_val, stratify):
        """``_split`` for memmap X, as sorted row indices (X is not read).

        scikit-learn's stratified split needs several int64 copies of the
        labels (0.6 GB for 8 million rows), so this one draws per class:
        each class gives its share of the ``n_val`` rows (largest
        remainders), drawn by ``np.random.default_rng(seed)``.
        """
        rng = np.random.default_rng(seed)
        n = X.shape[0]
        if stratify is None or stratify.ndim != 1 or stratify.dtype.kind not in "iu":
            val = rng.choice(n, size=n_val, replace=False)
        else:
            counts = np.bincount(stratify)
            share = n_val * counts / n
            take = np.floor(share).astype(np.int64)
            extra = np.argsort(-(share - take), kind="stable")[:n_val - take.sum()]
            take[extra] += 1
            val = np.concatenate([
                rng.choice(np.flatnonzero(stratify == c), size=k, replace=False)
                for c, k in enumerate(take) if k])
        val = np.sort(val)
        keep = np.ones(n, bool)
        keep[val] = False
        train = np.flatnonzero(keep)
        del keep
        sw = sample_weight

        def part(a, index):  # a streamed y (an autoencoder's X) held by index too
            return inputs.Rows(a, index) if inputs.streams(a) else a[index]

        return ((inputs.Rows(X, train), part(y, train),
                 None if sw is None else sw[train]),
                (inputs.Rows(X, val), part(y, val), None if sw is None else sw[val]))

    def _build_network(self, seed):
        """Build a new network for this fit (compiled by the engine)."""
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
        # a build function may compile the network itself: then it is theirs
        self._owns_compile = not model.compiled
        return model

    def _check_architecture(self):
        """Raise if an architecture parameter changed since the network was built."""
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

    def _loss_data(self, model, train, validation):
        """``(train, validation)`` with the target as the loss takes it."""
        X, y, sw = train
        if isinstance(X, inputs.KerasData):  # each batch's y encoded as read
            X.encode = lambda batch: self._loss_target(
                self._transform_target(batch), model)
        data = (X, self._loss_target(y, model), sw)
        if validation is not None:
            Xv, yv, swv = validation
            validation = (Xv, self._loss_target(yv, model), swv)
        return data, validation

    def _training_spec(self, model, data, *, seed, epochs, epoch_offset,
                       learning_rate=None):
        """The :class:`~skdeep.engine.run.TrainingSpec` of one training call.

        ``learning_rate`` overrides the parameter (a fine-tuning phase).
        """
        n = data[0].shape[0]
        owns = self.__dict__.get("_owns_compile", True)
        key = None
        if self._pool_networks and owns:
            key = self.__dict__.get("_network_key") or engine.architecture_key(
                self, self._meta(), data[0].shape[1:])
        compile_kwargs = None
        if owns:
            compile_kwargs = {"loss": self._resolve_loss(model),
                              "metrics": getattr(self, "metrics", None)}
            compile_kwargs.update(route_params(self._routed_params(), "compile"))
        routed_fit = route_params(self._routed_params(), "fit")
        schedule = self.lr_schedule
        return run.TrainingSpec(
            epochs=epochs, batch_size=min(self.batch_size, n), seed=seed,
            epoch_offset=epoch_offset, restore_best=bool(self.early_stopping),
            patience=self.patience, tol=self.tol, schedule=schedule,
            lr_decay=self.lr_decay,
            schedule_epochs=self.epochs if learning_rate is None else epochs,
            callbacks=copy.deepcopy(list(self.callbacks or ())),
            verbose=self.verbose, shuffle=routed_fit.pop("shuffle", True),
            fit_kwargs=routed_fit, record_learning_rate=schedule != "constant",
            network_key=key, make_template=self._make_template,
            compile_kwargs=compile_kwargs,
            optimizer=run.OptimizerSpec(
                self.optimizer,
                self.learning_rate if learning_rate is None else learning_rate,
                momentum=self.momentum,
                kwargs=route_params(self._routed_params(), "optimizer")))

    def _resolve_loss(self, model):
        loss = getattr(self, "loss", None)
        if loss is None:
            loss = self._default_loss(model)
        loss_kwargs = route_params(self._routed_params(), "loss")
        if loss_kwargs:
            loss = training.make_loss(loss, loss_kwargs)
        return loss

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
        """Another network like the fitted one (for the compiled loop's cache,
        ``skdeep.engine.cache``)."""
        with training.seeded_build(0):
            return self._build_keras_model(self._meta(), seed=0)

    def _forward(self):
        """A function ``X -> network outputs`` for the fitted network: the one
        padded forward pass of ``skdeep.engine`` (its architecture's shared
        traced function when it has a cache key)."""
        model = self.model_
        key = self.__dict__.get("_network_key")
        chunk = route_params(self._routed_params(), "predict").get(
            "batch_size", PREDICT_CHUNK)
        return lambda X: engine.predict(model, X, key=key,
                                        make_template=self._make_template,
                                        chunk=self._chunk(X, chunk))

    @staticmethod
    def _chunk(X, chunk):
        if sp.issparse(X):  # rows densified chunk by chunk
            return min(chunk, max(1, _SPARSE_CHUNK_VALUES // max(1, X.shape[1])))
        return chunk

    @quiet_retracing()
    def _predict_raw(self, X):
        """Network outputs for X as a float64 array of shape (n, n_units)."""
        self._check_fitted()
        if inputs.is_keras_dataset(X):  # x of each batch, in order
            forward = self._forward()
            parts = [np.asarray(forward(self._validate_X(x, reset=False)))
                     for x in inputs.x_batches(X)]
            out = np.concatenate(parts).astype(np.float64, copy=False)
            return out.reshape(out.shape[0], -1)
        X = self._validate_X(X, reset=False)
        if isinstance(X, dask_inputs.Blocks):  # block by block, in order
            forward = self._forward()
            out = np.concatenate([np.asarray(forward(b)) for b in X.iter_blocks()])
        else:
            out = np.asarray(self._forward()(X))
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
