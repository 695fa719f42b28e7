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


def pytest_collection_modifyitems(config, items):
    """Run the tests marked ``slow`` first (each module's in their order).

    Under pytest-xdist (``pytest -n 2``) workers take tests in collection order
    as they free up: with the long tests at the front, both end on short ones
    and finish together, instead of one waiting for the other's last long test.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
