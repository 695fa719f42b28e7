"""Search: default spaces, tune strategies, results, parallel and leak-free CV."""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_validate,
)

from skdeep import (
    KerasClassifier,
    MLPClassifier,
    MLPRegressor,
    make_tabular_pipeline,
    results_table,
    tune,
)
from skdeep.search import default_space

TINY = dict(hidden_layer_sizes=(8,), epochs=4, learning_rate=0.02)
SPACE = {"hidden_layer_sizes": [(4,), (8,)], "learning_rate": [1e-2, 3e-2]}


@pytest.fixture(scope="module")
def small():
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=4, return_X_y=True)
    return (X / 16.0).astype(np.float32)[:300], y[:300]


def test_default_space_for_estimators_and_pipelines():
    space = default_space(MLPClassifier())
    assert {"hidden_layer_sizes", "activation", "dropout", "l2", "optimizer",
            "learning_rate", "batch_size"} <= set(space)
    assert isinstance(space["learning_rate"], type(loguniform(1e-4, 1e-1)))
    piped = default_space(make_tabular_pipeline(MLPRegressor()))
    assert set(piped) == {"model__" + k for k in space}
    grid = default_space(MLPClassifier(), strategy="grid")
    assert all(isinstance(v, list) for v in grid.values())
    # usable directly with scikit-learn's own classes
    GridSearchCV(MLPClassifier(), grid)
    generic = default_space(KerasClassifier())
    assert set(generic) == {"optimizer__learning_rate", "batch_size", "optimizer"}


def test_default_space_errors():
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match="no default search space for "
                       "LogisticRegression; pass space="):
        default_space(LogisticRegression())
    with pytest.raises(ValueError, match="strategy must be one of"):
        default_space(MLPClassifier(), strategy="bayesian")


@pytest.mark.parametrize("strategy, cls", [("grid", GridSearchCV),
                                           ("random", RandomizedSearchCV),
                                           ("halving", HalvingRandomSearchCV)])
def test_tune_strategies(small, strategy, cls):
    X, y = small
    space = dict(SPACE)
    if strategy != "grid":
        space["learning_rate"] = loguniform(1e-3, 5e-2)
    search = tune(MLPClassifier(**dict(TINY, epochs=9)), X, y, space=space,
                  strategy=strategy, n_iter=3, cv=2, random_state=0, verbose=0)
    assert isinstance(search, cls)
    assert search.best_score_ > 0.5
    assert search.best_estimator_.predict(X[:3]).shape == (3,)
    if strategy == "halving":
        # epochs is the resource, growing by 3x up to the estimator's epochs
        assert search.resource == "epochs" and search.max_resources_ == 9
        assert list(search.n_resources_) == [3, 9]


def test_tune_default_space_in_a_pipeline(small):
    X, y = small
    pipe = make_tabular_pipeline(MLPClassifier(epochs=2))
    search = tune(pipe, X, y, n_iter=2, cv=2, random_state=0, verbose=0)
    assert all(k.startswith("model__") for k in search.best_params_)


def test_tune_rejects_unknown_parameters(small):
    with pytest.raises(ValueError, match=r"does not have: \['hiden_layer_sizes'\]"
                       r".*did you mean 'hidden_layer_sizes'"):
        tune(MLPClassifier(), *small, space={"hiden_layer_sizes": [(4,)]})
    with pytest.raises(ValueError, match="strategy must be one of"):
        tune(MLPClassifier(), *small, strategy="bayesian")


def test_results_table_best_first(small):
    X, y = small
    search = tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="grid", cv=2,
                  random_state=0, verbose=0)
    table = results_table(search)
    assert len(table) == 4
    assert {"hidden_layer_sizes", "learning_rate", "mean_test_score",
            "std_test_score", "mean_fit_time"} <= set(table.columns)
    assert table["mean_test_score"].iloc[0] == pytest.approx(search.best_score_)
    assert table["rank_test_score"].is_monotonic_increasing
    with pytest.raises(ValueError, match="needs a fitted search"):
        results_table(GridSearchCV(MLPClassifier(), {}))


def test_progress_is_reported_and_search_still_pickles(small, capsys):
    import pickle

    X, y = small
    search = tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="grid", cv=2,
                  random_state=0, verbose=1)
    err = capsys.readouterr().err
    assert "[skdeep] 8/8 fits (4/4 candidates x 2 folds)" in err
    assert "best so far" in err and "elapsed" in err
    loaded = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))


@pytest.mark.slow
def test_parallel_scores_equal_serial_scores(small):
    X, y = small
    runs = [tune(MLPClassifier(**TINY, dropout=0.1), X, y, space=SPACE,
                 strategy="grid", cv=2, n_jobs=n_jobs, random_state=0, verbose=0)
            for n_jobs in (1, 2)]
    np.testing.assert_array_equal(runs[0].cv_results_["mean_test_score"],
                                  runs[1].cv_results_["mean_test_score"])


