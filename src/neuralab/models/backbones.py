"""torchvision backbones under torchvision's own names, with a new head for the dataset's classes.

Inputs are adapted inside the model: grayscale repeated to 3 channels and, when asked, resized
(`resize`), so a 28x28 Fashion-MNIST batch can feed a network built for ImageNet. The model
advertises ImageNet's normalisation (`input_normalization`); the pipeline stores it as the run's
preprocessing, so predict and serve feed pretrained weights what they expect.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from neuralab.errors import UserError
from neuralab.models.registry import register_model

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# name -> (attribute path of the classifier's last Linear, how to split `features` into layer groups)
BACKBONES: dict[str, str] = {
    "resnet18": "fc",
    "resnet34": "fc",
    "resnet50": "fc",
    "mobilenet_v3_small": "classifier.3",
    "mobilenet_v3_large": "classifier.3",
    "efficientnet_b0": "classifier.1",
    "convnext_tiny": "classifier.2",
}


class Backbone(nn.Module):
    """`features` (torchvision's network with its last Linear replaced by Identity) then `head`."""

    def __init__(self, name: str, num_classes: int, in_channels: int, resize: int | None) -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.resize = resize
        self.features = torchvision.models.get_model(name, weights=None)
        last: nn.Linear = self.features.get_submodule(BACKBONES[name])  # type: ignore[assignment]
        parent_path, _, leaf = BACKBONES[name].rpartition(".")
        parent = self.features.get_submodule(parent_path) if parent_path else self.features
        setattr(parent, leaf, nn.Identity())
        self.head = nn.Linear(last.in_features, num_classes)

    @property
    def input_normalization(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        if self.in_channels == 1:
            return (sum(IMAGENET_MEAN) / 3,), (sum(IMAGENET_STD) / 3,)
        return IMAGENET_MEAN, IMAGENET_STD

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.resize and x.shape[-1] != self.resize:
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        return self.head(self.features(x))

    def layer_groups(self) -> list[list[nn.Module]]:
        """From the input to the head: what gradual unfreezing and per-layer learning rates step through."""
        f = self.features
        if self.name.startswith("resnet"):
            stages: list[list[nn.Module]] = [[f.conv1, f.bn1], [f.layer1], [f.layer2], [f.layer3], [f.layer4]]
            return [*stages, [self.head]]
        blocks = list(f.features.children())  # type: ignore[union-attr]
        size = max(1, len(blocks) // 4)
        stages = [blocks[i : i + size] for i in range(0, len(blocks), size)]
        return [*stages, [f.classifier, self.head]]  # the classifier's hidden layers train with the head

    def load_imagenet(self) -> None:
        """torchvision's ImageNet weights (downloaded into the torch cache once), head excluded."""
        weights = torchvision.models.get_model_weights(self.name).DEFAULT
        try:
            state = weights.get_state_dict(progress=False)
        except Exception as err:  # offline, proxy, corrupt cache: torchvision raises many kinds
            raise UserError(
                f"cannot fetch torchvision's ImageNet weights for {self.name} ({type(err).__name__}: {err})",
                hint=f"when offline, put {weights.url.rsplit('/', 1)[-1]} in {torch.hub.get_dir()}/checkpoints/ "
                "or give model.pretrained=/path/to/weights.pth",
            ) from None
        load_matching(self.features, state)


def load_matching(module: nn.Module, state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """Copy every tensor whose name and shape match; return (copied, skipped). Heads rarely match."""
    own = module.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(usable, strict=False)
    return len(usable), len(own) - len(usable)


def _builder(name: str) -> Callable[..., nn.Module]:
    def build(input_shape: tuple[int, ...], num_classes: int, resize: int | None = None) -> nn.Module:
        channels, height, _ = input_shape
        if channels not in (1, 3):
            raise ValueError(f"{name} takes 1- or 3-channel images, not {channels}")
        if resize is None and height < 32:
            resize = 32  # below 32 pixels the later stages would see less than one pixel
        return Backbone(name, num_classes, channels, resize)

    build.__name__ = name
    return build


for _name in BACKBONES:
    register_model(f"torchvision {_name}; model.pretrained=imagenet|FILE|RUN_DIR; args: resize")(_builder(_name))
