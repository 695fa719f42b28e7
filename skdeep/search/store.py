"""Durable searches: every finished (candidate, split) fit kept in a store.

``tune(..., store=PATH)`` records each fit's results (test and train scores,
fit and score times, the number of epochs run, the error of a failed fit) in
an SQLite file as the fit finishes: one transaction per result, in WAL mode
with ``synchronous=FULL``, so a killed process loses at most the fits that
were running. Running the same search again with the same store replays the
recorded fits and runs only the rest; the results are those of an
uninterrupted run when the fits are seeded.

The seam is scikit-learn's ``evaluate_candidates``: the strategies (grid,
random, halving, bayes) only choose candidates, and every (candidate, split)
fit goes through one function. :class:`DurableSearchMixin` gives a search a
``fit`` that follows ``BaseSearchCV.fit`` (scikit-learn 1.9) with an
``evaluate_candidates`` that looks each fit up in the store before running it
and records it when its result comes back to this process. Why not less:
``evaluate_candidates`` is a closure inside ``BaseSearchCV.fit`` that calls
the module-level ``_fit_and_score``; replacing that global would change every
search in the process (threads included), and a stand-in estimator or scorer
could skip a fit but not keep its times or record it as it finishes. Results
are recorded in the calling process (not in the workers), so threads and
Dask workers on other machines all end up in the one file.

Two processes on one store share the work: each claims a fit before running
it, skips fits claimed by another live process and waits for their results.

A record's key is a hash of what determines it: the candidate's parameters,
the estimator's other parameters, the split's train and test rows, X, y and
the fit parameters (sample weights), the scoring, ``error_score`` and
``return_train_score``, and the versions of skdeep, Keras and scikit-learn.
A store written for anything else is never reused: its records do not match.
"""

import contextlib
import os
import pickle
import socket
import sqlite3
import sys
import threading
import time
import uuid
import warnings
from collections import defaultdict
from importlib import metadata
from inspect import signature
from itertools import product

import joblib
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import indexable

from skdeep._compat import (
    SEARCH_CALLBACKS,
    BaseSearchCV,
    _check_method_params,
    _fit_and_score,
    _fit_context,
    _insert_error_scores,
    _MultimetricScorer,
    _warn_or_raise_about_fit_failures,
)

__all__ = ["DurableSearchMixin", "FitStore", "best_model_path"]

_FORMAT = "1"
_POLL = 0.2  # seconds between looks at fits another process is running


class FitStore:
    """An SQLite file of finished fits, safe against kills and other processes.

    Each result is one ``INSERT OR IGNORE`` in its own transaction (WAL mode,
    ``synchronous=FULL``): after a kill, a result is either complete or
    absent, and a fit recorded by two processes is kept once (the first).
    SQLite's file locks serialise writers on one machine; a network file
    system may not honour them (keep the store on a local disk).

    Processes that share a store share the work through claims (``claim``):
    one row per fit being run, with its process id and start time, removed
    when the search ends; a claim whose process is gone is taken over.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            raise ValueError(
                f"store must be a file path such as 'runs/search.db'; got the "
                f"folder {self.path!r}. Give a file name inside it."
            )
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"Cannot open the store {self.path!r}: the folder {folder!r} "
                "does not exist. Create it first (e.g. os.makedirs)."
            )
        self._lock = threading.Lock()
        self._owner = uuid.uuid4().hex  # this search's claims
        # the connection is used under the lock from whichever thread
        # joblib dispatches from
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                       check_same_thread=False)
        except sqlite3.Error as exc:
            raise OSError(
                f"Cannot open the store {self.path!r}: {exc}. Check that the "
                "folder is writable, or give another path."
            ) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS fits (key TEXT PRIMARY KEY, "
                "context TEXT NOT NULL, result BLOB NOT NULL, written REAL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY "
                             "KEY, value TEXT)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, "
                "owner TEXT, pid INTEGER, host TEXT, started TEXT)")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)",
                             (_FORMAT,))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(
                f"{self.path!r} is not a skdeep search store (an SQLite file): "
                f"{exc}. Give a new file name, or the store of an earlier run."
            ) from exc

    def get(self, key):
        """The recorded result of a fit, or None."""
        with self._lock:
            row = self._db.execute("SELECT result FROM fits WHERE key = ?",
                                   (key,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def put(self, key, context, result):
        """Record one result, durably, in one transaction."""
        blob = pickle.dumps(result, protocol=4)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT OR IGNORE INTO fits VALUES (?, ?, ?, ?)",
                                 (key, context, blob, time.time()))
                self._before_commit()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def claim(self, key):
        """Claim a fit to run; the pid of the live process running it if not.

        A claim is taken over when its process is gone (killed: its pid is
        not running, or runs another program), is this process (an earlier,
        interrupted search) or is on another machine (cannot be checked).
        """
        with self._lock:
            # a claim needs no fsync: one lost in a crash only means its fit
            # runs again (the next result's commit syncs it anyway)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT owner, pid, host, started FROM claims WHERE key = ?",
                    (key,)).fetchone()
                if row is not None and row[0] != self._owner and _alive(*row[1:]):
                    return row[1]
                self._db.execute(
                    "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                    (key, self._owner, os.getpid(), socket.gethostname(),
                     _started(os.getpid())))
                return None
            finally:
                self._db.execute("COMMIT")
                self._db.execute("PRAGMA synchronous=FULL")

    def _before_commit(self):
        """Nothing; tests kill a process here (written, not yet committed)."""

    def count(self, context=None):
        """Number of records (of one context, if given)."""
        with self._lock:
            if context is None:
                return self._db.execute("SELECT COUNT(*) FROM fits").fetchone()[0]
            return self._db.execute("SELECT COUNT(*) FROM fits WHERE context = ?",
                                    (context,)).fetchone()[0]

    def close(self):
        """Releases this search's claims (done or not) and closes the file."""
        with self._lock:
            try:
                self._db.execute("DELETE FROM claims WHERE owner = ?",
                                 (self._owner,))
            finally:
                self._db.close()


