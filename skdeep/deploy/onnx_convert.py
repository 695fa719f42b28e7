"""Conversion of fitted pipelines to ONNX: the network and skdeep's own steps
as skl2onnx operators (used by :func:`skdeep.deploy.export.export_onnx`)."""


import os
import tempfile
import warnings

import numpy as np

from skdeep._compat import sklearn_converters

# skl2onnx and Keras's tf2onnx both support these opsets; 17 is the default.
_DEFAULT_OPSET = 17
_MIN_OPSET, _MAX_OPSET = 13, 18

NETWORK_FORMATS = ("keras", "saved_model", "tflite")
QUANTIZATIONS = (None, "int8", "int8-weights")


class _UnsupportedStep(ValueError):
    """A pipeline step with no ONNX form."""


# ----------------------------------------------------------------- unpacking
def _split(model):
    """``(preprocessing_steps, network)`` from an estimator, pipeline or
    fitted search."""
    from sklearn.pipeline import Pipeline

    from skdeep.estimators.base import is_network_estimator

    if hasattr(model, "best_estimator_"):
        model = model.best_estimator_
    if is_network_estimator(model):
        return [], model
    if isinstance(model, Pipeline):
        steps = [(name, step) for name, step in model.steps[:-1]
                 if step is not None and step != "passthrough"]
        last = model.steps[-1][1]
        if is_network_estimator(last):
            return steps, last
        raise TypeError(
            f"export_onnx needs a pipeline that ends in a skdeep estimator; its "
            f"last step {model.steps[-1][0]!r} is a {type(last).__name__}. "
            "Export scikit-learn-only pipelines with skl2onnx.to_onnx directly.")
    raise TypeError(
        f"export_onnx expects a fitted skdeep estimator (MLPClassifier, "
        f"MLPRegressor, CNNClassifier, ...) or a fitted Pipeline ending in one; "
        f"got {type(model).__name__}.")


def _check_fitted(network):
    if not hasattr(network, "model_"):
        from skdeep.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(network).__name__} is not fitted yet: call fit before "
            "exporting it.")


def _is_classifier(network):
    return hasattr(network, "classes_")


# ---------------------------------------------------------- network -> ONNX
def _keras_onnx(network, opset):
    """The Keras network as an ``onnx.ModelProto``, by Keras's own exporter."""
    import onnx

    model = network.model_
    with tempfile.TemporaryDirectory(prefix="skdeep-onnx-") as tmp, \
            warnings.catch_warnings():
        # Keras's tf2onnx shim probes the removed numpy.object alias
        warnings.simplefilter("ignore", FutureWarning)
        path = os.path.join(tmp, "network.onnx")
        try:
            try:
                model.export(path, format="onnx", verbose=False,
                             opset_version=opset)
            except ValueError as exc:
                if "never called" not in str(exc):
                    raise
                # a network restored from a file has not been called yet: one
                # call on zeros builds its traced signature
                shape = [1, *(int(d) for d in model.inputs[0].shape[1:])]
                model(np.zeros(shape, dtype=np.float32))
                model.export(path, format="onnx", verbose=False,
                             opset_version=opset)
        except Exception as exc:
            raise _UnsupportedStep(
                f"Keras could not export {type(network).__name__}'s network to "
                f"ONNX: {type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                ". Export the network alone in a Keras format instead: "
                "skdeep.export.export_network(model, 'net.keras').") from exc
        return onnx.load(path)


def _from_logits(network):
    from skdeep.engine.keras_objects import from_logits

    return from_logits(getattr(network.model_, "loss", None))


def _labels_tensor(classes):
    """Classes as an ONNX element type and a flat list of values."""
    from onnx import TensorProto

    classes = np.asarray(classes)
    if classes.dtype.kind in "US" or classes.dtype == object:
        return TensorProto.STRING, [str(c).encode() for c in classes]
    if classes.dtype.kind in "iu":
        return TensorProto.INT64, classes.astype(np.int64).tolist()
    if classes.dtype.kind == "b":
        return TensorProto.INT64, classes.astype(np.int64).tolist()
    if classes.dtype.kind == "f":
        return TensorProto.DOUBLE, classes.astype(np.float64).tolist()
    raise _UnsupportedStep(
        f"export_onnx cannot write class labels of dtype {classes.dtype}; refit "
        "with integer or string labels.")


