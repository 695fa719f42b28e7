"""``TextClassifier``: raw strings in, vocabulary learnt in ``fit``."""

from numbers import Integral, Real

import numpy as np
import pandas as pd

from skdeep._compat import Interval, StrOptions, validate_data
from skdeep.architectures import (
    TEXT_ENCODERS,
    build_text,
)
from skdeep.estimators._docs import ATTR_DOC as _ATTR_DOC
from skdeep.estimators._docs import TRAINING_DOC as _TRAINING_DOC
from skdeep.estimators._params import (
    _check_sizes,
)
from skdeep.estimators.classifier import BaseKerasClassifier

__all__ = ["TextClassifier"]


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
        early_stopping_metric="loss",
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
        self.early_stopping_metric = early_stopping_metric
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
