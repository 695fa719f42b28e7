"""Acceptance tests: ``skdeep.KerasClassifier`` / ``KerasRegressor`` are drop-in
replacements for ``scikeras.wrappers.KerasClassifier`` / ``KerasRegressor``.

Every test is written the way a scikeras user writes code (taken from scikeras's
quickstart, advanced usage guide and tutorials) and runs twice: once against
scikeras itself and once against skdeep; only the import differs.  Where scikeras
0.13 cannot do something under Keras 3 / scikit-learn 1.9 the scikeras run is
marked ``xfail`` inside the test with the reason, so the difference is recorded.
Assertions that only skdeep is held to are marked "skdeep-only".

One implementation only: ``-k skdeep`` or ``-k "not skdeep"`` (scikeras); note that
``-k scikeras`` selects every test, since the module's own name contains it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pickle

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone, is_classifier
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

# scikeras warns a lot (build_fn, kwargs to fit, ...); the tests check behaviour
pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(params=["scikeras", "skdeep"])
def wrappers(request):
    if request.param == "scikeras":
        mod = pytest.importorskip("scikeras.wrappers")
    else:
        import skdeep as mod
    return mod  # tests use wrappers.KerasClassifier / wrappers.KerasRegressor


@pytest.fixture(autouse=True)
def _reset_tf_op_determinism():
    """scikeras's ``random_state`` handling leaves TensorFlow's op determinism
    switched on after the first seeded build in a process (see
    ``test_random_state_leaves_global_state_alone``); then any later unseeded
    shuffle raises.  Reset it so tests do not leak into each other."""
    yield
    from tensorflow.python.framework import config

    if config.is_op_determinism_enabled():
        config.disable_op_determinism()


def _is_scikeras(wrappers):
    return wrappers.__name__.startswith("scikeras")


def _xfail_scikeras(wrappers, reason):
    if _is_scikeras(wrappers):
        pytest.xfail(reason)


# --------------------------------------------------------------------- data
N = 80  # rows; with batch_size=8 an epoch is exactly 10 batches

_Xc, _yc = make_classification(
    n_samples=N, n_features=4, n_informative=3, n_redundant=0, random_state=0
)
X_CLF, Y_BIN = _Xc.astype("float32"), _yc
_Xm, _ym = make_classification(
    n_samples=N,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    n_classes=3,
    random_state=1,
)
X_MC, Y_MC = _Xm.astype("float32"), _ym
_Xr, _yr = make_regression(n_samples=N, n_features=4, noise=0.1, random_state=0)
X_REG, Y_REG = _Xr.astype("float32"), (_yr / 100).astype("float32")


# ----------------------------------------------------------- build functions
def get_clf(meta, hidden=4):
    """scikeras quickstart style classifier: softmax over ``n_classes_``."""
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    model.add(keras.layers.Dense(hidden, activation="relu"))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    return model


def get_reg(meta, hidden=4):
    """scikeras quickstart style regressor."""
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    model.add(keras.layers.Dense(hidden, activation="relu"))
    model.add(keras.layers.Dense(1))
    return model


def get_bin(meta):
    """One sigmoid unit, for ``binary_crossentropy``."""
    return keras.Sequential(
        [
            keras.layers.Input(shape=(meta["n_features_in_"],)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def seeded_clf(meta):
    """Weights fixed by seeded initializers, whatever the global seed."""
    init = keras.initializers.GlorotUniform(seed=0)
    return keras.Sequential(
        [
            keras.layers.Input(shape=(meta["n_features_in_"],)),
            keras.layers.Dense(4, activation="relu", kernel_initializer=init),
            keras.layers.Dense(
                meta["n_classes_"],
                activation="softmax",
                kernel_initializer=keras.initializers.GlorotUniform(seed=1),
            ),
        ]
    )


def clf(wrappers, **kw):
    params = dict(model=get_clf, loss="sparse_categorical_crossentropy", verbose=0)
    params.update(kw)
    return wrappers.KerasClassifier(**params)


def reg(wrappers, **kw):
    params = dict(model=get_reg, loss="mse", verbose=0)
    params.update(kw)
    return wrappers.KerasRegressor(**params)


class Recorder(keras.callbacks.Callback):
    """Counts what Keras calls back, so batch sizes and phases are observable."""

    def __init__(self):
        super().__init__()
        self.train_batches = 0
        self.test_batches = 0
        self.predict_batches = 0
        self.predict_begins = 0
        self.train_begins = 0

    def on_train_begin(self, logs=None):
        self.train_begins += 1

    def on_train_batch_end(self, batch, logs=None):
        self.train_batches += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test_batches += 1

    def on_predict_begin(self, logs=None):
        self.predict_begins += 1

    def on_predict_batch_end(self, batch, logs=None):
        self.predict_batches += 1


# ------------------------------------------------------------------ basics
def test_quickstart_classifier(wrappers):
    """Quickstart: unprefixed build-function params, fit/predict/predict_proba/score."""
    est = wrappers.KerasClassifier(
        model=get_clf,
        loss="sparse_categorical_crossentropy",
        hidden=6,
        epochs=2,
        verbose=0,
        random_state=0,
    )
    assert est.fit(X_MC, Y_MC) is est
    assert est.model_.layers[0].units == 6  # unprefixed `hidden` reached get_clf
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    assert est.n_classes_ == 3
    pred = est.predict(X_MC)
    assert pred.shape == (N,) and set(np.unique(pred)) <= {0, 1, 2}
    proba = est.predict_proba(X_MC)
    assert proba.shape == (N, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(pred, est.classes_[proba.argmax(axis=1)])
    assert est.score(X_MC, Y_MC) == pytest.approx(accuracy_score(Y_MC, pred))


def test_quickstart_classifier_string_labels(wrappers):
    labels = np.array(["cat", "dog", "fish"])[Y_MC]
    est = clf(wrappers).fit(X_MC, labels)
    np.testing.assert_array_equal(est.classes_, ["cat", "dog", "fish"])
    assert set(est.predict(X_MC)) <= {"cat", "dog", "fish"}


def test_quickstart_regressor(wrappers):
    est = reg(wrappers, epochs=2).fit(X_REG, Y_REG)
    pred = est.predict(X_REG)
    assert pred.shape == (N,)
    from sklearn.metrics import r2_score

    assert est.score(X_REG, Y_REG) == pytest.approx(r2_score(Y_REG, pred), rel=1e-4)


def test_is_classifier_and_is_regressor(wrappers):
    from sklearn.base import is_regressor

    est = clf(wrappers)
    if _is_scikeras(wrappers):
        # scikeras 0.13 sets tags via _more_tags, which scikit-learn 1.9 ignores,
        # and puts ClassifierMixin after BaseEstimator: is_classifier is False
        assert not is_classifier(est)
    else:  # skdeep-only
        assert is_classifier(est)
        assert is_regressor(reg(wrappers))
        assert not is_regressor(est)


def test_grid_search_in_pipeline(wrappers):
    """Quickstart: GridSearchCV over model__/optimizer__/epochs inside a Pipeline."""
    pipe = Pipeline(
        [("scale", StandardScaler()), ("clf", clf(wrappers, optimizer="adam"))]
    )
    grid = GridSearchCV(
        pipe,
        {
            "clf__model__hidden": [4, 6],
            "clf__optimizer__learning_rate": [0.03],
            "clf__epochs": [2],
        },
        cv=KFold(2),
        refit=True,
    )
    grid.fit(X_MC, Y_MC)
    assert len(grid.cv_results_["params"]) == 2
    best = grid.best_estimator_.named_steps["clf"]
    assert best.model_.layers[0].units == grid.best_params_["clf__model__hidden"]
    assert float(best.model_.optimizer.learning_rate) == pytest.approx(
        grid.best_params_["clf__optimizer__learning_rate"]
    )
    assert len(best.history_["loss"]) == grid.best_params_["clf__epochs"]
    assert grid.predict(X_MC).shape == (N,)


def test_clone_and_set_params(wrappers):
    est = clf(
        wrappers,
        model__hidden=5,
        epochs=2,
        optimizer="adam",
        optimizer__learning_rate=0.02,
    )
    params = est.get_params()
    assert params["model__hidden"] == 5 and params["optimizer__learning_rate"] == 0.02
    cl = clone(est)
    assert type(cl) is type(est)
    assert cl.get_params()["model__hidden"] == 5
    assert cl.get_params()["optimizer__learning_rate"] == 0.02
    assert cl.set_params(model__hidden=7) is cl
    cl.fit(X_MC, Y_MC)
    assert cl.model_.layers[0].units == 7
    assert est.get_params()["model__hidden"] == 5  # the original is untouched
    assert not hasattr(est, "model_")
    est.set_params(epochs=3, optimizer__learning_rate=0.05)
    est.fit(X_MC, Y_MC)
    assert len(est.history_["loss"]) == 3
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(0.05)


def test_pickle_fitted_estimator(wrappers):
    est = clf(wrappers, epochs=2).fit(X_MC, Y_MC)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        again.predict_proba(X_MC), est.predict_proba(X_MC), rtol=1e-5
    )
    np.testing.assert_array_equal(again.classes_, est.classes_)
    assert list(again.history_["loss"]) == list(est.history_["loss"])
    again.partial_fit(X_MC, Y_MC)  # still trainable after unpickling
    assert again.current_epoch == 3


def test_bagging_meta_estimator(wrappers):
    """Meta Estimators notebook: a wrapper inside a scikit-learn ensemble."""
    from sklearn.ensemble import BaggingClassifier

    bag = BaggingClassifier(clf(wrappers), n_estimators=2, random_state=0)
    bag.fit(X_MC, Y_MC)
    assert bag.predict(X_MC).shape == (N,)
    assert bag.predict_proba(X_MC).shape == (N, 3)


def test_autoencoder_style_regressor(wrappers):
    """AutoEncoders notebook: a regressor fitted on y=X (continuous-multioutput)."""

    def autoencoder(meta):
        n = meta["n_features_in_"]
        return keras.Sequential(
            [
                keras.layers.Input(shape=(n,)),
                keras.layers.Dense(2, activation="relu"),
                keras.layers.Dense(n),
            ]
        )

    est = reg(wrappers, model=autoencoder).fit(X_REG, X_REG)
    assert est.target_type_ == "continuous-multioutput"
    assert est.predict(X_REG).shape == X_REG.shape
    assert np.isfinite(est.score(X_REG, X_REG))


def test_categorical_crossentropy_one_hot_encodes(wrappers):
    """advanced.md: with loss="categorical_crossentropy" integer labels are one-hot
    encoded for the network and decoded back by predict."""
    est = clf(wrappers, loss="categorical_crossentropy").fit(X_MC, Y_MC)
    assert est.predict(X_MC).shape == (N,)
    assert set(np.unique(est.predict(X_MC))) <= {0, 1, 2}
    assert est.predict_proba(X_MC).shape == (N, 3)


def test_multilabel_indicator_target(wrappers):
    def multilabel(meta):
        return keras.Sequential(
            [
                keras.layers.Input(shape=(meta["n_features_in_"],)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.Dense(3, activation="sigmoid"),  # 3 labels
            ]
        )

    y = np.column_stack([Y_BIN, 1 - Y_BIN, (Y_MC > 0).astype(int)])
    est = clf(wrappers, model=multilabel, loss="binary_crossentropy").fit(X_MC, y)
    assert est.target_type_ == "multilabel-indicator"
    pred = est.predict(X_MC)
    assert pred.shape == (N, 3) and set(np.unique(pred)) <= {0, 1}
    assert 0 <= est.score(X_MC, y) <= 1


# ------------------------------------------------------------------ 1. meta
META_KEYS = [
    "X_dtype_",
    "X_shape_",
    "y_dtype_",
    "y_ndim_",
    "n_features_in_",
    "target_type_",
    "n_outputs_",
    "n_outputs_expected_",
    "feature_encoder_",
    "target_encoder_",
]


def test_meta_classifier(wrappers):
    seen = {}

    def build(meta):
        seen.update(meta)
        return get_clf(meta)

    clf(wrappers, model=build).fit(X_MC, Y_MC)
    for key in [*META_KEYS, "classes_", "n_classes_"]:
        assert key in seen, key
    assert seen["n_features_in_"] == 4
    assert seen["X_shape_"] == (N, 4)
    assert seen["X_dtype_"] == np.float32
    assert seen["y_ndim_"] == 1
    assert seen["target_type_"] == "multiclass"
    assert seen["n_classes_"] == 3
    np.testing.assert_array_equal(seen["classes_"], [0, 1, 2])
    assert seen["n_outputs_"] == 1 and seen["n_outputs_expected_"] == 1
    assert hasattr(seen["target_encoder_"], "transform")
    assert hasattr(seen["feature_encoder_"], "transform")


def test_meta_regressor(wrappers):
    seen = {}

    def build(meta):
        seen.update(meta)
        return get_reg(meta)

    est = reg(wrappers, model=build).fit(X_REG, Y_REG)
    for key in META_KEYS:
        assert key in seen, key
    assert "classes_" not in seen
    assert seen["target_type_"] == "continuous"
    assert seen["y_dtype_"] == np.float32
    assert seen["n_features_in_"] == 4 == est.n_features_in_
    assert est.X_shape_ == (N, 4)


def test_build_fn_with_params_gets_get_params(wrappers):
    seen = {}

    def build(meta, params):
        seen.update(params)
        return get_clf(meta)

    est = clf(
        wrappers, model=build, epochs=2, optimizer="adam", optimizer__learning_rate=0.02
    )
    est.fit(X_MC, Y_MC)
    expected = est.get_params()
    assert set(seen) == set(expected)
    assert seen["epochs"] == 2 and seen["optimizer"] == "adam"
    assert seen["loss"] == "sparse_categorical_crossentropy"
    assert seen["optimizer__learning_rate"] == 0.02


def test_build_fn_kwargs_gets_meta_compile_kwargs_params(wrappers):
    seen = {}

    def build(**kwargs):
        seen.update(kwargs)
        return get_clf(kwargs["meta"])

    clf(wrappers, model=build, optimizer="adam").fit(X_MC, Y_MC)
    assert {"meta", "compile_kwargs", "params"} <= set(seen)
    assert seen["meta"]["n_classes_"] == 3
    assert isinstance(seen["compile_kwargs"]["optimizer"], keras.optimizers.Adam)
    assert seen["params"]["epochs"] == 1


# ----------------------------------------------- 2. initialize, partial_fit
def test_initialize_builds_without_training(wrappers):
    rec = Recorder()
    est = clf(wrappers, callbacks=[rec])
    assert est.initialize(X_MC, Y_MC) is est
    assert est.initialized_
    assert rec.train_begins == 0 and rec.train_batches == 0
    assert est.predict(X_MC).shape == (N,)
    assert est.predict_proba(X_MC).shape == (N, 3)
    assert est.current_epoch == 0


def test_initialize_keeps_pretrained_weights(wrappers):
    pretrained = get_clf({"n_features_in_": 4, "n_classes_": 3})
    pretrained.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    pretrained.fit(X_MC, Y_MC, epochs=1, verbose=0, shuffle=False)
    expected = pretrained.predict(X_MC, verbose=0)
    est = wrappers.KerasClassifier(model=pretrained, verbose=0).initialize(X_MC, Y_MC)
    np.testing.assert_allclose(est.predict_proba(X_MC), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(est.predict(X_MC), expected.argmax(axis=1))


def test_partial_fit_accumulates_history(wrappers):
    est = clf(wrappers, epochs=5)
    assert est.current_epoch == 0
    for n in (1, 2, 3):
        est.partial_fit(X_MC, Y_MC)
        assert len(est.history_["loss"]) == n
        assert est.current_epoch == n
    weights = [w.copy() for w in est.model_.get_weights()]
    est.fit(X_MC, Y_MC)  # fit (warm_start=False) starts over
    assert len(est.history_["loss"]) == 5 and est.current_epoch == 5
    assert any(
        w.shape != v.shape or not np.allclose(w, v)
        for w, v in zip(weights, est.model_.get_weights(), strict=True)
    )


def test_partial_fit_with_classes(wrappers):
    """partial_fit(classes=...) as scikit-learn's incremental classifiers take it."""
    seen = Y_MC != 2
    est = clf(wrappers).partial_fit(X_MC[seen], Y_MC[seen], classes=[0, 1, 2])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    assert est.predict_proba(X_MC).shape == (N, 3)
    est.partial_fit(X_MC, Y_MC)
    assert est.current_epoch == 2


