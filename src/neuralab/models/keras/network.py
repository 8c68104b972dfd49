"""A Keras network as a plain `nn.Module`: the layer stack (`Sequential`) or graph (functional `Model`),
its forward pass and Keras's `summary()`. No training code: `neuralab.keras.models` adds compile/fit,
and a run folder rebuilds these classes alone.

A final `softmax` is the network's output (predict returns probabilities, as Keras does);
`run(x, logits=True)` stops before it, so a loss is computed stably and never on a softmax twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from torch.nn.modules import module as torch_module

from neuralab.errors import UserError
from neuralab.models.keras.core import Conv2D, Layer, MaxPooling2D, Shape
from neuralab.models.keras.graph import KerasTensor, topological


class Network(nn.Module):
    """What Sequential and the functional Model share: ordered layers, the input shape, the summary."""

    def ordered_layers(self) -> list[Layer]:
        raise NotImplementedError

    @property
    def input_shape(self) -> Shape | None:
        """The input's shape without the batch axis (channels last), once known."""
        raise NotImplementedError

    @property
    def input_dtype(self) -> str:
        """'int64' when the first layer is an Embedding (token ids), else 'float32'."""
        layers = self.ordered_layers()
        return "int64" if layers and type(layers[0]).__name__ == "Embedding" else "float32"

    def run(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)

    def ends_in_softmax(self) -> bool:
        layers = self.ordered_layers()
        return bool(layers) and layers[-1].activation == "softmax"

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


def pools_before_relu(layer: Layer, following: Layer) -> bool:
    """Whether Conv2D(activation='relu') then MaxPooling2D may run as convolution, pooling, ReLU.

    Max-pooling and ReLU commute, values and gradients alike (the gradient reaches the same element, or
    none), so pooling first computes the same thing with a quarter of the ReLU work: the Keras CNN's
    training step 1.16x faster (benchmarks/pool_relu_order.py). Not while a hook watches either layer
    (explain reads the convolution's activated output); in a functional model, only where the pooling
    is the convolution's one consumer.
    """
    return (
        isinstance(layer, Conv2D)
        and isinstance(following, MaxPooling2D)
        and layer.activation == "relu"
        and not (layer._forward_hooks or following._forward_hooks or layer._forward_pre_hooks)
        and not (following._forward_pre_hooks or _has_global_hooks())
    )


def _has_global_hooks() -> bool:
    """Hooks registered for every module (torch.nn.modules.module.register_module_forward_hook)."""
    return bool(torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks)


