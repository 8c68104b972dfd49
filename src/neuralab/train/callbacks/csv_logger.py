"""metrics.csv: one row per epoch, appended as training goes and rewritten from History on resume."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from neuralab.files import atomic_write_text
from neuralab.train.callbacks.base import Callback, Logs
from neuralab.train.callbacks.history import History


class CSVLogger(Callback):
    def __init__(self, path: Path, history: History) -> None:
        self.path = Path(path)
        self.history = history
        self.fields: list[str] | None = None

    def _is_main(self) -> bool:
        return self.trainer is None or self.trainer.device.is_main

    def on_train_begin(self, logs: Logs | None = None) -> None:
        # On resume the file may hold rows past the checkpoint: rewrite it from the restored history.
        if not self._is_main():
            return
        rows = self.history.rows
        if rows:
            self.fields = list(rows[0])
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=self.fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_text(self.path, buffer.getvalue())
        elif self.path.exists():
            self.path.unlink()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if not self._is_main():
            return
        row: dict[str, Any] = {"epoch": epoch + 1, **(logs or {})}
        new_file = self.fields is None or not self.path.exists()
        if self.fields is None:
            self.fields = list(row)
        with self.path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())