def test_not_fitted_and_bad_param(wrappers):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    est = clf(wrappers)
    with pytest.raises(NotFittedError):
        est.predict(X_MC)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(ValueError):
        est.set_params(not_a_param=1)
    assert "KerasClassifier" in repr(est)


def test_partial_fit_rejects_epochs(wrappers):
    est = clf(wrappers)
    with pytest.raises(TypeError):
        est.partial_fit(X_MC, Y_MC, epochs=3)


def test_warm_start_keeps_model(wrappers):
    est = clf(wrappers, warm_start=True, epochs=2).fit(X_MC, Y_MC)
    model = est.model_
    est.fit(X_MC, Y_MC)
    assert est.model_ is model
    assert len(est.history_["loss"]) == 2  # epoch count restarts, history too


# ------------------------------------------------- 3. fit / predict params
def test_validation_split(wrappers):
    est = clf(wrappers, validation_split=0.2, epochs=2, metrics=["accuracy"]).fit(
        X_MC, Y_MC
    )
    assert len(est.history_["val_loss"]) == 2
    assert len(est.history_["val_accuracy"]) == 2


def test_run_eagerly(wrappers):
    est = clf(wrappers, run_eagerly=True).fit(X_MC, Y_MC)
    assert est.model_.run_eagerly is True  # default False: see test_default_fit_...


