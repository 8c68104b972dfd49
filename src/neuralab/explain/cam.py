"""Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhyay et al. 2018) on any spatial layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neuralab.explain.hooks import capture_output


def class_activation_map(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, layer: nn.Module, plus_plus: bool = False
) -> torch.Tensor:
    """[N, H, W] maps at the input's resolution, each scaled to [0, 1] (all zeros when nothing is positive)."""
    with capture_output(layer) as box, torch.enable_grad():
        logits = model(x)
        activation = box.activation
        if activation is None:
            raise RuntimeError("the target layer did not run during the forward pass")
        score = logits.gather(1, target.view(-1, 1)).sum()
        (grads,) = torch.autograd.grad(score, activation)
    activation, grads = activation.detach().float(), grads.float()
    if plus_plus:
        # Closed form for an exponential of the score (the paper's eq. 19), as pytorch-grad-cam uses.
        g2, g3 = grads.pow(2), grads.pow(3)
        denom = 2 * g2 + activation.sum(dim=(2, 3), keepdim=True) * g3
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        weights = (alpha * grads.clamp_min(0)).sum(dim=(2, 3), keepdim=True)
    else:
        weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).max(dim=1).values.view(-1, 1, 1)
    return cam / torch.where(peak > 0, peak, torch.ones_like(peak))
