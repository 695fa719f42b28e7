"""The ready-made estimators: flat hyperparameters, scikit-learn's conventions.

All share ``base.BaseKerasEstimator`` (the fit / predict lifecycle) and its
classifier and regressor halves; each family module holds only what is its
own. Networks come from ``skdeep.architectures``; training from
``skdeep.engine``.
"""

from skdeep.estimators.autoencoder import AutoencoderTransformer
from skdeep.estimators.images import CNNClassifier, TransferClassifier
from skdeep.estimators.mlp import MLPClassifier, MLPRegressor
from skdeep.estimators.sequence import SequenceClassifier, SequenceRegressor
from skdeep.estimators.tabular import TabularClassifier, TabularRegressor
from skdeep.estimators.text import TextClassifier

__all__ = ["AutoencoderTransformer", "CNNClassifier", "MLPClassifier", "MLPRegressor",
           "SequenceClassifier", "SequenceRegressor", "TabularClassifier",
           "TabularRegressor", "TextClassifier",
           "TransferClassifier"]
