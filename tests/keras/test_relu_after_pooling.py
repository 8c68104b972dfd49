"""Sequential runs a Conv2D's ReLU after the MaxPooling2D that follows it: identical results, less work."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from neuralab.keras import layers, models


def tutorial_cnn() -> models.Sequential:
    torch.manual_seed(0)
    return models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


def outputs_and_grads(model: models.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    out = model(x)
    out.log().sum().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


def test_deferred_relu_gives_the_same_outputs_and_gradients_as_layer_by_layer() -> None:
    model = tutorial_cnn()
    x = torch.randn(8, 28, 28, 1)
    fast_out, fast_grads = outputs_and_grads(model, x)
    seen: list[torch.Tensor] = []
    handle = model.ordered_layers()[0].register_forward_hook(lambda _m, _i, out: seen.append(out))
    plain_out, plain_grads = outputs_and_grads(model, x)  # a hook forces layer-by-layer execution
    handle.remove()
    assert torch.equal(fast_out, plain_out)
    for fast, plain in zip(fast_grads, plain_grads, strict=True):
        assert torch.equal(fast, plain)
    assert seen and bool((seen[0] >= 0).all())  # the hooked layer's output is its own, ReLU included


class ReluShapes(TorchDispatchMode):
    """Records the shape of every ReLU the forward pass really computes."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in (torch.ops.aten.relu.default, torch.ops.aten.relu_.default):
            self.shapes.append(tuple(args[0].shape))
        return func(*args, **(kwargs or {}))


def test_the_relu_runs_on_the_pooled_maps() -> None:
    model = tutorial_cnn()
    with torch.no_grad(), ReluShapes() as recorded:
        model(torch.randn(2, 28, 28, 1))
    # Conv 26x26 -> pool 13x13 -> ReLU; conv 11x11 -> pool 5x5 -> ReLU; conv 3x3 + ReLU; Dense + ReLU.
    assert recorded.shapes[:3] == [(2, 13, 13, 32), (2, 5, 5, 64), (2, 3, 3, 64)]
