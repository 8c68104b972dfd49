"""Learning-rate schedules as pure `step -> factor` functions (testable without a model), plus plateau decay.

The factor multiplies each parameter group's base lr. Exact resume only needs the step number
and the plateau state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

Schedule = Callable[[int], float]


def constant() -> Schedule:
    return lambda step: 1.0


def step_decay(step_size: int, gamma: float) -> Schedule:
    return lambda step: gamma ** (step // step_size)


def cosine(total: int, min_ratio: float = 0.0) -> Schedule:
    def factor(step: int) -> float:
        progress = min(step / max(total, 1), 1.0)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def one_cycle(total: int, pct_start: float = 0.25, min_ratio: float = 0.0, start_ratio: float = 0.04) -> Schedule:
    """Linear rise from `start_ratio` to 1 over `pct_start` of the steps, then cosine down to `min_ratio`."""
    rise = max(int(total * pct_start), 1)

    def factor(step: int) -> float:
        if step < rise:
            return start_ratio + (1 - start_ratio) * step / rise
        progress = min((step - rise) / max(total - rise, 1), 1.0)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def with_warmup(schedule: Schedule, warmup: int) -> Schedule:
    """Linear warm-up over the first `warmup` steps, then `schedule` counted from the warm-up's end."""
    if warmup <= 0:
        return schedule
    return lambda step: (step + 1) / warmup if step < warmup else schedule(step - warmup)


def make_schedule(
    name: str,
    steps_per_epoch: int,
    epochs: int,
    *,
    warmup_epochs: float = 0.0,
    step_size: int = 10,
    gamma: float = 0.1,
    min_lr_ratio: float = 0.0,
    pct_start: float = 0.25,
) -> Schedule:
    """Schedule over optimizer steps; epoch-denominated options are converted with `steps_per_epoch`."""
    warmup = round(warmup_epochs * steps_per_epoch)
    total = max(steps_per_epoch * epochs - warmup, 1)
    if name in ("constant", "plateau"):
        base = constant()
    elif name == "step":
        base = step_decay(step_size * steps_per_epoch, gamma)
    elif name == "cosine":
        base = cosine(total, min_lr_ratio)
    elif name == "onecycle":
        base = one_cycle(total, pct_start, min_lr_ratio)
    else:
        raise ValueError(f"unknown schedule {name!r}")
    return with_warmup(base, warmup)


@dataclass
class Plateau:
    """Reduce-on-plateau: multiply the lr by `factor` after `patience` epochs without improvement."""

    mode: str = "max"
    patience: int = 2
    factor: float = 0.5
    min_scale: float = 1e-4
    scale: float = 1.0
    best: float | None = None
    bad_epochs: int = 0

    def update(self, value: float) -> None:
        improved = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        if improved:
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.scale = max(self.scale * self.factor, self.min_scale)
            self.bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale, self.best, self.bad_epochs = state["scale"], state["best"], state["bad_epochs"]


class LRController:
    """Sets every group's lr to base_lr x schedule(step) x plateau scale before each step."""

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule, plateau: Plateau | None = None) -> None:
        self.optimizer = optimizer
        self.schedule = schedule
        self.plateau = plateau
        self.base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        for group, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
            group["initial_lr"] = base

    def apply(self, step: int) -> float:
        factor = self.schedule(step) * (self.plateau.scale if self.plateau else 1.0)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {"plateau": self.plateau.state_dict() if self.plateau else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.plateau and state.get("plateau"):
            self.plateau.load_state_dict(state["plateau"])
