"""`neuralab tune` end to end on digits: real trials, a real SQLite study, real worker processes."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from neuralab.config import load_yaml, validate
from neuralab.errors import UserError
from neuralab.tune import parse_search, run_tune
from tests.conftest import run_cli
from tests.tune.postgres_server import postgres_server, server_binaries

BASE = {"data": {"name": "digits"}, "model": {"name": "mlp"}, "train": {"epochs": 2}}
SEARCH = {
    "optim.lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
    "model.args.widths": {"type": "categorical", "choices": [[16], [64, 32]]},
}


def write_config(path: Path, search: dict = SEARCH, **extra: dict) -> Path:
    path.write_text(yaml.safe_dump({**BASE, **extra, "search": search}))
    return path


def trial_count(study_dir: Path) -> int:
    return len(optuna.load_study(study_name="neuralab", storage=f"sqlite:///{study_dir / 'study.db'}").trials)


def test_tune_writes_best_config_plots_and_tests_the_best_once(tmp_path: Path) -> None:
    study = tmp_path / "study"
    result = run_cli("tune", str(write_config(tmp_path / "c.yaml")), "--out", str(study), "--trials", "5")
    assert result.returncode == 0, result.stderr
    assert "best trial" in result.stdout and "trials" in result.stdout
    best = validate(load_yaml(study / "best.yaml"))
    assert best.data.name == "digits" and best.model.name == "mlp"
    assert {p.name for p in study.glob("*.png")} >= {"optimization_history.png", "parallel_coordinate.png"}
    best_test = json.loads((study / "best_test.json").read_text())
    assert 0 < best_test["accuracy"] <= 1 and best_test["split"] == "test"
    summaries = [json.loads(p.read_text()) for p in sorted((study / "trials").glob("*/summary.json"))]
    assert summaries, "no trial wrote a summary: the check below would hold vacuously"
    assert all(s["test"] is None for s in summaries)  # trials never saw the test split
    assert all(s["best"]["value"] is not None for s in summaries)  # they were judged on validation
    retrain = run_cli("train", str(study / "best.yaml"), "--out", str(tmp_path / "runs"))
    assert retrain.returncode == 0, retrain.stderr


def test_study_resumes_and_two_workers_share_it(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml")
    study = tmp_path / "study"
    assert run_cli("tune", str(config), "--out", str(study), "--trials", "2", "--pruner", "none").returncode == 0
    assert trial_count(study) == 2
    cmd = [sys.executable, "-m", "neuralab.cli.main", "tune", str(config), "--out", str(study), "--trials", "2",
           "--pruner", "none"]  # fmt: skip
    workers = [
        subprocess.Popen([*cmd, "--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for seed in (1, 2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()
    assert trial_count(study) == 6


def test_grid_sampler_runs_the_whole_grid_once(tmp_path: Path) -> None:
    search = {
        "model.args.widths": {"type": "categorical", "choices": [[16], [32]]},
        "train.batch_size": {"type": "categorical", "choices": [32, 64]},
    }
    result = run_tune(BASE | {"search": search}, tmp_path / "grid", trials=10, sampler="grid", pruner="none")
    assert len(result.study.trials) == 4
    assert {tuple(sorted(t.params.items())) for t in result.study.trials}.__len__() == 4


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({}, "no `search:` section"),
        ({"optim.lr": {"type": "gaussian"}}, "needs `type:`"),
        ({"optim.lr": {"type": "float", "low": 1, "high": 0.1}}, "low < high"),
        ({"optim.lrr": {"type": "float", "low": 0.1, "high": 1}}, "unknown config key 'optim.lrr'"),
        ({"train.epochs": {"type": "categorical", "choices": []}}, "non-empty `choices:`"),
    ],
)
def test_bad_search_spaces_are_named(tmp_path: Path, search: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        run_tune(BASE | {"search": search}, tmp_path / "s", trials=1)


def test_bad_storage_and_sampler_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot open study storage"):
        run_tune(BASE | {"search": SEARCH}, tmp_path / "s", trials=1, storage="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(UserError, match="unknown sampler"):
        run_tune(BASE | {"search": SEARCH}, tmp_path / "s", trials=1, sampler="bayes")
    result = run_cli(
        "tune", str(write_config(tmp_path / "c.yaml", search={})), "--out", str(tmp_path / "x"), "--trials", "1"
    )
    assert result.returncode == 2 and "search" in result.stderr and "Traceback" not in result.stderr


def test_float_ranges_need_grid_values_for_the_grid_sampler() -> None:
    params = parse_search({"optim.lr": {"type": "float", "low": 0.1, "high": 1}})
    with pytest.raises(UserError, match="grid"):
        params[0].grid_values()


def test_each_trial_is_an_mlflow_child_of_the_study(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    base = BASE | {"train": {"epochs": 2, "loggers": ["csv", "mlflow"]}}
    study_dir = tmp_path / "tracked"
    result = run_tune(base | {"search": SEARCH}, study_dir, trials=3, pruner="none")
    client = mlflow.tracking.MlflowClient(f"sqlite:///{study_dir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("digits-mlp")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert [p.info.run_name for p in parents] == ["tracked"] and parents[0].info.status == "FINISHED"
    assert parents[0].data.metrics["best_val_accuracy"] == pytest.approx(result.study.best_value)
    assert sorted(c.info.run_name for c in children) == ["trial-0000", "trial-0001", "trial-0002"]
    assert all(c.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for c in children)
    assert all("test_accuracy" not in c.data.metrics for c in children)  # trials never see the test split


def test_a_killed_workers_trial_is_failed_and_run_again(tmp_path: Path) -> None:
    """SIGKILL a worker mid-trial: the next worker marks that trial FAILED (its heartbeat stopped) and
    runs its parameters again, instead of leaving it RUNNING forever."""
    # a trial that never ends on its own: under CI load a 60-epoch one could finish between two polls
    config = write_config(tmp_path / "c.yaml", train={"epochs": 100_000})
    study_dir = tmp_path / "study"
    cmd = [sys.executable, "-m", "neuralab.cli.main", "tune", str(config), "--out", str(study_dir), "--trials", "1",
           "--pruner", "none", "--heartbeat", "1"]  # fmt: skip
    log = tmp_path / "doomed.log"
    with log.open("wb") as sink:
        doomed = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        try:
            storage = f"sqlite:///{study_dir / 'study.db'}"
            deadline = time.monotonic() + 180
            running: list[optuna.trial.FrozenTrial] = []
            while not running and time.monotonic() < deadline and doomed.poll() is None:
                time.sleep(0.25)
                with contextlib.suppress(Exception):  # the study may not exist yet
                    study = optuna.load_study(study_name="neuralab", storage=storage)
                    running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
            assert running, f"the worker never started a trial (exit {doomed.poll()}): {log.read_text()[-2000:]}"
            time.sleep(2)  # a heartbeat or two, mid-trial
            assert doomed.poll() is None, f"the worker ended before it was killed: {log.read_text()[-2000:]}"
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=30)
    time.sleep(3.5)  # the grace period (3 heartbeats) passes with no beat
    survivor = run_cli("tune", str(config), "--out", str(study_dir), "--trials", "1", "--pruner", "none",
                       "--heartbeat", "1", "--set", "train.epochs=2")  # fmt: skip
    assert survivor.returncode == 0, survivor.stderr
    trials = optuna.load_study(study_name="neuralab", storage=storage).trials
    states = [t.state for t in trials]
    assert optuna.trial.TrialState.RUNNING not in states
    assert trials[0].state == optuna.trial.TrialState.FAIL
    retry = trials[1]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.params == trials[0].params
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == 0


def test_workers_share_a_study_on_a_real_postgresql_server(tmp_path: Path) -> None:
    """Two worker processes and a later resume on one PostgreSQL study, as workers on several machines
    would use it (the server here is local; the protocol is the same)."""
    pytest.importorskip("psycopg2")
    if server_binaries() is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    config = write_config(tmp_path / "c.yaml")
    with postgres_server() as url:
        cmd = [sys.executable, "-m", "neuralab.cli.main", "tune", str(config), "--trials", "2", "--pruner", "none",
               "--storage", url]  # fmt: skip
        workers = [
            subprocess.Popen(
                [*cmd, "--out", str(tmp_path / f"worker-{seed}"), "--seed", str(seed)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for seed in (1, 2)
        ]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err.decode()
        resumed = run_cli("tune", str(config), "--trials", "1", "--pruner", "none", "--storage", url,
                          "--out", str(tmp_path / "resumed"))  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        study = optuna.load_study(study_name="neuralab", storage=url)
        assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 5
        best = json.loads((tmp_path / "resumed" / "best_test.json").read_text())
        assert best["trial"] == study.best_trial.number  # chosen among every worker's trials


def test_a_regression_is_tuned_on_validation_rmse_and_tested_once(tmp_path: Path) -> None:
    config = tmp_path / "r.yaml"
    config.write_text(yaml.safe_dump({"data": {"name": "diabetes"}, "train": {"epochs": 5},
                                      "search": {"optim.weight_decay": {"type": "float", "low": 1e-3, "high": 1.0,
                                                                        "log": True}}}))  # fmt: skip
    study = tmp_path / "study"
    result = run_cli("tune", str(config), "--out", str(study), "--trials", "3", "--pruner", "none")
    assert result.returncode == 0, result.stderr
    assert "val_rmse" in result.stdout and "its test RMSE" in " ".join(result.stdout.split())
    values = [
        t.value for t in optuna.load_study(study_name="neuralab", storage=f"sqlite:///{study / 'study.db'}").trials
    ]
    best_test = json.loads((study / "best_test.json").read_text())
    assert best_test["val"] == min(values)  # RMSE is minimised
    assert best_test["task"] == "regress" and best_test["rmse"] > 0
    assert validate(load_yaml(study / "best.yaml")).task == "regress"
