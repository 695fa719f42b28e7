"""More network families: sequences, raw text and autoencoders.

``SequenceClassifier`` / ``SequenceRegressor`` (GRU, LSTM or 1-D conv),
``TextClassifier`` (raw strings, vocabulary learnt in ``fit``) and
``AutoencoderTransformer`` (an unsupervised pipeline step). Each has flat,
grid-searchable hyperparameters and builds its network with a pure function
from ``skdeep.architectures``.
"""

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array

from ._compat import Interval, StrOptions, validate_data
from .architectures import (
    CELLS,
    TEXT_ENCODERS,
    build_autoencoder,
    build_sequence,
    build_text,
    split_autoencoder,
)
from .base import BaseKerasEstimator
from .classifier import BaseKerasClassifier
from .estimators import _ATTR_DOC, _TRAINING_DOC, _as_sizes, _check_architecture
from .regressor import BaseKerasRegressor

__all__ = [
    "AutoencoderTransformer",
    "SequenceClassifier",
    "SequenceRegressor",
    "TextClassifier",
]

_REGULARISATION_CONSTRAINTS = {
    "activation": [str, callable],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "l1": [Interval(Real, 0, None, closed="left")],
    "l2": [Interval(Real, 0, None, closed="left")],
    "kernel_initializer": [str, callable],
}


def _check_sizes(est, param, *, allow_empty):
    """A tuple of positive ints from ``param``, or a ValueError saying why not."""
    given = getattr(est, param)
    sizes = _as_sizes(given)
    if not sizes and not allow_empty:
        raise ValueError(
            f"The {param!r} parameter of {type(est).__name__} needs at least one "
            f"layer, e.g. (64,). Got {given!r} instead."
        )
    if sizes:
        _check_architecture(est, param)
    return tuple(int(s) for s in sizes)


