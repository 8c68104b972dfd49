"""Convolutional networks: the tutorials' CNNs, sized from the dataset, and a fast default CNN.

The tutorials hard-code 28x28 or 32x32 inputs (`x.view(-1, 64 * 7 * 7)`); here the flatten size
is computed from `input_shape`, so the same named network trains on digits, MNIST or CIFAR.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuralab.model_contract import tta_enabled
from neuralab.models.registry import register_model
from neuralab.models.whitening import PatchWhitening


def _flat_size(features: nn.Module, input_shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *input_shape)).numel())


def conv_bn_relu(c_in: int, c_out: int, kernel_size: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]  # fmt: skip


class Residual(nn.Module):
    """x + f(x): the skip connection that lets deeper groups train as easily as shallow ones."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


TTA_MODES = ("none", "flip", "flip_shift")


class FeatureClassifier(nn.Module):
    """`features` then `head`: the split Grad-CAM, transfer learning and summaries rely on.

    `tta` (test-time augmentation, in eval mode only, so evaluate, predict, serve and export all see
    the same model; only for data whose classes survive a left-right flip: clothing, scenes, not digits):
    - "flip": the logits are averaged over the image and its mirror image (one batch of 2N);
    - "flip_shift": airbench's multi-view average, half from the image and its mirror, half from both
      of them shifted one pixel up-left and one pixel down-right (zero padding; one batch of 6N).
    """

    def __init__(self, features: nn.Module, head: nn.Module, tta: str = "none") -> None:
        super().__init__()
        self.features = features
        self.head = head
        self.tta = tta

    def adapt(self, images: torch.Tensor) -> None:
        """Fit the layers that learn from the training split before training (a patch-whitening stem)."""
        for module in self.features.modules():
            if isinstance(module, PatchWhitening):
                module.adapt(images)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tta == "none" or self.training or not tta_enabled():
            return self.head(self.features(x))
        views = [x, x.flip(-1)]
        if self.tta == "flip_shift":
            height, width = x.shape[-2:]
            padded = nn.functional.pad(x, (1, 1, 1, 1))
            up_left, down_right = padded[..., :height, :width], padded[..., 2:, 2:]
            views += [up_left, up_left.flip(-1), down_right, down_right.flip(-1)]
        logits = self.head(self.features(torch.cat(views))).unflatten(0, (len(views), -1))  # batch left symbolic
        if self.tta == "flip_shift":
            return (logits[:2].mean(0) + logits[2:].mean(0)) / 2
        return logits.mean(0)  # (plain + mirrored) / 2


@register_model("the tutorial's SimpleCNN: conv32-pool-conv64-pool-fc128")
def simple_cnn(input_shape: tuple[int, ...], num_classes: int, hidden: int = 128) -> nn.Module:
    channels = input_shape[0]
    # Pooling before the ReLU computes the same function (max-pooling and ReLU commute, values and
    # gradients alike) with a quarter of the ReLU work: 1.1-1.2x faster bf16 training steps on a 2-core CPU
    # (benchmarks/pool_relu_order.py).
    # The convolutions keep their indices (features.0, features.3), so older weights still load.
    features = nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(),
    )
    flat = _flat_size(features, input_shape)
    head = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
    return FeatureClassifier(features, head)


@register_model("the tutorial's Keras CNN: conv32-pool-conv64-pool-conv64-dense64 (valid convs; needs >= 18x18)")
def keras_cnn(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    channels, height, width = input_shape
    if min(height, width) < 18:
        raise ValueError(
            f"keras_cnn uses unpadded convolutions and needs inputs of at least 18x18, got {height}x{width}"
        )
    features = nn.Sequential(  # pooling before the ReLU, as in simple_cnn: the same function, less work
        nn.Conv2d(channels, 32, 3),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
    )
    flat = _flat_size(features, input_shape)
    head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 64), nn.ReLU(), nn.Linear(64, num_classes))
    return FeatureClassifier(features, head)


