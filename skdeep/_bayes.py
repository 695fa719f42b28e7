"""Bayesian search: Optuna's TPE behind scikit-learn's search API.

``BayesSearchCV`` is a ``RandomizedSearchCV`` whose candidates come from an
Optuna study (ask -> cross-validate -> tell) instead of independent draws.
Everything scikit-learn does around the candidates is unchanged: the CV
loop, ``cv_results_``, ``best_*``, refit, multi-metric scoring, pickling. So
``results_table``, the plots, ``skdeep.save``, the CLI and MLflow's
``autolog`` (which recognises ``RandomizedSearchCV``) work as for any search.

Why not ``optuna_integration.OptunaSearchCV``: its pruning trains every
candidate with ``partial_fit`` (no validation split, no early stopping, no
learning-rate schedule) and then refits with ``fit``, so the model it returns
is not trained the way it was scored; it scores every fold after every epoch;
and it is not a scikit-learn ``BaseSearchCV`` (MLflow makes no child runs for
it, its ``cv_results_`` lacks per-split columns). Here pruning watches the
validation loss that skdeep's ``fit`` already computes on the first fold
(see ``skdeep._pruning``), and a pruned candidate's remaining folds stop
after one batch.

Optuna is imported only when a search runs (extra ``optuna``).
"""

import math
import re
import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import RandomizedSearchCV
from sklearn.utils import check_random_state

from ._compat import HasMethods, StrOptions

__all__ = ["PRUNERS", "BayesSearchCV", "decode_choice", "encode_choice",
           "import_optuna", "to_optuna_space"]

PRUNERS = ("median", "halving")

_TUPLE_LABEL = re.compile(r"^\d+(-\d+)*$")
_PLAIN = (type(None), bool, int, float, str)


def import_optuna():
    """``import optuna``, or an ImportError that names the extra to install."""
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(
            "strategy='bayes' needs Optuna, which is not installed: "
            "pip install 'skdeep[optuna]'."
        ) from exc
    return optuna


def encode_choice(value):
    """A categorical choice as Optuna stores it (None, bool, int, float or str).

    Tuples of ints become ``"64-32"``; other plain values are kept; anything
    else becomes its ``repr``. :func:`decode_choice` inverts the tuple case.

    >>> encode_choice((64, 32)), encode_choice("relu"), encode_choice(0.5)
    ('64-32', 'relu', 0.5)
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, tuple) and value and all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 0
            for v in value):
        return "-".join(str(int(v)) for v in value)
    if isinstance(value, _PLAIN):
        return value
    return repr(value)


def decode_choice(label):
    """``"64-32"`` -> ``(64, 32)``, ``"64"`` -> ``(64,)``; see :func:`encode_choice`.

    >>> decode_choice("64-32")
    (64, 32)
    """
    if isinstance(label, str) and _TUPLE_LABEL.match(label):
        return tuple(int(part) for part in label.split("-"))
    raise ValueError(
        f"Cannot decode {label!r} as layer sizes: expected digits joined by '-', "
        "e.g. '64-32' for (64, 32)."
    )


def _from_scipy(name, dist, optuna):
    """A frozen scipy distribution as the equivalent Optuna distribution."""
    kind = getattr(getattr(dist, "dist", None), "name", None)
    if kind in ("loguniform", "reciprocal"):
        low, high = dist.support()
        return optuna.distributions.FloatDistribution(float(low), float(high),
                                                      log=True)
    if kind == "uniform":
        low, high = dist.support()
        return optuna.distributions.FloatDistribution(float(low), float(high))
    if kind == "randint":
        low, high = dist.support()
        return optuna.distributions.IntDistribution(int(low), int(high))
    raise TypeError(
        f"space[{name!r}] is a scipy {kind} distribution, which strategy='bayes' "
        "cannot translate; use a list of values, scipy's loguniform, uniform or "
        "randint, or an optuna.distributions object."
    )


def to_optuna_space(space, estimator):
    """Translate a search space into Optuna distributions and decoders.

    Parameters
    ----------
    space : dict
        Parameter name to a list of values (any values: tuples, None,
        objects), an ``optuna.distributions`` object, or a scipy
        ``loguniform`` / ``uniform`` / ``randint`` distribution.
    estimator : estimator or Pipeline
        Its current parameter values tell which parameters take tuples, so
        that a ``CategoricalDistribution`` of labels such as ``"64-32"`` is
        decoded to ``(64, 32)``.

    Returns
    -------
    distributions : dict of name -> optuna distribution
    decoders : dict of name -> dict of label -> value
        Only for categorical parameters whose labels differ from the values.
    """
    optuna = import_optuna()
    dists = optuna.distributions
    current = estimator.get_params(deep=True)
    distributions, decoders = {}, {}
    for name, values in space.items():
        if isinstance(values, dists.BaseDistribution):
            distributions[name] = values
            if isinstance(values, dists.CategoricalDistribution) and isinstance(
                    current.get(name), tuple):
                decoders[name] = {c: decode_choice(c) for c in values.choices
                                  if isinstance(c, str)}
        elif hasattr(values, "rvs"):
            distributions[name] = _from_scipy(name, values, optuna)
        elif isinstance(values, (list, tuple)) and len(values) > 0:
            labels = [encode_choice(v) for v in values]
            if len(set(map(repr, labels))) < len(labels):  # e.g. equal reprs
                labels = [f"{i}: {label}" for i, label in enumerate(labels)]
            distributions[name] = dists.CategoricalDistribution(labels)
            decoder = {label: value for label, value in zip(labels, values,
                                                            strict=True)
                       if label is not value}
            if decoder:
                decoders[name] = decoder
        else:
            raise TypeError(
                f"space[{name!r}] must be a non-empty list of values, an "
                "optuna.distributions object or a scipy loguniform / uniform / "
                f"randint distribution; got {values!r}."
            )
    return distributions, decoders


def _seed(random_state):
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(check_random_state(random_state).randint(2**31 - 1))


class BayesSearchCV(RandomizedSearchCV):
    """Bayesian (TPE) hyperparameter search with optional pruning.

    A ``RandomizedSearchCV`` whose ``n_iter`` candidates are proposed one at a
    time by an Optuna study, each proposal using the scores of the previous
    ones. Use it through ``skdeep.tune(..., strategy="bayes")``, or directly.

    Parameters
    ----------
    estimator, param_distributions, n_iter, scoring, n_jobs, refit, cv, \
