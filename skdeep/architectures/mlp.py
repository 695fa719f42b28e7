"""Multi-layer perceptron builder."""

import contextlib

import numpy as np

__all__ = ["Seeds", "build_mlp", "dense_block", "seeded_initializer"]


class Seeds:
    """A stream of integer seeds for the layers of one network.

    Keras layers built without a seed draw one from Python's global
    ``random``, which other threads of the process (Dask's event loop, for
    one) also use: builds would then differ from run to run. Every random
    layer here gets an explicit seed instead. ``Seeds(None)`` yields ``None``
    (Keras's default behaviour).
    """

    def __init__(self, seed):
        self._rng = None if seed is None else np.random.RandomState(seed)

    def next(self):
        return None if self._rng is None else int(self._rng.randint(1, 2**31 - 1))


def seeded_initializer(initializer, seed):
    """A Keras initializer (from a name or instance) with an explicit seed.

    A name is resolved with the seed in its config: ``keras.initializers.get``
    would first create an unseeded initializer, which draws a seed from
    Python's global ``random``.
    """
    import keras

    if isinstance(initializer, str):
        init = None
        if seed is not None:
            with contextlib.suppress(TypeError, ValueError):  # e.g. "zeros"
                init = keras.initializers.deserialize(
                    {"class_name": initializer, "config": {"seed": int(seed)}})
        if not isinstance(init, keras.initializers.Initializer):
            init = keras.initializers.deserialize(
                {"class_name": initializer, "config": {}})
        if not isinstance(init, keras.initializers.Initializer):
            raise ValueError(f"Unknown Keras initializer {initializer!r}.")
        return init
    init = keras.initializers.get(initializer)
    config = init.get_config() if hasattr(init, "get_config") else {}
    if seed is None or "seed" not in config:
        return init
    return init.__class__.from_config({**config, "seed": seed})


def _regularizer(l1, l2):
    import keras

    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=float(l1), l2=float(l2))


def dense_block(x, sizes, *, activation, dropout, batch_norm, l1, l2,
                kernel_initializer, seeds=None, prefix="hidden"):
    """Stack ``Dense`` (+ ``BatchNormalization``) + activation (+ ``Dropout``).

    Returns the output tensor; shared by the MLP, CNN and transfer heads.
    """
    import keras

    seeds = seeds or Seeds(None)
    for i, units in enumerate(sizes):
        # without batch norm the activation is fused into Dense: one op less
        # per layer and step
        x = keras.layers.Dense(
            int(units),
            activation=None if batch_norm else activation,
            kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
            kernel_regularizer=_regularizer(l1, l2),
            use_bias=not batch_norm,
            name=f"{prefix}_{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{prefix}_{i}_bn")(x)
            x = keras.layers.Activation(activation, name=f"{prefix}_{i}_act")(x)
        if dropout > 0:
            x = keras.layers.Dropout(float(dropout), seed=seeds.next(),
                                     name=f"{prefix}_{i}_dropout")(x)
    return x


def build_mlp(
    n_features,
    n_outputs,
    *,
    output_activation=None,
    hidden_layer_sizes=(100,),
    activation="relu",
    dropout=0.0,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
    kernel_initializer="glorot_uniform",
    seed=None,
    name="mlp",
):
    """Return an uncompiled fully connected network.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    n_outputs : int
        Units of the output layer.
    output_activation : str or None, default=None
        ``"softmax"``, ``"sigmoid"`` or ``None`` (linear).
    hidden_layer_sizes : sequence of int, default=(100,)
        Units of each hidden layer; empty for a linear model.
    activation, dropout, batch_norm, l1, l2, kernel_initializer
        Applied to every hidden layer; ``l1`` / ``l2`` also to the output.

    Returns
    -------
    keras.Model
    """
    import keras

    seeds = Seeds(seed)
    inputs = keras.Input(shape=(int(n_features),), name="features")
    x = dense_block(
        inputs, hidden_layer_sizes, activation=activation, dropout=dropout,
        batch_norm=batch_norm, l1=l1, l2=l2, kernel_initializer=kernel_initializer,
        seeds=seeds,
    )
    outputs = keras.layers.Dense(
        int(n_outputs),
        activation=output_activation,
        kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
        kernel_regularizer=_regularizer(l1, l2),
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name=name)
