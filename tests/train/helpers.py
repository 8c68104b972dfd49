"""A small real training setup on scikit-learn's digits, shared by the trainer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from neuralab.data import BatchAugment, BatchLoader, LoadOptions
from neuralab.data.digits import load_digits_data
from neuralab.data.splits import stratified_split
from neuralab.models import create_model
from neuralab.train import Device, LRController, Trainer, build_optimizer, make_schedule
from neuralab.train.callbacks import Callback, ResumeCheckpoint
from neuralab.train.losses import cross_entropy


def digits_loaders(batch_size: int = 32, seed: int = 0) -> tuple[BatchLoader, BatchLoader, BatchLoader]:
    data = load_digits_data(LoadOptions())
    keep, held = stratified_split(data.train.targets, 0.1, seed)
    pre = data.preprocess
    train = BatchLoader(
        data.train.subset(keep),
        batch_size,
        pre,
        shuffle=True,
        seed=seed,
        augment=BatchAugment(False, 1),
        drop_last=True,
    )
    val = BatchLoader(data.train.subset(held), 256, pre)
    test = BatchLoader(data.test, 256, pre)
    return train, val, test


class StepRecorder(Callback):
    """Records (epoch, batch) of every step whose effect survives, checkpointed with the run (Lightning's test)."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, int]] = []
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.steps.append((self.epoch, batch))

    def state_dict(self) -> dict[str, Any]:
        return {"steps": [list(s) for s in self.steps]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = [tuple(s) for s in state["steps"]]  # type: ignore[misc]


class CrashAt(Callback):
    """Simulates a kill: raises after `step` optimizer steps, without any clean-up."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        assert self.trainer is not None
        if self.trainer.state.global_step == self.step:
            raise KeyboardInterrupt("simulated kill")


def make_trainer(
    callbacks: list[Callback], epochs: int, steps_per_epoch: int, model_name: str = "regularized_mlp", **kw: Any
) -> Trainer:
    torch.manual_seed(0)
    model = create_model(model_name, (1, 8, 8), 10)
    optimizer = build_optimizer(model, kw.pop("optim", "sgd"), lr=kw.pop("lr", 0.05), weight_decay=1e-4, nesterov=True)
    schedule = make_schedule("onecycle", steps_per_epoch, epochs)
    return Trainer(
        model,
        optimizer,
        cross_entropy(0.1),
        device=Device.create("cpu"),
        lr=LRController(optimizer, schedule),
        callbacks=callbacks,
        **kw,
    )


def checkpointing(folder: Path, every_steps: int) -> ResumeCheckpoint:
    return ResumeCheckpoint(folder, every_steps=every_steps)


def killed_then_resumed(folder: Path, epochs: int, crash_step: int, **kw: Any) -> tuple[Trainer, Any]:
    """A run killed after `crash_step` steps (checkpoints every 5), then resumed from its checkpoint to the
    end in a fresh Trainer: returns that Trainer and its History, to compare with an uninterrupted run."""
    import pytest

    from neuralab.train import load_checkpoint

    train, val, _ = digits_loaders()
    first = make_trainer([StepRecorder(), ResumeCheckpoint(folder, every_steps=5), CrashAt(crash_step)], epochs,
                         len(train), **kw)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        first.fit(train, val, epochs)
    payload, _ = load_checkpoint(folder)
    second = make_trainer([StepRecorder(), ResumeCheckpoint(folder, every_steps=5)], epochs, len(train), **kw)
    second.restore(payload)
    return second, second.fit(train, val, epochs)
