"""The generic wrappers beyond scikeras: several inputs and outputs, and the
places where skdeep differs from scikeras on purpose (README, "Coming from
scikeras"). Parity with scikeras itself is in ``test_scikeras_api.py``."""

import pickle
import random

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import KerasClassifier, KerasRegressor

QUIET = {"verbose": 0, "random_state": 0}


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(160, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 3] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    return X, y


def _two_inputs(meta):
    wide = keras.Input((2,), name="wide")
    deep = keras.Input((4,), name="deep")
    hidden = keras.layers.Dense(8, activation="relu")(deep)
    merged = keras.layers.Concatenate()([wide, hidden])
    out = keras.layers.Dense(meta["n_classes_"], activation="softmax")(merged)
    return keras.Model({"wide": wide, "deep": deep}, out)


def test_dataframe_column_groups_feed_named_inputs_in_a_search(table):
    X, y = table
    frame = pd.DataFrame(X, columns=list("abcdef"))
    clf = KerasClassifier(
        _two_inputs, input_columns={"wide": ["a", "b"], "deep": ["c", "d", "e", "f"]},
        optimizer="adam", optimizer__learning_rate=0.05, epochs=20, **QUIET)
    search = GridSearchCV(clf, {"batch_size": [16, 32]}, cv=KFold(3)).fit(frame, y)
    assert search.best_score_ > 0.7
    best = search.best_estimator_
    assert best.n_inputs_ == 2 and best.predict(frame.iloc[:5]).shape == (5,)


def test_column_groups_by_position_and_clear_errors(table):
    X, y = table
    clf = KerasClassifier(_two_inputs, input_columns={"wide": [0, 1],
                                                      "deep": [2, 3, 4, 5]},
                          loss="sparse_categorical_crossentropy", epochs=2, **QUIET)
    assert clf.fit(X, y).predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match=r"input_columns\['deep'\] names columns "
                       r"\['zz'\] that X does not have"):
        clf.set_params(input_columns={"wide": ["a"], "deep": ["zz"]}).fit(
            pd.DataFrame(X, columns=list("abcdef")), y)


def _two_heads(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, [
        keras.layers.Dense(n, activation="softmax", name=f"head{i}")(hidden)
        for i, n in enumerate(meta["n_classes_"])])


def test_multiclass_multioutput_target_feeds_one_output_per_column(table):
    X, y = table
    labels = np.array(["low", "mid", "high"])
    Y = np.column_stack([labels[y], np.where(X[:, 2] > 0, "up", "down")])
    clf = KerasClassifier(_two_heads, optimizer="adam", optimizer__learning_rate=0.05,
                          epochs=30, **QUIET).fit(X, Y)
    assert clf.target_type_ == "multiclass-multioutput"
    assert clf.n_outputs_expected_ == 2 and clf.n_classes_ == [3, 2]
    predicted = clf.predict(X)
    assert predicted.shape == Y.shape and set(predicted[:, 1]) <= {"up", "down"}
    assert (predicted == Y).mean() > 0.8
    probas = clf.predict_proba(X)
    assert [p.shape for p in probas] == [(len(X), 3), (len(X), 2)]
    np.testing.assert_allclose(probas[1].sum(axis=1), 1.0, rtol=1e-5)
    # cross-validation slices X and the 2-D y together
    scores = cross_val_score(clf, X, Y, cv=KFold(3),
                             scoring=lambda est, X, Y: (est.predict(X) == Y).mean())
    assert scores.min() > 0.6


def test_regression_columns_feed_one_output_each(table):
    X, _ = table
    Y = np.column_stack([X[:, 0] * 2, X[:, 1] - X[:, 2]])

    def build(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return keras.Model(inputs, [keras.layers.Dense(1, name=n)(inputs)
                                    for n in ("first", "second")])

    reg = KerasRegressor(build, loss="mse", optimizer="adam",
                         optimizer__learning_rate=0.05, epochs=40, **QUIET).fit(X, Y)
    assert reg.predict(X).shape == Y.shape and reg.score(X, Y) > 0.9
    assert reg.predict(X).dtype == np.float64


def _logits(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(meta["n_classes_"])])


