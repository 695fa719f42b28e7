"""The generic wrappers on data read batch by batch
(``skdeep.wrappers._streaming``): NumPy memmaps and Keras datasets, as
scikeras users asked for (scikeras PR #166)."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skdeep import KerasClassifier, KerasRegressor

QUIET = {"verbose": 0, "random_state": 0}


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


def _memmap(tmp_path, X, name="x.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")


def _classifier_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(meta["n_classes_"],
                                                activation="softmax")])


def _regressor_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(1)])


def _py_dataset(X, y, batch):
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return -(-len(X) // batch)

        def __getitem__(self, i):
            rows = slice(i * batch, (i + 1) * batch)
            return X[rows], y[rows]

    return Batches()


def test_keras_classifier_fits_predicts_and_scores_keras_datasets():
    # one batch of all rows: the order cannot matter, so fits from a
    # PyDataset, a tf.data.Dataset and the arrays agree; the classes (text
    # labels) come from one pass over the dataset
    import tensorflow as tf

    X, y01 = _data()
    y = np.where(y01 == 1, "yes", "no")
    kw = dict(loss="sparse_categorical_crossentropy", optimizer="adam",
              batch_size=300, epochs=3, **QUIET)
    a = KerasClassifier(_classifier_net, **kw).fit(X, y)
    b = KerasClassifier(_classifier_net, **kw).fit(_py_dataset(X, y, 300))
    c = KerasClassifier(_classifier_net, **kw).fit(
        tf.data.Dataset.from_tensor_slices((X, y)).batch(300))
    for other in (b, c):
        assert_array_equal(other.classes_, ["no", "yes"])
        assert other.n_features_in_ == 5 and other.X_shape_ == (300, 5)
        assert_allclose(other.history_["loss"], a.history_["loss"], rtol=1e-5)
        assert_allclose(other.predict_proba(X), a.predict_proba(X), rtol=1e-5,
                        atol=1e-7)
    # predictions and score for a dataset: its batches' x (and y), in order
    assert_array_equal(b.predict(_py_dataset(X, y, 64)), a.predict(X))
    assert_allclose(b.predict_proba(_py_dataset(X, y, 64)), a.predict_proba(X),
                    rtol=1e-5, atol=1e-7)
    assert b.score(_py_dataset(X, y, 64)) == a.score(X, y)
    tf_batches = tf.data.Dataset.from_tensor_slices((X, y)).batch(64)
    assert c.score(tf_batches) == a.score(X, y)


def test_keras_classifier_trains_on_a_dataset_of_many_batches():
    X, y = _data(600)
    clf = KerasClassifier(_classifier_net, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.05,
                          epochs=5, **QUIET).fit(_py_dataset(X, y, 32))
    assert len(clf.history_["loss"]) == 5
    assert clf.history_["loss"][-1] < clf.history_["loss"][0]
    assert clf.score(_py_dataset(X, y, 100)) > 0.8
    # validation rows come as validation_data (the dataset's cannot be held out)
    clf = KerasClassifier(_classifier_net, loss="sparse_categorical_crossentropy",
                          epochs=2, **QUIET).fit(_py_dataset(X[:500], y[:500], 32),
                                                 validation_data=(X[500:], y[500:]))
    assert len(clf.history_["val_loss"]) == 2


def test_keras_regressor_memmap_fit_matches_in_memory_fit(tmp_path):
    # the same rows in memory and on disk: the same shuffled batches, the same
    # validation_split rows (the last ones, held out by index), hence the
    # same weights, history and predictions
    X, _ = _data()
    y = X @ np.array([0.5, -0.2, 0.1, 0.3, 0.0]) + 0.1
    Xm = _memmap(tmp_path, X)
    kw = dict(loss="mse", optimizer="adam", batch_size=32, epochs=3,
              validation_split=0.2, **QUIET)
    a = KerasRegressor(_regressor_net, **kw).fit(X, y)
    b = KerasRegressor(_regressor_net, **kw).fit(Xm, y)
    # both on the compiled loop (the memmap chunk by chunk): it names the
    # network its predictions share
    assert vars(a).get("_network_key") and vars(b).get("_network_key")
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        assert_allclose(wb, wa, rtol=1e-5, atol=1e-6)
    assert_allclose(b.history_["val_loss"], a.history_["val_loss"], rtol=1e-5)
    assert b.X_shape_ == (300, 5)
    assert_allclose(b.predict(Xm), a.predict(X), rtol=1e-5, atol=1e-6)
    # with predict callbacks: keras.Model.predict on batches read by index
    assert_allclose(b.predict(Xm, callbacks=[keras.callbacks.Callback()]),
                    a.predict(X), rtol=1e-5, atol=1e-6)
    assert_allclose(b.score(Xm, y), a.score(X, y), rtol=1e-6)
    weights = np.where(np.arange(300) % 3 == 0, 0.0, 1.0)
    assert_allclose(b.score(Xm, y, sample_weight=weights),
                    a.score(X, y, sample_weight=weights), rtol=1e-6)
    # with shuffling off too, and sample weights with zeros (rows dropped by
    # index)
    kw.update(shuffle=False, validation_split=0.0)
    a = KerasRegressor(_regressor_net, **kw).fit(X, y, sample_weight=weights)
    b = KerasRegressor(_regressor_net, **kw).fit(Xm, y, sample_weight=weights)
    assert_allclose(b.history_["loss"], a.history_["loss"], rtol=1e-5)
    assert_allclose(b.predict(Xm), a.predict(X), rtol=1e-5, atol=1e-6)


def test_keras_classifier_memmap_fit_and_predict_proba(tmp_path):
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    kw = dict(loss="sparse_categorical_crossentropy", batch_size=32, epochs=2,
              **QUIET)
    a = KerasClassifier(_classifier_net, **kw).fit(X, y)
    b = KerasClassifier(_classifier_net, **kw).fit(Xm, y)
    assert_allclose(b.predict_proba(Xm), a.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert_array_equal(b.classes_, [0, 1])


# ------------------------------------------------------------------ bad input
def test_memmap_of_text_is_a_clear_error(tmp_path):
    Xm = np.memmap(tmp_path / "s.dat", dtype="S4", mode="w+", shape=(10, 2))
    with pytest.raises(ValueError, match=r"memmap of dtype \|S4.*numeric"):
        KerasRegressor(_regressor_net, loss="mse", **QUIET).fit(Xm, np.zeros(10))


def test_memmap_with_wrong_columns_at_predict_is_a_clear_error(tmp_path):
    X, _ = _data()
    reg = KerasRegressor(_regressor_net, loss="mse", **QUIET).fit(
        _memmap(tmp_path, X), X[:, 0])
    with pytest.raises(ValueError, match="X has 3 features, but KerasRegressor "
                                         "is expecting 5"):
        reg.predict(_memmap(tmp_path, X[:, :3], "wrong.npy"))


def test_dataset_with_batches_of_different_widths_is_a_clear_error():
    class Ragged(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros((4, 3 + i), np.float32), np.array([0, 1, 0, 1])

    with pytest.raises(ValueError, match=r"Batch 1 .* shape \(4, 4\).*3 columns"):
        KerasClassifier(_classifier_net, **QUIET).fit(Ragged())


def test_dataset_with_y_or_validation_split_is_a_clear_error():
    X, y = _data()
    clf = KerasClassifier(_classifier_net, **QUIET)
    with pytest.raises(ValueError, match=r"yields its own targets.*y=None"):
        clf.fit(_py_dataset(X, y, 50), y)
    with pytest.raises(ValueError, match=r"yields its own targets.*y=None"):
        clf.set_params(class_weight="balanced").fit(_py_dataset(X, y, 50))
    with pytest.raises(ValueError, match=r"validation_split=0.2 with a Keras "
                                         r"dataset.*validation_data="):
        KerasClassifier(_classifier_net, validation_split=0.2, **QUIET).fit(
            _py_dataset(X, y, 50))
    with pytest.raises(ValueError, match=r"feature_encoder / input_columns "
                                         r"cannot apply"):
        KerasClassifier(_classifier_net, input_columns={"a": [0, 1]}, **QUIET).fit(
            _py_dataset(X, y, 50))
    with pytest.raises(ValueError, match=r"score got a Keras dataset.*y=None"):
        KerasClassifier(_classifier_net, **QUIET).fit(X, y).score(
            _py_dataset(X, y, 50), y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        KerasClassifier(_classifier_net, **QUIET).fit(X)


_BIG = r"""
import json, os, sys, threading, time
import numpy as np

def anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
rng = np.random.default_rng(0)
step = 250_000
for start in range(0, n, step):  # written in chunks, never whole in memory
    out[start:start + step] = rng.standard_normal((min(step, n - start), d),
                                                  dtype=np.float32)
out.flush()
del out
X = np.load(path, mmap_mode="r")
y = (np.arange(n) % 2).astype(np.int8)
import keras
from skdeep import KerasClassifier

def net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(2, activation="softmax")])

clf = KerasClassifier(net, loss="sparse_categorical_crossentropy", epochs=1,
                      batch_size=4096, validation_split=0.1, verbose=0,
                      random_state=0)
peak, done = [0], threading.Event()

def watch():
    while not done.is_set():
        peak[0] = max(peak[0], anon())
        time.sleep(0.02)

base = anon()
thread = threading.Thread(target=watch, daemon=True)
thread.start()
t0 = time.perf_counter()
clf.fit(X, y)
t_fit = time.perf_counter() - t0
fit_peak = max(peak[0], anon()) - base
peak[0] = 0
base_predict = anon()
t0 = time.perf_counter()
score = clf.score(X, y)
t_score = time.perf_counter() - t0
score_peak = max(peak[0], anon()) - base_predict
done.set()
print(json.dumps({"fit_growth": fit_peak, "score_growth": score_peak,
                  "fit_s": t_fit, "score_s": t_score, "score": score,
                  "file_bytes": os.path.getsize(path)}))
