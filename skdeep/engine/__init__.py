"""Training: one engine under every estimator.

- ``run``: the engine's entry point: a ``TrainingSpec`` run on the compiled
  loop or on ``keras.Model.fit`` (one eligibility rule, one seed, sample
  weight and history policy); both estimator families call it.
- ``training``: flat hyperparameters -> Keras optimizers, schedules, callbacks,
  losses; seeded builds.
- ``keys``: what names a network, optimizer and loss, so that identical ones
  share a traced loop.
- ``loop_tf`` / ``loop_jax``: the compiled whole-fit loop and the stateless
  forward pass, per backend.
- ``loop_chunks``: the compiled loop for streamed or sparse X (memmaps,
  Dask, CSR matrices), one traced call per chunk of batches read ahead in a
  background thread (TensorFlow).
- ``cache``: the bounded cache of traced loops and forward passes.
- ``forward_pass``: the one padded forward pass of fitted networks (``predict``).
- ``keras_fit``: ``keras.Model.fit`` for what the compiled loop does not run.
- ``inputs`` / ``dask_inputs``: data read batch by batch (memmaps, Keras
  datasets; Dask arrays and DataFrames block by block, the ``dask`` extra).
- ``routing``, ``keras_objects``, ``process``: scikeras-style parameter
  routing, Keras object helpers, TensorFlow's retracing warning silenced
  for skdeep's own calls (no process-wide settings).

Nothing here knows scikit-learn's estimator API: the estimators
(``skdeep.estimators``, ``skdeep.wrappers``) call in, never the reverse.
"""

from skdeep.engine.cache import cache_info, clear_cache, forward, train
from skdeep.engine.forward_pass import predict
from skdeep.engine.keys import architecture_key, network_key, weights_key
from skdeep.engine.loop_tf import LoopSpec

__all__ = ["LoopSpec", "architecture_key", "cache_info", "clear_cache", "forward",
           "network_key", "predict", "train", "weights_key"]
