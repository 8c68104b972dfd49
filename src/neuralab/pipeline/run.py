"""One entry for every task: train a resolved config, or resume a run folder, whatever its task."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from neuralab.config import (
    AnyRunConfig,
    ForecastRunConfig,
    GanRunConfig,
    RegressRunConfig,
    SslRunConfig,
    SupervisedRunConfig,
)
from neuralab.pipeline.classify import RunResult, run_config
from neuralab.pipeline.gan import run_gan
from neuralab.pipeline.machinery import read_run_config
from neuralab.pipeline.regress import run_regression
from neuralab.pipeline.ssl import run_ssl
from neuralab.pipeline.tracking import Tracking
from neuralab.train.callbacks import Callback


def train(cfg: AnyRunConfig, console: Console | None = None, resume_dir: Path | None = None) -> RunResult:
    """Train `cfg` (or continue the run in `resume_dir`) with its task's loop."""
    if isinstance(cfg, GanRunConfig):
        return RunResult(*run_gan(cfg, console, resume_dir))
    if isinstance(cfg, RegressRunConfig | ForecastRunConfig):
        return RunResult(*run_regression(cfg, console, resume_dir))
    if isinstance(cfg, SslRunConfig):
        return RunResult(*run_ssl(cfg, console, resume_dir))
    return run_config(cfg, console, resume_dir=resume_dir)


def resume_run(run_dir: Path, console: Console | None = None) -> RunResult:
    """Continue a killed or stopped run exactly where its newest checkpoint left it."""
    return train(read_run_config(Path(run_dir)), console, resume_dir=Path(run_dir))


def run_supervised(
    cfg: SupervisedRunConfig,
    console: Console,
    extra_callbacks: Sequence[Callback] = (),
    evaluate_test: bool = True,
    tracking: Tracking | None = None,
) -> RunResult:
    """A classification or regression run with extra callbacks: what tuning and repeats build on."""
    if isinstance(cfg, RegressRunConfig | ForecastRunConfig):
        return RunResult(*run_regression(cfg, console, None, extra_callbacks, evaluate_test, tracking))
    return run_config(cfg, console, extra_callbacks=extra_callbacks, evaluate_test=evaluate_test, tracking=tracking)