def test_logits_networks_still_predict_probabilities(table):
    X, y = table
    clf = KerasClassifier(_logits, loss="sparse_categorical_crossentropy",
                          loss__from_logits=True, epochs=3, **QUIET).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.min() >= 0
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.model_.loss.get_config()["from_logits"] is True


def test_loss_none_picks_the_cross_entropy(table):
    X, y = table
    binary = KerasClassifier(
        lambda meta: keras.Sequential([keras.Input((6,)),
                                       keras.layers.Dense(1, activation="sigmoid")]),
        epochs=1, **QUIET).fit(X, (y > 0).astype(int))
    assert binary.model_.loss == "binary_crossentropy"
    multi = KerasClassifier(lambda meta: keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]),
        epochs=1, **QUIET).fit(X, y)
    assert multi.model_.loss == "sparse_categorical_crossentropy"


def test_a_passed_model_is_copied_with_its_weights_and_never_trained(table):
    X, y = table
    net = keras.Sequential([keras.Input((6,)),
                            keras.layers.Dense(3, activation="softmax")])
    before = [w.copy() for w in net.get_weights()]
    clf = KerasClassifier(net, loss="sparse_categorical_crossentropy", **QUIET)
    # initialize: the pretrained weights predict, untrained
    np.testing.assert_allclose(clf.initialize(X, y).predict_proba(X),
                               net.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    clf.set_params(epochs=3).fit(X, y)
    for a, b in zip(before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert clf.model_ is not net and not net.compiled


def test_unregistered_model_subclass_pickles(table):
    X, y = table

    class Local(keras.Model):  # defined in a function: pickle cannot name it
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.dense(x)

    clf = KerasClassifier(Local(), loss="sparse_categorical_crossentropy", epochs=1,
                          **QUIET).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
    assert type(loaded.model_) is Local


def test_fits_are_reproducible_and_leave_global_generators_alone(table):
    X, y = table

    def build(meta):
        return keras.Sequential([keras.Input((6,)), keras.layers.Dropout(0.3),
                                 keras.layers.Dense(3, activation="softmax")])

    clf = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=3,
                          batch_size=16, **QUIET)
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    first = clf.fit(X, y).predict_proba(X)
    assert random.getstate() == py_state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict_proba(X), first)


def test_defaults_are_scikeras_and_the_estimator_is_a_classifier(table):
    X, y = table
    clf = KerasClassifier(lambda meta: keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]))
    params = clf.get_params()
    assert (params["epochs"], params["optimizer"], params["validation_split"],
            params["batch_size"], params["verbose"]) == (1, "rmsprop", 0.0, None, 1)
    assert is_classifier(clf)
    pipe = make_pipeline(StandardScaler(), clf.set_params(verbose=0)).fit(X, y)
    assert len(pipe[-1].history_["loss"]) == 1
    assert not any(k.startswith("val_") for k in pipe[-1].history_)
    assert isinstance(pipe[-1].model_.optimizer, keras.optimizers.RMSprop)


_NET_MODULE = '''
import keras


class Net(keras.Model):  # not registered with Keras
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.dense(x)
'''


