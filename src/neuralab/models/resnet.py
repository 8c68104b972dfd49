"""ResNet-18 style networks for small inputs, built from the tutorial's residual block."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neuralab.models.cnn import FeatureClassifier
from neuralab.models.registry import register_model


class ResidualBlock(nn.Module):
    """The tutorial's block: two 3x3 conv+BN, plus a 1x1 projection when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@register_model("ResNet-18 style (3x3 stem, 4 stages of residual blocks) for small inputs; width configurable")
def resnet(
    input_shape: tuple[int, ...],
    num_classes: int,
    width: int = 64,
    blocks: Sequence[int] = (2, 2, 2, 2),
) -> nn.Module:
    layers: list[nn.Module] = [
        nn.Conv2d(input_shape[0], width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
    ]
    channels = width
    for stage, count in enumerate(blocks):
        out = width * 2**stage
        for i in range(count):
            layers.append(ResidualBlock(channels, out, stride=2 if stage > 0 and i == 0 else 1))
            channels = out
    features = nn.Sequential(*layers)
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
    return FeatureClassifier(features, head)
