"""Inputs read batch by batch (``skdeep.engine.inputs``): NumPy memmaps."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skdeep import MLPClassifier, MLPRegressor


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


def _memmap(tmp_path, X, name="x.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")


def _small(**kw):
    return {"hidden_layer_sizes": (4,), "epochs": 3, "batch_size": 32,
            "random_state": 0, **kw}


def test_memmap_fit_matches_in_memory_fit(tmp_path):
    # same seed, same rows: the same shuffled batches, hence the same
    # weights, history and predictions
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    a = MLPClassifier(**_small(early_stopping=False)).fit(X, y)
    b = MLPClassifier(**_small(early_stopping=False)).fit(Xm, y)
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        assert_allclose(wb, wa, rtol=1e-5, atol=1e-6)
    assert_allclose(b.history_["loss"], a.history_["loss"], rtol=1e-5)
    assert_allclose(b.predict_proba(Xm), a.predict_proba(X), rtol=1e-5, atol=1e-7)
    assert_array_equal(b.predict(Xm), a.predict(X))
    assert b.score(Xm, y) == a.score(X, y)


def test_memmap_early_stopping_holds_out_stratified_rows(tmp_path):
    # validation rows are held out by index: validation_fraction of them,
    # each class in proportion, the same rows for the same seed
    X, y = _data(400)
    y = np.where(np.arange(400) < 100, 2, y)  # three classes, unbalanced
    Xm = _memmap(tmp_path, X)
    fitted = MLPClassifier(**_small()).fit(Xm, y)
    assert len(fitted.history_["val_loss"]) == fitted.n_iter_
    clf = fitted.set_params(validation_fraction=0.2)
    (train, _, _), (val, y_val, _) = clf._split(
        Xm, y, None, seed=3, validate=True)
    assert len(val.index) == 80 and len(train.index) == 320
    assert not np.intersect1d(train.index, val.index).size
    assert_array_equal(y_val, y[val.index])
    assert np.abs(np.bincount(y_val) - np.bincount(y) * 0.2).max() < 1
    assert_array_equal(read_rows(val), X[val.index])
    again = clf._split(Xm, y, None, seed=3, validate=True)[1][0]
    assert_array_equal(again.index, val.index)


def read_rows(rows):
    return rows[np.arange(len(rows))]


def test_memmap_fit_is_reproducible_and_shuffles(tmp_path):
    X, y = _data()
    Xm = _memmap(tmp_path, X)
    w1 = MLPClassifier(**_small()).fit(Xm, y).model_.get_weights()
    w2 = MLPClassifier(**_small()).fit(Xm, y).model_.get_weights()
    w3 = MLPClassifier(**_small(random_state=1)).fit(Xm, y).model_.get_weights()
    for a, b in zip(w1, w2, strict=True):
        assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(w1, w3, strict=True))


def test_np_memmap_regressor_float64(tmp_path):
    # np.memmap of float64 is read as float32 batch by batch
    X, _ = _data(200, 3)
    y = X @ np.array([1.0, -2.0, 0.5])
    Xm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=X.shape)
    Xm[:] = X
    Xm.flush()
    Xm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="r", shape=X.shape)
    kw = dict(hidden_layer_sizes=(4,), epochs=2, batch_size=32, random_state=0,
              early_stopping=False)
    a = MLPRegressor(**kw).fit(X, y)
    b = MLPRegressor(**kw).fit(Xm, y)
    assert_allclose(b.predict(Xm), a.predict(X), rtol=1e-5, atol=1e-6)


def test_memmap_of_text_is_a_clear_error(tmp_path):
    Xm = np.memmap(tmp_path / "s.dat", dtype="S4", mode="w+", shape=(10, 2))
    with pytest.raises(ValueError, match=r"memmap of dtype \|S4.*numeric"):
        MLPClassifier(**_small()).fit(Xm, np.arange(10) % 2)


def test_memmap_1d_is_a_clear_error(tmp_path):
    Xm = _memmap(tmp_path, np.zeros(10, np.float32))
    with pytest.raises(ValueError, match=r"shape \(10,\).*2-D"):
        MLPClassifier(**_small()).fit(Xm, np.arange(10) % 2)


def test_memmap_with_wrong_columns_at_predict_is_a_clear_error(tmp_path):
    X, y = _data()
    clf = MLPClassifier(**_small(epochs=1)).fit(_memmap(tmp_path, X), y)
    wrong = _memmap(tmp_path, X[:, :3], "wrong.npy")
    with pytest.raises(ValueError, match=r"X has 3 features.*expecting 5"):
        clf.predict(wrong)


def test_memmap_and_y_of_other_lengths_is_a_clear_error(tmp_path):
    X, y = _data()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MLPClassifier(**_small()).fit(_memmap(tmp_path, X), y[:-1])


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
step = 250_000
# one random block, written again and again: drawing 10**9 normals would take
# seconds, and the memory the fit and predict take does not depend on the values
block = np.random.default_rng(0).standard_normal((step, d), dtype=np.float32)
for start in range(0, n, step):  # written in chunks, never whole in memory
    out[start:start + step] = block[:min(step, n - start)]
out.flush()
del out, block
X = np.load(path, mmap_mode="r")
y = (np.arange(n) % 2).astype(np.int8)
from skdeep import MLPClassifier

clf = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, batch_size=4096,
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
labels = clf.predict(X)
t_predict = time.perf_counter() - t0
predict_peak = max(peak[0], anon()) - base_predict
done.set()
print(json.dumps({"fit_growth": fit_peak, "predict_growth": predict_peak,
                  "fit_s": t_fit, "predict_s": t_predict, "n_pred": len(labels),
                  "file_bytes": os.path.getsize(path)}))
"""


