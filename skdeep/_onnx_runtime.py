"""Run an ONNX file written by :func:`skdeep.export_onnx` with onnxruntime alone.

This module imports only NumPy, pandas and onnxruntime: predicting from an
exported file never loads TensorFlow or Keras (``skdeep predict F.onnx``
relies on it).
"""

import json
import os

import numpy as np

__all__ = ["OnnxModel", "load_onnx", "require"]

EXTRA_HINT = "pip install 'skdeep[onnx]'"


def require(module):
    """Import an optional ONNX dependency, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"ONNX export and prediction need the optional package {module!r}, "
            f"which is not installed ({exc}). Install skdeep's ONNX extra: "
            f"{EXTRA_HINT}"
        ) from exc


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


class OnnxModel:
    """An exported skdeep model or pipeline, run by onnxruntime.

    ``predict`` and ``predict_proba`` accept what the original model
    accepted: a pandas DataFrame (columns matched by name; extra columns are
    ignored) or a 2-D array (images flattened to rows).

    Attributes
    ----------
    kind : {"classifier", "regressor"}
    classes_ : ndarray
        Classifiers only.
    input_columns : list of dict
        One ``{"name", "type"}`` per graph input; ``type`` is ``"number"``
        or ``"text"``.
    """

    def __init__(self, path):
        ort = require("onnxruntime")
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"ONNX file not found: {path}")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            path, options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if "skdeep_kind" not in meta:
            raise ValueError(
                f"{path} is an ONNX file but not one written by "
                "skdeep.export_onnx (no skdeep metadata); run it with "
                "onnxruntime.InferenceSession directly."
            )
        self.kind = meta["skdeep_kind"]
        self.input_columns = json.loads(meta["skdeep_inputs"])
        if "skdeep_classes" in meta:
            self.classes_ = np.asarray(json.loads(meta["skdeep_classes"]))
        self._outputs = [o.name for o in self.session.get_outputs()]
        self._inputs = self.session.get_inputs()

    # ---------------------------------------------------------------- feeding
    def _feed(self, X):
        import pandas as pd

        if len(self._inputs) == 1 and self.input_columns[0]["type"] == "matrix":
            if isinstance(X, pd.DataFrame):
                names = self.input_columns[0].get("columns")
                if names is not None:
                    missing = [c for c in names if c not in X.columns]
                    if missing:
                        raise ValueError(
                            f"The data lacks column(s) {missing[:10]} that the "
                            f"model was fitted with; expected columns: {names}.")
                    X = X[names]
                X = X.to_numpy()
            array = np.asarray(X)
            if array.dtype == object or array.dtype.kind in "USO":
                try:
                    array = array.astype(np.float32)
                except ValueError as exc:
                    raise ValueError(
                        "The exported graph expects numbers; the data holds text "
                        f"({exc}). Convert it to numbers first.") from exc
            array = array.reshape(len(array), -1) if array.ndim != 2 else array
            width = self._inputs[0].shape[1]
            if isinstance(width, int) and array.shape[1] != width:
                raise ValueError(
                    f"The exported model expects rows of {width} values; got "
                    f"{array.shape[1]}. Give the same columns as at fit.")
            return {self._inputs[0].name: array.astype(np.float32)}
        if not isinstance(X, pd.DataFrame):
            array = np.asarray(X, dtype=object)
            if array.ndim != 2 or array.shape[1] != len(self.input_columns):
                raise ValueError(
                    f"The exported pipeline expects a DataFrame with columns "
                    f"{[c['name'] for c in self.input_columns]}; got an array "
                    f"of shape {array.shape}.")
            X = pd.DataFrame(array, columns=[c["name"] for c in self.input_columns])
        missing = [c["name"] for c in self.input_columns if c["name"] not in X.columns]
        if missing:
            raise ValueError(
                f"The data lacks column(s) {missing[:10]} that the exported "
                f"pipeline needs; it needs: {[c['name'] for c in self.input_columns]}.")
        feed = {}
        for spec, graph_input in zip(self.input_columns, self._inputs, strict=True):
            series = X[spec["name"]]
            if spec["type"] == "number":
                if not (pd.api.types.is_numeric_dtype(series)
                        or pd.api.types.is_bool_dtype(series)):
                    try:
                        values = series.astype(np.float32).to_numpy()
                    except (TypeError, ValueError) as exc:
                        raise ValueError(
                            f"Column {spec['name']!r} holds text "
                            f"({str(exc).splitlines()[0]}) but the exported "
                            "graph expects numbers: TabularCleaner's "
                            "text-to-number coercion has no ONNX form. Convert "
                            "the column first, e.g. "
                            f"pd.to_numeric(df[{spec['name']!r}], errors='coerce')."
                        ) from exc
                else:
                    values = series.to_numpy(dtype=np.float32, na_value=np.nan)
                feed[graph_input.name] = values.reshape(-1, 1)
            else:
                # as TabularCleaner does: text as str(value), missing as ""
                # (the graph's imputer reads "" as missing)
                values = np.array(
                    ["" if _is_missing(v) else str(v) for v in series.tolist()],
                    dtype=object)
                feed[graph_input.name] = values.reshape(-1, 1)
        return feed

    def _run(self, X):
        return self.session.run(None, self._feed(X))

    # ------------------------------------------------------------- prediction
    def predict(self, X):
        """Labels (classifiers) or predictions in the target's units."""
        out = self._run(X)[0]
        if self.kind == "classifier" and out.dtype == object:
            return out.astype(str)
        return out

    @property
    def predict_proba(self):
        """Class probabilities, one column per class in ``classes_`` order.

        Classifiers only (``hasattr(model, "predict_proba")`` is False for a
        regressor, as in scikit-learn).
        """
        if self.kind != "classifier":
            raise AttributeError(
                "predict_proba needs a classifier; this exported model is a "
                "regressor. Use predict.")
        return self._predict_proba

    def _predict_proba(self, X):
        return self._run(X)[1]


def load_onnx(path):
    """Open an ONNX file written by :func:`skdeep.export_onnx` for prediction.

    Needs only onnxruntime (``pip install 'skdeep[onnx]'``), not TensorFlow.
    """
    return OnnxModel(path)