verbose, pre_dispatch, error_score, return_train_score
        As in ``RandomizedSearchCV``. ``param_distributions`` values may be
        lists (any values), ``optuna.distributions`` objects, or scipy
        ``loguniform`` / ``uniform`` / ``randint`` distributions.
    random_state : int, RandomState or None, default=None
        Seeds the sampler: the same seed proposes the same candidates.
    sampler : optuna.samplers.BaseSampler, default=None
        ``None``: ``TPESampler(seed=random_state)`` with its first
        ``min(10, max(2, n_iter // 3))`` candidates drawn at random.
    pruner : {"median", "halving"}, optuna pruner or None, default=None
        Stops candidates whose validation loss (first fold, per epoch) is
        clearly worse than earlier candidates' at the same epoch. ``"median"``:
        worse than the median of the completed candidates, after 3 of them
        and ``epochs // 10`` warm-up epochs; ``"halving"``: asynchronous
        successive halving keeping the best third at each rung. Needs the
        network's validation split (``early_stopping=True``) and ``n_jobs=1``
        (the folds must run in this process).

    Attributes
    ----------
    study_ : optuna.study.Study
        The study, one trial per candidate in ``cv_results_`` order.
    cv_results_ : dict
        As in scikit-learn, plus ``pruned`` (bool per candidate). A pruned
        candidate's test scores are NaN, so it ranks last.
    best_estimator_, best_params_, best_score_, best_index_
        As in scikit-learn; ``best_params_`` holds the estimator's own values
        (tuples, not their labels).
    """

    _parameter_constraints: dict = {
        **RandomizedSearchCV._parameter_constraints,
        "sampler": [HasMethods(["sample_independent"]), None],
        "pruner": [StrOptions(set(PRUNERS)), HasMethods(["prune"]), None],
    }

    def __init__(
        self, estimator, param_distributions, *, n_iter=10, scoring=None,
        n_jobs=None, refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs",
        random_state=None, error_score=np.nan, return_train_score=False,
        sampler=None, pruner=None,
    ):
        super().__init__(
            estimator, param_distributions, n_iter=n_iter, scoring=scoring,
            n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
            pre_dispatch=pre_dispatch, random_state=random_state,
            error_score=error_score, return_train_score=return_train_score,
        )
        self.sampler = sampler
        self.pruner = pruner

    # ------------------------------------------------------------- helpers
    def _network(self):
        from .search import find_network

        return find_network(self.estimator)

    def _make_sampler(self, optuna):
        if self.sampler is not None:
            return self.sampler
        return optuna.samplers.TPESampler(
            seed=_seed(self.random_state),
            n_startup_trials=min(10, max(2, self.n_iter // 3)))

    def _make_pruner(self, optuna):
        if self.pruner is None:
            return None
        if not isinstance(self.pruner, str):
            return self.pruner
        network, _ = self._network()
        epochs = int(network.get_params().get("epochs", 10))
        if self.pruner == "median":
            return optuna.pruners.MedianPruner(
                n_startup_trials=3, n_warmup_steps=max(1, epochs // 10))
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, epochs // 9), reduction_factor=3)

    def _check_pruning(self):
        from joblib import effective_n_jobs

        network, prefix = self._network()
        params = network.get_params()
        if not params.get("early_stopping", False):
            raise ValueError(
                "Pruning compares validation-loss curves, which need the "
                "network's validation split: got early_stopping="
                f"{params.get('early_stopping')!r} on {type(network).__name__}. "
                "Set early_stopping=True (validation_fraction of each training "
                "fold is held out) or pruner=None."
            )
        if effective_n_jobs(self.n_jobs) != 1:
            raise ValueError(
                f"Pruning needs n_jobs=1 (got n_jobs={self.n_jobs!r}): the pruner "
                "watches each candidate's first fold as it trains, in this "
                "process. Use n_jobs=1, or pruner=None to run folds in parallel."
            )
        return prefix + "callbacks", list(params.get("callbacks") or ())

    def _metric(self):
        if isinstance(self.refit, str):
            return self.refit
        if callable(self.scoring) or isinstance(self.scoring, str) or \
                self.scoring is None:
            return "score"
        raise ValueError(
            "strategy='bayes' optimises one score: with several scorers "
            f"({self.scoring!r}), set refit to the name of the one to optimise "
            "(e.g. refit='accuracy')."
        )

    # -------------------------------------------------------------- search
    def _run_search(self, evaluate_candidates):
        optuna = import_optuna()
        from .search import _Progress

        metric = self._metric()
        distributions, decoders = to_optuna_space(self.param_distributions,
                                                  self.estimator)
        pruner = self._make_pruner(optuna)
        if pruner is not None:
            callbacks_key, user_callbacks = self._check_pruning()
            from ._pruning import PruningCallback
        optuna_verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(
                direction="maximize", sampler=self._make_sampler(optuna),
                pruner=pruner or optuna.pruners.NopPruner())
            self.study_ = study
            progress = _Progress(self.n_iter, metric) if self.verbose else None
            verbose = self.verbose
            for _ in range(self.n_iter):
                trial = study.ask(distributions)
                params = {name: decoders.get(name, {}).get(value, value)
                          for name, value in trial.params.items()}
                callback = None
                if pruner is not None:
                    callback = PruningCallback(trial)
                    params[callbacks_key] = [*user_callbacks, callback]
                # at verbose=1 our progress line replaces scikit-learn's
                self.verbose = 0 if verbose == 1 else verbose
                try:
                    results = evaluate_candidates([params])
                finally:
                    self.verbose = verbose
                score = float(results[f"mean_test_{metric}"][-1])
                if callback is not None and callback.pruned:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                elif math.isfinite(score):
                    study.tell(trial, score)
                else:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if progress is not None:
                    progress.update(results)
        finally:
            optuna.logging.set_verbosity(optuna_verbosity)

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        """scikit-learn's results, without the pruning callbacks, plus ``pruned``.

        A pruned candidate's test (and train) scores become NaN: they come
        from networks stopped early and would mislead the ranking.
        """
        clean, pruned = [], []
        for params in candidate_params:
            key, callback = _pruning_callback(params)
            pruned.append(callback is not None and callback.pruned)
            clean.append({k: v for k, v in params.items() if k != key})
        if any(pruned):
            out = list(out)
            for i, was_pruned in enumerate(pruned):
                if not was_pruned:
                    continue
                for j in range(i * n_splits, (i + 1) * n_splits):
                    out[j] = {**out[j], **{key: _nan_like(out[j][key]) for key in
                                           ("test_scores", "train_scores")
                                           if key in out[j]}}
        with warnings.catch_warnings():
            if any(pruned):
                warnings.filterwarnings(
                    "ignore", message="One or more of the .* scores are non-finite",
                    category=UserWarning)
            results = super()._format_results(clean, n_splits, out, more_results)
        results["pruned"] = np.array(pruned, dtype=bool)
        return results


def _pruning_callback(params):
    """``(name, callback)`` of the pruning callback in a candidate's params.

    ``(None, None)`` when the candidate has none. The name is the
    ``callbacks`` parameter that ``_run_search`` added, which is dropped from
    the reported parameters (the refit and ``best_params_`` never see it).
    """
    for name, value in params.items():
        if isinstance(value, list):
            for item in value:
                if type(item).__name__ == "PruningCallback" and \
                        type(item).__module__ == "skdeep._pruning":
                    return name, item
    return None, None


def _nan_like(scores):
    if isinstance(scores, dict):
        return dict.fromkeys(scores, np.nan)
    return np.nan
