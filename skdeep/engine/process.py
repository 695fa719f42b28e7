"""TensorFlow's retracing noise, silenced for skdeep's own calls only.

skdeep changes no process-wide setting: not the backend's thread pools, not
``os.environ`` (``XLA_FLAGS``), not a logger beyond the call that needs it.
Thread pools are the user's to set (TensorFlow reads
``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``, JAX reads
``XLA_FLAGS``; see the README's section on Dask).
"""

import contextlib
import logging
import threading

__all__ = ["quiet_retracing"]

_LOCK = threading.Lock()
_QUIET = {}  # thread id -> depth of nested quiet_retracing blocks
_MESSAGE = "triggered tf.function retracing"


class _RetracingNoiseFilter(logging.Filter):
    """Drop TensorFlow's retracing warning, for the threads inside skdeep only.

    Keras traces new train and predict functions for every new network; in a
    search that is by design, and TensorFlow's warning about it is noise. A
    user's own functions, traced in their own threads, still warn.
    """

    def filter(self, record):
        return record.thread not in _QUIET or _MESSAGE not in record.getMessage()


_FILTER = _RetracingNoiseFilter()


@contextlib.contextmanager
def quiet_retracing():
    """Drop the retracing warning raised by this thread while inside the block.

    The filter is on the ``tensorflow`` logger only while some thread is
    inside such a block, and drops only records logged by those threads.
    Usable as a decorator: ``@quiet_retracing()``.
    """
    ident = threading.get_ident()
    logger = logging.getLogger("tensorflow")
    with _LOCK:
        depth = _QUIET.get(ident, 0)
        if not _QUIET:
            logger.addFilter(_FILTER)
        _QUIET[ident] = depth + 1
    try:
        yield
    finally:
        with _LOCK:
            if depth:
                _QUIET[ident] = depth
            else:
                del _QUIET[ident]
            if not _QUIET:
                logger.removeFilter(_FILTER)
