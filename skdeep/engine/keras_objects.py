"""Keras objects for the generic wrappers: pickling, names, nested data.

Helpers of ``skdeep.wrappers`` that need no estimator state: pickling and
copying networks of any class, resolving optimizer / loss / metric names as
scikeras does, and slicing the nested X and y of multi-input and
multi-output networks.
"""

import inspect
import io
import pickle
import weakref

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from skdeep._compat import (
    check_feature_names,
    check_n_features,
    load_model_from_fileobj,
    save_model_to_fileobj,
)

# --------------------------------------------------------------- pickling
# Classes that pickle cannot name (defined in a function): kept by name for
# the life of the process, so their networks unpickle in the same process.
_LOCAL_CLASSES = weakref.WeakValueDictionary()


def restore_model(data, cls):
    import keras

    if isinstance(cls, str):
        cls = _LOCAL_CLASSES.get(cls)
    custom = {} if cls is None else {
        keras.saving.get_registered_name(cls): cls, cls.__name__: cls}
    with keras.saving.custom_object_scope(custom):
        return load_model_from_fileobj(
            io.BytesIO(data), custom_objects=custom, compile=True, safe_mode=False)


def rebuilds_from_config(model):
    """Whether Keras can rebuild ``model`` from its config.

    Keras (3.15) records a subclassed model's constructor arguments with
    their defaults, not the values passed (``Model.__new__`` drops them), so
    a subclass whose ``__init__`` takes arguments and which does not define
    ``get_config`` comes back from a copy or a pickle with the defaults.
    """
    cls = type(model)
    if cls.__module__.startswith("keras"):
        return True
    if any("get_config" in vars(k) for k in cls.__mro__
           if not k.__module__.startswith("keras")):
        return True
    params = inspect.signature(cls.__init__).parameters.values()
    return not [p for p in params if p.name != "self"
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def reduce_model(model):
    """``(restore, args)`` for a Keras model of any class, registered or not."""
    cls = type(model)
    if not rebuilds_from_config(model):
        raise TypeError(
            f"{cls.__name__} cannot be pickled: Keras rebuilds a keras.Model "
            "subclass from its config, and this class takes constructor "
            "arguments but defines no get_config, so Keras would rebuild it "
            "with the default arguments. Define get_config() returning them, "
            f"e.g. def get_config(self): return {{**super().get_config(), "
            "'n_classes': self.n_classes}.")
    if cls.__module__.startswith("keras"):
        ref = None
    else:
        try:
            pickle.dumps(cls)
            ref = cls
        except (pickle.PicklingError, AttributeError, TypeError):
            ref = f"{cls.__module__}.{cls.__qualname__}"
            _LOCAL_CLASSES[ref] = cls
    buf = io.BytesIO()
    save_model_to_fileobj(model, buf, "h5")
    return restore_model, (buf.getvalue(), ref)


class PickledModel:
    """Pickles as the network it holds (see :func:`reduce_model`)."""

    def __init__(self, model):
        self.model = model

    def __reduce__(self):
        return reduce_model(self.model)


def copy_model(model):
    """A copy of a user's ``keras.Model``: weights, compile state and all."""
    restore, args = reduce_model(model)
    return restore(*args)


# ------------------------------------------------------------ nested data
def n_rows(data):
    import keras

    return keras.tree.flatten(data)[0].shape[0]


def take(data, rows):
    import keras

    return keras.tree.map_structure(
        lambda a: a.iloc[rows] if hasattr(a, "iloc") else a[rows], data)


def metric_name(key):
    """scikeras's history keys: full metric names (``mean_absolute_error``)."""
    import keras

    if key == "loss" or key.startswith("val_"):
        return key
    try:
        fn = keras.metrics.get(key)
    except (ValueError, TypeError):
        return key
    if isinstance(fn, keras.metrics.Metric):
        return _snake_case(type(fn).__name__)
    return getattr(fn, "__name__", key)


def _snake_case(name):
    """``"MeanSquaredError"`` -> ``"mean_squared_error"`` (scikeras's names)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def float_dtype():
    import keras

    return np.dtype(keras.backend.floatx())


def is_text(a):
    kind = getattr(getattr(a, "dtype", None), "kind", None)
    if isinstance(a, pd.DataFrame):
        return any(dt.kind in "OUS" for dt in a.dtypes)
    return kind in ("O", "U", "S") if kind else np.asarray(a).dtype.kind in "OUS"


def has_outputs(model):
    try:
        return bool(model.outputs)
    except (AttributeError, ValueError):
        return False


def map_strings(items, getter):
    if isinstance(items, str):
        return getter(items)
    if isinstance(items, (list, tuple)):
        return type(items)(map_strings(i, getter) for i in items)
    if isinstance(items, dict):
        return {k: map_strings(v, getter) for k, v in items.items()}
    return items


def get_optimizer(name):
    """An optimizer from a name in any case (``"SGD"``, ``"adam"``, ``"Adadelta"``)."""
    import keras

    try:
        return keras.optimizers.get(name)
    except ValueError:
        for attr in dir(keras.optimizers):
            cls = getattr(keras.optimizers, attr)
            if (attr.lower() == name.lower() and inspect.isclass(cls)
                    and issubclass(cls, keras.optimizers.Optimizer)):
                return cls()
        raise ValueError(
            f"Unknown optimizer {name!r}. Pass a name Keras knows (sgd, adam, "
            "rmsprop, adagrad, adadelta, adamax, nadam, ftrl, adamw, lion, ...) or "
            "a keras.optimizers class or instance.") from None


def get_metric(name):
    import keras

    if name in ("acc", "accuracy", "ce", "crossentropy"):
        return name  # Keras picks the right one from the loss and outputs
    return keras.metrics.get(name)


def loss_name(loss):
    import keras

    if isinstance(loss, type):
        loss = loss()
    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    name = type(fn).__name__ if isinstance(fn, keras.losses.Loss) else getattr(
        fn, "__name__", str(fn))
    name = _snake_case(name)
    return {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name, name)


def is_one_hot_loss(loss):
    """Whether ``loss`` is a categorical cross-entropy, which takes one-hot
    targets (not the sparse variant): a name, a class, an instance or a function."""
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, type):
        name = loss.__name__
    else:
        name = getattr(loss, "__name__", None) or type(loss).__name__
    return name.lower().replace("_", "") in ("categoricalcrossentropy", "cce")


def from_logits(loss):
    """Whether a Keras loss object was built with ``from_logits=True``."""
    try:
        return bool(loss.get_config().get("from_logits", False))
    except (AttributeError, NotImplementedError, TypeError):
        return False


def class_weights(class_weight, y, sample_weight):
    """Keras's ``class_weight`` (by encoded class index) as sample weights."""
    y = np.asarray(y)
    index = (np.argmax(y, axis=1) if y.ndim == 2 and y.shape[1] > 1
             else y.reshape(len(y)).astype(int))
    weights = np.array([class_weight.get(int(i), 1.0) for i in index],
                       dtype=float_dtype())
    return weights if sample_weight is None else weights * sample_weight


def check_X(est, X, *, reset):
    """X checked as scikeras does (any rank, sparse, numeric); its shape and
    dtype recorded on ``est`` (``reset``) or compared with them."""
    name = type(est).__name__
    check_feature_names(est, X, reset=reset)
    try:
        X = check_array(X, accept_sparse=("csr", "csc", "coo"), allow_nd=True,
                        dtype=float_dtype() if is_text(X) else None,
                        input_name="X")
    except ValueError as exc:
        if "could not convert string to float" in str(exc):
            raise ValueError(
                f"{name} needs numeric X, but X contains text ({exc}). "
                "Encode it first (skdeep.make_tabular_pipeline, a "
                "OneHotEncoder), or override feature_encoder."
            ) from exc
        raise
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    if reset:
        est.X_dtype_ = X.dtype
        est.X_shape_ = X.shape
        check_n_features(est, X, reset=True)
    else:
        check_n_features(est, X, reset=False)
        if X.shape[1:] != est.X_shape_[1:]:
            raise ValueError(
                f"X has shape {X.shape[1:]} per sample, but this {name} was "
                f"fitted on X of shape {est.X_shape_[1:]} per sample.")
        if not np.can_cast(X.dtype, est.X_dtype_) and X.dtype.kind in "OUS":
            raise ValueError(
                f"X has dtype {X.dtype}, but this {name} was fitted on "
                f"{est.X_dtype_}.")
    return X
