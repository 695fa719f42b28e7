"""Classifiers: label encoding, probabilities, losses by target type.

``BaseKerasClassifier`` is what every skdeep classifier shares;
the generic ``KerasClassifier`` is in ``skdeep.wrappers``.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from skdeep._compat import StrOptions
from skdeep.engine.keras_objects import from_logits, is_one_hot_loss
from skdeep.estimators._dask import lazy_on_dask
from skdeep.estimators._inputs import _score
from skdeep.estimators.base import BaseKerasEstimator

__all__ = ["BaseKerasClassifier"]


class BaseKerasClassifier(ClassifierMixin, BaseKerasEstimator):
    """Shared classifier behaviour. Use a concrete subclass."""

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _score_metric = "accuracy"

    # ------------------------------------------------------------- targets
    def _fit_target(self, y, classes=None):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y, input_name="y")
        if target_type == "multilabel-indicator":
            self.classes_ = np.arange(y.shape[1])
            self.n_outputs_ = y.shape[1]
            self.target_type_ = target_type
            self._label_dtype = y.dtype
            return y.astype(np.float32)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary, multiclass and "
                f"multilabel-indicator targets; y is {target_type!r}. Fit one "
                "classifier per output (sklearn.multioutput.MultiOutputClassifier)."
            )
        self._label_encoder = LabelEncoder().fit(y if classes is None
                                                 else np.asarray(classes))
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y, but y "
                f"contains only one class: {self.classes_.tolist()}. Check the "
                "target column, or the CV splitter (use a stratified one)."
            )
        self.n_outputs_ = 1
        self.target_type_ = "binary" if len(self.classes_) == 2 else "multiclass"
        return self._transform_target(y)

    def _transform_target(self, y):
        y = np.asarray(y)
        if self.target_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has shape {y.shape}, but this classifier was fitted on "
                    f"{len(self.classes_)} labels."
                )
            return y.astype(np.float32)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels not seen in the first fit: "
                f"{unseen.tolist()}; known classes are "
                f"{self.classes_.tolist()}. Pass every class to the first "
                "partial_fit with classes=..."
            )
        return self._label_encoder.transform(y).astype(np.int32)

    def _graph_score(self):
        return ("multilabel_accuracy" if self.target_type_ == "multilabel-indicator"
                else "accuracy")

    def _decode_target(self, y_enc):
        if self.target_type_ == "multilabel-indicator":
            return np.asarray(y_enc).astype(self._label_dtype)
        return self.classes_[np.asarray(y_enc)]

    def _stratify(self, y_enc):
        return y_enc if self.target_type_ != "multilabel-indicator" else None

    def _class_sample_weight(self, y_raw):
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return 1.0
        if self.target_type_ == "multilabel-indicator":
            raise ValueError(
                "class_weight is not supported for multilabel targets; pass "
                "sample_weight instead."
            )
        if isinstance(class_weight, dict):
            unknown = set(class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has keys {sorted(unknown, key=str)} that are "
                    f"not classes of y; the classes are {self.classes_.tolist()}."
                )
        return compute_sample_weight(class_weight, y_raw)

    def _prepare_sample_weight(self, sample_weight, X, y_raw):
        sw = super()._prepare_sample_weight(sample_weight, X, y_raw)
        if sw is not None and self.target_type_ != "multilabel-indicator":
            weighted = np.unique(np.asarray(y_raw)[sw > 0])
            if len(weighted) < 2:
                raise ValueError(
                    "Only one class has a positive sample_weight "
                    f"({weighted.tolist()}); a classifier needs at least 2 classes."
                )
        return sw

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        Has no validation split, so ``early_stopping`` must be False (as in
        scikit-learn). The optimizer's state carries over between calls
        unless its settings changed; ``history_`` and ``n_iter_`` grow by one
        epoch per call. X and the labels keep the kind of data of the first
        call: another width passes (float64 after float32), but string
        labels after integer ones, object X after numeric X, int64 X after
        float32 X or a label matrix after 1-D labels raise.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class label (or, for multilabel targets, label index) that
            any call will see. Required on the first call, ignored later, as
            in scikit-learn.

        Returns
        -------
        self : object
        """
        if not self.__sklearn_is_fitted__() and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: "
                "later batches may hold classes the first one lacks. Pass "
                "classes=np.unique(y_all) (all labels of the whole dataset).")
        return self._partial_fit(X, y, sample_weight, classes=classes)

    # -------------------------------------------------------------- network
    def _output_spec(self):
        """(units, activation) of the output layer for this target."""
        if self.target_type_ == "multilabel-indicator":
            return self.n_outputs_, "sigmoid"
        if self.target_type_ == "binary":
            return 1, "sigmoid"
        return len(self.classes_), "softmax"

    def _default_loss(self, model):
        if self.target_type_ == "multilabel-indicator":
            return "binary_crossentropy"
        if self.target_type_ == "binary" and self._output_units(model) in (1, None):
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def _check_output_shape(self, model):
        units = self._output_units(model)
        if units is None:
            return
        if self.target_type_ == "multilabel-indicator":
            expected = (self.n_outputs_,)
        elif self.target_type_ == "binary":
            expected = (1, 2)
        else:
            expected = (len(self.classes_),)
        if units not in expected:
            raise ValueError(
                f"The network's output layer has {units} unit(s), but the "
                f"{self.target_type_} target needs "
                f"{' or '.join(map(str, expected))}. Build the output layer "
                "from meta['n_classes_'] (or meta['n_outputs_'] for multilabel)."
            )

    def _loss_target(self, y_enc, model):
        loss = getattr(model, "loss", None)
        if self.target_type_ == "multilabel-indicator":
            return y_enc
        if is_one_hot_loss(loss):
            return np.eye(len(self.classes_), dtype=np.float32)[y_enc]
        if self._output_units(model) == 1:
            return y_enc.astype(np.float32).reshape(-1, 1)
        return y_enc

    # ----------------------------------------------------------- prediction
    @lazy_on_dask
    def predict_proba(self, X):
        """Class probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1 for binary and multiclass targets; for multilabel
            targets, column ``j`` is the probability of label ``j``.
        """
        raw = self._predict_raw(X)
        logits = from_logits(getattr(self.model_, "loss", None))
        if self.target_type_ == "multilabel-indicator" or raw.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-raw)) if logits else raw
            p = np.clip(p, 0.0, 1.0)
            if self.target_type_ == "multilabel-indicator":
                return p
            return np.hstack([1.0 - p, p])
        if logits:
            raw = np.exp(raw - raw.max(axis=1, keepdims=True))
        proba = np.clip(raw, 0.0, None)
        total = proba.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return proba / total

    @lazy_on_dask
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @lazy_on_dask
    def predict(self, X):
        """Predicted labels, of the same type as the ``y`` given to fit."""
        proba = self.predict_proba(X)
        if self.target_type_ == "multilabel-indicator":
            return (proba >= 0.5).astype(self._label_dtype)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y=None, sample_weight=None):
        """Mean accuracy of the predictions for X against y.

        X may also be a Keras dataset (``keras.utils.PyDataset``,
        ``tf.data.Dataset``) with ``y=None``: its batches' targets (and
        weights, from batches ``(x, y, sample_weight)``) are scored against
        the predictions of their x, in one pass. For Dask X the predictions
        are computed block by block, and a Dask y is computed into memory.
        """
        return _score(self, ClassifierMixin.score, accuracy_score, X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
