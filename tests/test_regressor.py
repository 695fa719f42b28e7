"""Regressor behaviour: shapes, multi-output, losses, scale of the target."""

import keras
import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdeep import KerasRegressor, MLPRegressor

FAST = dict(hidden_layer_sizes=(16,), epochs=30, learning_rate=0.01,
            early_stopping=False, random_state=0)


@pytest.fixture(scope="module")
def linear():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 1]]) * 100 + 1000
    return X, Y


def test_single_output_shape_and_fit(linear):
    X, Y = linear
    reg = MLPRegressor(**FAST).fit(X, Y[:, 0])
    assert is_regressor(reg)
    assert reg.predict(X).shape == (len(X),) and reg.n_outputs_ == 1
    # y is on a scale of ~1000 +- 300: target scaling makes this learnable fast
    assert reg.score(X, Y[:, 0]) > 0.9


def test_multi_output(linear):
    X, Y = linear
    reg = MLPRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == Y.shape and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.9


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_losses(linear, loss):
    X, Y = linear
    reg = MLPRegressor(**FAST, loss=loss).fit(X, Y[:, 0])
    assert reg.score(X, Y[:, 0]) > 0.8


def test_keras_regressor_with_build_function(linear):
    X, Y = linear
    Ys = StandardScaler().fit_transform(Y)

    def build(meta, units=8):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(units, activation="relu"),
                                 keras.layers.Dense(meta["n_outputs_"])])

    reg = KerasRegressor(build, model__units=16, loss="mse", optimizer="adam",
                         optimizer__learning_rate=0.01, epochs=40, verbose=0,
                         random_state=0).fit(X, Ys)
    assert reg.predict(X).shape == Ys.shape
    assert reg.score(X, Ys) > 0.9


@pytest.mark.slow
def test_diabetes_quality_close_to_linear_model():
    from sklearn.linear_model import RidgeCV

    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    ridge = RidgeCV().fit(X_tr, y_tr).score(X_te, y_te)
    mlp = MLPRegressor((32,), l2=1e-3, random_state=0).fit(X_tr, y_tr)
    assert mlp.score(X_te, y_te) > ridge - 0.08
