"""A rich progress bar during each epoch and one table row after it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neuralab.train.callbacks.base import Callback, Logs

_COLUMNS = {
    "loss": "loss",
    "accuracy": "acc",
    "val_loss": "val_loss",
    "val_accuracy": "val_acc",
    "val_macro_f1": "val_f1",
    "val_rmse": "val_rmse",
    "val_r2": "val_r2",
    "lr": "lr",
    "epoch_s": "sec",
}


def _fmt(key: str, value: Any) -> str:
    if key == "lr":
        return f"{value:.2e}"
    if key == "epoch_s":
        return f"{value:.1f}"
    if "accuracy" in key or "f1" in key:
        return f"{100 * value:.2f}%"
    if key == "val_rmse":
        return f"{value:.4g}"
    return f"{value:.4f}"


class ProgressLogger(Callback):
    def __init__(self, epochs: int, steps_per_epoch: int, console: Console | None = None, every: int = 10) -> None:
        self.epochs = epochs
        self.steps = steps_per_epoch
        self.console = console or Console()
        self.every = every
        self.progress: Progress | None = None
        self.task: Any = None
        self.header_done = False

    def needs_batch_hooks(self) -> bool:
        return self.console.is_terminal  # no bar to move when the output is a file or a pipe

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if not self.console.is_terminal:
            return
        self.progress = Progress(
            TextColumn(f"epoch {epoch + 1}/{self.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        start = self.trainer.state.batch if self.trainer else 0
        self.task = self.progress.add_task("train", total=self.steps, completed=start, loss="-")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.progress is None or ((batch + 1) % self.every and batch + 1 != self.steps):
            return
        loss = (logs or {}).get("loss")
        self.progress.update(self.task, completed=batch + 1, loss=f"{float(loss):.4f}" if loss is not None else "-")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        logs = logs or {}
        keys = [k for k in _COLUMNS if k in logs]
        if not self.header_done:
            self.console.print("epoch " + " ".join(f"{_COLUMNS[k]:>9}" for k in keys), style="bold", highlight=False)
            self.header_done = True
        cells = " ".join(f"{_fmt(k, logs[k]):>9}" for k in keys)
        self.console.print(f"{epoch + 1:>5} {cells}", highlight=False)

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
