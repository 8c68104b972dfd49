"""Parameter counts and FLOPs, for `neuralab models` and the summary printed before training."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from neuralab.model_contract import example_input


@dataclass(frozen=True)
class ModelSummary:
    trainable: int
    frozen: int
    forward_flops: int

    @property
    def total(self) -> int:
        return self.trainable + self.frozen


def count_parameters(model: nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return trainable, frozen


def forward_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of one example (torch's counter: 2 per multiply-add).

    The counter has no rule for LSTM/GRU kernels, so recurrent layers count as zero.
    """
    was_training = model.training
    model.eval()
    try:
        example = example_input(model, input_shape)  # token models take ids, not floats
        fastpath = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)  # the fused attention kernel is invisible to the counter
        try:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                model(example)
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> ModelSummary:
    trainable, frozen = count_parameters(model)
    return ModelSummary(trainable, frozen, forward_flops(model, input_shape))
