"""A model trained from Python (neuralab.keras, KerasModel, the sklearn estimators) saved as a run
folder the whole toolkit reads: model.json + model.safetensors (+ metrics.csv, config.yaml).

The folder is written beside its destination and moved into place at the end, so an interrupted save
never leaves half a run, and an existing run is replaced only when asked (`overwrite=True`).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.files import atomic_write_json, atomic_write_text, save_weights
from neuralab.runs import MODEL_FORMAT, RunPaths


@dataclass
class SavedModel:
    """Everything model.json says about a model, plus what the folder records beside it."""

    module: nn.Module
    architecture: str
    args: dict[str, Any]
    input_shape: tuple[int, ...]
    classes: list[str]
    preprocess: Preprocess
    dataset: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def card(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "architecture": self.architecture,
            "args": self.args,
            "input_shape": list(self.input_shape),
            "num_classes": len(self.classes),
            "classes": self.classes,
            "preprocess": self.preprocess.to_dict(),
            "dataset": self.dataset,
        }


def inferred_preprocess(input_shape: tuple[int, ...], kind: str, largest: float, integer: bool) -> Preprocess:
    """What a Python-trained model expects of raw inputs, read off its training data: images scaled to
    [0, 1] (the tutorials' `x / 255`) or left at 0..255; features and token ids passed as given."""
    if kind == "image":
        channels = input_shape[0]
        scale = 1.0 / 255.0 if largest <= 1.0 else 1.0
        return Preprocess("image", input_shape, (0.0,) * channels, (1.0,) * channels, scale)
    extra = {"dtype": "int64"} if integer else {}
    return Preprocess("vector", input_shape, (0.0,), (1.0,), 1.0, extra)


def _metrics_csv(rows: list[dict[str, Any]]) -> str:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _write(folder: Path, saved: SavedModel) -> None:
    paths = RunPaths(folder)
    save_weights(saved.module, paths.weights)
    atomic_write_json(paths.model_json, saved.card())
    if saved.history:
        atomic_write_text(paths.metrics, _metrics_csv(saved.history))
    if saved.summary:
        atomic_write_json(paths.summary, saved.summary)
    # `neuralab evaluate` reloads the dataset named here; without one it says the data came from Python
    config = {"name": folder.name, "data": {"name": saved.dataset or "arrays"}, "model": {"name": saved.architecture}}
    header = "# saved from Python: the data were arrays given to fit, so this config cannot retrain it\n"
    atomic_write_text(paths.config, ("" if saved.dataset else header) + yaml.safe_dump(config, sort_keys=False))


def save_run_folder(path: Path | str, saved: SavedModel, overwrite: bool = True) -> Path:
    """Write `saved` as the run folder `path`; returns it."""
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise UserError(f"{target} exists and is not a folder; a model is saved as a run folder")
        if any(target.iterdir()) and not RunPaths(target).model_json.exists():
            raise UserError(f"{target} is a folder with other files in it, not a run folder; refusing to mix them",
                            hint="save to a new or empty folder")  # fmt: skip
        if not overwrite and any(target.iterdir()):
            raise UserError(f"{target} already holds a saved model", hint="pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.saving-"))
    try:
        _write(staging, saved)
        os.chmod(staging, 0o777 & ~_umask())
        if target.exists():
            retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, retired / "run")
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
