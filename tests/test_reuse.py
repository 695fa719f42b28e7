"""Compiled networks recycled between fits give exactly the fits of new ones."""

import gc
import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skdeep import KerasClassifier, MLPClassifier, MLPRegressor, _networks

FAST = dict(hidden_layer_sizes=(8,), epochs=4, learning_rate=0.02, random_state=0)


@pytest.fixture(autouse=True)
def empty_pool():
    gc.collect()
    _networks.clear()
    yield
    _networks.clear()


def _fresh(monkeypatch, est, X, y):
    """Fit with reuse switched off: a newly compiled network."""
    with monkeypatch.context() as m:
        m.setenv("SKDEEP_REUSE_NETWORKS", "0")
        return est.fit(X, y)


def _recycled(est, X, y):
    """Fit ``est`` on a network recycled from an identical, discarded fit."""
    type(est)(**est.get_params()).fit(X, y)  # discarded at once: pooled
    assert _networks.pool_size() == 1
    est.fit(X, y)
    assert _networks.pool_size() == 0, "the fit did not take the pooled network"
    return est


@pytest.mark.parametrize("params", [
    {},
    {"dropout": 0.3, "batch_norm": True},
    {"lr_schedule": "plateau", "early_stopping": False, "tol": 10.0, "patience": 1},
    {"optimizer": "sgd", "momentum": 0.9, "lr_schedule": "cosine"},
])
def test_recycled_network_fits_exactly_like_a_new_one(monkeypatch, blobs, params):
    X, y = blobs
    params = dict(FAST, **params)
    new = _fresh(monkeypatch, MLPClassifier(**params), X, y)
    recycled = _recycled(MLPClassifier(**params), X, y)
    np.testing.assert_array_equal(recycled.predict_proba(X), new.predict_proba(X))
    assert recycled.history_ == new.history_


def test_recycled_network_follows_the_seed(monkeypatch, blobs):
    X, y = blobs
    MLPClassifier(**FAST).fit(X, y)  # pooled with random_state=0's weights
    other = MLPClassifier(**dict(FAST, random_state=7)).fit(X, y)
    assert _networks.pool_size() == 0  # seeds do not change the network
    new = _fresh(monkeypatch, MLPClassifier(**dict(FAST, random_state=7)), X, y)
    np.testing.assert_array_equal(other.predict_proba(X), new.predict_proba(X))


def test_regressor_recycles_exactly(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3)).astype(np.float32)
    y = X @ [1.0, -2.0, 0.5] + 3.0
    new = _fresh(monkeypatch, MLPRegressor(**FAST), X, y)
    recycled = _recycled(MLPRegressor(**FAST), X, y)
    np.testing.assert_array_equal(recycled.predict(X), new.predict(X))


def test_recycled_network_takes_the_new_learning_rate(monkeypatch, blobs):
    X, y = blobs
    MLPClassifier(**FAST).fit(X, y)  # pooled, trained with 0.02
    params = dict(FAST, learning_rate=0.003)
    recycled = MLPClassifier(**params).fit(X, y)
    assert _networks.pool_size() == 0
    new = _fresh(monkeypatch, MLPClassifier(**params), X, y)
    np.testing.assert_array_equal(recycled.predict_proba(X), new.predict_proba(X))


def test_other_architectures_and_settings_are_not_shared(blobs):
    X, y = blobs
    MLPClassifier(**FAST).fit(X, y)
    for changed in ({"hidden_layer_sizes": (9,)}, {"optimizer": "sgd"},
                    {"activation": "tanh"}, {"batch_size": 50},
                    {"lr_schedule": "cosine"}, {"l2": 0.01}):
        MLPClassifier(**dict(FAST, **changed)).fit(X, y)
    assert _networks.pool_size() == 7  # nothing was taken: all differ


def test_networks_with_user_code_are_not_recycled(blobs):
    X, y = blobs

    def swish(x):
        import keras

        return x * keras.ops.sigmoid(x)

    MLPClassifier(**dict(FAST, activation=swish)).fit(X, y)
    gc.collect()
    assert _networks.pool_size() == 0


def test_keras_classes_registered_by_another_library_still_recycle(blobs):
    import keras

    X, y = blobs
    # what scikeras does when it pickles a network
    functional = type(MLPClassifier(**FAST).fit(X, y).model_)
    keras.saving.register_keras_serializable("", functional.__name__)(functional)
    MLPClassifier(**FAST).fit(X, y)
    assert _networks.pool_size() == 1


