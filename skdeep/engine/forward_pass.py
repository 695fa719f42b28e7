"""The one forward pass of fitted networks, for both estimator families.

Rows go to the network in chunks, each padded with zero rows to a multiple
of :data:`PAD_ROWS`: every call sees the same kind of shape, so a row's
output does not depend on how many rows came with it (float32 matmul kernels
change their accumulation order with the batch size), and few shapes get
traced. A network that has a cache key runs on the cached forward pass of
its architecture (``skdeep.engine.cache.forward``) on every call; any other
runs on its own ``predict_on_batch`` function, on every call.
"""

import numpy as np
import scipy.sparse as sp

from skdeep.engine.cache import forward

__all__ = ["PAD_ROWS", "PREDICT_CHUNK", "predict"]

# Rows per network call, and the multiple every call is padded to.
PREDICT_CHUNK = 8192
PAD_ROWS = 64


def predict(model, X, *, key=None, make_template=None, chunk=PREDICT_CHUNK):
    """The outputs of ``model`` for the rows of ``X``, as a NumPy array.

    ``X`` is an array or a sparse matrix (densified one chunk at a time, as
    float32); ``chunk`` rows go to the network per call. ``key`` and
    ``make_template`` name the network for the cache of forward passes (see
    :func:`skdeep.engine.cache.forward`); without them, or when the cache
    has none to give, the network's own ``predict_on_batch`` runs.
    """
    chunk = max(1, int(chunk))
    multiple = min(PAD_ROWS, chunk)
    shared = None if key is None else forward(model, key, make_template)
    parts = []
    for start in range(0, X.shape[0], chunk):
        part = X[start:start + chunk]
        if isinstance(part, np.memmap):  # one chunk read from disk
            part = np.asarray(part, dtype=np.float32)
        elif sp.issparse(part):
            part = np.asarray(part.toarray(), dtype=np.float32)
        padded = -part.shape[0] % multiple
        if padded:
            part = np.concatenate(
                [part, np.zeros((padded, *part.shape[1:]), part.dtype)])
        out = np.asarray(shared(model, part) if shared is not None
                         else model.predict_on_batch(part))
        parts.append(out[:out.shape[0] - padded])
    if not parts:  # no rows: the output's shape from one padding batch
        empty = predict(model, np.zeros((1, *X.shape[1:]), np.float32), key=key,
                        make_template=make_template, chunk=chunk)
        return empty[:0]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
