"""The model registry: `@register_model` on a builder, `create_model(name, ...)` to build it.

Every builder takes the dataset's `input_shape` and `num_classes` plus its own keyword
arguments, so one config (`model.name`, `model.args`) can build any model for any dataset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from neuralab.errors import UserError
from neuralab.registry import Registry

Builder = Callable[..., nn.Module]
_RESERVED = {"input_shape", "num_classes"}


@dataclass(frozen=True)
class ModelInfo:
    name: str
    builder: Builder
    description: str
    inputs: tuple[str, ...]  # "image" and/or "vector"

    def arg_names(self) -> list[str]:
        params = inspect.signature(self.builder).parameters
        return [p for p in params if p not in _RESERVED]

    def defaults(self) -> dict[str, Any]:
        params = inspect.signature(self.builder).parameters
        return {k: p.default for k, p in params.items() if k not in _RESERVED}


MODELS: Registry[ModelInfo] = Registry("model")


def register_model(description: str, inputs: tuple[str, ...] = ("image",)) -> Callable[[Builder], Builder]:
    """Register a builder under its function name."""

    def decorate(builder: Builder) -> Builder:
        MODELS.add(builder.__name__, ModelInfo(builder.__name__, builder, description, inputs))
        return builder

    return decorate


def input_kind(input_shape: tuple[int, ...]) -> str:
    return {3: "image", 2: "sequence"}.get(len(input_shape), "vector")


def create_model(
    name: str, input_shape: tuple[int, ...], num_classes: int, kind: str | None = None, **kwargs: Any
) -> nn.Module:
    """Build `name`; unset (None) options fall back to the builder's defaults.

    `kind` is the dataset's input kind (image, vector, sequence, text); by default read from the shape.

    Examples:
        >>> import torch
        >>> from neuralab.models import create_model
        >>> model = create_model("simple_cnn", (1, 28, 28), 10)
        >>> model(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
        >>> create_model("mlp", (64,), 3, widths=[32])(torch.zeros(5, 64)).shape
        torch.Size([5, 3])
    """
    info = MODELS.get(name)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    unknown = sorted(set(kwargs) - set(info.arg_names()))
    if unknown:
        raise UserError(
            f"model {name!r} has no argument(s) {', '.join(unknown)}",
            hint=f"{name} accepts: {', '.join(info.arg_names()) or 'no arguments'}",
        )
    kind = kind or input_kind(input_shape)
    if kind not in info.inputs:
        raise UserError(f"model {name!r} takes {' or '.join(info.inputs)} inputs, but this dataset gives {kind}s")
    try:
        return info.builder(input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)
    except (TypeError, ValueError, RuntimeError) as err:  # RuntimeError: torch's, e.g. a negative width
        raise UserError(f"cannot build model {name!r} with {kwargs}: {err}") from None
