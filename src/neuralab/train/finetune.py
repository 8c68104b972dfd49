"""Fine-tuning strategies over a model's layer groups: head only, full, gradual unfreezing.

Frozen groups have `requires_grad=False` and their BatchNorm layers stay in eval mode, so their
running statistics (learned on the pretraining data) are not overwritten by the new data.
The optimizer holds every parameter from the start; a frozen one simply gets no gradient.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from neuralab.train.callbacks.base import Callback


def set_frozen(groups: list[list[nn.Module]], trainable_from: int) -> None:
    """Groups before index `trainable_from` are frozen; the rest train."""
    for index, group in enumerate(groups):
        for module in group:
            module.requires_grad_(index >= trainable_from)


def freeze_batchnorm_stats(groups: list[list[nn.Module]], trainable_from: int) -> None:
    for group in groups[:trainable_from]:
        for module in group:
            for layer in module.modules():
                if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                    layer.eval()


class FineTuning(Callback):
    """Applies the strategy at every epoch start (after the trainer has put the model in train mode)."""

    def __init__(self, groups: list[list[nn.Module]], strategy: str, unfreeze_every: int = 1) -> None:
        if strategy not in ("full", "head", "gradual"):
            raise ValueError(f"unknown fine-tuning strategy {strategy!r}")
        self.groups = groups
        self.strategy = strategy
        self.unfreeze_every = unfreeze_every
        self.trainable_from = 0

    def stage_for(self, epoch: int) -> int:
        last = len(self.groups) - 1
        if self.strategy == "full":
            return 0
        if self.strategy == "head":
            return last
        return max(0, last - epoch // self.unfreeze_every)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.trainable_from = self.stage_for(epoch)
        set_frozen(self.groups, self.trainable_from)
        freeze_batchnorm_stats(self.groups, self.trainable_from)

    def state_dict(self) -> dict[str, Any]:
        return {"trainable_from": self.trainable_from}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.trainable_from = int(state.get("trainable_from", 0))
