"""Generic wrappers that speak scikeras's public API: bring your own network.

- ``base``: ``BaseWrapper``, the scikeras lifecycle (``initialize``, routed
  parameters, ``feature_encoder`` / ``target_encoder``) over skdeep's engine;
- ``classifier`` / ``regressor``: ``KerasClassifier`` / ``KerasRegressor``;
- ``encoders``: the default data transformers (scikeras's interface).
"""

from skdeep.wrappers.base import BaseWrapper
from skdeep.wrappers.classifier import KerasClassifier
from skdeep.wrappers.encoders import ClassifierLabelEncoder, RegressorTargetEncoder
from skdeep.wrappers.regressor import KerasRegressor

__all__ = ["BaseWrapper", "ClassifierLabelEncoder", "KerasClassifier",
           "KerasRegressor", "RegressorTargetEncoder"]
