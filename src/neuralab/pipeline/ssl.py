"""A self-supervised run (`task: ssl`): SimCLR on the training images without their labels.

It runs on the same Trainer and machinery as every supervised run (checkpoints and exact resume,
precision, callbacks, several processes), with the contrastive learner as the model and NT-Xent as
the loss. The run folder holds the encoder as an ordinary classifier whose head is untrained, so
`model.pretrained=RUN_DIR` fine-tunes it exactly as it fine-tunes a supervised run. Labels are read
once, after training, by the linear probe that says how good the features are.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from neuralab.config import SslRunConfig
from neuralab.data import BatchLoader
from neuralab.data.views import ViewAugment
from neuralab.diagnose import GradientMonitor, analyze
from neuralab.errors import UserError
from neuralab.models import ModelSummary, create_model, summarize
from neuralab.models.contrastive import ContrastiveLearner
from neuralab.pipeline.artifacts import run_summary
from neuralab.pipeline.linear_probe import linear_probe
from neuralab.pipeline.machinery import (
    RunCallbacks,
    fit_tracked,
    open_run,
    restore_checkpoint,
    start_process,
    write_findings,
)
from neuralab.pipeline.prepare import PreparedData, prepare_data
from neuralab.runs import RunPaths, atomic_write_json, load_weights, model_card, save_model
from neuralab.train import Device, LRController, Trainer, TrainingDiverged, build_optimizer, distributed, make_schedule
from neuralab.train.callbacks import BestWeights, Callback, History
from neuralab.train.losses import nt_xent


def run_ssl(
    cfg: SslRunConfig, console: Console | None = None, resume_dir: Path | None = None,
    extra_callbacks: Sequence[Callback] = (),
) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """Pretrain the encoder `cfg` names (or continue the run in `resume_dir`); returns its folder and summary."""
    console = console or Console()
    reproducibility = start_process(cfg)
    with distributed.main_rank_first():
        prepared = prepare_data(cfg)  # type: ignore[arg-type]  # it reads data.* and train.seed only
    data = prepared.data
    if data.preprocess.kind != "image":
        raise UserError(f"task ssl learns from images; {cfg.data.name} holds {data.preprocess.kind}")
    try:
        classifier = create_model(cfg.model.name, data.preprocess.input_shape, len(data.classes), "image",
                                  **cfg.model.args)  # fmt: skip
        views = ViewAugment(cfg.ssl.crop_scale, cfg.ssl.flip, cfg.ssl.jitter, cfg.ssl.noise)
        learner = ContrastiveLearner(classifier, cfg.ssl.projection_dim, views)
    except ValueError as err:
        raise UserError(f"model {cfg.model.name}: {err}") from None
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, learner)
    stats = summarize(classifier, data.preprocess.input_shape)
    model = device.setup(learner)
    paths = open_run(cfg, f"{cfg.data.name}-{cfg.model.name}-ssl-{time.strftime('%Y%m%d-%H%M%S')}", resume_dir)
    loader = BatchLoader(prepared.train, cfg.train.batch_size, data.preprocess, shuffle=True, seed=cfg.train.seed,
                         device=device.device, channels_last=device.channels_last, drop_last=True,
                         num_workers=cfg.data.num_workers, rank=device.rank, world_size=device.world_size)  # fmt: skip
    optimizer = build_optimizer(model, cfg.optim)
    kit = RunCallbacks(History(), BestWeights(paths.best_weights, cfg.train.monitor),
                       GradientMonitor(cfg.train.grad_monitor_every))  # fmt: skip
    callbacks = kit.assemble(cfg, paths, cfg.train.monitor, len(loader), console, list(extra_callbacks))
    trainer = Trainer(
        model, optimizer, nt_xent(cfg.ssl.temperature), device=device,
        lr=LRController(optimizer, make_schedule(cfg.sched, len(loader), cfg.train.epochs)), callbacks=callbacks,
        grad_clip=cfg.train.grad_clip, grad_clip_mode=cfg.train.grad_clip_mode, classification=False,
        seed=cfg.train.seed, compile=cfg.train.compile,
    )  # fmt: skip
    if resume_dir is not None:
        restore_checkpoint(trainer, paths, console)
    console.print(
        f"[bold]{cfg.model.name}[/] learning from {len(prepared.train):,} unlabelled {cfg.data.name} images "
        f"(SimCLR, batch {cfg.train.batch_size}, temperature {cfg.ssl.temperature}); {device}",
        highlight=False,
    )
    if not trainer.state.finished:
        try:
            fit_tracked(trainer, loader, None, cfg.train.epochs)
        except TrainingDiverged as err:
            raise UserError(f"training diverged: {err}", hint="lower optim.lr or raise ssl.temperature") from None
    return finish(cfg, paths, prepared, trainer, kit, stats, device, reproducibility, console)


def finish(cfg: SslRunConfig, paths: RunPaths, prepared: PreparedData, trainer: Trainer, kit: RunCallbacks,
           stats: ModelSummary, device: Device, reproducibility: dict[str, Any],
           console: Console) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """The kept encoder as the run's model, the linear probe, summary.json and the report."""
    learner = trainer.model
    assert isinstance(learner, ContrastiveLearner)
    findings = analyze(kit.gradients.records)
    write_findings(paths, findings)
    if device.is_main and paths.best_weights.exists():
        load_weights(learner, paths.best_weights)
    distributed.broadcast_module(learner)
    data = prepared.data
    card = {**model_card(cfg, data.preprocess.input_shape, data.classes, data.preprocess), "task": "ssl"}  # type: ignore[arg-type]
    learner.eval()
    untrained = _untrained_learner(cfg, data.preprocess.input_shape, len(data.classes), learner, device)
    encoders = {"features": learner.represent, "untrained_encoder": untrained.represent}
    probe = linear_probe(prepared.train, prepared.test, data.preprocess, encoders, device.device,
                         cfg.ssl.probe_labels, cfg.train.seed)  # fmt: skip
    summary = run_summary(cfg, trainer, kit.history, kit.best, stats, device, reproducibility, prepared,  # type: ignore[arg-type]
                          {"linear_probe": probe}, [f.kind for f in findings])  # fmt: skip
    summary.update({"task": "ssl", "method": "simclr"})
    if device.is_main:
        save_model(paths.root, learner.classifier, card)
        atomic_write_json(paths.summary, summary)
        from neuralab.report import write_report

        write_report(paths.root)
    return paths.root, summary


def _untrained_learner(cfg: SslRunConfig, shape: tuple[int, ...], classes: int, learner: ContrastiveLearner,
                       device: Device) -> ContrastiveLearner:  # fmt: skip
    """The same architecture freshly initialised: the probe's control (random conv features are not nothing)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        classifier = create_model(cfg.model.name, shape, classes, "image", **cfg.model.args)
    control = ContrastiveLearner(classifier, cfg.ssl.projection_dim, learner.augment)
    return device.setup(control).eval()  # type: ignore[return-value]
