"""Weight averaging: an exponential moving average (EMA) of the weights, evaluated in place of the
raw weights. It smooths out the noise of the last steps, which a short schedule has little time to anneal.

Built on torch's `AveragedModel` (its count of updates is a buffer, so an exact resume restores it), with
the warm-up timm's ModelEmaV3 uses: early on the average follows the weights closely, since the first
weights are random and should not linger in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def ema_decay(decay: float, updates: torch.Tensor) -> torch.Tensor:
    """The decay of the next update: (1 + n) / (10 + n), capped at `decay` (a tensor: no device sync)."""
    n = updates.to(torch.float32)
    return torch.clamp((1 + n) / (10 + n), max=decay)


def ema_model(model: nn.Module, decay: float) -> AveragedModel:
    """A copy of `model` whose weights and BatchNorm statistics follow an EMA of `model`'s."""
    if not 0.0 < decay < 1.0:
        raise ValueError(f"the EMA decay is between 0 and 1 (exclusive), got {decay}")

    @torch.no_grad()
    def update(averaged: Sequence[torch.Tensor], current: Sequence[torch.Tensor], updates: torch.Tensor | int) -> None:
        keep = ema_decay(decay, torch.as_tensor(updates)).to(averaged[0].device)
        if torch.is_floating_point(averaged[0]):
            torch._foreach_mul_(list(averaged), keep)
            torch._foreach_add_(list(averaged), torch._foreach_mul(list(current), 1 - keep))
        else:  # integer buffers (BatchNorm's num_batches_tracked) follow the model
            for avg, cur in zip(averaged, current, strict=True):
                avg.copy_(cur)

    averaged = AveragedModel(model, multi_avg_fn=update, use_buffers=True)
    averaged.requires_grad_(False)
    return averaged
