"""`train.ema`: evaluation sees the averaged weights, the model takes them at the end, and a run killed
mid-epoch resumes to the same average."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from neuralab.errors import UserError
from neuralab.train import load_checkpoint
from neuralab.train.averaging import ema_decay, ema_model
from neuralab.train.callbacks import BestWeights, ResumeCheckpoint
from tests.train.helpers import CrashAt, StepRecorder, digits_loaders, killed_then_resumed, make_trainer

EPOCHS = 2
DECAY = 0.9


def test_decay_warms_up_then_holds() -> None:
    decays = [float(ema_decay(0.99, torch.tensor(n))) for n in (0, 10, 1000)]
    assert decays[0] == pytest.approx(0.1)  # the first weights are random: follow the model closely
    assert decays[1] == pytest.approx(11 / 20)
    assert decays[2] == pytest.approx(0.99)


def test_average_follows_the_formula() -> None:
    model = torch.nn.Linear(3, 2)
    average = ema_model(model, 0.5)
    average.update_parameters(model)  # the first update copies
    before = average.module.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update_parameters(model)  # n=1: decay min(0.5, 2/11)
    keep = 2 / 11
    assert torch.allclose(average.module.weight, keep * before + (1 - keep) * model.weight)


def test_decay_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ema_model(torch.nn.Linear(2, 2), 1.0)


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, torch.Tensor], list, float]:
    train, val, test = digits_loaders()
    trainer = make_trainer([StepRecorder()], EPOCHS, len(train), ema=DECAY)
    history = trainer.fit(train, val, EPOCHS)
    return copy.deepcopy(trainer.model.state_dict()), history.rows, trainer.evaluate(test).accuracy


def without_times(rows: list) -> list:
    return [{k: v for k, v in row.items() if k != "epoch_s"} for row in rows]


def test_validation_sees_the_average_and_the_model_takes_it(reference: tuple) -> None:
    train, val, _ = digits_loaders()
    plain = make_trainer([StepRecorder()], EPOCHS, len(train))
    plain_rows = plain.fit(train, val, EPOCHS).rows
    # The same steps in the same order (training loss and accuracy are the raw weights'), but
    # validation is computed on other weights.
    assert [r["loss"] for r in plain_rows] == [r["loss"] for r in reference[1]]
    assert [r["val_loss"] for r in plain_rows] != [r["val_loss"] for r in reference[1]]
    assert reference[1][-1]["val_accuracy"] > 0.7  # it learns (chance: 0.1)
    averaged = make_trainer([], EPOCHS, len(train), ema=DECAY)
    averaged.fit(train, val, EPOCHS)
    assert averaged.ema is not None
    for key, value in averaged.ema.module.state_dict().items():
        assert torch.equal(averaged.model.state_dict()[key], value), key


def test_best_weights_file_holds_the_average(tmp_path: Path) -> None:
    train, val, _ = digits_loaders()
    best = BestWeights(tmp_path / "best.safetensors")
    trainer = make_trainer([best], 1, len(train), ema=DECAY)
    trainer.fit(train, val, 1)
    saved = load_file(tmp_path / "best.safetensors")
    assert trainer.ema is not None
    for key, value in trainer.ema.module.state_dict().items():
        assert torch.equal(saved[key], value), key


def test_run_killed_mid_epoch_resumes_to_identical_average(tmp_path: Path, reference: tuple) -> None:
    second, history = killed_then_resumed(tmp_path, EPOCHS, 58, ema=DECAY)
    for key, value in reference[0].items():
        assert torch.equal(second.model.state_dict()[key], value), key
    assert without_times(history.rows) == without_times(reference[1])
    assert second.evaluate(digits_loaders()[2]).accuracy == reference[2]


def test_resuming_without_the_average_says_so(tmp_path: Path) -> None:
    train, val, _ = digits_loaders()
    first = make_trainer([ResumeCheckpoint(tmp_path, every_steps=5), CrashAt(10)], EPOCHS, len(train))
    with pytest.raises(KeyboardInterrupt):
        first.fit(train, val, EPOCHS)
    payload, _ = load_checkpoint(tmp_path)
    second = make_trainer([], EPOCHS, len(train), ema=DECAY)
    with pytest.raises(UserError, match=r"without train\.ema"):
        second.restore(payload)


def test_cli_rejects_a_decay_of_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "neuralab", "train", "--dataset", "digits", "--out", str(tmp_path),
         "--set", "train.ema=1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "train.ema" in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())  # nothing half-written
