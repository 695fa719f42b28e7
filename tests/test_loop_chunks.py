"""The compiled loop for streamed X (``skdeep.engine.loop_chunks``).

A memmap or a Dask collection trains on the compiled loop chunk by chunk,
with the same batches and semantics as the ``keras.Model.fit`` path (which a
user callback that does nothing forces): the same weights and history.
"""

import threading

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skdeep import MLPClassifier, MLPRegressor
from skdeep.engine import cache, loop_chunks

da = pytest.importorskip("dask.array")


class NoOp(keras.callbacks.Callback):
    """A callback that does nothing: it only makes a fit use keras.Model.fit."""


def _data(n=600, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


def _memmap(tmp_path, X):
    np.save(tmp_path / "x.npy", X)
    return np.load(tmp_path / "x.npy", mmap_mode="r")


@pytest.fixture
def small_chunks(monkeypatch):
    # a few batches per chunk: an epoch and the validation rows take several
    monkeypatch.setattr(loop_chunks, "CHUNK_BYTES", 3 * 32 * 5 * 4)


def _compiled(estimator):
    """Whether the fit ran on the compiled loop (its predictions then share
    the loop's forward pass, named by ``_network_key``)."""
    return vars(estimator).get("_network_key") is not None


def _assert_same_fit(a, b):
    assert len(a.history_["loss"]) == len(b.history_["loss"]) == a.n_iter_
    assert set(a.history_) == set(b.history_)
    for key, values in b.history_.items():
        assert_allclose(a.history_[key], values, rtol=1e-5, atol=1e-7, err_msg=key)
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert int(a.model_.optimizer.iterations) == int(b.model_.optimizer.iterations)


SETTINGS = {
    # early stopping on the validation loss, a step schedule, best weights
    "exponential": {"lr_schedule": "exponential", "tol": 0.02},
    # the plateau rule reduces the rate between epochs
    "plateau": {"lr_schedule": "plateau", "tol": 0.01},
    # early stopping on the validation accuracy, computed in the graph
    "score": {"early_stopping_metric": "score", "tol": 0.01},
    # no validation rows: the training rows' loss and score, after each epoch
    "training_score": {"early_stopping": False, "early_stopping_metric": "score",
                       "tol": 0.01},
}


@pytest.mark.parametrize("setting", SETTINGS)
def test_memmap_trains_on_the_chunked_loop_like_keras_fit(tmp_path, small_chunks,
                                                          setting):
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    params = {"hidden_layer_sizes": (4,), "epochs": 30, "batch_size": 32,
              "random_state": 0, "early_stopping": True, "patience": 2,
              "learning_rate": 0.01, **SETTINGS[setting]}
    a = MLPClassifier(**params).fit(Xm, y)
    b = MLPClassifier(**params, callbacks=[NoOp()]).fit(Xm, y)
    assert _compiled(a) and not _compiled(b)
    assert a.n_iter_ < 30  # it stopped early
    _assert_same_fit(a, b)


def test_dask_array_trains_on_the_chunked_loop_like_keras_fit(small_chunks):
    X, y = _data()
    y = X[:, 0] - 0.5 * X[:, 2]
    Xd = da.from_array(X, chunks=(70, 5))
    params = {"hidden_layer_sizes": (4,), "epochs": 30, "batch_size": 32,
              "random_state": 0, "early_stopping": True, "patience": 2,
              "learning_rate": 0.01, "lr_schedule": "cosine", "tol": 0.01,
              "validation_fraction": 0.2}
    a = MLPRegressor(**params).fit(Xd, y)
    b = MLPRegressor(**params, callbacks=[NoOp()]).fit(Xd, y)
    assert _compiled(a) and not _compiled(b)
    assert "val_loss" in a.history_ and a.n_iter_ < 30
    _assert_same_fit(a, b)


def test_streamed_fits_reuse_one_traced_loop_and_reproduce(tmp_path):
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    params = {"hidden_layer_sizes": (3,), "epochs": 3, "batch_size": 64,
              "early_stopping": False}
    cache.clear_cache()
    first = MLPClassifier(**params, random_state=0).fit(Xm, y)
    traces = cache.cache_info()["trainer_traces"]
    again = MLPClassifier(**params, random_state=0).fit(Xm, y)
    other = MLPClassifier(**params, random_state=1).fit(Xm, y)
    info = cache.cache_info()
    assert traces >= 1 and info["trainer_traces"] == traces  # traced once
    assert info["trainers"] >= 1
    for a, b in zip(first.model_.get_weights(), again.model_.get_weights(),
                    strict=True):
        assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in
               zip(first.model_.get_weights(), other.model_.get_weights(),
                   strict=True))


