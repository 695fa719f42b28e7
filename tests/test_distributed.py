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