def test_a_network_subclass_pickles_across_processes(table, tmp_path):
    import subprocess
    import sys

    X, y = table
    (tmp_path / "user_nets.py").write_text(_NET_MODULE)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    script = (
        "import pickle, sys, keras, numpy as np\n"
        "from skdeep import KerasClassifier\n"
        "from user_nets import Net\n"
        "X, y = np.load('X.npy'), np.load('y.npy')\n"
        "before = dict(keras.saving.get_custom_objects())\n"
        "if sys.argv[1] == 'save':\n"
        "    clf = KerasClassifier(Net(), loss='sparse_categorical_crossentropy',\n"
        "                          epochs=2, verbose=0, random_state=0).fit(X, y)\n"
        "    pickle.dump(clf, open('clf.pkl', 'wb'))\n"
        "    np.save('proba.npy', clf.predict_proba(X))\n"
        "    assert keras.saving.get_custom_objects() == before\n"
        "else:\n"
        "    clf = pickle.load(open('clf.pkl', 'rb'))\n"
        "    assert type(clf.model_) is Net\n"
        "    np.testing.assert_allclose(clf.predict_proba(X), np.load('proba.npy'))\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    for step in ("save", "load"):
        result = subprocess.run([sys.executable, "-c", script, step], cwd=tmp_path,
                                env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]


def test_optimizer_instances_are_copied_and_schedules_route(table):
    X, y = table
    mine = keras.optimizers.Adam(learning_rate=0.01)

    def build(meta):
        return keras.Sequential([keras.Input((6,)),
                                 keras.layers.Dense(3, activation="softmax")])

    clf = KerasClassifier(build, loss="sparse_categorical_crossentropy",
                          optimizer=mine, epochs=1, **QUIET).fit(X, y)
    assert clf.model_.optimizer is not mine and mine.iterations.numpy() == 0
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.01)
    scheduled = KerasClassifier(
        build, loss="sparse_categorical_crossentropy", optimizer="sgd",
        optimizer__learning_rate=keras.optimizers.schedules.ExponentialDecay,
        optimizer__learning_rate__initial_learning_rate=0.1,
        optimizer__learning_rate__decay_steps=5,
        optimizer__learning_rate__decay_rate=0.5, epochs=1, **QUIET).fit(X, y)
    schedule = scheduled.model_.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
    assert (schedule.initial_learning_rate, schedule.decay_steps) == (0.1, 5)


def test_sparse_X_trains_and_predicts(table):
    import scipy.sparse as sp

    X, y = table
    sparse = sp.csr_matrix(np.where(X > 0.5, X, 0))
    clf = KerasClassifier(lambda meta: keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]),
        loss="sparse_categorical_crossentropy", epochs=2, **QUIET).fit(sparse, y)
    np.testing.assert_allclose(clf.predict_proba(sparse),
                               clf.predict_proba(sparse.toarray()), rtol=1e-5)


