"""A network for tables: numerical embeddings, category embeddings, a
per-feature scale and parameter-efficient ensembling.

The input is one float32 matrix laid out by the estimator's preprocessing
(``skdeep.estimators.tabular``): ``n_numeric`` scaled numbers, then
``n_plain`` columns used as they are (missing indicators, one-hot codes),
then one integer code per high-cardinality category (0 = unknown or
missing). Ingredients, after RealMLP (Holzmüller et al. 2024) and TabM
(Gorishniy et al. 2025):

- numbers: periodic embeddings, PBLD: ``cos(2 pi (w x + b))`` with
  ``n_frequencies`` random frequencies per feature, a per-feature linear map
  to ``numeric_embedding_dim - 1`` values, and ``x`` itself appended;
- categories with many levels: learned embeddings;
- a diagonal scale per input feature (RealMLP's "front scale");
- ``n_ensemble`` members that share every weight except a per-member sign
  vector at the input and their own output layer (TabM-mini's BatchEnsemble
  adapter): the network outputs every member's prediction.

Every layer is made of plain tensor operations (no Python branching on
values), so the network traces into one graph and exports with Keras.
"""

import math

import numpy as np

from skdeep.architectures.mlp import Seeds, seeded_initializer

__all__ = ["build_tabular", "register_layers"]


