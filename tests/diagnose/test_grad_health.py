from __future__ import annotations

import torch
from torch import nn

from neuralab.diagnose.grad_health import GradientMonitor, analyze
from neuralab.diagnose.overfit import analyze_history
from neuralab.train import Device, Trainer, build_optimizer
from neuralab.train.losses import cross_entropy
from tests.train.helpers import digits_loaders


def test_dead_relus_are_found_by_layer_name() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    with torch.no_grad():
        model[1].bias.fill_(-100.0)  # every unit below zero: all dead
    monitor = GradientMonitor(every=1)
    trainer = Trainer(
        model,
        build_optimizer(model, "sgd", lr=1e-3),
        cross_entropy(),
        device=Device.create("cpu", "32"),
        callbacks=[monitor],
    )
    train, _, _ = digits_loaders()
    trainer.fit(train, None, epochs=1)
    findings = analyze(monitor.records)
    dead = [f for f in findings if f.kind == "dead_relu"]
    assert dead and dead[0].where == "2" and "100%" in dead[0].evidence


def test_hooks_are_removed_after_each_sample() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    monitor = GradientMonitor(every=3)
    trainer = Trainer(
        model, build_optimizer(model, "adam"), cross_entropy(), device=Device.create("cpu", "32"), callbacks=[monitor]
    )
    train, _, _ = digits_loaders()
    trainer.fit(train, None, epochs=1)
    assert not model[2]._forward_hooks and len(monitor.records) == len(train) // 3 + 1


def test_healthy_history_has_no_overfitting_finding() -> None:
    rows = [
        {"accuracy": a, "val_accuracy": a - 0.01, "val_loss": 1 / (i + 1)} for i, a in enumerate([0.5, 0.7, 0.8, 0.85])
    ]
    assert analyze_history(rows) == []


def test_overfitting_remedies_fit_the_kind_of_input() -> None:
    accuracies, val_losses = [0.7, 0.9, 0.99, 1.0], [0.9, 0.8, 1.0, 1.2]
    rows = [{"accuracy": a, "val_accuracy": 0.6, "val_loss": v} for a, v in zip(accuracies, val_losses, strict=True)]
    (image,) = analyze_history(rows)
    (text,) = analyze_history(rows, "text")
    assert "data.augment" in image.remedies[0]
    assert "data.embeddings_file" in text.remedies[0] and not any("augment" in r for r in text.remedies)
    assert image.remedies[1:] == text.remedies[1:]
