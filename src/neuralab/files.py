"""Files that survive a kill: atomic writes (temporary file, fsync, rename) and safetensors I/O.

Torch and safetensors only, so the training loop's callbacks can write without importing the run
config, the datasets or the model zoo (`import neuralab.train` stays light).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from neuralab.errors import UserError


def default_file_mode() -> int:
    """What a plain open() would give a new file (mkstemp's own 0600 would hide runs from teammates)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a synced temporary file, then rename: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, default_file_mode())
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def save_weights(model: nn.Module, path: Path) -> None:
    save_tensors(path, dict(model.state_dict()))


def load_weights(model: nn.Module, path: Path) -> None:
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable safetensors file ({err})") from None
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0:3]
        raise UserError(f"{path}: weights do not fit the model described in model.json ({' '.join(first)})") from None
    refuse_non_finite(tensors, path)


def refuse_non_finite(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """A NaN or an infinity in the weights makes every answer NaN: refuse them by name, once, at load."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UserError(
                f"{path}: weight {name!r} holds NaN or infinite values, so every prediction would be NaN",
                hint="training refuses to save a diverged model: this file was changed or damaged since",
            )


def stored_values(path: Path) -> int:
    """How many numbers a safetensors file holds, read from its header alone (nothing is loaded)."""
    try:
        with safe_open(str(path), "pt") as handle:
            return sum(int(torch.Size(handle.get_slice(key).get_shape()).numel()) for key in handle.keys())  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable safetensors file ({err})") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Plain tensors to safetensors, atomically (never a pickle)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, default_file_mode())
    os.close(fd)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable safetensors file ({err})") from None
