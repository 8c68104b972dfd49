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


_GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


def recurrent_flops(module: nn.RNNBase, steps: int) -> int:
    """Matrix FLOPs of an LSTM/GRU/RNN over `steps` (time x batch) inputs: per layer and direction,
    2 x gates x hidden x (layer input + hidden) per step (torch's counter has no rule for these kernels)."""
    gates = next(g for kind, g in _GATES.items() if isinstance(module, kind))
    directions = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        layer_input = module.input_size if layer == 0 else module.hidden_size * directions
        total += 2 * gates * module.hidden_size * (layer_input + module.hidden_size) * directions
    return total * steps


def _steps(module: nn.RNNBase, inputs: tuple[object, ...]) -> int:
    first = inputs[0]
    if isinstance(first, nn.utils.rnn.PackedSequence):
        return int(first.batch_sizes.sum())  # tokens actually processed: padding is skipped
    assert isinstance(first, torch.Tensor)
    return int(first.shape[0] * first.shape[1]) if first.ndim == 3 else int(first.shape[0])


def forward_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of one example (torch's counter: 2 per multiply-add), recurrent layers
    included (counted from their shapes); embedding lookups are not arithmetic and count zero."""
    was_training = model.training
    model.eval()
    recurrent = [0]

    def count(module: nn.Module, inputs: tuple[object, ...], output: object) -> None:
        assert isinstance(module, nn.RNNBase)
        recurrent[0] += recurrent_flops(module, _steps(module, inputs))

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, tuple(_GATES))]
    try:
        example = example_input(model, input_shape)  # token models take ids, not floats
        fastpath = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)  # the fused attention kernel is invisible to the counter
        try:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                model(example)
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
        return int(counter.get_total_flops()) + recurrent[0]
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> ModelSummary:
    trainable, frozen = count_parameters(model)
    return ModelSummary(trainable, frozen, forward_flops(model, input_shape))
