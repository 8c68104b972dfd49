"""The fundamentals in NumPy only: what PyTorch does underneath, small enough to read, tested against it.

Importing this package never imports torch (a test checks it with torch blocked).
"""

from neuralab.scratch.activations import leaky_relu, relu, sigmoid, softmax, tanh
from neuralab.scratch.layers import Activation, BatchNorm1d, Dense, Dropout, Parameter, Sequential
from neuralab.scratch.losses import binary_cross_entropy_with_logits, cross_entropy_with_logits, mse
from neuralab.scratch.optim import SGD, Adam, AdamW, Momentum, Nesterov, RMSprop

__all__ = [
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "BatchNorm1d",
    "Dense",
    "Dropout",
    "Momentum",
    "Nesterov",
    "Parameter",
    "RMSprop",
    "Sequential",
    "binary_cross_entropy_with_logits",
    "cross_entropy_with_logits",
    "leaky_relu",
    "mse",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