def _parse_network(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser: one operator, outputs (label, probabilities) or
    (variable,); no ZipMap, so probabilities stay a plain tensor."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    operator = scope.declare_local_operator(_alias(type(model)), model)
    operator.inputs = inputs
    if _is_classifier(model):
        multilabel = model.target_type_ == "multilabel-indicator"
        if multilabel:
            label_type = Int64TensorType([None, len(model.classes_)])
        else:
            kind, _ = _labels_tensor(model.classes_)
            label_type = {TensorProto.STRING: StringTensorType,
                          TensorProto.INT64: Int64TensorType,
                          TensorProto.DOUBLE: DoubleTensorType}[kind]([None])
        operator.outputs.append(scope.declare_local_variable("label", label_type))
        operator.outputs.append(scope.declare_local_variable(
            "probabilities", FloatTensorType([None, _n_proba(model)])))
    else:
        shape = [None] if _y_ndim(model) == 1 else [
            None, int(model.n_outputs_)]
        operator.outputs.append(
            scope.declare_local_variable("variable", DoubleTensorType(shape)))
    return operator.outputs


def _y_ndim(network):
    """Dimensions of the y a regressor was fitted on (and predicts): the
    ready-made estimators keep it as ``_y_ndim``, the generic wrappers as
    ``y_ndim_`` (scikeras's name)."""
    ndim = getattr(network, "_y_ndim", None)
    return ndim if ndim is not None else getattr(network, "y_ndim_", 2)


def _n_proba(network):
    if network.target_type_ in ("binary", "multiclass"):
        return max(2, len(network.classes_))
    return len(network.classes_)


def _alias(cls):
    return f"Skdeep{cls.__name__}"


def _convert_network(scope, operator, container):
    """skl2onnx converter: Keras's ONNX graph of the network, spliced in,
    then the same post-processing as skdeep's predict / predict_proba."""
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx.common.data_types import FloatTensorType

    network = operator.raw_operator
    graph = _keras_onnx(network, container.target_opset).graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise _UnsupportedStep(
            f"export_onnx handles networks with one input and one output; "
            f"{type(network).__name__}.model_ has {len(graph.input)} and "
            f"{len(graph.output)}. Export the network alone with "
            "skdeep.export_network(model, 'net.keras').")

    def fresh(name):
        return scope.get_unique_variable_name(name)

    # network input: float32 rows, reshaped to the network's input shape for
    # image (and other N-d) networks, as skdeep does before predicting
    x = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, FloatTensorType):
        cast = fresh("features_f32")
        container.add_node("Cast", [x], [cast], to=TensorProto.FLOAT,
                           name=fresh("Cast"))
        x = cast
    sample_shape = tuple(network.model_.inputs[0].shape[1:])
    if len(sample_shape) > 1:
        if any(d is None for d in sample_shape):
            raise _UnsupportedStep(
                f"export_onnx needs a fixed input shape; {type(network).__name__}"
                f"'s network takes samples of shape {sample_shape}. Export the "
                "network alone with skdeep.export.export_network(model, "
                "'net.keras').")
        shape_name = fresh("sample_shape")
        container.add_initializer(shape_name, TensorProto.INT64,
                                  [len(sample_shape) + 1],
                                  [-1, *(int(d) for d in sample_shape)])
        samples = fresh("samples")
        container.add_node("Reshape", [x, shape_name], [samples],
                           name=fresh("Reshape"))
        x = samples

    # splice the Keras graph: every value gets a name unique in this scope
    renamed = {graph.input[0].name: x}
    for init in graph.initializer:
        renamed[init.name] = fresh(init.name)
        array = numpy_helper.to_array(init)
        container.add_initializer(
            renamed[init.name], init.data_type, list(array.shape),
            numpy_helper.from_array(array, renamed[init.name]))
    for node in graph.node:
        if any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute):
            raise _UnsupportedStep(
                f"export_onnx cannot splice the control-flow node {node.op_type} "
                "that Keras's exporter produced for this network; export the "
                "network alone with skdeep.export_network(model, 'net.keras').")
        for out in node.output:
            if out:  # "" is an omitted optional output
                renamed[out] = fresh(out)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        for key, value in attrs.items():
            if isinstance(value, bytes):
                attrs[key] = value.decode()
            elif isinstance(value, list) and value and isinstance(value[0], bytes):
                attrs[key] = [v.decode() for v in value]
        container.add_node(
            node.op_type, [renamed[i] if i else "" for i in node.input],
            [renamed[o] if o else "" for o in node.output], op_domain=node.domain,
            op_version=_op_version(node.domain, container), name=fresh(
                node.op_type), **attrs)
    raw = renamed[graph.output[0].name]

    if _is_classifier(network):
        _classifier_outputs(network, raw, operator, container, fresh)
    else:
        _regressor_output(network, raw, operator, container, fresh)