@pytest.mark.parametrize("validation_split", [0.0, 0.2])
def test_compiled_loop_trains_exactly_as_keras_fit(table, validation_split):
    # a network skdeep compiles (no metrics, no callbacks) trains in one
    # compiled call; a callback sends the same fit through keras.Model.fit
    X, y = table

    def build(meta):
        return keras.Sequential([keras.Input((6,)),
                                 keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dropout(0.2),
                                 keras.layers.Dense(3, activation="softmax")])

    common = dict(loss="sparse_categorical_crossentropy", optimizer="adam",
                  epochs=4, batch_size=16, validation_split=validation_split, **QUIET)
    looped = KerasClassifier(build, **common).fit(X, y)
    fitted = KerasClassifier(build, callbacks=[keras.callbacks.Callback()],
                             **common).fit(X, y)
    assert looped._network_key is not None and "_network_key" not in vars(fitted)
    assert set(looped.history_) == set(fitted.history_)
    for key, values in fitted.history_.items():
        np.testing.assert_allclose(looped.history_[key], values, rtol=1e-5)
    np.testing.assert_allclose(looped.predict_proba(X), fitted.predict_proba(X),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(looped.predict(X), fitted.predict(X))


def test_networks_that_differ_only_in_config_do_not_share_a_loop(table, monkeypatch):
    # same shapes, other activation: a shared traced loop would train B as A
    X, y = table

    def build(meta, activation="relu"):
        return keras.Sequential([keras.Input((6,)),
                                 keras.layers.Dense(8, activation=activation),
                                 keras.layers.Dense(3, activation="softmax")])

    common = dict(loss="sparse_categorical_crossentropy", epochs=3, **QUIET)
    KerasClassifier(build, **common).fit(X, y)  # A, cached
    reused = KerasClassifier(build, model__activation="tanh", **common).fit(X, y)
    monkeypatch.setenv("SKDEEP_REUSE_NETWORKS", "0")
    fresh = KerasClassifier(build, model__activation="tanh", **common).fit(X, y)
    np.testing.assert_array_equal(reused.predict_proba(X), fresh.predict_proba(X))
    assert reused.history_["loss"] == fresh.history_["loss"]


def test_callbacks_see_every_batch_and_metrics_are_reported(table):
    X, y = table
    batches = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    clf = KerasClassifier(lambda meta: keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
        callbacks=[Count()], epochs=2, batch_size=16, **QUIET).fit(X, y)
    assert len(batches) == 2 * 10  # 160 rows in batches of 16, two epochs
    assert len(clf.history_["accuracy"]) == 2 and clf.model_.steps_per_execution == 1
    # without callbacks, metrics still come from keras.Model.fit
    plain = clf.set_params(callbacks=None).fit(X, y)
    assert len(plain.history_["accuracy"]) == 2 and "_network_key" not in vars(plain)
    assert plain.model_.steps_per_execution > 1  # several batches per Keras call


def test_a_subclass_keras_cannot_rebuild_is_used_as_is_and_refuses_to_pickle(table):
    from skdeep.exceptions import SkdeepWarning

    X, y = table

    class Net(keras.Model):  # constructor argument, no get_config
        def __init__(self, n_classes=2, **kwargs):
            super().__init__(**kwargs)
            self.out = keras.layers.Dense(n_classes, activation="softmax")

        def call(self, x):
            return self.out(x)

    net = Net(n_classes=3)
    with pytest.warns(SkdeepWarning, match="defines no get_config"):
        clf = KerasClassifier(net, loss="sparse_categorical_crossentropy", epochs=1,
                              **QUIET).fit(X, y)
    assert clf.model_ is net and clf.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(TypeError, match=r"Define get_config\(\)"):
        pickle.dumps(clf)


@pytest.mark.parametrize("split", [1.0, 1.5, -0.2, 0.999])
def test_a_validation_split_that_leaves_no_rows_says_so(table, split):
    X, y = table
    clf = KerasClassifier(lambda meta: keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]),
        loss="sparse_categorical_crossentropy", validation_split=split, **QUIET)
    with pytest.raises(ValueError, match=r"leaving no training or no validation "
                       r"rows.*validation_split=0\.2"):
        clf.fit(X, y)


def test_an_optimizer_with_branches_trains_in_the_compiled_loop_as_keras_fit(table):
    # gradient accumulation puts a conditional in the traced loop, which the
    # single-threaded executor cannot run: the loop falls back to TensorFlow's
    # default executor instead of waiting forever
    import threading

    X, y = table

    def build(meta):
        return keras.Sequential([keras.Input((6,)),
                                 keras.layers.Dense(3, activation="softmax")])

    common = dict(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam,
                  optimizer__gradient_accumulation_steps=2, epochs=3, batch_size=16,
                  **QUIET)
    fitted = {}
    worker = threading.Thread(target=lambda: fitted.setdefault(
        "looped", KerasClassifier(build, **common).fit(X, y)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert "looped" in fitted, "the compiled loop did not finish"
    looped = fitted["looped"]
    reference = KerasClassifier(build, callbacks=[keras.callbacks.Callback()],
                                **common).fit(X, y)
    assert looped._network_key is not None and "_network_key" not in vars(reference)
    np.testing.assert_allclose(looped.history_["loss"], reference.history_["loss"],
                               rtol=1e-5)


# ------------------------------------------ partial_fit / warm start inputs
def _small_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(3, activation="softmax")])


