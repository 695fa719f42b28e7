"""Deployment: one ONNX graph for a fitted model or pipeline, and Keras formats.

:func:`export_onnx` writes the preprocessing and the network as ONE ONNX
file that onnxruntime runs without TensorFlow. The scikit-learn steps are
converted by skl2onnx; skdeep's estimators and :class:`TabularCleaner` join
skl2onnx through registered converters (``skl2onnx.update_registered_converter``);
the network itself is converted by Keras's own ``model.export(format="onnx")``
and spliced into the skl2onnx graph. ``quantize="int8"`` applies
onnxruntime's dynamic int8 quantization to the result.

:func:`export_network` writes the network alone in Keras's formats (``.keras``,
SavedModel, LiteRT).

The ONNX libraries are an optional extra (``pip install 'skdeep[onnx]'``),
imported only when these functions run.
"""

import json
import os
import tempfile

import numpy as np

from skdeep.deploy.onnx_convert import (
    _check_fitted,
    _convert,
    _is_classifier,
    _split,
    _text_columns,
    _UnsupportedStep,
)
from skdeep.deploy.onnx_quantize import quantize_int8, quantize_int8_weights
from skdeep.deploy.onnx_runtime import OnnxModel, load_onnx, require

__all__ = ["NETWORK_FORMATS", "OnnxModel", "export_network", "export_onnx",
           "load_onnx"]

# skl2onnx and Keras's tf2onnx both support these opsets; 17 is the default.
_DEFAULT_OPSET = 17
_MIN_OPSET, _MAX_OPSET = 13, 18

NETWORK_FORMATS = ("keras", "saved_model", "tflite")
QUANTIZATIONS = (None, "int8", "int8-weights")


def export_onnx(model, path, *, quantize=None, opset=None):
    """Write a fitted model (and its preprocessing) as one ONNX file.

    Parameters
    ----------
    model : fitted skdeep estimator, Pipeline ending in one, or fitted search
        E.g. the pipeline of :func:`make_tabular_pipeline`: ``TabularCleaner``,
        the ``ColumnTransformer`` (imputers, scalers, one-hot encoder) and the
        network all go into the graph.
    path : str or path-like
        The ``.onnx`` file to write.
    quantize : {None, "int8", "int8-weights"}, default=None
        ``"int8"``: onnxruntime's dynamic int8 quantization (int8 weights,
        activations quantized on the fly, integer matrix products).
        ``"int8-weights"``: int8 weights only, dequantized to float32 when
        the graph runs (standard ``DequantizeLinear``), closer to float32.
        Both shrink the network's weights about 4x; see README "Deploying"
        for measured accuracy.
    opset : int, default=None
        ONNX opset of the graph (13 to 18); ``None`` uses 17.

    Returns
    -------
    str
        ``path``.

    Notes
    -----
    The graph's outputs are ``label`` and ``probabilities`` for classifiers
    (as ``predict`` / ``predict_proba``) and ``variable`` for regressors (in
    the target's units). A pipeline beginning with ``TabularCleaner`` takes
    one input per column it keeps, numbers as float32 and categories as
    strings with ``""`` for missing; other models take one float32 matrix
    ``X``. :func:`load_onnx` (onnxruntime only, no TensorFlow) feeds a
    DataFrame for you. Numbers stored as text are not parsed by the graph:
    convert such columns before predicting.

    Examples
    --------
    >>> import skdeep
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = skdeep.MLPClassifier((4,), epochs=2, random_state=0).fit(X, y)
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "iris.onnx")
    >>> skdeep.export_onnx(clf, path) == path
    True
    >>> from skdeep.export import load_onnx
    >>> bool((load_onnx(path).predict(X) == clf.predict(X)).all())
    True
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"quantize must be None, 'int8' or 'int8-weights'; got {quantize!r}. "
            "'int8' quantizes weights and activations (smallest, fastest "
            "matrix products); 'int8-weights' only the weights (closer to "
            "float32).")
    if opset is None:
        opset = _DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not (
            _MIN_OPSET <= opset <= _MAX_OPSET):
        raise ValueError(
            f"opset must be an integer from {_MIN_OPSET} to {_MAX_OPSET} (both "
            f"skl2onnx and Keras's exporter support these); got {opset!r}. "
            f"Leave it as None for {_DEFAULT_OPSET}.")
    path = os.fspath(path)
    steps, network = _split(model)
    _check_fitted(network)
    refusal = getattr(network, "_onnx_refusal", None)
    if refusal is not None and refusal() is not None:
        raise ValueError(refusal())  # a part with no ONNX form, named
    for module in ("onnx", "onnxruntime", "skl2onnx", "tf2onnx"):
        require(module)
    onx, columns = _convert(steps, network, int(opset))
    meta = {
        "skdeep_kind": "classifier" if _is_classifier(network) else "regressor",
        "skdeep_inputs": json.dumps(columns),
        "skdeep_estimator": type(network).__name__,
        "skdeep_quantized": quantize or "none",
    }
    if _is_classifier(network):
        meta["skdeep_classes"] = json.dumps(np.asarray(network.classes_).tolist())
    import skdeep

    meta["skdeep_version"] = skdeep.__version__
    del onx.metadata_props[:]
    for key, value in meta.items():
        entry = onx.metadata_props.add()
        entry.key, entry.value = key, value
    onx.producer_name = "skdeep"
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=directory)
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            fh.write(onx.SerializeToString())
        _verify(model, tmp, steps, network)
        if quantize == "int8":
            quantize_int8(tmp)
        elif quantize == "int8-weights":
            quantize_int8_weights(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# ----------------------------------------------------------------- checking
def _column_categories(steps):
    """{column: categories} from the encoders of the first ColumnTransformer."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    found = {}
    for _, step in steps:
        if not isinstance(step, ColumnTransformer):
            continue
        for _, branch, columns in step.transformers_:
            inner = branch.steps if isinstance(branch, Pipeline) else [(None, branch)]
            for _, sub in inner:
                categories = getattr(sub, "categories_", None)
                if categories is not None:
                    cols = [columns] if isinstance(columns, (str, int)) else columns
                    found.update(zip(cols, categories, strict=False))
                    break
        break
    return found


