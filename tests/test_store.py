"""Durable searches (``tune(..., store=PATH)``): real processes, real kills."""

import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification
from sklearn.model_selection import KFold

import skdeep
from skdeep import MLPClassifier, tune
from skdeep.search.store import FitStore, best_model_path

X, Y = make_classification(120, 6, n_informative=4, random_state=0)
NET = dict(hidden_layer_sizes=(4,), epochs=3, random_state=0)
SPACE = {"hidden_layer_sizes": [(4,), (6,)], "learning_rate": [0.003, 0.01, 0.03]}
# strategy -> tune's arguments, number of CV fits, finished fits at the kill
RUNS = {
    "grid": (dict(strategy="grid"), 12, 4),
    # 6 candidates at 1 epoch, then 2 at 3 epochs: killed in the second rung
    "halving": (dict(strategy="halving", n_iter=6), 16, 13),
    # killed in the third trial (two folds per trial)
    "bayes": (dict(strategy="bayes", n_iter=5), 10, 5),
}

# A search in its own process; the network's fit logs a line per finished fit
_SEARCH = textwrap.dedent("""
    import pickle, sys, time
    from sklearn.datasets import make_classification
    from skdeep import MLPClassifier, tune

    strategy, store, log, out = sys.argv[1:5]
    args = eval(sys.argv[5])

    class Counted(MLPClassifier):
        def fit(self, X, y, **params):
            super().fit(X, y, **params)
            with open(log, "a") as fh:
                fh.write("fit\\n")
            time.sleep(0.05)  # time for the test to kill between two fits
            return self

    X, y = make_classification(120, 6, n_informative=4, random_state=0)
    search = tune(Counted(hidden_layer_sizes=(4,), epochs=3, random_state=0), X, y,
                  space=%r, cv=2, random_state=0, store=store, verbose=0, **args)
    with open(out, "wb") as fh:
        pickle.dump({"results": search.cv_results_,
                     "best_params": search.best_params_}, fh)
""" % SPACE)


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(skdeep.__file__)),
         os.environ.get("PYTHONPATH", "")]), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _lines(path):
    if not os.path.exists(path):
        return 0
    with open(path) as fh:
        return sum(1 for _ in fh)


