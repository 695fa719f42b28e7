"""Classifier behaviour a user sees: labels, probabilities, weights, scoring."""

import keras
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import cross_val_score

from skdeep import KerasClassifier, MLPClassifier

FAST = dict(hidden_layer_sizes=(16,), epochs=20, learning_rate=0.02,
            early_stopping=False, random_state=0)


@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "eel"]), np.array([3, 7, 11]), np.array([False, True]),
     np.array(["no", "yes"])],
    ids=["str-multiclass", "int-multiclass", "bool-binary", "str-binary"],
)
def test_any_label_type(blobs, labels):
    X, y_idx = blobs
    y = labels[y_idx % len(labels)]
    clf = MLPClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == sorted(labels.tolist())
    pred = clf.predict(X)
    assert pred.dtype == y.dtype
    assert set(pred) <= set(labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.score(X, y) > 0.6
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])


def test_multilabel_indicator(blobs):
    X, y_idx = blobs
    Y = np.column_stack([y_idx == 0, y_idx == 1, X[:, 0] > 1]).astype(int)
    clf = MLPClassifier(**FAST).fit(X, Y)
    assert clf.n_outputs_ == 3
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and proba.min() >= 0 and proba.max() <= 1
    assert (pred == Y).mean() > 0.8


def test_is_classifier_so_cv_stratifies_and_roc_auc_works(cancer):
    X, y = cancer
    clf = MLPClassifier(**FAST)
    assert is_classifier(clf) and is_classifier(KerasClassifier())
    scores = cross_val_score(clf, X, y, cv=3, scoring="roc_auc")
    assert scores.min() > 0.95


def test_class_weight_balanced_raises_minority_recall():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = (X[:, 0] + 0.8 * rng.normal(size=400) > 1.6).astype(int)  # ~8% positive
    params = dict(FAST, epochs=15)
    plain = MLPClassifier(**params).fit(X, y)
    balanced = MLPClassifier(**params, class_weight="balanced").fit(X, y)
    recall = [(m.predict(X)[y == 1] == 1).mean() for m in (plain, balanced)]
    assert recall[1] > recall[0] + 0.2


def test_sample_weight_changes_the_fit(blobs):
    X, y = blobs
    y = (y == 0).astype(int)
    sw = np.where(y == 1, 20.0, 1.0)
    plain = MLPClassifier(**FAST).fit(X, y)
    weighted = MLPClassifier(**FAST).fit(X, y, sample_weight=sw)
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


def _net(meta, hidden=8, out_activation="softmax"):
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation=out_activation),
    ])


def test_keras_classifier_scikeras_conventions(blobs):
    X, y = blobs
    clf = KerasClassifier(
        model=_net, loss="categorical_crossentropy", optimizer="adam",
        model__hidden=12, optimizer__beta_1=0.8, epochs=10,
        optimizer__learning_rate=0.02, verbose=0, random_state=0,
    )
    clf.fit(X, y)
    assert clf.model_.layers[0].units == 12
    assert float(clf.model_.optimizer.beta_1) == pytest.approx(0.8)
    assert clf.score(X, y) > 0.8
    # clone keeps every routed parameter (Keras's own wrapper drops fit_kwargs)
    params = clone(clf).get_params()
    assert params["model__hidden"] == 12 and params["optimizer__beta_1"] == 0.8
    clf.set_params(model__hidden=5)
    assert clf.fit(X, y).model_.layers[0].units == 5


def test_plain_keyword_goes_to_build_function(blobs):
    X, y = blobs
    clf = KerasClassifier(_net, hidden=6, epochs=2, verbose=0, random_state=0).fit(X, y)
    assert clf.model_.layers[0].units == 6


def test_logits_output_gives_probabilities(blobs):
    X, y = blobs
    clf = KerasClassifier(
        _net, model__out_activation=None, loss__from_logits=True,
        loss="sparse_categorical_crossentropy", epochs=10,
        optimizer__learning_rate=0.02, verbose=0, random_state=0,
    ).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.min() >= 0 and clf.score(X, y) > 0.8


def test_user_model_instance_is_never_trained(blobs):
    X, y = blobs
    net = _net({"n_features_in_": 4, "n_classes_": 3})
    before = [w.copy() for w in net.get_weights()]
    clf = KerasClassifier(net, epochs=3, verbose=0, random_state=0).fit(X, y)
    for a, b in zip(before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert clf.model_ is not net


def test_binary_with_two_unit_softmax(blobs):
    X, y = blobs
    y = (y == 0).astype(int)
    clf = KerasClassifier(_net, epochs=10, optimizer__learning_rate=0.02,
                          verbose=0, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert clf.score(X, y) > 0.9


def test_partial_fit_learns_over_calls(digits):
    X, y = digits
    clf = MLPClassifier((16,), learning_rate=1e-3, early_stopping=False,
                        random_state=0)
    clf.partial_fit(X[:600], y[:600], classes=np.unique(y))
    first = clf.score(X, y)
    for start in range(0, len(X), 600):  # streaming in chunks
        clf.partial_fit(X[start:start + 600], y[start:start + 600])
    # one epoch per call, counted over the calls like scikit-learn's loss_curve_
    assert clf.n_iter_ == 1 + len(range(0, len(X), 600))
    assert len(clf.history_["loss"]) == clf.n_iter_
    assert clf.score(X, y) > first + 0.05


def test_partial_fit_needs_classes_and_no_early_stopping(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="classes must be passed on the first"):
        MLPClassifier((4,), early_stopping=False).partial_fit(X, y)
    with pytest.raises(ValueError, match="does not support early_stopping=True"):
        MLPClassifier((4,)).partial_fit(X, y, classes=[0, 1, 2])
