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
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neuralab.models.gan import Discriminator, Generator
from neuralab.train.callbacks.base import Callback
from neuralab.train.callbacks.history import History
from neuralab.train.device import Device
from neuralab.train.loop import LoopBase
from neuralab.train.trainer import TrainingDiverged, TrainingInterrupted

FD_SIDE = 7


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


class GanTrainer(LoopBase):
    """The DCGAN paper's loop: one discriminator step then one generator step per batch, Adam(2e-4, 0.5),
    the non-saturating generator loss, and one-sided label smoothing of real images.

    It runs on the same machinery as `Trainer`: `Device` (autocast, grad scaler, channels_last),
    Keras-style callbacks (History, CSVLogger, ResumeCheckpoint...), clean stops on request, and exact
    resume: the checkpoint holds both nets, both optimizers, the RNG, the position in the epoch and the
    epoch's running sums, and each epoch's order is re-derived from the seed.
    """

    def __init__(self, generator: Generator, discriminator: Discriminator, device: Device | torch.device,
                 lr: float, beta1: float = 0.5, real_label: float = 0.9, *, beta2: float = 0.999,
                 callbacks: Iterable[Callback] = ()) -> None:  # fmt: skip
        self.device = device if isinstance(device, Device) else Device(device)
        self.model = self.device.setup(nn.ModuleDict({"generator": generator, "discriminator": discriminator}))
        self.generator, self.discriminator = generator, discriminator  # moved in place by setup
        self.real_label = real_label
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(beta1, beta2))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(beta1, beta2))
        self._init_loop(callbacks)

    def step(self, real: torch.Tensor) -> tuple[float, float, float, float]:
        n = real.shape[0]
        with self.device.autocast():
            fake = self.generator(self.generator.noise(n, device=self.device.device))
            real_logits, fake_logits = self.discriminator(real).float(), self.discriminator(fake.detach()).float()
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
            d_loss = d_loss + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        self.opt_d.zero_grad(set_to_none=True)
        self.device.backward(d_loss)
        self.device.step(self.opt_d, update=False)

        with self.device.autocast():
            fooled = self.discriminator(fake).float()
            g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        self.opt_g.zero_grad(set_to_none=True)
        self.device.backward(g_loss)
        self.device.step(self.opt_g)
        return (d_loss.item(), g_loss.item(), torch.sigmoid(real_logits).mean().item(),
                torch.sigmoid(fooled).mean().item())  # fmt: skip

    def fit(self, images: torch.Tensor, epochs: int, batch_size: int, seed: int,
            epoch_metrics: Callable[[int], dict[str, float]] | None = None) -> History:  # fmt: skip
        """Train on uint8 `images`; `epoch_metrics(epoch)` adds scores (the pixel FD) to each epoch's logs."""
        steps = max(1, len(images) // batch_size)  # drop the ragged last batch: BatchNorm needs > 1 image
        batch_hooks = self._begin_fit()
        for epoch in range(self.state.epoch, epochs):
            self.model.train()
            order = epoch_order(len(images), seed, epoch)
            self.callbacks.call("on_epoch_begin", epoch, {})
            started = time.perf_counter()
            sums = self.state.extra.setdefault("sums", [0.0, 0.0, 0.0, 0.0])
            for batch in range(self.state.batch, steps):
                real = images[order[batch * batch_size : (batch + 1) * batch_size]]
                values = self.step(to_unit_range(real.to(self.device.device, non_blocking=True)))
                sums[:] = [a + b for a, b in zip(sums, values, strict=True)]
                self.state.batch, self.state.global_step = batch + 1, self.state.global_step + 1
                self.state.samples_seen += len(real)
                if batch_hooks:
                    self.callbacks.call_batch("on_train_batch_end", batch, {"d_loss": values[0], "g_loss": values[1]})
                if self._interrupt_requested:
                    self.state.train_seconds += time.perf_counter() - started
                    self.callbacks.call("on_interrupt")
                    raise TrainingInterrupted(
                        f"stopped at epoch {epoch + 1}, batch {batch + 1}; the checkpoint is saved"
                    )
            self.state.train_seconds += time.perf_counter() - started
            logs = self._epoch_logs(epoch, [v / steps for v in sums], epoch_metrics, started)
            self.state.epoch, self.state.batch, self.state.extra["sums"] = epoch + 1, 0, [0.0, 0.0, 0.0, 0.0]
            self.callbacks.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        self.state.finished = True
        self.callbacks.call("on_train_end", {})
        return self.history

    def _epoch_logs(self, epoch: int, means: list[float], epoch_metrics: Callable[[int], dict[str, float]] | None,
                    started: float) -> dict[str, float]:  # fmt: skip
        d_loss, g_loss, d_real, d_fake = means
        if not math.isfinite(d_loss + g_loss):
            raise TrainingDiverged(f"the GAN's losses became {d_loss}, {g_loss} in epoch {epoch + 1}", epoch, 0)
        logs = {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}
        logs |= epoch_metrics(epoch) if epoch_metrics else {}
        logs["seconds"] = time.perf_counter() - started
        return logs

    def _extra_payload(self) -> dict[str, Any]:
        return {"optimizer": {"generator": self.opt_g.state_dict(), "discriminator": self.opt_d.state_dict()}}

    def _restore_extra(self, payload: dict[str, Any]) -> None:
        self.opt_g.load_state_dict(payload["optimizer"]["generator"])
        self.opt_d.load_state_dict(payload["optimizer"]["discriminator"])


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """Epoch `epoch`'s shuffle: the (epoch+1)-th permutation drawn from one seeded generator, replayed
    from the start so a resumed run draws exactly what an uninterrupted one did (a few ms per epoch)."""
    rng = torch.Generator().manual_seed(seed)
    for _ in range(epoch):
        torch.randperm(n, generator=rng)
    return torch.randperm(n, generator=rng)
