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
it, its ``cv_results_`` lacks per-split columns).

Pruning here is a probe: before its cross-validation, a candidate trains on
the first fold's training rows for a sixth of its epochs (at least 3), with
its own validation split and early stopping; ``-val_loss`` after
each epoch is reported to the trial and the pruner asked. A pruned candidate
is not cross-validated: it appears in ``cv_results_`` with NaN scores (see
``BayesSearchCV._format_results``). A Keras callback
inside the CV fits was tried first: user callbacks move training off skdeep's
compiled, cached loop onto ``keras.Model.fit``, and a pruned candidate's
remaining folds still paid a full network build each, so pruned searches were
slower than unpruned ones on digits.

Optuna is imported only when a search runs (extra ``optuna``).
"""

import math
import os
import time
import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import RandomizedSearchCV
from sklearn.utils import check_random_state

from skdeep._compat import HasMethods, StrOptions, safe_indexing
from skdeep.search.optuna_space import (
    decode_choice,
    encode_choice,
    import_optuna,
    to_optuna_space,
)
from skdeep.search.progress import _Progress
from skdeep.search.spaces import find_network
from skdeep.search.store import DurableSearchMixin

__all__ = ["PRUNERS", "BayesSearchCV", "decode_choice", "encode_choice",
           "import_optuna", "to_optuna_space"]

PRUNERS = ("median", "halving")

def _seed(random_state):
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(check_random_state(random_state).randint(2**31 - 1))


class BayesSearchCV(RandomizedSearchCV, DurableSearchMixin):
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
        Skips the cross-validation of candidates whose validation loss is
        clearly worse than earlier candidates' at the same epoch, measured by
        a probe fit on the first fold's training rows for a sixth of the
        epochs (at least 3). ``"median"``: worse than the median of the
        completed candidates at any epoch of the probe's second half, once 3
        candidates completed; ``"halving"``: successive halving with one rung
        at the probe's last epoch, where a candidate must be in the best
        third of those seen so far. Needs the network's validation split
        (``early_stopping=True``).
    store : str or path-like, default=None
        An SQLite file where every finished (candidate, split) fit is
        recorded (see ``skdeep.search.store``). Run again with the same
        store and a seeded sampler, the study is rebuilt from the recorded
        fits: it proposes the same candidates in the same order, a
        candidate killed in flight is proposed again with the same
        parameters, and only the fits not recorded run. Pruning probes are
        not recorded: they run again (they are short).

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
        "store": [str, os.PathLike, None],
    }

    def __init__(
        self, estimator, param_distributions, *, n_iter=10, scoring=None,
        n_jobs=None, refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs",
        random_state=None, error_score=np.nan, return_train_score=False,
        sampler=None, pruner=None, store=None,
    ):
        super().__init__(
            estimator, param_distributions, n_iter=n_iter, scoring=scoring,
            n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
            pre_dispatch=pre_dispatch, random_state=random_state,
            error_score=error_score, return_train_score=return_train_score,
        )
        self.sampler = sampler
        self.pruner = pruner
        self.store = store

    # ------------------------------------------------------------- helpers
    def _network(self):
        return find_network(self.estimator)

    def _make_sampler(self, optuna):
        if self.sampler is not None:
            return self.sampler
        return optuna.samplers.TPESampler(
            seed=_seed(self.random_state),
            n_startup_trials=min(10, max(2, self.n_iter // 3)))

    def _make_pruner(self, optuna, probe_epochs):
        if self.pruner is None:
            return None
        if not isinstance(self.pruner, str):
            return self.pruner
        if self.pruner == "median":
            # asked after each of the probe's second half of epochs
            return optuna.pruners.MedianPruner(
                n_startup_trials=3, n_warmup_steps=probe_epochs // 2)
        # one rung, at the probe's last epoch: the best third go on
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=probe_epochs - 1, reduction_factor=3)

    def _check_pruning(self):
        """The network's ``epochs`` parameter name and value; checks the setup."""
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
        return prefix + "epochs", int(params["epochs"])

    def _probe(self, params, epochs_key, trial, probe_epochs):
        """Train the candidate on the first fold's training rows and report.

        Returns True if the pruner stops the candidate. The probe trains
        ``probe_epochs`` epochs with the candidate's own settings (validation
        split, early stopping) and reports ``-val_loss`` after each epoch as
        the trial's intermediate value at step = epoch; the pruner is asked
        after each report, as it would be during training.
        """
        from sklearn.base import clone

        X, y, fit_params, train = self._probe_data
        probe = clone(self.estimator).set_params(
            **{**params, epochs_key: probe_epochs})
        rows = {k: safe_indexing(v, train) if hasattr(v, "__len__") and
                len(v) == len(y) else v for k, v in fit_params.items()}
        probe.fit(safe_indexing(X, train), safe_indexing(y, train), **rows)
        history = find_network(probe)[0].history_.get("val_loss", [])
        del probe  # its network goes back to skdeep's pool for the next fits
        for step, value in enumerate(history):
            if not math.isfinite(value):
                return True  # diverged
            trial.report(-float(value), step)
            if trial.should_prune():
                return True
        return False

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
    def fit(self, X, y=None, **params):
        """Run the search; see ``RandomizedSearchCV.fit``."""
        self._fit_input = (X, y, params)
        try:
            return super().fit(X, y, **params)
        finally:
            del self._fit_input
            for name in ("_stubs", "_skipped", "_numbers"):
                self.__dict__.pop(name, None)

    def _probe_setup(self):
        """First fold's training rows, for the pruning probes."""
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils.validation import indexable

        X, y, params = self._fit_input
        X, y = indexable(X, y)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        groups = params.get("groups")
        train, _ = next(iter(cv.split(X, y, groups)))
        fit_params = {k: v for k, v in params.items() if k != "groups"}
        return X, y, fit_params, train

    # -------------------------------------------------------------- search
    def _run_search(self, evaluate_candidates):
        optuna = import_optuna()
        metric = self._metric()
        distributions, decoders = to_optuna_space(self.param_distributions,
                                                  self.estimator)
        self._stubs, self._skipped, self._numbers = {}, [], {}
        if self.pruner is not None:
            epochs_key, epochs = self._check_pruning()
            probe_epochs = min(epochs, max(3, math.ceil(epochs / 6)))
            self._probe_data = self._probe_setup()
        pruner = self._make_pruner(optuna, probe_epochs if self.pruner else None)
        optuna_verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(
                direction="maximize", sampler=self._make_sampler(optuna),
                pruner=pruner or optuna.pruners.NopPruner())
            self.study_ = study
            progress = _Progress(self.n_iter, metric) if self.verbose else None
            verbose = self.verbose
            for i in range(self.n_iter):
                trial = study.ask(distributions)
                params = {name: decoders.get(name, {}).get(value, value)
                          for name, value in trial.params.items()}
                start = time.perf_counter()
                pruned = pruner is not None and self._probe(
                    params, epochs_key, trial,
                    min(params.get(epochs_key, epochs), probe_epochs))
                if pruned and self._numbers and i < self.n_iter - 1:
                    # no fits: _format_results adds it to the next results
                    self._skipped.append(
                        (trial.number, params, time.perf_counter() - start))
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    continue
                if pruned:
                    # the first or last candidate: no later evaluation would
                    # report it, so it goes through scikit-learn's loop with
                    # one-epoch fits (the cheapest), its scores set to NaN
                    stub = {**params, epochs_key: 1}
                    self._stubs[id(stub)] = (stub, params)
                    params = stub
                self._numbers[id(params)] = trial.number
                # at verbose=1 our progress line replaces scikit-learn's
                self.verbose = 0 if verbose == 1 else verbose
                try:
                    results = evaluate_candidates([params])
                finally:
                    self.verbose = verbose
                score = float(results[f"mean_test_{metric}"][-1])
                if pruned:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                elif math.isfinite(score):
                    study.tell(trial, score)
                else:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if progress is not None:
                    progress.update(results)
        finally:
            optuna.logging.set_verbosity(optuna_verbosity)
            self.__dict__.pop("_probe_data", None)

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        """scikit-learn's results plus ``pruned``, candidates in trial order.

        Pruned candidates were not cross-validated: most were never given to
        scikit-learn's loop and are added here; the first or last one went
        through it with one-epoch fits. Either way their parameters are the
        sampled ones, their test (and train) scores NaN (so they rank last)
        and their fit time that of their probe or one-epoch fits.
        """
        stubs = getattr(self, "_stubs", {})
        numbers = getattr(self, "_numbers", {})
        rows = []  # (trial number, params, one result per split, pruned)
        for i, params in enumerate(candidate_params):
            splits = out[i * n_splits:(i + 1) * n_splits]
            pruned = id(params) in stubs and stubs[id(params)][0] is params
            number = numbers.get(id(params), i)
            if pruned:
                params = stubs[id(params)][1]
                splits = [_nan_scores(split) for split in splits]
            rows.append((number, params, splits, pruned))
        for number, params, seconds in getattr(self, "_skipped", ()):
            split = {**_nan_scores(out[0]), "fit_time": seconds,
                     "score_time": 0.0, "fit_error": None}
            rows.append((number, params, [split] * n_splits, True))
        rows.sort(key=lambda row: row[0])
        pruned = [row[3] for row in rows]
        with warnings.catch_warnings():
            if any(pruned):
                warnings.filterwarnings(
                    "ignore", message="One or more of the .* scores are non-finite",
                    category=UserWarning)
            results = super()._format_results(
                [row[1] for row in rows], n_splits,
                [split for row in rows for split in row[2]], more_results)
        results["pruned"] = np.array(pruned, dtype=bool)
        return results


def _nan_scores(split):
    """One split's result with its test (and train) scores set to NaN."""
    return {**split, **{key: _nan_like(split[key]) for key in
                        ("test_scores", "train_scores") if key in split}}


def _nan_like(scores):
    if isinstance(scores, dict):
        return dict.fromkeys(scores, np.nan)
    return np.nan
