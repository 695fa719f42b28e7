"""Ready-made estimators against scikit-learn's own MLP, on real datasets."""

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


def test_defaults_match_the_documented_api():
    params = MLPClassifier().get_params()
    assert params["hidden_layer_sizes"] == (100,)
    assert params["optimizer"] == "adam" and params["learning_rate"] == 1e-3
    assert params["epochs"] == 200 and params["early_stopping"] is True
    assert params["validation_fraction"] == 0.1 and params["patience"] == 10
    assert is_classifier(MLPClassifier())