def test_parallel_fits_run_in_threads_of_this_process(small):
    import os
    import threading

    import keras

    X, y = small
    seen = set()

    class Where(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.add((os.getpid(), threading.current_thread().name))

    tune(MLPClassifier(**TINY, callbacks=[Where()]), X, y, space=SPACE,
         strategy="grid", cv=2, n_jobs=2, random_state=0, verbose=0)
    pids = {pid for pid, _ in seen}
    assert pids == {os.getpid()}
    assert len(seen) >= 2  # more than one thread did the fits


def test_early_stopping_validation_comes_from_the_training_fold_only(small):
    X, y = small
    clf = MLPClassifier(**dict(TINY, epochs=6), early_stopping=True, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    result = cross_validate(clf, X, y, cv=cv, return_estimator=True,
                            return_indices=True)
    for est, train in zip(result["estimator"], result["indices"]["train"],
                          strict=True):
        # refitting on the training rows alone reproduces the validation
        # curve exactly: it was computed from those rows and nothing else
        alone = MLPClassifier(**dict(TINY, epochs=6), random_state=0).fit(
            X[train], y[train])
        assert alone.history_["val_loss"] == est.history_["val_loss"]


def _family(name):
    """``(estimator at its defaults but 1 epoch, X, y, output)`` for a family."""
    import keras

    import skdeep

    rng = np.random.RandomState(0)
    n = 80  # 72 training rows: more than the two smallest batch sizes
    X = rng.normal(size=(n, 6)).astype(np.float32)
    labels, target = (X[:, 0] > 0).astype(int), X[:, 0] - 2 * X[:, 1]
    images = rng.uniform(size=(n, 8, 8)).astype(np.float32)
    steps = X.reshape(n, 3, 2)
    fit = dict(epochs=1, random_state=0)

    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(4, activation="relu"),
                                 keras.layers.Dense(meta.get("n_classes_", 1))])

    inputs = keras.Input((8, 8, 1))  # a "pretrained" base: fixed weights
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_a",
                            kernel_initializer=keras.initializers.GlorotUniform(0))(
        inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_b",
                            kernel_initializer=keras.initializers.GlorotUniform(1))(x)
    base = keras.Model(inputs, keras.layers.Flatten()(x), name="base")

    # more distinct words than the smallest max_tokens in the space (5000)
    texts = [" ".join(f"w{i * 80 + j}" for j in range(80)) for i in range(n)]
    proba = "predict_proba"
    return {
        "MLPClassifier": (skdeep.MLPClassifier(**fit), X, labels, proba),
        "MLPRegressor": (skdeep.MLPRegressor(**fit), X, target, "predict"),
        "CNNClassifier": (skdeep.CNNClassifier(**fit), images, labels, proba),
        "TransferClassifier": (skdeep.TransferClassifier(base, **fit), images,
                               labels, proba),
        "SequenceClassifier": (skdeep.SequenceClassifier(**fit), steps, labels,
                               proba),
        "SequenceRegressor": (skdeep.SequenceRegressor(**fit), steps, target,
                              "predict"),
        "TextClassifier": (skdeep.TextClassifier(**fit), texts, labels, proba),
        "AutoencoderTransformer": (skdeep.AutoencoderTransformer(**fit), X, None,
                                   "transform"),
        "KerasClassifier": (skdeep.KerasClassifier(build, **fit), X, labels,
                            proba),
        "KerasRegressor": (skdeep.KerasRegressor(build, loss="mse", **fit), X,
                           target, "predict"),
    }[name]


def _two_values(name, values, estimator):
    """Two distinct values of a space entry (list, scipy or Optuna distribution)."""
    if isinstance(values, list):
        return values[0], values[1]
    if hasattr(values, "ppf"):
        return tuple(float(v) for v in values.ppf([0.1, 0.9]))
    from skdeep.search.optuna_space import to_optuna_space

    decoder = to_optuna_space({name: values}, estimator)[1].get(name, {})
    if hasattr(values, "choices"):
        return tuple(decoder.get(c, c) for c in values.choices[:2])
    return values.low, values.high


@pytest.fixture(scope="module")
def default_space_fits():
    """The outputs of the fits of test_every_parameter_of_a_default_space_..., by
    family and the parameters that differ from the family's defaults: the three
    strategies' spaces share many values (and a default value is the default
    fit), and a fit repeats exactly (which each test checks on a fit of its own),
    so each fit runs once per module rather than once per test."""
    return {}


@pytest.mark.parametrize("strategy", ["grid", "random", "bayes"])
@pytest.mark.parametrize("family", [
    "MLPClassifier", "MLPRegressor", "CNNClassifier", "TransferClassifier",
    "SequenceClassifier", "SequenceRegressor", "TextClassifier",
    "AutoencoderTransformer", "KerasClassifier", "KerasRegressor"])
def test_every_parameter_of_a_default_space_changes_the_fit(family, strategy,
                                                            default_space_fits):
    # a parameter with no effect under the estimator's defaults makes
    # candidates that are the same network under different names
    if strategy == "bayes":
        pytest.importorskip("optuna")
    from sklearn.base import clone

    estimator, X, y, output = _family(family)
    defaults = estimator.get_params(deep=False)

    def fit_output(**params):
        fitted = clone(estimator).set_params(**params).fit(X, y)
        return np.asarray(getattr(fitted, output)(X))

    def shared_fit_output(**params):
        key = (family, *sorted((name, repr(value)) for name, value in params.items()
                               if name not in defaults
                               or repr(defaults[name]) != repr(value)))
        if key not in default_space_fits:
            default_space_fits[key] = fit_output(**params)
        return default_space_fits[key]

    without_effect = []
    for i, (name, values) in enumerate(
            default_space(estimator, strategy=strategy).items()):
        a, b = _two_values(name, values, estimator)
        outs = [shared_fit_output(**{name: a}), shared_fit_output(**{name: b})]
        if i == 0:  # fits repeat exactly, so a difference is the parameter's
            np.testing.assert_array_equal(fit_output(**{name: a}), outs[0])
        if outs[0].shape == outs[1].shape and np.array_equal(*outs):
            without_effect.append(name)
    assert not without_effect, (
        f"{family}'s {strategy} space tunes {without_effect}, which change "
        "nothing under its defaults")
