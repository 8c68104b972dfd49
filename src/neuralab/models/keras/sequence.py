"""Keras's sequence layers: Embedding (token ids in), SimpleRNN / LSTM / GRU (batch-first), Bidirectional,
GlobalAveragePooling1D / GlobalMaxPooling1D, and the merges of the functional API (Concatenate, Add)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralab.errors import UserError
from neuralab.models.keras.core import Layer, Shape, glorot_uniform_

_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


class Embedding(Layer):
    """Token ids [T] -> vectors [T, output_dim]; `weights=[matrix]` and `trainable=False` as in Keras."""

    def __init__(self, input_dim: int, output_dim: int, input_length: int | None = None,
                 weights: Sequence[Any] | None = None, mask_zero: bool = False, **kwargs: Any) -> None:  # fmt: skip
        if input_length is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (input_length,)
        super().__init__(None, **kwargs)
        self.embedding = nn.Embedding(input_dim, output_dim)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)  # Keras's default initializer
        if weights is not None:
            matrix = torch.as_tensor(np.asarray(weights[0]), dtype=torch.float32)
            if tuple(matrix.shape) != (input_dim, output_dim):
                raise UserError(
                    f"Embedding weights have shape {list(matrix.shape)}, expected [{input_dim}, {output_dim}]"
                )
            with torch.no_grad():
                self.embedding.weight.copy_(matrix)
        self.mask_zero = mask_zero

    def compute_output_shape(self, shape: Shape) -> Shape:
        return (*shape, self.embedding.embedding_dim)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x.long())

    def output_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        return inputs != 0 if self.mask_zero else None  # Keras: id 0 is padding, skipped downstream


class _Recurrent(Layer):
    kind = "LSTM"

    def __init__(self, units: int, return_sequences: bool = False, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.units, self.return_sequences = units, return_sequences

    def build(self, shape: Shape) -> Shape:
        cls = {"SimpleRNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[self.kind]
        self.rnn = cls(shape[-1], self.units, batch_first=True)
        gates = _GATES[self.kind]
        glorot_uniform_(self.rnn.weight_ih_l0, shape[-1], gates * self.units)
        for block in self.rnn.weight_hh_l0.data.chunk(gates):
            nn.init.orthogonal_(block)
        nn.init.zeros_(self.rnn.bias_ih_l0)
        nn.init.zeros_(self.rnn.bias_hh_l0)
        if self.kind == "LSTM":  # Keras's unit_forget_bias: the forget gate starts open
            with torch.no_grad():
                self.rnn.bias_ih_l0[self.units : 2 * self.units] = 1.0
        return super().build(shape)

    def count_params(self) -> int:
        """Keras's count: one bias per gate (torch keeps two, input and recurrent; they sum)."""
        gates, inputs = _GATES[self.kind], self.rnn.input_size
        extra = gates * self.units if self.kind == "GRU" else 0  # Keras's GRU (reset_after) has two biases
        return gates * (self.units * (inputs + self.units) + self.units) + extra

    def compute_output_shape(self, shape: Shape) -> Shape:
        return (shape[0], self.units) if self.return_sequences else (self.units,)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rnn(x)[0]
        return out if self.return_sequences else out[:, -1]

    supports_masking = True

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.call(x) if mask is None else self.masked_call(x, mask)

    def masked_call(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Keras's masked recurrence: masked steps are skipped, the state carried over them.

        The real steps are moved to the front of each row and run as one padded batch (the fused
        kernel), then put back: with `return_sequences`, a masked step repeats the output of the last
        real step before it (zeros before the first), as Keras gives; without, the output after each
        row's last real step (zeros for a row with none).
        """
        steps = x.shape[1]
        seen = mask.long().cumsum(dim=1)  # real steps up to and including each position
        destination = torch.where(mask, seen - 1, steps)[:, :, None].expand(-1, -1, x.shape[2])
        packed = x.new_zeros(x.shape[0], steps + 1, x.shape[2]).scatter(1, destination, x)[:, :steps]
        out = self.rnn(packed)[0]
        if self.return_sequences:
            read, real = (seen - 1).clamp_min(0), seen > 0
        else:
            read, real = (seen[:, -1:] - 1).clamp_min(0), seen[:, -1:] > 0
        picked = out.gather(1, read[:, :, None].expand(-1, -1, out.shape[2])) * real[:, :, None].to(out.dtype)
        return picked if self.return_sequences else picked[:, 0]

    def output_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        return mask if self.return_sequences else None


class SimpleRNN(_Recurrent):
    kind = "SimpleRNN"


class LSTM(_Recurrent):
    kind = "LSTM"


class GRU(_Recurrent):
    kind = "GRU"


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and backwards and concatenates the two (merge_mode='concat')."""

    def __init__(self, layer: _Recurrent, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.forward_layer = layer
        self.backward_layer = type(layer)(layer.units, return_sequences=layer.return_sequences)

    def build(self, shape: Shape) -> Shape:
        self.forward_layer.build(shape)
        self.backward_layer.build(shape)
        return super().build(shape)

    def compute_output_shape(self, shape: Shape) -> Shape:
        out = self.forward_layer.compute_output_shape(shape)
        return (*out[:-1], 2 * out[-1])

    def count_params(self) -> int:
        return self.forward_layer.count_params() + self.backward_layer.count_params()

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    supports_masking = True

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Keras reverses the steps and the mask alike, so the backward layer skips the same steps."""
        backward = self.backward_layer(x.flip(1), mask=None if mask is None else mask.flip(1))
        if self.backward_layer.return_sequences:
            backward = backward.flip(1)
        return torch.cat([self.forward_layer(x, mask=mask), backward], dim=-1)

    def output_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        return self.forward_layer.output_mask(inputs, mask)


class GlobalAveragePooling1D(Layer):
    """The mean over steps [T, C] -> [C]; with a mask, over the real steps only, as Keras averages.

    A row with no real step gives zeros where Keras gives NaN (0 / 0), which would poison a loss.
    """

    supports_masking = True

    def compute_output_shape(self, shape: Shape) -> Shape:
        return (shape[-1],)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return self.call(x)
        weights = mask.to(x.dtype)[:, :, None]
        return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1)


class GlobalMaxPooling1D(Layer):
    """The maximum over steps [T, C] -> [C]; like Keras's, it ignores a mask (padding included)."""

    def compute_output_shape(self, shape: Shape) -> Shape:
        return (shape[-1],)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=1)


class Concatenate(Layer):
    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.axis = axis

    def build_many(self, shapes: list[Shape]) -> Shape:
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        self.output_shape, self.built = tuple(out), True
        return self.output_shape

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        return torch.cat(xs, dim=self.axis if self.axis < 0 else self.axis + 1)


class Add(Layer):
    def build_many(self, shapes: list[Shape]) -> Shape:
        if len(set(shapes)) != 1:
            raise UserError(f"Add needs inputs of one shape, got {[list(s) for s in shapes]}")
        self.output_shape, self.built = shapes[0], True
        return shapes[0]

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        return torch.stack(xs).sum(0)
