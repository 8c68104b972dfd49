"""Learning-rate schedules as pure `step -> factor` functions (testable without a model).

The factor multiplies each parameter group's base lr. Exact resume only needs the step number
(reduce-on-plateau is a callback, `ReduceLROnPlateau`, with its own saved state).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

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


class ScheduleSettings(Protocol):
    """What a schedule is built from: the run config's `sched` section, or any object with these fields."""

    @property
    def name(self) -> str: ...
    @property
    def warmup_epochs(self) -> float: ...
    @property
    def step_size(self) -> int: ...
    @property
    def gamma(self) -> float: ...
    @property
    def min_lr_ratio(self) -> float: ...
    @property
    def pct_start(self) -> float: ...


def make_schedule(
    name: str | ScheduleSettings,
    steps_per_epoch: int,
    epochs: int,
    *,
    warmup_epochs: float = 0.0,
    step_size: int = 10,
    gamma: float = 0.1,
    min_lr_ratio: float = 0.0,
    pct_start: float = 0.25,
) -> Schedule:
    """Schedule over optimizer steps; epoch-denominated options are converted with `steps_per_epoch`.

    `name` is a schedule's name with its options as keywords, or a settings object carrying both.
    """
    if not isinstance(name, str):
        s = name
        name, warmup_epochs, step_size, gamma = s.name, s.warmup_epochs, s.step_size, s.gamma
        min_lr_ratio, pct_start = s.min_lr_ratio, s.pct_start
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


class LRController:
    """Sets every group's lr to base_lr x schedule(step) x scale before each step.

    `scale` belongs to ReduceLROnPlateau (a callback, which saves and restores it).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule) -> None:
        self.optimizer = optimizer
        self.schedule = schedule
        self.scale = 1.0
        self.base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        for group, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
            group["initial_lr"] = base

    def apply(self, step: int) -> float:
        factor = self.schedule(step) * self.scale
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None
