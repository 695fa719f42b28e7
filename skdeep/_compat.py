"""Version shims for scikit-learn and Keras.

Every shim says when it can go. Import private API only here, never elsewhere.
"""

from inspect import signature

# A durable search (skdeep.search.store) runs scikit-learn's own fit-and-score
# step and bookkeeping, which are private; its ``fit`` follows
# ``BaseSearchCV.fit`` of scikit-learn 1.9. Remove when scikit-learn offers a
# public hook around each (candidate, split) fit (not planned as of 1.9).
from sklearn.base import _fit_context
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)

# scikit-learn keeps its parameter-validation helpers in a private module; the
# scikit-learn-contrib projects import them from there too. Remove when they
# become public (not yet planned as of scikit-learn 1.9).
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

# ``validate_data`` became a public function in scikit-learn 1.6, our minimum;
# ``_check_method_params``: for the durable search, as above.
from sklearn.utils.validation import _check_method_params, validate_data

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
    "validate_data",
    "validate_parameter_constraints",
]
