"""Keras-style `compile / fit / evaluate / predict` on any torch.nn.Module, accepting numpy arrays.

The tutorials' Keras code maps nearly line for line:

    model = KerasModel(net)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=64, validation_split=0.1)
    loss, acc = model.evaluate(x_test, y_test)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralab.data.loader import BatchLoader
from neuralab.data.registry import TensorSamples
from neuralab.data.splits import stratified_split
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.train import losses, optim
from neuralab.train.callbacks.base import Callback
from neuralab.train.callbacks.history import History
from neuralab.train.device import Device
from neuralab.train.trainer import Trainer

ArrayLike = np.ndarray | torch.Tensor | Sequence[Any]
_IDENTITY = Preprocess(kind="vector", input_shape=(1,), mean=(0.0,), std=(1.0,), scale=1.0)


def _as_inputs(x: ArrayLike) -> torch.Tensor:
    """float32 for numbers (numpy gives float64 by default; uint8 pixels are numbers too), int64 for
    other integer arrays: token ids for an embedding, as Keras takes them."""
    tensor = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if not tensor.is_floating_point() and tensor.dtype not in (torch.uint8, torch.bool):
        return tensor.long()
    return tensor.float()


def _as_labels(y: ArrayLike, classification: bool) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if not classification:
        return tensor.float()
    if tensor.ndim == 2 and tensor.shape[1] > 1:  # one-hot, as keras.utils.to_categorical makes them
        return tensor.argmax(1).long()
    return tensor.reshape(-1).long()


class KerasModel:
    """Keras's `compile / fit / evaluate / predict` over a torch module, on neuralab's Trainer.

    Inputs are float arrays in PyTorch's layout, used as given (normalise them yourself, as in Keras);
    labels are integers or one-hot rows.

    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from torch import nn
    >>> from neuralab import KerasModel
    >>> x, y = load_digits(return_X_y=True)
    >>> x = (x / 16).astype(np.float32)
    >>> model = KerasModel(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)))
    >>> model = model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", lr=3e-3)
    >>> history = model.fit(x[:1500], y[:1500], epochs=5, batch_size=32, validation_split=0.1)
    >>> sorted(history.history)[:3]
    ['accuracy', 'epoch_s', 'loss']
    >>> loss, accuracy = model.evaluate(x[1500:], y[1500:])
    >>> accuracy > 0.85
    True
    >>> model.predict(x[:2]).shape
    (2, 10)
    """

    def __init__(self, module: nn.Module, device: str = "auto") -> None:
        self.module = module
        self.device = Device.create(device, model=module)
        self.trainer: Trainer | None = None
        self.classification = True

    def compile(
        self,
        optimizer: str | torch.optim.Optimizer = "adam",
        loss: str | losses.LossFn = "sparse_categorical_crossentropy",
        metrics: Sequence[str] = ("accuracy",),
        lr: float = 1e-3,
    ) -> KerasModel:
        """Choose the optimizer (a name or a torch optimizer), the loss (a Keras name or a function) and lr."""
        unknown = set(metrics) - {"accuracy", "acc"}
        if unknown:
            raise UserError(f"unknown metric(s) {sorted(unknown)}", hint="supported: accuracy")
        self.device.setup(self.module)
        self.classification = not (isinstance(loss, str) and loss in ("mse", "mean_squared_error"))
        opt = optim.get(optimizer, self.module, lr=lr)
        self.trainer = Trainer(
            self.module, opt, losses.get(loss), device=self.device, classification=self.classification
        )
        return self

    def _require_compiled(self) -> Trainer:
        if self.trainer is None:
            raise UserError("call compile() before fit/evaluate/predict")
        return self.trainer

    def _loader(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0) -> BatchLoader:
        return BatchLoader(
            TensorSamples(x, y), batch_size, _IDENTITY, shuffle=shuffle, seed=seed, device=self.device.device
        )

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        epochs: int = 1,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        callbacks: Sequence[Callback] = (),
        shuffle: bool = True,
        seed: int = 0,
    ) -> History:
        """Train for `epochs`; validation from `validation_data` or a stratified `validation_split`.

        Returns the History (`.history` holds loss, accuracy, val_loss, val_accuracy... per epoch).
        """
        trainer = self._require_compiled()
        inputs, labels = _as_inputs(x), _as_labels(y, self.classification)
        if len(inputs) != len(labels):
            raise UserError(f"x has {len(inputs)} examples but y has {len(labels)}")
        val: BatchLoader | None = None
        if validation_data is not None:
            val = self._loader(
                _as_inputs(validation_data[0]), _as_labels(validation_data[1], self.classification), 1024, False
            )
        elif validation_split > 0:
            # Keras takes the last fraction; a stratified split keeps every class in both parts.
            keep, held = stratified_split(
                labels if self.classification else torch.zeros(len(labels)).long(), validation_split, seed
            )
            val = self._loader(inputs[held], labels[held], 1024, False)
            inputs, labels = inputs[keep], labels[keep]
        trainer.history = History()
        trainer.callbacks.callbacks = [trainer.history, *callbacks]
        trainer.callbacks.set_trainer(trainer)
        trainer.state.epoch, trainer.state.batch = 0, 0
        return trainer.fit(self._loader(inputs, labels, batch_size, shuffle, seed), val, epochs)

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int = 1024) -> list[float]:
        """[loss, accuracy] as Keras returns them."""
        trainer = self._require_compiled()
        result = trainer.evaluate(self._loader(_as_inputs(x), _as_labels(y, self.classification), batch_size, False))
        return [result.loss, result.accuracy] if self.classification else [result.loss]

    def predict(self, x: ArrayLike, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities for classifiers (as a softmax head would give), raw outputs otherwise."""
        trainer = self._require_compiled()
        inputs = _as_inputs(x)
        output = trainer.predict(self._loader(inputs, torch.zeros(len(inputs), dtype=torch.long), batch_size, False))
        return (torch.softmax(output, 1) if self.classification else output).numpy()
