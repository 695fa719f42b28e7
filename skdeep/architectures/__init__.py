"""Pure Keras network builders.

Each builder takes plain arguments plus input/output metadata and returns an
uncompiled ``keras.Model``. Nothing here knows about scikit-learn.
"""

from .autoencoder import build_autoencoder, split_autoencoder
from .cnn import AUGMENTATIONS, build_cnn, check_cnn_fits
from .mlp import Seeds, build_mlp, dense_block, seeded_initializer
from .sequence import CELLS, build_sequence
from .text import TEXT_ENCODERS, build_text
from .transfer import build_transfer, fresh_base, set_trainable_top

__all__ = [
    "AUGMENTATIONS",
    "CELLS",
    "TEXT_ENCODERS",
    "Seeds",
    "build_autoencoder",
    "build_cnn",
    "build_mlp",
    "build_sequence",
    "build_text",
    "build_transfer",
    "check_cnn_fits",
    "dense_block",
    "fresh_base",
    "seeded_initializer",
    "set_trainable_top",
    "split_autoencoder",
]
