"""Routing of scikeras-style ``<destination>__<name>`` parameters.

Functions of the parameters alone (no estimator state); Keras is imported
only where the routed objects (optimizer, loss, metrics, callbacks) are built.

``model__units=8``            -> build function argument ``units=8``
``optimizer__beta_1=0.8``     -> optimizer constructor argument
``loss__from_logits=True``    -> loss constructor argument
``metrics__0__name="acc"``    -> argument of the first metric
``callbacks__0__patience=2``  -> argument of the first callback
``fit__batch_size=8``         -> ``keras.Model.fit`` argument
``compile__run_eagerly=True`` -> ``keras.Model.compile`` argument
``predict__batch_size=1``     -> ``keras.Model.predict`` argument
``score__sample_weight``...   -> argument of the estimator's ``scorer``
"""

import difflib
import inspect
from collections.abc import Mapping

__all__ = [
    "ROUTED_DESTINATIONS",
    "build_callbacks",
    "build_compile_kwargs",
    "build_fn_arguments",
    "check_routed_names",
    "route_params",
    "unflatten_params",
]

ROUTED_DESTINATIONS = ("model", "optimizer", "loss", "metrics", "callbacks", "fit",
                       "compile", "predict", "score")


def _closest(name, candidates):
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


def route_params(params, destination, *, strict=False):
    """The ``destination__`` entries of ``params``, prefix removed.

    With ``strict``, entries routed further (``destination__a__b``) are left out.

    >>> route_params({"model__units": 8, "fit__shuffle": False, "epochs": 3}, "model")
    {'units': 8}
    """
    prefix = destination + "__"
    out = {}
    for key, value in params.items():
        if key.startswith(prefix):
            rest = key[len(prefix):]
            if not (strict and "__" in rest):
                out[rest] = value
    return out


def unflatten_params(items, params, base_params=None):
    """Build ``items`` (a class, or a list / dict of them) with routed ``params``.

    ``params`` are the routed parameters of one destination with its prefix
    removed: ``{"patience": 2}`` for a single class, ``{"0__patience": 2}``
    for the first entry of a list, ``{"es__patience": 2}`` for a dict entry.
    Plain names apply to every entry of a list or dict. Instances are used as
    they are and may not receive parameters.
    """
    plain = {k: v for k, v in params.items() if "__" not in k}
    if inspect.isclass(items):
        kwargs = {**(base_params or {}), **plain}
        for name, value in kwargs.items():
            kwargs[name] = unflatten_params(value, route_params(params, name))
        positional = sorted((int(k), v) for k, v in kwargs.items() if k.isdigit())
        kwargs = {k: v for k, v in kwargs.items() if not k.isdigit()}
        return items(*(v for _, v in positional), **kwargs)
    if isinstance(items, (list, tuple)):
        return type(items)(
            unflatten_params(item, route_params(params, str(i)), plain)
            for i, item in enumerate(items))
    if isinstance(items, Mapping):
        return {key: unflatten_params(item, route_params(params, str(key)), plain)
                for key, item in items.items()}
    given = {**(base_params or {}), **plain}
    if given:
        raise TypeError(
            f"{items!r} (a {type(items).__name__}) cannot take the routed "
            f"parameters {sorted(given)}: only a class is built with parameters. "
            f"Pass the class instead of an instance (e.g. keras.losses."
            f"BinaryCrossentropy, not BinaryCrossentropy()) or drop the parameters."
        )
    return items


def check_routed_names(names, *, owner):
    """Raise a ValueError with a "did you mean" hint for an unknown routing
    destination (``modle__units``). Names without ``__`` are build-function
    arguments, checked against the build function when it is called."""
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


def build_fn_arguments(fn, *, owner, kwargs, available):
    """The arguments of a user build function, as scikeras passes them.

    ``available`` holds ``meta``, ``compile_kwargs`` and ``params``: each is
    passed if the signature names it or takes ``**kwargs``. ``kwargs`` (the
    ``model__x`` and plain extra parameters) must all be accepted, else a
    TypeError lists what the function takes.
    """
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins, some C callables
        return dict(kwargs)
    takes_var_kw = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    accepted = [n for n, p in parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    out = {name: value() for name, value in available.items()
           if name in accepted or takes_var_kw}
    for name, value in kwargs.items():
        if name in accepted or takes_var_kw:
            out[name] = value
            continue
        guess = _closest(name, [n for n in accepted if n not in available])
        hint = f" Did you mean model__{guess}?" if guess else ""
        for destination in ROUTED_DESTINATIONS:  # a single underscore
            if name.startswith(destination + "_") and not guess:
                hint = f" Did you mean {destination}__{name[len(destination) + 1:]}?"
        raise TypeError(
            f"{owner} got model parameter {name!r}, but the build function "
            f"{getattr(fn, '__name__', fn)!r} does not accept it; it accepts "
            f"{accepted or 'no arguments'}.{hint}"
        )
    return out


def build_compile_kwargs(params, names):
    """``keras.Model.compile`` arguments from an estimator's ``params``.

    ``names`` are the parameters that go to ``compile`` (``optimizer``,
    ``loss``, ``metrics``, ...), overridden by ``compile__`` ones. Names
    become Keras objects as in scikeras, built with their routed arguments;
    an optimizer instance is copied, so no object serves two fits.
    """
    import keras

    from skdeep.engine import training
    from skdeep.engine.keras_objects import get_metric, get_optimizer, map_strings

    kwargs = {k: params[k] for k in names if k in params}
    kwargs.update(route_params(params, "compile"))
    optimizer = kwargs["optimizer"]
    opt_params = route_params(params, "optimizer")
    if isinstance(optimizer, str):
        optimizer = type(get_optimizer(optimizer))
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = training.make_optimizer(optimizer, None, kwargs=opt_params)
    else:
        optimizer = unflatten_params(optimizer, opt_params)
    kwargs["optimizer"] = optimizer
    loss, loss_params = kwargs.get("loss"), route_params(params, "loss")
    if isinstance(loss, str) and loss_params:  # a name with arguments: its class
        loss = training.make_loss(loss, loss_params)
    else:
        loss = unflatten_params(map_strings(loss, keras.losses.get), loss_params)
    kwargs["loss"] = loss
    metrics = map_strings(kwargs.get("metrics"), get_metric)
    metrics = unflatten_params(metrics, route_params(params, "metrics"))
    if metrics is not None and not isinstance(metrics, (list, dict)):
        metrics = [metrics]
    kwargs["metrics"] = metrics
    return kwargs


def build_callbacks(params, destination):
    """The callbacks of ``params[destination]`` as a flat list of instances.

    A single callback, a class (built with ``<destination>__<name>``
    arguments), a list (``<destination>__0__<name>``) or a dict of them.
    """
    import keras

    given = params.get(destination)
    if given is None:
        return []
    callbacks = unflatten_params(given, route_params(params, destination))
    if isinstance(callbacks, dict):
        callbacks = list(callbacks.values())
    elif isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    flat = ([c for cb in callbacks for c in (cb if isinstance(cb, list) else [cb])]
            if isinstance(callbacks, (list, tuple)) else None)
    if flat is None or not all(isinstance(c, keras.callbacks.Callback) for c in flat):
        raise TypeError(
            f"{destination} must be a keras.callbacks.Callback (an instance or a "
            f"class), a list of them, or a dict of them; got {given!r}.")
    return flat
