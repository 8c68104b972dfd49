"""train.loggers: real digits runs through the CLI, read back with TensorBoard's and MLflow's own readers."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from neuralab.errors import UserError
from neuralab.pipeline.tracking import check_installed
from tests.conftest import run_cli

pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

LOGGERS = "train.loggers=[csv,tensorboard,mlflow]"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seeds of one config (a group: an MLflow parent run with two children), 3 epochs each."""
    out = tmp_path_factory.mktemp("tracked")
    done = run_cli("train", "--dataset", "digits", "--seeds", "0,1", "--epochs", "3", "--out", str(out),
                   "--name", "tracked", "--set", LOGGERS)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def metrics_rows(run_dir: Path) -> list[dict[str, float]]:
    with (run_dir / "metrics.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_tensorboard_holds_the_epochs_the_graph_histograms_and_the_confusion_matrix(tracked: Path) -> None:
    run_dir = tracked / "tracked-x2" / "seed-0"
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    rows = metrics_rows(run_dir)
    for key in ("loss", "val_accuracy", "lr"):
        logged = [(e.step, e.value) for e in events.Scalars(key)]
        assert logged == [(int(r["epoch"]), pytest.approx(r[key], rel=1e-6)) for r in rows]
    assert [e.step for e in events.Scalars("test/accuracy")] == [0]
    assert any(t.startswith("gradients/") for t in tags["histograms"])
    assert any(t.startswith("weights/") for t in tags["histograms"])
    assert tags["graph"] is True and tags["images"] == ["test/confusion_matrix"]


def test_mlflow_records_a_group_as_a_parent_with_one_child_per_seed(tracked: Path) -> None:
    client = MlflowClient(f"sqlite:///{tracked / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("digits-simple_cnn")
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    parent = runs["tracked-x2"]
    assert parent.info.status == "FINISHED" and "test_accuracy_mean" in parent.data.metrics
    for seed in (0, 1):
        child = runs[f"seed-{seed}"]
        run_dir = tracked / "tracked-x2" / f"seed-{seed}"
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params["train.seed"] == str(seed) and child.data.params["optim.name"] == "adam"
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert [(m.step, m.value) for m in history] == [
            (int(r["epoch"]), pytest.approx(r["val_accuracy"])) for r in metrics_rows(run_dir)
        ]
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id, "model")}
        assert artifacts == {"model/model.safetensors", "model/model.json"}  # no pickle
        assert (run_dir / "mlflow_run_id").read_text() == child.info.run_id


def test_an_unknown_logger_is_refused_naming_the_choices(tmp_path: Path) -> None:
    done = run_cli("train", "--dataset", "digits", "--out", str(tmp_path), "--set", "train.loggers=[wandb]")
    assert done.returncode == 2
    assert "train.loggers" in done.stderr and "tensorboard" in done.stderr and "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_a_missing_tracker_package_names_its_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(UserError, match="mlflow package is not installed") as err:
        check_installed(["csv", "mlflow"])
    assert "pip install mlflow" in (err.value.hint or "")
