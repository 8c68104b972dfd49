"""The exponential learning-rate range test (Smith 2017): raise the lr every step, watch the loss."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from neuralab.train.trainer import Loader, Trainer


@dataclass
class LRFindResult:
    lrs: list[float]
    losses: list[float]  # exponentially smoothed
    suggestion: float


def lr_range_test(
    trainer: Trainer, loader: Loader, start: float = 1e-7, end: float = 10.0, steps: int = 100
) -> LRFindResult:
    """Train `steps` batches with lr growing from `start` to `end`; the model and optimizer are restored after."""
    model_state = copy.deepcopy(trainer.model.state_dict())
    optim_state = copy.deepcopy(trainer.optimizer.state_dict())
    lrs, losses = [], []
    smoothed, best = 0.0, math.inf
    factor = (end / start) ** (1 / max(steps - 1, 1))
    step, epoch = 0, 0
    trainer.model.train()
    while step < steps:
        loader.set_position(epoch, 0)
        for x, y in loader:
            lr = start * factor**step
            for group in trainer.optimizer.param_groups:
                group["lr"] = lr
            loss = float(trainer._train_step(x, y))
            if not math.isfinite(loss):
                break
            smoothed = 0.9 * smoothed + 0.1 * loss  # an EMA from 0, then debiased (as Adam does)
            corrected = smoothed / (1 - 0.9 ** (step + 1))
            lrs.append(lr)
            losses.append(corrected)
            best = min(best, corrected)
            step += 1
            if corrected > 4 * best or step >= steps:
                break
        else:
            epoch += 1
            continue
        break
    trainer.model.load_state_dict(model_state)
    trainer.optimizer.load_state_dict(optim_state)
    return LRFindResult(lrs, losses, suggest(lrs, losses))


def suggest(lrs: list[float], losses: list[float]) -> float:
    """The lr where the smoothed loss falls fastest (steepest negative slope in log-lr), before the minimum."""
    if len(lrs) < 5:
        return lrs[0] if lrs else 1e-3
    stop = min(range(len(losses)), key=losses.__getitem__)
    logs = torch.tensor([math.log10(v) for v in lrs[: stop + 1]])
    vals = torch.tensor(losses[: stop + 1])
    if len(vals) < 3:
        return lrs[max(stop, 0)] / 10
    slopes = (vals[2:] - vals[:-2]) / (logs[2:] - logs[:-2])
    return float(lrs[int(torch.argmin(slopes)) + 1])