class SequentialNetwork(Network):
    """A stack of layers; the first one's `input_shape=` (or an `Input`) fixes every shape."""

    def __init__(self, layers: Sequence[Layer | KerasTensor] = (), name: str | None = None) -> None:
        super().__init__()
        self.stack = nn.ModuleList()
        self._input: Shape | None = None
        self._shape: Shape | None = None
        for item in layers:
            self.add(item)

    def add(self, item: Layer | KerasTensor) -> None:
        if isinstance(item, KerasTensor):
            self._input = self._shape = item.shape
            return
        if self._shape is None and item.input_shape is not None:
            self._input = self._shape = item.input_shape
        if self._shape is not None:
            self._shape = item.build(self._shape)
        self.stack.append(item)

    @property
    def input_shape(self) -> Shape | None:
        return self._input

    def ordered_layers(self) -> list[Layer]:
        return list(self.stack)  # type: ignore[arg-type]

    def build_for(self, shape: Shape) -> None:
        """Keras's deferred build: the first batch (or a rebuild from a saved spec) fixes the shapes."""
        self._input = shape
        for layer in self.ordered_layers():
            shape = layer.build(shape) if not layer.built else (layer.output_shape or shape)
        self._shape = shape

    def run(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        layers = self.ordered_layers()
        if layers and not layers[0].built:
            self.build_for(tuple(x.shape[1:]))
        mask: torch.Tensor | None = None  # Keras's mask, from an Embedding(mask_zero=True)
        pooled = -1  # the index of a MaxPooling2D already run with the convolution before it
        for index, layer in enumerate(layers):
            if index == pooled:
                continue
            inputs = x
            if mask is not None and layer.supports_masking:
                x = layer(x, mask=mask)
            elif index + 1 < len(layers) and mask is None and pools_before_relu(layer, layers[index + 1]):
                x = layer.apply_activation(layers[index + 1](layer.call(x)))
                pooled = index + 1
            else:
                x = layer.call(x) if logits and index == len(layers) - 1 else layer(x)
            mask = layer.output_mask(inputs, mask)
        return x


class FunctionalNetwork(Network):
    """The functional API: `Model(inputs=Input(...), outputs=Dense(...)(...))` (one input, one output)."""

    def __init__(self, inputs: KerasTensor, outputs: KerasTensor, name: str | None = None) -> None:
        super().__init__()
        if isinstance(inputs, list) or isinstance(outputs, list):
            raise UserError("functional models with several inputs or outputs are not supported yet")
        self.nodes = topological(outputs)
        if self.nodes[0] is not inputs:
            raise UserError("the model's outputs do not come from its inputs")
        self.graph_layers = nn.ModuleList([n.layer for n in self.nodes if n.layer is not None])
        consumers: dict[int, list[KerasTensor]] = {}
        for node in self.nodes:
            for parent in node.parents:
                consumers.setdefault(id(parent), []).append(node)
        # A node whose only consumer may pool before its ReLU (pools_before_relu), and that consumer.
        self._pooled_by: dict[int, KerasTensor] = {
            id(node): consumers[id(node)][0]
            for node in self.nodes[1:-1]
            if len(consumers.get(id(node), [])) == 1 and len(consumers[id(node)][0].parents) == 1
        }

    @property
    def input_shape(self) -> Shape | None:
        return self.nodes[0].shape

    @property
    def input_dtype(self) -> str:
        return "int64" if self.nodes[0].dtype.startswith("int") else super().input_dtype

    def ordered_layers(self) -> list[Layer]:
        return list(self.graph_layers)  # type: ignore[arg-type]

    def run(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        values: dict[int, torch.Tensor] = {id(self.nodes[0]): x}
        masks: dict[int, torch.Tensor | None] = {id(self.nodes[0]): None}  # Keras's masks (mask_zero=True)
        deferred: dict[int, Layer] = {}  # consumer node -> the convolution whose ReLU it applies after pooling
        for node in self.nodes[1:]:
            args = [values[id(p)] for p in node.parents]
            given = [masks[id(p)] for p in node.parents]
            layer = node.layer
            consumer = self._pooled_by.get(id(node))
            if consumer is not None and given[0] is None and pools_before_relu(layer, consumer.layer):
                values[id(node)], masks[id(node)] = layer.call(args[0]), None
                deferred[id(consumer)] = layer
                continue
            if id(node) in deferred:
                values[id(node)], masks[id(node)] = deferred[id(node)].apply_activation(layer(args[0])), None
                continue
            if len(node.parents) > 1 or hasattr(layer, "build_many"):
                values[id(node)] = layer(args)
                masks[id(node)] = merged_mask(given, values[id(node)])
                continue
            if given[0] is not None and layer.supports_masking:
                values[id(node)] = layer(args[0], mask=given[0])
            elif logits and node is self.nodes[-1]:
                values[id(node)] = layer.call(args[0])
            else:
                values[id(node)] = layer(args[0])
            masks[id(node)] = layer.output_mask(args[0], given[0])
        return values[id(self.nodes[-1])]


def merged_mask(masks: list[torch.Tensor | None], output: torch.Tensor) -> torch.Tensor | None:
    """Keras's merge layers (Concatenate, Add): a step is kept only where every masked input keeps it."""
    present = [m for m in masks if m is not None]
    if not present or output.dim() < 3 or any(m.shape != output.shape[:2] for m in present):
        return None
    return torch.stack(present).all(dim=0)
