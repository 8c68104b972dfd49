"""`KerasClassifier(build_fn=...)`: a Keras model builder as a scikit-learn estimator, so the tutorial's
`GridSearchCV` over the builder's keyword arguments (`optimizer`, `activation`, `learning_rate`) runs.

As in Keras's wrapper, every extra keyword is a parameter: those `build_fn` takes go to it, those
`fit` takes (epochs, batch_size, validation_split...) go to `fit`. A builder that returns an
uncompiled model is compiled with its `optimizer`/`learning_rate` and categorical cross-entropy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from neuralab.errors import UserError
from neuralab.keras import optimizers
from neuralab.keras.utils import to_categorical

_FIT_ARGS = ("epochs", "batch_size", "validation_split", "shuffle", "callbacks")


class KerasClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, build_fn: Callable[..., Any] | None = None, **sk_params: Any) -> None:
        self.build_fn = build_fn
        self.sk_params = sk_params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"build_fn": self.build_fn, **self.sk_params}

    def set_params(self, **params: Any) -> KerasClassifier:
        for key, value in params.items():
            if key == "build_fn":
                self.build_fn = value
            else:
                self.sk_params[key] = value
        return self

    def _build(self) -> Any:
        if self.build_fn is None:
            raise UserError("KerasClassifier needs build_fn: a function that returns a model")
        accepted = inspect.signature(self.build_fn).parameters
        model = self.build_fn(**{k: v for k, v in self.sk_params.items() if k in accepted})
        if model._engine is None:  # not compiled by the builder: use the grid's optimizer settings
            name = self.sk_params.get("optimizer", "adam")
            optimizer = (
                optimizers.Optimizer(name, self.sk_params.get("learning_rate")) if isinstance(name, str) else name
            )
            model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, x: Any, y: Any, **fit_params: Any) -> KerasClassifier:
        labels = np.asarray(y)
        labels = labels.argmax(1) if labels.ndim == 2 else labels
        self.classes_ = np.unique(labels)
        index = np.searchsorted(self.classes_, labels)
        self.model_ = self._build()
        params = {k: v for k, v in self.sk_params.items() if k in _FIT_ARGS} | fit_params
        # As Keras's own wrapper: one-hot rows for categorical_crossentropy, class ids for the sparse loss.
        one_hot = getattr(self.model_, "_loss_name", "") == "categorical_crossentropy"
        self.model_.fit(np.asarray(x), to_categorical(index, len(self.classes_)) if one_hot else index, **params)
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        probs: np.ndarray = self.model_.predict(np.asarray(x))
        return probs

    def predict(self, x: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(x).argmax(1)])
