"""``AutoencoderTransformer``: an unsupervised, tunable pipeline step."""

import re
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array

from skdeep import engine
from skdeep._compat import Interval
from skdeep.architectures import (
    build_autoencoder,
    split_autoencoder,
)
from skdeep.engine import dask_inputs, inputs
from skdeep.engine.process import quiet_retracing
from skdeep.estimators._docs import ATTR_DOC as _ATTR_DOC
from skdeep.estimators._docs import TRAINING_DOC as _TRAINING_DOC
from skdeep.estimators._params import (
    _check_sizes,
)
from skdeep.estimators.base import BaseKerasEstimator

__all__ = ["AutoencoderTransformer"]


_AE_TRAINING_DOC = re.sub(
    r'(early_stopping_metric : str, default="loss"\n).*?(\n    random_state)',
    r'\1        Only ``"loss"``: an autoencoder has no predictions to score.\2',
    _TRAINING_DOC.replace("(stratified for classifiers, seeded by ``random_state``)",
                          "(seeded by ``random_state``)"), flags=re.DOTALL)
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
        early_stopping_metric="loss",
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
        self.early_stopping_metric = early_stopping_metric
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
        self._fit(X, None, sample_weight, epochs=self.epochs, continuing=continuing,
                  validate=self.early_stopping)
        self._halves()  # built here: transform leaves the estimator unchanged
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one epoch on ``X``, starting from the current weights.

        Needs ``early_stopping=False`` (no validation split), as the other
        estimators' ``partial_fit``.
        """
        self._partial_fit(X, None, sample_weight)
        self._halves()
        return self

    def _check_params(self):
        _check_sizes(self, "encoder_layer_sizes", allow_empty=True)

    def _validate_X(self, X, y="no_validation", *, reset):
        if dask_inputs.is_dask(X):
            raise TypeError(
                f"AutoencoderTransformer does not stream Dask collections yet; "
                f"received a {type(X).__name__}. Write the data to a NumPy "
                "memmap (np.save, then np.load(path, mmap_mode='r')), which it "
                "standardises and reads chunk by chunk, or pass X.compute() if "
                "it fits in memory.")
        X = super()._validate_X(X, reset=reset)
        if isinstance(X, np.memmap):  # standardised batch by batch, not copied
            if reset:
                self.mean_, self.scale_ = _column_moments(X)
            X = _Standardized(X, self.mean_, self.scale_)
            return X if isinstance(y, str) and y == "no_validation" else (X, X)
        if sp.issparse(X):  # centring each column makes the data dense anyway
            X = np.asarray(X.toarray(), dtype=np.float32)
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

    def _default_loss(self, model):
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
        model = self.model_
        cached = self.__dict__.get("_halves_cache")
        if cached is None or cached[0] is not model:
            cached = (model, *split_autoencoder(model))
            self._halves_cache = cached
        return cached[1:]

    @staticmethod
    @quiet_retracing()
    def _run(model, X):
        # the engine's padded forward pass (see BaseKerasEstimator._forward)
        return np.asarray(engine.predict(model, X)).astype(np.float64, copy=False)

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
        if inputs.streams(Xs):  # a memmap: chunk by chunk
            total = 0.0
            for start in range(0, len(Xs), _CHUNK_VALUES // Xs.shape[1] + 1):
                part = Xs[np.arange(start, min(len(Xs), start + _CHUNK_VALUES
                                               // Xs.shape[1] + 1))]
                total += float(np.sum((self._run(self.model_, part) - part) ** 2))
            return -total / (Xs.shape[0] * Xs.shape[1])
        reconstruction = self._run(self.model_, Xs)
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


# ------------------------------------------------------------------ memmaps
_CHUNK_VALUES = 2**20  # values per chunk read from a memmap (8 MB as float64)


def _column_moments(X):
    """``(mean, scale)`` of memmap X's columns as ``X.mean(axis=0)`` and
    ``X.std(axis=0)`` (zero scales as 1) compute them in float64, read in
    chunks of rows: two passes, one chunk in memory at a time."""
    n = X.shape[0]
    step = max(1, _CHUNK_VALUES // max(1, X.shape[1]))
    chunks = range(0, n, step)
    total = np.zeros(X.shape[1:], np.float64)
    for start in chunks:
        total += np.asarray(X[start:start + step], np.float64).sum(axis=0)
    mean = total / n
    squares = np.zeros_like(total)
    for start in chunks:
        squares += ((np.asarray(X[start:start + step], np.float64) - mean) ** 2
                    ).sum(axis=0)
    scale = np.sqrt(squares / n)
    return mean, np.where(scale > 0, scale, 1.0)


class _Standardized(inputs.Rows):
    """Memmap X standardised as its rows are read (``(x - mean) / scale`` as
    float32, as the in-memory path computes it): streamed by
    ``skdeep.engine.inputs`` like the memmap itself, never copied whole."""

    def __init__(self, source, mean, scale):
        super().__init__(source, np.arange(source.shape[0]))
        self.mean, self.scale = mean, scale

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def __getitem__(self, rows):
        part = inputs.read(self.source, self.index[rows])
        return ((part - self.mean) / self.scale).astype(np.float32)
