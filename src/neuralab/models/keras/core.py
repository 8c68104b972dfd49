"""Keras layers as real `nn.Module`s, with Keras's semantics: channels-last tensors, shapes inferred
from `input_shape=`/`Input`, glorot-uniform kernels and zero biases, `padding='valid'|'same'`.

Shapes exclude the batch axis, as in Keras. A layer is built (its weights created) once its input
shape is known; `count_params()` gives the count Keras's `summary()` shows.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuralab.errors import UserError

Shape = tuple[int, ...]
ACTIVATIONS: dict[str, Any] = {
    "linear": lambda x: x, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "elu": F.elu,
    "selu": F.selu, "gelu": F.gelu, "swish": F.silu, "silu": F.silu, "softplus": F.softplus,
    "softmax": lambda x: torch.softmax(x, dim=-1), "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
}  # fmt: skip


def activation_fn(name: str | None) -> Any:
    key = name or "linear"
    if key not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}", hint=f"choose one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def positive(value: Any, what: str) -> int:
    """A layer size Keras would accept: a whole number of at least 1 (said by name, as Keras does)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise UserError(f"{what} must be a positive whole number, got {value!r}")
    return int(value)


def glorot_uniform_(weight: torch.Tensor, fan_in: int, fan_out: int) -> None:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        weight.uniform_(-limit, limit)


