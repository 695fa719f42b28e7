"""Names of networks, optimizers and losses: what may share a cached loop.

Two fits share a traced training loop and forward pass only when their
networks, optimizers and losses have the same key (see ``skdeep.engine.cache``).
A family's key (:func:`architecture_key`, :func:`network_key`) names how the
network is built; the cache adds :func:`weights_key`, the shapes and dtypes of
the network's variables, so that networks whose weights differ in any shape
never share, whatever a family's key leaves out (a text network's vocabulary
size, learnt from the data, is in no parameter).
"""


import json


def _plain(value):
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def architecture_key(estimator, meta, input_shape):
    """A string naming the network an estimator builds, or None.

    skdeep's builders are deterministic functions of the estimator's class,
    its architecture parameters and the fitted metadata, so those name the
    network (its seeds aside). None when a parameter is not plain data (a
    callable activation, an initializer object): such networks are trained
    by ``keras.Model.fit``.
    """
    import keras

    params = estimator._architecture_params()
    if not all(_plain(v) for v in params.values()):
        return None
    meta = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in meta.items()
            if k in ("n_features_in_", "n_outputs_", "target_type_", "n_classes_")}
    return json.dumps({
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "params": {k: list(v) if isinstance(v, tuple) else v
                   for k, v in params.items()},
        "meta": meta, "input": list(input_shape),
        "backend": keras.backend.backend(), "floatx": keras.config.floatx(),
    }, sort_keys=True)


def weights_key(model):
    """The shape, dtype and trainability of each of ``model``'s variables."""
    return tuple((tuple(int(d) for d in v.shape), str(v.dtype), bool(v.trainable))
                 for v in model.variables)


def network_key(model, input_shape):
    """A string naming a user's network by its Keras config, or None.

    For the generic wrappers, whose build functions skdeep cannot read: the
    network's own config, with seeds left out and layer names replaced by
    their order of appearance (Keras numbers names per process), names it.
    None unless it is a ``Sequential`` or functional network of Keras's own
    layers with one input and one output.
    """
    import re

    import keras

    if type(model).__name__ not in ("Sequential", "Functional") or not (
            type(model).__module__.startswith("keras")):
        return None
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
        config = _without_seeds(model.get_config())
        if not _only_keras_objects(config):
            return None
        text = json.dumps(config, sort_keys=True)
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        return None
    names = [model.name, *_names(config)]
    canonical = {name: f"name{i}" for i, name in enumerate(dict.fromkeys(names))}
    text = re.sub(r'"([^"\\]*)"', lambda m: json.dumps(canonical.get(m[1], m[1])),
                  text)
    return json.dumps({"network": text, "input": list(input_shape),
                       "backend": keras.backend.backend(),
                       "floatx": keras.config.floatx()}, sort_keys=True)


def _names(obj):
    """The ``"name"`` values of a config, in order of appearance."""
    if isinstance(obj, dict):
        if isinstance(obj.get("name"), str):
            yield obj["name"]
        for value in obj.values():
            yield from _names(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _names(value)


def _without_seeds(obj):
    if isinstance(obj, dict):
        return {k: _without_seeds(v) for k, v in obj.items() if k != "seed"}
    if isinstance(obj, (list, tuple)):
        return [_without_seeds(v) for v in obj]
    return obj


def _only_keras_objects(obj):
    """True if a serialized config names nothing but Keras's own classes.

    Judged by module: a user's class or function has its own (a plain
    function serializes with module ``builtins``). The registered name is not
    checked, as other libraries re-register Keras's classes (scikeras
    registers ``Functional`` when it pickles one).
    """
    if isinstance(obj, dict):
        module = obj.get("module")
        if module is not None and not (module == "keras"
                                       or str(module).startswith("keras.")):
            return False
        return all(_only_keras_objects(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_only_keras_objects(v) for v in obj)
    return isinstance(obj, (str, int, float, bool, type(None)))


def _optimizer_key(optimizer):
    """The optimizer's class and settings (its learning rate aside), or None.

    Built from ``get_config``: ``keras.saving.serialize_keras_object`` would
    import TensorFlow even on the JAX backend.
    """
    cls = type(optimizer)
    if not cls.__module__.startswith("keras"):
        return None
    config = optimizer.get_config()
    if not isinstance(config.get("learning_rate"), float) or config.get("use_ema"):
        return None  # schedules are computed in the loop; EMA is not supported
    config = {k: v for k, v in config.items() if k not in ("name", "learning_rate")}
    if not _only_keras_objects(config):
        return None
    return json.dumps({"class": cls.__qualname__, "config": config}, sort_keys=True)


def _loss_key(loss):
    """A Keras loss by name, or one of Keras's own loss functions or objects
    (with their config); None for anything else."""
    if isinstance(loss, str):
        return json.dumps(loss)
    owner = type(loss) if hasattr(loss, "get_config") else loss
    if not (getattr(owner, "__module__", None) or "").startswith("keras"):
        return None
    if hasattr(loss, "get_config"):
        config = loss.get_config()
        if not _only_keras_objects(config):
            return None
        return json.dumps({"class": type(loss).__qualname__, "config": config},
                          sort_keys=True)
    return json.dumps({"function": loss.__name__})