def _sample(steps, network, rows=16, missing=True, unseen=True):
    """Synthetic rows in the form the model was fitted on: random numbers,
    text (categories seen at fit, an unseen one), missing values."""
    from sklearn.compose import ColumnTransformer

    from skdeep.preprocessing import TabularCleaner

    rng = np.random.RandomState(0)
    first = steps[0][1] if steps else network
    width = int(getattr(first, "n_features_in_", network.n_features_in_))
    names = getattr(first, "feature_names_in_", None)
    if isinstance(first, TabularCleaner):
        text = set(first.categorical_columns_)
    elif isinstance(first, ColumnTransformer):
        text = _text_columns(first)
    else:
        text = set()
    categories = _column_categories(steps)
    columns = {}
    for i in range(width):
        key = names[i] if names is not None else i
        if key in text:
            seen = [c for c in categories.get(key, []) if isinstance(c, str)]
            values = rng.choice([*seen[:8], *(["unseen value"] if unseen or not seen
                                              else [])], rows).astype(object)
            if missing:
                values[rows // 2] = np.nan
        else:
            values = rng.normal(size=rows)
            if missing:
                values[rows // 3] = np.nan
        columns[key] = values
    if names is not None:
        import pandas as pd

        return pd.DataFrame({k: columns[k] for k in names})
    if text:
        return np.column_stack([columns[i] for i in range(width)]).astype(object)
    return np.column_stack([columns[i] for i in range(width)]).astype(np.float32)


def _verify(model, path, steps, network):
    """Run the written graph with onnxruntime on synthetic rows and compare
    with the model's own predictions: a graph that disagrees is never
    written (a converter that silently changes the model, a layer Keras's
    exporter gets wrong)."""
    if hasattr(model, "best_estimator_"):
        model = model.best_estimator_
    # the richest sample the model itself accepts (some refuse missing
    # values or unseen categories)
    for missing, unseen in [(True, True), (False, True), (True, False),
                            (False, False)]:
        X = _sample(steps, network, missing=missing, unseen=unseen)
        try:
            model.predict(X)
            break
        except ValueError:
            continue
    else:
        return  # it accepts none of these synthetic samples: no check
    onnx_model = load_onnx(path)
    if _is_classifier(network):
        expected = np.asarray(model.predict_proba(X), dtype=np.float64)
        got = onnx_model.predict_proba(X)
        worst = float(np.abs(got - expected).max())
        ok = worst <= 1e-4
        if ok and network.target_type_ != "multilabel-indicator":
            # labels, where no two classes tie within the tolerance
            top = np.sort(expected, axis=1)
            clear = (top[:, -1] - top[:, -2]) > 1e-4
            ok = bool(np.array_equal(onnx_model.predict(X)[clear],
                                     np.asarray(model.predict(X))[clear]))
    else:
        expected = np.asarray(model.predict(X), dtype=np.float64)
        got = onnx_model.predict(X)
        scale = max(1.0, float(np.abs(expected).max()))
        worst = float(np.abs(got - expected).max()) / scale
        ok = got.shape == expected.shape and worst <= 1e-4
    if not ok:
        raise _UnsupportedStep(
            f"The ONNX graph of this {type(network).__name__} disagrees with the "
            f"model on test rows (largest difference {worst:.3g}), so it was not "
            "written. A step or layer is converted differently from how it "
            "computes; export the network alone with "
            "skdeep.export.export_network(model, 'net.keras') and report the "
            "model's layers to skdeep.")


# ------------------------------------------------------------ Keras formats
def export_network(model, path, *, format="keras"):
    """Write the fitted network alone in one of Keras's formats.

    Parameters
    ----------
    model : fitted skdeep estimator, Pipeline ending in one, or fitted search
    path : str or path-like
    format : {"keras", "saved_model", "tflite"}, default="keras"
        ``"keras"``: a ``.keras`` file (see :func:`skdeep.persistence.export_keras`);
        ``"saved_model"``: a TensorFlow SavedModel directory (see
        :func:`skdeep.persistence.export_saved_model`); ``"tflite"``: a LiteRT
        (TensorFlow Lite) flat buffer through Keras's ``export(format="litert")``.

    The preprocessing in front of the network is not included: use
    :func:`export_onnx` for the whole pipeline. A regressor's network predicts
    in the target's units, as ``predict`` does (skdeep's regressors train on
    standardised targets; the exported network ends with a frozen layer that
    undoes it), with shape ``(n_samples, n_outputs)``.
    """
    from skdeep.deploy.persistence import (
        export_keras,
        export_saved_model,
        network_in_target_units,
    )

    path = os.fspath(path)
    if format == "keras":
        return export_keras(model, path)
    if format == "saved_model":
        return export_saved_model(model, path)
    if format == "tflite":
        _, network = _split(model)
        _check_fitted(network)
        network_in_target_units(network).export(path, format="litert",
                                                verbose=False)
        return path
    raise ValueError(
        f"format must be one of {list(NETWORK_FORMATS)} (or use export_onnx for "
        f"ONNX); got {format!r}.")
