"""Pure Keras network builders.

Each builder takes plain arguments plus input/output metadata and returns an
uncompiled ``keras.Model``. Nothing here knows about scikit-learn.
"""

from skdeep.architectures.autoencoder import build_autoencoder, split_autoencoder
from skdeep.architectures.cnn import AUGMENTATIONS, build_cnn, check_cnn_fits
from skdeep.architectures.mlp import Seeds, build_mlp, dense_block, seeded_initializer
from skdeep.architectures.sequence import CELLS, build_sequence
from skdeep.architectures.tabular import build_tabular, register_layers
from skdeep.architectures.text import TEXT_ENCODERS, build_text
from skdeep.architectures.transfer import build_transfer, fresh_base, set_trainable_top

__all__ = [
    "AUGMENTATIONS",
    "CELLS",
    "TEXT_ENCODERS",
    "Seeds",
    "build_autoencoder",
    "build_cnn",
    "build_mlp",
    "build_sequence",
    "build_tabular",
    "build_text",
    "build_transfer",
    "check_cnn_fits",
    "dense_block",
    "fresh_base",
    "register_layers",
    "seeded_initializer",
    "set_trainable_top",
    "split_autoencoder",
]
