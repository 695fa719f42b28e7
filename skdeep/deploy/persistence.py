"""Saving and loading with metadata, integrity checks and atomic writes.

A skdeep file is::

    magic b"SKDEEP\\x00\\x01" | joblib payload | JSON metadata
    | metadata length (8 bytes, big-endian) | b"SKDEEPEND"

The metadata (versions, the object's type, a SHA-256 of the payload, and for
searches the best parameters and score) sits at the end so the payload is
streamed to disk while it is hashed. Writes go to a temporary file in the
same folder, are flushed to disk, then renamed over the target: an
interrupted save never destroys the previous file.

Loading a skdeep, pickle or joblib file runs code from that file: load only
files you trust (see "Sharing models safely" in the README).
"""

import contextlib
import hashlib
import io
import json
import os
import platform
import struct
import time
import warnings

import joblib

from skdeep.exceptions import IntegrityError, VersionMismatchWarning

__all__ = ["export_keras", "export_saved_model", "load", "read_metadata", "save"]

_MAGIC = b"SKDEEP\x00\x01"
_END = b"SKDEEPEND"
_FORMAT = 1


def _versions():
    import sklearn

    import skdeep

    versions = {
        "skdeep": skdeep.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
    }
    try:
        import keras

        versions["keras"] = keras.__version__
        versions["keras_backend"] = keras.backend.backend()
        if versions["keras_backend"] == "tensorflow":
            import tensorflow as tf

            versions["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - keras is a dependency
        pass
    return versions


def _summary(obj):
    """What ``skdeep info`` shows without unpickling."""
    summary = {"type": f"{type(obj).__module__}.{type(obj).__qualname__}"}
    if hasattr(obj, "best_params_"):
        summary["best_params"] = {k: repr(v) for k, v in obj.best_params_.items()}
        summary["best_score"] = float(obj.best_score_)
        summary["scoring"] = repr(obj.scoring)
        obj = obj.best_estimator_
    network = obj.steps[-1][1] if hasattr(obj, "steps") else obj
    summary["estimator"] = type(network).__name__
    for attr in ("n_features_in_", "n_iter_", "n_outputs_"):
        if hasattr(network, attr):
            summary[attr] = int(getattr(network, attr))
    if hasattr(network, "classes_"):
        summary["classes"] = [str(c) for c in network.classes_]
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        summary["feature_names"] = [str(n) for n in names]
    return summary


class _HashingWriter(io.RawIOBase):
    """A write-only file wrapper that hashes and counts what passes through."""

    def __init__(self, fh):
        self._fh = fh
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        self.sha256.update(data)
        self.size += len(data)
        return self._fh.write(data)


def _create_temporary(folder, path):
    """A new temporary file beside ``path``, with the mode ``path`` will have.

    ``tempfile.mkstemp`` makes files readable by their owner only; a saved
    model should get the mode any new file gets (0o666 less the umask, as
    ``open`` and joblib give), or keep the mode of the file it replaces.
    """
    while True:
        tmp = os.path.join(folder, f".skdeep-{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        return fd, tmp


def save(obj, path, *, extra=None, compress=3):
    """Save an estimator, pipeline or fitted search to ``path``, atomically.

    Parameters
    ----------
    obj : object
        Anything joblib can pickle; skdeep estimators pickle their networks
        in Keras's native format.
    path : str or path-like
    extra : dict, default=None
        JSON-serialisable facts to keep in the metadata (e.g. the target
        column's name).
    compress : int, default=3
        joblib compression level.

    Returns
    -------
    dict
        The metadata written.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the folder {folder!r} does not exist."
        )
    fd, tmp = _create_temporary(folder, path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC)
            writer = _HashingWriter(fh)
            joblib.dump(obj, writer, compress=compress)
            metadata = {
                "format": _FORMAT,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "versions": _versions(),
                "payload_sha256": writer.sha256.hexdigest(),
                "payload_bytes": writer.size,
                **_summary(obj),
                "extra": dict(extra or {}),
            }
            blob = json.dumps(metadata, default=str).encode()
            fh.write(blob + struct.pack(">Q", len(blob)) + _END)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return metadata


def _read_layout(fh, path):
    head = fh.read(len(_MAGIC))
    if head != _MAGIC:
        hint = ""
        if head[:1] in (b"\x80", b"x") or head.startswith(b"\x1f\x8b"):
            hint = " It looks like a plain pickle/joblib file: use joblib.load."
        raise IntegrityError(
            f"{path!r} is not a skdeep file (no skdeep header).{hint}"
        )
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail = len(_END) + 8
    if size < len(_MAGIC) + tail:
        raise IntegrityError(f"{path!r} is corrupt: truncated ({size} bytes).")
    fh.seek(size - tail)
    length_bytes = fh.read(8)
    if fh.read(len(_END)) != _END:
        raise IntegrityError(
            f"{path!r} is corrupt: its end marker is missing (truncated or "
            "overwritten after saving)."
        )
    (length,) = struct.unpack(">Q", length_bytes)
    meta_start = size - tail - length
    if meta_start < len(_MAGIC):
        raise IntegrityError(f"{path!r} is corrupt: bad metadata length.")
    fh.seek(meta_start)
    try:
        metadata = json.loads(fh.read(length))
    except ValueError as exc:
        raise IntegrityError(f"{path!r} is corrupt: unreadable metadata.") from exc
    return metadata, meta_start


def read_metadata(path):
    """The metadata of a skdeep file, without loading (or trusting) its object."""
    path = os.fspath(path)
    with open(path, "rb") as fh:
        return _read_layout(fh, path)[0]


def _version_differences(saved):
    current = _versions()
    return {k: (v, current.get(k)) for k, v in saved.items()
            if k in current and current[k] != v}


def load(path):
    """Load an object saved with :func:`save`.

    Verifies the checksum (``IntegrityError`` on a corrupt or truncated file),
    warns with the exact versions when the saving environment differs, and
    explains import failures caused by such differences.

    Only load files you trust: unpickling runs code from the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such model file: {path!r}.")
    with open(path, "rb") as fh:
        metadata, payload_end = _read_layout(fh, path)
        fh.seek(len(_MAGIC))
        payload = fh.read(payload_end - len(_MAGIC))
    digest = hashlib.sha256(payload).hexdigest()
    if len(payload) != metadata.get("payload_bytes") or digest != metadata.get(
        "payload_sha256"
    ):
        raise IntegrityError(
            f"{path!r} is corrupt: integrity check failed (SHA-256 of the "
            "content does not match the one recorded when it was saved). The "
            "file was changed or damaged after saving; save it again."
        )
    differences = _version_differences(metadata.get("versions", {}))
    if differences:
        listed = ", ".join(f"{k} {old} (saved) vs {new} (running)"
                           for k, (old, new) in differences.items())
        warnings.warn(
            f"{path!r} was saved with different library versions: {listed}. "
            "Predictions may differ; re-save it with the running versions.",
            VersionMismatchWarning,
            stacklevel=2,
        )
    try:
        return joblib.load(io.BytesIO(payload))
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        saved = metadata.get("versions", {})
        raise IntegrityError(
            f"Could not load {path!r}: {exc}. It was saved with "
            f"{', '.join(f'{k} {v}' for k, v in saved.items())}; install "
            "those versions to load it."
        ) from exc


def _network(obj):
    from skdeep.estimators.base import find_network

    if hasattr(obj, "best_estimator_"):
        obj = obj.best_estimator_
    network, _ = find_network(obj)
    if not hasattr(network, "model_"):
        raise ValueError(
            f"Export needs a fitted skdeep estimator (or a pipeline/search ending "
            f"in one); got {type(network).__name__} without model_."
        )
    return network_in_target_units(network)


def network_in_target_units(estimator):
    """The fitted network of ``estimator``, predicting in the target's units.

    skdeep's ready-made regressors train their network on standardised
    targets, ``(y - mean) / scale``, and undo that in ``predict``. For export,
    their network gets a last, frozen ``Dense`` layer (named
    ``"target_units"``, diagonal kernel ``scale``, bias ``mean``) that undoes
    it, so the exported network outputs what ``predict`` returns, with shape
    ``(n_samples, n_outputs)``. A plain Keras layer: the file loads without
    custom objects. Other estimators' networks are returned as they are.
    """
    import keras
    import numpy as np

    model = estimator.model_
    if not getattr(estimator, "_scale_target", False) or not hasattr(
            estimator, "_y_scale"):
        return model
    width = int(model.outputs[0].shape[-1])
    scale = np.broadcast_to(np.asarray(estimator._y_scale, np.float64), (width,))
    mean = np.broadcast_to(np.asarray(estimator._y_mean, np.float64), (width,))
    undo = keras.layers.Dense(width, trainable=False, dtype="float32",
                              name="target_units")
    outputs = undo(model.outputs[0])
    undo.set_weights([np.diag(scale).astype(np.float32), mean.astype(np.float32)])
    return keras.Model(model.input, outputs, name=model.name)


def export_keras(obj, path):
    """Write the fitted network in Keras's own ``.keras`` format.

    Safe to share: ``keras.saving.load_model(path)`` loads it without running
    code from the file (``safe_mode=True``). The preprocessing in front of it
    is not included. A regressor's network predicts in the target's units
    (see :func:`network_in_target_units`).
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"export_keras writes a .keras file; got {path!r}.")
    _network(obj).save(path)
    return path


def export_saved_model(obj, path):
    """Write the fitted network as a TensorFlow SavedModel for serving.

    The serving signature takes the network's input (the already
    preprocessed features) and returns the network's output: probabilities
    for skdeep's classifiers, predictions in the target's units for its
    regressors (see :func:`network_in_target_units`).
    """
    path = os.fspath(path)
    _network(obj).export(path, format="tf_saved_model", verbose=False)
    return path
