"""Process configuration: the backend's thread pools and log noise.

The only module that changes process-wide settings, once per process, at the
first fit. Nothing here is undone afterwards: these are settings a worker
process needs for its whole life, not state of one fit.
"""

import logging
import os
import threading
import warnings

from skdeep.exceptions import SkdeepWarning

__all__ = ["configure_process"]

_LOCK = threading.Lock()
_CONFIGURED = False


class _RetracingNoiseFilter(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning.

    Keras traces new functions for every new network; in a search that is by
    design, and TensorFlow's warning about it is noise.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def _thread_limit():
    """Threads this process may use, from the environment, or None."""
    name = "SKDEEP_NUM_THREADS" if os.environ.get("SKDEEP_NUM_THREADS") else (
        "OMP_NUM_THREADS")
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return max(1, int(value))
    except ValueError:
        if name == "SKDEEP_NUM_THREADS":  # OpenMP's own variable may be a list
            warnings.warn(
                f"SKDEEP_NUM_THREADS={value!r} is not a whole number of threads;"
                " the backend keeps its default thread pools. Set e.g. "
                "SKDEEP_NUM_THREADS=2.", SkdeepWarning, stacklevel=5)
        return None


def configure_process():
    """Limit the backend's thread pools to the process's share of the CPUs.

    joblib (loky) and Dask workers export ``OMP_NUM_THREADS`` to say how many
    threads each worker may use; TensorFlow and JAX (XLA) ignore it and start
    one thread per core in every worker, so parallel searches fight for the
    CPUs. Here the limit is passed on (TensorFlow's thread pools, JAX's
    ``XLA_FLAGS``); ``SKDEEP_NUM_THREADS`` overrides it. Runs once per
    process, before the backend starts its runtime; afterwards a no-op.
    """
    global _CONFIGURED
    with _LOCK:
        if _CONFIGURED:
            return
        _CONFIGURED = True
    logging.getLogger("tensorflow").addFilter(_RetracingNoiseFilter())
    n_threads = _thread_limit()
    if n_threads is None:
        return
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        # JAX's CPU client reads XLA_FLAGS when it starts, at its first op
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            extra = f"intra_op_parallelism_threads={n_threads}"
            if n_threads == 1:
                extra = "--xla_cpu_multi_thread_eigen=false " + extra
            os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(n_threads)
            tf.config.threading.set_inter_op_parallelism_threads(n_threads)
        except RuntimeError:  # the runtime is already running: too late
            pass
