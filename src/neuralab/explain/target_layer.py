"""Which layer a CAM looks at: the last one whose output is still a spatial map, unless the user names one."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuralab.errors import UserError
from neuralab.explain.hooks import this_thread_only


def spatial_layers(model: nn.Module, input_shape: tuple[int, ...]) -> list[str]:
    """Module names whose output is [N, C, H, W] with H*W > 1, in the order their forward ends."""
    order: list[str] = []
    handles = []
    for name, module in model.named_modules():
        if not name or getattr(module, "keras_layout", False):
            continue  # a Keras layer's 4-D output is [N, H, W, C]: its inner torch conv is the spatial map

        def hook(_m: nn.Module, _i: Any, output: Any, name: str = name) -> None:
            out = output[0] if isinstance(output, tuple) else output
            if isinstance(out, torch.Tensor) and out.ndim == 4 and out.shape[2] * out.shape[3] > 1:
                order.append(name)

        handles.append(module.register_forward_hook(this_thread_only(hook)))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return order


def find_target_layer(model: nn.Module, input_shape: tuple[int, ...], name: str | None = None) -> tuple[str, nn.Module]:
    modules = dict(model.named_modules())
    candidates = spatial_layers(model, input_shape)
    if name is not None:
        if name not in modules or not name:
            raise UserError(f"the model has no layer {name!r}", hint=f"layers with spatial output: {candidates[-8:]}")
        return name, modules[name]
    if not candidates:
        raise UserError(
            "this model has no convolutional (spatial) layer for a CAM method",
            hint="use --method integrated-gradients, saliency, occlusion, lime or shap",
        )
    return candidates[-1], modules[candidates[-1]]
