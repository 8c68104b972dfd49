"""Exact resume: a run killed at any step and resumed ends with the same weights and metrics.

As Lightning's and Keras's tests do, a checkpointed step recorder proves every step ran exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neuralab.train import load_checkpoint
from neuralab.train.callbacks import ResumeCheckpoint
from neuralab.train.state import LAST, PREVIOUS
from tests.train.helpers import CrashAt, StepRecorder, digits_loaders, make_trainer

EPOCHS = 3


def uninterrupted() -> tuple[dict[str, torch.Tensor], list, list]:
    train, val, _ = digits_loaders()
    recorder = StepRecorder()
    trainer = make_trainer([recorder], EPOCHS, len(train))
    history = trainer.fit(train, val, EPOCHS)
    return trainer.model.state_dict(), history.rows, recorder.steps


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, torch.Tensor], list, list]:
    return uninterrupted()


@pytest.mark.parametrize(
    ("every", "crash_at"),
    [(5, 58), (7, 40)],  # 40 batches per epoch: mid-epoch (checkpoint at 55) and exactly at an epoch end
    ids=["mid-epoch", "epoch-end"],
)
def test_killed_run_resumes_to_identical_weights(tmp_path: Path, reference: tuple, every: int, crash_at: int) -> None:
    ref_weights, ref_rows, ref_steps = reference
    train, val, _ = digits_loaders()
    assert len(train) == 40
    first = make_trainer(
        [StepRecorder(), ResumeCheckpoint(tmp_path, every_steps=every), CrashAt(crash_at)], EPOCHS, len(train)
    )
    with pytest.raises(KeyboardInterrupt):
        first.fit(train, val, EPOCHS)

    payload, _ = load_checkpoint(tmp_path)
    saved_step = payload["state"]["global_step"]
    assert saved_step <= crash_at  # steps after the checkpoint are lost and must be redone

    recorder = StepRecorder()
    second = make_trainer([recorder, ResumeCheckpoint(tmp_path, every_steps=every)], EPOCHS, len(train))
    second.restore(payload)
    history = second.fit(train, val, EPOCHS)

    assert recorder.steps == ref_steps  # every (epoch, batch) exactly once, in order
    assert len(set(recorder.steps)) == len(recorder.steps) == EPOCHS * 40
    for key, value in ref_weights.items():
        assert torch.equal(second.model.state_dict()[key], value), key
    for got, want in zip(history.rows, ref_rows, strict=True):
        assert {k: v for k, v in got.items() if k != "epoch_s"} == {k: v for k, v in want.items() if k != "epoch_s"}


def test_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path: Path) -> None:
    train, _, _ = digits_loaders()
    trainer = make_trainer([ResumeCheckpoint(tmp_path, every_steps=10)], 1, len(train))
    trainer.fit(train, None, 1)
    assert (tmp_path / PREVIOUS).exists()
    (tmp_path / LAST).write_bytes(b"torn write")
    payload, source = load_checkpoint(tmp_path)
    assert source.name == PREVIOUS and payload["state"]["global_step"] > 0


def test_no_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from neuralab.errors import UserError

    with pytest.raises(UserError, match="no usable checkpoint"):
        load_checkpoint(tmp_path)
