"""Layers with `forward` and `backward` side by side, composed by `Sequential`.

`backward(grad_out)` receives dLoss/dOutput, stores dLoss/dParameter in each `Parameter.grad`
and returns dLoss/dInput for the layer before.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from neuralab.scratch.activations import FUNCTIONS
from neuralab.scratch.init import INITIALIZERS


class Parameter:
    """A trainable array and the gradient of the loss with respect to it."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value
        self.grad = np.zeros_like(value)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"


class Layer:
    training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        return []

    def backward_params_only(self, grad_out: np.ndarray) -> None:
        """Parameter gradients without dLoss/dInput: the first layer's input is data, not a parameter."""
        self.backward(grad_out)


class Dense(Layer):
    """y = x @ W + b, with W [in, out]."""

    def __init__(
        self, n_in: int, n_out: int, init: str = "he", rng: np.random.Generator | None = None, dtype: type = np.float64
    ) -> None:
        rng = rng or np.random.default_rng(0)
        self.W = Parameter(INITIALIZERS[init](n_in, n_out, rng, dtype))
        self.b = Parameter(np.zeros(n_out, dtype=dtype))
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x @ self.W.value + self.b.value

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.backward_params_only(grad_out)
        return grad_out @ self.W.value.T

    def backward_params_only(self, grad_out: np.ndarray) -> None:
        assert self._x is not None, "backward before forward"
        # Written into the existing gradient arrays: no per-step allocation of a W-sized array.
        np.matmul(self._x.T, grad_out, out=self.W.grad)
        np.sum(grad_out, axis=0, out=self.b.grad)

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    def __repr__(self) -> str:
        return f"Dense({self.W.value.shape[0]}, {self.W.value.shape[1]})"


class Activation(Layer):
    """sigmoid, tanh, relu or leaky_relu as a layer."""

    def __init__(self, name: str) -> None:
        if name not in FUNCTIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(FUNCTIONS)}")
        self.name = name
        self.fn, self.grad_fn = FUNCTIONS[name]
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return self.fn(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        assert self._x is not None, "backward before forward"
        return grad_out * self.grad_fn(self._x)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


class Dropout(Layer):
    """Inverted dropout: scale kept units by 1/(1-p) in training, so evaluation is the identity."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if not 0 <= p < 1:
            raise ValueError("dropout p must be in [0, 1)")
        self.p = p
        self.rng = rng or np.random.default_rng(0)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0:
            self._mask = None
            return x
        self._mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / (1 - self.p)
        return x * self._mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self._mask is None else grad_out * self._mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class BatchNorm1d(Layer):
    """Normalise each feature over the batch; running statistics (unbiased variance, as torch) for evaluation."""

    def __init__(self, features: int, momentum: float = 0.1, eps: float = 1e-5, dtype: type = np.float64) -> None:
        self.gamma = Parameter(np.ones(features, dtype=dtype))
        self.beta = Parameter(np.zeros(features, dtype=dtype))
        self.running_mean: np.ndarray = np.zeros(features, dtype=dtype)
        self.running_var: np.ndarray = np.ones(features, dtype=dtype)
        self.momentum, self.eps = momentum, eps
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            n = x.shape[0]
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / max(n - 1, 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self._cache = (x_hat, inv_std)
        return self.gamma.value * x_hat + self.beta.value

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward before forward"
        x_hat, inv_std = self._cache
        self.gamma.grad = (grad_out * x_hat).sum(axis=0)
        self.beta.grad = grad_out.sum(axis=0)
        g = grad_out * self.gamma.value
        if not self.training:
            return g * inv_std
        # d/dx of (x - mean(x)) / std(x): the batch statistics depend on every x too.
        return inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.gamma.value.shape[0]})"


class Sequential(Layer):
    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def backward_params_only(self, grad_out: np.ndarray) -> None:
        """What training needs: the first layer skips its input-gradient matmul (often the largest)."""
        for layer in reversed(self.layers[1:]):
            grad_out = layer.backward(grad_out)
        if self.layers:
            self.layers[0].backward_params_only(grad_out)

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def train(self, mode: bool = True) -> Sequential:
        for layer in self.layers:
            layer.training = mode
        self.training = mode
        return self

    def eval(self) -> Sequential:
        return self.train(False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"
