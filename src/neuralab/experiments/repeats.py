"""`neuralab train --repeats N`: one config trained over several seeds into one group folder, with the
mean, spread and a confidence interval of every test metric (group.json)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from neuralab.config import AnyRunConfig, ForecastRunConfig, RegressRunConfig, RunConfig, SupervisedRunConfig
from neuralab.errors import UserError
from neuralab.experiments.stats import mean_interval
from neuralab.pipeline import RunResult, run_supervised
from neuralab.pipeline.tracking import Tracking, open_parent
from neuralab.runs import atomic_write_json, default_run_name, new_run_dir

GROUP_FILE = "group.json"
GROUP_METRICS = ("accuracy", "macro_f1", "balanced_accuracy", "rmse", "mae", "r2", "mase", "loss")


@dataclass(frozen=True)
class GroupResult:
    group_dir: Path
    summary: dict[str, Any]


def group_summary(cfg: SupervisedRunConfig, seeds: list[int], results: list[RunResult]) -> dict[str, Any]:
    tests = [r.summary.get("test") or {} for r in results]
    metrics = {m: mean_interval([t[m] for t in tests]) for m in GROUP_METRICS if all(m in t for t in tests)}
    metrics["train_seconds"] = mean_interval([float(r.summary["train_seconds"]) for r in results])
    return {
        "kind": "group",
        "task": cfg.task,
        "dataset": cfg.data.name,
        "model": cfg.model.name,
        "seeds": seeds,
        "runs": [r.run_dir.name for r in results],
        "test": metrics,
        "config": cfg.model_dump(mode="json"),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def train_repeats(cfg: AnyRunConfig, seeds: list[int], console: Console) -> GroupResult:
    """Train `cfg` once per seed, each a full run folder inside the group folder."""
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise UserError(f"repeats need at least two different seeds, got {seeds}")
    if not isinstance(cfg, RunConfig | RegressRunConfig | ForecastRunConfig):
        raise UserError("--repeats applies to classification, regression and forecasting runs")
    group_dir = new_run_dir(Path(cfg.out_dir), f"{cfg.name or default_run_name(cfg)}-x{len(seeds)}")
    parent = open_parent(cfg, group_dir.name, Path(cfg.out_dir))
    tracking = Tracking(parent.tracking_uri, parent.run_id) if parent else Tracking()
    results = []
    for index, seed in enumerate(seeds):
        console.print(f"[bold]seed {seed}[/] ({index + 1} of {len(seeds)})", highlight=False)
        run_cfg = cfg.model_copy(update={
            "out_dir": group_dir, "name": f"seed-{seed}", "train": cfg.train.model_copy(update={"seed": seed}),
        })  # fmt: skip
        try:
            results.append(run_supervised(run_cfg, console, tracking=tracking))
        except BaseException:
            if parent:
                parent.finish({}, "FAILED")
            raise
    summary = group_summary(cfg, seeds, results)
    atomic_write_json(group_dir / GROUP_FILE, summary)
    if parent:
        parent.finish({f"test_{k}_mean": v["mean"] for k, v in summary["test"].items()})
    return GroupResult(group_dir, summary)