_FIX = r"fit a new estimator on the new data"


_REFUSED = {
    "X int64": r"X has dtype int64 \(integer\), but this KerasClassifier was "
               r"fitted on X of dtype float32 \(floating-point\)",
    "X object": r"X has dtype object \(text/object\), but this KerasClassifier "
                r"was fitted on X of dtype float32",
    "y str": r"y has dtype <U\d+ \(text/object\), but this KerasClassifier was "
             r"fitted on y of dtype int64 \(integer\)",
    "y float": r"y has dtype float64 \(floating-point\), but this KerasClassifier "
               r"was fitted on y of dtype int64",
    "y indicator": r"y is 2-D with 3 column\(s\) per sample, but this "
                   r"KerasClassifier was fitted on 1-D \(one value per sample\)",
}


@pytest.mark.parametrize("change", list(_REFUSED))
@pytest.mark.parametrize("continued_by", ["partial_fit", "warm_start"])
def test_a_continued_fit_refuses_inputs_of_another_kind(table, change,
                                                         continued_by):
    X, y = table
    X, y = X[:40], y[:40]
    clf = KerasClassifier(_small_net, warm_start=continued_by == "warm_start",
                          **QUIET)
    clf.partial_fit(X, y) if continued_by == "partial_fit" else clf.fit(X, y)
    changed = {"X int64": (X.astype(np.int64), y),
               "X object": (X.astype(object), y),
               "y str": (X, y.astype(str)),
               "y float": (X, y.astype(np.float64)),
               "y indicator": (X, np.eye(3, dtype=int)[y])}[change]
    weights = clf.model_.get_weights()
    with pytest.raises(ValueError, match=_REFUSED[change] + ".*" + _FIX):
        clf.partial_fit(*changed) if continued_by == "partial_fit" else clf.fit(
            *changed)
    for before, after in zip(weights, clf.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # nothing was trained


def test_a_continued_fit_takes_the_same_kind_of_data_at_another_width(table):
    X, y = table
    X, y = X[:40], y[:40]
    clf = KerasClassifier(_small_net, **QUIET).partial_fit(X, y)
    # float64 after float32 (scikeras raises), int32 after int64 labels
    clf.partial_fit(X.astype(np.float64), y.astype(np.int32))
    clf.partial_fit(pd.DataFrame(X), pd.Series(y))
    assert clf.current_epoch == 3
    reg = KerasRegressor(_regression_net, loss="mse", **QUIET).partial_fit(
        X, X[:, 0].astype(np.float64))
    reg.partial_fit(X, (X[:, 0] > 0).astype(np.int32))  # cast safely to float64
    with pytest.raises(ValueError, match=r"y has dtype object \(text/object\), "
                       r"but this KerasRegressor was fitted on y of dtype float64"):
        reg.partial_fit(X, X[:, 0].astype(str).astype(object))
    assert reg.current_epoch == 2


def _regression_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(1)])


# -------------------------------------------------------- a network's loss
def _net_for(meta):
    if "n_classes_" in meta:
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(meta["n_classes_"],
                                                    activation="softmax")])
    return _regression_net(meta)


def _model_given_as(kind, cls, meta):
    """``model=`` (or a subclass) for each way scikeras takes a network."""
    if kind == "a keras.Model":
        return cls(_net_for(meta))
    if kind == "a build function":
        return cls(_net_for)
    if kind == "a build function that compiles":
        def build(meta, compile_kwargs):
            model = _net_for(meta)
            model.compile(**compile_kwargs)
            return model
        return cls(build)
    if kind == "a keras.Model compiled without a loss":
        model = _net_for(meta)
        model.compile(optimizer="sgd")
        return cls(model)

    class Subclass(cls):
        def _keras_build_fn(self, meta):
            return _net_for(meta)

    return Subclass()


