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
    "keras_seed_generator_module",
    "validate_data",
    "validate_parameter_constraints",
]


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
