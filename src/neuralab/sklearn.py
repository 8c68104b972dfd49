"""scikit-learn estimators over neuralab's Trainer, so GridSearchCV, cross_val_score and Pipeline work.

`model` is a registered name (`neuralab models`) or any callable `(input_shape, num_classes) ->
torch.nn.Module`. The classifier takes what the tutorials feed a network:

- feature rows [N, F], standardised per feature with statistics of the data `fit` sees (inside a
  cross-validation fold, only that fold's training part);
- images [N, C, H, W] or Keras's [N, H, W, C] (uint8 or float), standardised per channel;
- sequences [N, T, F] of numbers, standardised per feature;
- token ids [N, T] (an integer array) for an embedding, passed as ids;
- raw texts (a list of strings), tokenised by a tokenizer fitted on the training texts;

and labels as class values or one-hot rows (`to_categorical`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from torch import nn

from neuralab.data import BatchLoader, Preprocess, TensorSamples
from neuralab.data.text import Tokenizer, encode
from neuralab.data.transforms import channel_stats
from neuralab.model_contract import adaptable
from neuralab.models import MODELS, create_model
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
    max_len = 64  # tokens kept per text, for raw-text inputs

    def _build(self, input_shape: tuple[int, ...], n_outputs: int, kind: str) -> nn.Module:
        args = dict(self.model_args or {})
        if kind == "text" and self.tokenizer_ is not None:
            args.setdefault("vocab_size", self.tokenizer_.vocab_size)
        if isinstance(self.model, str):
            return create_model(self.model, input_shape, n_outputs, kind, **args)
        return self.model(input_shape, n_outputs, **args)

    def _fit_arrays(self, x: np.ndarray, y: torch.Tensor, n_outputs: int, kind: str = "vector") -> None:
        torch.manual_seed(self.random_state)
        features = torch.from_numpy(np.ascontiguousarray(x))
        self.preprocess_ = _fitted_preprocess(features, kind)
        module = self._build(tuple(x.shape[1:]), n_outputs, kind)
        if (adapter := adaptable(module)) is not None:  # as the CLI does: statistics of the training inputs
            adapter.adapt(features)
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

    def _inputs(self, X: Any, reset: bool) -> tuple[np.ndarray, str]:
        """The inputs as one array, and their kind (see the module doc)."""
        if reset:
            self.tokenizer_: Tokenizer | None = None
        if _is_texts(X):
            texts = [str(t) for t in X]
            if reset:
                self.tokenizer_ = Tokenizer().fit(texts)
            if self.tokenizer_ is None:
                raise ValueError("this estimator was fitted on arrays, not texts")
            return encode(self.tokenizer_, texts, self.max_len).numpy(), "text"
        if hasattr(X, "tocsr"):  # scipy sparse: validate_data refuses it with scikit-learn's message
            return validate_data(self, X, reset=reset, dtype=np.float32), "vector"
        raw = np.asarray(X)
        if raw.ndim in (3, 4):
            x = validate_data(
                self, raw, reset=reset, allow_nd=True, dtype=np.float32 if raw.dtype != np.uint8 else None
            )
            if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
                x = x.transpose(0, 3, 1, 2)  # Keras's channels-last images
            return np.ascontiguousarray(x), "image" if x.ndim == 4 else "sequence"
        if raw.ndim == 2 and np.issubdtype(raw.dtype, np.integer) and self._takes_text():
            return validate_data(self, raw, reset=reset, dtype=np.int64), "tokens"
        return validate_data(self, raw, reset=reset, dtype=np.float32), "vector"

    def _takes_text(self) -> bool:
        """Integer rows are token ids for a text model, numeric features (scikit-learn's reading) otherwise."""
        return isinstance(self.model, str) and self.model in MODELS and "text" in MODELS.get(self.model).inputs

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "module_")
        x, _ = self._inputs(X, reset=False)
        features = torch.from_numpy(np.ascontiguousarray(x))
        with torch.inference_mode():
            return torch.cat(
                [self.module_(self.preprocess_.normalize(chunk)) for chunk in features.split(4096)]
            ).numpy()


def _is_texts(X: Any) -> bool:
    return isinstance(X, (list, tuple, np.ndarray)) and len(X) > 0 and all(isinstance(t, str) for t in X[:50])


def _fitted_preprocess(features: torch.Tensor, kind: str) -> Preprocess:
    """Standardisation fitted on the training inputs: per channel (images), per feature (rows, sequences)."""
    if kind in ("text", "tokens"):
        return Preprocess("vector", tuple(features.shape[1:]), (0.0,), (1.0,), 1.0, {"dtype": "int64"})
    scale = 1.0 / 255.0 if features.dtype == torch.uint8 else 1.0
    if kind == "sequence":
        mean, std = channel_stats(features.reshape(-1, features.shape[-1]), scale)
        return Preprocess("vector", tuple(features.shape[1:]), mean, std, scale)
    mean, std = channel_stats(features, scale)
    return Preprocess("image" if kind == "image" else "vector", tuple(features.shape[1:]), mean, std, scale)


class NeuralNetClassifier(ClassifierMixin, _NeuralNetBase):
    """A torch classifier with scikit-learn's API: fit / predict / predict_proba / score.

    Examples:
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.model_selection import cross_val_score
        >>> from neuralab.sklearn import NeuralNetClassifier
        >>> x, y = load_iris(return_X_y=True)
        >>> clf = NeuralNetClassifier(model_args={"widths": [16]}, lr=1e-2, epochs=30)
        >>> bool(cross_val_score(clf, x, y, cv=3).mean() > 0.8)
        True
    """

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        if y is None:
            raise ValueError("NeuralNetClassifier requires y to be passed, but the target y is None")
        x, kind = self._inputs(X, reset=True)
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"X has {len(x)} examples but y has {len(y)}")
        if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows, as keras.utils.to_categorical makes them
            self.classes_, encoded = np.arange(y.shape[1]), y.argmax(1)
        else:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            self.classes_, encoded = np.unique(y, return_inverse=True)
        model_kind = {"tokens": "text", "sequence": "sequence"}.get(kind, kind)
        self._fit_arrays(x, torch.from_numpy(encoded.astype(np.int64)), max(len(self.classes_), 2), model_kind)
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

    Examples:
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
        self.tokenizer_ = None
        y = np.asarray(y, dtype=np.float32)
        self._single_output = y.ndim == 1
        targets = torch.from_numpy(y.reshape(len(y), -1))
        self._fit_arrays(x, targets, targets.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self._outputs(X).astype(np.float64)  # scikit-learn expects float64 predictions
        return out[:, 0] if self._single_output else out
