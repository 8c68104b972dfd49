"""simple_cnn and keras_cnn pool before their ReLUs for speed: it must stay the tutorials' function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuralab.models import create_model


def tutorial_order(model: nn.Module) -> nn.Sequential:
    """The same modules with each ReLU moved back in front of the max-pool before it (conv-ReLU-pool)."""
    layers = list(model.features)
    for index in range(1, len(layers) - 1):
        if isinstance(layers[index], nn.MaxPool2d) and isinstance(layers[index + 1], nn.ReLU):
            layers[index], layers[index + 1] = layers[index + 1], layers[index]
    return nn.Sequential(nn.Sequential(*layers), model.head)


@pytest.mark.parametrize(("name", "shape"), [("simple_cnn", (1, 28, 28)), ("keras_cnn", (1, 28, 28))])
def test_outputs_and_gradients_equal_the_tutorials_layer_order(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = create_model(name, shape, 10)
    reference = tutorial_order(model)
    assert [type(m) for m in reference[0]] != [type(m) for m in model.features]  # the order really differs
    x = torch.randn(16, *shape)
    ours, theirs = model(x), reference(x)
    assert torch.equal(ours, theirs)
    grads = []
    for net, out in ((model, ours), (reference, theirs)):
        net.zero_grad()
        out.square().sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for mine, tutorial in zip(*grads, strict=True):
        assert torch.equal(mine, tutorial)


def test_weights_saved_with_the_old_order_still_load() -> None:
    """The convolutions keep their positions, so a state dict from before the reordering fits."""
    old = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))  # fmt: skip
    model = create_model("simple_cnn", (1, 28, 28), 10)
    state = {f"features.{k}": v for k, v in old.state_dict().items()}
    state.update({k: v for k, v in model.state_dict().items() if k.startswith("head.")})
    model.load_state_dict(state)  # strict: every key matches
