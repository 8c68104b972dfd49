"""A small Vision Transformer for 28x28 and 32x32 images (Dosovitskiy et al. 2021, scaled down)."""

from __future__ import annotations

import torch
from torch import nn

from neuralab.models.registry import register_model


class ViT(nn.Module):
    def __init__(self, channels: int, size: int, patch: int, num_classes: int, dim: int, depth: int, heads: int,
                 mlp_ratio: float, dropout: float) -> None:  # fmt: skip
        super().__init__()
        if size % patch:
            raise ValueError(f"image size {size} is not a multiple of the patch size {patch}")
        self.patchify = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)
        tokens = (size // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, int(dim * mlp_ratio), dropout, activation="gelu",
                                           batch_first=True, norm_first=True)  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.patchify(x).flatten(2).transpose(1, 2)  # [N, tokens, dim]
        cls = self.cls.expand(len(x), -1, -1)
        encoded = self.encoder(torch.cat([cls, patches], dim=1) + self.position)
        return self.head(self.norm(encoded[:, 0]))


@register_model("small Vision Transformer (patch 4, class token) for 28x28 / 32x32 images")
def vit_small(input_shape: tuple[int, ...], num_classes: int, patch: int = 4, dim: int = 96, depth: int = 6,
              heads: int = 4, mlp_ratio: float = 2.0, dropout: float = 0.1) -> nn.Module:  # fmt: skip
    channels, height, width = input_shape
    if height != width:
        raise ValueError(f"vit_small takes square images, not {height}x{width}")
    return ViT(channels, height, patch, num_classes, dim, depth, heads, mlp_ratio, dropout)
