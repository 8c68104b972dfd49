"""Stop when the monitored validation metric has not improved for `patience` epochs."""

from __future__ import annotations

from typing import Any

from neuralab.train.callbacks.base import Callback, Logs
from neuralab.train.callbacks.monitor import MetricWatcher


class EarlyStopping(Callback):
    def __init__(
        self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0, mode: str = "auto"
    ) -> None:
        self.watch = MetricWatcher(monitor, mode, min_delta)
        self.patience = patience
        self.wait = 0
        self.stopped_epoch: int | None = None

    def reset(self) -> None:
        self.watch.reset()
        self.wait, self.stopped_epoch = 0, None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.watch.update(self.watch.value(logs or {})):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience and self.trainer is not None:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.watch.best, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.watch.best, self.wait, self.stopped_epoch = state["best"], state["wait"], state["stopped_epoch"]
