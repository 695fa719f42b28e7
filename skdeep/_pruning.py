"""The Keras callback that feeds an Optuna trial and stops pruned candidates.

Imported only when a Bayesian search prunes (it needs Keras, which
``import skdeep`` does not load).
"""

import math

import keras

__all__ = ["PruningCallback"]


class PruningCallback(keras.callbacks.Callback):
    """Report a candidate's validation curve to its trial; stop it if pruned.

    One instance serves every fit of one candidate (all its CV folds, run one
    after another): scikit-learn clones parameters with ``copy.deepcopy``, so
    ``__deepcopy__`` returns the instance itself and the folds share its state.

    The first fit (the first fold) reports ``-val_loss`` after each epoch as
    the trial's intermediate value at step ``epoch`` (the study maximises, so
    lower losses are better values). When the pruner says so, that fit stops
    at the end of the epoch and every later fold of the candidate stops after
    its first batch: the candidate is marked ``pruned`` and its scores are not
    used.

    Parameters
    ----------
    trial : optuna.trial.Trial
    monitor : str, default="val_loss"
        A per-epoch log entry where lower is better.
    """

    def __init__(self, trial, monitor="val_loss"):
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self.pruned = False
        self.pruned_at_epoch = None
        self.reported = 0
        self._fits = 0

    def __deepcopy__(self, memo):
        return self

    def on_train_begin(self, logs=None):
        self._fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if self._fits != 1 or self.pruned:
            return
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        self.trial.report(-float(value), epoch)
        self.reported += 1
        if self.trial.should_prune():
            self.pruned = True
            self.pruned_at_epoch = epoch + 1
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self.pruned:
            self.model.stop_training = True