# ---------------------------------------------------------------- sequences
class _SequenceInputMixin:
    """Accept sequences ``(n, timesteps, features)`` or flat rows + a shape."""

    def _target_sequence_shape(self, X):
        name = type(self).__name__
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if len(shape) == 1:
                shape = (*shape, 1)
            if len(shape) != 2 or not all(
                    isinstance(d, Integral) and d > 0 for d in shape):
                raise ValueError(
                    f"The 'input_shape' parameter of {name} must be (timesteps, "
                    f"features) or (timesteps,), positive integers. Got "
                    f"{self.input_shape!r} instead."
                )
            return tuple(int(d) for d in shape)
        if X.ndim == 2:
            raise ValueError(
                f"{name} got flat rows of {X.shape[1]} values; pass "
                "input_shape=(timesteps, features) so it can reshape them, or "
                "pass sequences of shape (n_samples, timesteps, features)."
            )
        return tuple(int(d) for d in X.shape[1:])

    def _validate_X(self, X, y="no_validation", *, reset):
        name = type(self).__name__
        no_y = isinstance(y, str) and y == "no_validation"
        if not reset and hasattr(self, "sequence_shape_"):
            shape = np.shape(X)
            if len(shape) > 2:  # compare flat sizes with n_features_in_
                if math.prod(shape[1:]) != math.prod(self.sequence_shape_):
                    raise ValueError(
                        f"{name} was fitted on sequences of shape "
                        f"{self.sequence_shape_} (timesteps, features); got "
                        f"samples of shape {tuple(shape[1:])}."
                    )
                X = np.asarray(X).reshape(shape[0], -1)
        kwargs = dict(reset=reset, allow_nd=True, dtype=(np.float64, np.float32))
        if no_y:
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, multi_output=True,
                                 y_numeric=self._y_numeric, **kwargs)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim > 3:
            raise ValueError(
                f"{name} takes sequences of shape (n_samples, timesteps, features),"
                " or flat rows with input_shape=(timesteps, features); got an "
                f"array of shape {X.shape}."
            )
        if reset:
            self.sequence_shape_ = self._target_sequence_shape(X)
            self.n_features_in_ = math.prod(X.shape[1:])  # values per sample
        target = self.sequence_shape_
        if X.shape[1:] != target:
            if math.prod(X.shape[1:]) != math.prod(target):
                fitted = "needs" if reset else "was fitted on"
                raise ValueError(
                    f"{name} {fitted} sequences of shape {target} (timesteps, "
                    f"features), {math.prod(target)} values each; got samples of "
                    f"shape {X.shape[1:]}. Pass sequences of that shape, or flat "
                    "rows with input_shape=(timesteps, features)."
                )
            X = X.reshape((X.shape[0], *target))
        return X if no_y else (X, y)

    def _check_params(self):
        _check_sizes(self, "recurrent_layer_sizes", allow_empty=False)
        _check_sizes(self, "dense_layer_sizes", allow_empty=True)
        if self.mask_value is not None and self.cell == "conv1d":
            raise ValueError(
                f"mask_value={self.mask_value!r} needs a recurrent cell: "
                f"{type(self).__name__}(cell='conv1d') cannot skip padded "
                "timesteps. Use cell='gru' or 'lstm', or mask_value=None."
            )
        if self.bidirectional and self.cell == "conv1d":
            raise ValueError(
                "bidirectional=True needs a recurrent cell (cell='gru' or "
                "'lstm'); a conv1d network already sees both directions."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # sequences are dense arrays
        return tags

    def _build_sequence(self, units, output_activation, seed):
        return build_sequence(
            self.sequence_shape_, units, output_activation=output_activation,
            cell=self.cell,
            recurrent_layer_sizes=_check_sizes(self, "recurrent_layer_sizes",
                                               allow_empty=False),
            bidirectional=self.bidirectional, dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout, kernel_size=self.kernel_size,
            dense_layer_sizes=_check_sizes(self, "dense_layer_sizes",
                                           allow_empty=True),
            activation=self.activation, l1=self.l1, l2=self.l2,
            kernel_initializer=self.kernel_initializer,
            mask_value=self.mask_value, seed=seed,
        )


_SEQUENCE_CONSTRAINTS = {
    **_REGULARISATION_CONSTRAINTS,
    "recurrent_layer_sizes": ["array-like", Interval(Integral, 1, None,
                                                     closed="left")],
    "cell": [StrOptions(set(CELLS))],
    "bidirectional": ["boolean"],
    "recurrent_dropout": [Interval(Real, 0, 1, closed="left")],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
    "dense_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "input_shape": [tuple, list, None],
    "mask_value": [Real, None],
}

_SEQUENCE_DOC = """
    recurrent_layer_sizes : sequence of int, default=(64,)
        Units of each recurrent layer (the last returns its final state), or
        filters of each ``Conv1D`` layer with ``cell="conv1d"``.
    cell : {"gru", "lstm", "conv1d"}, default="gru"
        ``"conv1d"``: ``Conv1D`` layers ("same" padding) followed by global
        max pooling over time; fast, and good at spotting local patterns.
    bidirectional : bool, default=False
        Read each sequence both ways (``keras.layers.Bidirectional``);
        recurrent cells only.
    kernel_size : int, default=3
        Width (timesteps) of the ``Conv1D`` kernels.
    dense_layer_sizes : sequence of int, default=()
        Dense layers between the sequence encoder and the output.
    input_shape : tuple of int, default=None
        ``(timesteps, features)`` (or ``(timesteps,)`` for one feature) to
        reshape flat rows to, so the estimator can follow a scaler in a
        pipeline. Not needed for 3-D input.
    mask_value : float, default=None
        For variable-length sequences: pad each sequence to the common length
        with this value (every feature of a padded timestep equal to it, e.g.
        ``-1.0`` when the data never takes that value); the recurrent layers
        then skip those timesteps (``keras.layers.Masking``). Recurrent cells
        only. Note that a scaler before the estimator changes padded values
        too: pad after scaling, or scale per feature with the padding left
        out.
    activation : str, default="relu"
        Activation of the conv and dense layers (recurrent layers keep their
        ``tanh`` / ``sigmoid`` gates).
    dropout : float, default=0.0
        Input dropout of the recurrent layers; dropout after each conv and
        dense layer (training only).
    recurrent_dropout : float, default=0.0
        Dropout on the recurrent state (training only).
    l1 : float, default=0.0
        L1 penalty on every kernel.
    l2 : float, default=0.0
        L2 penalty on every kernel.
    kernel_initializer : str, default="glorot_uniform"
        Initializer of the input kernels (recurrent kernels are orthogonal)."""

_SEQUENCE_ATTR_DOC = """
    sequence_shape_ : tuple of int
        The (timesteps, features) shape the network takes."""


class SequenceClassifier(_SequenceInputMixin, BaseKerasClassifier):
    __doc__ = f"""Recurrent or 1-D convolutional classifier for sequences.

    Takes sequences ``(n_samples, timesteps, features)``, or flat rows with
    ``input_shape=(timesteps, features)`` (so it can follow a scaler in a
    pipeline). Binary, multiclass and multilabel targets.

    Parameters
    ----------{_SEQUENCE_DOC}{_TRAINING_DOC}
    class_weight : dict or "balanced", default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------{_SEQUENCE_ATTR_DOC}
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_ATTR_DOC}

    See Also
    --------
    SequenceRegressor : the same networks for continuous targets.
    MLPClassifier : for rows whose columns have no order.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import SequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 10, 2))
    >>> y = (X[:, :5, 0].sum(axis=1) > 0).astype(int)
    >>> clf = SequenceClassifier((8,), epochs=2, random_state=0).fit(X, y)
    >>> clf.sequence_shape_, clf.predict(X[:3]).shape
    ((10, 2), (3,))
    """

    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        **_SEQUENCE_CONSTRAINTS,
    }

    def __init__(
        self,
        recurrent_layer_sizes=(64,),
        *,
        cell="gru",
        bidirectional=False,
        kernel_size=3,
        dense_layer_sizes=(),
        input_shape=None,
        mask_value=None,
        activation="relu",
        dropout=0.0,
        recurrent_dropout=0.0,
        l1=0.0,
        l2=0.0,
        kernel_initializer="glorot_uniform",
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        lr_schedule="constant",
        lr_decay=0.5,
        batch_size=32,
        epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        class_weight=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.recurrent_layer_sizes = recurrent_layer_sizes
        self.cell = cell
        self.bidirectional = bidirectional
        self.kernel_size = kernel_size
        self.dense_layer_sizes = dense_layer_sizes
        self.input_shape = input_shape
        self.mask_value = mask_value
        self.activation = activation
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.l1 = l1
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
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
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _build_keras_model(self, meta, seed=None):
        units, output_activation = self._output_spec()
        return self._build_sequence(units, output_activation, seed)


class SequenceRegressor(_SequenceInputMixin, BaseKerasRegressor):
    __doc__ = f"""Recurrent or 1-D convolutional regressor for sequences.

    Takes sequences ``(n_samples, timesteps, features)``, or flat rows with
    ``input_shape=(timesteps, features)``. Single and multi-output targets;
    ``y`` is standardised internally and the scaling undone in ``predict``.

    Parameters
    ----------{_SEQUENCE_DOC}
    loss : {{"mse", "mae", "huber"}}, default="mse"
        Training loss, on the standardised target.{_TRAINING_DOC}

    Attributes
    ----------{_SEQUENCE_ATTR_DOC}{_ATTR_DOC}

    See Also
    --------
    SequenceClassifier : the same networks for class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import SequenceRegressor
    >>> X = np.random.RandomState(0).normal(size=(60, 8))
    >>> reg = SequenceRegressor((8,), input_shape=(8, 1), epochs=2,
    ...                         random_state=0).fit(X, X[:, 2] + X[:, 5])
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _scale_target = True
    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasRegressor._parameter_constraints,
        **_SEQUENCE_CONSTRAINTS,
        "loss": [StrOptions({"mse", "mae", "huber"})],
    }

    def __init__(
        self,
        recurrent_layer_sizes=(64,),
        *,
        cell="gru",
        bidirectional=False,
        kernel_size=3,
        dense_layer_sizes=(),
        input_shape=None,
        mask_value=None,
        activation="relu",
        dropout=0.0,
        recurrent_dropout=0.0,
        l1=0.0,
        l2=0.0,
        kernel_initializer="glorot_uniform",
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        lr_schedule="constant",
        lr_decay=0.5,
        batch_size=32,
        epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.recurrent_layer_sizes = recurrent_layer_sizes
        self.cell = cell
        self.bidirectional = bidirectional
        self.kernel_size = kernel_size
        self.dense_layer_sizes = dense_layer_sizes
        self.input_shape = input_shape
        self.mask_value = mask_value
        self.activation = activation
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.l1 = l1
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
        self.loss = loss
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
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _build_keras_model(self, meta, seed=None):
        return self._build_sequence(meta["n_outputs_"], None, seed)


# --------------------------------------------------------------------- text
def _as_texts(est, X):
    """One text per sample as a 2-D (n, 1) object array, or a clear error."""
    name = type(est).__name__
    expected = ("one text per sample: a list, 1-D array or Series of strings, or a "
                "one-column DataFrame")
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"{name} takes {expected}; got a DataFrame with {X.shape[1]} "
                f"columns {list(X.columns)[:5]}. Select the text column, e.g. "
                "X[['text']], or use a ColumnTransformer."
            )
        return X  # validate_data keeps its column name
    if isinstance(X, str):
        raise ValueError(f"{name} takes {expected}; got a single string. Wrap it "
                         "in a list: [text].")
    values = np.asarray(X, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} takes {expected}; got an array of shape "
                         f"{values.shape}.")
    return values.reshape(-1, 1)


def _check_strings(est, texts):
    """Decode bytes; reject missing values and non-strings, saying where."""
    out = np.empty(len(texts), dtype=object)
    for i, value in enumerate(texts):
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if not isinstance(value, str):
            missing = value is None or (isinstance(value, float) and np.isnan(value))
            problem = ("a missing value" if missing
                       else f"a {type(value).__name__} ({value!r})")
            raise ValueError(
                f"{type(est).__name__} needs a string in every row; row {i} holds "
                f"{problem}. Fill missing texts with '' (e.g. X.fillna('')) and "
                "convert other values with str."
            )
        out[i] = value
    return out


class TextClassifier(BaseKerasClassifier):
    __doc__ = f"""Classifier for raw text, with its vocabulary learnt in ``fit``.

    ``X`` holds one string per sample (a list, 1-D array or Series of
    strings, or a one-column DataFrame). ``fit`` learns a vocabulary of the
    ``max_tokens - 2`` most frequent words (lower-cased, punctuation
    stripped, with Keras's ``TextVectorization``); each text becomes the ids
    of its first ``sequence_length`` words, padded with 0. Words not in the
    vocabulary, at fit or predict time, map to one "unknown word" id. The
    vocabulary is the fitted attribute ``vocabulary_``, so it is saved with
    the estimator (pickle, joblib, :func:`skdeep.save`). ``partial_fit``
    learns it from the texts of its first call.

    Parameters
    ----------
    max_tokens : int, default=20000
        Size of the vocabulary, padding and unknown-word ids included.
    sequence_length : int, default=200
        Words read per text; longer texts are truncated.
    embedding_dim : int, default=64
        Size of the learnt word vectors.
    encoder : {{"pooling", "conv1d", "gru"}}, default="pooling"
        ``"pooling"`` averages the word vectors (a bag of words: fast, blind
        to order); ``"conv1d"`` looks at ``kernel_size`` consecutive words
        (phrases such as "not good") and keeps the strongest response over
        the text; ``"gru"`` reads the words in order.
    encoder_units : int, default=64
        Filters of ``"conv1d"`` or units of ``"gru"``.
    kernel_size : int, default=3
        Words per ``"conv1d"`` window.
    dense_layer_sizes : sequence of int, default=()
        Dense layers between the encoder and the output.
    activation : str, default="relu"
        Activation of the conv and dense layers.
    dropout : float, default=0.0
        Dropout on the word vectors and after each dense layer.
    l2 : float, default=0.0
        L2 penalty on every kernel, the embedding included.{_TRAINING_DOC}
    class_weight : dict or "balanced", default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------
    vocabulary_ : list of str
        The learnt vocabulary; index ``i`` is token id ``i`` (0: padding,
        1: ``"[UNK]"``, unknown words).
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_ATTR_DOC}

    See Also
    --------
    sklearn.feature_extraction.text.TfidfVectorizer : a bag-of-words baseline.

    Examples
    --------
    >>> from skdeep import TextClassifier
    >>> texts = ["good film", "great fun", "bad film", "awful plot"] * 10
    >>> labels = [1, 1, 0, 0] * 10
    >>> clf = TextClassifier(sequence_length=4, embedding_dim=8, epochs=2,
    ...                      random_state=0).fit(texts, labels)
    >>> clf.vocabulary_[:2], clf.predict(["a good plot"]).shape
    (['', '[UNK]'], (1,))
    """

    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        "max_tokens": [Interval(Integral, 3, None, closed="left")],
        "sequence_length": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "encoder": [StrOptions(set(TEXT_ENCODERS))],
        "encoder_units": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "dense_layer_sizes": ["array-like", Interval(Integral, 1, None,
                                                     closed="left")],
        "activation": [str, callable],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        max_tokens=20000,
        *,
        sequence_length=200,
        embedding_dim=64,
        encoder="pooling",
        encoder_units=64,
        kernel_size=3,
        dense_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        l2=0.0,
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        lr_schedule="constant",
        lr_decay=0.5,
        batch_size=32,
        epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        class_weight=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.max_tokens = max_tokens
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.encoder = encoder
        self.encoder_units = encoder_units
        self.kernel_size = kernel_size
        self.dense_layer_sizes = dense_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2
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
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _check_params(self):
        _check_sizes(self, "dense_layer_sizes", allow_empty=True)

    def _vectorizer(self):
        """The ``TextVectorization`` layer of ``vocabulary_`` (built once)."""
        import keras

        cached = self.__dict__.get("_vectorizer_cache")
        if cached is not None and cached[0] is self.vocabulary_:
            return cached[1]
        layer = keras.layers.TextVectorization(
            vocabulary=self.vocabulary_, output_sequence_length=self.sequence_length_,
            name="vectorizer")
        self._vectorizer_cache = (self.vocabulary_, layer)
        return layer

    def _validate_X(self, X, y="no_validation", *, reset):
        no_y = isinstance(y, str) and y == "no_validation"
        kwargs = dict(reset=reset, dtype=None, ensure_all_finite=False)
        texts = _as_texts(self, X)
        if no_y:
            texts = validate_data(self, texts, **kwargs)
        else:
            texts, y = validate_data(self, texts, y, multi_output=True, **kwargs)
        texts = _check_strings(self, np.asarray(texts)[:, 0])
        if reset:
            import keras

            adapter = keras.layers.TextVectorization(max_tokens=self.max_tokens)
            adapter.adapt(texts.astype(str), batch_size=1024)
            self.vocabulary_ = [str(token) for token in adapter.get_vocabulary()]
            self.sequence_length_ = int(self.sequence_length)
        tokens = np.asarray(self._vectorizer()(texts.astype(str)), dtype=np.int32)
        return tokens if no_y else (tokens, y)

    def _build_keras_model(self, meta, seed=None):
        units, output_activation = self._output_spec()
        return build_text(
            self.sequence_length_, len(self.vocabulary_), units,
            output_activation=output_activation, embedding_dim=self.embedding_dim,
            encoder=self.encoder, encoder_units=self.encoder_units,
            kernel_size=self.kernel_size,
            dense_layer_sizes=_check_sizes(self, "dense_layer_sizes",
                                           allow_empty=True),
            activation=self.activation, dropout=self.dropout, l2=self.l2, seed=seed,
        )

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_vectorizer_cache", None)  # rebuilt from vocabulary_
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "vocabulary_" in self.__dict__:  # predict leaves the estimator unchanged
            self._vectorizer()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.sparse = False
        return tags


# -------------------------------------------------------------- autoencoder
# Rows per network call are padded to a multiple of this, as in
# ``BaseKerasEstimator._predict_raw``: a row's output then does not depend on
# how many rows came with it.
_PREDICT_ROWS = 64

_AE_TRAINING_DOC = _TRAINING_DOC.replace(
    "(stratified for classifiers, seeded by ``random_state``)",
    "(seeded by ``random_state``)")
_AE_ATTR_DOC = _ATTR_DOC.replace("\n    n_outputs_ : int", "")


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                             BaseKerasEstimator):
    __doc__ = f"""Dense autoencoder as an unsupervised transformer.

    ``fit(X)`` trains a network to reproduce its (standardised) input
    through a ``latent_dim``-wide bottleneck; ``transform`` returns the
    code, ``inverse_transform`` maps codes back to rows. Use it like
    :class:`sklearn.decomposition.PCA`: as a pipeline step before any
    estimator, tuned in a search as ``<step>__latent_dim`` etc. With
    ``noise_std > 0`` it is a denoising autoencoder: Gaussian noise is added
    to the inputs while training only.

    Features are standardised internally (``mean_``, ``scale_``), so raw
    columns of any scale work; ``inverse_transform`` undoes the scaling.

    Parameters
    ----------
    latent_dim : int, default=8
        Size of the code (the number of output features of ``transform``).
    encoder_layer_sizes : sequence of int, default=(64,)
        Hidden layers of the encoder; the decoder mirrors them. Empty for a
        linear autoencoder (which learns PCA's subspace).
    noise_std : float, default=0.0
        Standard deviation of the training noise, in units of each feature's
        standard deviation.
    activation : str, default="relu"
        Activation of the hidden layers; the code and the reconstruction are
        linear.
    dropout : float, default=0.0
        Dropout after each hidden layer (training only).
    l2 : float, default=0.0
        L2 penalty on every kernel.
    kernel_initializer : str, default="glorot_uniform"
        Any Keras initializer name.{_AE_TRAINING_DOC}

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
        Per-feature mean used to standardise X.
    scale_ : ndarray of shape (n_features_in_,)
        Per-feature standard deviation (1 for constant features).
    latent_dim_ : int
        Width of the code of the fitted network.{_AE_ATTR_DOC}

    See Also
    --------
    sklearn.decomposition.PCA : the linear counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(latent_dim=4, encoder_layer_sizes=(16,),
    ...                             epochs=2, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape, ae.inverse_transform(ae.transform(X[:3])).shape
    ((3, 4), (3, 64))
    >>> ae.get_feature_names_out()[:2].tolist()
    ['autoencodertransformer0', 'autoencodertransformer1']
    """

    _pool_networks = True
    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "encoder_layer_sizes": ["array-like", Interval(Integral, 1, None,
                                                       closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "activation": [str, callable],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "kernel_initializer": [str, callable],
    }

    def __init__(
        self,
        latent_dim=8,
        *,
        encoder_layer_sizes=(64,),
        noise_std=0.0,
        activation="relu",
        dropout=0.0,
        l2=0.0,
        kernel_initializer="glorot_uniform",
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        lr_schedule="constant",
        lr_decay=0.5,
        batch_size=32,
        epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.latent_dim = latent_dim
        self.encoder_layer_sizes = encoder_layer_sizes
        self.noise_std = noise_std
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
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
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    # ------------------------------------------------------------- fitting
    def fit(self, X, y=None, sample_weight=None):
        """Train the autoencoder to reconstruct ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : None
            Ignored; present for pipelines.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the reconstruction loss.

        Returns
        -------
        self
        """
        self._validate_all_params()
        continuing = self.warm_start and self.__sklearn_is_fitted__()
        self._fit(X, None, sample_weight, epochs=self.epochs, reset=not continuing,
                  use_validation=True)
        self._halves()  # built here: transform leaves the estimator unchanged
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one epoch on ``X``, starting from the current weights."""
        first = not self.__sklearn_is_fitted__()
        if first:
            self._validate_all_params()
        self._fit(X, None, sample_weight, epochs=1, reset=first,
                  use_validation=False)
        self._halves()
        return self

    def _check_params(self):
        _check_sizes(self, "encoder_layer_sizes", allow_empty=True)

    def _validate_X(self, X, y="no_validation", *, reset):
        X = super()._validate_X(X, reset=reset)
        if reset:
            self.mean_ = X.mean(axis=0, dtype=np.float64)
            scale = X.std(axis=0, dtype=np.float64)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        X = ((X - self.mean_) / self.scale_).astype(np.float32)
        return X if isinstance(y, str) and y == "no_validation" else (X, X)

    def _fit_target(self, y):
        self.n_outputs_ = y.shape[1]
        self.target_type_ = "continuous-multioutput"
        self.latent_dim_ = int(self.latent_dim)
        return y

    def _transform_target(self, y):
        return y

    def _default_loss(self, meta, model):
        return "mse"

    def _build_keras_model(self, meta, seed=None):
        return build_autoencoder(
            meta["n_features_in_"],
            encoder_layer_sizes=_check_sizes(self, "encoder_layer_sizes",
                                             allow_empty=True),
            latent_dim=self.latent_dim, activation=self.activation,
            noise_std=self.noise_std, dropout=self.dropout, l2=self.l2,
            kernel_initializer=self.kernel_initializer, seed=seed,
        )

    # ------------------------------------------------------------ transform
    def _halves(self):
        """(encoder, decoder) of the fitted network, built once per network."""
        model = self._keras_model
        cached = self.__dict__.get("_halves_cache")
        if cached is None or cached[0] is not model:
            cached = (model, *split_autoencoder(model))
            self._halves_cache = cached
        return cached[1:]

    @staticmethod
    def _run(model, X):
        n = X.shape[0]
        padded = -n % _PREDICT_ROWS  # one kind of batch shape (see base)
        if padded:
            X = np.concatenate([X, np.zeros((padded, *X.shape[1:]), X.dtype)])
        parts = [np.asarray(model.predict_on_batch(X[i:i + 8192]))
                 for i in range(0, X.shape[0], 8192)]
        return np.concatenate(parts)[:n].astype(np.float64, copy=False)

    def transform(self, X):
        """The latent code of each row.

        Returns
        -------
        ndarray of shape (n_samples, latent_dim)
        """
        self._check_fitted()
        return self._run(self._halves()[0], self._validate_X(X, reset=False))

    def inverse_transform(self, X):
        """Rows reconstructed from codes, in the units of the original X.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_features_in_)
        """
        self._check_fitted()
        codes = check_array(X, dtype=(np.float64, np.float32))
        if codes.shape[1] != self.latent_dim_:
            raise ValueError(
                f"inverse_transform takes codes of {self.latent_dim_} values (the "
                f"latent_dim of the fitted network); got {codes.shape[1]}. Pass "
                "the output of transform."
            )
        out = self._run(self._halves()[1], codes.astype(np.float32))
        return out * self.scale_ + self.mean_

    def score(self, X, y=None):
        """Negative mean squared reconstruction error (higher is better).

        Measured on standardised features (each in units of its training
        standard deviation), so columns of any scale count alike; used by
        searches over the autoencoder alone.
        """
        self._check_fitted()
        Xs = self._validate_X(X, reset=False)
        reconstruction = self._run(self._keras_model, Xs)
        return -float(np.mean((reconstruction - Xs) ** 2))

    @property
    def _n_features_out(self):
        return self.latent_dim_

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_halves_cache", None)  # rebuilt from the network
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.__sklearn_is_fitted__():
            self._halves()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
