"""Transfer learning: a fresh copy of a pretrained network plus a new head."""

import os

from skdeep.architectures.mlp import Seeds, dense_block, seeded_initializer

__all__ = ["build_transfer", "fresh_base", "set_trainable_top"]


def fresh_base(base_model):
    """A new copy of the pretrained network, with its pretrained weights.

    ``base_model`` is a ``keras.Model`` (cloned, weights copied: the caller's
    object is never trained), a path to a ``.keras`` file (read again), or a
    callable returning a model (called again).
    """
    import keras

    if isinstance(base_model, keras.Model):
        copy = keras.models.clone_model(base_model)
        copy.set_weights(base_model.get_weights())
        return copy
    if isinstance(base_model, (str, os.PathLike)):
        path = os.fspath(base_model)
        if not os.path.exists(path):
            raise FileNotFoundError(f"base_model file not found: {path!r}.")
        return keras.saving.load_model(path, compile=False)
    if callable(base_model):
        model = base_model()
        if not isinstance(model, keras.Model):
            raise TypeError(
                "base_model() must return a keras.Model; it returned "
                f"{type(model).__name__}."
            )
        return model
    raise TypeError(
        "base_model must be a keras.Model, a path to a .keras file, or a callable "
        f"returning a keras.Model; got {type(base_model).__name__}."
    )


def _layers_with_weights(base):
    return [layer for layer in base.layers if layer.weights]


def set_trainable_top(base, n_layers):
    """Freeze ``base`` except its top ``n_layers`` layers that have weights."""
    base.trainable = True
    layers = _layers_with_weights(base)
    keep = set(map(id, layers[len(layers) - n_layers:])) if n_layers else set()
    for layer in base.layers:
        layer.trainable = id(layer) in keep
    return base


def build_transfer(
    base,
    n_outputs,
    *,
    output_activation="softmax",
    head_layer_sizes=(128,),
    activation="relu",
    dropout=0.5,
    l2=0.0,
    seed=None,
    name="transfer",
):
    """Return ``base`` (frozen, run in inference mode) with a new dense head.

    Feature maps from the base are averaged over space before the head.
    """
    import keras

    seeds = Seeds(seed)
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:], name="inputs")
    # training=False keeps batch-normalisation statistics of the base frozen,
    # also when its top layers are unfrozen for fine-tuning
    x = base(inputs, training=False)
    if len(x.shape) > 2:
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x) if len(x.shape) == 4 \
            else keras.layers.Flatten(name="flatten")(x)
    x = dense_block(x, head_layer_sizes, activation=activation, dropout=dropout,
                    batch_norm=False, l1=0.0, l2=l2,
                    kernel_initializer="glorot_uniform", seeds=seeds, prefix="head")
    outputs = keras.layers.Dense(
        int(n_outputs), activation=output_activation,
        kernel_initializer=seeded_initializer("glorot_uniform", seeds.next()),
        name="output")(x)
    return keras.Model(inputs, outputs, name=name)
