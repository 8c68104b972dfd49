"""Experiment tracking on the tools people already use: TensorBoard and MLflow (`train.loggers`).

Neither package is needed to import neuralab; choosing a logger whose package is missing stops the
run before training with the install command. Both log what metrics.csv holds, per epoch, and
hand over the finished run folder (weights as safetensors, never a pickle).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.errors import UserError
from neuralab.train.callbacks.base import Callback, Logs

MLFLOW_RUN_FILE = "mlflow_run_id"  # in the run folder, so `train --resume` continues the same MLflow run


def _numeric(logs: Logs | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float)) and np.isfinite(v)}


class Tracker(Callback):
    """A logger that also receives the finished run (test metrics, confusion matrix, files)."""

    def finish(self, run_dir: Path, test: dict[str, Any] | None, confusion_png: bytes | None) -> None:
        raise NotImplementedError

    def abort(self, status: str) -> None:
        """The run ended without finishing: FAILED (diverged) or KILLED (stopped, resumable)."""


class TensorBoardLogger(Tracker):
    """Scalars per epoch (the learning rate included), weight and gradient histograms once per epoch
    (the gradients of the epoch's last step), the model graph, and the test confusion matrix."""

    def __init__(self, log_dir: Path, example_input: torch.Tensor | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.example_input = example_input
        self.writer: Any = None

    def _open(self) -> Any:
        if self.writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise UserError("train.loggers has tensorboard, but the tensorboard package is not installed",
                                hint="pip install tensorboard") from None  # fmt: skip
            self.writer = SummaryWriter(str(self.log_dir))
        return self.writer

    def on_train_begin(self, logs: Logs | None = None) -> None:
        writer = self._open()
        if self.example_input is not None and self.trainer is not None:
            # tracing is best effort: a model tracing cannot follow still gets everything else
            with contextlib.suppress(Exception):
                writer.add_graph(
                    self.trainer.model, self.example_input.to(next(self.trainer.model.parameters()).device)
                )

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        writer = self._open()
        for key, value in _numeric(logs).items():
            writer.add_scalar(key, value, epoch + 1)
        if self.trainer is not None:
            for name, param in self.trainer.model.named_parameters():
                writer.add_histogram(f"weights/{name}", param.detach().float().cpu(), epoch + 1)
                if param.grad is not None:
                    writer.add_histogram(f"gradients/{name}", param.grad.detach().float().cpu(), epoch + 1)
        writer.flush()

    def finish(self, run_dir: Path, test: dict[str, Any] | None, confusion_png: bytes | None) -> None:
        writer = self._open()
        if test is not None:
            for key in ("accuracy", "macro_f1", "balanced_accuracy", "loss"):
                if key in test:
                    writer.add_scalar(f"test/{key}", float(test[key]), 0)
        if confusion_png is not None:
            from PIL import Image

            with Image.open(io.BytesIO(confusion_png)) as image:
                writer.add_image("test/confusion_matrix", np.asarray(image.convert("RGB")), 0, dataformats="HWC")
        writer.close()
        self.writer = None

    def abort(self, status: str) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def mlflow_client(tracking_uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError("train.loggers has mlflow, but the mlflow package is not installed",
                        hint="pip install mlflow") from None  # fmt: skip
    return MlflowClient(tracking_uri)


def default_tracking_uri(store_root: Path) -> str:
    """$MLFLOW_TRACKING_URI (a shared server) wins; else an SQLite store beside the run folders
    (MLflow 3 refuses its old ./mlruns file store; SQLite needs no server either)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(Path(store_root) / 'mlflow.db').resolve()}"


def artifact_location(tracking_uri: str) -> str | None:
    """A local store keeps artifacts beside its database, not in whatever folder the user ran from;
    a server decides for itself."""
    if tracking_uri.startswith("sqlite:///"):
        return (Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return None


def experiment_id(client: Any, tracking_uri: str, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name, artifact_location=artifact_location(tracking_uri)))


class MLflowParent:
    """A parent run whose children are a group's seeds or a study's trials (MLflow's nested runs)."""

    def __init__(self, tracking_uri: str, experiment: str, name: str, params: dict[str, Any]) -> None:
        self.client = mlflow_client(tracking_uri)
        self.tracking_uri, self.experiment = tracking_uri, experiment
        run = self.client.create_run(experiment_id(self.client, tracking_uri, experiment), run_name=name)
        self.run_id: str = run.info.run_id
        for key, value in params.items():
            self.client.log_param(self.run_id, key, str(value)[:500])

    def finish(self, metrics: dict[str, float], status: str = "FINISHED") -> None:
        for key, value in metrics.items():
            if np.isfinite(value):
                self.client.log_metric(self.run_id, key, float(value))
        self.client.set_terminated(self.run_id, status)


class MLflowLogger(Tracker):
    """Params from the config, metrics per epoch, the run folder as artifacts (the model as
    model.safetensors + model.json: no pickle). Uses MlflowClient, so no global "active run" leaks
    into the user's own MLflow code; `mlflow_run_id` in the run folder lets `--resume` continue it."""

    def __init__(self, run_dir: Path, params: dict[str, Any], experiment: str, tracking_uri: str,
                 parent_run_id: str | None = None) -> None:  # fmt: skip
        self.run_dir = Path(run_dir)
        self.params, self.experiment, self.tracking_uri = params, experiment, tracking_uri
        self.parent_run_id = parent_run_id
        self.client: Any = None
        self.run_id: str | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.client = mlflow_client(self.tracking_uri)
        id_file = self.run_dir / MLFLOW_RUN_FILE
        if id_file.is_file():
            self.run_id = id_file.read_text().strip()
            self.client.update_run(self.run_id, status="RUNNING")
            return
        tags = {"neuralab.run_dir": str(self.run_dir.resolve())}
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        experiment = experiment_id(self.client, self.tracking_uri, self.experiment)
        run = self.client.create_run(experiment, run_name=self.run_dir.name, tags=tags)
        self.run_id = run.info.run_id
        id_file.write_text(self.run_id)
        for key, value in self.params.items():
            self.client.log_param(self.run_id, key, str(value)[:500])

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.client is None or self.run_id is None:
            return
        for key, value in _numeric(logs).items():
            self.client.log_metric(self.run_id, key, value, step=epoch + 1)

    def finish(self, run_dir: Path, test: dict[str, Any] | None, confusion_png: bytes | None) -> None:
        if self.client is None or self.run_id is None:
            return
        if test is not None:
            for key in ("accuracy", "macro_f1", "balanced_accuracy", "loss"):
                if key in test:
                    self.client.log_metric(self.run_id, f"test_{key}", float(test[key]))
        for path in sorted(Path(run_dir).iterdir()):
            if path.is_file():  # checkpoints/ and tensorboard/ stay out; the model is its two files
                folder = "model" if path.name in ("model.safetensors", "model.json") else None
                self.client.log_artifact(self.run_id, str(path), artifact_path=folder)
        self.client.set_terminated(self.run_id, "FINISHED")

    def abort(self, status: str) -> None:
        if self.client is not None and self.run_id is not None:
            self.client.set_terminated(self.run_id, status)
