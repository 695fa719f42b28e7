"""Lifecycle shared by all estimators: reproducibility, pickling, warm start."""

import os
import pickle
import random
import subprocess
import sys
import textwrap

import joblib
import keras
import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from skdeep import KerasClassifier, MLPClassifier, MLPRegressor

FAST = dict(hidden_layer_sizes=(16,), epochs=10, learning_rate=0.02,
            random_state=0)


def test_fitted_attributes(blobs):
    import pandas as pd

    X, y = blobs
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPClassifier(**FAST).fit(frame, y)
    assert isinstance(clf.model_, keras.Model)
    assert set(clf.history_) == {"loss", "val_loss"}
    assert clf.n_iter_ == len(clf.history_["loss"]) >= 1
    assert clf.n_features_in_ == 4 and clf.n_outputs_ == 1
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_same_seed_same_predictions_in_process(blobs):
    X, y = blobs
    params = dict(FAST, dropout=0.2, batch_norm=True)
    a = MLPClassifier(**params).fit(X, y).predict_proba(X)
    b = MLPClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = MLPClassifier(**dict(params, random_state=1)).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


_SCRIPT = textwrap.dedent("""
    import os, sys, numpy as np
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from skdeep import MLPClassifier
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPClassifier((8,), epochs=5, dropout=0.1, random_state=42).fit(X, y)
    np.save(sys.argv[1], clf.predict_proba(X))
""")


def test_same_seed_same_predictions_across_processes(tmp_path):
    outs = []
    for i in range(2):
        path = tmp_path / f"p{i}.npy"
        subprocess.run([sys.executable, "-c", _SCRIPT, str(path)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(i)})
        outs.append(np.load(path))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_seeded_fit_leaks_no_global_state(blobs):
    X, y = blobs
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.rand())
    random.seed(123)
    np.random.seed(123)
    MLPClassifier(**FAST).fit(X, y)
    assert (random.random(), np.random.rand()) == expected
    # an unseeded fit with dropout still works after a seeded one (scikeras
    # leaves TensorFlow op determinism on, and this crashes there)
    clf = MLPClassifier((8,), dropout=0.3, epochs=3).fit(X, y)
    assert clf.predict(X).shape == (len(X),)


def test_unseeded_fits_differ(blobs):
    X, y = blobs
    a = MLPClassifier((8,), epochs=2).fit(X, y).predict_proba(X)
    b = MLPClassifier((8,), epochs=2).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("fitted", [False, True])
@pytest.mark.parametrize("dumper", ["pickle", "joblib"])
def test_pickle_and_joblib_round_trip(blobs, tmp_path, fitted, dumper):
    X, y = blobs
    clf = MLPClassifier(**FAST)
    if fitted:
        clf.fit(X, y)
    path = tmp_path / "model.bin"
    if dumper == "pickle":
        path.write_bytes(pickle.dumps(clf))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(clf, path)
        loaded = joblib.load(path)
    assert loaded.get_params() == clf.get_params()
    if fitted:
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        assert loaded.history_ == clf.history_
    # the loaded object trains again, like the original
    loaded.fit(X, y)


