"""The config and CLI references as Markdown, generated from the schema and the commands themselves.

The docs site renders these, so the reference can never drift from what `neuralab` accepts: a key added
to the schema or an option added to a command appears in the next docs build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer


def _cell(text: object) -> str:
    """A Markdown table cell: pipes and HTML escaped (`<dataset>` is text, not a tag), newlines folded."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: object) -> str:
    return f"`{text}`" if str(text) else ""


def config_reference() -> str:
    """Every key of every task's config, one table per task, with type, default and description."""
    from neuralab.config.keys import list_keys
    from neuralab.config.schema import TASKS

    lines = [
        "# Config reference",
        "",
        "Every key a run config accepts, generated from the schema at build time (the same rows as",
        "`neuralab config keys --task TASK`). A YAML file, `--set key=value` and the short flags all",
        "write these dotted keys; an unknown key is refused with a suggestion.",
        "",
    ]
    for task in TASKS:
        lines += [f"## task: {task}", "", "| key | type | default | description |", "|---|---|---|---|"]
        for row in list_keys(task):
            default = "" if row.default is None else row.default
            lines.append(f"| `{row.key}` | {_cell(row.type)} | {_code(_cell(default))} | {_cell(row.description)} |")
        lines.append("")
    return "\n".join(lines)


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Leaf commands depth-first, in `--help` order (typer vendors click, so the types are duck-typed)."""
    ctx = type(group).context_class(group, info_name=prefix)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        if _is_group(command):
            yield from _commands(command, path)
        else:
            yield path, command


def _param_row(param: Any) -> str:
    if param.param_type_name == "argument":
        name = f"`{(param.metavar or param.name).upper()}`"
        kind = "argument" + ("" if param.required else ", optional")
        help_text = getattr(param, "help", "") or ""
    else:
        name = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
        kind = "flag" if getattr(param, "is_flag", False) else "option" + (", repeatable" if param.multiple else "")
        help_text = param.help or ""
    default: Any = param.default
    shown = "" if default in (None, (), [], False) or callable(default) else f"`{_cell(default)}`"
    return f"| {name} | {kind} | {shown} | {_cell(help_text)} |"


def cli_reference() -> str:
    """Every command with its help text, arguments and options, as `neuralab COMMAND --help` shows them."""
    from neuralab.cli.main import app

    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Every command of `neuralab`, generated from the commands at build time (the same text as",
        "`neuralab COMMAND --help`).",
        "",
    ]
    for path, command in _commands(root, "neuralab"):
        lines += [f"## {path}", "", _cell(command.help or ""), ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| argument / option | kind | default | meaning |", "|---|---|---|---|"]
            lines += [_param_row(p) for p in params]
            lines.append("")
        if command.epilog:
            lines += [f"```bash\n{command.epilog.removeprefix('Example: ')}\n```", ""]
    return "\n".join(lines)


def _registry_table(registry: Any, second: str, value: Any) -> str:
    rows = [f"| name | {second} | description |", "|---|---|---|"]
    for name in registry:
        info = registry.get(name)
        rows.append(f"| `{name}` | {value(info)} | {_cell(info.description)} |")
    return "\n".join(rows)


def datasets_reference() -> str:
    """The dataset registry as a table: name, kind, description."""
    from neuralab.data import DATASETS

    return _registry_table(DATASETS, "kind", lambda info: info.kind)


def models_reference() -> str:
    """The model registry as a table: name, the inputs it takes, description."""
    from neuralab.models import MODELS

    return _registry_table(MODELS, "inputs", lambda info: ", ".join(info.inputs))
