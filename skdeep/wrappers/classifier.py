"""``KerasClassifier``: scikeras's classifier API over skdeep's engine."""



import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target

from skdeep.engine import dask_inputs
from skdeep.engine.keras_objects import (
    from_logits,
    has_outputs,
)
from skdeep.estimators._docs import WRAPPER_DOC
from skdeep.wrappers._streaming import is_lazy_dask, lazy
from skdeep.wrappers.base import BaseWrapper
from skdeep.wrappers.encoders import (
    ClassifierLabelEncoder,
)

__all__ = ["KerasClassifier"]


class KerasClassifier(ClassifierMixin, BaseWrapper):
    __doc__ = """Scikit-learn classifier around your Keras network (scikeras's API).

    A scikeras user changes only the import; the differences are in the
    README's "Coming from scikeras" table.
    """ + WRAPPER_DOC.format(
        cls_meta=", ``classes_``, ``n_classes_``",
        loss_doc="None picks binary or sparse categorical cross-entropy from "
                 "the target and the output layer (scikeras raises).",
        extra="""
    class_weight : dict, "balanced" or None, default=None
        Weights by class label, applied as sample weights.""") + """
    Attributes
    ----------
    model_ : keras.Model
    history_ : dict of str to list of float
    classes_ : ndarray (a list of them for multiclass-multioutput y)
    n_classes_, n_outputs_, n_outputs_expected_, target_type_, X_shape_,
    X_dtype_, y_dtype_, y_ndim_, n_features_in_, feature_encoder_,
    target_encoder_, current_epoch, initialized_

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_iris
    >>> from skdeep import KerasClassifier
    >>> def build(meta, hidden=8):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(hidden, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasClassifier(build, model__hidden=16, epochs=5, verbose=0,
    ...                       random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 3)
    """

    def __init__(
        self,
        model=None,
        *,
        build_fn=None,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        input_columns=None,
        class_weight=None,
        **kwargs,
    ):
        super().__init__(
            model=model, build_fn=build_fn, warm_start=warm_start,
            random_state=random_state, optimizer=optimizer, loss=loss,
            metrics=metrics, batch_size=batch_size,
            validation_batch_size=validation_batch_size, verbose=verbose,
            callbacks=callbacks, validation_split=validation_split,
            shuffle=shuffle, run_eagerly=run_eagerly, epochs=epochs,
            input_columns=input_columns, **kwargs)
        self.class_weight = class_weight

    _fit_kwargs = BaseWrapper._fit_kwargs - {"class_weight"}

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """Accuracy (override to change ``score``)."""
        return accuracy_score(y_true, y_pred, **kwargs)

    score = BaseWrapper.score  # through ``scorer``, not ClassifierMixin's

    def _type_of_target(self, y):
        target_type = type_of_target(y)
        classes = self.__dict__.get("classes_")
        if target_type == "binary" and classes is not None:
            target_type = type_of_target(np.asarray(classes))
        return target_type

    @property
    def target_encoder(self):
        """Labels to the network's targets and back (override for other targets)."""
        classes = self.__dict__.get("classes_")
        categories = "auto" if classes is None else [np.asarray(classes)]
        return ClassifierLabelEncoder(loss=self.loss, categories=categories)

    def _default_loss(self):
        """Cross-entropy for the target and the output layer."""
        outputs = self.model_.outputs if has_outputs(self.model_) else []
        units = [int(o.shape[-1]) for o in outputs] or [None]
        if self.target_type_ == "multilabel-indicator":
            return "binary_crossentropy"
        if self.target_type_ == "multiclass-multioutput":
            return ["binary_crossentropy" if u == 1 else
                    "sparse_categorical_crossentropy" for u in units]
        if self.target_type_ == "binary" and units[0] in (1, None):
            return "binary_crossentropy"
        if getattr(self.target_encoder_, "_target_type", "") == "multiclass-onehot":
            return "categorical_crossentropy"
        return "sparse_categorical_crossentropy"

    def _check_model_compatibility(self, y):
        super()._check_model_compatibility(y)
        outputs = self.model_.outputs if has_outputs(self.model_) else []
        if len(outputs) != 1 or self.target_type_ not in ("binary", "multiclass"):
            return
        units = outputs[0].shape[-1]
        expected = (1, 2) if self.n_classes_ <= 2 else (self.n_classes_,)
        if units is not None and int(units) not in expected:
            raise ValueError(
                f"The network's output layer has {units} unit(s), but the "
                f"{self.target_type_} target needs "
                f"{' or '.join(map(str, expected))}. Build the output layer "
                "from meta['n_classes_'].")

    def initialize(self, X, y):
        self.__dict__.pop("classes_", None)
        return super().initialize(X, y)

    def fit(self, X, y=None, sample_weight=None, **kwargs):
        self.__dict__.pop("classes_", None)
        y, sample_weight = dask_inputs.gather(y), dask_inputs.gather(sample_weight)
        sample_weight = self._weight_classes(y, sample_weight)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train one epoch; ``classes`` lists every label of the whole data
        (needed in the first call when a batch may lack some)."""
        if classes is not None:
            self.classes_ = np.asarray(classes)
        sample_weight = self._weight_classes(y, sample_weight)
        return super().partial_fit(X, y, sample_weight=sample_weight, **kwargs)

    def _weight_classes(self, y, sample_weight):
        if self.class_weight is None or y is None:  # a dataset: refused in fit
            return sample_weight
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * np.asarray(
            sample_weight)

    def _predict_raw(self, X, **kwargs):
        """Network outputs; logits (a loss with ``from_logits=True``) become
        probabilities, so ``predict_proba`` always returns probabilities."""
        raw = super()._predict_raw(X, **kwargs)
        if not from_logits(self.model_.loss) or isinstance(raw, (list, dict)):
            return raw
        from scipy.special import expit, softmax

        raw = np.asarray(raw, dtype=np.float64)
        return expit(raw) if raw.ndim == 1 or raw.shape[-1] == 1 or (
            self.target_type_ == "multilabel-indicator") else softmax(raw, axis=-1)

    def predict_proba(self, X, **kwargs):
        """Class probabilities, shape (n_samples, n_classes); a list of them for
        multiclass-multioutput targets; for a Dask X, a lazy Dask array
        computed block by block."""
        if is_lazy_dask(X):
            return lazy(self, "predict_proba", X, kwargs)
        raw = self._predict_raw(X, **kwargs)
        return self.target_encoder_.inverse_transform(raw, return_proba=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.poor_score = True
        return tags
