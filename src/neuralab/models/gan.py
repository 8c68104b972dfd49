"""DCGAN (Radford et al., 2015) sized for small images: a generator from noise to [-1, 1] images and
a discriminator that scores real against generated ones.

The layout follows the paper's rules (strided convolutions instead of pooling, BatchNorm in both
nets except the generator's output and the discriminator's input, ReLU / LeakyReLU 0.2, tanh out,
N(0, 0.02) initialisation) with two up/down-sampling stages, so any side divisible by 4 works:
28x28 (Fashion-MNIST, MNIST), 32x32 (CIFAR-10), 8x8 (digits).
"""

from __future__ import annotations

import torch
from torch import nn


def check_image_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, side) of a square image whose side is divisible by 4, or a ValueError saying why not."""
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] % 4:
        raise ValueError(f"a DCGAN needs square images whose side is divisible by 4, not {tuple(shape)}")
    return shape[0], shape[1]


def dcgan_init(module: nn.Module) -> None:
    """The paper's N(0, 0.02) weights (BatchNorm scales around 1): training is unstable without it."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    def __init__(self, image_shape: tuple[int, ...], latent_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        channels, side = check_image_shape(image_shape)
        self.latent_dim, self.base, self.width = latent_dim, side // 4, width
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * self.base**2, bias=False),
            nn.BatchNorm1d(2 * width * self.base**2),
            nn.ReLU(inplace=True),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], 2 * self.width, self.base, self.base)
        return self.upsample(x)

    def noise(self, n: int, rng: torch.Generator | None = None, device: torch.device | None = None) -> torch.Tensor:
        """Latent vectors; drawn on the CPU from `rng` so a seed gives the same images on any device."""
        return torch.randn(n, self.latent_dim, generator=rng).to(device or "cpu")


class Discriminator(nn.Module):
    def __init__(self, image_shape: tuple[int, ...], width: int = 64) -> None:
        super().__init__()
        channels, side = check_image_shape(image_shape)
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.head = nn.Linear(2 * width * (side // 4) ** 2, 1)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A logit per image: > 0 means "real"."""
        return self.head(self.features(x).flatten(1)).squeeze(1)
