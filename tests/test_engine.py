"""The training engine: one set of training semantics on every path.

skdeep trains a network either in one compiled call (the whole-fit loop of
``skdeep.engine.loop_tf`` / ``loop_jax``) or through ``keras.Model.fit``
(user callbacks, sparse X, networks skdeep cannot name). A user callback
that does nothing sends a fit down the ``keras.Model.fit`` path; everything
else being equal, both paths must train the same way.
"""

import keras
import numpy as np
import pytest

from skdeep import MLPRegressor


class NoOp(keras.callbacks.Callback):
    """A callback that does nothing: it only makes a fit use keras.Model.fit."""


PATHS = {"compiled": None, "keras": [NoOp()]}


@pytest.fixture(scope="module")
def regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = X @ np.array([0.5, -0.2, 0.1]) + 0.1
    return X, y


@pytest.mark.parametrize("path", PATHS)
def test_tol_counts_only_a_decrease_larger_than_tol(regression, path):
    # no epoch can lower the loss by 10: the first epoch is the best, and
    # training stops after patience=2 more, as Keras's EarlyStopping(min_delta=10)
    X, y = regression
    reg = MLPRegressor((4,), early_stopping=False, tol=10.0, patience=2, epochs=30,
                       batch_size=40, random_state=0, callbacks=PATHS[path])
    assert reg.fit(X, y).n_iter_ == 3


@pytest.mark.parametrize("path", PATHS)
def test_early_stopping_stops_when_the_loss_no_longer_improves_by_tol(regression,
                                                                      path):
    # a loss that creeps down by less than tol per epoch is a plateau
    X, y = regression
    reg = MLPRegressor((4,), early_stopping=False, tol=0.5, patience=3, epochs=200,
                       learning_rate=1e-3, batch_size=40, random_state=0,
                       callbacks=PATHS[path]).fit(X, y)
    assert reg.n_iter_ == 4


@pytest.mark.parametrize("path", PATHS)
def test_an_optimizer_instance_keeps_its_own_rate_under_a_schedule(regression, path):
    # SGD(learning_rate=0) never moves the weights, whatever the schedule
    # scales that rate by: every epoch's loss is the same
    X, y = regression
    reg = MLPRegressor((4,), optimizer=keras.optimizers.SGD(learning_rate=0.0),
                       lr_schedule="exponential", early_stopping=False, epochs=3,
                       batch_size=10, random_state=0, callbacks=PATHS[path]).fit(X, y)
    np.testing.assert_allclose(reg.history_["loss"], reg.history_["loss"][0],
                               rtol=1e-6)


@pytest.mark.parametrize("path", PATHS)
def test_a_schedule_scales_the_rate_of_an_optimizer_instance(regression, path):
    X, y = regression
    reg = MLPRegressor((4,), optimizer=keras.optimizers.SGD(learning_rate=0.1),
                       learning_rate=0.5, lr_schedule="exponential", lr_decay=0.5,
                       early_stopping=False, epochs=3, batch_size=10, random_state=0,
                       callbacks=PATHS[path]).fit(X, y)
    np.testing.assert_allclose(reg.history_["learning_rate"],
                               [0.1 * 0.5, 0.1 * 0.5**2, 0.1 * 0.5**3], rtol=1e-5)


def test_an_optimizer_with_its_own_schedule_and_lr_schedule_is_refused(regression):
    X, y = regression
    own = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    reg = MLPRegressor((4,), optimizer=keras.optimizers.SGD(learning_rate=own),
                       lr_schedule="cosine", early_stopping=False, epochs=2)
    with pytest.raises(ValueError, match=r"lr_schedule='cosine' scales the "
                       r"optimizer's learning rate, but the optimizer SGD has a "
                       r"learning-rate schedule of its own.*lr_schedule='constant'"):
        reg.fit(X, y)
    # with lr_schedule="constant" the optimizer's own schedule runs
    reg.set_params(lr_schedule="constant").fit(X, y)
    assert isinstance(reg.model_.optimizer.get_config()["learning_rate"], dict)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("schedule", ["constant", "exponential", "cosine"])
def test_partial_fit_keeps_the_optimizer_state(regression, path, schedule):
    # 40 rows in batches of 10: 4 steps per call
    X, y = regression
    reg = MLPRegressor((4,), lr_schedule=schedule, early_stopping=False,
                       batch_size=10, random_state=0, callbacks=PATHS[path])
    iterations = []
    for _ in range(3):
        reg.partial_fit(X, y)
        iterations.append(int(reg.model_.optimizer.iterations))
    assert iterations == [4, 8, 12]


