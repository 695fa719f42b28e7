"""CNNClassifier and TransferClassifier on digits, with self-made pretrained nets."""

import pickle

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdeep import CNNClassifier, MLPClassifier, TransferClassifier


@pytest.fixture(scope="module")
def images():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).reshape(-1, 8, 8).astype(np.float32), y


@pytest.fixture(scope="module")
def pretrained(images, tmp_path_factory):
    """A conv net trained on digits 0-4; its conv stack is the base."""
    X, y = images
    seen = y < 5
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    flat = keras.layers.Flatten(name="flat")(x)
    features = keras.layers.Dense(64, activation="relu", name="features")(flat)
    outputs = keras.layers.Dense(5, activation="softmax")(features)
    net = keras.Model(inputs, outputs)
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    net.fit(X[seen][..., None], y[seen], epochs=15, batch_size=32, verbose=0)
    base = keras.Model(net.input, net.get_layer("flat").output, name="base")
    path = tmp_path_factory.mktemp("models") / "base.keras"
    base.save(path)
    return base, str(path)


@pytest.mark.slow
def test_cnn_at_least_as_accurate_as_mlp_on_digits(images):
    X, y = images
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    mlp = MLPClassifier(random_state=0).fit(X_tr.reshape(len(X_tr), -1), y_tr)
    cnn = CNNClassifier(random_state=0).fit(X_tr, y_tr)
    assert cnn.score(X_te, y_te) >= mlp.score(X_te.reshape(len(X_te), -1), y_te)


def test_cnn_input_forms(images):
    X, y = images
    kw = dict(conv_filters=(4,), dense_layer_sizes=(8,), epochs=2, random_state=0)
    a = CNNClassifier(**kw).fit(X[:200], y[:200])
    b = CNNClassifier(**kw).fit(X[:200, ..., None], y[:200])
    c = CNNClassifier(**kw, input_shape=(8, 8)).fit(X[:200].reshape(200, 64), y[:200])
    assert a.image_shape_ == b.image_shape_ == c.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(a.predict_proba(X[:50]), b.predict_proba(X[:50]))
    np.testing.assert_array_equal(a.predict_proba(X[:50]),
                                  c.predict_proba(X[:50].reshape(50, 64)))


def test_cnn_in_a_pipeline_after_a_scaler_with_grid_search(images):
    X, y = images
    flat = X.reshape(len(X), -1)[:300]
    pipe = make_pipeline(MinMaxScaler(), CNNClassifier(
        input_shape=(8, 8), dense_layer_sizes=(16,), epochs=15, learning_rate=0.01,
        random_state=0))
    grid = {"cnnclassifier__conv_filters": [(4,), (8, 16)],
            "cnnclassifier__kernel_size": [3, 5]}
    search = GridSearchCV(pipe, grid, cv=2).fit(flat, y[:300])
    assert len(search.cv_results_["params"]) == 4 and search.best_score_ > 0.5


@pytest.mark.parametrize(
    "params, X_shape, match",
    [
        ({}, (40, 64), r"got flat rows of 64 values; pass input_shape="),
        ({"input_shape": (7, 7)}, (40, 64), r"needs samples of shape \(7, 7, 1\)"),
        ({"conv_filters": (4, 4, 4, 4)}, (40, 8, 8),
         r"does not fit 8x8 images: block 4"),
        ({"augmentation": ("blur",)}, (40, 8, 8), r"Got \['blur'\] instead"),
    ],
)
def test_cnn_errors(images, params, X_shape, match):
    X, y = images
    X = X[:40].reshape(X_shape)
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**params, epochs=1).fit(X, y[:40])


def test_cnn_predict_shape_mismatch(images):
    X, y = images
    clf = CNNClassifier(conv_filters=(4,), epochs=1, random_state=0)
    clf.fit(X[:100], y[:100])
    with pytest.raises(ValueError,
                       match=r"was fitted on samples of shape \(8, 8, 1\)"):
        clf.predict(np.zeros((2, 6, 6)))


def test_augmentation_is_only_active_in_training(images):
    X, y = images
    clf = CNNClassifier(conv_filters=(4,), augmentation=("flip", "rotation", "zoom",
                                                         "translation"),
                        epochs=2, random_state=0).fit(X[:200], y[:200])
    names = [type(layer).__name__ for layer in clf.model_.layers]
    assert {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"} <= \
        set(names)
    np.testing.assert_array_equal(clf.predict_proba(X[:20]), clf.predict_proba(X[:20]))


def _weights(model):
    return [w.copy() for w in model.get_weights()]


@pytest.mark.slow
def test_transfer_beats_the_same_network_from_scratch(images, pretrained):
    """15 images (3 per class) of the unseen digits 5-9, three different samples."""
    base, _ = pretrained
    X, y = images
    new = y >= 5
    kw = dict(head_layer_sizes=(32,), dropout=0.2, epochs=200, batch_size=8,
              learning_rate=3e-3, early_stopping=False, random_state=0)
    scores = []
    for split in range(3):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X[new][..., None], y[new], train_size=15, stratify=y[new],
            random_state=split)
        transfer = TransferClassifier(base, **kw).fit(X_tr, y_tr)
        # the same network from random weights: head alone, and everything
        keras.utils.set_random_seed(split)  # fixed random weights for the clones
        head_only = TransferClassifier(keras.models.clone_model(base), **kw)
        everything = TransferClassifier(
            keras.models.clone_model(base), **kw, trainable_layers=2,
            fine_tune_epochs=200, fine_tune_learning_rate=3e-3)
        scores.append([m.score(X_te, y_te) for m in
                       (transfer, head_only.fit(X_tr, y_tr),
                        everything.fit(X_tr, y_tr))])
    transfer, head_only, everything = np.mean(scores, axis=0)
    print(f"transfer {transfer:.3f}, head only {head_only:.3f}, "
          f"everything {everything:.3f}")
    # measured: transfer 0.841, head only 0.834, everything 0.822 (digits are
    # easy, so the pretrained features help only a little)
    assert transfer > head_only
    assert transfer > everything


