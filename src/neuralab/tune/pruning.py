"""Report the validation metric to Optuna after each epoch and stop the trial when the pruner says so."""

from __future__ import annotations

import optuna

from neuralab.train.callbacks.base import Callback, Logs


class PruningCallback(Callback):
    def __init__(self, trial: optuna.Trial, monitor: str = "val_accuracy") -> None:
        self.trial = trial
        self.monitor = monitor
        self.epochs_run = 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epochs_run = epoch + 1
        self.trial.set_user_attr("epochs_run", self.epochs_run)
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"epoch {epoch + 1}: {self.monitor}={value:.4f}")
