"""Optimizers by name, with parameter groups that never decay biases and normalisation weights."""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from neuralab.errors import UserError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")


def param_groups(
    model: nn.Module, weight_decay: float, lr: float | None = None, bias_lr_scale: float = 1.0
) -> list[dict[str, Any]]:
    """Decay matrices and kernels (ndim >= 2) only: decaying biases and norms hurts and buys nothing.

    `bias_lr_scale` multiplies `lr` for biases and normalisation parameters (airbench trains BatchNorm
    biases 64 times faster than the weights, with the BatchNorm scales frozen at 1).
    """
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay: dict[str, Any] = {"params": [p for p in model.parameters() if p.requires_grad and p.ndim < 2]}
    if bias_lr_scale != 1.0:
        if lr is None:
            raise ValueError("bias_lr_scale needs the base lr")
        no_decay["lr"] = lr * bias_lr_scale
    groups = [{"params": decay, "weight_decay": weight_decay}, {**no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def layer_param_groups(
    layer_groups: list[list[nn.Module]], weight_decay: float, lr: float, lr_decay: float, bias_lr_scale: float = 1.0
) -> list[dict[str, Any]]:
    """Discriminative learning rates: the last group (the head) gets `lr`, each earlier one `lr_decay` times less."""
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    last = len(layer_groups) - 1
    for index, modules in enumerate(layer_groups):
        params = [p for m in modules for p in m.parameters() if id(p) not in seen]
        seen.update(id(p) for p in params)
        scale = lr_decay ** (last - index)
        for decay, chosen, multiplier in (
            (weight_decay, [p for p in params if p.ndim >= 2], 1.0),
            (0.0, [p for p in params if p.ndim < 2], bias_lr_scale),
        ):
            if chosen:
                out.append({"params": chosen, "weight_decay": decay, "lr": lr * scale * multiplier})
    return out


def _can_fuse(model: nn.Module) -> bool | None:
    params = [p for p in model.parameters() if p.requires_grad]
    ok = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in params)
    return True if params and ok else None


class OptimizerSettings(Protocol):
    """What an optimizer is built from: the run config's `optim` section, or any object with these fields."""

    @property
    def name(self) -> str: ...
    @property
    def lr(self) -> float: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def momentum(self) -> float: ...
    @property
    def nesterov(self) -> bool: ...
    @property
    def betas(self) -> tuple[float, float]: ...
    @property
    def eps(self) -> float: ...
    @property
    def bias_lr_scale(self) -> float: ...


def build_optimizer(
    model: nn.Module,
    name: str | OptimizerSettings = "adam",
    lr: float | None = None,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    layer_groups: list[list[nn.Module]] | None = None,
    lr_decay: float = 1.0,
    bias_lr_scale: float = 1.0,
) -> torch.optim.Optimizer:
    """An optimizer by name with keyword options, or from a settings object (`lr=` still overrides its lr).

    `layer_groups` (input to head) with `lr_decay` < 1 give earlier layers smaller learning rates.
    """
    if not isinstance(name, str):
        settings = name
        lr = settings.lr if lr is None else lr
        name, weight_decay, momentum = settings.name, settings.weight_decay, settings.momentum
        nesterov, betas, eps = settings.nesterov, settings.betas, settings.eps
        bias_lr_scale = settings.bias_lr_scale
    lr = 1e-3 if lr is None else lr
    groups = param_groups(model, weight_decay, lr, bias_lr_scale)
    if layer_groups is not None:
        groups = layer_param_groups(layer_groups, weight_decay, lr, lr_decay, bias_lr_scale)
    if not groups:
        raise UserError("the model has no trainable parameters")
    # One fused kernel per step instead of a loop over tensors (measured ~5-15% faster on CPU).
    fused = _can_fuse(model)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0, fused=fused)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=betas, eps=eps, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=fused)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=momentum, eps=eps)
    raise UserError(f"unknown optimizer {name!r}", hint=f"choose one of: {', '.join(OPTIMIZERS)}")


def get(identifier: str | torch.optim.Optimizer, model: nn.Module, **kwargs: Any) -> torch.optim.Optimizer:
    """Keras-style resolver: a name ("adam") or a ready optimizer."""
    if isinstance(identifier, torch.optim.Optimizer):
        return identifier
    if isinstance(identifier, str):
        return build_optimizer(model, identifier.lower(), **kwargs)
    raise UserError(f"optimizer must be a name or a torch.optim.Optimizer, got {type(identifier).__name__}")
