"""Searches on a real dask.distributed cluster started on 127.0.0.1."""

import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skdeep import MLPClassifier, tune

distributed = pytest.importorskip("distributed")

TINY = dict(hidden_layer_sizes=(8,), epochs=4, learning_rate=0.02, dropout=0.1)
SPACE = {"hidden_layer_sizes": [(4,), (8,)], "learning_rate": [1e-2, 3e-2]}


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=4, return_X_y=True)
    return (X / 16.0).astype(np.float32)[:240], y[:240]


@pytest.fixture(scope="module")
def client(dask_cluster):
    with distributed.Client(dask_cluster) as c:
        yield c


def _scores(search):
    return search.cv_results_["mean_test_score"]


@pytest.mark.slow
def test_dask_scores_equal_local_and_survive_worker_reuse(client, data):
    X, y = data
    kwargs = dict(space=SPACE, strategy="grid", cv=2, random_state=0, verbose=0)
    local = tune(MLPClassifier(**TINY), X, y, **kwargs)
    first = tune(MLPClassifier(**TINY), X, y, backend="dask", **kwargs)
    second = tune(MLPClassifier(**TINY), X, y, backend="dask", **kwargs)
    np.testing.assert_array_equal(_scores(first), _scores(local))
    np.testing.assert_array_equal(_scores(second), _scores(local))
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2


@pytest.mark.slow
def test_plain_joblib_dask_backend_with_sklearn_search(client, data):
    X, y = data
    search = GridSearchCV(MLPClassifier(**TINY, random_state=0),
                          {"hidden_layer_sizes": [(4,), (8,)]}, cv=2, n_jobs=-1)
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    local = GridSearchCV(MLPClassifier(**TINY, random_state=0),
                         {"hidden_layer_sizes": [(4,), (8,)]}, cv=2).fit(X, y)
    np.testing.assert_array_equal(_scores(search), _scores(local))


def test_dask_backend_without_a_client_says_how_to_start_one():
    # in a fresh process: this one may hold the module's client
    code = ("from skdeep import MLPClassifier, tune\n"
            "tune(MLPClassifier(), [[0.0], [1.0]] * 4, [0, 1] * 4, cv=2, "
            "backend='dask', verbose=0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode != 0
    assert "backend='dask' needs a running dask.distributed.Client" in result.stderr


# A durable search on a 2-worker cluster; the network's fit logs its start and
# end with the process id, and waits a little so the test can kill a worker
# in the middle of a fit.
_DASK_SEARCH = """
import os, pickle, sys, time
import numpy as np
import distributed
from sklearn.datasets import load_digits
from skdeep import MLPClassifier, tune

store, log, out = sys.argv[1:4]

class Logged(MLPClassifier):
    def fit(self, X, y, **params):
        with open(log, "a") as fh:
            fh.write(f"start {os.getpid()}\\n")
        time.sleep(1.0)
        super().fit(X, y, **params)
        with open(log, "a") as fh:
            fh.write(f"end {os.getpid()}\\n")
        return self

if __name__ == "__main__":
    with open(log, "a") as fh:
        fh.write(f"driver {os.getpid()}\\n")
    X, y = load_digits(n_class=4, return_X_y=True)
    X, y = (X / 16.0).astype(np.float32)[:240], y[:240]
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=50)
    with cluster, distributed.Client(cluster):
        search = tune(Logged(**%r, random_state=0), X, y, space=%r,
                      strategy="grid", cv=2, random_state=0, verbose=0,
                      backend="dask", store=store)
    with open(out, "wb") as fh:
        pickle.dump(search.cv_results_, fh)
""" % (TINY, SPACE)


@pytest.mark.slow
def test_durable_search_survives_a_worker_killed_mid_fit(data, tmp_path):
    import signal
    import time

    script, log = tmp_path / "search.py", tmp_path / "fits.log"
    store, out = tmp_path / "s.db", tmp_path / "out.pkl"
    script.write_text(_DASK_SEARCH)
    proc = subprocess.Popen([sys.executable, str(script), str(store), str(log),
                             str(out)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})

    def lines():
        if not log.exists():
            return []
        return [line.split() for line in log.read_text().splitlines()]

    end = time.monotonic() + 300
    victim = None
    while victim is None:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < end
        time.sleep(0.05)
        seen = lines()
        driver = {pid for what, pid in seen if what == "driver"}
        ended = sum(what == "end" for what, _ in seen)
        running = [pid for what, pid in seen if what == "start"
                   and pid not in driver]
        if ended >= 2 and running:  # a worker is in a fit
            finished = [pid for what, pid in seen if what == "end"]
            busy = [pid for pid in running if running.count(pid) >
                    finished.count(pid)]
            victim = busy[0] if busy else None
    os.kill(int(victim), signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    import pickle

    with open(out, "rb") as fh:
        results = pickle.load(fh)
    X, y = data
    local = tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="grid", cv=2,
                 random_state=0, verbose=0)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_allclose(results[key], local.cv_results_[key], rtol=1e-6)
    assert list(results["params"]) == list(local.cv_results_["params"])
    # the killed fit ran again elsewhere; every fit reached the store
    starts = sum(what == "start" for what, _ in lines())
    assert starts >= 8 + 1 + 1  # 8 fits, the one retried, the refit
    import sqlite3

    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM fits").fetchone()[0] == 8


def test_dask_backend_with_dask_data_says_to_tune_on_a_sample(client, data):
    # each fit would read the Dask data on a worker (the fits' nested computes
    # deadlocked the one-thread workers): refused, with the recipe
    import dask.array as da

    X, y = data
    Xd = da.from_array(X, chunks=(60, X.shape[1]))
    for args in ((Xd, y), (X, da.from_array(y, chunks=60))):
        with pytest.raises(ValueError, match=r"got [Xy] as a Dask Array.*Tune on "
                                             r"a sample.*clone\(search"):
            tune(MLPClassifier(**TINY), *args, space=SPACE, strategy="grid",
                 cv=2, verbose=0, backend="dask")