def test_shuffle_false(wrappers):
    """Seeded weights: with shuffle=False the batch order, hence the loss curve,
    cannot depend on random_state; shuffle=True changes it."""
    common = dict(
        model=seeded_clf,
        epochs=1,
        batch_size=8,
        optimizer="sgd",
        optimizer__learning_rate=0.5,
    )
    a = clf(wrappers, shuffle=False, random_state=1, **common).fit(X_MC, Y_MC)
    b = clf(wrappers, shuffle=False, random_state=2, **common).fit(X_MC, Y_MC)
    np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-5)
    c = clf(wrappers, shuffle=True, random_state=1, **common).fit(X_MC, Y_MC)
    assert not np.allclose(c.history_["loss"], a.history_["loss"], rtol=1e-6)


@pytest.mark.parametrize("batch_size, batches", [(None, 3), (-1, 1), (8, 10)])
def test_batch_size(wrappers, batch_size, batches):
    rec = Recorder()
    est = clf(wrappers, batch_size=batch_size, callbacks=[rec]).fit(X_MC, Y_MC)
    assert rec.train_batches == batches
    est.predict(X_MC)  # batch_size applies to predict as well
    assert rec.predict_batches == batches


def test_validation_batch_size(wrappers):
    rec = Recorder()
    clf(
        wrappers,
        validation_split=0.25,
        validation_batch_size=5,
        batch_size=-1,
        callbacks=[rec],
    ).fit(X_MC, Y_MC)
    assert rec.train_batches == 1  # batch_size=-1: all 60 training rows at once
    assert rec.test_batches == 4  # 20 validation rows in batches of 5


