"""The Pareto front of a multi-objective study: a table, a plot and a ready config per point.

A point is on the front when no other finished trial is at least as good on every objective and
better on one (Optuna's `study.best_trials`). The front is chosen on validation figures only; each
point's test split is then evaluated once, as single-objective tuning does for its best trial.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from rich.console import Console
from rich.table import Table

from neuralab.pipeline import evaluate_run
from neuralab.runs import atomic_write_json, atomic_write_text
from neuralab.tune.objectives import Objectives

AXIS_LABELS = {"latency": "latency (ms per image, batch 1, 1 thread)", "flops": "forward FLOPs per example",
               "params": "trainable parameters"}  # fmt: skip


@dataclass
class Front:
    rows: list[dict[str, Any]]
    best_config: dict[str, Any]
    best_test: dict[str, Any]
    plots: list[Path]


def _test_figure(run_dir: Path) -> dict[str, Any]:
    """The point's test metric, or where to get it when another worker trained it."""
    if not run_dir.is_dir():
        return {"test": f"trained on another worker: neuralab evaluate {run_dir} --split test"}
    test = evaluate_run(run_dir, "test")
    if test.get("task") in ("regress", "forecast"):
        return {"test_rmse": test["rmse"]}
    return {"test_accuracy": test["accuracy"]}


def write_front(study: optuna.Study, goal: Objectives, study_dir: Path, console: Console) -> Front:
    """pareto.csv/json, pareto/trial-NNNN.yaml per point, pareto_front.png; best.yaml is the front's most
    accurate point (its validation metric is the first objective)."""
    front = sorted(study.best_trials, key=lambda t: t.values[0], reverse=goal.monitor_direction == "maximize")
    folder = study_dir / "pareto"
    folder.mkdir(exist_ok=True)
    rows, tests = [], []
    for trial in front:
        config = {**trial.user_attrs["config"], "out_dir": "runs", "name": None}
        config_path = folder / f"trial-{trial.number:04d}.yaml"
        atomic_write_text(config_path, yaml.safe_dump(config, sort_keys=False))
        test = _test_figure(Path(trial.user_attrs["run_dir"]))
        tests.append(test)
        values = dict(zip(goal.names, trial.values, strict=True))
        rows.append({"trial": trial.number, **values, **test, "params": trial.params, "config": str(config_path),
                     "run_dir": trial.user_attrs["run_dir"]})  # fmt: skip
    atomic_write_json(study_dir / "pareto.json", {"objectives": goal.names, "directions": goal.directions,
                                                  "front": rows})  # fmt: skip
    atomic_write_text(study_dir / "pareto.csv", _csv(rows))
    best_config = {**front[0].user_attrs["config"], "out_dir": "runs", "name": None}
    atomic_write_text(study_dir / "best.yaml", yaml.safe_dump(best_config, sort_keys=False))
    console.print(_table(rows, goal))
    console.print(
        f"{len(rows)} point(s) on the front of {len(study.trials)} trials; configs in {folder}, "
        f"the most accurate in {study_dir / 'best.yaml'}",
        highlight=False,
    )
    return Front(rows, best_config, tests[0], _plot(study, goal, study_dir))


def _csv(rows: list[dict[str, Any]]) -> str:
    flat = [{**{k: v for k, v in row.items() if k != "params"}, **row["params"]} for row in rows]
    fields = list(dict.fromkeys(key for row in flat for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def _table(rows: list[dict[str, Any]], goal: Objectives) -> Table:
    test_key = next((k for k in ("test_accuracy", "test_rmse") if k in rows[0]), None)
    table = Table("trial", *goal.names, *([test_key] if test_key else []), "params", title="Pareto front")
    for row in rows:
        values = [f"{row[name]:.4g}" for name in goal.names]
        test = [f"{row[test_key]:.4g}"] if test_key else []
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        table.add_row(str(row["trial"]), *values, *test, params)
    return table


def _plot(study: optuna.Study, goal: Objectives, study_dir: Path) -> list[Path]:
    """Optuna's Pareto-front plot (2 or 3 objectives): every trial, the front highlighted."""
    if not 2 <= len(goal.names) <= 3:
        return []
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    from neuralab.plotting import cjk_text

    with warnings.catch_warnings(), cjk_text():
        warnings.simplefilter("ignore")  # optuna marks its matplotlib plots experimental
        ax = ovm.plot_pareto_front(study, target_names=[AXIS_LABELS.get(name, name) for name in goal.names])
        figure = ax.get_figure(root=True)
        assert figure is not None
        path = study_dir / "pareto_front.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
    return [path]