def _started(pid):
    """When a process started (Linux), to tell a reused pid; else None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid, host, started):
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return started is None or _started(pid) in (None, started)


def best_model_path(store):
    """Where a durable search saves its best estimator: next to the store.

    ``runs/search.db`` -> ``runs/search.best.skdeep``.
    """
    root, _ = os.path.splitext(os.fspath(store))
    return root + ".best.skdeep"


def _hash(obj):
    """A stable hash; objects that cannot be pickled hash by their repr."""
    try:
        return joblib.hash(obj)
    except Exception:
        return joblib.hash(repr(obj))


def _versions():
    import skdeep

    return (skdeep.__version__, metadata.version("keras"),
            metadata.version("scikit-learn"))


def _fit_one(index, estimator, X, y, **kwargs):
    """One (candidate, split) fit, with the epochs it ran."""
    result = _fit_and_score(estimator, X, y, return_estimator=True, **kwargs)
    fitted = result.pop("estimator")
    if hasattr(fitted, "steps"):
        fitted = fitted.steps[-1][1]
    n_iter = getattr(fitted, "n_iter_", None)
    return index, result, None if n_iter is None else int(n_iter)


class DurableSearchMixin(BaseSearchCV):
    """Records and replays a search's (candidate, split) fits in ``store``.

    Put it after the scikit-learn search class (``class S(GridSearchCV,
    DurableSearchMixin)``): being a ``BaseSearchCV``, it then comes right
    before ``BaseSearchCV`` in the method order, so halving's ``fit`` still
    runs first and calls this one. With ``store=None`` the search is
    scikit-learn's, unchanged.

    After a fit with a store, ``store_resumed_`` is the number of fits taken
    from the store and ``store_fitted_`` the number run; the best estimator is
    also saved to :func:`best_model_path` (read it with ``skdeep.load``).
    """

    def _store_candidates(self):
        """All candidates when known in advance (for the progress line)."""
        return None

    def fit(self, X, y=None, **params):
        if getattr(self, "store", None) is None:
            return super().fit(X, y, **params)
        return self._durable_fit(X, y, **params)

    @_fit_context(prefer_skip_nested_validation=False)
    def _durable_fit(self, X, y=None, **params):
        # follows BaseSearchCV.fit (scikit-learn 1.9); the differences are
        # marked "store"
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed_params = self._get_routed_params_for_fit(params)
        if (sample_weight := params.get("sample_weight")) is not None:
            metadata_callbacks = {"sample_weight": sample_weight}
        else:
            metadata_callbacks = None
        root_callback_ctx = None
        if SEARCH_CALLBACKS:
            root_callback_ctx = self._init_callback_context(
                max_subtasks=1 + (self.refit is not False)
            ).call_on_fit_task_begin(estimator=self, X=X, y=y,
                                     metadata=metadata_callbacks)
        self._checked_cv_orig = check_cv(
            self.cv, y, classifier=is_classifier(self.estimator))
        if SEARCH_CALLBACKS:  # scikit-learn >= 1.9 checks here
            self._check_input_parameters(
                X=X, y=y, split_params=routed_params.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(
            X, y, **routed_params.splitter.split)
        base_estimator = clone(self.estimator)
        fit_and_score_kwargs = dict(
            scorer=scorers, fit_params=routed_params.estimator.fit,
            score_params=routed_params.scorer.score,
            return_train_score=self.return_train_score,
            return_n_test_samples=True, return_times=True,
            return_parameters=False, error_score=self.error_score,
            verbose=self.verbose,
        )
        if SEARCH_CALLBACKS:
            fit_and_score_kwargs["caller"] = self
        # store: what every record of this search shares
        store = FitStore(self.store)
        context = _hash((
            _versions(), _hash(base_estimator.get_params(deep=False)),
            type(base_estimator).__module__, type(base_estimator).__qualname__,
            _hash(X), _hash(y), _hash(params),
            _hash(self.scoring), repr(self.error_score), self.return_train_score,
        ))
        split_args = routed_params.splitter.split
        self.store_resumed_, self.store_fitted_ = 0, 0

        results = {}
        all_candidate_params, all_out = [], []
        all_more_results = defaultdict(list)

        def evaluate_candidates(candidate_params, cv=None, more_results=None,
                                callback_ctx=None):
            cv = cv or self._checked_cv_orig
            candidate_params = list(candidate_params)
            n_candidates, n_splits = len(candidate_params), self.n_splits_
            cv_splits = list(cv.split(X, y, **split_args))
            if len(cv_splits) != n_splits:
                raise ValueError(
                    "cv.split and cv.get_n_splits return inconsistent results. "
                    f"Expected {n_splits} splits, got {len(cv_splits)}")
            if self.verbose > 0:
                print(f"Fitting {n_splits} folds for each of {n_candidates} "
                      f"candidates, totalling {n_candidates * n_splits} fits")
            pairs = list(product(enumerate(candidate_params), enumerate(cv_splits)))
            contexts = [None] * len(pairs) if callback_ctx is None else [
                callback_ctx.subcontext(task_name="candidate-split-evaluation",
                                        task_id=i) for i in range(len(pairs))]
            keys = [_hash((context, _hash(parameters), _hash(train), _hash(test)))
                    for (_, parameters), (_, (train, test)) in pairs]
            out = [None] * len(pairs)

            deferred = []

            def tasks(indices):
                # store: looked up when dispatched, so fits that another
                # process recorded meanwhile are not run again; a fit another
                # live process claimed is waited for
                for i in indices:
                    (c, parameters), (s, (train, test)) = pairs[i]
                    recorded = store.get(keys[i])
                    if recorded is not None:
                        recorded.pop("n_iter", None)
                        out[i] = recorded
                        continue
                    if store.claim(keys[i]) is not None:
                        deferred.append(i)
                        continue
                    yield delayed(_fit_one)(
                        i, clone(base_estimator), X, y, train=train, test=test,
                        parameters=parameters, split_progress=(s, n_splits),
                        candidate_progress=(c, n_candidates),
                        **fit_and_score_kwargs,
                        **({"callback_ctx": contexts[i]} if SEARCH_CALLBACKS
                           else {}))

            fitted, todo, told = 0, range(len(pairs)), False
            while True:
                for i, result, n_iter in _run(self, tasks(todo)):
                    store.put(keys[i], context, {**result, "n_iter": n_iter})
                    out[i] = result
                    fitted += 1
                if not deferred:
                    break
                if self.verbose and not told:
                    told = True
                    print(f"[skdeep] waiting for {len(deferred)} fits that another "
                          f"process is running on {self.store}", file=sys.stderr,
                          flush=True)
                todo, deferred[:] = list(deferred), []
                time.sleep(_POLL)
            self.store_fitted_ += fitted
            self.store_resumed_ += len(out) - fitted
            if len(out) < 1:
                raise ValueError("No fits were performed. Was the CV iterator "
                                 "empty? Were there no candidates?")
            _warn_or_raise_about_fit_failures(out, self.error_score)
            if callable(self.scoring):
                _insert_error_scores(out, self.error_score)
            all_candidate_params.extend(candidate_params)
            all_out.extend(out)
            if more_results is not None:
                for key, value in more_results.items():
                    all_more_results[key].extend(value)
            nonlocal results
            results = self._format_results(all_candidate_params, n_splits, all_out,
                                           all_more_results)
            return results

        try:
            if self.verbose:
                self._report_store(store, context, X, y, split_args)
            if root_callback_ctx is not None and \
                    "callback_ctx" in signature(self._run_search).parameters:
                self._run_search(evaluate_candidates, callback_ctx=root_callback_ctx)
            else:
                self._run_search(evaluate_candidates)
        finally:
            store.close()
        first_test_score = all_out[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric,
                                                       results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][
                    self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base_estimator).set_params(
                **clone(self.best_params_, safe=False))
            refit_subctx = None
            if root_callback_ctx is not None:
                refit_subctx = root_callback_ctx.subcontext(
                    task_name="refit-with-best-params")
            with (contextlib.nullcontext() if refit_subctx is None else
                  refit_subctx.propagate_callback_context(self.best_estimator_)):
                if refit_subctx is not None:
                    refit_subctx.call_on_fit_task_begin(
                        estimator=self, X=X, y=y, metadata=metadata_callbacks)
                refit_start_time = time.time()
                if y is not None:
                    self.best_estimator_.fit(X, y, **routed_params.estimator.fit)
                else:
                    self.best_estimator_.fit(X, **routed_params.estimator.fit)
                self.refit_time_ = time.time() - refit_start_time
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
            if refit_subctx is not None:
                refit_subctx.call_on_fit_task_end(estimator=self, X=X, y=y,
                                                  metadata=metadata_callbacks)
            self._save_best()
        self.scorer_ = (scorers._scorers if isinstance(scorers, _MultimetricScorer)
                        else scorers)
        self.cv_results_ = results
        if root_callback_ctx is not None:
            root_callback_ctx.call_on_fit_task_end(estimator=self, X=X, y=y,
                                                   metadata=metadata_callbacks)
        return self

    def _save_best(self):
        """Saves the refit estimator next to the store: a crash after the
        search loses nothing. A failure to save warns, the search stands."""
        from skdeep.deploy.persistence import save

        path = best_model_path(self.store)
        try:
            save(self.best_estimator_, path,
                 extra={"store": os.path.basename(os.fspath(self.store)),
                        "best_params": {k: repr(v) for k, v in
                                        self.best_params_.items()}})
        except Exception as exc:
            warnings.warn(
                f"The search finished, but its best estimator could not be saved "
                f"to {path!r}: {type(exc).__name__}: {exc}. search.best_estimator_ "
                "is fitted; save it yourself (skdeep.save or joblib.dump).",
                UserWarning, stacklevel=3)

    def _report_store(self, store, context, X, y, split_args):
        """The first progress line: how many fits come from the store."""
        total = store.count()
        mine = store.count(context)
        candidates = self._store_candidates()
        if candidates is None:
            line = f"resumed: {mine} recorded fits of this search from {self.store}"
        else:
            splits = list(self._checked_cv_orig.split(X, y, **split_args))
            keys = [_hash((context, _hash(p), _hash(train), _hash(test)))
                    for p, (train, test) in product(candidates, splits)]
            found = sum(store.get(key) is not None for key in keys)
            line = f"resumed: {found} of {len(keys)} fits from {self.store}"
            mine = found
        if total > mine:
            line += (f"; {total - mine} recorded fits are for other data, "
                     "estimator, splits, scoring or versions and are not reused")
        print(f"[skdeep] {line}", file=sys.stderr, flush=True)


def _run(search, tasks):
    """Run the fits, yielding each result as soon as it is back here."""
    pre_dispatch = getattr(search, "pre_dispatch", "2*n_jobs")
    try:
        parallel = Parallel(n_jobs=search.n_jobs, pre_dispatch=pre_dispatch,
                            return_as="generator_unordered")
    except ValueError:
        # a joblib backend that cannot return results as they come
        # (multiprocessing): they are recorded when all are back
        parallel = Parallel(n_jobs=search.n_jobs, pre_dispatch=pre_dispatch)
    return parallel(tasks)

