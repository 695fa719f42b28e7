"""Hyperparameter search: default spaces, ``tune``, ``results_table``.

Everything here returns or accepts scikit-learn's own search classes; the
default spaces are plain dicts usable with ``GridSearchCV`` and friends.
"""

import contextlib
import math
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
)
from sklearn.pipeline import Pipeline

from ._bayes import BayesSearchCV
from .base import is_network_estimator

__all__ = [
    "STRATEGIES",
    "BayesSearchCV",
    "default_space",
    "find_network",
    "format_params",
    "results_table",
    "tune",
]

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
_TRANSFER_RANDOM = {
    "head_layer_sizes": [(64,), (128,), (256,)],
    "dropout": [0.2, 0.5],
    "trainable_layers": [0, 1, 2],
}
_TRANSFER_GRID = {"head_layer_sizes": [(64,), (128,)], "trainable_layers": [0, 1]}
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
    from ._bayes import import_optuna

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
        "trainable_layers": dists.IntDistribution(0, 2),
    }
    return training, mlp, cnn, transfer


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
            from ._bayes import to_optuna_space

            family = to_optuna_space(family, network)[0]
        space.update(family)
    if getattr(network, "_accepts_routed_params", False):
        # generic wrappers (scikeras's API) take the rate through the optimizer
        space = {("optimizer__learning_rate" if name == "learning_rate" else name):
                 values for name, values in space.items()}
    return {prefix + name: values for name, values in space.items()}


def format_params(params):
    """``{"model__learning_rate": np.float64(0.00123)}`` -> "learning_rate=0.00123"."""
    parts = []
    for key, value in params.items():
        if isinstance(value, (float, np.floating)):
            value = f"{float(value):.3g}"
        elif isinstance(value, np.integer):
            value = int(value)
        parts.append(f"{key.rsplit('__', 1)[-1]}={value}")
    return ", ".join(parts)


class _Progress:
    """Prints "fits done, elapsed, best so far" lines to stderr."""

    def __init__(self, n_candidates, metric):
        self.n_candidates = n_candidates
        self.metric = metric
        self.start = time.perf_counter()

    def update(self, results):
        scores = np.asarray(results[f"mean_test_{self.metric}"], dtype=float)
        n_splits = sum(1 for k in results
                       if k.startswith("split") and k.endswith(f"_test_{self.metric}"))
        elapsed = time.perf_counter() - self.start
        best = ""
        if np.isfinite(scores).any():
            i = int(np.nanargmax(scores))
            best = (f" | best so far {scores[i]:.4f} "
                    f"({format_params(results['params'][i])})")
        print(
            f"[skdeep] {len(scores) * n_splits}/{self.n_candidates * n_splits} fits "
            f"({len(scores)}/{self.n_candidates} candidates x {n_splits} folds) | "
            f"{elapsed:.1f}s elapsed{best}",
            file=sys.stderr, flush=True,
        )


def _run_in_chunks(search, evaluate_candidates, candidates):
    """Evaluate candidates a few at a time, reporting progress in between.

    The candidates and their order are those of the plain search, so the
    results are identical; only the reporting differs. Each chunk holds two
    candidates per worker, which keeps the workers busy between reports.
    """
    candidates = list(candidates)
    if not search.verbose:
        evaluate_candidates(candidates)
        return
    from joblib import effective_n_jobs

    size = max(1, effective_n_jobs(search.n_jobs)) * 2
    progress = _Progress(len(candidates), _refit_metric(search))
    verbose = search.verbose
    for i in range(0, len(candidates), size):
        # at verbose=1 our line replaces scikit-learn's "Fitting ..." per chunk
        search.verbose = 0 if verbose == 1 else verbose
        try:
            results = evaluate_candidates(candidates[i:i + size])
        finally:
            search.verbose = verbose
        progress.update(results)


def _refit_metric(search):
    return search.refit if isinstance(search.refit, str) else "score"


class _GridSearchCV(GridSearchCV):
    """``GridSearchCV`` that reports progress when ``verbose`` > 0."""

    def _run_search(self, evaluate_candidates):
        _run_in_chunks(self, evaluate_candidates, ParameterGrid(self.param_grid))


