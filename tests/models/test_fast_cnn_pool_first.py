"""fast_cnn's `pool_first`: a group's last BatchNorm and ReLU work on the pooled map (airbench's order)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuralab.models import create_model


def norm_input_sizes(model: nn.Module, x: torch.Tensor) -> list[int]:
    """The height of the maps each BatchNorm normalises."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, inputs, _out: sizes.append(inputs[0].shape[-1]))
             for m in model.modules() if isinstance(m, nn.BatchNorm2d)]  # fmt: skip
    model(x)
    for hook in hooks:
        hook.remove()
    return sizes


def test_the_normalisation_before_each_pool_sees_a_quarter_of_the_map() -> None:
    x = torch.randn(4, 1, 28, 28)
    assert norm_input_sizes(create_model("fast_cnn", (1, 28, 28), 10), x) == [28, 14, 7, 7]
    assert norm_input_sizes(create_model("fast_cnn", (1, 28, 28), 10, pool_first=True), x) == [14, 7, 7, 7]


def test_same_parameters_and_same_function_once_batchnorm_uses_running_statistics() -> None:
    """Max-pooling commutes with a BatchNorm of positive scale and a ReLU, so in eval mode the two orders
    compute the same outputs from the same weights; only training's batch statistics differ."""
    torch.manual_seed(0)
    default = create_model("fast_cnn", (1, 28, 28), 10, norm_scale=False)
    pooled_first = create_model("fast_cnn", (1, 28, 28), 10, norm_scale=False, pool_first=True)
    for module in default.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.normal_()
    with_state = [m for m in default.modules() if m.state_dict(keep_vars=True) and not list(m.children())]
    targets = [m for m in pooled_first.modules() if m.state_dict(keep_vars=True) and not list(m.children())]
    assert [type(m) for m in with_state] == [type(m) for m in targets]
    for source, target in zip(with_state, targets, strict=True):
        target.load_state_dict(source.state_dict())
    default.eval()
    pooled_first.eval()
    x = torch.randn(8, 1, 28, 28)
    assert torch.equal(default(x), pooled_first(x))
    default.train()
    pooled_first.train()
    assert not torch.allclose(default(x), pooled_first(x))  # batch statistics of different maps


@pytest.mark.parametrize("block", ["plain", "residual"])
def test_deeper_groups_and_residual_blocks_still_build_and_train(block: str) -> None:
    model = create_model("fast_cnn", (3, 32, 32), 10, convs_per_group=[2, 2, 2], block=block, pool_first=True)
    out = model(torch.randn(4, 3, 32, 32))
    out.sum().backward()
    assert out.shape == (4, 10)
    pools = sum(isinstance(m, nn.MaxPool2d) for m in model.features)
    assert pools == 2  # one between each pair of groups, wherever it sits
