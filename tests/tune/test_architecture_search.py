"""Architecture search: `neuralab tune --objectives accuracy,latency` over fast_cnn's shape, on digits."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from neuralab.config import load_yaml, validate
from neuralab.errors import UserError
from neuralab.models import create_model
from neuralab.tune.objectives import parse_objectives
from tests.conftest import run_cli

SPACE = {
    "data": {"name": "digits"},
    "model": {"name": "fast_cnn"},
    "train": {"epochs": 2},
    "search": {
        "model.args.widths": {"type": "categorical", "choices": [[8, 16], [32, 64]]},
        "model.args.convs_per_group": {"type": "categorical", "choices": [[1, 1], [1, 2]]},
        "model.args.kernel_size": {"type": "categorical", "choices": [3, 5]},
        "model.args.block": {"type": "categorical", "choices": ["plain", "residual"]},
    },
}


def dominates(a: list[float], b: list[float]) -> bool:
    """`a` (accuracy up, latency down) is at least as good as `b` on both and better on one."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def test_a_two_objective_study_writes_a_non_dominated_front(tmp_path: Path) -> None:
    config = tmp_path / "nas.yaml"
    config.write_text(yaml.safe_dump(SPACE))
    done = run_cli("tune", str(config), "--out", str(tmp_path / "study"), "--trials", "6", "--objectives",
                   "accuracy,latency")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Pareto front" in done.stdout
    study = optuna.load_study(study_name="neuralab", storage=f"sqlite:///{tmp_path / 'study' / 'study.db'}")
    finished = [t.values for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == 6
    front = json.loads((tmp_path / "study" / "pareto.json").read_text())
    assert front["objectives"] == ["val_accuracy", "latency"]
    assert front["directions"] == ["maximize", "minimize"]
    points = [[row["val_accuracy"], row["latency"]] for row in front["front"]]
    assert points
    for point in points:
        assert point[1] > 0  # a measured latency in milliseconds
        assert not any(dominates(other, point) for other in finished)  # nothing beats a front point on both
    for values in finished:  # and every trial off the front is beaten by a point on it
        if values not in points:
            assert any(dominates(point, values) or point == values for point in points)
    for row in front["front"]:
        assert 0 < row["test_accuracy"] <= 1  # each chosen point is tested once
        validate(load_yaml(Path(row["config"])))  # a ready config per point
    assert (tmp_path / "study" / "pareto_front.png").stat().st_size > 0
    assert (tmp_path / "study" / "pareto.csv").read_text().startswith("trial,val_accuracy,latency")

    other = run_cli("tune", str(config), "--out", str(tmp_path / "study"), "--trials", "1")
    assert other.returncode == 2 and "optimises val_accuracy, latency, not val_accuracy" in other.stderr


@pytest.mark.parametrize(
    ("objectives", "message"),
    [("latency", "starts with the validation metric"), ("accuracy,speed", "unknown objective(s) speed"),
     ("accuracy,latency,latency", "named twice")],
)  # fmt: skip
def test_bad_objectives_are_named(objectives: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_objectives(objectives)


def test_objectives_name_the_validation_metric_first() -> None:
    assert parse_objectives("accuracy,latency,params") == ("val_accuracy", ("latency", "params"))
    assert parse_objectives("val_rmse,flops") == ("val_rmse", ("flops",))
    assert parse_objectives(None) == (None, ())


def test_cmaes_cannot_search_several_objectives(tmp_path: Path) -> None:
    config = tmp_path / "nas.yaml"
    config.write_text(yaml.safe_dump({**SPACE, "search": {"optim.lr": {"type": "float", "low": 0.001, "high": 0.1}}}))
    done = run_cli("tune", str(config), "--out", str(tmp_path / "s"), "--trials", "1", "--sampler", "cmaes",
                   "--objectives", "accuracy,latency")  # fmt: skip
    assert done.returncode == 2 and "cmaes sampler optimises one objective" in done.stderr


@pytest.mark.parametrize("block", ["plain", "residual"])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_fast_cnns_searchable_shape(block: str, kernel_size: int) -> None:
    model = create_model("fast_cnn", (1, 28, 28), 10, "image", widths=[8, 16], convs_per_group=[1, 3],
                         kernel_size=kernel_size, block=block)  # fmt: skip
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    residuals = sum(type(m).__name__ == "Residual" for m in model.modules())
    assert residuals == (2 if block == "residual" else 0)  # the 2nd and 3rd conv of the last group
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and all(c.kernel_size == (kernel_size, kernel_size) for c in convs)
