"""Keras's optimizers by class, with Keras's argument names and defaults (`learning_rate=`), built
into torch optimizers when the model is compiled."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuralab.errors import UserError
from neuralab.train.optim import build_optimizer

_DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}


class Optimizer:
    """A name and Keras's settings; `name` alone ('adam') gives Keras's defaults."""

    def __init__(self, name: str, learning_rate: float | None = None, **settings: Any) -> None:
        key = name.lower()
        if key not in _DEFAULT_LR:
            raise UserError(f"unknown optimizer {name!r}", hint=f"choose one of: {', '.join(_DEFAULT_LR)}")
        self.name, self.learning_rate, self.settings = key, learning_rate or _DEFAULT_LR[key], settings


class SGD(Optimizer):
    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__("sgd", learning_rate, momentum=momentum, nesterov=nesterov)


class Adam(Optimizer):
    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7) -> None:  # fmt: skip
        super().__init__("adam", learning_rate, betas=(beta_1, beta_2), eps=epsilon)


class AdamW(Optimizer):
    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7) -> None:  # fmt: skip
        super().__init__("adamw", learning_rate, weight_decay=weight_decay, betas=(beta_1, beta_2), eps=epsilon)


class RMSprop(Optimizer):
    def __init__(self, learning_rate: float = 0.001, momentum: float = 0.0, epsilon: float = 1e-7) -> None:
        super().__init__("rmsprop", learning_rate, momentum=momentum, eps=epsilon)


def get(identifier: str | Optimizer) -> Optimizer:
    return identifier if isinstance(identifier, Optimizer) else Optimizer(identifier)


def build(optimizer: Optimizer, module: nn.Module) -> torch.optim.Optimizer:
    defaults: dict[str, Any] = {"momentum": 0.0, "eps": 1e-7}
    return build_optimizer(module, optimizer.name, lr=optimizer.learning_rate, **(defaults | optimizer.settings))