def _layers():
    """Define the custom layers (imports Keras only when first needed)."""
    import keras
    from keras import ops

    if "PeriodicEmbedding" in _LAYERS:
        return _LAYERS

    @keras.saving.register_keras_serializable(package="skdeep")
    class PeriodicEmbedding(keras.layers.Layer):
        """PBLD embedding of each of ``n_features`` numbers."""

        def __init__(self, n_features, n_frequencies=16, dim=4, sigma=0.1,
                     seed=None, **kwargs):
            super().__init__(**kwargs)
            self.n_features, self.n_frequencies = int(n_features), int(n_frequencies)
            self.dim, self.sigma, self.seed = int(dim), float(sigma), seed
            seeds = Seeds(seed)
            f, h = self.n_features, self.n_frequencies
            self.frequencies = self.add_weight(
                shape=(f, h), name="frequencies",
                initializer=keras.initializers.RandomNormal(0.0, self.sigma,
                                                            seed=seeds.next()))
            self.phases = self.add_weight(
                shape=(f, h), name="phases",
                initializer=keras.initializers.RandomUniform(-0.5, 0.5,
                                                             seed=seeds.next()))
            self.kernel = self.add_weight(
                shape=(f, h, self.dim - 1), name="kernel",
                initializer=keras.initializers.RandomNormal(
                    0.0, 1.0 / math.sqrt(h), seed=seeds.next()))
            self.bias = self.add_weight(shape=(f, self.dim - 1), name="bias",
                                        initializer="zeros")

        def call(self, x):
            z = ops.cos(2 * math.pi * (x[..., None] * self.frequencies + self.phases))
            z = ops.einsum("bfh,fho->bfo", z, self.kernel) + self.bias
            z = ops.concatenate([x[..., None], z], axis=-1)
            return ops.reshape(z, (-1, self.n_features * self.dim))

        def get_config(self):
            return {**super().get_config(), "n_features": self.n_features,
                    "n_frequencies": self.n_frequencies, "dim": self.dim,
                    "sigma": self.sigma, "seed": self.seed}

    @keras.saving.register_keras_serializable(package="skdeep")
    class CategoryEmbedding(keras.layers.Layer):
        """One learned vector per level of each column (code 0: unknown)."""

        def __init__(self, cardinalities, dim=8, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.cardinalities = [int(c) for c in cardinalities]
            self.dim, self.seed = int(dim), seed
            offsets = np.concatenate([[0], np.cumsum(
                [c + 1 for c in self.cardinalities])[:-1]])
            self._offsets = offsets.astype("int32")
            self.embeddings = self.add_weight(
                shape=(int(sum(c + 1 for c in self.cardinalities)), self.dim),
                name="embeddings",
                initializer=keras.initializers.RandomNormal(0.0, 1.0,
                                                            seed=seed))

        def call(self, codes):
            index = ops.cast(ops.round(codes), "int32") + self._offsets
            z = ops.take(self.embeddings, index, axis=0)
            return ops.reshape(z, (-1, len(self.cardinalities) * self.dim))

        def get_config(self):
            return {**super().get_config(), "cardinalities": self.cardinalities,
                    "dim": self.dim, "seed": self.seed}

    @keras.saving.register_keras_serializable(package="skdeep")
    class FeatureScale(keras.layers.Layer):
        """A learned scale per input feature, starting at 1."""

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(int(input_shape[-1]),),
                                         name="scale", initializer="ones")

        def call(self, x):
            return x * self.scale

    @keras.saving.register_keras_serializable(package="skdeep")
    class EnsembleAdapter(keras.layers.Layer):
        """``(batch, d) -> (batch, k, d)``: member ``i`` sees ``x * r_i``,
        ``r_i`` a random sign vector (trainable)."""

        def __init__(self, k, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.k, self.seed = int(k), seed

        def build(self, input_shape):
            d = int(input_shape[-1])
            signs = np.random.RandomState(self.seed).choice([-1.0, 1.0], (self.k, d))
            signs[0] = 1.0
            self.r = self.add_weight(shape=(self.k, d), name="r",
                                     initializer=keras.initializers.Constant(signs))

        def call(self, x):
            return x[:, None, :] * self.r

        def get_config(self):
            return {**super().get_config(), "k": self.k, "seed": self.seed}

    @keras.saving.register_keras_serializable(package="skdeep")
    class EnsembleHead(keras.layers.Layer):
        """``(batch, k, d) -> (batch, k, units)``: one output layer per member."""

        def __init__(self, units, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.units, self.seed = int(units), seed

        def build(self, input_shape):
            k, d = int(input_shape[-2]), int(input_shape[-1])
            self.kernel = self.add_weight(
                shape=(k, d, self.units), name="kernel",
                initializer=keras.initializers.RandomNormal(
                    0.0, 1.0 / math.sqrt(d), seed=self.seed))
            self.bias = self.add_weight(shape=(k, self.units), name="bias",
                                        initializer="zeros")

        def call(self, x):
            return ops.einsum("bkd,kdo->bko", x, self.kernel) + self.bias

        def get_config(self):
            return {**super().get_config(), "units": self.units, "seed": self.seed}

    @keras.saving.register_keras_serializable(package="skdeep")
    class MemberOutputs(keras.layers.Layer):
        """``(batch, k, units) -> (batch, k * units)``; for classification the
        members' class probabilities divided by ``k``, so that the blocks sum
        to the ensemble's average probability and cross-entropy against the
        members' targets divided by ``k`` is the mean of the members' losses."""

        def __init__(self, softmax=False, **kwargs):
            super().__init__(**kwargs)
            self.softmax = bool(softmax)

        def call(self, z):
            k, units = z.shape[-2], z.shape[-1]
            if self.softmax:
                z = ops.softmax(z, axis=-1) / k
            return ops.reshape(z, (-1, k * units))

        def get_config(self):
            return {**super().get_config(), "softmax": self.softmax}

    _LAYERS.update(PeriodicEmbedding=PeriodicEmbedding,
                   CategoryEmbedding=CategoryEmbedding, FeatureScale=FeatureScale,
                   EnsembleAdapter=EnsembleAdapter, EnsembleHead=EnsembleHead,
                   MemberOutputs=MemberOutputs)
    return _LAYERS


_LAYERS = {}


def register_layers():
    """Register the tabular network's layers with Keras (before loading one)."""
    _layers()


def build_tabular(
    layout,
    n_outputs,
    *,
    classification,
    hidden_layer_sizes=(256, 256, 128),
    activation="selu",
    dropout=0.15,
    n_ensemble=8,
    numeric_embedding="periodic",
    n_frequencies=16,
    numeric_embedding_dim=4,
    frequency_scale=0.1,
    category_embedding_dim=8,
    seed=None,
    name="tabular",
):
    """Return an uncompiled network for a preprocessed table.

    Parameters
    ----------
    layout : tuple
        ``(n_numeric, n_plain, cardinalities)``: scaled numbers, columns used
        as they are, then one code column per embedded category with its
        number of levels.
    n_outputs : int
        Classes (classification) or targets (regression) per member.
    classification : bool
        Members output class probabilities (softmax), else linear values.
    hidden_layer_sizes, activation, dropout
        The shared layers (``Dense`` + activation + ``Dropout``).
    n_ensemble : int
        Members; 1 gives a plain network (no adapter, one output layer).
    numeric_embedding : {"periodic", "none"}
    n_frequencies, numeric_embedding_dim, frequency_scale
        Periodic embedding: frequencies per feature, values per feature out,
        standard deviation of the initial frequencies.
    category_embedding_dim : int
        Size of each learned category vector.

    Returns
    -------
    keras.Model
        Output of shape ``(batch, n_ensemble * n_outputs)``: the members'
        predictions, member-major.
    """
    import keras

    layers = _layers()
    seeds = Seeds(seed)
    n_numeric, n_plain, cardinalities = layout
    n_codes = len(cardinalities)
    width = n_numeric + n_plain + n_codes
    inputs = keras.Input(shape=(width,), name="features")
    parts = []
    if n_numeric:
        x = keras.layers.Identity(name="numeric")(inputs[:, :n_numeric])
        if numeric_embedding == "periodic":
            x = layers["PeriodicEmbedding"](
                n_numeric, n_frequencies, numeric_embedding_dim, frequency_scale,
                seed=seeds.next(), name="numeric_embedding")(x)
        parts.append(x)
    if n_plain:
        parts.append(inputs[:, n_numeric:n_numeric + n_plain])
    if n_codes:
        parts.append(layers["CategoryEmbedding"](
            cardinalities, category_embedding_dim, seed=seeds.next(),
            name="category_embedding")(inputs[:, n_numeric + n_plain:]))
    if not parts:  # no columns at all: a constant input
        parts.append(inputs[:, :0] * 0.0 + 1.0)
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(
        name="concatenate")(parts)
    x = layers["FeatureScale"](name="feature_scale")(x)
    k = int(n_ensemble)
    if k > 1:
        x = layers["EnsembleAdapter"](k, seed=seeds.next(), name="ensemble")(x)
    for i, units in enumerate(hidden_layer_sizes):
        x = keras.layers.Dense(
            int(units), activation=activation,
            kernel_initializer=seeded_initializer("he_normal" if activation in (
                "relu", "gelu", "mish", "silu") else "lecun_normal", seeds.next()),
            name=f"hidden_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(float(dropout), seed=seeds.next(),
                                     name=f"hidden_{i}_dropout")(x)
    if k > 1:
        z = layers["EnsembleHead"](n_outputs, seed=seeds.next(), name="output")(x)
    else:
        z = keras.layers.Dense(
            int(n_outputs), name="output",
            kernel_initializer=seeded_initializer("glorot_uniform", seeds.next()))(x)
        z = keras.layers.Reshape((1, int(n_outputs)), name="members")(z)
    outputs = layers["MemberOutputs"](softmax=classification, name="predictions")(z)
    return keras.Model(inputs, outputs, name=name)
