"""`train.loggers`: the trackers a run reports to, checked before any training starts."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neuralab.config import SupervisedRunConfig
from neuralab.errors import UserError
from neuralab.runs import RunPaths
from neuralab.train.callbacks.base import Callback
from neuralab.train.callbacks.trackers import (
    MLflowLogger,
    MLflowParent,
    TensorBoardLogger,
    Tracker,
    default_tracking_uri,
)

# logger name -> (module that must be importable, the install command in the message)
REQUIREMENTS = {"tensorboard": ("tensorboard", "pip install tensorboard"), "mlflow": ("mlflow", "pip install mlflow")}


def check_installed(loggers: Sequence[str]) -> None:
    """Fail before the run folder exists, naming the package, rather than after an epoch."""
    for name in loggers:
        if name in REQUIREMENTS:
            module, command = REQUIREMENTS[name]
            if importlib.util.find_spec(module) is None:
                raise UserError(f"train.loggers has {name}, but the {module} package is not installed", hint=command)


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`optim.lr` style keys: what MLflow's params table and search expect."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@dataclass(frozen=True)
class Tracking:
    """Where a run's MLflow record goes when it is one of many (a group's seed, a study's trial)."""

    tracking_uri: str | None = None  # None: $MLFLOW_TRACKING_URI, else <out_dir>/mlruns
    parent_run_id: str | None = None


def experiment_name(cfg: SupervisedRunConfig) -> str:
    return f"{cfg.data.name}-{cfg.model.name}"


def make_trackers(
    cfg: SupervisedRunConfig, paths: RunPaths, example: torch.Tensor | None, tracking: Tracking
) -> list[Tracker]:
    """One tracker per logger in `train.loggers` (csv is metrics.csv, which every run writes anyway)."""
    trackers: list[Tracker] = []
    if "tensorboard" in cfg.train.loggers:
        trackers.append(TensorBoardLogger(paths.root / "tensorboard", example))
    if "mlflow" in cfg.train.loggers:
        uri = tracking.tracking_uri or default_tracking_uri(Path(cfg.out_dir))
        params = flat_params(cfg.model_dump(mode="json"))
        trackers.append(MLflowLogger(paths.root, params, experiment_name(cfg), uri, tracking.parent_run_id))
    return trackers


def open_parent(cfg: SupervisedRunConfig, name: str, store_root: Path) -> MLflowParent | None:
    """The parent MLflow run of a group or a study, when `train.loggers` has mlflow."""
    if "mlflow" not in cfg.train.loggers:
        return None
    check_installed(["mlflow"])
    return MLflowParent(
        default_tracking_uri(store_root), experiment_name(cfg), name, flat_params(cfg.model_dump(mode="json"))
    )


def finish_trackers(
    callbacks: Sequence[Callback], run_dir: Path, test: dict[str, Any] | None, confusion: bytes | None
) -> None:
    for callback in callbacks:
        if isinstance(callback, Tracker):
            callback.finish(run_dir, test, confusion)


def abort_trackers(callbacks: Sequence[Callback], status: str) -> None:
    """A run that diverged or was stopped: its record says so instead of staying 'running'."""
    for callback in callbacks:
        if isinstance(callback, Tracker):
            callback.abort(status)
