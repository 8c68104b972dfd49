"""Adversarial training for the DCGAN, and a Frechet distance that says whether it is working.

GAN losses do not fall as the images improve (the two nets chase each other), so every epoch is
also scored by the Frechet distance between generated and real test images. Offline there are no
Inception weights, so the features are the images themselves average-pooled to 7x7 per channel
(the full image when under 14 px): a "pixel FD". It is not comparable with published FIDs, but it falls
as the generator's images approach the data's mean, spread and pixel correlations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neuralab.models.gan import Discriminator, Generator

FD_SIDE = 7


@dataclass
class GanEpoch:
    epoch: int
    d_loss: float
    g_loss: float
    d_real: float  # mean D(x): the discriminator's belief that real images are real
    d_fake: float  # mean D(G(z)) during the generator's step
    pixel_fd: float
    seconds: float


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] to float [-1, 1], the range of the generator's tanh."""
    return images.float().div(127.5).sub(1.0)


def fd_features(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] images [N, C, H, W] to [N, C * 7 * 7] float64 features (pooled; raw under 14 px)."""
    if images.shape[-1] >= 2 * FD_SIDE:
        images = F.adaptive_avg_pool2d(images.float(), FD_SIDE)
    return images.flatten(1).double().cpu().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between two sets of feature rows.

    Tr((S_a S_b)^1/2) is taken as the sum of square roots of the eigenvalues of the symmetric
    S_a^1/2 S_b S_a^1/2 (the same spectrum): stable when a covariance is singular, as it is for
    image borders that are always black.
    """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


@torch.no_grad()
def generate(generator: Generator, n: int, seed: int, device: torch.device, batch: int = 500) -> torch.Tensor:
    """n images in [-1, 1] from seeded noise, with the generator in eval mode (BatchNorm's running stats)."""
    was_training = generator.training
    generator.eval()
    rng = torch.Generator().manual_seed(seed)
    parts = [generator(generator.noise(min(batch, n - i), rng).to(device)).cpu() for i in range(0, n, batch)]
    generator.train(was_training)
    return torch.cat(parts)


class GanTrainer:
    """The DCGAN paper's loop: one discriminator step then one generator step per batch, Adam(2e-4, 0.5),
    the non-saturating generator loss, and one-sided label smoothing of real images."""

    def __init__(self, generator: Generator, discriminator: Discriminator, device: torch.device, lr: float,
                 beta1: float, real_label: float) -> None:  # fmt: skip
        self.generator, self.discriminator = generator.to(device), discriminator.to(device)
        self.device, self.real_label = device, real_label
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))

    def step(self, real: torch.Tensor) -> tuple[float, float, float, float]:
        n = real.shape[0]
        fake = self.generator(self.generator.noise(n, device=self.device))
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())
        d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
        d_loss = d_loss + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        fooled = self.discriminator(fake)
        g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return (d_loss.item(), g_loss.item(), torch.sigmoid(real_logits).mean().item(),
                torch.sigmoid(fooled).mean().item())  # fmt: skip

    def fit(self, images: torch.Tensor, reference: np.ndarray, epochs: int, batch_size: int, seed: int,
            fd_samples: int, on_epoch: Callable[[GanEpoch], None] | None = None) -> list[GanEpoch]:  # fmt: skip
        """Train on uint8 `images`; after each epoch score `fd_samples` generated images against `reference`."""
        history = []
        order_rng = torch.Generator().manual_seed(seed)
        steps = max(1, len(images) // batch_size)  # drop the ragged last batch: BatchNorm needs > 1 image
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            self.generator.train()
            self.discriminator.train()
            order = torch.randperm(len(images), generator=order_rng)
            sums = np.zeros(4)
            for i in range(steps):
                batch = images[order[i * batch_size : (i + 1) * batch_size]]
                sums += self.step(to_unit_range(batch.to(self.device, non_blocking=True)))
            d_loss, g_loss, d_real, d_fake = (float(v) for v in sums / steps)
            if not math.isfinite(d_loss + g_loss):
                raise FloatingPointError(f"the GAN's losses became {d_loss}, {g_loss} in epoch {epoch}")
            fake = generate(self.generator, fd_samples, seed + epoch, self.device)
            fd = frechet_distance(fd_features(fake), reference)
            row = GanEpoch(epoch, d_loss, g_loss, d_real, d_fake, fd, time.perf_counter() - start)
            history.append(row)
            if on_epoch is not None:
                on_epoch(row)
        return history


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
