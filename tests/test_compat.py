"""Models saved by skdeep 0.1.0 (before the package was reorganised) still load
and predict what they predicted when saved.

The files in ``tests/fixtures/legacy_0_1_0`` were written by
``tests/fixtures/make_legacy_models.py`` with the 0.1.0 layout, where the
estimators lived in flat modules (``skdeep.estimators``, ``skdeep.sequence``,
``skdeep.wrappers``, ``skdeep._encoders``, ...).
"""

import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

import skdeep

HERE = Path(__file__).parent / "fixtures" / "legacy_0_1_0"
EXPECTED = dict(np.load(HERE / "expected.npz"))
sys.path.insert(0, str(HERE.parent))
from make_legacy_models import data  # noqa: E402

sys.path.pop(0)


def _inputs(name):
    import pandas as pd

    X, _, _ = data()
    rng = np.random
    if name in ("cnn_classifier", "transfer_classifier"):
        return rng.RandomState(1).rand(24, 6, 6).astype(np.float32)
    if name.startswith("sequence"):
        return rng.RandomState(2).rand(24, 5, 2).astype(np.float32)
    if name == "text_classifier":
        return np.array(["good movie", "bad movie", "great film", "awful film"] * 10)
    if name == "tabular_pipeline":
        return pd.DataFrame({"a": X[:, 0], "b": X[:, 1],
                             "c": np.where(X[:, 2] > 0, "x", "y")})
    return X


def _output(est, name, X):
    if name == "autoencoder":
        return est.transform(X)
    if name in ("mlp_regressor", "sequence_regressor", "keras_regressor"):
        return est.predict(X)
    return est.predict_proba(X)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_joblib_files_of_0_1_0_load_and_predict_the_same(name):
    est = joblib.load(HERE / f"{name}.joblib")
    np.testing.assert_allclose(_output(est, name, _inputs(name)), EXPECTED[name],
                               rtol=1e-5, atol=1e-6)


def test_pickle_and_skdeep_files_of_0_1_0_load():
    with open(HERE / "mlp_classifier.pkl", "rb") as f:
        est = pickle.load(f)
    np.testing.assert_allclose(est.predict_proba(_inputs("mlp_classifier")),
                               EXPECTED["mlp_classifier"], rtol=1e-5, atol=1e-6)
    pipe = skdeep.load(HERE / "tabular_pipeline.skdeep")
    np.testing.assert_allclose(pipe.predict_proba(_inputs("tabular_pipeline")),
                               EXPECTED["tabular_pipeline"], rtol=1e-5, atol=1e-6)


def test_old_files_load_in_a_fresh_process_that_imported_nothing_else():
    """Unpickling alone must find every class by its 0.1.0 path."""
    code = (
        "import joblib, numpy as np, sys\n"
        f"est = joblib.load({str(HERE / 'sequence_regressor.joblib')!r})\n"
        f"enc = joblib.load({str(HERE / 'keras_classifier.joblib')!r})\n"
        "print(type(est).__name__, type(enc).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["SequenceRegressor", "KerasClassifier"]


def test_public_import_paths_of_0_1_0_still_work():
    code = (
        "from skdeep.search import default_space, tune, results_table\n"
        "from skdeep.export import load_onnx, export_onnx, export_network\n"
        "from skdeep.persistence import export_keras, export_saved_model, save, load\n"
        "from skdeep.wrappers import BaseWrapper, KerasClassifier, KerasRegressor\n"
        "from skdeep.tracking import log_history\n"
        "from skdeep.plotting import plot_history\n"
        "from skdeep.estimators import MLPClassifier, CNNClassifier\n"
        "from skdeep.sequence import SequenceClassifier\n"
        "from skdeep.text import TextClassifier\n"
        "from skdeep.autoencoder import AutoencoderTransformer\n"
        "import skdeep.export, skdeep.cli\n"
        "print(skdeep.export.load_onnx is load_onnx, callable(skdeep.cli.main))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"]


def _private_uses(source):
    """Imports of private modules or names of scikit-learn, Keras, TensorFlow
    or skl2onnx, and reads of TensorFlow's ``_functions``, in ``source``."""
    import ast

    deps = ("sklearn", "keras", "tensorflow", "skl2onnx")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            modules, names = [alias.name for alias in node.names], []
        elif isinstance(node, ast.Attribute) and node.attr == "_functions":
            found.append(f"line {node.lineno}: ._functions")
            continue
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] in deps and (
                    any(p.startswith("_") for p in parts)
                    or module.startswith(("keras.src", "tensorflow.python"))
                    or any(n.startswith("_") for n in names)):
                found.append(f"line {node.lineno}: {module} {names}")
    return found


def test_the_private_api_check_finds_what_it_looks_for():
    assert _private_uses("from keras.src.saving import saving_lib")
    assert _private_uses("from sklearn.utils.validation import (\n"
                         "    check_array, _check_sample_weight)")
    assert _private_uses("import tensorflow.python.eager.context")
    assert _private_uses("ops = graph._functions.values()")
    assert not _private_uses("from sklearn.utils.validation import check_array")


def test_private_apis_of_dependencies_are_used_only_in_compat():
    # skdeep/_compat.py holds every private import and attribute of
    # scikit-learn, Keras and TensorFlow, each with a note on when it can go
    root = Path(skdeep.__file__).parent
    found = {str(path.relative_to(root)): uses
             for path in sorted(root.rglob("*.py")) if path.name != "_compat.py"
             for uses in [_private_uses(path.read_text())] if uses}
    assert not found, found
