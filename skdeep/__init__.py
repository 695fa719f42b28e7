"""skdeep: Keras networks as first-class scikit-learn estimators.

Importing skdeep is cheap: Keras and TensorFlow load only when an estimator is
first fitted or loaded (names here are resolved lazily).
"""

import importlib

from skdeep import _legacy

__version__ = "0.1.0"

_EXPORTS = {
    "MLPClassifier": "skdeep.estimators.mlp",
    "MLPRegressor": "skdeep.estimators.mlp",
    "CNNClassifier": "skdeep.estimators.images",
    "TransferClassifier": "skdeep.estimators.images",
    "SequenceClassifier": "skdeep.estimators.sequence",
    "SequenceRegressor": "skdeep.estimators.sequence",
    "TextClassifier": "skdeep.estimators.text",
    "TabularClassifier": "skdeep.estimators.tabular",
    "TabularRegressor": "skdeep.estimators.tabular",
    "AutoencoderTransformer": "skdeep.estimators.autoencoder",
    "KerasClassifier": "skdeep.wrappers.classifier",
    "KerasRegressor": "skdeep.wrappers.regressor",
    "TabularCleaner": "skdeep.preprocessing",
    "make_tabular_pipeline": "skdeep.preprocessing",
    "tune": "skdeep.search.tune",
    "results_table": "skdeep.search.tune",
    "save": "skdeep.deploy.persistence",
    "load": "skdeep.deploy.persistence",
    "cache_info": "skdeep.engine.cache",
    "clear_cache": "skdeep.engine.cache",
    "export_onnx": "skdeep.deploy.export",
}

__all__ = [*sorted(_EXPORTS), "__version__"]

_legacy.install()  # old module paths (files saved by 0.1.0 name them)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skdeep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
