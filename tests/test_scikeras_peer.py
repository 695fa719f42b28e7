"""skdeep's machinery around a scikeras estimator, and the differences it fixes."""

import warnings

import keras
import numpy as np
import pytest
from sklearn.base import is_classifier

scikeras = pytest.importorskip("scikeras.wrappers")


def _net(meta, hidden=8):
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def test_same_build_function_and_params_work_in_both(blobs):
    from skdeep import KerasClassifier

    X, y = blobs
    params = dict(model=_net, model__hidden=8, loss="sparse_categorical_crossentropy",
                  optimizer="adam", optimizer__learning_rate=0.02, epochs=10,
                  batch_size=32, random_state=0, verbose=0)
    ours = KerasClassifier(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = scikeras.KerasClassifier(**params).fit(X, y)
    assert ours.score(X, y) > 0.8 and theirs.score(X, y) > 0.8
    assert float(ours.model_.optimizer.learning_rate) == pytest.approx(0.02)
    # the incumbent is no longer recognised as a classifier by scikit-learn 1.9
    assert is_classifier(ours)
    assert np.array_equal(ours.classes_, theirs.classes_)
