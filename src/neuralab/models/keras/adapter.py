"""A Keras network seen the way the rest of neuralab sees every model: PyTorch's layout in, logits out.

predict, serve, explain, export and report feed images as [N, C, H, W] and apply the softmax
themselves; a Keras network takes [N, H, W, C] (or [N, H, W] for a grayscale MLP) and may end in a
softmax. This view permutes the input and stops before the final softmax, with no copy of the weights.
"""

from __future__ import annotations

import torch
from torch import nn

from neuralab.models.keras.network import Network


class KerasAsTorch(nn.Module):
    def __init__(self, network: Network) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = self.network.input_shape or ()
        if x.ndim == 4 and len(shape) == 3:
            x = x.permute(0, 2, 3, 1)  # [N, C, H, W] -> Keras's [N, H, W, C]
        elif x.ndim == 4 and len(shape) == 2 and x.shape[1] == 1:
            x = x[:, 0]  # a grayscale image for a network whose first layer is Flatten(input_shape=(H, W))
        return self.network.run(x, logits=self.network.ends_in_softmax())

    @staticmethod
    def torch_input_shape(keras_shape: tuple[int, ...], kind: str) -> tuple[int, ...]:
        """The shape neuralab's data layer gives for a Keras input shape ([H, W, C] -> [C, H, W])."""
        if kind == "image" and len(keras_shape) == 3:
            height, width, channels = keras_shape
            return (channels, height, width)
        if kind == "image" and len(keras_shape) == 2:
            return (1, *keras_shape)
        return tuple(keras_shape)
