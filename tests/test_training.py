"""Training hyperparameters reach Keras and change training as documented."""

import keras
import numpy as np
import pytest

from skdeep import MLPClassifier
from skdeep.engine.training import make_learning_rate, make_optimizer


@pytest.mark.parametrize("name, cls", [("sgd", "SGD"), ("adam", "Adam"),
                                       ("rmsprop", "RMSprop"), ("adagrad", "Adagrad"),
                                       ("adamw", "AdamW"), ("nadam", "Nadam")])
def test_optimizer_names(blobs, name, cls):
    X, y = blobs
    clf = MLPClassifier((4,), optimizer=name, learning_rate=0.05, momentum=0.5,
                        epochs=1, random_state=0).fit(X, y)
    assert type(clf.model_.optimizer).__name__ == cls
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.05)
    if name == "sgd":
        assert float(clf.model_.optimizer.momentum) == pytest.approx(0.5)


def test_optimizer_instance_is_copied_not_trained(blobs):
    X, y = blobs
    opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    clf = MLPClassifier((4,), optimizer=opt, epochs=2, random_state=0).fit(X, y)
    assert clf.model_.optimizer is not opt
    assert float(clf.model_.optimizer.momentum) == pytest.approx(0.9)
    assert int(opt.iterations) == 0


@pytest.mark.parametrize("schedule, epoch10",
                         [("constant", 0.1), ("exponential", 0.1 * 0.5**10),
                          ("step", 0.1 * 0.5**2), ("cosine", 0.05)])
def test_schedules(schedule, epoch10):
    lr = make_learning_rate(0.1, schedule, 0.5, steps_per_epoch=4, epochs=20)
    # 40 steps = 10 epochs; "step" decays every 20 // 4 = 5 epochs
    value = lr if isinstance(lr, float) else float(lr(40))
    assert value == pytest.approx(epoch10, rel=1e-5)


def test_plateau_schedule_lowers_the_rate(blobs):
    X, y = blobs
    clf = MLPClassifier((4,), lr_schedule="plateau", lr_decay=0.1, patience=2,
                        tol=10.0, epochs=6, learning_rate=0.01, early_stopping=False,
                        random_state=0)
    # tol=10 makes every epoch a plateau; EarlyStopping(patience=2) ends it at 3
    clf.fit(X, y)
    assert float(clf.model_.optimizer.learning_rate) < 0.01


def test_early_stopping_stops_and_holds_out_validation(cancer):
    X, y = cancer
    clf = MLPClassifier((32,), epochs=300, patience=3, learning_rate=0.05,
                        random_state=0).fit(X, y)
    assert "val_loss" in clf.history_
    assert clf.n_iter_ < 300


def test_without_early_stopping_runs_until_training_loss_stalls(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), epochs=7, early_stopping=False, random_state=0)
    clf.fit(X, y)
    assert "val_loss" not in clf.history_ and clf.n_iter_ == 7


def test_user_callbacks_run_and_are_not_mutated(blobs):
    X, y = blobs

    class CountEpochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.count = 0

        def on_epoch_end(self, epoch, logs=None):
            self.count += 1
            logs["counted"] = self.count

    cb = CountEpochs()
    clf = MLPClassifier((4,), epochs=4, early_stopping=False, callbacks=[cb],
                        random_state=0).fit(X, y)
    assert clf.history_["counted"] == [1, 2, 3, 4]
    assert cb.count == 0


def test_make_optimizer_routes_kwargs():
    opt = make_optimizer("adam", 0.01, kwargs={"beta_1": 0.7})
    assert float(opt.beta_1) == pytest.approx(0.7)


@pytest.mark.parametrize("param, value", [("dropout", 0.3), ("batch_norm", True),
                                          ("l1", 1e-3), ("l2", 1e-3),
                                          ("kernel_initializer", "he_normal"),
                                          ("activation", "tanh")])
def test_architecture_parameters_reach_the_network(blobs, param, value):
    X, y = blobs
    clf = MLPClassifier((8, 4), epochs=1, random_state=0, **{param: value}).fit(X, y)
    layers = {type(layer).__name__ for layer in clf.model_.layers}
    dense = [layer for layer in clf.model_.layers if type(layer).__name__ == "Dense"]
    assert [d.units for d in dense] == [8, 4, 3]
    if param == "dropout":
        assert "Dropout" in layers
    elif param == "batch_norm":
        assert "BatchNormalization" in layers
    elif param in ("l1", "l2"):
        assert getattr(dense[0].kernel_regularizer, param) == pytest.approx(1e-3)
    elif param == "kernel_initializer":
        assert type(dense[0].kernel_initializer).__name__ == "HeNormal"
    else:
        assert dense[0].activation.__name__ == "tanh"


class _CountRows(keras.metrics.Metric):
    """Counts rows and positive labels seen in an epoch (train or validation)."""

    def __init__(self, positives, name):
        super().__init__(name=name)
        self.positives = positives
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "float32")
        value = keras.ops.sum(y_true) if self.positives else keras.ops.cast(
            keras.ops.shape(y_true)[0], "float32")
        self.total.assign_add(value)

    def result(self):
        return self.total


def _binary_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_early_stopping_split_is_stratified_and_seeded(seed):
    # 10 positives in 100 rows: a 10% unstratified split could hold out none
    X = np.random.RandomState(0).normal(size=(100, 2)).astype(np.float32)
    y = np.r_[np.ones(10), np.zeros(90)].astype(int)
    clf = MLPClassifier((4,), validation_fraction=0.1, random_state=seed)
    clf._validate_all_params()
    clf._fit_target(y)
    _, validation = clf._split(X, clf._transform_target(y), None, seed, True)
    assert len(validation[1]) == 10 and validation[1].sum() == 1
    again = clf._split(X, clf._transform_target(y), None, seed, True)[1]
    np.testing.assert_array_equal(validation[0], again[0])


def test_generic_validation_split_holds_out_the_last_rows():
    # scikeras's (and keras.Model.fit's) validation_split: the last rows
    from skdeep import KerasClassifier

    X = np.random.RandomState(0).normal(size=(100, 2)).astype(np.float32)
    y = np.r_[np.zeros(90), np.ones(10)].astype(int)
    clf = KerasClassifier(_binary_net, epochs=2, batch_size=100, random_state=0,
                          verbose=0, validation_split=0.1,
                          metrics=[_CountRows(False, "rows"),
                                   _CountRows(True, "positives")])
    history = clf.fit(X, y).history_
    assert history["val_rows"] == [10.0, 10.0]
    assert history["val_positives"] == [10.0, 10.0]


@pytest.mark.parametrize("n_rows, batch_size, early_stopping",
                         [(100, 100, False), (100, 7, False), (100, 32, True),
                          (1100, 11, False), (1019, 16, False)])
def test_an_epoch_is_exactly_one_pass(n_rows, batch_size, early_stopping):
    X = np.random.RandomState(0).normal(size=(n_rows, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier((4,), epochs=2, batch_size=batch_size, tol=0.0, patience=5,
                        early_stopping=early_stopping, random_state=0).fit(X, y)
    n_train = n_rows - (int(np.ceil(0.1 * n_rows)) if early_stopping else 0)
    assert int(clf.model_.optimizer.iterations) == 2 * int(np.ceil(n_train /
                                                                   batch_size))
