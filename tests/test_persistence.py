"""skdeep.save / skdeep.load: metadata, integrity, atomic writes, exports."""

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import joblib
import keras
import numpy as np
import pytest

import skdeep
from skdeep import MLPClassifier, MLPRegressor, load, make_tabular_pipeline, save, tune
from skdeep.exceptions import IntegrityError, VersionMismatchWarning
from skdeep.persistence import export_keras, export_saved_model, read_metadata

FAST = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    return make_tabular_pipeline(MLPClassifier(**FAST)).fit(X, y), X


def test_round_trip_with_metadata(fitted, tmp_path):
    pipe, X = fitted
    meta = save(pipe, tmp_path / "m.skdeep", extra={"target": "species"})
    loaded = load(tmp_path / "m.skdeep")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    on_disk = read_metadata(tmp_path / "m.skdeep")
    assert on_disk == json.loads(json.dumps(meta, default=str))
    versions = on_disk["versions"]
    assert versions["skdeep"] == skdeep.__version__
    assert {"keras", "keras_backend", "scikit-learn", "python"} <= set(versions)
    assert on_disk["estimator"] == "MLPClassifier"
    assert on_disk["extra"] == {"target": "species"}


def test_fitted_search_round_trip(blobs, tmp_path):
    X, y = blobs
    search = tune(MLPClassifier(**FAST), X, y, space={"dropout": [0.0, 0.1]},
                  strategy="grid", cv=2, verbose=0)
    save(search, tmp_path / "s.skdeep")
    meta = read_metadata(tmp_path / "s.skdeep")
    assert meta["best_score"] == pytest.approx(search.best_score_)
    assert set(meta["best_params"]) == {"dropout"}
    np.testing.assert_array_equal(load(tmp_path / "s.skdeep").predict(X),
                                  search.predict(X))


