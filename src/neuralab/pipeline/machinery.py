"""The plumbing every task's run shares: the run folder, config.yaml, signals, checkpoints, findings.

A task module (classify, gan) builds its model and loop; everything about where files go and how a
run stops and resumes is here, so every task gets it the same way.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from neuralab.config import AnyRunConfig, FitRunConfig
from neuralab.diagnose import Finding, GradientMonitor
from neuralab.errors import UserError
from neuralab.hardware import usable_cores
from neuralab.pipeline.tracking import abort_trackers
from neuralab.runs import RunPaths, atomic_write_json, atomic_write_text, new_run_dir, read_config
from neuralab.train import Trainer, TrainingInterrupted, distributed, load_checkpoint
from neuralab.train.callbacks import (
    BestWeights,
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ProgressLogger,
    ReduceLROnPlateau,
    ResumeCheckpoint,
)
from neuralab.train.device import pick_device
from neuralab.train.seed import seed_everything
from neuralab.train.state import TrainState
from neuralab.train.trainer import Loader


class ResumableLoop(Protocol):
    """What the machinery needs of a training loop (Trainer and GanTrainer both are one)."""

    state: TrainState

    def request_stop(self) -> None: ...

    def restore(self, payload: dict[str, Any]) -> None: ...


def start_process(cfg: AnyRunConfig) -> dict[str, Any]:
    """Join torchrun's process group if there is one, share the cores among its ranks, seed everything.

    Returns what summary.json records to repeat the run (seed, threads, determinism, process count).
    """
    ranks = distributed.init_from_env(pick_device(cfg.train.device).type)
    threads = cfg.train.threads or distributed.threads_per_rank(usable_cores(), ranks)
    record = seed_everything(cfg.train.seed, threads, cfg.train.deterministic)
    if ranks.is_distributed:
        record["world_size"] = ranks.world_size
    return record


def open_run(cfg: AnyRunConfig, default_name: str, resume_dir: Path | None) -> RunPaths:
    """The resumed run's folder, or a new one holding the resolved config.yaml (made by rank 0 alone)."""
    if resume_dir is not None:
        return RunPaths(Path(resume_dir))
    run_dir: Path | None = None
    if distributed.current_ranks().rank == 0:
        run_dir = new_run_dir(cfg.out_dir, cfg.name or default_name)
        atomic_write_text(RunPaths(run_dir).config, cfg.to_yaml())
    shared = distributed.broadcast_from_main(run_dir)  # the other ranks learn the folder rank 0 made
    assert shared is not None
    return RunPaths(shared)


def read_run_config(run_dir: Path) -> AnyRunConfig:
    """The config of an existing run folder, for --resume."""
    if not RunPaths(Path(run_dir)).config.is_file():
        raise UserError(f"{run_dir} is not a run folder (no config.yaml)")
    return read_config(run_dir)


def checkpoint_callback(paths: RunPaths, every_steps: int, every_s: float) -> ResumeCheckpoint:
    return ResumeCheckpoint(paths.checkpoints, every_steps, every_s)


def restore_checkpoint(loop: ResumableLoop, paths: RunPaths, console: Console) -> None:
    """Continue `loop` exactly where the run's newest readable checkpoint left it."""
    payload, source = load_checkpoint(paths.checkpoints)
    try:
        loop.restore(payload)
    except (RuntimeError, KeyError, ValueError, TypeError) as err:  # a checkpoint from another run or model
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{source} does not fit this run's model and settings ({first})",
                        hint="was it copied from another run? resume the run that wrote it") from None  # fmt: skip
    console.print(
        f"resuming {paths.root} from {source.name}: epoch {loop.state.epoch + 1}, batch {loop.state.batch}",
        highlight=False,
    )


@contextlib.contextmanager
def stop_on_signals(loop: ResumableLoop) -> Iterator[None]:
    """Ctrl-C / SIGTERM finish the current step, write a checkpoint and stop cleanly."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        loop.request_stop()

    try:
        for sig in previous:
            signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def fit_tracked(trainer: Trainer, train_loader: Loader, val_loader: Loader | None, epochs: int) -> None:
    """Train with Ctrl-C / SIGTERM as clean stops; a tracker's record never stays "running" after an early end."""
    try:
        with stop_on_signals(trainer):
            trainer.fit(train_loader, val_loader, epochs)
    except TrainingInterrupted:
        abort_trackers(trainer.callbacks.callbacks, "KILLED")
        raise
    except BaseException:  # divergence, a pruned trial, an error
        abort_trackers(trainer.callbacks.callbacks, "FAILED")
        raise


@dataclass
class RunCallbacks:
    """The callbacks a supervised run reads back at the end (by name, not by position in the list)."""

    history: History
    best: BestWeights
    gradients: GradientMonitor

    def assemble(self, cfg: FitRunConfig, paths: RunPaths, monitor: str, steps: int, console: Console,
                 extra: Sequence[Callback], finetune: Callback | None = None) -> list[Callback]:  # fmt: skip
        """Every callback of a run, in firing order; the checkpoint comes last so it saves their state."""
        callbacks: list[Callback] = [
            self.history, ProgressLogger(cfg.train.epochs, steps, console), CSVLogger(paths.metrics, self.history),
            self.best,
        ]  # fmt: skip
        if cfg.sched.name == "plateau":
            callbacks.append(ReduceLROnPlateau(monitor, cfg.sched.factor, cfg.sched.patience))
        if cfg.train.early_stopping:
            callbacks.append(EarlyStopping(monitor, cfg.train.early_stopping))
        if finetune is not None:
            callbacks.append(finetune)
        if cfg.train.grad_monitor_every:
            callbacks.append(self.gradients)
        every_steps, every_s = cfg.train.checkpoint_every_steps, cfg.train.checkpoint_every_s
        return [*callbacks, *extra, checkpoint_callback(paths, every_steps, every_s)]


def write_findings(paths: RunPaths, findings: list[Finding]) -> None:
    if distributed.current_ranks().rank != 0:
        return
    atomic_write_json(paths.root / "findings.json", [f.to_dict() for f in findings])
