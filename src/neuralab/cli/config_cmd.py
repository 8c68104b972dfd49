"""`neuralab config`: every key with its type, default and meaning; the resolved config; a check.

`keys` imports only the schema (pydantic), so it answers at once; `show` and `check` resolve the
dataset's recipe, which needs the dataset registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from neuralab.cli.app import example

app = typer.Typer(no_args_is_help=True, help="List config keys, print a resolved config, check a config file.")
console = Console()


@app.command(epilog=example("neuralab config keys train --task regress"))
def keys(
    section: Annotated[str | None, typer.Argument(help="data, model, optim, sched, train (gan runs: gan)")] = None,
    task: Annotated[str, typer.Option(help="classify, regress, forecast, ssl or gan: that task's keys")] = "classify",
) -> None:
    """Every config key (or a section's) with its type, default and description."""
    from neuralab.config.keys import list_keys

    table = Table(title=f"config keys (task: {task})")
    table.add_column("key", no_wrap=True)
    for column in ("type", "default", "description"):
        table.add_column(column)
    for row in list_keys(task, section or ""):
        default = "" if row.default is None else str(row.default)
        table.add_row(row.key, row.type, default, row.description)
    console.print(table)


@app.command(epilog=example("neuralab config show --dataset fashion-mnist --set train.epochs=3"))
def show(
    config: Annotated[Path | None, typer.Argument(help="YAML run config")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
    dataset: Annotated[str | None, typer.Option(help="data.name")] = None,
    model: Annotated[str | None, typer.Option(help="model.name")] = None,
    task: Annotated[str | None, typer.Option(help="classify, regress or gan")] = None,
) -> None:
    """Print the fully resolved config (the dataset's recipe included) as YAML, without training."""
    from neuralab.cli.app import flag_overrides, resolved_config

    cfg = resolved_config(config, set_, flag_overrides(dataset=dataset, model=model, task=task))
    print(cfg.to_yaml(), end="")


@app.command(epilog=example("neuralab config check config.yaml"))
def check(config: Annotated[Path, typer.Argument(help="YAML run config to validate")]) -> None:
    """Validate a config file (keys, types, the recipe it lands on) without training."""
    from neuralab.cli.app import resolved_config

    cfg = resolved_config(config, None, {})
    console.print(f"{config}: valid {cfg.task} config for dataset {cfg.data.name}", highlight=False)
