"""Sequence network builder: recurrent (GRU / LSTM) or 1-D convolutional."""

from skdeep.architectures.mlp import (
    Seeds,
    _regularizer,
    dense_block,
    seeded_initializer,
)

__all__ = ["CELLS", "build_sequence"]

CELLS = ("gru", "lstm", "conv1d")


def _recurrent_layer(cell, units, *, return_sequences, dropout, recurrent_dropout,
                     kernel_initializer, l1, l2, seeds, name, go_backwards=False):
    import keras

    layer_class = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
    return layer_class(
        int(units),
        return_sequences=return_sequences,
        dropout=float(dropout),
        recurrent_dropout=float(recurrent_dropout),
        kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
        recurrent_initializer=seeded_initializer("orthogonal", seeds.next()),
        kernel_regularizer=_regularizer(l1, l2),
        seed=seeds.next(),
        go_backwards=go_backwards,
        name=name,
    )


def build_sequence(
    sequence_shape,
    n_outputs,
    *,
    output_activation=None,
    cell="gru",
    recurrent_layer_sizes=(64,),
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    kernel_size=3,
    dense_layer_sizes=(),
    activation="relu",
    l1=0.0,
    l2=0.0,
    kernel_initializer="glorot_uniform",
    mask_value=None,
    seed=None,
    name="sequence",
):
    """Return an uncompiled sequence network.

    Parameters
    ----------
    sequence_shape : tuple of int
        ``(timesteps, features)`` of one sample.
    n_outputs : int
        Units of the output layer.
    output_activation : str or None, default=None
        ``"softmax"``, ``"sigmoid"`` or ``None`` (linear).
    cell : {"gru", "lstm", "conv1d"}, default="gru"
        ``"gru"`` / ``"lstm"``: one recurrent layer per entry of
        ``recurrent_layer_sizes``, the last returning its final state.
        ``"conv1d"``: one ``Conv1D`` ("same" padding, ``activation``) per entry
        (the entry is its number of filters), then global max pooling.
    bidirectional : bool, default=False
        Wrap each recurrent layer in ``Bidirectional`` (recurrent cells only).
    dropout, recurrent_dropout : float
        Input and state dropout of the recurrent layers; ``dropout`` also
        follows each conv layer and each dense layer.
    kernel_size : int, default=3
        Width of the ``Conv1D`` kernels.
    dense_layer_sizes : sequence of int, default=()
        Dense layers between the sequence encoder and the output.
    mask_value : float or None, default=None
        Timesteps whose features all equal this value are skipped by the
        recurrent layers (a ``Masking`` layer): pad variable-length sequences
        with it. Recurrent cells only.

    Returns
    -------
    keras.Model
    """
    import keras

    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}; got {cell!r}.")
    if mask_value is not None and cell == "conv1d":
        raise ValueError(
            "mask_value works with recurrent cells only (cell='gru' or 'lstm'); "
            "cell='conv1d' cannot skip padded timesteps. Pad with zeros and set "
            "mask_value=None, or use a recurrent cell."
        )
    seeds = Seeds(seed)
    inputs = keras.Input(shape=tuple(int(d) for d in sequence_shape),
                         name="sequences")
    x = inputs
    if mask_value is not None:
        x = keras.layers.Masking(float(mask_value), name="masking")(x)
    sizes = list(recurrent_layer_sizes)
    for i, units in enumerate(sizes):
        if cell == "conv1d":
            x = keras.layers.Conv1D(
                int(units), int(kernel_size), padding="same", activation=activation,
                kernel_initializer=seeded_initializer(kernel_initializer,
                                                      seeds.next()),
                kernel_regularizer=_regularizer(l1, l2), name=f"conv_{i}",
            )(x)
            if dropout > 0:
                x = keras.layers.Dropout(float(dropout), seed=seeds.next(),
                                         name=f"conv_{i}_dropout")(x)
            continue
        layer = _recurrent_layer(
            cell, units, return_sequences=i < len(sizes) - 1, dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            kernel_initializer=kernel_initializer, l1=l1, l2=l2, seeds=seeds,
            name=f"{cell}_{i}",
        )
        if bidirectional:
            backward = _recurrent_layer(
                cell, units, return_sequences=i < len(sizes) - 1, dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                kernel_initializer=kernel_initializer, l1=l1, l2=l2, seeds=seeds,
                name=f"{cell}_{i}_backward", go_backwards=True,
            )
            layer = keras.layers.Bidirectional(layer, backward_layer=backward,
                                               name=f"bidirectional_{i}")
        x = layer(x)
    if cell == "conv1d":
        x = keras.layers.GlobalMaxPooling1D(name="pool")(x)
    x = dense_block(x, dense_layer_sizes, activation=activation, dropout=dropout,
                    batch_norm=False, l1=l1, l2=l2,
                    kernel_initializer=kernel_initializer, seeds=seeds,
                    prefix="dense")
    outputs = keras.layers.Dense(
        int(n_outputs), activation=output_activation,
        kernel_initializer=seeded_initializer(kernel_initializer, seeds.next()),
        kernel_regularizer=_regularizer(l1, l2), name="output",
    )(x)
    return keras.Model(inputs, outputs, name=name)
