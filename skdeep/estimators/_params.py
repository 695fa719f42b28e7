"""Parameter constraints and checks shared by the ready-made families."""

from numbers import Integral, Real

from skdeep._compat import Interval
from skdeep.architectures import (
    seeded_initializer,
)

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [str, callable],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
    "l1": [Interval(Real, 0, None, closed="left")],
    "l2": [Interval(Real, 0, None, closed="left")],
    "kernel_initializer": [str, callable],
}


def _as_sizes(value):
    return [value] if isinstance(value, Integral) else list(value)


def _layer_sizes(est, param):
    """The layer sizes in parameter ``param`` as a list of positive ints."""
    given = getattr(est, param)
    sizes = [given] if isinstance(given, Integral) else list(given)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0
               for s in sizes):
        raise ValueError(
            f"The {param!r} parameter of {type(est).__name__} must be a sequence "
            f"of positive integers, e.g. (64, 32). Got {given!r} instead."
        )
    return sizes


_REGULARISATION_CONSTRAINTS = {
    "activation": [str, callable],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "l1": [Interval(Real, 0, None, closed="left")],
    "l2": [Interval(Real, 0, None, closed="left")],
    "kernel_initializer": [str, callable],
}


def _check_sizes(est, param, *, allow_empty):
    """A tuple of positive ints from ``param``, or a ValueError saying why not."""
    given = getattr(est, param)
    sizes = _as_sizes(given)
    if not sizes and not allow_empty:
        raise ValueError(
            f"The {param!r} parameter of {type(est).__name__} needs at least one "
            f"layer, e.g. (64,). Got {given!r} instead."
        )
    if sizes:
        _check_architecture(est, param)
    return tuple(int(s) for s in sizes)


# ---------------------------------------------------------------- sequences


def _check_architecture(est, sizes_param="hidden_layer_sizes"):
    """Checks that parameter constraints cannot express."""
    import keras

    name = type(est).__name__
    sizes = _layer_sizes(est, sizes_param)
    for param in ("activation", "kernel_initializer"):
        value = getattr(est, param)
        # resolved with a seed: an unseeded initializer would draw one from
        # Python's global random
        getter = (keras.activations.get if param == "activation"
                  else lambda v: seeded_initializer(v, 0))
        try:
            getter(value)
        except (ValueError, TypeError) as exc:
            example = "'relu'" if param == "activation" else "'he_normal'"
            raise ValueError(
                f"The {param!r} parameter of {name} must be a Keras "
                f"{param.replace('_', ' ')} name such as {example}, or a "
                f"callable. Got {value!r} instead."
            ) from exc
    return sizes
