"""``TabularClassifier`` and ``TabularRegressor``: networks for tables that
take a raw DataFrame and are strong with their defaults.

Preprocessing (``_table_encoder.TableEncoder``), the network
(``skdeep.architectures.build_tabular``) and the training recipe (scheduled
AdamW-style optimizer, label smoothing, an ensemble trained on the mean of
its members' losses, best-epoch selection on held-out training rows) are
RealMLP's (Holzmüller et al. 2024) and TabM's (Gorishniy et al. 2025)
ingredients; the README's "Tables, better by default" has the benchmark.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_array, check_consistent_length

from skdeep._compat import Interval, StrOptions, validate_data
from skdeep.architectures.tabular import build_tabular, register_layers
from skdeep.estimators._docs import ATTR_DOC as _ATTR_DOC
from skdeep.estimators._docs import CLASS_WEIGHT_DOC as _CLASS_WEIGHT_DOC
from skdeep.estimators._table_encoder import TableEncoder
from skdeep.estimators.classifier import BaseKerasClassifier
from skdeep.estimators.regressor import BaseKerasRegressor

__all__ = ["TabularClassifier", "TabularRegressor"]

_TABULAR_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [str],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "n_ensemble": [Interval(Integral, 1, None, closed="left")],
    "numeric_embedding": [StrOptions({"periodic", "none"})],
    "n_frequencies": [Interval(Integral, 1, None, closed="left")],
    "numeric_embedding_dim": [Interval(Integral, 2, None, closed="left")],
    "frequency_scale": [Interval(Real, 0, None, closed="neither")],
    "category_embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "max_one_hot": [Interval(Integral, 1, None, closed="left")],
    "numeric_transform": [StrOptions({"robust", "quantile"})],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
}

_PARAMS_DOC = """
    hidden_layer_sizes : tuple of int, default=(256, 256) (classifier), \