@pytest.mark.slow
def test_fit_and_predict_on_a_4gb_memmap_keep_memory_bounded(tmp_path):
    # 8,000,000 x 128 float32 = 4.1 GB on disk; anonymous memory (not the
    # mapped file's pages, which the page cache may drop) grows < 1 GB
    n, d = 8_000_000, 128
    result = subprocess.run(
        [sys.executable, "-c", _BIG, str(tmp_path / "big.npy"), str(n), str(d)],
        capture_output=True, text=True, timeout=1500,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(figures)
    assert figures["file_bytes"] > 4e9
    assert figures["n_pred"] == n
    assert figures["fit_growth"] < 2**30, figures
    assert figures["predict_growth"] < 2**30, figures


# ------------------------------------------------------------ Keras datasets
def _py_dataset(X, y, batch, sw=None):
    import keras

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return -(-len(X) // batch)

        def __getitem__(self, i):
            rows = slice(i * batch, (i + 1) * batch)
            return ((X[rows], y[rows]) if sw is None
                    else (X[rows], y[rows], sw[rows]))

    return Batches()


def test_py_dataset_and_tf_dataset_fit_like_arrays():
    # one batch of all rows: the dataset's order cannot matter, so a fit from
    # a PyDataset, from a tf.data.Dataset and from the arrays agree; the
    # classes (text labels) come from one pass over the dataset
    import tensorflow as tf

    X, y01 = _data()
    y = np.where(y01 == 1, "yes", "no")
    kw = _small(batch_size=300, early_stopping=False)
    a = MLPClassifier(**kw).fit(X, y)
    b = MLPClassifier(**kw).fit(_py_dataset(X, y, 300))
    c = MLPClassifier(**kw).fit(tf.data.Dataset.from_tensor_slices((X, y)).batch(300))
    for other in (b, c):
        assert_array_equal(other.classes_, ["no", "yes"])
        assert_allclose(other.history_["loss"], a.history_["loss"], rtol=1e-5)
        assert_allclose(other.predict_proba(X), a.predict_proba(X), rtol=1e-5,
                        atol=1e-7)
    # predictions for a dataset: its batches' x, in order
    assert_array_equal(b.predict(_py_dataset(X, y, 64)), a.predict(X))


def test_dataset_sample_weights_are_read_from_batches():
    import tensorflow as tf

    X, y = _data()
    sw = np.where(y == 1, 3.0, 1.0).astype(np.float32)
    kw = _small(batch_size=300, early_stopping=False)
    a = MLPClassifier(**kw).fit(X, y, sample_weight=sw / sw.mean())
    b = MLPClassifier(**kw).fit(
        tf.data.Dataset.from_tensor_slices((X, y, sw / sw.mean())).batch(300))
    assert_allclose(b.history_["loss"], a.history_["loss"], rtol=1e-5)


def test_dataset_with_batches_of_different_widths_is_a_clear_error():
    import keras

    class Ragged(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros((4, 3 + i), np.float32), np.array([0, 1, 0, 1])

    with pytest.raises(ValueError, match=r"Batch 1 .* shape \(4, 4\).*3 columns"):
        MLPClassifier(**_small()).fit(Ragged())


def test_dataset_and_y_is_a_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match=r"yields its own targets.*y=None"):
        MLPClassifier(**_small()).fit(_py_dataset(X, y, 50), y)


def test_fit_without_y_on_arrays_is_a_clear_error():
    # y defaults to None for datasets; arrays still need it
    X, _ = _data()
    with pytest.raises(ValueError, match="requires y to be passed"):
        MLPClassifier(**_small()).fit(X)


def test_score_of_a_dataset_reads_its_targets_and_weights():
    # score(dataset) with y=None: the batches' y (and weights) against the
    # predictions of their x, as score(X, y, sample_weight)
    import tensorflow as tf

    X, y = _data()
    clf = MLPClassifier(**_small(early_stopping=False)).fit(X, y)
    assert clf.score(_py_dataset(X, y, 64)) == clf.score(X, y)
    sw = np.where(y == 1, 3.0, 1.0)
    weighted = tf.data.Dataset.from_tensor_slices((X, y, sw)).batch(50)
    assert_allclose(clf.score(weighted), clf.score(X, y, sample_weight=sw))
    target = X[:, 0] - 0.5 * X[:, 2]
    reg = MLPRegressor(**_small(early_stopping=False)).fit(X, target)
    assert_allclose(reg.score(_py_dataset(X, target, 64)), reg.score(X, target),
                    rtol=1e-6)
    with pytest.raises(ValueError, match=r"score got a Keras dataset.*y=None"):
        clf.score(_py_dataset(X, y, 64), y)
