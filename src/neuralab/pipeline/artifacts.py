"""What a finished run leaves for people to read: summary.json (every supervised task) and the error gallery."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from neuralab.config import SupervisedRunConfig
from neuralab.data import Samples, TensorSamples
from neuralab.diagnose import Finding
from neuralab.models import ModelSummary
from neuralab.pipeline.prepare import PreparedData, data_fingerprint
from neuralab.runs import save_tensors, torch_versions
from neuralab.train import Device, Trainer
from neuralab.train.callbacks import BestWeights, History

if TYPE_CHECKING:
    from neuralab.pipeline.classify import ClassifyRun


def raw_inputs(samples: Samples, indices: list[int]) -> torch.Tensor:
    """The stored (uint8 or float) inputs of some examples, whichever way the samples are held."""
    if isinstance(samples, TensorSamples):
        return samples.x[torch.tensor(indices, dtype=torch.long)]
    return torch.stack([samples[i][0] for i in indices])  # type: ignore[index]


def save_errors(path: Path, samples: Samples, y_true: np.ndarray, y_pred: np.ndarray, probs: np.ndarray,
                keep: int = 200) -> None:  # fmt: skip
    """Keep the most confident mistakes on the test split, for the report's gallery and error analysis."""
    wrong = np.flatnonzero(y_true != y_pred)
    confidence = probs[np.arange(len(probs)), y_pred]
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:keep].tolist()
    save_tensors(path, {
        "inputs": raw_inputs(samples, chosen) if chosen else torch.zeros(0),
        "index": torch.tensor(chosen, dtype=torch.long),
        "y_true": torch.from_numpy(y_true[chosen].astype(np.int64)),
        "y_pred": torch.from_numpy(y_pred[chosen].astype(np.int64)),
        "confidence": torch.from_numpy(confidence[chosen].astype(np.float32)),
    })  # fmt: skip


def save_test_predictions(path: Path, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Every test example's true and predicted class, so two runs can be compared example by example."""
    save_tensors(path, {"y_true": torch.from_numpy(y_true.astype(np.int64)),
                        "y_pred": torch.from_numpy(y_pred.astype(np.int64))})  # fmt: skip


def run_summary(cfg: SupervisedRunConfig, trainer: Trainer, history: History, best: BestWeights,
                stats: ModelSummary, device: Device, reproducibility: dict[str, Any], prepared: PreparedData,
                test: dict[str, Any] | None, findings: list[str]) -> dict[str, Any]:  # fmt: skip
    """What every supervised run's summary.json holds: test metrics, the best epoch, speed, data, versions."""
    state = trainer.state
    return {
        "dataset": cfg.data.name,
        "model": cfg.model.name,
        "test": test,
        "best": {"monitor": best.watch.monitor, "value": best.watch.best, "epoch": (best.best_epoch or 0) + 1},
        "epochs_run": state.epoch,
        "final": history.rows[-1] if history.rows else {},
        "train_seconds": state.train_seconds,
        "train_images_per_s": state.samples_seen / max(state.train_seconds, 1e-9),
        "parameters": {"trainable": stats.trainable, "frozen": stats.frozen},
        "forward_flops": stats.forward_flops,
        "findings": findings,
        "device": str(device.device),
        "precision": device.precision,
        "channels_last": device.channels_last,
        "reproducibility": {**reproducibility, "data_sha256": data_fingerprint(prepared.train)},
        "data": {
            "source": prepared.data.source,
            "train": len(prepared.train),
            "val": len(prepared.val) if prepared.val else 0,
            "test": len(prepared.test),
        },
        "versions": torch_versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def classification_summary(run: ClassifyRun, test: dict[str, Any] | None, findings: list[Finding]) -> dict[str, Any]:
    """summary.json: the common record, and how the classes were balanced and the model warm-started."""
    cfg = run.cfg
    summary = run_summary(cfg, run.trainer, run.history, run.best, run.stats, run.device, run.reproducibility,
                          run.prepared, test, [f.kind for f in findings])  # fmt: skip
    summary.update({
        "balance": run.balance,
        "embeddings": run.warm.embeddings,
        "pretrained": run.warm.pretrained,
        "finetune": {"strategy": cfg.model.finetune, "lr_decay": cfg.model.lr_decay, "groups": run.layer_groups},
    })  # fmt: skip
    return summary
