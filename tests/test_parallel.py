"""Concurrent fits share the compiled loops: one trace per architecture,
whatever the number of threads, and the results of fits run one by one."""

import threading

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV

import skdeep
from skdeep import MLPClassifier

# long enough (~0.3 s a fit) that fits started together overlap
SETUP = dict(hidden_layer_sizes=(16,), epochs=30, batch_size=16, dropout=0.2,
             learning_rate=0.02, early_stopping=False)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=400)
    X = np.eye(3, 6)[y] * 2.0 + rng.normal(scale=0.8, size=(400, 6))
    return X.astype(np.float32), y


def _fit_together(X, y, seeds):
    """Fit one estimator per seed, each in its own thread, all started at once."""
    start = threading.Barrier(len(seeds))
    fitted, errors = {}, []

    def run(seed):
        try:
            est = MLPClassifier(**SETUP, random_state=seed)
            start.wait()
            fitted[seed] = est.fit(X, y)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return fitted


def _assert_same_fit(est, ref):
    assert est.n_iter_ == ref.n_iter_
    for key in ref.history_:
        assert_allclose(est.history_[key], ref.history_[key], rtol=0, atol=0)
    for weight, expected in zip(est.model_.get_weights(), ref.model_.get_weights(),
                                strict=True):
        assert_allclose(weight, expected, rtol=0, atol=0)


def _serial(X, y, seeds):
    return {seed: MLPClassifier(**SETUP, random_state=seed).fit(X, y)
            for seed in seeds}


def test_concurrent_fits_in_a_cold_process_trace_the_architecture_once(data):
    X, y = data
    skdeep.clear_cache()
    fitted = _fit_together(X, y, (1, 2))
    assert skdeep.cache_info()["trainer_traces"] == 1
    assert skdeep.cache_info()["trainers"] == 1
    skdeep.clear_cache()
    serial = _serial(X, y, (1, 2))
    for seed in (1, 2):
        _assert_same_fit(fitted[seed], serial[seed])


def test_concurrent_fits_of_a_traced_architecture_trace_nothing(data):
    X, y = data
    skdeep.clear_cache()
    serial = _serial(X, y, (1, 2, 3))  # traces the architecture
    assert skdeep.cache_info()["trainer_traces"] == 1
    for _ in range(2):  # the per-fit state kept by the first round is reused
        fitted = _fit_together(X, y, (1, 2, 3))
        assert skdeep.cache_info()["trainer_traces"] == 1
        for seed in (1, 2, 3):
            _assert_same_fit(fitted[seed], serial[seed])


def test_a_threaded_grid_search_traces_once_and_scores_as_a_serial_one(data):
    X, y = data
    est = MLPClassifier(**dict(SETUP, epochs=10), random_state=0)
    grid = {"hidden_layer_sizes": [(8,), (16,)], "learning_rate": [0.01, 0.02]}
    results = {}
    for n_jobs in (1, 2):
        skdeep.clear_cache()
        with joblib.parallel_config(backend="threading"):
            search = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
        # one loop per architecture (the refit's 400 rows share it too)
        assert skdeep.cache_info()["trainer_traces"] == 2
        results[n_jobs] = search.cv_results_
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        assert_allclose(results[2][key], results[1][key], rtol=0, atol=0)


def test_concurrent_fits_train_their_own_networks_and_the_cache_keeps_no_copy(
        data):
    # each fit's loop runs on its own network's and optimizer's variables:
    # concurrent fits without best weights to restore add nothing to the cache
    X, y = data
    skdeep.clear_cache()
    MLPClassifier(**SETUP, random_state=0).fit(X, y)
    one = skdeep.cache_info()
    _fit_together(X, y, (1, 2, 3))
    two = skdeep.cache_info()
    assert (two["trainers"], two["networks"]) == (1, 1)
    assert two["trainer_bytes"] == one["trainer_bytes"]


def _fit_together_restoring(X, y, seeds):
    fitted = {}
    start = threading.Barrier(len(seeds))

    def run(seed):
        est = MLPClassifier(**dict(SETUP, early_stopping=True, patience=3),
                            random_state=seed)
        start.wait()
        fitted[seed] = est.fit(X, y)

    threads = [threading.Thread(target=run, args=(s,)) for s in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fitted) == sorted(seeds)
    return fitted


def test_best_weights_copies_count_in_the_cache_and_stay_in_its_bounds(
        monkeypatch, data):
    from skdeep.engine import cache

    X, y = data
    restoring = dict(SETUP, early_stopping=True, patience=3)
    skdeep.clear_cache()
    serial = {s: MLPClassifier(**restoring, random_state=s).fit(X, y)
              for s in (1, 2)}
    one = skdeep.cache_info()
    # the fits start together, but on a loaded machine one may end before the
    # other begins (then nothing is copied): try until they overlap
    for _ in range(5):
        fitted = _fit_together_restoring(X, y, (1, 2))
        for seed in (1, 2):
            _assert_same_fit(fitted[seed], serial[seed])
        two = skdeep.cache_info()
        if two["networks"] > 1:
            break
    # one traced loop, and the best weights' copy of a second concurrent fit
    weights = sum(w.nbytes for w in serial[1].model_.get_weights())
    assert (two["trainers"], two["networks"]) == (1, 2)
    assert two["trainer_bytes"] == one["trainer_bytes"] + weights
    monkeypatch.setattr(cache, "MAX_NETWORKS", 2)
    MLPClassifier(**restoring, random_state=0).fit(X, y).predict(X)  # a forward
    three = skdeep.cache_info()
    # the extra copy goes before any traced function does
    assert (three["trainers"], three["forward_functions"]) == (1, 1)
    assert three["networks"] == 2
    assert three["trainer_bytes"] == one["trainer_bytes"]


def test_where_keras_cannot_rebind_variables_concurrent_fits_trace_their_own(
        monkeypatch, data):
    # as with a future Keras whose variables skdeep cannot rebind: each
    # concurrent fit then gets a loop of its own, with the same results
    from skdeep import _compat

    X, y = data
    monkeypatch.setattr(_compat, "keras_variables_bound", lambda *args: None)
    skdeep.clear_cache()
    fitted = _fit_together(X, y, (1, 2))
    assert skdeep.cache_info()["trainer_traces"] == 2
    skdeep.clear_cache()
    serial = _serial(X, y, (1, 2))
    for seed in (1, 2):
        _assert_same_fit(fitted[seed], serial[seed])
