"""Pure Keras network builders.

Each builder takes plain arguments plus input/output metadata and returns an
uncompiled ``keras.Model``. Nothing here knows about scikit-learn.
"""

from .mlp import build_mlp

__all__ = ["build_mlp"]
