"""Each problem provoked on purpose: detected, named, and fixed by the suggested change."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from rich.console import Console

from neuralab.errors import UserError
from neuralab.pipeline import RunResult, diagnose_run, resolve_config, run_config
from neuralab.train.state import load_checkpoint
from tests.conftest import run_cli

QUIET = {"sched": {"name": "constant"}}


def train(tmp_path: Path, name: str, **user: Any) -> RunResult:
    cfg = resolve_config({"data": {"name": "digits"}, "out_dir": str(tmp_path), "name": name, **QUIET, **user})
    return run_config(cfg, console=Console(file=io.StringIO()))


def deep_mlp(activation: str, batchnorm: bool) -> dict[str, Any]:
    return {"name": "mlp", "args": {"widths": [64] * 8, "activation": activation, "batchnorm": batchnorm}}


def test_deep_sigmoid_mlp_is_flagged_vanishing_and_the_suggested_change_trains(tmp_path: Path) -> None:
    common = {"optim": {"name": "sgd", "lr": 0.1}, "train": {"epochs": 4, "grad_monitor_every": 5}}
    sick = train(tmp_path, "sigmoid", model=deep_mlp("sigmoid", False), **common)
    findings = diagnose_run(sick.run_dir)
    vanishing = [f for f in findings if f.kind == "vanishing_gradients"]
    assert vanishing and vanishing[0].where == "1"  # the first Linear of the Sequential
    assert any("ReLU" in r for r in vanishing[0].remedies) and any("BatchNorm" in r for r in vanishing[0].remedies)
    healed = train(tmp_path, "relu-bn", model=deep_mlp("relu", True), **common)
    assert "vanishing_gradients" not in healed.summary["findings"]
    assert healed.summary["test"]["accuracy"] > 0.6 > sick.summary["test"]["accuracy"] + 0.3


def test_far_too_high_lr_is_flagged_exploding_and_stops_cleanly(tmp_path: Path) -> None:
    user = {
        "model": {"name": "mlp", "args": {"widths": [64, 64]}},
        "optim": {"name": "sgd", "lr": 30.0, "momentum": 0.9},
        "train": {"epochs": 3, "grad_monitor_every": 5, "checkpoint_every_steps": 5},
    }
    with pytest.raises(UserError, match="training diverged") as err:
        train(tmp_path, "boom", **user)
    assert "last good checkpoint" in (err.value.hint or "")
    kinds = [f.kind for f in diagnose_run(tmp_path / "boom")]
    assert "diverged" in kinds and "exploding_gradients" in kinds
    payload, _ = load_checkpoint(tmp_path / "boom" / "checkpoints")
    assert all(torch.isfinite(t).all() for t in payload["model"].values())  # the kept checkpoint is good


def test_diverged_run_through_the_cli_is_a_message(tmp_path: Path) -> None:
    result = run_cli(
        "train", "--model", "mlp", "--lr", "30", "--set", "optim.name=sgd", "--set", "sched.name=constant",
        "--out", str(tmp_path), "--name", "boom",
    )  # fmt: skip
    assert result.returncode == 2 and "training diverged" in result.stderr and "Traceback" not in result.stderr
    shown = run_cli("diagnose", str(tmp_path / "boom"))
    assert shown.returncode == 0 and "[diverged]" in shown.stdout


def skewed_csv(path: Path, minority_share: float = 0.05, n: int = 2000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < minority_share).astype(int)
    x = rng.normal(size=(n, 2)) + labels[:, None] * 1.0  # heavily overlapping classes
    lines = ["a,b,label"] + [
        f"{a:.4f},{b:.4f},{'rare' if y else 'common'}" for (a, b), y in zip(x, labels, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_95_5_split_triggers_auto_balancing_and_raises_minority_recall(tmp_path: Path) -> None:
    csv = skewed_csv(tmp_path / "skewed.csv")

    def fit(balance: str) -> RunResult:
        return train(
            tmp_path, balance, data={"name": "csv", "file": str(csv)}, train={"balance": balance, "epochs": 15}
        )

    plain, auto = fit("none"), fit("auto")
    assert plain.summary["balance"] == "none" and auto.summary["balance"] == "class_weights"
    assert "class_imbalance" in auto.summary["findings"]
    rare_plain = plain.summary["test"]["per_class"]["rare"]["recall"]
    rare_auto = auto.summary["test"]["per_class"]["rare"]["recall"]
    assert rare_auto > rare_plain + 0.25, (rare_plain, rare_auto)
    assert auto.summary["test"]["balanced_accuracy"] > plain.summary["test"]["balanced_accuracy"]


@pytest.mark.parametrize("balance", ["sampler", "focal"])
def test_other_remedies_also_lift_the_minority(tmp_path: Path, balance: str) -> None:
    csv = skewed_csv(tmp_path / "skewed.csv")
    run = train(tmp_path, balance, data={"name": "csv", "file": str(csv)}, train={"balance": balance, "epochs": 15})
    assert run.summary["test"]["per_class"]["rare"]["recall"] > 0.5


def test_overfitting_is_reported_with_the_epoch_validation_stopped_improving(tmp_path: Path) -> None:
    run = train(
        tmp_path,
        "overfit",
        data={"val_fraction": 0.3, "subset": 300, "augment": "none"},
        model={"name": "mlp", "args": {"widths": [512, 512]}},
        optim={"name": "adam", "lr": 3e-3},
        train={"epochs": 40, "batch_size": 16, "label_smoothing": 0.0},
    )
    overfit = [f for f in diagnose_run(run.run_dir) if f.kind == "overfitting"]
    assert overfit and "lowest at epoch" in overfit[0].evidence
    assert any("augmentation" in r for r in overfit[0].remedies)
    stored = json.loads((run.run_dir / "findings.json").read_text())
    assert any(f["kind"] == "overfitting" for f in stored)


def test_lr_find_cli_writes_a_plot_and_suggests_an_lr(tmp_path: Path) -> None:
    out = tmp_path / "lr.png"
    result = run_cli("lr-find", "--out", str(out), "--steps", "60")
    assert result.returncode == 0, result.stderr
    suggested = float(result.stdout.split("suggested lr: ")[1].split()[0])
    assert 1e-5 < suggested < 1.0 and out.stat().st_size > 5000
