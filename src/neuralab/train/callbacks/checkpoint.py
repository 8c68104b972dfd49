"""Checkpoints: the resumable `last.pt` (every N steps / seconds and at each epoch end) and the best weights."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from neuralab.files import save_weights
from neuralab.train import distributed
from neuralab.train.callbacks.base import Callback, Logs
from neuralab.train.callbacks.monitor import MetricWatcher
from neuralab.train.state import save_checkpoint


class ResumeCheckpoint(Callback):
    """Write the exact-resume checkpoint at epoch ends and, mid-epoch, when a step or time budget is due."""

    def __init__(self, folder: Path, every_steps: int = 0, every_s: float = 0.0) -> None:
        self.folder = Path(folder)
        self.every_steps = every_steps
        self.every_s = every_s
        self._last_save = time.monotonic()
        self.saves = 0

    def _save(self) -> None:
        assert self.trainer is not None
        finite = all(bool(torch.isfinite(p).all()) for p in self.trainer.model.parameters())
        if not finite:  # never replace a good checkpoint with diverged weights
            return
        payload = self.trainer.checkpoint_payload()  # every rank: it sums the running metrics over ranks
        if self.trainer.device.is_main:
            save_checkpoint(self.folder, payload)
            self.saves += 1
        self._last_save = time.monotonic()

    def needs_batch_hooks(self) -> bool:
        return self.every_steps > 0 or self.every_s > 0  # otherwise it saves at epoch ends only

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        assert self.trainer is not None
        step = self.trainer.state.global_step
        due_steps = self.every_steps > 0 and step % self.every_steps == 0
        due_time = self.every_s > 0 and time.monotonic() - self._last_save >= self.every_s
        if self.every_s > 0 and self.trainer.device.world_size > 1:  # rank 0's clock decides for all ranks
            due_time = distributed.any_rank(due_time and self.trainer.device.is_main, self.trainer.device.device)
        if due_steps or due_time:
            self._save()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._save()

    def on_interrupt(self) -> None:
        self._save()


class BestWeights(Callback):
    """Keep the weights of the best epoch by `monitor` (safetensors), for the final model and evaluation."""

    def __init__(self, path: Path, monitor: str = "val_accuracy", mode: str = "auto") -> None:
        self.path = Path(path)
        self.watch = MetricWatcher(monitor, mode)
        self.best_epoch: int | None = None

    def reset(self) -> None:
        self.watch.reset()
        self.best_epoch = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        assert self.trainer is not None
        # On a tie the later epoch wins: small validation sets tie often, and later weights trained longer.
        if self.watch.update(self.watch.value(logs or {}), ties=True):
            self.best_epoch = epoch
            if self.trainer.device.is_main:
                save_weights(self.trainer.eval_model, self.path)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.watch.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.watch.best, self.best_epoch = state["best"], state["best_epoch"]