_NO_LOSS = "You must provide a loss or a compiled model"


@pytest.mark.parametrize("loss", [None, "given"])
@pytest.mark.parametrize("kind", ["a keras.Model", "a build function",
                                  "a build function that compiles",
                                  "a keras.Model compiled without a loss",
                                  "subclass _keras_build_fn"])
@pytest.mark.parametrize("cls", [KerasClassifier, KerasRegressor])
def test_a_network_without_a_loss_says_so(table, cls, kind, loss):
    X, y = table
    X = X[:24]
    y = y[:24] if cls is KerasClassifier else X[:, 0]
    meta = ({"n_features_in_": 6, "n_classes_": 3} if cls is KerasClassifier
            else {"n_features_in_": 6})
    est = _model_given_as(kind, cls, meta)
    if loss == "given":
        loss = "sparse_categorical_crossentropy" if cls is KerasClassifier else "mse"
    est.set_params(loss=loss, **QUIET)
    # a classifier picks its cross-entropy when skdeep compiles; a network
    # compiled by the user without a loss (or a regressor without one) cannot fit
    fits = (kind != "a keras.Model compiled without a loss" and (
        loss is not None or (cls is KerasClassifier
                             and kind != "a build function that compiles")))
    if fits:
        est.fit(X, y)
        assert len(est.history_["loss"]) == 1 and np.isfinite(est.history_["loss"][0])
        return
    for method in ("fit", "partial_fit"):
        with pytest.raises(ValueError, match=_NO_LOSS):
            getattr(est, method)(X, y)


# -------------------------------------------- a subclass's own parameters
class MyClassifier(KerasClassifier):
    """As in scikeras's tutorials, with the build method taking its parameter."""

    def __init__(self, hidden_layer_sizes=(100,), **kwargs):
        super().__init__(**kwargs)
        self.hidden_layer_sizes = hidden_layer_sizes

    def _keras_build_fn(self, hidden_layer_sizes, meta, compile_kwargs):
        model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
        for units in hidden_layer_sizes:
            model.add(keras.layers.Dense(units, activation="relu"))
        model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=compile_kwargs["optimizer"])
        return model


def test_a_subclass_parameter_reaches_its_build_method_by_name(table):
    X, y = table
    X, y = X[:60], y[:60]
    clf = MyClassifier(hidden_layer_sizes=(5,), **QUIET).fit(X, y)
    assert [layer.units for layer in clf.model_.layers] == [5, 3]
    copy = clone(clf).set_params(hidden_layer_sizes=(4, 2))
    assert copy.get_params()["hidden_layer_sizes"] == (4, 2)
    assert [layer.units for layer in copy.fit(X, y).model_.layers] == [4, 2, 3]
    search = GridSearchCV(MyClassifier(**QUIET),
                          {"hidden_layer_sizes": [(2,), (3,)]}, cv=2).fit(X, y)
    assert [layer.units for layer in search.best_estimator_.model_.layers] == [
        search.best_params_["hidden_layer_sizes"][0], 3]
    again = pickle.loads(pickle.dumps(clf))
    assert again.hidden_layer_sizes == (5,)
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    again.set_params(hidden_layer_sizes=(2,)).fit(X, y)
    assert again.model_.layers[0].units == 2


def test_subclass_parameters_go_only_to_build_functions_that_name_them(table):
    from sklearn.utils.estimator_checks import check_no_attributes_set_in_init

    X, y = table
    check_no_attributes_set_in_init("MyClassifier", MyClassifier())
    seen = {}

    class WithModel(KerasClassifier):
        def __init__(self, model=None, units=3, **kwargs):
            super().__init__(model=model, **kwargs)
            self.units = units

    def build(meta, units):  # a model= build function names it too
        seen["units"] = units
        return _small_net(meta)

    WithModel(build, units=7, **QUIET).initialize(X, y)
    assert seen == {"units": 7}

    class TakesKwargs(MyClassifier):
        def _keras_build_fn(self, meta, **kwargs):  # scikeras passes it nothing
            seen["kwargs"] = sorted(kwargs)
            return _small_net(meta)

    TakesKwargs(hidden_layer_sizes=(2,), **QUIET).initialize(X, y)
    assert seen["kwargs"] == ["compile_kwargs", "params"]


