"""`Sequential` and the functional `Model(inputs, outputs)`, with Keras's compile / fit / evaluate /
predict / summary, trained by neuralab's Trainer.

A final `softmax` is the model's output (predict returns probabilities, as Keras does), but training
never applies it twice: the loss is computed from the logits before it (stable cross-entropy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from neuralab.errors import UserError
from neuralab.keras.graph import KerasTensor, topological
from neuralab.keras.layers.core import Layer
from neuralab.keras.optimizers import Optimizer, build
from neuralab.train.callbacks.base import Callback
from neuralab.train.keras_api import ArrayLike, KerasModel

KERAS_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
_CE = ("categorical_crossentropy", "sparse_categorical_crossentropy")


class KerasHistory:
    """What Keras's `fit` returns: `.history` holds Keras's keys only, one value per epoch."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.epoch = list(range(len(rows)))
        self.history = {k: [float(r[k]) for r in rows] for k in KERAS_KEYS if rows and k in rows[0]}


class _Logits(nn.Module):
    """The model without its final softmax: what the loss sees during training."""

    def __init__(self, model: _KerasModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.run(x, logits=True)


class _KerasModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._engine: KerasModel | None = None
        self._metrics: list[str] = []

    def ordered_layers(self) -> list[Layer]:
        raise NotImplementedError

    def run(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)

    def ends_in_softmax(self) -> bool:
        layers = self.ordered_layers()
        return bool(layers) and layers[-1].activation == "softmax"

    # -- Keras's API ------------------------------------------------------------------------------------
    def compile(self, optimizer: str | Optimizer = "rmsprop", loss: str = "sparse_categorical_crossentropy",
                metrics: Sequence[str] = ()) -> None:  # fmt: skip
        """Keras's defaults: RMSprop; `loss` by name; metrics: accuracy."""
        layers = self.ordered_layers()
        if not layers or not all(layer.built for layer in layers):
            raise UserError("the model's input shape is unknown, so its weights do not exist yet",
                            hint="give the first layer input_shape=(...), or begin with Input(shape=...)")  # fmt: skip
        name = loss if isinstance(loss, str) else getattr(loss, "name", "")
        from_logits = bool(getattr(loss, "from_logits", False))
        if name in _CE and not self.ends_in_softmax() and not from_logits:
            raise UserError(f"{name} on outputs that are not a softmax needs from_logits=True",
                            hint="end the model with Dense(n, activation='softmax'), or use "
                                 "losses.SparseCategoricalCrossentropy(from_logits=True)")  # fmt: skip
        trained: nn.Module = _Logits(self) if name in _CE and self.ends_in_softmax() else self
        self._engine = KerasModel(trained)
        self._metrics = [m for m in metrics if m in ("accuracy", "acc")]
        opt = optimizer if isinstance(optimizer, Optimizer) else Optimizer(str(optimizer))
        self._engine.compile(build(opt, trained), "mse" if name in ("mse", "mean_squared_error") else "cross_entropy",
                             [m for m in metrics if m in ("accuracy", "acc")])  # fmt: skip

    def _require(self) -> KerasModel:
        if self._engine is None:
            raise UserError("call model.compile(...) before fit, evaluate or predict")
        return self._engine

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = 32, epochs: int = 1, verbose: Any = "auto",
            callbacks: Sequence[Callback] = (), validation_split: float = 0.0,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None) -> KerasHistory:  # fmt: skip
        """Keras's fit; returns a History whose `.history` has loss, accuracy, val_loss, val_accuracy."""
        if class_weight is not None:
            raise UserError(
                "class_weight is not supported yet", hint="neuralab train --set train.balance=class_weights"
            )
        history = self._require().fit(x, y, epochs=epochs, batch_size=batch_size or 32, callbacks=callbacks,
                                      validation_split=validation_split, validation_data=validation_data,
                                      shuffle=shuffle)  # fmt: skip
        return KerasHistory(history.rows)

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = None, verbose: Any = "auto") -> Any:
        """[loss, accuracy] with metrics, the loss alone without (Keras's return value)."""
        engine = self._require()
        values = engine.evaluate(x, y, batch_size=batch_size or 1024)
        return values if engine.classification and self._metrics else values[0]

    def predict(self, x: ArrayLike, batch_size: int | None = None, verbose: Any = "auto") -> np.ndarray:
        """The model's outputs as NumPy: probabilities when it ends in a softmax."""
        was_training = self.training
        self.eval()
        outputs = []
        tensor = torch.as_tensor(np.asarray(x))
        tensor = tensor.long() if not tensor.is_floating_point() and tensor.dtype != torch.uint8 else tensor.float()
        with torch.inference_mode():
            for start in range(0, len(tensor), batch_size or 1024):
                outputs.append(self(tensor[start : start + (batch_size or 1024)]).float())
        self.train(was_training)
        return torch.cat(outputs).numpy()

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.ordered_layers())

    def summary(self, console: Console | None = None) -> None:
        """Keras's table: each layer's output shape and parameter count, then the total."""
        table = Table("Layer (type)", "Output Shape", "Param #", title=type(self).__name__)
        for index, layer in enumerate(self.ordered_layers()):
            shape = "(None, " + ", ".join(map(str, layer.output_shape or ())) + ")"
            table.add_row(layer.layer_name or f"{type(layer).__name__.lower()}_{index}", shape,
                          f"{layer.count_params():,}")  # fmt: skip
        out = console or Console()
        out.print(table)
        out.print(f"Total params: {self.count_params():,}", highlight=False)


