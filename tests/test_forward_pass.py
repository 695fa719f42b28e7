"""The one padded forward pass of fitted networks (``skdeep.engine.forward_pass``):
a row's prediction does not depend on the rows it came with, nor on the call."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification

from skdeep import KerasClassifier, MLPClassifier


def _build(meta):
    # normalisation: its kernels round differently for different batch sizes
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(64),
        keras.layers.LayerNormalization(),
        keras.layers.Dense(meta["n_classes_"], activation="softmax")])


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((64,), batch_norm=True, epochs=3, random_state=0),
    lambda: KerasClassifier(_build, epochs=3, optimizer="adam", verbose=0,
                            random_state=0),
], ids=["MLPClassifier", "KerasClassifier"])
def test_a_rows_prediction_is_the_same_alone_in_any_batch_and_on_any_call(make):
    X, y = make_classification(1000, 30, n_informative=10, n_classes=3,
                               random_state=0)
    X = X.astype(np.float32)
    est = make().fit(X[:200], y[:200])
    calls = [est.predict_proba(X[5:6]) for _ in range(10)]
    assert_array_equal(calls[9], calls[0])  # 1st and 10th call
    alone = calls[0][0]
    assert_array_equal(est.predict_proba(X[:7])[5], alone)
    assert_array_equal(est.predict_proba(X)[5], alone)
    # every row of a large batch as when it comes alone or in a small one
    batch = est.predict_proba(X)
    assert_array_equal(np.concatenate([est.predict_proba(X[i:i + 7])
                                       for i in range(0, 70, 7)]), batch[:70])
