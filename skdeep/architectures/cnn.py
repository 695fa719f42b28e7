"""Convolutional network builder for small images."""

from skdeep.architectures.mlp import (
    Seeds,
    _regularizer,
    dense_block,
    seeded_initializer,
)

__all__ = ["AUGMENTATIONS", "build_cnn", "check_cnn_fits"]

AUGMENTATIONS = ("flip", "rotation", "zoom", "translation")


def _augmentation_layers(names, seeds):
    import keras

    makers = {
        "flip": lambda s, n: keras.layers.RandomFlip("horizontal", seed=s, name=n),
        "rotation": lambda s, n: keras.layers.RandomRotation(0.08, seed=s, name=n),
        "zoom": lambda s, n: keras.layers.RandomZoom(0.1, seed=s, name=n),
        "translation": lambda s, n: keras.layers.RandomTranslation(
            0.1, 0.1, seed=s, name=n),
    }
    # explicit names: identical networks then have identical configs (and
    # share a cached training loop, see skdeep.engine.loop)
    return [makers[name](seeds.next(), f"augment_{i}_{name}")
            for i, name in enumerate(names)]


def check_cnn_fits(image_shape, conv_filters, pool_size):
    """Raise a ValueError if the conv blocks would shrink the images to nothing."""
    height, width = image_shape[:2]
    for block in range(len(conv_filters)):
        if min(height, width) < pool_size:
            raise ValueError(
                f"conv_filters={tuple(conv_filters)} with pool_size={pool_size} "
                f"does not fit {image_shape[0]}x{image_shape[1]} images: block "
                f"{block + 1} would pool a {height}x{width} map. Use fewer conv "
                "blocks or a smaller pool_size."
            )
        height, width = height // pool_size, width // pool_size


def build_cnn(
    image_shape,
    n_outputs,
    *,
    output_activation="softmax",
    conv_filters=(32, 64),
    kernel_size=3,
    pool_size=2,
    dense_layer_sizes=(128,),
    activation="relu",
    dropout=0.0,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
    kernel_initializer="glorot_uniform",
    augmentation=(),
    seed=None,
    name="cnn",
):
    """Return an uncompiled ``Conv2D -> pool`` stack with a dense head.

    Each entry of ``conv_filters`` is one block: ``Conv2D`` ("same" padding)
    [+ ``BatchNormalization``] + activation + ``MaxPooling2D``. Augmentation
    layers come first and are active only in training.
    """
    import keras

    check_cnn_fits(image_shape, conv_filters, pool_size)
    seeds = Seeds(seed)
    inputs = keras.Input(shape=tuple(int(d) for d in image_shape), name="images")
    x = inputs
    for layer in _augmentation_layers(augmentation, seeds):
        x = layer(x)
    for i, filters in enumerate(conv_filters):
        x = keras.layers.Conv2D(
            int(filters), kernel_size, padding="same",
            kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
            kernel_regularizer=_regularizer(l1, l2), use_bias=not batch_norm,
            name=f"conv_{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"conv_{i}_bn")(x)
        x = keras.layers.Activation(activation, name=f"conv_{i}_act")(x)
        x = keras.layers.MaxPooling2D(pool_size, name=f"conv_{i}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = dense_block(x, dense_layer_sizes, activation=activation, dropout=dropout,
                    batch_norm=batch_norm, l1=l1, l2=l2,
                    kernel_initializer=kernel_initializer, seeds=seeds,
                    prefix="dense")
    outputs = keras.layers.Dense(
        int(n_outputs), activation=output_activation,
        kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
        kernel_regularizer=_regularizer(l1, l2), name="output",
    )(x)
    return keras.Model(inputs, outputs, name=name)
