"""A run that predicts numbers (a regression on a table, or a forecast), build -> fit -> finish, on the same
machinery as classification.

The model learns standardised targets (so one learning rate suits prices and percentages alike);
every metric a person reads (metrics.csv, summary.json, the report) is in the target's own units.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from neuralab.config import ForecastRunConfig, ValueRunConfig
from neuralab.data import BatchLoader
from neuralab.data.table import TableEncoder, TableSamples, TargetScaler
from neuralab.diagnose import GradientMonitor, analyze, analyze_history
from neuralab.errors import UserError
from neuralab.model_contract import example_input
from neuralab.models import ModelSummary, create_model, summarize
from neuralab.pipeline.artifacts import run_summary
from neuralab.pipeline.forecast_eval import forecast_metrics, write_forecasts
from neuralab.pipeline.machinery import (
    RunCallbacks,
    fit_tracked,
    open_run,
    restore_checkpoint,
    start_process,
    write_findings,
)
from neuralab.pipeline.prepare import PreparedData, make_loader
from neuralab.pipeline.prepare_series import SeriesLayout, prepare_series
from neuralab.pipeline.prepare_table import prepare_table
from neuralab.pipeline.tracking import Tracking, check_installed, finish_trackers, make_trackers
from neuralab.runs import (
    RunPaths,
    atomic_write_json,
    atomic_write_text,
    load_weights,
    model_card,
    save_model,
)
from neuralab.train import (
    Device,
    LRController,
    Trainer,
    TrainingDiverged,
    build_optimizer,
    distributed,
    make_schedule,
)
from neuralab.train.callbacks import (
    BestWeights,
    Callback,
    History,
)
from neuralab.train.losses import regression_loss
from neuralab.train.metrics import regression_metrics


@dataclass
class RegressRun:
    """A run that predicts numbers: a regression on a table, or a forecast (then `layout` places its spans)."""

    cfg: ValueRunConfig
    paths: RunPaths
    prepared: PreparedData
    trainer: Trainer
    train_loader: BatchLoader
    val_loader: BatchLoader | None
    device: Device
    history: History
    best: BestWeights
    gradients: GradientMonitor
    stats: ModelSummary
    scaler: TargetScaler
    reproducibility: dict[str, Any]
    layout: SeriesLayout | None


def unit_metrics(scaler: TargetScaler) -> Any:
    """Validation metrics in the target's units, from standardised targets and outputs."""

    def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        m = regression_metrics(scaler.unscale(y_true), scaler.unscale(y_pred), scaler.names)
        return {k: m[k] for k in ("rmse", "mae", "r2")}

    return metrics


def prepare_values(cfg: ValueRunConfig) -> tuple[PreparedData, SeriesLayout | None]:
    if isinstance(cfg, ForecastRunConfig):
        return prepare_series(cfg)
    return prepare_table(cfg), None


