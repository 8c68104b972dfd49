from __future__ import annotations

import math

import pytest
import torch

from neuralab.models import create_model
from neuralab.train import Device, Trainer, build_optimizer
from neuralab.train.callbacks import EarlyStopping
from neuralab.train.losses import cross_entropy
from tests.train.helpers import digits_loaders, make_trainer


def test_training_on_digits_learns() -> None:
    train, val, test = digits_loaders()
    trainer = make_trainer([], epochs=6, steps_per_epoch=len(train))
    history = trainer.fit(train, val, epochs=6)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1", "lr", "epoch_s"}
    assert trainer.evaluate(test).accuracy > 0.9


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimizer_reduces_the_loss(name: str) -> None:
    train, val, _ = digits_loaders()
    torch.manual_seed(0)
    model = create_model("mlp", (1, 8, 8), 10, widths=[64])
    lr = {"sgd": 0.1, "adam": 5e-3, "adamw": 5e-3, "rmsprop": 2e-3}[name]
    trainer = Trainer(
        model, build_optimizer(model, name, lr=lr, weight_decay=1e-4), cross_entropy(), device=Device.create("cpu")
    )
    before = trainer.evaluate(val).loss
    trainer.fit(train, None, epochs=2)
    assert trainer.evaluate(val).loss < before * 0.5


def test_weight_decay_skips_biases_and_norms() -> None:
    model = create_model("regularized_mlp", (1, 8, 8), 10)
    groups = build_optimizer(model, "adamw", weight_decay=0.1).param_groups
    decayed = [p for g in groups if g["weight_decay"] > 0 for p in g["params"]]
    assert decayed and all(p.ndim >= 2 for p in decayed)


def test_gradient_clipping_bounds_the_norm() -> None:
    train, _, _ = digits_loaders()
    trainer = make_trainer([], epochs=1, steps_per_epoch=len(train), lr=5.0, grad_clip=0.01)
    norms = []
    original = trainer.device.step

    def spy(optimizer: torch.optim.Optimizer) -> None:
        grads = [p.grad.norm() for p in trainer.model.parameters() if p.grad is not None]
        norms.append(float(torch.stack(grads).norm()))
        original(optimizer)

    trainer.device.step = spy  # type: ignore[method-assign]
    trainer.fit(train, None, epochs=1)
    assert max(norms) <= 0.01 + 1e-6


def test_clip_by_value() -> None:
    train, _, _ = digits_loaders()
    trainer = make_trainer([], epochs=1, steps_per_epoch=len(train), grad_clip=1e-4, grad_clip_mode="value")
    trainer.fit(train, None, epochs=1)
    assert all(p.grad.abs().max() <= 1e-4 + 1e-9 for p in trainer.model.parameters() if p.grad is not None)


def test_l1_penalty_shrinks_weights() -> None:
    train, _, _ = digits_loaders()
    plain = make_trainer([], epochs=3, steps_per_epoch=len(train))
    plain.fit(train, None, epochs=3)
    sparse = make_trainer([], epochs=3, steps_per_epoch=len(train), l1=1e-3)
    sparse.fit(train, None, epochs=3)

    def l1(t: Trainer) -> float:
        return sum(float(p.detach().abs().sum()) for p in t.model.parameters() if p.ndim >= 2)

    assert l1(sparse) < 0.8 * l1(plain)


def test_early_stopping_stops_on_a_stalled_metric() -> None:
    train, val, _ = digits_loaders()
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)  # nothing improves by 10
    trainer = make_trainer([stopper], epochs=20, steps_per_epoch=len(train))
    history = trainer.fit(train, val, epochs=20)
    assert len(history.epoch) == 2 and stopper.stopped_epoch == 1


def test_losses_stay_finite_and_lr_follows_the_schedule() -> None:
    train, val, _ = digits_loaders()
    trainer = make_trainer([], epochs=3, steps_per_epoch=len(train))
    history = trainer.fit(train, val, epochs=3)
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert history.history["lr"][-1] < 1e-3  # one-cycle ends near zero
