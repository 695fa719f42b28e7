"""The skdeep command, run as a user runs it, on real files.

The round trip, ``--help``, the kill-and-resume test and the missing-pyarrow
test run the command as a real process (``python -m skdeep.cli``); the other
tests call its entry point, ``cli.main``, in the test process (each process
would import TensorFlow again: ~5 s).
"""

import contextlib
import io
import os
import re
import subprocess
import sys
import textwrap
import time
import types

import numpy as np
import pandas as pd
import pytest

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def skdeep_process(*args, cwd=None, timeout=600):
    """The command in a new process: exit status, stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "skdeep.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=ENV, timeout=timeout)


def skdeep(*args, cwd=None):
    """The command's entry point, ``cli.main(args)``, in this process (in
    ``cwd``), with what the console script would show: the same exit status,
    stdout and stderr (argparse's errors exit with status 2)."""
    from skdeep import cli

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = cli.main([str(a) for a in args])
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(here)
    return types.SimpleNamespace(returncode=status, stdout=out.getvalue(),
                                 stderr=err.getvalue())


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
    result = skdeep_process("--help")
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
    result = skdeep_process("tune", str(csv_file), "--target", "label", "--n-iter", "2",
                    "--cv", "2", "--epochs", "20", "--space", str(space),
                    "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert "Best parameters:" in result.stdout and "model__learning_rate" in \
        result.stdout
    assert "[skdeep] 4/4 fits" in result.stderr
    assert model.exists()

    # one predict (each starts TensorFlow): labels and probabilities; plain
    # predict is checked by test_predict_proba_also_writes_the_label
    preds = tmp_path / "preds.csv"
    result = skdeep_process("predict", str(model), str(csv_file), "--proba",
                    "--out", str(preds))
    assert result.returncode == 0, result.stderr
    truth = pd.read_csv(csv_file)["label"]
    out = pd.read_csv(preds)
    assert list(out.columns) == ["prediction", "proba_big", "proba_small"]
    assert len(out) == len(truth) and (out["prediction"] == truth).mean() > 0.8
    np.testing.assert_allclose(out[["proba_big", "proba_small"]].sum(axis=1), 1.0,
                               atol=1e-6)

    result = skdeep_process("info", str(model))
    assert result.returncode == 0
    assert "target:     label" in result.stdout and "CV score:" in result.stdout
    assert "keras" in result.stdout and "model__hidden_layer_sizes" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["tune", "missing.csv", "--target", "y"], "data file not found: missing.csv"),
        (["tune", "DATA", "--target", "nope"], "target column 'nope' not in the data"),
        (["tune", "DATA"], "--target COL is required"),
        (["tune"], "give a DATA file (CSV or Parquet) and --target COL, or use "
                   "--demo"),
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
    result = skdeep_process(*args[:-1], "--store", str(store), "--out", str(killed))
    assert result.returncode == 0, result.stderr
    assert f"resumed: {recorded} of 8 fits from {store}" in result.stderr
    # the uninterrupted run, the reference: the same command, in this process
    # (TensorFlow is already imported here)
    from skdeep import cli

    plain = tmp_path / "plain.skdeep"
    assert cli.main([*args, "--out", str(plain)]) == 0

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

def _error_lines(result):
    # TensorFlow may print its own lines on stderr before skdeep's
    return tuple(line for line in result.stderr.splitlines()
                 if line.startswith("skdeep: error"))


@pytest.fixture(scope="module")
def saved_models(csv_file, tmp_path_factory):
    """The same small fitted pipeline as model.skdeep and as model.onnx."""
    import skdeep

    frame = pd.read_csv(csv_file)
    pipe = skdeep.make_tabular_pipeline(
        skdeep.MLPClassifier((4,), epochs=2, random_state=0))
    pipe.fit(frame.drop(columns=["label"]), frame["label"])
    folder = tmp_path_factory.mktemp("models")
    skdeep.save(pipe, folder / "model.skdeep", extra={"target": "label"})
    skdeep.export_onnx(pipe, folder / "model.onnx")
    return folder


@pytest.mark.parametrize("name", ["model.skdeep", "model.onnx"])
def test_predict_names_missing_and_unknown_columns(saved_models, csv_file,
                                                   tmp_path, name):
    # new data (no target) with a column dropped and another renamed: say
    # which, and what to do
    new = tmp_path / "new.csv"
    pd.read_csv(csv_file).drop(columns=["label", "weight"]).rename(
        columns={"size": "Size"}).to_csv(new, index=False)
    result = skdeep("predict", str(saved_models / name), "new.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert _error_lines(result) == (
        "skdeep: error: new.csv lacks columns the model was trained on: "
        "['size', 'weight']; it has columns the model does not know: ['Size']. "
        "Rename or add them.",)

    # only missing: nothing to rename
    pd.read_csv(csv_file).drop(columns=["label", "colour"]).to_csv(new, index=False)
    result = skdeep("predict", str(saved_models / name), "new.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert _error_lines(result) == (
        "skdeep: error: new.csv lacks columns the model was trained on: "
        "['colour']. Add them.",)


@pytest.mark.parametrize("name", ["model.skdeep", "model.onnx"])
def test_predict_proba_also_writes_the_label(saved_models, csv_file, tmp_path,
                                             name):
    # columns in another order, plus one the model does not use: still fine
    new = tmp_path / "new.csv"
    frame = pd.read_csv(csv_file)
    frame[["weight", "label", "colour", "size"]].assign(id=range(len(frame))) \
        .to_csv(new, index=False)
    model = str(saved_models / name)
    result = skdeep("predict", model, str(new), "--proba")
    assert result.returncode == 0, result.stderr
    both = pd.read_csv(io.StringIO(result.stdout))
    assert list(both.columns) == ["prediction", "proba_big", "proba_small"]
    np.testing.assert_allclose(both[["proba_big", "proba_small"]].sum(axis=1), 1.0,
                               atol=1e-5)
    # the label is the one predict writes, and the most probable class
    result = skdeep("predict", model, str(new))
    assert result.returncode == 0, result.stderr
    labels = pd.read_csv(io.StringIO(result.stdout))
    assert list(labels.columns) == ["prediction"]
    assert (both["prediction"] == labels["prediction"]).all()
    likeliest = np.where(both["proba_big"] >= both["proba_small"], "big", "small")
    assert (both["prediction"] == likeliest).all()


# ------------------------------------------------------------------- Parquet
@pytest.fixture(scope="module")
def parquet_folder(csv_file, tmp_path_factory):
    """The CSV's rows as a folder of two Parquet files of 50-row row groups."""
    frame = pd.read_csv(csv_file)
    folder = tmp_path_factory.mktemp("parquet") / "data"
    (folder / "part=b").mkdir(parents=True)
    frame.iloc[:120].to_parquet(folder / "a.parquet", row_group_size=50)
    frame.iloc[120:].to_parquet(folder / "part=b" / "b.parquet", row_group_size=50)
    return folder


def test_predict_streams_parquet_in_chunks(saved_models, csv_file, parquet_folder,
                                           tmp_path):
    # a folder of Parquet files, read 64 rows at a time: the same labels and
    # probabilities as from the CSV, written chunk by chunk to CSV or Parquet
    model = str(saved_models / "model.skdeep")
    expected = skdeep("predict", model, str(csv_file), "--proba")
    assert expected.returncode == 0, expected.stderr
    expected = pd.read_csv(io.StringIO(expected.stdout))
    out = tmp_path / "preds.csv"
    result = skdeep("predict", model, str(parquet_folder), "--proba",
                    "--chunk-size", "64", "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = re.search(r"Wrote 200 predictions to (.*) in (\d+) chunks",
                        result.stdout)
    assert written and written[1] == str(out) and int(written[2]) >= 4
    got = pd.read_csv(out)
    assert list(got.columns) == ["prediction", "proba_big", "proba_small"]
    pd.testing.assert_frame_equal(got, expected, rtol=1e-6)
    out = tmp_path / "preds.parquet"
    result = skdeep("predict", str(saved_models / "model.onnx"),
                    str(parquet_folder / "a.parquet"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    got = pd.read_parquet(out)
    assert list(got.columns) == ["prediction"]
    assert (got["prediction"] == expected["prediction"][:120]).all()


def test_parquet_without_pyarrow_names_the_extra(saved_models, parquet_folder):
    code = textwrap.dedent("""
        import sys

        class Blocked:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pyarrow":
                    raise ImportError("pyarrow is blocked in this test")

        sys.meta_path.insert(0, Blocked())
        from skdeep.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    result = subprocess.run(
        [sys.executable, "-c", code, "predict", str(saved_models / "model.skdeep"),
         str(parquet_folder)], capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 1
    assert _error_lines(result) == (
        "skdeep: error: reading or writing Parquet needs pyarrow, which is not "
        "installed: pip install 'skdeep[parquet]'",)


@pytest.mark.slow
def test_tune_on_a_random_sample_of_a_parquet_folder(parquet_folder, tmp_path):
    model = tmp_path / "model.skdeep"
    result = skdeep("tune", str(parquet_folder), "--target", "label", "--sample",
                    "120", "--n-iter", "1", "--cv", "2", "--epochs", "3", "--quiet",
                    "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert (f"on a random sample of 120 rows of {parquet_folder}: 120 rows, 3 "
            "columns") in result.stdout
    assert model.exists()
    result = skdeep("tune", str(parquet_folder), "--target", "label", "--sample",
                    "0")
    assert _error_lines(result) == (
        "skdeep: error: --sample must be a positive number of rows; got 0",)
