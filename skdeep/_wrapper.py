"""What only the generic wrappers need: routed parameters and build functions.

``KerasClassifier`` / ``KerasRegressor`` take extra keyword arguments in
scikeras's convention (``model__units=8``, ``optimizer__beta_1=0.8``, plain
build-function arguments). They live in one private dict, never as
attributes, so they cannot collide with a parameter or a fitted attribute;
``get_params`` / ``set_params`` expose them so ``clone`` and searches see
them.
"""

from ._routing import (
    ROUTED_DESTINATIONS,
    build_fn_arguments,
    check_routed_names,
    route_params,
)

__all__ = ["RoutedParamsMixin"]


class RoutedParamsMixin:
    """Mixin for estimators whose network comes from the ``model`` parameter."""

    _accepts_routed_params = True  # searches accept any ``model__x`` name

    def _routed_params(self):
        return dict(getattr(self, "_routed", {}))

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
        own = set(self._get_param_names())
        routed = {}
        for key in list(params):
            head = key.split("__", 1)[0]
            if ("__" in key and head in ROUTED_DESTINATIONS) or key not in own:
                routed[key] = params.pop(key)
        self._routed = {**self._routed_params(), **routed}
        return super().set_params(**params) if params else self

    def _check_params(self):
        check_routed_names(self._routed_params(), owner=type(self).__name__,
                           known_params=self._get_param_names())

    def _architecture_params(self):
        """The network is defined by ``model`` and its build arguments."""
        routed = self._routed_params()
        return {"model": self.model,
                **{k: v for k, v in routed.items()
                   if "__" not in k or k.startswith("model__")}}

    def _build_keras_model(self, meta, seed=None):
        """Build the network from ``model``.

        A ``keras.Model`` is cloned (fresh weights, the user's object is never
        trained); a callable is called with the arguments its signature asks
        for: ``meta``, ``compile_kwargs`` and its own ``model__`` parameters.
        """
        import keras

        from . import training

        name = type(self).__name__
        if self.model is None:
            raise ValueError(
                f"{name} needs a network: pass model=<a keras.Model or a "
                f"function returning one>, e.g. {name}(model=build_fn). For "
                "a ready-made network use skdeep.MLPClassifier / MLPRegressor."
            )
        if isinstance(self.model, keras.Model):
            return keras.models.clone_model(self.model)
        if not callable(self.model):
            raise TypeError(
                f"{name}(model=...) must be a keras.Model or a callable "
                f"returning one; got {type(self.model).__name__}."
            )
        routed = self._routed_params()
        kwargs = {k: v for k, v in routed.items() if "__" not in k}
        kwargs.update(route_params(routed, "model"))
        compile_kwargs = {
            "optimizer": training.make_optimizer(
                self.optimizer, self.learning_rate, momentum=self.momentum,
                kwargs=route_params(routed, "optimizer")),
            "loss": getattr(self, "loss", None),
            "metrics": getattr(self, "metrics", None),
        }
        args = build_fn_arguments(self.model, owner=name, kwargs=kwargs,
                                  meta=meta, compile_kwargs=compile_kwargs)
        return self.model(**args)