def run_regression(
    cfg: ValueRunConfig,
    console: Console | None = None,
    resume_dir: Path | None = None,
    extra_callbacks: Sequence[Callback] = (),
    evaluate_test: bool = True,
    tracking: Tracking | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train `cfg` into a run folder (or continue `resume_dir`); the test split is evaluated once, at the end."""
    console = console or Console()
    run = build(cfg, console, resume_dir, extra_callbacks, tracking)
    fit(run)
    return finish(run, console, evaluate_test)


def build(cfg: ValueRunConfig, console: Console, resume_dir: Path | None, extra_callbacks: Sequence[Callback],
          tracking: Tracking | None) -> RegressRun:  # fmt: skip
    check_installed(cfg.train.loggers)
    reproducibility = start_process(cfg)
    with distributed.main_rank_first():
        prepared, layout = prepare_values(cfg)
    data = prepared.data
    scaler = TargetScaler.from_dict(data.preprocess.extra["target"])
    kind = "vector" if layout is None else "sequence"
    model = create_model(cfg.model.name, data.preprocess.input_shape, len(scaler.names), kind, **cfg.model.args)
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    stats = summarize(model, data.preprocess.input_shape)
    model = device.setup(model)
    paths = open_run(cfg, f"{cfg.data.name}-{cfg.model.name}-{time.strftime('%Y%m%d-%H%M%S')}", resume_dir)
    if cfg.train.batch_size > len(prepared.train):  # the ragged last batch is dropped: keep at least one step
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"batch_size": len(prepared.train)})})
    train_loader = make_loader(prepared.train, cfg, data.preprocess, device, train=True)
    val_loader = make_loader(prepared.val, cfg, data.preprocess, device, train=False) if prepared.val else None
    optimizer = build_optimizer(model, cfg.optim)
    schedule = make_schedule(cfg.sched, len(train_loader), cfg.train.epochs)
    monitor = cfg.train.monitor if prepared.val is not None else cfg.train.monitor.removeprefix("val_")
    if prepared.val is None and monitor != "loss":
        monitor = "loss"  # without validation rows only the training loss exists
    kit = RunCallbacks(
        History(), BestWeights(paths.best_weights, monitor), GradientMonitor(cfg.train.grad_monitor_every)
    )
    example = example_input(model, data.preprocess.input_shape)
    trackers = make_trackers(cfg, paths, example, tracking or Tracking()) if device.is_main else []
    callbacks = kit.assemble(cfg, paths, monitor, len(train_loader), console, [*trackers, *extra_callbacks])
    history, best, gradients = kit.history, kit.best, kit.gradients
    trainer = Trainer(
        model, optimizer, regression_loss(cfg.train.loss, cfg.train.huber_delta), device=device,
        lr=LRController(optimizer, schedule), callbacks=callbacks, grad_clip=cfg.train.grad_clip,
        grad_clip_mode=cfg.train.grad_clip_mode, l1=cfg.optim.l1, classification=False,
        val_metrics=unit_metrics(scaler), seed=cfg.train.seed, compile=cfg.train.compile, ema=cfg.train.ema,
    )  # fmt: skip
    if resume_dir is not None:
        restore_checkpoint(trainer, paths, console)
    console.print(
        f"[bold]{cfg.model.name}[/] predicting {', '.join(data.classes)} on [bold]{escape(cfg.data.name)}[/]: "
        f"{stats.trainable:,} parameters, inputs {list(data.preprocess.input_shape)}; train "
        f"{len(prepared.train):,}, val {len(prepared.val) if prepared.val else 0:,}, test {len(prepared.test):,}",
        highlight=False,
    )
    return RegressRun(cfg, paths, prepared, trainer, train_loader, val_loader, device, history, best, gradients,
                      stats, scaler, reproducibility, layout)  # fmt: skip


def fit(run: RegressRun) -> None:
    trainer = run.trainer
    if trainer.state.finished:
        return
    try:
        fit_tracked(trainer, run.train_loader, run.val_loader, run.cfg.train.epochs)
    except TrainingDiverged as err:
        raise UserError(f"training diverged: {err}", hint="lower optim.lr, or clip gradients (train.grad_clip=1.0)",
                        ) from None  # fmt: skip


def finish(run: RegressRun, console: Console, evaluate_test: bool) -> tuple[Path, dict[str, Any]]:
    cfg, data, paths = run.cfg, run.prepared.data, run.paths
    findings = [*analyze(run.gradients.records), *analyze_history(run.history.rows, "vector")]
    findings = [f for f in findings if "accuracy" not in f.evidence]
    write_findings(paths, findings)
    for finding in findings:
        console.print(f"[yellow]finding[/] {escape(str(finding))}", highlight=False)
    if run.device.is_main and paths.best_weights.exists():
        load_weights(run.trainer.model, paths.best_weights)
    distributed.broadcast_module(run.trainer.model)  # every rank evaluates rank 0's best weights
    card = {**model_card(cfg, data.preprocess.input_shape, run.scaler.names, data.preprocess), "task": cfg.task}
    if run.device.is_main:
        save_model(paths.root, run.trainer.model, card)
    test: dict[str, Any] | None = None
    if evaluate_test and run.layout is not None:
        loader = make_loader(run.prepared.test, cfg, data.preprocess, run.device, train=False)
        result = run.trainer.evaluate(loader, full_precision=True)
        test, truth, pred, naive = forecast_metrics(run.layout, result.y_pred, run.scaler, cfg.data.window,
                                                    cfg.data.horizon, result.loss)  # fmt: skip
        if run.device.is_main:
            write_forecasts(paths.root / "test_forecasts.csv", run.layout, cfg.data.window, truth, pred, naive)
    elif evaluate_test:
        loader = make_loader(run.prepared.test, cfg, data.preprocess, run.device, train=False)
        result = run.trainer.evaluate(loader, full_precision=True)
        raw = data.test
        assert isinstance(raw, TableSamples)
        y_true, y_pred = raw.targets.numpy(), run.scaler.unscale(result.y_pred)
        test = {"loss": result.loss, **regression_metrics(y_true, y_pred, run.scaler.names)}
        test.update(baseline_metrics(run.scaler, y_true))
        if run.device.is_main:
            write_test_predictions(paths.root / "test_predictions.csv", raw, y_true, y_pred, run.scaler.names)
    summary = regression_summary(run, test, [f.kind for f in findings])
    if run.device.is_main:
        atomic_write_json(paths.summary, summary)
        if test is not None:
            from neuralab.report import write_report

            write_report(paths.root)
        scalars = {k: v for k, v in (test or {}).items() if isinstance(v, float)}
        finish_trackers(run.trainer.callbacks.callbacks, paths.root, scalars or None, None)
    return paths.root, summary


def baseline_metrics(scaler: TargetScaler, truth: np.ndarray) -> dict[str, Any]:
    """What predicting the training mean scores on test: R² near 0, the bar any model must clear."""
    mean = np.asarray(scaler.mean)[None, :].repeat(len(truth), 0)
    metrics = regression_metrics(truth, mean, scaler.names)
    return {"mean_baseline": {"rmse": metrics["rmse"], "mae": metrics["mae"]}}


def write_test_predictions(path: Path, raw: TableSamples, y_true: np.ndarray, y_pred: np.ndarray,
                           names: list[str]) -> None:  # fmt: skip
    """Every test row with its truth and prediction: the report's error analysis, and the user's."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*raw.columns, *(f"true_{n}" for n in names), *(f"predicted_{n}" for n in names)])
    for row, truth, pred in zip(raw.rows.tolist(), y_true.tolist(), y_pred.tolist(), strict=True):
        writer.writerow([*row, *truth, *(round(p, 6) for p in pred)])
    atomic_write_text(path, buffer.getvalue())


def regression_summary(run: RegressRun, test: dict[str, Any] | None, findings: list[str]) -> dict[str, Any]:
    """summary.json: the common record, with the task, its targets and the table's column kinds."""
    table = run.prepared.data.preprocess.extra.get("table")
    summary = run_summary(run.cfg, run.trainer, run.history, run.best, run.stats, run.device, run.reproducibility,
                          run.prepared, test, findings)  # fmt: skip
    summary.update({
        "task": run.cfg.task,
        "targets": run.scaler.names,
        "columns": {c.name: c.kind for c in TableEncoder.from_dict(table).columns} if table else None,
    })  # fmt: skip
    return summary