class Sequential(_KerasModel):
    """A stack of layers; the first one's `input_shape=` (or an `Input`) fixes every shape."""

    def __init__(self, layers: Sequence[Layer | KerasTensor] = (), name: str | None = None) -> None:
        super().__init__()
        self.stack = nn.ModuleList()
        self._shape: tuple[int, ...] | None = None
        for item in layers:
            self.add(item)

    def add(self, item: Layer | KerasTensor) -> None:
        if isinstance(item, KerasTensor):
            self._shape = item.shape
            return
        if self._shape is None and item.input_shape is not None:
            self._shape = item.input_shape
        if self._shape is not None:
            self._shape = item.build(self._shape)
        self.stack.append(item)

    def ordered_layers(self) -> list[Layer]:
        return list(self.stack)  # type: ignore[arg-type]

    def _build_from(self, x: torch.Tensor) -> None:
        shape: tuple[int, ...] = tuple(x.shape[1:])
        for layer in self.ordered_layers():
            shape = layer.build(shape) if not layer.built else (layer.output_shape or shape)
        self._shape = shape

    def run(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        layers = self.ordered_layers()
        if layers and not layers[0].built:
            self._build_from(x)  # Keras's deferred build: the first batch fixes the shapes
        for index, layer in enumerate(layers):
            x = layer.call(x) if logits and index == len(layers) - 1 else layer(x)
        return x


class Model(_KerasModel):
    """The functional API: `Model(inputs=Input(...), outputs=Dense(...)(...))` (one input, one output)."""

    def __init__(self, inputs: KerasTensor, outputs: KerasTensor, name: str | None = None) -> None:
        super().__init__()
        if isinstance(inputs, list) or isinstance(outputs, list):
            raise UserError("functional models with several inputs or outputs are not supported yet")
        self.nodes = topological(outputs)
        if self.nodes[0] is not inputs:
            raise UserError("the model's outputs do not come from its inputs")
        self.graph_layers = nn.ModuleList([n.layer for n in self.nodes if n.layer is not None])

    def ordered_layers(self) -> list[Layer]:
        return list(self.graph_layers)  # type: ignore[arg-type]

    def run(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        values: dict[int, torch.Tensor] = {id(self.nodes[0]): x}
        for node in self.nodes[1:]:
            args = [values[id(p)] for p in node.parents]
            layer = node.layer
            if len(node.parents) > 1 or hasattr(layer, "build_many"):
                values[id(node)] = layer(args)
            elif logits and node is self.nodes[-1]:
                values[id(node)] = layer.call(args[0])
            else:
                values[id(node)] = layer(args[0])
        return values[id(self.nodes[-1])]
