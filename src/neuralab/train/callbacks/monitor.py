"""Watching one metric: direction inferred from its name, improvement with a minimum delta."""

from __future__ import annotations

from neuralab.errors import UserError

_MIN_WORDS = ("loss", "error", "mse", "mae")


def infer_mode(monitor: str) -> str:
    return "min" if any(word in monitor for word in _MIN_WORDS) else "max"


class Monitor:
    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = infer_mode(monitor) if mode == "auto" else mode
        self.min_delta = abs(min_delta)
        self.best: float | None = None

    def value(self, logs: dict) -> float:
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
