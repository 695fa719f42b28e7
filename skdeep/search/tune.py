"""``tune`` (one call for every strategy) and ``results_table``.

Everything here returns or accepts scikit-learn's own search classes; the
default spaces are plain dicts usable with ``GridSearchCV`` and friends.
"""

import contextlib
import math
import os
from numbers import Integral

import pandas as pd
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
)

from skdeep.search.bayes import BayesSearchCV
from skdeep.search.progress import _refit_metric, _run_in_chunks, format_params
from skdeep.search.spaces import STRATEGIES, default_space, find_network
from skdeep.search.store import DurableSearchMixin

__all__ = [
    "STRATEGIES",
    "BayesSearchCV",
    "default_space",
    "find_network",
    "format_params",
    "results_table",
    "tune",
]



_STORE = {"store": [str, os.PathLike, None]}


class _GridSearchCV(GridSearchCV, DurableSearchMixin):
    """``GridSearchCV`` that reports progress when ``verbose`` > 0 and records
    its fits in ``store`` (see ``skdeep.search.store``)."""

    _parameter_constraints: dict = {**GridSearchCV._parameter_constraints, **_STORE}

    def __init__(self, estimator, param_grid, *, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs",
                 error_score=float("nan"), return_train_score=False, store=None):
        super().__init__(estimator, param_grid, scoring=scoring, n_jobs=n_jobs,
                         refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.store = store

    def _store_candidates(self):
        return list(ParameterGrid(self.param_grid))

    def _run_search(self, evaluate_candidates):
        _run_in_chunks(self, evaluate_candidates, ParameterGrid(self.param_grid))


class _RandomizedSearchCV(RandomizedSearchCV, DurableSearchMixin):
    """``RandomizedSearchCV`` that reports progress when ``verbose`` > 0 and
    records its fits in ``store``."""

    _parameter_constraints: dict = {**RandomizedSearchCV._parameter_constraints,
                                    **_STORE}

    def __init__(self, estimator, param_distributions, *, n_iter=10, scoring=None,
                 n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", random_state=None,
                 error_score=float("nan"), return_train_score=False, store=None):
        super().__init__(estimator, param_distributions, n_iter=n_iter,
                         scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch,
                         random_state=random_state, error_score=error_score,
                         return_train_score=return_train_score)
        self.store = store

    def _candidates(self):
        return ParameterSampler(self.param_distributions, self.n_iter,
                                random_state=self.random_state)

    def _store_candidates(self):
        # sampling again gives the same candidates only with an int seed
        if isinstance(self.random_state, Integral):
            return list(self._candidates())
        return None

    def _run_search(self, evaluate_candidates):
        _run_in_chunks(self, evaluate_candidates, self._candidates())


class _HalvingRandomSearchCV(HalvingRandomSearchCV, DurableSearchMixin):
    """``HalvingRandomSearchCV`` that records its fits in ``store``: a resumed
    search replays the rungs it finished and continues the one it was in."""

    _parameter_constraints: dict = {**HalvingRandomSearchCV._parameter_constraints,
                                    **_STORE}

    def __init__(self, estimator, param_distributions, *, n_candidates="exhaust",
                 factor=3, resource="n_samples", max_resources="auto",
                 min_resources="smallest", aggressive_elimination=False, cv=5,
                 scoring=None, refit=True, error_score=float("nan"),
                 return_train_score=True, random_state=None, n_jobs=None,
                 verbose=0, store=None):
        super().__init__(
            estimator, param_distributions, n_candidates=n_candidates,
            factor=factor, resource=resource, max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination, cv=cv, scoring=scoring,
            refit=refit, error_score=error_score,
            return_train_score=return_train_score, random_state=random_state,
            n_jobs=n_jobs, verbose=verbose)
        self.store = store


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
    pruner=None, store=None,
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
        ``"dask"`` runs the fits on the current ``dask.distributed.Client``;
        X and y must then be in memory (a Dask X or y raises: tune on a
        sample, then refit the best parameters on the Dask data, which
        streams).
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
    store : str or path-like, default=None
        An SQLite file (e.g. ``"runs/search.db"``) where every finished
        (candidate, split) fit is recorded as it finishes. The same call
        again with the same store (after a crash, a kill or Ctrl-C) takes the
        recorded fits from it and runs only the rest; with seeded fits the
        result equals an uninterrupted run's. Records for other data,
        estimator, splits, scoring or versions are never reused. The best
        estimator is also saved next to it (``runs/search.best.skdeep``,
        read with ``skdeep.load``). Needs ``random_state`` for the random,
        halving and bayes strategies (to propose the same candidates again).
        See ``skdeep.search.store``.

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
    if store is not None and random_state is None and strategy != "grid":
        raise ValueError(
            f"store={os.fspath(store)!r} with strategy={strategy!r} needs "
            "random_state: without a seed a resumed search proposes other "
            "candidates and nothing recorded is reused. Pass random_state=0 "
            "(any int), or use strategy='grid'."
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
                  error_score="raise", store=store)
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
        search = _HalvingRandomSearchCV(
            estimator, space, n_candidates=n_iter, resource=resource,
            min_resources=min_epochs, max_resources=max_epochs, factor=3,
            random_state=random_state, **common)
    if backend == "dask":
        _check_in_memory(X, y)
    with _backend(backend):
        search.fit(X, y)
    return search


def _check_in_memory(X, y):
    """backend='dask' sends X and y to the cluster's workers with each fit:
    Dask data there would be read whole by every fit (or deadlock the
    workers' threads computing it), so it is refused with the recipe."""
    from skdeep.engine.dask_inputs import is_dask

    for name, data in (("X", X), ("y", y)):
        if is_dask(data):
            raise ValueError(
                f"tune(..., backend='dask') got {name} as a Dask "
                f"{type(data).__name__}, but a search on the cluster takes data "
                "in memory: each cross-validation fit would run on a worker and "
                "read all of the Dask data there. Tune on a sample in memory, "
                "then refit the best parameters on all the data, streaming: "
                "search = tune(estimator, X[:100_000].compute(), "
                "y[:100_000].compute(), backend='dask', ...); model = "
                "clone(search.best_estimator_).fit(X, y).")


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


