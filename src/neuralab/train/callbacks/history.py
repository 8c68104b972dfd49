"""History: every epoch's logs, returned by `fit` as Keras does."""

from __future__ import annotations

from typing import Any

from neuralab.train.callbacks.base import Callback, Logs


class History(Callback):
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.rows: list[dict[str, Any]] = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        self.epoch.append(epoch)
        self.rows.append({"epoch": epoch + 1, **logs})
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.rows, self.history = [], [], {}
        for epoch, row in zip(state["epoch"], state["rows"], strict=True):
            self.on_epoch_end(epoch, {k: v for k, v in row.items() if k != "epoch"})

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"
