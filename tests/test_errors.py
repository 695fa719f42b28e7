"""Every user-facing error: what was expected, what was received, how to fix."""

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from skdeep import KerasClassifier, KerasRegressor, MLPClassifier, MLPRegressor
from skdeep.exceptions import NotFittedError

FAST = dict(hidden_layer_sizes=(4,), epochs=2, random_state=0)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"learning_rate": -1},
         r"The 'learning_rate' parameter of MLPClassifier must be a float in the "
         r"range \(0.0, inf\). Got -1 instead."),
        ({"optimizer": "adamm"}, r"The 'optimizer' parameter of MLPClassifier"),
        ({"epochs": 0}, r"The 'epochs' parameter of MLPClassifier must be an int"),
        ({"dropout": 1.0}, r"The 'dropout' parameter of MLPClassifier"),
        ({"lr_schedule": "linear"}, r"The 'lr_schedule' parameter"),
        ({"validation_fraction": 1.5}, r"The 'validation_fraction' parameter"),
        ({"class_weight": "auto"}, r"The 'class_weight' parameter"),
        ({"hidden_layer_sizes": (8, 0)},
         r"'hidden_layer_sizes' parameter of MLPClassifier must be a sequence of "
         r"positive integers"),
        ({"activation": "relux"},
         r"'activation' parameter of MLPClassifier must be a Keras activation"),
        ({"kernel_initializer": "nope"}, r"'kernel_initializer' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter_at_fit(data, params, match):
    clf = MLPClassifier(**{**FAST, **params})  # construction never validates
    with pytest.raises(ValueError, match=match):
        clf.fit(*data)


def test_regressor_loss_option(data):
    X, y = data
    with pytest.raises(ValueError, match=r"The 'loss' parameter of MLPRegressor"):
        MLPRegressor(**FAST, loss="cross").fit(X, y.astype(float))


@pytest.mark.parametrize(
    "make_X, match",
    [
        (lambda X: np.where(X > 1.5, np.nan, X), "Input X contains NaN"),
        (lambda X: np.where(X > 1.5, np.inf, X), "Input X contains infinity"),
        (lambda X: X[:, 0], "Expected 2D array, got 1D array instead"),
        (lambda X: X[:0], r"Found array with 0 sample\(s\)"),
        (lambda X: np.array([["a", "b", "c"]] * len(X), dtype=object),
         "needs numeric X, but X contains text.*make_tabular_pipeline"),
    ],
    ids=["nan", "inf", "1d", "empty", "strings"],
)
def test_bad_X_at_fit(data, make_X, match):
    X, y = data
    X_bad = make_X(X)
    y_bad = y[: len(X_bad)] if X_bad.ndim == 2 else y
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**FAST).fit(X_bad, y_bad)


def test_wrong_feature_count_at_predict(data):
    X, y = data
    clf = MLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"X has 2 features, but MLPClassifier is "
                       r"expecting 3 features as input"):
        clf.predict(X[:, :2])


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_predict_before_fit(data, method):
    with pytest.raises(NotFittedError, match=r"not fitted yet\. Call 'fit'"):
        getattr(MLPClassifier(), method)(data[0])
    # and it is scikit-learn's NotFittedError too
    with pytest.raises(SklearnNotFittedError):
        getattr(MLPClassifier(), method)(data[0])


def test_single_class(data):
    X, _ = data
    with pytest.raises(ValueError,
                       match=r"at least 2 classes.*only one class: \['a'\]"):
        MLPClassifier(**FAST).fit(X, ["a"] * len(X))


def test_continuous_target_on_classifier(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(**FAST).fit(X, np.linspace(0, 1, len(X)))


def test_missing_target(data):
    with pytest.raises(ValueError, match="requires y to be passed"):
        MLPClassifier(**FAST).fit(data[0], None)


def _net(meta, units=4):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"modle__units": 3}, ValueError,
         r"'modle' is not a routing destination. Did you mean model__units\?"),
        ({"optimiser__beta_1": 0.8}, ValueError, r"Did you mean optimizer__beta_1\?"),
        # a build function given an argument it does not take: TypeError, as
        # in scikeras (and as Python itself raises)
        ({"model_units": 3}, TypeError, r"Did you mean model__units\?"),
        ({"model__unit": 3}, TypeError,
         r"does not accept it.*Did you mean model__units\?"),
    ],
)
def test_routing_mistakes_hint_the_fix(data, kwargs, error, match):
    clf = KerasClassifier(_net, epochs=2, verbose=0, **kwargs)
    with pytest.raises(error, match=match):
        clf.fit(*data)


def test_generic_wrapper_without_model(data):
    with pytest.raises(ValueError, match=r"KerasClassifier needs a network: pass "
                       r"model="):
        KerasClassifier().fit(*data)


def test_build_function_returning_garbage(data):
    with pytest.raises(TypeError, match=r"must be a keras\.Model; the build function "
                       r"returned dict"):
        KerasRegressor(lambda: {}, epochs=2, verbose=0).fit(
            data[0], data[1].astype(float))


def test_output_layer_that_does_not_fit_the_target(data):
    X, _ = data
    y = np.arange(len(X)) % 3  # 3 classes, but the network has 1 output unit
    with pytest.raises(ValueError, match=r"output layer has 1 unit\(s\), but the "
                       r"multiclass target needs 3"):
        KerasClassifier(_net, epochs=2, verbose=0).fit(X, y)


def test_class_weight_with_unknown_class(data):
    with pytest.raises(ValueError, match=r"class_weight has keys \[7\]"):
        MLPClassifier(**FAST, class_weight={0: 1.0, 7: 2.0}).fit(*data)


def test_all_zero_sample_weight(data):
    X, y = data
    with pytest.raises(ValueError, match="at least one non-zero"):
        MLPClassifier(**FAST).fit(X, y, sample_weight=np.zeros(len(X)))


def test_unseen_label_in_partial_fit(data):
    X, y = data
    clf = MLPClassifier(**FAST, early_stopping=False).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels not seen in the first fit: \[5\]"):
        clf.partial_fit(X, np.full(len(X), 5))
