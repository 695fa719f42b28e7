"""Version shims for scikit-learn and Keras.

Every shim says when it can go. Import private API only here, never elsewhere.
"""

# scikit-learn keeps its parameter-validation helpers in a private module; the
# scikit-learn-contrib projects import them from there too. Remove when they
# become public (not yet planned as of scikit-learn 1.9).
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

# ``validate_data`` became a public function in scikit-learn 1.6, our minimum.
from sklearn.utils.validation import validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "validate_data",
    "validate_parameter_constraints",
]