def test_chunked_fit_leaves_no_reading_thread_behind(tmp_path, small_chunks):
    # early stopping ends the epochs while chunks are read ahead: the
    # reading thread stops with the fit
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    clf = MLPClassifier((4,), epochs=50, batch_size=32, tol=1.0, patience=1,
                        random_state=0).fit(Xm, y)
    assert _compiled(clf) and clf.n_iter_ == 2
    assert not [t for t in threading.enumerate() if t.name == "skdeep-chunks"]


def test_chunked_fit_prints_one_line_per_epoch(tmp_path, capfd):
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    clf = MLPClassifier((3,), epochs=2, batch_size=64, random_state=0,
                        verbose=1).fit(Xm, y)
    assert _compiled(clf)
    lines = [line for line in capfd.readouterr().err.splitlines()
             if line.startswith("Epoch")]
    assert len(lines) == 2 and "val_loss" in lines[0]


def test_partial_fit_with_sample_weight_on_a_memmap_matches_keras_fit(tmp_path,
                                                                      small_chunks):
    # the optimizer's state (moments, step count) goes on across calls on
    # both paths; weighted rows weigh the same
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    sw = np.linspace(0.5, 2.0, len(y))
    fitted = []
    for callbacks in (None, [NoOp()]):
        clf = MLPClassifier((4,), batch_size=32, random_state=0,
                            early_stopping=False, learning_rate=0.01,
                            callbacks=callbacks)
        for _ in range(3):
            clf.partial_fit(Xm, y, classes=[0, 1], sample_weight=sw)
        fitted.append(clf)
    assert _compiled(fitted[0]) and not _compiled(fitted[1])
    _assert_same_fit(*fitted)


def test_concurrent_streamed_fits_match_fits_one_at_a_time(tmp_path):
    # fits of one architecture in threads (as in a search): each its own
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    params = {"hidden_layer_sizes": (4,), "epochs": 3, "batch_size": 32}
    alone = [MLPClassifier(**params, random_state=s).fit(Xm, y) for s in range(3)]
    together = [None] * 3

    def fit(s):
        together[s] = MLPClassifier(**params, random_state=s).fit(Xm, y)

    threads = [threading.Thread(target=fit, args=(s,)) for s in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for a, b in zip(alone, together, strict=True):
        assert _compiled(b)
        _assert_same_fit(b, a)


@pytest.mark.parametrize("setting", ["exponential", "score"])
def test_sparse_X_trains_on_the_chunked_loop_like_keras_fit(small_chunks, setting):
    # a CSR matrix is densified a chunk at a time on the compiled loop: the
    # same fit as keras.Model.fit's batches densified one at a time
    sp = pytest.importorskip("scipy.sparse")
    X, y = _data()
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)
    params = {"hidden_layer_sizes": (4,), "epochs": 30, "batch_size": 32,
              "random_state": 0, "early_stopping": True, "patience": 2,
              "learning_rate": 0.01, **SETTINGS[setting]}
    a = MLPClassifier(**params).fit(Xs, y)
    b = MLPClassifier(**params, callbacks=[NoOp()]).fit(Xs, y)
    assert _compiled(a) and not _compiled(b)
    assert a.n_iter_ < 30
    _assert_same_fit(a, b)
    assert_allclose(a.predict_proba(Xs), b.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_sparse_fits_of_one_architecture_trace_once():
    # each fit on sparse X traced keras.Model.fit's step again; now the
    # fits of a search share one traced loop, as dense ones do
    sp = pytest.importorskip("scipy.sparse")
    X, y = _data()
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)
    params = {"hidden_layer_sizes": (3,), "epochs": 2, "batch_size": 64,
              "early_stopping": False}
    cache.clear_cache()
    MLPClassifier(**params, random_state=0).fit(Xs, y)
    traces = cache.cache_info()["trainer_traces"]
    for seed in (1, 2):
        assert _compiled(MLPClassifier(**params, random_state=seed).fit(Xs, y))
    assert traces >= 1 and cache.cache_info()["trainer_traces"] == traces
