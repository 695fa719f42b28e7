"""Version shims and private APIs of scikit-learn, Keras and TensorFlow.

Every shim says when it can go. Import private API only here, never elsewhere
(``tests/test_compat.py`` checks): when a dependency moves one, this is the
one file to change. Keras, TensorFlow and skl2onnx are imported only inside
the functions that need them, so importing skdeep stays cheap.
"""

from inspect import signature

# scikit-learn 1.9 keeps these helpers private (the parameter-validation
# ones, which the scikit-learn-contrib projects import from there too;
# ``_safe_indexing``, which its cross-validation uses on X, y and fit
# parameters; the feature and sample-weight checks its own estimators use).
# A durable search (skdeep.search.store) also runs scikit-learn's own
# fit-and-score step and bookkeeping; its ``fit`` follows ``BaseSearchCV.fit``
# of scikit-learn 1.9. Remove each when scikit-learn makes it public (none is
# planned as of 1.9; for the search, a public hook around each (candidate,
# split) fit). ``validate_data`` became public in 1.6, our minimum: imported
# from here so that a future move changes one file.
from sklearn.base import _fit_context
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import _safe_indexing as safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import _check_feature_names as check_feature_names
from sklearn.utils.validation import _check_method_params, validate_data
from sklearn.utils.validation import _check_n_features as check_n_features
from sklearn.utils.validation import _check_sample_weight as check_sample_weight

# scikit-learn 1.9 added callbacks to searches (``_fit_and_score(caller=...,
# callback_ctx=...)``, ``BaseSearchCV._init_callback_context``); before it, a
# durable search runs without them. Remove when our minimum is 1.9.
SEARCH_CALLBACKS = "callback_ctx" in signature(_fit_and_score).parameters

__all__ = [
    "SEARCH_CALLBACKS",
    "BaseSearchCV",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_MultimetricScorer",
    "_check_method_params",
    "_fit_and_score",
    "_fit_context",
    "_insert_error_scores",
    "_warn_or_raise_about_fit_failures",
    "check_feature_names",
    "check_n_features",
    "check_sample_weight",
    "keras_seed_generator_module",
    "keras_variables_bound",
    "load_model_from_fileobj",
    "safe_indexing",
    "save_model_to_fileobj",
    "sklearn_converters",
    "validate_data",
    "validate_parameter_constraints",
]


# Keras (3.15) saves to and loads from a file object only through private
# functions of ``keras.src.saving.saving_lib``: the public ``keras.saving``
# functions take paths. Pickling a network goes through them (no temporary
# file). Remove when ``keras.saving.save_model`` / ``load_model`` accept file
# objects.
def save_model_to_fileobj(model, fileobj, weights_format="h5"):
    from keras.src.saving import saving_lib

    saving_lib._save_model_to_fileobj(model, fileobj, weights_format)


def load_model_from_fileobj(fileobj, **kwargs):
    from keras.src.saving import saving_lib

    return saving_lib._load_model_from_fileobj(fileobj, **kwargs)


# skl2onnx (1.19) keeps its table of scikit-learn converters in a private
# module. Remove when it offers a public lookup by estimator class.
def sklearn_converters():
    from skl2onnx._supported_operators import sklearn_operator_name_map

    return sklearn_operator_name_map


def keras_seed_generator_module():
    """Keras's module whose ``make_default_seed`` seeds unseeded layers.

    Keras 3 draws the seed of a layer or initializer created without one from
    ``python_random.randint`` in ``keras.src.random.seed_generator`` (the
    ``random`` module, read at each call); skdeep's ``seeded_build`` hands that
    name a per-thread generator. Returns None when Keras no longer reads seeds
    that way (then unseeded layers of a user's build function draw from
    Python's global generator, as in plain Keras). Review at each Keras minor
    release (checked with 3.15).
    """
    from keras.src.random import seed_generator

    if not hasattr(seed_generator, "python_random") or not hasattr(
            seed_generator, "make_default_seed"):
        return None
    return seed_generator


# Keras (3.15) keeps the TensorFlow variable behind a ``keras.Variable`` in its
# private ``_value``, and has no public way to run a network or an optimizer
# (TensorFlow's refuses ``stateless_apply``) on other TensorFlow variables.
# The compiled training loop is traced once with its template's variables
# rebound to the traced function's variable arguments, so that the one
# traced function runs on any fit's own variables. Returns None when Keras no
# longer stores them there (then each concurrent fit gets a loop of its
# own, as before). Review at each Keras minor release (checked with 3.15).
def keras_variables_bound(keras_variables, tf_variables):
    """A context manager in which each of ``keras_variables`` (TensorFlow
    backend) reads and writes the matching one of ``tf_variables``, or None
    when Keras cannot be made to."""
    import contextlib

    keras_variables = list(keras_variables)
    if not all(hasattr(v, "_value") for v in keras_variables):
        return None

    @contextlib.contextmanager
    def bound():
        saved = [v._value for v in keras_variables]
        for variable, target in zip(keras_variables, tf_variables, strict=True):
            variable._value = target
        try:
            yield
        finally:
            for variable, value in zip(keras_variables, saved, strict=True):
                variable._value = value

    return bound()


# Dask (2026.8) counts a DataFrame's partition rows from Parquet metadata
# (no file read) only through its private ``Lengths`` expression:
# ``map_partitions(len)`` reads every partition. Returns None where it
# cannot (other sources, another Dask): then the caller counts by reading.
# Remove when Dask has public partition lengths.
def dask_partition_lengths(frame):
    try:
        from dask.dataframe.dask_expr._expr import Lengths, Literal

        counted = Lengths(frame.expr).optimize()
    except Exception:  # another Dask, or an expression it cannot count
        return None
    if not isinstance(counted, Literal):
        return None
    return tuple(int(n) for n in counted.value)
