"""Default search spaces, and finding the network inside a pipeline.

Plain dicts usable with ``GridSearchCV`` and friends; ``default_space`` picks
the one for an estimator's family and strategy.
"""


from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401

from skdeep.estimators.base import find_network, is_network_estimator
from skdeep.search.optuna_space import import_optuna, to_optuna_space

STRATEGIES = ("grid", "random", "halving", "bayes")

_TRAINING_RANDOM = {
    "learning_rate": loguniform(1e-4, 3e-2),
    "batch_size": [16, 32, 64, 128],
    "optimizer": ["adam", "adamw", "rmsprop"],
}
_TRAINING_GRID = {
    "learning_rate": [1e-3, 1e-2],
    "batch_size": [32, 64],
}
_MLP_RANDOM = {
    "hidden_layer_sizes": [(32,), (64,), (128,), (64, 32), (128, 64), (256, 128)],
    "activation": ["relu", "tanh", "gelu"],
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "l2": loguniform(1e-6, 1e-2),
}
_MLP_GRID = {
    "hidden_layer_sizes": [(64,), (128, 64)],
    "dropout": [0.0, 0.2],
}
_CNN_RANDOM = {
    "conv_filters": [(16,), (32,), (16, 32), (32, 64)],
    "kernel_size": [3, 5],
    "dense_layer_sizes": [(64,), (128,)],
    "dropout": [0.0, 0.25, 0.5],
}
_CNN_GRID = {"conv_filters": [(16, 32), (32, 64)], "kernel_size": [3, 5]}
# Every parameter of a default space changes the fit under the estimator's
# defaults. Not TransferClassifier's fine-tuning: trainable_layers acts only
# with fine_tune_epochs > 0 and fine_tune_epochs only with trainable_layers > 0
# (both 0 by default), so either alone would give identical candidates.
_TRANSFER_RANDOM = {
    "head_layer_sizes": [(64,), (128,), (256,)],
    "dropout": [0.2, 0.5],
}
_TRANSFER_GRID = {"head_layer_sizes": [(64,), (128,)], "dropout": [0.2, 0.5]}
_SEQUENCE_RANDOM = {
    "cell": ["gru", "lstm", "conv1d"],
    "recurrent_layer_sizes": [(16,), (32,), (64,), (64, 32)],
    "dropout": [0.0, 0.1, 0.2],
    "l2": loguniform(1e-6, 1e-2),
}
_SEQUENCE_GRID = {"cell": ["gru", "conv1d"], "recurrent_layer_sizes": [(32,), (64,)]}
_TEXT_RANDOM = {
    "encoder": ["pooling", "conv1d", "gru"],
    "embedding_dim": [16, 32, 64],
    "max_tokens": [5000, 20000],
    "dropout": [0.0, 0.2, 0.5],
}
_TEXT_GRID = {"encoder": ["pooling", "conv1d"], "embedding_dim": [16, 64]}
_AUTOENCODER_RANDOM = {
    "encoder_layer_sizes": [(32,), (64,), (128, 64)],
    "latent_dim": [2, 4, 8, 16, 32],
    "noise_std": [0.0, 0.1, 0.2],
}
_AUTOENCODER_GRID = {"latent_dim": [4, 16], "noise_std": [0.0, 0.1]}
_FAMILY_SPACES = {  # estimator class name -> (grid, random)
    "SequenceClassifier": (_SEQUENCE_GRID, _SEQUENCE_RANDOM),
    "SequenceRegressor": (_SEQUENCE_GRID, _SEQUENCE_RANDOM),
    "TextClassifier": (_TEXT_GRID, _TEXT_RANDOM),
    "AutoencoderTransformer": (_AUTOENCODER_GRID, _AUTOENCODER_RANDOM),
}


def _bayes_spaces():
    """Optuna distributions mirroring the random spaces (needs the extra).

    Log scale for the learning rate and the L1 / L2 penalties; tuples of
    layer sizes as labels such as ``"64-32"``, which the search decodes back
    to ``(64, 32)``.
    """
    dists = import_optuna().distributions
    cat, flt = dists.CategoricalDistribution, dists.FloatDistribution
    training = {
        "learning_rate": flt(1e-4, 3e-2, log=True),
        "batch_size": cat([16, 32, 64, 128]),
        "optimizer": cat(["adam", "adamw", "rmsprop"]),
    }
    mlp = {
        "hidden_layer_sizes": cat(["32", "64", "128", "64-32", "128-64",
                                   "256-128"]),
        "activation": cat(["relu", "tanh", "gelu"]),
        "dropout": flt(0.0, 0.5),
        "l1": flt(1e-8, 1e-3, log=True),
        "l2": flt(1e-6, 1e-2, log=True),
    }
    cnn = {
        "conv_filters": cat(["16", "32", "16-32", "32-64"]),
        "kernel_size": cat([3, 5]),
        "dense_layer_sizes": cat(["64", "128"]),
        "dropout": flt(0.0, 0.5),
    }
    transfer = {
        "head_layer_sizes": cat(["64", "128", "256"]),
        "dropout": flt(0.0, 0.6),
    }
    return training, mlp, cnn, transfer




