"""The generic wrappers' validation rows: ``validation_split`` (the last rows,
as ``keras.Model.fit`` takes them, or a Dask X's last whole blocks) and
``validation_data`` (checked and encoded as the training rows are)."""

import numpy as np

from skdeep._compat import check_sample_weight
from skdeep.engine import dask_inputs
from skdeep.engine.keras_objects import float_dtype, n_rows, take
from skdeep.wrappers._streaming import rows, split_last_blocks

__all__ = ["hold_out"]


def hold_out(est, X, y, sample_weight, validation, split):
    """``(X, y, sample_weight, validation)``: the training rows and the
    validation rows ``(X_val, y_val, sample_weight_val)`` (None for none; a
    Keras dataset given as ``validation_data`` passes as it is)."""
    n = n_rows(X)
    if validation is None and split and isinstance(X, dask_inputs.Blocks):
        (X, y, sample_weight), validation = split_last_blocks(
            X, (y, sample_weight), n - int(n * (1.0 - split)), split)
    elif validation is None and split:  # the last rows, as keras.Model.fit
        at = int(n * (1.0 - split))
        if not 0.0 < split < 1.0 or at in (0, n):
            raise ValueError(
                f"validation_split={split!r} holds out {n - at} of the {n} "
                "rows, leaving no training or no validation rows. Use a "
                "fraction strictly between 0 and 1 that keeps at least one row "
                f"on each side (e.g. validation_split=0.2), or 0.0 for none.")
        train, held = np.arange(at), np.arange(at, n)
        validation = (rows(X, held), take(y, held),
                      None if sample_weight is None else sample_weight[held])
        X, y = rows(X, train), take(y, train)
        sample_weight = None if sample_weight is None else sample_weight[train]
    elif isinstance(validation, (tuple, list)):
        Xv, yv, swv = _encoded(est, validation)
        if isinstance(y, np.ndarray) and isinstance(yv, np.ndarray):
            yv = yv.astype(y.dtype, copy=False)
        validation = (Xv, yv, swv)
    return X, y, sample_weight, validation


def _encoded(est, validation):
    """``validation_data=(X_val, y_val[, sample_weight])`` checked and encoded
    as the training rows are."""
    if len(validation) not in (2, 3):
        raise ValueError(
            f"validation_data has {len(validation)} parts, but it takes "
            "(X_val, y_val) or (X_val, y_val, sample_weight_val).")
    Xv, yv, swv = (*validation, None)[:3]
    if isinstance(yv, (list, tuple, dict)) or np.ndim(yv) != est.y_ndim_:
        # targets already in the network's form (one-hot rows for a
        # categorical loss): passed as they are, as scikeras does
        return est.feature_encoder_.transform(est._validate_data(Xv)[0]), yv, swv
    Xv, yv = est._validate_data(Xv, yv)
    Xv = est.feature_encoder_.transform(Xv)
    yv = est._match_outputs(est.target_encoder_.transform(yv))
    if swv is not None:
        swv = check_sample_weight(swv, np.empty(n_rows(Xv)), dtype=float_dtype())
    return Xv, yv, swv
