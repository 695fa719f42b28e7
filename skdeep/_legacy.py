"""Module paths of skdeep 0.1.0, kept so that old imports and saved files work.

skdeep 0.1.0 kept every module in one folder (``skdeep.estimators``,
``skdeep.sequence``, ``skdeep._loop``, ...). Pickle and joblib files name the
module of every class they hold, and users import public names from those
paths (``skdeep.export.load_onnx``, ``skdeep.persistence.export_keras``). An
old path imports as the module that now holds its code: an alias, resolved
only when it is imported, so ``import skdeep`` stays cheap. The finder answers
for these names alone.
"""

import importlib
import importlib.abc
import importlib.util
import sys

# old module -> the module that holds its code now
ALIASES = {
    "skdeep._bayes": "skdeep.search.bayes",
    "skdeep._docs": "skdeep.estimators._docs",
    "skdeep._encoders": "skdeep.wrappers.encoders",
    "skdeep._keras_fit": "skdeep.engine.keras_fit",
    "skdeep._keras_objects": "skdeep.engine.keras_objects",
    "skdeep._loop": "skdeep.engine",
    "skdeep._loop_jax": "skdeep.engine.loop_jax",
    "skdeep._onnx_quantize": "skdeep.deploy.onnx_quantize",
    "skdeep._onnx_runtime": "skdeep.deploy.onnx_runtime",
    "skdeep._process": "skdeep.engine.process",
    "skdeep._routing": "skdeep.engine.routing",
    "skdeep.autoencoder": "skdeep.estimators.autoencoder",
    "skdeep.base": "skdeep.estimators.base",
    "skdeep.classifier": "skdeep.estimators.classifier",
    "skdeep.export": "skdeep.deploy.export",
    "skdeep.persistence": "skdeep.deploy.persistence",
    "skdeep.plotting": "skdeep.search.plotting",
    "skdeep.regressor": "skdeep.estimators.regressor",
    "skdeep.sequence": "skdeep.estimators.sequence",
    "skdeep.text": "skdeep.estimators.text",
    "skdeep.tracking": "skdeep.search.tracking",
    "skdeep.training": "skdeep.engine.training",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ALIASES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(ALIASES[spec.name])

    def exec_module(self, module):
        pass  # the module ran when it was imported under its own name


def install():
    """Answer imports of the old paths (once per process)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
