"""Text network builder: token ids -> embedding -> encoder -> dense head."""

from skdeep.architectures.mlp import (
    Seeds,
    _regularizer,
    dense_block,
    seeded_initializer,
)

__all__ = ["TEXT_ENCODERS", "build_text"]

TEXT_ENCODERS = ("pooling", "conv1d", "gru")


def build_text(
    sequence_length,
    vocabulary_size,
    n_outputs,
    *,
    output_activation="softmax",
    embedding_dim=64,
    encoder="pooling",
    encoder_units=64,
    kernel_size=3,
    dense_layer_sizes=(),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    seed=None,
    name="text",
):
    """Return an uncompiled text classifier over integer token ids.

    The input is ``(sequence_length,)`` token ids as produced by a Keras
    ``TextVectorization`` layer: 0 is padding, 1 an unknown word.

    Parameters
    ----------
    sequence_length : int
        Tokens per text (padded or truncated to this length).
    vocabulary_size : int
        Number of token ids, padding and unknown-word ids included.
    n_outputs : int
        Units of the output layer.
    output_activation : str or None, default="softmax"
    embedding_dim : int, default=64
        Size of the learnt word vectors.
    encoder : {"pooling", "conv1d", "gru"}, default="pooling"
        ``"pooling"``: the mean of the word vectors (padding left out), a
        bag of words; ``"conv1d"``: ``Conv1D`` with ``encoder_units`` filters
        over ``kernel_size`` consecutive words, then max pooling over the
        text; ``"gru"``: a GRU with ``encoder_units`` units reading the words
        in order (padding skipped). The last two see word order.
    dense_layer_sizes : sequence of int, default=()
        Dense layers between the encoder and the output.
    dropout : float, default=0.0
        Dropout on the word vectors and after each dense layer.
    l2 : float, default=0.0
        L2 penalty on every kernel (embedding included).

    Returns
    -------
    keras.Model
    """
    import keras

    if encoder not in TEXT_ENCODERS:
        raise ValueError(f"encoder must be one of {TEXT_ENCODERS}; got {encoder!r}.")
    seeds = Seeds(seed)
    inputs = keras.Input(shape=(int(sequence_length),), dtype="int32", name="tokens")
    x = keras.layers.Embedding(
        int(vocabulary_size), int(embedding_dim),
        embeddings_initializer=seeded_initializer("uniform", seeds.next()),
        embeddings_regularizer=_regularizer(0.0, l2),
        # Conv1D cannot carry a mask: there the padding id gets a vector
        mask_zero=encoder != "conv1d", name="embedding",
    )(inputs)
    if dropout > 0:
        x = keras.layers.Dropout(float(dropout), seed=seeds.next(),
                                 name="embedding_dropout")(x)
    if encoder == "pooling":
        x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    elif encoder == "conv1d":
        x = keras.layers.Conv1D(
            int(encoder_units), int(kernel_size), padding="same",
            activation=activation,
            kernel_initializer=seeded_initializer("glorot_uniform", seeds.next()),
            kernel_regularizer=_regularizer(0.0, l2), name="conv",
        )(x)
        x = keras.layers.GlobalMaxPooling1D(name="pool")(x)
    else:
        x = keras.layers.GRU(
            int(encoder_units),
            kernel_initializer=seeded_initializer("glorot_uniform", seeds.next()),
            recurrent_initializer=seeded_initializer("orthogonal", seeds.next()),
            kernel_regularizer=_regularizer(0.0, l2), seed=seeds.next(),
            name="gru",
        )(x)
    x = dense_block(x, dense_layer_sizes, activation=activation, dropout=dropout,
                    batch_norm=False, l1=0.0, l2=l2,
                    kernel_initializer="glorot_uniform", seeds=seeds,
                    prefix="dense")
    outputs = keras.layers.Dense(
        int(n_outputs), activation=output_activation,
        kernel_initializer=seeded_initializer("glorot_uniform", seeds.next()),
        kernel_regularizer=_regularizer(0.0, l2), name="output",
    )(x)
    return keras.Model(inputs, outputs, name=name)
