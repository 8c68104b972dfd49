"""SimCLR around any registered image classifier: its encoder, a projection head, two views per image.

The classifier's `features` and its head up to the last Linear layer are the encoder, so the
representation learned here is exactly what a fine-tuned classifier's last layer will read.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Augment = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


class ContrastiveLearner(nn.Module):
    """forward(x): projections of two augmented views of each image, stacked [2N, projection_dim]."""

    def __init__(self, classifier: nn.Module, projection_dim: int, augment: Augment) -> None:
        super().__init__()
        head = getattr(classifier, "head", None)
        if not (
            hasattr(classifier, "features") and isinstance(head, nn.Sequential) and isinstance(head[-1], nn.Linear)
        ):
            raise ValueError("self-supervised pretraining needs a model with `features` and a head ending in a Linear "
                             "layer (fast_cnn, simple_cnn, resnet, ...)")  # fmt: skip
        self.classifier = classifier
        head[-1].requires_grad_(False)  # the class layer is trained later, on labels; DDP must not wait for it
        self.pool = head[:-1]  # the head without its class layer: global pooling, flatten (dropout)
        width = head[-1].in_features
        self.projector = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, projection_dim))
        self.augment = augment

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's features of `x`: what the linear probe and a fine-tuned head read."""
        return self.pool(self.classifier.features(x))  # type: ignore[operator]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In eval mode the views are drawn from a fixed seed, so a held-out loss is comparable across epochs.
        generator = None if self.training else torch.Generator(device=x.device).manual_seed(0)
        views = torch.cat([self.augment(x, generator), self.augment(x, generator)])
        return self.projector(self.represent(views))