def default_space(estimator, *, strategy="random"):
    """The default search space for a skdeep estimator (or a pipeline ending in one).

    Parameters
    ----------
    estimator : estimator or Pipeline
    strategy : {"random", "halving", "grid", "bayes"}, default="random"
        ``"grid"`` gets a small grid of lists (16 candidates); ``"random"``
        and ``"halving"`` get lists and scipy distributions (``learning_rate``
        and ``l2`` log-uniform); ``"bayes"`` gets ``optuna.distributions``
        for every parameter (extra ``optuna``): log scale for
        ``learning_rate``, ``l1`` and ``l2``, categorical for architectures,
        whose tuples are labels such as ``"64-32"`` that ``tune`` decodes
        back to ``(64, 32)``.

        Every parameter in a default space changes the fit under the
        estimator's defaults. ``TransferClassifier``'s fine-tuning is left
        out (``trainable_layers`` acts only with ``fine_tune_epochs > 0``,
        and the other way round); search it with a list of grids, e.g.
        ``[{"fine_tune_epochs": [0]}, {"fine_tune_epochs": [5],
        "trainable_layers": [1, 2]}]`` in ``GridSearchCV``.

    Returns
    -------
    dict
        Parameter names (prefixed to reach the network) to lists or scipy
        distributions (usable directly with scikit-learn's search classes),
        or to Optuna distributions for ``"bayes"``.

    Examples
    --------
    >>> from skdeep import MLPClassifier, make_tabular_pipeline
    >>> from skdeep.search import default_space
    >>> sorted(default_space(make_tabular_pipeline(MLPClassifier()), strategy="grid"))
    ['model__batch_size', 'model__dropout', 'model__hidden_layer_sizes', \
'model__learning_rate']
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}.")
    network, prefix = find_network(estimator)
    grid = strategy == "grid"
    kind = type(network).__name__
    if not is_network_estimator(network):
        raise ValueError(
            f"There is no default search space for {kind}; pass space={{...}} "
            "with parameter names and lists or scipy distributions."
        )
    if strategy == "bayes":
        training, mlp, cnn, transfer = _bayes_spaces()
    elif grid:
        training, mlp, cnn, transfer = (_TRAINING_GRID, _MLP_GRID, _CNN_GRID,
                                        _TRANSFER_GRID)
    else:
        training, mlp, cnn, transfer = (_TRAINING_RANDOM, _MLP_RANDOM,
                                        _CNN_RANDOM, _TRANSFER_RANDOM)
    space = dict(training)
    if kind in ("MLPClassifier", "MLPRegressor"):
        space.update(mlp)
    elif kind == "CNNClassifier":
        space.update(cnn)
    elif kind == "TransferClassifier":
        space.update(transfer)
    elif kind in _FAMILY_SPACES:
        family = _FAMILY_SPACES[kind][0 if grid else 1]
        if strategy == "bayes":

            family = to_optuna_space(family, network)[0]
        space.update(family)
    if getattr(network, "_accepts_routed_params", False):
        # generic wrappers (scikeras's API) take the rate through the optimizer
        space = {("optimizer__learning_rate" if name == "learning_rate" else name):
                 values for name, values in space.items()}
    return {prefix + name: values for name, values in space.items()}


# ------------------------------------------------------------------ tables
# Around the measured defaults (README "Tables, better by default"); the
# training keys here replace the shared ones (other batch sizes and rates).
_TABULAR_RANDOM = {
    "learning_rate": loguniform(5e-4, 1e-2),
    "batch_size": [64, 128, 256, 512],
    "optimizer": ["adam", "adamw"],
    "hidden_layer_sizes": [(128,), (256, 256), (256, 256, 128), (256, 256, 256),
                           (512, 512)],
    "dropout": [0.0, 0.1, 0.15, 0.3],
    "n_ensemble": [1, 4, 8, 16],
    "numeric_embedding": ["periodic", "none"],
    "frequency_scale": loguniform(0.03, 3.0),
    "numeric_transform": ["robust", "quantile"],
}
_TABULAR_GRID = {
    "learning_rate": [1e-3, 3e-3],
    "batch_size": [128, 256],
    "dropout": [0.0, 0.15],
    "n_ensemble": [1, 4],
}
_FAMILY_SPACES.update({
    "TabularClassifier": (_TABULAR_GRID,
                          {**_TABULAR_RANDOM, "label_smoothing": [0.0, 0.1, 0.2]}),
    "TabularRegressor": (_TABULAR_GRID, _TABULAR_RANDOM),
})
