"""A fit leaves nothing behind in the process, and fits in threads are independent."""

import gc
import random
import threading
import tracemalloc
import weakref

import keras
import numpy as np
import pytest
import scipy.sparse as sp

import skdeep
from skdeep import KerasClassifier, MLPClassifier, MLPRegressor

FAST = dict(hidden_layer_sizes=(16,), epochs=8, dropout=0.2, learning_rate=0.02)


def _fit_in_threads(make, X, y, seeds):
    results, errors = {}, []

    def run(seed):
        try:
            results[seed] = make(seed).fit(X, y).predict_proba(X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("reuse", ["1", "0"])
def test_concurrent_threaded_fits_equal_their_serial_results(monkeypatch, blobs,
                                                              reuse):
    monkeypatch.setenv("SKDEEP_REUSE_NETWORKS", reuse)
    X, y = blobs

    def make(seed):
        return MLPClassifier(**FAST, random_state=seed)

    serial = {seed: make(seed).fit(X, y).predict_proba(X) for seed in (1, 2)}
    for _ in range(3):
        threaded = _fit_in_threads(make, X, y, (1, 2))
        for seed in (1, 2):
            np.testing.assert_array_equal(threaded[seed], serial[seed])


def test_threaded_fits_of_user_networks_equal_their_serial_results(blobs):
    # a build function with unseeded layers: Keras draws their seeds from
    # Python's global random, which skdeep seeds per build under a lock
    X, y = blobs

    def build(meta):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    def make(seed):
        return KerasClassifier(build, epochs=5, optimizer="adam",
                               optimizer__learning_rate=0.02, verbose=0,
                               random_state=seed)

    serial = {seed: make(seed).fit(X, y).predict_proba(X) for seed in (1, 2)}
    threaded = _fit_in_threads(make, X, y, (1, 2))
    for seed in (1, 2):
        np.testing.assert_array_equal(threaded[seed], serial[seed])


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier(**FAST, random_state=0),
    lambda: MLPClassifier(**FAST, random_state=0, callbacks=[
        keras.callbacks.TerminateOnNaN()]),  # the keras.Model.fit path
])
def test_a_fit_leaves_every_global_generator_alone(blobs, make):
    import tensorflow as tf

    X, y = blobs
    random.seed(7)
    np.random.seed(7)
    tf.random.set_seed(7)
    expected = (random.random(), np.random.rand(), float(tf.random.uniform([])))
    random.seed(7)
    np.random.seed(7)
    tf.random.set_seed(7)
    make().fit(X, y).predict(X)
    assert (random.random(), np.random.rand(),
            float(tf.random.uniform([]))) == expected


def test_tensorflow_global_seed_is_not_set_by_a_fit(blobs):
    import tensorflow as tf

    X, y = blobs
    draws = []
    for _ in range(2):
        MLPClassifier(**FAST, random_state=0).fit(X, y)
        draws.append(float(tf.random.uniform([])))
    assert draws[0] != draws[1]


def test_discarded_estimators_free_their_networks(blobs):
    X, y = blobs
    networks = []
    for seed in range(5):
        est = MLPClassifier(**FAST, random_state=seed).fit(X, y)
        networks.append(weakref.ref(est.model_))
        del est
    gc.collect()
    assert all(ref() is None for ref in networks)


def test_clear_cache_empties_the_cache_and_fits_still_match(blobs):
    X, y = blobs
    first = MLPClassifier(**FAST, random_state=0).fit(X, y).predict_proba(X)
    assert skdeep.cache_info()["trainers"] >= 1
    skdeep.clear_cache()
    assert skdeep.cache_info() == {
        "networks": 0, "bytes": 0, "trainers": 0, "trainer_bytes": 0,
        "forward_functions": 0, "forward_bytes": 0, "trainer_traces": 0,
        "forward_traces": 0}
    again = MLPClassifier(**FAST, random_state=0).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)


