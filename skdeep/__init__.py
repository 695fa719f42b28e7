"""skdeep: Keras networks as first-class scikit-learn estimators.

Importing skdeep is cheap: Keras and TensorFlow load only when an estimator is
first fitted or loaded (names here are resolved lazily).
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "MLPClassifier": "skdeep.estimators",
    "MLPRegressor": "skdeep.estimators",
    "CNNClassifier": "skdeep.estimators",
    "TransferClassifier": "skdeep.estimators",
    "SequenceClassifier": "skdeep.sequence",
    "SequenceRegressor": "skdeep.sequence",
    "TextClassifier": "skdeep.text",
    "AutoencoderTransformer": "skdeep.autoencoder",
    "KerasClassifier": "skdeep.wrappers",
    "KerasRegressor": "skdeep.wrappers",
    "TabularCleaner": "skdeep.preprocessing",
    "make_tabular_pipeline": "skdeep.preprocessing",
    "tune": "skdeep.search",
    "results_table": "skdeep.search",
    "save": "skdeep.persistence",
    "load": "skdeep.persistence",
    "cache_info": "skdeep._loop",
    "clear_cache": "skdeep._loop",
    "export_onnx": "skdeep.export",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skdeep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
