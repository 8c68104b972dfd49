"""Keras's callbacks with Keras's arguments, on neuralab's callback engine (one metric watcher)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from neuralab.train.callbacks import CSVLogger as _CSVLogger
from neuralab.train.callbacks import EarlyStopping as _EarlyStopping
from neuralab.train.callbacks import ReduceLROnPlateau as _ReduceLROnPlateau
from neuralab.train.callbacks.base import Callback, Logs, Loop


class EarlyStopping(_EarlyStopping):
    """Keras's EarlyStopping, with `restore_best_weights`."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:  # fmt: skip
        super().__init__(monitor, patience, min_delta, mode)
        self.restore_best_weights = restore_best_weights
        self._best_state: dict[str, Any] | None = None

    def reset(self) -> None:
        super().reset()
        self._best_state = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        before = self.watch.best
        super().on_epoch_end(epoch, logs)
        if self.restore_best_weights and self.trainer is not None and self.watch.best != before:
            self._best_state = copy.deepcopy(self.trainer.model.state_dict())

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.restore_best_weights and self._best_state is not None and self.trainer is not None:
            self.trainer.model.load_state_dict(self._best_state)


class ReduceLROnPlateau(_ReduceLROnPlateau):
    """Keras's arguments and counting: reduce after `patience` epochs without improvement."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4) -> None:  # fmt: skip
        super().__init__(monitor, factor, patience - 1, min_delta, mode)


class CSVLogger(Callback):
    """Keras's CSVLogger(filename): one row per epoch, written as training goes."""

    def __init__(self, filename: str | Path, separator: str = ",", append: bool = False) -> None:
        self.filename = Path(filename)
        self._logger: _CSVLogger | None = None

    def set_trainer(self, trainer: Loop) -> None:
        super().set_trainer(trainer)
        history = getattr(trainer, "history", None)
        assert history is not None
        self._logger = _CSVLogger(self.filename, history)
        self._logger.set_trainer(trainer)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        if self._logger is not None:
            self._logger.on_train_begin(logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._logger is not None:
            self._logger.on_epoch_end(epoch, logs)