def test_a_fitted_estimator_keeps_its_network(blobs):
    X, y = blobs
    kept = MLPClassifier(**FAST).fit(X, y)
    before = kept.predict_proba(X)
    for seed in range(3):  # fits that would love to recycle a network
        MLPClassifier(**dict(FAST, random_state=seed + 1)).fit(X[::-1], y[::-1])
    np.testing.assert_array_equal(kept.predict_proba(X), before)


def test_a_network_taken_out_is_never_recycled(blobs):
    X, y = blobs
    est = MLPClassifier(**FAST).fit(X, y)
    network = est.model_
    weights = [w.copy() for w in network.get_weights()]
    del est
    gc.collect()
    assert _networks.pool_size() == 0
    MLPClassifier(**dict(FAST, random_state=3)).fit(X, y)
    for a, b in zip(network.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_pickled_copy_owns_its_network(blobs):
    X, y = blobs
    est = MLPClassifier(**FAST).fit(X, y)
    expected = est.predict_proba(X)
    copy = pickle.loads(pickle.dumps(est))
    del est
    MLPClassifier(**dict(FAST, random_state=5)).fit(X, y)  # recycles est's
    np.testing.assert_array_equal(copy.predict_proba(X), expected)


def test_refit_and_partial_fit_on_a_recycled_network(monkeypatch, blobs):
    X, y = blobs
    est = MLPClassifier(**FAST).fit(X, y)
    est.fit(X, y)  # the refit hands its old network back and takes it again
    new = _fresh(monkeypatch, MLPClassifier(**FAST), X, y)
    np.testing.assert_array_equal(est.predict_proba(X), new.predict_proba(X))
    est.partial_fit(X, y)
    new.partial_fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), new.predict_proba(X))


def test_user_networks_and_callbacks_are_not_recycled(blobs):
    import keras

    X, y = blobs

    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(meta["n_classes_"],
                                                    activation="softmax")])

    KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=2,
                    random_state=0).fit(X, y)
    MLPClassifier(**FAST, callbacks=[keras.callbacks.TerminateOnNaN()]).fit(X, y)
    gc.collect()
    assert _networks.pool_size() == 0


def test_parallel_search_scores_match_a_search_without_reuse(monkeypatch, blobs):
    X, y = blobs
    grid = {"hidden_layer_sizes": [(4,), (8,)], "dropout": [0.0, 0.2]}

    def scores(n_jobs, backend):
        from joblib import parallel_backend

        with parallel_backend(backend):
            search = GridSearchCV(MLPClassifier(**FAST), grid, cv=3,
                                  n_jobs=n_jobs).fit(X, y)
        return search.cv_results_["mean_test_score"]

    with_reuse = scores(2, "threading")
    with monkeypatch.context() as m:
        m.setenv("SKDEEP_REUSE_NETWORKS", "0")
        without = scores(1, "loky")
    np.testing.assert_array_equal(with_reuse, without)


def test_cnn_with_augmentation_recycles_exactly(monkeypatch, digits):
    from skdeep import CNNClassifier

    X, y = digits
    X = X[:120].reshape(-1, 8, 8, 1)
    y = y[:120]
    params = dict(conv_filters=(4,), dense_layer_sizes=(8,), epochs=2,
                  augmentation=("flip", "translation"), dropout=0.2,
                  random_state=0)
    new = _fresh(monkeypatch, CNNClassifier(**params), X, y)
    recycled = _recycled(CNNClassifier(**params), X, y)
    np.testing.assert_array_equal(recycled.predict_proba(X), new.predict_proba(X))


def test_the_pool_keeps_a_bounded_number_of_networks(blobs):
    X, y = blobs
    for units in range(1, _networks.MAX_FREE + 3):
        MLPClassifier(**dict(FAST, hidden_layer_sizes=(units,), epochs=1)).fit(X, y)
    assert _networks.pool_size() == _networks.MAX_FREE


def test_unknown_switch_value_is_an_error(monkeypatch, blobs):
    X, y = blobs
    monkeypatch.setenv("SKDEEP_REUSE_NETWORKS", "sometimes")
    with pytest.raises(ValueError, match="SKDEEP_REUSE_NETWORKS='sometimes'"):
        MLPClassifier(**FAST).fit(X, y)
