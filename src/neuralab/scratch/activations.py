"""Activations and their derivatives, written so that no input (even |x| = 1e4) overflows.

Each `*_grad` takes the same input as the function and returns d(output)/d(input) elementwise.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    return 1 - np.tanh(x) ** 2


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    return x > 0  # a boolean mask: multiplying by it is one pass cheaper than by a float copy


def leaky_relu(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def leaky_relu_grad(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, 1.0, slope).astype(x.dtype)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    # Subtracting the max changes nothing mathematically and keeps exp() <= 1.
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(s: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """Vector-Jacobian product of softmax, given its output `s`: s * (g - sum(g * s))."""
    return s * (grad_out - (grad_out * s).sum(axis=-1, keepdims=True))


FUNCTIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}
