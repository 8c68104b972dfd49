"""A classification run, as build -> fit -> finish: from a validated config to a finished run folder."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from neuralab.config import RunConfig
from neuralab.data import BatchLoader
from neuralab.diagnose import (
    Finding,
    GradientMonitor,
    analyze,
    analyze_history,
    balanced_class_weights,
    resolve_balance,
)
from neuralab.errors import UserError
from neuralab.model_contract import example_input, named_groups
from neuralab.models import ModelSummary, create_model, summarize
from neuralab.pipeline.artifacts import classification_summary, save_errors, save_test_predictions
from neuralab.pipeline.machinery import (
    RunCallbacks,
    fit_tracked,
    open_run,
    restore_checkpoint,
    start_process,
    write_findings,
)
from neuralab.pipeline.prepare import PreparedData, data_model_args, make_loader, prepare_data
from neuralab.pipeline.tracking import Tracking, check_installed, finish_trackers, make_trackers
from neuralab.pipeline.warm_start import WarmStart, warm_start
from neuralab.report import write_report
from neuralab.report.plots import confusion_png
from neuralab.runs import RunPaths, atomic_write_json, load_weights, model_card, save_model
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
from neuralab.train.callbacks.trackers import Tracker
from neuralab.train.finetune import FineTuning, set_frozen
from neuralab.train.losses import LossFn, cross_entropy, focal
from neuralab.train.metrics import classification_metrics


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]


@dataclass
class ClassifyRun:
    """Everything `build` assembles, named, so `fit` and `finish` never search for a piece."""

    cfg: RunConfig
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
    warm: WarmStart
    model_args: dict[str, Any]
    balance: str
    early_findings: list[Finding]
    reproducibility: dict[str, Any]
    layer_groups: int


def run_config(
    cfg: RunConfig,
    console: Console | None = None,
    resume_dir: Path | None = None,
    extra_callbacks: Sequence[Callback] = (),
    evaluate_test: bool = True,
    tracking: Tracking | None = None,
) -> RunResult:
    """Train `cfg` into a new run folder, or continue the run in `resume_dir` from its checkpoint.

    `extra_callbacks` run after the built-in ones and before the checkpoint is written. Tuning passes
    `evaluate_test=False`: trials are judged on validation only, and the test split stays unseen.
    `tracking` files the MLflow record under a parent (a group of seeds, a study).
    """
    console = console or Console()
    run = build(cfg, console, resume_dir, extra_callbacks, tracking)
    fit(run, console)
    return finish(run, console, evaluate_test)


def build(
    cfg: RunConfig,
    console: Console,
    resume_dir: Path | None,
    extra_callbacks: Sequence[Callback],
    tracking: Tracking | None = None,
) -> ClassifyRun:
    check_installed(cfg.train.loggers)
    reproducibility = start_process(cfg)
    with distributed.main_rank_first():
        prepared = prepare_data(cfg)
    data = prepared.data
    model_args = data_model_args(cfg, data.preprocess)
    model = create_model(cfg.model.name, data.preprocess.input_shape, len(data.classes), data.preprocess.kind,
                         **model_args)  # fmt: skip
    warm = warm_start(cfg, model, prepared, console, resuming=resume_dir is not None)
    groups = named_groups(model)
    if cfg.model.finetune == "gradual" and distributed.current_ranks().is_distributed:
        raise UserError("model.finetune=gradual changes which layers train mid-run, which DDP cannot follow",
                        hint="use model.finetune=head or full with several processes")  # fmt: skip
    finetune = FineTuning(groups, cfg.model.finetune, cfg.model.unfreeze_every)
    if cfg.model.finetune != "full":  # "full" leaves requires_grad alone (frozen pretrained vectors stay frozen)
        set_frozen(groups, finetune.stage_for(0))  # so the summary below counts what the first epoch trains
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    stats = summarize(model, data.preprocess.input_shape)
    model = device.setup(model)
    paths = open_run(cfg, f"{cfg.data.name}-{cfg.model.name}-{time.strftime('%Y%m%d-%H%M%S')}", resume_dir)

    balance, imbalance = resolve_balance(cfg.train.balance, prepared.train.targets, data.classes,
                                         cfg.train.imbalance_ratio)  # fmt: skip
    if imbalance is not None:
        console.print(f"[yellow]{imbalance.evidence}[/]; remedy: train.balance={balance}", highlight=False)
    class_weights = balanced_class_weights(prepared.train.targets, len(data.classes))
    sample_weights = class_weights[prepared.train.targets] if balance == "sampler" else None
    train_loader = make_loader(prepared.train, cfg, data.preprocess, device, train=True, sample_weights=sample_weights)
    val_loader = make_loader(prepared.val, cfg, data.preprocess, device, train=False) if prepared.val else None
    layer_groups = groups if cfg.model.finetune != "full" or cfg.model.lr_decay < 1 else None
    optimizer = build_optimizer(model, cfg.optim, layer_groups=layer_groups, lr_decay=cfg.model.lr_decay)
    schedule = make_schedule(cfg.sched, len(train_loader), cfg.train.epochs)

    monitor = cfg.train.monitor if prepared.val is not None else cfg.train.monitor.removeprefix("val_")
    kit = RunCallbacks(
        History(), BestWeights(paths.best_weights, monitor), GradientMonitor(cfg.train.grad_monitor_every)
    )
    example = example_input(model, data.preprocess.input_shape)
    trackers = make_trackers(cfg, paths, example, tracking or Tracking()) if device.is_main else []
    callbacks = kit.assemble(
        cfg,
        paths,
        monitor,
        len(train_loader),
        console,
        [*trackers, *extra_callbacks],
        finetune if cfg.model.finetune != "full" else None,
    )
    trainer = Trainer(
        model, optimizer, make_loss(balance, cfg, class_weights), device=device,
        lr=LRController(optimizer, schedule), callbacks=callbacks, grad_clip=cfg.train.grad_clip,
        grad_clip_mode=cfg.train.grad_clip_mode, l1=cfg.optim.l1, seed=cfg.train.seed,
        compile=cfg.train.compile, ema=cfg.train.ema,
    )  # fmt: skip
    if resume_dir is not None:
        restore_checkpoint(trainer, paths, console)
    console.print(
        f"[bold]{cfg.model.name}[/] on [bold]{cfg.data.name}[/]: {stats.trainable:,} trainable / {stats.frozen:,} "
        f"frozen parameters, {stats.forward_flops / 1e6:.1f} MFLOPs per example; train {len(prepared.train):,}, "
        f"val {len(prepared.val) if prepared.val else 0:,}, test {len(prepared.test):,}; {device}",
        highlight=False,
    )
    return ClassifyRun(
        cfg, paths, prepared, trainer, train_loader, val_loader, device, kit.history, kit.best, kit.gradients, stats,
        warm, model_args, balance, [imbalance] if imbalance else [], reproducibility, len(groups),
    )  # fmt: skip


def make_loss(balance: str, cfg: RunConfig, class_weights: Any) -> LossFn:
    if balance == "focal":
        return focal(cfg.train.focal_gamma, class_weights, cfg.train.label_smoothing)
    weights = class_weights if balance == "class_weights" else None
    return cross_entropy(cfg.train.label_smoothing, weights)


def fit(run: ClassifyRun, console: Console) -> None:
    """Train until the last epoch (or early stopping); a divergence keeps the last good checkpoint."""
    trainer = run.trainer
    if trainer.state.finished:
        return
    try:
        fit_tracked(trainer, run.train_loader, run.val_loader, run.cfg.train.epochs)
    except TrainingDiverged as err:
        remedies = ["lower the learning rate (neuralab lr-find suggests one)", "clip gradients (train.grad_clip=1.0)"]
        diverged = Finding("diverged", "training", str(err), remedies)
        write_findings(run.paths, [*run.early_findings, diverged, *analyze(run.gradients.records)])
        raise UserError(
            f"training diverged: {err}",
            hint=f"the last good checkpoint is in {run.paths.checkpoints}; see `neuralab diagnose {run.paths.root}`",
        ) from None


def finish(run: ClassifyRun, console: Console, evaluate_test: bool) -> RunResult:
    """Findings, the best weights as the run's model, the test split evaluated once, summary and report."""
    cfg, data, paths = run.cfg, run.prepared.data, run.paths
    findings = [*run.early_findings, *analyze(run.gradients.records),
                *analyze_history(run.history.rows, data.preprocess.kind)]  # fmt: skip
    write_findings(paths, findings)
    for finding in findings:
        console.print(f"[yellow]finding[/] {escape(str(finding))}", highlight=False)
    if run.device.is_main and paths.best_weights.exists():
        load_weights(run.trainer.model, paths.best_weights)
    distributed.broadcast_module(run.trainer.model)  # every rank evaluates rank 0's best weights
    card = model_card(cfg, data.preprocess.input_shape, data.classes, data.preprocess, run.model_args)
    if run.device.is_main:
        save_model(paths.root, run.trainer.model, card)

    test_metrics: dict[str, Any] | None = None
    if evaluate_test:
        loader = make_loader(run.prepared.test, cfg, data.preprocess, run.device, train=False)
        result = run.trainer.evaluate(loader, with_probabilities=True, full_precision=True)
        test_metrics = {"loss": result.loss, **classification_metrics(result.y_true, result.y_pred, data.classes)}
        if run.device.is_main and result.probabilities is not None:
            save_errors(paths.errors, run.prepared.test, result.y_true, result.y_pred, result.probabilities)
        if run.device.is_main:
            save_test_predictions(paths.test_predictions, result.y_true, result.y_pred)
    summary = classification_summary(run, test_metrics, findings)
    if run.device.is_main:
        atomic_write_json(paths.summary, summary)
        if test_metrics is not None:
            write_report(paths.root)
        callbacks = run.trainer.callbacks.callbacks
        if any(isinstance(c, Tracker) for c in callbacks):  # the confusion PNG is drawn only for a tracker
            confusion = confusion_png(test_metrics["confusion_matrix"], data.classes) if test_metrics else None
            finish_trackers(callbacks, paths.root, test_metrics, confusion)
    return RunResult(paths.root, summary)