# ------------------------------------------------------------- equivalence
# Every estimator family, trained once on the compiled loop and once through
# keras.Model.fit (a NoOp callback), must give the same epochs, losses and
# learning rates. Both paths shuffle each epoch with the same stateless op
# keyed by (seed, epoch), but to keep float summation order out of it each
# epoch here is one full batch (batch_size = n_samples): the paths then run
# the same ops on the same rows and agree to float32 rounding.
N = 40
RTOL, ATOL = 1e-5, 1e-6

READY_MADE = ["MLPClassifier", "MLPRegressor", "CNNClassifier", "TransferClassifier",
              "SequenceClassifier", "SequenceRegressor", "TextClassifier",
              "AutoencoderTransformer"]
# TransferClassifier wraps a user's pretrained network, which skdeep cannot
# name for the loop's cache: both of its fits run on keras.Model.fit, and
# the case checks that the engine's rules are the same there too.
KERAS_FIT_ONLY = {"TransferClassifier"}
FAST = dict(batch_size=N, random_state=0, learning_rate=0.05)
SCENARIOS = {
    # (parameters, how to train)
    "early_stopping": (dict(early_stopping=True, validation_fraction=0.25,
                            patience=2, tol=0.03, epochs=10), "fit"),
    "tol": (dict(early_stopping=False, tol=0.04, patience=2, epochs=10), "fit"),
    "plateau": (dict(early_stopping=False, lr_schedule="plateau", lr_decay=0.5,
                     tol=0.04, patience=4, epochs=10), "fit"),
    "exponential": (dict(early_stopping=False, lr_schedule="exponential",
                         lr_decay=0.5, epochs=4), "fit"),
    "warm_start": (dict(early_stopping=False, epochs=2), "warm_start"),
    "partial_fit": (dict(early_stopping=False, lr_schedule="exponential",
                         lr_decay=0.5), "partial_fit"),
}
WRAPPER_SCENARIOS = {
    # the generic wrappers have no early-stopping, tol or schedule parameters
    # (scikeras's API: those are user callbacks, which always run on
    # keras.Model.fit); their own ways to train are compared instead
    "fit": (dict(epochs=3), "fit"),
    "validation_split": (dict(epochs=3, validation_split=0.25), "fit"),
    "warm_start": (dict(epochs=2, warm_start=True), "warm_start"),
    "partial_fit": (dict(), "partial_fit"),
}


@pytest.fixture(scope="module")
def datasets():
    rng = np.random.RandomState(0)
    tabular = rng.normal(size=(N, 4)).astype(np.float32)
    labels = (tabular[:, 0] + 0.5 * tabular[:, 1] > 0).astype(int)
    target = tabular @ np.array([0.5, -0.2, 0.1, 0.3]) + 0.1
    images = rng.uniform(size=(N, 6, 6, 1)).astype(np.float32)
    image_labels = (images[:, :3].mean(axis=(1, 2, 3)) > 0.5).astype(int)
    sequences = rng.normal(size=(N, 5, 2)).astype(np.float32)
    words = np.array(["good", "fine", "bad", "awful", "film", "plot"])
    text_labels = rng.randint(0, 2, N)
    texts = [" ".join(rng.choice(words[[0, 1, 4, 5]] if t else words[2:], 3))
             for t in text_labels]
    base = keras.Sequential([keras.Input((6, 6, 1)),
                             keras.layers.Conv2D(2, 3, kernel_initializer=keras.
                                                 initializers.GlorotUniform(0)),
                             keras.layers.GlobalAveragePooling2D()])
    return {"tabular": (tabular, labels), "target": (tabular, target),
            "images": (images, image_labels), "base": base,
            "sequences": (sequences, (sequences[:, :, 0].sum(1) > 0).astype(int)),
            "sequence_target": (sequences, sequences[:, :, 1].mean(1)),
            "texts": (texts, text_labels)}


