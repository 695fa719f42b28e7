"""Run an ONNX file written by :func:`skdeep.export_onnx` with onnxruntime alone.

This module imports only NumPy, pandas and onnxruntime: predicting from an
exported file never loads TensorFlow or Keras (``skdeep predict F.onnx``
relies on it).
"""

import json
import os
import sys

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


def _numbers(column, name, is_frame):
    """A column as float32 (NaN for missing), or a clear error for text."""
    if is_frame and (column.dtype.kind in "biuf" or str(column.dtype) in (
            "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
            "UInt64", "Float32", "Float64", "boolean")):
        # NumPy and nullable pandas dtypes; pd.NA becomes NaN
        return column.to_numpy(dtype=np.float32, na_value=np.nan)
    values = column.to_numpy() if is_frame else np.asarray(column)
    if values.dtype.kind in "biuf":
        return values.astype(np.float32)
    try:
        return np.array([np.nan if _is_missing(v) else float(v) for v in values],
                        dtype=np.float32) if values.dtype == object and all(
            _is_missing(v) or isinstance(v, (int, float, np.number, bool))
            for v in values) else values.astype(np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Column {name!r} holds text ({str(exc).splitlines()[0]}) but the "
            "exported graph expects numbers: TabularCleaner's text-to-number "
            "coercion has no ONNX form. Convert the column first, e.g. "
            f"pd.to_numeric(df[{name!r}], errors='coerce')."
        ) from exc


def _frame_columns(frame, specs):
    """The frame's columns for each graph input; the columns of NumPy
    numeric dtypes converted to float32 in one block (31 columns, 1 row:
    0.37 -> 0.28 ms per call), the others as Series."""
    dtypes = frame.dtypes
    block = [c["name"] for c in specs if c["type"] == "number"
             and getattr(dtypes[c["name"]], "kind", "O") in "biuf"]
    converted = {}
    if block:
        values = frame[block].to_numpy(dtype=np.float32)
        converted = {name: values[:, i] for i, name in enumerate(block)}
    return [converted[c["name"]] if c["name"] in converted else frame[c["name"]]
            for c in specs]


def _texts(column, is_frame):
    """Text as TabularCleaner makes it: ``str(value)``; missing as "", which
    the graph's imputer reads as missing. A real "" is a category unseen at
    fit (export refuses one seen at fit): it becomes NUL, also unseen, so it
    is encoded as all zeros as in scikit-learn instead of being imputed."""
    if is_frame:
        missing = column.isna().to_numpy()
        values = column.to_numpy(dtype=object)
    else:
        values = np.asarray(column, dtype=object)
        missing = np.array([_is_missing(v) for v in values], dtype=bool)
    text = np.array([str(v) or "\0" for v in values], dtype=object)
    text[missing] = ""
    return text


def _is_missing(value):
    if isinstance(value, str):
        return False
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
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
        One per graph input, in the graph's order: ``name`` (the column's
        name; the graph's own input name may differ, as skl2onnx makes names
        unique and ONNX-safe), ``type`` (``"number"``, ``"text"``, or
        ``"matrix"`` for a single float32 input of whole rows), and for
        columns ``position`` (its index among the ``of`` columns given to
        fit).
    """

    def __init__(self, path):
        ort = require("onnxruntime")
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"ONNX file not found: {path}")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # worker threads sleep between calls instead of busy-waiting: a
        # spinning session burnt 42 ms of CPU per idle second here, taken
        # from the rest of the process; latency was unchanged (digits MLP,
        # 1 and 1,000 rows)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
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
        # pandas only when the caller passed a DataFrame (importing it costs
        # a third of a second of cold start)
        pd = sys.modules.get("pandas")
        is_frame = pd is not None and isinstance(X, pd.DataFrame)
        names = [c["name"] for c in self.input_columns]
        if self.input_columns[0]["type"] == "matrix":
            return {self._inputs[0].name: self._matrix(X, is_frame)}
        if is_frame:
            missing = [n for n in names if n not in X.columns]
            if missing:
                raise ValueError(
                    f"The data lacks column(s) {missing[:10]} that the exported "
                    f"pipeline needs; it needs: {names}.")
            columns = _frame_columns(X, self.input_columns)
        else:
            array = np.asarray(X, dtype=object)
            width = self.input_columns[0].get("of", len(names))
            if array.ndim == 2 and array.shape[1] == width:
                # all the columns given to fit: take the kept ones
                columns = [array[:, c["position"]] for c in self.input_columns]
            elif array.ndim == 2 and array.shape[1] == len(names):
                columns = list(array.T)
            else:
                raise ValueError(
                    f"The exported pipeline expects a DataFrame with columns "
                    f"{names}, or a 2-D array with the {width} columns given to "
                    f"fit (or only those {len(names)}, in that order); got an "
                    f"array of shape {array.shape}.")
        feed = {}
        for spec, graph_input, column in zip(self.input_columns, self._inputs,
                                             columns, strict=True):
            if isinstance(column, np.ndarray) and column.dtype == np.float32:
                values = column  # numbers converted in one block
            elif spec["type"] == "number":
                values = _numbers(column, spec["name"], is_frame)
            else:
                values = _texts(column, is_frame)
            feed[graph_input.name] = values.reshape(-1, 1)
        return feed

    def _matrix(self, X, is_frame):
        if is_frame:
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
        if array.dtype.kind not in "biuf":
            try:
                array = array.astype(np.float32)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    "The exported model expects numbers; the data holds "
                    f"text ({str(exc).splitlines()[0]}). Convert it to numbers "
                    "first.") from exc
        if array.ndim == 1:
            raise ValueError(
                f"Expected a 2-D array (rows x features); got shape "
                f"{array.shape}. Reshape a single row with X.reshape(1, -1).")
        array = array.reshape(len(array), -1)
        width = self._inputs[0].shape[1]
        if isinstance(width, int) and array.shape[1] != width:
            raise ValueError(
                f"The exported model expects rows of {width} values; got "
                f"{array.shape[1]}. Give the same columns as at fit.")
        return np.ascontiguousarray(array, dtype=np.float32)

    def _run(self, X):
        return self.session.run(None, self._feed(X))

    # ------------------------------------------------------------- prediction
    def predict(self, X):
        """Labels (classifiers) or predictions in the target's units."""
        out = self._run(X)[0]
        if self.kind == "classifier" and out.ndim == 1:
            # labels in the type of classes_ (the graph holds int64 or text)
            return out.astype(self.classes_.dtype)
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
