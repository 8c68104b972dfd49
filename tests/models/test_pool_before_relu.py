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


def keras_tutorial_cnn(functional: bool) -> tuple[nn.Module, list[nn.Module]]:
    """The second tutorial's CNN as a Sequential or a functional Model, and its layers in order."""
    from neuralab.keras import layers, models

    stack = [
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
    ]  # fmt: skip
    if not functional:
        return models.Sequential([layers.Input(shape=(28, 28, 1)), *stack]), stack
    inputs = x = layers.Input(shape=(28, 28, 1))
    for layer in stack:
        x = layer(x)
    return models.Model(inputs, x), stack


@pytest.mark.parametrize("functional", [False, True])
@pytest.mark.parametrize("autocast", [False, True])
def test_keras_conv_relu_then_pool_runs_pooled_first_with_the_same_values_and_gradients(
    autocast: bool, functional: bool
) -> None:
    from neuralab.models.keras.network import pools_before_relu

    torch.manual_seed(0)
    model, stack = keras_tutorial_cnn(functional)
    assert pools_before_relu(stack[0], stack[1]) and pools_before_relu(stack[2], stack[3])
    x = torch.randn(16, 28, 28, 1)
    results = []
    for reordered in (True, False):
        # a hook on each convolution keeps Keras's own order (the layer's activated output is observed)
        handles = [] if reordered else [stack[i].register_forward_hook(lambda *_: None) for i in (0, 2)]
        if not reordered:
            assert not pools_before_relu(stack[0], stack[1])
        model.zero_grad()
        with torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            out = model.run(x, logits=True)  # type: ignore[operator]
        out.float().square().sum().backward()
        results.append((out.detach().clone(), [p.grad.clone() for p in model.parameters()]))
        for handle in handles:
            handle.remove()
    (fused_out, fused_grads), (plain_out, plain_grads) = results
    assert torch.equal(fused_out, plain_out)
    for mine, keras_order in zip(fused_grads, plain_grads, strict=True):
        assert torch.equal(mine, keras_order)


def test_a_functional_convolution_read_twice_keeps_its_activation() -> None:
    """A ReLU output that another branch also reads must stay a ReLU output: no reordering there."""
    from neuralab.keras import layers, models

    torch.manual_seed(0)
    inputs = layers.Input(shape=(8, 8, 1))
    conv_layer = layers.Conv2D(4, 3, padding="same", activation="relu")
    conv = conv_layer(inputs)
    pooled = layers.Flatten()(layers.MaxPooling2D()(conv))
    model = models.Model(inputs, layers.Concatenate()([pooled, layers.Flatten()(conv)]))
    x = torch.randn(2, 8, 8, 1)
    out = model(x)
    assert (out >= 0).all()
    handle = conv_layer.register_forward_hook(lambda *_: None)  # Keras's order, for reference
    assert torch.equal(out, model(x))
    handle.remove()


def test_only_relu_before_max_pooling_is_reordered() -> None:
    from neuralab.keras import layers
    from neuralab.models.keras.network import pools_before_relu

    # tanh and sigmoid commute with max too, but rounding can tie two outputs the inputs did not: the
    # gradient could reach another element, so only ReLU (exact in values and gradients) is reordered
    assert not pools_before_relu(layers.Conv2D(8, 3, activation="tanh"), layers.MaxPooling2D())
    assert not pools_before_relu(layers.Conv2D(8, 3, activation="relu"), layers.AveragePooling2D())
    assert not pools_before_relu(layers.Dense(8, activation="relu"), layers.MaxPooling2D())