def test_build_fn_deprecated_alias(wrappers):
    est = wrappers.KerasClassifier(
        build_fn=get_clf, loss="sparse_categorical_crossentropy", verbose=0
    )
    assert est.get_params()["build_fn"] is get_clf
    with pytest.warns(Warning, match="build_fn"):
        est.fit(X_MC, Y_MC)
    assert est.predict(X_MC).shape == (N,)


def test_routed_fit_params(wrappers):
    rec = Recorder()
    est = clf(
        wrappers,
        fit__batch_size=8,
        fit__epochs=2,
        fit__validation_split=0.25,
        predict__batch_size=40,
        callbacks=[rec],
    ).fit(X_MC, Y_MC)
    assert len(est.history_["loss"]) == 2
    assert len(est.history_["val_loss"]) == 2
    assert rec.train_batches == 2 * 8  # 60 training rows in batches of 8
    est.predict(X_MC)
    assert rec.predict_batches == 2  # predict__batch_size=40


def test_sample_weight_and_class_weight(wrappers):
    """fit(sample_weight=...) (Meta Estimators notebook), the class_weight param and
    routed fit__class_weight.  A learning rate of 0 keeps the seeded weights, so the
    first epoch's loss is linear in the per-row weights: w(1, 2) + w(2, 1) = 3 * plain.
    """
    common = dict(
        model=seeded_clf,
        optimizer="sgd",
        optimizer__learning_rate=0.0,
        batch_size=-1,
        shuffle=False,
    )

    def loss(**kw):
        fit_kw = {}
        if "sample_weight" in kw:
            fit_kw["sample_weight"] = kw.pop("sample_weight")
        est = clf(wrappers, **common, **kw).fit(X_CLF, Y_BIN, **fit_kw)
        return est.history_["loss"][0]

    plain = loss()
    assert loss(sample_weight=np.full(N, 2.0)) == pytest.approx(2 * plain, rel=1e-4)
    routed = loss(fit__class_weight={0: 1.0, 1: 2.0})
    param = loss(class_weight={0: 2.0, 1: 1.0})
    assert routed + param == pytest.approx(3 * plain, rel=1e-4)
    assert routed != pytest.approx(param, rel=1e-3)


def test_fit_and_predict_kwargs(wrappers):
    rec = Recorder()
    est = clf(wrappers, callbacks=[rec])
    est.fit(X_MC, Y_MC, epochs=2, batch_size=8)
    assert len(est.history_["loss"]) == 2
    assert rec.train_batches == 20
    assert est.predict(X_MC, batch_size=8).shape == (N,)
    assert rec.predict_batches == 10
    assert est.predict_proba(X_MC, batch_size=40).shape == (N, 3)
    assert rec.predict_batches == 12


def test_epochs_precedence(wrappers):
    est = clf(wrappers, epochs=1)
    assert len(est.fit(X_MC, Y_MC).history_["loss"]) == 1
    est.set_params(fit__epochs=2)
    assert len(est.fit(X_MC, Y_MC).history_["loss"]) == 2  # fit__epochs > epochs
    assert (
        len(est.fit(X_MC, Y_MC, epochs=3).history_["loss"]) == 3
    )  # kwargs > fit__epochs


# ------------------------------------------------------------- 4. callbacks
def test_single_callback_instance(wrappers):
    rec = Recorder()
    clf(wrappers, callbacks=rec, batch_size=8).fit(X_MC, Y_MC)
    assert rec.train_batches == 10


def test_callback_class_with_routed_params(wrappers):
    # scikeras instantiates a callback class with callbacks__<arg> routed params
    est = clf(
        wrappers,
        callbacks=keras.callbacks.EarlyStopping,
        callbacks__monitor="loss",
        callbacks__patience=0,
        callbacks__min_delta=1e9,
        epochs=5,
    ).fit(X_MC, Y_MC)
    # min_delta is huge: only the first epoch "improves", training stops after
    # patience + 2 epochs (Keras 3 EarlyStopping); without the routed params: 5 epochs
    assert len(est.history_["loss"]) == 2
    assert (
        est.get_params()["callbacks"] is keras.callbacks.EarlyStopping
    )  # param untouched


def test_callback_list_with_indexed_params(wrappers):
    est = clf(
        wrappers,
        callbacks=[keras.callbacks.EarlyStopping],
        callbacks__0__monitor="loss",
        callbacks__0__min_delta=1e9,
        callbacks__0__patience=2,
        epochs=5,
    ).fit(X_MC, Y_MC)
    assert len(est.history_["loss"]) == 3


def test_callback_dict(wrappers):
    rec = Recorder()
    est = clf(
        wrappers,
        callbacks={"stop": keras.callbacks.EarlyStopping, "rec": rec},
        callbacks__stop__monitor="loss",
        callbacks__stop__min_delta=1e9,
        callbacks__stop__patience=0,
        epochs=5,
        batch_size=8,
    ).fit(X_MC, Y_MC)
    assert len(est.history_["loss"]) == 2
    assert rec.train_batches == 20