def _ready_made(name, data):
    """A tiny estimator of class ``name`` and its (X, y) (y None: unsupervised)."""
    import skdeep

    cls = getattr(skdeep, name)
    if name.startswith("MLP"):
        return cls((3,)), data["tabular" if "Class" in name else "target"]
    if name == "CNNClassifier":
        return cls((2,), dense_layer_sizes=(3,)), data["images"]
    if name == "TransferClassifier":
        return cls(data["base"], head_layer_sizes=(3,), dropout=0.0), data["images"]
    if name.startswith("Sequence"):
        key = "sequences" if "Class" in name else "sequence_target"
        return cls((3,)), data[key]
    if name == "TextClassifier":
        return cls(max_tokens=20, sequence_length=3, embedding_dim=3), data["texts"]
    return cls(2, encoder_layer_sizes=(3,)), (data["tabular"][0], None)


def _train(estimator, X, y, how, classes):
    """Train as ``how`` says; returns the optimizer's step count after each call."""
    args = (X,) if y is None else (X, y)
    steps = []
    if how == "partial_fit":
        for _ in range(3):
            extra = {"classes": classes} if classes is not None else {}
            estimator.partial_fit(*args, **extra)
            steps.append(int(estimator.model_.optimizer.iterations))
        return steps
    estimator.fit(*args)
    steps.append(int(estimator.model_.optimizer.iterations))
    if how == "warm_start":
        params = {"learning_rate": 0.02} if "lr_schedule" in estimator.get_params() \
            else {}
        estimator.set_params(warm_start=True, **params).fit(*args)
        steps.append(int(estimator.model_.optimizer.iterations))
    return steps


def _both_paths(make, X, y, how, classes=None):
    """The estimator trained on the compiled loop and through keras.Model.fit,
    each with its optimizer step counts and whether it ran compiled (then it
    predicts with the loop's shared forward pass, named by ``_network_key``)."""
    fitted = {}
    for path, callbacks in PATHS.items():
        estimator = make(callbacks)
        steps = _train(estimator, X, y, how, classes)
        fitted[path] = (estimator, steps,
                        vars(estimator).get("_network_key") is not None)
    return fitted


def _assert_same_training(fitted):
    (compiled, steps_c, _), (keras_fit, steps_k, used_loop) = (fitted["compiled"],
                                                              fitted["keras"])
    assert not used_loop  # the NoOp callback forces keras.Model.fit
    assert len(compiled.history_["loss"]) == len(keras_fit.history_["loss"])
    assert getattr(compiled, "n_iter_", None) == getattr(keras_fit, "n_iter_", None)
    assert steps_c == steps_k
    assert set(compiled.history_) == set(keras_fit.history_)
    for key, values in keras_fit.history_.items():
        np.testing.assert_allclose(compiled.history_[key], values, rtol=RTOL,
                                   atol=ATOL, err_msg=key)
    np.testing.assert_allclose(
        float(compiled.model_.optimizer.learning_rate),
        float(keras_fit.model_.optimizer.learning_rate), rtol=RTOL)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("name", READY_MADE)
def test_ready_made_estimators_train_alike_on_both_paths(datasets, name, scenario):
    """Same ``n_iter_``, optimizer steps, ``history_`` (losses and, under a
    schedule, ``learning_rate``) and final rate on the compiled loop and on
    keras.Model.fit, within float32 rounding (rtol 1e-5)."""
    params, how = SCENARIOS[scenario]
    estimator, (X, y) = _ready_made(name, datasets)
    classes = np.unique(y) if "Classifier" in name else None

    def make(callbacks):
        return type(estimator)(
            **{**estimator.get_params(), **FAST, **params, "callbacks": callbacks})

    fitted = _both_paths(make, X, y, how, classes)
    assert fitted["compiled"][2] == (name not in KERAS_FIT_ONLY)
    _assert_same_training(fitted)
    history = fitted["compiled"][0].history_
    assert ("learning_rate" in history) == (params.get("lr_schedule", "constant")
                                            != "constant")


@pytest.mark.parametrize("scenario", WRAPPER_SCENARIOS)
@pytest.mark.parametrize("name", ["KerasClassifier", "KerasRegressor"])
def test_generic_wrappers_train_alike_on_both_paths(datasets, name, scenario):
    """As above for the scikeras-style wrappers and a network skdeep compiles."""
    import skdeep

    params, how = WRAPPER_SCENARIOS[scenario]
    classifier = name == "KerasClassifier"
    X, y = datasets["tabular" if classifier else "target"]

    def build():
        init = keras.initializers.GlorotUniform(0)
        return keras.Sequential([
            keras.Input((4,)), keras.layers.Dense(3, "relu", kernel_initializer=init),
            keras.layers.Dense(2 if classifier else 1,
                               "softmax" if classifier else None,
                               kernel_initializer=init)])

    loss = "sparse_categorical_crossentropy" if classifier else "mse"

    def make(callbacks):
        return getattr(skdeep, name)(
            build, loss=loss, optimizer="sgd", optimizer__learning_rate=0.05,
            batch_size=N, random_state=0, verbose=0, callbacks=callbacks, **params)

    fitted = _both_paths(make, X, y, how, np.unique(y) if classifier else None)
    assert fitted["compiled"][2]
    _assert_same_training(fitted)


