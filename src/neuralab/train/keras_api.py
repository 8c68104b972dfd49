"""Keras-style `compile / fit / evaluate / predict` on any torch.nn.Module, accepting numpy arrays.

The tutorials' Keras code maps nearly line for line:

    model = KerasModel(net)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=64, validation_split=0.1)
    loss, acc = model.evaluate(x_test, y_test)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralab.data.loader import BatchLoader
from neuralab.data.registry import TensorSamples
from neuralab.data.splits import stratified_split
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.models.sources import builder_reference
from neuralab.runs import torch_versions
from neuralab.train import losses, optim
from neuralab.train.callbacks.base import Callback
from neuralab.train.callbacks.history import History
from neuralab.train.callbacks.progress import ProgressLogger
from neuralab.train.device import Device
from neuralab.train.metrics import classification_metrics
from neuralab.train.run_folder import SavedModel, inferred_preprocess, save_run_folder
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


def class_weighted(loss_fn: losses.LossFn, class_weight: dict[int, float], num_classes: int) -> losses.LossFn:
    """Keras's `class_weight`: each example's loss times its class's weight, averaged over the batch
    (not torch's weighted mean, which divides by the sum of the weights)."""
    weights = torch.ones(num_classes)
    for label, weight in class_weight.items():
        if not 0 <= int(label) < num_classes:
            raise UserError(f"class_weight names class {label}, but the labels run from 0 to {num_classes - 1}")
        weights[int(label)] = float(weight)

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per_example = torch.nn.functional.cross_entropy(logits.float(), target, reduction="none")
        return (per_example * weights.to(logits.device)[target]).mean()

    del loss_fn  # replaced: class weights are defined for cross-entropy only
    return loss


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

    Examples:
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
        self.loss_fn: losses.LossFn | None = None
        self.history_rows: list[dict[str, Any]] = []
        self.seen_inputs: tuple[tuple[int, ...], float, bool] | None = None  # shape, largest value, integer?
        self.num_classes = 0
        self.last_evaluation: tuple[float, np.ndarray, np.ndarray] | None = None  # loss, y_true, y_pred

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
        self.loss_fn = losses.get(loss)
        self.trainer = Trainer(self.module, opt, self.loss_fn, device=self.device, classification=self.classification)
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
        class_weight: dict[int, float] | None = None,
        verbose: int | str = 0,
    ) -> History:
        """Train for `epochs`; validation from `validation_data` or a stratified `validation_split`.

        Returns the History (`.history` holds loss, accuracy, val_loss, val_accuracy... per epoch).
        """
        trainer = self._require_compiled()
        inputs, labels = _as_inputs(x), _as_labels(y, self.classification)
        if len(inputs) != len(labels):
            raise UserError(f"x has {len(inputs)} examples but y has {len(labels)}")
        self._remember(inputs, labels, y)
        if class_weight is not None:
            if not self.classification or self.loss_fn is None:
                raise UserError("class_weight applies to classification losses only")
            trainer.loss_fn = class_weighted(self.loss_fn, class_weight, self.num_classes)
        elif self.loss_fn is not None:
            trainer.loss_fn = self.loss_fn
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
        train = self._loader(inputs, labels, batch_size, shuffle, seed)
        shown: list[Callback] = [ProgressLogger(epochs, len(train))] if verbose not in (0, "0", False) else []
        trainer.callbacks.callbacks = [trainer.history, *shown, *callbacks]
        trainer.callbacks.set_trainer(trainer)
        trainer.state.epoch, trainer.state.batch = 0, 0
        history = trainer.fit(train, val, epochs)
        self.history_rows.extend(history.rows)
        return history

    def _remember(self, inputs: torch.Tensor, labels: torch.Tensor, raw_labels: ArrayLike) -> None:
        """What `save` needs to describe the inputs: their shape, their range, whether they are token ids."""
        largest = float(inputs.max()) if inputs.numel() and inputs.is_floating_point() else 255.0
        self.seen_inputs = (tuple(inputs.shape[1:]), largest, not inputs.is_floating_point())
        if self.classification:
            width = np.asarray(raw_labels).shape[1] if np.asarray(raw_labels).ndim == 2 else 0
            self.num_classes = max(self.num_classes, width, int(labels.max()) + 1 if len(labels) else 0)

    def save(
        self,
        path: str | Path,
        builder: Any = None,
        args: dict[str, Any] | None = None,
        classes: Sequence[str] | None = None,
        dataset: str | None = None,
        preprocess: Preprocess | None = None,
        overwrite: bool = True,
    ) -> Path:
        """Save as a run folder that `neuralab predict/serve/explain/export/report` use.

        `builder` is the function that builds this module (`mynets.build`, or its import path
        `"mynets:build"`), called again with `args` to rebuild it: weights are saved, never code or
        pickle. Loading a folder that names an import path needs `--trust-code` / `trust_code=True`.
        """
        if builder is None:
            raise UserError("saving a torch module needs the function that builds it",
                            hint="model.save(path, builder=mynets.build, args={...}); define it in a module "
                                 "you can import")  # fmt: skip
        architecture = builder if isinstance(builder, str) else builder_reference(builder)
        if self.seen_inputs is None and preprocess is None:
            raise UserError("fit the model before saving it (or pass preprocess=...)")
        shape, largest, integer = self.seen_inputs or (preprocess.input_shape, 1.0, False)  # type: ignore[union-attr]
        kind = "image" if len(shape) == 3 else "vector"
        names = list(classes) if classes is not None else [str(i) for i in range(self.num_classes)]
        saved = SavedModel(
            self.module, architecture, dict(args or {}), shape, names,
            preprocess or inferred_preprocess(shape, kind, largest, integer), dataset, self.history_rows,
            self.run_summary(architecture, dataset, names),
        )  # fmt: skip
        return save_run_folder(path, saved, overwrite)

    def run_summary(self, model_name: str, dataset: str | None, classes: list[str]) -> dict[str, Any]:
        """summary.json for a model trained from Python; `test` is the last `evaluate(x, y)` call's result."""
        trainer = self._require_compiled()
        rows = self.history_rows
        scored = [r for r in rows if "val_loss" in r] or rows
        best = min(range(len(scored)), key=lambda i: scored[i].get("val_loss", scored[i]["loss"])) if scored else 0
        test = None
        if self.last_evaluation is not None:
            loss, y_true, y_pred = self.last_evaluation
            test = {"loss": loss, "source": "model.evaluate(x, y)",
                    **classification_metrics(y_true, y_pred, classes)}  # fmt: skip
        trainable = sum(p.numel() for p in self.module.parameters() if p.requires_grad)
        state = trainer.state
        return {
            "dataset": dataset or "arrays given to fit",
            "model": model_name,
            "test": test,
            "best": {"monitor": "val_loss" if "val_loss" in (rows or [{}])[0] else "loss", "epoch": best + 1},
            "epochs_run": len(rows),
            "final": rows[-1] if rows else {},
            "train_seconds": state.train_seconds,
            "train_images_per_s": state.samples_seen / max(state.train_seconds, 1e-9),
            "parameters": {"trainable": trainable,
                           "frozen": sum(p.numel() for p in self.module.parameters()) - trainable},
            "device": str(self.device.device),
            "precision": self.device.precision,
            "reproducibility": {"saved_from": "python"},
            "versions": torch_versions(),
        }  # fmt: skip

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int = 1024) -> list[float]:
        """[loss, accuracy] as Keras returns them."""
        trainer = self._require_compiled()
        result = trainer.evaluate(self._loader(_as_inputs(x), _as_labels(y, self.classification), batch_size, False))
        if self.classification:
            self.last_evaluation = (result.loss, result.y_true, result.y_pred)
        return [result.loss, result.accuracy] if self.classification else [result.loss]

    def predict(self, x: ArrayLike, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities for classifiers (as a softmax head would give), raw outputs otherwise."""
        trainer = self._require_compiled()
        inputs = _as_inputs(x)
        output = trainer.predict(self._loader(inputs, torch.zeros(len(inputs), dtype=torch.long), batch_size, False))
        return (torch.softmax(output, 1) if self.classification else output).numpy()
