"""Keras's callbacks with Keras's arguments, on neuralab's callback engine (one metric watcher)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuralab.errors import UserError
from neuralab.files import save_weights
from neuralab.train.callbacks import CSVLogger as _CSVLogger
from neuralab.train.callbacks import EarlyStopping as _EarlyStopping
from neuralab.train.callbacks import ReduceLROnPlateau as _ReduceLROnPlateau
from neuralab.train.callbacks.base import Callback, Logs, Loop
from neuralab.train.callbacks.monitor import MetricWatcher


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


class LearningRateScheduler(Callback):
    """Keras's `LearningRateScheduler(schedule)`: `schedule(epoch, lr)` sets the lr each epoch begins with."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        controller = getattr(self.trainer, "lr", None)
        if controller is None:
            return
        current = controller.base_lrs[0] * controller.schedule(0) * controller.scale
        try:
            new = float(self.schedule(epoch, current))
        except TypeError:
            new = float(self.schedule(epoch))  # Keras also accepts schedule(epoch)
        if not new > 0:
            raise UserError(f"LearningRateScheduler: the schedule gave lr={new} at epoch {epoch}; it must be > 0")
        controller.scale = new / (controller.base_lrs[0] * controller.schedule(0))
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")


class ModelCheckpoint(Callback):
    """Keras's ModelCheckpoint: `filepath` may hold `{epoch:02d}` and `{val_loss:.2f}`-style fields.

    A neuralab.keras model is saved as a run folder (`model.save`), or as a safetensors file of its
    weights with `save_weights_only=True` (the only form for other torch modules).
    """

    def __init__(self, filepath: str | Path, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto") -> None:  # fmt: skip
        self.filepath, self.save_best_only, self.save_weights_only = str(filepath), save_best_only, save_weights_only
        self.watch = MetricWatcher(monitor, mode)
        self.verbose = verbose

    def reset(self) -> None:
        self.watch.reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        if self.save_best_only and not self.watch.update(self.watch.value(logs)):
            return
        try:
            target = Path(self.filepath.format(epoch=epoch + 1, **logs))
        except (KeyError, ValueError, IndexError) as err:
            raise UserError(f"ModelCheckpoint: cannot fill in {self.filepath!r} ({err!r})",
                            hint=f"fields available: epoch, {', '.join(sorted(logs))}") from None  # fmt: skip
        if self.trainer is None:
            return
        model: Any = self.trainer.model
        network: Any = getattr(model, "model", model)  # the Keras network inside its logits view
        if not self.save_weights_only and hasattr(network, "save"):
            network.save(target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            save_weights(network, target)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {target}")


class TensorBoard(Callback):
    """Keras's TensorBoard(log_dir): scalars per epoch, in TensorBoard's event files.

    Needs the `tensorboard` package (`pip install tensorboard`), which neuralab does not require.
    """

    def __init__(self, log_dir: str | Path = "logs", **_ignored: Any) -> None:
        self.log_dir = Path(log_dir)
        self._writer: Any = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("the TensorBoard callback needs the tensorboard package",
                            hint="pip install tensorboard (or CSVLogger, which needs nothing)") from None  # fmt: skip
        self._writer = SummaryWriter(str(self.log_dir / "train"))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._writer is None:
            return
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)):
                self._writer.add_scalar(f"epoch_{key}", value, epoch)
        self._writer.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
