"""Keras's ReduceLROnPlateau: multiply the learning rate by `factor` after `patience` epochs without
improvement of the monitored metric, down to `min_scale` of the scheduled rate."""

from __future__ import annotations

from typing import Any

from neuralab.train.callbacks.base import Callback, Logs
from neuralab.train.callbacks.monitor import MetricWatcher


class ReduceLROnPlateau(Callback):
    def __init__(self, monitor: str = "val_loss", factor: float = 0.5, patience: int = 2, min_delta: float = 0.0,
                 mode: str = "auto", min_scale: float = 1e-4) -> None:  # fmt: skip
        self.watch = MetricWatcher(monitor, mode, min_delta)
        self.factor, self.patience, self.min_scale = factor, patience, min_scale
        self.wait = 0
        self.scale = 1.0

    def reset(self) -> None:
        self.watch.reset()
        self.wait, self.scale = 0, 1.0
        self._apply()

    def _apply(self) -> None:
        lr = getattr(self.trainer, "lr", None)  # the Trainer's LRController; other loops have no schedule
        if lr is not None:
            lr.scale = self.scale

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.watch.update(self.watch.value(logs or {})):
            self.wait = 0
            return
        self.wait += 1
        if self.wait > self.patience:
            self.scale, self.wait = max(self.scale * self.factor, self.min_scale), 0
            self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.watch.best, "wait": self.wait, "scale": self.scale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.watch.best, self.wait, self.scale = state["best"], state["wait"], state["scale"]
        self._apply()
