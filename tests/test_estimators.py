"""Ready-made estimators against scikit-learn's own MLP, on real datasets."""

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler

from skdeep import MLPClassifier


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["digits", "cancer"])
def test_accuracy_matches_sklearn_mlp_within_one_point(dataset, request):
    X, y = request.getfixturevalue(dataset)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    reference = SklearnMLP(random_state=0, max_iter=300).fit(X_tr, y_tr)
    ours = MLPClassifier(random_state=0).fit(X_tr, y_tr)
    ref_acc, our_acc = reference.score(X_te, y_te), ours.score(X_te, y_te)
    assert our_acc >= ref_acc - 0.01, (our_acc, ref_acc)


def test_defaults_train_the_documented_network(cancer):
    X, y = cancer
    clf = MLPClassifier(random_state=0).fit(X, y)
    hidden = [layer.units for layer in clf.model_.layers[1:]]
    assert hidden == [100, 1]  # one hidden layer of 100, a sigmoid output
    optimizer = clf.model_.optimizer
    assert type(optimizer).__name__ == "Adam"
    assert float(optimizer.learning_rate) == pytest.approx(1e-3)
    # early stopping on by default: 10% held out, stops well before 200 epochs
    assert "val_loss" in clf.history_ and clf.n_iter_ < 200
    steps = int(optimizer.iterations) / clf.n_iter_
    assert steps == np.ceil((len(X) - np.ceil(0.1 * len(X))) / 32)
    assert is_classifier(clf)