@pytest.mark.parametrize("early_stopping", [True, False])
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_score_early_stopping_stops_alike_on_both_paths(datasets, name,
                                                        early_stopping):
    """``early_stopping_metric="score"`` (accuracy, R²): the compiled loop
    computes the score in its graph, keras.Model.fit scores ``predict``'s
    output after each epoch; both stop at the same epoch with the same
    history, ``val_score`` on the held-out rows or ``score`` on the training
    rows."""
    estimator, (X, y) = _ready_made(name, datasets)
    params = dict(early_stopping=early_stopping, validation_fraction=0.25,
                  early_stopping_metric="score", patience=2, tol=0.01, epochs=40)

    def make(callbacks):
        return type(estimator)(
            **{**estimator.get_params(), **FAST, **params, "callbacks": callbacks})

    fitted = _both_paths(make, X, y, "fit")
    assert fitted["compiled"][2]  # the score ran in the compiled loop
    _assert_same_training(fitted)
    compiled = fitted["compiled"][0]
    scores = compiled.history_["val_score" if early_stopping else "score"]
    assert len(scores) == compiled.n_iter_ < 40  # it stopped on the score
    # the rule on the recorded scores: an improvement is an increase by more
    # than tol; stop after patience=2 epochs without one
    best, wait, stop = -np.inf, 0, None
    for epoch, score in enumerate(scores, 1):
        best, wait = (score, 0) if score - 0.01 > best else (best, wait + 1)
        if wait >= 2:
            stop = epoch
            break
    assert stop == compiled.n_iter_


@pytest.mark.parametrize("target", ["multiclass", "multilabel", "multioutput"])
def test_score_in_the_compiled_loop_matches_predict_for_every_target(datasets,
                                                                     target):
    """Accuracy of multiclass and multilabel (every label right) targets and
    R² averaged over outputs, with sample weights: the loop's in-graph score
    is the score of ``predict``'s output, epoch by epoch."""
    from skdeep import MLPClassifier

    X, _ = datasets["tabular"]
    targets = {"multiclass": np.digitize(X[:, 0], [-0.5, 0.5]),
               "multilabel": (X[:, :2] > 0).astype(int),
               "multioutput": X[:, :2] @ np.array([[1.0, 0.5], [-0.3, 2.0]]) + 3}
    y = targets[target]
    cls = MLPRegressor if target == "multioutput" else MLPClassifier
    weights = np.linspace(0.5, 2.0, N)

    def make(callbacks):
        return cls((3,), **FAST, early_stopping=True, validation_fraction=0.25,
                   early_stopping_metric="score", patience=3, tol=0.0, epochs=12,
                   callbacks=callbacks)

    fitted = {}
    for path, callbacks in PATHS.items():
        est = make(callbacks).fit(X, y, sample_weight=weights)
        fitted[path] = (est, [], vars(est).get("_network_key") is not None)
    assert fitted["compiled"][2]
    _assert_same_training(fitted)
    assert len(fitted["compiled"][0].history_["val_score"]) >= 2


def test_sparse_X_is_shuffled_like_dense_X_from_the_first_epoch(regression):
    """Batches made in Python (sparse X, keras.Model.fit) follow the same
    epoch-by-epoch shuffle as the ``tf.data`` batches of the same rows in
    dense form, from epoch 0 on (Keras's peek at the data before training
    must not count as an epoch)."""
    import scipy.sparse as sp
    from numpy.testing import assert_allclose

    X, y = regression
    kw = dict(hidden_layer_sizes=(3,), batch_size=8, epochs=3, learning_rate=0.05,
              early_stopping=False, random_state=0, callbacks=[NoOp()])
    dense = MLPRegressor(**kw).fit(X, y)
    sparse = MLPRegressor(**kw).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-5)
    for a, b in zip(dense.model_.get_weights(), sparse.model_.get_weights(),
                    strict=True):
        assert_allclose(b, a, rtol=1e-5, atol=1e-6)