def test_corrupt_file_is_detected(fitted, tmp_path):
    path = tmp_path / "m.skdeep"
    save(fitted[0], path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # flip one byte of the payload
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt: integrity check failed"):
        load(path)


def test_truncated_file_is_detected(fitted, tmp_path):
    path = tmp_path / "m.skdeep"
    save(fitted[0], path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IntegrityError, match="corrupt"):
        load(path)


def test_foreign_files_are_refused_clearly(fitted, tmp_path):
    joblib.dump(fitted[0], tmp_path / "plain.joblib")
    with pytest.raises(IntegrityError, match=r"not a skdeep file.*use joblib\.load"):
        load(tmp_path / "plain.joblib")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(IntegrityError, match="not a skdeep file"):
        load(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match="No such model file"):
        load(tmp_path / "missing.skdeep")


def test_version_mismatch_warns_with_exact_versions(fitted, tmp_path):
    path = tmp_path / "m.skdeep"
    save(fitted[0], path)
    data = path.read_bytes()
    meta = read_metadata(path)
    old = json.dumps(meta).encode()
    meta["versions"]["keras"] = "3.0.0"
    new = json.dumps(meta).encode()
    start = data.rindex(b"{\"format\"")
    length = (len(new)).to_bytes(8, "big")
    path.write_bytes(data[:start] + new + length + b"SKDEEPEND")
    assert len(old) != 0
    with pytest.warns(VersionMismatchWarning,
                      match=rf"keras 3\.0\.0 \(saved\) vs {keras.__version__}"):
        load(path)


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def test_failed_save_keeps_the_previous_file(fitted, tmp_path):
    path = tmp_path / "m.skdeep"
    save(fitted[0], path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="cannot pickle this"):
        save({"model": fitted[0], "bad": _Unpicklable()}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.skdeep"]  # no temporary file left


_SLOW_SAVE = textwrap.dedent("""
    import sys, numpy as np, skdeep
    big = np.random.RandomState(0).bytes(300_000_000)
    print("saving", flush=True)
    skdeep.save({"blob": big}, sys.argv[1], compress=0)
""")


@pytest.mark.slow
def test_killed_mid_save_the_previous_file_survives(fitted, tmp_path):
    path = tmp_path / "m.skdeep"
    save(fitted[0], path)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SAVE, str(path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "saving"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the interrupted save left the old model intact and loadable
    loaded = load(path)
    pipe, X = fitted
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_save_into_missing_folder(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(fitted[0], tmp_path / "nope" / "m.skdeep")


def test_export_keras_is_loadable_in_safe_mode(fitted, tmp_path):
    pipe, X = fitted
    path = export_keras(pipe, str(tmp_path / "net.keras"))
    net = keras.saving.load_model(path, safe_mode=True)
    features = pipe[:-1].transform(X)
    np.testing.assert_allclose(net.predict(features, verbose=0),
                               pipe[-1].model_.predict(features, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"writes a \.keras file"):
        export_keras(pipe, str(tmp_path / "net.h5"))
    with pytest.raises(ValueError, match="needs a fitted skdeep estimator"):
        export_keras(MLPRegressor(), str(tmp_path / "x.keras"))


@pytest.mark.slow
def test_export_saved_model_serves(fitted, tmp_path):
    tf = pytest.importorskip("tensorflow")
    pipe, X = fitted
    export_saved_model(pipe, str(tmp_path / "served"))
    served = tf.saved_model.load(str(tmp_path / "served"))
    features = pipe[:-1].transform(X).astype(np.float32)
    out = served.serve(features).numpy()
    np.testing.assert_allclose(out, pipe.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_plain_pickle_still_works(fitted):
    pipe, X = fitted
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pipe)).predict(X),
                                  pipe.predict(X))


def test_saved_files_get_the_usual_mode(fitted, tmp_path):
    pipe, _ = fitted
    old = os.umask(0o022)
    try:
        save(pipe, tmp_path / "new.skdeep")
        joblib.dump(pipe, tmp_path / "reference.joblib")
    finally:
        os.umask(old)
    mode = os.stat(tmp_path / "new.skdeep").st_mode & 0o777
    assert mode == os.stat(tmp_path / "reference.joblib").st_mode & 0o777 == 0o644
    os.chmod(tmp_path / "new.skdeep", 0o600)  # a file the user locked down
    save(pipe, tmp_path / "new.skdeep")
    assert os.stat(tmp_path / "new.skdeep").st_mode & 0o777 == 0o600


def test_exported_regressor_network_predicts_what_the_pipeline_predicts(blobs,
                                                                         tmp_path):
    tf = pytest.importorskip("tensorflow")
    X, _ = blobs
    y = 500.0 + 80.0 * X[:, 0]  # far from the standardised target the net learns
    pipe = make_tabular_pipeline(MLPRegressor(**FAST)).fit(X, y)
    features = pipe[:-1].transform(X).astype(np.float32)
    net = keras.saving.load_model(export_keras(pipe, str(tmp_path / "r.keras")),
                                  safe_mode=True)
    np.testing.assert_allclose(net.predict(features, verbose=0).ravel(),
                               pipe.predict(X), rtol=1e-5)
    served = tf.saved_model.load(export_saved_model(pipe, str(tmp_path / "r")))
    np.testing.assert_allclose(served.serve(features).numpy().ravel(),
                               pipe.predict(X), rtol=1e-5)


def test_estimators_fitted_from_a_memmap_or_a_dataset_round_trip(streamed_fits,
                                                                  tmp_path):
    fits, X, Xm = streamed_fits
    for name, est in fits.items():
        save(est, tmp_path / f"{name}.skdeep")
        loaded = load(tmp_path / f"{name}.skdeep")
        np.testing.assert_array_equal(loaded.predict(X), est.predict(X), err_msg=name)
        np.testing.assert_array_equal(loaded.predict(Xm), est.predict(X),
                                      err_msg=name)
        if hasattr(est, "predict_proba"):
            np.testing.assert_array_equal(loaded.predict_proba(X),
                                          est.predict_proba(X), err_msg=name)
