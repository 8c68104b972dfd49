"""Training progress and exact-resume checkpoints.

A checkpoint holds everything the next step depends on: weights, optimizer, lr controller,
grad scaler, RNG, the position in the epoch (batch index; the order itself is re-derived from the
seed) and the partial sums of the running epoch. It is written to a temporary file and renamed,
and the previous checkpoint is kept, so a kill at any moment leaves at least one good file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from neuralab.errors import UserError

LAST = "last.pt"
PREVIOUS = "last.prev.pt"


@dataclass
class TrainState:
    epoch: int = 0  # epoch in progress (0-based); equals the finished-epoch count at an epoch boundary
    batch: int = 0  # next batch within that epoch
    global_step: int = 0
    samples_seen: int = 0
    train_seconds: float = 0.0
    loss_sum: float = 0.0  # running sums of the epoch in progress, so resumed epochs report exact metrics
    correct: float = 0.0
    seen: float = 0.0
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainState:
        return cls(**raw)


def _write_temp(payload: Any, folder: Path, name: str) -> Path:
    """torch.save into a synced temporary file next to its final place (same filesystem: rename is atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def save_checkpoint(folder: Path, payload: dict[str, Any]) -> Path:
    """Write `last.pt`, keeping the one before as `last.prev.pt`."""
    tmp = _write_temp(payload, folder, LAST)
    last = folder / LAST
    if last.exists():
        os.replace(last, folder / PREVIOUS)
    os.replace(tmp, last)
    return last


def load_checkpoint(folder: Path) -> tuple[dict[str, Any], Path]:
    """The newest readable checkpoint in `folder` (falls back to the previous one if the last is corrupt)."""
    problems = []
    for name in (LAST, PREVIOUS):
        path = folder / name
        if not path.exists():
            continue
        try:
            # weights_only: tensors and plain containers only, never arbitrary pickled objects.
            payload = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(payload, dict) or "state" not in payload:
                raise ValueError("not a neuralab checkpoint")
            return payload, path
        except Exception as err:  # a torn or corrupt file: try the older one
            problems.append(f"{path}: {err}")
    detail = "; ".join(problems) if problems else f"no {LAST} in {folder}"
    raise UserError(f"no usable checkpoint to resume from ({detail})")
