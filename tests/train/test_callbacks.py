"""The metric watcher, ReduceLROnPlateau, callback reuse across fits, state keyed by name, and the
batch-hook skipping, on real training runs over scikit-learn's digits."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console

from neuralab.train import LRController
from neuralab.train.callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    MetricWatcher,
    ProgressLogger,
    ReduceLROnPlateau,
    ResumeCheckpoint,
)
from neuralab.train.schedules import constant
from tests.train.helpers import digits_loaders, make_trainer


def test_watcher_knows_each_metrics_direction() -> None:
    loss, accuracy = MetricWatcher("val_loss"), MetricWatcher("val_accuracy")
    assert (loss.mode, accuracy.mode) == ("min", "max")
    assert loss.update(1.0) and loss.update(0.5) and not loss.update(0.7)
    assert accuracy.update(0.5) and not accuracy.update(0.4) and accuracy.best == 0.5
    delta = MetricWatcher("val_accuracy", min_delta=0.1)
    assert delta.update(0.5) and not delta.update(0.55) and delta.update(0.65)
    assert MetricWatcher("val_accuracy", mode="min").update(0.1)
    with pytest.raises(Exception, match="mode"):
        MetricWatcher("x", mode="up")


class _Loop:
    """The part of a loop ReduceLROnPlateau uses: an LRController over a real optimizer."""

    def __init__(self) -> None:
        self.optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
        self.lr = LRController(self.optimizer, constant())


def test_reduce_lr_on_plateau_decays_after_patience_and_restores() -> None:
    loop = _Loop()
    callback = ReduceLROnPlateau("val_accuracy", factor=0.5, patience=1)
    callback.set_trainer(loop)  # type: ignore[arg-type]
    for epoch, value in enumerate((0.5, 0.6, 0.6, 0.6)):
        callback.on_epoch_end(epoch, {"val_accuracy": value})
    assert callback.scale == 0.5 and loop.lr.apply(0) == pytest.approx(0.05)
    other = _Loop()
    restored = ReduceLROnPlateau("val_accuracy", factor=0.5, patience=1)
    restored.set_trainer(other)  # type: ignore[arg-type]
    restored.load_state_dict(callback.state_dict())
    assert other.lr.apply(0) == pytest.approx(0.05)  # the decayed rate survives a resume
    restored.reset()
    assert other.lr.apply(0) == pytest.approx(0.1)


def test_one_early_stopping_serves_two_fits() -> None:
    """As in Keras: state from the first fit (best value, patience used) must not stop the second."""
    train, val, _ = digits_loaders()
    stopper = EarlyStopping("val_loss", patience=1, min_delta=10.0)  # no epoch can improve by 10: stops at once
    first = make_trainer([stopper], 5, len(train))
    first.fit(train, val, 5)
    assert stopper.stopped_epoch == 1
    second = make_trainer([stopper], 5, len(train))
    history = second.fit(train, val, 5)
    assert stopper.stopped_epoch == 1 and len(history.rows) == 2  # would be 1 if the wait had carried over


def test_callback_state_is_keyed_by_name_not_position() -> None:
    history, stopper = History(), EarlyStopping("val_loss")
    stopper.wait = 2
    saved = CallbackList([history, stopper, EarlyStopping("loss")]).state_dict()
    assert set(saved) == {"History", "EarlyStopping", "EarlyStopping#2"}
    other = EarlyStopping("val_loss")
    CallbackList([other, History()]).load_state_dict(saved)  # another order, same names
    assert other.wait == 2


class _CountingCallback(Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.calls += 1


def test_batch_hooks_are_skipped_unless_a_callback_needs_them(tmp_path: Path) -> None:
    train, val, _ = digits_loaders()
    quiet = Console(file=io.StringIO())  # what a CLI run writing to a pipe or file has
    progress = ProgressLogger(1, len(train), quiet)
    checkpoint = ResumeCheckpoint(tmp_path, every_steps=0, every_s=0)  # saves at epoch ends only
    trainer = make_trainer([progress, checkpoint], 1, len(train))
    trainer.fit(train, val, 1)
    assert not trainer.callbacks.wants_batch_hooks()  # the loop skipped every batch hook

    counting = _CountingCallback()
    trainer = make_trainer([progress, counting], 1, len(train))
    trainer.fit(train, val, 1)
    assert trainer.callbacks.batch_callbacks == [counting] and counting.calls == len(train)
