"""One trial: the suggested values over the base config, trained, scored on the validation split only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console

from neuralab.config import deep_merge
from neuralab.pipeline import resolve_config, run_supervised, supervised_config
from neuralab.pipeline.tracking import Tracking
from neuralab.tune.objectives import Objectives, cost
from neuralab.tune.pruning import PruningCallback
from neuralab.tune.space import Param, suggest


def make_objective(
    base: dict[str, Any], params: list[Param], study_dir: Path, objectives: Objectives, tracking: Tracking | None = None
) -> Any:
    """`tracking`: each trial an MLflow child run of the study's run, when train.loggers has mlflow.

    A multi-objective trial returns (validation metric, *costs) and is never pruned (Optuna's pruners
    judge one objective); a single-objective trial reports each epoch to the pruner.
    """
    monitor = objectives.monitor

    def objective(trial: optuna.Trial) -> float | tuple[float, ...]:
        where = {"out_dir": str(study_dir / "trials"), "name": f"trial-{trial.number:04d}"}
        cfg = supervised_config(resolve_config(deep_merge(deep_merge(base, suggest(trial, params)), where)), "tune")
        trial.set_user_attr("config", cfg.model_dump(mode="json"))
        result = run_supervised(
            cfg,
            Console(file=io.StringIO()),
            extra_callbacks=[] if objectives.multi else [PruningCallback(trial, monitor)],
            evaluate_test=False,
            tracking=tracking,
        )
        trial.set_user_attr("run_dir", str(result.run_dir))
        trial.set_user_attr("epochs_run", result.summary["epochs_run"])
        value = result.summary["best"]["value"]
        if value is None:
            raise optuna.TrialPruned("no validation metric was recorded")
        if not objectives.multi:
            return float(value)
        costs = {name: cost(name, result.run_dir, result.summary) for name in objectives.costs}
        trial.set_user_attr("costs", costs)
        return (float(value), *costs.values())

    return objective
