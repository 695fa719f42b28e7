"""Pure Keras network builders.

Each builder takes plain arguments plus input/output metadata and returns an
uncompiled ``keras.Model``. Nothing here knows about scikit-learn.
"""

from .mlp import Seeds, build_mlp, dense_block, seeded_initializer

__all__ = ["Seeds", "build_mlp", "dense_block", "seeded_initializer"]