def _recording_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a layer's `__init__` so the outermost call keeps its arguments: the layer's config, which
    `model.save` writes as JSON (Keras's `get_config`, without each layer writing one by hand)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def recording(self: Layer, *args: Any, **kwargs: Any) -> None:
        if "_keras_config" not in self.__dict__:
            bound = signature.bind(self, *args, **kwargs)
            config: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                    config.update(value)
                else:
                    config[name] = value
            object.__setattr__(self, "_keras_config", config)
        init(self, *args, **kwargs)

    return recording


class Layer(nn.Module):
    """Base of every Keras layer: lazy build from the input shape, an optional activation."""

    keras_layout = True  # outputs are channels-last: tools that look for [N, C, H, W] maps skip the layer

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_arguments(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(self, activation: str | None = None, input_shape: Sequence[int] | None = None,
                 name: str | None = None, trainable: bool = True) -> None:  # fmt: skip
        super().__init__()
        if activation is not None:
            activation_fn(activation)  # an unknown name is refused here, as Keras does, not at the first call
        self.activation = activation
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.layer_name = name
        self.trainable = trainable
        self.built = False
        self.output_shape: Shape | None = None

    def build(self, shape: Shape) -> Shape:
        """Create the weights for inputs of `shape`; returns the output shape."""
        self.output_shape = self.compute_output_shape(shape)
        self.built = True
        if not self.trainable:
            self.requires_grad_(False)
        return self.output_shape

    def compute_output_shape(self, shape: Shape) -> Shape:
        return shape

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply_activation(self.call(x))

    def apply_activation(self, x: torch.Tensor) -> torch.Tensor:
        return activation_fn(self.activation)(x) if self.activation else x

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # Keras's masks (Embedding(mask_zero=True)): a layer that `supports_masking` takes `mask=` and says
    # what mask its output carries; `passes_mask` layers (per-step: Dense, Dropout, ...) hand it on
    # unchanged; any other layer drops it, as Keras drops it at layers that do not support masking.
    supports_masking = False
    passes_mask = False

    def output_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        return mask if self.passes_mask else None

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments as given (Keras's `get_config`)."""
        return dict(self.__dict__.get("_keras_config", {}))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from neuralab.models.keras.graph import KerasTensor, connect

        if args and all(isinstance(a, KerasTensor) for a in (args[0] if isinstance(args[0], list) else args[:1])):
            return connect(self, args[0])
        return super().__call__(*args, **kwargs)


Layer.__init__ = _recording_arguments(Layer.__init__)  # type: ignore[method-assign]


class Dense(Layer):
    passes_mask = True

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)
        self.units, self.use_bias = positive(units, "Dense(units)"), use_bias

    def build(self, shape: Shape) -> Shape:
        self.linear = nn.Linear(shape[-1], self.units, bias=self.use_bias)
        glorot_uniform_(self.linear.weight, shape[-1], self.units)
        if self.linear.bias is not None:
            nn.init.zeros_(self.linear.bias)
        return super().build(shape)

    def compute_output_shape(self, shape: Shape) -> Shape:
        return (*shape[:-1], self.units)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class Conv2D(Layer):
    """Channels-last [H, W, C] in and out; the convolution runs on a channels_last view (no copy)."""

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", activation: str | None = None, use_bias: bool = True,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(activation, **kwargs)
        if padding not in ("valid", "same"):
            raise UserError(f"padding must be 'valid' or 'same', not {padding!r}")
        self.filters, self.kernel_size, self.strides = filters, pair(kernel_size), pair(strides)
        for size in (filters, *self.kernel_size, *self.strides):
            positive(size, "Conv2D's filters, kernel_size and strides")
        self.padding, self.use_bias = padding, use_bias

    def build(self, shape: Shape) -> Shape:
        if len(shape) != 3:
            raise UserError(f"Conv2D takes [height, width, channels] inputs, got shape {list(shape)}",
                            hint="reshape grayscale images to (28, 28, 1)")  # fmt: skip
        self.conv = nn.Conv2d(shape[2], self.filters, self.kernel_size, self.strides, padding=0, bias=self.use_bias)
        kh, kw = self.kernel_size
        glorot_uniform_(self.conv.weight, shape[2] * kh * kw, self.filters * kh * kw)
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        return super().build(shape)

    def _pads(self, height: int, width: int) -> tuple[int, int, int, int]:
        """TensorFlow's 'same': output = ceil(input / stride), extra padding on the bottom/right."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        vertical = max((math.ceil(height / sh) - 1) * sh + kh - height, 0)
        horizontal = max((math.ceil(width / sw) - 1) * sw + kw - width, 0)
        return (horizontal // 2, horizontal - horizontal // 2, vertical // 2, vertical - vertical // 2)

    def compute_output_shape(self, shape: Shape) -> Shape:
        height, width, _ = shape
        if self.padding == "same":
            return (math.ceil(height / self.strides[0]), math.ceil(width / self.strides[1]), self.filters)
        kh, kw = self.kernel_size
        return ((height - kh) // self.strides[0] + 1, (width - kw) // self.strides[1] + 1, self.filters)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        nchw = x.permute(0, 3, 1, 2)
        pads = self._pads(x.shape[1], x.shape[2])
        if any(pads):
            nchw = F.pad(nchw, pads)
        return self.conv(nchw).permute(0, 2, 3, 1)


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' along one axis: output = ceil(size / stride), the extra pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv1D(Layer):
    """Channels-last [steps, channels] in and out, as Keras's Conv1D (text and time series)."""

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", activation: str | None = None, use_bias: bool = True,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(activation, **kwargs)
        if padding not in ("valid", "same"):
            raise UserError(f"padding must be 'valid' or 'same', not {padding!r}")
        self.filters, self.kernel_size, self.strides = filters, pair(kernel_size)[0], pair(strides)[0]
        for size in (filters, self.kernel_size, self.strides):
            positive(size, "Conv1D's filters, kernel_size and strides")
        self.padding, self.use_bias = padding, use_bias

    def build(self, shape: Shape) -> Shape:
        if len(shape) != 2:
            raise UserError(f"Conv1D takes [steps, channels] inputs, got shape {list(shape)}",
                            hint="a sequence of numbers needs a channel axis: reshape to (steps, 1)")  # fmt: skip
        self.conv = nn.Conv1d(shape[1], self.filters, self.kernel_size, self.strides, bias=self.use_bias)
        glorot_uniform_(self.conv.weight, shape[1] * self.kernel_size, self.filters * self.kernel_size)
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        return super().build(shape)

    def compute_output_shape(self, shape: Shape) -> Shape:
        if self.padding == "same":
            return (math.ceil(shape[0] / self.strides), self.filters)
        return ((shape[0] - self.kernel_size) // self.strides + 1, self.filters)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        ncl = x.transpose(1, 2)
        if self.padding == "same":
            ncl = F.pad(ncl, same_pads(x.shape[1], self.kernel_size, self.strides))
        return self.conv(ncl).transpose(1, 2)


class _Pool2D(Layer):
    reduce: Any = None

    def __init__(self, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: str = "valid", **kwargs: Any) -> None:  # fmt: skip
        super().__init__(None, **kwargs)
        if padding != "valid":
            raise UserError("pooling supports padding='valid' only (Keras's default)")
        self.pool_size = pair(pool_size)
        self.strides = pair(strides) if strides is not None else self.pool_size

    def compute_output_shape(self, shape: Shape) -> Shape:
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return ((shape[0] - ph) // sh + 1, (shape[1] - pw) // sw + 1, shape[2])

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return type(self).reduce(x.permute(0, 3, 1, 2), self.pool_size, self.strides).permute(0, 2, 3, 1)


class MaxPooling2D(_Pool2D):
    reduce = staticmethod(F.max_pool2d)


class AveragePooling2D(_Pool2D):
    reduce = staticmethod(F.avg_pool2d)


class GlobalAveragePooling2D(Layer):
    def compute_output_shape(self, shape: Shape) -> Shape:
        return (shape[-1],)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2))


class Flatten(Layer):
    """Flattens in Keras's (channels-last) order, so Dense weights mean what they mean in Keras."""

    def compute_output_shape(self, shape: Shape) -> Shape:
        return (math.prod(shape),)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class Reshape(Layer):
    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.target_shape = tuple(target_shape)

    def compute_output_shape(self, shape: Shape) -> Shape:
        if math.prod(self.target_shape) != math.prod(shape):
            raise UserError(f"Reshape: cannot reshape {list(shape)} to {list(self.target_shape)}")
        return self.target_shape

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.target_shape)


class Dropout(Layer):
    passes_mask = True

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.dropout = nn.Dropout(rate)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x)


class Activation(Layer):
    passes_mask = True

    def __init__(self, activation: str, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)
        activation_fn(activation)


class BatchNormalization(Layer):
    """Over the last (channels) axis; Keras's momentum 0.99 is torch's momentum 0.01."""

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.momentum, self.epsilon = momentum, epsilon

    def build(self, shape: Shape) -> Shape:
        self.norm = nn.BatchNorm1d(shape[-1], eps=self.epsilon, momentum=1 - self.momentum)
        return super().build(shape)

    def count_params(self) -> int:
        return 4 * self.norm.num_features  # Keras counts the moving mean and variance (non-trainable)

    supports_masking = True  # to refuse a mask: Keras would leave the masked steps out of its statistics

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            raise UserError("BatchNormalization after Embedding(mask_zero=True) is not supported yet",
                            hint="use LayerNormalization, or mask_zero=False")  # fmt: skip
        return super().forward(x)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        return self.norm(flat).reshape(x.shape)


class LayerNormalization(Layer):
    passes_mask = True

    def __init__(self, epsilon: float = 1e-3, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.epsilon = epsilon

    def build(self, shape: Shape) -> Shape:
        self.norm = nn.LayerNorm(shape[-1], eps=self.epsilon)
        return super().build(shape)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)