def test_frozen_base_and_the_users_model_are_unchanged(images, pretrained):
    base, _ = pretrained
    X, y = images
    before = _weights(base)
    clf = TransferClassifier(base, head_layer_sizes=(8,), epochs=3,
                             random_state=0).fit(X[:200], y[:200])
    for a, b in zip(before, base.get_weights(), strict=True):  # user's object
        np.testing.assert_array_equal(a, b)
    inner = next(layer for layer in clf.model_.layers if layer.name == "base")
    assert inner is not base
    for a, b in zip(before, inner.get_weights(), strict=True):  # frozen in phase 1
        np.testing.assert_array_equal(a, b)


def test_fine_tuning_unfreezes_only_the_top_layers(images, pretrained):
    base, _ = pretrained
    X, y = images
    clf = TransferClassifier(base, head_layer_sizes=(8,), epochs=2, trainable_layers=1,
                             fine_tune_epochs=2, fine_tune_learning_rate=1e-3,
                             early_stopping=False, random_state=0).fit(X[:200], y[:200])
    assert clf.n_iter_ == 4 and len(clf.history_["loss"]) == 4
    inner = next(layer for layer in clf.model_.layers if layer.name == "base")
    changed = [not np.array_equal(a, b)
               for a, b in zip(base.get_weights(), inner.get_weights(), strict=True)]
    # the first conv layer (kernel, bias) frozen, the top conv layer tuned
    assert changed == [False, False, True, True]


def test_every_fit_starts_from_the_pretrained_weights(images, pretrained):
    _, path = pretrained
    X, y = images
    kw = dict(head_layer_sizes=(8,), epochs=2, trainable_layers=2, fine_tune_epochs=2,
              fine_tune_learning_rate=1e-3, random_state=0)
    clf = TransferClassifier(path, **kw)
    first = clf.fit(X[:200], y[:200]).predict_proba(X[:50])
    second = clf.fit(X[:200], y[:200]).predict_proba(X[:50])  # no carried weights
    np.testing.assert_array_equal(first, second)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X[:50]), second)


def test_transfer_grid_search_over_trainable_layers_and_head(images, pretrained):
    base, _ = pretrained
    X, y = images
    grid = {"trainable_layers": [0, 1], "head_layer_sizes": [(8,), (16,)]}
    search = GridSearchCV(TransferClassifier(base, epochs=2, fine_tune_epochs=1,
                                             random_state=0), grid, cv=2)
    search.fit(X[:200], y[:200])
    assert len(search.cv_results_["params"]) == 4


def test_transfer_errors(images, tmp_path):
    X, y = images
    with pytest.raises(ValueError, match="TransferClassifier needs base_model="):
        TransferClassifier().fit(X[:20], y[:20])
    with pytest.raises(FileNotFoundError, match="base_model file not found"):
        TransferClassifier(str(tmp_path / "none.keras")).fit(X[:20], y[:20])
    with pytest.raises(TypeError, match=r"must return a keras\.Model"):
        TransferClassifier(lambda: "model").fit(X[:20], y[:20])


def test_the_base_model_is_read_once_per_fit_and_not_when_checking(images,
                                                                    pretrained):
    from sklearn.base import clone

    X, y = images
    base, _ = pretrained
    calls = []

    def load_base():
        calls.append(1)
        return base

    clf = TransferClassifier(load_base, head_layer_sizes=(8,), epochs=1,
                             random_state=0)
    clone(clf).set_params(dropout=0.2).get_params()
    assert calls == []  # checking and cloning parameters loads nothing
    clf.fit(X[:60], y[:60])
    assert len(calls) == 1
    clf.fit(X[:60], y[:60])
    assert len(calls) == 2


def test_partial_fit_trains_one_epoch_and_never_fine_tunes(images, pretrained):
    base, _ = pretrained
    X, y = images
    clf = TransferClassifier(base, head_layer_sizes=(8,), trainable_layers=2,
                             fine_tune_epochs=2, fine_tune_learning_rate=1e-2,
                             early_stopping=False, random_state=0)
    for calls in (1, 2):
        clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
        assert clf.n_iter_ == calls and len(clf.history_["loss"]) == calls
    inner = next(layer for layer in clf.model_.layers if layer.name == "base")
    for a, b in zip(base.get_weights(), inner.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the base stayed frozen
