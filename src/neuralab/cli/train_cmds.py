"""Commands that train: train (any task, or --resume), sample (from a GAN), tune, lr-find."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab.cli.app import app, console, example, flag_overrides, resolved_config
from neuralab.errors import UserError


@app.command(epilog=example("neuralab train --dataset fashion-mnist --set train.epochs=5 --repeats 3"))
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML run config")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
    dataset: Annotated[str | None, typer.Option(help="data.name")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="data.data_dir")] = None,
    data_file: Annotated[Path | None, typer.Option("--data", help="data.file (CSV)")] = None,
    model: Annotated[str | None, typer.Option(help="model.name")] = None,
    epochs: Annotated[int | None, typer.Option(help="train.epochs")] = None,
    batch_size: Annotated[int | None, typer.Option(help="train.batch_size")] = None,
    lr: Annotated[float | None, typer.Option(help="optim.lr")] = None,
    seed: Annotated[int | None, typer.Option(help="train.seed")] = None,
    out: Annotated[Path | None, typer.Option(help="out_dir: parent of run folders")] = None,
    name: Annotated[str | None, typer.Option(help="run folder name")] = None,
    resume: Annotated[Path | None, typer.Option(help="continue the interrupted run in this folder")] = None,
    task: Annotated[
        str | None,
        typer.Option(help="task: classify (default), regress, forecast, ssl (features without labels) or gan"),
    ] = None,
    repeats: Annotated[int | None, typer.Option(min=2, help="train over seeds 0..N-1 into one group folder")] = None,
    seeds: Annotated[str | None, typer.Option(help="train over these seeds (e.g. 0,1,2) into one group")] = None,
    nproc: Annotated[
        int | None, typer.Option(min=1, help="train in N processes on this machine (DDP, launched with torchrun)")
    ] = None,
) -> None:
    """Train a model; writes a run folder (config, weights, metrics, summary), or a group of them over seeds."""
    import sys

    from neuralab.cli.launch import launch, under_torchrun

    if nproc is not None and nproc > 1 and not under_torchrun():
        if repeats is not None or seeds is not None:
            raise UserError("--nproc trains one run; drop --repeats/--seeds (or run the seeds one by one)")
        sys.exit(launch(nproc, sys.argv[1:]))
    if repeats is not None or seeds is not None:
        if resume is not None or seed is not None:
            raise UserError("--repeats/--seeds choose the seeds themselves; drop --resume and --seed")
        flags = flag_overrides(
            dataset=dataset, data_dir=data_dir, data_file=data_file, model=model, epochs=epochs,
            batch_size=batch_size, lr=lr, out=out, name=name, task=task,
        )  # fmt: skip
        _train_group(resolved_config(config, set_, flags), _seed_list(repeats, seeds))
        return
    if resume is not None:
        if config or set_ or any(v is not None for v in (dataset, data_dir, data_file, model, epochs, batch_size, lr)):
            raise UserError("--resume continues a run exactly as configured; it takes no other options")
        from neuralab.pipeline import resume_run

        result = resume_run(resume, console)
    else:
        flags = flag_overrides(
            dataset=dataset, data_dir=data_dir, data_file=data_file, model=model, epochs=epochs,
            batch_size=batch_size, lr=lr, seed=seed, out=out, name=name, task=task,
        )  # fmt: skip
        cfg = resolved_config(config, set_, flags)  # a wrong key is refused before the training code loads
        from neuralab.pipeline import train as train_run

        result = train_run(cfg, console)
    if result.summary.get("task") == "gan":
        _print_gan(result.run_dir, result.summary)
        return
    test = result.summary["test"]
    if result.summary.get("task") == "ssl":
        _print_ssl(result.run_dir, test["linear_probe"], result.summary["train_seconds"])
    elif result.summary.get("task") == "forecast":
        baselines = ", ".join(f"{name.replace('_', '-')} {b['mase']:.3f}" for name, b in test["baselines"].items())
        console.print(
            f"test MASE [bold]{test['mase']:.3f}[/] ({baselines}), MAE {test['mae']:.4g}, RMSE {test['rmse']:.4g} "
            f"in {result.summary['train_seconds']:.1f} s",
            highlight=False,
        )
    elif result.summary.get("task") == "regress":
        baseline = test["mean_baseline"]
        console.print(
            f"test RMSE [bold]{test['rmse']:.4g}[/], MAE {test['mae']:.4g}, R² {test['r2']:.3f} (predicting the "
            f"training mean: RMSE {baseline['rmse']:.4g}) in {result.summary['train_seconds']:.1f} s",
            highlight=False,
        )
    else:
        console.print(
            f"test accuracy [bold]{100 * test['accuracy']:.2f}%[/], macro-F1 {100 * test['macro_f1']:.2f}% "
            f"({result.summary['train_seconds']:.1f} s training, "
            f"{result.summary['train_images_per_s']:.0f} examples/s)",
            highlight=False,
        )
    console.print(f"run folder: {result.run_dir}", highlight=False)
    console.print(f"report:     {result.run_dir / 'report.html'}", highlight=False)


def _seed_list(repeats: int | None, seeds: str | None) -> list[int]:
    if repeats is not None and seeds is not None:
        raise UserError("give --repeats N or --seeds a,b,c, not both")
    if seeds is None:
        return list(range(repeats or 0))
    try:
        return [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--seeds takes comma-separated integers, not {seeds!r}") from None


def _train_group(cfg: Any, seeds: list[int]) -> None:
    from neuralab.experiments.repeats import train_repeats

    result = train_repeats(cfg, seeds, console)
    test = result.summary["test"]
    for metric in ("accuracy", "macro_f1"):
        if metric in test:
            m = test[metric]
            low, high = m["ci95"]
            spread = f"± {100 * m['std']:.2f} (std over {len(seeds)} seeds), 95% CI {100 * low:.2f}-{100 * high:.2f}%"
            console.print(f"test {metric}: mean [bold]{100 * m['mean']:.2f}%[/] {spread}", highlight=False)
    for metric in ("rmse", "mae", "r2", "mase"):
        if metric in test:
            m = test[metric]
            low, high = m["ci95"]
            spread = f"± {m['std']:.4g} (std over {len(seeds)} seeds), 95% CI {low:.4g}-{high:.4g}"
            console.print(f"test {metric.upper()}: mean [bold]{m['mean']:.4g}[/] {spread}", highlight=False)
    console.print(f"group folder: {result.group_dir}", highlight=False)


def _print_ssl(run_dir: Path, probe: dict[str, Any], seconds: float) -> None:
    for name, row in (
        ("all", probe["all_labels"]),
        (f"{probe['few_labels']['per_class']} per class", probe["few_labels"]),
    ):
        console.print(
            f"linear probe with {name} labels ({row['train_images']:,} images): learned features "
            f"[bold]{100 * row['features']:.2f}%[/], untrained encoder {100 * row['untrained_encoder']:.2f}%, "
            f"raw pixels {100 * row['raw_pixels']:.2f}% test accuracy",
            highlight=False,
        )
    console.print(f"{seconds:.1f} s training; fine-tune it: --set model.pretrained={run_dir}", highlight=False)


def _print_gan(run_dir: Path, summary: dict[str, Any]) -> None:
    console.print(
        f"pixel Frechet distance {summary['pixel_fd']:.2f} (untrained {summary['pixel_fd_untrained']:.1f}, "
        f"train vs test {summary['pixel_fd_train_vs_test']:.2f}; {summary['train_seconds']:.1f} s training)",
        highlight=False,
    )
    console.print(f"run folder: {run_dir}", highlight=False)
    console.print(f"samples:    {run_dir / 'samples'}", highlight=False)


@app.command(epilog=example("neuralab sample RUN_DIR --n 64 --out samples.png"))
def sample(
    run_dir: Annotated[Path, typer.Argument(help="a GAN run folder (train --task gan)")],
    n: Annotated[int, typer.Option(help="images to generate")] = 64,
    seed: Annotated[int, typer.Option(help="noise seed: the same seed gives the same images")] = 0,
    out: Annotated[Path, typer.Option(help="PNG file to write")] = Path("samples.png"),
) -> None:
    """Generate new images from a trained GAN, as one PNG grid."""
    from neuralab.pipeline import sample_grid

    if not 1 <= n <= 1024:
        raise UserError(f"--n must be between 1 and 1024, not {n}")
    console.print(f"wrote {sample_grid(run_dir, n, seed, out)}", highlight=False)


@app.command(epilog=example("neuralab tune tune.yaml --out studies/lr --trials 20"))
def tune(
    config: Annotated[Path, typer.Argument(help="YAML run config with a `search:` section")],
    out: Annotated[Path, typer.Option(help="study folder (study.db, best.yaml, plots)")],
    trials: Annotated[int | None, typer.Option(min=1, help="trials to run (in this process)")] = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="stop starting trials after this many seconds")] = None,
    sampler: Annotated[str, typer.Option(help="tpe, random, grid, cmaes or nsga2 (several objectives)")] = "tpe",
    pruner: Annotated[str, typer.Option(help="median, halving, hyperband or none")] = "median",
    storage: Annotated[str | None, typer.Option(help="RDB URL shared by workers (default: SQLite in --out)")] = None,
    seed: int = 0,
    heartbeat: Annotated[
        int, typer.Option(min=0, help="seconds between a running trial's heartbeats; a trial silent for 3 is retried")
    ] = 10,
    retries: Annotated[int, typer.Option(min=0, help="times a dead worker's trial is run again")] = 2,
    objectives: Annotated[
        str | None,
        typer.Option(
            help="e.g. accuracy,latency: the validation metric, then costs (latency, flops, params) "
            "for a multi-objective search with a Pareto front"
        ),
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
) -> None:
    """Search hyperparameters or architectures with Optuna; trials are scored on validation, the chosen once on test."""
    from neuralab.config import deep_merge, load_yaml, parse_set
    from neuralab.tune import run_tune

    user = deep_merge(load_yaml(config), parse_set(set_ or []))
    run_tune(user, out, trials=trials, timeout=timeout, sampler=sampler, pruner=pruner, storage=storage, seed=seed,
             heartbeat=heartbeat, max_retry=retries, objectives=objectives, console=console)  # fmt: skip


@app.command("lr-find", epilog=example("neuralab lr-find --dataset fashion-mnist --out lr_find.png"))
def lr_find(
    config: Annotated[Path | None, typer.Argument(help="YAML run config")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
    dataset: Annotated[str | None, typer.Option(help="data.name")] = None,
    model: Annotated[str | None, typer.Option(help="model.name")] = None,
    steps: Annotated[int, typer.Option(min=5, help="steps of the range test")] = 100,
    out: Annotated[Path, typer.Option(help="PNG of loss against learning rate")] = Path("lr_find.png"),
) -> None:
    """Exponential learning-rate range test: plots loss against lr and suggests an lr."""
    from neuralab.pipeline import classification_config, find_lr
    from neuralab.report.plots import lr_find_png
    from neuralab.runs import atomic_write_bytes

    cfg = classification_config(resolved_config(config, set_, flag_overrides(dataset=dataset, model=model)), "lr-find")
    result = find_lr(cfg, steps=steps)
    atomic_write_bytes(out, lr_find_png(result.lrs, result.losses, result.suggestion))
    console.print(
        f"suggested lr: {result.suggestion:.2e} (set it with --set optim.lr=...); plot: {out}", highlight=False
    )