@register_model("the tutorial's CIFAR10Net: 4 conv+BatchNorm, dropout 0.3, fc256")
def cifar10_net(input_shape: tuple[int, ...], num_classes: int, dropout: float = 0.3) -> nn.Module:
    channels = input_shape[0]

    def conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

    features = nn.Sequential(
        *conv_bn(channels, 32),
        nn.MaxPool2d(2),
        *conv_bn(32, 64),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
        *conv_bn(64, 128),
        *conv_bn(128, 128),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
    )
    flat = _flat_size(features, input_shape)
    head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 256), nn.ReLU(), nn.Linear(256, num_classes))
    return FeatureClassifier(features, head)


@register_model("neuralab's fast CNN: conv-BN-ReLU groups, max-pooling between them, global max-pool head")
def fast_cnn(
    input_shape: tuple[int, ...],
    num_classes: int,
    widths: Sequence[int] = (32, 48, 96),
    convs_per_group: Sequence[int] = (1, 1, 2),
    dropout: float = 0.0,
    kernel_size: int = 3,
    block: str = "plain",
    tta: str = "none",
    whiten: int = 0,
    norm_scale: bool = True,
    pool_first: bool = False,
) -> nn.Module:
    """Most compute at low resolution and no large dense layer: about 18 MFLOPs per 28x28 image.

    `widths`, `convs_per_group` (depth), `kernel_size` and `block` (plain, or residual: each conv after a
    group's first adds its input back) are the axes an architecture search (`neuralab tune`) moves along.

    `tta="flip"` averages each test image's logits with its mirror image's; `tta="flip_shift"` adds
    one-pixel shifts of both (see FeatureClassifier).

    `whiten=k` (airbench's stem; 2 there) puts a frozen k x k patch-whitening convolution and a ReLU
    before the first group, fitted on the training images before the first step (models/whitening.py).
    `norm_scale=False` freezes every BatchNorm scale at 1 (airbench; pair it with `optim.bias_lr_scale`).
    `pool_first=True` max-pools a group's last (plain) convolution before its BatchNorm and ReLU, airbench's
    order: they then work on a quarter of the map, the largest elementwise cost of a CPU step. Not the same
    function: BatchNorm's statistics are those of the pooled map.

    Sized by measurement on a 2-core CPU: the most accuracy per training second on Fashion-MNIST
    among the variants tried (see the foundation issue's note and benchmarks/fashion_mnist.py).
    """
    if len(widths) != len(convs_per_group):
        raise ValueError("widths and convs_per_group must have the same length")
    if block not in ("plain", "residual") or kernel_size % 2 == 0 or kernel_size < 1:
        raise ValueError("block is plain or residual; kernel_size is odd (3, 5, 7)")
    if tta not in TTA_MODES:
        raise ValueError(f"tta is {', '.join(TTA_MODES)}, got {tta!r}")
    if whiten < 0:
        raise ValueError(f"whiten is a kernel size (2 or 3), or 0 for no whitening stem, got {whiten}")
    layers: list[nn.Module] = []
    previous = input_shape[0]
    if whiten:
        stem = PatchWhitening(previous, whiten)
        layers += [stem, nn.ReLU(inplace=True)]
        previous = stem.out_channels
    pooled = True  # whether the maps are already pooled for the next group
    for group, (width, convs) in enumerate(zip(widths, convs_per_group, strict=True)):
        if not pooled:
            layers.append(nn.MaxPool2d(2))
        pooled = False
        for index in range(convs):
            if block == "residual" and index > 0:  # same width in and out: add the skip connection
                layers.append(Residual(nn.Sequential(*conv_bn_relu(width, width, kernel_size))))
            elif pool_first and index == convs - 1 and group < len(widths) - 1:
                conv, norm, relu = conv_bn_relu(previous, width, kernel_size)
                layers += [conv, nn.MaxPool2d(2), norm, relu]
                pooled = True
            else:
                layers += conv_bn_relu(previous, width, kernel_size)
            previous = width
    features = nn.Sequential(*layers)
    if not norm_scale:
        for module in features.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.requires_grad_(False)
    head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(previous, num_classes))
    return FeatureClassifier(features, head, tta=tta)
