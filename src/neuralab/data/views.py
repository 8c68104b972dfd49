"""Two random views of every image, as batched tensor ops: what contrastive learning compares.

SimCLR's recipe, for small grey or colour images: a random resized crop (done with one affine grid
for the whole batch), an optional mirror, brightness and contrast jitter, and Gaussian noise.
Operates on normalised float batches [N, C, H, W] on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ViewAugment:
    crop_scale: float = 0.4  # smallest share of the image's area a crop keeps
    flip: bool = False
    jitter: float = 0.4
    noise: float = 0.1

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n = len(x)

        def uniform(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(n, generator=generator, device=x.device)

        area = uniform(self.crop_scale, 1.0)
        ratio = torch.exp(uniform(-math.log(4 / 3), math.log(4 / 3)))
        scale_x, scale_y = torch.sqrt(area * ratio).clamp(max=1.0), torch.sqrt(area / ratio).clamp(max=1.0)
        shift_x, shift_y = uniform(-1, 1) * (1 - scale_x), uniform(-1, 1) * (1 - scale_y)  # the crop stays inside
        if self.flip:
            scale_x = scale_x * torch.where(uniform(0, 1) < 0.5, -1.0, 1.0)
        zero = torch.zeros_like(area)
        theta = torch.stack([torch.stack([scale_x, zero, shift_x], 1), torch.stack([zero, scale_y, shift_y], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.jitter:
            brightness = uniform(-self.jitter, self.jitter).view(-1, 1, 1, 1)
            contrast = uniform(1 - self.jitter, 1 + self.jitter).view(-1, 1, 1, 1)
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * contrast + mean + brightness
        if self.noise:
            x = x + self.noise * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x