def _op_version(domain, container):
    if domain in ("", "ai.onnx"):
        return container.target_opset
    return None


def _const(container, name, array, onnx_type):
    array = np.asarray(array)
    container.add_initializer(name, onnx_type, list(array.shape),
                              array.ravel().tolist())
    return name


def _classifier_outputs(network, raw, operator, container, fresh):
    from onnx import TensorProto

    label_out = operator.outputs[0].full_name
    proba_out = operator.outputs[1].full_name
    logits = _from_logits(network)
    multilabel = network.target_type_ == "multilabel-indicator"
    width = int(network.model_.outputs[0].shape[-1])
    if multilabel or width == 1:
        p = raw
        if logits:
            p = fresh("sigmoid")
            container.add_node("Sigmoid", [raw], [p], name=fresh("Sigmoid"))
        clipped = fresh("p_clipped")
        container.add_node(
            "Clip", [p, _const(container, fresh("zero"), np.float32(0),
                               TensorProto.FLOAT),
                     _const(container, fresh("one"), np.float32(1),
                            TensorProto.FLOAT)],
            [clipped if not multilabel else proba_out], name=fresh("Clip"))
        if multilabel:
            # skdeep: labels = proba >= 0.5, as integers
            half = _const(container, fresh("half"), np.float32(0.5), TensorProto.FLOAT)
            ge = fresh("ge_half")
            container.add_node("GreaterOrEqual", [proba_out, half], [ge],
                               name=fresh("GreaterOrEqual"))
            container.add_node("Cast", [ge], [label_out], to=TensorProto.INT64,
                               name=fresh("Cast"))
            return
        one = _const(container, fresh("one"), np.float32(1), TensorProto.FLOAT)
        complement = fresh("one_minus_p")
        container.add_node("Sub", [one, clipped], [complement], name=fresh("Sub"))
        container.add_node("Concat", [complement, clipped], [proba_out], axis=1,
                           name=fresh("Concat"))
    else:
        scores = raw
        if logits:
            scores = fresh("softmax")
            container.add_node("Softmax", [raw], [scores], axis=-1,
                               name=fresh("Softmax"))
        # skdeep: clip at 0, divide by the row sum
        positive = fresh("p_positive")
        container.add_node(
            "Clip", [scores, _const(container, fresh("zero"), np.float32(0),
                                    TensorProto.FLOAT)], [positive],
            name=fresh("Clip"))
        total = fresh("p_total")
        axes = _const(container, fresh("axes"), np.array([1], dtype=np.int64),
                      TensorProto.INT64)
        container.add_node("ReduceSum", [positive, axes], [total], keepdims=1,
                           name=fresh("ReduceSum"))
        container.add_node("Div", [positive, total], [proba_out], name=fresh("Div"))
    # label = classes_[argmax(proba)] (first maximum, as numpy.argmax)
    index = fresh("argmax")
    container.add_node("ArgMax", [proba_out], [index], axis=1, keepdims=0,
                       select_last_index=0, name=fresh("ArgMax"))
    kind, values = _labels_tensor(network.classes_)
    classes = fresh("classes")
    container.add_initializer(classes, kind, [len(values)], values)
    container.add_node("Gather", [classes, index], [label_out], axis=0,
                       name=fresh("Gather"))


def _regressor_output(network, raw, operator, container, fresh):
    from onnx import TensorProto

    out = operator.outputs[0].full_name
    # skdeep standardises y while training: prediction = raw * scale + mean,
    # done in float64 like skdeep's predict
    as_double = fresh("raw_f64")
    container.add_node("Cast", [raw], [as_double], to=TensorProto.DOUBLE,
                       name=fresh("Cast"))
    width = int(network.model_.outputs[0].shape[-1])
    scale = np.broadcast_to(np.asarray(getattr(network, "_y_scale", 1.0),
                                       dtype=np.float64), (width,))
    mean = np.broadcast_to(np.asarray(getattr(network, "_y_mean", 0.0),
                                      dtype=np.float64), (width,))
    scaled = fresh("scaled")
    container.add_node("Mul", [as_double, _const(container, fresh("y_scale"), scale,
                                                  TensorProto.DOUBLE)],
                       [scaled], name=fresh("Mul"))
    if _y_ndim(network) == 1:
        shifted = fresh("shifted")
        container.add_node("Add", [scaled, _const(container, fresh("y_mean"), mean,
                                                   TensorProto.DOUBLE)],
                           [shifted], name=fresh("Add"))
        flat = _const(container, fresh("flat"), np.array([-1], dtype=np.int64),
                      TensorProto.INT64)
        container.add_node("Reshape", [shifted, flat], [out], name=fresh("Reshape"))
    else:
        container.add_node("Add", [scaled, _const(container, fresh("y_mean"), mean,
                                                  TensorProto.DOUBLE)],
                           [out], name=fresh("Add"))


