"""Batched augmentation: one tensor op per batch instead of a Python call per image (airbench)."""

from __future__ import annotations

import math
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


def batch_erase(
    x: torch.Tensor,
    probability: float,
    generator: torch.Generator,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """Random erasing (Zhong et al. 2017, who measured it on Fashion-MNIST among others): each image, with
    `probability`, has one rectangle of 2-40% of its area and aspect 0.3-3.3 set to 0 (black: batches are
    augmented before normalisation), as torchvision's RandomErasing does one image at a time."""
    if probability <= 0:
        return x
    n, _, height, width = x.shape

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, device=generator.device).to(x.device)

    erased_area = uniform(*area) * height * width
    ratio = torch.exp(uniform(math.log(aspect[0]), math.log(aspect[1])))
    box_h = torch.sqrt(erased_area * ratio).round().clamp(1, height)
    box_w = torch.sqrt(erased_area / ratio).round().clamp(1, width)
    top = (uniform(0, 1) * (height - box_h + 1)).floor()
    left = (uniform(0, 1) * (width - box_w + 1)).floor()
    chosen = uniform(0, 1) < probability
    rows = torch.arange(height, device=x.device)[None, :]
    cols = torch.arange(width, device=x.device)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + box_h)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + box_w)[:, None])
    mask = in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None]
    return x.masked_fill(mask[:, None], 0.0)


@dataclass(frozen=True)
class BatchAugment:
    flip: bool = False
    crop_padding: int = 0
    erase: float = 0.0

    @classmethod
    def from_name(cls, name: str, crop_padding: int, erase: float = 0.0) -> BatchAugment | None:
        if name == "none" and erase <= 0:
            return None
        return cls(flip="flip" in name, crop_padding=crop_padding if "crop" in name else 0, erase=erase)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.flip:
            x = batch_flip(x, generator)
        if self.crop_padding:
            x = batch_crop(x, self.crop_padding, generator)
        if self.erase:
            x = batch_erase(x, self.erase, generator)
        return x