"""


@pytest.mark.slow
def test_keras_classifier_on_a_large_memmap_keeps_memory_bounded(tmp_path):
    # 2,000,000 x 64 float32 = 512 MB on disk: anonymous memory (not the
    # mapped file's pages) grows by less than half of it in fit (with a
    # validation split) and in score; a copy in memory would be all of it
    import json
    import os
    import subprocess
    import sys

    n, d = 2_000_000, 64
    result = subprocess.run(
        [sys.executable, "-c", _BIG, str(tmp_path / "big.npy"), str(n), str(d)],
        capture_output=True, text=True, timeout=1500,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(figures)
    assert figures["file_bytes"] > 5e8
    assert figures["fit_growth"] < 2.5e8, figures
    assert figures["score_growth"] < 2.5e8, figures


# ------------------------------------------------------------------ Dask
def _dask_fits(make, X, y, Xd, **kw):
    """An in-memory fit and a fit on Dask ``Xd`` (the same rows), under a
    scheduler that records how many blocks each computation asks for."""
    import dask

    asked = []

    def scheduler(dsk, keys, **kwargs):
        asked.append(len(list(dask.core.flatten(keys))))
        return dask.get(dsk, keys, **kwargs)

    a = make(**kw).fit(X, y)
    with dask.config.set(scheduler=scheduler):
        b = make(**kw).fit(Xd, y)
    return a, b, asked


def _same_weights(a, b):
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        assert_allclose(wb, wa, rtol=1e-5, atol=1e-6)


def test_keras_classifier_dask_array_fit_predict_and_score_match_in_memory():
    # shuffle off: the same rows in the same order, so the same batches and
    # weights; the fit computes one block at a time, never the whole array
    da = pytest.importorskip("dask.array")
    X, y = _data()
    Xd = da.from_array(X, chunks=(70, 5))
    kw = dict(loss="sparse_categorical_crossentropy", batch_size=32, epochs=2,
              shuffle=False, **QUIET)
    a, b, asked = _dask_fits(lambda **k: KerasClassifier(_classifier_net, **k),
                             X, y, Xd, **kw)
    assert asked and max(asked) == 1, asked
    _same_weights(a, b)
    assert_allclose(b.history_["loss"], a.history_["loss"], rtol=1e-5)
    assert b.X_shape_ == (300, 5) and b.n_features_in_ == 5
    proba, labels = b.predict_proba(Xd), b.predict(Xd)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    assert proba.chunks == ((70, 70, 70, 70, 20), (2,))
    assert_allclose(proba.compute(), a.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert_array_equal(labels.compute(), a.predict(X))
    # keyword arguments reach keras.Model.predict, block by block or in memory
    assert_allclose(b.predict_proba(Xd, batch_size=8).compute(),
                    b.predict_proba(X, batch_size=8), rtol=1e-6, atol=1e-7)
    assert b.score(Xd, da.from_array(y, chunks=70)) == b.score(X, y)
    weights = np.where(np.arange(300) % 3 == 0, 0.0, 1.0)
    assert b.score(Xd, y, sample_weight=weights) == b.score(
        X, y, sample_weight=weights)


def test_keras_regressor_dask_fit_with_validation_split_and_dataframe():
    # validation_split holds out the last whole blocks (keras.Model.fit holds
    # out the last rows): the same as an in-memory fit on those rows
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    X, _ = _data()
    y = X @ np.array([0.5, -0.2, 0.1, 0.3, 0.0]) + 0.1
    Xd = da.from_array(X, chunks=(60, 5))
    kw = dict(loss="mse", optimizer="adam", batch_size=32, epochs=2,
              shuffle=False, **QUIET)
    a = KerasRegressor(_regressor_net, **kw).fit(
        X[:240], y[:240], validation_data=(X[240:], y[240:]))
    b = KerasRegressor(_regressor_net, validation_split=0.2, **kw).fit(Xd, y)
    _same_weights(a, b)
    assert_allclose(b.history_["val_loss"], a.history_["val_loss"], rtol=1e-5)
    # a fraction that is not whole blocks: the fewest last blocks holding it
    c = KerasRegressor(_regressor_net, validation_split=0.1, **kw).fit(Xd, y)
    _same_weights(a, c)
    with pytest.raises(ValueError, match="single block"):
        KerasRegressor(_regressor_net, validation_split=0.2, **kw).fit(
            da.from_array(X, chunks=(300, 5)), y)
    # a DataFrame: columns named as its own, predictions lazy and equal
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    ddf = dd.from_pandas(frame, npartitions=3)
    m = KerasRegressor(_regressor_net, **kw).fit(frame, y)
    d = KerasRegressor(_regressor_net, **kw).fit(ddf, dd.from_pandas(
        pd.Series(y), npartitions=3))
    _same_weights(m, d)
    assert_array_equal(d.feature_names_in_, frame.columns)
    predictions = d.predict(ddf)
    assert isinstance(predictions, da.Array)
    assert_allclose(predictions.compute(), m.predict(frame), rtol=1e-5, atol=1e-6)
    assert_allclose(d.score(ddf, y), m.score(frame, y), rtol=1e-5)


def test_dask_x_bad_uses_are_clear_errors():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    from skdeep.exceptions import NotFittedError

    X, _ = _data(60)
    y = X[:, 0]
    Xd = da.from_array(X, chunks=(20, 5))
    kw = dict(loss="mse", epochs=1, **QUIET)
    with pytest.raises(NotFittedError, match="not fitted"):
        KerasRegressor(_regressor_net, **kw).predict(Xd)
    with pytest.raises(ValueError, match="zero for 1 of the 60 rows of a Dask X"):
        KerasRegressor(_regressor_net, **kw).fit(
            Xd, y, sample_weight=np.r_[0.0, np.ones(59)])
    ddf = dd.from_pandas(pd.DataFrame(X, columns=list("abcde")), npartitions=3)
    with pytest.raises(ValueError, match="input_columns cannot apply"):
        KerasRegressor(_regressor_net, input_columns={"a": ["a", "b"]},
                       **kw).fit(ddf, y)