# ------------------------------------------------------ batch_size=-1 (all rows)
class _CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def test_batch_size_minus_one_is_one_batch_of_all_rows_for_any_input(table):
    # sparse X: the one batch is densified whole (scikeras takes it too);
    # a DataFrame split over named inputs (no single array): all its rows
    import scipy.sparse as sp

    X, y = table
    X, y = np.where(X > 0.5, X, 0)[:40], y[:40]
    common = dict(loss="sparse_categorical_crossentropy", batch_size=-1, epochs=3,
                  **QUIET)
    counter = _CountBatches()
    sparse = KerasClassifier(_small_net, callbacks=[counter], **common).fit(
        sp.csr_matrix(X), y)
    assert counter.batches == 3  # one step per epoch
    dense = KerasClassifier(_small_net, **common).fit(X, y)
    rows = KerasClassifier(_small_net, **dict(common, batch_size=len(X))).fit(X, y)
    np.testing.assert_allclose(sparse.history_["loss"], dense.history_["loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(dense.history_["loss"], rows.history_["loss"],
                               rtol=1e-6)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)),
                               dense.predict_proba(X), rtol=1e-5)
    counter = _CountBatches()
    KerasClassifier(_two_inputs, input_columns={"wide": ["a", "b"],
                                                "deep": ["c", "d", "e", "f"]},
                    callbacks=[counter], **common).fit(
        pd.DataFrame(X, columns=list("abcdef")), y)
    assert counter.batches == 3


def _binary_net(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(4, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))


@pytest.mark.parametrize("labels", [["no", "yes"], [1, 2]])
def test_validation_data_is_encoded_as_the_training_rows(table, labels):
    # validation_data's labels go through the fitted target encoder, as the
    # training labels do: the validation loss of labels "no"/"yes" (or 1/2)
    # is the one of the same fit on labels 0/1
    X, y = table
    y = (y > 0).astype(int)
    named = np.asarray(labels)[y]
    args = {"loss": "sparse_categorical_crossentropy", "epochs": 3, **QUIET}
    plain = KerasClassifier(_binary_net, **args).fit(
        X[:120], y[:120], validation_data=(X[120:], y[120:]))
    clf = KerasClassifier(_binary_net, **args).fit(
        X[:120], named[:120], validation_data=(X[120:], named[120:]))
    np.testing.assert_allclose(clf.history_["val_loss"], plain.history_["val_loss"],
                               rtol=1e-6)
    # routed as a fit parameter, too
    routed = KerasClassifier(_binary_net, fit__validation_data=(X[120:], named[120:]),
                             **args).fit(X[:120], named[:120])
    np.testing.assert_allclose(routed.history_["val_loss"],
                               plain.history_["val_loss"], rtol=1e-6)


def test_validation_targets_already_one_hot_pass_as_they_are(table):
    # scikeras hands validation_data to Keras untouched: one-hot targets for
    # a categorical loss keep working (and labels are one-hot encoded)
    X, y = table
    args = {"loss": "categorical_crossentropy", "epochs": 3, **QUIET}
    labels = KerasClassifier(_small_net, **args).fit(
        X[:120], y[:120], validation_data=(X[120:], y[120:]))
    one_hot = KerasClassifier(_small_net, **args).fit(
        X[:120], y[:120], validation_data=(X[120:], np.eye(3)[y[120:]]))
    np.testing.assert_allclose(one_hot.history_["val_loss"],
                               labels.history_["val_loss"], rtol=1e-6)
