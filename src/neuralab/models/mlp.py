"""Multi-layer perceptrons: the configurable `mlp` and the tutorials' fixed networks."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from neuralab.models.registry import register_model

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(nn.Sequential):
    """Flatten, then (Linear [BatchNorm] activation [Dropout]) per hidden width, then a Linear head."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        widths: Sequence[int],
        act: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
    ) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        previous = in_features
        for width in widths:
            layers.append(nn.Linear(previous, width))
            if batchnorm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(activation(act))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            previous = width
        layers.append(nn.Linear(previous, num_classes))
        super().__init__(*layers)


@register_model("MLP with configurable widths, activation, dropout and BatchNorm", inputs=("image", "vector"))
def mlp(
    input_shape: tuple[int, ...],
    num_classes: int,
    widths: Sequence[int] = (256, 128),
    activation: str = "relu",
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> nn.Module:
    return MLP(math.prod(input_shape), num_classes, list(widths), activation, dropout, batchnorm)


@register_model("the tutorial's MNISTNet: 784-512-256-10 with ReLU", inputs=("image", "vector"))
def mnist_mlp(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    return MLP(math.prod(input_shape), num_classes, [512, 256])


@register_model("the tutorial's RegularizedNet: 256-128 with BatchNorm and Dropout 0.5", inputs=("image", "vector"))
def regularized_mlp(input_shape: tuple[int, ...], num_classes: int, dropout: float = 0.5) -> nn.Module:
    return MLP(math.prod(input_shape), num_classes, [256, 128], dropout=dropout, batchnorm=True)
