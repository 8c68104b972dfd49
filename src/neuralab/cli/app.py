"""The typer app every command registers on, its consoles, and how flags become config keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="neuralab: a deep-learning workbench on PyTorch.")
console = Console()


def example(command: str) -> str:
    """The last line of a command's --help: one real invocation to copy."""
    return f"Example: {command}"


err_console = Console(stderr=True)


def flag_overrides(**flags: Any) -> dict[str, Any]:
    """Short flags -> the dotted config keys they stand for (None means 'not given')."""
    keys = {
        "dataset": "data.name",
        "data_dir": "data.data_dir",
        "data_file": "data.file",
        "model": "model.name",
        "epochs": "train.epochs",
        "batch_size": "train.batch_size",
        "lr": "optim.lr",
        "seed": "train.seed",
        "out": "out_dir",
        "name": "name",
        "task": "task",
    }
    from neuralab.config import set_dotted

    tree: dict[str, Any] = {}
    for flag, value in flags.items():
        if value is not None:
            set_dotted(tree, keys[flag], str(value) if isinstance(value, Path) else value)
    return tree


def resolved_config(config: Path | None, set_: list[str] | None, flags: dict[str, Any]) -> Any:
    """The validated config from a YAML file, then --set items, then the short flags (later wins)."""
    from neuralab.config import deep_merge, load_yaml, parse_set
    from neuralab.config.schema import refuse_keys_no_task_has

    user = deep_merge(deep_merge(load_yaml(config) if config else {}, parse_set(set_ or [])), flags)
    refuse_keys_no_task_has(user)  # in a fraction of a second; the recipe's imports take seconds

    from neuralab.pipeline import resolve_config

    return resolve_config(user)
