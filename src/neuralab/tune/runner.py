"""`neuralab tune`: run a study, then write the trial table, best.yaml, plots, and test the best run once."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from rich.console import Console
from rich.table import Table

from neuralab.config import deep_merge
from neuralab.errors import UserError
from neuralab.pipeline import evaluate_run, resolve_config, supervised_config
from neuralab.pipeline.tracking import Tracking, open_parent
from neuralab.runs import atomic_write_json, atomic_write_text
from neuralab.train.callbacks.monitor import infer_mode
from neuralab.tune.front import write_front
from neuralab.tune.objective import make_objective
from neuralab.tune.objectives import Objectives, parse_objectives
from neuralab.tune.space import example_overrides, parse_search
from neuralab.tune.study import make_pruner, make_sampler, open_study, storage_for


@dataclass
class TuneResult:
    study: optuna.Study
    best_config: dict[str, Any]
    best_test: dict[str, Any]
    plots: list[Path]


def run_tune(
    user: dict[str, Any],
    study_dir: Path,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    storage: str | None = None,
    seed: int = 0,
    heartbeat: int = 10,
    max_retry: int = 2,
    objectives: str | None = None,
    console: Console | None = None,
) -> TuneResult:
    """Run (or continue) the study; `objectives` ("accuracy,latency") makes it an architecture search
    with a Pareto front instead of one best trial."""
    console = console or Console()
    user = dict(user)
    params = parse_search(user.pop("search", None))
    named_monitor, costs = parse_objectives(objectives)
    if named_monitor is not None:
        user = deep_merge(user, {"train": {"monitor": named_monitor}})
    # Refuse a key that does not exist before any training, naming it.
    probe = supervised_config(resolve_config(deep_merge(user, example_overrides(params))), "tune")
    monitor = probe.train.monitor if probe.train.monitor.startswith("val_") else f"val_{probe.train.monitor}"
    if probe.data.val_fraction <= 0:
        raise UserError("tuning needs a validation split (data.val_fraction > 0): trials are never scored on test")
    if trials is None and timeout is None:
        raise UserError("give --trials N and/or --timeout SECONDS")
    goal = Objectives(monitor, "minimize" if infer_mode(monitor) == "min" else "maximize", costs)
    if goal.multi and sampler == "cmaes":
        raise UserError("the cmaes sampler optimises one objective", hint="use tpe or nsga2 with --objectives")
    if goal.multi and pruner != "none":
        console.print("[yellow]several objectives: trials are not pruned[/] (Optuna's pruners judge one objective)")
    study_dir.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(
        storage_for(study_dir, storage, heartbeat, max_retry),
        make_sampler(sampler, params, seed),
        make_pruner("none" if goal.multi else pruner, probe.train.epochs),
        goal.directions,
        goal.names,
    )
    parent = open_parent(probe, study_dir.name, study_dir)
    tracking = Tracking(parent.tracking_uri, parent.run_id) if parent else None
    try:
        study.optimize(make_objective(user, params, study_dir, goal, tracking), n_trials=trials, timeout=timeout)
    finally:
        if parent:
            finished = any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
            parent.finish({f"best_{monitor}": float(study.best_value)} if finished and not goal.multi else {})

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise UserError("no trial completed", hint="check the trial errors above, or allow more trials")
    console.print(trial_table(study, goal.names))
    if goal.multi:
        front = write_front(study, goal, study_dir, console)
        return TuneResult(study, front.best_config, front.best_test, [*save_plots(study, study_dir), *front.plots])
    best = study.best_trial
    best_config = dict(best.user_attrs["config"])
    best_config.update(out_dir="runs", name=None)
    atomic_write_text(study_dir / "best.yaml", yaml.safe_dump(best_config, sort_keys=False))
    # The test split is looked at once, for the chosen configuration only.
    best_dir = Path(best.user_attrs["run_dir"])
    plots = save_plots(study, study_dir)
    best_test: dict[str, Any] = {}
    if best_dir.is_dir():
        best_test = evaluate_run(best_dir, "test")
        atomic_write_json(study_dir / "best_test.json", {"trial": best.number, "val": best.value, **best_test})
        tested = (
            f"; its test RMSE {best_test['rmse']:.4g} (R² {best_test['r2']:.3f})"
            if best_test.get("task") == "regress"
            else f"; its test accuracy {100 * best_test['accuracy']:.2f}%"
        )
    else:  # a worker on another machine trained it: its folder is there, not here
        tested = f"; it ran on another worker: test it there with `neuralab evaluate {best_dir} --split test`"
    console.print(
        f"best trial {best.number}: {monitor} {best.value:.4f}{tested}\n"
        f"train it again with: neuralab train {study_dir / 'best.yaml'}",
        highlight=False,
    )
    return TuneResult(study, best_config, best_test, plots)


def trial_table(study: optuna.Study, names: list[str]) -> Table:
    table = Table("trial", "state", *names, "epochs", "params", title="trials")
    for t in study.trials:
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items())
        values = [f"{v:.4g}" for v in t.values] if t.values is not None else ["-"] * len(names)
        table.add_row(str(t.number), t.state.name.lower(), *values, str(t.user_attrs.get("epochs_run", "-")), params)
    return table


def save_plots(study: optuna.Study, study_dir: Path) -> list[Path]:
    """Optimization history, parameter importances and parallel coordinates, as PNG files."""
    import matplotlib.pyplot as plt  # optuna draws with pyplot; its figures are closed once saved
    from optuna.visualization import matplotlib as ovm

    from neuralab.plotting import cjk_text

    written = []
    plots: dict[str, Callable[..., Any]] = {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": ovm.plot_param_importances,
        "parallel_coordinate": ovm.plot_parallel_coordinate,
    }
    if len(study.directions) > 1:  # history and importances need one objective: draw them for the first
        plots = {name: functools.partial(plot, target=lambda t: t.values[0], target_name=study.user_attrs.get(
            "objectives", ["objective"])[0]) for name, plot in plots.items()}  # fmt: skip
    for name, plot in plots.items():
        with warnings.catch_warnings(), cjk_text():
            warnings.simplefilter("ignore")
            try:
                ax = plot(study)
            except (ValueError, RuntimeError):  # e.g. importances need two finished trials that differ
                continue
            figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            path = study_dir / f"{name}.png"
            figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(figure)
        written.append(path)
    return written
