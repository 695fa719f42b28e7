"""Search spaces as Optuna distributions (the ``optuna`` extra, imported lazily).

Tuples of layer sizes travel as labels such as ``"64-32"``: Optuna stores
only None, bool, int, float and str choices.
"""

import re
from numbers import Integral

import numpy as np


def import_optuna():
    """``import optuna``, or an ImportError that names the extra to install."""
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(
            "strategy='bayes' needs Optuna, which is not installed: "
            "pip install 'skdeep[optuna]'."
        ) from exc
    return optuna


_TUPLE_LABEL = re.compile(r"^\d+(-\d+)*$")
_PLAIN = (type(None), bool, int, float, str)




def encode_choice(value):
    """A categorical choice as Optuna stores it (None, bool, int, float or str).

    Tuples of ints become ``"64-32"``; other plain values are kept; anything
    else becomes its ``repr``. :func:`decode_choice` inverts the tuple case.

    >>> encode_choice((64, 32)), encode_choice("relu"), encode_choice(0.5)
    ('64-32', 'relu', 0.5)
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, tuple) and value and all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 0
            for v in value):
        return "-".join(str(int(v)) for v in value)
    if isinstance(value, _PLAIN):
        return value
    return repr(value)


def decode_choice(label):
    """``"64-32"`` -> ``(64, 32)``, ``"64"`` -> ``(64,)``; see :func:`encode_choice`.

    >>> decode_choice("64-32")
    (64, 32)
    """
    if isinstance(label, str) and _TUPLE_LABEL.match(label):
        return tuple(int(part) for part in label.split("-"))
    raise ValueError(
        f"Cannot decode {label!r} as layer sizes: expected digits joined by '-', "
        "e.g. '64-32' for (64, 32)."
    )


def _from_scipy(name, dist, optuna):
    """A frozen scipy distribution as the equivalent Optuna distribution."""
    kind = getattr(getattr(dist, "dist", None), "name", None)
    if kind in ("loguniform", "reciprocal"):
        low, high = dist.support()
        return optuna.distributions.FloatDistribution(float(low), float(high),
                                                      log=True)
    if kind == "uniform":
        low, high = dist.support()
        return optuna.distributions.FloatDistribution(float(low), float(high))
    if kind == "randint":
        low, high = dist.support()
        return optuna.distributions.IntDistribution(int(low), int(high))
    raise TypeError(
        f"space[{name!r}] is a scipy {kind} distribution, which strategy='bayes' "
        "cannot translate; use a list of values, scipy's loguniform, uniform or "
        "randint, or an optuna.distributions object."
    )


def to_optuna_space(space, estimator):
    """Translate a search space into Optuna distributions and decoders.

    Parameters
    ----------
    space : dict
        Parameter name to a list of values (any values: tuples, None,
        objects), an ``optuna.distributions`` object, or a scipy
        ``loguniform`` / ``uniform`` / ``randint`` distribution.
    estimator : estimator or Pipeline
        Its current parameter values tell which parameters take tuples, so
        that a ``CategoricalDistribution`` of labels such as ``"64-32"`` is
        decoded to ``(64, 32)``.

    Returns
    -------
    distributions : dict of name -> optuna distribution
    decoders : dict of name -> dict of label -> value
        Only for categorical parameters whose labels differ from the values.
    """
    optuna = import_optuna()
    dists = optuna.distributions
    current = estimator.get_params(deep=True)
    distributions, decoders = {}, {}
    for name, values in space.items():
        if isinstance(values, dists.BaseDistribution):
            distributions[name] = values
            if isinstance(values, dists.CategoricalDistribution) and isinstance(
                    current.get(name), tuple):
                decoders[name] = {c: decode_choice(c) for c in values.choices
                                  if isinstance(c, str)}
        elif hasattr(values, "rvs"):
            distributions[name] = _from_scipy(name, values, optuna)
        elif isinstance(values, (list, tuple)) and len(values) > 0:
            labels = [encode_choice(v) for v in values]
            if len(set(map(repr, labels))) < len(labels):  # e.g. equal reprs
                labels = [f"{i}: {label}" for i, label in enumerate(labels)]
            distributions[name] = dists.CategoricalDistribution(labels)
            decoder = {label: value for label, value in zip(labels, values,
                                                            strict=True)
                       if label is not value}
            if decoder:
                decoders[name] = decoder
        else:
            raise TypeError(
                f"space[{name!r}] must be a non-empty list of values, an "
                "optuna.distributions object or a scipy loguniform / uniform / "
                f"randint distribution; got {values!r}."
            )
    return distributions, decoders
