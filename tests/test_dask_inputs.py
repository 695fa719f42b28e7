"""Dask arrays and DataFrames as input (``skdeep.engine.dask_inputs``)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skdeep import MLPClassifier, MLPRegressor
from skdeep.engine import dask_inputs, inputs

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


def _small(**kw):
    return {"hidden_layer_sizes": (4,), "epochs": 3, "batch_size": 32,
            "random_state": 0, "early_stopping": False, **kw}


class Unshuffled(MLPClassifier):
    """MLPClassifier trained without shuffling (the keras.Model.fit
    ``shuffle=False`` the generic wrappers route as ``fit__shuffle``)."""

    def _routed_params(self):
        return {"fit__shuffle": False}


def _same_weights(a, b, **tol):
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        assert_allclose(wb, wa, **(tol or {"rtol": 1e-5, "atol": 1e-6}))


def test_dask_fit_without_shuffling_matches_in_memory_fit():
    # the same rows in the same order: the same batches, hence the same fit
    X, y = _data()
    a = Unshuffled(**_small()).fit(X, y)
    b = Unshuffled(**_small()).fit(da.from_array(X, chunks=(70, 5)), y)
    _same_weights(a, b)
    assert_allclose(b.history_["loss"], a.history_["loss"], rtol=1e-5)


def test_parquet_dataframe_fit_without_shuffling_matches_in_memory_fit(tmp_path):
    # read_parquet gives partitions of unknown size: they are counted first
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    dd.from_pandas(frame, npartitions=4).to_parquet(tmp_path / "x")
    ddf = dd.read_parquet(tmp_path / "x")
    assert np.isnan(ddf.to_dask_array().chunks[0][0])
    a = Unshuffled(**_small()).fit(frame, y)
    b = Unshuffled(**_small()).fit(ddf, dd.from_pandas(pd.Series(y), npartitions=4))
    _same_weights(a, b)
    assert_array_equal(b.feature_names_in_, frame.columns)


def test_dask_fit_is_reproducible_and_shuffles():
    X, y = _data()
    Xd = da.from_array(X, chunks=(70, 5))
    w1 = MLPClassifier(**_small()).fit(Xd, y).model_.get_weights()
    w2 = MLPClassifier(**_small()).fit(Xd, y).model_.get_weights()
    w3 = MLPClassifier(**_small(random_state=1)).fit(Xd, y).model_.get_weights()
    unshuffled = Unshuffled(**_small()).fit(Xd, y).model_.get_weights()
    for a, b in zip(w1, w2, strict=True):
        assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(w1, w3, strict=True))
    assert any(not np.allclose(a, b) for a, b in zip(w1, unshuffled, strict=True))


def _epoch_rows(data, epoch):
    data.on_epoch_begin()
    return np.concatenate([data[i][1] for i in range(len(data))])


def test_dask_batches_shuffle_blocks_and_rows_every_epoch():
    # every row once per epoch, in a new order each epoch, rows of several
    # blocks mixed in a batch; the same seed gives the same epochs
    n = 1000
    X = da.from_array(np.arange(n, dtype=np.float32).reshape(-1, 1), chunks=100)
    y = np.arange(n)
    data = inputs.batches((X, y), 64, 7, 0, True)
    again = inputs.batches((X, y), 64, 7, 0, True)
    assert len(data) == 16
    first, second = _epoch_rows(data, 0), _epoch_rows(data, 1)
    assert_array_equal(np.sort(first), y)
    assert_array_equal(np.sort(second), y)
    assert not np.array_equal(first, second)
    assert_array_equal(_epoch_rows(again, 0), first)
    blocks_in_batch = [len(np.unique(b // 100)) for b in np.split(first, range(64,
                                                                          n, 64))]
    assert max(blocks_in_batch) > 1
    x, rows = data[0]
    assert_array_equal(x.ravel(), rows)  # x and y stay aligned
    ordered = inputs.batches((X, y), 64, 7, 0, False)
    assert_array_equal(_epoch_rows(ordered, 0), y)


def test_dask_fit_and_predict_compute_one_block_at_a_time():
    # never the whole collection: each computation asks for one block
    import dask

    X, y = _data()
    Xd = da.from_array(X, chunks=(50, 5))
    asked = []

    def scheduler(dsk, keys, **kwargs):
        asked.append(len(list(dask.core.flatten(keys))))
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler):
        clf = MLPClassifier(**_small(early_stopping=True)).fit(Xd, y)
        predictions = clf.predict(Xd)
        assert asked and max(asked) == 1, asked
    assert isinstance(predictions, da.Array)


def test_dask_predictions_are_lazy_and_equal_in_memory_predictions():
    X, y = _data()
    Xd = da.from_array(X, chunks=(70, 5))
    clf = MLPClassifier(**_small()).fit(Xd, y)
    proba = clf.predict_proba(Xd)
    labels = clf.predict(Xd)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    assert proba.chunks == ((70, 70, 70, 70, 20), (2,))
    assert_allclose(proba.compute(), clf.predict_proba(X), rtol=1e-6, atol=1e-7)
    assert_array_equal(labels.compute(), clf.predict(X))
    assert_allclose(clf.predict_log_proba(Xd).compute(), clf.predict_log_proba(X))
    assert clf.score(Xd, da.from_array(y, chunks=70)) == clf.score(X, y)
    reg = MLPRegressor(**_small()).fit(Xd, X[:, 0])
    assert reg.predict(Xd).shape == (300,)
    assert_allclose(reg.predict(Xd).compute(), reg.predict(X), rtol=1e-6)
    assert_allclose(reg.score(Xd, X[:, 0]), reg.score(X, X[:, 0]))


def test_dask_predictions_use_the_estimator_as_fitted_when_called():
    X, y = _data()
    Xd = da.from_array(X, chunks=(100, 5))
    clf = MLPClassifier(**_small()).fit(Xd, y)
    proba = clf.predict_proba(Xd)
    expected = clf.predict_proba(X)
    clf.fit(X, 1 - y)  # a refit does not change the lazy result
    assert_allclose(proba.compute(), expected, rtol=1e-6)


def test_dask_dataframe_columns_are_checked_like_pandas():
    X, y = _data()
    names = [f"f{i}" for i in range(5)]
    ddf = dd.from_pandas(pd.DataFrame(X, columns=names), npartitions=3)
    clf = MLPClassifier(**_small(epochs=1)).fit(ddf, y)
    assert_array_equal(clf.feature_names_in_, names)
    assert_array_equal(clf.predict(ddf).compute(), clf.predict(X))
    renamed = ddf.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(renamed)


def test_dask_early_stopping_holds_out_whole_blocks():
    X, y = _data(400)
    Xd = da.from_array(X, chunks=(40, 5))
    clf = MLPClassifier(**_small(early_stopping=True, validation_fraction=0.2))
    fitted = clf.fit(Xd, y)
    assert len(fitted.history_["val_loss"]) == fitted.n_iter_
    blocks = dask_inputs.blocks(Xd)
    train, val = dask_inputs.split(blocks, (y, None), 3, 80)
    assert len(val[0]) == 80 and len(train[0]) == 320
    assert not np.intersect1d(train[0].ids, val[0].ids).size
    rows = np.concatenate([np.arange(40 * i, 40 * i + 40) for i in val[0].ids])
    assert_array_equal(val[1], y[rows])
    assert_array_equal(np.concatenate(list(val[0].iter_blocks())), X[rows])
    assert_array_equal(dask_inputs.split(blocks, (y, None), 3, 80)[1][0].ids,
                       val[0].ids)


def test_dask_single_block_early_stopping_warns_and_uses_training_loss():
    from skdeep.exceptions import SkdeepWarning

    X, y = _data()
    with pytest.warns(SkdeepWarning, match="single block"):
        clf = MLPClassifier(**_small(early_stopping=True)).fit(
            da.from_array(X, chunks=(300, 5)), y)
    assert "val_loss" not in clf.history_


def test_dask_array_of_unknown_chunk_sizes_is_counted():
    X, y = _data()
    Xd = da.from_array(X, chunks=(70, 5))
    keep = Xd[Xd[:, 2] > -10]  # boolean mask: chunks of unknown size
    assert np.isnan(keep.chunks[0][0])
    a = Unshuffled(**_small()).fit(Xd, y)
    b = Unshuffled(**_small()).fit(keep, y)
    _same_weights(a, b)


def test_dask_dataframe_with_text_column_is_a_clear_error():
    X, y = _data()
    frame = pd.DataFrame(X, columns=list("abcde")).assign(city="Paris")
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) \['city'\]"):
        MLPClassifier(**_small()).fit(ddf, y)
    clf = MLPClassifier(**_small(epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) \['city'\]"):
        clf.predict(ddf)


def test_dask_blocks_of_different_widths_is_a_clear_error():
    import dask

    X, y = _data(100)
    parts = [da.from_delayed(dask.delayed(X[:50]), shape=(50, 5), dtype=X.dtype),
             da.from_delayed(dask.delayed(X[50:, :4]), shape=(50, 5),
                             dtype=X.dtype)]
    with pytest.raises(ValueError, match=r"Block 1 of X has shape \(50, 4\).*"
                                         r"declares \(50, 5\)"):
        MLPClassifier(**_small()).fit(da.concatenate(parts), y)


def test_dask_1d_array_and_other_lengths_are_clear_errors():
    X, y = _data()
    with pytest.raises(ValueError, match=r"shape \(300,\).*2-D"):
        MLPClassifier(**_small()).fit(da.from_array(X[:, 0], chunks=70), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MLPClassifier(**_small()).fit(da.from_array(X, chunks=(70, 5)), y[:-1])


def test_dask_predictions_compute_on_a_distributed_cluster(dask_cluster):
    # the lazy result pickles with the fitted estimator and runs on workers
    distributed = pytest.importorskip("distributed")
    X, y = _data()
    Xd = da.from_array(X, chunks=(100, 5))
    clf = MLPClassifier(**_small(epochs=1)).fit(X, y)
    with distributed.Client(dask_cluster) as client:
        proba = client.compute(clf.predict_proba(Xd)).result()
    assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-7)


_BIG = r"""
import json, sys, threading, time
import numpy as np
import dask.array as da
import psutil
import tensorflow  # noqa: F401  the runtime, loaded before the baseline
from distributed import Client, LocalCluster
from skdeep import MLPClassifier

def anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

def rss():
    return psutil.Process().memory_info().rss

n, d, chunk = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GB",
                  host="127.0.0.1", dashboard_address=None,
                  silence_logs=50) as cluster, Client(cluster) as client:
    limit = min(w["memory_limit"]
                for w in client.scheduler_info()["workers"].values())
    workers = {a: w["id"] for a, w in client.scheduler_info()["workers"].items()}
    # generated lazily on the workers, a block at a time
    X = da.random.default_rng(0).random((n, d), chunks=(chunk, d),
                                        dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(np.int8)
    peak, worker_peak, done = [0], [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            try:
                worker_peak[0] = max(worker_peak[0], *client.run(rss).values())
            except Exception:
                pass
            time.sleep(0.2)

    base = anon()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    clf = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, batch_size=4096,
                        random_state=0).fit(X, y)
    t_fit = time.perf_counter() - t0
    fit_growth = max(peak[0], anon()) - base
    peak[0] = 0
    base_predict = anon()
    t0 = time.perf_counter()
    labels = clf.predict(X)  # lazy; the network runs on the client's threads
    lazy = type(labels).__module__
    positive = int(labels.sum().compute(scheduler="threads"))
    t_predict = time.perf_counter() - t0
    predict_growth = max(peak[0], anon()) - base_predict
    done.set()
    thread.join()
    after = {a: w["id"] for a, w in client.scheduler_info()["workers"].items()}
print(json.dumps({"fit_growth": fit_growth, "predict_growth": predict_growth,
                  "fit_s": t_fit, "predict_s": t_predict, "n_pred": labels.shape[0],
                  "positive": positive, "lazy": lazy, "data_bytes": X.nbytes,
                  "worker_limit": limit, "worker_peak": worker_peak[0],
                  "same_workers": after == workers, "n_workers": len(after),
                  "n_iter": clf.n_iter_}))
"""


@pytest.mark.slow
def test_fit_and_predict_on_dask_data_beyond_the_workers_memory():
    # 8,000,000 x 128 float32 = 4.1 GB, generated lazily on two workers of
    # 1 GB each: no worker restarts or goes over its limit, and the client's
    # anonymous memory grows < 1 GB in the fit and in the predictions
    pytest.importorskip("distributed")
    pytest.importorskip("psutil")
    n, d, chunk = 8_000_000, 128, 100_000
    result = subprocess.run(
        [sys.executable, "-c", _BIG, str(n), str(d), str(chunk)],
        capture_output=True, text=True, timeout=1500,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(figures)
    assert figures["data_bytes"] > 2 * 2 * figures["worker_limit"]
    assert figures["n_pred"] == n and figures["lazy"].startswith("dask.array")
    assert 0.4 * n < figures["positive"] < 0.6 * n  # a trained network
    assert figures["same_workers"] and figures["n_workers"] == 2
    assert 0 < figures["worker_peak"] < figures["worker_limit"], figures
    assert figures["fit_growth"] < 2**30, figures
    assert figures["predict_growth"] < 2**30, figures


def test_parquet_partition_rows_are_counted_from_metadata(tmp_path):
    # read_parquet's partition sizes come from the files' footers: counting
    # them reads no partition (a fit's only pass over the files is training)
    import dask

    X, _ = _data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    dd.from_pandas(frame, npartitions=4).to_parquet(tmp_path / "x")
    ddf = dd.read_parquet(tmp_path / "x")
    asked = []

    def scheduler(dsk, keys, **kwargs):
        asked.append(keys)
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler):
        blocks = dask_inputs.blocks(ddf)
    assert not asked
    assert_array_equal(blocks.sizes, ddf.map_partitions(len).compute())
    assert_array_equal(np.concatenate(list(blocks.iter_blocks())), X)