def test_set_params_routed_callback_params(wrappers):
    """callbacks__<arg> can be changed with set_params, as GridSearchCV does."""
    est = clf(wrappers, callbacks=keras.callbacks.EarlyStopping, callbacks__patience=1)
    assert est.get_params()["callbacks__patience"] == 1
    try:
        est.set_params(callbacks__patience=3)
    except TypeError as exc:
        _xfail_scikeras(
            wrappers,
            "scikeras's set_params does not treat callbacks__ as a routing prefix: "
            f"scikit-learn calls EarlyStopping.set_params(patience=3): {exc}",
        )
        raise
    assert est.get_params()["callbacks__patience"] == 3
    assert clone(est).get_params()["callbacks__patience"] == 3


def test_predict_callbacks(wrappers):
    both, pred_only, fit_only = Recorder(), Recorder(), Recorder()
    est = clf(
        wrappers,
        callbacks=[both],
        predict__callbacks=[pred_only],
        fit__callbacks=[fit_only],
    ).fit(X_MC, Y_MC)
    assert both.train_begins == 1 and fit_only.train_begins == 1
    assert pred_only.train_begins == 0
    est.predict(X_MC)
    assert both.predict_begins == 1
    assert pred_only.predict_begins == 1
    assert fit_only.predict_begins == 0
    est.predict_proba(X_MC)
    assert both.predict_begins == 2 and pred_only.predict_begins == 2


def test_callback_bad_type_raises(wrappers):
    est = clf(wrappers, callbacks=[object()])
    with pytest.raises(TypeError):
        est.fit(X_MC, Y_MC)


# --------------------------------------------------------------- 5. metrics
def test_metric_string_classifier(wrappers):
    est = clf(wrappers, metrics="accuracy", epochs=2).fit(X_MC, Y_MC)
    assert set(est.history_) == {"loss", "accuracy"}
    assert len(est.history_["accuracy"]) == 2
    assert 0 <= est.history_["accuracy"][-1] <= 1


def test_metric_names_regressor(wrappers):
    # scikeras reports metrics under their full names: "mae" -> "mean_absolute_error"
    est = reg(wrappers, metrics=["mae"], validation_split=0.25).fit(X_REG, Y_REG)
    assert set(est.history_) == {
        "loss",
        "mean_absolute_error",
        "val_loss",
        "val_mean_absolute_error",
    }
    est = reg(
        wrappers, metrics=["mean_squared_error", keras.metrics.RootMeanSquaredError]
    ).fit(X_REG, Y_REG)
    assert set(est.history_) == {
        "loss",
        "mean_squared_error",
        "root_mean_squared_error",
    }


def test_metric_class_with_routed_params(wrappers):
    """BinaryAccuracy with threshold above 1 predicts 0 for every row: the epoch's
    accuracy is exactly the share of zeros in y."""
    est = wrappers.KerasClassifier(
        model=get_bin,
        loss="binary_crossentropy",
        verbose=0,
        metrics=[keras.metrics.BinaryAccuracy],
        metrics__0__name="thr_acc",
        metrics__0__threshold=1.5,
    ).fit(X_CLF, Y_BIN)
    assert est.history_["thr_acc"][0] == pytest.approx(np.mean(Y_BIN == 0))
    est = wrappers.KerasClassifier(
        model=get_bin,
        loss="binary_crossentropy",
        verbose=0,
        metrics=keras.metrics.BinaryAccuracy,
        metrics__name="low_acc",
        metrics__threshold=-0.5,
    ).fit(X_CLF, Y_BIN)
    assert est.history_["low_acc"][0] == pytest.approx(np.mean(Y_BIN == 1))


# ---------------------------------------------------------------- 6. losses
def build_logits(meta, compile_kwargs):
    """advanced.md: a build function that compiles with SciKeras's compile_kwargs."""
    model = keras.Sequential(
        [
            keras.layers.Input(shape=(meta["n_features_in_"],)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(meta["n_classes_"]),  # logits
        ]
    )
    model.compile(**compile_kwargs)
    return model


@pytest.mark.parametrize(
    "loss",
    ["sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy],
)
def test_routed_loss_from_logits(wrappers, loss):
    est = wrappers.KerasClassifier(
        model=build_logits, loss=loss, loss__from_logits=True, verbose=0
    )
    if isinstance(loss, str):
        _xfail_scikeras(
            wrappers,
            "with Keras 3 keras.losses.get returns a plain function "
            "for a snake_case loss name, so scikeras cannot route "
            "loss__from_logits to it (TypeError 'does not accept parameters')",
        )
    est.fit(X_MC, Y_MC)
    assert isinstance(est.model_.loss, keras.losses.SparseCategoricalCrossentropy)
    assert est.model_.loss.get_config()["from_logits"] is True
    assert est.predict(X_MC).shape == (N,)


def test_loss_instance_passes_through(wrappers):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    est = wrappers.KerasClassifier(model=build_logits, loss=loss, verbose=0).fit(
        X_MC, Y_MC
    )
    assert est.model_.loss.get_config()["from_logits"] is True


def test_optimizer_class_with_routed_params(wrappers):
    est = clf(
        wrappers,
        optimizer=keras.optimizers.SGD,
        optimizer__momentum=0.9,
        optimizer__learning_rate=0.03,
    ).fit(X_MC, Y_MC)
    opt = est.model_.optimizer
    assert isinstance(opt, keras.optimizers.SGD)
    assert opt.momentum == pytest.approx(0.9)
    assert float(opt.learning_rate) == pytest.approx(0.03)


def test_optimizer_nested_routing(wrappers):
    """Routed optimizer params set through a Pipeline (clf__optimizer__...), and a
    learning-rate schedule given as optimizer__learning_rate."""
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", clf(wrappers, optimizer=keras.optimizers.SGD)),
        ]
    )
    pipe.set_params(clf__optimizer__momentum=0.5, clf__optimizer__nesterov=True)
    assert pipe.get_params()["clf__optimizer__momentum"] == 0.5
    pipe.fit(X_MC, Y_MC)
    opt = pipe.named_steps["clf"].model_.optimizer
    assert opt.momentum == pytest.approx(0.5) and opt.nesterov is True
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=0.02, decay_steps=10, decay_rate=0.5
    )
    est = clf(wrappers, optimizer="adam", optimizer__learning_rate=schedule).fit(
        X_MC, Y_MC
    )
    sched = est.model_.optimizer._learning_rate
    assert isinstance(sched, keras.optimizers.schedules.ExponentialDecay)
    assert sched.initial_learning_rate == pytest.approx(0.02)
    assert sched.decay_steps == 10