def test_the_cache_stays_within_its_bounds(blobs):
    X, y = blobs
    for units in range(1, 16 + 4):  # 16 networks, 256 MB at most (README)
        MLPClassifier((units,), epochs=1, random_state=0).fit(X, y)
    info = skdeep.cache_info()
    assert info["trainers"] == 16
    assert info["bytes"] <= 256 * 2**20


def test_batch_level_callbacks_see_every_batch(blobs):
    X, y = blobs  # 150 rows, batch 5: 30 batches per epoch

    class CountBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.batches_seen = getattr(self.model, "batches_seen", 0) + 1

    clf = MLPClassifier((4,), epochs=2, batch_size=5, early_stopping=False,
                        callbacks=[CountBatches()], random_state=0).fit(X, y)
    assert clf.model_.batches_seen == 2 * 30


def test_sparse_input_is_densified_one_batch_at_a_time():
    rng = np.random.RandomState(0)
    n, d = 4000, 40000  # 640 MB as a dense float32 matrix
    # 32,000 stored values at random coordinates (density 2e-4); sp.random
    # drew among all 160 million positions (a minute and 3 GB)
    nnz = int(n * d * 2e-4)
    X = sp.csr_matrix((rng.uniform(size=nnz).astype(np.float32),
                       (rng.randint(0, n, nnz), rng.randint(0, d, nnz))),
                      shape=(n, d))
    y = (np.asarray(X[:, :200].sum(axis=1)).ravel() > 0).astype(int)
    clf = MLPClassifier((4,), epochs=1, batch_size=64, random_state=0)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        proba = clf.predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert proba.shape == (n, 2)
    assert peak < 0.25 * n * d * 4  # a whole dense copy would be 4x this
    dense = np.asarray(X[:50].toarray())
    np.testing.assert_allclose(clf.predict_proba(X[:50]), clf.predict_proba(dense),
                               rtol=1e-5, atol=1e-6)


def test_predict_batch_size_is_honoured(blobs):
    X, y = blobs

    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(meta["n_classes_"],
                                                    activation="softmax")])

    clf = KerasClassifier(build, epochs=1, predict__batch_size=1,
                          verbose=0, random_state=0).fit(X, y)
    one_by_one = clf.predict_proba(X[:7])
    rows = np.vstack([clf.set_params(predict__batch_size=64).predict_proba(X[i:i + 1])
                      for i in range(7)])
    np.testing.assert_array_equal(one_by_one, rows)


