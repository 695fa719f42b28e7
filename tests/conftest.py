"""Shared fixtures: quiet TensorFlow, tiny datasets, tiny estimators."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="session")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="session")
def blobs():
    """A small, easy 3-class problem for fast tests."""
    rng = np.random.RandomState(0)
    centers = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    y = rng.randint(0, 3, size=150)
    X = centers[y] + rng.normal(scale=0.5, size=(150, 4))
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def dask_cluster():
    """One local Dask cluster (two worker processes on 127.0.0.1) per test
    session, shared by tests/test_distributed.py and the Dask example:
    starting one, and TensorFlow in its workers, takes tens of seconds."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=50) as cluster:
        yield cluster


_STREAMED = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0)


@pytest.fixture
def streamed_fits(tmp_path):
    """Estimators fitted from a memmap and from Keras datasets (ready-made
    and generic wrappers), with the rows to predict in memory and as a memmap
    (tests/test_persistence.py, tests/test_export.py)."""
    import keras
    import tensorflow as tf

    import skdeep

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    target = X @ np.array([0.5, -0.2, 0.1, 0.3])
    np.save(tmp_path / "x.npy", X)
    Xm = np.load(tmp_path / "x.npy", mmap_mode="r")

    def net(units, activation=None):  # a model instance: pickled with the estimator
        return keras.Sequential([keras.Input((4,)),
                                 keras.layers.Dense(3, activation="relu"),
                                 keras.layers.Dense(units, activation=activation)])

    batches = tf.data.Dataset.from_tensor_slices((X, y)).batch(50)
    wrapper = dict(epochs=2, verbose=0, random_state=0)
    return {
        "mlp_memmap": skdeep.MLPClassifier(**_STREAMED).fit(Xm, y),
        "mlp_dataset": skdeep.MLPRegressor(**_STREAMED, early_stopping=False).fit(
            tf.data.Dataset.from_tensor_slices((X, target)).batch(50)),
        "keras_classifier_dataset": skdeep.KerasClassifier(
            net(2, "softmax"), loss="sparse_categorical_crossentropy",
            **wrapper).fit(batches),
        "keras_regressor_memmap": skdeep.KerasRegressor(
            net(1), loss="mse", **wrapper).fit(Xm, target),
    }, X, Xm


def pytest_collection_modifyitems(config, items):
    """Run the tests marked ``slow`` first (each module's in their order).

    Under pytest-xdist (``pytest -n 2``, ``--dist worksteal`` in pyproject.toml)
    the first worker starts on the front half, the second on the back half, and
    a worker that runs out takes the back half of the other's queue: with the
    long tests at the front, both end on short ones and finish together,
    instead of one waiting for the other's last long test.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
