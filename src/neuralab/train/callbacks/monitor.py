"""The one metric watcher: which way a metric improves, by how much, and its best value so far.

Early stopping, the best-weights checkpoint and reduce-on-plateau all judge "better" through it,
so they can never disagree about a metric's direction.
"""

from __future__ import annotations

from typing import Any

from neuralab.errors import UserError

_MIN_WORDS = ("loss", "error", "mse", "mae")


def infer_mode(monitor: str) -> str:
    """'min' for losses and errors, 'max' for everything else (accuracy, F1...)."""
    return "min" if any(word in monitor for word in _MIN_WORDS) else "max"


class MetricWatcher:
    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise UserError(f"mode must be auto, min or max, not {mode!r}")
        self.monitor = monitor
        self.mode = infer_mode(monitor) if mode == "auto" else mode
        self.min_delta = abs(min_delta)
        self.best: float | None = None

    def value(self, logs: dict[str, Any]) -> float:
        if self.monitor not in logs:
            raise UserError(
                f"monitored metric {self.monitor!r} is not in the epoch logs",
                hint=f"available: {', '.join(sorted(logs))} (val_* needs a validation split)",
            )
        return float(logs[self.monitor])

    def improved(self, value: float, ties: bool = False) -> bool:
        """Better than the best so far by more than min_delta (or equal to it, with `ties`)."""
        if self.best is None:
            return True
        if ties and value == self.best:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def update(self, value: float, ties: bool = False) -> bool:
        """Record `value`; True when it is the new best."""
        better = self.improved(value, ties)
        if better:
            self.best = value
        return better

    def reset(self) -> None:
        self.best = None