# ------------------------------------------------------ TabularCleaner -> ONNX
def _parse_cleaner(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser for TabularCleaner: one output per kept column, named
    like the column, so a following ColumnTransformer finds its columns."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    operator = scope.declare_local_operator(_alias(type(model)), model)
    operator.inputs = inputs
    for column in model.get_feature_names_out(dtype=object):
        kind = FloatTensorType if column in model.numeric_columns_ else \
            StringTensorType
        operator.outputs.append(
            scope.declare_local_variable(str(column), kind([None, 1])))
    return operator.outputs


def _convert_cleaner(scope, operator, container):
    """inf -> NaN on numeric columns; text columns pass through. The graph's
    inputs are already one typed column each (see ``_graph_inputs``):
    numbers stored as text are rejected when the data is fed, because ONNX
    has no forgiving text-to-number parse (unparseable text must become NaN,
    as in TabularCleaner)."""
    from onnx import TensorProto

    cleaner = operator.raw_operator
    by_name = {v.raw_name: v.full_name for v in operator.inputs}
    for column, out in zip(cleaner.get_feature_names_out(dtype=object),
                           operator.outputs, strict=True):
        source = by_name[_input_name(column)]
        if column in cleaner.numeric_columns_:
            is_inf = scope.get_unique_variable_name("is_inf")
            container.add_node("IsInf", [source], [is_inf],
                               name=scope.get_unique_operator_name("IsInf"))
            nan = scope.get_unique_variable_name("nan")
            container.add_initializer(nan, TensorProto.FLOAT, [], [np.nan])
            container.add_node("Where", [is_inf, nan, source], [out.full_name],
                               name=scope.get_unique_operator_name("Where"))
        else:
            container.add_node("Identity", [source], [out.full_name],
                               name=scope.get_unique_operator_name("Identity"))


def _input_name(column):
    return column if isinstance(column, str) else f"x{column}"


# --------------------------------------------------------------- graph inputs
def _graph_inputs(steps, network):
    """skl2onnx initial types and their description for the runtime.

    A pipeline that starts with TabularCleaner takes one input per column it
    keeps (numbers as float, categories as text); one that starts with a
    ColumnTransformer on named columns takes one input per column (text where
    an encoder learnt text categories); anything else takes one float matrix.
    """
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer

    from skdeep.preprocessing import TabularCleaner

    first = steps[0][1] if steps else network
    if isinstance(first, TabularCleaner):
        names = getattr(first, "feature_names_in_", None)
        order = list(names) if names is not None else list(range(
            first.n_features_in_))
        specs = []
        for column in first.get_feature_names_out(dtype=object):
            numeric = column in first.numeric_columns_
            specs.append((_input_name(column), "number" if numeric else "text",
                          order.index(column)))
    elif isinstance(first, ColumnTransformer) and hasattr(first, "feature_names_in_"):
        text = _text_columns(first)
        specs = [(str(c), "text" if c in text else "number", i)
                 for i, c in enumerate(first.feature_names_in_)]
    else:
        width = int(getattr(first, "n_features_in_", network.n_features_in_))
        names = getattr(first, "feature_names_in_", None)
        column = {"name": "X", "type": "matrix"}
        if names is not None:
            column["columns"] = [str(c) for c in names]
        return [("X", FloatTensorType([None, width]))], [column]
    initial = [(name, (FloatTensorType if kind == "number" else StringTensorType)(
        [None, 1])) for name, kind, _ in specs]
    # position: the column's index in the data given to fit (for arrays)
    return initial, [{"name": name, "type": kind, "position": position,
                      "of": int(first.n_features_in_)}
                     for name, kind, position in specs]


def _text_columns(transformer):
    """Columns of a ColumnTransformer that go to an encoder with text
    categories."""
    from sklearn.pipeline import Pipeline

    text = set()
    for _, step, columns in transformer.transformers_:
        inner = step.steps if isinstance(step, Pipeline) else [(None, step)]
        for _, sub in inner:
            categories = getattr(sub, "categories_", None)
            if categories and any(np.asarray(c).dtype.kind in "OUS"
                                  for c in categories):
                cols = [columns] if isinstance(columns, (str, int)) else columns
                text.update(cols)
    return text


# ------------------------------------------------------------- missing text
class _TextImputersReadEmptyAsMissing:
    """While converting, text SimpleImputers whose missing value is NaN look
    for "" instead.

    skl2onnx converts a text imputer only when its missing value is a string
    (ONNX text tensors hold no NaN); the runtime feeds missing text as "".
    The imputers' ``missing_values`` are restored on exit.
    """

    def __init__(self, steps):
        from sklearn.impute import SimpleImputer

        self._patched = []
        for imputer in _walk(steps):
            if (isinstance(imputer, SimpleImputer)
                    and isinstance(imputer.missing_values, float)
                    and np.isnan(imputer.missing_values)
                    and hasattr(imputer, "statistics_")  # unfitted: no columns
                    and np.asarray(imputer.statistics_).dtype == object):
                self._patched.append(imputer)
        for step in _walk(steps):
            for categories in getattr(step, "categories_", None) or []:
                if any(isinstance(c, str) and c == "" for c in categories):
                    raise _UnsupportedStep(
                        f"{type(step).__name__} learnt the empty text '' as a "
                        "category, but an ONNX graph holds missing text as ''. "
                        "Replace empty strings before fitting (e.g. "
                        "df[col].replace('', 'empty')) and refit, then export.")

    def __enter__(self):
        for imputer in self._patched:
            imputer.missing_values = ""
        return self

    def __exit__(self, *exc):
        for imputer in self._patched:
            imputer.missing_values = np.nan


def _walk(steps):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    for _, step in steps:
        yield step
        if isinstance(step, Pipeline):
            yield from _walk(step.steps)
        elif isinstance(step, ColumnTransformer):
            yield from _walk([(n, t) for n, t, _ in step.transformers_
                              if not isinstance(t, str)])
        elif isinstance(step, FeatureUnion):
            yield from _walk(step.transformer_list)


# ----------------------------------------------------------------- the export
def _register(network):
    from skl2onnx import update_registered_converter

    from skdeep.preprocessing import TabularCleaner

    update_registered_converter(
        type(network), _alias(type(network)), _no_shapes, _convert_network,
        parser=_parse_network, overwrite=True)
    update_registered_converter(
        TabularCleaner, _alias(TabularCleaner), _no_shapes, _convert_cleaner,
        parser=_parse_cleaner, overwrite=True)


def _no_shapes(operator):
    """Types and shapes are declared by the parsers."""


def _convert(steps, network, opset):
    from skl2onnx import convert_sklearn
    from sklearn.pipeline import Pipeline

    initial, columns = _graph_inputs(steps, network)
    whole = Pipeline([*steps, ("model", network)]) if steps else network
    for name, step in steps:
        _check_convertible(name, step)
    _register(network)
    with _TextImputersReadEmptyAsMissing(steps):
        try:
            onx = convert_sklearn(
                whole, initial_types=initial,
                target_opset={"": opset, "ai.onnx.ml": 3},
                options=None, name=f"skdeep_{type(network).__name__}")
        except _UnsupportedStep:
            raise
        except (RuntimeError, NotImplementedError, TypeError) as exc:
            raise _UnsupportedStep(
                f"skl2onnx could not convert this pipeline: "
                f"{str(exc).strip().splitlines()[0]} Steps: "
                f"{[name for name, _ in steps]}. Change or remove the step the "
                "message names, or apply it before calling the exported model."
            ) from exc
    return onx, columns


def _check_convertible(name, step):
    """Name the step skl2onnx has no converter for, before it fails obscurely."""
    from skdeep.preprocessing import TabularCleaner

    for sub in _walk([(name, step)]):
        if isinstance(sub, TabularCleaner) or sub in ("passthrough", "drop"):
            continue
        if type(sub) not in sklearn_converters():
            raise _UnsupportedStep(
                f"export_onnx cannot convert the pipeline step {name!r} "
                f"({type(sub).__name__}): skl2onnx has no converter for it. "
                "Register one with skl2onnx.update_registered_converter, or move "
                "this step out of the pipeline (apply it before calling the "
                "exported model).")