def test_generic_wrapper_pickles_with_model_instance(blobs):
    X, y = blobs
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")])
    clf = KerasClassifier(net, epochs=3, verbose=0, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert isinstance(loaded.model, keras.Model)


_LOAD_SCRIPT = textwrap.dedent("""
    import os, sys, joblib, numpy as np
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    model = joblib.load(sys.argv[1])
    X = np.load(sys.argv[2])
    np.save(sys.argv[3], model.predict(X))
""")


def test_predictions_identical_in_a_fresh_process(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3)).astype(np.float32)
    y = X @ [1.0, 2.0, -1.0]
    reg = MLPRegressor((8,), epochs=5, random_state=0).fit(X, y)
    joblib.dump(reg, tmp_path / "m.joblib")
    np.save(tmp_path / "X.npy", X)
    subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(tmp_path / "m.joblib"),
                    str(tmp_path / "X.npy"), str(tmp_path / "p.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), reg.predict(X))


def test_warm_start_continues_training(blobs):
    X, y = blobs
    clf = MLPClassifier((16,), epochs=3, learning_rate=0.01, early_stopping=False,
                        warm_start=True, random_state=0).fit(X, y)
    first_model, first_loss = clf.model_, clf.history_["loss"][-1]
    clf.fit(X, y)
    assert clf.model_ is first_model
    # history_ goes on across warm fits, like scikit-learn's loss_curve_
    assert clf.n_iter_ == len(clf.history_["loss"]) == 6
    assert clf.history_["loss"][3] < first_loss + 1e-3
    cold = MLPClassifier((16,), epochs=3, learning_rate=0.01, early_stopping=False,
                         random_state=0).fit(X, y)
    cold_model = cold.model_
    assert cold.fit(X, y).model_ is not cold_model


def test_import_does_not_load_tensorflow():
    code = ("import sys, skdeep; from skdeep import MLPClassifier; "
            "MLPClassifier().get_params(); print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == "False"


def test_large_data_path_is_reproducible_too():
    # from 10,000 rows on, batches are gathered from a shuffled index
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12000, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(hidden_layer_sizes=(8,), epochs=2, batch_size=256,
                  learning_rate=0.02, early_stopping=False)
    a = MLPClassifier(**params, random_state=0).fit(X, y).predict_proba(X[:100])
    b = MLPClassifier(**params, random_state=0).fit(X, y).predict_proba(X[:100])
    c = MLPClassifier(**params, random_state=1).fit(X, y).predict_proba(X[:100])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert MLPClassifier(**params, random_state=0).fit(X, y).score(X, y) > 0.9


def test_warm_start_takes_changed_training_settings(blobs):
    X, y = blobs
    clf = MLPClassifier((16,), epochs=2, early_stopping=False, warm_start=True,
                        random_state=0).fit(X, y)
    clf.set_params(optimizer="sgd", learning_rate=0.5, momentum=0.3)
    clf.fit(X, y)
    optimizer = clf.model_.optimizer
    assert type(optimizer).__name__ == "SGD"
    assert float(optimizer.learning_rate) == pytest.approx(0.5)
    assert float(optimizer.momentum) == pytest.approx(0.3)
    assert int(optimizer.iterations) == 2 * int(np.ceil(len(X) / 32))


def test_warm_start_with_a_changed_architecture_raises(blobs):
    X, y = blobs
    clf = MLPClassifier((16,), epochs=1, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(hidden_layer_sizes=(64, 64))
    with pytest.raises(ValueError, match="'hidden_layer_sizes' changed from "
                       r"\(16,\) to \(64, 64\)"):
        clf.fit(X, y)
    clf.set_params(warm_start=False).fit(X, y)  # the documented way out
    assert [layer.units for layer in clf.model_.layers[1:]] == [64, 64, 3]


_REFUSED = {
    "X int64": r"X has dtype int64 \(integer\), but this MLPClassifier was fitted "
               r"on X of dtype float32 \(floating-point\)",
    "X object": r"X has dtype object \(text/object\), but this MLPClassifier was "
                r"fitted on X of dtype float32",
    "y str": r"y has dtype <U\d+ \(text/object\), but this MLPClassifier was "
             r"fitted on y of dtype int64 \(integer\)",
    "y indicator": r"y is 2-D with 3 column\(s\) per sample, but this "
                   r"MLPClassifier was fitted on 1-D \(one value per sample\)",
}


@pytest.mark.parametrize("change", list(_REFUSED))
@pytest.mark.parametrize("continued_by", ["partial_fit", "warm_start"])
def test_a_continued_fit_refuses_inputs_of_another_kind(blobs, change,
                                                         continued_by):
    X, y = blobs
    X, y = X[:45], y[:45]
    clf = MLPClassifier((4,), epochs=1, early_stopping=False, random_state=0,
                        warm_start=continued_by == "warm_start")
    if continued_by == "partial_fit":
        clf.partial_fit(X, y, classes=[0, 1, 2])
    else:
        clf.fit(X, y)
    changed = {"X int64": (X.astype(np.int64), y),
               "X object": (X.astype(object), y),
               "y str": (X, y.astype(str)),
               "y indicator": (X, np.eye(3, dtype=int)[y])}[change]
    with pytest.raises(ValueError, match=_REFUSED[change] + ".*fit a new estimator"):
        clf.partial_fit(*changed) if continued_by == "partial_fit" else clf.fit(
            *changed)
    assert clf.n_iter_ == 1  # nothing was trained


def test_a_continued_fit_takes_the_same_kind_of_data_at_another_width(blobs):
    X, y = blobs
    X, y = X[:45], y[:45]
    clf = MLPClassifier((4,), epochs=1, early_stopping=False, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X.astype(np.float64), y.astype(np.int32))
    with pytest.warns(DataConversionWarning):  # a column vector, as scikit-learn
        clf.partial_fit(X, y.reshape(-1, 1))
    assert clf.n_iter_ == 3
    reg = MLPRegressor((4,), epochs=1, early_stopping=False, random_state=0)
    reg.partial_fit(X, X[:, 0].astype(np.float64))
    reg.partial_fit(X, y)  # integers cast safely to float64
    with pytest.raises(ValueError, match=r"y has dtype <U\d+ \(text/object\), but "
                       r"this MLPRegressor was fitted on y of dtype float64"):
        reg.partial_fit(X, X[:, 0].astype(str))
    assert reg.n_iter_ == 2


# ------------------------------------------------ early_stopping_metric
def test_early_stopping_metric_defaults_to_the_loss(blobs):
    import inspect

    import skdeep

    for name in ("MLPClassifier", "MLPRegressor", "CNNClassifier",
                 "TransferClassifier", "SequenceClassifier", "SequenceRegressor",
                 "TextClassifier", "TabularClassifier", "TabularRegressor",
                 "AutoencoderTransformer"):
        signature = inspect.signature(getattr(skdeep, name))
        assert signature.parameters["early_stopping_metric"].default == "loss", name
    X, y = blobs
    clf = MLPClassifier(**{**FAST, "epochs": 2}).fit(X, y)
    assert set(clf.history_) == {"loss", "val_loss"}


def test_early_stopping_metric_rejects_unknown_names(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=r"must be 'loss' .*'score' .*"
                       r"'f1_macro'.*'roc_auc'.*Got 'acuracy' instead"):
        MLPClassifier(early_stopping_metric="acuracy").fit(X, y)
    with pytest.raises(ValueError, match=r"early_stopping_metric.*Got 3 instead"):
        MLPClassifier(early_stopping_metric=3).fit(X, y)
    from skdeep import AutoencoderTransformer

    with pytest.raises(ValueError, match=r"must be 'loss': a AutoencoderTransformer "
                       r"has no predictions to score\. Got 'score' instead"):
        AutoencoderTransformer(2, early_stopping_metric="score").fit(X)


def test_early_stopping_on_the_score_stops_earlier_than_on_the_loss(cancer):
    # scikit-learn's MLP rule: accuracy on the held-out rows stops improving
    # long before their loss does (here 11 epochs against 88)
    X, y = cancer
    params = dict(hidden_layer_sizes=(16,), epochs=200, patience=5, random_state=0)
    on_loss = MLPClassifier(**params).fit(X, y)
    on_score = MLPClassifier(early_stopping_metric="score", **params).fit(X, y)
    assert on_score.n_iter_ < on_loss.n_iter_ / 2
    scores = on_score.history_["val_score"]
    assert len(scores) == on_score.n_iter_
    # the weights of the best-scoring epoch are kept: the last patience
    # epochs did not beat it by more than tol
    assert max(scores[-5:]) <= max(scores[:-5]) + on_score.tol
    assert on_score.score(X, y) > 0.9


@pytest.mark.parametrize("cls, metric", [(MLPClassifier, "roc_auc"),
                                         (MLPRegressor, "neg_mean_absolute_error")])
def test_early_stopping_on_a_scorer_name(cancer, cls, metric):
    # without a validation split the score is of the training rows after each
    # epoch, as the loss is: the last one is the fitted network's
    from sklearn.metrics import get_scorer

    X, y = cancer
    est = cls((8,), epochs=6, early_stopping=False, early_stopping_metric=metric,
              patience=2, tol=0.0, random_state=0).fit(X, y)
    assert len(est.history_["score"]) == est.n_iter_
    np.testing.assert_allclose(est.history_["score"][-1],
                               get_scorer(metric)(est, X, y), rtol=1e-5)


def test_early_stopping_metric_with_warm_start_and_partial_fit(blobs):
    X, y = blobs
    clf = MLPClassifier(**{**FAST, "epochs": 3}).fit(X, y)
    clf.set_params(warm_start=True, early_stopping_metric="f1_macro").fit(X, y)
    assert len(clf.history_["val_score"]) == clf.n_iter_ - 3  # the second fit's
    clf = MLPClassifier(**{**FAST, "early_stopping": False},
                        early_stopping_metric="score")
    for _ in range(2):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert len(clf.history_["score"]) == clf.n_iter_ == 2
    np.testing.assert_allclose(clf.history_["score"][-1], clf.score(X, y))


def test_early_stopping_metric_is_searchable(blobs):
    from sklearn.model_selection import GridSearchCV

    X, y = blobs
    search = GridSearchCV(MLPClassifier(**{**FAST, "epochs": 2}),
                          {"early_stopping_metric": ["loss", "score", "f1_macro"]},
                          cv=2).fit(X, y)
    assert list(search.cv_results_["param_early_stopping_metric"]) == [
        "loss", "score", "f1_macro"]
    assert "val_score" in search.best_estimator_.history_ or (
        search.best_params_["early_stopping_metric"] == "loss")
