"""Routing of scikeras-style ``<destination>__<name>`` parameters.

Pure functions, no Keras and no estimator state: the generic wrappers call them
from ``fit`` with their extra keyword arguments.

``model__units=8``         -> build function argument ``units=8``
``optimizer__beta_1=0.8``  -> optimizer constructor argument
``loss__from_logits=True`` -> loss constructor argument
``fit__shuffle=False``     -> ``keras.Model.fit`` argument
``compile__jit_compile=1`` -> ``keras.Model.compile`` argument
``predict__batch_size=1``  -> batch size used by ``predict``
"""

import difflib
import inspect

__all__ = [
    "ROUTED_DESTINATIONS",
    "build_fn_arguments",
    "check_routed_names",
    "route_params",
]

ROUTED_DESTINATIONS = ("model", "optimizer", "loss", "fit", "compile", "predict")

# Arguments that skdeep passes to ``keras.Model.fit`` / ``compile`` itself;
# routing them would silently fight with the estimator's own parameters.
_RESERVED = {
    "fit": {"x", "y", "sample_weight", "epochs", "batch_size", "callbacks",
            "validation_data", "validation_split", "verbose", "class_weight"},
    "compile": {"optimizer", "loss"},
}


def _closest(name, candidates):
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


def route_params(params, destination):
    """Return the ``destination__`` entries of ``params`` with the prefix removed.

    >>> route_params({"model__units": 8, "fit__shuffle": False, "epochs": 3}, "model")
    {'units': 8}
    """
    prefix = destination + "__"
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def check_routed_names(names, *, owner, known_params=()):
    """Raise a ValueError with a "did you mean" hint for misrouted names.

    ``names`` are the extra keyword arguments given to a generic wrapper.
    Names without ``__`` are build-function arguments and are checked later
    against the build function; here only two mistakes are caught: an unknown
    destination (``modle__units``) and a single underscore (``model_units``).
    """
    for name in names:
        if "__" in name:
            destination, _, rest = name.partition("__")
            if destination not in ROUTED_DESTINATIONS:
                guess = _closest(destination, ROUTED_DESTINATIONS)
                hint = (f" Did you mean {guess}__{rest}?" if guess else
                        f" Routed parameters start with one of "
                        f"{', '.join(d + '__' for d in ROUTED_DESTINATIONS)}.")
                raise ValueError(
                    f"{owner} got an unexpected parameter {name!r}: "
                    f"{destination!r} is not a routing destination.{hint}"
                )
            reserved = _RESERVED.get(destination, ())
            if rest in reserved:
                raise ValueError(
                    f"{owner} got {name!r}, but {rest!r} is set by the estimator "
                    f"itself. Use the estimator's own parameter instead "
                    f"(e.g. {owner}({_closest(rest, known_params) or rest}=...))."
                )
            continue
        for destination in ROUTED_DESTINATIONS:
            if name.startswith(destination + "_") and not name.startswith(
                destination + "__"
            ):
                rest = name[len(destination) + 1:]
                raise ValueError(
                    f"{owner} got an unexpected parameter {name!r}. "
                    f"Did you mean {destination}__{rest}?"
                )


def build_fn_arguments(fn, *, owner, kwargs, meta, compile_kwargs):
    """Select the arguments of a user build function from what is available.

    ``meta`` and ``compile_kwargs`` are passed only if the signature names
    them; ``kwargs`` (from ``model__x`` and bare extra parameters) must all be
    accepted, else a ValueError lists what the function takes.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins, some C callables
        return dict(kwargs)
    parameters = signature.parameters
    takes_var_kw = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    out = {}
    if "meta" in parameters:
        out["meta"] = meta
    if "compile_kwargs" in parameters:
        out["compile_kwargs"] = compile_kwargs
    accepted = [n for n, p in parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and n not in ("meta", "compile_kwargs")]
    for name, value in kwargs.items():
        if name in accepted or takes_var_kw:
            out[name] = value
            continue
        guess = _closest(name, accepted)
        hint = f" Did you mean model__{guess}?" if guess else ""
        raise ValueError(
            f"{owner} got model parameter {name!r}, but the build function "
            f"{getattr(fn, '__name__', fn)!r} does not accept it; it accepts "
            f"{accepted or 'no arguments'}.{hint}"
        )
    return out
