"""What a finished classification run leaves for people to read: summary.json and the error gallery."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from neuralab.data import Samples, TensorSamples
from neuralab.diagnose import Finding
from neuralab.pipeline.prepare import data_fingerprint
from neuralab.runs import save_tensors, torch_versions

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


def classification_summary(run: ClassifyRun, test: dict[str, Any] | None, findings: list[Finding]) -> dict[str, Any]:
    """summary.json: test metrics, the best epoch, speed, what was loaded, and how to reproduce it."""
    cfg, state, prepared = run.cfg, run.trainer.state, run.prepared
    return {
        "dataset": cfg.data.name,
        "model": cfg.model.name,
        "test": test,
        "best": {
            "monitor": run.best.watch.monitor,
            "value": run.best.watch.best,
            "epoch": (run.best.best_epoch or 0) + 1,
        },
        "epochs_run": state.epoch,
        "final": run.history.rows[-1] if run.history.rows else {},
        "train_seconds": state.train_seconds,
        "train_images_per_s": state.samples_seen / max(state.train_seconds, 1e-9),
        "parameters": {"trainable": run.stats.trainable, "frozen": run.stats.frozen},
        "forward_flops": run.stats.forward_flops,
        "balance": run.balance,
        "embeddings": run.warm.embeddings,
        "pretrained": run.warm.pretrained,
        "finetune": {
            "strategy": cfg.model.finetune,
            "lr_decay": cfg.model.lr_decay,
            "groups": run.layer_groups,
        },
        "findings": [f.kind for f in findings],
        "device": str(run.device.device),
        "precision": run.device.precision,
        "channels_last": run.device.channels_last,
        "reproducibility": {**run.reproducibility, "data_sha256": data_fingerprint(prepared.train)},
        "data": {
            "source": prepared.data.source,
            "train": len(prepared.train),
            "val": len(prepared.val) if prepared.val else 0,
            "test": len(prepared.test),
        },
        "versions": torch_versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
