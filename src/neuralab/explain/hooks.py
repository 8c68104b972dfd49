"""Capture a layer's output during a forward pass, with the hook always removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


class Captured:
    activation: torch.Tensor | None = None


@contextmanager
def capture_output(layer: nn.Module) -> Iterator[Captured]:
    """Keeps `layer`'s output (still in the autograd graph) so gradients can be taken w.r.t. it."""
    box = Captured()

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        box.activation = output[0] if isinstance(output, tuple) else output

    handle = layer.register_forward_hook(hook)
    try:
        yield box
    finally:
        handle.remove()
