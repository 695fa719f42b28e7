"""skdeep on the optional JAX backend (Keras's backend is fixed per process)."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

_SCRIPT = textwrap.dedent("""
    import os, pickle, sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from sklearn.datasets import load_digits
    from skdeep import MLPClassifier, MLPRegressor, make_tabular_pipeline
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype("float32")
    params = dict(hidden_layer_sizes=(32,), epochs=15, dropout=0.1, random_state=0)
    a = MLPClassifier(**params).fit(X[:1200], y[:1200])
    b = MLPClassifier(**params).fit(X[:1200], y[:1200])
    np.testing.assert_array_equal(a.predict_proba(X[1200:]), b.predict_proba(X[1200:]))
    # the compiled loop is cached: a fit on other rows reuses it, and the same
    # seed still gives the same fit
    from skdeep import cache_info
    assert cache_info()["trainers"] == 1
    MLPClassifier(**params).fit(X[:1100], y[:1100])
    c = MLPClassifier(**params).fit(X[:1200], y[:1200])
    assert cache_info()["trainers"] == 1
    np.testing.assert_array_equal(a.predict_proba(X[1200:]), c.predict_proba(X[1200:]))
    # fits in threads equal their serial results, and share one trace of
    # the loop for their (new) shape of rows
    import threading
    out = {}
    traces = cache_info()["trainer_traces"]
    together = threading.Barrier(2)

    def fit(s):
        est = MLPClassifier(**dict(params, random_state=s))
        together.wait()  # the two fits start at once
        out[s] = est.fit(X[:600], y[:600]).predict_proba(X)

    threads = [threading.Thread(target=fit, args=(s,)) for s in (1, 2)]
    [t.start() for t in threads]; [t.join() for t in threads]
    assert cache_info()["trainer_traces"] == traces + 1, cache_info()
    for s in (1, 2):
        serial = MLPClassifier(**dict(params, random_state=s)).fit(X[:600], y[:600])
        np.testing.assert_array_equal(out[s], serial.predict_proba(X))
    # the keras.Model.fit path (user callbacks) is reproducible too
    cb = dict(params, callbacks=[keras.callbacks.TerminateOnNaN()], epochs=3)
    np.testing.assert_array_equal(
        MLPClassifier(**cb).fit(X[:300], y[:300]).predict_proba(X[:50]),
        MLPClassifier(**cb).fit(X[:300], y[:300]).predict_proba(X[:50]))
    # XLA's thread settings are the user's: skdeep writes no XLA_FLAGS
    assert "XLA_FLAGS" not in os.environ
    assert a.score(X[1200:], y[1200:]) > 0.85, a.score(X[1200:], y[1200:])
    # fitting and predicting never import TensorFlow (5 s) on JAX; Keras's
    # own saving, used by pickling below, does
    assert "tensorflow" not in sys.modules
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    reg = make_tabular_pipeline(MLPRegressor((16,), epochs=20, random_state=0))
    reg.fit(X, X[:, 10] * 3 + X[:, 20])
    assert reg.score(X, X[:, 10] * 3 + X[:, 20]) > 0.8
    print("jax ok")
""")


_SCORE_SCRIPT = textwrap.dedent("""
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from skdeep import MLPClassifier, MLPRegressor

    class NoOp(keras.callbacks.Callback):
        pass

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    targets = {MLPClassifier: (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int),
               MLPRegressor: X @ np.array([0.5, -0.2, 0.1, 0.3]) + 0.1}
    for cls, y in targets.items():
        for early_stopping in (True, False):
            fits = [cls((3,), batch_size=40, learning_rate=0.05, random_state=0,
                        early_stopping=early_stopping, validation_fraction=0.25,
                        early_stopping_metric="score", patience=2, tol=0.01,
                        epochs=30, callbacks=callbacks).fit(X, y)
                    for callbacks in (None, [NoOp()])]
            assert fits[0].__dict__.get("_network_key") is not None  # compiled
            assert fits[0].n_iter_ == fits[1].n_iter_
            assert set(fits[0].history_) == set(fits[1].history_)
            for key, values in fits[1].history_.items():
                np.testing.assert_allclose(fits[0].history_[key], values,
                                           rtol=1e-5, atol=1e-6, err_msg=key)
    print("jax score ok")
""")


@pytest.mark.slow
def test_estimators_on_the_jax_backend():
    """Both scripts above in one process on the JAX backend (a second one
    would import JAX and Keras again): the estimators' checks first, while
    TensorFlow is not imported, then the JAX loop's in-graph accuracy and R²
    stopping where keras.Model.fit does."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
           "OMP_NUM_THREADS": "1"}
    env.pop("XLA_FLAGS", None)
    # each script in its own namespace, as `python -c` would run it
    code = "\n".join(f"exec({script!r}, {{'__name__': '__main__'}})"
                     for script in (_SCRIPT, _SCORE_SCRIPT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout
    assert "jax score ok" in result.stdout


_EPOCH_SCRIPT = textwrap.dedent("""
    import numpy as np, sys, tempfile, os
    import keras
    import scipy.sparse as sp
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from skdeep import MLPRegressor

    class NoOp(keras.callbacks.Callback):
        pass

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = X @ np.array([0.5, -0.2, 0.1]) + 0.1
    path = os.path.join(tempfile.mkdtemp(), "x.npy")
    np.save(path, X)
    kw = dict(hidden_layer_sizes=(3,), batch_size=8, epochs=3, learning_rate=0.05,
              early_stopping=False, random_state=0)
    # a memmap (skdeep.engine.inputs.batches) and dense / sparse X on
    # keras.Model.fit (batches made in Python) see the same epochs
    memmap = MLPRegressor(**kw).fit(np.load(path, mmap_mode="r"), y)
    for X_fit in (X, sp.csr_matrix(X)):
        other = MLPRegressor(**kw, callbacks=[NoOp()]).fit(X_fit, y)
        np.testing.assert_allclose(other.history_["loss"], memmap.history_["loss"],
                                   rtol=1e-5)
    print("jax epochs ok")
""")


@pytest.mark.slow
def test_batches_made_in_python_shuffle_epoch_0_with_its_own_seed_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
           "OMP_NUM_THREADS": "1"}
    env.pop("XLA_FLAGS", None)
    result = subprocess.run([sys.executable, "-c", _EPOCH_SCRIPT],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax epochs ok" in result.stdout
