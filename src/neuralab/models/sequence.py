"""Models over numeric sequences [batch, time, features] (time series windows, sensor traces).

The LSTM/GRU is `sequence_lstm` (the tutorial's SimpleLSTM); here are the two other families a
forecaster is usually compared with: a causal-free 1-D CNN and a small Transformer encoder.
"""

from __future__ import annotations

import torch
from torch import nn

from neuralab.models.registry import register_model


class SequenceCNN(nn.Module):
    """Conv1d blocks over time (same padding), global average and last-step features, then a linear head."""

    def __init__(self, features: int, outputs: int, width: int, kernel: int, blocks: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = features
        for _ in range(blocks):
            layers += [nn.Conv1d(channels, width, kernel, padding=kernel // 2), nn.BatchNorm1d(width), nn.ReLU()]
            channels = width
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x.transpose(1, 2))  # [batch, width, time]
        return self.head(self.drop(torch.cat([h.mean(2), h[:, :, -1]], dim=1)))


class SequenceTransformer(nn.Module):
    """A linear embedding of each step plus learned positions, a Transformer encoder, the last step's state."""

    def __init__(self, steps: int, features: int, outputs: int, dim: int, heads: int, layers: int,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.embed = nn.Linear(features, dim)
        self.position = nn.Parameter(torch.zeros(1, steps, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x) + self.position[:, : x.shape[1]])
        return self.head(h[:, -1])


@register_model("1-D CNN over numeric sequences [time, features]", inputs=("sequence",))
def sequence_cnn(input_shape: tuple[int, ...], num_classes: int, width: int = 64, kernel: int = 5, blocks: int = 2,
                 dropout: float = 0.1) -> nn.Module:  # fmt: skip
    return SequenceCNN(input_shape[-1], num_classes, width, kernel, blocks, dropout)


@register_model("Transformer encoder over numeric sequences [time, features]", inputs=("sequence",))
def sequence_transformer(input_shape: tuple[int, ...], num_classes: int, dim: int = 32, heads: int = 4,
                         layers: int = 2, dropout: float = 0.1) -> nn.Module:  # fmt: skip
    return SequenceTransformer(input_shape[0], input_shape[-1], num_classes, dim, heads, layers, dropout)
