"""`train.compile`: torch.compile'd training is deterministic, resumes exactly, and survives the monitor's hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neuralab.diagnose.grad_health import GradientMonitor
from tests.train.helpers import StepRecorder, digits_loaders, killed_then_resumed, make_trainer

EPOCHS = 2


def compiled_run(callbacks: list) -> tuple[dict[str, torch.Tensor], list]:
    train, val, _ = digits_loaders()
    trainer = make_trainer(callbacks, EPOCHS, len(train), compile=True)
    history = trainer.fit(train, val, EPOCHS)
    return trainer.model.state_dict(), history.rows


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, torch.Tensor], list]:
    return compiled_run([StepRecorder()])


def without_times(rows: list) -> list:
    return [{k: v for k, v in row.items() if k != "epoch_s"} for row in rows]


def test_compiled_training_is_deterministic_and_learns(reference: tuple) -> None:
    weights, rows = compiled_run([StepRecorder()])
    for key, value in reference[0].items():
        assert torch.equal(weights[key], value), key
    assert without_times(rows) == without_times(reference[1])
    assert rows[-1]["val_accuracy"] > 0.7  # eager and compiled both reach 0.84 here (chance: 0.1)


def test_compiled_run_killed_mid_epoch_resumes_to_identical_weights(tmp_path: Path, reference: tuple) -> None:
    second, history = killed_then_resumed(tmp_path, EPOCHS, 58, compile=True)
    for key, value in reference[0].items():
        assert torch.equal(second.model.state_dict()[key], value), key
    assert without_times(history.rows) == without_times(reference[1])


def test_monitor_hooks_run_eager_without_recompiling() -> None:
    """Sampled steps carry forward hooks: they run eager, so the compiled graph is built once."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    train, _, _ = digits_loaders()
    monitor = GradientMonitor(every=7)
    trainer = make_trainer([monitor], 1, len(train), compile=True)
    trainer.fit(train, None, 1)
    assert monitor.records  # the monitor sampled its steps
    assert counters["stats"]["unique_graphs"] == 1