def _start(script, *args):
    return subprocess.Popen([sys.executable, str(script), *map(str, args)],
                            env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(proc, ready, timeout=300):
    """Wait until ``ready()``; fails if ``proc`` finished first."""
    end = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"finished before the kill:\n{proc.stderr.read()}"
        assert time.monotonic() < end, "no progress"
        time.sleep(0.02)


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _kill_when(proc, ready):
    """SIGKILL ``proc`` once ``ready()``; fails if it finished first."""
    _wait_for(proc, ready)
    _kill(proc)


def _finish(proc):
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err


def _same_results(got, expected):
    assert list(got["params"]) == list(expected["params"])
    for key, value in expected.items():
        if "time" in key or key == "params":
            continue
        if np.asarray(value).dtype.kind in "fiu":
            assert_allclose(np.asarray(got[key], float), np.asarray(value, float),
                            rtol=1e-6, err_msg=key)
        else:
            assert list(got[key]) == list(value), key


@pytest.mark.parametrize("strategy", [
    "grid",
    pytest.param("halving", marks=pytest.mark.slow),
    pytest.param("bayes", marks=pytest.mark.slow),
])
def test_killed_search_resumes_with_the_uninterrupted_result(strategy, tmp_path):
    if strategy == "bayes":
        pytest.importorskip("optuna")
    args, n_fits, kill_at = RUNS[strategy]
    script, store = tmp_path / "search.py", tmp_path / "runs.db"
    log, out = tmp_path / "fits.log", tmp_path / "out.pkl"
    script.write_text(_SEARCH)

    proc = _start(script, strategy, store, log, out, repr(args))
    _kill_when(proc, lambda: _lines(log) >= kill_at)
    finished = _lines(log)
    assert not out.exists()
    _finish(_start(script, strategy, store, log, out, repr(args)))
    # the rerun fits what was not recorded: at most the one fit running at the
    # kill (n_jobs=1), plus the final refit
    rerun = _lines(log) - finished
    assert rerun <= n_fits - finished + 1 + 1
    with open(out, "rb") as fh:
        resumed = pickle.load(fh)

    plain = tune(MLPClassifier(**NET), X, Y, space=SPACE, cv=2, random_state=0,
                 verbose=0, **args)
    _same_results(resumed["results"], plain.cv_results_)
    assert resumed["best_params"] == plain.best_params_
    assert os.path.exists(best_model_path(store))


@pytest.mark.slow
def test_two_processes_on_one_store_share_the_work(tmp_path):
    args, n_fits, _ = RUNS["grid"]
    script, store = tmp_path / "search.py", tmp_path / "runs.db"
    script.write_text(_SEARCH)
    procs = [_start(script, "grid", store, tmp_path / f"fits{i}.log",
                    tmp_path / f"out{i}.pkl", repr(args)) for i in range(2)]
    for proc in procs:
        _finish(proc)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM fits").fetchone()[0] == n_fits
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
    # they shared the work: every fit ran once, plus each process's refit
    assert sum(_lines(tmp_path / f"fits{i}.log") for i in range(2)) == n_fits + 2
    plain = tune(MLPClassifier(**NET), X, Y, space=SPACE, cv=2, random_state=0,
                 verbose=0, **args)
    for i in range(2):
        with open(tmp_path / f"out{i}.pkl", "rb") as fh:
            _same_results(pickle.load(fh)["results"], plain.cv_results_)


def test_rerun_takes_every_fit_from_the_store(tmp_path, capsys):
    store = tmp_path / "s.db"
    space = {"hidden_layer_sizes": [(4,), (6,)]}
    first = tune(MLPClassifier(**NET), X, Y, space=space, strategy="grid", cv=2,
                 store=store, verbose=1)
    assert (first.store_resumed_, first.store_fitted_) == (0, 4)
    capsys.readouterr()
    again = tune(MLPClassifier(**NET), X, Y, space=space, strategy="grid", cv=2,
                 store=store, verbose=1)
    assert (again.store_resumed_, again.store_fitted_) == (4, 0)
    assert f"resumed: 4 of 4 fits from {store}" in capsys.readouterr().err
    _same_results(again.cv_results_, first.cv_results_)
    # the best estimator is saved next to the store, the refit's
    saved = skdeep.load(best_model_path(store))
    assert_allclose(saved.predict_proba(X), again.best_estimator_.predict_proba(X),
                    rtol=1e-6)


@pytest.mark.parametrize("change", ["y", "X", "cv", "scoring", "estimator"])
def test_a_store_for_other_inputs_is_not_reused(change, tmp_path, capsys):
    store = tmp_path / "s.db"
    space = {"hidden_layer_sizes": [(4,), (6,)]}
    common = dict(space=space, strategy="grid", store=store, verbose=1)
    tune(MLPClassifier(**NET), X, Y, cv=2, **common)
    capsys.readouterr()
    X2, y2, cv, scoring, net = X, Y, 2, None, MLPClassifier(**NET)
    if change == "y":
        y2 = Y[::-1].copy()
    elif change == "X":
        X2 = X + 1.0
    elif change == "cv":
        cv = KFold(2, shuffle=True, random_state=1)
    elif change == "scoring":
        scoring = "balanced_accuracy"
    else:
        net = MLPClassifier(**{**NET, "epochs": 2})
    search = tune(net, X2, y2, cv=cv, scoring=scoring, **common)
    assert (search.store_resumed_, search.store_fitted_) == (0, 4)
    assert ("resumed: 0 of 4 fits" in (err := capsys.readouterr().err)
            and "4 recorded fits are for other data" in err)


def test_threads_record_every_fit_and_give_the_same_result(tmp_path):
    space = {"hidden_layer_sizes": [(4,), (6,)], "learning_rate": [0.01, 0.03]}
    common = dict(space=space, strategy="grid", cv=2, verbose=0)
    plain = tune(MLPClassifier(**NET), X, Y, **common)
    threads = tune(MLPClassifier(**NET), X, Y, n_jobs=2, store=tmp_path / "s.db",
                   **common)
    assert threads.store_fitted_ == 8
    _same_results(threads.cv_results_, plain.cv_results_)
    again = tune(MLPClassifier(**NET), X, Y, n_jobs=2, store=tmp_path / "s.db",
                 **common)
    assert (again.store_resumed_, again.store_fitted_) == (8, 0)
    _same_results(again.cv_results_, plain.cv_results_)


def test_store_errors_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="needs random_state"):
        tune(MLPClassifier(**NET), X, Y, space={"epochs": [1, 2]}, n_iter=2,
             store=tmp_path / "s.db")
    with pytest.raises(ValueError, match="must be a file path"):
        FitStore(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FitStore(tmp_path / "missing" / "s.db")
    (tmp_path / "text.db").write_text("not a database " * 100)
    with pytest.raises(ValueError, match="not a skdeep search store"):
        FitStore(tmp_path / "text.db")


# Writes records 0, 1, 2, ... ; logs "pending i" once record i is written but
# not committed, "committed i" after the commit.
_WRITER = textwrap.dedent("""
    import sys, time
    from skdeep.search.store import FitStore

    path, log = sys.argv[1], sys.argv[2]
    start, pause = int(sys.argv[3]), float(sys.argv[4])

    class Slow(FitStore):
        def _before_commit(self):
            with open(log, "a") as fh:
                fh.write(f"pending {self.current}\\n")
            time.sleep(pause)

    store = Slow(path)
    for i in range(start, start + 10_000):
        store.current = i
        store.put(f"key{i}", "ctx", {"test_scores": float(i), "fit_time": [i] * 500})
        with open(log, "a") as fh:
            fh.write(f"committed {i}\\n")
""")


def _log(path):
    pending, committed = set(), set()
    if os.path.exists(path):
        with open(path) as fh:
            for line in fh:
                what, i = line.split()
                (pending if what == "pending" else committed).add(int(i))
    return pending, committed


def test_kills_never_corrupt_the_store_nor_half_write_a_result(tmp_path):
    script, path, log = tmp_path / "writer.py", tmp_path / "s.db", tmp_path / "log"
    script.write_text(_WRITER)
    rng = random.Random(0)
    start = 0
    for attempt in range(4):
        # the first run waits a second between writing and committing
        proc = _start(script, path, log, start, 1.0 if attempt == 0 else 0.01)
        if attempt == 0:
            # between writing a result and committing it
            _kill_when(proc, lambda: len(_log(log)[0]) >= 3)
        else:
            before = len(_log(log)[1])
            _wait_for(proc, lambda n=before: len(_log(log)[1]) > n)
            time.sleep(rng.uniform(0, 0.3))  # a random point of the writes
            _kill(proc)
        pending, committed = _log(log)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            keys = {row[0] for row in db.execute("SELECT key FROM fits")}
        stored = {int(k[3:]) for k in keys}
        # every committed result is there, nothing that was never written
        assert committed <= stored <= pending
        if attempt == 0:
            assert stored == committed == pending - {max(pending)}
        store = FitStore(path)
        for i in stored:
            assert store.get(f"key{i}") == {"test_scores": float(i),
                                            "fit_time": [i] * 500}
        store.close()
        start = max(pending) + 1


def test_a_best_model_that_cannot_be_saved_warns_and_the_search_stands(tmp_path):
    store = tmp_path / "s.db"
    os.mkdir(best_model_path(store))  # a folder where the file should go
    with pytest.warns(UserWarning, match="could not be saved"):
        search = tune(MLPClassifier(**NET), X, Y, space={"epochs": [2, 3]},
                      strategy="grid", cv=2, store=store, verbose=0)
    assert search.best_estimator_.predict(X).shape == (len(X),)


@pytest.mark.parametrize("strategy", ["halving", "bayes"])
def test_halving_and_bayes_rerun_from_the_store(strategy, tmp_path, capsys):
    if strategy == "bayes":
        pytest.importorskip("optuna")
    space = {"hidden_layer_sizes": [(4,), (6,)], "learning_rate": [0.01, 0.03]}
    common = dict(space=space, strategy=strategy, n_iter=3, cv=2, random_state=0,
                  store=tmp_path / "s.db", verbose=1)
    first = tune(MLPClassifier(**NET), X, Y, **common)
    capsys.readouterr()
    again = tune(MLPClassifier(**NET), X, Y, **common)
    # (a candidate proposed twice by bayes is fitted once: found the 2nd time)
    n_fits = first.store_fitted_ + first.store_resumed_
    assert again.store_fitted_ == 0 and again.store_resumed_ == n_fits
    assert (f"resumed: {first.store_fitted_} recorded fits of this search from "
            in capsys.readouterr().err)
    _same_results(again.cv_results_, first.cv_results_)
    if strategy == "bayes":  # the study is rebuilt: same trials, same values
        assert [t.params for t in again.study_.trials] == \
            [t.params for t in first.study_.trials]
        assert [t.value for t in again.study_.trials] == \
            [t.value for t in first.study_.trials]
