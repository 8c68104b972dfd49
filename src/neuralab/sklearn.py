"""scikit-learn estimators over neuralab's Trainer, so GridSearchCV, cross_val_score and Pipeline work.

`model` is a registered name (`neuralab models`) or any callable `(input_shape, num_classes) ->
torch.nn.Module`. Inputs are standardised per feature with statistics of the data `fit` sees
(inside a cross-validation fold, only that fold's training part).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from neuralab.data import BatchLoader, Preprocess, TensorSamples
from neuralab.data.transforms import channel_stats
from neuralab.models import create_model
from neuralab.train import Device, Trainer, build_optimizer
from neuralab.train.losses import cross_entropy, mse

ModelSpec = str | Callable[..., nn.Module]


class _NeuralNetBase(BaseEstimator):
    def __init__(
        self,
        model: ModelSpec = "mlp",
        model_args: dict[str, Any] | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int = 20,
        batch_size: int = 32,
        random_state: int = 0,
        device: str = "cpu",
    ) -> None:
        self.model = model
        self.model_args = model_args
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device

    _classification = True

    def _build(self, n_features: int, n_outputs: int) -> nn.Module:
        if isinstance(self.model, str):
            return create_model(self.model, (n_features,), n_outputs, **(self.model_args or {}))
        return self.model((n_features,), n_outputs, **(self.model_args or {}))

    def _fit_arrays(self, x: np.ndarray, y: torch.Tensor, n_outputs: int) -> None:
        torch.manual_seed(self.random_state)
        features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        mean, std = channel_stats(features, 1.0)
        self.preprocess_ = Preprocess(kind="vector", input_shape=(x.shape[1],), mean=mean, std=std, scale=1.0)
        module = self._build(x.shape[1], n_outputs)
        device = Device.create(self.device, "32", "off", module)
        loss = cross_entropy() if self._classification else mse()
        trainer = Trainer(
            module,
            build_optimizer(module, self.optimizer, lr=self.lr, weight_decay=self.weight_decay),
            loss,
            device=device,
            classification=self._classification,
        )
        loader = BatchLoader(
            TensorSamples(features, y),
            self.batch_size,
            self.preprocess_,
            shuffle=True,
            seed=self.random_state,
            device=device.device,
            drop_last=len(x) > 2 * self.batch_size,
        )
        trainer.fit(loader, None, self.epochs)
        # Only the module is kept (not the Trainer and its closures), so the estimator pickles and clones.
        self.module_ = trainer.model.to("cpu").eval()

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "module_")
        x = validate_data(self, x, reset=False, dtype=np.float32)
        features = torch.from_numpy(np.ascontiguousarray(x))
        with torch.inference_mode():
            return torch.cat(
                [self.module_(self.preprocess_.normalize(chunk)) for chunk in features.split(4096)]
            ).numpy()


class NeuralNetClassifier(ClassifierMixin, _NeuralNetBase):
    """A torch classifier with scikit-learn's API: fit / predict / predict_proba / score.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import cross_val_score
    >>> from neuralab.sklearn import NeuralNetClassifier
    >>> x, y = load_iris(return_X_y=True)
    >>> clf = NeuralNetClassifier(model_args={"widths": [16]}, lr=1e-2, epochs=30)
    >>> bool(cross_val_score(clf, x, y, cv=3).mean() > 0.8)
    True
    """

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        x, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self._fit_arrays(x, torch.from_numpy(encoded.astype(np.int64)), max(len(self.classes_), 2))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        logits = torch.from_numpy(self._outputs(X))
        probs = torch.softmax(logits.double(), 1).numpy()
        return probs[:, : len(self.classes_)] / probs[:, : len(self.classes_)].sum(1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        probs = self.predict_proba(X)
        return self.classes_[probs.argmax(1)]


class NeuralNetRegressor(RegressorMixin, _NeuralNetBase):
    """A torch regressor with scikit-learn's API (mean squared error); one output per target column.

    >>> import numpy as np
    >>> from neuralab.sklearn import NeuralNetRegressor
    >>> x = np.random.default_rng(0).normal(size=(200, 3))
    >>> y = x @ np.array([1.0, -2.0, 0.5])
    >>> reg = NeuralNetRegressor(model_args={"widths": [16]}, lr=1e-2, epochs=40).fit(x, y)
    >>> bool(reg.score(x, y) > 0.9)
    True
    """

    _classification = False

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one network output per target column
        return tags

    def fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        x, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True, multi_output=True)
        y = np.asarray(y, dtype=np.float32)
        self._single_output = y.ndim == 1
        targets = torch.from_numpy(y.reshape(len(y), -1))
        self._fit_arrays(x, targets, targets.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self._outputs(X).astype(np.float64)  # scikit-learn expects float64 predictions
        return out[:, 0] if self._single_output else out