def test_regressor_fits_in_threads_match_serial():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y = X @ [1.0, -2.0, 0.5]

    def make(seed):
        return MLPRegressor((8,), epochs=5, dropout=0.1, random_state=seed)

    serial = [make(s).fit(X, y).predict(X) for s in (3, 4)]
    out = {}
    threads = [threading.Thread(target=lambda s=s: out.__setitem__(
        s, make(s).fit(X, y).predict(X))) for s in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(out[3], serial[0])
    np.testing.assert_array_equal(out[4], serial[1])


def test_random_state_none_follows_numpys_global_seed_like_scikit_learn(blobs):
    X, y = blobs
    outs = []
    for _ in range(2):
        np.random.seed(5)
        outs.append(MLPClassifier(**FAST).fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_reuse_off_keeps_nothing(monkeypatch, blobs):
    X, y = blobs
    skdeep.clear_cache()
    monkeypatch.setenv("SKDEEP_REUSE_NETWORKS", "0")
    MLPClassifier(**FAST, random_state=0).fit(X, y)
    assert skdeep.cache_info()["trainers"] == 0
    monkeypatch.setenv("SKDEEP_REUSE_NETWORKS", "maybe")
    with pytest.raises(ValueError, match="SKDEEP_REUSE_NETWORKS='maybe' is not"):
        MLPClassifier(**FAST, random_state=0).fit(X, y)


def test_a_fit_leaves_tensorflows_executor_and_thread_pools_alone(blobs):
    # the compiled loop runs on the single-threaded executor, a thread-local
    # call option set for the call only
    import tensorflow as tf
    from tensorflow.python.eager import context

    X, y = blobs

    def settings():
        options = context.context().function_call_options
        return (options.executor_type, options.config_proto_serialized,
                tf.config.threading.get_inter_op_parallelism_threads(),
                tf.config.threading.get_intra_op_parallelism_threads(),
                tf.config.optimizer.get_experimental_options())

    before = settings()
    MLPClassifier(**FAST, random_state=0).fit(X, y).predict_proba(X)
    assert settings() == before


def _executors_used():
    # which executor the cached loops run on: from outside, the two differ
    # only in the last bits of a fit, so the cache is asked
    from skdeep.engine import cache

    return {item._inline for item in cache._CACHE._items()}


def test_the_inline_executor_can_be_turned_off_and_fits_stay_close(monkeypatch, blobs):
    X, y = blobs
    skdeep.clear_cache()
    inline = MLPClassifier(**FAST, random_state=0).fit(X, y)
    inline.predict_proba(X)
    assert _executors_used() == {True}
    monkeypatch.setenv("SKDEEP_EXECUTOR", "default")
    skdeep.clear_cache()
    default = MLPClassifier(**FAST, random_state=0).fit(X, y)
    default.predict_proba(X)
    assert _executors_used() == {False}
    np.testing.assert_allclose(default.history_["loss"], inline.history_["loss"],
                               rtol=1e-5)
    monkeypatch.setenv("SKDEEP_EXECUTOR", "threads")
    skdeep.clear_cache()
    with pytest.raises(ValueError, match="SKDEEP_EXECUTOR='threads' is not"):
        MLPClassifier(**FAST, random_state=0).fit(X, y)


def test_a_graph_with_an_op_the_inline_guard_does_not_know_runs_on_the_default_executor(
        monkeypatch, blobs):
    # as a future TensorFlow op would: the MLP's activation is taken out of
    # the ops the single-threaded executor is known to run
    from skdeep.engine import loop_tf

    X, y = blobs
    skdeep.clear_cache()
    inline = MLPClassifier(**FAST, random_state=0).fit(X, y)
    inline.predict_proba(X)
    assert _executors_used() == {True}
    monkeypatch.setattr(loop_tf, "INLINE_OPS", loop_tf.INLINE_OPS - {"Relu"})
    skdeep.clear_cache()
    est = MLPClassifier(**FAST, random_state=0).fit(X, y)
    proba = est.predict_proba(X)
    assert _executors_used() == {False}
    np.testing.assert_allclose(est.history_["loss"], inline.history_["loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(proba, inline.predict_proba(X), rtol=1e-5)


def test_the_inline_guard_allows_only_graphs_of_known_ops():
    import tensorflow as tf

    from skdeep.engine.loop_tf import _runs_inline

    spec = [tf.TensorSpec((None,), tf.float32)]
    known = tf.function(lambda x: tf.nn.relu(x) * 2.0, input_signature=spec)
    unknown = tf.function(tf.math.bessel_i0e, input_signature=spec)  # BesselI0e

    def nested(x):  # a conditional, inside a while loop's body
        for _ in tf.range(2):
            x = tf.cond(tf.reduce_sum(x) > 0, lambda x=x: x - 1.0, lambda x=x: x + 1.0)
        return x

    assert _runs_inline(known)
    assert not _runs_inline(unknown)
    assert not _runs_inline(tf.function(nested, input_signature=spec))


def test_a_thread_drawing_from_the_global_generators_is_not_disturbed_by_fits(blobs):
    # skdeep's fits (and the builds of a user's network with unseeded layers)
    # run in one thread while another draws from NumPy's and Python's global
    # generators: the drawing thread sees the sequence it would see alone
    X, y = blobs

    def build(meta):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    done = threading.Event()
    draws = {"numpy": [], "python": []}

    def draw():
        np.random.seed(123)
        random.seed(123)
        while not done.is_set():
            draws["numpy"].append(np.random.random())
            draws["python"].append(random.random())

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        for seed in range(3):
            MLPClassifier((4,), epochs=1, random_state=seed).fit(X, y)
            KerasClassifier(build, epochs=1, verbose=0, random_state=seed).fit(X, y)
    finally:
        done.set()
        drawer.join()
    n = len(draws["numpy"])
    assert n > 1000  # drew all along
    np.random.seed(123)
    random.seed(123)
    alone = {"numpy": [np.random.random() for _ in range(n)],
             "python": [random.random() for _ in range(len(draws["python"]))]}
    assert draws["numpy"] == alone["numpy"]
    assert draws["python"] == alone["python"]


def test_unseeded_layers_of_a_build_function_follow_random_state(blobs):
    # Keras seeds unseeded layers from Python's generator; skdeep gives the
    # build its own generator, seeded by random_state, so these fits repeat
    # whatever the global generators hold
    X, y = blobs

    def build(meta):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    outs = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        np.random.seed(global_seed)
        outs.append(KerasClassifier(build, epochs=2, verbose=0, random_state=0)
                    .fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(outs[0], outs[1])
    other = KerasClassifier(build, epochs=2, verbose=0, random_state=1).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), outs[0])


_PROCESS_SCRIPT = """
import logging, os, sys
import keras
import numpy as np
import tensorflow as tf

def snapshot():
    return (dict(os.environ),
            tf.config.threading.get_inter_op_parallelism_threads(),
            tf.config.threading.get_intra_op_parallelism_threads(),
            list(logging.getLogger("tensorflow").filters))

before = snapshot()
from skdeep import MLPClassifier
X = np.random.RandomState(0).normal(size=(60, 3)).astype("float32")
MLPClassifier((4,), epochs=1, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
after = snapshot()
for name, a, b in zip(("os.environ", "inter-op threads", "intra-op threads",
                       "tensorflow logger filters"), before, after):
    if a != b:
        if isinstance(a, dict):
            a, b = ({k: v for k, v in a.items() if b.get(k) != v},
                    {k: v for k, v in b.items() if a.get(k) != v})
        print(f"CHANGED {name}: {a!r} -> {b!r}")
# a user's own retracing warning still reaches their handlers
seen = []
handler = logging.Handler()
handler.emit = lambda record: seen.append(record.getMessage())
logging.getLogger("tensorflow").addHandler(handler)
tf.get_logger().warning("5 out of the last 5 calls to f triggered "
                        "tf.function retracing")
print("USER WARNING SEEN" if seen else "USER WARNING HIDDEN")
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_import_and_fit_leave_process_settings_alone(backend):
    # a fresh process: the "before" snapshot is taken before skdeep is imported
    import os
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": backend, "OMP_NUM_THREADS": "1"}
    env.pop("XLA_FLAGS", None)
    env.pop("SKDEEP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", _PROCESS_SCRIPT], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "CHANGED" not in out.stdout, out.stdout
    assert "USER WARNING SEEN" in out.stdout, out.stdout


def test_skdeeps_own_retracing_is_not_reported_and_the_filter_is_removed(blobs):
    # Keras traces new train / predict functions for every network on the
    # keras.Model.fit path; TensorFlow warns after 5 such traces
    import logging

    X, y = blobs
    logger = logging.getLogger("tensorflow")
    filters = list(logger.filters)
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    try:
        for units in range(1, 8):
            MLPClassifier((units,), epochs=1, random_state=0, callbacks=[
                keras.callbacks.TerminateOnNaN()]).fit(X, y).predict_proba(X)
    finally:
        logger.removeHandler(handler)
    assert not [m for m in seen if "retracing" in m]
    assert logger.filters == filters
