"""The functional API's symbolic tensors: `Input(shape=...)`, layers called on them, a graph to run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neuralab.errors import UserError


@dataclass(eq=False)
class KerasTensor:
    """A placeholder with a known shape (batch axis excluded) and the layer that produced it."""

    shape: tuple[int, ...]
    layer: Any = None
    parents: list[KerasTensor] = field(default_factory=list)
    dtype: str = "float32"


def Input(shape: Sequence[int], dtype: str = "float32", name: str | None = None) -> KerasTensor:
    """Keras's `Input(shape=(...))`: the entry of a functional model."""
    return KerasTensor(tuple(int(s) for s in shape), dtype=dtype)


def connect(layer: Any, inputs: KerasTensor | list[KerasTensor]) -> KerasTensor:
    """`layer(tensor)` in the functional API: build the layer for the input's shape, record the edge."""
    if isinstance(inputs, list):
        if not hasattr(layer, "build_many"):
            raise UserError(f"{type(layer).__name__} takes one input, not a list")
        shape = layer.build_many([t.shape for t in inputs])
        return KerasTensor(shape, layer, list(inputs))
    if layer.built:
        raise UserError(f"{type(layer).__name__} is already connected; sharing a layer between calls is not supported")
    return KerasTensor(layer.build(inputs.shape), layer, [inputs])


def topological(outputs: KerasTensor) -> list[KerasTensor]:
    """Every tensor the output depends on, each after its parents."""
    order: list[KerasTensor] = []
    seen: set[int] = set()

    def visit(node: KerasTensor) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.parents:
            visit(parent)
        order.append(node)

    visit(outputs)
    return order
