"""Capture a layer's output during a forward pass, with the hook always removed afterwards."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


class Captured:
    activation: torch.Tensor | None = None


Hook = Callable[[nn.Module, Any, Any], None]


def this_thread_only(hook: Hook) -> Hook:
    """`hook`, acting only on forward passes run by the thread that made it.

    A served model is shared: while one request is explained, other threads run it for predictions
    and other explanations, and their forward passes fire every hook on it. Without this, they
    overwrote each other's captured activations (`/explain` under 100 concurrent requests: 73 errors).
    """
    owner = threading.get_ident()

    def guarded(module: nn.Module, inputs: Any, output: Any) -> None:
        if threading.get_ident() == owner:
            hook(module, inputs, output)

    return guarded


@contextmanager
def capture_output(layer: nn.Module) -> Iterator[Captured]:
    """Keeps `layer`'s output (still in the autograd graph) so gradients can be taken w.r.t. it."""
    box = Captured()

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        box.activation = output[0] if isinstance(output, tuple) else output

    handle = layer.register_forward_hook(this_thread_only(hook))
    try:
        yield box
    finally:
        handle.remove()
