"""Autoencoder builder: encoder -> latent code -> mirrored decoder."""

from skdeep.architectures.mlp import (
    Seeds,
    _regularizer,
    dense_block,
    seeded_initializer,
)

__all__ = ["build_autoencoder", "split_autoencoder"]


def build_autoencoder(
    n_features,
    *,
    encoder_layer_sizes=(64,),
    latent_dim=8,
    activation="relu",
    noise_std=0.0,
    dropout=0.0,
    l2=0.0,
    kernel_initializer="glorot_uniform",
    seed=None,
    name="autoencoder",
):
    """Return an uncompiled dense autoencoder.

    ``features -> [GaussianNoise] -> encoder_layer_sizes -> latent (linear)
    -> reversed(encoder_layer_sizes) -> reconstruction (linear)``. The noise
    (a denoising autoencoder) and dropout act in training only. The layers
    are named ``"latent"`` and ``"reconstruction"`` so that
    :func:`split_autoencoder` can cut the network in two.

    Parameters
    ----------
    n_features : int
        Width of the input rows (and of the reconstruction).
    encoder_layer_sizes : sequence of int, default=(64,)
        Hidden layers of the encoder; the decoder mirrors them.
    latent_dim : int, default=8
        Size of the code.
    noise_std : float, default=0.0
        Standard deviation of the Gaussian noise added to the inputs while
        training.

    Returns
    -------
    keras.Model
    """
    import keras

    seeds = Seeds(seed)
    inputs = keras.Input(shape=(int(n_features),), name="features")
    x = inputs
    if noise_std > 0:
        x = keras.layers.GaussianNoise(float(noise_std), seed=seeds.next(),
                                       name="noise")(x)
    common = dict(activation=activation, dropout=dropout, batch_norm=False, l1=0.0,
                  l2=l2, kernel_initializer=kernel_initializer, seeds=seeds)
    x = dense_block(x, encoder_layer_sizes, prefix="encoder", **common)
    x = keras.layers.Dense(
        int(latent_dim),
        kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
        kernel_regularizer=_regularizer(0.0, l2), name="latent")(x)
    x = dense_block(x, list(encoder_layer_sizes)[::-1], prefix="decoder", **common)
    outputs = keras.layers.Dense(
        int(n_features),
        kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
        kernel_regularizer=_regularizer(0.0, l2), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


def split_autoencoder(model):
    """``(encoder, decoder)`` models sharing the layers of ``model``.

    ``encoder`` maps rows to the output of the ``"latent"`` layer; ``decoder``
    maps codes through the layers after it to the reconstruction.
    """
    import keras

    latent = model.get_layer("latent")
    encoder = keras.Model(model.inputs, latent.output, name="encoder")
    codes = keras.Input(shape=(int(latent.units),), name="codes")
    x = codes
    layers = model.layers
    for layer in layers[layers.index(latent) + 1:]:
        x = layer(x)
    decoder = keras.Model(codes, x, name="decoder")
    return encoder, decoder