(256, 256, 128) (regressor)
        Units of the hidden layers, shared by the ensemble's members.
    activation : str, default="selu" (classifier), "mish" (regressor)
        Activation of the hidden layers (a Keras name).
    dropout : float, default=0.15
        Dropout after every hidden layer.
    n_ensemble : int, default=4
        Members of the parameter-efficient ensemble (TabM-mini): they share
        every weight except a per-member sign vector applied to the input
        features and their own output layer; training minimises the mean of
        their losses and predictions average them. 1 gives a plain network.
        A training step costs about ``n_ensemble`` times a plain network's
        (every member's rows go through the shared layers); 4 was as
        accurate as 8 on the README's benchmark at 0.55 times the time.
    numeric_embedding : {"periodic", "none"}, default="periodic"
        ``"periodic"``: each number becomes ``numeric_embedding_dim`` values,
        itself and a learned linear map of ``cos(2 pi (w x + b))`` with
        ``n_frequencies`` learned frequencies (RealMLP's PBLD embedding).
    n_frequencies : int, default=16
    numeric_embedding_dim : int, default=4
    frequency_scale : float, default=0.1 (classifier), 1.0 (regressor)
        Standard deviation of the initial frequencies (of numbers scaled to
        about -3..3 by ``numeric_transform``); larger values let the
        embedding start with faster variation along each number.
    category_embedding_dim : int, default=8
        Size of the learned vector of each level of a category column with
        more than ``max_one_hot`` levels.
    max_one_hot : int, default=8
        Category columns with at most this many levels (missing counts as one)
        are one-hot encoded; others get learned embeddings.
    numeric_transform : {"robust", "quantile"}, default="robust" (classifier), \
"quantile" (regressor)
        How numbers are scaled before the network: ``"robust"`` centres each
        column on its median, divides by its interquartile range and clips
        smoothly, ``x / sqrt(1 + (x / 3) ** 2)`` (RealMLP's); ``"quantile"``
        maps it through its empirical distribution (up to 1,000 quantiles of
        the rows given to ``fit``) to a standard normal, like
        ``sklearn.preprocessing.QuantileTransformer(output_distribution=
        "normal")`` (TabM's choice; it undoes skewed and heavy-tailed
        columns, and keeps only their order: a strictly increasing change of
        a column does not change the fit).
    weight_decay : float, default=0.0
        Decoupled weight decay of AdamW on the layers' kernels (never on
        biases, embeddings or scales). A positive value trains with
        ``keras.Model.fit``, as skdeep's compiled loop cannot exclude them."""

_TRAINING_DOC = """
    optimizer : str or keras optimizer, default="adamw"
        As for the other estimators; ``"adam"`` and ``"adamw"`` use
        ``beta_2=0.95``.
    learning_rate : float, default=2e-3 (classifier), 1e-2 (regressor)
    momentum : float, default=0.0
    lr_schedule : str, default="cosine"
        Cosine decay to 0 over ``epochs``.
    lr_decay : float, default=0.5
    batch_size : int, default=256
    epochs : int, default=40
    early_stopping : bool, default=True
        Selects the epoch with the lowest loss on ``validation_fraction`` of
        the rows given to ``fit`` (inside cross-validation, rows of the
        training fold), restoring its weights.
    validation_fraction : float, default=0.2 (classifier), 0.1 (regressor)
    patience : int, default=40
        Equal to ``epochs``: the best epoch of the whole schedule is kept
        (the loss often improves late, as the learning rate decays).
    tol : float, default=0.0
    early_stopping_metric : str, default="loss"
        ``"loss"``, ``"score"`` (accuracy or R²) or a scikit-learn scorer
        name: what the best epoch is selected on (see ``MLPClassifier``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, shuffling, dropout and the validation split.
    verbose : int, default=0
    warm_start : bool, default=False
    callbacks : list of keras callbacks, default=None"""


class _TabularMixin:
    """Preprocessing, network and training recipe shared by both estimators."""

    _pool_networks = True

    # ------------------------------------------------------------------ data
    def _validate_X(self, X, y="no_validation", *, reset):
        """Check X's shape and columns; returns the encoded float32 matrix."""
        no_y = isinstance(y, str) and y == "no_validation"
        if sp.issparse(X):
            X = X.toarray()
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite=False,
                            estimator=self, input_name="X")
            if X.dtype.kind == "c":
                raise ValueError("Complex data not supported")
        elif X.shape[0] < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) "
                             f"while a minimum of 1 is required by "
                             f"{type(self).__name__}.")
        validate_data(self, X, skip_check_array=True, reset=reset)
        if not no_y:
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the "
                    "target y is None.")
            y = check_array(y, ensure_2d=False, dtype="numeric" if self._y_numeric
                            else None, ensure_all_finite=True, input_name="y",
                            estimator=self)
            check_consistent_length(X, y)
        if reset:
            self._encoder = TableEncoder(self.max_one_hot,
                                         self.numeric_transform).fit(X)
        Xt = self._encoder.transform(X)
        return Xt if no_y else (Xt, y)

    def _architecture_params(self):
        params = super()._architecture_params()
        # training settings (the target's smoothing, the optimizer's decay):
        # a warm start may change them
        params.pop("label_smoothing", None)
        params.pop("weight_decay", None)
        encoder = self.__dict__.get("_encoder")
        if encoder is not None:  # the table's columns shape the network too
            params["_layout"] = encoder.layout_
        return params

    # --------------------------------------------------------------- network
    def _check_params(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not sizes or not all(isinstance(s, Integral) and not isinstance(s, bool)
                                and s > 0 for s in sizes):
            raise ValueError(
                f"The 'hidden_layer_sizes' parameter of {type(self).__name__} "
                f"must be a non-empty sequence of positive integers, e.g. "
                f"(256, 256). Got {self.hidden_layer_sizes!r} instead.")
        import keras

        try:
            keras.activations.get(self.activation)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"The 'activation' parameter of {type(self).__name__} must be a "
                f"Keras activation name such as 'selu'. Got {self.activation!r} "
                "instead.") from exc
        return sizes

    def _build_keras_model(self, meta, seed=None):
        register_layers()
        return build_tabular(
            self._encoder.layout_, self._member_units(),
            classification=self._classification,
            hidden_layer_sizes=self._check_params(),
            activation=self.activation, dropout=self.dropout,
            n_ensemble=self.n_ensemble, numeric_embedding=self.numeric_embedding,
            n_frequencies=self.n_frequencies,
            numeric_embedding_dim=self.numeric_embedding_dim,
            frequency_scale=self.frequency_scale,
            category_embedding_dim=self.category_embedding_dim, seed=seed)

    def _output_units(self, model):
        units = super()._output_units(model)
        return None if units is None else units // self.n_ensemble

    # -------------------------------------------------------------- training
    def _training_spec(self, model, data, **kwargs):
        spec = super()._training_spec(model, data, **kwargs)
        opt = spec.optimizer
        if isinstance(self.optimizer, str) and self.optimizer in ("adam", "adamw"):
            opt.kwargs = {"beta_2": 0.95, **opt.kwargs}
            if self.optimizer == "adamw":
                opt.kwargs.setdefault("weight_decay", float(self.weight_decay))
            if self.weight_decay:
                # Keras's AdamW decays every variable unless told: not the
                # biases, embeddings, per-feature scales and ensemble adapters.
                # Keras matches with re.search, on "bias" or, in TensorFlow's
                # compiled step, "layer/bias:0": whole names only ("r" is
                # in "kernel")
                opt.no_weight_decay = (
                    r"(^|/)(bias|embeddings|scale|frequencies|phases|r)(:\d+)?$",)
        return spec

    # ------------------------------------------------------------ prediction
    def _graph_score(self):
        # predictions average the ensemble's members: the compiled loop's
        # score of plain outputs does not apply; scored from predict instead
        return None

    def _members_raw(self, X):
        """The members' raw outputs, shape (n, n_ensemble, units)."""
        raw = self._predict_raw(X)
        return raw.reshape(raw.shape[0], self.n_ensemble, -1)

    def __getstate__(self):
        # the network's custom layers must be registered before Keras
        # unpickles it: a marker pickled ahead of the rest registers them
        state = super().__getstate__()
        return {"_skdeep_layers": _LayerRegistration(), **state}

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_skdeep_layers", None)
        super().__setstate__(state)

    def _onnx_refusal(self):
        """Why export_onnx cannot write this estimator (None if it can)."""
        return (
            f"export_onnx cannot export {type(self).__name__}: its built-in "
            "table preprocessing (strings and categories read as Python "
            "objects, missing indicators, per-column robust scaling) has no "
            "ONNX converter. Export the network alone with "
            "skdeep.export.export_network(model, 'net.keras') (it reads "
            "model._encoder's matrix), or use "
            "make_tabular_pipeline(MLPClassifier()) for a model that exports "
            "whole.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class _LayerRegistration:
    """Pickled ahead of a tabular network: unpickling it registers the layers."""

    def __reduce__(self):
        return (register_layers, ())


class TabularClassifier(_TabularMixin, BaseKerasClassifier):
    __doc__ = f"""A network for tables that is strong with its defaults.

    Takes a raw ``pandas.DataFrame`` (numbers, strings, categories, booleans,
    missing values) or an array, NumPy object arrays included, with no
    pipeline in front: numbers are robustly scaled and smoothly clipped (with
    missing indicators) and embedded periodically, categories one-hot encoded
    or embedded; levels unseen at fit and missing values are handled. The
    network is an ensemble of ``n_ensemble`` members sharing their weights,
    trained with label smoothing on the mean of the members' losses under a
    cosine learning-rate schedule; the epoch with the best loss on held-out
    training rows is kept. Binary and multiclass targets.

    Parameters
    ----------{_PARAMS_DOC}
    label_smoothing : float, default=0.1
        Each member's target is ``(1 - label_smoothing)`` on the true class
        plus ``label_smoothing / n_classes`` on every class.{_TRAINING_DOC}{
        _CLASS_WEIGHT_DOC}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,){_ATTR_DOC}

    See Also
    --------
    TabularRegressor : the same for regression.
    skdeep.make_tabular_pipeline : preprocessing for the other estimators.

    Examples
    --------
    >>> import pandas as pd
    >>> from skdeep import TabularClassifier
    >>> X = pd.DataFrame({{"size": [1.0, 2.5, None, 4.0] * 10,
    ...                   "colour": ["red", "blue", "red", None] * 10}})
    >>> y = [0, 1, 0, 1] * 10
    >>> clf = TabularClassifier(epochs=3, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).sum().round(6)
    np.float64(1.0)
    """

    _classification = True
    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        **_TABULAR_CONSTRAINTS,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        activation="selu",
        dropout=0.15,
        n_ensemble=4,
        numeric_embedding="periodic",
        n_frequencies=16,
        numeric_embedding_dim=4,
        frequency_scale=0.1,
        category_embedding_dim=8,
        max_one_hot=8,
        numeric_transform="robust",
        label_smoothing=0.1,
        weight_decay=0.0,
        optimizer="adamw",
        learning_rate=2e-3,
        momentum=0.0,
        lr_schedule="cosine",
        lr_decay=0.5,
        batch_size=256,
        epochs=40,
        early_stopping=True,
        validation_fraction=0.2,
        patience=40,
        tol=0.0,
        early_stopping_metric="loss",
        class_weight=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.n_ensemble = n_ensemble
        self.numeric_embedding = numeric_embedding
        self.n_frequencies = n_frequencies
        self.numeric_embedding_dim = numeric_embedding_dim
        self.frequency_scale = frequency_scale
        self.category_embedding_dim = category_embedding_dim
        self.max_one_hot = max_one_hot
        self.numeric_transform = numeric_transform
        self.label_smoothing = label_smoothing
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.early_stopping_metric = early_stopping_metric
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _fit_target(self, y, classes=None):
        y_enc = super()._fit_target(y, classes)
        if self.target_type_ == "multilabel-indicator":
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets; "
                "y is a multilabel indicator matrix. Fit one classifier per "
                "label (sklearn.multioutput.MultiOutputClassifier).")
        return y_enc

    def _member_units(self):
        return len(self.classes_)

    def _default_loss(self, model):
        return "categorical_crossentropy"

    def _check_output_shape(self, model):
        pass  # built from the classes by build_tabular

    def _loss_target(self, y_enc, model):
        # every member's smoothed one-hot target, divided by the number of
        # members: cross-entropy against the network's output (the members'
        # probabilities / k) is then the mean of the members' losses
        n_classes = len(self.classes_)
        target = np.full((len(y_enc), n_classes), self.label_smoothing / n_classes,
                         np.float32)
        target[np.arange(len(y_enc)), y_enc] += 1.0 - self.label_smoothing
        return np.tile(target, (1, self.n_ensemble)) / self.n_ensemble

    def predict_members(self, X):
        """Each member's class probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_ensemble, n_classes)
            ``predict_proba`` is their mean over axis 1.
        """
        return self._members_raw(X) * self.n_ensemble

    def predict_proba(self, X):
        """Class probabilities: the mean of the members' probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        proba = np.clip(self._members_raw(X).sum(axis=1), 0.0, None)
        return proba / proba.sum(axis=1, keepdims=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class TabularRegressor(_TabularMixin, BaseKerasRegressor):
    __doc__ = f"""A network for tables that is strong with its defaults.

    The regression twin of :class:`TabularClassifier` (same network and
    training; its numbers default to normal scores, ``numeric_transform=
    "quantile"``, with faster initial frequencies, ``frequency_scale=1.0``,
    three hidden layers, like RealMLP's, the third narrower, and
    ``validation_fraction=0.1``, which measured better for regression and no
    better for classification or not tried there; the narrower third layer
    costs a fifth less time than 256 units for the same errors on three of
    the benchmark's four regression tables):
    ``y`` is standardised for training, each member
    is trained on the mean squared error, predictions average the members and
    are clipped to the range of the training targets. Single and
    multi-output targets.

    Parameters
    ----------{_PARAMS_DOC}{_TRAINING_DOC}

    Attributes
    ----------{_ATTR_DOC}

    See Also
    --------
    TabularClassifier : the same for classification.

    Examples
    --------
    >>> import pandas as pd
    >>> from skdeep import TabularRegressor
    >>> X = pd.DataFrame({{"size": [1.0, 2.5, None, 4.0] * 10,
    ...                   "colour": ["red", "blue", "red", None] * 10}})
    >>> y = [1.0, 2.0, 1.5, 3.0] * 10
    >>> reg = TabularRegressor(epochs=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _classification = False
    _scale_target = True
    _parameter_constraints: dict = {
        **BaseKerasRegressor._parameter_constraints,
        **_TABULAR_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256, 128),
        *,
        activation="mish",
        dropout=0.15,
        n_ensemble=4,
        numeric_embedding="periodic",
        n_frequencies=16,
        numeric_embedding_dim=4,
        frequency_scale=1.0,
        category_embedding_dim=8,
        max_one_hot=8,
        numeric_transform="quantile",
        weight_decay=0.0,
        optimizer="adamw",
        learning_rate=1e-2,
        momentum=0.0,
        lr_schedule="cosine",
        lr_decay=0.5,
        batch_size=256,
        epochs=40,
        early_stopping=True,
        validation_fraction=0.1,
        patience=40,
        tol=0.0,
        early_stopping_metric="loss",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.n_ensemble = n_ensemble
        self.numeric_embedding = numeric_embedding
        self.n_frequencies = n_frequencies
        self.numeric_embedding_dim = numeric_embedding_dim
        self.frequency_scale = frequency_scale
        self.category_embedding_dim = category_embedding_dim
        self.max_one_hot = max_one_hot
        self.numeric_transform = numeric_transform
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.early_stopping_metric = early_stopping_metric
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _fit_target(self, y):
        y_enc = super()._fit_target(y)
        self._y_range = (y_enc.min(axis=0), y_enc.max(axis=0))
        return y_enc

    def _member_units(self):
        return self.n_outputs_

    def _loss_target(self, y_enc, model):
        # the target once per member: the mean squared error over the
        # network's output is then the mean of the members' losses
        return np.tile(y_enc, (1, self.n_ensemble))

    def predict_members(self, X):
        """Each member's prediction, in the target's units.

        Returns
        -------
        ndarray of shape (n_samples, n_ensemble) or (n_samples, n_ensemble, n_outputs)
            ``predict`` is their mean over axis 1 (clipped to the training
            targets' range).
        """
        self._check_fitted()
        members = self._members_raw(X) * self._y_scale + self._y_mean
        return members[..., 0] if self._y_ndim == 1 else members

    def predict(self, X):
        """Predicted targets: the members' mean, clipped to the range of the
        training targets; shape (n_samples,) if y was 1-D, else 2-D."""
        self._check_fitted()
        low, high = self._y_range
        out = np.clip(self._members_raw(X).mean(axis=1), low, high)
        out = out * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out
