"""Batched augmentation: one tensor op per batch instead of a Python call per image (airbench)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def batch_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    flip = torch.rand(len(x), generator=generator, device=generator.device) < 0.5
    return torch.where(flip.to(x.device).view(-1, 1, 1, 1), x.flip(-1), x)


def batch_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random crops of the zero-padded batch: each image shifted by up to `padding` pixels."""
    if padding <= 0:
        return x
    n, _, height, width = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    high = 2 * padding + 1
    dy = torch.randint(0, high, (n,), generator=generator, device=generator.device).to(x.device)
    dx = torch.randint(0, high, (n,), generator=generator, device=generator.device).to(x.device)
    rows = (dy[:, None] + torch.arange(height, device=x.device))[:, :, None]
    cols = (dx[:, None] + torch.arange(width, device=x.device))[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    # Advanced indexing puts the indexed dims first: [N, H, W, C] -> back to [N, C, H, W].
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)


@dataclass(frozen=True)
class BatchAugment:
    flip: bool = False
    crop_padding: int = 0

    @classmethod
    def from_name(cls, name: str, crop_padding: int) -> BatchAugment | None:
        if name == "none":
            return None
        return cls(flip="flip" in name, crop_padding=crop_padding if "crop" in name else 0)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.flip:
            x = batch_flip(x, generator)
        if self.crop_padding:
            x = batch_crop(x, self.crop_padding, generator)
        return x