def test_compile_routed_run_eagerly(wrappers):
    est = clf(wrappers, compile__run_eagerly=True).fit(X_MC, Y_MC)
    assert est.model_.run_eagerly is True


def test_conflicting_loss_raises(wrappers):
    def build(meta):
        model = get_clf(meta)
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    est = wrappers.KerasClassifier(
        model=build, loss="categorical_crossentropy", verbose=0
    )
    with pytest.raises(ValueError):
        est.fit(X_MC, Y_MC)


def test_missing_loss_raises_for_regressor(wrappers):
    est = wrappers.KerasRegressor(model=get_reg, verbose=0)  # loss=None, not compiled
    assert est.get_params()["loss"] is None
    with pytest.raises(ValueError, match="loss"):
        est.fit(X_REG, Y_REG)


# ------------------------------------------------------- 7. X with ndim > 2
def test_image_input_conv2d(wrappers):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8, 8, 1)).astype("float32")
    y = (X[:, :4].mean(axis=(1, 2, 3)) > 0).astype(int)

    def cnn(meta):
        return keras.Sequential(
            [
                keras.layers.Input(shape=meta["X_shape_"][1:]),
                keras.layers.Conv2D(2, 3, activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    est = clf(wrappers, model=cnn, epochs=2).fit(X, y)
    assert est.X_shape_ == (60, 8, 8, 1)
    assert est.predict(X).shape == (60,)
    assert est.predict_proba(X).shape == (60, 2)
    assert 0 <= est.score(X, y) <= 1


@pytest.mark.parametrize("layer", ["GRU"])  # LSTM works alike; one keeps it fast
def test_sequence_input_rnn(wrappers, layer):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5, 3)).astype("float32")
    y = X.sum(axis=(1, 2)).astype("float32")

    def rnn(meta):
        return keras.Sequential(
            [
                keras.layers.Input(shape=meta["X_shape_"][1:]),
                getattr(keras.layers, layer)(4),
                keras.layers.Dense(1),
            ]
        )

    est = reg(wrappers, model=rnn, epochs=2).fit(X, y)
    assert est.predict(X).shape == (60,)
    assert np.isfinite(est.score(X, y))


# ------------------------------------------------------ 8. optimizer names
def test_optimizer_names_any_case(wrappers):
    def build(meta, compile_kwargs):
        model = get_clf(meta)
        model.compile(**compile_kwargs)
        return model

    for name in ["SGD", "Adam", "adadelta", "ftrl", "RMSprop"]:
        est = clf(wrappers, model=build, optimizer=name, optimizer__learning_rate=0.01)
        est.initialize(X_MC, Y_MC)  # compiled by build: no training needed
        assert type(est.model_.optimizer).__name__.lower() == name.lower(), name
        assert float(est.model_.optimizer.learning_rate) == pytest.approx(0.01)
    # the wrapper's own compile path, while fitting
    est = clf(wrappers, optimizer="Ftrl", optimizer__learning_rate=0.01).fit(X_MC, Y_MC)
    assert isinstance(est.model_.optimizer, keras.optimizers.Ftrl)


# ------------------------------------------- 9. multi-input / multi-output
def split_inputs(X):
    return [X[:, :2], X[:, 2:]]


def split_inputs_dict(X):
    return {"left": X[:, :2], "right": X[:, 2:]}


def two_input_model(meta):
    left = keras.Input(shape=(2,), name="left")
    right = keras.Input(shape=(2,), name="right")
    x = keras.layers.Concatenate()(
        [
            keras.layers.Dense(4, activation="relu")(left),
            keras.layers.Dense(4, activation="relu")(right),
        ]
    )
    out = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    return keras.Model([left, right], out)


def make_multi_input_classifier(wrappers, func):
    class MultiInputClassifier(wrappers.KerasClassifier):
        @property
        def feature_encoder(self):
            return FunctionTransformer(func=func)

    return MultiInputClassifier


@pytest.mark.parametrize("func", [split_inputs, split_inputs_dict])
def test_multi_input_feature_encoder(wrappers, func):
    cls = make_multi_input_classifier(wrappers, func)
    est = cls(
        model=two_input_model,
        loss="sparse_categorical_crossentropy",
        verbose=0,
        epochs=2,
    )
    est.fit(X_MC, Y_MC)
    assert len(est.model_.inputs) == 2
    assert est.predict(X_MC).shape == (N,)
    assert est.predict_proba(X_MC).shape == (N, 3)
    if func is split_inputs:  # the dict variant slices the same way: save time
        scores = cross_val_score(est, X_MC, Y_MC, cv=KFold(2))
        assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


class MultiOutputTransformer(BaseEstimator, TransformerMixin):
    """advanced.md "Multi-output": column 0 is binary, column 1 is multiclass."""

    def fit(self, y):
        y_bin, y_cat = y[:, 0], y[:, 1]
        self.bin_classes_ = np.unique(y_bin)
        self.cat_classes_ = np.unique(y_cat)
        self.n_classes_ = [len(self.bin_classes_), len(self.cat_classes_)]
        self.n_outputs_expected_ = 2
        return self

    def get_metadata(self):
        return {
            "n_classes_": self.n_classes_,
            "n_outputs_expected_": self.n_outputs_expected_,
        }

    def transform(self, y):
        y_bin = np.searchsorted(self.bin_classes_, y[:, 0]).astype("float32")
        y_cat = np.searchsorted(self.cat_classes_, y[:, 1])
        return [y_bin, y_cat]

    def inverse_transform(self, y, return_proba=False):
        y_bin_proba, y_cat_proba = y
        if return_proba:
            return np.column_stack([y_bin_proba, y_cat_proba])
        y_bin = self.bin_classes_[(y_bin_proba.ravel() > 0.5).astype(int)]
        y_cat = self.cat_classes_[y_cat_proba.argmax(axis=1)]
        return np.column_stack([y_bin, y_cat])


def two_output_model(meta):
    inp = keras.Input(shape=(meta["n_features_in_"],))
    x = keras.layers.Dense(8, activation="relu")(inp)
    out_bin = keras.layers.Dense(1, activation="sigmoid", name="bin")(x)
    out_cat = keras.layers.Dense(
        meta["n_classes_"][1], activation="softmax", name="cat"
    )(x)
    return keras.Model(inp, [out_bin, out_cat])


def make_multi_output_classifier(wrappers):
    class MultiOutputClassifier(wrappers.KerasClassifier):
        @property
        def target_encoder(self):
            return MultiOutputTransformer()

        @staticmethod
        def scorer(y_true, y_pred, **kwargs):
            return np.mean(
                [accuracy_score(y_true[:, i], y_pred[:, i]) for i in range(2)]
            )

    return MultiOutputClassifier


Y_MULTI = np.column_stack([Y_BIN, Y_MC])  # multiclass-multioutput


@pytest.mark.parametrize(
    "loss",
    [
        ["binary_crossentropy", "sparse_categorical_crossentropy"],
        {"bin": "binary_crossentropy", "cat": "sparse_categorical_crossentropy"},
    ],
)
def test_multi_output_target_encoder(wrappers, loss):
    cls = make_multi_output_classifier(wrappers)
    est = cls(model=two_output_model, loss=loss, verbose=0, epochs=2)
    est.fit(X_MC, Y_MULTI)
    assert est.target_type_ == "multiclass-multioutput"
    assert est.n_outputs_expected_ == 2
    assert len(est.model_.loss) == 2  # one loss per output reached compile
    assert len(est.model_.outputs) == 2
    pred = est.predict(X_MC)
    assert pred.shape == (N, 2)
    assert set(np.unique(pred[:, 0])) <= {0, 1}
    assert set(np.unique(pred[:, 1])) <= {0, 1, 2}
    assert 0 <= est.score(X_MC, Y_MULTI) <= 1
    if isinstance(loss, list):  # the dict variant slices the same way: save time
        grid = GridSearchCV(est, {"epochs": [1]}, cv=KFold(2), refit=False)
        grid.fit(X_MC, Y_MULTI)  # slices y (n, 2) per fold and scores with scorer
        assert 0 <= grid.cv_results_["mean_test_score"][0] <= 1


def test_multi_output_wrong_output_count_raises(wrappers):
    cls = make_multi_output_classifier(wrappers)
    est = cls(model=get_clf, loss="binary_crossentropy", verbose=0)
    with pytest.raises(ValueError):
        # the meta n_classes_ is a list: get_clf's single output cannot match
        est.fit(X_MC, Y_MULTI)


def test_keras_build_fn_method(wrappers):
    """Subclass with `_keras_build_fn` and model=None (MIMO, AutoEncoders notebooks)."""

    class MIMOClassifier(wrappers.KerasClassifier):
        @property
        def feature_encoder(self):
            return FunctionTransformer(func=split_inputs)

        def _keras_build_fn(self, meta, compile_kwargs):
            model = two_input_model(meta)
            model.compile(**compile_kwargs)
            return model

    est = MIMOClassifier(
        loss="sparse_categorical_crossentropy", optimizer="adam", verbose=0
    )
    assert est.get_params()["model"] is None
    est.fit(X_MC, Y_MC)
    assert isinstance(est.model_.optimizer, keras.optimizers.Adam)
    assert est.predict(X_MC).shape == (N,)


# --------------------------------------------------- 10. tutorial subclass
def make_my_clf(wrappers):
    class MyClf(wrappers.KerasClassifier):
        def __init__(self, model=None, my_param=1, **kwargs):
            super().__init__(model=model, **kwargs)
            self.my_param = my_param

        def _keras_build_fn(self, meta, compile_kwargs):
            model = keras.Sequential(
                [
                    keras.layers.Input(shape=(meta["n_features_in_"],)),
                    keras.layers.Dense(self.my_param, activation="relu"),
                    keras.layers.Dense(meta["n_classes_"], activation="softmax"),
                ]
            )
            model.compile(
                loss="sparse_categorical_crossentropy",
                optimizer=compile_kwargs["optimizer"],
            )
            return model

    return MyClf


def test_tutorial_subclass_keeps_parent_params(wrappers):
    cls = make_my_clf(wrappers)
    est = cls(my_param=5, epochs=3, optimizer="adam", verbose=0)
    params = est.get_params()
    assert params["my_param"] == 5
    assert params["epochs"] == 3 and params["optimizer"] == "adam"
    assert params["batch_size"] is None and params["loss"] is None
    cl = clone(est)
    assert cl.get_params()["epochs"] == 3 and cl.get_params()["optimizer"] == "adam"
    assert cl.get_params()["my_param"] == 5
    cl.fit(X_MC, Y_MC)
    assert len(cl.history_["loss"]) == 3
    assert cl.model_.layers[0].units == 5  # my_param reached _keras_build_fn
    assert isinstance(cl.model_.optimizer, keras.optimizers.Adam)
    cl.set_params(my_param=2).fit(X_MC, Y_MC)
    assert cl.model_.layers[0].units == 2


def test_mlp_regressor_tutorial(wrappers):
    """The MLPRegressor tutorial: explicit __init__ with routed defaults."""

    class MLPRegressor(wrappers.KerasRegressor):
        def __init__(
            self,
            hidden_layer_sizes=(4,),
            optimizer="adam",
            optimizer__learning_rate=0.01,
            epochs=2,
            verbose=0,
            **kwargs,
        ):
            super().__init__(**kwargs)
            self.hidden_layer_sizes = hidden_layer_sizes
            self.optimizer = optimizer
            self.epochs = epochs
            self.verbose = verbose
            self.optimizer__learning_rate = optimizer__learning_rate

        def _keras_build_fn(self, compile_kwargs):
            model = keras.Sequential()
            model.add(keras.layers.Input(shape=(self.n_features_in_,)))
            for size in self.hidden_layer_sizes:
                model.add(keras.layers.Dense(size, activation="relu"))
            model.add(keras.layers.Dense(1))
            model.compile(loss="mse", optimizer=compile_kwargs["optimizer"])
            return model

    est = MLPRegressor(hidden_layer_sizes=(4, 3), random_state=0)
    assert est.get_params()["optimizer__learning_rate"] == 0.01
    assert est.get_params()["random_state"] == 0
    est.fit(X_REG, Y_REG)
    assert [layer.units for layer in est.model_.layers] == [4, 3, 1]
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(0.01)
    assert len(est.history_["loss"]) == 2
    cl = clone(est).set_params(optimizer__learning_rate=0.05)
    cl.fit(X_REG, Y_REG)
    assert float(cl.model_.optimizer.learning_rate) == pytest.approx(0.05)


# -------------------------------------------------------------- 11. defaults
CLF_DEFAULTS = dict(
    model=None,
    build_fn=None,
    warm_start=False,
    random_state=None,
    optimizer="rmsprop",
    loss=None,
    metrics=None,
    batch_size=None,
    validation_batch_size=None,
    verbose=1,
    callbacks=None,
    validation_split=0.0,
    shuffle=True,
    run_eagerly=False,
    epochs=1,
    class_weight=None,
)


def test_default_params(wrappers):
    params = wrappers.KerasClassifier().get_params()
    for key, value in CLF_DEFAULTS.items():
        assert key in params, key
        assert params[key] == value and type(params[key]) is type(value), key
    reg_params = wrappers.KerasRegressor().get_params()
    for key, value in CLF_DEFAULTS.items():
        if key != "class_weight":
            assert reg_params[key] == value, key
    assert "class_weight" not in reg_params


def test_default_fit_is_one_epoch_without_validation(wrappers, capsys):
    est = wrappers.KerasClassifier(
        model=get_clf, loss="sparse_categorical_crossentropy"
    )
    est.fit(X_MC, Y_MC)
    assert len(est.history_["loss"]) == 1
    assert not any(k.startswith("val_") for k in est.history_)
    assert isinstance(est.model_.optimizer, keras.optimizers.RMSprop)
    assert est.model_.run_eagerly is False


# --------------------------------------------------- 12. edge cases / pickle
class UnregisteredNet(keras.Model):
    """A Model subclass not registered with keras.saving (no decorator)."""

    def __init__(self, n_classes=2, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = n_classes
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(n_classes, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes}


def build_unregistered(meta):
    return UnregisteredNet(n_classes=meta["n_classes_"])


def _fit_subclassed(wrappers, est):
    try:
        est.fit(X_MC, Y_MC)
    except AttributeError as exc:
        _xfail_scikeras(
            wrappers,
            "scikeras 0.13 reads model_.outputs before training, which an "
            f"unbuilt Keras 3 Model subclass lacks: {exc!r}",
        )
        raise
    return est


def _assert_pickle_round_trip(est):
    expected = est.predict_proba(X_MC)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        again.predict_proba(X_MC), expected, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(again.predict(X_MC), est.predict(X_MC))


def test_pickle_unregistered_model_subclass(wrappers):
    est = _fit_subclassed(wrappers, clf(wrappers, model=build_unregistered, epochs=2))
    assert isinstance(est.model_, UnregisteredNet)
    _assert_pickle_round_trip(est)


def test_pickle_model_subclass_defined_in_test(wrappers):
    class TinyNet(keras.Model):  # defined here: pickle cannot even name the class
        def __init__(self, n_classes=2, **kwargs):
            super().__init__(**kwargs)
            self.n_classes = n_classes
            self.hidden = keras.layers.Dense(4, activation="relu")
            self.out = keras.layers.Dense(n_classes, activation="softmax")

        def call(self, x):
            return self.out(self.hidden(x))

        def get_config(self):  # Keras's automatic config records the defaults
            return {**super().get_config(), "n_classes": self.n_classes}

    # a prebuilt instance as `model=`, so no test-local function is a parameter
    est = clf(wrappers, model=TinyNet(n_classes=3), epochs=2)
    est = _fit_subclassed(wrappers, est)
    assert isinstance(est.model_, TinyNet)
    _assert_pickle_round_trip(est)  # in the same process


def test_random_state_leaves_global_state_alone(wrappers):
    import random

    from tensorflow.python.framework import config

    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    est = clf(wrappers, random_state=0, model__hidden=4).fit(X_MC, Y_MC)
    est.predict(X_MC)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state
    if config.is_op_determinism_enabled():
        _xfail_scikeras(
            wrappers,
            "scikeras's tensorflow_random_state sets TF_DETERMINISTIC_OPS=1 "
            "before TensorFlow's context first reads it, so on the first seeded "
            "build in a process op determinism is left enabled; later unseeded "
            "Keras shuffles then raise 'Random ops require a seed'",
        )
    assert not config.is_op_determinism_enabled()
    assert os.environ.get("TF_DETERMINISTIC_OPS") is None


def test_single_class_y(wrappers):
    # scikeras fits a single-class y: classes_ has one entry, predict returns it
    y = np.full(N, 7)
    est = clf(wrappers).fit(X_MC, y)
    np.testing.assert_array_equal(est.classes_, [7])
    assert est.n_classes_ == 1
    pred = est.predict(X_MC)
    assert pred.shape == (N,)
    assert np.all(pred == 7)
    proba = np.asarray(est.predict_proba(X_MC)).reshape(N, -1)
    assert proba.shape == (N, 1)
    np.testing.assert_allclose(proba, 1.0, rtol=1e-5)


def test_bad_build_argument_raises_type_error(wrappers):
    est = clf(wrappers, model__nonexistent=1)
    with pytest.raises(TypeError, match="nonexistent"):
        est.fit(X_MC, Y_MC)


def test_prebuilt_model(wrappers):
    user_model = get_clf({"n_features_in_": 4, "n_classes_": 3})
    user_model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    before = [w.copy() for w in user_model.get_weights()]
    est = wrappers.KerasClassifier(model=user_model, epochs=2, verbose=0).fit(
        X_MC, Y_MC
    )
    assert est.predict(X_MC).shape == (N,)
    np.testing.assert_allclose(
        est.predict_proba(X_MC),
        est.model_.predict(X_MC, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )
    trained = est.model_.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, trained, strict=True))
    if _is_scikeras(wrappers):
        # scikeras uses the user's object as model_ and trains it in place
        assert est.model_ is user_model
        assert any(
            not np.allclose(a, b)
            for a, b in zip(before, user_model.get_weights(), strict=True)
        )
    else:  # skdeep-only: the user's model is left untouched by fit
        assert est.model_ is not user_model
        for a, b in zip(before, user_model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        assert est.get_params()["model"] is user_model
