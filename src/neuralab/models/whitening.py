"""A first layer that whitens image patches, fitted on the training split (airbench's stem).

Keller Jordan's airbench starts CIFAR-10 networks with a 2x2 convolution whose filters are the
eigenvectors of the training images' patch covariance, each scaled by 1/sqrt(eigenvalue) and
paired with its negation, and keeps those filters frozen: the next layer receives decorrelated,
unit-variance inputs from the first step instead of waiting for a random first layer to learn them
(tysam-code's hlb-CIFAR10 did the same). The pairs make the ReLU after it lose nothing.
"""

from __future__ import annotations

import torch
from torch import nn

from neuralab.errors import UserError

# How many training images the patch covariance is estimated from: 2,000 28x28 images give 1.4
# million 3x3 patches for a 9x9 matrix (airbench uses 5,000 32x32 images).
_SAMPLE_IMAGES = 2000


class PatchWhitening(nn.Module):
    """A frozen `kernel_size` convolution (no padding) producing 2 * channels * k * k whitened maps.

    Until `adapt` sees the training images it is a random convolution; the weights it sets are saved
    with the model (they are parameters), so a rebuilt model needs no data.
    """

    def __init__(self, channels: int, kernel_size: int = 2, eps: float = 5e-4) -> None:
        super().__init__()
        self.eps = eps
        self.conv = nn.Conv2d(channels, 2 * channels * kernel_size**2, kernel_size, padding=0)
        self.conv.weight.requires_grad_(False)  # the bias still trains, as in airbench
        self.fitted: torch.Tensor
        self.register_buffer("fitted", torch.tensor(False))  # saved, so a loaded model counts as fitted
        self._checked = False  # read `fitted` once, not on every step (a device sync on a GPU)

    @property
    def out_channels(self) -> int:
        return self.conv.out_channels

    @torch.no_grad()
    def adapt(self, images: torch.Tensor) -> None:
        """Fit the filters to raw training images [N, C, H, W] (uint8 or float; scale does not matter
        for the network, which batch-normalises what follows)."""
        sample = images[:_SAMPLE_IMAGES].to(torch.float64)
        sample = sample / sample.abs().amax().clamp(min=1e-12)  # into [-1, 1]: eps means the same for any dtype
        c, (kh, kw) = self.conv.in_channels, self.conv.kernel_size
        patches = sample.unfold(2, kh, 1).unfold(3, kw, 1)  # N, C, H', W', kh, kw
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)
        patches = patches - patches.mean(dim=0)
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
        eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)  # largest variance first
        filters = (eigenvectors.T / (eigenvalues.clamp(min=0) + self.eps).sqrt()[:, None]).reshape(-1, c, kh, kw)
        self.conv.weight.copy_(torch.cat([filters, -filters]).to(self.conv.weight.dtype))
        assert self.conv.bias is not None  # built with one
        self.conv.bias.zero_()
        self.fitted = torch.tensor(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not self._checked:
            self._checked = bool(self.fitted)
        if self.training and not self._checked:
            raise UserError("the patch-whitening first layer was never fitted to training images",
                            hint="it needs in-memory images (a registered dataset, not an image folder); "
                            "from Python, call model.adapt(train_images) before training")  # fmt: skip
        return self.conv(x)
