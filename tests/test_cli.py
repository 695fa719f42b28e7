"""The skdeep command, run as a user runs it: a real process, real files."""

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def skdeep(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "skdeep.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=ENV, timeout=timeout)


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    rng = np.random.RandomState(0)
    n = 200
    frame = pd.DataFrame({
        "size": rng.normal(size=n).round(3),
        "colour": rng.choice(["red", "blue"], size=n),
        "weight": rng.normal(size=n).round(3),
    })
    frame["label"] = np.where(frame["size"] + (frame["colour"] == "red") > 0.5,
                              "big", "small")
    path = tmp_path_factory.mktemp("data") / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_help_is_fast_and_does_not_import_tensorflow():
    start = time.perf_counter()
    result = skdeep("--help")
    elapsed = time.perf_counter() - start
    assert result.returncode == 0 and "tune" in result.stdout
    code = ("import sys; from skdeep import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    assert out == "False False"
    assert elapsed < 5


@pytest.mark.slow
def test_tune_predict_info_round_trip(csv_file, tmp_path):
    space = tmp_path / "space.json"
    space.write_text('{"hidden_layer_sizes": [[8], [16]], '
                     '"learning_rate": {"loguniform": [0.003, 0.03]}}')
    model = tmp_path / "model.skdeep"
    result = skdeep("tune", str(csv_file), "--target", "label", "--n-iter", "2",
                    "--cv", "2", "--epochs", "20", "--space", str(space),
                    "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert "Best parameters:" in result.stdout and "model__learning_rate" in \
        result.stdout
    assert "[skdeep] 4/4 fits" in result.stderr
    assert model.exists()

    preds = tmp_path / "preds.csv"
    result = skdeep("predict", str(model), str(csv_file), "--out", str(preds))
    assert result.returncode == 0, result.stderr
    truth = pd.read_csv(csv_file)["label"]
    predicted = pd.read_csv(preds)["prediction"]
    assert len(predicted) == len(truth) and (predicted == truth).mean() > 0.8

    result = skdeep("predict", str(model), str(csv_file), "--proba")
    proba = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(proba.columns) == ["proba_big", "proba_small"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)

    result = skdeep("info", str(model))
    assert result.returncode == 0
    assert "target:     label" in result.stdout and "CV score:" in result.stdout
    assert "keras" in result.stdout and "model__hidden_layer_sizes" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["tune", "missing.csv", "--target", "y"], "data file not found: missing.csv"),
        (["tune", "DATA", "--target", "nope"], "target column 'nope' not in the data"),
        (["tune", "DATA"], "--target COL is required"),
        (["tune"], "give a DATA.csv file and --target COL, or use --demo"),
        (["tune", "BINARY", "--target", "y"], "cannot read"),
        (["predict", "DATA", "DATA"], "is not a skdeep file"),
        (["info", "missing.skdeep"], "model file not found"),
        (["tune", "DATA", "--target", "label", "--space", "missing.json"],
         "space file not found"),
    ],
)
def test_errors_are_one_clear_line(csv_file, tmp_path, args, message):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x00" * 50)
    args = [str(csv_file) if a == "DATA" else str(binary) if a == "BINARY" else a
            for a in args]
    result = skdeep(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines()
             if line.startswith("skdeep: error")]
    assert len(lines) == 1


def _records(store):
    import sqlite3

    if not os.path.exists(store):
        return 0
    try:
        with sqlite3.connect(store, timeout=10) as db:
            return db.execute("SELECT COUNT(*) FROM fits").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.slow
def test_tune_killed_and_rerun_with_store_saves_the_uninterrupted_model(
        csv_file, tmp_path):
    import signal

    import skdeep as sd

    space = tmp_path / "space.json"
    space.write_text('{"hidden_layer_sizes": [[4], [8]], '
                     '"learning_rate": [0.003, 0.03]}')
    args = ["tune", str(csv_file), "--target", "label", "--strategy", "grid",
            "--cv", "2", "--epochs", "20", "--space", str(space), "--quiet"]
    store = tmp_path / "runs" / "s.db"  # --store creates runs/
    killed = tmp_path / "killed.skdeep"
    proc = subprocess.Popen(
        [sys.executable, "-m", "skdeep.cli", *args, "--store", str(store),
         "--out", str(killed)], env=ENV, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 300
    while _records(store) < 3:  # of 8 fits
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < end
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not killed.exists()
    recorded = _records(store)
    result = skdeep(*args[:-1], "--store", str(store), "--out", str(killed))
    assert result.returncode == 0, result.stderr
    assert f"resumed: {recorded} of 8 fits from {store}" in result.stderr
    plain = tmp_path / "plain.skdeep"
    result = skdeep(*args, "--out", str(plain))
    assert result.returncode == 0, result.stderr

    X = pd.read_csv(csv_file).drop(columns=["label"])
    resumed, expected = sd.load(killed), sd.load(plain)
    np.testing.assert_allclose(resumed.predict_proba(X), expected.predict_proba(X),
                               rtol=1e-6)
    from skdeep.deploy.persistence import read_metadata

    meta, expected_meta = read_metadata(killed), read_metadata(plain)
    assert meta["extra"]["best_params"] == expected_meta["extra"]["best_params"]
    np.testing.assert_allclose(meta["extra"]["cv_score"],
                               expected_meta["extra"]["cv_score"])
    # the search also saved its best model next to the store
    np.testing.assert_allclose(
        sd.load(tmp_path / "runs" / "s.best.skdeep").predict_proba(X),
        expected.predict_proba(X), rtol=1e-6)