class _RandomizedSearchCV(RandomizedSearchCV):
    """``RandomizedSearchCV`` that reports progress when ``verbose`` > 0."""

    def _run_search(self, evaluate_candidates):
        _run_in_chunks(self, evaluate_candidates, ParameterSampler(
            self.param_distributions, self.n_iter, random_state=self.random_state))


def _halving_budget(network, prefix, n_candidates, factor=3):
    max_epochs = int(network.get_params()["epochs"])
    # iterations needed to whittle n_candidates down to one, plus the first
    rounds = math.ceil(math.log(max(n_candidates, 1), factor) - 1e-9) + 1
    min_epochs = max(1, max_epochs // factor ** (rounds - 1))
    return prefix + "epochs", min_epochs, max_epochs


@contextlib.contextmanager
def _backend(backend):
    if backend is None:
        # Parallel fits run in threads: a fit of skdeep's networks is one
        # compiled backend call that releases the GIL, and threads share one
        # backend import and the cached compiled loops (a cold n_jobs=2 search
        # is 1.33x faster than n_jobs=1 this way, 0.84x with processes)
        import joblib

        with joblib.parallel_config(backend="threading"):
            yield
        return
    if backend != "dask":
        raise ValueError(f"backend must be None or 'dask'; got {backend!r}.")
    try:
        from distributed import get_client
    except ImportError as exc:
        raise ImportError(
            "backend='dask' needs dask.distributed: pip install 'skdeep[dask]'."
        ) from exc
    try:
        get_client()
    except ValueError as exc:
        raise RuntimeError(
            "backend='dask' needs a running dask.distributed.Client: create one "
            "first, e.g. client = Client('tcp://scheduler-host:8786') or "
            "Client(LocalCluster())."
        ) from exc
    import joblib

    with joblib.parallel_backend("dask"):
        yield


def tune(
    estimator, X, y, *, space=None, strategy="random", n_iter=20, cv=5,
    scoring=None, n_jobs=1, random_state=None, verbose=1, backend=None,
    pruner=None,
):
    """Tune an estimator (or pipeline) by cross-validation.

    Parameters
    ----------
    estimator : estimator or Pipeline
    X, y : training data
    space : dict, default=None
        Parameter names to lists (grid) or lists / scipy distributions
        (random, halving); for bayes also ``optuna.distributions``.
        ``None`` uses :func:`default_space`.
    strategy : {"random", "grid", "halving", "bayes"}, default="random"
        ``"grid"`` -> ``GridSearchCV``; ``"random"`` -> ``RandomizedSearchCV``
        with ``n_iter`` candidates; ``"halving"`` -> ``HalvingRandomSearchCV``
        with ``n_iter`` candidates and epochs as the resource: every candidate
        starts with few epochs and the best third go on with three times
        more, up to the estimator's ``epochs``; ``"bayes"`` ->
        :class:`BayesSearchCV` (a ``RandomizedSearchCV``) with
        ``n_iter`` candidates proposed one by one by Optuna's TPE sampler,
        seeded by ``random_state`` (extra ``optuna``).
    cv : int or CV splitter, default=5
        Stratified for classifiers when an int.
    scoring : str or callable, default=None
    n_jobs : int, default=1
        Parallel fits, run in threads of this process (one backend import;
        the compiled training loops are shared). With ``backend="dask"``
        they run on the cluster's workers instead.
    random_state : int, default=None
        Seeds the candidate sampling and, if the estimator has none, its
        training (so ``n_jobs`` does not change the scores).
    verbose : int, default=1
        ``> 0`` prints progress (fits done, elapsed, best score so far).
    backend : {None, "dask"}, default=None
        ``"dask"`` runs the fits on the current ``dask.distributed.Client``.
    pruner : {None, "median", "halving"} or optuna pruner, default=None
        Bayes only: before cross-validating a candidate, train it on the
        first fold's training rows for a sixth of its epochs (at least 3);
        if its validation loss is clearly worse than earlier candidates' at
        the same epoch, skip its cross-validation. ``"median"``: worse than
        the median of completed candidates in the second half of that probe
        (once 3 completed); ``"halving"``: not in the best third of the
        candidates so far at the probe's last epoch. Pruned candidates have
        ``pruned=True`` and NaN scores in ``cv_results_`` /
        :func:`results_table`. Needs ``early_stopping=True`` (the validation
        split).

    Returns
    -------
    search : fitted GridSearchCV, RandomizedSearchCV, HalvingRandomSearchCV or
        BayesSearchCV

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdeep import MLPClassifier, tune
    >>> X, y = load_iris(return_X_y=True)
    >>> search = tune(MLPClassifier(epochs=3), X, y, strategy="grid", cv=2,
    ...               space={"hidden_layer_sizes": [(4,), (8,)]}, verbose=0)
    >>> len(search.cv_results_["params"])
    2
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}."
        )
    if pruner is not None and strategy != "bayes":
        raise ValueError(
            f"pruner={pruner!r} works with strategy='bayes' only; got "
            f"strategy={strategy!r}. Use strategy='bayes', or pruner=None "
            "(strategy='halving' prunes by epochs in its own way)."
        )
    network, prefix = find_network(estimator)
    if space is None:
        space = default_space(estimator, strategy=strategy)
    if not isinstance(space, dict) or not space:
        raise ValueError(
            "space must be a non-empty dict of parameter names to lists or "
            f"distributions; got {space!r}."
        )
    valid = estimator.get_params(deep=True)
    unknown = [name for name in space if name not in valid
               and not _is_routed(network, prefix, name)]
    if unknown:
        import difflib

        hints = [difflib.get_close_matches(u, valid, n=1) for u in unknown]
        hint = "; ".join(f"{u!r} -> did you mean {h[0]!r}?" for u, h in
                         zip(unknown, hints, strict=True) if h)
        raise ValueError(
            f"space has parameters that {type(estimator).__name__} does not "
            f"have: {unknown}. {hint}".strip()
        )
    if random_state is not None and "random_state" in network.get_params() and \
            network.get_params()["random_state"] is None:
        from sklearn.base import clone

        estimator = clone(estimator).set_params(**{prefix + "random_state":
                                                   random_state})
    common = dict(cv=cv, scoring=scoring, n_jobs=n_jobs, verbose=verbose,
                  error_score="raise")
    if strategy == "grid":
        search = _GridSearchCV(estimator, space, **common)
    elif strategy == "random":
        search = _RandomizedSearchCV(estimator, space, n_iter=n_iter,
                                     random_state=random_state, **common)
    elif strategy == "bayes":
        search = BayesSearchCV(estimator, space, n_iter=n_iter,
                               random_state=random_state, pruner=pruner, **common)
    else:
        resource, min_epochs, max_epochs = _halving_budget(network, prefix, n_iter)
        space = {k: v for k, v in space.items() if k != resource}
        search = HalvingRandomSearchCV(
            estimator, space, n_candidates=n_iter, resource=resource,
            min_resources=min_epochs, max_resources=max_epochs, factor=3,
            random_state=random_state, **common)
    with _backend(backend):
        search.fit(X, y)
    return search


def _is_routed(network, prefix, name):
    """Generic wrappers accept any routed parameter (``model__units``)."""
    return (getattr(network, "_accepts_routed_params", False)
            and name.startswith(prefix))


def results_table(search):
    """Candidates of a fitted search as a tidy DataFrame, best first.

    Columns: one per parameter (without the ``param_`` prefix), then
    ``mean_test_<metric>``, ``std_test_<metric>``, ``rank_test_<metric>`` (one
    set per metric; ``score`` for a single metric), ``mean_fit_time``,
    ``n_resources`` / ``iter`` for halving searches, and ``pruned`` for
    Bayesian searches (pruned candidates have NaN scores and rank last).
    """
    if not hasattr(search, "cv_results_"):
        raise ValueError(
            f"results_table needs a fitted search (GridSearchCV, ...); got "
            f"{type(search).__name__} without cv_results_. Call fit first."
        )
    results = search.cv_results_
    params = pd.DataFrame(list(results["params"]))
    params.columns = [str(c) for c in params.columns]
    stats = [k for k in results if k.startswith(("mean_test_", "std_test_",
                                                 "rank_test_"))]
    extra = [k for k in ("mean_fit_time", "std_fit_time", "n_resources", "iter",
                         "pruned") if k in results]
    table = pd.concat([params, pd.DataFrame({k: results[k] for k in stats + extra})],
                      axis=1)
    rank = f"rank_test_{_refit_metric(search)}"
    sort = [c for c in ("iter", "n_resources") if c in table] + [rank]
    ascending = [False] * (len(sort) - 1) + [True]
    return table.sort_values(sort, ascending=ascending, kind="stable").reset_index(
        drop=True)


